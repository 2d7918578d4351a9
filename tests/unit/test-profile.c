/* BagIt Profiles: reading (the specification's examples, the Beyond the
 * Repository profile, malformed ones), the version rules, and every rule
 * applied to a bag's view, each with a passing and a failing case. */
#include "unit.h"

#include <time.h>

#include <kist/profile.h>

#ifndef KIST_TEST_PROFILES
#error "KIST_TEST_PROFILES: the folder of the test profiles"
#endif

static char *slurp(const char *name, size_t *len)
{
	char *path = kist_path_join(KIST_TEST_PROFILES, name), *buf;
	FILE *f = fopen(path, "rb");
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	free(path);
	*len = (size_t)n;
	return buf;
}

static struct kist_profile *load_shared(const char *name, struct kist_findings *fs)
{
	struct kist_profile *p = NULL;
	size_t len;
	char *text = slurp(name, &len);

	assert_int_equal(kist_profile_parse(text, len, name, &p, fs), KIST_OK);
	free(text);
	return p;
}

/* A profile of the given version with extra top-level fields. */
static int parse_with(const char *version, const char *extra, struct kist_profile **p,
		      struct kist_findings *fs)
{
	char *text = NULL;
	int rc;

	assert_true(asprintf(&text,
			     "{\"BagIt-Profile-Info\":{\"BagIt-Profile-Identifier\":\"http://example.org/p.json\","
			     "\"Source-Organization\":\"kist\",\"External-Description\":\"test\",\"Version\":\"1\"%s%s%s},"
			     "\"Accept-BagIt-Version\":[\"1.0\"]%s%s}",
			     version ? ",\"BagIt-Profile-Version\":\"" : "", version ? version : "",
			     version ? "\"" : "", extra[0] ? "," : "", extra) > 0);
	rc = kist_profile_parse(text, strlen(text), "test.json", p, fs);
	free(text);
	return rc;
}

/* --- the specification's examples and Beyond the Repository --------------- */

static void test_spec_foo(void **state)
{
	struct kist_findings *fs = kist_findings_new();
	struct kist_profile *p = load_shared("bagProfileFoo.json", fs);

	(void)state;
	assert_int_equal(kist_findings_count(fs), 0);
	assert_string_equal(p->identifier, "http://www.library.yale.edu/mssa/bagitprofiles/disk_images.json");
	assert_string_equal(kist_profile_spec_version(p), "1.1.0");
	assert_int_equal(p->ntags, 3);
	assert_true(kist_profile_tag(p, "contact-phone")->required);
	assert_int_equal(kist_profile_tag(p, "Source-Organization")->values.count, 2);
	assert_true(kist_profile_tag(p, "Bagging-Date")->repeatable);   /* the default */
	assert_int_equal(p->manifests_required.count, 1);
	assert_false(p->allow_fetch);
	assert_int_equal(p->serialization, KIST_PROFILE_SER_REQUIRED);
	assert_int_equal(p->accept_serialization.count, 2);
	assert_int_equal(p->accept_bagit_version.count, 2);
	assert_false(p->tag_files_allowed.given);
	kist_profile_free(p);
	kist_findings_free(fs);
}

static void test_spec_bar(void **state)
{
	struct kist_findings *fs = kist_findings_new();
	struct kist_profile *p = load_shared("bagProfileBar.json", fs);

	(void)state;
	assert_int_equal(kist_findings_count(fs), 0);
	assert_string_equal(kist_profile_spec_version(p), "1.2.0");
	assert_int_equal(p->ntags, 14);
	assert_int_equal(p->serialization, KIST_PROFILE_SER_OPTIONAL);
	/* Tag-Files-Allowed is a 1.2.0 field: read */
	assert_true(p->tag_files_allowed.given);
	assert_string_equal(p->tag_files_allowed.items[0], "DPN/*");
	assert_int_equal(p->tag_files_required.count, 2);
	assert_int_equal(p->tag_manifests_required.count, 1);
	kist_profile_free(p);
	kist_findings_free(fs);
}

static void test_btr(void **state)
{
	struct kist_findings *fs = kist_findings_new();
	struct kist_profile *p = load_shared("btr_standard_profile.json", fs);

	(void)state;
	assert_string_equal(kist_profile_spec_version(p), "1.3.0");
	/* "recommended" is no field of the specification: one note for it */
	assert_int_equal(kist_findings_count(fs), 1);
	assert_string_equal(kist_findings_get(fs, 0)->code, "profile.field-unknown");
	assert_int_equal(kist_findings_get(fs, 0)->severity, KIST_SEV_WARNING);
	assert_non_null(strstr(kist_findings_get(fs, 0)->message, "recommended"));
	assert_int_equal(p->manifests_required.count, 0);
	assert_true(p->manifests_required.given);
	assert_int_equal(p->manifests_allowed.count, 4);
	assert_int_equal(p->accept_serialization.count, 6);
	assert_true(kist_profile_list_matches(&p->tag_files_allowed, "metadata/premis.xml"));
	/* 1.3.0 has "description" */
	assert_non_null(kist_profile_tag(p, "Bag-Count")->description);
	kist_profile_free(p);
	kist_findings_free(fs);
}

