/* kist identify: PRONOM format identification of files and trees. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <kist/identify.h>

#include "cli.h"

void usage_identify(FILE *out)
{
	fprintf(out,
		"usage: kist identify [--format text|csv|json|droid-csv] [--signatures FILE]\n"
		"                     [--container-signatures FILE] PATH...\n"
		"\n"
		"Identifies the format of each file with PRONOM signatures (DROID's byte\n"
		"and container signatures): PUID, format name and version, MIME type and\n"
		"the basis of the match, with libmagic's MIME type and description beside.\n"
		"Directories are walked in a sorted order; files are spread over all cores\n"
		"and each is read once. Text output is one line per format found (several\n"
		"when several match and none outranks the others), UNKNOWN when none is;\n"
		"a format found by its extension alone (one PRONOM has no signature for)\n"
		"says so in its basis. ZIP and OLE2 files are opened and their container\n"
		"signatures decide (DOCX, XLSX, ODT, EPUB, DOC, XLS...).\n"
		"\n"
		"      --signatures FILE  a DROID signature file (default: the copy kist\n"
		"                         installs, PRONOM V118; KIST_DATADIR overrides\n"
		"                         the directory it is looked up in)\n"
		"      --container-signatures FILE\n"
		"                         a DROID container signature file\n"
		"      --no-containers    do not look inside ZIP and OLE2 files\n"
		"      --no-magic         do not ask libmagic\n"
		"      --window N         bytes matched at each end of a file, like DROID's\n"
		"                         scan window (default 65536, 512 to 67108864)\n"
		"  -L, --follow-symlinks  follow symbolic links inside directories\n"
		"      --format FORMAT    text (default), csv, json, or droid-csv (the\n"
		"                         columns of DROID's CSV export)\n"
		"  -j, --jobs N           worker threads (default: online CPUs)\n"
		"      --no-progress      no progress line\n"
		"  -h, --help             this help\n"
		"\n"
		"Warnings on stderr: identify.extension-mismatch, identify.empty,\n"
		"identify.container-damaged, identify.incomplete, signature.invalid; the\n"
		"JSON output lists each file's warnings, identify.extension-only and\n"
		"identify.multiple included.\n"
		"Exit codes: 0 done (unknown formats included); 1 a file is missing;\n"
		"2 usage error; 3 a file or the signature file could not be read.\n");
}

enum { OPT_SIGS = CLI_OPT_FIRST_COMMAND, OPT_CSIGS, OPT_NO_CONTAINERS, OPT_NO_MAGIC, OPT_WINDOW };

struct ictx {
	struct kist_identifier *id;
	struct kist_findings *findings;
	int droid;                  /* --format droid-csv */
	size_t count, unknown;
};

static const char *basis_word(const struct kist_id_match *m)
{
	switch (m->basis) {
	case KIST_ID_CONTAINER: return "container";
	case KIST_ID_EXTENSION: return "extension";
	default: return "signature";
	}
}

static void print_text(const struct kist_id_result *r)
{
	if (!r->nmatches) {
		cli_print_escaped(stdout, r->path);
		printf(": UNKNOWN");
		if (r->magic_mime)
			printf(" [%s]", r->magic_mime);
		if (r->magic_description)
			printf(" (magic: %s)", r->magic_description);
		putchar('\n');
		return;
	}
	for (size_t i = 0; i < r->nmatches; i++) {
		const struct kist_id_match *m = &r->matches[i];

		const char *mime = m->mime[0] ? m->mime : r->magic_mime;

		cli_print_escaped(stdout, r->path);
		printf(": %s %s%s%s", m->puid, m->name, m->version[0] ? " " : "", m->version);
		if (mime && *mime)
			printf(" [%s]", mime);
		printf(" (%s)", m->basis_text);
		if (i == 0 && r->magic_description)
			printf(" (magic: %s)", r->magic_description);
		putchar('\n');
	}
}

