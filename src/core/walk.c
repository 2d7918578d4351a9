/* Deterministic, symlink-safe tree walk over directory file descriptors. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <kist/error.h>
#include <kist/finding.h>
#include <kist/walk.h>

#include "grow.h"

#define WALK_MAX_DEPTH 512

struct ancestor {
	dev_t dev;
	ino_t ino;
};

struct walker {
	const struct kist_walk_options *opt;
	kist_walk_fn fn;
	void *ctx;
	struct kist_findings *findings;
	char *path;            /* current path, grown as needed */
	size_t len, cap;
	size_t root_len;       /* rel starts after root_len (+1 for the '/') */
	struct ancestor stack[WALK_MAX_DEPTH];
	int depth;
	int stopped;
};

static int path_push(struct walker *w, const char *name, size_t *saved)
{
	size_t n = strlen(name), need = w->len + n + 2;

	*saved = w->len;
	if (need > w->cap) {
		size_t cap = w->cap * 2 > need ? w->cap * 2 : need;
		char *p = realloc(w->path, cap);

		if (!p)
			return -1;
		w->path = p;
		w->cap = cap;
	}
	if (w->len && w->path[w->len - 1] != '/')
		w->path[w->len++] = '/';
	memcpy(w->path + w->len, name, n + 1);
	w->len += n;
	return 0;
}

static const char *rel_of(const struct walker *w)
{
	return w->len > w->root_len ? w->path + w->root_len + (w->path[w->root_len] == '/') : "";
}

static void fill_entry(struct kist_walk_entry *e, const struct walker *w, enum kist_entry_type type,
		       const struct stat *st, int via_symlink)
{
	memset(e, 0, sizeof(*e));
	e->type = type;
	e->path = w->path;
	e->rel = rel_of(w);
	e->size = S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0;
	if (S_ISREG(st->st_mode) && !st->st_nlink)   /* not stat'ed (files_unstated) */
		e->size = UINT64_MAX;
	e->dev = st->st_dev;
	e->ino = st->st_ino;
	e->mode = st->st_mode;
	e->mtime_sec = st->st_mtim.tv_sec;
	e->mtime_nsec = st->st_mtim.tv_nsec;
	e->via_symlink = via_symlink;
}

static const char *special_kind(mode_t m)
{
	if (S_ISFIFO(m))
		return "FIFO";
	if (S_ISSOCK(m))
		return "socket";
	if (S_ISCHR(m))
		return "character device";
	if (S_ISBLK(m))
		return "block device";
	return "special file";
}

/* A directory entry as readdir gave it: its type, when the file system
 * tells, spares a stat of each regular file to walkers that need no size. */
struct dent {
	unsigned char type;    /* DT_* */
	ino_t ino;
	char name[];
};

static int cmp_dents(const void *a, const void *b)
{
	return strcmp((*(struct dent *const *)a)->name, (*(struct dent *const *)b)->name);
}

static void dents_free(struct dent **dents, size_t count)
{
	while (count)
		free(dents[--count]);
	free(dents);
}

/* Reads and sorts the entries of the directory open at fd. */
static int read_dents(int fd, struct dent ***out, size_t *count_out)
{
	int dupfd = dup(fd);
	DIR *d;
	struct dirent *de;
	struct dent **dents = NULL;
	size_t count = 0, cap = 0;

	if (dupfd < 0)
		return -1;
	d = fdopendir(dupfd);
	if (!d) {
		close(dupfd);
		return -1;
	}
	rewinddir(d);
	errno = 0;
	while ((de = readdir(d))) {
		size_t len;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (count == cap) {
			struct dent **n;

			cap = cap ? cap * 2 : 32;
			n = realloc(dents, cap * sizeof(*n));
			if (!n)
				goto fail;
			dents = n;
		}
		len = strlen(de->d_name);
		if (!(dents[count] = malloc(sizeof(struct dent) + len + 1)))
			goto fail;
		dents[count]->type = de->d_type;
		dents[count]->ino = de->d_ino;
		memcpy(dents[count]->name, de->d_name, len + 1);
		count++;
		errno = 0;
	}
	if (errno)
		goto fail;
	closedir(d);
	if (count > 1)
		qsort(dents, count, sizeof(*dents), cmp_dents);
	*out = dents;
	*count_out = count;
	return 0;
fail: {
	int saved = errno ? errno : ENOMEM;

	closedir(d);
	dents_free(dents, count);
	errno = saved;
	return -1;
}
}

