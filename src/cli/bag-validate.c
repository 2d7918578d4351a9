/* kist bag validate: is each bag complete, and does every checksum match? */
#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <kist/bag.h>
#include <kist/premis.h>

#include "cli.h"
#include "profile.h"

void usage_bag_validate(FILE *out)
{
	fprintf(out,
		"usage: kist bag validate [--fast | --completeness-only] [--format text|json]\n"
		"                         [--profile P] [--fetch-profile] [-j N] [-q] BAG...\n"
		"\n"
		"Validates BagIt bags (RFC 8493 and the drafts 0.93 to 0.97): a bag is\n"
		"complete when bagit.txt is sound, every file a manifest or tag manifest\n"
		"lists is there and every payload file is listed; it is valid when it is\n"
		"complete and every checksum in every payload and tag manifest matches.\n"
		"Each file is read once, whatever the number of manifests.\n"
		"\n"
		"A BAG that is a file (.tar, .tar.gz, .tgz, .zip) is a serialized bag: it is\n"
		"validated in one streaming pass, never unpacked, with the same checks,\n"
		"findings and exit codes; its one top-level directory should bear the\n"
		"archive's name.\n"
		"\n"
		"      --completeness-only  check completeness; read no payload bytes\n"
		"      --record             record the outcome in metadata/premis.xml as a\n"
		"                           PREMIS fixity check event (appended; the tag\n"
		"                           manifests are written again)\n"
		"      --agent NAME         the person recorded (default: login name)\n"
		"      --fast               compare only Payload-Oxum (octets and file count\n"
		"                           of data/) with the payload: 'oxum ok', never 'valid'\n"
		"      --profile P          also check every rule of the BagIt Profile P (a\n"
		"                           JSON file; a URL with --fetch-profile): findings\n"
		"                           profile.*; a bag whose BagIt version or\n"
		"                           serialization the profile does not accept is\n"
		"                           rejected without further checks\n"
		"      --fetch-profile      allow fetching P from a URL; without --profile,\n"
		"                           check each bag against the profiles its\n"
		"                           BagIt-Profile-Identifier names (fetched)\n"
		"      --format FORMAT      text (default): findings on stderr and one line per\n"
		"                           bag on stdout; json: one document on stdout\n"
		"  -j, --jobs N             worker threads (default: online CPUs)\n"
		"  -q, --quiet              no warnings; verdict lines only for bags that fail\n"
		"      --no-progress        no progress line\n"
		"  -h, --help               this help\n"
		"\n"
		"Verdicts: 'BAG: valid', 'BAG: invalid (N errors)', 'BAG: incomplete (...)',\n"
		"'BAG: complete' (--completeness-only), 'BAG: oxum ok' (--fast).\n"
		"\n"
		"Exit codes: 0 every bag passed; 1 a bag is invalid or incomplete; 2 usage\n"
		"error; 3 a bag could not be read. With several bags: 1 if any bag failed, else 3 if any could not be read.\n");
}

enum { OPT_FAST = CLI_OPT_FIRST_COMMAND, OPT_COMPLETENESS, OPT_RECORD, OPT_AGENT, OPT_PROFILE,
       OPT_FETCH_PROFILE };

static int is_bag(const char *path)
{
	char *p = NULL;
	int ok;

	if (asprintf(&p, "%s/bagit.txt", path) < 0)
		return 1;
	ok = access(p, F_OK) == 0;
	free(p);
	return ok;
}

