/* kist checksum: compute checksums of files and trees, or verify a list. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

void usage_checksum(FILE *out)
{
	fprintf(out,
		"usage: kist checksum [-a ALG,...] [--format gnu|bagit|json|csv] [-L] PATH...\n"
		"       kist checksum -c LIST [-a ALG] [--format text|json] [-q]\n"
		"\n"
		"Computes checksums of files, recursing into directories in a sorted,\n"
		"repeatable order. Each file is read once, whatever the number of\n"
		"algorithms, and files are spread over all cores.\n"
		"\n"
		"  -a, --algorithms LIST  md5, sha1, sha224, sha256, sha384, sha512,\n"
		"                         sha3-256, sha3-512, blake2b-512 (default sha256)\n"
		"  -c, --check LIST       verify the files a list names: a list written by\n"
		"                         kist, sha256sum, md5sum or cksum --tag, or a BagIt\n"
		"                         manifest (paths relative to the manifest's bag)\n"
		"  -L, --follow-symlinks  follow symbolic links inside directories\n"
		"      --format FORMAT    gnu (default: the sha256sum format; with several\n"
		"                         algorithms the tagged 'SHA256 (name) = ...' form),\n"
		"                         bagit (a BagIt manifest), json or csv\n"
		"  -j, --jobs N           worker threads (default: online CPUs)\n"
		"  -q, --quiet            with -c, print only failures\n"
		"      --no-progress      no progress line\n"
		"  -h, --help             this help\n"
		"\n"
		"Exit codes: 0 ok; 1 a checksum did not match or a file is missing;\n"
		"2 usage error; 3 a file could not be read.\n");
}

struct gen {
	kist_algset algs;
	int nalgs;
	size_t count;
	struct kist_findings *findings;
};

/* coreutils (9.1 as Debian ships it): a name holding '\', a newline or a
 * carriage return is escaped, and its line starts with '\'. */
static int needs_gnu_escape(const char *s)
{
	return strpbrk(s, "\\\n\r") != NULL;
}

static void print_gnu_name(const char *s)
{
	if (!needs_gnu_escape(s)) {
		fputs(s, stdout);
		return;
	}
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", stdout);
		else if (*s == '\n')
			fputs("\\n", stdout);
		else if (*s == '\r')
			fputs("\\r", stdout);
		else
			putchar(*s);
	}
}

static void print_result_gnu(const struct gen *g, const struct kist_hash_result *r)
{
	char hex[KIST_DIGEST_HEX_MAX];
	int esc = needs_gnu_escape(r->path);

	for (int a = 0; a < KIST_ALG_COUNT; a++) {
		if (!(g->algs & KIST_ALG_BIT(a)))
			continue;
		kist_hex(r->digest[a], kist_alg_size(a), hex);
		if (esc)
			putchar('\\');
		if (g->nalgs == 1) {
			fputs(hex, stdout);
			fputs("  ", stdout);
			print_gnu_name(r->path);
		} else {
			printf("%s (", kist_alg_tag_name(a));
			print_gnu_name(r->path);
			printf(") = %s", hex);
		}
		putchar('\n');
	}
}

static void print_result_bagit(const struct gen *g, const struct kist_hash_result *r)
{
	char hex[KIST_DIGEST_HEX_MAX];
	/* "./data/x" from "kist checksum ." is "data/x" in a manifest */
	char *name = kist_bagit_percent_encode(strncmp(r->path, "./", 2) == 0 ? r->path + 2 : r->path);
	int a = __builtin_ctz(g->algs);

	kist_hex(r->digest[a], kist_alg_size(a), hex);
	printf("%s  %s\n", hex, name ? name : r->path);
	free(name);
}

/* "path":"..." and, for a name that is not UTF-8, its exact bytes in hex. */
static void print_json_path(const char *path)
{
	size_t len = strlen(path);
	char *bytes;

	fputs("\"path\":", stdout);
	cli_json_string(stdout, path);
	if (kist_utf8_valid(path, len) || !(bytes = malloc(2 * len + 1)))
		return;
	kist_hex((const unsigned char *)path, len, bytes);
	printf(",\"path_bytes\":\"%s\"", bytes);
	free(bytes);
}

