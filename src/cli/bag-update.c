/* kist bag update: rewrite manifests and tag files after the payload changed. */
#include <config.h>

#include <string.h>

#include "cli.h"

void usage_bag_update(FILE *out)
{
	fprintf(out,
		"usage: kist bag update [-a ALG,...] [--remove-algorithm ALG,...] [--upgrade]\n"
		"                       [--agent NAME]\n"
		"                       [-j N] [-q] BAG\n"
		"\n"
		"After files in BAG/data were added, removed, changed or renamed, hashes\n"
		"the payload again (each file read once, for every algorithm) and rewrites\n"
		"every payload manifest, Payload-Oxum and Bag-Size in bag-info.txt (every\n"
		"other element is kept as it is, in its place), then the tag manifests.\n"
		"Each file is replaced atomically and the tag manifests are written last:\n"
		"if update is interrupted, the bag fails validation until update is run\n"
		"again, which finishes the job. The bag's BagIt-Version is kept unless\n"
		"--upgrade is given.\n"
		"\n"
		"Symbolic links, special files and names that clash once Unicode-normalized\n"
		"or case-folded in data/ are refused; nothing is written then.\n"
		"\n"
		"  -a, --algorithms LIST        add manifests (and tag manifests) for these\n"
		"                               algorithms: md5, sha1, sha224, sha256,\n"
		"                               sha384, sha512, sha3-256, sha3-512, blake2b-512\n"
		"      --remove-algorithm LIST  remove the manifest and tag manifest of these;\n"
		"                               the last payload algorithm cannot be removed\n"
		"      --upgrade                make a bag older than BagIt 1.0 a 1.0 bag:\n"
		"                               bagit.txt rewritten, package-info.txt renamed\n"
		"                               bag-info.txt, manifests percent-encoded\n"
		"                               (its tag files must be UTF-8)\n"
		"      --agent NAME             the person recorded in metadata/premis.xml\n"
		"                               (default: login name)\n"
		"      --format text|json       the report on stdout\n"
		"  -j, --jobs N                 worker threads (default: online CPUs)\n"
		"  -q, --quiet                  no report, only problems\n"
		"      --no-progress            no progress line\n"
		"  -h, --help                   this help\n"
		"\n"
		"Prints \"BAG: updated: N added, M removed, K changed, oxum BYTES.FILES\",\n"
		"counted against the payload manifests it replaced.\n"
		"\n"
		"Exit codes: 0 updated; 1 the bag or its payload cannot be updated as it\n"
		"is (nothing written); 2 usage error; 3 could not read or write.\n");
}

static void print_algs(FILE *out, kist_algset set)
{
	fputc('[', out);
	for (int a = 0, n = 0; a < KIST_ALG_COUNT; a++)
		if (set & KIST_ALG_BIT(a))
			fprintf(out, "%s\"%s\"", n++ ? "," : "", kist_alg_name(a));
	fputc(']', out);
}

/* "added sha512, sha3-256" */
static void print_alg_words(FILE *out, const char *what, kist_algset set, int first)
{
	if (!set)
		return;
	fprintf(out, "%s%s", first ? " " : "; ", what);
	for (int a = 0, n = 0; a < KIST_ALG_COUNT; a++)
		if (set & KIST_ALG_BIT(a))
			fprintf(out, "%s%s", n++ ? ", " : " ", kist_alg_name(a));
}

enum { OPT_REMOVE_ALG = CLI_OPT_FIRST_COMMAND, OPT_UPGRADE, OPT_AGENT };

