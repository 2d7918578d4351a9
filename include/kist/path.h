/* Paths that come from outside (manifests, fetch.txt, archives, lists) are
 * checked before use and opened beneath a directory, never through a symlink. */
#ifndef KIST_PATH_H
#define KIST_PATH_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

enum kist_path_problem {
	KIST_PATH_OK = 0,
	KIST_PATH_EMPTY,          /* "" or an empty component ("a//b") */
	KIST_PATH_ABSOLUTE,       /* "/etc/passwd" */
	KIST_PATH_DOTDOT,         /* a ".." component */
	KIST_PATH_DOT,            /* a "." component ("./a", "a/./b") */
	KIST_PATH_HOME,           /* "~user/..." */
	KIST_PATH_DRIVE,          /* "C:..." or "\\server\..." */
	KIST_PATH_NUL,            /* embedded NUL (given an explicit length) */
	KIST_PATH_CONTROL         /* CR or LF in a name */
};

/* Checks a relative path with explicit length (so embedded NULs are caught). */
enum kist_path_problem kist_path_check_relative(const char *path, size_t len);
const char *kist_path_problem_str(enum kist_path_problem p);

/* Opens rel beneath the directory dirfd, one component at a time with
 * O_NOFOLLOW: a symlink anywhere on the way fails with ELOOP, ".." and
 * absolute paths with EXDEV. flags are open(2) flags for the last component. */
int kist_path_open_beneath(int dirfd, const char *rel, int flags);

/* Opens, as a new descriptor, the directory named by the first n bytes of
 * rel beneath dirfd (dirfd itself, duplicated, when n is 0), one component at
 * a time with O_NOFOLLOW, as kist_path_open_beneath does; with make_mode not
 * 0, missing directories are made with that mode on the way. Empty and "."
 * components are skipped; ".." fails with EXDEV, a symlink with ELOOP. */
int kist_path_open_dirs(int dirfd, const char *rel, size_t n, mode_t make_mode);

/* Joins a and b with one '/'; returns malloc'd string or NULL. */
char *kist_path_join(const char *a, const char *b);

/* A new file beside final, "final.kist-tmp-XXXXXX" with mode 0644, to be
 * renamed over final once whole; its name goes to *tmp (malloc'd). Until
 * kist_path_tmp_done, a signal caught by kist_path_tmp_signals removes it.
 * Returns its descriptor, or -1 with errno set. */
int kist_path_tmp_beside(const char *final, char **tmp);
/* tmp was renamed or removed: no signal removes it now. */
void kist_path_tmp_done(const char *tmp);
/* From now on SIGINT, SIGTERM and SIGHUP (those not ignored) remove the
 * temporary files not done, then end the process as the signal would. */
void kist_path_tmp_signals(void);

/* Length of the valid UTF-8 character at s (1 to 4), or 0 if the bytes
 * there are not one (or len is 0). */
size_t kist_utf8_char(const char *s, size_t len);
/* Does the string hold only valid UTF-8? */
int kist_utf8_valid(const char *s, size_t len);

#ifdef __cplusplus
}
#endif
#endif
