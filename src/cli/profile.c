/* kist profile check, and the profile glue bag validate and bag create use
 * (--profile P, --fetch-profile). */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <kist/profile.h>
#include <kist/transfer.h>

#include "cli.h"
#include "profile.h"

void usage_profile(FILE *out)
{
	fprintf(out,
		"usage: kist profile check [--fetch-profile] [--format text|json] PROFILE...\n"
		"\n"
		"Reads BagIt Profiles (JSON, BagIt Profiles Specification 1.4.0; a profile\n"
		"without BagIt-Profile-Version is read with the rules of 1.1.0) and reports\n"
		"what makes one unusable: not JSON, a field of the wrong type, a required\n"
		"field missing, an unknown Serialization, a required manifest, tag file or\n"
		"payload file the matching allowed list does not cover. Fields the\n"
		"specification does not define, or that are newer than the profile's\n"
		"BagIt-Profile-Version, are ignored with a warning.\n"
		"\n"
		"      --fetch-profile  PROFILE may be an http://, https:// or file:// URL\n"
		"                       (fetched with Accept: application/json; without this\n"
		"                       flag kist never goes on the network)\n"
		"      --format FORMAT  text (default): findings on stderr, one line per\n"
		"                       profile on stdout; json: one document on stdout\n"
		"  -q, --quiet          no warnings; lines only for profiles that fail\n"
		"  -v, --verbose        after each usable profile, its rules, one a line\n"
		"  -h, --help           this help\n"
		"\n"
		"Use a profile with kist bag validate --profile P and kist bag create --profile P.\n"
		"\n"
		"Exit codes: 0 every profile is usable; 1 a profile is malformed; 2 usage\n"
		"error; 3 a profile could not be read or fetched.\n");
}

static void print_json_profile(int first, const char *where, const char *verdict,
			       const struct kist_profile *p, const struct kist_findings *fs)
{
	fputs(first ? "\n {" : ",\n {", stdout);
	fputs("\"profile\":", stdout);
	cli_json_string(stdout, where);
	fputs(",\"verdict\":", stdout);
	cli_json_string(stdout, verdict);
	fputs(",\"identifier\":", stdout);
	if (p && p->identifier)
		cli_json_string(stdout, p->identifier);
	else
		fputs("null", stdout);
	fputs(",\"rules\":", stdout);
	if (p)
		cli_json_string(stdout, kist_profile_spec_version(p));
	else
		fputs("null", stdout);
	fputs(",\"findings\":", stdout);
	cli_findings_json(stdout, fs);
	putchar('}');
}

static void print_list(const char *what, const struct kist_profile_list *l)
{
	if (!l->given)
		return;
	printf("  %s: ", what);
	if (l->count == 0)
		fputs("(none)", stdout);
	for (size_t i = 0; i < l->count; i++) {
		if (i)
			fputs(", ", stdout);
		cli_print_escaped(stdout, l->items[i]);
	}
	putchar('\n');
}

/* -v: what the profile asks of a bag, one rule a line. */
static void print_rules(const struct kist_profile *p)
{
	static const char *const ser[] = { "optional", "required", "forbidden" };

	fputs("  identifier: ", stdout);
	cli_print_escaped(stdout, p->identifier);
	fputs("\n  version: ", stdout);
	cli_print_escaped(stdout, p->version);
	printf(" (BagIt Profiles %s rules%s)\n", kist_profile_spec_version(p),
	       p->spec_declared ? "" : ", no BagIt-Profile-Version");
	for (size_t i = 0; i < p->ntags; i++) {
		const struct kist_profile_tag *t = &p->tags[i];

		fputs("  bag-info ", stdout);
		cli_print_escaped(stdout, t->label);
		printf(": %s%s", t->required ? "required" : "optional", t->repeatable ? "" : ", once");
		for (size_t j = 0; j < t->values.count; j++) {
			fputs(j ? " | " : ", one of: ", stdout);
			cli_print_escaped(stdout, t->values.items[j]);
		}
		putchar('\n');
	}
	print_list("Manifests-Required", &p->manifests_required);
	print_list("Manifests-Allowed", &p->manifests_allowed);
	print_list("Tag-Manifests-Required", &p->tag_manifests_required);
	print_list("Tag-Manifests-Allowed", &p->tag_manifests_allowed);
	printf("  fetch.txt: %s\n", p->fetch_required ? "required" : p->allow_fetch ? "allowed" : "not allowed");
	if (p->data_empty)
		puts("  Data-Empty: true");
	printf("  Serialization: %s\n", ser[p->serialization]);
	print_list("Accept-Serialization", &p->accept_serialization);
	print_list("Accept-BagIt-Version", &p->accept_bagit_version);
	print_list("Tag-Files-Required", &p->tag_files_required);
	print_list("Tag-Files-Allowed", &p->tag_files_allowed);
	print_list("Payload-Files-Required", &p->payload_files_required);
	print_list("Payload-Files-Allowed", &p->payload_files_allowed);
}

