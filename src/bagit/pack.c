/* Packing a bag into one archive (libarchive): tar (pax), tar.gz, zip.
 *
 * The order is fixed so that a streaming reader meets what it needs first:
 * the top directory, bagit.txt, the bag-info file, fetch.txt, the manifests,
 * the tag manifests, the other tag files, and data/ last; below that, byte
 * order of the paths. Bytes are read through the hashing pipeline (one
 * worker, no digests: its consumer writes each block to the archive), so a
 * file that changes while it is packed is noticed. The archive is written to
 * a temporary file beside out, synced, then renamed. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include <kist/bag.h>
#include <kist/error.h>
#include <kist/finding.h>
#include <kist/path.h>
#include <kist/pipeline.h>
#include <kist/progress.h>
#include <kist/transfer.h>
#include <kist/walk.h>

#include "transfer.h"

struct pentry {
	char *rel;               /* below the bag: "data/a.txt"; "" the bag itself */
	int dir;
	uint64_t size;
	mode_t mode;
	int64_t mtime;
	long mtime_ns;
	int rank;                /* see rank_of */
};

struct pack {
	struct pentry *e;
	size_t n, cap;
	struct archive *a;
	const char *top;         /* the bag's directory name */
	size_t next;             /* first entry not yet written */
	size_t *item_entry;      /* pipeline item -> entry */
	struct kist_findings *fs;
	int bad;                 /* a symlink or special file in the bag */
	int write_failed;
	char errbuf[256];
};

int kist_pack_format_for_name(const char *name)
{
	size_t n = strlen(name);

	if (n > 4 && strcasecmp(name + n - 4, ".tar") == 0)
		return KIST_PACK_TAR;
	if ((n > 7 && strcasecmp(name + n - 7, ".tar.gz") == 0) ||
	    (n > 4 && strcasecmp(name + n - 4, ".tgz") == 0))
		return KIST_PACK_TAR_GZ;
	if (n > 4 && strcasecmp(name + n - 4, ".zip") == 0)
		return KIST_PACK_ZIP;
	return -1;
}

/* Where an entry goes: tag files a reader needs first, data/ last. */
int kist_pack_rank(const char *rel)
{
	if (!rel[0])
		return 0;
	if (strcmp(rel, "bagit.txt") == 0)
		return 1;
	if (strcmp(rel, "bag-info.txt") == 0 || strcmp(rel, "package-info.txt") == 0)
		return 2;
	if (strcmp(rel, "fetch.txt") == 0)
		return 3;
	if (strncmp(rel, "manifest-", 9) == 0 && !strchr(rel, '/'))
		return 4;
	if (strncmp(rel, "tagmanifest-", 12) == 0 && !strchr(rel, '/'))
		return 5;
	if (strcmp(rel, "data") == 0 || strncmp(rel, "data/", 5) == 0)
		return 7;
	return 6;
}

static int pentry_cmp(const void *a, const void *b)
{
	const struct pentry *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank - y->rank;
	return strcmp(x->rel, y->rel);
}

static int on_walk(void *ctx, const struct kist_walk_entry *we)
{
	struct pack *p = ctx;
	struct pentry *e;

	if (we->type == KIST_ENTRY_DIR_END)
		return 0;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 256;
		struct pentry *n = realloc(p->e, cap * sizeof(*n));

		if (!n)
			return -1;
		p->e = n;
		p->cap = cap;
	}
	e = &p->e[p->n];
	if (!(e->rel = strdup(we->rel)))
		return -1;
	e->dir = we->type == KIST_ENTRY_DIR;
	e->size = we->size;
	e->mode = we->mode;
	e->mtime = we->mtime_sec;
	e->mtime_ns = we->mtime_nsec;
	e->rank = kist_pack_rank(we->rel);
	p->n++;
	return 0;
}

int kist_pack_write_header(struct archive *a, const char *name, int dir, unsigned mode, uint64_t size,
			   int64_t sec, long nsec)
{
	struct archive_entry *ae = archive_entry_new();
	int r;

	if (!ae)
		return ARCHIVE_FATAL;
	archive_entry_set_pathname(ae, name);
	archive_entry_set_filetype(ae, dir ? AE_IFDIR : AE_IFREG);
	archive_entry_set_perm(ae, mode & 07777 & ~(unsigned)06000);
	archive_entry_set_size(ae, dir ? 0 : (la_int64_t)size);
	archive_entry_set_mtime(ae, sec, nsec);
	r = archive_write_header(a, ae);
	archive_entry_free(ae);
	return r;
}

int kist_pack_read_in_order(int dirfd, const struct kist_hash_item *items, size_t n,
			    struct kist_consumer *consumer, void *arg, kist_result_fn on_result,
			    struct kist_progress *progress, struct kist_error *err)
{
	struct kist_pipeline_options po;

