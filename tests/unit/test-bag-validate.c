/* kist_bag_validate against real bags built here, case by case from the words
 * of RFC 8493 (section 3: complete and valid bags) and the drafts before it. */
#include "unit.h"

#include <signal.h>
#include <sys/stat.h>

/* --- building bags ------------------------------------------------------------------ */

struct tb {
	char *tmp;     /* the test's directory */
	char *bag;     /* tmp/bag */
	struct kist_findings *fs;
	struct kist_bag_validate_result res;
	int rc;
};

static void mkdirs_for(const char *path)
{
	char *copy = strdup(path);

	for (char *p = copy + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(copy, 0755) < 0)
				assert_int_equal(errno, EEXIST);
			*p = '/';
		}
	free(copy);
}

/* Writes bytes to bag/rel, making the directories on the way. */
static void put_bytes(struct tb *t, const char *rel, const void *data, size_t len)
{
	char *path = kist_path_join(t->bag, rel);

	mkdirs_for(path);
	unit_write("", path, data, len);
	free(path);
}

static void put(struct tb *t, const char *rel, const char *text)
{
	put_bytes(t, rel, text, strlen(text));
}

static void rm(struct tb *t, const char *rel)
{
	char *path = kist_path_join(t->bag, rel);

	assert_int_equal(unlink(path), 0);
	free(path);
}

/* Lower-case hex digest of bag/rel. */
static void hex_of(struct tb *t, const char *rel, int alg, char *hex)
{
	unsigned char d[KIST_ALG_COUNT][KIST_DIGEST_MAX];
	struct kist_error err;
	uint64_t bytes;
	int dirfd = open(t->bag, O_RDONLY | O_DIRECTORY);

	assert_true(dirfd >= 0);
	kist_error_clear(&err);
	assert_int_equal(kist_hash_file(dirfd, rel, KIST_ALG_BIT(alg), d, &bytes, &err), KIST_OK);
	close(dirfd);
	kist_hex(d[alg], kist_alg_size(alg), hex);
}

/* name: "hex  path" for each path (the files must exist), sep between. */
static void manifest_sep(struct tb *t, const char *name, int alg, const char *sep,
			 const char *const *paths)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);

	for (size_t i = 0; paths[i]; i++) {
		char hex[KIST_DIGEST_HEX_MAX];

		hex_of(t, paths[i], alg, hex);
		fprintf(m, "%s%s%s\n", hex, sep, paths[i]);
	}
	fclose(m);
	put(t, name, text);
	free(text);
}

static void manifest(struct tb *t, const char *name, int alg, const char *const *paths)
{
	manifest_sep(t, name, alg, "  ", paths);
}

/* A line for path with the digest of file (for listing a name that is not
 * there, or under another name). */
static void append_line(struct tb *t, const char *name, int alg, const char *file, const char *path)
{
	char hex[KIST_DIGEST_HEX_MAX];
	char *full = kist_path_join(t->bag, name);
	FILE *m = fopen(full, "a");

	assert_non_null(m);
	hex_of(t, file, alg, hex);
	fprintf(m, "%s  %s\n", hex, path);
	fclose(m);
	free(full);
}

static const char *const TAGS[] = { "bagit.txt", "bag-info.txt", "manifest-sha256.txt",
				    "manifest-sha512.txt", NULL };

/* A good BagIt 1.0 bag: two payload files in two manifests, Payload-Oxum,
 * a tag manifest. */
static void good_bag(struct tb *t)
{
	static const char *const payload[] = { "data/hello.txt", "data/sub/dir/b.bin", NULL };

	put(t, "bagit.txt", "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n");
	put(t, "data/hello.txt", "hello, world\n");
	put(t, "data/sub/dir/b.bin", "0123456789");
	put(t, "bag-info.txt", "Payload-Oxum: 23.2\nSource-Organization: kist tests\n");
	manifest(t, "manifest-sha256.txt", KIST_ALG_SHA256, payload);
	manifest(t, "manifest-sha512.txt", KIST_ALG_SHA512, payload);
	manifest(t, "tagmanifest-sha256.txt", KIST_ALG_SHA256, TAGS);
}

static void retag(struct tb *t)
{
	manifest(t, "tagmanifest-sha256.txt", KIST_ALG_SHA256, TAGS);
}

static int setup(void **state)
{
	struct tb *t = calloc(1, sizeof(*t));

	t->tmp = unit_tmpdir();
	t->bag = kist_path_join(t->tmp, "bag");
	assert_int_equal(mkdir(t->bag, 0755), 0);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tb *t = *state;

	kist_findings_free(t->fs);
	unit_rmtree(t->tmp);
	free(t->tmp);
	free(t->bag);
	free(t);
	return 0;
}

/* Runs the validation; a hang (opening a FIFO) ends the test by SIGALRM. */
static int validate_at(struct tb *t, const char *path, enum kist_bag_check level)
{
	struct kist_bag_validate_options opt = { .level = level, .jobs = 2 };
	struct kist_error err;

	kist_findings_free(t->fs);
	t->fs = kist_findings_new();
	kist_error_clear(&err);
	alarm(20);
	t->rc = kist_bag_validate(path, &opt, &t->res, t->fs, &err);
	alarm(0);
	if (getenv("KIST_TEST_SHOW"))
		for (size_t i = 0; i < kist_findings_count(t->fs); i++) {
			const struct kist_finding *f = kist_findings_get(t->fs, i);

			fprintf(stderr, "# %s %s %s: %s\n", kist_severity_name(f->severity), f->code,
				f->path ? f->path : "-", f->message);
		}
	return t->rc;
}

static int validate(struct tb *t, enum kist_bag_check level)
{
	return validate_at(t, t->bag, level);
}

static size_t errors(struct tb *t)
{
	return kist_findings_count_severity(t->fs, KIST_SEV_ERROR) +
	       kist_findings_count_severity(t->fs, KIST_SEV_FAILURE);
}

static size_t warnings(struct tb *t)
{
	return kist_findings_count_severity(t->fs, KIST_SEV_WARNING);
}