static int profile_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "fetch-profile", no_argument, NULL, CLI_OPT_FIRST_COMMAND },
		CLI_GLOBAL_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	int c, fetch = 0, code = EXIT_OK_;

	while ((c = getopt_long(argc, argv, CLI_GLOBAL_SHORT, longopts, NULL)) != -1) {
		switch (c) {
		case CLI_OPT_FIRST_COMMAND: fetch = 1; break;
		case 'h': usage_profile(stdout); return EXIT_OK_;
		default:
			if ((c = cli_other_option(c, optarg, "profile")) >= 0)
				return c;
		}
	}
	if (cli_check_format(1u << FORMAT_TEXT | 1u << FORMAT_JSON) < 0)
		return EXIT_USAGE;
	if (optind >= argc) {
		cli_usage_error("which profile? (kist profile check PROFILE...)");
		return EXIT_USAGE;
	}
	if (cli.format == FORMAT_JSON)
		fputs("{\"profiles\":[", stdout);
	for (int i = optind; i < argc; i++) {
		struct kist_findings *fs = kist_findings_new();
		struct kist_profile *p = NULL;
		struct kist_error err;
		const char *verdict;
		char line[160];
		int rc, one;

		if (!fetch && kist_profile_is_url(argv[i])) {
			cli_usage_error("%s: a URL; add --fetch-profile to fetch it", argv[i]);
			kist_findings_free(fs);
			return EXIT_USAGE;
		}
		if (!fs) {
			cli_message("error", "out of memory");
			return EXIT_CANNOT;
		}
		cli_findings_attach(fs, cli.format != FORMAT_JSON);
		kist_error_clear(&err);
		rc = kist_profile_load(argv[i], fetch, &p, fs, &err);
		if (rc == KIST_OK) {
			size_t w = kist_findings_count_severity(fs, KIST_SEV_WARNING);

			verdict = "ok";
			one = EXIT_OK_;
			if (w)
				snprintf(line, sizeof(line), "ok, %zu warning%s (BagIt Profiles %s rules)", w,
					 w == 1 ? "" : "s", kist_profile_spec_version(p));
			else
				snprintf(line, sizeof(line), "ok (BagIt Profiles %s rules)",
					 kist_profile_spec_version(p));
		} else if (rc == KIST_INVALID) {
			size_t e = kist_findings_count_severity(fs, KIST_SEV_ERROR);

			verdict = "malformed";
			one = EXIT_PROBLEM;
			snprintf(line, sizeof(line), "malformed (%zu error%s)", e, e == 1 ? "" : "s");
		} else {
			verdict = kist_profile_is_url(argv[i]) ? "unreachable" : "unreadable";
			one = EXIT_CANNOT;
			snprintf(line, sizeof(line), "%s", verdict);
			if (kist_findings_count(fs) == 0)
				cli_message("error", "%s", err.message);
		}
		if (cli.format == FORMAT_JSON) {
			print_json_profile(i == optind, argv[i], verdict, p, fs);
		} else if (!(cli.quiet && one == EXIT_OK_)) {
			cli_print_escaped(stdout, argv[i]);
			printf(": %s\n", line);
			if (cli.verbose && p)
				print_rules(p);
		}
		if (one == EXIT_PROBLEM || (one == EXIT_CANNOT && code == EXIT_OK_))
			code = one;
		kist_profile_free(p);
		kist_findings_free(fs);
	}
	if (cli.format == FORMAT_JSON)
		puts("\n]}");
	return code;
}

