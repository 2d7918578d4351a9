/* kist_bag_update and the bag summary behind `kist bag info`. */
#include "unit.h"

static char *read_file(const char *dir, const char *name, size_t *len)
{
	char *path = kist_path_join(dir, name), *buf;
	FILE *f = fopen(path, "rb");
	long n;

	free(path);
	if (!f)
		return NULL;
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

static int exists(const char *dir, const char *name)
{
	char *path = kist_path_join(dir, name);
	struct stat st;
	int r = lstat(path, &st) == 0;

	free(path);
	return r;
}

static void remove_file(const char *dir, const char *name)
{
	char *path = kist_path_join(dir, name);

	assert_int_equal(unlink(path), 0);
	free(path);
}

static void hex_of(int alg, const char *data, char *hex)
{
	struct kist_digest *d = kist_digest_new(alg);
	unsigned char bin[KIST_DIGEST_MAX];

	assert_non_null(d);
	assert_int_equal(kist_digest_begin(d), 0);
	assert_int_equal(kist_digest_update(d, data, strlen(data)), 0);
	assert_int_equal(kist_digest_end(d, bin), 0);
	kist_hex(bin, kist_alg_size(alg), hex);
	kist_digest_free(d);
}

/* A 1.0 bag with data/a.txt "alpha\n" and data/b/c.txt "gamma\n", a sha256
 * manifest and the given bag-info text. */
static char *make_bag(const char *info)
{
	char *dir = unit_tmpdir(), ha[KIST_DIGEST_HEX_MAX], hc[KIST_DIGEST_HEX_MAX], man[512];

	unit_mkdir(dir, "data");
	unit_mkdir(dir, "data/b");
	unit_write(dir, "data/a.txt", "alpha\n", 6);
	unit_write(dir, "data/b/c.txt", "gamma\n", 6);
	unit_write(dir, "bagit.txt", "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n", 54);
	hex_of(KIST_ALG_SHA256, "alpha\n", ha);
	hex_of(KIST_ALG_SHA256, "gamma\n", hc);
	snprintf(man, sizeof(man), "%s  data/a.txt\n%s  data/b/c.txt\n", ha, hc);
	unit_write(dir, "manifest-sha256.txt", man, strlen(man));
	if (info)
		unit_write(dir, "bag-info.txt", info, strlen(info));
	return dir;
}

static int run_update(const char *dir, kist_algset add, kist_algset rm,
		      struct kist_bag_update_result *res, struct kist_findings *fs)
{
	struct kist_bag_update_options o = { .add_algs = add, .remove_algs = rm, .jobs = 2,
					     .result = res };
	struct kist_error err;

	return kist_bag_update(dir, &o, fs, &err);
}

/* Does manifest-ALG.txt hold the right line for data/NAME with content? */
static void assert_listed(const char *dir, int alg, const char *name, const char *content)
{
	char file[64], hex[KIST_DIGEST_HEX_MAX], line[300], *text;

	snprintf(file, sizeof(file), "manifest-%s.txt", kist_alg_bagit_name(alg));
	text = read_file(dir, file, NULL);
	assert_non_null(text);
	hex_of(alg, content, hex);
	snprintf(line, sizeof(line), "%s  %s\n", hex, name);
	if (!strstr(text, line))
		fail_msg("%s lacks the line %s", file, line);
	free(text);
}

static void test_update_counts_and_rewrites(void **state)
{
	char *dir = make_bag("Source-Organization: Org\nPayload-Oxum: 12.2\n");
	struct kist_findings *fs = kist_findings_new();
	struct kist_bag_update_result res;
	char *info, *man;

	(void)state;
	unit_write(dir, "data/new.txt", "new!\n", 5);         /* added */
	unit_write(dir, "data/b/c.txt", "GAMMA!\n", 7);       /* changed */
	remove_file(dir, "data/a.txt");   /* removed */
	assert_int_equal(run_update(dir, 0, 0, &res, fs), KIST_OK);
	assert_int_equal(kist_findings_count(fs), 0);
	assert_int_equal(res.added, 1);
	assert_int_equal(res.removed, 1);
	assert_int_equal(res.changed, 1);
	assert_int_equal(res.unchanged, 0);
	assert_int_equal(res.payload_files, 2);
	assert_int_equal(res.payload_bytes, 12);
	assert_int_equal(res.payload_algs, KIST_ALG_BIT(KIST_ALG_SHA256));
	assert_int_equal(res.tag_algs, 0);   /* the bag had no tag manifest */
	assert_false(exists(dir, "tagmanifest-sha256.txt"));
	assert_listed(dir, KIST_ALG_SHA256, "data/new.txt", "new!\n");
	assert_listed(dir, KIST_ALG_SHA256, "data/b/c.txt", "GAMMA!\n");
	man = read_file(dir, "manifest-sha256.txt", NULL);
	assert_null(strstr(man, "a.txt"));
	free(man);
	info = read_file(dir, "bag-info.txt", NULL);
	assert_string_equal(info, "Source-Organization: Org\nPayload-Oxum: 12.2\n");
	free(info);
	kist_findings_free(fs);
	unit_rmtree(dir);
	free(dir);
}

/* Three algorithms out, one in, one read: the pipeline read each file once. */
static void test_update_one_read(void **state)
{
	char *dir = make_bag(NULL);
	struct kist_findings *fs = kist_findings_new();
	struct kist_bag_update_result res;

	(void)state;
	unit_write(dir, "data/big.bin", NULL, 3u << 20);
	assert_int_equal(run_update(dir, KIST_ALG_BIT(KIST_ALG_SHA512) | KIST_ALG_BIT(KIST_ALG_MD5) |
						 KIST_ALG_BIT(KIST_ALG_SHA1),
				    KIST_ALG_BIT(KIST_ALG_SHA256), &res, fs),
			 KIST_OK);
	assert_int_equal(res.files_read, 3);
	assert_int_equal(res.bytes_read, res.payload_bytes);
	assert_int_equal(res.payload_bytes, 12 + (3u << 20));
	assert_int_equal(res.algs_removed, KIST_ALG_BIT(KIST_ALG_SHA256));
	assert_false(exists(dir, "manifest-sha256.txt"));
	assert_true(exists(dir, "manifest-sha512.txt"));
	assert_true(exists(dir, "manifest-md5.txt"));
	assert_true(exists(dir, "manifest-sha1.txt"));
	/* sha256 was replaced entirely: it was still computed in the same read
	 * to compare against the old manifest */
	assert_int_equal(res.unchanged, 2);
	assert_int_equal(res.added, 1);
	assert_listed(dir, KIST_ALG_SHA1, "data/a.txt", "alpha\n");
	/* a bag without bag-info gets one */
	char *info = read_file(dir, "bag-info.txt", NULL);
	char want[64];
	snprintf(want, sizeof(want), "Payload-Oxum: %u.3\n", 12 + (3u << 20));
	assert_string_equal(info, want);
	free(info);
	kist_findings_free(fs);
	unit_rmtree(dir);
	free(dir);
}

static void test_update_refuses_last_algorithm(void **state)
{
	char *dir = make_bag("Payload-Oxum: 12.2\n");
	struct kist_findings *fs = kist_findings_new();
	char *before = read_file(dir, "manifest-sha256.txt", NULL), *after;

	(void)state;
	unit_write(dir, "data/new.txt", "x", 1);
	assert_int_equal(run_update(dir, 0, KIST_ALG_BIT(KIST_ALG_SHA256), NULL, fs), KIST_INVALID);
	assert_true(kist_findings_has(fs, "update.last-algorithm"));
	after = read_file(dir, "manifest-sha256.txt", NULL);
	assert_string_equal(before, after);
	free(before);
	free(after);
	kist_findings_free(fs);
	unit_rmtree(dir);
	free(dir);
}

static void test_update_add_and_remove_same(void **state)
{
	char *dir = make_bag(NULL);
	struct kist_findings *fs = kist_findings_new();

	(void)state;
	assert_int_equal(run_update(dir, KIST_ALG_BIT(KIST_ALG_MD5), KIST_ALG_BIT(KIST_ALG_MD5), NULL, fs),
			 KIST_FAILED);
	assert_false(exists(dir, "manifest-md5.txt"));
	kist_findings_free(fs);
	unit_rmtree(dir);
	free(dir);
}

static void test_update_refuses_symlink(void **state)
{
	char *dir = make_bag("Payload-Oxum: 12.2\n"), *link = NULL;
	struct kist_findings *fs = kist_findings_new();

	(void)state;
	link = kist_path_join(dir, "data/link");
	assert_int_equal(symlink("a.txt", link), 0);
	assert_int_equal(run_update(dir, 0, 0, NULL, fs), KIST_INVALID);
	assert_true(kist_findings_has(fs, "payload.symlink"));
	free(link);
	kist_findings_free(fs);
	unit_rmtree(dir);
	free(dir);
}

static void test_update_keeps_info_bytes(void **state)
{
	static const char info[] =
		"Source-Organization: Org\r\n"
		"Bag-Size: 1 GB\r\n"
		"External-Description: folded\r\n"
		"\tcontinued\r\n"
		"Payload-Oxum: 1.1\r\n"
		"   stale continuation\r\n"
		"payload-oxum: 2.2\r\n"
		"Contact-Name: Z\r\n";
	static const char want[] =
		"Source-Organization: Org\r\n"
		"Bag-Size: 12 bytes\r\n"
		"External-Description: folded\r\n"
		"\tcontinued\r\n"
		"Payload-Oxum: 12.2\r\n"
		"Contact-Name: Z\r\n";
	char *dir = make_bag(info), *got;
	struct kist_findings *fs = kist_findings_new();

	(void)state;
	assert_int_equal(run_update(dir, 0, 0, NULL, fs), KIST_OK);
	got = read_file(dir, "bag-info.txt", NULL);
	assert_string_equal(got, want);
	free(got);
	kist_findings_free(fs);
	unit_rmtree(dir);
	free(dir);
}

/* bag-info edits at the edges: an empty value, no final line break, a
 * missing element appended after a last line without one. */
static void check_info_edit(const char *bagit, const char *info, const char *want)
{
	char *dir = make_bag(info), *got;
	struct kist_findings *fs = kist_findings_new();

	if (bagit)
		unit_write(dir, "bagit.txt", bagit, strlen(bagit));
	assert_int_equal(run_update(dir, 0, 0, NULL, fs), KIST_OK);
	got = read_file(dir, "bag-info.txt", NULL);
	assert_string_equal(got, want);
	free(got);
	kist_findings_free(fs);
	unit_rmtree(dir);
	free(dir);
}

static void test_update_info_edges(void **state)
{
	static const char v097[] = "BagIt-Version: 0.97\nTag-File-Character-Encoding: UTF-8\n";

	(void)state;
	check_info_edit(NULL, "Payload-Oxum:\nX: y\n", "Payload-Oxum: 12.2\nX: y\n");
	check_info_edit(NULL, "X: y\nPayload-Oxum: 1.1", "X: y\nPayload-Oxum: 12.2");
	check_info_edit(NULL, "X: y", "X: y\nPayload-Oxum: 12.2\n");
	check_info_edit(NULL, "X: y\r\nZ: z", "X: y\r\nZ: z\r\nPayload-Oxum: 12.2\r\n");
	check_info_edit(NULL, "PAYLOAD-OXUM:\t1.1\n", "PAYLOAD-OXUM:\t12.2\n");
	check_info_edit(NULL, "X-Payload-Oxum: 1.1\n", "X-Payload-Oxum: 1.1\nPayload-Oxum: 12.2\n");
	/* before 1.0, whitespace before the colon was tolerated: kept */
	check_info_edit(v097, "Payload-Oxum : 1.1\nX: y\n", "Payload-Oxum : 12.2\nX: y\n");
}

static void test_oxum_parse(void **state)
{
	uint64_t b = 1, f = 1;

	(void)state;
	assert_int_equal(kist_bag_oxum_parse("13.2", &b, &f), 0);
	assert_int_equal(b, 13);
	assert_int_equal(f, 2);
	assert_int_equal(kist_bag_oxum_parse("0.0", &b, &f), 0);
	assert_int_equal(b, 0);
	assert_int_equal(kist_bag_oxum_parse("18446744073709551610.1", &b, &f), 0);
	assert_true(b == 18446744073709551610ull);
	assert_int_equal(kist_bag_oxum_parse("13", &b, &f), -1);
	assert_int_equal(kist_bag_oxum_parse(".2", &b, &f), -1);
	assert_int_equal(kist_bag_oxum_parse("13.", &b, &f), -1);
	assert_int_equal(kist_bag_oxum_parse("1.2.3", &b, &f), -1);
	assert_int_equal(kist_bag_oxum_parse("1 .2", &b, &f), -1);
	assert_int_equal(kist_bag_oxum_parse("-1.2", &b, &f), -1);
	assert_int_equal(kist_bag_oxum_parse("99999999999999999999.1", &b, &f), -1);
	assert_int_equal(kist_bag_oxum_parse(NULL, &b, &f), -1);
}

static void test_summary(void **state)
{
	char *dir = make_bag("Contact-Name: A\nPayload-Oxum: 12.2\nContact-Name: B\n");
	struct kist_findings *fs = kist_findings_new();
	struct kist_bag_summary s;
	struct kist_error err;

	(void)state;
	assert_int_equal(kist_bag_summarize(dir, &s, fs, &err), KIST_OK);
	assert_int_equal(s.payload_algs, KIST_ALG_BIT(KIST_ALG_SHA256));
	assert_int_equal(s.tag_algs, 0);
	assert_int_equal(s.manifest_files, 2);
	assert_int_equal(s.manifest_bytes, 12);
	assert_int_equal(s.files, 2);
	assert_int_equal(s.bytes, 12);
	assert_int_equal(s.unlisted, 0);
	assert_int_equal(s.missing, 0);
	assert_int_equal(s.oxum_state, KIST_OXUM_MATCHES);
	assert_int_equal(s.bag->info.count, 3);
	assert_string_equal(s.bag->info.tags[2].value, "B");
	kist_bag_summary_free(&s);

	unit_write(dir, "data/extra", "123", 3);
	remove_file(dir, "data/a.txt");
	assert_int_equal(kist_bag_summarize(dir, &s, fs, &err), KIST_OK);
	assert_int_equal(s.unlisted, 1);
	assert_int_equal(s.missing, 1);
	assert_int_equal(s.manifest_bytes, 6);   /* c.txt only: a.txt is gone */
	assert_int_equal(s.bytes, 9);
	assert_int_equal(s.oxum_state, KIST_OXUM_DIFFERS);
	kist_bag_summary_free(&s);

	/* after an update, the summary agrees */
	assert_int_equal(run_update(dir, 0, 0, NULL, fs), KIST_OK);
	assert_int_equal(kist_bag_summarize(dir, &s, fs, &err), KIST_OK);
	assert_int_equal(s.unlisted, 0);
	assert_int_equal(s.missing, 0);
	assert_int_equal(s.oxum_state, KIST_OXUM_MATCHES);
	kist_bag_summary_free(&s);
	kist_findings_free(fs);
	unit_rmtree(dir);
	free(dir);
}

static void test_summary_not_a_bag(void **state)
{
	char *dir = unit_tmpdir();
	struct kist_findings *fs = kist_findings_new();
	struct kist_bag_summary s;
	struct kist_error err;

	(void)state;
	assert_int_not_equal(kist_bag_summarize(dir, &s, fs, &err), KIST_OK);
	assert_null(s.bag);
	kist_bag_summary_free(&s);
	kist_findings_free(fs);
	unit_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_update_counts_and_rewrites),
		cmocka_unit_test(test_update_one_read),
		cmocka_unit_test(test_update_refuses_last_algorithm),
		cmocka_unit_test(test_update_add_and_remove_same),
		cmocka_unit_test(test_update_refuses_symlink),
		cmocka_unit_test(test_update_keeps_info_bytes),
		cmocka_unit_test(test_update_info_edges),
		cmocka_unit_test(test_oxum_parse),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_summary_not_a_bag),
	};
	return UNIT_RUN(tests);
}
