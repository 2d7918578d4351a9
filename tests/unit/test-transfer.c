/* Serialized bags: the stream hasher, reading a bag from memory, pack,
 * archive validation and unpack through the library. */
#include "unit.h"

#include <archive.h>
#include <archive_entry.h>

#include <kist/transfer.h>

#include "transfer.h"

/* --- the stream hasher ------------------------------------------------------ */

struct got {
	size_t n;
	unsigned char digest[64][KIST_ALG_COUNT][KIST_DIGEST_MAX];
	kist_algset algs[64];
	int failed[64];
};

static void on_done(void *ctx, size_t id, kist_algset algs, int failed,
		    unsigned char digest[KIST_ALG_COUNT][KIST_DIGEST_MAX])
{
	struct got *g = ctx;

	assert_true(id < 64);
	memcpy(g->digest[id], digest, sizeof(g->digest[id]));
	g->algs[id] = algs;
	g->failed[id] = failed;
	g->n++;
}

static void one_digest(int alg, const unsigned char *buf, size_t len, unsigned char *out)
{
	struct kist_digest *d = kist_digest_new(alg);

	assert_non_null(d);
	assert_int_equal(kist_digest_begin(d), 0);
	assert_int_equal(kist_digest_update(d, buf, len), 0);
	assert_int_equal(kist_digest_end(d, out), 0);
	kist_digest_free(d);
}

/* Entries of 0 bytes to 5 MiB, written in odd-sized pieces, over 1 to 3
 * workers: each comes back once with the digests of its bytes. */
static void test_shash_blocks(void **state)
{
	static const size_t sizes[] = { 0, 1, 4095, 1 << 20, (1 << 20) + 1, 5 << 20, 77, 3 << 20 };
	size_t n = sizeof(sizes) / sizeof(sizes[0]);
	unsigned char *data = malloc(5 << 20);
	kist_algset algs = KIST_ALG_BIT(KIST_ALG_SHA256) | KIST_ALG_BIT(KIST_ALG_MD5);

	(void)state;
	assert_non_null(data);
	for (size_t i = 0; i < (5u << 20); i++)
		data[i] = (unsigned char)(i * 131 + i / 4099);
	for (unsigned jobs = 1; jobs <= 3; jobs++) {
		struct kist_shash *h = kist_shash_new(jobs);
		struct got *g = calloc(1, sizeof(*g));

		assert_non_null(h);
		assert_non_null(g);
		for (size_t e = 0; e < n; e++) {
			struct kist_shash_job *j = kist_shash_begin(h, e, algs);
			size_t off = 0, piece = 1000 + e * 7919;

			assert_non_null(j);
			while (off < sizes[e]) {
				size_t k = sizes[e] - off < piece ? sizes[e] - off : piece;

				assert_int_equal(kist_shash_write(j, data + off, k), 0);
				off += k;
			}
			kist_shash_end(j);
			kist_shash_collect(h, 0, on_done, g);
		}
		kist_shash_collect(h, 1, on_done, g);
		assert_int_equal(g->n, n);
		for (size_t e = 0; e < n; e++) {
			unsigned char want[KIST_DIGEST_MAX];

			assert_int_equal(g->algs[e], algs);
			assert_false(g->failed[e]);
			one_digest(KIST_ALG_SHA256, data, sizes[e], want);
			assert_memory_equal(g->digest[e][KIST_ALG_SHA256], want, 32);
			one_digest(KIST_ALG_MD5, data, sizes[e], want);
			assert_memory_equal(g->digest[e][KIST_ALG_MD5], want, 16);
		}
		kist_shash_free(h);
		free(g);
	}
	free(data);
}

/* Range jobs read the bytes from a file themselves; a range past the end
 * of the file comes back failed. */
static void test_shash_range(void **state)
{
	char *dir = unit_tmpdir(), *path = kist_path_join(dir, "f");
	unsigned char *data = malloc(3 << 20), want[KIST_DIGEST_MAX];
	struct kist_shash *h = kist_shash_new(2);
	struct got *g = calloc(1, sizeof(*g));
	int fd;

	(void)state;
	assert_non_null(data);
	for (size_t i = 0; i < (3u << 20); i++)
		data[i] = (unsigned char)(i ^ (i >> 9));
	unit_write(dir, "f", data, 3 << 20);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(kist_shash_range(h, 0, KIST_ALG_BIT(KIST_ALG_SHA512), fd, 12345, 2 << 20), 0);
	assert_int_equal(kist_shash_range(h, 1, KIST_ALG_BIT(KIST_ALG_SHA512), fd, 3 << 20, 10), 0);
	kist_shash_collect(h, 1, on_done, g);
	assert_int_equal(g->n, 2);
	one_digest(KIST_ALG_SHA512, data + 12345, 2 << 20, want);
	assert_false(g->failed[0]);
	assert_memory_equal(g->digest[0][KIST_ALG_SHA512], want, 64);
	assert_true(g->failed[1]);
	kist_shash_free(h);
	close(fd);
	free(g);
	free(data);
	free(path);
	unit_rmtree(dir);
	free(dir);
}

/* --- the bag reader over files in memory ----------------------------------------- */

