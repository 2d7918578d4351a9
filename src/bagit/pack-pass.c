/* `kist bag create --pack`: the archive written from the blocks the bagging
 * pass reads, so each payload file is read once.
 *
 * libarchive takes one entry at a time, but the pipeline reads several
 * files at once, on several threads. A sequencer puts the entries in the
 * order create added them: the worker of the lowest file not yet written
 * (the pipeline hands out files in that order) holds the writer's token and
 * writes its blocks straight into the archive; workers of later files keep
 * their blocks in memory, up to BUFFER_MAX bytes in all, and then wait for
 * their turn. A file read whole into memory is left for the writer, whose
 * worker goes on to the next file. The token's holder never waits for a
 * later file, and every earlier file is already in some worker's hands, so
 * the waits always end.
 *
 * The header of an entry needs its size before its data: the size the bag
 * was scanned with. A file that is not that size when read is a failure
 * (the pipeline reports it as file.changed, and the bag is not made).
 *
 * The tag files are appended at the end, once final, in kist bag pack's
 * order (kist_pack_rank), read through the pipeline as bag pack reads them.
 * The archive is written to OUT.kist-tmp-XXXXXX beside OUT, synced, and
 * renamed; freed unfinished, that file is removed. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include <kist/bag.h>
#include <kist/error.h>
#include <kist/path.h>
#include <kist/finding.h>
#include <kist/pipeline.h>
#include <kist/transfer.h>
#include <kist/walk.h>

#include "pack-pass.h"
#include "transfer.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

#define BUFFER_MAX ((uint64_t)64 << 20)   /* blocks of later files held, in all;
					     tests: KIST_TEST_PACK_BUFFER bytes */

enum { I_OPEN, I_COMPLETE, I_WRITTEN };

struct pentry {
	const char *rel;        /* payload: below data/, borrowed; tags: below the bag, owned */
	uint64_t size;
	int64_t sec;
	long nsec;
	mode_t mode;
	unsigned dir : 1;
	unsigned item : 1;      /* read by the pipeline (else: an empty file) */
	int rank;               /* tag entries: kist_pack_rank */
};

struct pbuf {
	size_t len, cap;
	unsigned char data[];
};

struct pitem {
	struct kist_pack_pass *p;
	size_t entry;
	struct pbuf *buf;
	uint64_t seen;          /* bytes the pipeline gave */
	unsigned char state;
	unsigned char direct;   /* this item's worker holds the token */
};

struct kist_pack_pass {
	char *out, *tmp, *bag, *top;
	int fmt, store, force, fd;
	struct archive *a;
	const char *prefix;     /* "data/" while the payload goes in */

	struct pentry *e;
	size_t ne, cape, next_entry;
	struct pitem *it;
	size_t ni, capi, next_item;

	pthread_mutex_t lock;
	pthread_cond_t cv;
	int busy;               /* the writer's token is taken */
	atomic_int failed;      /* stop: errbuf says why */
	uint64_t buffered, buffer_max;
	int payload_in;         /* pack_pass_payload_end found every entry written */
	int finished;
	char errbuf[512];
	struct kist_consumer consumer;
};

/* --- failures -------------------------------------------------------------- */

static void set_failed(struct kist_pack_pass *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_failed(struct kist_pack_pass *p, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&p->lock);
	if (!atomic_load(&p->failed)) {
		va_start(ap, fmt);
		vsnprintf(p->errbuf, sizeof(p->errbuf), fmt, ap);
		va_end(ap);
		atomic_store(&p->failed, 1);
	}
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->lock);
}

void pack_pass_abort(struct kist_pack_pass *p, const char *why)
{
	set_failed(p, "%s", why);
}

/* --- writing (only by the token's holder) ------------------------------------ */

/* libarchive's message, with the system's reason when it has one ("Write
 * error: No space left on device"). */
static void archive_failed(struct kist_pack_pass *p, const char *what)
{
	const char *msg = archive_error_string(p->a);
	int e = archive_errno(p->a);

	msg = msg ? msg : "libarchive failed";
	if (e > 0 && !strstr(msg, strerror(e)))
		set_failed(p, "%s%s%s: %s", what, *what ? ": " : "", msg, strerror(e));
	else
		set_failed(p, "%s%s%s", what, *what ? ": " : "", msg);
}

