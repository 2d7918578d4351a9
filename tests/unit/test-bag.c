/* The bag model: tag files, encodings, reading bags of every version, writing. */
#include "unit.h"

#include <dirent.h>

static void test_info_parse(void **state)
{
	static const char text[] =
		"Source-Organization: Library of Congress\n"
		"Contact-Name: Ann\r\n"
		"External-Description: a value that goes\n"
		"   on and on\n"
		"\ton three lines\r"
		"Keyword: one\n"
		"keyword: two\n"
		"Empty:\n";
	struct kist_bag_info info;
	struct kist_findings *fs = kist_findings_new();

	(void)state;
	kist_bag_info_init(&info);
	assert_int_equal(kist_bag_info_parse(&info, text, strlen(text), "bag-info.txt", 0, fs), 0);
	assert_int_equal(kist_findings_count(fs), 0);
	assert_int_equal(info.count, 6);
	assert_string_equal(info.tags[0].label, "Source-Organization");
	assert_string_equal(info.tags[1].value, "Ann");
	assert_string_equal(kist_bag_info_get(&info, "external-description"),
			    "a value that goes on and on on three lines");
	assert_int_equal(info.tags[2].line, 3);
	assert_int_equal(kist_bag_info_count(&info, "KEYWORD"), 2);
	assert_string_equal(kist_bag_info_get(&info, "Empty"), "");
	assert_null(kist_bag_info_get(&info, "Missing"));

	/* set keeps the place of the first and drops the rest; remove removes all */
	assert_int_equal(kist_bag_info_set(&info, "Keyword", "only"), 0);
	assert_int_equal(info.count, 5);
	assert_string_equal(info.tags[3].value, "only");
	assert_int_equal(kist_bag_info_set(&info, "Payload-Oxum", "1.1"), 0);
	assert_string_equal(info.tags[5].label, "Payload-Oxum");
	assert_int_equal(kist_bag_info_remove(&info, "empty"), 1);
	assert_int_equal(info.count, 5);
	kist_bag_info_free(&info);
	kist_findings_free(fs);
}

static void test_info_parse_problems(void **state)
{
	static const char text[] = "  leading continuation\nNo colon here\nLabel : spaced\n: no label\n\nOk: yes\n";
	struct kist_bag_info info;
	struct kist_findings *fs = kist_findings_new();

	(void)state;
	kist_bag_info_init(&info);
	assert_int_equal(kist_bag_info_parse(&info, text, strlen(text), "bag-info.txt", 0, fs), 0);
	/* 1.0: whitespace before the colon is an error; before 1.0 a warning */
	assert_int_equal(kist_findings_count_severity(fs, KIST_SEV_ERROR), 4);
	assert_true(kist_findings_has(fs, "taginfo.label-whitespace"));
	assert_true(kist_findings_has(fs, "taginfo.blank-line"));
	assert_string_equal(kist_bag_info_get(&info, "Label"), "spaced");
	assert_string_equal(kist_bag_info_get(&info, "Ok"), "yes");
	kist_bag_info_free(&info);
	kist_findings_free(fs);

	fs = kist_findings_new();
	kist_bag_info_init(&info);
	assert_int_equal(kist_bag_info_parse(&info, "Label : v\n", 10, "package-info.txt", 1, fs), 0);
	assert_int_equal(kist_findings_count_severity(fs, KIST_SEV_ERROR), 0);
	assert_int_equal(kist_findings_count_severity(fs, KIST_SEV_WARNING), 1);
	kist_bag_info_free(&info);
	kist_findings_free(fs);
}

static void test_info_format_folds(void **state)
{
	struct kist_bag_info info, back;
	struct kist_findings *fs = kist_findings_new();
	char value[400];
	char *text;
	size_t len;

	(void)state;
	kist_bag_info_init(&info);
	for (size_t i = 0; i < sizeof(value) - 1; i++)
		value[i] = i % 9 == 8 ? ' ' : (char)('a' + i % 26);
	value[sizeof(value) - 1] = '\0';
	value[100] = value[101] = ' ';   /* a double space survives folding */
	assert_int_equal(kist_bag_info_add(&info, "External-Description", value), 0);
	assert_int_equal(kist_bag_info_add(&info, "Contact-Name", "Ann"), 0);
	text = kist_bag_info_format(&info, &len);
	assert_non_null(text);
	/* every line within 79 columns, continuation lines indented */
	for (char *line = text; *line;) {
		char *nl = strchr(line, '\n');

		assert_non_null(nl);
		assert_true(nl - line <= 79);
		line = nl + 1;
	}
	assert_non_null(strstr(text, "\n  "));
	kist_bag_info_init(&back);
	assert_int_equal(kist_bag_info_parse(&back, text, len, "bag-info.txt", 0, fs), 0);
	assert_int_equal(back.count, 2);
	assert_string_equal(back.tags[0].value, value);
	assert_string_equal(back.tags[1].value, "Ann");
	assert_int_equal(kist_findings_count(fs), 0);
	free(text);
	kist_bag_info_free(&info);
	kist_bag_info_free(&back);
	kist_findings_free(fs);
}