static void test_open_memory(void **state)
{
	static const char bagit[] = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";
	static const char info[] = "Payload-Oxum: 3.1\nContact-Name: A. Person\n";
	static const char manifest[] =
		"ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb  data/a%0Ab\n";
	struct kist_bag_memfile files[] = {
		{ "bagit.txt", bagit, sizeof(bagit) - 1 },
		{ "bag-info.txt", info, sizeof(info) - 1 },
		{ "manifest-sha256.txt", manifest, sizeof(manifest) - 1 },
		{ "tagmanifest-md5.txt", "", 0 },
	};
	struct kist_findings *fs = kist_findings_new();
	struct kist_bag *bag = NULL;
	struct kist_error err;

	(void)state;
	assert_int_equal(kist_bag_open_memory("x.tar", files, 4, &bag, fs, &err), KIST_OK);
	assert_int_equal(bag->dirfd, -1);
	assert_int_equal(bag->major, 1);
	assert_string_equal(kist_bag_info_get(&bag->info, "Contact-Name"), "A. Person");
	assert_int_equal(bag->nmanifests, 2);
	assert_non_null(kist_bag_manifest_for(bag, KIST_ALG_SHA256, 0));
	assert_int_equal(kist_bag_manifest_for(bag, KIST_ALG_SHA256, 0)->list.count, 1);
	/* percent-decoded as from a file */
	assert_string_equal(kist_bag_manifest_for(bag, KIST_ALG_SHA256, 0)->list.entries[0].path,
			    "data/a\nb");
	assert_int_equal(kist_bag_manifest_for(bag, KIST_ALG_MD5, 1)->list.count, 0);
	kist_bag_free(bag);
	/* no bagit.txt: not a bag, as for a directory */
	assert_int_equal(kist_bag_open_memory("x.tar", files + 1, 3, &bag, fs, &err), KIST_INVALID);
	assert_true(kist_findings_has(fs, "bagit.missing"));
	kist_findings_free(fs);
}

/* --- pack, validate, unpack ------------------------------------------------------ */

static char *make_bag(const char *dir)
{
	char *src = kist_path_join(dir, "src"), *bag = kist_path_join(dir, "mybag");
	struct kist_bag_create_options o = { .algs = KIST_ALG_BIT(KIST_ALG_SHA256), .no_premis = 1 };
	struct kist_findings *fs = kist_findings_new();
	struct kist_error err;

	assert_int_equal(mkdir(src, 0755), 0);
	unit_write(src, "one.txt", "one\n", 4);
	unit_write(src, "big.bin", NULL, 1500000);
	assert_int_equal(kist_bag_create(src, bag, &o, fs, &err), KIST_OK);
	kist_findings_free(fs);
	free(src);
	return bag;
}

static void test_pack_validate_unpack(void **state)
{
	static const char *const names[] = { "mybag.tar", "mybag.tgz", "mybag.zip" };
	char *dir = unit_tmpdir(), *bag = make_bag(dir);

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		char *out = kist_path_join(dir, names[i]), *udir = kist_path_join(dir, "u"), *got = NULL;
		struct kist_bag_pack_options po = { .store = 1 };
		struct kist_bag_unpack_options uo = { .jobs = 2 };
		struct kist_bag_validate_options vo = { .level = KIST_BAG_CHECK_FULL, .jobs = 2 };
		struct kist_bag_validate_result res;
		struct kist_findings *fs = kist_findings_new();
		struct kist_error err;

		assert_int_equal(kist_bag_pack(bag, out, &po, fs, &err), KIST_OK);
		assert_int_equal(kist_bag_validate(out, &vo, &res, fs, &err), KIST_OK);
		assert_true(res.valid);
		assert_int_equal(res.payload_files, 2);
		assert_int_equal(res.payload_bytes, 1500004);
		assert_int_equal(res.oxum_ok, 1);
		assert_int_equal(kist_bag_unpack(out, udir, &uo, &got, &res, fs, &err), KIST_OK);
		assert_non_null(got);
		assert_true(res.valid);
		assert_int_equal(kist_bag_validate(got, &vo, &res, fs, &err), KIST_OK);
		assert_int_equal(kist_findings_count_severity(fs, KIST_SEV_ERROR), 0);
		unit_rmtree(udir);
		free(got);
		free(udir);
		free(out);
		kist_findings_free(fs);
	}
	free(bag);
	unit_rmtree(dir);
	free(dir);
}

/* A tar whose second payload file disagrees with the manifest: validation
 * says which, unpack leaves DIR as it found it. */
static void test_unpack_rolls_back(void **state)
{
	char *dir = unit_tmpdir(), *bag = make_bag(dir), *tar = kist_path_join(dir, "mybag.tar");
	char *udir = kist_path_join(dir, "keep"), *got = NULL, *payload;
	struct kist_bag_validate_result res;
	struct kist_findings *fs = kist_findings_new();
	struct kist_error err;

	(void)state;
	assert_non_null(payload = kist_path_join(bag, "data"));
	unit_write(payload, "one.txt", "ONE\n", 4);
	assert_int_equal(kist_bag_pack(bag, tar, NULL, fs, &err), KIST_OK);
	assert_int_equal(mkdir(udir, 0755), 0);
	assert_int_equal(kist_bag_unpack(tar, udir, NULL, &got, &res, fs, &err), KIST_INVALID);
	assert_null(got);
	assert_true(kist_findings_has(fs, "payload.checksum-mismatch"));
	assert_int_equal(rmdir(udir), 0);   /* still empty */
	kist_findings_free(fs);
	free(payload);
	free(udir);
	free(tar);
	free(bag);
	unit_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shash_blocks),
		cmocka_unit_test(test_shash_range),
		cmocka_unit_test(test_open_memory),
		cmocka_unit_test(test_pack_validate_unpack),
		cmocka_unit_test(test_unpack_rolls_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
