/* kist fixity audit: check what is due until the budget is spent. Findings
 * stream to stderr; a summary line goes to stdout unless --quiet and all is
 * well, so cron mails only on trouble. */
#include <config.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <kist/fixity.h>

#include "cli.h"
#include "fixity-cli.h"

static void usage_audit(FILE *out)
{
	fprintf(out,
		"usage: kist fixity audit [--volume NAME]... [--budget 2h] [--max-bytes N] [--all]\n"
		"                         [--adopt] [--record-in-bag] [--fail-offline] [-j N] [-q]\n"
		"                         [--format text|json]\n"
		"\n"
		"Checks the files that are due (last check + the volume's period), oldest\n"
		"first, until the budget is spent; a nightly run thus works through a large\n"
		"collection over the period. A volume whose sentinel is not there is offline:\n"
		"nothing on it is checked or called missing. Registered folders are scanned\n"
		"for new, moved and renamed files when they are due. An interrupted audit\n"
		"resumes where it stopped. With SQLite one audit of a volume runs at a time\n"
		"on a host; with PostgreSQL, audits on any number of hosts share the work.\n"
		"\n"
		"      --volume NAME     only this volume (repeatable; default: all)\n"
		"      --budget TIME     stop after TIME (ms, s, m, h, d: 2h, 30m)\n"
		"      --max-bytes N     stop after reading N bytes (K, M, G, T: 1024s)\n"
		"      --all             check everything once, due or not\n"
		"      --adopt           register new files (unknown files under a registered folder)\n"
		"      --record-in-bag   append a PREMIS fixity check event to each bag scanned\n"
		"      --fail-offline    an offline volume is a failure (exit 3), not a warning\n"
		"      --lease TIME      how long a claimed batch is ours (default 10m); another\n"
		"                        worker takes over a crashed worker's batch after it\n"
		"      --batch N         files per claimed batch (default 1024)\n"
		"  -j, --jobs N          worker threads (default: online CPUs)\n"
		"  -q, --quiet           print nothing when all is well\n"
		"      --format FORMAT   text (default) or json\n"
		"\n"
		"Verdicts: ok, changed, missing, new, moved, renamed, unreadable, denied.\n"
		"Exit codes: 0 all ok; 1 problems found; 2 usage error; 3 could not run\n"
		"(catalog unusable, interrupted, offline volume with --fail-offline).\n");
}

enum { OPT_VOLUME = CLI_OPT_FIRST_COMMAND, OPT_BUDGET, OPT_MAX_BYTES, OPT_ALL, OPT_ADOPT,
       OPT_FAIL_OFFLINE, OPT_RECORD, OPT_LEASE, OPT_BATCH };

static volatile int interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static int parse_bytes(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long n;
	int shift = 0;

	if (!*s || *s == '-')
		return -1;
	n = strtoull(s, &end, 10);
	if (end == s)
		return -1;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	case 't': case 'T': shift = 40; break;
	default: return -1;
	}
	if (*end && end[1] && strcmp(end + 1, "B") != 0 && strcmp(end + 1, "iB") != 0)
		return -1;
	if (shift && n > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)n << shift;
	return 0;
}

/* A duration in milliseconds: "2h", "30m", "90s", or "500ms". */
static int64_t parse_ms(const char *s)
{
	size_t len = strlen(s);
	int64_t d;

	if (len > 2 && strcmp(s + len - 2, "ms") == 0) {
		char *end;
		long long n = strtoll(s, &end, 10);

		return end == s + len - 2 && n > 0 ? n : -1;
	}
	d = kist_fixity_parse_duration(s);
	return d > 0 && d < INT64_MAX / 1000 ? d * 1000 : -1;
}

static void summary(FILE *out, const struct kist_fixity_audit_result *r)
{
	fprintf(out, "checked %llu files (%llu bytes) in %.1f s:", (unsigned long long)r->checked,
		(unsigned long long)r->bytes, (double)r->elapsed_ms / 1000);
	for (int v = 0; v < KIST_VERDICT_COUNT; v++) {
		if (v != KIST_VERDICT_OK && !r->verdicts[v])
			continue;
		fprintf(out, " %llu %s%s", (unsigned long long)r->verdicts[v],
			v == KIST_VERDICT_REGISTERED ? "adopted" : kist_verdict_name(v),
			v + 1 < KIST_VERDICT_COUNT ? "," : "");
	}
	fprintf(out, " %zu volume%s audited", r->volumes_audited, r->volumes_audited == 1 ? "" : "s");
	if (r->volumes_offline)
		fprintf(out, ", %zu offline", r->volumes_offline);
	if (r->volumes_busy)
		fprintf(out, ", %zu busy", r->volumes_busy);
	if (r->budget_spent)
		fputs("; budget spent, the rest is due next run", out);
	fputc('\n', out);
}

