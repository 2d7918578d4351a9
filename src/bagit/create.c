/* Making a bag (RFC 8493): in place, by moving the payload into data/, or to
 * a new destination, by copying (or hard-linking) it.
 *
 * Everything that could make us refuse (symbolic links, special files, names
 * that clash under Unicode normalization or case folding, names that are not
 * UTF-8, excluded entries in place) is found by one scan BEFORE anything is
 * moved, copied or written.
 *
 * In place, crash safety rests on a journal, SOURCE/.kist-bagging, and a
 * staging directory, SOURCE/.kist-bagging.data:
 *
 *   1. the journal is written (phase "prepare"), atomically;
 *   2. the staging directory is made, and the journal rewritten (phase
 *      "move") with the staging directory's device and inode;
 *   3. each top-level payload entry is renamed into the staging directory,
 *      one whole entry at a time (rename(2) is atomic, and never replaces:
 *      RENAME_NOREPLACE);
 *   4. the staging directory is renamed to data (a pre-existing top-level
 *      "data" is payload and so already sits in staging as data/data);
 *   5. the payload is hashed, every tag file is written into a scratch
 *      directory (SOURCE/.kist-bagging.d), hashed there for the tag
 *      manifests, and renamed into the bag, bagit.txt last;
 *   6. the journal is removed.
 *
 * Killed at any moment, every payload entry is at its old path or in the
 * staging directory / data, exactly once; the same command run again reads
 * the journal, recognises the staging directory (or data, by the inode the
 * journal holds) and goes on from where it stopped.
 *
 * To a destination, DEST/.kist-bagging marks a bag being made; a failure
 * removes what was made, and a run that finds its own journal in DEST after
 * a crash starts that destination over. bagit.txt is always written last. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <utf8proc.h>

#include <kist/kist.h>
#include <kist/bag.h>
#include <kist/error.h>
#include <kist/finding.h>
#include <kist/path.h>
#include <kist/pipeline.h>
#include <kist/premis.h>
#include <kist/progress.h>
#include <kist/walk.h>

#include "identify-pass.h"
#include "pack-pass.h"

#define JOURNAL ".kist-bagging"
#define JOURNAL_TMP ".kist-bagging.tmp"
#define STAGING ".kist-bagging.data"
#define SCRATCH ".kist-bagging.d"
#define MAGIC "kist-bagging 1\n"
#define RESERVED_PREFIX ".kist-bagging"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

/* --- small helpers ------------------------------------------------------------ */

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in the directory dirfd/name ("." for dirfd itself). */
static int list_dir(int dirfd, const char *name, char ***out, size_t *count)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	DIR *d;
	struct dirent *de;
	char **v = NULL;
	size_t n = 0, cap = 0;

	*out = NULL;
	*count = 0;
	if (fd < 0)
		return -1;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return -1;
	}
	errno = 0;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			char **nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));

			if (!nv)
				goto fail;
			v = nv;
		}
		if (!(v[n] = strdup(de->d_name)))
			goto fail;
		n++;
		errno = 0;
	}
	if (errno)
		goto fail;
	closedir(d);
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_str);
	*out = v;
	*count = n;
	return 0;
fail: {
	int e = errno ? errno : ENOMEM;

	closedir(d);
	while (n)
		free(v[--n]);
	free(v);
	errno = e;
	return -1;
}
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* rm -rf of dirfd/name, never following a symbolic link. */
static int remove_tree(int dirfd, const char *name)
{
	struct stat st;
	char **names;
	size_t n;
	int fd, rc = 0;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0);
	if (list_dir(dirfd, name, &names, &n) < 0)
		return -1;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		free_names(names, n);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (remove_tree(fd, names[i]) < 0)
			rc = -1;
	close(fd);
	free_names(names, n);
	if (rc == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0)
		rc = -1;
	return rc;
}

/* Removes everything in the directory dirfd: bagit.txt first (nothing
 * half-removed looks like a bag), the journal last (killed on the way, what
 * is left is still known as ours). */
static int empty_dir(int dirfd)
{
	char **names;
	size_t n;
	int rc = 0;

	if (unlinkat(dirfd, "bagit.txt", 0) < 0 && errno != ENOENT)
		return -1;
	if (list_dir(dirfd, ".", &names, &n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], JOURNAL) != 0 && remove_tree(dirfd, names[i]) < 0)
			rc = -1;
	free_names(names, n);
	if (rc == 0 && (unlinkat(dirfd, JOURNAL, 0) < 0 && errno != ENOENT))
		rc = -1;
	if (rc == 0)
		fsync(dirfd);
	return rc;
}