int cmd_profile(int argc, char **argv)
{
	if (argc < 2) {
		usage_profile(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage_profile(stdout);
		return EXIT_OK_;
	}
	if (strcmp(argv[1], "check") == 0) {
		static char prog[] = "kist profile check";

		optind = 0;
		argv[1] = prog;
		cli_command = "profile check";
		return profile_check(argc - 1, argv + 1);
	}
	cli_usage_error("no subcommand '%s' (kist profile check PROFILE...)", argv[1]);
	return EXIT_USAGE;
}

/* --- --profile for bag validate and bag create ------------------------------------ */

struct cli_profiles {
	int fetch;
	struct kist_profile *given;
	/* profiles fetched for bags that name them, by URL, for this run */
	struct cached {
		char *url;
		struct kist_profile *p;   /* NULL: could not be had */
	} *cache;
	size_t ncache;
	/* the bag under way */
	struct kist_bag_view view;
	int have_view;
	const struct kist_profile **use;
	size_t nuse;
};

int cli_profile_load(const char *location, int fetch, struct kist_profile **out)
{
	struct kist_findings *fs = kist_findings_new();
	struct kist_error err;
	int rc;

	*out = NULL;
	if (!fs) {
		cli_message("error", "out of memory");
		return EXIT_CANNOT;
	}
	if (!fetch && kist_profile_is_url(location)) {
		cli_usage_error("--profile %s: a URL; add --fetch-profile to fetch it", location);
		kist_findings_free(fs);
		return EXIT_USAGE;
	}
	/* the profile's own findings go to stderr whatever the format */
	cli_findings_attach(fs, 1);
	kist_error_clear(&err);
	rc = kist_profile_load(location, fetch, out, fs, &err);
	kist_findings_free(fs);
	if (rc == KIST_OK)
		return EXIT_OK_;
	if (rc == KIST_INVALID)
		cli_message("error", "%s: not a usable BagIt profile (see kist profile check); nothing was checked",
			    location);
	/* no verdict on a bag without a usable profile: could not run */
	return EXIT_CANNOT;
}

struct cli_profiles *cli_profiles_new(const char *location, int fetch, int *code)
{
	struct cli_profiles *ps = calloc(1, sizeof(*ps));

	*code = EXIT_OK_;
	if (!ps) {
		cli_message("error", "out of memory");
		*code = EXIT_CANNOT;
		return NULL;
	}
	ps->fetch = fetch;
	kist_bag_view_init(&ps->view);
	if (location && (*code = cli_profile_load(location, fetch, &ps->given)) != EXIT_OK_) {
		free(ps);
		return NULL;
	}
	return ps;
}

void cli_profiles_free(struct cli_profiles *ps)
{
	if (!ps)
		return;
	kist_profile_free(ps->given);
	for (size_t i = 0; i < ps->ncache; i++) {
		free(ps->cache[i].url);
		kist_profile_free(ps->cache[i].p);
	}
	free(ps->cache);
	free(ps->use);
	kist_bag_view_free(&ps->view);
	free(ps);
}

const struct kist_profile *cli_profiles_given(const struct cli_profiles *ps)
{
	return ps ? ps->given : NULL;
}

/* A profile a bag names, fetched once per run. Its problems are the bag's
 * failures (it cannot be checked), never errors in the bag. */
static const struct kist_profile *named(struct cli_profiles *ps, const char *url, struct kist_findings *fs)
{
	struct kist_findings *tmp;
	struct cached *nc;
	struct kist_error err;
	int rc;

	for (size_t i = 0; i < ps->ncache; i++)
		if (strcmp(ps->cache[i].url, url) == 0) {
			if (!ps->cache[i].p)
				kist_findings_add(fs, KIST_SEV_FAILURE, "profile.unusable", "bag-info.txt",
						  "the profile it names (%s) could not be had", url);
			return ps->cache[i].p;
		}
	if (!(nc = realloc(ps->cache, (ps->ncache + 1) * sizeof(*nc))))
		return NULL;
	ps->cache = nc;
	nc = &ps->cache[ps->ncache];
	if (!(nc->url = strdup(url)) || !(tmp = kist_findings_new())) {
		free(nc->url);
		return NULL;
	}
	nc->p = NULL;
	ps->ncache++;
	/* the bag is untrusted: what it names is fetched over http(s) only,
	   never read from this machine (a path, file://) */
	if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0) {
		kist_findings_add(fs, KIST_SEV_FAILURE, "profile.unreachable", "bag-info.txt",
				  "the profile it names (%s) is not an http:// or https:// URL: not fetched", url);
		kist_findings_free(tmp);
		return NULL;
	}
	kist_error_clear(&err);
	rc = kist_profile_load(url, 1, &nc->p, tmp, &err);
	for (size_t i = 0; i < kist_findings_count(tmp); i++) {
		const struct kist_finding *f = kist_findings_get(tmp, i);

		if (f->severity == KIST_SEV_WARNING)
			kist_findings_add(fs, KIST_SEV_WARNING, f->code, NULL, "profile %s: %s", url,
					  f->message ? f->message : "");
	}
	if (rc == KIST_FAILED) {
		kist_findings_add(fs, KIST_SEV_FAILURE, "profile.unreachable", "bag-info.txt",
				  "the profile it names cannot be had: %s", err.message);
	} else if (rc == KIST_INVALID) {
		const struct kist_finding *f = kist_findings_get(tmp, 0);

		for (size_t i = 0; i < kist_findings_count(tmp); i++)
			if (kist_findings_get(tmp, i)->severity == KIST_SEV_ERROR) {
				f = kist_findings_get(tmp, i);
				break;
			}
		kist_findings_add(fs, KIST_SEV_FAILURE, "profile.unusable", "bag-info.txt",
				  "the profile it names (%s) is malformed: %s (see kist profile check)", url,
				  f && f->message ? f->message : "?");
	}
	kist_findings_free(tmp);
	return nc->p;
}