int cmd_fixity_audit(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "volume", required_argument, NULL, OPT_VOLUME },
		{ "budget", required_argument, NULL, OPT_BUDGET },
		{ "max-bytes", required_argument, NULL, OPT_MAX_BYTES },
		{ "all", no_argument, NULL, OPT_ALL },
		{ "adopt", no_argument, NULL, OPT_ADOPT },
		{ "fail-offline", no_argument, NULL, OPT_FAIL_OFFLINE },
		{ "record-in-bag", no_argument, NULL, OPT_RECORD },
		{ "lease", required_argument, NULL, OPT_LEASE },
		{ "batch", required_argument, NULL, OPT_BATCH },
		CLI_GLOBAL_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct kist_fixity_audit_options opt = { 0 };
	struct kist_fixity_audit_result res;
	struct kist_catalog *cat;
	struct kist_findings *fs;
	struct kist_error err;
	const char **vols = NULL;
	int c, code, rc;
	int64_t d;

	if (!(vols = calloc((size_t)argc, sizeof(*vols)))) {
		cli_message("error", "out of memory");
		return EXIT_CANNOT;
	}
	while ((c = getopt_long(argc, argv, CLI_GLOBAL_SHORT, longopts, NULL)) != -1) {
		switch (c) {
		case 'h': usage_audit(stdout); free(vols); return EXIT_OK_;
		case OPT_VOLUME: vols[opt.nvolumes++] = optarg; continue;
		case OPT_BUDGET:
		case OPT_LEASE:
			d = parse_ms(optarg);
			if (d <= 0) {
				cli_usage_error("--%s %s: a duration such as 2h, 30m or 90s",
						c == OPT_BUDGET ? "budget" : "lease", optarg);
				free(vols);
				return EXIT_USAGE;
			}
			if (c == OPT_BUDGET)
				opt.budget_ms = d;
			else
				opt.lease_ms = d;
			continue;
		case OPT_MAX_BYTES:
			if (parse_bytes(optarg, &opt.max_bytes) < 0 || opt.max_bytes == 0) {
				cli_usage_error("--max-bytes %s: a number of bytes (K, M, G, T)", optarg);
				free(vols);
				return EXIT_USAGE;
			}
			continue;
		case OPT_BATCH:
			opt.batch = (size_t)strtoul(optarg, NULL, 10);
			if (opt.batch == 0 || opt.batch > 100000) {
				cli_usage_error("--batch %s: 1 to 100000", optarg);
				free(vols);
				return EXIT_USAGE;
			}
			continue;
		case OPT_ALL: opt.all = 1; continue;
		case OPT_ADOPT: opt.adopt = 1; continue;
		case OPT_FAIL_OFFLINE: opt.fail_offline = 1; continue;
		case OPT_RECORD: opt.record_in_bag = 1; continue;
		}
		int g = cli_other_option(c, optarg, cli_command);
		if (g != -1) {
			free(vols);
			return g;
		}
	}
	if (cli_check_format(1u << FORMAT_TEXT | 1u << FORMAT_JSON) < 0 || optind != argc) {
		if (optind != argc)
			cli_usage_error("audit takes no PATH: --volume NAME chooses volumes");
		free(vols);
		return EXIT_USAGE;
	}
	opt.volumes = vols;
	opt.jobs = cli.jobs;
	opt.cancel = &interrupted;
	if ((code = fixity_cli_open(&cat)) != EXIT_OK_) {
		free(vols);
		return code;
	}
	if (!(fs = kist_findings_new())) {
		cli_message("error", "out of memory");
		kist_catalog_close(cat);
		free(vols);
		return EXIT_CANNOT;
	}
	cli_findings_attach(fs, cli.format != FORMAT_JSON);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	kist_error_clear(&err);
	if (cli.format != FORMAT_JSON)
		opt.progress = cli_progress_start(0, 0, 0);
	rc = kist_fixity_audit(cat, &opt, &res, fs, &err);
	cli_progress_stop(opt.progress);
	code = cli_exit_code(fs);
	if (rc != KIST_OK) {
		cli_message("error", "%s; what was checked before is recorded, the next run carries on",
			    err.message);
		code = EXIT_CANNOT;
	} else if (interrupted) {
		cli_message("error", "interrupted; what was checked is recorded, the next run carries on");
		code = EXIT_CANNOT;
	}
	if (cli.format == FORMAT_JSON) {
		printf("{\"checked\":%llu,\"bytes\":%llu,\"elapsed_ms\":%lld,\"budget_spent\":%s,"
		       "\"volumes_audited\":%zu,\"volumes_offline\":%zu,\"verdicts\":{",
		       (unsigned long long)res.checked, (unsigned long long)res.bytes,
		       (long long)res.elapsed_ms, res.budget_spent ? "true" : "false",
		       res.volumes_audited, res.volumes_offline);
		for (int v = 0; v < KIST_VERDICT_COUNT; v++)
			printf("%s\"%s\":%llu", v ? "," : "",
			       v == KIST_VERDICT_REGISTERED ? "adopted" : kist_verdict_name(v),
			       (unsigned long long)res.verdicts[v]);
		fputs("},\"findings\":", stdout);
		cli_findings_json(stdout, fs);
		puts("}");
	} else if (!(cli.quiet && code == EXIT_OK_ &&
		     !kist_findings_count_severity(fs, KIST_SEV_WARNING))) {
		summary(stdout, &res);
	}
	kist_findings_free(fs);
	kist_catalog_close(cat);
	free(vols);
	return code;
}
