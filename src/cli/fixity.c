/* kist fixity: volumes, registering, reports and histories; the audit
 * itself is in fixity-audit.c. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kist/fixity.h>
#include <kist/premis.h>

#include "cli.h"
#include "fixity-cli.h"

void usage_fixity(FILE *out)
{
	fprintf(out,
		"usage: kist fixity volume add NAME PATH [--period 90d]\n"
		"       kist fixity volume list [--format text|json]\n"
		"       kist fixity volume remove NAME\n"
		"       kist fixity add [-a ALG,...] PATH|BAG...\n"
		"       kist fixity audit [--volume NAME]... [--budget 2h] [--max-bytes N] [--all]\n"
		"                         [--adopt] [--record-in-bag] [--fail-offline] [-j N] [-q]\n"
		"       kist fixity report [--since DATE] [--problems-only] [--format text|json|csv]\n"
		"       kist fixity history PATH [--format text|json|premis]\n"
		"\n"
		"Keeps a catalog of files with their expected digests on storage volumes and\n"
		"re-checks them on a schedule: each audit checks what is due (last check +\n"
		"the volume's period), oldest first, until its budget is spent.\n"
		"\n"
		"      --catalog URL   sqlite:PATH (default: $KIST_CATALOG, else\n"
		"                      $XDG_DATA_HOME/kist/catalog.sqlite, /var/lib/kist/ for\n"
		"                      root) or postgresql://... shared by many hosts\n"
		"  -h, --help          this help (kist fixity COMMAND -h for each command)\n"
		"\n"
		"Exit codes: 0 all ok; 1 problems found (changed, missing, new, unreadable,\n"
		"denied); 2 usage error; 3 could not run (catalog unusable or locked, an\n"
		"offline volume with --fail-offline). See kist-fixity(1).\n");
}

/* --- shared helpers -------------------------------------------------------------------- */

int fixity_cli_open(struct kist_catalog **cat)
{
	struct kist_error err;

	kist_error_clear(&err);
	if (kist_catalog_open(cli.catalog, cat, &err) != KIST_OK) {
		cli_message("error", "%s", err.message);
		return EXIT_CANNOT;
	}
	return EXIT_OK_;
}

void fixity_cli_time(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || !gmtime_r(&t, &tm)) {
		snprintf(buf, len, "never");
		return;
	}
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* "2026-11-27", "2026-11-27T06:00:00Z", or a duration back from now ("7d"). */
int64_t fixity_cli_parse_date(const char *s)
{
	struct tm tm;
	const char *end;
	int64_t d;

	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) && (*end == '\0' || strcmp(end, "Z") == 0))
		return (int64_t)timegm(&tm) * 1000;
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%d", &tm)) && *end == '\0')
		return (int64_t)timegm(&tm) * 1000;
	if ((d = kist_fixity_parse_duration(s)) >= 0) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		return ((int64_t)ts.tv_sec - d) * 1000;
	}
	return -1;
}

static void human_bytes(uint64_t b, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KB", "MB", "GB", "TB", "PB" };
	double v = (double)b;
	int u = 0;

	while (v >= 1000 && u < 5) {
		v /= 1000;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)b);
	else
		snprintf(buf, len, "%.1f %s", v, unit[u]);
}

/* --- volume ----------------------------------------------------------------------------- */

static void usage_volume(FILE *out)
{
	fprintf(out,
		"usage: kist fixity volume add NAME PATH [--period 90d]\n"
		"       kist fixity volume list [--format text|json]\n"
		"       kist fixity volume remove NAME\n"
		"\n"
		"add writes PATH/.kist-volume (a UUID) and records the volume; every file on\n"
		"it is due again PERIOD after its last check (s, m, h, d, w; default 90d).\n"
		"Adding a known NAME at a PATH holding its sentinel records where this host\n"
		"mounts it. list shows each volume online or offline, its files, bytes,\n"
		"oldest check and problems. remove forgets a volume and its history.\n");
}