int cli_profiles_begin(struct cli_profiles *ps, const char *bag, struct kist_findings *fs)
{
	struct kist_error err;
	size_t fatal = 0;

	ps->nuse = 0;
	kist_bag_view_free(&ps->view);
	ps->have_view = 0;
	kist_error_clear(&err);
	/* data/ only as far as the rules look at it */
	if (!ps->given || ps->given->payload_files_required.count || ps->given->payload_files_allowed.given)
		ps->view.payload_detail = KIST_VIEW_PAYLOAD_NAMES;
	else
		ps->view.payload_detail = ps->given->data_empty ? KIST_VIEW_PAYLOAD_COUNT : KIST_VIEW_PAYLOAD_NONE;
	/* not a bag, or unreadable: BagIt validation says so */
	if (kist_bag_view_read(bag, &ps->view, fs, &err) != KIST_OK)
		return 0;
	ps->have_view = 1;
	free(ps->use);
	if (!(ps->use = calloc(ps->view.info.count + 1, sizeof(*ps->use))))
		return 0;
	if (ps->given) {
		ps->use[ps->nuse++] = ps->given;
	} else {
		for (size_t i = 0; i < ps->view.info.count; i++) {
			const struct kist_bag_tag *t = &ps->view.info.tags[i];
			const struct kist_profile *p;

			if (strcasecmp(t->label, "BagIt-Profile-Identifier") != 0)
				continue;
			size_t k;

			if (!(p = named(ps, t->value, fs)))
				continue;
			for (k = 0; k < ps->nuse && ps->use[k] != p; k++)
				;
			if (k == ps->nuse)   /* named twice: checked once */
				ps->use[ps->nuse++] = p;
		}
		if (kist_bag_info_count(&ps->view.info, "BagIt-Profile-Identifier") == 0)
			kist_findings_add(fs, KIST_SEV_ERROR, "profile.identifier-missing", "bag-info.txt",
					  "no BagIt-Profile-Identifier: no profile to fetch (--fetch-profile) "
					  "and none given (--profile)");
	}
	for (size_t i = 0; i < ps->nuse; i++)
		fatal += kist_profile_check_fatal(ps->use[i], &ps->view, fs);
	if (fatal)
		ps->nuse = 0;   /* "the rest of the bag is unverifiable": no more rules */
	return fatal > 0;
}

