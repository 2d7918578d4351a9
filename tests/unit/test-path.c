/* Safe path checks and opening beneath a directory. */
#include "unit.h"

#include "../../src/core/testing.h"

#define CHECK(s, want) assert_int_equal(kist_path_check_relative(s, strlen(s)), want)

static void test_check_relative(void **state)
{
	(void)state;
	CHECK("data/a.txt", KIST_PATH_OK);
	CHECK("data/..a/b..", KIST_PATH_OK);
	CHECK("data/caf\xc3\xa9 100%.txt", KIST_PATH_OK);
	CHECK("", KIST_PATH_EMPTY);
	CHECK("data//a", KIST_PATH_EMPTY);
	CHECK("data/", KIST_PATH_EMPTY);
	CHECK("/etc/passwd", KIST_PATH_ABSOLUTE);
	CHECK("../x", KIST_PATH_DOTDOT);
	CHECK("data/../../x", KIST_PATH_DOTDOT);
	CHECK("data/..", KIST_PATH_DOTDOT);
	CHECK("./data/a", KIST_PATH_DOT);
	CHECK("~root/x", KIST_PATH_HOME);
	CHECK("C:/Windows", KIST_PATH_DRIVE);
	CHECK("c:x", KIST_PATH_DRIVE);
	CHECK("\\\\server\\share", KIST_PATH_DRIVE);
	CHECK("data/a\nb", KIST_PATH_CONTROL);
	assert_int_equal(kist_path_check_relative("data/a\0b", 8), KIST_PATH_NUL);
	assert_string_equal(kist_path_problem_str(KIST_PATH_DOTDOT), "'..' would leave the directory");
}

static void open_beneath_cases(void)
{
	char *dir = unit_tmpdir(), *outside = unit_tmpdir(), *link = NULL;
	int root, fd;
	char buf[8] = { 0 };

	unit_mkdir(dir, "data");
	unit_mkdir(dir, "data/sub");
	unit_write(dir, "data/sub/file", "inside", 6);
	unit_write(outside, "secret", "secret", 6);
	assert_true(asprintf(&link, "%s/data/escape", dir) > 0);
	assert_int_equal(symlink(outside, link), 0);
	free(link);
	assert_true(asprintf(&link, "%s/data/filelink", dir) > 0);
	assert_int_equal(symlink("sub/file", link), 0);
	free(link);

	root = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(root >= 0);
	fd = kist_path_open_beneath(root, "data/sub/file", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, 6), 6);
	assert_string_equal(buf, "inside");
	close(fd);

	/* a directory symlink pointing out of the tree is never crossed */
	errno = 0;
	assert_int_equal(kist_path_open_beneath(root, "data/escape/secret", O_RDONLY), -1);
	assert_true(errno == ELOOP || errno == ENOTDIR);
	/* nor is a symlink as the last component, even one pointing inside */
	errno = 0;
	assert_int_equal(kist_path_open_beneath(root, "data/filelink", O_RDONLY), -1);
	assert_int_equal(errno, ELOOP);
	errno = 0;
	assert_int_equal(kist_path_open_beneath(root, "data/../data/sub/file", O_RDONLY), -1);
	assert_int_equal(errno, EXDEV);
	errno = 0;
	assert_int_equal(kist_path_open_beneath(root, "/etc/passwd", O_RDONLY), -1);
	assert_int_equal(errno, EXDEV);
	errno = 0;
	assert_int_equal(kist_path_open_beneath(root, "data/none", O_RDONLY), -1);
	assert_int_equal(errno, ENOENT);
	close(root);
	unit_rmtree(dir);
	unit_rmtree(outside);
	free(dir);
	free(outside);
}

/* The same cases through openat2 (where the kernel has it) and through the
 * portable walk. */
static void test_open_beneath(void **state)
{
	(void)state;
	kist_path_use_openat2(1);
	open_beneath_cases();
	kist_path_use_openat2(0);
	open_beneath_cases();
	kist_path_use_openat2(1);
}

/* Directories made on the way, never through a link, never above the root. */
static void test_open_dirs(void **state)
{
	char *dir = unit_tmpdir(), *outside = unit_tmpdir(), *link = NULL;
	struct stat st;
	mode_t mask = umask(022);
	int root, fd;

	(void)state;
	umask(mask);
	unit_mkdir(dir, "data");
	assert_true(asprintf(&link, "%s/data/escape", dir) > 0);
	assert_int_equal(symlink(outside, link), 0);
	free(link);
	root = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(root >= 0);

	/* without make_mode nothing is made */
	errno = 0;
	assert_int_equal(kist_path_open_dirs(root, "data/a/b/leaf", 10, 0), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(fstatat(root, "data/a", &st, 0), -1);

	/* with it, the first n bytes' directories are made, not the leaf */
	fd = kist_path_open_dirs(root, "data/a/b/leaf", 10, 0750);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	close(fd);
	assert_int_equal(fstatat(root, "data/a/b", &st, 0), 0);
	assert_int_equal(st.st_mode & 0777, 0750 & ~mask);
	assert_int_equal(fstatat(root, "data/a/b/leaf", &st, 0), -1);

	/* n == 0 is the root itself, a new descriptor */
	fd = kist_path_open_dirs(root, "anything", 0, 0755);
	assert_true(fd >= 0 && fd != root);
	close(fd);

	/* a link on the way is never followed, and nothing is made beyond it */
	errno = 0;
	assert_int_equal(kist_path_open_dirs(root, "data/escape/x/y", 15, 0755), -1);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(fstatat(root, "data/escape/x", &st, AT_SYMLINK_NOFOLLOW), -1);
	errno = 0;
	assert_int_equal(kist_path_open_dirs(root, "data/../up", 10, 0755), -1);
	assert_int_equal(errno, EXDEV);
	close(root);
	unit_rmtree(dir);
	unit_rmtree(outside);
	free(dir);
	free(outside);
}

static void test_join(void **state)
{
	char *s;

	(void)state;
	s = kist_path_join("a", "b");
	assert_string_equal(s, "a/b");
	free(s);
	s = kist_path_join("a//", "b");
	assert_string_equal(s, "a/b");
	free(s);
	s = kist_path_join("/", "b");
	assert_string_equal(s, "/b");
	free(s);
	s = kist_path_join("a", "");
	assert_string_equal(s, "a");
	free(s);
}

static void test_utf8(void **state)
{
	(void)state;
	assert_true(kist_utf8_valid("plain", 5));
	assert_true(kist_utf8_valid("caf\xc3\xa9", 5));
	assert_true(kist_utf8_valid("\xe6\x97\xa5\xe6\x9c\xac", 6));
	assert_true(kist_utf8_valid("\xf0\x9f\x93\x9a", 4));
	assert_false(kist_utf8_valid("caf\xe9", 4));          /* Latin-1 */
	assert_false(kist_utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
	assert_false(kist_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	assert_false(kist_utf8_valid("\xe6\x97", 2));         /* truncated */
	assert_false(kist_utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_relative),
		cmocka_unit_test(test_open_beneath),
		cmocka_unit_test(test_open_dirs),
		cmocka_unit_test(test_join),
		cmocka_unit_test(test_utf8),
	};
	return UNIT_RUN(tests);
}
