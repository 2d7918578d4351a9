/* kist bag unpack: unpack a serialized bag into a folder, validating it as
 * it streams; nothing is left behind unless the bag is valid. */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <kist/transfer.h>

#include "cli.h"

void usage_bag_unpack(FILE *out)
{
	fprintf(out,
		"usage: kist bag unpack [--max-size BYTES] [--max-ratio N] [-j N] [-q]\n"
		"                       ARCHIVE DIR\n"
		"\n"
		"Unpacks the serialized bag ARCHIVE (.tar, .tar.gz, .tgz, .zip) into DIR/NAME,\n"
		"NAME being the archive's one top-level directory, and validates it as it\n"
		"streams past (the checks of kist bag validate, in the same pass). Everything\n"
		"is written beneath a temporary folder in DIR and moved to DIR/NAME only when\n"
		"the bag is valid; otherwise all of it is removed. Nothing is ever written\n"
		"outside DIR: absolute names, '..', entries outside the top directory,\n"
		"duplicate entries, symbolic links (never created), hard links to anything\n"
		"but an earlier file of the bag, devices and FIFOs are refused. DIR is made\n"
		"if it does not exist; DIR/NAME must not exist.\n"
		"\n"
		"      --max-size BYTES   refuse to unpack more than BYTES (suffixes K, M, G,\n"
		"                         T; default: the free space of DIR)\n"
		"      --max-ratio N      refuse an archive that unpacks to more than N times\n"
		"                         its packed size past 32 MiB (default 200): a\n"
		"                         compression bomb\n"
		"  -j, --jobs N           hashing threads (default: online CPUs)\n"
		"  -q, --quiet            no warnings, no verdict line on success\n"
		"      --no-progress      no progress line\n"
		"  -h, --help             this help\n"
		"\n"
		"A holey bag whose only problem is the files fetch.txt has still to bring is\n"
		"kept (exit 1, 'incomplete'), to be completed with kist bag fetch.\n"
		"\n"
		"Exit codes: 0 unpacked, the bag is valid; 1 the archive or the bag is\n"
		"invalid (nothing kept), or a holey bag was kept; 2 usage error; 3 could\n"
		"not read or write (nothing kept).\n");
}

enum { OPT_MAX_SIZE = CLI_OPT_FIRST_COMMAND, OPT_MAX_RATIO };

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return -1;
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	case 'T': case 't': shift = 40; end++; break;
	}
	if (*end || (shift && v > (UINT64_MAX >> shift)) || v == 0)
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

int cmd_bag_unpack(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "max-size", required_argument, NULL, OPT_MAX_SIZE },
		{ "max-ratio", required_argument, NULL, OPT_MAX_RATIO },
		CLI_GLOBAL_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct kist_bag_unpack_options o = { 0 };
	struct kist_bag_validate_result res;
	struct kist_findings *fs;
	struct kist_error err;
	char *bag = NULL;
	int c, rc, code;

	while ((c = getopt_long(argc, argv, CLI_GLOBAL_SHORT, longopts, NULL)) != -1) {
		switch (c) {
		case OPT_MAX_SIZE:
			if (parse_size(optarg, &o.max_bytes) < 0) {
				cli_usage_error("--max-size '%s': a number of bytes, with K, M, G or T", optarg);
				return EXIT_USAGE;
			}
			continue;
		case OPT_MAX_RATIO: {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end || !v || v > 1000000 || optarg[0] == '-') {
				cli_usage_error("--max-ratio '%s': a whole number from 1", optarg);
				return EXIT_USAGE;
			}
			o.max_ratio = (unsigned)v;
			continue;
		}
		case 'h': usage_bag_unpack(stdout); return EXIT_OK_;
		}
		if ((code = cli_other_option(c, optarg, "bag unpack")) >= 0)
			return code;
	}
	if (cli_check_format(1u << FORMAT_TEXT) < 0)
		return EXIT_USAGE;
	if (argc - optind != 2) {
		cli_usage_error("usage: kist bag unpack ARCHIVE DIR");
		return EXIT_USAGE;
	}
	if (!(fs = kist_findings_new())) {
		cli_message("error", "out of memory");
		return EXIT_CANNOT;
	}
	cli_findings_attach(fs, 1);
	kist_error_clear(&err);
	o.jobs = cli.jobs;
	o.progress = cli_progress_start(0, 0, 0);
	rc = kist_bag_unpack(argv[optind], argv[optind + 1], &o, &bag, &res, fs, &err);
	cli_progress_stop(o.progress);
	code = cli_exit_code(fs);
	if (rc == KIST_OK && bag) {
		if (!cli.quiet) {
			cli_print_escaped(stdout, bag);
			printf(": valid, unpacked (%llu files, %llu bytes)\n",
			       (unsigned long long)res.payload_files, (unsigned long long)res.payload_bytes);
		}
		code = EXIT_OK_;
	} else if (bag) {
		/* holey: kept, complete it with kist bag fetch */
		cli_print_escaped(stdout, bag);
		printf(": unpacked, incomplete (%zu to fetch: kist bag fetch)\n", res.pending_fetch);
		code = EXIT_PROBLEM;
	} else {
		size_t errors = kist_findings_count_severity(fs, KIST_SEV_ERROR);

		if (rc == KIST_FAILED && err.message[0])
			cli_message("error", "%s", err.message);
		if (code == EXIT_OK_)
			code = rc == KIST_INVALID ? EXIT_PROBLEM : EXIT_CANNOT;
		cli_print_escaped(stdout, argv[optind]);
		if (errors)
			printf(": invalid (%zu error%s); nothing unpacked\n", errors, errors == 1 ? "" : "s");
		else
			printf(": could not be unpacked (%zu failure%s); nothing kept\n",
			       kist_findings_count_severity(fs, KIST_SEV_FAILURE),
			       kist_findings_count_severity(fs, KIST_SEV_FAILURE) == 1 ? "" : "s");
	}
	free(bag);
	kist_findings_free(fs);
	return cli_finish_output(code);
}