int cmd_bag_update(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "algorithms", required_argument, NULL, 'a' },
		{ "remove-algorithm", required_argument, NULL, OPT_REMOVE_ALG },
		{ "remove-algorithms", required_argument, NULL, OPT_REMOVE_ALG },
		{ "upgrade", no_argument, NULL, OPT_UPGRADE },
		{ "agent", required_argument, NULL, OPT_AGENT },
		CLI_GLOBAL_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct kist_bag_update_options o = { 0 };
	struct kist_bag_update_result res = { 0 };
	struct kist_findings *findings;
	struct kist_error err;
	int opt, code, rc;

	while ((opt = getopt_long(argc, argv, "a:" CLI_GLOBAL_SHORT, longopts, NULL)) != -1) {
		kist_algset set;

		switch (opt) {
		case 'a':
		case OPT_REMOVE_ALG:
			if (kist_algset_parse(optarg, &set, &err) < 0) {
				cli_usage_error("%s", err.message);
				return EXIT_USAGE;
			}
			if (opt == 'a')
				o.add_algs |= set;
			else
				o.remove_algs |= set;
			break;
		case OPT_UPGRADE: o.upgrade = 1; break;
		case OPT_AGENT: o.agent = optarg; break;
		case 'h': usage_bag_update(stdout); return EXIT_OK_;
		default: {
			int r = cli_other_option(opt, optarg, "bag update");

			if (r >= 0)
				return r;
		}
		}
	}
	if (optind != argc - 1) {
		cli_usage_error(optind >= argc ? "no bag given (usage: kist bag update [-a ALG,...] BAG)"
					       : "one bag at a time");
		return EXIT_USAGE;
	}
	if (o.add_algs & o.remove_algs) {
		cli_usage_error("an algorithm cannot be both added (-a) and removed (--remove-algorithm)");
		return EXIT_USAGE;
	}
	if (cli_check_format(1u << FORMAT_TEXT | 1u << FORMAT_JSON) < 0)
		return EXIT_USAGE;
	if (!(findings = kist_findings_new())) {
		cli_message("error", "out of memory");
		return EXIT_CANNOT;
	}
	cli_findings_attach(findings, 1);
	o.jobs = cli.jobs;
	o.result = &res;
	o.progress = cli_progress_start(0, 0, 0);
	kist_error_clear(&err);
	rc = kist_bag_update(argv[optind], &o, findings, &err);
	cli_progress_stop(o.progress);

	code = cli_exit_code(findings);
	if (rc != KIST_OK) {
		/* the findings said why; this says that nothing (more) was written */
		cli_message("error", "%s", err.message[0] ? err.message : "not updated");
		if (code == EXIT_OK_)
			code = rc == KIST_INVALID ? EXIT_PROBLEM : EXIT_CANNOT;
	}
	if (cli.format == FORMAT_JSON) {
		fputs("{\"bag\":", stdout);
		cli_json_string(stdout, argv[optind]);
		printf(",\"updated\":%s", rc == KIST_OK ? "true" : "false");
		if (rc == KIST_OK) {
			printf(",\"added\":%zu,\"removed\":%zu,\"changed\":%zu,\"unchanged\":%zu",
			       res.added, res.removed, res.changed, res.unchanged);
			printf(",\"payload_oxum\":\"%llu.%llu\"", (unsigned long long)res.payload_bytes,
			       (unsigned long long)res.payload_files);
			fputs(",\"payload_algorithms\":", stdout);
			print_algs(stdout, res.payload_algs);
			fputs(",\"tag_algorithms\":", stdout);
			print_algs(stdout, res.tag_algs);
			fputs(",\"algorithms_added\":", stdout);
			print_algs(stdout, res.algs_added);
			fputs(",\"algorithms_removed\":", stdout);
			print_algs(stdout, res.algs_removed);
			if (res.upgraded)
				printf(",\"upgraded_from\":\"%d.%d\"", res.old_major, res.old_minor);
			printf(",\"files_read\":%llu,\"bytes_read\":%llu",
			       (unsigned long long)res.files_read, (unsigned long long)res.bytes_read);
		}
		fputs(",\"findings\":", stdout);
		cli_findings_json(stdout, findings);
		puts("}");
	} else if (rc == KIST_OK && !cli.quiet) {
		cli_print_escaped(stdout, argv[optind]);
		printf(": updated: %zu added, %zu removed, %zu changed, oxum %llu.%llu", res.added,
		       res.removed, res.changed, (unsigned long long)res.payload_bytes,
		       (unsigned long long)res.payload_files);
		putchar('\n');
		if (res.upgraded) {
			cli_print_escaped(stdout, argv[optind]);
			printf(": upgraded from BagIt %d.%d to 1.0\n", res.old_major, res.old_minor);
		}
		if (res.algs_added || res.algs_removed) {
			cli_print_escaped(stdout, argv[optind]);
			fputs(": algorithms:", stdout);
			print_alg_words(stdout, "added", res.algs_added, 1);
			print_alg_words(stdout, "removed", res.algs_removed, !res.algs_added);
			putchar('\n');
		}
	}
	kist_findings_free(findings);
	return cli_finish_output(code);
}