enum { OPT_PERIOD = CLI_OPT_FIRST_COMMAND, OPT_VOLUME, OPT_BUDGET, OPT_MAX_BYTES, OPT_ALL,
       OPT_ADOPT, OPT_FAIL_OFFLINE, OPT_RECORD, OPT_SINCE, OPT_PROBLEMS, OPT_LEASE, OPT_BATCH };

struct vlist {
	int n;
};

static int print_volume(void *ctx, const struct kist_volume_info *v)
{
	struct vlist *l = ctx;
	char oldest[32], bytes[32];

	fixity_cli_time(v->oldest_check, oldest, sizeof(oldest));
	if (cli.format == FORMAT_JSON) {
		fputs(l->n++ ? ",\n {" : "\n {", stdout);
		fputs("\"name\":", stdout);
		cli_json_string(stdout, v->name);
		printf(",\"uuid\":\"%s\",\"path\":", v->uuid);
		if (v->path)
			cli_json_string(stdout, v->path);
		else
			fputs("null", stdout);
		printf(",\"online\":%s,\"period_seconds\":%lld,\"files\":%llu,\"bytes\":%llu,"
		       "\"due\":%llu,\"problems\":%llu,\"oldest_check\":",
		       v->online ? "true" : "false", (long long)(v->period_ms / 1000),
		       (unsigned long long)v->files, (unsigned long long)v->bytes,
		       (unsigned long long)v->due, (unsigned long long)v->problems);
		if (v->oldest_check)
			printf("\"%s\"}", oldest);
		else
			fputs("null}", stdout);
		return 0;
	}
	human_bytes(v->bytes, bytes, sizeof(bytes));
	l->n++;
	cli_print_escaped(stdout, v->name);
	printf(": %s, %llu files, %s, oldest check %s, %llu due, %llu problems (",
	       v->online ? "online" : "offline", (unsigned long long)v->files, bytes, oldest,
	       (unsigned long long)v->due, (unsigned long long)v->problems);
	cli_print_escaped(stdout, v->path ? v->path : "not mounted on this host");
	puts(")");
	return 0;
}

static int cmd_volume(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "period", required_argument, NULL, OPT_PERIOD },
		CLI_GLOBAL_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct kist_catalog *cat = NULL;
	struct kist_error err;
	const char *verb;
	int64_t period = 90 * 86400;
	int c, code;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage_volume(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK_;
	}
	verb = argv[1];
	argc--;
	argv++;
	optind = 0;
	while ((c = getopt_long(argc, argv, CLI_GLOBAL_SHORT, longopts, NULL)) != -1) {
		if (c == 'h') {
			usage_volume(stdout);
			return EXIT_OK_;
		}
		if (c == OPT_PERIOD) {
			if ((period = kist_fixity_parse_duration(optarg)) <= 0) {
				cli_usage_error("--period %s: a duration such as 90d, 12w or 36h", optarg);
				return EXIT_USAGE;
			}
			continue;
		}
		int r = cli_other_option(c, optarg, cli_command);
		if (r != -1)
			return r;
	}
	kist_error_clear(&err);
	if (strcmp(verb, "add") == 0) {
		if (argc - optind != 2) {
			cli_usage_error("volume add NAME PATH");
			return EXIT_USAGE;
		}
		if ((code = fixity_cli_open(&cat)) != EXIT_OK_)
			return code;
		if (kist_fixity_volume_add(cat, argv[optind], argv[optind + 1], period * 1000, &err) !=
		    KIST_OK) {
			cli_message("error", "%s", err.message);
			code = err.status == KIST_INVALID ? EXIT_PROBLEM : EXIT_CANNOT;
		} else if (!cli.quiet) {
			printf("volume %s at %s\n", argv[optind], argv[optind + 1]);
		}
	} else if (strcmp(verb, "list") == 0) {
		struct vlist l = { 0 };

		if (cli_check_format(1u << FORMAT_TEXT | 1u << FORMAT_JSON) < 0)
			return EXIT_USAGE;
		if (argc != optind) {
			cli_usage_error("volume list takes no arguments");
			return EXIT_USAGE;
		}
		if ((code = fixity_cli_open(&cat)) != EXIT_OK_)
			return code;
		if (cli.format == FORMAT_JSON)
			fputs("{\"volumes\":[", stdout);
		if (kist_fixity_volume_list(cat, print_volume, &l, &err) != KIST_OK) {
			cli_message("error", "%s", err.message);
			code = EXIT_CANNOT;
		}
		if (cli.format == FORMAT_JSON)
			puts("\n]}");
	} else if (strcmp(verb, "remove") == 0) {
		if (argc - optind != 1) {
			cli_usage_error("volume remove NAME");
			return EXIT_USAGE;
		}
		if ((code = fixity_cli_open(&cat)) != EXIT_OK_)
			return code;
		if (kist_fixity_volume_remove(cat, argv[optind], &err) != KIST_OK) {
			cli_message("error", "%s", err.message);
			code = err.status == KIST_INVALID ? EXIT_PROBLEM : EXIT_CANNOT;
		}
	} else {
		cli_usage_error("no volume command '%s' (add, list, remove)", verb);
		return EXIT_USAGE;
	}
	kist_catalog_close(cat);
	return code;
}