void cli_profiles_finish(struct cli_profiles *ps, struct kist_findings *fs)
{
	if (ps->have_view)
		for (size_t i = 0; i < ps->nuse; i++)
			kist_profile_check_bag(ps->use[i], &ps->view, fs);
	kist_bag_view_free(&ps->view);
	ps->have_view = 0;
	ps->nuse = 0;
}

/* --- bag create --profile ------------------------------------------------------- */

static void list_algs(kist_algset set, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int a = 0; a < KIST_ALG_COUNT && n < len; a++)
		if (set & KIST_ALG_BIT(a)) {
			int w = snprintf(buf + n, len - n, "%s%s", n ? ", " : "", kist_alg_name((enum kist_alg)a));

			if (w < 0)
				break;
			n += (size_t)w;
		}
}

/* The MIME type of what kist bag pack writes for a name; NULL if none. */
static const char *pack_mime(const char *name)
{
	switch (kist_pack_format_for_name(name)) {
	case KIST_PACK_TAR: return "application/x-tar";
	case KIST_PACK_TAR_GZ: return "application/gzip";
	case KIST_PACK_ZIP: return "application/zip";
	}
	return NULL;
}

/* --pack and the profile's Serialization: the archive named must be one the
 * profile accepts; when the profile requires one and none is named, the bag
 * is packed beside itself in the first accepted format kist writes. */
static void plan_pack(const struct kist_profile *p, const char *bag, const char **pack, char **pack_alloc,
		      struct kist_findings *fs)
{
	static const char *const exts[] = { ".zip", ".tar.gz", ".tar" };

	if (*pack) {
		if (p->serialization == KIST_PROFILE_SER_FORBIDDEN)
			kist_findings_add(fs, KIST_SEV_ERROR, "profile.serialization-forbidden", NULL,
					  "--pack %s: the profile forbids serialized bags (Serialization: forbidden)",
					  *pack);
		else if (!kist_profile_accepts_serialization(p, pack_mime(*pack)))
			kist_findings_add(fs, KIST_SEV_ERROR, "profile.serialization-not-accepted", NULL,
					  "--pack %s: the profile does not accept %s (Accept-Serialization)", *pack,
					  pack_mime(*pack));
		return;
	}
	if (p->serialization != KIST_PROFILE_SER_REQUIRED)
		return;
	for (size_t i = 0; i < p->accept_serialization.count; i++) {
		const char *const *aliases = kist_profile_mime_aliases(p->accept_serialization.items[i]);

		for (size_t e = 0; aliases && e < sizeof(exts) / sizeof(exts[0]); e++) {
			size_t len = strlen(bag);

			char probe[16];

			snprintf(probe, sizeof(probe), "bag%s", exts[e]);
			if (aliases != kist_profile_mime_aliases(pack_mime(probe)))
				continue;
			while (len > 1 && bag[len - 1] == '/')
				len--;
			if (asprintf(pack_alloc, "%.*s%s", (int)len, bag, exts[e]) < 0) {
				*pack_alloc = NULL;
				return;
			}
			*pack = *pack_alloc;
			return;
		}
	}
	kist_findings_add(fs, KIST_SEV_ERROR, "profile.serialization-not-accepted", NULL,
			  "the profile requires a serialized bag in a format kist cannot write "
			  "(Accept-Serialization; kist writes zip, tar and tar.gz)");
}

