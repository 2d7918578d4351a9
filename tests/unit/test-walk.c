/* The tree walk: order, symlinks, special files, unreadable directories. */
#include "unit.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

struct seen {
	char buf[4096];
	int files, dirs, empty_dirs;
};

static int record(void *ctx, const struct kist_walk_entry *e)
{
	struct seen *s = ctx;

	if (e->type == KIST_ENTRY_FILE) {
		s->files++;
		strcat(s->buf, e->rel);
		strcat(s->buf, ";");
	} else if (e->type == KIST_ENTRY_DIR) {
		s->dirs++;
	} else if (e->empty) {
		s->empty_dirs++;
	}
	return 0;
}

static char *make_tree(void)
{
	char *dir = unit_tmpdir();

	unit_mkdir(dir, "b");
	unit_mkdir(dir, "a.d");
	unit_mkdir(dir, "empty");
	unit_write(dir, "b/z", "z", 1);
	unit_write(dir, "b/a", "a", 1);
	unit_write(dir, "a.d/x", "x", 1);
	unit_write(dir, "B", "B", 1);
	unit_write(dir, ".hidden", "h", 1);
	unit_write(dir, "caf\xc3\xa9", "c", 1);
	return dir;
}

static void test_sorted_order(void **state)
{
	char *dir = make_tree();
	struct seen s = { 0 };
	struct kist_findings *fs = kist_findings_new();
	struct kist_error err;

	(void)state;
	assert_int_equal(kist_walk(dir, NULL, record, &s, fs, &err), KIST_OK);
	/* byte order per directory, depth first, hidden files included */
	assert_string_equal(s.buf, ".hidden;B;a.d/x;b/a;b/z;caf\xc3\xa9;");
	assert_int_equal(s.files, 6);
	assert_int_equal(s.dirs, 4);
	assert_int_equal(s.empty_dirs, 1);
	assert_int_equal(kist_findings_count(fs), 0);
	kist_findings_free(fs);
	unit_rmtree(dir);
	free(dir);
}

static void test_symlinks(void **state)
{
	char *dir = make_tree(), *p = NULL;
	struct seen s = { 0 };
	struct kist_findings *fs = kist_findings_new();
	struct kist_walk_options follow = { .follow_symlinks = 1 };
	struct kist_error err;

	(void)state;
	assert_true(asprintf(&p, "%s/b/loop", dir) > 0);
	assert_int_equal(symlink("..", p), 0);
	free(p);
	assert_true(asprintf(&p, "%s/link-to-B", dir) > 0);
	assert_int_equal(symlink("B", p), 0);
	free(p);
	assert_true(asprintf(&p, "%s/dangling", dir) > 0);
	assert_int_equal(symlink("nowhere", p), 0);
	free(p);

	/* not followed: each is a finding, nothing walked through them */
	assert_int_equal(kist_walk(dir, NULL, record, &s, fs, &err), KIST_OK);
	assert_int_equal(s.files, 6);
	assert_int_equal(kist_findings_count_severity(fs, KIST_SEV_WARNING), 3);
	assert_true(kist_findings_has(fs, "walk.symlink"));
	kist_findings_free(fs);

	/* followed: the file link is walked, the loop and the dangling link are findings */
	fs = kist_findings_new();
	memset(&s, 0, sizeof(s));
	assert_int_equal(kist_walk(dir, &follow, record, &s, fs, &err), KIST_OK);
	assert_int_equal(s.files, 7);
	assert_non_null(strstr(s.buf, "link-to-B;"));
	assert_true(kist_findings_has(fs, "walk.symlink-loop"));
	assert_true(kist_findings_has(fs, "walk.dangling-symlink"));
	assert_int_equal(kist_findings_count_severity(fs, KIST_SEV_ERROR), 1);
	kist_findings_free(fs);
	unit_rmtree(dir);
	free(dir);
}

/* files_unstated: regular files come from the directory alone (size
 * unknown, inode from it); the rest of the walk is the same as ever. */
struct unstated {
	int files, unknown_size;
	int inode_ok;
};

static int record_unstated(void *ctx, const struct kist_walk_entry *e)
{
	struct unstated *u = ctx;
	struct stat st;

	if (e->type != KIST_ENTRY_FILE)
		return 0;
	u->files++;
	u->unknown_size += e->size == UINT64_MAX;
	u->inode_ok += lstat(e->path, &st) == 0 && st.st_ino == e->ino && S_ISREG(e->mode);
	return 0;
}

static void test_files_unstated(void **state)
{
	char *dir = make_tree(), *p = NULL;
	struct seen s = { 0 };
	struct unstated u = { 0 };
	struct kist_walk_options opt = { .files_unstated = 1 };
	struct kist_findings *fs = kist_findings_new();
	struct kist_error err;

	(void)state;
	assert_true(asprintf(&p, "%s/link-to-B", dir) > 0);
	assert_int_equal(symlink("B", p), 0);
	free(p);
	assert_int_equal(kist_walk(dir, &opt, record, &s, fs, &err), KIST_OK);
	assert_string_equal(s.buf, ".hidden;B;a.d/x;b/a;b/z;caf\xc3\xa9;");
	assert_int_equal(s.dirs, 4);
	assert_int_equal(s.empty_dirs, 1);
	/* the symlink is still looked at, and still not followed */
	assert_true(kist_findings_has(fs, "walk.symlink"));
	assert_int_equal(kist_findings_count(fs), 1);
	assert_int_equal(kist_walk(dir, &opt, record_unstated, &u, fs, &err), KIST_OK);
	assert_int_equal(u.files, 6);
	assert_int_equal(u.unknown_size, 6);
	assert_int_equal(u.inode_ok, 6);
	/* without the option, sizes are known */
	memset(&u, 0, sizeof(u));
	assert_int_equal(kist_walk(dir, NULL, record_unstated, &u, fs, &err), KIST_OK);
	assert_int_equal(u.files, 6);
	assert_int_equal(u.unknown_size, 0);
	kist_findings_free(fs);
	unit_rmtree(dir);
	free(dir);
}