/* The severity of the first finding with code (fails the test if none). */
static enum kist_severity sev(struct tb *t, const char *code)
{
	for (size_t i = 0; i < kist_findings_count(t->fs); i++) {
		const struct kist_finding *f = kist_findings_get(t->fs, i);

		if (strcmp(f->code, code) == 0)
			return f->severity;
	}
	fail_msg("no finding %s", code);
	return KIST_SEV_INFO;
}

static size_t count_code(struct tb *t, const char *code)
{
	size_t n = 0;

	for (size_t i = 0; i < kist_findings_count(t->fs); i++)
		n += strcmp(kist_findings_get(t->fs, i)->code, code) == 0;
	return n;
}

static int has_path(struct tb *t, const char *code, const char *path)
{
	for (size_t i = 0; i < kist_findings_count(t->fs); i++) {
		const struct kist_finding *f = kist_findings_get(t->fs, i);

		if (strcmp(f->code, code) == 0 && f->path && strcmp(f->path, path) == 0)
			return 1;
	}
	return 0;
}

#define HAS(t, code) assert_true(kist_findings_has((t)->fs, code))
#define HASNT(t, code) assert_false(kist_findings_has((t)->fs, code))

static void assert_valid(struct tb *t)
{
	assert_int_equal(validate(t, KIST_BAG_CHECK_FULL), KIST_OK);
	assert_int_equal(errors(t), 0);
	assert_true(t->res.valid);
	assert_true(t->res.complete);
}

static void assert_invalid(struct tb *t)
{
	assert_int_not_equal(validate(t, KIST_BAG_CHECK_FULL), KIST_OK);
	assert_true(errors(t) > 0);
	assert_false(t->res.valid);
}

/* --- RFC 8493 section 3: complete and valid -------------------------------------------- */

static void test_valid_bag(void **state)
{
	struct tb *t = *state;

	good_bag(t);
	assert_valid(t);
	assert_int_equal(warnings(t), 0);
	assert_int_equal(t->res.oxum_ok, 1);
	assert_int_equal(t->res.payload_files, 2);
	assert_int_equal(t->res.payload_bytes, 23);
	assert_int_equal(t->res.pending_fetch, 0);
	assert_int_equal(t->res.version_major, 1);
	assert_int_equal(t->res.version_minor, 0);
	/* no options: a full check */
	{
		struct kist_error err;

		kist_findings_free(t->fs);
		t->fs = kist_findings_new();
		assert_int_equal(kist_bag_validate(t->bag, NULL, &t->res, t->fs, &err), KIST_OK);
		assert_true(t->res.valid);
	}
	/* completeness-only agrees, and says complete without hashing */
	assert_int_equal(validate(t, KIST_BAG_CHECK_COMPLETENESS), KIST_OK);
	assert_true(t->res.complete);
	assert_false(t->res.valid);
}

/* "Every element present in every payload manifest is present." */
static void test_missing_payload_file(void **state)
{
	struct tb *t = *state;

	good_bag(t);
	rm(t, "data/hello.txt");
	assert_invalid(t);
	assert_false(t->res.complete);
	assert_true(has_path(t, "payload.missing", "data/hello.txt"));
	/* listed in two manifests: one finding per manifest, both naming it */
	assert_int_equal(count_code(t, "payload.missing"), 1);
	HAS(t, "payload.oxum-mismatch");
	assert_int_equal(validate(t, KIST_BAG_CHECK_COMPLETENESS), KIST_INVALID);
	assert_false(t->res.complete);
}

/* "Every file in the payload directory is listed in every payload manifest." */
static void test_extra_payload_file(void **state)
{
	struct tb *t = *state;

	good_bag(t);
	put(t, "data/stowaway.txt", "");
	assert_invalid(t);
	assert_true(has_path(t, "payload.unlisted", "data/stowaway.txt"));
	assert_false(t->res.complete);
	HAS(t, "payload.oxum-mismatch");
	assert_int_equal(t->res.oxum_ok, 0);
}

/* "Every checksum in every payload manifest ... has been successfully verified." */
static void test_payload_checksum_mismatch(void **state)
{
	struct tb *t = *state;

	good_bag(t);
	put(t, "data/sub/dir/b.bin", "0123456780");   /* same size: Oxum still agrees */
	assert_invalid(t);
	assert_true(t->res.complete);
	assert_int_equal(t->res.oxum_ok, 1);
	/* both manifests' digests disagree */
	assert_int_equal(count_code(t, "payload.checksum-mismatch"), 2);
	assert_true(has_path(t, "payload.checksum-mismatch", "data/sub/dir/b.bin"));
	/* completeness does not read payload bytes: still complete */
	assert_int_equal(validate(t, KIST_BAG_CHECK_COMPLETENESS), KIST_OK);
	assert_true(t->res.complete);
}

/* "... and every checksum in every tag manifest has been verified." */
static void test_tag_checksum_mismatch(void **state)
{
	struct tb *t = *state;

	good_bag(t);
	put(t, "bag-info.txt", "Payload-Oxum: 23.2\nSource-Organization: kist test5\n");
	assert_invalid(t);
	assert_true(t->res.complete);
	assert_true(has_path(t, "tag.checksum-mismatch", "bag-info.txt"));
	assert_int_equal(count_code(t, "tag.checksum-mismatch"), 1);
}

/* Tag manifests in an algorithm the payload manifests do not use are still
 * verified (they are hashed in a run of their own), as are the payload's. */
static void test_tag_manifest_other_algorithm(void **state)
{
	struct tb *t = *state;

	good_bag(t);
	manifest(t, "tagmanifest-md5.txt", KIST_ALG_MD5, TAGS);
	assert_int_equal(validate(t, KIST_BAG_CHECK_FULL), KIST_OK);
	put(t, "bag-info.txt", "Payload-Oxum: 23.2\nSource-Organization: kist test5\n");
	manifest(t, "tagmanifest-sha256.txt", KIST_ALG_SHA256, TAGS);
	put(t, "data/sub/dir/b.bin", "0123456780");
	assert_invalid(t);
	assert_int_equal(count_code(t, "tag.checksum-mismatch"), 1);
	assert_true(has_path(t, "tag.checksum-mismatch", "bag-info.txt"));
	assert_int_equal(count_code(t, "payload.checksum-mismatch"), 2);
}

