/* kist bag pack: write a bag into one .tar, .tar.gz/.tgz or .zip file. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <kist/path.h>
#include <kist/transfer.h>

#include "cli.h"

void usage_bag_pack(FILE *out)
{
	fprintf(out,
		"usage: kist bag pack [--store] [--force] [-q] BAG -o OUT\n"
		"\n"
		"Writes the bag BAG into one archive, its format from OUT's name: .tar (POSIX\n"
		"pax), .tar.gz or .tgz, .zip. The archive holds one directory named after the\n"
		"bag; bagit.txt, the bag-info file, fetch.txt, the manifests and the other tag\n"
		"files come first and data/ last, so that `kist bag validate OUT` checks it in\n"
		"one pass. Entries are in a stable order (byte order of their paths); file\n"
		"times and permission bits are kept, owners are not. OUT is written beside\n"
		"itself and renamed: it appears whole or not at all. A bag holding symbolic\n"
		"links, FIFOs, sockets or devices is refused.\n"
		"\n"
		"  -o, --output OUT    the archive to write\n"
		"      --store         zip: store the files uncompressed (default: deflate)\n"
		"      --force         replace OUT if it exists\n"
		"  -q, --quiet         no summary line\n"
		"      --no-progress   no progress line\n"
		"  -h, --help          this help\n"
		"\n"
		"Exit codes: 0 packed; 1 BAG is not a bag or holds what a bag may not; 2 usage\n"
		"error; 3 could not read the bag or write OUT.\n");
}

enum { OPT_STORE = CLI_OPT_FIRST_COMMAND, OPT_FORCE };

int cmd_bag_pack(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "store", no_argument, NULL, OPT_STORE },
		{ "force", no_argument, NULL, OPT_FORCE },
		CLI_GLOBAL_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct kist_bag_pack_options o = { 0 };
	struct kist_findings *fs;
	struct kist_error err;
	const char *out = NULL;
	int c, rc, code;

	while ((c = getopt_long(argc, argv, "o:" CLI_GLOBAL_SHORT, longopts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; continue;
		case OPT_STORE: o.store = 1; continue;
		case OPT_FORCE: o.force = 1; continue;
		case 'h': usage_bag_pack(stdout); return EXIT_OK_;
		}
		if ((code = cli_other_option(c, optarg, "bag pack")) >= 0)
			return code;
	}
	if (cli_check_format(1u << FORMAT_TEXT) < 0)
		return EXIT_USAGE;
	if (optind != argc - 1 || !out) {
		cli_usage_error("usage: kist bag pack BAG -o OUT.tar|.tar.gz|.tgz|.zip");
		return EXIT_USAGE;
	}
	if (kist_pack_format_for_name(out) < 0) {
		cli_usage_error("%s: name the archive .tar, .tar.gz, .tgz or .zip", out);
		return EXIT_USAGE;
	}
	if (o.store && kist_pack_format_for_name(out) != KIST_PACK_ZIP) {
		cli_usage_error("--store is for .zip archives");
		return EXIT_USAGE;
	}
	if (!(fs = kist_findings_new())) {
		cli_message("error", "out of memory");
		return EXIT_CANNOT;
	}
	cli_findings_attach(fs, 1);
	kist_error_clear(&err);
	o.progress = cli_progress_start(0, 0, 0);
	kist_path_tmp_signals();   /* interrupted: no half-written archive left */
	rc = kist_bag_pack(argv[optind], out, &o, fs, &err);
	cli_progress_stop(o.progress);
	if (rc == KIST_OK) {
		code = EXIT_OK_;
		if (!cli.quiet) {
			cli_print_escaped(stdout, out);
			fputs(": packed ", stdout);
			cli_print_escaped(stdout, argv[optind]);
			putchar('\n');
		}
	} else {
		if (err.message[0])
			cli_message("error", "%s", err.message);
		code = rc == KIST_INVALID ? EXIT_PROBLEM : EXIT_CANNOT;
		if (cli_exit_code(fs) == EXIT_PROBLEM)
			code = EXIT_PROBLEM;
		cli_message(NULL, "%s: not written", out);
	}
	kist_findings_free(fs);
	return cli_finish_output(code);
}