/* --- the version decides which fields count ---------------------------------- */

static void test_versions(void **state)
{
	static const char extra[] =
		"\"Manifests-Allowed\":[\"sha256\"],\"Data-Empty\":true,\"Payload-Files-Allowed\":[\"data/*\"],"
		"\"Bag-Info\":{\"X\":{\"description\":\"d\"}}";
	struct kist_findings *fs = kist_findings_new();
	struct kist_profile *p = NULL;

	(void)state;
	/* no BagIt-Profile-Version: 1.1.0, where none of these exists */
	assert_int_equal(parse_with(NULL, extra, &p, fs), KIST_OK);
	assert_string_equal(kist_profile_spec_version(p), "1.1.0");
	assert_false(p->spec_declared);
	assert_false(p->manifests_allowed.given);
	assert_false(p->data_empty);
	assert_false(p->payload_files_allowed.given);
	assert_null(kist_profile_tag(p, "X")->description);
	assert_int_equal(kist_findings_count(fs), 4);
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(kist_findings_get(fs, i)->code, "profile.field-newer");
	kist_profile_free(p);
	kist_findings_free(fs);

	/* 1.2.0: the allowed lists, not yet Data-Empty or payload files */
	fs = kist_findings_new();
	assert_int_equal(parse_with("1.2.0", extra, &p, fs), KIST_OK);
	assert_true(p->manifests_allowed.given);
	assert_false(p->data_empty);
	assert_int_equal(kist_findings_count(fs), 3);
	kist_profile_free(p);
	kist_findings_free(fs);

	/* 1.4.0: all of them */
	fs = kist_findings_new();
	assert_int_equal(parse_with("1.4.0", extra, &p, fs), KIST_OK);
	assert_string_equal(kist_profile_spec_version(p), "1.4.0");
	assert_true(p->data_empty);
	assert_true(p->payload_files_allowed.given);
	assert_string_equal(kist_profile_tag(p, "X")->description, "d");
	assert_int_equal(kist_findings_count(fs), 0);
	kist_profile_free(p);
	kist_findings_free(fs);

	/* a version kist does not know yet: the newest rules, with a note */
	fs = kist_findings_new();
	assert_int_equal(parse_with("1.9.0", extra, &p, fs), KIST_OK);
	assert_string_equal(kist_profile_spec_version(p), "1.4.0");
	assert_true(kist_findings_has(fs, "profile.version-unknown"));
	kist_profile_free(p);
	kist_findings_free(fs);
}

static void test_unknown_fields(void **state)
{
	struct kist_findings *fs = kist_findings_new();
	struct kist_profile *p = NULL;

	(void)state;
	assert_int_equal(parse_with("1.4.0", "\"Frobnicate\":{\"a\":[1,2]},\"Bag-Info\":{\"L\":{\"colour\":\"red\"}}",
				    &p, fs),
			 KIST_OK);
	assert_int_equal(kist_findings_count(fs), 2);
	assert_string_equal(kist_findings_get(fs, 0)->code, "profile.field-unknown");
	assert_int_equal(kist_findings_count_severity(fs, KIST_SEV_ERROR), 0);
	kist_profile_free(p);
	kist_findings_free(fs);
}

/* --- malformed profiles: each a finding, never a crash, never a profile --------- */

