/* kist bag update (being written). */
#include <config.h>

#include <string.h>

#include "cli.h"

void usage_bag_update(FILE *out)
{
	fprintf(out, "usage: kist bag update BAG\n\nnot available yet in this build\n");
}

int cmd_bag_update(int argc, char **argv)
{
	if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		usage_bag_update(stdout);
		return EXIT_OK_;
	}
	cli_message("error", "kist bag update is not available yet in this build");
	return EXIT_CANNOT;
}