static void test_special_files(void **state)
{
	char *dir = unit_tmpdir(), *p = NULL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct seen s = { 0 };
	struct kist_findings *fs = kist_findings_new();
	struct kist_error err;
	int sock;

	(void)state;
	unit_write(dir, "regular", "r", 1);
	assert_true(asprintf(&p, "%s/fifo", dir) > 0);
	assert_int_equal(mkfifo(p, 0644), 0);
	free(p);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", dir);
	sock = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(sock >= 0);
	assert_int_equal(bind(sock, (struct sockaddr *)&sa, sizeof(sa)), 0);

	assert_int_equal(kist_walk(dir, NULL, record, &s, fs, &err), KIST_OK);
	assert_string_equal(s.buf, "regular;");
	assert_int_equal(kist_findings_count(fs), 2);
	assert_string_equal(kist_findings_get(fs, 0)->code, "walk.special-file");
	assert_non_null(strstr(kist_findings_get(fs, 0)->message, "FIFO"));
	assert_non_null(strstr(kist_findings_get(fs, 1)->message, "socket"));
	close(sock);
	kist_findings_free(fs);
	unit_rmtree(dir);
	free(dir);
}

/* Plain checks, no cmocka asserts: this also runs in a forked child. */
static int walk_unreadable(const char *dir)
{
	struct seen s = { 0 };
	struct kist_findings *fs = kist_findings_new();
	struct kist_error err;
	int ok;

	ok = kist_walk(dir, NULL, record, &s, fs, &err) == KIST_OK &&
	     s.files == 4 &&   /* the other files are still walked */
	     kist_findings_has(fs, "walk.unreadable") &&
	     kist_findings_count_severity(fs, KIST_SEV_FAILURE) == 1;
	kist_findings_free(fs);
	return ok;
}

static void test_unreadable_dir(void **state)
{
	char *dir = make_tree(), *p = NULL;

	(void)state;
	assert_true(asprintf(&p, "%s/b", dir) > 0);
	assert_int_equal(chmod(p, 0), 0);
	if (geteuid() == 0) {
		/* root reads every directory: walk as an unprivileged user */
		pid_t pid;
		int status;

		assert_int_equal(chmod(dir, 0755), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			if (setgid(65534) != 0 || setuid(65534) != 0)
				_exit(2);
			_exit(walk_unreadable(dir) ? 0 : 1);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	} else {
		assert_true(walk_unreadable(dir));
	}
	chmod(p, 0755);
	free(p);
	unit_rmtree(dir);
	free(dir);
}

static void test_roots(void **state)
{
	char *dir = make_tree(), *file = kist_path_join(dir, "b/a"), *slashed = NULL;
	struct kist_file_list l;
	struct kist_findings *fs = kist_findings_new();
	struct kist_error err;

	(void)state;
	kist_file_list_init(&l);
	/* a file as root */
	assert_int_equal(kist_walk_collect(file, NULL, &l, fs, &err), KIST_OK);
	assert_int_equal(l.count, 1);
	assert_string_equal(l.files[0].path, file);
	/* trailing slashes do not change the paths */
	assert_true(asprintf(&slashed, "%s//", dir) > 0);
	assert_int_equal(kist_walk_collect(slashed, NULL, &l, fs, &err), KIST_OK);
	assert_int_equal(l.count, 7);
	assert_int_equal(strncmp(l.files[1].path, dir, strlen(dir)), 0);
	assert_string_equal(l.files[1].path + strlen(dir), "/.hidden");
	assert_int_equal(l.bytes, 7);
	/* a missing root */
	assert_int_equal(kist_walk_collect("/nonexistent/kist", NULL, &l, fs, &err), KIST_FAILED);
	assert_int_equal(err.sys_errno, ENOENT);
	kist_file_list_free(&l);
	kist_findings_free(fs);
	unit_rmtree(dir);
	free(dir);
	free(file);
	free(slashed);
}

static void test_deep_tree(void **state)
{
	char *dir = unit_tmpdir();
	struct seen s = { 0 };
	struct kist_findings *fs = kist_findings_new();
	struct kist_error err;
	int fd = open(dir, O_RDONLY | O_DIRECTORY);

	(void)state;
	/* deeper than the walk goes: a finding, not a crash or fd exhaustion */
	for (int i = 0; i < 600; i++) {
		int next;

		assert_int_equal(mkdirat(fd, "d", 0755), 0);
		next = openat(fd, "d", O_RDONLY | O_DIRECTORY);
		assert_true(next >= 0);
		close(fd);
		fd = next;
	}
	close(fd);
	assert_int_equal(kist_walk(dir, NULL, record, &s, fs, &err), KIST_OK);
	assert_true(kist_findings_has(fs, "walk.too-deep"));
	kist_findings_free(fs);
	unit_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sorted_order),
		cmocka_unit_test(test_symlinks),
		cmocka_unit_test(test_special_files),
		cmocka_unit_test(test_files_unstated),
		cmocka_unit_test(test_unreadable_dir),
		cmocka_unit_test(test_roots),
		cmocka_unit_test(test_deep_tree),
	};
	return UNIT_RUN(tests);
}