static void test_decode(void **state)
{
	struct kist_error err;
	char *out;
	size_t len;
	int bom;

	(void)state;
	assert_int_equal(kist_tagfile_decode("Caf\xe9", 4, "ISO-8859-1", &out, &len, &bom, &err), KIST_OK);
	assert_string_equal(out, "Caf\xc3\xa9");
	assert_false(bom);
	free(out);
	/* UTF-16 with a byte order mark, whatever the declared encoding says */
	assert_int_equal(kist_tagfile_decode("\xff\xfe" "A\0:\0 \0\xe9\0", 10, "UTF-8", &out, &len, &bom,
					     &err), KIST_OK);
	assert_string_equal(out, "A: \xc3\xa9");
	assert_true(bom);
	free(out);
	assert_int_equal(kist_tagfile_decode("\xef\xbb\xbfok", 5, NULL, &out, &len, &bom, &err), KIST_OK);
	assert_string_equal(out, "ok");
	assert_true(bom);
	free(out);
	assert_int_equal(kist_tagfile_decode("Caf\xe9", 4, "UTF-8", &out, &len, &bom, &err), KIST_INVALID);
	assert_int_equal(kist_tagfile_decode("x", 1, "NO-SUCH-CHARSET", &out, &len, &bom, &err),
			 KIST_INVALID);
	assert_non_null(strstr(err.message, "NO-SUCH-CHARSET"));
}

static void test_oxum_and_size(void **state)
{
	char buf[64];

	(void)state;
	kist_bag_oxum(279164409832ull, 1198, buf, sizeof(buf));
	assert_string_equal(buf, "279164409832.1198");
	kist_bag_size(999, buf, sizeof(buf));
	assert_string_equal(buf, "999 bytes");
	kist_bag_size(1500000, buf, sizeof(buf));
	assert_string_equal(buf, "1.5 MB");
	kist_bag_size(260000000000ull, buf, sizeof(buf));
	assert_string_equal(buf, "260.0 GB");
}

static const char *SHA256_HELLO = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

/* A small 1.0 bag written with the library's writers. */
static char *make_bag(void)
{
	char *dir = unit_tmpdir();
	struct kist_manifest_line lines[2];
	struct kist_bag_info info;
	struct kist_error err;
	int fd;

	unit_mkdir(dir, "data");
	unit_write(dir, "data/hello.txt", "hello\n", 6);
	unit_write(dir, "data/100% a\nb", "x", 1);
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_int_equal(kist_bag_write_bagit_txt(fd, &err), KIST_OK);
	kist_bag_info_init(&info);
	kist_bag_info_add(&info, "Source-Organization", "Example");
	kist_bag_info_add(&info, "Payload-Oxum", "7.2");
	assert_int_equal(kist_bag_write_info(fd, "bag-info.txt", &info, &err), KIST_OK);
	kist_bag_info_free(&info);
	lines[0].path = "data/hello.txt";
	{
		unsigned char d[KIST_ALG_COUNT][KIST_DIGEST_MAX];

		assert_int_equal(kist_hash_file(fd, "data/hello.txt", KIST_ALG_BIT(KIST_ALG_SHA256), d, NULL, &err), KIST_OK);
		memcpy(lines[0].digest, d[KIST_ALG_SHA256], 32);
		assert_int_equal(kist_hash_file(fd, "data/100% a\nb", KIST_ALG_BIT(KIST_ALG_SHA256), d, NULL, &err), KIST_OK);
		memcpy(lines[1].digest, d[KIST_ALG_SHA256], 32);
	}
	lines[1].path = "data/100% a\nb";
	assert_int_equal(kist_bag_write_manifest(fd, KIST_ALG_SHA256, 0, lines, 2, &err), KIST_OK);
	assert_int_equal(kist_bag_write_tag_manifests(fd, KIST_ALG_BIT(KIST_ALG_SHA256) | KIST_ALG_BIT(KIST_ALG_MD5), &err), KIST_OK);
	close(fd);
	return dir;
}