	kist_pipeline_options_init(&po);
	po.algs = 0;
	po.jobs = 1;                 /* entries go out in order */
	po.dirfd = dirfd;
	po.beneath = 1;
	po.nofollow = 1;
	po.consumer = consumer;
	po.progress = progress;
	consumer->arg = arg;
	return kist_pipeline_run(&po, items, n, on_result, arg, err);
}

static int write_header(struct pack *p, const struct pentry *e)
{
	char *name = NULL;
	int r;

	if (asprintf(&name, "%s%s%s%s", p->top, e->rel[0] ? "/" : "", e->rel, e->dir ? "/" : "") < 0)
		return -1;
	r = kist_pack_write_header(p->a, name, e->dir, e->mode, e->size, e->mtime, e->mtime_ns);
	if (r < ARCHIVE_WARN)
		snprintf(p->errbuf, sizeof(p->errbuf), "%s: %s", name, archive_error_string(p->a));
	free(name);
	return r < ARCHIVE_WARN ? -1 : 0;
}

/* Directories (and anything else) that come before entry upto. */
static int write_dirs_until(struct pack *p, size_t upto)
{
	for (; p->next < upto; p->next++)
		if (p->e[p->next].dir && write_header(p, &p->e[p->next]) < 0)
			return -1;
	return 0;
}

/* The pipeline's consumer: a file's header, its blocks, its end. */
static void *c_open(void *arg, size_t index, const char *path, uint64_t size)
{
	struct pack *p = arg;
	size_t i = p->item_entry[index];

	(void)path;
	(void)size;
	if (p->write_failed || write_dirs_until(p, i) < 0 || write_header(p, &p->e[i]) < 0) {
		p->write_failed = 1;
		return NULL;
	}
	p->next = i + 1;
	return p;
}

static void c_update(void *state, const unsigned char *buf, size_t len, uint64_t offset)
{
	struct pack *p = state;

	(void)offset;
	if (!p->write_failed && archive_write_data(p->a, buf, len) != (la_ssize_t)len) {
		snprintf(p->errbuf, sizeof(p->errbuf), "%s", archive_error_string(p->a));
		p->write_failed = 1;
	}
}

static void c_close(void *state, int failed)
{
	struct pack *p = state;

	if (!failed && !p->write_failed && archive_write_finish_entry(p->a) < ARCHIVE_WARN) {
		snprintf(p->errbuf, sizeof(p->errbuf), "%s", archive_error_string(p->a));
		p->write_failed = 1;
	}
}

static int on_result(void *ctx, const struct kist_hash_result *r)
{
	struct pack *p = ctx;

	if (r->fail_code) {
		kist_findings_add(p->fs, KIST_SEV_FAILURE, r->fail_code, r->path, "%s", r->fail_message);
		return 1;   /* a half-written entry: stop */
	}
	return p->write_failed;
}

/* The walk's findings: links and special files cannot go into a bag's archive. */
static void take_walk_findings(struct pack *p, struct kist_findings *wf, size_t skip)
{
	for (size_t i = 0; i < kist_findings_count(wf); i++) {
		const struct kist_finding *f = kist_findings_get(wf, i);
		const char *path = f->path && strlen(f->path) > skip ? f->path + skip : f->path;

		if (strstr(f->code, "symlink") || strstr(f->code, "special")) {
			kist_findings_add(p->fs, KIST_SEV_ERROR, "pack.not-regular", path,
					  "%s; a bag holds only directories and regular files: not packed",
					  f->message ? f->message : "not a regular file");
			p->bad = 1;
		} else if (f->severity >= KIST_SEV_ERROR) {
			kist_findings_add(p->fs, KIST_SEV_FAILURE, "pack.unreadable", path, "%s",
					  f->message ? f->message : "cannot read");
			p->bad = 1;
		}
	}
}

int kist_pack_writer_open(struct archive **ap, int fmt, int store, int fd, struct kist_error *err)
{
	struct archive *a;

	if (!(a = *ap = archive_write_new()))
		return kist_error_set(err, KIST_FAILED, "out of memory");
	switch (fmt) {
	case KIST_PACK_TAR:
	case KIST_PACK_TAR_GZ:
		archive_write_set_format_pax_restricted(a);
		if (fmt == KIST_PACK_TAR_GZ)
			archive_write_add_filter_gzip(a);
		break;
	default:
		archive_write_set_format_zip(a);
		if (store)
			archive_write_set_options(a, "zip:compression=store");
		break;
	}
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open_fd(a, fd) != ARCHIVE_OK)
		return kist_error_set(err, KIST_FAILED, "cannot start the archive: %s",
				      archive_error_string(a));
	return KIST_OK;
}

char *kist_pack_bag_name(const char *path)
{
	char *copy = strdup(path), *base;
	size_t n;

	if (!copy)
		return NULL;
	n = strlen(copy);
	while (n > 1 && copy[n - 1] == '/')
		copy[--n] = '\0';
	base = strrchr(copy, '/') ? strrchr(copy, '/') + 1 : copy;
	memmove(copy, base, strlen(base) + 1);
	return copy;
}

