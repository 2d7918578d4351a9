/* kist premis: show, list and validate the PREMIS 3 provenance of bags. */
#include <config.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <kist/premis.h>

#include "cli.h"

#define BAG_PREMIS "metadata/premis.xml"

void usage_premis(FILE *out)
{
	fprintf(out,
		"usage: kist premis show BAG|FILE\n"
		"       kist premis events BAG|FILE [--format text|json|csv]\n"
		"       kist premis validate BAG|FILE...\n"
		"\n"
		"PREMIS 3 provenance: a bag's history is metadata/premis.xml, written by\n"
		"kist bag create and grown by kist bag update and kist bag validate --record.\n"
		"Documents are read as untrusted: no network, no entities, no DTD.\n"
		"\n"
		"  show      counts of objects, events and agents, and the events\n"
		"  events    the events in time order\n"
		"  validate  check against the PREMIS 3.0 schema (installed with kist)\n"
		"\n"
		"  -h, --help             this help\n"
		"\n"
		"Exit codes: 0 ok; 1 a document is invalid, malformed or refused;\n"
		"2 usage error; 3 a file or the schema could not be read.\n");
}

/* A bag (a directory: its metadata/premis.xml) or a file. */
static int resolve(const char *arg, int *dirfd, const char **name)
{
	struct stat st;

	if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) {
		*dirfd = open(arg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		*name = BAG_PREMIS;
		return *dirfd < 0 ? -1 : 0;
	}
	*dirfd = AT_FDCWD;
	*name = arg;
	return 0;
}

static void done_fd(int dirfd)
{
	if (dirfd >= 0 && dirfd != AT_FDCWD)
		close(dirfd);
}

static int exit_for(const struct kist_error *err)
{
	return err->status == KIST_INVALID ? EXIT_PROBLEM : EXIT_CANNOT;
}

static int read_summary(const char *arg, struct kist_premis_summary *s)
{
	struct kist_error err;
	const char *name;
	int dirfd, rc;

	if (resolve(arg, &dirfd, &name) < 0) {
		cli_message("error", "cannot open %s", arg);
		return EXIT_CANNOT;
	}
	kist_error_clear(&err);
	rc = kist_premis_read(dirfd, name, s, &err);
	done_fd(dirfd);
	if (rc != KIST_OK) {
		/* the message names the file; for a bag, say which bag */
		if (dirfd != AT_FDCWD)
			cli_message("error", "%s: %s", arg, err.message);
		else
			cli_message("error", "%s", err.message);
		return exit_for(&err);
	}
	return EXIT_OK_;
}

static void print_event_text(const struct kist_premis_event_info *e)
{
	printf("%s  %s  %s", e->datetime, e->type, e->outcome[0] ? e->outcome : "-");
	if (e->detail[0])
		printf("  (%s)", e->detail);
	if (e->outcome_detail[0]) {
		printf(": ");
		cli_print_escaped(stdout, e->outcome_detail);
	}
	putchar('\n');
}

static int cmd_show(int argc, char **argv)
{
	struct kist_premis_summary s;
	int code;

	if (argc != 1) {
		cli_usage_error("premis show takes one BAG or FILE");
		return EXIT_USAGE;
	}
	if ((code = read_summary(argv[0], &s)) != EXIT_OK_)
		return code;
	printf("objects: %zu (files %zu, representations %zu, other %zu)\n", s.objects, s.files,
	       s.representations, s.other_objects);
	printf("events: %zu\n", s.events);
	kist_premis_sort_events(&s);
	for (size_t i = 0; i < s.events; i++) {
		printf("  ");
		print_event_text(&s.ev[i]);
	}
	printf("agents: %zu\n", s.agents);
	for (size_t i = 0; i < s.agents; i++)
		printf("  %s (%s)\n", s.agent_names[i], s.agent_types[i][0] ? s.agent_types[i] : "-");
	if (s.rights)
		printf("rights statements: %zu\n", s.rights);
	kist_premis_summary_free(&s);
	return cli_finish_output(EXIT_OK_);
}