/* --- add ---------------------------------------------------------------------------------- */

static void usage_add(FILE *out)
{
	fprintf(out,
		"usage: kist fixity add [-a ALG,...] [-j N] PATH|BAG...\n"
		"\n"
		"Registers files on a volume: a plain folder or file is hashed now (default\n"
		"sha256; -a for more, each file read once); a bag is validated in full and\n"
		"its payload manifests become the expected digests (an invalid bag is not\n"
		"registered). Files already in the catalog are left as they were.\n");
}

static int cmd_add(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "algorithms", required_argument, NULL, 'a' },
		CLI_GLOBAL_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct kist_fixity_add_options opt = { 0 };
	struct kist_catalog *cat;
	int c, code = EXIT_OK_;

	while ((c = getopt_long(argc, argv, "a:" CLI_GLOBAL_SHORT, longopts, NULL)) != -1) {
		if (c == 'h') {
			usage_add(stdout);
			return EXIT_OK_;
		}
		if (c == 'a') {
			struct kist_error err;

			kist_error_clear(&err);
			if (kist_algset_parse(optarg, &opt.algs, &err) < 0) {
				cli_usage_error("%s", err.message);
				return EXIT_USAGE;
			}
			continue;
		}
		int r = cli_other_option(c, optarg, cli_command);
		if (r != -1)
			return r;
	}
	if (optind >= argc) {
		cli_usage_error("what to register? (kist fixity add PATH...)");
		return EXIT_USAGE;
	}
	if ((code = fixity_cli_open(&cat)) != EXIT_OK_)
		return code;
	opt.jobs = cli.jobs;
	for (int i = optind; i < argc; i++) {
		struct kist_findings *fs = kist_findings_new();
		struct kist_fixity_add_result res;
		struct kist_error err;
		char bytes[32];
		int rc, fc;

		if (!fs) {
			cli_message("error", "out of memory");
			code = EXIT_CANNOT;
			break;
		}
		cli_findings_attach(fs, 1);
		kist_error_clear(&err);
		opt.progress = cli_progress_start(0, 0, 0);
		rc = kist_fixity_add(cat, argv[i], &opt, &res, fs, &err);
		cli_progress_stop(opt.progress);
		fc = cli_exit_code(fs);
		if (rc != KIST_OK) {
			cli_message("error", "%s", err.message);
			fc = rc == KIST_INVALID ? EXIT_PROBLEM : EXIT_CANNOT;
		} else if (!cli.quiet) {
			human_bytes(res.bytes, bytes, sizeof(bytes));
			cli_print_escaped(stdout, argv[i]);
			printf(": %s%llu files registered (%s) on volume %s", res.is_bag ? "bag valid, " : "",
			       (unsigned long long)res.files, bytes, res.volume);
			if (res.known)
				printf(", %llu already known", (unsigned long long)res.known);
			putchar('\n');
		}
		if (fc == EXIT_PROBLEM || (fc == EXIT_CANNOT && code == EXIT_OK_))
			code = fc;
		kist_findings_free(fs);
	}
	kist_catalog_close(cat);
	return code;
}