static int write_header(struct kist_pack_pass *p, const struct pentry *e)
{
	char *name = NULL;
	int r;

	/* BAG/, BAG/data/ (no rel), BAG/data/a/, BAG/data/a/b.txt, BAG/bagit.txt */
	if (asprintf(&name, "%s/%s%s%s", p->top, p->prefix, e->rel ? e->rel : "",
		     e->dir && e->rel ? "/" : "") < 0) {
		set_failed(p, "out of memory");
		return -1;
	}
	r = kist_pack_write_header(p->a, name, e->dir, e->mode, e->dir ? 0 : e->size, e->sec, e->nsec);
	if (r < ARCHIVE_WARN)
		archive_failed(p, name);
	free(name);
	return r < ARCHIVE_WARN ? -1 : 0;
}

static int write_data(struct kist_pack_pass *p, const void *buf, size_t len)
{
	if (len && archive_write_data(p->a, buf, len) != (la_ssize_t)len) {
		archive_failed(p, "");
		return -1;
	}
	return 0;
}

static int finish_entry(struct kist_pack_pass *p)
{
	if (archive_write_finish_entry(p->a) < ARCHIVE_WARN) {
		archive_failed(p, "");
		return -1;
	}
	return 0;
}

/* The entries before upto that no worker brings: directories, empty files. */
static int write_until(struct kist_pack_pass *p, size_t upto)
{
	for (; p->next_entry < upto; p->next_entry++) {
		const struct pentry *e = &p->e[p->next_entry];

		if (atomic_load(&p->failed) || write_header(p, e) < 0 || (!e->dir && finish_entry(p) < 0))
			return -1;
	}
	return 0;
}

/* An item's header, after the entries before it; then its buffered bytes. */
static int write_item_start(struct kist_pack_pass *p, struct pitem *it)
{
	if (write_until(p, it->entry) < 0 || write_header(p, &p->e[it->entry]) < 0)
		return -1;
	p->next_entry = it->entry + 1;
	return it->buf ? write_data(p, it->buf->data, it->buf->len) : 0;
}

static void drop_buffer(struct kist_pack_pass *p, struct pitem *it)
{
	if (!it->buf)
		return;
	p->buffered -= it->buf->cap;
	free(it->buf);
	it->buf = NULL;
}

/* With the token and the lock held: the item is written; the complete
 * items after it go in too; then the token is given back. */
static void advance_and_release(struct kist_pack_pass *p, struct pitem *it)
{
	drop_buffer(p, it);
	it->state = I_WRITTEN;
	p->next_item++;
	while (!atomic_load(&p->failed) && p->next_item < p->ni &&
	       p->it[p->next_item].state == I_COMPLETE) {
		struct pitem *next = &p->it[p->next_item];
		int ok;

		pthread_mutex_unlock(&p->lock);
		ok = write_item_start(p, next) == 0 && finish_entry(p) == 0;
		pthread_mutex_lock(&p->lock);
		drop_buffer(p, next);
		if (!ok)
			break;
		next->state = I_WRITTEN;
		p->next_item++;
		pthread_cond_broadcast(&p->cv);   /* memory freed */
	}
	p->busy = 0;
	pthread_cond_broadcast(&p->cv);
}

/* --- the consumer --------------------------------------------------------------- */

static void *c_open(void *arg, size_t index, const char *path, uint64_t size)
{
	struct kist_pack_pass *p = arg;
	struct pitem *it = &p->it[index];

	if (size != p->e[it->entry].size)
		set_failed(p, "%s changed size since it was scanned", path);
	return it;
}

/* Takes the token if it is this item's turn; lock held. */
static int take_turn(struct kist_pack_pass *p, struct pitem *it)
{
	if (p->next_item != (size_t)(it - p->it) || p->busy)
		return 0;
	p->busy = 1;
	return 1;
}

