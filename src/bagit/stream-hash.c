/* Digests for bytes that arrive as one stream (an archive's entries): the
 * reader copies each entry's bytes into blocks from a fixed pool; worker
 * threads each take the oldest entry nobody holds and digest its blocks in
 * order as they come. Only the entry being read can still grow, so a worker
 * waiting on it never holds up the others, and the pool bounds memory.
 *
 * The pipeline (src/core/pipeline.c) reads files by path; an archive has no
 * paths to open, so this is its own small producer/consumer with the same
 * shape: one read, every digest, all cores. */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kist/digest.h>

#include "transfer.h"

#define BLOCK (1u << 20)
#define BLOCKS_PER_WORKER 4

struct block {
	struct block *next;
	size_t len;
	unsigned char data[];
};

struct kist_shash_job {
	struct kist_shash *h;
	struct kist_shash_job *next;     /* in h->open or h->done */
	size_t id;
	kist_algset algs;
	struct block *head, *tail;       /* queued, not yet digested */
	struct block *fill;              /* the reader's partial block */
	int eof, taken, failed;
	int fd;                          /* a range job: bytes read by the worker */
	uint64_t offset, length;
	unsigned char digest[KIST_ALG_COUNT][KIST_DIGEST_MAX];
};

struct kist_shash {
	pthread_mutex_t lock;
	pthread_cond_t work_cv;          /* workers: a job or a block arrived */
	pthread_cond_t free_cv;          /* reader: a block came back, a job finished */
	struct block *free;
	struct kist_shash_job *open, *open_tail;   /* in arrival order */
	struct kist_shash_job *done;
	size_t pending;                  /* jobs begun and not collected */
	int stop;
	unsigned nthreads;
	pthread_t *threads;
};

static struct block *take_block(struct kist_shash *h)
{
	struct block *b;

	pthread_mutex_lock(&h->lock);
	while (!h->free)
		pthread_cond_wait(&h->free_cv, &h->lock);
	b = h->free;
	h->free = b->next;
	pthread_mutex_unlock(&h->lock);
	b->next = NULL;
	b->len = 0;
	return b;
}

/* Under the lock: the oldest job nobody holds that has work or has ended. */
static struct kist_shash_job *next_job(struct kist_shash *h)
{
	for (struct kist_shash_job *j = h->open; j; j = j->next)
		if (!j->taken)
			return j;
	return NULL;
}

static void unlink_open(struct kist_shash *h, struct kist_shash_job *j)
{
	struct kist_shash_job **pp = &h->open, *prev = NULL;

	while (*pp && *pp != j) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (!*pp)
		return;
	*pp = j->next;
	if (h->open_tail == j)
		h->open_tail = prev;
}

/* A range job: the worker reads the bytes itself (pread), as the pipeline
 * does from a file, so large entries of an uncompressed archive are hashed
 * on all cores without a copy. */
static void hash_range(struct kist_shash_job *j, struct kist_digest **d, unsigned char **buf)
{
	uint64_t off = j->offset, left = j->length;

	if (!*buf && !(*buf = malloc(BLOCK))) {
		j->failed = 1;
		return;
	}
	while (left) {
		size_t want = left > BLOCK ? BLOCK : (size_t)left;
		ssize_t n = pread(j->fd, *buf, want, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			j->failed = 1;
			return;
		}
		for (int a = 0; a < KIST_ALG_COUNT; a++)
			if ((j->algs & KIST_ALG_BIT(a)) && d[a])
				kist_digest_update(d[a], *buf, (size_t)n);
		off += (uint64_t)n;
		left -= (uint64_t)n;
	}
}

static void *worker(void *arg)
{
	struct kist_shash *h = arg;
	struct kist_digest *d[KIST_ALG_COUNT] = { NULL };
	unsigned char *buf = NULL;

	pthread_mutex_lock(&h->lock);
	for (;;) {
		struct kist_shash_job *j;

		while (!h->stop && !(j = next_job(h)))
			pthread_cond_wait(&h->work_cv, &h->lock);
		if (h->stop)
			break;
		j->taken = 1;
		pthread_mutex_unlock(&h->lock);
		for (int a = 0; a < KIST_ALG_COUNT; a++)
			if (j->algs & KIST_ALG_BIT(a)) {
				if (!d[a])
					d[a] = kist_digest_new(a);
				if (d[a])
					kist_digest_begin(d[a]);
			}
		if (j->fd >= 0) {
			hash_range(j, d, &buf);
			pthread_mutex_lock(&h->lock);
		} else {
			pthread_mutex_lock(&h->lock);
		}
		for (; j->fd < 0;) {
			struct block *b = j->head;

			if (!b) {
				if (j->eof)
					break;
				pthread_cond_wait(&h->work_cv, &h->lock);
				continue;
			}
			j->head = b->next;
			if (!j->head)
				j->tail = NULL;
			pthread_mutex_unlock(&h->lock);
			for (int a = 0; a < KIST_ALG_COUNT; a++)
				if ((j->algs & KIST_ALG_BIT(a)) && d[a])
					kist_digest_update(d[a], b->data, b->len);
			pthread_mutex_lock(&h->lock);
			b->next = h->free;
			h->free = b;
			pthread_cond_signal(&h->free_cv);
		}
		pthread_mutex_unlock(&h->lock);
		for (int a = 0; a < KIST_ALG_COUNT; a++)
			if (j->algs & KIST_ALG_BIT(a)) {
				if (!d[a] || kist_digest_end(d[a], j->digest[a]) < 0)
					j->algs &= ~KIST_ALG_BIT(a);   /* reported as not computed */
			}
		pthread_mutex_lock(&h->lock);
		unlink_open(h, j);
		j->next = h->done;
		h->done = j;
		pthread_cond_broadcast(&h->free_cv);
	}
	pthread_mutex_unlock(&h->lock);
	for (int a = 0; a < KIST_ALG_COUNT; a++)
		kist_digest_free(d[a]);
	free(buf);
	return NULL;
}