static void test_malformed(void **state)
{
	static const struct {
		const char *version, *extra, *code;
	} cases[] = {
		{ "1.4.0", "\"Manifests-Required\":\"md5\"", "profile.type" },
		{ "1.4.0", "\"Manifests-Required\":[\"md5\",5]", "profile.type" },
		{ "1.4.0", "\"Manifests-Required\":[\"\"]", "profile.value" },
		{ "1.4.0", "\"Allow-Fetch.txt\":\"false\"", "profile.type" },
		{ "1.4.0", "\"Serialization\":\"sometimes\"", "profile.value" },
		{ "1.4.0", "\"Serialization\":1", "profile.type" },
		{ "1.4.0", "\"Serialization\":\"required\"", "profile.contradiction" },
		{ "1.4.0", "\"Serialization\":\"required\",\"Accept-Serialization\":[\"zip\"]", "profile.value" },
		{ "1.4.0", "\"Manifests-Required\":[\"md5\"],\"Manifests-Allowed\":[\"sha256\"]", "profile.contradiction" },
		{ "1.4.0", "\"Tag-Manifests-Required\":[\"md5\"],\"Tag-Manifests-Allowed\":[\"sha1\"]",
		  "profile.contradiction" },
		{ "1.4.0", "\"Tag-Files-Required\":[\"a/b\"],\"Tag-Files-Allowed\":[\"c/*\"]", "profile.contradiction" },
		{ "1.4.0", "\"Payload-Files-Required\":[\"data/x\"],\"Payload-Files-Allowed\":[\"data/y/*\"]",
		  "profile.contradiction" },
		{ "1.4.0", "\"Payload-Files-Allowed\":[\"data/dir/\"]", "profile.value" },
		{ "1.4.0", "\"Payload-Files-Required\":[\"x.txt\"]", "profile.value" },
		{ "1.4.0", "\"Tag-Files-Required\":[\"../etc/passwd\"]", "profile.value" },
		{ "1.4.0", "\"Tag-Files-Allowed\":[\"/etc/*\"]", "profile.value" },
		{ "1.4.0", "\"Allow-Fetch.txt\":false,\"Fetch.txt-Required\":true", "profile.contradiction" },
		{ "1.4.0", "\"Data-Empty\":0", "profile.type" },
		{ "v1", "", "profile.value" },
		{ "1.4.0", "\"Bag-Info\":[]", "profile.type" },
		{ "1.4.0", "\"Bag-Info\":{\"L\":true}", "profile.type" },
		{ "1.4.0", "\"Bag-Info\":{\"L\":{\"required\":\"yes\"}}", "profile.type" },
		{ "1.4.0", "\"Bag-Info\":{\"L\":{\"repeatable\":null}}", "profile.type" },
		{ "1.4.0", "\"Bag-Info\":{\"L\":{\"values\":\"a\"}}", "profile.type" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kist_findings *fs = kist_findings_new();
		struct kist_profile *p = (struct kist_profile *)1;

		(void)state;
		if (parse_with(cases[i].version, cases[i].extra, &p, fs) != KIST_INVALID || p != NULL ||
		    !kist_findings_has(fs, cases[i].code))
			fail_msg("case %zu (%s): not rejected with %s", i, cases[i].extra, cases[i].code);
		kist_findings_free(fs);
	}
}

static void reject_text(const char *text, size_t len, const char *code, const char *words)
{
	struct kist_findings *fs = kist_findings_new();
	struct kist_profile *p = NULL;

	assert_int_equal(kist_profile_parse(text, len, "bad.json", &p, fs), KIST_INVALID);
	assert_null(p);
	if (!kist_findings_has(fs, code))
		fail_msg("'%.40s': no %s finding but %s: %s", text, code, kist_findings_get(fs, 0)->code,
			 kist_findings_get(fs, 0)->message);
	if (words && !strstr(kist_findings_get(fs, 0)->message, words))
		fail_msg("message '%s' does not say '%s'", kist_findings_get(fs, 0)->message, words);
	kist_findings_free(fs);
}

static void test_malformed_json(void **state)
{
	static const char nul[] = "{\"a\":\0}";
	char *deep = malloc(200001);

	(void)state;
	reject_text("", 0, "profile.malformed", "ends in the middle");
	reject_text("{\"BagIt-Profile-Info\": {", 24, "profile.malformed", NULL);
	reject_text("not json", 8, "profile.malformed", "line 1");
	reject_text("{}\n{}", 5, "profile.malformed", "line 2");
	reject_text("[1,2]", 5, "profile.malformed", "JSON object");
	reject_text("\"x\"", 3, "profile.malformed", NULL);
	reject_text(nul, sizeof(nul) - 1, "profile.malformed", "NUL");
	reject_text("{\"a\":\"\xff\xfe\"}", 10, "profile.malformed", NULL);
	reject_text("{\"a\":1,}", 8, "profile.malformed", NULL);   /* strict JSON */
	reject_text("{}", 2, "profile.field-missing", "BagIt-Profile-Info");
	{
		static const char t[] = "{\"BagIt-Profile-Info\":{\"Version\":\"1\"},\"Accept-BagIt-Version\":[\"1.0\"]}";

		reject_text(t, sizeof(t) - 1, "profile.field-missing", "BagIt-Profile-Identifier");
	}
	reject_text("{\"BagIt-Profile-Info\":{\"BagIt-Profile-Identifier\":\"x\",\"Source-Organization\":\"o\","
		    "\"External-Description\":\"d\",\"Version\":1.0},\"Accept-BagIt-Version\":[\"1.0\"]}",
		    strlen("{\"BagIt-Profile-Info\":{\"BagIt-Profile-Identifier\":\"x\",\"Source-Organization\":\"o\","
			   "\"External-Description\":\"d\",\"Version\":1.0},\"Accept-BagIt-Version\":[\"1.0\"]}"),
		    "profile.type", "Version");
	/* absurd nesting: json-c's depth limit, as a finding */
	for (size_t i = 0; i < 100000; i++) {
		deep[i] = '[';
		deep[100000 + i] = ']';
	}
	deep[200000] = '\0';
	reject_text(deep, 200000, "profile.malformed", "nested");
	memset(deep, '{', 100);
	reject_text(deep, 100, "profile.malformed", NULL);
	free(deep);
}

static void test_missing_accept_version(void **state)
{
	static const char text[] =
		"{\"BagIt-Profile-Info\":{\"BagIt-Profile-Identifier\":\"x\",\"Source-Organization\":\"o\","
		"\"External-Description\":\"d\",\"Version\":\"1\"}}";
	static const char bad[] =
		"{\"BagIt-Profile-Info\":{\"BagIt-Profile-Identifier\":\"x\",\"Source-Organization\":\"o\","
		"\"External-Description\":\"d\",\"Version\":\"1\"},\"Accept-BagIt-Version\":[\"one\"]}";

	(void)state;
	reject_text(text, sizeof(text) - 1, "profile.field-missing", "Accept-BagIt-Version");
	reject_text(bad, sizeof(bad) - 1, "profile.value", "one");
}

/* --- matching ------------------------------------------------------------------ */

static void test_glob(void **state)
{
	struct kist_profile_list l = { 0 };
	char *pats[] = { (char *)"DPN/*" };
	char *slow = malloc(5001);
	clock_t t0;

	(void)state;
	l.items = pats;
	l.count = 1;
	l.given = 1;
	assert_true(kist_profile_list_matches(&l, "DPN/dpnFirstNode.txt"));
	assert_true(kist_profile_list_matches(&l, "DPN/a/b"));
	assert_false(kist_profile_list_matches(&l, "DPNx/a"));
	assert_false(kist_profile_list_matches(&l, "other.txt"));
	pats[0] = (char *)"*";
	assert_true(kist_profile_list_matches(&l, "a/b/c.txt"));
	pats[0] = (char *)"meta/*/*";
	assert_false(kist_profile_list_matches(&l, "meta/a"));
	assert_true(kist_profile_list_matches(&l, "meta/a/b"));
	pats[0] = (char *)"data/*.tif";
	assert_true(kist_profile_list_matches(&l, "data/x/y.tif"));
	assert_false(kist_profile_list_matches(&l, "data/y.tiff"));
	pats[0] = (char *)"data/[ab]";   /* only '*' is special */
	assert_false(kist_profile_list_matches(&l, "data/a"));
	assert_true(kist_profile_list_matches(&l, "data/[ab]"));
	/* a hostile pattern costs no more than a moment */
	memset(slow, 'a', 5000);
	slow[5000] = '\0';
	pats[0] = (char *)"*a*a*a*a*a*a*a*a*a*a*b";
	t0 = clock();
	assert_false(kist_profile_list_matches(&l, slow));
	assert_true(clock() - t0 < CLOCKS_PER_SEC);
	free(slow);
	assert_true(kist_profile_list_has_alg(&(struct kist_profile_list){ .items = (char *[]){ (char *)"SHA-256" },
									  .count = 1, .given = 1 },
					      "sha256"));
}

/* --- every rule, passing and failing -------------------------------------------- */

static void add_payload(struct kist_bag_view *v, const char *path, uint64_t size)
{
	assert_int_equal(kist_file_list_add(&v->payload, path, size), 0);
	v->payload_files++;
	v->payload_bytes += size;
}

/* A 1.0 bag with an sha256 manifest and tag manifest, one payload file. */
static void base_view(struct kist_bag_view *v)
{
	kist_bag_view_init(v);
	v->major = 1;
	v->minor = 0;
	v->has_info = 1;
	v->has_data_dir = 1;
	assert_int_equal(kist_bag_info_add(&v->info, "BagIt-Profile-Identifier", "http://example.org/p.json"), 0);
	assert_int_equal(kist_bag_info_add(&v->info, "Source-Organization", "York University"), 0);
	assert_int_equal(kist_file_list_add(&v->tag_files, "bagit.txt", 55), 0);
	assert_int_equal(kist_file_list_add(&v->tag_files, "bag-info.txt", 100), 0);
	assert_int_equal(kist_file_list_add(&v->tag_files, "manifest-sha256.txt", 80), 0);
	assert_int_equal(kist_file_list_add(&v->tag_files, "tagmanifest-sha256.txt", 80), 0);
	add_payload(v, "data/report.pdf", 1000);
}

enum change { NONE, ADD_INFO, ADD_TAG, ADD_PAYLOAD, SET_VERSION, SET_ARCHIVE, EMPTY_PAYLOAD, ZERO_PAYLOAD,
	      DROP_IDENTIFIER };

struct rule_case {
	const char *rule;         /* extra top-level fields of a 1.4.0 profile */
	enum change pass_change, fail_change;
	const char *pass_arg, *fail_arg;
	const char *code;
	int fatal;
};

static void apply(struct kist_bag_view *v, enum change c, const char *arg)
{
	switch (c) {
	case NONE:
		break;
	case ADD_INFO: {
		/* "Label:value", several separated by '|' */
		char *copy = strdup(arg), *save = NULL;

		for (char *e = strtok_r(copy, "|", &save); e; e = strtok_r(NULL, "|", &save)) {
			char *colon = strchr(e, ':');

			*colon = '\0';
			assert_int_equal(kist_bag_info_add(&v->info, e, colon + 1), 0);
		}
		free(copy);
		break;
	}
	case ADD_TAG:
		assert_int_equal(kist_file_list_add(&v->tag_files, arg, 10), 0);
		break;
	case ADD_PAYLOAD:
		add_payload(v, arg, 10);
		break;
	case SET_VERSION:
		assert_int_equal(sscanf(arg, "%d.%d", &v->major, &v->minor), 2);
		break;
	case SET_ARCHIVE:
		v->serialization = strcmp(arg, "-") ? arg : NULL;
		v->archive_format = strdup("test format");
		break;
	case EMPTY_PAYLOAD:
		kist_file_list_free(&v->payload);
		kist_file_list_init(&v->payload);
		v->payload_files = v->payload_bytes = 0;
		break;
	case ZERO_PAYLOAD:
		v->payload.files[0].size = 0;
		v->payload.bytes = v->payload_bytes = 0;
		break;
	case DROP_IDENTIFIER:
		kist_bag_info_remove(&v->info, "BagIt-Profile-Identifier");
		if (arg)
			assert_int_equal(kist_bag_info_add(&v->info, "BagIt-Profile-Identifier", arg), 0);
		break;
	}
}

static const struct rule_case rules[] = {
	{ "\"Bag-Info\":{\"Contact-Name\":{\"required\":true}}", ADD_INFO, NONE, "Contact-Name:Ann", NULL,
	  "profile.info-missing", 0 },
	{ "\"Bag-Info\":{\"Source-Organization\":{\"values\":[\"York University\",\"SFU\"]}}", NONE, ADD_INFO, NULL,
	  "Source-Organization:Yale", "profile.info-value", 0 },
	{ "\"Bag-Info\":{\"Source-Organization\":{\"values\":[]}}", ADD_INFO, ADD_INFO, "Source-Organization:any",
	  "Source-Organization:any", NULL, 0 },   /* empty values: anything goes */
	{ "\"Bag-Info\":{\"Keyword\":{\"repeatable\":false}}", ADD_INFO, ADD_INFO, "Keyword:a", "Keyword:a|keyword:b",
	  "profile.info-repeated", 0 },
	{ "\"Bag-Info\":{\"Keyword\":{}}", ADD_INFO, ADD_INFO, "Keyword:a", "Keyword:a|Keyword:b", NULL, 0 },   /* repeatable */
	{ "", NONE, DROP_IDENTIFIER, NULL, NULL, "profile.identifier-missing", 0 },
	{ "", DROP_IDENTIFIER, DROP_IDENTIFIER, "http://example.org/p.json", "http://example.org/other.json",
	  "profile.identifier-mismatch", 0 },
	{ "", ADD_INFO, NONE, "BagIt-Profile-Identifier:http://example.org/second.json", NULL, NULL, 0 },
	{ "\"Manifests-Required\":[\"sha256\",\"md5\"]", ADD_TAG, NONE, "manifest-md5.txt", NULL,
	  "profile.manifest-missing", 0 },
	{ "\"Manifests-Allowed\":[\"sha256\",\"sha512\"]", ADD_TAG, ADD_TAG, "manifest-sha512.txt",
	  "manifest-md5.txt", "profile.manifest-not-allowed", 0 },
	{ "\"Tag-Manifests-Required\":[\"sha512\"]", ADD_TAG, NONE, "tagmanifest-sha512.txt", NULL,
	  "profile.tagmanifest-missing", 0 },
	{ "\"Tag-Manifests-Allowed\":[\"sha256\"]", NONE, ADD_TAG, NULL, "tagmanifest-md5.txt",
	  "profile.tagmanifest-not-allowed", 0 },
	{ "\"Allow-Fetch.txt\":false", NONE, ADD_TAG, NULL, "fetch.txt", "profile.fetch-not-allowed", 0 },
	{ "\"Allow-Fetch.txt\":true", ADD_TAG, NONE, "fetch.txt", NULL, NULL, 0 },
	{ "\"Fetch.txt-Required\":true", ADD_TAG, NONE, "fetch.txt", NULL, "profile.fetch-required", 0 },
	{ "\"Data-Empty\":true", EMPTY_PAYLOAD, NONE, NULL, NULL, "profile.data-not-empty", 0 },
	{ "\"Data-Empty\":true", ZERO_PAYLOAD, ADD_PAYLOAD, NULL, "data/second", "profile.data-not-empty", 0 },
	{ "\"Serialization\":\"required\",\"Accept-Serialization\":[\"application/zip\"]", SET_ARCHIVE, NONE,
	  "application/zip", NULL, "profile.serialization-required", 0 },
	{ "\"Serialization\":\"forbidden\"", NONE, SET_ARCHIVE, NULL, "application/zip",
	  "profile.serialization-forbidden", 0 },
	{ "\"Accept-Serialization\":[\"application/tar\",\"application/x-gzip\"]", SET_ARCHIVE, SET_ARCHIVE,
	  "application/gzip", "application/zip", "profile.serialization-not-accepted", 1 },
	{ "\"Accept-Serialization\":[\"application/zip\"]", SET_ARCHIVE, SET_ARCHIVE, "application/zip", "-",
	  "profile.serialization-not-accepted", 1 },
	{ "\"Accept-Serialization\":[\"application/tar\"]", SET_ARCHIVE, SET_ARCHIVE, "application/x-tar",
	  "application/x-7z-compressed", "profile.serialization-not-accepted", 1 },
	{ "", SET_ARCHIVE, SET_ARCHIVE, "application/zip", "-", NULL, 0 },   /* silent: any */
	{ "\"Accept-Serialization\":[]", NONE, SET_ARCHIVE, NULL, "application/zip",
	  "profile.serialization-not-accepted", 1 },
	{ "", SET_VERSION, SET_VERSION, "1.0", "0.97", "profile.bagit-version", 1 },
	{ "\"Tag-Files-Required\":[\"DPN/dpnFirstNode.txt\"]", ADD_TAG, ADD_TAG, "DPN/dpnFirstNode.txt",
	  "DPN/other.txt", "profile.tagfile-missing", 0 },
	{ "\"Tag-Files-Allowed\":[\"DPN/*\"]", ADD_TAG, ADD_TAG, "DPN/x/y.txt", "metadata/premis.xml",
	  "profile.tagfile-not-allowed", 0 },
	{ "\"Payload-Files-Required\":[\"data/LICENSE.txt\"]", ADD_PAYLOAD, ADD_PAYLOAD, "data/LICENSE.txt",
	  "data/sub/LICENSE.txt", "profile.payload-missing", 0 },
	{ "\"Payload-Files-Required\":[\"data/src/\"]", ADD_PAYLOAD, ADD_PAYLOAD, "data/src/a/main.c",
	  "data/srcx", "profile.payload-missing", 0 },
	{ "\"Payload-Files-Allowed\":[\"data/*.pdf\",\"data/src/*\"]", ADD_PAYLOAD, ADD_PAYLOAD, "data/src/a.c",
	  "data/a.c", "profile.payload-not-allowed", 0 },
};

static size_t run_rule(const struct kist_profile *p, const struct kist_bag_view *v, struct kist_findings *fs,
		       int *fatal)
{
	size_t n = kist_profile_check_fatal(p, v, fs);

	*fatal = n > 0;
	return n + kist_profile_check_bag(p, v, fs);
}

static void test_rules(void **state)
{
	char *extra = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		const struct rule_case *r = &rules[i];
		struct kist_findings *fs = kist_findings_new();
		struct kist_profile *p = NULL;
		struct kist_bag_view v;
		int fatal;

		free(extra);
		assert_true(asprintf(&extra, "%s", r->rule) >= 0);
		if (parse_with("1.4.0", extra, &p, fs) != KIST_OK)
			fail_msg("rule %zu: profile rejected: %s", i, kist_findings_get(fs, 0)->message);
		kist_findings_free(fs);

		/* passing */
		fs = kist_findings_new();
		base_view(&v);
		apply(&v, r->pass_change, r->pass_arg);
		if (run_rule(p, &v, fs, &fatal) != 0)
			fail_msg("rule %zu (%s): the passing bag fails: %s (%s)", i, r->rule,
				 kist_findings_get(fs, 0)->message, kist_findings_get(fs, 0)->code);
		kist_bag_view_free(&v);
		kist_findings_free(fs);

		/* failing */
		fs = kist_findings_new();
		base_view(&v);
		apply(&v, r->fail_change, r->fail_arg);
		if (r->code) {
			if (run_rule(p, &v, fs, &fatal) != 1 || !kist_findings_has(fs, r->code))
				fail_msg("rule %zu (%s): the failing bag is not one %s finding (%zu findings)", i,
					 r->rule, r->code, kist_findings_count(fs));
			assert_int_equal(kist_findings_get(fs, 0)->severity, KIST_SEV_ERROR);
			if (fatal != r->fatal)
				fail_msg("rule %zu: fatal %d, expected %d", i, fatal, r->fatal);
		} else {
			assert_int_equal(run_rule(p, &v, fs, &fatal), 0);
		}
		kist_bag_view_free(&v);
		kist_findings_free(fs);
		kist_profile_free(p);
	}
	free(extra);
}

