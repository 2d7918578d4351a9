/* kist bag: dispatches to the bag subcommands, one file each (bag-*.c). */
#include <config.h>

#include <string.h>

#include "cli.h"

static const struct cli_command bag_commands[] = {
	{ "create", "make a bag from a folder, in place or to a destination", cmd_bag_create, usage_bag_create },
	{ "validate", "check that bags are complete and every checksum matches", cmd_bag_validate, usage_bag_validate },
	{ "update", "rewrite manifests and tag files after the payload changed", cmd_bag_update, usage_bag_update },
	{ "fetch", "complete a holey bag: download what fetch.txt lists, verified", cmd_bag_fetch, usage_bag_fetch },
	{ "info", "version, algorithms, counts, Payload-Oxum and bag-info of a bag", cmd_bag_info, usage_bag_info },
	{ "pack", "write a bag into one .tar, .tar.gz or .zip file", cmd_bag_pack, usage_bag_pack },
	{ "unpack", "unpack a serialized bag safely, validating it as it streams", cmd_bag_unpack, usage_bag_unpack },
};
#define NBAG (sizeof(bag_commands) / sizeof(bag_commands[0]))

void usage_bag(FILE *out)
{
	fprintf(out, "usage: kist bag SUBCOMMAND [ARGS]\n\nBagIt bags (RFC 8493).\n\nSubcommands:\n");
	for (size_t i = 0; i < NBAG; i++)
		fprintf(out, "  %-10s %s\n", bag_commands[i].name, bag_commands[i].summary);
	fprintf(out, "\nkist bag SUBCOMMAND -h shows the flags of each. See kist-bag(1).\n");
}

void cli_bag_subcommands(FILE *out)
{
	for (size_t i = 0; i < NBAG; i++)
		fprintf(out, "bag %s\n", bag_commands[i].name);
}

int cmd_bag(int argc, char **argv)
{
	if (argc < 2) {
		usage_bag(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage_bag(stdout);
		return EXIT_OK_;
	}
	for (size_t i = 0; i < NBAG; i++)
		if (strcmp(argv[1], bag_commands[i].name) == 0) {
			static char name[32];

			static char prog[40];

			snprintf(name, sizeof(name), "bag %s", bag_commands[i].name);
			snprintf(prog, sizeof(prog), "kist bag %s", bag_commands[i].name);
			cli_command = name;
			optind = 0;
			argv[1] = prog;   /* getopt's messages name the subcommand */
			return bag_commands[i].run(argc - 1, argv + 1);
		}
	cli_usage_error("no subcommand '%s' (try kist bag -h)", argv[1]);
	return EXIT_USAGE;
}