static void print_result_json(const struct gen *g, const struct kist_hash_result *r)
{
	char hex[KIST_DIGEST_HEX_MAX];

	fputs(g->count ? ",\n  {" : "\n  {", stdout);
	print_json_path(r->path);
	printf(",\"size\":%llu", (unsigned long long)r->bytes);
	for (int a = 0; a < KIST_ALG_COUNT; a++) {
		if (!(g->algs & KIST_ALG_BIT(a)))
			continue;
		kist_hex(r->digest[a], kist_alg_size(a), hex);
		printf(",\"%s\":\"%s\"", kist_alg_name(a), hex);
	}
	putchar('}');
}

static void print_result_csv(const struct gen *g, const struct kist_hash_result *r)
{
	char hex[KIST_DIGEST_HEX_MAX];

	cli_csv_field(stdout, r->path);
	printf(",%llu", (unsigned long long)r->bytes);
	for (int a = 0; a < KIST_ALG_COUNT; a++) {
		if (!(g->algs & KIST_ALG_BIT(a)))
			continue;
		kist_hex(r->digest[a], kist_alg_size(a), hex);
		printf(",%s", hex);
	}
	fputs("\r\n", stdout);
}

/* Severity of a read failure while computing: the file set changed or could
 * not be read, so the listing is incomplete (exit 3), unless the thing is
 * simply not a file we hash. */
static enum kist_severity generate_severity(const char *code)
{
	return strcmp(code, "file.not-regular") == 0 || strcmp(code, "file.symlink") == 0
		       ? KIST_SEV_WARNING
		       : KIST_SEV_FAILURE;
}

static int on_generated(void *ctx, const struct kist_hash_result *r)
{
	struct gen *g = ctx;

	if (r->fail_code) {
		const char *code = strcmp(r->fail_code, "file.missing") == 0 ? "file.vanished" : r->fail_code;

		kist_findings_add(g->findings, generate_severity(code), code, r->path, "%s",
				  strcmp(code, "file.vanished") == 0 ? "removed before it could be read"
								     : r->fail_message);
		return 0;
	}
	switch (cli.format) {
	case FORMAT_BAGIT: print_result_bagit(g, r); break;
	case FORMAT_JSON: print_result_json(g, r); break;
	case FORMAT_CSV: print_result_csv(g, r); break;
	default: print_result_gnu(g, r); break;
	}
	g->count++;
	return 0;
}

static void check_name(struct kist_findings *fs, const char *path)
{
	if (strpbrk(path, "\n\r"))
		kist_findings_add(fs, KIST_SEV_WARNING, "path.line-break", path,
				  "name holds a line break; escaped in the output");
	if (!kist_utf8_valid(path, strlen(path)))
		kist_findings_add(fs, KIST_SEV_WARNING, "path.invalid-utf8", path,
				  "name is not valid UTF-8; written as its raw bytes");
}

static int generate(kist_algset algs, int follow, char **paths, int npaths,
		    struct kist_findings *findings)
{
	struct kist_file_list list;
	struct kist_pipeline_options po;
	struct kist_hash_item *items = NULL;
	struct kist_progress *progress = NULL;
	struct kist_error err;
	struct gen g = { .algs = algs, .nalgs = kist_algset_count(algs), .findings = findings };
	int code = EXIT_OK_;

	items = cli_collect_paths(paths, npaths, follow, &list, findings);
	if (!items) {
		code = EXIT_CANNOT;
		goto out;
	}
	for (size_t i = 0; i < list.count; i++)
		check_name(findings, items[i].path);

	if (cli.format == FORMAT_JSON) {
		fputs("{\"algorithms\":[", stdout);
		for (int a = 0, n = 0; a < KIST_ALG_COUNT; a++)
			if (algs & KIST_ALG_BIT(a))
				printf("%s\"%s\"", n++ ? "," : "", kist_alg_name(a));
		fputs("],\"files\":[", stdout);
	} else if (cli.format == FORMAT_CSV) {
		fputs("path,size", stdout);
		for (int a = 0; a < KIST_ALG_COUNT; a++)
			if (algs & KIST_ALG_BIT(a))
				printf(",%s", kist_alg_name(a));
		fputs("\r\n", stdout);
	}