static int visit(struct walker *w, int dirfd, const char *name, const struct stat *st, int via);

static int walk_dir(struct walker *w, int fd, const struct stat *st, int via_symlink)
{
	struct kist_walk_entry e;
	struct dent **dents = NULL;
	size_t count = 0;
	int rc;

	fill_entry(&e, w, KIST_ENTRY_DIR, st, via_symlink);
	rc = w->fn(w->ctx, &e);
	if (rc < 0) {
		w->stopped = 1;
		return -1;
	}
	if (rc > 0)
		return 0;
	if (w->depth >= WALK_MAX_DEPTH) {
		kist_findings_add(w->findings, KIST_SEV_FAILURE, "walk.too-deep", w->path,
				  "directories nested more than %d deep: not read", WALK_MAX_DEPTH);
		return 0;
	}
	if (read_dents(fd, &dents, &count) < 0) {
		kist_findings_add(w->findings, KIST_SEV_FAILURE, "walk.unreadable", w->path,
				  "cannot read directory: %s", strerror(errno));
		return 0;
	}
	w->stack[w->depth].dev = st->st_dev;
	w->stack[w->depth].ino = st->st_ino;
	w->depth++;
	for (size_t i = 0; i < count && !w->stopped; i++) {
		struct stat cst;
		size_t saved;

		if (path_push(w, dents[i]->name, &saved) < 0) {
			w->stopped = 1;
			break;
		}
		if (w->opt->files_unstated && dents[i]->type == DT_REG) {
			/* a regular file, as the directory says: no stat */
			memset(&cst, 0, sizeof(cst));
			cst.st_mode = S_IFREG;
			cst.st_dev = st->st_dev;
			cst.st_ino = dents[i]->ino;
			visit(w, fd, dents[i]->name, &cst, via_symlink);
		} else if (fstatat(fd, dents[i]->name, &cst, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				kist_findings_add(w->findings, KIST_SEV_WARNING, "walk.vanished", w->path,
						  "removed while the directory was read");
			else
				kist_findings_add(w->findings, KIST_SEV_FAILURE, "walk.unreadable", w->path,
						  "cannot stat: %s", strerror(errno));
		} else {
			visit(w, fd, dents[i]->name, &cst, via_symlink);
		}
		w->len = saved;
		w->path[w->len] = '\0';
	}
	w->depth--;
	dents_free(dents, count);
	if (w->stopped)
		return -1;
	fill_entry(&e, w, KIST_ENTRY_DIR_END, st, via_symlink);
	e.empty = count == 0;
	if (w->fn(w->ctx, &e) < 0) {
		w->stopped = 1;
		return -1;
	}
	return 0;
}

static int is_ancestor(const struct walker *w, const struct stat *st)
{
	for (int i = 0; i < w->depth; i++)
		if (w->stack[i].dev == st->st_dev && w->stack[i].ino == st->st_ino)
			return 1;
	return 0;
}

/* Visits one entry of the directory dirfd (already stat'ed without following). */
static int visit(struct walker *w, int dirfd, const char *name, const struct stat *st, int via)
{
	struct stat target;
	struct kist_walk_entry e;

	if (S_ISLNK(st->st_mode)) {
		if (!w->opt->follow_symlinks) {
			kist_findings_add(w->findings, KIST_SEV_WARNING, "walk.symlink", w->path,
					  "symbolic link not followed");
			return 0;
		}
		if (fstatat(dirfd, name, &target, 0) < 0 && errno == ELOOP) {
			kist_findings_add(w->findings, KIST_SEV_WARNING, "walk.symlink-loop", w->path,
					  "symbolic links loop without reaching a file; not followed");
			return 0;
		}
		if (fstatat(dirfd, name, &target, 0) < 0) {
			kist_findings_add(w->findings, KIST_SEV_ERROR, "walk.dangling-symlink", w->path,
					  "symbolic link to nothing: %s", strerror(errno));
			return 0;
		}
		if (S_ISDIR(target.st_mode) && is_ancestor(w, &target)) {
			kist_findings_add(w->findings, KIST_SEV_WARNING, "walk.symlink-loop", w->path,
					  "symbolic link loops back to a directory above it; not followed");
			return 0;
		}
		st = &target;
		via = 1;
	}
	if (S_ISREG(st->st_mode)) {
		fill_entry(&e, w, KIST_ENTRY_FILE, st, via);
		if (w->fn(w->ctx, &e) < 0)
			w->stopped = 1;
		return 0;
	}
	if (S_ISDIR(st->st_mode)) {
		int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (via ? 0 : O_NOFOLLOW));
		struct stat opened;

		if (fd < 0) {
			kist_findings_add(w->findings, KIST_SEV_FAILURE, "walk.unreadable", w->path,
					  "cannot open directory: %s", strerror(errno));
			return 0;
		}
		/* The directory we opened must be the one we looked at. */
		if (fstat(fd, &opened) < 0 || opened.st_dev != st->st_dev || opened.st_ino != st->st_ino) {
			kist_findings_add(w->findings, KIST_SEV_FAILURE, "walk.changed", w->path,
					  "directory replaced while it was being walked");
			close(fd);
			return 0;
		}
		walk_dir(w, fd, st, via);
		close(fd);
		return 0;
	}
	kist_findings_add(w->findings, KIST_SEV_WARNING, "walk.special-file", w->path,
			  "%s skipped: not a regular file", special_kind(st->st_mode));
	return 0;
}

