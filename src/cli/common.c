/* Global flags, messages, findings and exit codes shared by every command. */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

struct cli_globals cli;
const char *cli_command;

static const char *prefix(void)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), cli_command ? "kist %s" : "kist", cli_command);
	return buf;
}

void cli_message(const char *level, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s%s", prefix(), level ? level : "", level ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prefix());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

static const char *const format_names[] = {
	[FORMAT_TEXT] = "text", [FORMAT_JSON] = "json", [FORMAT_CSV] = "csv",
	[FORMAT_GNU] = "gnu", [FORMAT_BAGIT] = "bagit",
};

int cli_global_option(int c, const char *arg)
{
	char *end;
	unsigned long n;

	switch (c) {
	case 'j':
		errno = 0;
		n = strtoul(arg, &end, 10);
		if (errno || *end || n == 0 || n > 1024 || arg[0] == '-') {
			cli_usage_error("-j takes a number of threads from 1 to 1024, not '%s'", arg);
			return -1;
		}
		cli.jobs = (unsigned)n;
		return 1;
	case 'q':
		cli.quiet = 1;
		return 1;
	case 'v':
		cli.verbose++;
		return 1;
	case CLI_OPT_NO_PROGRESS:
		cli.no_progress = 1;
		return 1;
	case CLI_OPT_CATALOG:
		cli.catalog = arg;
		return 1;
	case CLI_OPT_FORMAT:
		for (size_t i = 1; i < sizeof(format_names) / sizeof(format_names[0]); i++)
			if (strcmp(arg, format_names[i]) == 0) {
				cli.format = (enum cli_format)i;
				return 1;
			}
		cli_usage_error("unknown format '%s'", arg);
		return -1;
	}
	return 0;
}

int cli_check_format(unsigned allowed)
{
	if (cli.format == FORMAT_DEFAULT || (allowed & (1u << cli.format)))
		return 0;
	cli_usage_error("--format %s is not available here", format_names[cli.format]);
	return -1;
}

void cli_print_escaped(FILE *out, const char *s)
{
	size_t left = strlen(s);

	while (left) {
		size_t n = kist_utf8_char(s, left);
		unsigned char c = (unsigned char)*s;

		if (c == '\n')
			fputs("\\n", out);
		else if (c == '\r')
			fputs("\\r", out);
		else if (c == '\t')
			fputs("\\t", out);
		else if (c == '\\')
			fputs("\\\\", out);
		else if (n == 0 || c < 0x20 || c == 0x7f)
			fprintf(out, "\\x%02x", c);
		else
			fwrite(s, 1, n, out);
		n = n ? n : 1;
		s += n;
		left -= n;
	}
}

static void print_finding(void *ctx, const struct kist_finding *f)
{
	(void)ctx;
	if (cli.quiet && f->severity < KIST_SEV_ERROR)
		return;
	if (f->severity == KIST_SEV_INFO && !cli.verbose)
		return;
	fprintf(stderr, "%s: %s: ", prefix(), kist_severity_name(f->severity));
	if (f->path) {
		cli_print_escaped(stderr, f->path);
		fputs(": ", stderr);
	}
	fprintf(stderr, "%s (%s)\n", f->message ? f->message : "out of memory", f->code);
}

void cli_findings_attach(struct kist_findings *fs, int stream_text)
{
	if (stream_text)
		kist_findings_set_callback(fs, print_finding, NULL, 1);
}

int cli_exit_code(const struct kist_findings *fs)
{
	if (kist_findings_count_severity(fs, KIST_SEV_ERROR))
		return EXIT_PROBLEM;
	if (kist_findings_count_severity(fs, KIST_SEV_FAILURE))
		return EXIT_CANNOT;
	return EXIT_OK_;
}

void cli_json_string(FILE *out, const char *s)
{
	size_t left = strlen(s);

	fputc('"', out);
	while (left) {
		size_t n = kist_utf8_char(s, left);
		unsigned char c = (unsigned char)*s;

		if (n == 0)
			fputs("\\ufffd", out);   /* not UTF-8: callers add the raw bytes */
		else if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", out);
		else if (c == '\r')
			fputs("\\r", out);
		else if (c == '\t')
			fputs("\\t", out);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\u%04x", c);
		else
			fwrite(s, 1, n, out);
		n = n ? n : 1;
		s += n;
		left -= n;
	}
	fputc('"', out);
}

void cli_csv_field(FILE *out, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

void cli_findings_json(FILE *out, const struct kist_findings *fs)
{
	fputc('[', out);
	for (size_t i = 0; i < kist_findings_count(fs); i++) {
		const struct kist_finding *f = kist_findings_get(fs, i);

		fputs(i ? ",\n  {" : "\n  {", out);
		fputs("\"code\":", out);
		cli_json_string(out, f->code);
		fputs(",\"severity\":", out);
		cli_json_string(out, kist_severity_name(f->severity));
		fputs(",\"path\":", out);
		if (f->path)
			cli_json_string(out, f->path);
		else
			fputs("null", out);
		fputs(",\"message\":", out);
		cli_json_string(out, f->message ? f->message : "");
		fputc('}', out);
	}
	fputs(kist_findings_count(fs) ? "\n]" : "]", out);
}

static void progress_line(void *ctx, const char *line, int final)
{
	(void)ctx;
	if (final)
		fputs("\r\033[K", stderr);
	else
		fprintf(stderr, "\r\033[K%s", line);
	fflush(stderr);
}

struct kist_progress *cli_progress_start(uint64_t files, uint64_t bytes, int results_on_stdout)
{
	struct kist_progress *p;
	const char *force = getenv("KIST_PROGRESS_DELAY_MS");   /* tests */

	if (cli.no_progress || cli.quiet || !isatty(STDERR_FILENO))
		return NULL;
	/* Results streaming to the same terminal would be cut by the line's
	 * erasing; progress is for output that goes elsewhere. */
	if (results_on_stdout && isatty(STDOUT_FILENO))
		return NULL;
	if (!(p = kist_progress_new()))
		return NULL;
	kist_progress_set_total(p, files, bytes);
	if (kist_progress_start(p, force ? (unsigned)atoi(force) : 1000, 250, progress_line, NULL) < 0) {
		kist_progress_free(p);
		return NULL;
	}
	return p;
}

void cli_progress_stop(struct kist_progress *p)
{
	if (!p)
		return;
	kist_progress_stop(p);
	kist_progress_free(p);
}

int cli_finish_output(int code)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_message("error", "cannot write output: %s", strerror(errno));
		return EXIT_CANNOT;
	}
	return code;
}