/* The spec's Bar example against a bag that meets it but for BagIt 1.0. */
static void test_bar_on_bag(void **state)
{
	struct kist_findings *fs = kist_findings_new();
	struct kist_profile *p = load_shared("bagProfileBar.json", fs);
	struct kist_bag_view v;

	(void)state;
	base_view(&v);
	kist_bag_info_remove(&v.info, "BagIt-Profile-Identifier");
	kist_bag_info_add(&v.info, "BagIt-Profile-Identifier", "http://canadiana.org/standards/bagit/tdr_ingest.json");
	kist_file_list_add(&v.tag_files, "DPN/dpnFirstNode.txt", 1);
	kist_file_list_add(&v.tag_files, "manifest-md5.txt", 1);
	kist_file_list_add(&v.tag_files, "tagmanifest-md5.txt", 1);
	assert_int_equal(kist_profile_check_fatal(p, &v, fs), 1);   /* BagIt 1.0: only 0.96 */
	assert_true(kist_findings_has(fs, "profile.bagit-version"));
	kist_findings_free(fs);
	fs = kist_findings_new();
	/* Organization-Address, Contact-Name, Contact-Email, External-Description,
	   Bag-Size, Bag-Count, Bagging-Date, Payload-Oxum missing; DPN/dpnRegistry */
	assert_int_equal(kist_profile_check_bag(p, &v, fs), 9);
	assert_true(kist_findings_has(fs, "profile.tagfile-missing"));
	assert_false(kist_findings_has(fs, "profile.tagfile-not-allowed"));
	kist_bag_view_free(&v);
	kist_findings_free(fs);
	kist_profile_free(p);
}

