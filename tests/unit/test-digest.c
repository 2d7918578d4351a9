/* Digest names and known-answer tests for every algorithm. */
#include "unit.h"

static void test_names(void **state)
{
	(void)state;
	assert_int_equal(kist_alg_from_name("sha256"), KIST_ALG_SHA256);
	assert_int_equal(kist_alg_from_name("SHA-256"), KIST_ALG_SHA256);
	assert_int_equal(kist_alg_from_name("sha3-256"), KIST_ALG_SHA3_256);
	assert_int_equal(kist_alg_from_name("sha3256"), KIST_ALG_SHA3_256);
	assert_int_equal(kist_alg_from_name("sha3_512"), KIST_ALG_SHA3_512);
	assert_int_equal(kist_alg_from_name("blake2b"), KIST_ALG_BLAKE2B_512);
	assert_int_equal(kist_alg_from_name("blake2b512"), KIST_ALG_BLAKE2B_512);
	assert_int_equal(kist_alg_from_name("MD5"), KIST_ALG_MD5);
	assert_int_equal(kist_alg_from_name("sha"), -1);
	assert_int_equal(kist_alg_from_name("sha257"), -1);
	assert_int_equal(kist_alg_from_name(""), -1);
	assert_string_equal(kist_alg_bagit_name(KIST_ALG_SHA3_256), "sha3256");
	assert_string_equal(kist_alg_bagit_name(KIST_ALG_BLAKE2B_512), "blake2b512");
	assert_string_equal(kist_alg_name(KIST_ALG_BLAKE2B_512), "blake2b-512");
	/* every BagIt name is lower case letters and digits only (RFC 8493 2.1.3) */
	for (int a = 0; a < KIST_ALG_COUNT; a++)
		for (const char *p = kist_alg_bagit_name(a); *p; p++)
			assert_true((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'));
}

static void test_algset_parse(void **state)
{
	kist_algset set = 0;
	struct kist_error err;

	(void)state;
	assert_int_equal(kist_algset_parse("sha256,sha512", &set, &err), 0);
	assert_int_equal(set, KIST_ALG_BIT(KIST_ALG_SHA256) | KIST_ALG_BIT(KIST_ALG_SHA512));
	assert_int_equal(kist_algset_count(set), 2);
	assert_int_equal(kist_algset_parse("md5, sha1,sha1", &set, &err), 0);
	assert_int_equal(kist_algset_count(set), 2);
	assert_int_equal(kist_algset_parse("sha256,whirlpool", &set, &err), -1);
	assert_non_null(strstr(err.message, "whirlpool"));
	assert_int_equal(kist_algset_parse(",", &set, &err), -1);
}

/* Known answers for "abc" from FIPS 180-4, FIPS 202, RFC 1321 and RFC 7693. */
static const struct {
	enum kist_alg alg;
	const char *hex;
} abc[] = {
	{ KIST_ALG_MD5, "900150983cd24fb0d6963f7d28e17f72" },
	{ KIST_ALG_SHA1, "a9993e364706816aba3e25717850c26c9cd0d89d" },
	{ KIST_ALG_SHA224, "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7" },
	{ KIST_ALG_SHA256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ KIST_ALG_SHA384, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
			   "8086072ba1e7cc2358baeca134c825a7" },
	{ KIST_ALG_SHA512, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
			   "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f" },
	{ KIST_ALG_SHA3_256, "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532" },
	{ KIST_ALG_SHA3_512, "b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e"
			     "10e116e9192af3c91a7ec57647e3934057340b4cf408d5a56592f8274eec53f0" },
	{ KIST_ALG_BLAKE2B_512, "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
				"7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923" },
};

static void test_known_answers(void **state)
{
	unsigned char out[KIST_DIGEST_MAX];
	char hex[KIST_DIGEST_HEX_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(abc) / sizeof(abc[0]); i++) {
		struct kist_digest *d = kist_digest_new(abc[i].alg);

		assert_non_null(d);
		/* twice: a context is reusable after begin() */
		for (int round = 0; round < 2; round++) {
			assert_int_equal(kist_digest_begin(d), 0);
			assert_int_equal(kist_digest_update(d, "a", 1), 0);
			assert_int_equal(kist_digest_update(d, "bc", 2), 0);
			assert_int_equal(kist_digest_end(d, out), 0);
			kist_hex(out, kist_alg_size(abc[i].alg), hex);
			assert_string_equal(hex, abc[i].hex);
		}
		assert_int_equal(strlen(abc[i].hex), 2 * kist_alg_size(abc[i].alg));
		kist_digest_free(d);
	}
}

static void test_hex_length(void **state)
{
	(void)state;
	assert_int_equal(kist_alg_from_hex_length(32), KIST_ALG_MD5);
	assert_int_equal(kist_alg_from_hex_length(64), KIST_ALG_SHA256);
	assert_int_equal(kist_alg_from_hex_length(128), KIST_ALG_SHA512);
	assert_int_equal(kist_alg_from_hex_length(63), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_algset_parse),
		cmocka_unit_test(test_known_answers),
		cmocka_unit_test(test_hex_length),
	};
	return UNIT_RUN(tests);
}
