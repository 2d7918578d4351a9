/* kist: the command table and global flags. */
#include <config.h>

#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "profile.h"

static const struct cli_command commands[] = {
	{ "bag", "create, validate, update and inspect BagIt bags", cmd_bag, usage_bag },
	{ "checksum", "compute or verify checksums, each file read once", cmd_checksum, usage_checksum },
	{ "identify", "identify file formats (PRONOM PUID, MIME type)", cmd_identify, usage_identify },
	{ "premis", "show, list and validate PREMIS 3 provenance", cmd_premis, usage_premis },
	{ "profile", "check BagIt Profiles (bag validate/create --profile use them)", cmd_profile, usage_profile },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kist [global flags] COMMAND [ARGS]\n"
		"\n"
		"kist packages collections as BagIt bags, identifies formats, computes\n"
		"checksums and audits fixity.\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out,
		"  help       show help for a command (kist help COMMAND)\n"
		"\n"
		"Global flags:\n"
		"  -j, --jobs N          worker threads (default: online CPUs)\n"
		"  -q, --quiet           print only problems\n"
		"  -v, --verbose         say more\n"
		"      --format FORMAT   text, json or csv (some commands take more)\n"
		"      --no-progress     never show a progress line\n"
		"      --catalog URL     fixity catalog (sqlite:PATH or postgresql://...)\n"
		"      --version         print the version\n"
		"  -h, --help            this help\n"
		"\n"
		"Exit codes: 0 ok, 1 problem found (invalid, mismatch, missing),\n"
		"2 usage error, 3 could not run (I/O error, missing dependency).\n"
		"See kist(1) and kist-COMMAND(1).\n");
}

static const struct cli_command *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int help(int argc, char **argv)
{
	const struct cli_command *c;

	if (argc < 2 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return EXIT_OK_;
	}
	if (strcmp(argv[1], "--commands") == 0) {
		/* every command and subcommand, for scripts and the -h test */
		for (size_t i = 0; i < NCOMMANDS; i++)
			printf("%s\n", commands[i].name);
		cli_bag_subcommands(stdout);
		return EXIT_OK_;
	}
	if (!(c = find_command(argv[1]))) {
		cli_usage_error("no command '%s' (try kist help)", argv[1]);
		return EXIT_USAGE;
	}
	if (argc > 2 && c->run == cmd_bag) {   /* kist help bag create */
		char *sub[] = { argv[1], argv[2], (char *)"-h", NULL };

		return cmd_bag(3, sub);
	}
	c->usage(stdout);
	return EXIT_OK_;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_GLOBAL_LONG_OPTIONS,
		{ "version", no_argument, NULL, CLI_OPT_VERSION },
		{ NULL, 0, NULL, 0 }
	};
	const struct cli_command *c;
	int opt;

	setlocale(LC_ALL, "");
	signal(SIGPIPE, SIG_DFL);
	cli_command = NULL;
	/* '+': stop at the command name; its own flags are its own. */
	while ((opt = getopt_long(argc, argv, "+" CLI_GLOBAL_SHORT, longopts, NULL)) != -1) {
		if (opt == CLI_OPT_VERSION) {
			printf("kist %s\n", kist_version());
			return cli_finish_output(EXIT_OK_);
		}
		if (opt == 'h') {
			usage(stdout);
			return cli_finish_output(EXIT_OK_);
		}
		int r = cli_global_option(opt, optarg);
		if (r == 0) {
			usage(stderr);
			return EXIT_USAGE;
		}
		if (r < 0)
			return EXIT_USAGE;
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;
	optind = 0;   /* reset getopt for the command */
	if (strcmp(argv[0], "help") == 0)
		return cli_finish_output(help(argc, argv));
	if (!(c = find_command(argv[0]))) {
		cli_usage_error("no command '%s' (try kist help)", argv[0]);
		return EXIT_USAGE;
	}
	cli_command = c->name;
	static char prog[32];
	snprintf(prog, sizeof(prog), "kist %s", c->name);
	argv[0] = prog;   /* getopt names the command in its messages */
	return cli_finish_output(c->run(argc, argv));
}