struct kist_hash_item *cli_collect_paths(char **paths, int npaths, int follow_symlinks,
					 struct kist_file_list *list, struct kist_findings *findings)
{
	struct kist_walk_options wo = { .follow_symlinks = follow_symlinks, .follow_root = 1 };
	struct kist_hash_item *items;
	struct kist_error err;

	kist_file_list_init(list);
	for (int i = 0; i < npaths; i++) {
		kist_error_clear(&err);
		if (kist_walk_collect(paths[i], &wo, list, findings, &err) == KIST_OK)
			continue;
		if (err.sys_errno == ENOENT)
			kist_findings_add(findings, KIST_SEV_ERROR, "file.missing", paths[i],
					  "no such file or directory");
		else
			kist_findings_add(findings, KIST_SEV_FAILURE, "file.unreadable", paths[i], "%s",
					  err.message);
	}
	items = calloc(list->count ? list->count : 1, sizeof(*items));
	if (!items) {
		cli_message("error", "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < list->count; i++) {
		items[i].path = list->files[i].path;
		items[i].size = list->files[i].size;
	}
	return items;
}

int cli_other_option(int opt, const char *arg, const char *command)
{
	int r = cli_global_option(opt, arg);

	if (r > 0)
		return -1;
	if (r == 0)
		fprintf(stderr, "usage: see kist %s -h\n", command);
	return EXIT_USAGE;
}

int cli_parse_window(const char *s, size_t *v)
{
	char *end;
	unsigned long long x;

	errno = 0;
	x = strtoull(s, &end, 10);
	if (!*s || *end || errno || s[0] == '-' || x < 512 || x > (64ull << 20))
		return -1;
	*v = (size_t)x;
	return 0;
}