	kist_pipeline_options_init(&po);
	po.algs = algs;
	po.jobs = cli.jobs;
	po.progress = progress = cli_progress_start(list.count, list.bytes, 1);
	kist_error_clear(&err);
	if (kist_pipeline_run(&po, items, list.count, on_generated, &g, &err) != KIST_OK) {
		cli_message("error", "%s", err.message);
		code = EXIT_CANNOT;
	}
	cli_progress_stop(progress);

	if (cli.format == FORMAT_JSON) {
		fputs(g.count ? "\n],\"findings\":" : "],\"findings\":", stdout);
		cli_findings_json(stdout, findings);
		puts("}");
	}
	if (code == EXIT_OK_)
		code = cli_exit_code(findings);
out:
	free(items);
	kist_file_list_free(&list);
	return code;
}

/* --- verify ---------------------------------------------------------------- */

struct verify_item {
	size_t first, count;        /* entries of this path, in the sorted index */
};

struct verify {
	struct kist_checklist *list;
	size_t *order;              /* entry indexes grouped by item */
	struct verify_item *vitems;
	struct kist_findings *findings;
	size_t ok, failed, missing, unreadable;
	size_t json_count;
};

static void print_verify_line(const char *path, const char *status)
{
	if (needs_gnu_escape(path))
		putchar('\\');
	print_gnu_name(path);
	printf(": %s\n", status);
}

static void print_verify_json(struct verify *v, const char *path, const char *status,
			      const char *alg)
{
	fputs(v->json_count++ ? ",\n  {" : "\n  {", stdout);
	print_json_path(path);
	printf(",\"status\":\"%s\"", status);
	if (alg)
		printf(",\"algorithm\":\"%s\"", alg);
	putchar('}');
}

static int on_verified(void *ctx, const struct kist_hash_result *r)
{
	struct verify *v = ctx;
	const struct verify_item *vi = &v->vitems[r->index];
	const char *status = "OK", *json_status = "ok", *bad_alg = NULL;
	char hex[KIST_DIGEST_HEX_MAX];

	if (r->fail_code) {
		int missing = strcmp(r->fail_code, "file.missing") == 0;

		if (missing) {
			v->missing++;
			status = "FAILED open or read";
			json_status = "missing";
			kist_findings_add(v->findings, KIST_SEV_ERROR, "file.missing", r->path,
					  "listed but not found");
		} else {
			v->unreadable++;
			status = "FAILED open or read";
			json_status = "unreadable";
			kist_findings_add(v->findings,
					  strcmp(r->fail_code, "file.outside") == 0 ||
							  strcmp(r->fail_code, "file.symlink") == 0
						  ? KIST_SEV_ERROR
						  : KIST_SEV_FAILURE,
					  r->fail_code, r->path, "%s", r->fail_message);
		}
	} else {
		for (size_t k = 0; k < vi->count; k++) {
			const struct kist_check_entry *e = &v->list->entries[v->order[vi->first + k]];

			if (memcmp(r->digest[e->alg], e->digest, kist_alg_size(e->alg)) != 0) {
				char want[KIST_DIGEST_HEX_MAX];

				bad_alg = kist_alg_name(e->alg);
				kist_hex(r->digest[e->alg], kist_alg_size(e->alg), hex);
				kist_hex(e->digest, kist_alg_size(e->alg), want);
				kist_findings_add(v->findings, KIST_SEV_ERROR, "checksum.mismatch", r->path,
						  "%s is %s, the list says %s", bad_alg, hex, want);
			}
		}
		if (bad_alg) {
			v->failed++;
			status = "FAILED";
			json_status = "mismatch";
		} else {
			v->ok++;
		}
	}
	if (cli.format == FORMAT_JSON)
		print_verify_json(v, r->path, json_status, bad_alg);
	else if (!(cli.quiet && strcmp(status, "OK") == 0))
		print_verify_line(r->path, status);
	return 0;
}