static void csv_row(const struct kist_id_result *r, const struct kist_id_match *m)
{
	cli_csv_field(stdout, r->path);
	printf(",%llu,", (unsigned long long)r->size);
	cli_csv_field(stdout, m ? m->puid : "UNKNOWN");
	putchar(',');
	cli_csv_field(stdout, m ? m->name : "");
	putchar(',');
	cli_csv_field(stdout, m ? m->version : "");
	putchar(',');
	cli_csv_field(stdout, m ? m->mime : "");
	putchar(',');
	cli_csv_field(stdout, m ? basis_word(m) : "");
	putchar(',');
	cli_csv_field(stdout, m ? m->basis_text : "");
	putchar(',');
	cli_csv_field(stdout, r->magic_mime ? r->magic_mime : "");
	putchar(',');
	cli_csv_field(stdout, r->magic_description ? r->magic_description : "");
	putchar(',');
	for (size_t w = 0; w < r->nwarnings; w++) {
		if (w)
			putchar(';');
		fputs(r->warnings[w].code, stdout);
	}
	fputs("\r\n", stdout);
}

static void print_csv(const struct kist_id_result *r)
{
	if (!r->nmatches)
		csv_row(r, NULL);
	for (size_t i = 0; i < r->nmatches; i++)
		csv_row(r, &r->matches[i]);
}

static void qfield(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

/* DROID's CSV export: one row per file, the last four columns repeated for
 * every further format when FORMAT_COUNT > 1. */
static void print_droid(struct ictx *c, const struct kist_id_result *r)
{
	char abspath[PATH_MAX], num[32], mtime[32] = "";
	const char *name = strrchr(r->path, '/'), *ext;
	struct stat st;
	int mismatch = 0;

	name = name ? name + 1 : r->path;
	ext = strrchr(name, '.');
	ext = ext && ext != name ? ext + 1 : "";
	if (!realpath(r->path, abspath))
		snprintf(abspath, sizeof(abspath), "%s", r->path);
	if (stat(r->path, &st) == 0) {
		struct tm tm;

		if (localtime_r(&st.st_mtime, &tm))
			strftime(mtime, sizeof(mtime), "%Y-%m-%dT%H:%M:%S", &tm);
	}
	for (size_t w = 0; w < r->nwarnings; w++)
		mismatch |= strcmp(r->warnings[w].code, "identify.extension-mismatch") == 0;
	snprintf(num, sizeof(num), "%zu", c->count + 1);
	qfield(num);
	fputs(",\"\",", stdout);
	{
		char *uri = NULL;

		if (asprintf(&uri, "file:%s", abspath) > 0) {
			qfield(uri);
			free(uri);
		}
	}
	putchar(',');
	qfield(abspath);
	putchar(',');
	qfield(name);
	putchar(',');
	qfield(!r->nmatches ? "" : r->matches[0].basis == KIST_ID_CONTAINER ? "Container"
				  : r->matches[0].basis == KIST_ID_EXTENSION ? "Extension"
									       : "Signature");
	fputs(",\"Done\",", stdout);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)r->size);
	qfield(num);
	fputs(",\"File\",", stdout);
	qfield(ext);
	putchar(',');
	qfield(mtime);
	putchar(',');
	qfield(mismatch ? "true" : "false");
	fputs(",\"\",", stdout);
	snprintf(num, sizeof(num), "%zu", r->nmatches);
	qfield(num);
	if (!r->nmatches)
		fputs(",\"\",\"\",\"\",\"\"", stdout);
	for (size_t i = 0; i < r->nmatches; i++) {
		putchar(',');
		qfield(r->matches[i].puid);
		putchar(',');
		qfield(r->matches[i].mime);
		putchar(',');
		qfield(r->matches[i].name);
		putchar(',');
		qfield(r->matches[i].version);
	}
	fputs("\r\n", stdout);
}

