/* kist bag create: make a bag from a folder, in place or to a destination. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <kist/path.h>
#include <kist/transfer.h>
#include <kist/profile.h>

#include "cli.h"
#include "profile.h"

void usage_bag_create(FILE *out)
{
	fprintf(out,
		"usage: kist bag create [-a ALG,...] [--info 'Label: value']... [--info-file F]\n"
		"                       [--exclude PATTERN]... [--keep-empty-dirs]\n"
		"                       [--follow-symlinks] [--link] [--force] [--pack OUT]\n"
		"                       [--profile P [--fetch-profile]] [-j N] [-q]\n"
		"                       SOURCE [DEST]\n"
		"\n"
		"Makes a BagIt 1.0 bag (RFC 8493) of the folder SOURCE.\n"
		"\n"
		"Without DEST, SOURCE becomes the bag: its content moves into SOURCE/data by\n"
		"renaming (no byte is copied). This is crash safe: if the command is\n"
		"interrupted, every file is still at its old place or under data/ (or the\n"
		"staging folder .kist-bagging.data), and running the same command again\n"
		"finishes the bag. With DEST, the payload is copied (hard-linked with --link)\n"
		"into the new bag DEST, and SOURCE is left untouched.\n"
		"\n"
		"Each payload file is read once, for all the algorithms. Nothing is moved or\n"
		"copied when the source holds symbolic links, FIFOs, sockets or devices,\n"
		"names that differ only by case or Unicode normalization, or names that are\n"
		"not UTF-8: these are listed and the command exits 1.\n"
		"\n"
		"  -a, --algorithms LIST   manifests to write: md5, sha1, sha224, sha256,\n"
		"                          sha384, sha512, sha3-256, sha3-512, blake2b-512\n"
		"                          (default sha512)\n"
		"      --info 'L: V'       a bag-info.txt element; repeatable, kept in order\n"
		"      --info-file FILE    bag-info elements from FILE ('Label: value' lines,\n"
		"                          indented continuation lines)\n"
		"      --exclude PATTERN   leave out files whose path below SOURCE or whose\n"
		"                          name matches PATTERN (fnmatch); repeatable. In\n"
		"                          place, only entries at the top of SOURCE can be\n"
		"                          left out: they stay beside data/\n"
		"      --keep-empty-dirs   keep empty folders, each with an empty .keep file\n"
		"  -L, --follow-symlinks   with DEST: bag the content symbolic links point to\n"
		"      --link              with DEST: hard-link payload files instead of\n"
		"                          copying (copies, with a warning, across file systems)\n"
		"      --force             bag a SOURCE that is already a bag, as payload\n"
		"      --no-premis         no metadata/premis.xml (PREMIS 3 provenance: a\n"
		"                          file object per payload file, the creation and\n"
		"                          digest events, the agents)\n"
		"      --agent NAME        the person recorded in PREMIS (default: login name)\n"
		"      --no-identify       no format identification (PRONOM PUIDs of each\n"
		"                          payload file, found in the same read as the\n"
		"                          digests and recorded in premis.xml)\n"
		"      --scan-window N     bytes matched at each end of a file (default\n"
		"                          65536, 512 to 67108864)\n"
		"      --signatures FILE   a DROID signature file (default: kist's copy)\n"
		"      --pack OUT          also write the bag into OUT (.tar, .tar.gz, .tgz,\n"
		"                          .zip) in the same read of the payload: data/\n"
		"                          first, then the tag files; OUT appears only\n"
		"                          when whole (an existing OUT is not replaced)\n"
		"      --profile P         make the bag for the BagIt Profile P (a JSON file;\n"
		"                          a URL with --fetch-profile): its required\n"
		"                          algorithms, BagIt-Profile-Identifier written;\n"
		"                          refused, with the list, when a required\n"
		"                          bag-info element is missing or a value is not\n"
		"                          allowed; the bag made is checked against it\n"
		"      --fetch-profile     allow fetching P from a URL\n"
		"      --format FORMAT     text (default) or json\n"
		"  -j, --jobs N            worker threads (default: online CPUs)\n"
		"  -q, --quiet             no summary line, no warnings\n"
		"      --no-progress       no progress line\n"
		"  -h, --help              this help\n"
		"\n"
		"bag-info.txt holds the --info and --info-file elements first, in the order\n"
		"given, then Bagging-Date (today, unless given), Bag-Size, Payload-Oxum\n"
		"(always computed: giving them is an error) and Bag-Software-Agent (unless\n"
		"given).\n"
		"\n"
		"Exit codes: 0 bag made; 1 refused because of the content (see the list on\n"
		"stderr), or SOURCE is already a bag; 2 usage error, DEST inside SOURCE, DEST\n"
		"not empty; 3 could not (I/O error, disk full, permission).\n");
}

/* "Label: value" from the command line. Returns 0 or -1 (message printed). */
static int add_info_arg(struct kist_bag_info *info, const char *arg)
{
	const char *colon = strchr(arg, ':');
	char *label;
	const char *value;
	size_t len;

	if (!colon) {
		cli_usage_error("--info '%s': no ':' between label and value", arg);
		return -1;
	}
	len = (size_t)(colon - arg);
	if (len == 0) {
		cli_usage_error("--info '%s': empty label", arg);
		return -1;
	}
	if (arg[0] == ' ' || arg[0] == '\t' || arg[len - 1] == ' ' || arg[len - 1] == '\t') {
		cli_usage_error("--info '%s': a label may not begin or end with whitespace", arg);
		return -1;
	}
	if (memchr(arg, '\n', len) || memchr(arg, '\r', len)) {
		cli_usage_error("--info: a label may not hold a line break");
		return -1;
	}
	value = colon + 1;
	value += strspn(value, " \t");
	if (!(label = strndup(arg, len)) || kist_bag_info_add(info, label, value) < 0) {
		free(label);
		cli_message("error", "out of memory");
		return -1;
	}
	free(label);
	return 0;
}