static void c_update(void *state, const unsigned char *buf, size_t len, uint64_t offset)
{
	struct pitem *it = state;
	struct kist_pack_pass *p = it->p;

	(void)offset;
	if (atomic_load(&p->failed))
		return;
	it->seen += len;
	if (it->seen > p->e[it->entry].size) {
		set_failed(p, "data/%s grew while it was read", p->e[it->entry].rel);
		return;
	}
	if (it->direct) {
		write_data(p, buf, len);
		return;
	}
	pthread_mutex_lock(&p->lock);
	for (;;) {
		if (atomic_load(&p->failed))
			break;
		if (take_turn(p, it)) {
			pthread_mutex_unlock(&p->lock);
			it->direct = 1;
			if (write_item_start(p, it) == 0)
				write_data(p, buf, len);
			pthread_mutex_lock(&p->lock);
			drop_buffer(p, it);
			pthread_cond_broadcast(&p->cv);
			break;
		}
		if (p->buffered + len <= p->buffer_max || !it->buf) {
			/* a first block always fits: the bound is loose by one
			 * block per worker, and a worker never waits empty-handed */
			size_t need = (it->buf ? it->buf->len : 0) + len;
			size_t cap = it->buf ? it->buf->cap : 0;

			if (need > cap) {
				size_t ncap = cap ? cap : len;
				struct pbuf *nb;

				while (ncap < need)
					ncap *= 2;
				if (ncap > p->e[it->entry].size && need <= p->e[it->entry].size)
					ncap = (size_t)p->e[it->entry].size;
				if (it->buf && p->buffered - cap + ncap > p->buffer_max)
					goto wait;
				if (!(nb = realloc(it->buf, sizeof(*nb) + ncap))) {
					pthread_mutex_unlock(&p->lock);
					set_failed(p, "out of memory");
					return;
				}
				if (!it->buf)
					nb->len = 0;
				nb->cap = ncap;
				p->buffered += ncap - cap;
				it->buf = nb;
			}
			memcpy(it->buf->data + it->buf->len, buf, len);
			it->buf->len += len;
			break;
		}
	wait:
		pthread_cond_wait(&p->cv, &p->lock);
	}
	pthread_mutex_unlock(&p->lock);
}

static void c_close(void *state, int failed)
{
	struct pitem *it = state;
	struct kist_pack_pass *p = it->p;
	const struct pentry *e = &p->e[it->entry];

	if (failed) {
		set_failed(p, "data/%s could not be read", e->rel);
		return;
	}
	if (it->seen != e->size) {
		set_failed(p, "data/%s changed size while it was read", e->rel);
		return;
	}
	if (it->direct) {
		int ok = finish_entry(p) == 0;

		pthread_mutex_lock(&p->lock);
		if (ok)
			advance_and_release(p, it);
		else
			p->busy = 0;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->lock);
		return;
	}
	pthread_mutex_lock(&p->lock);
	if (!atomic_load(&p->failed) && take_turn(p, it)) {
		int ok;

		pthread_mutex_unlock(&p->lock);
		ok = write_item_start(p, it) == 0 && finish_entry(p) == 0;
		pthread_mutex_lock(&p->lock);
		if (ok) {
			advance_and_release(p, it);
		} else {
			drop_buffer(p, it);
			p->busy = 0;
		}
	} else {
		it->state = I_COMPLETE;   /* the token's holder writes it */
	}
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->lock);
}

static void c_skip(void *arg, size_t index)
{
	struct kist_pack_pass *p = arg;

	set_failed(p, "data/%s could not be read", p->e[p->it[index].entry].rel);
}

const struct kist_consumer *pack_pass_consumer(struct kist_pack_pass *p)
{
	p->consumer = (struct kist_consumer){ .open = c_open, .update = c_update, .close = c_close,
					      .arg = p, .skip = c_skip };
	return &p->consumer;
}

/* --- the payload --------------------------------------------------------------------- */

int pack_pass_begin(struct kist_pack_pass *p, int bagfd, size_t nentries, size_t nitems,
		    struct kist_error *err)
{
	struct stat st;
	struct pentry top = { .dir = 1, .mode = 0755 }, data = top;

