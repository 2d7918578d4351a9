/* Checking and opening paths that came from outside the program. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef SYS_openat2
#include <linux/openat2.h>
#endif

#include <kist/path.h>

#include "testing.h"

enum kist_path_problem kist_path_check_relative(const char *path, size_t len)
{
	size_t start = 0;

	if (len == 0)
		return KIST_PATH_EMPTY;
	if (memchr(path, '\0', len))
		return KIST_PATH_NUL;
	if (path[0] == '/')
		return KIST_PATH_ABSOLUTE;
	if (path[0] == '~')
		return KIST_PATH_HOME;
	if (path[0] == '\\' ||
	    (len >= 2 && path[1] == ':' &&
	     ((path[0] >= 'A' && path[0] <= 'Z') || (path[0] >= 'a' && path[0] <= 'z'))))
		return KIST_PATH_DRIVE;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && (path[i] == '\n' || path[i] == '\r'))
			return KIST_PATH_CONTROL;
		if (i < len && path[i] != '/')
			continue;
		/* component path[start..i) */
		if (i == start)
			return KIST_PATH_EMPTY;
		if (i - start == 1 && path[start] == '.')
			return KIST_PATH_DOT;
		if (i - start == 2 && path[start] == '.' && path[start + 1] == '.')
			return KIST_PATH_DOTDOT;
		start = i + 1;
	}
	return KIST_PATH_OK;
}

const char *kist_path_problem_str(enum kist_path_problem p)
{
	switch (p) {
	case KIST_PATH_OK: return "ok";
	case KIST_PATH_EMPTY: return "empty path or path component";
	case KIST_PATH_ABSOLUTE: return "absolute path";
	case KIST_PATH_DOTDOT: return "'..' would leave the directory";
	case KIST_PATH_DOT: return "'.' component";
	case KIST_PATH_HOME: return "'~' home directory reference";
	case KIST_PATH_DRIVE: return "drive letter or UNC path";
	case KIST_PATH_NUL: return "NUL byte in path";
	case KIST_PATH_CONTROL: return "line break in path";
	}
	return "unknown problem";
}

int kist_path_open_dirs(int dirfd, const char *rel, size_t n, mode_t make_mode)
{
	char comp[NAME_MAX + 1];
	int fd = dup(dirfd), next, saved;
	size_t i = 0;

	while (fd >= 0 && i < n) {
		size_t len = strcspn(rel + i, "/");

		if (len > n - i)
			len = n - i;
		if (len > NAME_MAX) {
			saved = ENAMETOOLONG;
			goto fail;
		}
		memcpy(comp, rel + i, len);
		comp[len] = '\0';
		i += len + 1;
		if (len == 0 || strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			saved = EXDEV;
			goto fail;
		}
		next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && make_mode) {
			if (mkdirat(fd, comp, make_mode) < 0 && errno != EEXIST) {
				saved = errno;
				goto fail;
			}
			next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (next < 0) {
			struct stat st;

			saved = errno;
			/* Linux says ENOTDIR for a symlink met with O_DIRECTORY. */
			if (saved == ENOTDIR && fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(st.st_mode))
				saved = ELOOP;
			goto fail;
		}
		close(fd);
		fd = next;
	}
	return fd;
fail:
	close(fd);
	errno = saved;
	return -1;
}

/* The portable way: one component at a time, O_NOFOLLOW at each step. */
static int open_beneath_walk(int dirfd, const char *rel, int flags)
{
	const char *slash = strrchr(rel, '/'), *leaf = slash ? slash + 1 : rel;
	int fd, next, saved;

	if (strcmp(leaf, "..") == 0) {
		errno = EXDEV;
		return -1;
	}
	fd = kist_path_open_dirs(dirfd, rel, slash ? (size_t)(slash - rel) : 0, 0);
	if (fd < 0)
		return -1;
	next = openat(fd, *leaf ? leaf : ".", flags | O_NOFOLLOW | O_CLOEXEC);
	saved = errno;
	close(fd);
	errno = saved;
	return next;
}

static int openat2_unavailable;

void kist_path_use_openat2(int on)
{
	openat2_unavailable = !on;
}

#ifdef SYS_openat2
/* Linux 5.6+: the kernel resolves the whole path, refusing symlinks and
 * escapes, in one system call. Returns -2 when openat2 is unavailable. */
static int open_beneath_openat2(int dirfd, const char *rel, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	if (openat2_unavailable)
		return -2;
	fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	if (fd < 0 && (errno == ENOSYS || errno == EPERM)) {   /* old kernel, or seccomp */
		openat2_unavailable = 1;
		return -2;
	}
	return (int)fd;
}
#endif

int kist_path_open_beneath(int dirfd, const char *rel, int flags)
{
	const char *p;

	if (!rel[0]) {
		errno = ENOENT;
		return -1;
	}
	/* ".." is refused outright, even when it would stay inside */
	if (rel[0] == '/')
		goto outside;
	for (p = rel; (p = strstr(p, "..")); p += 2)
		if ((p == rel || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
			goto outside;
#ifdef SYS_openat2
	{
		int fd = open_beneath_openat2(dirfd, rel, flags);

		if (fd != -2)
			return fd;
	}
#endif
	return open_beneath_walk(dirfd, rel, flags);
outside:
	errno = EXDEV;
	return -1;
}

char *kist_path_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *out;

	while (la > 1 && a[la - 1] == '/')
		la--;
	if (lb == 0)
		return strndup(a, la);
	out = malloc(la + lb + 2);
	if (!out)
		return NULL;
	memcpy(out, a, la);
	if (la && a[la - 1] != '/')
		out[la++] = '/';
	memcpy(out + la, b, lb + 1);
	return out;
}

size_t kist_utf8_char(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned c, min, cp;
	size_t more;

	if (len == 0)
		return 0;
	c = p[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		more = 1, min = 0x80, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		more = 2, min = 0x800, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		more = 3, min = 0x10000, cp = c & 0x07;
	else
		return 0;
	if (len <= more)
		return 0;
	for (size_t i = 1; i <= more; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return more + 1;
}

int kist_utf8_valid(const char *s, size_t len)
{
	while (len) {
		size_t n = kist_utf8_char(s, len);

		if (!n)
			return 0;
		s += n;
		len -= n;
	}
	return 1;
}