static void test_create_side(void **state)
{
	struct kist_findings *fs = kist_findings_new();
	struct kist_profile *p = NULL;
	struct kist_bag_info info;

	(void)state;
	assert_int_equal(parse_with("1.4.0",
				    "\"Manifests-Required\":[\"md5\"],\"Manifests-Allowed\":[\"md5\",\"sha256\"],"
				    "\"Tag-Manifests-Required\":[\"sha1\"],"
				    "\"Bag-Info\":{\"Payload-Oxum\":{\"required\":true},\"Contact-Name\":{\"required\":true}}",
				    &p, fs),
			 KIST_OK);
	/* required plus the allowed of those wanted */
	assert_int_equal(kist_profile_algorithms(p, 0, KIST_ALG_BIT(KIST_ALG_SHA512)), KIST_ALG_BIT(KIST_ALG_MD5));
	assert_int_equal(kist_profile_algorithms(p, 0, KIST_ALG_BIT(KIST_ALG_SHA256)),
			 KIST_ALG_BIT(KIST_ALG_MD5) | KIST_ALG_BIT(KIST_ALG_SHA256));
	assert_int_equal(kist_profile_algorithms(p, 1, KIST_ALG_BIT(KIST_ALG_MD5)),
			 KIST_ALG_BIT(KIST_ALG_SHA1) | KIST_ALG_BIT(KIST_ALG_MD5));
	/* creating: Payload-Oxum comes from create; Contact-Name must be given */
	kist_bag_info_init(&info);
	assert_int_equal(kist_profile_check_info(p, &info, 1, fs), 1);
	assert_true(kist_findings_has(fs, "profile.info-missing"));
	kist_bag_info_add(&info, "Contact-Name", "Ann");
	kist_findings_free(fs);
	fs = kist_findings_new();
	assert_int_equal(kist_profile_check_info(p, &info, 1, fs), 0);
	/* validating, the identifier and Payload-Oxum must be there */
	assert_int_equal(kist_profile_check_info(p, &info, 0, fs), 2);
	kist_bag_info_free(&info);
	kist_profile_free(p);
	kist_findings_free(fs);

	/* nothing wanted is allowed, nothing required: the strongest allowed */
	fs = kist_findings_new();
	assert_int_equal(parse_with("1.4.0", "\"Manifests-Allowed\":[\"md5\",\"sha256\"]", &p, fs), KIST_OK);
	assert_int_equal(kist_profile_algorithms(p, 0, KIST_ALG_BIT(KIST_ALG_SHA512)),
			 KIST_ALG_BIT(KIST_ALG_SHA256));
	kist_profile_free(p);
	kist_findings_free(fs);
}