/* --- report --------------------------------------------------------------------------------- */

static void usage_report(FILE *out)
{
	fprintf(out,
		"usage: kist fixity report [--since DATE] [--problems-only] [--format text|json|csv]\n"
		"\n"
		"Per volume: online or offline, files, bytes, oldest check; then every problem\n"
		"(changed, missing, new, moved, renamed, unreadable, denied) with its path,\n"
		"expected and found digests, and when it was first and last seen.\n"
		"\n"
		"      --since DATE      problems seen at a check since DATE (2026-11-01,\n"
		"                        2026-11-01T06:00:00Z, or a duration back: 7d)\n"
		"      --problems-only   no per-volume lines: only the problems\n"
		"      --format FORMAT   text (default), json or csv (problems only)\n"
		"\n"
		"Exit codes: 0 no problems; 1 problems listed; 3 catalog unusable.\n");
}

struct rep {
	int n;
	int problems_only;
};

static void text_digest_line(const char *label, const char *d)
{
	printf("    %s ", label);
	cli_print_escaped(stdout, d ? d : "-");
	putchar('\n');
}

static int print_item(void *ctx, const struct kist_fixity_item *it)
{
	struct rep *r = ctx;
	char first[32], last[32], size[24];

	fixity_cli_time(it->first_seen, first, sizeof(first));
	fixity_cli_time(it->last_check, last, sizeof(last));
	snprintf(size, sizeof(size), "%llu", (unsigned long long)it->size);
	if (cli.format == FORMAT_CSV) {
		if (r->n++ == 0)
			puts("volume,path,verdict,expected,found,size,first_seen,last_seen,detail");
		cli_csv_field(stdout, it->volume);
		putchar(',');
		cli_csv_field(stdout, it->path);
		printf(",%s,", kist_verdict_name(it->verdict));
		cli_csv_field(stdout, it->expected ? it->expected : "");
		putchar(',');
		cli_csv_field(stdout, it->found ? it->found : "");
		printf(",%s,%s,%s,", size, first, last);
		cli_csv_field(stdout, it->detail ? it->detail : "");
		putchar('\n');
		return 0;
	}
	if (cli.format == FORMAT_JSON) {
		fputs(r->n++ ? ",\n {" : "\n {", stdout);
		fputs("\"volume\":", stdout);
		cli_json_string(stdout, it->volume);
		fputs(",\"path\":", stdout);
		cli_json_string(stdout, it->path);
		printf(",\"verdict\":\"%s\",\"size\":%s,\"expected\":", kist_verdict_name(it->verdict), size);
		if (it->expected)
			cli_json_string(stdout, it->expected);
		else
			fputs("null", stdout);
		fputs(",\"found\":", stdout);
		if (it->found)
			cli_json_string(stdout, it->found);
		else
			fputs("null", stdout);
		printf(",\"first_seen\":\"%s\",\"last_seen\":\"%s\",\"detail\":", first, last);
		if (it->detail)
			cli_json_string(stdout, it->detail);
		else
			fputs("null", stdout);
		putchar('}');
		return 0;
	}
	if (r->n++ == 0 && !r->problems_only)
		puts("problems:");
	printf("%s ", kist_verdict_name(it->verdict));
	cli_print_escaped(stdout, it->volume);
	putchar(':');
	cli_print_escaped(stdout, it->path);
	if (it->detail) {
		fputs(" (", stdout);
		cli_print_escaped(stdout, it->detail);
		putchar(')');
	}
	putchar('\n');
	text_digest_line("expected", it->expected);
	text_digest_line("found   ", it->found);
	printf("    first seen %s, last seen %s\n", first, last);
	return 0;
}