static void print_json(struct ictx *c, const struct kist_id_result *r)
{
	fputs(c->count ? ",\n  {\"path\":" : "\n  {\"path\":", stdout);
	cli_json_string(stdout, r->path);
	printf(",\"size\":%llu,\"status\":\"%s\",\"matches\":[", (unsigned long long)r->size,
	       r->nmatches ? "identified" : "unknown");
	for (size_t i = 0; i < r->nmatches; i++) {
		const struct kist_id_match *m = &r->matches[i];

		fputs(i ? ",{\"puid\":" : "{\"puid\":", stdout);
		cli_json_string(stdout, m->puid);
		fputs(",\"name\":", stdout);
		cli_json_string(stdout, m->name);
		fputs(",\"version\":", stdout);
		cli_json_string(stdout, m->version);
		fputs(",\"mime\":", stdout);
		cli_json_string(stdout, m->mime);
		printf(",\"basis\":\"%s\"", basis_word(m));
		if (m->signature_id >= 0)
			printf(",\"signature\":%ld", m->signature_id);
		if (m->basis == KIST_ID_SIGNATURE)
			printf(",\"offset\":%llu,\"end\":%llu", (unsigned long long)m->offset,
			       (unsigned long long)m->end);
		fputs(",\"basis_text\":", stdout);
		cli_json_string(stdout, m->basis_text);
		putchar('}');
	}
	fputs("],\"magic\":{\"mime\":", stdout);
	if (r->magic_mime)
		cli_json_string(stdout, r->magic_mime);
	else
		fputs("null", stdout);
	fputs(",\"description\":", stdout);
	if (r->magic_description)
		cli_json_string(stdout, r->magic_description);
	else
		fputs("null", stdout);
	fputs("},\"warnings\":[", stdout);
	for (size_t w = 0; w < r->nwarnings; w++) {
		printf("%s{\"code\":\"%s\",\"message\":", w ? "," : "", r->warnings[w].code);
		cli_json_string(stdout, r->warnings[w].message);
		putchar('}');
	}
	fputs("]}", stdout);
}

static int on_result(void *ctx, const struct kist_hash_result *hr)
{
	struct ictx *c = ctx;
	const struct kist_id_result *r = kist_id_result_of(hr->consumer_state);

	if (hr->fail_code || !r || r->failed) {
		const char *code = hr->fail_code ? hr->fail_code : "file.unreadable";

		if (strcmp(code, "file.missing") == 0)
			code = "file.vanished";
		kist_findings_add(c->findings,
				  strcmp(code, "file.not-regular") == 0 || strcmp(code, "file.symlink") == 0
					  ? KIST_SEV_WARNING
					  : KIST_SEV_FAILURE,
				  code, hr->path, "%s", hr->fail_code ? hr->fail_message : "out of memory");
		kist_id_result_free(hr->consumer_state);
		return 0;
	}
	for (size_t w = 0; w < r->nwarnings; w++)
		/* the result itself says these; stderr gets the problems */
		if (strcmp(r->warnings[w].code, "identify.extension-only") != 0 &&
		    strcmp(r->warnings[w].code, "identify.multiple") != 0)
			kist_findings_add(c->findings, KIST_SEV_WARNING, r->warnings[w].code, r->path, "%s",
				  r->warnings[w].message);
	if (!r->nmatches)
		c->unknown++;
	if (c->droid)
		print_droid(c, r);
	else if (cli.format == FORMAT_JSON)
		print_json(c, r);
	else if (cli.format == FORMAT_CSV)
		print_csv(r);
	else
		print_text(r);
	c->count++;
	kist_id_result_free(hr->consumer_state);
	return 0;
}