static int read_file(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0, got;

	if (!f)
		return -1;
	do {
		if (cap - n < 4096) {
			char *nb = realloc(buf, cap = cap ? cap * 2 : 8192);

			if (!nb) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return -1;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
	} while (got > 0);
	if (ferror(f)) {
		int e = errno;

		free(buf);
		fclose(f);
		errno = e;
		return -1;
	}
	fclose(f);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* Elements of an --info-file, appended in file order. */
static int add_info_file(struct kist_bag_info *info, const char *path)
{
	struct kist_bag_info tmp;
	struct kist_findings *fs;
	char *text = NULL, *utf8 = NULL;
	size_t len = 0, ulen = 0;
	int bom = 0, rc = -1;
	struct kist_error err;

	if (read_file(path, &text, &len) < 0) {
		cli_usage_error("--info-file %s: %s", path, strerror(errno));
		return -1;
	}
	kist_error_clear(&err);
	if (kist_tagfile_decode(text, len, NULL, &utf8, &ulen, &bom, &err) != KIST_OK) {
		cli_usage_error("--info-file %s: %s", path, err.message);
		free(text);
		return -1;
	}
	kist_bag_info_init(&tmp);
	if (!(fs = kist_findings_new())) {
		cli_message("error", "out of memory");
		goto out;
	}
	kist_bag_info_parse(&tmp, utf8, ulen, path, 0, fs);
	for (size_t i = 0; i < kist_findings_count(fs); i++) {
		const struct kist_finding *f = kist_findings_get(fs, i);

		if (f->severity >= KIST_SEV_ERROR) {
			cli_usage_error("--info-file %s: %s", path, f->message ? f->message : "malformed");
			goto out;
		}
	}
	for (size_t i = 0; i < tmp.count; i++)
		if (kist_bag_info_add(info, tmp.tags[i].label, tmp.tags[i].value) < 0) {
			cli_message("error", "out of memory");
			goto out;
		}
	rc = 0;
out:
	kist_findings_free(fs);
	kist_bag_info_free(&tmp);
	free(utf8);
	free(text);
	return rc;
}

/* N files and B bytes, from the bag-info.txt just written. */
static int read_oxum(const char *bag, unsigned long long *bytes, unsigned long long *files)
{
	char *path = kist_path_join(bag, "bag-info.txt"), *text = NULL;
	size_t len = 0;
	struct kist_bag_info info;
	const char *oxum;
	int rc = -1;

	if (!path || read_file(path, &text, &len) < 0) {
		free(path);
		return -1;
	}
	kist_bag_info_init(&info);
	kist_bag_info_parse(&info, text, len, path, 0, NULL);
	oxum = kist_bag_info_get(&info, "Payload-Oxum");
	if (oxum && sscanf(oxum, "%llu.%llu", bytes, files) == 2)
		rc = 0;
	kist_bag_info_free(&info);
	free(text);
	free(path);
	return rc;
}

/* Is path (which need not exist) at or below dir? Both are resolved; a
 * path whose folder cannot be resolved is not. */
static int path_inside(const char *path, const char *dir)
{
	char *copy = strdup(path), *slash, *parent = NULL, *rdir = realpath(dir, NULL);
	int inside = 0;

	if (copy && rdir) {
		slash = strrchr(copy, '/');
		if (slash)
			*(slash == copy ? slash + 1 : slash) = '\0';
		parent = realpath(slash ? copy : ".", NULL);
		if (parent) {
			size_t len = strlen(rdir);

			inside = strcmp(rdir, "/") == 0 ||
				 (strncmp(parent, rdir, len) == 0 && (parent[len] == '/' || parent[len] == '\0'));
		}
	}
	free(parent);
	free(rdir);
	free(copy);
	return inside;
}

/* Stopped before anything was bagged: what was found, as a JSON document
 * when asked for one, and the exit code. */
static int stopped_early(struct kist_findings *findings, int code)
{
	if (cli.format == FORMAT_JSON) {
		fputs("{\"bag\":null,\"findings\":", stdout);
		cli_findings_json(stdout, findings);
		puts("}");
	}
	return cli_finish_output(code);
}

/* --pack: the archive is written in the bagging pass (kist_pack_pass_new);
 * its temporary file is made before anything is bagged. */
static int pack_start(const char *out, const char *source, const char *dest,
		      struct kist_pack_pass **pass)
{
	struct kist_error err;

	if (path_inside(out, source) || (dest && path_inside(out, dest))) {
		cli_usage_error("--pack %s: the archive cannot be written inside the folder being bagged", out);
		return EXIT_USAGE;
	}
	kist_error_clear(&err);
	if (kist_pack_pass_new(out, dest ? dest : source, NULL, pass, &err) != KIST_OK) {
		cli_message("error", "%s", err.message);
		cli_message(NULL, "%s: nothing was bagged", source);
		return EXIT_CANNOT;
	}
	return EXIT_OK_;
}

/* The bag is made: its tag files into the archive, and the archive into place. */
static int pack_finish(struct kist_pack_pass *pass, const char *bag, const char *out,
		       struct kist_findings *findings)
{
	struct kist_error err;
	int rc;

	kist_error_clear(&err);
	rc = kist_pack_pass_finish(pass, findings, &err);
	if (rc == KIST_OK) {
		if (!cli.quiet && cli.format != FORMAT_JSON) {
			cli_print_escaped(stdout, out);
			fputs(": packed ", stdout);
			cli_print_escaped(stdout, bag);
			putchar('\n');
		}
		return EXIT_OK_;
	}
	if (err.message[0])
		cli_message("error", "%s", err.message);
	cli_message(NULL, "%s: the bag was made; the archive was not written", out);
	return rc == KIST_INVALID ? EXIT_PROBLEM : EXIT_CANNOT;
}

enum { OPT_INFO = CLI_OPT_FIRST_COMMAND, OPT_INFO_FILE, OPT_EXCLUDE, OPT_KEEP_EMPTY, OPT_LINK,
       OPT_FORCE, OPT_NO_PREMIS, OPT_AGENT, OPT_NO_IDENTIFY, OPT_SCAN_WINDOW,
       OPT_SIGNATURES, OPT_PACK, OPT_PROFILE, OPT_FETCH_PROFILE };

int cmd_bag_create(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "algorithms", required_argument, NULL, 'a' },
		{ "info", required_argument, NULL, OPT_INFO },
		{ "info-file", required_argument, NULL, OPT_INFO_FILE },
		{ "exclude", required_argument, NULL, OPT_EXCLUDE },
		{ "keep-empty-dirs", no_argument, NULL, OPT_KEEP_EMPTY },
		{ "follow-symlinks", no_argument, NULL, 'L' },
		{ "link", no_argument, NULL, OPT_LINK },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "no-premis", no_argument, NULL, OPT_NO_PREMIS },
		{ "agent", required_argument, NULL, OPT_AGENT },
		{ "no-identify", no_argument, NULL, OPT_NO_IDENTIFY },
		{ "scan-window", required_argument, NULL, OPT_SCAN_WINDOW },
		{ "signatures", required_argument, NULL, OPT_SIGNATURES },
		{ "pack", required_argument, NULL, OPT_PACK },
		{ "profile", required_argument, NULL, OPT_PROFILE },
		{ "fetch-profile", no_argument, NULL, OPT_FETCH_PROFILE },
		CLI_GLOBAL_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct kist_bag_create_options o;
	struct kist_bag_info info;
	struct kist_findings *findings = NULL;
	struct kist_error err;
	const char **exclude = NULL, *source, *dest, *bag, *pack = NULL, *profile_at = NULL;
	struct kist_profile *profile = NULL;
	struct kist_pack_pass *pass = NULL;
	kist_algset tag_algs = 0;
	char *pack_alloc = NULL;
	size_t nexclude = 0;
	int opt, code = EXIT_USAGE, rc, fetch_profile = 0;

	memset(&o, 0, sizeof(o));
	kist_bag_info_init(&info);
	if (!(exclude = calloc((size_t)argc + 1, sizeof(*exclude)))) {
		cli_message("error", "out of memory");
		return EXIT_CANNOT;
	}
	while ((opt = getopt_long(argc, argv, "a:L" CLI_GLOBAL_SHORT, longopts, NULL)) != -1) {
		switch (opt) {
		case 'a':
			kist_error_clear(&err);
			if (kist_algset_parse(optarg, &o.algs, &err) < 0 || !o.algs) {
				cli_usage_error("%s", err.message[0] ? err.message : "no algorithm given");
				goto out;
			}
			break;
		case OPT_INFO:
			if (add_info_arg(&info, optarg) < 0)
				goto out;
			break;
		case OPT_INFO_FILE:
			if (add_info_file(&info, optarg) < 0)
				goto out;
			break;
		case OPT_EXCLUDE: exclude[nexclude++] = optarg; break;
		case OPT_KEEP_EMPTY: o.keep_empty_dirs = 1; break;
		case 'L': o.follow_symlinks = 1; break;
		case OPT_LINK: o.link = 1; break;
		case OPT_FORCE: o.force = 1; break;
		case OPT_NO_PREMIS: o.no_premis = 1; break;
		case OPT_AGENT: o.agent = optarg; break;
		case OPT_NO_IDENTIFY: o.no_identify = 1; break;
		case OPT_SCAN_WINDOW:
			if (cli_parse_window(optarg, &o.identify_window) < 0) {
				cli_usage_error("--scan-window takes a number of bytes from 512 to 67108864");
				goto out;
			}
			break;
		case OPT_SIGNATURES: o.signature_file = optarg; break;
		case OPT_PACK: pack = optarg; break;
		case OPT_PROFILE: profile_at = optarg; break;
		case OPT_FETCH_PROFILE: fetch_profile = 1; break;
		case 'h':
			usage_bag_create(stdout);
			code = EXIT_OK_;
			goto out;
		default: {
			if (cli_other_option(opt, optarg, "bag create") >= 0)
				goto out;
		}
		}
	}
	if (optind >= argc || argc - optind > 2) {
		cli_usage_error(optind >= argc ? "no SOURCE given (usage: kist bag create [OPTIONS] SOURCE [DEST])"
					       : "too many arguments (usage: kist bag create [OPTIONS] SOURCE [DEST])");
		goto out;
	}
	source = argv[optind];
	dest = argc - optind == 2 ? argv[optind + 1] : NULL;
	if (cli_check_format(1u << FORMAT_TEXT | 1u << FORMAT_JSON) < 0)
		goto out;
	for (size_t i = 0; i < info.count; i++)
		if (strcasecmp(info.tags[i].label, "Payload-Oxum") == 0 ||
		    strcasecmp(info.tags[i].label, "Bag-Size") == 0) {
			cli_usage_error("%s is computed from the payload; do not give it", info.tags[i].label);
			goto out;
		}
	if (!dest && o.follow_symlinks) {
		cli_usage_error("--follow-symlinks needs a DEST: a bag made in place would hold the links");
		goto out;
	}
	if (pack && kist_pack_format_for_name(pack) < 0) {
		cli_usage_error("--pack %s: name the archive .tar, .tar.gz, .tgz or .zip", pack);
		goto out;
	}
	if (!dest && o.link) {
		cli_usage_error("--link needs a DEST");
		goto out;
	}
	{
		struct stat st;

		if (stat(source, &st) == 0 && !S_ISDIR(st.st_mode)) {
			cli_usage_error("%s: not a directory (SOURCE is the folder to bag)", source);
			goto out;
		}
	}
	if (fetch_profile && !profile_at) {
		cli_usage_error("--fetch-profile goes with --profile URL");
		goto out;
	}
	if (profile_at && (code = cli_profile_load(profile_at, fetch_profile, &profile)) != EXIT_OK_)
		goto out;

	if (!(findings = kist_findings_new())) {
		cli_message("error", "out of memory");
		code = EXIT_CANNOT;
		goto out;
	}
	cli_findings_attach(findings, cli.format != FORMAT_JSON);
	if (profile && (code = cli_profile_prepare_create(profile, &o, &info, &tag_algs, source, dest, &pack,
							  &pack_alloc, findings)) != EXIT_OK_) {
		code = stopped_early(findings, code);
		goto out;
	}
	if (pack)
		kist_path_tmp_signals();   /* interrupted: no half-written archive left */
	if (pack && (code = pack_start(pack, source, dest, &pass)) != EXIT_OK_) {
		code = stopped_early(findings, code);
		goto out;
	}
	o.pack = pass;
	o.info = &info;
	o.jobs = cli.jobs;
	o.exclude = exclude;
	o.progress = cli_progress_start(0, 0, 0);
	kist_error_clear(&err);
	rc = kist_bag_create(source, dest, &o, findings, &err);
	cli_progress_stop(o.progress);

	bag = dest ? dest : source;
	if (rc == KIST_OK) {
		unsigned long long bytes = 0, files = 0;
		char algs[128] = "";

		code = EXIT_OK_;
		if (profile)
			code = cli_profile_after_create(profile, bag, o.algs, tag_algs, pack, findings);
		for (int a = 0, n = 0; a < KIST_ALG_COUNT; a++)
			if ((o.algs ? o.algs : KIST_ALG_BIT(KIST_ALG_SHA512)) & KIST_ALG_BIT(a))
				snprintf(algs + strlen(algs), sizeof(algs) - strlen(algs), "%s%s",
					 n++ ? ", " : "", kist_alg_name(a));
		if (read_oxum(bag, &bytes, &files) < 0) {
			cli_message("error", "%s: the bag was made, but its bag-info.txt cannot be read back", bag);
			code = EXIT_CANNOT;
		}
		if (cli.format == FORMAT_JSON) {
			fputs("{\"bag\":", stdout);
			cli_json_string(stdout, bag);
			printf(",\"files\":%llu,\"bytes\":%llu,\"algorithms\":[", files, bytes);
			for (int a = 0, n = 0; a < KIST_ALG_COUNT; a++)
				if ((o.algs ? o.algs : KIST_ALG_BIT(KIST_ALG_SHA512)) & KIST_ALG_BIT(a))
					printf("%s\"%s\"", n++ ? "," : "", kist_alg_name(a));
			fputs("],\"findings\":", stdout);
			cli_findings_json(stdout, findings);
			puts("}");
		} else if (!cli.quiet && code == EXIT_OK_) {
			cli_print_escaped(stdout, bag);
			printf(": bagged %llu file%s, %llu byte%s (%s)\n", files, files == 1 ? "" : "s", bytes,
			       bytes == 1 ? "" : "s", algs);
		}
		if (pass && code == EXIT_OK_)
			code = pack_finish(pass, bag, pack, findings);
	} else {
		if (rc == KIST_FAILED && err.message[0])
			cli_message("error", "%s", err.message);
		if (rc == KIST_FAILED && !dest) {
			char *journal = kist_path_join(source, ".kist-bagging");
			struct stat st;

			if (journal && lstat(journal, &st) == 0)
				cli_message(NULL, "%s: the bag is half made and every file is safe (in place, "
						  "or under data/ or .kist-bagging.data/); run the same "
						  "command again to finish",
					    source);
			free(journal);
		}
		if (kist_findings_has(findings, "create.dest-inside-source") ||
		    kist_findings_has(findings, "create.dest-not-empty") ||
		    kist_findings_has(findings, "create.dest-exists"))
			code = EXIT_USAGE;
		else if (rc == KIST_FAILED)
			code = EXIT_CANNOT;
		else
			code = cli_exit_code(findings) == EXIT_OK_ ? EXIT_PROBLEM : cli_exit_code(findings);
		if (cli.format == FORMAT_JSON) {
			fputs("{\"bag\":null,\"findings\":", stdout);
			cli_findings_json(stdout, findings);
			puts("}");
		} else if (code == EXIT_PROBLEM) {
			cli_message(NULL, "%s: refused; nothing was %s", source,
				    dest ? "copied" : "moved or written");
		}
	}
	code = cli_finish_output(code);
out:
	kist_findings_free(findings);
	kist_bag_info_free(&info);
	kist_profile_free(profile);
	kist_pack_pass_free(pass);   /* an archive not finished is removed */
	free(pack_alloc);
	free(exclude);
	return code;
}