static int print_volume_summary(void *ctx, const struct kist_volume_info *v)
{
	struct rep *r = ctx;
	char oldest[32], bytes[32];

	fixity_cli_time(v->oldest_check, oldest, sizeof(oldest));
	if (cli.format == FORMAT_JSON) {
		fputs(r->n++ ? ",\n {" : "\n {", stdout);
		fputs("\"name\":", stdout);
		cli_json_string(stdout, v->name);
		printf(",\"online\":%s,\"files\":%llu,\"bytes\":%llu,\"due\":%llu,\"problems\":%llu,"
		       "\"oldest_check\":\"%s\"}",
		       v->online ? "true" : "false", (unsigned long long)v->files,
		       (unsigned long long)v->bytes, (unsigned long long)v->due,
		       (unsigned long long)v->problems, oldest);
		return 0;
	}
	human_bytes(v->bytes, bytes, sizeof(bytes));
	printf("volume ");
	cli_print_escaped(stdout, v->name);
	printf(": %s, %llu files, %s, %llu problems, %llu due, oldest check %s\n",
	       v->online ? "online" : "offline", (unsigned long long)v->files, bytes,
	       (unsigned long long)v->problems, (unsigned long long)v->due, oldest);
	return 0;
}

static int cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "problems-only", no_argument, NULL, OPT_PROBLEMS },
		CLI_GLOBAL_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct kist_catalog *cat;
	struct kist_error err;
	struct rep r = { 0 };
	int64_t since = 0;
	int c, code;

	while ((c = getopt_long(argc, argv, CLI_GLOBAL_SHORT, longopts, NULL)) != -1) {
		switch (c) {
		case 'h': usage_report(stdout); return EXIT_OK_;
		case OPT_SINCE:
			if ((since = fixity_cli_parse_date(optarg)) < 0) {
				cli_usage_error("--since %s: a date (2026-11-01, 2026-11-01T06:00:00Z) or "
						"a duration back (7d)", optarg);
				return EXIT_USAGE;
			}
			continue;
		case OPT_PROBLEMS: r.problems_only = 1; continue;
		}
		int g = cli_other_option(c, optarg, cli_command);
		if (g != -1)
			return g;
	}
	if (cli_check_format(1u << FORMAT_TEXT | 1u << FORMAT_JSON | 1u << FORMAT_CSV) < 0)
		return EXIT_USAGE;
	if (optind != argc) {
		cli_usage_error("report takes no arguments");
		return EXIT_USAGE;
	}
	if ((code = fixity_cli_open(&cat)) != EXIT_OK_)
		return code;
	kist_error_clear(&err);
	if (cli.format == FORMAT_JSON)
		fputs("{\"volumes\":[", stdout);
	if (!r.problems_only && cli.format != FORMAT_CSV &&
	    kist_fixity_volume_list(cat, print_volume_summary, &r, &err) != KIST_OK)
		goto fail;
	if (cli.format == FORMAT_JSON)
		fputs("\n],\"problems\":[", stdout);
	r.n = 0;
	if (kist_fixity_report(cat, since, 0, print_item, &r, &err) != KIST_OK)
		goto fail;
	if (cli.format == FORMAT_JSON)
		puts("\n]}");
	else if (cli.format != FORMAT_CSV && r.n == 0 && !r.problems_only && !cli.quiet)
		puts("no problems");
	kist_catalog_close(cat);
	return r.n ? EXIT_PROBLEM : EXIT_OK_;
fail:
	cli_message("error", "%s", err.message);
	kist_catalog_close(cat);
	return EXIT_CANNOT;
}

/* --- history ---------------------------------------------------------------------------------- */

