/* kist bag fetch: complete a holey bag from its fetch.txt. */
#include <config.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kist/bag.h>
#include <kist/premis.h>

#include "cli.h"

void usage_bag_fetch(FILE *out)
{
	fprintf(out,
		"usage: kist bag fetch [-j N] [--retries N] [--retry-wait SECONDS]\n"
		"                      [--timeout SECONDS] [--cacert FILE] [--no-premis]\n"
		"                      [--agent NAME] [--format text|json] [-q] [-v] BAG\n"
		"\n"
		"Completes a holey bag: downloads each file fetch.txt lists that is not in the\n"
		"bag yet (http, https and file URLs; redirects only to http and https), checks\n"
		"its length and every payload manifest's checksum as it arrives, and moves it\n"
		"into place only when all match. Files already present and valid are skipped,\n"
		"so an interrupted fetch is resumed by running it again. A file present with\n"
		"other contents is left alone and reported. Paths outside data/ or through a\n"
		"symbolic link are refused; nothing is written outside the bag.\n"
		"\n"
		"  -j, --jobs N             parallel downloads (default 4)\n"
		"      --retries N          further attempts after a transient error (HTTP 5xx,\n"
		"                           408, 429, connection reset, timeout); default 3\n"
		"      --retry-wait SECONDS first wait before a retry, doubled each time\n"
		"                           (default 1; fractions allowed)\n"
		"      --timeout SECONDS    give a transfer up after this long without a byte\n"
		"                           (default 60)\n"
		"      --cacert FILE        trust the CA certificates in FILE (PEM) for https\n"
		"                           instead of the system's\n"
		"      --no-premis          record nothing in metadata/premis.xml (by default\n"
		"                           a fetch that brought files in appends a PREMIS\n"
		"                           capture event when the bag has that file)\n"
		"      --agent NAME         the person recorded (default: login name)\n"
		"      --format FORMAT      text (default) or json (one document on stdout)\n"
		"  -q, --quiet              no summary line when everything was fetched\n"
		"  -v, --verbose            name each file fetched\n"
		"      --no-progress        no progress line\n"
		"  -h, --help               this help\n"
		"\n"
		"Prints 'BAG: complete (N fetched, M already present)', or\n"
		"'BAG: incomplete (K of L still to fetch)', or 'BAG: not complete (...)' when\n"
		"every line read is here but the bag has other errors (a malformed fetch.txt\n"
		"line, ...).\n"
		"\n"
		"Exit codes: 0 every file is here and verified; 1 a file could not be fetched\n"
		"or did not match (wrong length or checksum, HTTP error, refused URL or path);\n"
		"2 usage error; 3 could not run (unreadable bag, cannot write). Interrupted\n"
		"(SIGINT, SIGTERM): temporary files removed, then the signal's own status.\n");
}

enum { OPT_RETRIES = CLI_OPT_FIRST_COMMAND, OPT_RETRY_WAIT, OPT_TIMEOUT, OPT_NO_PREMIS, OPT_AGENT, OPT_CACERT };

static volatile int stop_signal;
static volatile int cancel_flag;

static void on_signal(int sig)
{
	stop_signal = sig;
	cancel_flag = 1;
}

static int parse_seconds(const char *arg, const char *what, double max, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(arg, &end);
	if (errno || end == arg || *end || !(*out >= 0) || *out > max) {
		cli_usage_error("%s takes a number of seconds from 0 to %.0f, not '%s'", what, max, arg);
		return -1;
	}
	return 0;
}

/* A fetch that brought files in is recorded as a PREMIS capture event
 * ("the process whereby a repository actively obtains an object") in a bag
 * that keeps its provenance in metadata/premis.xml. */