	free(p->e);
	free(p->it);
	p->e = calloc(nentries + 1, sizeof(*p->e));
	p->it = calloc(nitems + 1, sizeof(*p->it));
	if (!p->e || !p->it) {
		set_failed(p, "out of memory");
		return kist_error_set(err, KIST_FAILED, "out of memory");
	}
	p->cape = nentries;
	p->capi = nitems;
	p->ne = p->ni = p->next_entry = p->next_item = 0;
	if (fstat(bagfd, &st) == 0) {
		top.mode = st.st_mode;
		top.sec = st.st_mtim.tv_sec;
		top.nsec = st.st_mtim.tv_nsec;
	}
	if (fstatat(bagfd, "data", &st, AT_SYMLINK_NOFOLLOW) == 0) {
		data.mode = st.st_mode;
		data.sec = st.st_mtim.tv_sec;
		data.nsec = st.st_mtim.tv_nsec;
	}
	/* BAG/ then BAG/data/ */
	p->prefix = "";
	if (write_header(p, &top) < 0)
		goto fail;
	p->prefix = "data/";
	if (write_header(p, &data) < 0)
		goto fail;
	return KIST_OK;
fail:
	return kist_error_set(err, KIST_FAILED, "cannot write %s: %s", p->out, p->errbuf);
}

void pack_pass_add(struct kist_pack_pass *p, const char *rel, int is_dir, int is_item, uint64_t size,
		   mode_t mode, struct timespec mtime)
{
	struct pentry *e;

	if (p->ne >= p->cape || (is_item && p->ni >= p->capi))
		return;   /* more than begin was told: caught by pack_pass_payload_end */
	e = &p->e[p->ne];
	*e = (struct pentry){ .rel = rel, .size = is_dir ? 0 : size, .sec = mtime.tv_sec,
			      .nsec = mtime.tv_nsec, .mode = mode, .dir = is_dir ? 1 : 0,
			      .item = is_item ? 1 : 0 };
	if (is_item)
		p->it[p->ni++] = (struct pitem){ .p = p, .entry = p->ne };
	p->ne++;
}

int pack_pass_payload_end(struct kist_pack_pass *p, struct kist_error *err)
{
	if (!atomic_load(&p->failed) && p->next_item != p->ni)
		set_failed(p, "%zu of %zu payload files were not written", p->ni - p->next_item, p->ni);
	if (!atomic_load(&p->failed))
		write_until(p, p->ne);
	for (size_t i = 0; i < p->ni; i++)
		free(p->it[i].buf);
	free(p->it);
	p->it = NULL;
	free(p->e);   /* the names were borrowed */
	p->e = NULL;
	p->ne = p->ni = p->next_entry = 0;
	if (atomic_load(&p->failed))
		return kist_error_set(err, KIST_FAILED, "cannot write %s: %s", p->out, p->errbuf);
	p->payload_in = 1;
	return KIST_OK;
}

/* --- the tag files, and the end -------------------------------------------------------- */

struct tags {
	struct kist_pack_pass *p;
	struct pentry *e;
	size_t n, cap;
	size_t *item_entry;
	size_t next;
	int bad;
	struct kist_findings *fs;
};

static int on_tag_walk(void *ctx, const struct kist_walk_entry *we)
{
	struct tags *t = ctx;
	struct pentry *e;
	char *rel;

	if (we->type == KIST_ENTRY_DIR_END || !we->rel[0])
		return 0;
	if (strcmp(we->rel, "data") == 0)
		return we->type == KIST_ENTRY_DIR ? 1 : 0;   /* written already */
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 32;
		struct pentry *n = realloc(t->e, cap * sizeof(*n));

		if (!n)
			return -1;
		t->e = n;
		t->cap = cap;
	}
	if (!(rel = strdup(we->rel)))
		return -1;
	e = &t->e[t->n++];
	*e = (struct pentry){ .rel = rel, .size = we->size, .sec = we->mtime_sec, .nsec = we->mtime_nsec,
			      .mode = we->mode, .dir = we->type == KIST_ENTRY_DIR,
			      .item = we->type != KIST_ENTRY_DIR, .rank = kist_pack_rank(we->rel) };
	return 0;
}

static int tag_cmp(const void *a, const void *b)
{
	const struct pentry *x = a, *y = b;

	return x->rank != y->rank ? x->rank - y->rank : strcmp(x->rel, y->rel);
}

/* One worker, in order: each file straight into the archive. */
static void *t_open(void *arg, size_t index, const char *path, uint64_t size)
{
	struct tags *t = arg;
	struct kist_pack_pass *p = t->p;
	size_t i = t->item_entry[index];

	(void)path;
	(void)size;
	for (; t->next < i; t->next++)
		if (write_header(p, &t->e[t->next]) < 0)
			return NULL;
	t->next = i + 1;
	return write_header(p, &t->e[i]) < 0 ? NULL : t;
}