static void usage_history(FILE *out)
{
	fprintf(out,
		"usage: kist fixity history PATH [--format text|json|premis]\n"
		"\n"
		"Every check of one registered file, oldest first: when, the verdict, the\n"
		"digests found, the host. premis: a PREMIS 3 document with one fixity check\n"
		"event per check (the registration as message digest calculation).\n");
}

struct hist {
	int n;
	struct kist_premis_writer *w;
	const char *object;
	int failed;
};

static int print_check(void *ctx, const struct kist_fixity_check *c)
{
	struct hist *h = ctx;
	char when[32];

	fixity_cli_time(c->time, when, sizeof(when));
	if (h->w) {
		struct kist_premis_agent ag;
		char detail[1024];
		struct kist_premis_event e = {
			.type = c->verdict == KIST_VERDICT_REGISTERED ? KIST_PREMIS_EV_MES
								       : KIST_PREMIS_EV_FIX,
			.datetime = when, .agents = &ag, .nagents = 1, .outcome_detail = detail,
			.object = h->object,
		};

		kist_premis_agent_kist(&ag);
		e.outcome = c->verdict == KIST_VERDICT_OK || c->verdict == KIST_VERDICT_REGISTERED
				    ? KIST_PREMIS_SUCCESS
			    : c->verdict == KIST_VERDICT_MOVED || c->verdict == KIST_VERDICT_RENAMED
				    ? KIST_PREMIS_WARNING : KIST_PREMIS_FAILURE;
		snprintf(detail, sizeof(detail), "kist fixity: %s on host %s at %s; found %s%s%s",
			 kist_verdict_name(c->verdict), c->host, c->path, c->found ? c->found : "nothing",
			 c->detail ? "; " : "", c->detail ? c->detail : "");
		if (kist_premis_write_event(h->w, &e) != KIST_OK)
			return h->failed = 1;
		h->n++;
		return 0;
	}
	if (cli.format == FORMAT_JSON) {
		fputs(h->n++ ? ",\n {" : "\n {", stdout);
		printf("\"time\":\"%s\",\"verdict\":\"%s\",\"path\":", when, kist_verdict_name(c->verdict));
		cli_json_string(stdout, c->path);
		fputs(",\"host\":", stdout);
		cli_json_string(stdout, c->host);
		fputs(",\"expected\":", stdout);
		if (c->expected)
			cli_json_string(stdout, c->expected);
		else
			fputs("null", stdout);
		fputs(",\"found\":", stdout);
		if (c->found)
			cli_json_string(stdout, c->found);
		else
			fputs("null", stdout);
		fputs(",\"detail\":", stdout);
		if (c->detail)
			cli_json_string(stdout, c->detail);
		else
			fputs("null", stdout);
		putchar('}');
		return 0;
	}
	h->n++;
	printf("%s %s ", when, kist_verdict_name(c->verdict));
	cli_print_escaped(stdout, c->path);
	printf(" on %s", c->host);
	if (c->detail) {
		fputs(" (", stdout);
		cli_print_escaped(stdout, c->detail);
		putchar(')');
	}
	putchar('\n');
	if (c->found) {
		fputs("  found ", stdout);
		cli_print_escaped(stdout, c->found);
		putchar('\n');
	}
	return 0;
}

/* PREMIS goes through a temporary file (the writer writes files), then to stdout. */
static int history_premis(struct kist_catalog *cat, const char *path, struct kist_error *err)
{
	char dir[] = "/tmp/kist-history-XXXXXX";
	struct hist h = { .object = path };
	struct kist_premis_agent ag;
	int dfd = -1, rc = KIST_FAILED;

	if (!mkdtemp(dir))
		return kist_error_sys(err, errno, "cannot make a temporary folder");
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY)) < 0 ||
	    !(h.w = kist_premis_writer_new(dfd, "history.xml", err)))
		goto out;
	kist_premis_agent_kist(&ag);
	rc = kist_fixity_history(cat, path, print_check, &h, err);
	if (rc == KIST_OK && h.failed)
		rc = kist_error_set(err, KIST_FAILED, "cannot write the PREMIS document");
	if (rc == KIST_OK && kist_premis_write_agent(h.w, &ag) != KIST_OK)
		rc = kist_error_set(err, KIST_FAILED, "cannot write the PREMIS document");
	if (rc == KIST_OK) {
		rc = kist_premis_writer_finish(h.w, err);
		h.w = NULL;
	}
	if (rc == KIST_OK) {
		FILE *f = NULL;
		int fd = openat(dfd, "history.xml", O_RDONLY);
		char buf[65536];
		size_t n;

		if (fd < 0 || !(f = fdopen(fd, "r"))) {
			rc = kist_error_sys(err, errno, "cannot read the PREMIS document");
			if (fd >= 0)
				close(fd);
		} else {
			while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
				fwrite(buf, 1, n, stdout);
			fclose(f);
		}
	}
