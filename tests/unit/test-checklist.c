/* Parsing sha256sum lists, tagged lists and BagIt manifests. */
#include "unit.h"

static const char *H256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
static const char *HMD5 = "d41d8cd98f00b204e9800998ecf8427e";

static struct kist_findings *parse(struct kist_checklist *l, const char *text, size_t len,
				   const char *name, enum kist_checklist_kind kind, int alg)
{
	FILE *in = fmemopen((void *)text, len, "r");
	struct kist_findings *fs = kist_findings_new();
	struct kist_error err;

	assert_non_null(in);
	kist_checklist_init(l);
	assert_int_equal(kist_checklist_parse(l, in, name, kind, alg, fs, &err), KIST_OK);
	fclose(in);
	return fs;
}

static void test_gnu(void **state)
{
	struct kist_checklist l;
	char text[1024];
	struct kist_findings *fs;

	(void)state;
	snprintf(text, sizeof(text),
		 "%s  plain.txt\n"
		 "%s *binary mode.bin\r\n"
		 "\\%s  back\\\\slash\\nnewline\n"
		 "SHA256 (tagged (1).txt) = %s\n"
		 "MD5 (old.txt) = %s\n"
		 "\n",
		 H256, H256, H256, H256, HMD5);
	fs = parse(&l, text, strlen(text), "SUMS", KIST_LIST_GNU, -1);
	assert_int_equal(kist_findings_count(fs), 0);
	assert_int_equal(l.count, 5);
	assert_string_equal(l.entries[0].path, "plain.txt");
	assert_int_equal(l.entries[0].alg, KIST_ALG_SHA256);
	char hex[KIST_DIGEST_HEX_MAX];
	kist_hex(l.entries[0].digest, 32, hex);
	assert_string_equal(hex, H256);
	kist_hex(l.entries[4].digest, 16, hex);
	assert_string_equal(hex, HMD5);
	assert_string_equal(l.entries[1].path, "binary mode.bin");
	assert_string_equal(l.entries[2].path, "back\\slash\nnewline");
	assert_string_equal(l.entries[3].path, "tagged (1).txt");
	assert_int_equal(l.entries[4].alg, KIST_ALG_MD5);
	assert_int_equal(l.entries[4].line, 5);
	kist_checklist_free(&l);
	kist_findings_free(fs);
}

static void test_gnu_bad_lines(void **state)
{
	struct kist_checklist l;
	char text[1024];
	struct kist_findings *fs;

	(void)state;
	snprintf(text, sizeof(text),
		 "not a checksum line\n"
		 "%s one-space\n"
		 "abc  short-digest\n"
		 "WHIRLPOOL (x) = %s\n"
		 "%.62sZZ  not-hex\n"
		 "%s  good\n",
		 H256, H256, H256, H256);
	fs = parse(&l, text, strlen(text), "SUMS", KIST_LIST_GNU, -1);
	assert_int_equal(l.count, 1);
	assert_string_equal(l.entries[0].path, "good");
	assert_int_equal(kist_findings_count_severity(fs, KIST_SEV_ERROR), 5);
	assert_true(kist_findings_has(fs, "list.malformed"));
	assert_true(kist_findings_has(fs, "list.unknown-algorithm"));
	assert_non_null(strstr(kist_findings_get(fs, 0)->message, "line 1"));
	kist_checklist_free(&l);
	kist_findings_free(fs);

	/* a digest of the wrong length for the named algorithm */
	fs = parse(&l, text + strlen(text) - strlen(H256) - 7, strlen(H256) + 7, "x.md5",
		   KIST_LIST_GNU, KIST_ALG_MD5);
	assert_int_equal(l.count, 0);
	assert_true(kist_findings_has(fs, "list.malformed"));
	kist_checklist_free(&l);
	kist_findings_free(fs);
}

