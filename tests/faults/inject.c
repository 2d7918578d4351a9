/* A preload shim that makes one system call fail, for the fault tests
 * (tests/cli/faults.bats; built by ./configure --enable-error-injection):
 *
 *   LD_PRELOAD=.../libinject.so KIST_INJECT=CALL:N:ERRNO kist ...
 *
 * fails the Nth call (counted from 1 over all threads) of CALL with ERRNO,
 * and, with CALL:N+:ERRNO, every call from the Nth on. CALL is one of write
 * (write, pwrite, writev), fsync (fsync, fdatasync), rename (rename, renameat,
 * renameat2), openat (open, openat, openat2; only opens that may create or
 * write when CALL is openat-w), unlink (unlink, unlinkat), mkdir (mkdir,
 * mkdirat). ERRNO is ENOSPC, EIO, EACCES, EROFS, EDQUOT or a number. Writes
 * to standard output and error are never failed (the messages must get out).
 * When the fault fires, "kist-inject: CALL #N failed with ERRNO" goes to
 * the file named by KIST_INJECT_LOG, if set, so a test knows it was reached. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum kind { K_NONE, K_WRITE, K_FSYNC, K_RENAME, K_OPENAT, K_OPENAT_W, K_UNLINK, K_MKDIR };

static enum kind kind = K_NONE;
static long nth;
static int from_on;
static int err_value;
static atomic_long counter;
static atomic_int parsed;

static int errno_of(const char *s)
{
	static const struct { const char *name; int value; } names[] = {
		{ "ENOSPC", ENOSPC }, { "EIO", EIO }, { "EACCES", EACCES },
		{ "EROFS", EROFS }, { "EDQUOT", EDQUOT }, { "EPERM", EPERM },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i].name))
			return names[i].value;
	return atoi(s) > 0 ? atoi(s) : EIO;
}

static void parse(void)
{
	const char *spec = getenv("KIST_INJECT");
	char call[32];
	char errs[32];
	char plus = 0;

	if (atomic_exchange(&parsed, 1))
		return;
	if (!spec || sscanf(spec, "%31[a-z-]:%ld%c", call, &nth, &plus) < 2)
		return;
	const char *last = strrchr(spec, ':');
	if (!last || sscanf(last + 1, "%31s", errs) != 1)
		return;
	from_on = plus == '+';
	err_value = errno_of(errs);
	kind = !strcmp(call, "write") ? K_WRITE : !strcmp(call, "fsync") ? K_FSYNC
	     : !strcmp(call, "rename") ? K_RENAME : !strcmp(call, "openat") ? K_OPENAT
	     : !strcmp(call, "openat-w") ? K_OPENAT_W : !strcmp(call, "unlink") ? K_UNLINK
	     : !strcmp(call, "mkdir") ? K_MKDIR : K_NONE;
}

/* Should this call of kind k fail? Sets errno when it should. */
static int fail_on(enum kind k, const char *what)
{
	long n;

	parse();
	if (kind == K_NONE || (k != kind && !(k == K_OPENAT_W && kind == K_OPENAT)))
		return 0;
	n = atomic_fetch_add(&counter, 1) + 1;
	if (n != nth && !(from_on && n > nth))
		return 0;
	if (n == nth && getenv("KIST_INJECT_LOG")) {
		FILE *f = fopen(getenv("KIST_INJECT_LOG"), "a");

		if (f) {
			fprintf(f, "kist-inject: %s #%ld%s%s failed with %s\n", getenv("KIST_INJECT"), n,
				what ? " on " : "", what ? what : "", strerror(err_value));
			fclose(f);
		}
	}
	errno = err_value;
	return 1;
}

#define fail(k) fail_on(k, NULL)

#define NEXT(name) static __typeof__(name) *next_##name; \
	if (!next_##name) next_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

ssize_t write(int fd, const void *buf, size_t len)
{
	NEXT(write);
	if (fd > 2 && fail(K_WRITE))
		return -1;
	return next_write(fd, buf, len);
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	NEXT(pwrite);
	if (fd > 2 && fail(K_WRITE))
		return -1;
	return next_pwrite(fd, buf, len, off);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
	NEXT(writev);
	if (fd > 2 && fail(K_WRITE))
		return -1;
	return next_writev(fd, iov, n);
}

int fsync(int fd)
{
	NEXT(fsync);
	if (fail(K_FSYNC))
		return -1;
	return next_fsync(fd);
}

int fdatasync(int fd)
{
	NEXT(fdatasync);
	if (fail(K_FSYNC))
		return -1;
	return next_fdatasync(fd);
}

int rename(const char *a, const char *b)
{
	NEXT(rename);
	if (fail(K_RENAME))
		return -1;
	return next_rename(a, b);
}

int renameat(int da, const char *a, int db, const char *b)
{
	NEXT(renameat);
	if (fail_on(K_RENAME, a))
		return -1;
	return next_renameat(da, a, db, b);
}

int renameat2(int da, const char *a, int db, const char *b, unsigned flags)
{
	NEXT(renameat2);
	if (fail(K_RENAME))
		return -1;
	return next_renameat2(da, a, db, b, flags);
}

static int writes(int flags)
{
	return (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) != 0;
}

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	va_start(ap, flags);
	if (flags & (O_CREAT | O_TMPFILE))
		mode = (mode_t)va_arg(ap, int);
	va_end(ap);
	NEXT(open);
	if (fail_on(writes(flags) ? K_OPENAT_W : K_OPENAT, path))
		return -1;
	return next_open(path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	va_start(ap, flags);
	if (flags & (O_CREAT | O_TMPFILE))
		mode = (mode_t)va_arg(ap, int);
	va_end(ap);
	NEXT(openat);
	if (fail_on(writes(flags) ? K_OPENAT_W : K_OPENAT, path))
		return -1;
	return next_openat(dirfd, path, flags, mode);
}

#ifdef SYS_openat2
/* kist opens untrusted paths with openat2 (RESOLVE_BENEATH) through syscall(2). */
struct kist_open_how { unsigned long long flags, mode, resolve; };

long syscall(long number, ...)
{
	long a[6];
	va_list ap;

	va_start(ap, number);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	NEXT(syscall);
	if (number == SYS_openat2 && a[2]) {
		const struct kist_open_how *how = (const struct kist_open_how *)a[2];

		if (fail_on(writes((int)how->flags) ? K_OPENAT_W : K_OPENAT, (const char *)a[1]))
			return -1;
	}
	return next_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
#endif

int unlink(const char *path)
{
	NEXT(unlink);
	if (fail(K_UNLINK))
		return -1;
	return next_unlink(path);
}

int unlinkat(int dirfd, const char *path, int flags)
{
	NEXT(unlinkat);
	if (fail_on(K_UNLINK, path))
		return -1;
	return next_unlinkat(dirfd, path, flags);
}

int mkdir(const char *path, mode_t mode)
{
	NEXT(mkdir);
	if (fail(K_MKDIR))
		return -1;
	return next_mkdir(path, mode);
}

int mkdirat(int dirfd, const char *path, mode_t mode)
{
	NEXT(mkdirat);
	if (fail_on(K_MKDIR, path))
		return -1;
	return next_mkdirat(dirfd, path, mode);
}