static char *read_text(const char *dir, const char *name)
{
	char *path = kist_path_join(dir, name), *buf = calloc(1, 4096);
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	assert_true(fread(buf, 1, 4095, f) < 4095);
	fclose(f);
	free(path);
	return buf;
}

static void test_write_and_open(void **state)
{
	char *dir = make_bag(), *text, hex[KIST_DIGEST_HEX_MAX];
	struct kist_findings *fs = kist_findings_new();
	struct kist_bag *bag;
	struct kist_error err;
	struct kist_bag_manifest *m;

	(void)state;
	text = read_text(dir, "bagit.txt");
	assert_string_equal(text, "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n");
	free(text);
	/* sorted by path, two spaces, CR/LF/% percent-encoded */
	text = read_text(dir, "manifest-sha256.txt");
	assert_non_null(strstr(text, "  data/100%25 a%0Ab\n"));
	assert_true(strstr(text, "data/100%25") < strstr(text, "data/hello.txt"));
	free(text);
	/* tag manifests cover bagit.txt, bag-info.txt and the manifest, not themselves */
	text = read_text(dir, "tagmanifest-md5.txt");
	assert_non_null(strstr(text, "  bagit.txt\n"));
	assert_non_null(strstr(text, "  bag-info.txt\n"));
	assert_non_null(strstr(text, "  manifest-sha256.txt\n"));
	assert_null(strstr(text, "tagmanifest"));
	free(text);

	assert_int_equal(kist_bag_open(dir, &bag, fs, &err), KIST_OK);
	assert_int_equal(kist_findings_count(fs), 0);
	assert_int_equal(bag->major, 1);
	assert_int_equal(bag->minor, 0);
	assert_string_equal(bag->encoding, "UTF-8");
	assert_string_equal(bag->info_name, "bag-info.txt");
	assert_string_equal(kist_bag_info_get(&bag->info, "Payload-Oxum"), "7.2");
	assert_int_equal(bag->nmanifests, 3);
	assert_int_equal(kist_bag_algorithms(bag, 0), KIST_ALG_BIT(KIST_ALG_SHA256));
	assert_int_equal(kist_bag_algorithms(bag, 1), KIST_ALG_BIT(KIST_ALG_SHA256) | KIST_ALG_BIT(KIST_ALG_MD5));
	m = kist_bag_manifest_for(bag, KIST_ALG_SHA256, 0);
	assert_non_null(m);
	assert_int_equal(m->list.count, 2);
	assert_string_equal(m->list.entries[0].path, "data/100% a\nb");
	kist_hex(m->list.entries[1].digest, 32, hex);
	assert_string_equal(hex, SHA256_HELLO);
	assert_null(kist_bag_manifest_for(bag, KIST_ALG_SHA512, 0));
	assert_false(bag->has_fetch);
	kist_bag_free(bag);
	kist_findings_free(fs);
	unit_rmtree(dir);
	free(dir);
}

static void test_open_old_versions(void **state)
{
	char *dir = unit_tmpdir();
	struct kist_findings *fs = kist_findings_new();
	struct kist_bag *bag;
	struct kist_error err;
	static const char manifest[] = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03 data/a%25b\n";

	(void)state;
	unit_mkdir(dir, "data");
	unit_write(dir, "bagit.txt", "BagIt-Version: 0.95\nTag-File-Character-Encoding: ISO-8859-1\n", 60);
	unit_write(dir, "package-info.txt", "Contact-Name : Jos\xe9\n", 20);
	unit_write(dir, "manifest-sha256.txt", manifest, sizeof(manifest) - 1);
	unit_write(dir, "fetch.txt", "http://example.org/x 12 data/x\nhttps://example.org/y - data/y z\nbad\n", 67);
	assert_int_equal(kist_bag_open(dir, &bag, fs, &err), KIST_OK);
	assert_int_equal(bag->major, 0);
	assert_int_equal(bag->minor, 95);
	assert_string_equal(bag->info_name, "package-info.txt");
	/* Latin-1 decoded; whitespace before the colon only a warning before 1.0 */
	assert_string_equal(kist_bag_info_get(&bag->info, "Contact-Name"), "Jos\xc3\xa9");
	/* no percent-decoding before 1.0 */
	assert_string_equal(bag->manifests[0].list.entries[0].path, "data/a%25b");
	assert_true(bag->has_fetch);
	assert_int_equal(bag->nfetch, 2);
	assert_int_equal(bag->fetch[0].length, 12);
	assert_int_equal(bag->fetch[1].length, UINT64_MAX);
	assert_string_equal(bag->fetch[1].path, "data/y z");
	assert_true(kist_findings_has(fs, "fetch.malformed"));
	assert_int_equal(kist_findings_count_severity(fs, KIST_SEV_ERROR), 1);
	kist_bag_free(bag);
	kist_findings_free(fs);
	unit_rmtree(dir);
	free(dir);
}