static void test_bagit(void **state)
{
	struct kist_checklist l;
	char text[2048];
	struct kist_findings *fs;

	(void)state;
	snprintf(text, sizeof(text),
		 "%s  data/a%%0Ab%%25c%%0Dd.txt\n"
		 "%s\tdata/tabbed.txt\r"
		 "%s   data/many spaces.txt\r\n"
		 "%s *data/star.txt\n"
		 "%s  ../../etc/passwd\n"
		 "%s  /etc/shadow\n"
		 "%s  data/../../x\n",
		 H256, H256, H256, H256, H256, H256, H256);
	fs = parse(&l, text, strlen(text), "manifest-sha256.txt", KIST_LIST_BAGIT, KIST_ALG_SHA256);
	assert_int_equal(l.count, 4);
	assert_string_equal(l.entries[0].path, "data/a\nb%c\rd.txt");
	assert_int_equal(l.entries[0].digest[0], 0xe3);   /* digest stored after the path */
	assert_string_equal(l.entries[1].path, "data/tabbed.txt");
	assert_string_equal(l.entries[2].path, "data/many spaces.txt");
	assert_string_equal(l.entries[3].path, "data/star.txt");
	assert_true(kist_findings_has(fs, "manifest.binary-marker"));
	assert_int_equal(kist_findings_count_severity(fs, KIST_SEV_ERROR), 3);
	assert_true(kist_findings_has(fs, "manifest.unsafe-path"));
	kist_checklist_free(&l);
	kist_findings_free(fs);

	/* before BagIt 1.0 there was no percent-encoding: names are as written */
	fs = parse(&l, text, strlen(text), "manifest-sha256.txt", KIST_LIST_BAGIT_RAW, KIST_ALG_SHA256);
	assert_string_equal(l.entries[0].path, "data/a%0Ab%25c%0Dd.txt");
	kist_checklist_free(&l);
	kist_findings_free(fs);
}

static void test_long_line(void **state)
{
	size_t len = KIST_LIST_MAX_LINE * 2 + 200;
	char *text = malloc(len);
	struct kist_checklist l;
	struct kist_findings *fs;

	(void)state;
	memset(text, 'a', len);
	snprintf(text + len - 100, 100, "\n%s  after\n", HMD5);
	fs = parse(&l, text, strlen(text), "MD5SUMS", KIST_LIST_GNU, -1);
	assert_true(kist_findings_has(fs, "list.line-too-long"));
	assert_int_equal(l.count, 1);
	assert_string_equal(l.entries[0].path, "after");
	kist_checklist_free(&l);
	kist_findings_free(fs);
	free(text);
}

static void test_names(void **state)
{
	int alg = -1;

	(void)state;
	assert_int_equal(kist_checklist_kind_for_name("bag/manifest-sha512.txt", &alg), KIST_LIST_BAGIT);
	assert_int_equal(alg, KIST_ALG_SHA512);
	assert_int_equal(kist_checklist_kind_for_name("tagmanifest-sha3256.txt", &alg), KIST_LIST_BAGIT);
	assert_int_equal(alg, KIST_ALG_SHA3_256);
	assert_int_equal(kist_checklist_kind_for_name("manifest-foo.txt", &alg), KIST_LIST_GNU);
	assert_int_equal(kist_checklist_kind_for_name("SHA256SUMS", &alg), KIST_LIST_GNU);
	assert_int_equal(kist_checklist_alg_for_name("dir/SHA512SUMS"), KIST_ALG_SHA512);
	assert_int_equal(kist_checklist_alg_for_name("MD5SUMS.txt"), KIST_ALG_MD5);
	assert_int_equal(kist_checklist_alg_for_name("photos.sha256"), KIST_ALG_SHA256);
	assert_int_equal(kist_checklist_alg_for_name("sha1.txt"), KIST_ALG_SHA1);
	assert_int_equal(kist_checklist_alg_for_name("b2sum.txt"), KIST_ALG_BLAKE2B_512);
	assert_int_equal(kist_checklist_alg_for_name("checksums.txt"), -1);
}

static void test_percent(void **state)
{
	char *enc = kist_bagit_percent_encode("a\nb\rc%d%0A");
	char buf[64];

	(void)state;
	assert_string_equal(enc, "a%0Ab%0Dc%25d%250A");
	strcpy(buf, enc);
	kist_bagit_percent_decode(buf);
	assert_string_equal(buf, "a\nb\rc%d%0A");
	free(enc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gnu),
		cmocka_unit_test(test_gnu_bad_lines),
		cmocka_unit_test(test_bagit),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_percent),
	};
	return UNIT_RUN(tests);
}
