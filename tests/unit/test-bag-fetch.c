/* kist_bag_fetch with file: URLs (the HTTP cases are in tests/cli/bag-fetch.bats,
 * against a real server): a holey bag is completed, each file cut off at its
 * declared length and checked against every payload manifest, and nothing
 * that fails leaves a byte behind, in the bag or outside it. */
#include "unit.h"

#include <dirent.h>

struct tf {
	char *tmp, *bag, *srv;
	char sha256[8192], md5[8192], fetch[8192];   /* the lines so far */
	struct kist_findings *fs;
	struct kist_bag_fetch_result res;
	struct kist_bag_fetch_options opt;
	int rc;
};

static int setup(void **state)
{
	struct tf *t = calloc(1, sizeof(*t));

	t->tmp = unit_tmpdir();
	t->bag = kist_path_join(t->tmp, "bag");
	t->srv = kist_path_join(t->tmp, "srv");
	assert_int_equal(mkdir(t->bag, 0755), 0);
	assert_int_equal(mkdir(t->srv, 0755), 0);
	{
		static const char decl[] = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";

		unit_write(t->bag, "bagit.txt", decl, sizeof(decl) - 1);
	}
	kist_bag_fetch_options_init(&t->opt);
	t->opt.retry_wait_ms = 1;
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tf *t = *state;

	kist_findings_free(t->fs);
	unit_rmtree(t->tmp);
	free(t->tmp);
	free(t->bag);
	free(t->srv);
	free(t);
	return 0;
}

/* "A  B\n" at the end of buf. */
static void append(char *buf, size_t cap, const char *a, const char *b)
{
	size_t n = strlen(buf);

	assert_true(snprintf(buf + n, cap - n, "%s%s%s", a, *b ? "  " : "", b) < (int)(cap - n));
}

/* The manifests list data/NAME with the digests of data; srv/NAME holds
 * served (data itself when NULL). */
static void source(struct tf *t, const char *name, const char *data, const char *served)
{
	unsigned char d[KIST_ALG_COUNT][KIST_DIGEST_MAX];
	char hex[KIST_DIGEST_HEX_MAX], path[256];
	struct kist_error err;
	uint64_t bytes;

	unit_write(t->srv, "digest-me", data, strlen(data));
	{
		char *p = kist_path_join(t->srv, "digest-me");

		assert_int_equal(kist_hash_file(AT_FDCWD, p, KIST_ALG_BIT(KIST_ALG_SHA256) |
					 KIST_ALG_BIT(KIST_ALG_MD5), d, &bytes, &err), KIST_OK);
		unlink(p);
		free(p);
	}
	snprintf(path, sizeof(path), "data/%s", name);
	kist_hex(d[KIST_ALG_SHA256], 32, hex);
	append(t->sha256, sizeof(t->sha256), hex, path);
	append(t->sha256, sizeof(t->sha256), "\n", "");
	kist_hex(d[KIST_ALG_MD5], 16, hex);
	append(t->md5, sizeof(t->md5), hex, path);
	append(t->md5, sizeof(t->md5), "\n", "");
	served = served ? served : data;
	{
		char *p = kist_path_join(t->srv, name), *cmd = NULL;

		assert_true(asprintf(&cmd, "mkdir -p \"$(dirname '%s')\"", p) > 0);
		assert_int_equal(system(cmd), 0);
		free(cmd);
		free(p);
	}
	unit_write(t->srv, name, served, strlen(served));
}

/* A fetch.txt line for srv/NAME (url NULL) or url, with length and path. */
static void line(struct tf *t, const char *url, const char *name, const char *length, const char *path)
{
	char u[1024], l[1200];

	if (!url) {
		snprintf(u, sizeof(u), "file://%s/%s", t->srv, name);
		url = u;
	}
	snprintf(l, sizeof(l), "%s %s %s\n", url, length, path);
	append(t->fetch, sizeof(t->fetch), l, "");
}