static int rename_noreplace(int from, const char *a, int to, const char *b)
{
	struct stat st;

	if (renameat2(from, a, to, b, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* A file system without RENAME_NOREPLACE: check, then rename. */
	if (fstatat(to, b, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		errno = EEXIST;
		return -1;
	}
	return renameat(from, a, to, b);
}

/* --- the journal ---------------------------------------------------------------- */

enum phase { PHASE_NONE, PHASE_PREPARE, PHASE_MOVE, PHASE_COPY };

struct journal {
	enum phase phase;
	unsigned long long dev, ino;   /* the staging directory (PHASE_MOVE) */
};

/* Reads dirfd/name; returns 1 when it is a kist journal, 0 when it is not
 * one (or is empty: a journal cut off before its first write), -1 if absent
 * or unreadable (errno). */
static int journal_read(int dirfd, const char *name, struct journal *j, size_t *size)
{
	char buf[512];
	ssize_t n;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat st;

	memset(j, 0, sizeof(*j));
	*size = 0;
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		*size = SIZE_MAX;
		return 0;
	}
	*size = (size_t)st.st_size;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return 0;
	buf[n] = '\0';
	if (strncmp(buf, MAGIC, strlen(MAGIC)) != 0)
		return 0;
	if (strstr(buf, "\nphase prepare\n"))
		j->phase = PHASE_PREPARE;
	else if (strstr(buf, "\nphase copy\n"))
		j->phase = PHASE_COPY;
	else if (strstr(buf, "\nphase move\n")) {
		const char *s = strstr(buf, "\nstaging ");

		if (!s || sscanf(s, "\nstaging %llu %llu", &j->dev, &j->ino) != 2)
			return 0;
		j->phase = PHASE_MOVE;
	} else {
		return 0;
	}
	return 1;
}

/* Writes the journal through JOURNAL_TMP, fsync, rename, fsync. */
static int journal_write(int dirfd, const struct journal *j, struct kist_error *err)
{
	char text[256];
	int len, fd, rc = KIST_OK;

	len = snprintf(text, sizeof(text),
		       MAGIC "# kist bag create is working here; run the same command again to finish.\n"
			     "phase %s\n",
		       j->phase == PHASE_PREPARE ? "prepare" : j->phase == PHASE_MOVE ? "move" : "copy");
	if (j->phase == PHASE_MOVE)
		len += snprintf(text + len, sizeof(text) - (size_t)len, "staging %llu %llu\n", j->dev,
				j->ino);
	fd = openat(dirfd, JOURNAL_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return kist_error_sys(err, errno, "cannot write the journal %s", JOURNAL_TMP);
	if (write(fd, text, (size_t)len) != len || fsync(fd) < 0)
		rc = kist_error_sys(err, errno ? errno : EIO, "cannot write the journal %s", JOURNAL_TMP);
	if (close(fd) < 0 && rc == KIST_OK)
		rc = kist_error_sys(err, errno, "cannot write the journal %s", JOURNAL_TMP);
	if (rc == KIST_OK && renameat(dirfd, JOURNAL_TMP, dirfd, JOURNAL) < 0)
		rc = kist_error_sys(err, errno, "cannot write the journal %s", JOURNAL);
	if (rc != KIST_OK) {
		unlinkat(dirfd, JOURNAL_TMP, 0);
		return rc;
	}
	fsync(dirfd);
	return KIST_OK;
}

/* --- the scan ------------------------------------------------------------------- */

struct entry {
	char *rel;            /* below the payload root: "a/b.txt" */
	uint64_t size;
	mode_t mode;
	struct timespec mtime;
	unsigned is_dir : 1;
	unsigned keep : 1;    /* an empty directory that gets a .keep */
	unsigned shown : 1;   /* directory with content (or a .keep): made in DEST */
	unsigned virt : 1;    /* a .keep file still to be made */
};

struct scan {
	const struct kist_bag_create_options *opt;
	struct kist_findings *findings;
	int in_place;
	int follow;
	char *source_real;    /* for symlink-outside warnings */
	struct entry *v;
	size_t n, cap;
	/* the walk of one top-level entry */
	const char *top;      /* its name */
	const char *root;     /* the path walked */
	int root_dir;
	size_t stack[4096];   /* per open directory: its entry index */
	size_t counts[4096];  /* ... and how many represented children */
	int depth;
	int oom;
};

static int add_entry(struct scan *s, const char *rel, const struct kist_walk_entry *e, int is_dir)
{
	struct entry *x;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct entry *nv = realloc(s->v, cap * sizeof(*nv));

		if (!nv)
			return -1;
		s->v = nv;
		s->cap = cap;
	}
	x = &s->v[s->n];
	memset(x, 0, sizeof(*x));
	if (!(x->rel = strdup(rel)))
		return -1;
	x->is_dir = (unsigned)is_dir;
	if (e) {
		x->size = e->size;
		x->mode = e->mode;
		x->mtime.tv_sec = (time_t)e->mtime_sec;
		x->mtime.tv_nsec = e->mtime_nsec;
	} else {
		x->mode = S_IFREG | 0644;
	}
	s->n++;
	return 0;
}

static void free_entries(struct scan *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].rel);
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

static int excluded(const struct kist_bag_create_options *opt, const char *rel)
{
	const char *base = strrchr(rel, '/');

	base = base ? base + 1 : rel;
	if (!opt->exclude)
		return 0;
	for (const char *const *p = opt->exclude; *p; p++)
		if (fnmatch(*p, rel, 0) == 0 || fnmatch(*p, base, 0) == 0)
			return 1;
	return 0;
}

static int is_os_litter(const char *rel)
{
	const char *base = strrchr(rel, '/');

	base = base ? base + 1 : rel;
	return strcmp(base, ".DS_Store") == 0 || strcmp(base, "Thumbs.db") == 0 ||
	       strcmp(base, "desktop.ini") == 0 || strncmp(base, "._", 2) == 0;
}

static void note_child(struct scan *s)
{
	if (s->depth > 0)
		s->counts[s->depth - 1]++;
}

static int on_walk(void *ctx, const struct kist_walk_entry *e)
{
	struct scan *s = ctx;
	char *rel;
	int rc = 0;

	if (e->type == KIST_ENTRY_DIR && e->rel[0] == '\0')
		s->root_dir = 1;
	if (e->rel[0] == '\0' || !s->root_dir)
		rel = strdup(s->top);
	else
		rel = xasprintf("%s/%s", s->top, e->rel);
	if (!rel) {
		s->oom = 1;
		return -1;
	}
	switch (e->type) {
	case KIST_ENTRY_DIR:
		if (excluded(s->opt, rel)) {
			if (s->in_place)
				kist_findings_add(s->findings, KIST_SEV_ERROR, "create.exclude-in-place", rel,
						  "excluded, but bagging in place would move it into data/ "
						  "unlisted; bag to a destination instead");
			rc = 1;
			break;
		}
		if (s->depth >= (int)(sizeof(s->stack) / sizeof(s->stack[0]))) {
			kist_findings_add(s->findings, KIST_SEV_FAILURE, "create.too-deep", rel,
					  "directories nested too deep");
			rc = 1;
			break;
		}
		if (add_entry(s, rel, e, 1) < 0) {
			s->oom = 1;
			rc = -1;
			break;
		}
		s->stack[s->depth] = s->n - 1;
		s->counts[s->depth] = 0;
		s->depth++;
		break;
	case KIST_ENTRY_DIR_END: {
		size_t idx;
		struct entry *d;

		if (s->depth == 0)
			break;
		s->depth--;
		idx = s->stack[s->depth];
		d = &s->v[idx];
		if (s->counts[s->depth] > 0) {
			d->shown = 1;
			note_child(s);
		} else if (s->opt->keep_empty_dirs) {
			char *keep = xasprintf("%s/.keep", d->rel);

			d->shown = d->keep = 1;
			if (!keep || add_entry(s, keep, NULL, 0) < 0) {
				free(keep);
				s->oom = 1;
				rc = -1;
				break;
			}
			free(keep);
			s->v[s->n - 1].virt = 1;
			note_child(s);
		} else {
			kist_findings_add(s->findings, KIST_SEV_WARNING, "create.empty-dir", d->rel,
					  "empty directory: not in the bag (--keep-empty-dirs keeps it "
					  "with a .keep file)");
		}
		break;
	}
	case KIST_ENTRY_FILE:
		if (excluded(s->opt, rel)) {
			if (s->in_place && strchr(rel, '/'))
				kist_findings_add(s->findings, KIST_SEV_ERROR, "create.exclude-in-place", rel,
						  "excluded, but bagging in place would move it into data/ "
						  "unlisted; bag to a destination instead");
			break;
		}
		if (is_os_litter(rel))
			kist_findings_add(s->findings, KIST_SEV_WARNING, "create.os-litter", rel,
					  "operating system litter, bagged as payload (--exclude leaves it out)");
		if (e->via_symlink && s->source_real) {
			char *real = realpath(e->path, NULL);
			size_t len = strlen(s->source_real);

			if (real && !(strncmp(real, s->source_real, len) == 0 &&
				      (real[len] == '/' || real[len] == '\0')))
				kist_findings_add(s->findings, KIST_SEV_WARNING, "create.symlink-outside", rel,
						  "reached through a symbolic link to %s, outside the source; "
						  "its content is bagged",
						  real);
			free(real);
		}
		if (add_entry(s, rel, e, 0) < 0) {
			s->oom = 1;
			rc = -1;
			break;
		}
		note_child(s);
		break;
	}
	free(rel);
	return rc;
}

/* Walk findings, in the words of bag creation: what the walk skips with a
 * warning, creation refuses. */
static void translate(struct scan *s, struct kist_findings *wf)
{
	size_t rootlen = strlen(s->root);

	for (size_t i = 0; i < kist_findings_count(wf); i++) {
		const struct kist_finding *f = kist_findings_get(wf, i);
		const char *code = f->code, *msg = f->message ? f->message : "";
		enum kist_severity sev = f->severity;
		char *rel = NULL;

		if (f->path && strncmp(f->path, s->root, rootlen) == 0 &&
		    (f->path[rootlen] == '/' || f->path[rootlen] == '\0'))
			rel = xasprintf("%s%s", s->top, f->path + rootlen);
		if (strcmp(code, "walk.symlink") == 0) {
			code = "create.symlink";
			sev = KIST_SEV_ERROR;
			msg = s->in_place ? "symbolic link: refused (a bag holds files; replace it with "
					    "its target, or bag to a destination with --follow-symlinks)"
					  : "symbolic link: refused (--follow-symlinks bags its target's content)";
		} else if (strcmp(code, "walk.symlink-loop") == 0) {
			code = "create.symlink-loop";
			sev = KIST_SEV_ERROR;
		} else if (strcmp(code, "walk.dangling-symlink") == 0) {
			code = "create.dangling-symlink";
			sev = KIST_SEV_ERROR;
		} else if (strcmp(code, "walk.special-file") == 0) {
			code = "create.special-file";
			sev = KIST_SEV_ERROR;
			msg = strstr(msg, "FIFO")	    ? "FIFO: refused, a bag holds regular files"
			      : strstr(msg, "socket")	    ? "socket: refused, a bag holds regular files"
			      : strstr(msg, "device")	    ? "device: refused, a bag holds regular files"
							    : "special file: refused, a bag holds regular files";
		}
		kist_findings_add(s->findings, sev, code, rel ? rel : f->path, "%s", msg);
		free(rel);
	}
}

/* Walks base/top, adding its entries under the name top. */
static int scan_top(struct scan *s, const char *base, const char *top, struct kist_error *err)
{
	struct kist_walk_options wo = { .follow_symlinks = s->follow, .follow_root = s->follow };
	struct kist_findings *wf = kist_findings_new();
	struct kist_error werr;
	char *root = kist_path_join(base, top);
	int rc = KIST_OK;

	if (!wf || !root) {
		kist_findings_free(wf);
		free(root);
		return kist_error_set(err, KIST_FAILED, "out of memory");
	}
	s->top = top;
	s->root = root;
	s->root_dir = 0;
	s->depth = 0;
	kist_error_clear(&werr);
	if (excluded(s->opt, top)) {
		/* at the top level: left out (in place: left beside the bag) */
	} else if (kist_walk(root, &wo, on_walk, s, wf, &werr) != KIST_OK) {
		struct stat st;

		if (s->oom) {
			rc = kist_error_set(err, KIST_FAILED, "out of memory");
		} else if (werr.sys_errno == ELOOP) {
			kist_findings_add(s->findings, KIST_SEV_ERROR, "create.symlink-loop", top,
					  "symbolic links loop without reaching a file");
		} else if (werr.sys_errno == ENOENT && lstat(root, &st) == 0 && S_ISLNK(st.st_mode)) {
			kist_findings_add(s->findings, KIST_SEV_ERROR, "create.dangling-symlink", top,
					  "symbolic link to nothing");
		} else {
			kist_findings_add(s->findings, KIST_SEV_FAILURE, "create.unreadable", top, "%s",
					  werr.message);
		}
	}
	translate(s, wf);
	kist_findings_free(wf);
	free(root);
	return rc;
}

struct key {
	char *key;     /* NFC + case fold */
	size_t idx;
};

static int cmp_key(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

static size_t dir_len(const char *p)
{
	const char *slash = strrchr(p, '/');

	return slash ? (size_t)(slash - p) : 0;
}

/* Names a case-insensitive or normalizing file system could not tell apart,
 * and names that are not UTF-8. Only pairs in the same directory are
 * reported: a clash of two directories is reported once, not for each pair
 * of files below them. */
static int check_names(struct scan *s, struct kist_error *err)
{
	struct key *keys = calloc(s->n ? s->n : 1, sizeof(*keys));
	size_t nk = 0;
	int rc = KIST_OK;

	if (!keys)
		return kist_error_set(err, KIST_FAILED, "out of memory");
	for (size_t i = 0; i < s->n; i++) {
		utf8proc_uint8_t *k = NULL;
		const char *rel = s->v[i].rel;

		if (s->v[i].virt)
			continue;
		if (!kist_utf8_valid(rel, strlen(rel))) {
			kist_findings_add(s->findings, KIST_SEV_ERROR, "create.invalid-utf8", rel,
					  "name is not valid UTF-8; manifests are UTF-8 text: rename it");
			continue;
		}
		if (utf8proc_map((const utf8proc_uint8_t *)rel, 0, &k,
				 UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE |
					 UTF8PROC_CASEFOLD) < 0) {
			kist_findings_add(s->findings, KIST_SEV_ERROR, "create.invalid-utf8", rel,
					  "name cannot be normalized: rename it");
			continue;
		}
		keys[nk].key = (char *)k;
		keys[nk].idx = i;
		nk++;
	}
	if (nk > 1)
		qsort(keys, nk, sizeof(*keys), cmp_key);
	for (size_t i = 0; i < nk;) {
		size_t j = i + 1;

		while (j < nk && strcmp(keys[j].key, keys[i].key) == 0)
			j++;
		for (size_t a = i; a < j; a++)
			for (size_t b = a + 1; b < j; b++) {
				const char *p = s->v[keys[a].idx].rel, *q = s->v[keys[b].idx].rel;
				size_t dl = dir_len(p);
				utf8proc_uint8_t *np = NULL, *nq = NULL;
				int nfc_same;

				if (dl != dir_len(q) || strncmp(p, q, dl) != 0)
					continue;
				np = utf8proc_NFC((const utf8proc_uint8_t *)p);
				nq = utf8proc_NFC((const utf8proc_uint8_t *)q);
				nfc_same = np && nq && strcmp((char *)np, (char *)nq) == 0;
				free(np);
				free(nq);
				if (strcmp(p, q) > 0) {
					const char *t = p;
					p = q;
					q = t;
				}
				kist_findings_add(s->findings, KIST_SEV_ERROR, "create.name-clash", q,
						  "differs from %s only by %s: one would overwrite the "
						  "other on many file systems; rename one",
						  p, nfc_same ? "Unicode normalization" : "case");
			}
		i = j;
	}
	for (size_t i = 0; i < nk; i++)
		free(keys[i].key);
	free(keys);
	return rc;
}

/* --- hashing, copying -------------------------------------------------------------- */

struct copy_state {
	int fd;
	int err;            /* errno of a failed write */
	int linked;
	const struct entry *e;
	uint64_t flushed;   /* bytes handed to writeback so far */
};

/* Writeback of a copy starts every WRITEBACK_STEP bytes, while hashing goes
 * on, so that the final syncfs waits for the disk's remainder only instead
 * of the whole payload. */
#define WRITEBACK_STEP (8u << 20)

struct hashing {
	struct scan *s;
	size_t *file_of;    /* item index -> entry index */
	struct kist_manifest_line *lines[KIST_ALG_COUNT];
	size_t *line_of;    /* entry index -> line index */
	kist_algset algs;
	struct kist_findings *findings;
	/* copying to DEST */
	int srcfd, destfd;
	int link, follow;
	atomic_int link_failed;
	struct copy_state *states;
	struct id_pass *idp;          /* identifying formats, or NULL */
	struct kist_pack_pass *pack;  /* writing the archive too, or NULL */
	/* metadata/premis.xml, its file objects written as results come in */
	struct kist_premis_writer *premis;
	size_t premis_next;           /* the next scan entry to write */
	size_t premis_files;
	int premis_failed;
	uint64_t bytes, files;
	int failed;
};

static int premis_files_upto(struct hashing *h, size_t end);

static char *dest_name(const char *rel)
{
	return xasprintf("data/%s", rel);
}

static void *copy_open(void *arg, size_t index, const char *path, uint64_t size)
{
	struct hashing *h = arg;
	struct copy_state *st = &h->states[index];
	const struct entry *e = &h->s->v[h->file_of[index]];
	char *name = dest_name(e->rel);

	(void)size;
	st->fd = -1;
	st->e = e;
	if (!name) {
		st->err = ENOMEM;
		return st;
	}
	if (h->link && !atomic_load(&h->link_failed)) {
		if (linkat(h->srcfd, path, h->destfd, name, h->follow ? AT_SYMLINK_FOLLOW : 0) == 0) {
			st->linked = 1;
			free(name);
			return st;
		}
		if (errno == EXDEV || errno == EPERM || errno == EMLINK || errno == ENOTSUP ||
		    errno == EOPNOTSUPP) {
			int why = errno;

			if (!atomic_exchange(&h->link_failed, 1))
				kist_findings_add(h->findings, KIST_SEV_WARNING, "create.link-fallback", path,
						  "cannot hard-link into the destination (%s): copying "
						  "instead",
						  strerror(why));
		} else {
			st->err = errno;
			free(name);
			return st;
		}
	}
	st->fd = openat(h->destfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
			(e->mode & 0777) | 0600);
	if (st->fd < 0)
		st->err = errno;
	free(name);
	return st;
}

static void copy_update(void *state, const unsigned char *buf, size_t len, uint64_t offset)
{
	struct copy_state *st = state;
	uint64_t end = offset + len;

	if (st->fd < 0 || st->err)
		return;
	while (len) {
		ssize_t n = write(st->fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			st->err = errno;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
	if (end - st->flushed >= WRITEBACK_STEP) {
		sync_file_range(st->fd, (off_t)st->flushed, (off_t)(end - st->flushed),
				SYNC_FILE_RANGE_WRITE);
		st->flushed = end;
	}
}

static void copy_close(void *state, int failed)
{
	struct copy_state *st = state;

	if (st->fd < 0)
		return;
	if (!failed && !st->err) {
		/* the copy keeps the file's permissions and modification time;
		 * the rest of it goes to the disk now */
		struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, st->e->mtime };

		if (fchmod(st->fd, st->e->mode & 0777) < 0 || futimens(st->fd, ts) < 0)
			st->err = errno;
		sync_file_range(st->fd, (off_t)st->flushed, 0, SYNC_FILE_RANGE_WRITE);
	}
	if (close(st->fd) < 0 && !st->err)
		st->err = errno;
	st->fd = -1;
}

/* The consumers over each file's blocks: copying (to DEST), packing,
 * identifying; two or three of them are joined by tees, in that order. */
static const struct kist_consumer *join_consumers(struct hashing *h, const struct kist_consumer *copy,
						  struct kist_tee tees[2])
{
	const struct kist_consumer *c = h->states ? copy : NULL;

	if (h->pack)
		c = c ? kist_tee_init(&tees[0], c, pack_pass_consumer(h->pack)) : pack_pass_consumer(h->pack);
	if (h->idp)
		c = c ? kist_tee_init(&tees[1], c, id_pass_consumer(h->idp)) : id_pass_consumer(h->idp);
	return c;
}

/* A delivered state taken apart: the copy's state (the identifier's answer
 * is kept for line li; the packer's state is the packer's own). */
static void *split_state(struct hashing *h, void *state, size_t li)
{
	if (h->idp && (h->states || h->pack)) {
		struct kist_tee_state *t = state;

		id_pass_take(h->idp, t ? t->second : NULL, li);
		state = t ? t->first : NULL;
		kist_tee_state_free(t);
	} else if (h->idp) {
		id_pass_take(h->idp, state, li);
		state = NULL;
	}
	if (h->states && h->pack) {
		struct kist_tee_state *t = state;

		state = t ? t->first : NULL;
		kist_tee_state_free(t);
	}
	return h->states ? state : NULL;
}

static int stop_hashing(struct hashing *h)
{
	h->failed = 1;
	if (h->pack)
		pack_pass_abort(h->pack, "the bag could not be made");
	return 1;
}

static int on_hashed(void *ctx, const struct kist_hash_result *r)
{
	struct hashing *h = ctx;
	size_t ei = h->file_of[r->index];
	const struct entry *e = &h->s->v[ei];
	size_t li = h->line_of[ei];
	void *copied = split_state(h, r->consumer_state, li);
	if (h->states && !copied && !r->fail_code) {
		kist_findings_add(h->findings, KIST_SEV_FAILURE, "create.write-failed", e->rel,
				  "cannot copy into the destination: out of memory");
		return stop_hashing(h);
	}
	if (r->fail_code) {
		kist_findings_add(h->findings, KIST_SEV_FAILURE,
				  strcmp(r->fail_code, "file.missing") == 0 ? "file.vanished" : r->fail_code,
				  e->rel, "%s", r->fail_message);
		return stop_hashing(h);
	}
	if (h->states) {
		struct copy_state *st = &h->states[r->index];

		if (st->err) {
			kist_findings_add(h->findings, KIST_SEV_FAILURE, "create.write-failed", e->rel,
					  "cannot write into the destination: %s", strerror(st->err));
			return stop_hashing(h);
		}
	}
	for (int a = 0; a < KIST_ALG_COUNT; a++)
		if (h->algs & KIST_ALG_BIT(a))
			memcpy(h->lines[a][li].digest, r->digest[a], kist_alg_size(a));
	h->bytes += r->bytes;
	h->files++;
	if (h->premis && premis_files_upto(h, ei + 1) < 0) {
		h->premis_failed = 1;
		return 1;
	}
	return 0;
}

/* --- writing the tag files ----------------------------------------------------------- */

static int build_info(const struct kist_bag_create_options *opt, uint64_t bytes, uint64_t files,
		      struct kist_bag_info *info, struct kist_error *err)
{
	char buf[128];
	time_t now = time(NULL);
	struct tm tm;

	kist_bag_info_init(info);
	if (opt->info)
		for (size_t i = 0; i < opt->info->count; i++)
			if (kist_bag_info_add(info, opt->info->tags[i].label, opt->info->tags[i].value) < 0)
				goto oom;
	if (!kist_bag_info_get(info, "Bagging-Date")) {
		localtime_r(&now, &tm);
		strftime(buf, sizeof(buf), "%Y-%m-%d", &tm);
		if (kist_bag_info_add(info, "Bagging-Date", buf) < 0)
			goto oom;
	}
	kist_bag_size(bytes, buf, sizeof(buf));
	if (kist_bag_info_add(info, "Bag-Size", buf) < 0)
		goto oom;
	kist_bag_oxum(bytes, files, buf, sizeof(buf));
	if (kist_bag_info_add(info, "Payload-Oxum", buf) < 0)
		goto oom;
	if (!kist_bag_info_get(info, "Bag-Software-Agent")) {
		if (PACKAGE_URL[0])
			snprintf(buf, sizeof(buf), "kist %s <%s>", kist_version(), PACKAGE_URL);
		else
			snprintf(buf, sizeof(buf), "kist %s", kist_version());
		if (kist_bag_info_add(info, "Bag-Software-Agent", buf) < 0)
			goto oom;
	}
	return KIST_OK;
oom:
	kist_bag_info_free(info);
	return kist_error_set(err, KIST_FAILED, "out of memory");
}

struct taghash {
	struct kist_manifest_line *lines[KIST_ALG_COUNT];
	size_t first;       /* lines of item i are at first + i */
	kist_algset algs;
	const char *fail;
	char message[300];
};

static int on_tag_hashed(void *ctx, const struct kist_hash_result *r)
{
	struct taghash *t = ctx;

	if (r->fail_code) {
		t->fail = r->path;
		snprintf(t->message, sizeof(t->message), "%s", r->fail_message);
		return 1;
	}
	for (int a = 0; a < KIST_ALG_COUNT; a++)
		if (t->algs & KIST_ALG_BIT(a))
			memcpy(t->lines[a][t->first + r->index].digest, r->digest[a], kist_alg_size(a));
	return 0;
}

#define PREMIS_DIR "metadata"
#define PREMIS_FILE "metadata/premis.xml"

/* metadata/premis.xml in the scratch directory, begun before the payload is
 * read: its file objects are written while the workers hash (results come
 * in scan order), and every byte is hashed for the tag manifests on its way
 * to the file, so that a large document (2 KB a file) adds no pass of its
 * own at the end. */
static int premis_begin(struct hashing *h, int sfd, struct kist_error *err)
{
	if (mkdirat(sfd, PREMIS_DIR, 0755) < 0 && errno != EEXIST)
		return kist_error_sys(err, errno, "cannot make %s", PREMIS_DIR);
	if (!(h->premis = kist_premis_writer_new_hashed(sfd, PREMIS_FILE, h->algs, err)))
		return err->status;
	return KIST_OK;
}

/* The file objects of scan entries [h->premis_next, end): every one before
 * end is hashed by now, or made empty (a .keep in DEST), or a directory. */
static int premis_files_upto(struct hashing *h, size_t end)
{
	for (; h->premis_next < end; h->premis_next++) {
		const struct entry *e = &h->s->v[h->premis_next];
		struct kist_premis_file f = { 0 };
		size_t li = h->line_of[h->premis_next];

		if (e->is_dir)
			continue;
		f.algs = h->algs;
		for (int a = 0; a < KIST_ALG_COUNT; a++)
			if (h->algs & KIST_ALG_BIT(a)) {
				f.path = h->lines[a][li].path;
				f.digest[a] = h->lines[a][li].digest;
			}
		f.original_name = e->virt ? NULL : e->rel;
		f.size = e->virt ? 0 : e->size;
		if (h->idp)
			id_pass_format(h->idp, li, &f);
		if (kist_premis_write_file(h->premis, &f) < 0)
			return -1;
		h->premis_files++;
	}
	return 0;
}

/* The rest of premis.xml once the payload is hashed: the creation, digest
 * and identification events, the agents. digest gets the document's. */
static int premis_end(struct hashing *h, const struct kist_bag_create_options *opt,
		      const struct kist_bag_info *info, unsigned char (*digest)[KIST_DIGEST_MAX],
		      struct kist_error *err)
{
	struct kist_premis_writer *w = h->premis;
	struct kist_premis_agent agents[3];
	size_t nagents = 0;
	char detail[256];
	size_t dl = 0;
	const char *org = kist_bag_info_get(info, "Source-Organization");

	if (h->premis_failed || premis_files_upto(h, h->s->n) < 0)
		goto bad;
	kist_premis_agent_kist(&agents[nagents++]);
	if (org && *org)
		agents[nagents++] = (struct kist_premis_agent){ KIST_PREMIS_ORGANIZATION, org, NULL };
	if (kist_premis_agent_person(&agents[nagents], opt->agent) == 0)
		nagents++;
	dl = (size_t)snprintf(detail, sizeof(detail), "%zu files, %llu bytes:", h->premis_files,
			      (unsigned long long)h->bytes);
	for (int a = 0; a < KIST_ALG_COUNT && dl < sizeof(detail); a++)
		if (h->algs & KIST_ALG_BIT(a))
			dl += (size_t)snprintf(detail + dl, sizeof(detail) - dl, " %s", kist_alg_name(a));
	{
		struct kist_premis_event ipc = { .type = KIST_PREMIS_EV_IPC, .outcome = KIST_PREMIS_SUCCESS,
						 .outcome_detail = "bag made (BagIt 1.0)", .agents = agents,
						 .nagents = nagents, .object = KIST_PREMIS_BAG_OBJECT };
		struct kist_premis_event mes = ipc, fid = ipc;

		mes.type = KIST_PREMIS_EV_MES;
		mes.outcome_detail = detail;
		if (kist_premis_write_event(w, &ipc) < 0 || kist_premis_write_event(w, &mes) < 0)
			goto bad;
		if (h->idp) {
			id_pass_event(h->idp, &fid);
			if (kist_premis_write_event(w, &fid) < 0)
				goto bad;
		}
	}
	for (size_t i = 0; i < nagents; i++)
		if (kist_premis_write_agent(w, &agents[i]) < 0)
			goto bad;
	h->premis = NULL;   /* finish frees it, whatever happens */
	return kist_premis_writer_finish_digests(w, digest, err);
bad:
	return kist_error_set(err, KIST_FAILED, "cannot write %s", PREMIS_FILE);
}

/* The scratch directory the tag files are made in, empty. */
static int open_scratch(int bagfd, int *sfd, struct kist_error *err)
{
	if (remove_tree(bagfd, SCRATCH) < 0)
		return kist_error_sys(err, errno, "cannot clear %s", SCRATCH);
	if (mkdirat(bagfd, SCRATCH, 0755) < 0 ||
	    (*sfd = openat(bagfd, SCRATCH, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return kist_error_sys(err, errno, "cannot make %s", SCRATCH);
	return KIST_OK;
}

/* Writes every tag file into the scratch directory sfd (where premis.xml,
 * whose digests are given when it is there, was written already), hashes
 * them there for the tag manifests, and renames them into the bag,
 * bagit.txt last. */
static int write_tag_files(int bagfd, int sfd, struct hashing *h, size_t n,
			   const struct kist_bag_info *info, unsigned jobs,
			   unsigned char (*premis_digest)[KIST_DIGEST_MAX], struct kist_error *err)
{
	char names[2 * KIST_ALG_COUNT + 3][64];
	size_t nnames = 0, ntag, first = 0;
	struct kist_hash_item items[KIST_ALG_COUNT + 3];
	struct kist_pipeline_options po;
	kist_algset algs = h->algs;
	struct taghash t = { .algs = algs };
	int rc = KIST_OK;

	/* premis.xml is hashed already: the pipeline takes the rest */
	if (premis_digest) {
		snprintf(names[nnames++], sizeof(names[0]), PREMIS_FILE);
		first = 1;
	}
	for (int a = 0; a < KIST_ALG_COUNT; a++) {
		if (!(algs & KIST_ALG_BIT(a)))
			continue;
		if ((rc = kist_bag_write_manifest(sfd, a, 0, h->lines[a], n, err)) != KIST_OK)
			goto out;
		snprintf(names[nnames++], sizeof(names[0]), "manifest-%s.txt", kist_alg_bagit_name(a));
	}
	if ((rc = kist_bag_write_info(sfd, "bag-info.txt", info, err)) != KIST_OK)
		goto out;
	snprintf(names[nnames++], sizeof(names[0]), "bag-info.txt");
	if ((rc = kist_bag_write_bagit_txt(sfd, err)) != KIST_OK)
		goto out;
	snprintf(names[nnames++], sizeof(names[0]), "bagit.txt");

	ntag = nnames;
	for (size_t i = 0; i < ntag; i++) {
		items[i].path = names[i];
		items[i].size = UINT64_MAX;
	}
	for (int a = 0; a < KIST_ALG_COUNT; a++)
		if (algs & KIST_ALG_BIT(a)) {
			if (!(t.lines[a] = calloc(ntag, sizeof(*t.lines[a])))) {
				rc = kist_error_set(err, KIST_FAILED, "out of memory");
				goto out;
			}
			for (size_t i = 0; i < ntag; i++)
				t.lines[a][i].path = names[i];
			if (premis_digest)
				memcpy(t.lines[a][0].digest, premis_digest[a], kist_alg_size(a));
		}
	kist_pipeline_options_init(&po);
	po.algs = algs;
	po.jobs = jobs;
	po.dirfd = sfd;
	po.nofollow = 1;
	t.first = first;
	if ((rc = kist_pipeline_run(&po, items + first, ntag - first, on_tag_hashed, &t, err)) != KIST_OK)
		goto out;
	if (t.fail) {
		rc = kist_error_set(err, KIST_FAILED, "%s: %s", t.fail, t.message);
		goto out;
	}
	for (int a = 0; a < KIST_ALG_COUNT; a++) {
		if (!(algs & KIST_ALG_BIT(a)))
			continue;
		if ((rc = kist_bag_write_manifest(sfd, a, 1, t.lines[a], ntag, err)) != KIST_OK)
			goto out;
		snprintf(names[nnames++], sizeof(names[0]), "tagmanifest-%s.txt", kist_alg_bagit_name(a));
	}
	/* Into the bag: bagit.txt (names[ntag - 1]) last; metadata/ as a whole. */
	for (size_t i = 0; i < nnames; i++) {
		const char *name = i == nnames - 1 ? names[ntag - 1] : names[i < ntag - 1 ? i : i + 1];

		if (strcmp(name, PREMIS_FILE) == 0)
			name = PREMIS_DIR;
		if (renameat(sfd, name, bagfd, name) < 0) {
			rc = kist_error_sys(err, errno, "cannot move %s into the bag", name);
			goto out;
		}
	}
	if (fsync(bagfd) < 0) {
		rc = kist_error_sys(err, errno, "cannot sync the bag's directory");
		goto out;
	}
out:
	for (int a = 0; a < KIST_ALG_COUNT; a++)
		free(t.lines[a]);
	return rc;
}

/* --- the operation ------------------------------------------------------------------------ */

struct run {
	const char *source, *dest;
	const struct kist_bag_create_options *opt;
	kist_algset algs;
	struct kist_findings *findings;
	int srcfd, destfd;
	int dest_created;     /* we made DEST (remove it on failure) */
	size_t base_errors, base_failures;   /* in findings when we began */
	struct scan scan;
	struct id_pass *idp;  /* format identification, loaded before anything moves */
};

static int is_tag_name(const char *name)
{
	size_t len = strlen(name);

	return strcmp(name, "bagit.txt") == 0 || strcmp(name, "bag-info.txt") == 0 ||
	       strcmp(name, "fetch.txt") == 0 || strcmp(name, "data") == 0 ||
	       ((strncmp(name, "manifest-", 9) == 0 || strncmp(name, "tagmanifest-", 12) == 0) &&
		len > 4 && strcmp(name + len - 4, ".txt") == 0);
}

/* --pack: the payload's entries in the order the pipeline reads them; the
 * directories (as made in DEST) and the .keep files made here between. */
static int declare_pack(struct run *r, int bagfd, int copying, size_t nitems, struct kist_error *err)
{
	struct scan *s = &r->scan;
	size_t nentries = 0;
	int rc;

	for (size_t i = 0; i < s->n; i++)
		nentries += !s->v[i].is_dir || s->v[i].shown;
	if ((rc = pack_pass_begin(r->opt->pack, bagfd, nentries, nitems, err)) != KIST_OK)
		return rc;
	for (size_t i = 0; i < s->n; i++) {
		const struct entry *e = &s->v[i];
		struct timespec mtime = e->mtime;
		mode_t mode = e->mode & 0777;

		if (e->is_dir && !e->shown)
			continue;
		if (e->is_dir && copying)
			mode |= 0700;
		if (e->virt && copying) {
			char *name = dest_name(e->rel);
			struct stat st;

			if (!name || fstatat(r->destfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
				free(name);
				return kist_error_sys(err, name ? errno : ENOMEM, "cannot stat data/%s", e->rel);
			}
			free(name);
			mtime = st.st_mtim;
			mode = st.st_mode & 0777;
		}
		pack_pass_add(r->opt->pack, e->rel, e->is_dir, !e->is_dir && !(e->virt && copying),
			      e->size, mode, mtime);
	}
	return KIST_OK;
}

/* Hashes the payload (copying it when DEST is given) and writes the tag
 * files. bagfd is the bag's top directory; paths of items are relative to
 * hashfd. */
static int finish(struct run *r, int bagfd, int copying, struct kist_error *err)
{
	struct scan *s = &r->scan;
	struct hashing h = { .s = s, .algs = r->algs, .findings = r->findings, .idp = r->idp,
			     .pack = r->opt->pack,
			     .srcfd = r->srcfd, .destfd = r->destfd,
			     .link = r->opt->link, .follow = r->opt->follow_symlinks };
	struct kist_hash_item *items = NULL;
	char **paths = NULL;
	size_t nfiles = 0, nitems = 0;
	struct kist_pipeline_options po;
	struct kist_consumer consumer = { copy_open, copy_update, copy_close, &h, NULL, NULL };
	struct kist_tee tees[2];
	struct kist_bag_info info;
	unsigned char premis_digest[KIST_ALG_COUNT][KIST_DIGEST_MAX];
	uint64_t total = 0;
	int rc = KIST_OK, have_info = 0, sfd = -1;

	for (size_t i = 0; i < s->n; i++)
		if (!s->v[i].is_dir)
			nfiles++;
	items = calloc(nfiles + 1, sizeof(*items));
	paths = calloc(nfiles + 1, sizeof(*paths));
	h.file_of = calloc(nfiles + 1, sizeof(*h.file_of));
	h.line_of = calloc(s->n + 1, sizeof(*h.line_of));
	h.states = copying ? calloc(nfiles + 1, sizeof(*h.states)) : NULL;
	if (!items || !paths || !h.file_of || !h.line_of || (copying && !h.states))
		goto oom;
	for (int a = 0; a < KIST_ALG_COUNT; a++)
		if (r->algs & KIST_ALG_BIT(a) && !(h.lines[a] = calloc(nfiles + 1, sizeof(*h.lines[a]))))
			goto oom;

	/* Manifest lines, and the items to read. */
	for (size_t i = 0, li = 0; i < s->n; i++) {
		struct entry *e = &s->v[i];

		if (e->is_dir)
			continue;
		if (!(paths[li] = dest_name(e->rel)))
			goto oom;
		h.line_of[i] = li;
		for (int a = 0; a < KIST_ALG_COUNT; a++)
			if (r->algs & KIST_ALG_BIT(a))
				h.lines[a][li].path = paths[li];
		if (e->virt && copying) {
			/* a .keep in DEST: made here, empty; its digests are those of nothing */
			int fd = openat(r->destfd, paths[li], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

			if (fd < 0 || close(fd) < 0) {
				rc = kist_error_sys(err, errno, "cannot make %s", paths[li]);
				goto out;
			}
			for (int a = 0; a < KIST_ALG_COUNT; a++)
				if (r->algs & KIST_ALG_BIT(a)) {
					struct kist_digest *d = kist_digest_new(a);

					if (!d || kist_digest_begin(d) < 0 ||
					    kist_digest_end(d, h.lines[a][li].digest) < 0) {
						kist_digest_free(d);
						rc = kist_error_set(err, KIST_FAILED, "cannot start a digest");
						goto out;
					}
					kist_digest_free(d);
				}
			h.files++;
		} else {
			items[nitems].path = copying ? e->rel : paths[li];
			items[nitems].size = e->virt ? 0 : e->size;
			h.file_of[nitems] = i;
			total += e->size;
			nitems++;
		}
		li++;
	}
	if (r->opt->progress)
		kist_progress_set_total(r->opt->progress, nitems, total);
	if ((rc = open_scratch(bagfd, &sfd, err)) != KIST_OK ||
	    (!r->opt->no_premis && (rc = premis_begin(&h, sfd, err)) != KIST_OK))
		goto out;

	kist_pipeline_options_init(&po);
	po.algs = r->algs;
	po.jobs = r->opt->jobs;
	po.dirfd = copying ? r->srcfd : bagfd;
	/* Our own walk found these files; still, never through a symlink
	 * unless following them was asked for. */
	po.beneath = !r->opt->follow_symlinks;
	po.nofollow = !r->opt->follow_symlinks;
	po.progress = r->opt->progress;
	if (h.idp && id_pass_start(h.idp, nfiles) < 0)
		goto oom;
	if (h.pack) {
		struct kist_error perr;

		kist_error_clear(&perr);
		if (declare_pack(r, bagfd, copying, nitems, &perr) != KIST_OK) {
			pack_pass_abort(h.pack, perr.message);   /* the bag goes on */
			h.pack = NULL;
		}
	}
	po.consumer = join_consumers(&h, &consumer, tees);
	rc = kist_pipeline_run(&po, items, nitems, on_hashed, &h, err);
	if (h.pack) {
		struct kist_error ignored;

		/* the archive's own failure is kist_pack_pass_finish's to
		 * report: the bag is made all the same */
		if (rc != KIST_OK || h.failed || h.premis_failed)
			pack_pass_abort(h.pack, "the bag could not be made");
		kist_error_clear(&ignored);
		pack_pass_payload_end(h.pack, &ignored);
	}
	if (rc != KIST_OK && !h.failed && !h.premis_failed)
		goto out;
	if (h.premis_failed) {
		rc = kist_error_set(err, KIST_FAILED, "cannot write %s", PREMIS_FILE);
		goto out;
	}
	if (h.failed) {
		rc = kist_error_set(err, KIST_FAILED, "the payload could not be read%s completely",
				    copying ? " and copied" : "");
		goto out;
	}
	if (copying && syncfs(r->destfd) < 0) {
		rc = kist_error_sys(err, errno, "cannot sync the destination");
		goto out;
	}
	if ((rc = build_info(r->opt, h.bytes, h.files, &info, err)) != KIST_OK)
		goto out;
	have_info = 1;
	/* A tag file, so before the tag manifests that cover it; and before the
	 * manifests, which sort the lines (line_of indexes them unsorted). */
	if (!r->opt->no_premis && (rc = premis_end(&h, r->opt, &info, premis_digest, err)) != KIST_OK)
		goto out;
	rc = write_tag_files(bagfd, sfd, &h, nfiles, &info, r->opt->jobs,
			     r->opt->no_premis ? NULL : premis_digest, err);
out:
	kist_premis_writer_free(h.premis);
	if (sfd >= 0) {
		close(sfd);
		remove_tree(bagfd, SCRATCH);
	}
	if (have_info)
		kist_bag_info_free(&info);
	for (size_t i = 0; paths && i < nfiles; i++)
		free(paths[i]);
	free(paths);
	free(items);
	free(h.file_of);
	free(h.line_of);
	free(h.states);
	for (int a = 0; a < KIST_ALG_COUNT; a++)
		free(h.lines[a]);
	return rc;
oom:
	rc = kist_error_set(err, KIST_FAILED, "out of memory");
	goto out;
}

/* Errors and failures this call added (the caller's list may hold others). */
static size_t new_errors(const struct run *r)
{
	return kist_findings_count_severity(r->findings, KIST_SEV_ERROR) - r->base_errors;
}

static int refused(const struct run *r)
{
	return new_errors(r) ||
	       kist_findings_count_severity(r->findings, KIST_SEV_FAILURE) > r->base_failures;
}

/* After the scan, before anything changes: names checked, and the verdict
 * on what the scan found (KIST_INVALID for the content, KIST_FAILED when the
 * source could not be read whole). */
static int scan_verdict(struct run *r, struct scan *s, const char *nothing_done,
			struct kist_error *err)
{
	int rc = check_names(s, err);

	if (rc != KIST_OK || !refused(r))
		return rc;
	if (new_errors(r))
		return KIST_INVALID;
	return kist_error_set(err, KIST_FAILED, "%s: could not read the whole source; %s", r->source,
			      nothing_done);
}

/* --- in place ------------------------------------------------------------------------------- */

static int same_inode(int dirfd, const char *name, const struct journal *j, int *exists)
{
	struct stat st;

	*exists = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	return *exists && S_ISDIR(st.st_mode) && (unsigned long long)st.st_dev == j->dev &&
	       (unsigned long long)st.st_ino == j->ino;
}

/* Makes .keep files in the empty directories kept, now under data/. */
static int make_keeps(struct run *r, struct kist_error *err)
{
	for (size_t i = 0; i < r->scan.n; i++) {
		struct entry *e = &r->scan.v[i];
		char *name;
		int fd;

		if (!e->virt)
			continue;
		if (!(name = dest_name(e->rel)))
			return kist_error_set(err, KIST_FAILED, "out of memory");
		fd = openat(r->srcfd, name, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0 || fsync(fd) < 0) {
			int rc = kist_error_sys(err, errno, "cannot make %s", name);

			if (fd >= 0)
				close(fd);
			free(name);
			return rc;
		}
		close(fd);
		free(name);
	}
	return KIST_OK;
}

/* Scans data/ again once everything is in it: the manifests list what is
 * there now, whatever changed since the first scan. Only problems are
 * reported (the first scan gave the warnings). */
static int rescan_data(struct run *r, struct kist_error *err)
{
	struct scan *s = &r->scan;
	struct kist_findings *theirs = s->findings, *mine = kist_findings_new();
	char **names = NULL, *base = kist_path_join(r->source, "data");
	size_t n = 0, bad = 0;
	int rc = KIST_OK;

	if (!mine || !base) {
		kist_findings_free(mine);
		free(base);
		return kist_error_set(err, KIST_FAILED, "out of memory");
	}
	free_entries(s);
	s->findings = mine;
	if (list_dir(r->srcfd, "data", &names, &n) < 0) {
		rc = kist_error_sys(err, errno, "cannot read %s", base);
		goto out;
	}
	for (size_t i = 0; i < n && rc == KIST_OK; i++)
		rc = scan_top(s, base, names[i], err);
	if (rc == KIST_OK)
		rc = check_names(s, err);
	for (size_t i = 0; i < kist_findings_count(mine); i++) {
		const struct kist_finding *f = kist_findings_get(mine, i);
		char *rel;

		if (f->severity < KIST_SEV_ERROR)
			continue;
		rel = f->path ? kist_path_join("data", f->path) : NULL;
		bad++;
		kist_findings_add(theirs, f->severity, f->code, rel ? rel : f->path, "%s",
				  f->message ? f->message : "");
		free(rel);
	}
	if (rc == KIST_OK && bad)
		rc = kist_error_set(err, KIST_FAILED,
				    "%s changed while it was being bagged (see above); everything is "
				    "in data/: put it right and run the same command again",
				    r->source);
out:
	s->findings = theirs;
	kist_findings_free(mine);
	free_names(names, n);
	free(base);
	return rc;
}

static int in_place(struct run *r, struct kist_error *err)
{
	struct journal j;
	size_t jsize, ntop = 0, nstaged = 0;
	char **top = NULL, **staged = NULL;
	int jr, exists, final = 0, staging_exists = 0, rc = KIST_OK;
	struct scan *s = &r->scan;

	jr = journal_read(r->srcfd, JOURNAL, &j, &jsize);
	if (jr == 0) {
		kist_findings_add(r->findings, KIST_SEV_ERROR, "create.reserved-name", JOURNAL,
				  "this name is kist's journal of an interrupted bagging, but the file is "
				  "not one; move it away first");
		return KIST_INVALID;
	}
	if (jr < 0 && errno != ENOENT)
		return kist_error_sys(err, errno, "cannot read %s/%s", r->source, JOURNAL);
	if (jr > 0 && j.phase == PHASE_COPY) {
		kist_findings_add(r->findings, KIST_SEV_ERROR, "create.reserved-name", JOURNAL,
				  "this is an unfinished bag destination, not a source; remove it or make "
				  "it again with the same SOURCE and DEST");
		return KIST_INVALID;
	}
	if (jr < 0) {
		struct journal t;
		size_t tsize;
		int tr = journal_read(r->srcfd, JOURNAL_TMP, &t, &tsize);

		/* A journal cut short before it was first renamed: ours if empty or ours by its text. */
		if (tr > 0 || (tr == 0 && tsize == 0)) {
			if (unlinkat(r->srcfd, JOURNAL_TMP, 0) < 0)
				return kist_error_sys(err, errno, "cannot remove %s", JOURNAL_TMP);
		}
		memset(&j, 0, sizeof(j));
	} else {
		unlinkat(r->srcfd, JOURNAL_TMP, 0);   /* a rewrite cut short */
	}

	/* Where are we? */
	if (j.phase == PHASE_MOVE) {
		staging_exists = same_inode(r->srcfd, STAGING, &j, &exists);
		if (!staging_exists) {
			if (exists)
				return kist_error_set(err, KIST_FAILED,
						      "%s/%s is not the staging directory the journal names; "
						      "not touching anything",
						      r->source, STAGING);
			final = same_inode(r->srcfd, "data", &j, &exists);
			if (!final)
				return kist_error_set(err, KIST_FAILED,
						      "%s: the journal's staging directory is gone and data "
						      "is not it; not touching anything",
						      r->source);
		}
	} else if (j.phase == PHASE_PREPARE) {
		char **v;
		size_t n;

		/* Nothing was moved yet: the staging directory may exist, empty. */
		if (list_dir(r->srcfd, STAGING, &v, &n) == 0) {
			free_names(v, n);
			if (n)
				return kist_error_set(err, KIST_FAILED,
						      "%s/%s is not empty, but the journal says nothing "
						      "was moved yet; not touching anything",
						      r->source, STAGING);
			if (unlinkat(r->srcfd, STAGING, AT_REMOVEDIR) < 0)
				return kist_error_sys(err, errno, "cannot remove %s", STAGING);
		}
	}

	/* The scan, over the payload wherever it now is. */
	if (final) {
		if (list_dir(r->srcfd, "data", &staged, &nstaged) < 0)
			return kist_error_sys(err, errno, "cannot read %s/data", r->source);
		char *base = kist_path_join(r->source, "data");

		if (!base) {
			rc = kist_error_set(err, KIST_FAILED, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < nstaged && rc == KIST_OK; i++)
			rc = scan_top(s, base, staged[i], err);
		free(base);
	} else {
		if (list_dir(r->srcfd, ".", &top, &ntop) < 0)
			return kist_error_sys(err, errno, "cannot read %s", r->source);
		if (j.phase == PHASE_NONE) {
			struct stat st;

			if (fstatat(r->srcfd, "bagit.txt", &st, AT_SYMLINK_NOFOLLOW) == 0 && !r->opt->force) {
				kist_findings_add(r->findings, KIST_SEV_ERROR, "create.already-bag", r->source,
						  "already a bag (it has bagit.txt); --force bags it whole, "
						  "bag and all, as the payload of a new one");
				rc = KIST_INVALID;
				goto out;
			}
		}
		for (size_t i = 0; i < ntop; i++) {
			const char *name = top[i];

			if (strncmp(name, RESERVED_PREFIX, strlen(RESERVED_PREFIX)) == 0) {
				if (j.phase != PHASE_NONE &&
				    (strcmp(name, JOURNAL) == 0 || strcmp(name, STAGING) == 0))
					continue;
				kist_findings_add(r->findings, KIST_SEV_ERROR, "create.reserved-name", name,
						  "names starting with %s are kist's while it bags in place; "
						  "rename it",
						  RESERVED_PREFIX);
				continue;
			}
			if (excluded(r->opt, name)) {
				if (is_tag_name(name))
					kist_findings_add(r->findings, KIST_SEV_ERROR, "create.exclude-in-place",
							  name, "excluded, but a bag's own file has this name; "
								"bag to a destination instead");
				else
					kist_findings_add(r->findings, KIST_SEV_WARNING, "create.excluded-kept",
							  name, "excluded: left beside data/ in the bag's top "
								"directory, outside the payload");
				continue;
			}
			if ((rc = scan_top(s, r->source, name, err)) != KIST_OK)
				goto out;
		}
		if (staging_exists) {
			char *base = kist_path_join(r->source, STAGING);

			if (!base || list_dir(r->srcfd, STAGING, &staged, &nstaged) < 0) {
				free(base);
				rc = kist_error_sys(err, base ? errno : ENOMEM, "cannot read %s/%s", r->source,
						    STAGING);
				goto out;
			}
			for (size_t i = 0; i < nstaged && rc == KIST_OK; i++) {
				if (bsearch(&staged[i], top, ntop, sizeof(*top), cmp_str))
					kist_findings_add(r->findings, KIST_SEV_FAILURE, "create.moved-twice",
							  staged[i],
							  "is both in the source and already moved into %s: "
							  "which one is payload? resolve by hand",
							  STAGING);
				else
					rc = scan_top(s, base, staged[i], err);
			}
			free(base);
		}
	}
	if (rc != KIST_OK || (rc = scan_verdict(r, s, "nothing moved", err)) != KIST_OK)
		goto out;

	if (!final) {
		useconds_t move_delay = 0;
		int stfd;
		struct stat st;

		if (j.phase != PHASE_MOVE) {
			j.phase = PHASE_PREPARE;
			if ((rc = journal_write(r->srcfd, &j, err)) != KIST_OK)
				goto out;
			if (mkdirat(r->srcfd, STAGING, 0755) < 0 ||
			    fstatat(r->srcfd, STAGING, &st, AT_SYMLINK_NOFOLLOW) < 0) {
				rc = kist_error_sys(err, errno, "cannot make %s/%s", r->source, STAGING);
				goto out;
			}
			fsync(r->srcfd);
			j.phase = PHASE_MOVE;
			j.dev = (unsigned long long)st.st_dev;
			j.ino = (unsigned long long)st.st_ino;
			if ((rc = journal_write(r->srcfd, &j, err)) != KIST_OK)
				goto out;
		}
		if (getenv("KIST_TEST_MOVE_DELAY_US"))
			move_delay = (useconds_t)atoi(getenv("KIST_TEST_MOVE_DELAY_US"));
		stfd = openat(r->srcfd, STAGING, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (stfd < 0) {
			rc = kist_error_sys(err, errno, "cannot open %s/%s", r->source, STAGING);
			goto out;
		}
		for (size_t i = 0; i < ntop; i++) {
			const char *name = top[i];

			if (strncmp(name, RESERVED_PREFIX, strlen(RESERVED_PREFIX)) == 0 ||
			    excluded(r->opt, name))
				continue;
			if (rename_noreplace(r->srcfd, name, stfd, name) < 0) {
				rc = kist_error_sys(err, errno, "cannot move %s into %s", name, STAGING);
				close(stfd);
				goto out;
			}
			if (move_delay)   /* tests: widen the window for a kill */
				usleep(move_delay);
		}
		if (fsync(stfd) < 0 || fsync(r->srcfd) < 0) {
			rc = kist_error_sys(err, errno, "cannot sync %s", r->source);
			close(stfd);
			goto out;
		}
		close(stfd);
		if (rename_noreplace(r->srcfd, STAGING, r->srcfd, "data") < 0) {
			rc = kist_error_sys(err, errno, "cannot rename %s to data", STAGING);
			goto out;
		}
		fsync(r->srcfd);
	} else {
		/* An earlier run got as far as the tag files: begin them again,
		 * bagit.txt first so that nothing half-made looks like a bag. */
		char **v;
		size_t n;

		unlinkat(r->srcfd, "bagit.txt", 0);
		if (list_dir(r->srcfd, ".", &v, &n) == 0) {
			for (size_t i = 0; i < n; i++)
				if (is_tag_name(v[i]) && strcmp(v[i], "data") != 0 && !excluded(r->opt, v[i]))
					unlinkat(r->srcfd, v[i], 0);
				else if (strcmp(v[i], PREMIS_DIR) == 0 && !excluded(r->opt, v[i])) {
					/* everything of SOURCE is in data/ by now: ours */
					unlinkat(r->srcfd, PREMIS_FILE, 0);
					unlinkat(r->srcfd, PREMIS_DIR, AT_REMOVEDIR);
				}
			free_names(v, n);
		}
	}

	if ((rc = make_keeps(r, err)) != KIST_OK)
		goto out;
	if ((rc = rescan_data(r, err)) != KIST_OK)
		goto out;
	if ((rc = finish(r, r->srcfd, 0, err)) != KIST_OK)
		goto out;
	if (unlinkat(r->srcfd, JOURNAL, 0) < 0) {
		rc = kist_error_sys(err, errno, "cannot remove %s/%s", r->source, JOURNAL);
		goto out;
	}
	fsync(r->srcfd);
out:
	free_names(top, ntop);
	free_names(staged, nstaged);
	return rc;
}

/* --- to a destination ------------------------------------------------------------------------ */

/* DEST's absolute path, whether or not it exists yet. */
static char *real_dest(const char *dest)
{
	char *copy = strdup(dest), *slash, *parent, *out = NULL;
	const char *base;

	if (!copy)
		return NULL;
	if ((out = realpath(dest, NULL))) {
		free(copy);
		return out;
	}
	while (strlen(copy) > 1 && copy[strlen(copy) - 1] == '/')
		copy[strlen(copy) - 1] = '\0';
	slash = strrchr(copy, '/');
	if (slash) {
		*slash = '\0';
		base = slash + 1;
		parent = realpath(copy[0] ? copy : "/", NULL);
	} else {
		base = copy;
		parent = realpath(".", NULL);
	}
	if (parent)
		out = xasprintf("%s/%s", strcmp(parent, "/") == 0 ? "" : parent, base);
	free(parent);
	free(copy);
	return out;
}

static int to_dest(struct run *r, struct kist_error *err)
{
	struct scan *s = &r->scan;
	char *rdest = NULL, **top = NULL;
	size_t ntop = 0;
	int rc = KIST_OK, dest_existed = 0;
	struct stat st;

	/* The arguments first. */
	rdest = real_dest(r->dest);
	if (!rdest)
		return kist_error_sys(err, errno, "%s", r->dest);
	{
		size_t len = strlen(s->source_real);

		if (strncmp(rdest, s->source_real, len) == 0 && (rdest[len] == '/' || rdest[len] == '\0')) {
			kist_findings_add(r->findings, KIST_SEV_ERROR, "create.dest-inside-source", r->dest,
					  "the destination is inside the source %s: it would bag itself",
					  r->source);
			rc = KIST_INVALID;
			goto out;
		}
	}
	{
		struct journal j;
		size_t jsize;

		if (journal_read(r->srcfd, JOURNAL, &j, &jsize) > 0 && j.phase != PHASE_COPY) {
			kist_findings_add(r->findings, KIST_SEV_ERROR, "create.unfinished", r->source,
					  "is half-way through being bagged in place; finish that first "
					  "(kist bag create SOURCE)");
			rc = KIST_INVALID;
			goto out;
		}
	}
	if (fstatat(r->srcfd, "bagit.txt", &st, AT_SYMLINK_NOFOLLOW) == 0 && !r->opt->force) {
		kist_findings_add(r->findings, KIST_SEV_ERROR, "create.already-bag", r->source,
				  "already a bag (it has bagit.txt); --force bags it whole, bag and all, "
				  "as the payload of a new one");
		rc = KIST_INVALID;
		goto out;
	}
	if (stat(r->dest, &st) == 0) {
		char **v;
		size_t n;
		struct journal j;
		size_t jsize;
		int dfd;

		if (!S_ISDIR(st.st_mode)) {
			kist_findings_add(r->findings, KIST_SEV_ERROR, "create.dest-exists", r->dest,
					  "exists and is not a directory");
			rc = KIST_INVALID;
			goto out;
		}
		if ((dfd = open(r->dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
			rc = kist_error_sys(err, errno, "%s", r->dest);
			goto out;
		}
		if (list_dir(dfd, ".", &v, &n) < 0) {
			rc = kist_error_sys(err, errno, "cannot read %s", r->dest);
			close(dfd);
			goto out;
		}
		/* killed while writing its first journal: only JOURNAL_TMP, empty or ours */
		int only_tmp = n == 1 && strcmp(v[0], JOURNAL_TMP) == 0 &&
			       (journal_read(dfd, JOURNAL_TMP, &j, &jsize) > 0 || jsize == 0);

		free_names(v, n);
		if (n && (only_tmp || (journal_read(dfd, JOURNAL, &j, &jsize) > 0 && j.phase == PHASE_COPY))) {
			/* Our own unfinished bag from an interrupted run: start it over. */
			kist_findings_add(r->findings, KIST_SEV_WARNING, "create.restart", r->dest,
					  "an interrupted run left this unfinished bag: made again");
			if (empty_dir(dfd) < 0) {
				rc = kist_error_sys(err, errno, "cannot clear the unfinished %s", r->dest);
				close(dfd);
				goto out;
			}
		} else if (n) {
			kist_findings_add(r->findings, KIST_SEV_ERROR, "create.dest-not-empty", r->dest,
					  "exists and is not empty: give a new or empty directory");
			rc = KIST_INVALID;
			close(dfd);
			goto out;
		}
		close(dfd);
		dest_existed = 1;
	} else if (errno != ENOENT) {
		rc = kist_error_sys(err, errno, "%s", r->dest);
		goto out;
	}

	/* The scan. */
	if (list_dir(r->srcfd, ".", &top, &ntop) < 0) {
		rc = kist_error_sys(err, errno, "cannot read %s", r->source);
		goto out;
	}
	for (size_t i = 0; i < ntop && rc == KIST_OK; i++)
		rc = scan_top(s, r->source, top[i], err);
	if (rc != KIST_OK || (rc = scan_verdict(r, s, "nothing made", err)) != KIST_OK)
		goto out;

	/* Make DEST, the journal, data/ and its directories. */
	if (!dest_existed) {
		if (mkdir(r->dest, 0755) < 0) {
			rc = kist_error_sys(err, errno, "cannot make %s", r->dest);
			goto out;
		}
		r->dest_created = 1;
	}
	if ((r->destfd = open(r->dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = kist_error_sys(err, errno, "cannot open %s", r->dest);
		goto fail;
	}
	{
		struct journal j = { .phase = PHASE_COPY };

		if ((rc = journal_write(r->destfd, &j, err)) != KIST_OK)
			goto fail;
	}
	if (mkdirat(r->destfd, "data", 0755) < 0) {
		rc = kist_error_sys(err, errno, "cannot make %s/data", r->dest);
		goto fail;
	}
	for (size_t i = 0; i < s->n; i++) {
		struct entry *e = &s->v[i];
		char *name;

		if (!e->is_dir || !e->shown)
			continue;
		if (!(name = dest_name(e->rel))) {
			rc = kist_error_set(err, KIST_FAILED, "out of memory");
			goto fail;
		}
		if (mkdirat(r->destfd, name, (e->mode & 0777) | 0700) < 0) {
			rc = kist_error_sys(err, errno, "cannot make %s/%s", r->dest, name);
			free(name);
			goto fail;
		}
		free(name);
	}
	if ((rc = finish(r, r->destfd, 1, err)) != KIST_OK)
		goto fail;
	if (unlinkat(r->destfd, JOURNAL, 0) < 0) {
		rc = kist_error_sys(err, errno, "cannot remove %s/%s", r->dest, JOURNAL);
		goto fail;
	}
	fsync(r->destfd);
	goto out;
fail:
	/* Nothing half-made may look like a bag: take it all away. */
	if (r->destfd >= 0)
		empty_dir(r->destfd);
	if (r->dest_created)
		rmdir(r->dest);
out:
	free_names(top, ntop);
	free(rdest);
	return rc;
}

int kist_bag_create(const char *source, const char *dest, const struct kist_bag_create_options *opt,
		    struct kist_findings *findings, struct kist_error *err)
{
	static const struct kist_bag_create_options defaults;
	struct run r = { .source = source, .dest = dest, .findings = findings, .srcfd = -1, .destfd = -1 };
	struct stat st;
	int rc;

	if (!opt)
		opt = &defaults;
	if (!findings) {
		struct kist_findings *own = kist_findings_new();

		if (!own)
			return kist_error_set(err, KIST_FAILED, "out of memory");
		rc = kist_bag_create(source, dest, opt, own, err);
		kist_findings_free(own);
		return rc;
	}
	r.opt = opt;
	r.base_errors = kist_findings_count_severity(findings, KIST_SEV_ERROR);
	r.base_failures = kist_findings_count_severity(findings, KIST_SEV_FAILURE);
	r.algs = opt->algs ? opt->algs : KIST_ALG_BIT(KIST_ALG_SHA512);
	if (opt->info)
		for (size_t i = 0; i < opt->info->count; i++)
			if (strcasecmp(opt->info->tags[i].label, "Payload-Oxum") == 0 ||
			    strcasecmp(opt->info->tags[i].label, "Bag-Size") == 0)
				return kist_error_set(err, KIST_FAILED,
						      "%s is computed from the payload; do not give it",
						      opt->info->tags[i].label);
	if (!dest && opt->follow_symlinks)
		return kist_error_set(err, KIST_FAILED,
				      "bagging in place cannot follow symbolic links (the bag would hold "
				      "the links); give a destination");
	if (!dest && opt->link)
		return kist_error_set(err, KIST_FAILED, "--link needs a destination");
	if (stat(source, &st) < 0)
		return kist_error_sys(err, errno, "%s", source);
	if (!S_ISDIR(st.st_mode))
		return kist_error_set(err, KIST_FAILED, "%s: not a directory", source);
	if ((r.srcfd = open(source, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return kist_error_sys(err, errno, "%s", source);
	r.scan.opt = opt;
	r.scan.findings = findings;
	r.scan.in_place = dest == NULL;
	r.scan.follow = opt->follow_symlinks;
	/* identification only feeds premis.xml; the items' paths are relative
	 * to SOURCE in place and to a destination alike */
	if (!opt->no_identify && !opt->no_premis &&
	    !(r.idp = id_pass_new(opt, r.srcfd, findings, err))) {
		close(r.srcfd);
		return err->status;
	}
	r.scan.source_real = realpath(source, NULL);
	if (!r.scan.source_real) {
		rc = kist_error_sys(err, errno, "%s", source);
		goto out;
	}
	rc = dest ? to_dest(&r, err) : in_place(&r, err);
out:
	free_entries(&r.scan);
	free(r.scan.source_real);
	id_pass_free(r.idp);
	if (r.srcfd >= 0)
		close(r.srcfd);
	if (r.destfd >= 0)
		close(r.destfd);
	return rc;
}