struct kist_shash *kist_shash_new(unsigned jobs)
{
	struct kist_shash *h = calloc(1, sizeof(*h));
	size_t nblocks;

	if (!h)
		return NULL;
	if (!jobs) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		jobs = n > 0 ? (unsigned)n : 1;
	}
	if (jobs > 64)
		jobs = 64;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->work_cv, NULL);
	pthread_cond_init(&h->free_cv, NULL);
	nblocks = (size_t)jobs * BLOCKS_PER_WORKER + 2;
	for (size_t i = 0; i < nblocks; i++) {
		struct block *b = malloc(sizeof(*b) + BLOCK);

		if (!b)
			goto fail;
		b->next = h->free;
		h->free = b;
	}
	if (!(h->threads = calloc(jobs, sizeof(*h->threads))))
		goto fail;
	for (unsigned i = 0; i < jobs; i++) {
		if (pthread_create(&h->threads[i], NULL, worker, h) != 0)
			break;
		h->nthreads++;
	}
	if (!h->nthreads)
		goto fail;
	return h;
fail:
	kist_shash_free(h);
	return NULL;
}

static void free_blocks(struct block *b)
{
	while (b) {
		struct block *n = b->next;

		free(b);
		b = n;
	}
}

void kist_shash_free(struct kist_shash *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->stop = 1;
	pthread_cond_broadcast(&h->work_cv);
	pthread_mutex_unlock(&h->lock);
	for (unsigned i = 0; i < h->nthreads; i++)
		pthread_join(h->threads[i], NULL);
	free(h->threads);
	while (h->open) {
		struct kist_shash_job *j = h->open;

		h->open = j->next;
		free_blocks(j->head);
		free_blocks(j->fill);
		free(j);
	}
	while (h->done) {
		struct kist_shash_job *j = h->done;

		h->done = j->next;
		free(j);
	}
	free_blocks(h->free);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->work_cv);
	pthread_cond_destroy(&h->free_cv);
	free(h);
}

struct kist_shash_job *kist_shash_begin(struct kist_shash *h, size_t id, kist_algset algs)
{
	struct kist_shash_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->h = h;
	j->id = id;
	j->algs = algs;
	j->fd = -1;
	pthread_mutex_lock(&h->lock);
	if (h->open_tail)
		h->open_tail->next = j;
	else
		h->open = j;
	h->open_tail = j;
	h->pending++;
	pthread_cond_signal(&h->work_cv);
	pthread_mutex_unlock(&h->lock);
	return j;
}

int kist_shash_range(struct kist_shash *h, size_t id, kist_algset algs, int fd, uint64_t offset,
		     uint64_t length)
{
	struct kist_shash_job *j = calloc(1, sizeof(*j));

	if (!j)
		return -1;
	j->h = h;
	j->id = id;
	j->algs = algs;
	j->fd = fd;
	j->offset = offset;
	j->length = length;
	j->eof = 1;
	pthread_mutex_lock(&h->lock);
	if (h->open_tail)
		h->open_tail->next = j;
	else
		h->open = j;
	h->open_tail = j;
	h->pending++;
	pthread_cond_signal(&h->work_cv);
	pthread_mutex_unlock(&h->lock);
	return 0;
}

static void post(struct kist_shash_job *j, struct block *b)
{
	struct kist_shash *h = j->h;

	pthread_mutex_lock(&h->lock);
	if (b) {
		if (j->tail)
			j->tail->next = b;
		else
			j->head = b;
		j->tail = b;
	} else {
		j->eof = 1;
	}
	/* every worker may be waiting: the one holding j, or one looking for a job */
	pthread_cond_broadcast(&h->work_cv);
	pthread_mutex_unlock(&h->lock);
}

int kist_shash_write(struct kist_shash_job *j, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	if (!j->algs)
		return 0;
	while (len) {
		size_t n;

		if (!j->fill)
			j->fill = take_block(j->h);
		n = BLOCK - j->fill->len;
		if (n > len)
			n = len;
		memcpy(j->fill->data + j->fill->len, p, n);
		j->fill->len += n;
		p += n;
		len -= n;
		if (j->fill->len == BLOCK) {
			post(j, j->fill);
			j->fill = NULL;
		}
	}
	return 0;
}

void kist_shash_end(struct kist_shash_job *j)
{
	if (j->fill) {
		post(j, j->fill);
		j->fill = NULL;
	}
	post(j, NULL);
}

void kist_shash_collect(struct kist_shash *h, int wait, kist_shash_done_fn fn, void *ctx)
{
	for (;;) {
		struct kist_shash_job *done;

		pthread_mutex_lock(&h->lock);
		while (wait && h->pending && !h->done)
			pthread_cond_wait(&h->free_cv, &h->lock);
		done = h->done;
		h->done = NULL;
		for (struct kist_shash_job *j = done; j; j = j->next)
			h->pending--;
		pthread_mutex_unlock(&h->lock);
		while (done) {
			struct kist_shash_job *j = done;

			done = j->next;
			fn(ctx, j->id, j->failed ? 0 : j->algs, j->failed, j->digest);
			free(j);
		}
		if (!wait || !h->pending)
			return;
	}
}