static int record(const char *bag, const struct kist_bag_fetch_result *r, int complete,
		  const char *agent)
{
	struct kist_premis_agent ag[2];
	size_t nag = 1;
	char detail[512], *premis = kist_path_join(bag, "metadata/premis.xml");
	struct kist_premis_event e = { .type = KIST_PREMIS_EV_CAP, .outcome_detail = detail,
				       .agents = ag, .object = KIST_PREMIS_BAG_OBJECT };
	struct kist_error err;
	int there = premis && access(premis, F_OK) == 0;

	free(premis);
	if (!there || !r->fetched)
		return EXIT_OK_;
	kist_premis_agent_kist(&ag[0]);
	if (kist_premis_agent_person(&ag[1], agent) == 0)
		nag++;
	e.nagents = nag;
	e.outcome = complete ? KIST_PREMIS_SUCCESS : KIST_PREMIS_FAILURE;
	snprintf(detail, sizeof(detail),
		 "kist bag fetch: %zu file(s), %llu bytes fetched from the URLs in fetch.txt and "
		 "verified; %zu already present; %zu still to fetch",
		 r->fetched, (unsigned long long)r->bytes, r->present, r->remaining);
	kist_error_clear(&err);
	if (kist_bag_record_event(bag, &e, ag, nag, &err) != KIST_OK) {
		cli_message("error", "%s: not recorded in metadata/premis.xml: %s", bag, err.message);
		return EXIT_CANNOT;
	}
	return EXIT_OK_;
}

struct tally {
	const char *bag;
	size_t errors, failures;
	int progress;            /* a progress line is on stderr */
};

static void print_finding(void *ctx, const struct kist_finding *f)
{
	struct tally *t = ctx;

	if (f->severity == KIST_SEV_ERROR)
		t->errors++;
	else if (f->severity == KIST_SEV_FAILURE)
		t->failures++;
	if (cli.format == FORMAT_JSON)
		return;
	if (f->severity == KIST_SEV_INFO && !cli.verbose)
		return;
	if (cli.quiet && f->severity < KIST_SEV_ERROR)
		return;
	if (t->progress)
		fputs("\r\033[K", stderr);   /* the progress line is drawn again at its next tick */
	fprintf(stderr, "kist bag fetch: %s: ", kist_severity_name(f->severity));
	if (f->path) {
		char *full = kist_path_join(t->bag, f->path);

		cli_print_escaped(stderr, full ? full : f->path);
		free(full);
		fputs(": ", stderr);
	} else if (!f->message || strncmp(f->message, t->bag, strlen(t->bag)) != 0) {
		cli_print_escaped(stderr, t->bag);   /* unless the message names it already */
		fputs(": ", stderr);
	}
	fprintf(stderr, "%s (%s)\n", f->message ? f->message : "out of memory", f->code);
}

static void print_json(const char *bag, int complete, const struct kist_bag_fetch_result *r,
		       const struct kist_findings *fs)
{
	fputs("{\"path\":", stdout);
	cli_json_string(stdout, bag);
	printf(",\"complete\":%s,\"listed\":%zu,\"present\":%zu,\"fetched\":%zu,\"remaining\":%zu"
	       ",\"bytes\":%llu,\"findings\":",
	       complete ? "true" : "false", r->listed, r->present, r->fetched, r->remaining,
	       (unsigned long long)r->bytes);
	cli_findings_json(stdout, fs);
	puts("}");
}