static void test_load_errors(void **state)
{
	struct kist_findings *fs = kist_findings_new();
	struct kist_profile *p = NULL;
	struct kist_error err;
	char *dir = unit_tmpdir(), *path = kist_path_join(dir, "big.json");

	(void)state;
	kist_error_clear(&err);
	assert_int_equal(kist_profile_load("/nonexistent/p.json", 0, &p, fs, &err), KIST_FAILED);
	assert_true(kist_findings_has(fs, "profile.unreadable"));
	assert_int_equal(kist_profile_load("http://127.0.0.1:1/p.json", 0, &p, fs, &err), KIST_FAILED);
	assert_non_null(strstr(err.message, "--fetch-profile"));
	assert_int_equal(kist_profile_load(dir, 0, &p, fs, &err), KIST_FAILED);
	/* larger than a profile can be */
	unit_write(dir, "big.json", NULL, KIST_PROFILE_MAX_BYTES + 1);
	assert_int_equal(kist_profile_load(path, 0, &p, fs, &err), KIST_FAILED);
	assert_non_null(strstr(err.message, "larger"));
	assert_null(p);
	assert_true(kist_profile_is_url("https://example.org/p.json"));
	assert_true(kist_profile_is_url("file:///tmp/p.json"));
	assert_false(kist_profile_is_url("profiles/p.json"));
	assert_false(kist_profile_is_url("c:/p.json"));
	unit_rmtree(dir);
	free(dir);
	free(path);
	kist_findings_free(fs);
}

