/* kist bag info: what a bag holds, without hashing anything. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "cli.h"

void usage_bag_info(FILE *out)
{
	fprintf(out,
		"usage: kist bag info [--format text|json] BAG\n"
		"\n"
		"Shows a bag's BagIt-Version and tag file encoding, its payload and tag\n"
		"manifest algorithms, the payload files the manifests list and those\n"
		"data/ holds (walked, not hashed: use kist bag validate to check them),\n"
		"the declared Payload-Oxum and whether data/ matches it, the number of\n"
		"fetch.txt entries, and the bag-info.txt (package-info.txt before 0.96)\n"
		"elements in their order, repeated labels included.\n"
		"\n"
		"      --format text|json  aligned text (default) or one JSON document\n"
		"  -q, --quiet             only errors on stderr\n"
		"  -h, --help              this help\n"
		"\n"
		"Exit codes: 0 shown; 1 shown, but reading the bag found errors (or BAG is\n"
		"not a bag); 2 usage error; 3 could not read.\n");
}

static const char *const oxum_states[] = {
	[KIST_OXUM_ABSENT] = "absent",
	[KIST_OXUM_MALFORMED] = "malformed",
	[KIST_OXUM_MATCHES] = "matches",
	[KIST_OXUM_DIFFERS] = "differs",
};

static void alg_list(FILE *out, kist_algset set, int json)
{
	int n = 0;

	if (json)
		fputc('[', out);
	for (int a = 0; a < KIST_ALG_COUNT; a++) {
		if (!(set & KIST_ALG_BIT(a)))
			continue;
		fprintf(out, json ? "%s\"%s\"" : "%s%s", n++ ? (json ? "," : ", ") : "", kist_alg_name(a));
	}
	if (json)
		fputc(']', out);
	else if (!n)
		fputs("none", out);
}

#define KEYW 21   /* width of the key column */

static void key(const char *k)
{
	printf("%-*s", KEYW, k);
}

/* A value that may hold line breaks (continuation lines): each line escaped,
 * later lines indented to col. */
static void print_value(const char *v, int col)
{
	const char *p = v;

	for (;;) {
		const char *nl = strchr(p, '\n');
		char *line = nl ? strndup(p, (size_t)(nl - p)) : NULL;

		cli_print_escaped(stdout, line ? line : p);
		free(line);
		putchar('\n');
		if (!nl)
			break;
		p = nl + 1;
		printf("%*s", col, "");
	}
}

static void print_text(const char *path, const struct kist_bag_summary *s)
{
	const struct kist_bag *bag = s->bag;
	char human[64];
	size_t labelw = 0;

	key("Bag:");
	print_value(path, KEYW);
	key("BagIt-Version:");
	printf("%d.%d\n", bag->major, bag->minor);
	key("Tag file encoding:");
	if (bag->encoding)
		print_value(bag->encoding, KEYW);
	else
		puts("none declared");
	key("Payload algorithms:");
	alg_list(stdout, s->payload_algs, 0);
	putchar('\n');
	key("Tag algorithms:");
	alg_list(stdout, s->tag_algs, 0);
	putchar('\n');
	key("Payload (manifests):");
	printf("%zu file%s", s->manifest_files, s->manifest_files == 1 ? "" : "s");
	if (s->manifest_files > s->missing)
		printf(", %llu byte%s", (unsigned long long)s->manifest_bytes,
		       s->manifest_bytes == 1 ? "" : "s");
	if (s->missing)
		printf(", %zu not in data/", s->missing);
	putchar('\n');
	key("Payload (data/):");
	if (!s->has_data_dir) {
		puts("no data/ directory");
	} else {
		printf("%llu file%s, %llu byte%s", (unsigned long long)s->files,
		       s->files == 1 ? "" : "s", (unsigned long long)s->bytes, s->bytes == 1 ? "" : "s");
		if (s->bytes >= 1000) {
			kist_bag_size(s->bytes, human, sizeof(human));
			printf(" (%s)", human);
		}
		if (s->unlisted)
			printf(", %zu in no manifest", s->unlisted);
		putchar('\n');
	}
	key("Payload-Oxum:");
	switch (s->oxum_state) {
	case KIST_OXUM_ABSENT: puts("none declared"); break;
	case KIST_OXUM_MALFORMED:
		cli_print_escaped(stdout, s->oxum);
		puts(" (malformed)");
		break;
	case KIST_OXUM_MATCHES:
		cli_print_escaped(stdout, s->oxum);
		puts(" (matches data/)");
		break;
	default:
		cli_print_escaped(stdout, s->oxum);
		printf(" (differs: data/ holds %llu.%llu)\n", (unsigned long long)s->bytes,
		       (unsigned long long)s->files);
		break;
	}
	key("fetch.txt:");
	if (!bag->has_fetch)
		puts("none");
	else
		printf("%zu entr%s\n", bag->nfetch, bag->nfetch == 1 ? "y" : "ies");
	if (!bag->info_name) {
		key("bag-info.txt:");
		puts("none");
		return;
	}
	char k[64];
	snprintf(k, sizeof(k), "%s:", bag->info_name);
	key(k);
	printf("%zu element%s\n", bag->info.count, bag->info.count == 1 ? "" : "s");
	for (size_t i = 0; i < bag->info.count; i++) {
		size_t l = strlen(bag->info.tags[i].label);

		if (l > labelw)
			labelw = l;
	}
	if (labelw > 40)
		labelw = 40;
	for (size_t i = 0; i < bag->info.count; i++) {
		const struct kist_bag_tag *t = &bag->info.tags[i];
		size_t l = strlen(t->label);

		fputs("  ", stdout);
		cli_print_escaped(stdout, t->label);
		putchar(':');
		printf("%*s", (int)(l < labelw ? labelw - l : 0) + 1, "");
		print_value(t->value, (int)(labelw > l ? labelw : l) + 4);
	}
}