/* "Every element present in every tag manifest is present." */
static void test_tag_manifest_lists_missing_file(void **state)
{
	struct tb *t = *state;

	good_bag(t);
	append_line(t, "tagmanifest-sha256.txt", KIST_ALG_SHA256, "bagit.txt", "about/notes.txt");
	assert_invalid(t);
	assert_false(t->res.complete);
	assert_true(has_path(t, "tag.missing", "about/notes.txt"));
}

/* "A tag manifest MUST NOT list any payload files" (2.2.1). */
static void test_tag_manifest_lists_payload(void **state)
{
	struct tb *t = *state;

	good_bag(t);
	append_line(t, "tagmanifest-sha256.txt", KIST_ALG_SHA256, "data/hello.txt", "data/hello.txt");
	assert_invalid(t);
	HAS(t, "tagmanifest.lists-payload");
}

/* A payload manifest lists payload files: paths under data/ only. */
static void test_payload_manifest_lists_tag_file(void **state)
{
	struct tb *t = *state;

	good_bag(t);
	append_line(t, "manifest-sha256.txt", KIST_ALG_SHA256, "bagit.txt", "bagit.txt");
	retag(t);
	assert_invalid(t);
	HAS(t, "manifest.not-payload");
}

/* "bagit.txt" and at least one payload manifest must be there. */
static void test_no_payload_manifest(void **state)
{
	struct tb *t = *state;

	good_bag(t);
	rm(t, "manifest-sha256.txt");
	rm(t, "manifest-sha512.txt");
	rm(t, "tagmanifest-sha256.txt");
	assert_invalid(t);
	HAS(t, "bag.no-manifest");
}

static void test_no_bagit_txt(void **state)
{
	struct tb *t = *state;

	good_bag(t);
	rm(t, "bagit.txt");
	assert_int_equal(validate(t, KIST_BAG_CHECK_FULL), KIST_INVALID);
	assert_true(errors(t) > 0);
	assert_false(t->res.valid);
}

static void test_not_a_directory(void **state)
{
	struct tb *t = *state;
	char *file = kist_path_join(t->tmp, "plain");
	char *none = kist_path_join(t->tmp, "none");

	unit_write("", file, "x", 1);
	assert_int_equal(validate_at(t, file, KIST_BAG_CHECK_FULL), KIST_FAILED);
	assert_true(kist_findings_count_severity(t->fs, KIST_SEV_FAILURE) > 0);
	assert_int_equal(validate_at(t, none, KIST_BAG_CHECK_FULL), KIST_FAILED);
	free(file);
	free(none);
}