/* Reading a bag directory's view at each level of payload detail. */
static void test_view_dir(void **state)
{
	static const char bagit[] = "BagIt-Version: 0.97\nTag-File-Character-Encoding: UTF-8\n";
	static const char info[] = "Source-Organization: York\nBagIt-Profile-Identifier: x\n";
	char *dir = unit_tmpdir();
	struct kist_error err;
	struct kist_bag_view v;

	(void)state;
	unit_write(dir, "bagit.txt", bagit, sizeof(bagit) - 1);
	unit_write(dir, "bag-info.txt", info, sizeof(info) - 1);
	unit_write(dir, "manifest-md5.txt", "", 0);
	unit_mkdir(dir, "DPN");
	unit_write(dir, "DPN/node.txt", "n", 1);
	unit_mkdir(dir, "data");
	unit_write(dir, "data/a.txt", "abc", 3);
	unit_write(dir, "data/b.txt", "de", 2);
	for (int detail = KIST_VIEW_PAYLOAD_NONE; detail <= KIST_VIEW_PAYLOAD_NAMES; detail++) {
		kist_bag_view_init(&v);
		v.payload_detail = detail;
		kist_error_clear(&err);
		assert_int_equal(kist_bag_view_read(dir, &v, NULL, &err), KIST_OK);
		assert_int_equal(v.major, 0);
		assert_int_equal(v.minor, 97);
		assert_null(v.serialization);
		assert_null(v.archive_format);
		assert_true(v.has_info && v.has_data_dir);
		assert_string_equal(kist_bag_info_get(&v.info, "Source-Organization"), "York");
		assert_int_equal(v.tag_files.count, 4);
		assert_int_equal(v.payload_files, detail == KIST_VIEW_PAYLOAD_NONE ? 0 : 2);
		assert_int_equal(v.payload_bytes, detail == KIST_VIEW_PAYLOAD_NONE ? 0 : 5);
		assert_int_equal(v.payload.count, detail == KIST_VIEW_PAYLOAD_NAMES ? 2 : 0);
		kist_bag_view_free(&v);
	}
	/* not a bag: no bagit.txt */
	kist_bag_view_init(&v);
	{
		char *data = kist_path_join(dir, "data");

		assert_int_equal(kist_bag_view_read(data, &v, NULL, &err), KIST_INVALID);
		assert_non_null(strstr(err.message, "not a bag"));
		free(data);
	}
	kist_bag_view_free(&v);
	/* a bagit.txt that is a symlink is not followed */
	{
		char *link = kist_path_join(dir, "DPN/bagit.txt"), *sub = kist_path_join(dir, "DPN");

		unlink(link);
		assert_int_equal(symlink("../bagit.txt", link), 0);
		kist_bag_view_init(&v);
		assert_int_equal(kist_bag_view_read(sub, &v, NULL, &err), KIST_INVALID);
		kist_bag_view_free(&v);
		free(link);
		free(sub);
	}
	unit_rmtree(dir);
	free(dir);
}

