/* Unpacking a serialized bag safely.
 *
 * The archive is read once (archive.c), validated as it streams, and written
 * beneath a fresh temporary directory DIR/.kist-unpack-XXXXXX: every
 * directory on the way is opened with O_NOFOLLOW and every file created with
 * O_EXCL | O_NOFOLLOW, so nothing can be written through a link or outside
 * DIR. archive.c has already refused absolute names, "..", entries outside
 * the bag's one top directory, duplicates, hard links to anything but an
 * earlier file of the bag; symbolic links, devices and FIFOs are never
 * created. Only a valid bag is renamed to DIR/NAME (never over an existing
 * one); otherwise the temporary directory and all in it are removed, so
 * nothing left behind looks like a complete bag. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <kist/error.h>
#include <kist/finding.h>
#include <kist/path.h>
#include <kist/transfer.h>

#include "transfer.h"

#define DEFAULT_RATIO 200

struct dirtime {
	char *rel;
	int64_t mtime;
	long ns;
};

struct unpack {
	int dirfd;                  /* DIR */
	const char *dir;
	int tmpfd;                  /* DIR/.kist-unpack-XXXXXX */
	struct kist_findings *fs;
	struct dirtime *dirs;
	size_t ndirs;
	int failed;
};

struct ufile {
	struct unpack *u;
	int fd;
	char *rel;
	unsigned mode;
};

static void cannot(struct unpack *u, const char *rel, int e, const char *what)
{
	kist_findings_add(u->fs, KIST_SEV_FAILURE, "unpack.cannot-write", rel, "%s: %s", what,
			  strerror(e));
	u->failed = 1;
}

/* Opens (making as needed) the directories of rel's first n bytes beneath
 * the temporary directory, one component at a time, never through a link. */
static int open_dirs(struct unpack *u, const char *rel, size_t n)
{
	return kist_path_open_dirs(u->tmpfd, rel, n, 0755);
}

/* The directory that holds rel, and rel's last component. */
static int open_parent(struct unpack *u, const char *rel, const char **base)
{
	const char *slash = strrchr(rel, '/');

	*base = slash ? slash + 1 : rel;
	return open_dirs(u, rel, slash ? (size_t)(slash - rel) : 0);
}