int cli_profile_prepare_create(const struct kist_profile *p, struct kist_bag_create_options *o,
			       struct kist_bag_info *info, kist_algset *tag_algs, const char *source,
			       const char *dest, const char **pack, char **pack_alloc, struct kist_findings *fs)
{
	kist_algset wanted = o->algs ? o->algs : KIST_ALG_BIT(KIST_ALG_SHA512), algs;
	size_t errors0 = kist_findings_count_severity(fs, KIST_SEV_ERROR), errors;
	char buf[256];
	int code = EXIT_OK_;

	algs = kist_profile_algorithms(p, 0, wanted);
	if (o->algs & ~algs) {
		list_algs(o->algs & ~algs, buf, sizeof(buf));
		kist_findings_add(fs, KIST_SEV_ERROR, "profile.manifest-not-allowed", NULL,
				  "-a %s: the profile does not allow %s manifests (Manifests-Allowed)", buf,
				  buf);
	}
	if (!algs) {
		kist_findings_add(fs, KIST_SEV_ERROR, "profile.manifest-missing", NULL,
				  "the profile allows no manifest algorithm kist can make");
	}
	o->algs = algs;
	*tag_algs = kist_profile_algorithms(p, 1, algs);
	if (p->accept_bagit_version.count && !kist_profile_accepts_version(p, 1, 0))
		kist_findings_add(fs, KIST_SEV_ERROR, "profile.bagit-version", NULL,
					  "kist makes BagIt 1.0 bags, which the profile does not accept (Accept-BagIt-Version)");
	if (p->fetch_required)
		kist_findings_add(fs, KIST_SEV_ERROR, "profile.fetch-required", NULL,
				  "the profile requires fetch.txt (Fetch.txt-Required), which bag create does not write");
	kist_profile_check_info(p, info, 1, fs);
	plan_pack(p, dest ? dest : source, pack, pack_alloc, fs);
	if ((errors = kist_findings_count_severity(fs, KIST_SEV_ERROR) - errors0) > 0) {
		if (cli.format != FORMAT_JSON)
			cli_message(NULL, "%s: refused: the bag would not satisfy the profile %s (%zu problem%s above); "
					  "nothing was moved or written", source, p->identifier, errors,
				    errors == 1 ? "" : "s");
		return EXIT_PROBLEM;
	}
	/* the bag names the profile it was made for */
	{
		int named = 0;

		for (size_t i = 0; i < info->count; i++)
			named |= strcasecmp(info->tags[i].label, "BagIt-Profile-Identifier") == 0 &&
				 strcmp(info->tags[i].value, p->identifier) == 0;
		if (!named && kist_bag_info_add(info, "BagIt-Profile-Identifier", p->identifier) < 0) {
			cli_message("error", "out of memory");
			return EXIT_CANNOT;
		}
	}
	/* PREMIS lives in metadata/premis.xml: a tag file the profile must allow */
	if (!o->no_premis && p->tag_files_allowed.given &&
	    !kist_profile_list_matches(&p->tag_files_allowed, "metadata/premis.xml")) {
		o->no_premis = 1;
		if (!cli.quiet)
			cli_message("warning", "the profile's Tag-Files-Allowed does not cover metadata/premis.xml: "
					       "no PREMIS provenance is written");
	}
	return code;
}

int cli_profile_after_create(struct kist_profile *p, const char *bag, kist_algset algs, kist_algset tag_algs,
			     const char *pack, struct kist_findings *fs)
{
	size_t errors0 = kist_findings_count_severity(fs, KIST_SEV_ERROR);
	struct kist_bag_view v;
	struct kist_error err;
	enum kist_profile_serialization ser = p->serialization;
	int code = EXIT_OK_;

	kist_error_clear(&err);
	/* tag manifests the profile wants but the payload's algorithms are not */
	if (tag_algs && tag_algs != algs) {
		int fd = open(bag, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd < 0 || kist_bag_write_tag_manifests(fd, tag_algs, &err) != KIST_OK) {
			cli_message("error", "%s: the tag manifests the profile asks for cannot be written: %s", bag,
				    fd < 0 ? strerror(errno) : err.message);
			code = EXIT_CANNOT;
		}
		if (fd >= 0)
			close(fd);
	}
	/* required serialization: the archive's format was checked before it
	   is written (plan_pack); here the bag in it is checked */
	if (ser == KIST_PROFILE_SER_REQUIRED && pack)
		p->serialization = KIST_PROFILE_SER_OPTIONAL;
	kist_bag_view_init(&v);
	if (kist_bag_view_read(bag, &v, fs, &err) == KIST_OK) {
		kist_profile_check_fatal(p, &v, fs);
		kist_profile_check_bag(p, &v, fs);
	}
	p->serialization = ser;
	kist_bag_view_free(&v);
	if (kist_findings_count_severity(fs, KIST_SEV_ERROR) > errors0) {
		if (cli.format != FORMAT_JSON)
			cli_message(NULL, "%s: the bag was made, but does not satisfy the profile %s (see above)",
				    bag, p->identifier);
		code = EXIT_PROBLEM;
	}
	return code;
}