/* --record: the outcome as a PREMIS fixity check event in the bag. */
static int record(const char *bag, int rc, const char *verdict, size_t errors, size_t failures,
		  size_t warnings, const char *agent)
{
	struct kist_premis_agent ag[2];
	size_t nag = 1;
	char detail[512];
	struct kist_premis_event e = { .type = KIST_PREMIS_EV_FIX, .outcome_detail = detail,
				       .agents = ag, .object = KIST_PREMIS_BAG_OBJECT };
	struct kist_error err;

	kist_premis_agent_kist(&ag[0]);
	if (kist_premis_agent_person(&ag[1], agent) == 0)
		nag++;
	e.nagents = nag;
	e.outcome = errors || failures || rc != KIST_OK ? KIST_PREMIS_FAILURE
		    : warnings ? KIST_PREMIS_WARNING : KIST_PREMIS_SUCCESS;
	snprintf(detail, sizeof(detail), "kist bag validate: %s; %zu errors, %zu failures, %zu warnings",
		 verdict, errors, failures, warnings);
	kist_error_clear(&err);
	switch (kist_bag_record_event(bag, &e, ag, nag, &err)) {
	case KIST_OK:
		break;
	case KIST_INVALID:
		if (!is_bag(bag)) {
			/* not a bag at all (already an error): no history to grow */
			cli_message("warning", "%s: nothing recorded: not a bag", bag);
			break;
		}
		/* fall through */
	default:
		cli_message("error", "%s: not recorded in metadata/premis.xml: %s", bag, err.message);
		return EXIT_CANNOT;
	}
	return EXIT_OK_;
}

/* Counts of one bag's findings, as they arrive. */
struct tally {
	const char *bag;
	size_t errors, failures, warnings;
	size_t missing, pending;   /* payload.missing / tag.missing, fetch.pending */
	size_t oxum;               /* payload.oxum-mismatch */
	int unreadable;            /* bag.unreadable: the bag itself */
};

static void print_finding(void *ctx, const struct kist_finding *f)
{
	struct tally *t = ctx;

	switch (f->severity) {
	case KIST_SEV_ERROR: t->errors++; break;
	case KIST_SEV_FAILURE: t->failures++; break;
	case KIST_SEV_WARNING: t->warnings++; break;
	default: break;
	}
	if (strcmp(f->code, "payload.missing") == 0 || strcmp(f->code, "tag.missing") == 0)
		t->missing++;
	else if (strcmp(f->code, "fetch.pending") == 0)
		t->pending++;
	else if (strcmp(f->code, "payload.oxum-mismatch") == 0)
		t->oxum++;
	else if (strcmp(f->code, "bag.unreadable") == 0)
		t->unreadable = 1;
	if (cli.format == FORMAT_JSON)
		return;
	if (cli.quiet && f->severity < KIST_SEV_ERROR)
		return;
	if (f->severity == KIST_SEV_INFO && !cli.verbose)
		return;
	fprintf(stderr, "kist bag validate: %s: ", kist_severity_name(f->severity));
	/* Paths are relative to the bag: name the bag too. */
	if (f->path) {
		char *full = kist_path_join(t->bag, f->path);

		cli_print_escaped(stderr, full ? full : f->path);
		free(full);
	} else {
		cli_print_escaped(stderr, t->bag);
	}
	fputs(": ", stderr);
	fprintf(stderr, "%s (%s)\n", f->message ? f->message : "out of memory", f->code);
}

/* The verdict, without the bag's name: "valid", "invalid (3 errors)", ... */
static void verdict(char *buf, size_t len, enum kist_bag_check level, int rc,
		    const struct kist_bag_validate_result *res, const struct tally *t)
{
	if (t->unreadable || (rc == KIST_FAILED && t->errors == 0 && t->failures == 0)) {
		snprintf(buf, len, "unreadable");
		return;
	}
	if (t->errors == 0 && t->failures == 0) {
		snprintf(buf, len, "%s",
			 level == KIST_BAG_CHECK_FAST ? "oxum ok"
			 : level == KIST_BAG_CHECK_COMPLETENESS ? "complete" : "valid");
		return;
	}
	/* Files missing or still to be fetched (and the Payload-Oxum that
	 * therefore disagrees): incomplete rather than invalid. */
	if (t->missing + t->pending && t->errors == t->missing + t->pending + t->oxum) {
		int n = 0;

		n = snprintf(buf, len, "incomplete (");
		if (t->missing)
			n += snprintf(buf + n, len - (size_t)n, "%zu missing", t->missing);
		if (t->pending)
			n += snprintf(buf + n, len - (size_t)n, "%s%zu to fetch", t->missing ? ", " : "",
				      t->pending);
		snprintf(buf + n, len - (size_t)n, ")");
		return;
	}
	(void)res;
	if (t->errors == 0) {
		/* nothing wrong found, but not everything could be read */
		snprintf(buf, len, "unreadable (%zu failure%s)", t->failures, t->failures == 1 ? "" : "s");
		return;
	}
	snprintf(buf, len, "invalid (%zu error%s)", t->errors, t->errors == 1 ? "" : "s");
}