static void json_u64(const char *name, uint64_t v, int comma)
{
	printf("%s\"%s\":%llu", comma ? "," : "", name, (unsigned long long)v);
}

static void print_json(const char *path, const struct kist_bag_summary *s,
		       const struct kist_findings *findings)
{
	const struct kist_bag *bag = s->bag;

	fputs("{\"bag\":", stdout);
	cli_json_string(stdout, path);
	printf(",\"version\":\"%d.%d\"", bag->major, bag->minor);
	fputs(",\"tag_file_encoding\":", stdout);
	if (bag->encoding)
		cli_json_string(stdout, bag->encoding);
	else
		fputs("null", stdout);
	fputs(",\"payload_algorithms\":", stdout);
	alg_list(stdout, s->payload_algs, 1);
	fputs(",\"tag_algorithms\":", stdout);
	alg_list(stdout, s->tag_algs, 1);
	fputs(",\"manifests\":[", stdout);
	for (size_t m = 0; m < bag->nmanifests; m++) {
		const struct kist_bag_manifest *man = &bag->manifests[m];

		fputs(m ? ",{\"name\":" : "{\"name\":", stdout);
		cli_json_string(stdout, man->name);
		printf(",\"algorithm\":\"%s\",\"tag\":%s,\"entries\":%zu}", kist_alg_name(man->alg),
		       man->is_tag ? "true" : "false", man->list.count);
	}
	fputs("],\"payload\":{", stdout);
	json_u64("manifest_files", s->manifest_files, 0);
	json_u64("manifest_bytes", s->manifest_bytes, 1);
	json_u64("missing", s->missing, 1);
	printf(",\"data_dir\":%s", s->has_data_dir ? "true" : "false");
	json_u64("files", s->files, 1);
	json_u64("bytes", s->bytes, 1);
	json_u64("unlisted", s->unlisted, 1);
	fputs("},\"payload_oxum\":{\"declared\":", stdout);
	if (s->oxum)
		cli_json_string(stdout, s->oxum);
	else
		fputs("null", stdout);
	printf(",\"state\":\"%s\",\"matches\":%s,\"found\":\"%llu.%llu\"}", oxum_states[s->oxum_state],
	       s->oxum_state == KIST_OXUM_MATCHES ? "true"
	       : s->oxum_state == KIST_OXUM_DIFFERS || s->oxum_state == KIST_OXUM_MALFORMED ? "false"
											  : "null",
	       (unsigned long long)s->bytes, (unsigned long long)s->files);
	printf(",\"fetch\":{\"present\":%s,\"entries\":%zu}", bag->has_fetch ? "true" : "false",
	       bag->nfetch);
	fputs(",\"info_file\":", stdout);
	if (bag->info_name)
		cli_json_string(stdout, bag->info_name);
	else
		fputs("null", stdout);
	fputs(",\"info\":[", stdout);
	for (size_t i = 0; i < bag->info.count; i++) {
		fputs(i ? ",\n  {\"label\":" : "\n  {\"label\":", stdout);
		cli_json_string(stdout, bag->info.tags[i].label);
		fputs(",\"value\":", stdout);
		cli_json_string(stdout, bag->info.tags[i].value);
		putchar('}');
	}
	fputs(bag->info.count ? "\n],\"findings\":" : "],\"findings\":", stdout);
	cli_findings_json(stdout, findings);
	puts("}");
}

int cmd_bag_info(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_GLOBAL_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct kist_bag_summary s;
	struct kist_findings *findings;
	struct kist_error err;
	int opt, code, rc;

	while ((opt = getopt_long(argc, argv, CLI_GLOBAL_SHORT, longopts, NULL)) != -1) {
		if (opt == 'h') {
			usage_bag_info(stdout);
			return EXIT_OK_;
		}
		int r = cli_other_option(opt, optarg, "bag info");

		if (r >= 0)
			return r;
	}
	if (optind != argc - 1) {
		cli_usage_error(optind >= argc ? "no bag given (usage: kist bag info [--format text|json] BAG)"
					       : "one bag at a time");
		return EXIT_USAGE;
	}
	if (cli_check_format(1u << FORMAT_TEXT | 1u << FORMAT_JSON) < 0)
		return EXIT_USAGE;
	if (!(findings = kist_findings_new())) {
		cli_message("error", "out of memory");
		return EXIT_CANNOT;
	}
	cli_findings_attach(findings, 1);
	rc = kist_bag_summarize(argv[optind], &s, findings, &err);
	code = cli_exit_code(findings);
	if (rc != KIST_OK) {
		if (rc == KIST_FAILED || code == EXIT_OK_)
			cli_message("error", "%s", err.message[0] ? err.message : "not a bag");
		if (code == EXIT_OK_)
			code = rc == KIST_INVALID ? EXIT_PROBLEM : EXIT_CANNOT;
		if (rc == KIST_FAILED)
			code = EXIT_CANNOT;
		if (cli.format == FORMAT_JSON) {
			fputs("{\"bag\":", stdout);
			cli_json_string(stdout, argv[optind]);
			fputs(",\"findings\":", stdout);
			cli_findings_json(stdout, findings);
			puts("}");
		}
	} else if (cli.format == FORMAT_JSON) {
		print_json(argv[optind], &s, findings);
	} else {
		print_text(argv[optind], &s);
	}
	kist_bag_summary_free(&s);
	kist_findings_free(findings);
	return cli_finish_output(code);
}