static void run(struct tf *t)
{
	struct kist_error err;

	unit_write(t->bag, "manifest-sha256.txt", t->sha256, strlen(t->sha256));
	unit_write(t->bag, "manifest-md5.txt", t->md5, strlen(t->md5));
	unit_write(t->bag, "fetch.txt", t->fetch, strlen(t->fetch));
	kist_findings_free(t->fs);
	t->fs = kist_findings_new();
	kist_error_clear(&err);
	t->rc = kist_bag_fetch(t->bag, &t->opt, &t->res, t->fs, &err);
	if (getenv("UNIT_VERBOSE"))
		for (size_t i = 0; i < kist_findings_count(t->fs); i++)
			fprintf(stderr, "# %s %s: %s\n", kist_findings_get(t->fs, i)->code,
				kist_findings_get(t->fs, i)->path ? kist_findings_get(t->fs, i)->path : "-",
				kist_findings_get(t->fs, i)->message);
}

static char *slurp_rel(struct tf *t, const char *rel)
{
	char *path = kist_path_join(t->bag, rel), *buf = calloc(1, 65536);
	FILE *f = fopen(path, "rb");

	free(path);
	if (!f) {
		free(buf);
		return NULL;
	}
	buf[fread(buf, 1, 65535, f)] = '\0';
	fclose(f);
	return buf;
}

static void expect_content(struct tf *t, const char *rel, const char *want)
{
	char *got = slurp_rel(t, rel);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void expect_absent(struct tf *t, const char *rel)
{
	char *path = kist_path_join(t->bag, rel);
	struct stat st;

	assert_int_equal(lstat(path, &st), -1);
	free(path);
}

/* No temporary file anywhere under dir. */
static void expect_no_temp(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char *sub;

		assert_null(strstr(e->d_name, "kist-fetch"));
		if (e->d_type == DT_DIR && strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			sub = kist_path_join(dir, e->d_name);
			expect_no_temp(sub);
			free(sub);
		}
	}
	closedir(d);
}

static void expect_valid(struct tf *t)
{
	struct kist_findings *fs = kist_findings_new();
	struct kist_bag_validate_options vo = { .level = KIST_BAG_CHECK_FULL, .jobs = 1 };
	struct kist_bag_validate_result vr;
	struct kist_error err;

	assert_int_equal(kist_bag_validate(t->bag, &vo, &vr, fs, &err), KIST_OK);
	assert_true(vr.valid);
	assert_int_equal(vr.pending_fetch, 0);
	kist_findings_free(fs);
}

/* --- cases -------------------------------------------------------------------------- */

static void test_fetches_and_validates(void **state)
{
	struct tf *t = *state;

	source(t, "a.txt", "alpha\n", NULL);
	source(t, "deep/er/b.txt", "bravo bravo\n", NULL);
	line(t, NULL, "a.txt", "6", "data/a.txt");
	line(t, NULL, "deep/er/b.txt", "-", "data/deep/er/b.txt");   /* length unknown */
	run(t);
	assert_int_equal(t->rc, KIST_OK);
	assert_int_equal(kist_findings_count_severity(t->fs, KIST_SEV_ERROR), 0);
	assert_int_equal(t->res.listed, 2);
	assert_int_equal(t->res.fetched, 2);
	assert_int_equal(t->res.remaining, 0);
	assert_int_equal(t->res.bytes, 18);
	expect_content(t, "data/a.txt", "alpha\n");
	expect_content(t, "data/deep/er/b.txt", "bravo bravo\n");
	expect_no_temp(t->bag);
	expect_valid(t);
}