/* The verdict as one word (or two) for JSON. */
static const char *verdict_word(const char *v)
{
	static const char *const words[] = { "valid", "invalid", "incomplete", "complete", "oxum ok" };

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strncmp(v, words[i], strlen(words[i])) == 0)
			return words[i];
	return "unreadable";
}

static void print_json_bag(int first, const char *path, const char *v,
			   const struct kist_bag_validate_result *res, const struct kist_findings *fs,
			   int level)
{
	fputs(first ? "\n {" : ",\n {", stdout);
	fputs("\"path\":", stdout);
	cli_json_string(stdout, path);
	fputs(",\"verdict\":", stdout);
	cli_json_string(stdout, verdict_word(v));
	fputs(",\"summary\":", stdout);
	cli_json_string(stdout, v);
	fputs(",\"version\":", stdout);
	if (res->version_major >= 0)
		printf("\"%d.%d\"", res->version_major, res->version_minor);
	else
		fputs("null", stdout);
	printf(",\"check\":\"%s\"", level == KIST_BAG_CHECK_FAST ? "fast"
				    : level == KIST_BAG_CHECK_COMPLETENESS ? "completeness" : "full");
	printf(",\"valid\":%s,\"complete\":%s,\"oxum_ok\":%s", res->valid ? "true" : "false",
	       res->complete ? "true" : "false",
	       res->oxum_ok < 0 ? "null" : res->oxum_ok ? "true" : "false");
	printf(",\"payload_files\":%llu,\"payload_bytes\":%llu,\"pending_fetch\":%zu",
	       (unsigned long long)res->payload_files, (unsigned long long)res->payload_bytes,
	       res->pending_fetch);
	printf(",\"errors\":%zu,\"warnings\":%zu,\"findings\":",
	       kist_findings_count_severity(fs, KIST_SEV_ERROR) +
		       kist_findings_count_severity(fs, KIST_SEV_FAILURE),
	       kist_findings_count_severity(fs, KIST_SEV_WARNING));
	cli_findings_json(stdout, fs);
	putchar('}');
}