/* DIR/NAME is never replaced: said before a byte is written. */
static int s_top(void *ctx, const char *name)
{
	struct unpack *u = ctx;

	if (kist_path_check_relative(name, strlen(name)) == KIST_PATH_OK &&
	    faccessat(u->dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		kist_findings_add(u->fs, KIST_SEV_FAILURE, "unpack.exists", name,
				  "%s/%s already exists: not replaced", u->dir, name);
		u->failed = 1;
		return -1;
	}
	return 0;
}

static int s_dir(void *ctx, const char *rel, int64_t mtime, long ns)
{
	struct unpack *u = ctx;
	struct dirtime *d;
	int fd = open_dirs(u, rel, strlen(rel));

	if (fd < 0) {
		cannot(u, rel, errno, "cannot make the directory");
		return -1;
	}
	close(fd);
	if (!(d = realloc(u->dirs, (u->ndirs + 1) * sizeof(*d))) || !(d[u->ndirs].rel = strdup(rel))) {
		if (d)
			u->dirs = d;
		cannot(u, rel, ENOMEM, "cannot record the directory");
		return -1;
	}
	u->dirs = d;
	d[u->ndirs].mtime = mtime;
	d[u->ndirs].ns = ns;
	u->ndirs++;
	return 0;
}

static void *s_file_begin(void *ctx, const char *rel, unsigned mode)
{
	struct unpack *u = ctx;
	struct ufile *f = calloc(1, sizeof(*f));
	const char *base;
	int pfd;

	if (!f || !(f->rel = strdup(rel))) {
		free(f);
		cannot(u, rel, ENOMEM, "cannot unpack");
		return NULL;
	}
	f->u = u;
	f->mode = mode & 0777;
	if ((pfd = open_parent(u, rel, &base)) < 0) {
		cannot(u, rel, errno, "cannot make its directory");
		goto fail;
	}
	f->fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	close(pfd);
	if (f->fd < 0) {
		cannot(u, rel, errno, "cannot create");
		goto fail;
	}
	return f;
fail:
	free(f->rel);
	free(f);
	return NULL;
}

static int s_file_write(void *file, const void *buf, size_t len)
{
	struct ufile *f = file;
	const char *p = buf;

	while (len) {
		ssize_t n = write(f->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			cannot(f->u, f->rel, n < 0 ? errno : ENOSPC, "cannot write");
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int s_file_end(void *file, int64_t mtime, long ns, int ok)
{
	struct ufile *f = file;
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { (time_t)mtime, ns } };
	int rc = 0;

	if (ok && (fchmod(f->fd, f->mode | 0400) < 0 || futimens(f->fd, ts) < 0)) {
		cannot(f->u, f->rel, errno, "cannot set its mode and time");
		rc = -1;
	}
	if (close(f->fd) < 0 && ok && !rc) {
		cannot(f->u, f->rel, errno, "cannot write");
		rc = -1;
	}
	free(f->rel);
	free(f);
	return rc;
}

static int s_hardlink(void *ctx, const char *rel, const char *target)
{
	struct unpack *u = ctx;
	const char *base, *tbase;
	int pfd = open_parent(u, rel, &base), tfd = open_parent(u, target, &tbase), rc = 0;

	/* both beneath the temporary directory: the target is a file unpacked
	 * here before, never a link (none are made) */
	if (pfd < 0 || tfd < 0 || linkat(tfd, tbase, pfd, base, 0) < 0) {
		cannot(u, rel, errno, "cannot make the hard link");
		rc = -1;
	}
	if (pfd >= 0)
		close(pfd);
	if (tfd >= 0)
		close(tfd);
	return rc;
}

/* Removes name beneath dirfd and everything in it, never following a link. */
static void remove_tree(int parent, const char *name)
{
	int fd;
	DIR *d;
	struct dirent *de;

	if (unlinkat(parent, name, 0) == 0 || (errno != EISDIR && errno != EPERM))
		return;
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			remove_tree(dirfd(d), de->d_name);
	closedir(d);
	unlinkat(parent, name, AT_REMOVEDIR);
}

/* Directory times last: writing into a directory changes its time. */
static void set_dir_times(struct unpack *u)
{
	for (size_t i = u->ndirs; i-- > 0;) {
		struct timespec ts[2] = { { 0, UTIME_OMIT }, { (time_t)u->dirs[i].mtime, u->dirs[i].ns } };

		utimensat(u->tmpfd, u->dirs[i].rel, ts, AT_SYMLINK_NOFOLLOW);
	}
}

/* Are the errors since finding n0 all fetch.pending (and there is one)?
 * Findings kept by the list only: a list that keeps none says no. */
static int only_pending(const struct kist_findings *fs, size_t n0)
{
	size_t pending = 0;

	for (size_t i = n0; i < kist_findings_count(fs); i++) {
		const struct kist_finding *f = kist_findings_get(fs, i);

		if (f->severity == KIST_SEV_FAILURE)
			return 0;
		if (f->severity != KIST_SEV_ERROR)
			continue;
		if (strcmp(f->code, "fetch.pending") != 0)
			return 0;
		pending++;
	}
	return pending > 0 && kist_findings_count_severity(fs, KIST_SEV_ERROR) >= pending;
}

int kist_bag_unpack(const char *archive, const char *dir, const struct kist_bag_unpack_options *opt,
		    char **bag_out, struct kist_bag_validate_result *res,
		    struct kist_findings *findings, struct kist_error *err)
{
	static const struct kist_bag_unpack_options defaults = { 0 };
	struct kist_archive_sink sink = { s_top, s_dir, s_file_begin, s_file_write, s_file_end,
					  s_hardlink, NULL };
	struct kist_bag_validate_options vo = { .level = KIST_BAG_CHECK_FULL };
	struct kist_archive_limits limits;
	struct unpack u;
	struct statvfs vfs;
	char *tmp = NULL, *top = NULL;
	const char *tmpbase;
	int dirfd = -1, rc, made_dir = 0, holey = 0;
	size_t n0;

	opt = opt ? opt : &defaults;
	*bag_out = NULL;
	memset(&u, 0, sizeof(u));
	u.tmpfd = -1;
	u.fs = findings;
	memset(res, 0, sizeof(*res));
	if (mkdir(dir, 0755) == 0)
		made_dir = 1;
	else if (errno != EEXIST)
		return kist_error_sys(err, errno, "cannot make %s", dir);
	if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return kist_error_sys(err, errno, "%s", dir);
	limits.max_ratio = opt->max_ratio ? opt->max_ratio : DEFAULT_RATIO;
	limits.max_bytes = opt->max_bytes;
	if (!limits.max_bytes && fstatvfs(dirfd, &vfs) == 0)
		limits.max_bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	if (asprintf(&tmp, "%s/.kist-unpack-XXXXXX", dir) < 0 || !mkdtemp(tmp)) {
		rc = tmp ? kist_error_sys(err, errno, "cannot write in %s", dir)
			 : kist_error_set(err, KIST_FAILED, "out of memory");
		free(tmp);
		tmp = NULL;
		goto out;
	}
	tmpbase = strrchr(tmp, '/') + 1;
	if ((u.tmpfd = openat(dirfd, tmpbase, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		rc = kist_error_sys(err, errno, "%s", tmp);
		goto out;
	}
	sink.ctx = &u;
	u.dirfd = dirfd;
	u.dir = dir;
	vo.jobs = opt->jobs;
	vo.progress = opt->progress;
	n0 = kist_findings_count(findings);
	rc = kist_archive_validate(archive, &vo, &limits, &sink, &top, res, findings, err);
	if (rc == KIST_OK && u.failed)
		rc = kist_error_set(err, KIST_FAILED, "%s: could not unpack every file", archive);
	/* a holey bag, sound but for the files fetch.txt still has to bring, is
	 * kept for kist bag fetch: its verdict stays "incomplete" */
	if (rc == KIST_INVALID && !u.failed && only_pending(findings, n0))
		holey = 1;
	else if (rc != KIST_OK)
		goto out;
	if (!top || kist_path_check_relative(top, strlen(top)) != KIST_PATH_OK || strchr(top, '/')) {
		kist_findings_add(findings, KIST_SEV_ERROR, "archive.top-level", NULL,
				  "no single top-level directory to unpack the bag into");
		rc = KIST_INVALID;
		goto out;
	}
	set_dir_times(&u);
	fchmod(u.tmpfd, 0755);   /* mkdtemp made it private */
	if (syncfs(u.tmpfd) < 0) {
		rc = kist_error_sys(err, errno, "cannot write %s", dir);
		goto out;
	}
	if (renameat2(dirfd, tmpbase, dirfd, top, RENAME_NOREPLACE) < 0) {
		int e = errno;

		if ((e == EEXIST || e == ENOTEMPTY) && !u.failed)
			kist_findings_add(findings, KIST_SEV_FAILURE, "unpack.exists", top,
					  "%s/%s already exists: not replaced", dir, top);
		rc = kist_error_sys(err, e, "cannot move the bag to %s/%s", dir, top);
		goto out;
	}
	fsync(dirfd);
	if (!(*bag_out = kist_path_join(dir, top)))
		rc = kist_error_set(err, KIST_FAILED, "out of memory");
	else
		rc = holey ? KIST_INVALID : KIST_OK;
	free(tmp);
	tmp = NULL;
out:
	if (tmp) {
		/* nothing half-made is left behind */
		if (u.tmpfd >= 0) {
			close(u.tmpfd);
			u.tmpfd = -1;
		}
		remove_tree(dirfd, strrchr(tmp, '/') + 1);
		free(tmp);
		if (made_dir)
			rmdir(dir);   /* only if it is still empty */
	}
	if (u.tmpfd >= 0)
		close(u.tmpfd);
	for (size_t i = 0; i < u.ndirs; i++)
		free(u.dirs[i].rel);
	free(u.dirs);
	free(top);
	if (dirfd >= 0)
		close(dirfd);
	return rc;
}