static void t_update(void *state, const unsigned char *buf, size_t len, uint64_t offset)
{
	struct tags *t = state;

	(void)offset;
	if (!atomic_load(&t->p->failed))
		write_data(t->p, buf, len);
}

static void t_close(void *state, int failed)
{
	struct tags *t = state;

	if (!failed && !atomic_load(&t->p->failed))
		finish_entry(t->p);
}

static int on_tag_read(void *ctx, const struct kist_hash_result *r)
{
	struct tags *t = ctx;

	if (r->fail_code) {
		kist_findings_add(t->fs, KIST_SEV_FAILURE, r->fail_code, r->path, "%s", r->fail_message);
		set_failed(t->p, "%s: %s", r->path, r->fail_message);
		return 1;
	}
	return atomic_load(&t->p->failed);
}

static int append_tags(struct kist_pack_pass *p, struct kist_findings *fs, struct kist_error *err)
{
	struct kist_walk_options wo = { .follow_symlinks = 0, .follow_root = 1 };
	struct kist_consumer consumer = { .open = t_open, .update = t_update, .close = t_close };
	struct kist_findings *wf = kist_findings_new();
	struct kist_hash_item *items = NULL;
	struct tags t = { .p = p, .fs = fs };
	size_t nitems = 0;
	int dirfd = -1, rc = KIST_OK;

	p->prefix = "";
	if (!wf) {
		rc = kist_error_set(err, KIST_FAILED, "out of memory");
		goto out;
	}
	if (kist_walk(p->bag, &wo, on_tag_walk, &t, wf, err) != KIST_OK) {
		rc = err->message[0] ? KIST_FAILED : kist_error_set(err, KIST_FAILED, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < kist_findings_count(wf); i++) {
		const struct kist_finding *f = kist_findings_get(wf, i);

		if (f->severity < KIST_SEV_ERROR && !strstr(f->code, "symlink") && !strstr(f->code, "special"))
			continue;
		kist_findings_add(fs, KIST_SEV_ERROR, "pack.not-regular", f->path,
				  "%s; a bag holds only directories and regular files: not packed",
				  f->message ? f->message : "not a regular file");
		t.bad = 1;
	}
	if (t.bad) {
		rc = KIST_INVALID;
		goto out;
	}
	if (t.n > 1)
		qsort(t.e, t.n, sizeof(*t.e), tag_cmp);
	items = calloc(t.n + 1, sizeof(*items));
	t.item_entry = calloc(t.n + 1, sizeof(*t.item_entry));
	if (!items || !t.item_entry) {
		rc = kist_error_set(err, KIST_FAILED, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < t.n; i++)
		if (t.e[i].item) {
			items[nitems] = (struct kist_hash_item){ t.e[i].rel, t.e[i].size };
			t.item_entry[nitems++] = i;
		}
	if ((dirfd = open(p->bag, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = kist_error_sys(err, errno, "%s", p->bag);
		goto out;
	}
	rc = kist_pack_read_in_order(dirfd, items, nitems, &consumer, &t, on_tag_read, NULL, err);
	for (; rc == KIST_OK && t.next < t.n && !atomic_load(&p->failed); t.next++)
		write_header(p, &t.e[t.next]);
	if (atomic_load(&p->failed))
		rc = kist_error_set(err, KIST_FAILED, "cannot write %s: %s", p->out, p->errbuf);
out:
	if (dirfd >= 0)
		close(dirfd);
	for (size_t i = 0; i < t.n; i++)
		free((char *)t.e[i].rel);
	free(t.e);
	free(t.item_entry);
	free(items);
	kist_findings_free(wf);
	return rc;
}

/* out's directory, synced so that the rename lasts. */
static void sync_parent(const char *out)
{
	char *copy = strdup(out), *slash;
	int fd;

	if (!copy)
		return;
	slash = strrchr(copy, '/');
	if (slash)
		*(slash == copy ? slash + 1 : slash) = '\0';
	fd = open(slash ? copy : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

/* An OUT made while the bag was made is not replaced. */
static int rename_noreplace(const char *from, const char *to)
{
	struct stat st;

	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (lstat(to, &st) == 0) {   /* no RENAME_NOREPLACE here: check, then rename */
		errno = EEXIST;
		return -1;
	}
	return rename(from, to);
}

int kist_pack_pass_finish(struct kist_pack_pass *p, struct kist_findings *findings,
			  struct kist_error *err)
{
	int rc;

	if (atomic_load(&p->failed))
		return kist_error_set(err, KIST_FAILED, "cannot write %s: %s", p->out, p->errbuf);
	if (!p->payload_in)
		return kist_error_set(err, KIST_FAILED, "cannot write %s: the payload was not packed", p->out);
	if ((rc = append_tags(p, findings, err)) != KIST_OK)
		return rc;
	if (archive_write_close(p->a) != ARCHIVE_OK) {
		archive_failed(p, "");
		return kist_error_set(err, KIST_FAILED, "cannot write %s: %s", p->out, p->errbuf);
	}
	if (fsync(p->fd) < 0)
		return kist_error_sys(err, errno, "cannot write %s", p->out);
	if (p->force ? rename(p->tmp, p->out) < 0 : rename_noreplace(p->tmp, p->out) < 0)
		return kist_error_sys(err, errno, "cannot write %s", p->out);
	sync_parent(p->out);
	p->finished = 1;
	return KIST_OK;
}

/* --- making and freeing ------------------------------------------------------------------ */

int kist_pack_pass_new(const char *out, const char *bag, const struct kist_bag_pack_options *opt,
		       struct kist_pack_pass **pass, struct kist_error *err)
{
	static const struct kist_bag_pack_options defaults = { 0 };
	struct kist_pack_pass *p;
	struct stat st;
	int rc;

	*pass = NULL;
	opt = opt ? opt : &defaults;
	if (kist_pack_format_for_name(out) < 0)
		return kist_error_set(err, KIST_FAILED, "%s: name the archive .tar, .tar.gz, .tgz or .zip", out);
	if (!opt->force && lstat(out, &st) == 0)
		return kist_error_set(err, KIST_FAILED, "%s exists; not replaced", out);
	if (!(p = calloc(1, sizeof(*p))))
		return kist_error_set(err, KIST_FAILED, "out of memory");
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->fd = -1;
	p->fmt = kist_pack_format_for_name(out);
	p->store = opt->store;
	p->force = opt->force;
	p->prefix = "";
	p->buffer_max = getenv("KIST_TEST_PACK_BUFFER") ? strtoull(getenv("KIST_TEST_PACK_BUFFER"), NULL, 10)
							: BUFFER_MAX;
	if (!(p->out = strdup(out)) || !(p->bag = strdup(bag)) || !(p->top = kist_pack_bag_name(bag))) {
		rc = kist_error_set(err, KIST_FAILED, "out of memory");
		goto fail;
	}
	if (!strcmp(p->top, ".") || !strcmp(p->top, "..") || !strcmp(p->top, "/")) {
		rc = kist_error_set(err, KIST_FAILED, "%s: name the bag by its directory, not '%s'", bag, p->top);
		goto fail;
	}
	if ((p->fd = kist_path_tmp_beside(out, &p->tmp)) < 0) {
		rc = kist_error_sys(err, errno, "cannot write beside %s", out);
		goto fail;
	}
	if ((rc = kist_pack_writer_open(&p->a, p->fmt, p->store, p->fd, err)) != KIST_OK)
		goto fail;
	*pass = p;
	return KIST_OK;
fail:
	kist_pack_pass_free(p);
	return rc;
}

void kist_pack_pass_free(struct kist_pack_pass *p)
{
	if (!p)
		return;
	if (p->a)
		archive_write_free(p->a);   /* an unfinished one is never renamed */
	if (p->fd >= 0)
		close(p->fd);
	if (p->tmp && !p->finished)
		unlink(p->tmp);
	kist_path_tmp_done(p->tmp);
	for (size_t i = 0; p->it && i < p->ni; i++)
		free(p->it[i].buf);
	free(p->it);
	free(p->e);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cv);
	free(p->out);
	free(p->tmp);
	free(p->bag);
	free(p->top);
	free(p);
}