int cmd_bag_validate(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "fast", no_argument, NULL, OPT_FAST },
		{ "completeness-only", no_argument, NULL, OPT_COMPLETENESS },
		{ "record", no_argument, NULL, OPT_RECORD },
		{ "agent", required_argument, NULL, OPT_AGENT },
		{ "profile", required_argument, NULL, OPT_PROFILE },
		{ "fetch-profile", no_argument, NULL, OPT_FETCH_PROFILE },
		CLI_GLOBAL_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct kist_bag_validate_options opt = { .level = KIST_BAG_CHECK_FULL };
	int c, code = EXIT_OK_, fast = 0, completeness = 0, rec = 0;
	const char *agent = NULL, *profile = NULL;
	struct cli_profiles *profiles = NULL;
	int fetch_profile = 0;

	while ((c = getopt_long(argc, argv, CLI_GLOBAL_SHORT, longopts, NULL)) != -1) {
		int g;

		switch (c) {
		case OPT_FAST: fast = 1; continue;
		case OPT_COMPLETENESS: completeness = 1; continue;
		case OPT_RECORD: rec = 1; continue;
		case OPT_AGENT: agent = optarg; continue;
		case OPT_PROFILE: profile = optarg; continue;
		case OPT_FETCH_PROFILE: fetch_profile = 1; continue;
		case 'h': usage_bag_validate(stdout); return EXIT_OK_;
		}
		g = cli_global_option(c, optarg);
		if (g < 0)
			return EXIT_USAGE;
		if (g == 0) {
			usage_bag_validate(stderr);
			return EXIT_USAGE;
		}
	}
	if (fast && completeness) {
		cli_usage_error("--fast and --completeness-only exclude each other");
		return EXIT_USAGE;
	}
	if (rec && (fast || completeness)) {
		cli_usage_error("--record records a full check (a PREMIS fixity check): not with "
				"--fast or --completeness-only");
		return EXIT_USAGE;
	}
	if (cli_check_format(1u << FORMAT_TEXT | 1u << FORMAT_JSON) < 0)
		return EXIT_USAGE;
	if (optind >= argc) {
		cli_usage_error("which bag? (kist bag validate BAG...)");
		return EXIT_USAGE;
	}
	for (int i = optind; rec && i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) == 0 && !S_ISDIR(st.st_mode)) {
			cli_usage_error("%s: --record writes into a bag directory, not an archive", argv[i]);
			return EXIT_USAGE;
		}
	}
	opt.level = fast ? KIST_BAG_CHECK_FAST
		    : completeness ? KIST_BAG_CHECK_COMPLETENESS : KIST_BAG_CHECK_FULL;
	opt.jobs = cli.jobs;
	if ((profile || fetch_profile) && !(profiles = cli_profiles_new(profile, fetch_profile, &code)))
		return code;

	if (cli.format == FORMAT_JSON)
		fputs("{\"bags\":[", stdout);
	for (int i = optind; i < argc; i++) {
		struct kist_findings *fs = kist_findings_new();
		struct kist_bag_validate_result res;
		struct kist_error err;
		struct tally t = { .bag = argv[i] };
		char v[128];
		int rc, bagcode;

		if (!fs) {
			cli_message("error", "out of memory");
			return EXIT_CANNOT;
		}
		/* Text output streams the findings and keeps none: a bag of a
		 * million bad files costs no memory here. */
		kist_findings_set_callback(fs, print_finding, &t, cli.format == FORMAT_JSON);
		kist_error_clear(&err);
		if (cli.format != FORMAT_JSON)
			opt.progress = cli_progress_start(0, 0, 0);
		/* the profile's fatal rules first: a bag they reject is not
		   validated further (BagIt Profiles, "Workflow") */
		if (profiles && cli_profiles_begin(profiles, argv[i], fs)) {
			memset(&res, 0, sizeof(res));
			res.version_major = res.version_minor = res.oxum_ok = -1;
			rc = KIST_INVALID;
		} else {
			rc = kist_bag_validate(argv[i], &opt, &res, fs, &err);
		}
		if (profiles)
			cli_profiles_finish(profiles, fs);
		cli_progress_stop(opt.progress);
		opt.progress = NULL;
		if (rc == KIST_FAILED && t.failures == 0 && t.errors == 0) {
			/* the library said why only through err */
			kist_findings_add(fs, KIST_SEV_FAILURE, "bag.unreadable", NULL, "%s", err.message);
		}
		verdict(v, sizeof(v), opt.level, rc, &res, &t);
		bagcode = t.errors ? EXIT_PROBLEM : t.failures ? EXIT_CANNOT : EXIT_OK_;
		/* a bag that is not a bag at all has no history to grow */
		if (rec && rc != KIST_FAILED) {
			int r = record(argv[i], rc, v, t.errors, t.failures, t.warnings, agent);

			if (r > bagcode)
				bagcode = r;
		}
		if (cli.format == FORMAT_JSON) {
			print_json_bag(i == optind, argv[i], v, &res, fs, opt.level);
		} else if (!(cli.quiet && bagcode == EXIT_OK_)) {
			/* one line per bag, whatever bytes its name holds */
			cli_print_escaped(stdout, argv[i]);
			printf(": %s\n", v);
		}
		/* as for one bag: a problem found (1) outranks one that
		 * could not be looked at (3) */
		if (bagcode == EXIT_PROBLEM || (bagcode == EXIT_CANNOT && code == EXIT_OK_))
			code = bagcode;
		kist_findings_free(fs);
	}
	if (cli.format == FORMAT_JSON)
		puts("\n]}");
	cli_profiles_free(profiles);
	return cli_finish_output(code);
}