static int verify(const char *listname, int alg_hint, struct kist_findings *findings)
{
	struct kist_checklist list;
	struct kist_pipeline_options po;
	struct kist_error err;
	struct hsearch_data index;
	struct kist_hash_item *items = NULL;
	struct verify v = { .list = &list, .findings = findings };
	size_t nitems = 0, *counts = NULL;
	kist_algset algs = 0;
	enum kist_checklist_kind kind;
	int bagalg = -1, code = EXIT_OK_, dirfd = AT_FDCWD;
	FILE *in;

	kist_checklist_init(&list);
	memset(&index, 0, sizeof(index));
	kind = kist_checklist_kind_for_name(listname, &bagalg);
	if (alg_hint < 0)
		alg_hint = kind == KIST_LIST_BAGIT ? bagalg : kist_checklist_alg_for_name(listname);
	in = strcmp(listname, "-") == 0 ? stdin : fopen(listname, "r");
	if (!in) {
		cli_message("error", "cannot open %s: %s", listname, strerror(errno));
		return errno == ENOENT ? EXIT_CANNOT : EXIT_CANNOT;
	}
	kist_error_clear(&err);
	if (kist_checklist_parse(&list, in, listname, kind, alg_hint, findings, &err) != KIST_OK) {
		cli_message("error", "%s", err.message);
		code = EXIT_CANNOT;
		goto out;
	}
	if (list.count == 0) {
		kist_findings_add(findings, KIST_SEV_ERROR, "list.empty", listname,
				  "no properly formatted checksum lines");
		code = cli_exit_code(findings);
		goto out;
	}
	if (kind == KIST_LIST_BAGIT) {
		/* Manifest paths are relative to the bag, and must stay in it. */
		char *copy = strdup(listname);

		dirfd = copy ? open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
		free(copy);
		if (dirfd < 0) {
			cli_message("error", "cannot open the directory of %s: %s", listname, strerror(errno));
			code = EXIT_CANNOT;
			goto out;
		}
	}

	/* One item per distinct path, in the order the list first names it. */
	items = calloc(list.count, sizeof(*items));
	v.vitems = calloc(list.count, sizeof(*v.vitems));
	v.order = calloc(list.count, sizeof(*v.order));
	counts = calloc(list.count, sizeof(*counts));
	size_t *item_of = calloc(list.count, sizeof(*item_of));
	if (!items || !v.vitems || !v.order || !counts || !item_of ||
	    !hcreate_r(list.count * 2 + 16, &index)) {
		free(item_of);
		cli_message("error", "out of memory");
		code = EXIT_CANNOT;
		goto out;
	}
	for (size_t i = 0; i < list.count; i++) {
		ENTRY want = { .key = list.entries[i].path, .data = NULL }, *found = NULL;

		hsearch_r(want, FIND, &found, &index);
		if (!found) {
			want.data = (void *)(uintptr_t)nitems;
			hsearch_r(want, ENTER, &found, &index);
			items[nitems].path = list.entries[i].path;
			items[nitems].size = UINT64_MAX;
			nitems++;
		}
		item_of[i] = (size_t)(uintptr_t)found->data;
		counts[item_of[i]]++;
		algs |= KIST_ALG_BIT(list.entries[i].alg);
	}
	for (size_t i = 0, pos = 0; i < nitems; i++) {
		v.vitems[i].first = pos;
		pos += counts[i];
	}
	for (size_t i = 0; i < list.count; i++) {
		struct verify_item *vi = &v.vitems[item_of[i]];

		v.order[vi->first + vi->count++] = i;
	}
	free(item_of);

	if (cli.format == FORMAT_JSON)
		fputs("{\"files\":[", stdout);
	kist_pipeline_options_init(&po);
	po.algs = algs;
	po.jobs = cli.jobs;
	po.dirfd = dirfd;
	po.beneath = kind == KIST_LIST_BAGIT;
	po.progress = cli_progress_start(nitems, 0, !cli.quiet);
	kist_error_clear(&err);
	if (kist_pipeline_run(&po, items, nitems, on_verified, &v, &err) != KIST_OK) {
		cli_message("error", "%s", err.message);
		code = EXIT_CANNOT;
	}
	cli_progress_stop(po.progress);
	if (cli.format == FORMAT_JSON) {
		fputs(v.json_count ? "\n],\"findings\":" : "],\"findings\":", stdout);
		cli_findings_json(stdout, findings);
		printf(",\"summary\":{\"ok\":%zu,\"mismatch\":%zu,\"missing\":%zu,\"unreadable\":%zu}}\n",
		       v.ok, v.failed, v.missing, v.unreadable);
	} else if (!cli.quiet && (v.failed || v.missing || v.unreadable)) {
		cli_message("summary", "%zu ok, %zu did not match, %zu missing, %zu unreadable",
			    v.ok, v.failed, v.missing, v.unreadable);
	}
	if (code == EXIT_OK_)
		code = cli_exit_code(findings);
out:
	if (in && in != stdin)
		fclose(in);
	if (dirfd >= 0)
		close(dirfd);
	hdestroy_r(&index);
	free(items);
	free(v.vitems);
	free(v.order);
	free(counts);
	kist_checklist_free(&list);
	return code;
}