int cmd_identify(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "signatures", required_argument, NULL, OPT_SIGS },
		{ "container-signatures", required_argument, NULL, OPT_CSIGS },
		{ "no-containers", no_argument, NULL, OPT_NO_CONTAINERS },
		{ "no-magic", no_argument, NULL, OPT_NO_MAGIC },
		{ "window", required_argument, NULL, OPT_WINDOW },
		{ "follow-symlinks", no_argument, NULL, 'L' },
		CLI_GLOBAL_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct kist_identify_options io;
	int follow = 0;
	struct kist_pipeline_options po;
	struct kist_file_list list;
	struct kist_hash_item *items = NULL;
	struct kist_findings *findings;
	struct kist_error err;
	struct ictx c = { 0 };
	int opt, code = EXIT_OK_;

	kist_identify_options_init(&io);
	while ((opt = getopt_long(argc, argv, "L" CLI_GLOBAL_SHORT, longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_SIGS: io.signature_file = optarg; break;
		case OPT_CSIGS: io.container_file = optarg; break;
		case OPT_NO_CONTAINERS: io.no_containers = 1; break;
		case OPT_NO_MAGIC: io.no_magic = 1; break;
		case OPT_WINDOW:
			if (cli_parse_window(optarg, &io.window) < 0) {
				cli_usage_error("--window takes a number of bytes from 512 to 67108864");
				return EXIT_USAGE;
			}
			break;
		case 'L': follow = 1; break;
		case 'h': usage_identify(stdout); return EXIT_OK_;
		case CLI_OPT_FORMAT:
			if (strcmp(optarg, "droid-csv") == 0) {
				c.droid = 1;
				cli.format = FORMAT_CSV;
				break;
			}
			c.droid = 0;
			/* fall through */
		default: {
			int r = cli_other_option(opt, optarg, "identify");

			if (r >= 0)
				return r;
		}
		}
	}
	if (optind >= argc) {
		cli_usage_error("no files given (usage: kist identify PATH...)");
		return EXIT_USAGE;
	}
	if (cli_check_format(1u << FORMAT_TEXT | 1u << FORMAT_JSON | 1u << FORMAT_CSV) < 0)
		return EXIT_USAGE;
	if (!(findings = kist_findings_new())) {
		cli_message("error", "out of memory");
		return EXIT_CANNOT;
	}
	cli_findings_attach(findings, 1);
	c.findings = findings;
	c.id = kist_identifier_load(&io, findings, &err);
	if (!c.id) {
		cli_message("error", "%s", err.message);
		kist_findings_free(findings);
		return EXIT_CANNOT;
	}
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);

	items = cli_collect_paths(argv + optind, argc - optind, follow, &list, findings);
	if (!items) {
		kist_file_list_init(&list);
		code = EXIT_CANNOT;
		goto out;
	}
	if (c.droid)
		fputs("\"ID\",\"PARENT_ID\",\"URI\",\"FILE_PATH\",\"NAME\",\"METHOD\",\"STATUS\",\"SIZE\",\"TYPE\","
		      "\"EXT\",\"LAST_MODIFIED\",\"EXTENSION_MISMATCH\",\"HASH\",\"FORMAT_COUNT\",\"PUID\","
		      "\"MIME_TYPE\",\"FORMAT_NAME\",\"FORMAT_VERSION\"\r\n",
		      stdout);
	else if (cli.format == FORMAT_CSV)
		fputs("path,size,puid,format,version,mime,basis,basis_detail,magic_mime,magic_description,"
		      "warnings\r\n",
		      stdout);
	else if (cli.format == FORMAT_JSON) {
		fputs("{\"signatures\":{\"version\":", stdout);
		cli_json_string(stdout, kist_identifier_signature_version(c.id));
		fputs(",\"container_version\":", stdout);
		cli_json_string(stdout, kist_identifier_container_version(c.id));
		fputs("},\"files\":[", stdout);
	}

	kist_pipeline_options_init(&po);
	po.algs = 0;
	po.jobs = cli.jobs;
	po.consumer = kist_identifier_consumer(c.id);
	po.progress = cli_progress_start(list.count, list.bytes, 1);
	kist_error_clear(&err);
	if (kist_pipeline_run(&po, items, list.count, on_result, &c, &err) != KIST_OK) {
		cli_message("error", "%s", err.message);
		code = EXIT_CANNOT;
	}
	cli_progress_stop(po.progress);
	if (cli.format == FORMAT_JSON && !c.droid) {
		fputs(c.count ? "\n],\"findings\":" : "],\"findings\":", stdout);
		cli_findings_json(stdout, findings);
		printf(",\"summary\":{\"files\":%zu,\"unknown\":%zu}}\n", c.count, c.unknown);
	}
	if (code == EXIT_OK_)
		code = cli_exit_code(findings);
out:
	free(items);
	kist_file_list_free(&list);
	kist_identifier_free(c.id);
	kist_findings_free(findings);
	return code;
}