out:
	if (h.w)
		kist_premis_writer_free(h.w);
	if (dfd >= 0) {
		unlinkat(dfd, "history.xml", 0);
		close(dfd);
	}
	rmdir(dir);
	return rc;
}

static int cmd_history(int argc, char **argv)
{
	static const struct option longopts[] = { CLI_GLOBAL_LONG_OPTIONS, { NULL, 0, NULL, 0 } };
	struct kist_catalog *cat;
	struct kist_error err;
	struct hist h = { 0 };
	int c, code, rc, premis = 0;

	while ((c = getopt_long(argc, argv, CLI_GLOBAL_SHORT, longopts, NULL)) != -1) {
		if (c == 'h') {
			usage_history(stdout);
			return EXIT_OK_;
		}
		if (c == CLI_OPT_FORMAT && strcmp(optarg, "premis") == 0) {
			premis = 1;
			continue;
		}
		int g = cli_other_option(c, optarg, cli_command);
		if (g != -1)
			return g;
	}
	if (!premis && cli_check_format(1u << FORMAT_TEXT | 1u << FORMAT_JSON) < 0)
		return EXIT_USAGE;
	if (argc - optind != 1) {
		cli_usage_error("history PATH");
		return EXIT_USAGE;
	}
	if ((code = fixity_cli_open(&cat)) != EXIT_OK_)
		return code;
	kist_error_clear(&err);
	if (premis) {
		rc = history_premis(cat, argv[optind], &err);
	} else {
		if (cli.format == FORMAT_JSON)
			fputs("{\"checks\":[", stdout);
		rc = kist_fixity_history(cat, argv[optind], print_check, &h, &err);
		if (cli.format == FORMAT_JSON)
			puts("\n]}");
	}
	kist_catalog_close(cat);
	if (rc != KIST_OK) {
		cli_message("error", "%s", err.message);
		return rc == KIST_INVALID ? EXIT_PROBLEM : EXIT_CANNOT;
	}
	return EXIT_OK_;
}

/* --- dispatch ------------------------------------------------------------------------------------ */

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} subcommands[] = {
	{ "volume", cmd_volume },
	{ "add", cmd_add },
	{ "audit", cmd_fixity_audit },
	{ "report", cmd_report },
	{ "history", cmd_history },
};

void cli_fixity_subcommands(FILE *out)
{
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(out, "fixity %s\n", subcommands[i].name);
}

int cmd_fixity(int argc, char **argv)
{
	static char prog[48], name[32];

	if (argc < 2) {
		usage_fixity(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage_fixity(stdout);
		return EXIT_OK_;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
		if (strcmp(argv[1], subcommands[i].name) != 0)
			continue;
		snprintf(prog, sizeof(prog), "kist fixity %s", subcommands[i].name);
		snprintf(name, sizeof(name), "fixity %s", subcommands[i].name);
		argv[1] = prog;
		cli_command = name;   /* messages name the subcommand */
		optind = 0;
		return subcommands[i].run(argc - 1, argv + 1);
	}
	cli_usage_error("no fixity command '%s' (volume, add, audit, report, history)", argv[1]);
	return EXIT_USAGE;
}