static int cmd_events(int argc, char **argv)
{
	struct kist_premis_summary s;
	int code;

	if (argc != 1) {
		cli_usage_error("premis events takes one BAG or FILE");
		return EXIT_USAGE;
	}
	if ((code = read_summary(argv[0], &s)) != EXIT_OK_)
		return code;
	kist_premis_sort_events(&s);
	if (cli.format == FORMAT_JSON) {
		printf("[");
		for (size_t i = 0; i < s.events; i++) {
			const struct kist_premis_event_info *e = &s.ev[i];

			printf("%s\n  {\"id\": ", i ? "," : "");
			cli_json_string(stdout, e->id);
			printf(", \"type\": ");
			cli_json_string(stdout, e->type);
			printf(", \"datetime\": ");
			cli_json_string(stdout, e->datetime);
			printf(", \"outcome\": ");
			cli_json_string(stdout, e->outcome);
			printf(", \"detail\": ");
			cli_json_string(stdout, e->detail);
			printf(", \"outcome_detail\": ");
			cli_json_string(stdout, e->outcome_detail);
			printf("}");
		}
		printf("%s]\n", s.events ? "\n" : "");
	} else if (cli.format == FORMAT_CSV) {
		printf("datetime,type,outcome,detail,outcome_detail,id\n");
		for (size_t i = 0; i < s.events; i++) {
			const struct kist_premis_event_info *e = &s.ev[i];
			const char *f[] = { e->datetime, e->type, e->outcome, e->detail, e->outcome_detail, e->id };

			for (size_t k = 0; k < 6; k++) {
				if (k)
					putchar(',');
				cli_csv_field(stdout, f[k]);
			}
			putchar('\n');
		}
	} else {
		for (size_t i = 0; i < s.events; i++)
			print_event_text(&s.ev[i]);
	}
	kist_premis_summary_free(&s);
	return cli_finish_output(EXIT_OK_);
}

static int cmd_validate(int argc, char **argv)
{
	struct kist_findings *fs = kist_findings_new();
	int code = EXIT_OK_;

	if (!fs)
		return EXIT_CANNOT;
	if (argc < 1) {
		kist_findings_free(fs);
		cli_usage_error("premis validate takes a BAG or FILE");
		return EXIT_USAGE;
	}
	cli_findings_attach(fs, 1);
	for (int i = 0; i < argc; i++) {
		struct kist_error err;
		const char *name;
		int dirfd, rc;

		if (resolve(argv[i], &dirfd, &name) < 0) {
			cli_message("error", "cannot open %s", argv[i]);
			code = EXIT_CANNOT;
			continue;
		}
		kist_error_clear(&err);
		rc = kist_premis_validate(dirfd, name, argv[i], fs, &err);
		done_fd(dirfd);
		if (rc == KIST_OK) {
			if (!cli.quiet)
				printf("%s: valid PREMIS 3\n", argv[i]);
		} else if (rc == KIST_INVALID) {
			printf("%s: INVALID\n", argv[i]);
			if (code == EXIT_OK_)
				code = EXIT_PROBLEM;
		} else {
			cli_message("error", "%s: %s", argv[i], err.message);
			code = EXIT_CANNOT;
		}
	}
	kist_findings_free(fs);
	return cli_finish_output(code);
}

int cmd_premis(int argc, char **argv)
{
	static const struct option longopts[] = { CLI_GLOBAL_LONG_OPTIONS, { NULL, 0, NULL, 0 } };
	const char *sub;
	int c;

	if (argc < 2) {
		usage_premis(stderr);
		return EXIT_USAGE;
	}
	sub = argv[1];
	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
		usage_premis(stdout);
		return EXIT_OK_;
	}
	if (strcmp(sub, "show") != 0 && strcmp(sub, "events") != 0 && strcmp(sub, "validate") != 0) {
		cli_usage_error("no subcommand '%s' (try kist premis -h)", sub);
		return EXIT_USAGE;
	}
	optind = 0;
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, CLI_GLOBAL_SHORT, longopts, NULL)) != -1) {
		int r;

		if (c == 'h') {
			usage_premis(stdout);
			return EXIT_OK_;
		}
		if ((r = cli_other_option(c, optarg, "premis")) >= 0)
			return r;
	}
	if (strcmp(sub, "events") == 0) {
		if (cli_check_format(1u << FORMAT_TEXT | 1u << FORMAT_JSON | 1u << FORMAT_CSV) < 0)
			return EXIT_USAGE;
	} else if (cli_check_format(1u << FORMAT_TEXT) < 0) {
		return EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;
	if (strcmp(sub, "show") == 0)
		return cmd_show(argc, argv);
	if (strcmp(sub, "events") == 0)
		return cmd_events(argc, argv);
	return cmd_validate(argc, argv);
}