/* Thousands of damaged copies of the real profiles (bytes flipped, cut,
 * duplicated): each is a profile or a finding, never a crash or a leak
 * (the suite runs under ASan and UBSan in CI). */
static void test_mutations(void **state)
{
	static const char *const names[] = { "bagProfileFoo.json", "bagProfileBar.json",
					     "btr_standard_profile.json" };
	static const char noise[] = "{}[]\",:0123456789.-+eEtrufalsn \\\x00\xff\xc3";
	unsigned seed = 12345;
	size_t ok = 0, bad = 0;

	(void)state;
	for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); n++) {
		size_t len;
		char *orig = slurp(names[n], &len), *buf = malloc(2 * len + 1);

		for (int round = 0; round < 1500; round++) {
			struct kist_findings *fs = kist_findings_new();
			struct kist_profile *p = NULL;
			size_t blen = len;
			int edits = 1 + round % 4, rc;

			memcpy(buf, orig, len);
			for (int e = 0; e < edits; e++) {
				size_t at;

				seed = seed * 1103515245u + 12345u;
				at = (seed >> 8) % blen;
				switch ((seed >> 4) % 4) {
				case 0: buf[at] = noise[(seed >> 16) % (sizeof(noise) - 1)]; break;
				case 1: blen = at; break;                         /* truncated */
				case 2:                                           /* a run doubled */
					if (blen + 16 <= 2 * len && at + 16 <= blen) {
						memmove(buf + at + 16, buf + at, blen - at);
						blen += 16;
					}
					break;
				default: memmove(buf + at, buf + at + 1, blen - at - 1); blen--; break;
				}
				if (blen == 0)
					break;
			}
			rc = kist_profile_parse(buf, blen, names[n], &p, fs);
			assert_true(rc == KIST_OK || rc == KIST_INVALID);
			assert_true((rc == KIST_OK) == (p != NULL));
			if (rc == KIST_OK)
				ok++;
			else
				bad++, assert_true(kist_findings_count_severity(fs, KIST_SEV_ERROR) > 0);
			kist_profile_free(p);
			kist_findings_free(fs);
		}
		free(buf);
		free(orig);
	}
	/* both kinds happened: the damage was neither always fatal nor harmless */
	assert_true(ok > 0);
	assert_true(bad > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_foo),
		cmocka_unit_test(test_spec_bar),
		cmocka_unit_test(test_btr),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_unknown_fields),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_malformed_json),
		cmocka_unit_test(test_missing_accept_version),
		cmocka_unit_test(test_glob),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_bar_on_bag),
		cmocka_unit_test(test_create_side),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_view_dir),
	};

	return UNIT_RUN(tests);
}