static void test_open_bad_declarations(void **state)
{
	char *dir = unit_tmpdir();
	struct kist_findings *fs = kist_findings_new();
	struct kist_bag *bag;
	struct kist_error err;

	(void)state;
	/* no bagit.txt: not a bag */
	assert_int_equal(kist_bag_open(dir, &bag, fs, &err), KIST_INVALID);
	assert_null(bag);
	assert_true(kist_findings_has(fs, "bagit.missing"));
	kist_findings_free(fs);

	/* a byte order mark in bagit.txt is invalid (RFC 8493 2.1.1) */
	fs = kist_findings_new();
	unit_write(dir, "bagit.txt", "\xef\xbb\xbf" "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n", 57);
	assert_int_equal(kist_bag_open(dir, &bag, fs, &err), KIST_OK);
	assert_true(kist_findings_has(fs, "bagit.bom"));
	kist_bag_free(bag);
	kist_findings_free(fs);

	/* whitespace before the colon, lines swapped, a third line */
	fs = kist_findings_new();
	unit_write(dir, "bagit.txt", "Tag-File-Character-Encoding: UTF-8\nBagIt-Version : 1.0\nX: y\n", 60);
	assert_int_equal(kist_bag_open(dir, &bag, fs, &err), KIST_OK);
	assert_true(kist_findings_has(fs, "bagit.malformed"));
	assert_true(kist_findings_has(fs, "taginfo.label-whitespace"));
	kist_bag_free(bag);
	kist_findings_free(fs);

	/* a manifest path leaving the bag is a finding, not an entry */
	fs = kist_findings_new();
	unit_write(dir, "bagit.txt", "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n", 54);
	unit_write(dir, "manifest-md5.txt", "d41d8cd98f00b204e9800998ecf8427e  ../../etc/passwd\n", 51);
	unit_write(dir, "manifest-whirlpool.txt", "", 0);
	assert_int_equal(kist_bag_open(dir, &bag, fs, &err), KIST_OK);
	assert_true(kist_findings_has(fs, "manifest.unsafe-path"));
	assert_true(kist_findings_has(fs, "manifest.unknown-algorithm"));
	assert_int_equal(bag->manifests[0].list.count, 0);
	kist_bag_free(bag);
	kist_findings_free(fs);
	unit_rmtree(dir);
	free(dir);
}

static void test_write_atomic(void **state)
{
	char *dir = unit_tmpdir(), *text;
	struct kist_error err;
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	DIR *d;
	struct dirent *de;
	int n = 0;

	(void)state;
	assert_int_equal(kist_write_atomic(fd, "f.txt", "one", 3, &err), KIST_OK);
	assert_int_equal(kist_write_atomic(fd, "f.txt", "two", 3, &err), KIST_OK);
	text = read_text(dir, "f.txt");
	assert_string_equal(text, "two");
	free(text);
	assert_int_equal(kist_write_atomic(fd, "a/b", "x", 1, &err), KIST_FAILED);
	/* no temporary files left behind */
	d = opendir(dir);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.' || strlen(de->d_name) > 2;
	closedir(d);
	assert_int_equal(n, 1);
	close(fd);
	unit_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_info_parse),
		cmocka_unit_test(test_info_parse_problems),
		cmocka_unit_test(test_info_format_folds),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_oxum_and_size),
		cmocka_unit_test(test_write_and_open),
		cmocka_unit_test(test_open_old_versions),
		cmocka_unit_test(test_open_bad_declarations),
		cmocka_unit_test(test_write_atomic),
	};
	return UNIT_RUN(tests);
}