int kist_bag_pack(const char *path, const char *out, const struct kist_bag_pack_options *opt,
		  struct kist_findings *findings, struct kist_error *err)
{
	static const struct kist_bag_pack_options defaults = { 0 };
	struct kist_walk_options wo = { .follow_symlinks = 0, .follow_root = 1 };
	struct kist_consumer consumer = { .open = c_open, .update = c_update, .close = c_close };
	struct kist_hash_item *items = NULL;
	struct kist_findings *wf = NULL;
	struct pack p;
	char *top = NULL, *tmp = NULL;
	int fmt = kist_pack_format_for_name(out), dirfd = -1, fd = -1, rc;
	size_t nitems = 0;
	struct stat st;

	opt = opt ? opt : &defaults;
	memset(&p, 0, sizeof(p));
	p.fs = findings;
	if (fmt < 0)
		return kist_error_set(err, KIST_FAILED, "%s: name the archive .tar, .tar.gz, .tgz or .zip", out);
	if (!opt->force && lstat(out, &st) == 0)
		return kist_error_set(err, KIST_FAILED, "%s exists (--force replaces it)", out);
	if ((dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return kist_error_sys(err, errno, "%s", path);
	if (fstatat(dirfd, "bagit.txt", &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) {
		close(dirfd);
		kist_findings_add(findings, KIST_SEV_ERROR, "bag.not-a-bag", "bagit.txt",
				  "no bagit.txt: not a bag");
		return KIST_INVALID;
	}
	if (!(top = kist_pack_bag_name(path)) || !(wf = kist_findings_new())) {
		rc = kist_error_set(err, KIST_FAILED, "out of memory");
		goto out;
	}
	if (!strcmp(top, ".") || !strcmp(top, "..") || !strcmp(top, "/")) {
		rc = kist_error_set(err, KIST_FAILED, "%s: name the bag by its directory, not '%s'", path, top);
		goto out;
	}
	p.top = top;
	if (kist_walk(path, &wo, on_walk, &p, wf, err) != KIST_OK) {
		rc = KIST_FAILED;
		goto out;
	}
	take_walk_findings(&p, wf, strlen(path) + 1);
	if (p.bad) {
		rc = kist_findings_count_severity(findings, KIST_SEV_ERROR) ? KIST_INVALID
			: kist_error_set(err, KIST_FAILED, "%s: some files could not be read", path);
		goto out;
	}
	if (p.n > 1)
		qsort(p.e, p.n, sizeof(*p.e), pentry_cmp);
	items = malloc((p.n ? p.n : 1) * sizeof(*items));
	p.item_entry = malloc((p.n ? p.n : 1) * sizeof(*p.item_entry));
	if (!items || !p.item_entry) {
		rc = kist_error_set(err, KIST_FAILED, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < p.n; i++)
		if (!p.e[i].dir) {
			items[nitems].path = p.e[i].rel;
			items[nitems].size = p.e[i].size;
			p.item_entry[nitems++] = i;
		}
	if ((fd = kist_path_tmp_beside(out, &tmp)) < 0) {
		rc = kist_error_sys(err, errno, "cannot write beside %s", out);
		goto out;
	}
	if ((rc = kist_pack_writer_open(&p.a, fmt, opt->store, fd, err)) != KIST_OK)
		goto out;
	if (opt->progress)
		kist_progress_set_total(opt->progress, nitems, 0);
	rc = kist_pack_read_in_order(dirfd, items, nitems, &consumer, &p, on_result, opt->progress,
				     err);
	if (rc == KIST_OK && !p.write_failed && write_dirs_until(&p, p.n) < 0)
		p.write_failed = 1;
	if (rc == KIST_OK && !p.write_failed && archive_write_close(p.a) != ARCHIVE_OK) {
		snprintf(p.errbuf, sizeof(p.errbuf), "%s", archive_error_string(p.a));
		p.write_failed = 1;
	}
	if (p.write_failed) {
		rc = kist_error_set(err, KIST_FAILED, "cannot write %s: %s", out, p.errbuf);
		goto out;
	}
	if (rc != KIST_OK) {
		if (!err->message[0])
			kist_error_set(err, KIST_FAILED, "%s: a file could not be read", path);
		rc = KIST_FAILED;
		goto out;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		rc = kist_error_sys(err, errno, "cannot write %s", out);
		goto out;
	}
	fd = -1;
	if (rename(tmp, out) < 0) {
		rc = kist_error_sys(err, errno, "cannot write %s", out);
		goto out;
	}
	kist_path_tmp_done(tmp);
	free(tmp);
	tmp = NULL;
	rc = KIST_OK;
out:
	if (p.a)
		archive_write_free(p.a);
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		kist_path_tmp_done(tmp);
		free(tmp);
	}
	for (size_t i = 0; i < p.n; i++)
		free(p.e[i].rel);
	free(p.e);
	free(p.item_entry);
	free(items);
	kist_findings_free(wf);
	free(top);
	if (dirfd >= 0)
		close(dirfd);
	return rc;
}