static void test_no_data_dir(void **state)
{
	struct tb *t = *state;
	char *cmd = NULL;

	good_bag(t);
	assert_true(asprintf(&cmd, "rm -rf '%s/data'", t->bag) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	assert_invalid(t);
	HAS(t, "payload.no-data-dir");
	HAS(t, "payload.missing");
}

/* --- duplicates and the every-manifest rule: 1.0 against the drafts ------------------------ */

static void duplicate_bag(struct tb *t, const char *version)
{
	char bagit[128];

	good_bag(t);
	snprintf(bagit, sizeof(bagit), "BagIt-Version: %s\nTag-File-Character-Encoding: UTF-8\n", version);
	put(t, "bagit.txt", bagit);
	append_line(t, "manifest-sha256.txt", KIST_ALG_SHA256, "data/hello.txt", "data/hello.txt");
	retag(t);
}

static void test_duplicate_entry_1_0(void **state)
{
	struct tb *t = *state;

	duplicate_bag(t, "1.0");
	assert_invalid(t);
	assert_int_equal(sev(t, "manifest.duplicate"), KIST_SEV_ERROR);
}

static void test_duplicate_entry_0_97(void **state)
{
	struct tb *t = *state;

	duplicate_bag(t, "0.97");
	assert_valid(t);
	assert_int_equal(sev(t, "manifest.duplicate"), KIST_SEV_WARNING);
}

static void partial_manifest_bag(struct tb *t, const char *version)
{
	static const char *const one[] = { "data/hello.txt", NULL };
	char bagit[128];

	good_bag(t);
	snprintf(bagit, sizeof(bagit), "BagIt-Version: %s\nTag-File-Character-Encoding: UTF-8\n", version);
	put(t, "bagit.txt", bagit);
	manifest(t, "manifest-sha512.txt", KIST_ALG_SHA512, one);
	retag(t);
}

/* 1.0: "Every file in the payload directory is listed in every payload manifest." */
static void test_not_in_every_manifest_1_0(void **state)
{
	struct tb *t = *state;

	partial_manifest_bag(t, "1.0");
	assert_invalid(t);
	assert_true(has_path(t, "manifest.not-in-every", "data/sub/dir/b.bin"));
	HAS(t, "lint.manifests-differ");
	assert_false(t->res.complete);
}

/* 0.97: a payload file must be in at least one manifest. */
static void test_not_in_every_manifest_0_97(void **state)
{
	struct tb *t = *state;

	partial_manifest_bag(t, "0.97");
	assert_valid(t);
	HASNT(t, "manifest.not-in-every");
	assert_int_equal(sev(t, "lint.manifests-differ"), KIST_SEV_WARNING);
}

/* --- names: Unicode normalization and case ------------------------------------------------ */

#define NFC_NAME "data/caf\xc3\xa9.txt"      /* é precomposed */
#define NFD_NAME "data/cafe\xcc\x81.txt"     /* e + combining acute */

static void test_nfc_manifest_nfd_file(void **state)
{
	struct tb *t = *state;
	static const char *const disk[] = { NFD_NAME, NULL };
	char hex[KIST_DIGEST_HEX_MAX], line[256];

	put(t, "bagit.txt", "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n");
	put(t, NFD_NAME, "coffee");
	put(t, "bag-info.txt", "Payload-Oxum: 6.1\n");
	hex_of(t, disk[0], KIST_ALG_SHA256, hex);
	snprintf(line, sizeof(line), "%s  %s\n", hex, NFC_NAME);
	put(t, "manifest-sha256.txt", line);
	assert_valid(t);
	assert_int_equal(sev(t, "manifest.normalization"), KIST_SEV_WARNING);
	HASNT(t, "payload.missing");
	HASNT(t, "payload.unlisted");
}

/* The conformance suite's "same-filename-listed-twice-with-different-
 * normalization": two lines, NFC and NFD, for one file. */
static void test_listed_twice_in_two_normalizations(void **state)
{
	struct tb *t = *state;
	char hex[KIST_DIGEST_HEX_MAX], text[512];

	put(t, "bagit.txt", "BagIt-Version: 0.97\nTag-File-Character-Encoding: UTF-8\n");
	put(t, NFC_NAME, "coffee");
	put(t, "bag-info.txt", "Payload-Oxum: 6.1\n");
	hex_of(t, NFC_NAME, KIST_ALG_SHA256, hex);
	snprintf(text, sizeof(text), "%s  %s\n%s  %s\n", hex, NFC_NAME, hex, NFD_NAME);
	put(t, "manifest-sha256.txt", text);
	assert_valid(t);
	assert_int_equal(sev(t, "manifest.duplicate"), KIST_SEV_WARNING);
}

static void test_case_only_difference(void **state)
{
	struct tb *t = *state;
	char hex[KIST_DIGEST_HEX_MAX], line[256];

	put(t, "bagit.txt", "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n");
	put(t, "data/Readme.TXT", "read me");
	hex_of(t, "data/Readme.TXT", KIST_ALG_SHA256, hex);
	snprintf(line, sizeof(line), "%s  data/README.txt\n", hex);
	put(t, "manifest-sha256.txt", line);
	validate(t, KIST_BAG_CHECK_FULL);
	assert_int_equal(sev(t, "manifest.case"), KIST_SEV_WARNING);
	assert_true(has_path(t, "manifest.case", "data/Readme.TXT"));
	/* this file system tells the names apart: the listed file is not here */
	{
		char *upper = kist_path_join(t->bag, "data/README.txt");
		int insensitive = access(upper, F_OK) == 0;

		free(upper);
		if (insensitive) {
			assert_true(t->res.valid);
		} else {
			assert_false(t->res.valid);
			HAS(t, "payload.missing");
			HAS(t, "payload.unlisted");
		}
	}
}

/* --- paths that would leave the bag: never opened --------------------------------------------- */

static void test_paths_leaving_the_bag(void **state)
{
	struct tb *t = *state;
	char *fifo = kist_path_join(t->tmp, "outside.fifo");
	char *secret = kist_path_join(t->tmp, "secret");
	char hex[KIST_DIGEST_HEX_MAX], text[2048];

	good_bag(t);
	/* Opening this for reading would block forever (no writer). */
	assert_int_equal(mkfifo(fifo, 0644), 0);
	unit_write("", secret, "top secret", 10);
	hex_of(t, "data/hello.txt", KIST_ALG_SHA256, hex);
	snprintf(text, sizeof(text),
		 "%s  data/hello.txt\n%s  ../outside.fifo\n%s  data/../../outside.fifo\n"
		 "%s  %s\n%s  ~root/.profile\n%s  C:/secret\n",
		 hex, hex, hex, hex, fifo, hex, hex);
	put(t, "manifest-sha256.txt", text);
	put(t, "manifest-sha512.txt", "");
	retag(t);
	assert_invalid(t);
	/* each refused, by line; none of them opened (the FIFO would hang) */
	assert_int_equal(count_code(t, "manifest.unsafe-path"), 5);
	assert_false(t->res.valid);
	free(fifo);
	free(secret);
}

/* The conformance suite's out-of-scope-file-paths-using-dot-notation. */
static void test_dot_notation_out_of_scope(void **state)
{
	struct tb *t = *state;

	good_bag(t);
	append_line(t, "manifest-sha256.txt", KIST_ALG_SHA256, "data/hello.txt", "../../../README.md");
	retag(t);
	assert_invalid(t);
	HAS(t, "manifest.unsafe-path");
}

static void test_symlink_in_payload_pointing_out(void **state)
{
	struct tb *t = *state;
	char *target = kist_path_join(t->tmp, "outside.txt");
	char *link = kist_path_join(t->bag, "data/link.txt");

	good_bag(t);
	unit_write("", target, "outside", 7);
	assert_int_equal(symlink(target, link), 0);
	assert_invalid(t);
	assert_int_equal(sev(t, "payload.symlink"), KIST_SEV_ERROR);
	assert_true(has_path(t, "payload.symlink", "data/link.txt"));
	free(target);
	free(link);
}

/* Listed in the manifest, and the file is a link to something outside:
 * never read through. */
static void test_listed_symlink_not_followed(void **state)
{
	struct tb *t = *state;
	static const char *const payload[] = { "data/hello.txt", NULL };
	char *target = kist_path_join(t->tmp, "outside.fifo");
	char *link = kist_path_join(t->bag, "data/hello.txt");

	good_bag(t);
	manifest(t, "manifest-sha256.txt", KIST_ALG_SHA256, payload);
	manifest(t, "manifest-sha512.txt", KIST_ALG_SHA512, payload);
	rm(t, "data/sub/dir/b.bin");
	rm(t, "data/hello.txt");
	assert_int_equal(mkfifo(target, 0644), 0);
	assert_int_equal(symlink(target, link), 0);
	retag(t);
	assert_invalid(t);
	assert_true(has_path(t, "payload.symlink", "data/hello.txt"));
	/* said once, as what it is */
	HASNT(t, "payload.missing");
	free(target);
	free(link);
}

/* A FIFO in data/, listed: never opened (that would hang), an error. */
static void test_fifo_in_payload(void **state)
{
	struct tb *t = *state;
	char *fifo = kist_path_join(t->bag, "data/pipe");

	good_bag(t);
	append_line(t, "manifest-sha256.txt", KIST_ALG_SHA256, "data/hello.txt", "data/pipe");
	append_line(t, "manifest-sha512.txt", KIST_ALG_SHA512, "data/hello.txt", "data/pipe");
	retag(t);
	assert_int_equal(mkfifo(fifo, 0644), 0);
	assert_invalid(t);
	assert_true(has_path(t, "payload.special-file", "data/pipe"));
	HASNT(t, "payload.missing");
	free(fifo);
}

static void test_symlinked_data_dir(void **state)
{
	struct tb *t = *state;
	char *cmd = NULL;

	good_bag(t);
	assert_true(asprintf(&cmd, "cd '%s' && mv bag/data elsewhere && ln -s ../elsewhere bag/data",
			     t->tmp) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	assert_invalid(t);
	HAS(t, "payload.symlink");
	assert_int_equal(t->res.payload_files, 0);
}

/* --- Payload-Oxum and --fast ------------------------------------------------------------------- */

static void test_oxum_mismatch(void **state)
{
	struct tb *t = *state;

	good_bag(t);
	put(t, "bag-info.txt", "Payload-Oxum: 24.2\nSource-Organization: kist tests\n");
	retag(t);
	assert_invalid(t);
	assert_int_equal(sev(t, "payload.oxum-mismatch"), KIST_SEV_ERROR);
	assert_int_equal(t->res.oxum_ok, 0);
	assert_int_equal(validate(t, KIST_BAG_CHECK_FAST), KIST_INVALID);
	assert_int_equal(t->res.oxum_ok, 0);
}

static void test_fast_never_valid(void **state)
{
	struct tb *t = *state;

	good_bag(t);
	put(t, "data/sub/dir/b.bin", "0123456780");   /* a mismatch fast cannot see */
	assert_int_equal(validate(t, KIST_BAG_CHECK_FAST), KIST_OK);
	assert_int_equal(t->res.oxum_ok, 1);
	assert_false(t->res.valid);
	assert_int_equal(errors(t), 0);
	HASNT(t, "payload.checksum-mismatch");
}

static void test_fast_without_oxum(void **state)
{
	struct tb *t = *state;

	good_bag(t);
	put(t, "bag-info.txt", "Source-Organization: kist tests\n");
	retag(t);
	assert_int_equal(validate(t, KIST_BAG_CHECK_FAST), KIST_INVALID);
	HAS(t, "payload.no-oxum");
	assert_int_equal(t->res.oxum_ok, -1);
	/* a full check does without it: a lint warning only */
	assert_valid(t);
	assert_int_equal(sev(t, "lint.no-oxum"), KIST_SEV_WARNING);
}

/* --- fetch.txt ------------------------------------------------------------------------ */

static void test_fetch_pending(void **state)
{
	struct tb *t = *state;

	good_bag(t);
	put(t, "fetch.txt", "https://example.org/b.bin 10 data/sub/dir/b.bin\n");
	rm(t, "data/sub/dir/b.bin");
	assert_invalid(t);
	assert_false(t->res.complete);
	assert_int_equal(t->res.pending_fetch, 1);
	assert_true(has_path(t, "fetch.pending", "data/sub/dir/b.bin"));
	HASNT(t, "payload.missing");
	/* Payload-Oxum counts the whole payload: 13 bytes here, 10 to fetch */
	assert_int_equal(t->res.oxum_ok, 1);
	assert_int_equal(errors(t), 1);
	/* --fast sees the hole too */
	assert_int_equal(validate(t, KIST_BAG_CHECK_FAST), KIST_INVALID);
	assert_int_equal(t->res.pending_fetch, 1);
	assert_int_equal(t->res.oxum_ok, 1);
	/* a wrong length in fetch.txt shows in the Oxum */
	put(t, "fetch.txt", "https://example.org/b.bin 11 data/sub/dir/b.bin\n");
	assert_invalid(t);
	assert_int_equal(t->res.oxum_ok, 0);
	/* an unknown length ("-"): only the file count can be compared */
	put(t, "fetch.txt", "https://example.org/b.bin - data/sub/dir/b.bin\n");
	assert_invalid(t);
	assert_int_equal(t->res.oxum_ok, 1);
	HASNT(t, "payload.oxum-mismatch");
}

/* RFC 8493 2.2.3: every file fetch.txt lists is in every payload manifest. */
static void test_fetch_not_in_manifest(void **state)
{
	struct tb *t = *state;

	good_bag(t);
	put(t, "fetch.txt", "https://example.org/c 1 data/c\n");
	retag(t);
	assert_invalid(t);
	assert_true(has_path(t, "fetch.not-in-manifest", "data/c"));
	assert_true(has_path(t, "fetch.pending", "data/c"));
}

static void test_fetch_already_fetched(void **state)
{
	struct tb *t = *state;

	good_bag(t);
	put(t, "fetch.txt", "https://example.org/b.bin 10 data/sub/dir/b.bin\n");
	retag(t);
	assert_valid(t);
	assert_int_equal(t->res.pending_fetch, 0);
}

/* --- bagit.txt and tag-file encodings --------------------------------------------------------- */

static void test_bom_in_bagit_txt(void **state)
{
	struct tb *t = *state;

	good_bag(t);
	put(t, "bagit.txt", "\xef\xbb\xbf" "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n");
	retag(t);
	assert_int_not_equal(validate(t, KIST_BAG_CHECK_FULL), KIST_OK);
	assert_false(t->res.valid);
	assert_true(kist_findings_count_severity(t->fs, KIST_SEV_ERROR) > 0);
}

static void test_iso_8859_1_tag_files(void **state)
{
	struct tb *t = *state;

	good_bag(t);
	put(t, "bagit.txt", "BagIt-Version: 0.97\nTag-File-Character-Encoding: ISO-8859-1\n");
	put(t, "bag-info.txt", "Payload-Oxum: 23.2\nContact-Name: Andr\xe9 Lef\xe8vre\n");
	retag(t);
	assert_valid(t);
	assert_int_equal(sev(t, "lint.tag-encoding"), KIST_SEV_WARNING);
}

/* UTF-16 text with a byte order mark, from ASCII. */
static void put_utf16(struct tb *t, const char *rel, const char *ascii)
{
	size_t n = strlen(ascii);
	unsigned char *b = malloc(2 * n + 2);

	b[0] = 0xfe;
	b[1] = 0xff;
	for (size_t i = 0; i < n; i++) {
		b[2 + 2 * i] = 0;
		b[3 + 2 * i] = (unsigned char)ascii[i];
	}
	put_bytes(t, rel, b, 2 * n + 2);
	free(b);
}

static void test_utf16_tag_files(void **state)
{
	struct tb *t = *state;
	char a[KIST_DIGEST_HEX_MAX], b[KIST_DIGEST_HEX_MAX], text[1024];

	good_bag(t);
	rm(t, "manifest-sha512.txt");
	rm(t, "tagmanifest-sha256.txt");
	put(t, "bagit.txt", "BagIt-Version: 0.97\nTag-File-Character-Encoding: UTF-16\n");
	put_utf16(t, "bag-info.txt", "Payload-Oxum: 23.2\n");
	hex_of(t, "data/hello.txt", KIST_ALG_SHA256, a);
	hex_of(t, "data/sub/dir/b.bin", KIST_ALG_SHA256, b);
	snprintf(text, sizeof(text), "%s  data/hello.txt\n%s  data/sub/dir/b.bin\n", a, b);
	put_utf16(t, "manifest-sha256.txt", text);
	hex_of(t, "bag-info.txt", KIST_ALG_SHA256, a);
	hex_of(t, "manifest-sha256.txt", KIST_ALG_SHA256, b);
	snprintf(text, sizeof(text), "%s  bag-info.txt\n%s  manifest-sha256.txt\n", a, b);
	put_utf16(t, "tagmanifest-sha256.txt", text);
	assert_valid(t);
	assert_int_equal(t->res.oxum_ok, 1);
	HAS(t, "lint.tag-encoding");
}

/* --- the drafts ---------------------------------------------------------------------- */

/* Up to 0.95 the bag-info file is package-info.txt. */
static void test_package_info_0_95(void **state)
{
	struct tb *t = *state;
	static const char *const payload[] = { "data/hello.txt", "data/sub/dir/b.bin", NULL };
	static const char *const tags[] = { "bagit.txt", "package-info.txt", "manifest-md5.txt", NULL };

	put(t, "bagit.txt", "BagIt-Version: 0.95\nTag-File-Character-Encoding: UTF-8\n");
	put(t, "data/hello.txt", "hello, world\n");
	put(t, "data/sub/dir/b.bin", "0123456789");
	put(t, "package-info.txt", "Payload-Ox" "um: 23.2\nPackage-Size: 1 KB\n");
	manifest(t, "manifest-md5.txt", KIST_ALG_MD5, payload);
	manifest(t, "tagmanifest-md5.txt", KIST_ALG_MD5, tags);
	assert_valid(t);
	assert_int_equal(t->res.oxum_ok, 1);
	assert_int_equal(t->res.version_minor, 95);
	HAS(t, "lint.weak-algorithm");
}

/* Every version from 0.93 to 1.0, each with its bag-info file's name. */
static void test_every_version(void **state)
{
	struct tb *t = *state;
	static const char *const versions[] = { "0.93", "0.94", "0.95", "0.96", "0.97", "1.0" };
	static const char *const payload[] = { "data/hello.txt", NULL };

	put(t, "data/hello.txt", "hello, world\n");
	manifest(t, "manifest-sha256.txt", KIST_ALG_SHA256, payload);
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		const char *info = i < 3 ? "package-info.txt" : "bag-info.txt";
		const char *other = i < 3 ? "bag-info.txt" : "package-info.txt";
		const char *tags[] = { "bagit.txt", info, "manifest-sha256.txt", NULL };
		char bagit[128], *stale = kist_path_join(t->bag, other);

		unlink(stale);
		free(stale);
		snprintf(bagit, sizeof(bagit), "BagIt-Version: %s\nTag-File-Character-Encoding: UTF-8\n",
			 versions[i]);
		put(t, "bagit.txt", bagit);
		put(t, info, "Payload-Oxum: 13.1\n");
		manifest(t, "tagmanifest-sha256.txt", KIST_ALG_SHA256, tags);
		assert_valid(t);
		assert_int_equal(warnings(t), 0);
		assert_int_equal(t->res.oxum_ok, 1);
	}
}

/* Percent-encoding of CR, LF and % in manifest paths is BagIt 1.0's; before,
 * a manifest path is taken as written. */
static void test_percent_decoding_1_0_only(void **state)
{
	struct tb *t = *state;
	char hex[KIST_DIGEST_HEX_MAX], line[256];

	put(t, "bagit.txt", "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n");
	put(t, "data/100%.txt", "all");
	hex_of(t, "data/100%.txt", KIST_ALG_SHA256, hex);
	snprintf(line, sizeof(line), "%s  data/100%%25.txt\n", hex);
	put(t, "manifest-sha256.txt", line);
	assert_valid(t);

	put(t, "bagit.txt", "BagIt-Version: 0.97\nTag-File-Character-Encoding: UTF-8\n");
	assert_invalid(t);
	assert_true(has_path(t, "payload.missing", "data/100%25.txt"));
	assert_true(has_path(t, "payload.unlisted", "data/100%.txt"));

	/* and 0.97 finds a file named with the literal "%25" */
	rm(t, "data/100%.txt");
	put(t, "data/100%25.txt", "all");
	assert_valid(t);
}

/* The conformance suite's bagit-with-invalid-whitespace (0.97 and 1.0):
 * bagit.txt has no room for whitespace before the colon, in any version. */
static void test_bagit_txt_whitespace(void **state)
{
	struct tb *t = *state;

	good_bag(t);
	put(t, "bagit.txt", "BagIt-Version : 0.97\nTag-File-Character-Encoding : UTF-8\n");
	retag(t);
	assert_invalid(t);
	put(t, "bagit.txt", "BagIt-Version : 1.0\nTag-File-Character-Encoding : UTF-8\n");
	retag(t);
	assert_invalid(t);
}

/* Before 1.0 a bag-info label may have whitespace before its colon; 1.0
 * does not allow it. The Payload-Oxum is read either way. */
static void test_bag_info_label_whitespace(void **state)
{
	struct tb *t = *state;

	good_bag(t);
	put(t, "bagit.txt", "BagIt-Version: 0.97\nTag-File-Character-Encoding: UTF-8\n");
	put(t, "bag-info.txt", "Payload-Oxum : 23.2\nSource-Organization\t: kist tests\n");
	retag(t);
	assert_valid(t);
	assert_int_equal(t->res.oxum_ok, 1);
	put(t, "bagit.txt", "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n");
	retag(t);
	assert_invalid(t);
}

/* The conformance suite's duplicate-metadata-entries: repeated bag-info
 * labels are allowed. */
static void test_duplicate_metadata_entries(void **state)
{
	struct tb *t = *state;

	good_bag(t);
	put(t, "bag-info.txt", "Bagging-Date: 2016-02-26\nBagging-Date: 2016-03-10\n"
			       "Contact-Name: Chris Adams\nContact-Name: John Scancella\n"
			       "Payload-Oxum: 23.2\n");
	retag(t);
	assert_valid(t);
}

/* Manifests in every algorithm kist knows: one read of each file verifies
 * them all. */
static void test_every_algorithm(void **state)
{
	struct tb *t = *state;
	static const char *const payload[] = { "data/hello.txt", "data/sub/dir/b.bin", NULL };

	good_bag(t);
	for (int a = 0; a < KIST_ALG_COUNT; a++) {
		char name[64];

		snprintf(name, sizeof(name), "manifest-%s.txt", kist_alg_bagit_name(a));
		manifest(t, name, a, payload);
	}
	retag(t);
	assert_valid(t);
	put(t, "data/hello.txt", "hello, World\n");
	assert_invalid(t);
	assert_int_equal(count_code(t, "payload.checksum-mismatch"), KIST_ALG_COUNT);
}

/* 1.0 manifests write a line break in a name as %0A; names that are not
 * UTF-8 are compared as bytes. */
static void test_awkward_names(void **state)
{
	struct tb *t = *state;
	char a[KIST_DIGEST_HEX_MAX], b[KIST_DIGEST_HEX_MAX], text[512];

	put(t, "bagit.txt", "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n");
	put(t, "data/line\nbreak", "1");
	put(t, "data/latin\xe9", "22");
	put(t, "bag-info.txt", "Payload-Oxum: 3.2\n");
	hex_of(t, "data/line\nbreak", KIST_ALG_SHA256, a);
	hex_of(t, "data/latin\xe9", KIST_ALG_SHA256, b);
	snprintf(text, sizeof(text), "%s  data/line%%0Abreak\n%s  data/latin\xe9\n", a, b);
	put(t, "manifest-sha256.txt", text);
	manifest(t, "tagmanifest-sha256.txt", KIST_ALG_SHA256,
		 (const char *const[]){ "bagit.txt", "bag-info.txt", "manifest-sha256.txt", NULL });
	assert_valid(t);
	put(t, "data/latin\xe9", "23");
	assert_invalid(t);
	assert_true(has_path(t, "payload.checksum-mismatch", "data/latin\xe9"));
}

/* --- bags as other tools write them ---------------------------------------------------------- */

/* bagit-python 1.8: two spaces, sorted bag-info with Bag-Software-Agent,
 * sha256 and sha512 manifests and tag manifests. */
static void test_bagit_python_bag(void **state)
{
	struct tb *t = *state;
	static const char *const payload[] = { "data/README", "data/images/photo 1.jpg", NULL };
	static const char *const tags[] = { "bag-info.txt", "bagit.txt", "manifest-sha256.txt",
					     "manifest-sha512.txt", NULL };

	put(t, "data/README", "about these files\n");
	put(t, "data/images/photo 1.jpg", "\xff\xd8\xff\xe0 not really a jpeg");
	put(t, "bagit.txt", "BagIt-Version: 0.97\nTag-File-Character-Encoding: UTF-8\n");
	put(t, "bag-info.txt",
	    "Bag-Software-Agent: bagit.py v1.8.1 <https://github.com/LibraryOfCongress/bagit-python>\n"
	    "Bagging-Date: 2024-03-01\n"
	    "Contact-Email: archivist@example.org\n"
	    "Payload-Oxum: 40.2\n");
	manifest(t, "manifest-sha256.txt", KIST_ALG_SHA256, payload);
	manifest(t, "manifest-sha512.txt", KIST_ALG_SHA512, payload);
	manifest(t, "tagmanifest-sha256.txt", KIST_ALG_SHA256, tags);
	manifest(t, "tagmanifest-sha512.txt", KIST_ALG_SHA512, tags);
	assert_valid(t);
	assert_int_equal(warnings(t), 0);
	assert_int_equal(t->res.oxum_ok, 1);
}

/* bagit-java 5: BagIt 1.0, one space between digest and path, bag-info with
 * Bag-Size and Payload-Oxum, CRLF never used. */
static void test_bagit_java_bag(void **state)
{
	struct tb *t = *state;
	static const char *const payload[] = { "data/dir1/test3.txt", "data/test1.txt", NULL };
	static const char *const tags[] = { "bag-info.txt", "bagit.txt", "manifest-sha512.txt", NULL };

	put(t, "data/test1.txt", "test1\n");
	put(t, "data/dir1/test3.txt", "test3\n");
	put(t, "bagit.txt", "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n");
	put(t, "bag-info.txt", "Payload-Oxum: 12.2\nBagging-Date: 2024-03-01\nBag-Size: 12 B\n");
	manifest_sep(t, "manifest-sha512.txt", KIST_ALG_SHA512, " ", payload);
	manifest_sep(t, "tagmanifest-sha512.txt", KIST_ALG_SHA512, " ", tags);
	assert_valid(t);
	assert_int_equal(warnings(t), 0);
}

/* md5sum's "*path" binary marker: read, with a warning. */
static void test_md5sum_binary_marker(void **state)
{
	struct tb *t = *state;
	static const char *const payload[] = { "data/hello.txt", "data/sub/dir/b.bin", NULL };

	good_bag(t);
	manifest_sep(t, "manifest-sha256.txt", KIST_ALG_SHA256, " *", payload);
	retag(t);
	assert_valid(t);
	assert_int_equal(sev(t, "manifest.binary-marker"), KIST_SEV_WARNING);
}

/* "./data/x": read as data/x, with a lint warning. */
static void test_leading_dot_slash(void **state)
{
	struct tb *t = *state;
	static const char *const payload[] = { "./data/hello.txt", "./data/sub/dir/b.bin", NULL };

	good_bag(t);
	manifest(t, "manifest-sha256.txt", KIST_ALG_SHA256, payload);
	retag(t);
	assert_valid(t);
	assert_int_equal(sev(t, "lint.leading-dot-slash"), KIST_SEV_WARNING);
	HASNT(t, "payload.unlisted");
	/* still checked: a changed file under a "./" name is a mismatch */
	put(t, "data/hello.txt", "hello, World\n");
	assert_invalid(t);
	assert_int_equal(count_code(t, "payload.checksum-mismatch"), 2);
}

/* --- lint -------------------------------------------------------------------------------- */

static void test_lint_weak_no_tag_manifest(void **state)
{
	struct tb *t = *state;
	static const char *const payload[] = { "data/hello.txt", "data/sub/dir/b.bin", NULL };

	good_bag(t);
	rm(t, "manifest-sha256.txt");
	rm(t, "manifest-sha512.txt");
	rm(t, "tagmanifest-sha256.txt");
	manifest(t, "manifest-md5.txt", KIST_ALG_MD5, payload);
	manifest(t, "manifest-sha1.txt", KIST_ALG_SHA1, payload);
	assert_valid(t);
	assert_int_equal(sev(t, "lint.weak-algorithm"), KIST_SEV_WARNING);
	assert_int_equal(sev(t, "lint.no-tag-manifest"), KIST_SEV_WARNING);
	HASNT(t, "lint.no-oxum");
}

static void test_lint_litter_and_nested_bag(void **state)
{
	struct tb *t = *state;
	static const char *const payload[] = { "data/hello.txt", "data/sub/dir/b.bin",
					       "data/.DS_Store", "data/sub/Thumbs.db",
					       "data/sub/._hello.txt", "data/inner/bagit.txt", NULL };

	good_bag(t);
	put(t, "data/.DS_Store", "x");
	put(t, "data/sub/Thumbs.db", "x");
	put(t, "data/sub/._hello.txt", "x");
	put(t, "data/inner/bagit.txt", "BagIt-Version: 1.0\n");
	put(t, "bag-info.txt", "Payload-Oxum: 45.6\n");
	manifest(t, "manifest-sha256.txt", KIST_ALG_SHA256, payload);
	manifest(t, "manifest-sha512.txt", KIST_ALG_SHA512, payload);
	retag(t);
	assert_valid(t);
	assert_int_equal(count_code(t, "lint.os-litter"), 3);
	assert_true(has_path(t, "lint.nested-bag", "data/inner/bagit.txt"));
}

/* --- with the pipeline's threads: many files, each read once ------------------------------- */

static void test_many_files(void **state)
{
	struct tb *t = *state;
	enum { N = 300 };
	const char **paths = calloc(N + 1, sizeof(*paths));
	char info[64];
	uint64_t bytes = 0;

	put(t, "bagit.txt", "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n");
	for (size_t i = 0; i < N; i++) {
		char *p = NULL, body[64];

		assert_true(asprintf(&p, "data/d%zu/f%03zu", i % 7, i) > 0);
		snprintf(body, sizeof(body), "file number %zu", i);
		put(t, p, body);
		bytes += strlen(body);
		paths[i] = p;
	}
	snprintf(info, sizeof(info), "Payload-Oxum: %llu.%d\n", (unsigned long long)bytes, N);
	put(t, "bag-info.txt", info);
	manifest(t, "manifest-sha256.txt", KIST_ALG_SHA256, paths);
	manifest(t, "manifest-md5.txt", KIST_ALG_MD5, paths);
	manifest(t, "tagmanifest-sha256.txt", KIST_ALG_SHA256,
		 (const char *const[]){ "bagit.txt", "bag-info.txt", NULL });
	assert_valid(t);
	assert_int_equal(t->res.payload_files, N);
	/* one byte changed in the last file: exactly two mismatches */
	put(t, paths[N - 1], "file number 29X");
	assert_invalid(t);
	assert_int_equal(count_code(t, "payload.checksum-mismatch"), 2);
	for (size_t i = 0; i < N; i++)
		free((char *)paths[i]);
	free(paths);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_valid_bag),
		T(test_missing_payload_file),
		T(test_extra_payload_file),
		T(test_payload_checksum_mismatch),
		T(test_tag_checksum_mismatch),
		T(test_tag_manifest_other_algorithm),
		T(test_tag_manifest_lists_missing_file),
		T(test_tag_manifest_lists_payload),
		T(test_payload_manifest_lists_tag_file),
		T(test_no_payload_manifest),
		T(test_no_bagit_txt),
		T(test_not_a_directory),
		T(test_no_data_dir),
		T(test_duplicate_entry_1_0),
		T(test_duplicate_entry_0_97),
		T(test_not_in_every_manifest_1_0),
		T(test_not_in_every_manifest_0_97),
		T(test_nfc_manifest_nfd_file),
		T(test_listed_twice_in_two_normalizations),
		T(test_case_only_difference),
		T(test_paths_leaving_the_bag),
		T(test_dot_notation_out_of_scope),
		T(test_symlink_in_payload_pointing_out),
		T(test_listed_symlink_not_followed),
		T(test_fifo_in_payload),
		T(test_symlinked_data_dir),
		T(test_oxum_mismatch),
		T(test_fast_never_valid),
		T(test_fast_without_oxum),
		T(test_fetch_pending),
		T(test_fetch_already_fetched),
		T(test_fetch_not_in_manifest),
		T(test_bom_in_bagit_txt),
		T(test_iso_8859_1_tag_files),
		T(test_utf16_tag_files),
		T(test_package_info_0_95),
		T(test_every_version),
		T(test_percent_decoding_1_0_only),
		T(test_bagit_txt_whitespace),
		T(test_bag_info_label_whitespace),
		T(test_duplicate_metadata_entries),
		T(test_every_algorithm),
		T(test_awkward_names),
		T(test_bagit_python_bag),
		T(test_bagit_java_bag),
		T(test_md5sum_binary_marker),
		T(test_leading_dot_slash),
		T(test_lint_weak_no_tag_manifest),
		T(test_lint_litter_and_nested_bag),
		T(test_many_files),
	};
	return UNIT_RUN(tests);
}