int cmd_checksum(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "algorithms", required_argument, NULL, 'a' },
		{ "check", required_argument, NULL, 'c' },
		{ "follow-symlinks", no_argument, NULL, 'L' },
		CLI_GLOBAL_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	const char *alg_list = NULL, *check = NULL;
	kist_algset algs = KIST_ALG_BIT(KIST_ALG_SHA256);
	struct kist_findings *findings;
	struct kist_error err;
	int opt, follow = 0, code;

	while ((opt = getopt_long(argc, argv, "a:c:L" CLI_GLOBAL_SHORT, longopts, NULL)) != -1) {
		switch (opt) {
		case 'a': alg_list = optarg; break;
		case 'c': check = optarg; break;
		case 'L': follow = 1; break;
		case 'h': usage_checksum(stdout); return EXIT_OK_;
		default: {
			int r = cli_other_option(opt, optarg, "checksum");

			if (r >= 0)
				return r;
		}
		}
	}
	if (alg_list && kist_algset_parse(alg_list, &algs, &err) < 0) {
		cli_usage_error("%s", err.message);
		return EXIT_USAGE;
	}
	if (check) {
		if (optind < argc) {
			cli_usage_error("-c takes a list; do not name files too");
			return EXIT_USAGE;
		}
		if (alg_list && kist_algset_count(algs) != 1) {
			cli_usage_error("with -c, -a names the one algorithm of the list's untagged lines");
			return EXIT_USAGE;
		}
		if (cli_check_format(1u << FORMAT_TEXT | 1u << FORMAT_JSON) < 0)
			return EXIT_USAGE;
	} else {
		if (optind >= argc) {
			cli_usage_error("no files given (usage: kist checksum [-a ALG,...] PATH...)");
			return EXIT_USAGE;
		}
		if (cli_check_format(1u << FORMAT_TEXT | 1u << FORMAT_GNU | 1u << FORMAT_BAGIT |
				     1u << FORMAT_JSON | 1u << FORMAT_CSV) < 0)
			return EXIT_USAGE;
		if (cli.format == FORMAT_BAGIT && kist_algset_count(algs) != 1) {
			cli_usage_error("--format bagit writes one manifest: give one algorithm");
			return EXIT_USAGE;
		}
	}
	if (!(findings = kist_findings_new())) {
		cli_message("error", "out of memory");
		return EXIT_CANNOT;
	}
	cli_findings_attach(findings, 1);
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	if (check)
		code = verify(check, alg_list ? __builtin_ctz(algs) : -1, findings);
	else
		code = generate(algs, follow, argv + optind, argc - optind, findings);
	kist_findings_free(findings);
	return code;
}