static void test_resumes_present_files(void **state)
{
	struct tf *t = *state;
	struct stat before, after;
	char *p = kist_path_join(t->bag, "data/a.txt");

	source(t, "a.txt", "alpha\n", NULL);
	source(t, "b.txt", "bravo\n", NULL);
	line(t, NULL, "a.txt", "6", "data/a.txt");
	line(t, NULL, "b.txt", "6", "data/b.txt");
	unit_mkdir(t->bag, "data");
	unit_write(t->bag, "data/a.txt", "alpha\n", 6);
	assert_int_equal(stat(p, &before), 0);
	/* the source of a.txt is gone: it must not be asked for */
	unit_write(t->srv, "a.txt", "changed\n", 8);
	run(t);
	assert_int_equal(t->rc, KIST_OK);
	assert_int_equal(t->res.present, 1);
	assert_int_equal(t->res.fetched, 1);
	assert_int_equal(t->res.remaining, 0);
	assert_int_equal(stat(p, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	expect_valid(t);
	free(p);
}

static void test_present_but_different_is_left_alone(void **state)
{
	struct tf *t = *state;

	source(t, "a.txt", "alpha\n", NULL);
	line(t, NULL, "a.txt", "6", "data/a.txt");
	unit_mkdir(t->bag, "data");
	unit_write(t->bag, "data/a.txt", "ALPHA\n", 6);
	run(t);
	assert_true(kist_findings_has(t->fs, "fetch.present-differs"));
	assert_int_equal(t->res.remaining, 1);
	expect_content(t, "data/a.txt", "ALPHA\n");
}

static void test_too_long_is_cut_off(void **state)
{
	struct tf *t = *state;

	/* the manifests are for "alpha\n"; the source holds more */
	source(t, "a.txt", "alpha\n", "alpha\nand then some more\n");
	line(t, NULL, "a.txt", "6", "data/a.txt");
	run(t);
	assert_int_equal(t->rc, KIST_OK);
	assert_true(kist_findings_has(t->fs, "fetch.download-failed"));
	assert_int_equal(t->res.fetched, 0);
	assert_int_equal(t->res.remaining, 1);
	expect_absent(t, "data/a.txt");
	expect_no_temp(t->bag);
}

static void test_short_is_an_error(void **state)
{
	struct tf *t = *state;

	source(t, "a.txt", "alpha\n", "alp");
	line(t, NULL, "a.txt", "6", "data/a.txt");
	run(t);
	assert_true(kist_findings_has(t->fs, "fetch.download-failed"));
	expect_absent(t, "data/a.txt");
	expect_no_temp(t->bag);
}

static void test_wrong_bytes_are_not_kept(void **state)
{
	struct tf *t = *state;

	source(t, "a.txt", "alpha\n", "ALPHA\n");
	line(t, NULL, "a.txt", "6", "data/a.txt");
	run(t);
	assert_true(kist_findings_has(t->fs, "fetch.download-failed"));
	assert_int_equal(t->res.fetched, 0);
	expect_absent(t, "data/a.txt");
	expect_no_temp(t->bag);
}

/* Matching one manifest is not enough: every payload manifest must agree. */
static void test_every_manifest_is_checked(void **state)
{
	struct tf *t = *state;

	source(t, "a.txt", "alpha\n", NULL);
	line(t, NULL, "a.txt", "6", "data/a.txt");
	/* spoil the md5 line only */
	t->md5[0] = t->md5[0] == '0' ? '1' : '0';
	run(t);
	assert_true(kist_findings_has(t->fs, "fetch.download-failed"));
	expect_absent(t, "data/a.txt");
	expect_no_temp(t->bag);
}

static void test_other_schemes_are_refused(void **state)
{
	struct tf *t = *state;

	source(t, "a.txt", "alpha\n", NULL);
	source(t, "b.txt", "bravo\n", NULL);
	source(t, "c.txt", "charlie\n", NULL);
	line(t, "ftp://127.0.0.1/a.txt", NULL, "6", "data/a.txt");
	line(t, "gopher://127.0.0.1/b.txt", NULL, "6", "data/b.txt");
	line(t, "c.txt", NULL, "8", "data/c.txt");   /* no scheme at all */
	run(t);
	assert_true(kist_findings_has(t->fs, "fetch.url-refused"));
	assert_int_equal(kist_findings_count_severity(t->fs, KIST_SEV_ERROR), 3);
	assert_int_equal(t->res.remaining, 3);
	expect_absent(t, "data/a.txt");
	expect_absent(t, "data/b.txt");
	expect_absent(t, "data/c.txt");
}

static void test_paths_outside_data_are_refused(void **state)
{
	struct tf *t = *state;

	source(t, "a.txt", "alpha\n", NULL);
	line(t, NULL, "a.txt", "6", "../escaped.txt");
	line(t, NULL, "a.txt", "6", "bag-info.txt");
	line(t, NULL, "a.txt", "6", "/tmp/kist-fetch-absolute.txt");
	run(t);
	assert_int_equal(t->res.fetched, 0);
	assert_true(kist_findings_count_severity(t->fs, KIST_SEV_ERROR) >= 3);
	expect_absent(t, "bag-info.txt");
	{
		char *p = kist_path_join(t->tmp, "escaped.txt");

		assert_int_equal(access(p, F_OK), -1);
		free(p);
	}
}

static void test_symlinked_directory_is_refused(void **state)
{
	struct tf *t = *state;
	char *outside = kist_path_join(t->tmp, "outside"), *link = kist_path_join(t->bag, "data/sub");

	source(t, "sub/a.txt", "alpha\n", NULL);
	line(t, NULL, "sub/a.txt", "6", "data/sub/a.txt");
	unit_mkdir(t->bag, "data");
	assert_int_equal(mkdir(outside, 0755), 0);
	assert_int_equal(symlink(outside, link), 0);
	run(t);
	assert_true(kist_findings_has(t->fs, "fetch.symlink"));
	assert_int_equal(t->res.fetched, 0);
	{
		DIR *d = opendir(outside);
		struct dirent *e;
		int n = 0;

		assert_non_null(d);
		while ((e = readdir(d)))
			n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
		closedir(d);
		assert_int_equal(n, 0);   /* nothing written through the link */
	}
	free(outside);
	free(link);
}

static void test_not_in_a_manifest_is_not_fetched(void **state)
{
	struct tf *t = *state;

	source(t, "a.txt", "alpha\n", NULL);
	unit_write(t->srv, "x.txt", "x\n", 2);
	line(t, NULL, "a.txt", "6", "data/a.txt");
	line(t, NULL, "x.txt", "2", "data/x.txt");
	run(t);
	assert_true(kist_findings_has(t->fs, "fetch.not-in-manifest"));
	assert_int_equal(t->res.fetched, 1);
	assert_int_equal(t->res.remaining, 1);
	expect_absent(t, "data/x.txt");
}

static void test_missing_source_is_an_error(void **state)
{
	struct tf *t = *state;

	source(t, "a.txt", "alpha\n", NULL);
	line(t, NULL, "nowhere.txt", "6", "data/a.txt");
	run(t);
	assert_true(kist_findings_has(t->fs, "fetch.download-failed"));
	expect_absent(t, "data/a.txt");
	expect_no_temp(t->bag);
}

static void test_cancel_stops_and_cleans_up(void **state)
{
	struct tf *t = *state;
	volatile int cancel = 1;

	source(t, "a.txt", "alpha\n", NULL);
	line(t, NULL, "a.txt", "6", "data/a.txt");
	t->opt.cancel = &cancel;
	run(t);
	assert_int_equal(t->rc, KIST_FAILED);
	assert_int_equal(t->res.fetched, 0);
	expect_absent(t, "data/a.txt");
	expect_no_temp(t->bag);
}

static void test_many_files_in_parallel(void **state)
{
	struct tf *t = *state;
	char name[64], text[64], path[80];

	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "d%d/f%d.txt", i % 3, i);
		snprintf(text, sizeof(text), "file number %d\n", i);
		snprintf(path, sizeof(path), "data/%s", name);
		source(t, name, text, NULL);
		line(t, NULL, name, "-", path);
	}
	t->opt.jobs = 8;
	run(t);
	assert_int_equal(t->rc, KIST_OK);
	assert_int_equal(t->res.fetched, 40);
	assert_int_equal(kist_findings_count_severity(t->fs, KIST_SEV_ERROR), 0);
	expect_no_temp(t->bag);
	expect_valid(t);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_fetches_and_validates),
		T(test_resumes_present_files),
		T(test_present_but_different_is_left_alone),
		T(test_too_long_is_cut_off),
		T(test_short_is_an_error),
		T(test_wrong_bytes_are_not_kept),
		T(test_every_manifest_is_checked),
		T(test_other_schemes_are_refused),
		T(test_paths_outside_data_are_refused),
		T(test_symlinked_directory_is_refused),
		T(test_not_in_a_manifest_is_not_fetched),
		T(test_missing_source_is_an_error),
		T(test_cancel_stops_and_cleans_up),
		T(test_many_files_in_parallel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