int kist_walk(const char *root, const struct kist_walk_options *opt, kist_walk_fn fn, void *ctx,
	      struct kist_findings *findings, struct kist_error *err)
{
	static const struct kist_walk_options defaults;
	struct walker w = { .opt = opt ? opt : &defaults, .fn = fn, .ctx = ctx, .findings = findings };
	struct stat st;
	size_t saved;
	int rc = KIST_OK;

	if ((w.opt->follow_root ? stat(root, &st) : lstat(root, &st)) < 0)
		return kist_error_sys(err, errno, "%s", root);
	if (path_push(&w, root, &saved) < 0)
		return kist_error_set(err, KIST_FAILED, "out of memory");
	/* "dir/" and "dir" name the same root: drop trailing slashes. */
	while (w.len > 1 && w.path[w.len - 1] == '/')
		w.path[--w.len] = '\0';
	w.root_len = w.len;

	if (S_ISLNK(st.st_mode)) {
		kist_findings_add(findings, KIST_SEV_WARNING, "walk.symlink", w.path,
				  "symbolic link not followed");
	} else if (S_ISDIR(st.st_mode)) {
		int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
					    (w.opt->follow_root ? 0 : O_NOFOLLOW));

		if (fd < 0) {
			rc = kist_error_sys(err, errno, "%s", root);
			goto out;
		}
		walk_dir(&w, fd, &st, 0);
		close(fd);
	} else {
		const char *slash = strrchr(w.path, '/');
		struct kist_walk_entry e;

		/* A file given as the root: it is its own rel name. */
		w.root_len = slash ? (size_t)(slash - w.path) : 0;
		if (S_ISREG(st.st_mode)) {
			fill_entry(&e, &w, KIST_ENTRY_FILE, &st, 0);
			if (!slash)
				e.rel = w.path;
			if (fn(ctx, &e) < 0)
				w.stopped = 1;
		} else {
			kist_findings_add(findings, KIST_SEV_WARNING, "walk.special-file", w.path,
					  "%s skipped: not a regular file", special_kind(st.st_mode));
		}
	}
	if (w.stopped && rc == KIST_OK)
		rc = kist_error_set(err, KIST_FAILED, "walk of %s stopped", root);
out:
	free(w.path);
	return rc;
}

void kist_file_list_init(struct kist_file_list *l)
{
	memset(l, 0, sizeof(*l));
}

void kist_file_list_free(struct kist_file_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->files[i].path);
	free(l->files);
	kist_file_list_init(l);
}

int kist_file_list_add(struct kist_file_list *l, const char *path, uint64_t size)
{
	if (kist_grow(&l->files, l->count, &l->cap, sizeof(*l->files), 256) < 0)
		return -1;
	if (!(l->files[l->count].path = strdup(path)))
		return -1;
	l->files[l->count].size = size;
	l->count++;
	l->bytes += size;
	return 0;
}

static int collect(void *ctx, const struct kist_walk_entry *e)
{
	if (e->type != KIST_ENTRY_FILE)
		return 0;
	return kist_file_list_add(ctx, e->path, e->size);
}

int kist_walk_collect(const char *root, const struct kist_walk_options *opt,
		      struct kist_file_list *l, struct kist_findings *findings, struct kist_error *err)
{
	return kist_walk(root, opt, collect, l, findings, err);
}