int cmd_bag_fetch(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "retries", required_argument, NULL, OPT_RETRIES },
		{ "retry-wait", required_argument, NULL, OPT_RETRY_WAIT },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "no-premis", no_argument, NULL, OPT_NO_PREMIS },
		{ "agent", required_argument, NULL, OPT_AGENT },
		{ "cacert", required_argument, NULL, OPT_CACERT },
		CLI_GLOBAL_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct kist_bag_fetch_options opt;
	struct kist_bag_fetch_result res;
	struct kist_findings *fs;
	struct kist_error err;
	struct sigaction sa, old_int, old_term;
	struct tally t = { 0 };
	int c, rc, code, complete, no_premis = 0;
	const char *agent = NULL;
	double secs;

	kist_bag_fetch_options_init(&opt);
	while ((c = getopt_long(argc, argv, CLI_GLOBAL_SHORT, longopts, NULL)) != -1) {
		int g;

		switch (c) {
		case OPT_RETRIES: {
			char *end;
			unsigned long n;

			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (errno || *end || optarg[0] == '-' || !optarg[0] || n > 100) {
				cli_usage_error("--retries takes a number from 0 to 100, not '%s'", optarg);
				return EXIT_USAGE;
			}
			opt.retries = (unsigned)n;
			continue;
		}
		case OPT_RETRY_WAIT:
			if (parse_seconds(optarg, "--retry-wait", 3600, &secs) < 0)
				return EXIT_USAGE;
			opt.retry_wait_ms = (unsigned)(secs * 1000 + 0.5);
			continue;
		case OPT_TIMEOUT:
			if (parse_seconds(optarg, "--timeout", 86400, &secs) < 0 || secs < 1) {
				if (secs < 1)
					cli_usage_error("--timeout is at least 1 second");
				return EXIT_USAGE;
			}
			opt.stall_timeout = (unsigned)secs;
			continue;
		case OPT_NO_PREMIS:
			no_premis = 1;
			continue;
		case OPT_AGENT:
			agent = optarg;
			continue;
		case OPT_CACERT:
			if (access(optarg, R_OK) != 0) {
				cli_usage_error("--cacert %s: %s", optarg, strerror(errno));
				return EXIT_USAGE;
			}
			opt.cacert = optarg;
			continue;
		case 'h':
			usage_bag_fetch(stdout);
			return EXIT_OK_;
		}
		g = cli_global_option(c, optarg);
		if (g < 0)
			return EXIT_USAGE;
		if (g == 0) {
			usage_bag_fetch(stderr);
			return EXIT_USAGE;
		}
	}
	if (cli_check_format(1u << FORMAT_TEXT | 1u << FORMAT_JSON) < 0)
		return EXIT_USAGE;
	if (optind != argc - 1) {
		cli_usage_error(optind >= argc ? "which bag? (kist bag fetch BAG)"
					       : "one bag at a time (kist bag fetch BAG)");
		return EXIT_USAGE;
	}
	t.bag = argv[optind];
	if (cli.jobs)
		opt.jobs = cli.jobs;
	if (!(fs = kist_findings_new())) {
		cli_message("error", "out of memory");
		return EXIT_CANNOT;
	}
	kist_findings_set_callback(fs, print_finding, &t, cli.format == FORMAT_JSON);

	/* A signal only asks the downloads to stop; they remove their
	 * temporary files, and then the signal is raised again. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	/* a signal ignored by whoever started us (nohup, a background job)
	 * stays ignored */
	if (old_int.sa_handler == SIG_IGN)
		sigaction(SIGINT, &old_int, NULL);
	if (old_term.sa_handler == SIG_IGN)
		sigaction(SIGTERM, &old_term, NULL);
	opt.cancel = &cancel_flag;
	if (cli.format != FORMAT_JSON)
		opt.progress = cli_progress_start(0, 0, 0);
	t.progress = opt.progress != NULL;
	kist_error_clear(&err);
	rc = kist_bag_fetch(t.bag, &opt, &res, fs, &err);
	cli_progress_stop(opt.progress);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);

	if (stop_signal) {
		cli_message(NULL, "%s: interrupted; %zu file(s) fetched, temporary files removed", t.bag,
			    res.fetched);
		kist_findings_free(fs);
		fflush(stdout);
		raise(stop_signal);
		return EXIT_CANNOT;
	}
	if (rc == KIST_FAILED && !t.errors && !t.failures)
		kist_findings_add(fs, KIST_SEV_FAILURE, "bag.unreadable", NULL, "%s", err.message);
	else if (rc == KIST_FAILED)
		cli_message("error", "%s: %s", t.bag, err.message);
	complete = rc == KIST_OK && res.remaining == 0 && !t.errors && !t.failures;
	code = t.errors ? EXIT_PROBLEM : (t.failures || rc == KIST_FAILED) ? EXIT_CANNOT : EXIT_OK_;
	if (rc == KIST_INVALID && code == EXIT_OK_)
		code = EXIT_PROBLEM;
	if (rc == KIST_OK && !no_premis) {
		int r = record(t.bag, &res, complete, agent);

		if (r > code && code != EXIT_PROBLEM)
			code = r;
	}
	if (cli.format == FORMAT_JSON) {
		print_json(t.bag, complete, &res, fs);
	} else if (rc == KIST_OK && !(cli.quiet && code == EXIT_OK_)) {
		cli_print_escaped(stdout, t.bag);
		if (complete)
			printf(": complete (%zu fetched, %zu already present)\n", res.fetched, res.present);
		else if (res.remaining)
			printf(": incomplete (%zu of %zu still to fetch)\n", res.remaining, res.listed);
		else   /* every line read is here, but something else is wrong */
			printf(": not complete (%zu fetched, %zu already present; %zu error%s, %zu "
			       "failure%s)\n", res.fetched, res.present, t.errors, t.errors == 1 ? "" : "s",
			       t.failures, t.failures == 1 ? "" : "s");
	}
	kist_findings_free(fs);
	return cli_finish_output(code);
}
