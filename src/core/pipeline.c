/* The one-read, many-digests hashing pipeline.
 *
 * Workers take files in input order; each reads its file in blocks and feeds
 * every block to all requested digests and to the consumer. A file of at
 * least share_threshold bytes with more than one digest is "shared": its
 * digests are split into lanes, and an idle worker (one that finds no file to
 * take) may claim a lane and run those digests over the same blocks, read
 * once into a small ring by the file's reader. Results are delivered in input
 * order by the calling thread through a bounded window of slots. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <kist/error.h>
#include <kist/path.h>
#include <kist/pipeline.h>
#include <kist/pool.h>
#include <kist/progress.h>

#define DEFAULT_BLOCK (1u << 20)
#define RING 8                    /* blocks in flight for a shared file */
#define WINDOW_PER_JOB 64         /* results that may wait for delivery, per worker */
#define DELIVER_BATCH 32          /* wake the deliverer for this many ready results */

enum lane_owner { LANE_FREE, LANE_READER_BUSY, LANE_HELPER, LANE_RELEASED };

struct lane {
	kist_algset algs;
	unsigned cost;
	enum lane_owner owner;
	uint64_t done;               /* blocks this lane has digested */
};

struct share {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	unsigned char **ring;
	size_t len[RING];
	uint64_t produced;           /* blocks read so far */
	int eof;                     /* produced is final */
	struct kist_digest **digests;/* the reader's contexts, used lane by lane */
	int nlanes;
	struct lane lanes[KIST_ALG_COUNT];
	struct share *next;          /* in run->shares while helpers may join */
};

struct slot {
	struct kist_hash_result r;
	int done;
};

struct run {
	const struct kist_pipeline_options *o;
	const struct kist_hash_item *items;
	size_t n;
	size_t block;
	uint64_t share_threshold;
	pthread_mutex_t lock;
	pthread_cond_t work_cv;      /* for workers: item freed, share posted, item done */
	pthread_cond_t main_cv;      /* for the delivering thread: a slot is done */
	size_t next_item, emitted, window, in_progress;
	unsigned idle;               /* workers waiting on work_cv */
	struct slot *slots;
	struct share *shares;
	atomic_int stop;             /* read by workers without the lock */
	struct kist_pipeline_stats stats;   /* under lock */
	int nlanes;                  /* lane plan, the same for every shared file */
	kist_algset lane_algs[KIST_ALG_COUNT];
	unsigned lane_cost[KIST_ALG_COUNT];
};

struct worker {
	struct run *run;
	unsigned char *buf;          /* block buffer; ring[0] when sharing */
	unsigned char *ring[RING];
	struct kist_digest *digests[KIST_ALG_COUNT];
};

void kist_pipeline_options_init(struct kist_pipeline_options *o)
{
	memset(o, 0, sizeof(*o));
	o->algs = KIST_ALG_BIT(KIST_ALG_SHA256);
	o->dirfd = AT_FDCWD;
}

static int cancelled(const struct run *run)
{
	return run->stop || (run->o->cancel && *run->o->cancel);
}

static void fail(struct kist_hash_result *r, const char *code, int err, const char *what)
{
	if (r->fail_code)
		return;
	r->fail_code = code;
	r->fail_errno = err;
	if (err)
		snprintf(r->fail_message, sizeof(r->fail_message), "%s: %s", what, strerror(err));
	else
		snprintf(r->fail_message, sizeof(r->fail_message), "%s", what);
}

static int digests_ready(struct kist_digest **d, kist_algset algs)
{
	for (int a = 0; a < KIST_ALG_COUNT; a++) {
		if (!(algs & KIST_ALG_BIT(a)))
			continue;
		if (!d[a] && !(d[a] = kist_digest_new(a)))
			return -1;
		if (kist_digest_begin(d[a]) < 0)
			return -1;
	}
	return 0;
}

static void digests_update(struct kist_digest **d, kist_algset algs, const void *buf, size_t len)
{
	for (int a = 0; a < KIST_ALG_COUNT; a++)
		if (algs & KIST_ALG_BIT(a))
			kist_digest_update(d[a], buf, len);
}

static int digests_end(struct kist_digest **d, kist_algset algs, struct kist_hash_result *r)
{
	for (int a = 0; a < KIST_ALG_COUNT; a++)
		if ((algs & KIST_ALG_BIT(a)) && kist_digest_end(d[a], r->digest[a]) < 0)
			return -1;
	return 0;
}

/* Reads up to len bytes, retrying short reads; returns bytes read or -1. */
static ssize_t read_block(int fd, unsigned char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static void feed_consumer(const struct kist_pipeline_options *o, struct kist_hash_result *r,
			  const unsigned char *buf, size_t len)
{
	if (o->consumer && r->consumer_state)
		o->consumer->update(r->consumer_state, buf, len, r->bytes);
	if (o->progress)
		kist_progress_add_bytes(o->progress, len);
	r->bytes += len;
}

/* Reads fd to the end, digesting on this thread. A file that fits one
 * block is read with one call: reading on to see end-of-file would cost a
 * system call per file, and the fstat after reading catches growth. */
static void hash_plain(struct worker *w, int fd, uint64_t size, struct kist_hash_result *r)
{
	const struct kist_pipeline_options *o = w->run->o;
	size_t want = size > 0 && size < w->run->block ? (size_t)size : w->run->block;
	ssize_t n;

	while ((n = read_block(fd, w->buf, want)) > 0) {
		digests_update(w->digests, o->algs, w->buf, (size_t)n);
		feed_consumer(o, r, w->buf, (size_t)n);
		if ((size_t)n < want || r->bytes == size || cancelled(w->run))
			break;
		want = w->run->block;
	}
	if (n < 0)
		fail(r, "file.unreadable", errno, "read error");
}

/* --- shared files --------------------------------------------------------- */

static uint64_t min_done(const struct share *s)
{
	uint64_t m = UINT64_MAX;

	for (int i = 0; i < s->nlanes; i++)
		if (s->lanes[i].done < m)
			m = s->lanes[i].done;
	return m;
}

/* Helper side: digest the lane's algorithms over every block the reader
 * produces, until the reader's end of file. */
static void help(struct share *s, struct lane *l)
{
	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (l->done == s->produced && !s->eof)
			pthread_cond_wait(&s->cv, &s->lock);
		if (l->done == s->produced)
			break;
		size_t slot = l->done % RING;
		pthread_mutex_unlock(&s->lock);
		digests_update(s->digests, l->algs, s->ring[slot], s->len[slot]);
		pthread_mutex_lock(&s->lock);
		l->done++;
		pthread_cond_broadcast(&s->cv);
	}
	l->owner = LANE_RELEASED;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->lock);
}

static void share_post(struct run *run, struct share *s)
{
	pthread_mutex_lock(&run->lock);
	run->stats.shared_files++;
	s->next = run->shares;
	run->shares = s;
	pthread_cond_broadcast(&run->work_cv);
	pthread_mutex_unlock(&run->lock);
}

static void share_withdraw(struct run *run, struct share *s)
{
	pthread_mutex_lock(&run->lock);
	for (struct share **p = &run->shares; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			break;
		}
	pthread_mutex_unlock(&run->lock);
}

/* Reader side: read blocks into the ring; digest the lanes no helper took. */
static void hash_shared(struct worker *w, int fd, struct kist_hash_result *r)
{
	struct run *run = w->run;
	struct share s = { .ring = w->ring, .digests = w->digests, .nlanes = run->nlanes };
	uint64_t b;
	int read_failed = 0;

	for (int i = 0; i < RING; i++)
		if (!w->ring[i] && !(w->ring[i] = malloc(run->block))) {
			hash_plain(w, fd, UINT64_MAX, r);
			return;
		}
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.cv, NULL);
	for (int i = 0; i < s.nlanes; i++) {
		s.lanes[i].algs = run->lane_algs[i];
		s.lanes[i].cost = run->lane_cost[i];
	}
	share_post(run, &s);

	for (b = 0;; b++) {
		size_t slot = b % RING;
		ssize_t n;

		pthread_mutex_lock(&s.lock);
		while (min_done(&s) + RING <= b)
			pthread_cond_wait(&s.cv, &s.lock);
		pthread_mutex_unlock(&s.lock);

		n = cancelled(run) ? 0 : read_block(fd, s.ring[slot], run->block);
		if (n < 0)
			read_failed = errno;
		if (n <= 0)
			break;
		pthread_mutex_lock(&s.lock);
		s.len[slot] = (size_t)n;
		s.produced = b + 1;
		pthread_cond_broadcast(&s.cv);
		for (int i = 0; i < s.nlanes; i++) {
			struct lane *l = &s.lanes[i];

			if (l->owner != LANE_FREE)
				continue;
			l->owner = LANE_READER_BUSY;
			pthread_mutex_unlock(&s.lock);
			digests_update(s.digests, l->algs, s.ring[slot], (size_t)n);
			pthread_mutex_lock(&s.lock);
			l->done++;
			l->owner = LANE_FREE;
		}
		pthread_mutex_unlock(&s.lock);
		feed_consumer(run->o, r, s.ring[slot], (size_t)n);
		if ((size_t)n < run->block)
			break;
	}

	share_withdraw(run, &s);
	pthread_mutex_lock(&s.lock);
	s.eof = 1;
	pthread_cond_broadcast(&s.cv);
	for (;;) {
		int busy = 0;

		for (int i = 0; i < s.nlanes; i++)
			busy |= s.lanes[i].owner == LANE_HELPER;
		if (!busy)
			break;
		pthread_cond_wait(&s.cv, &s.lock);
	}
	pthread_mutex_unlock(&s.lock);
	pthread_mutex_destroy(&s.lock);
	pthread_cond_destroy(&s.cv);
	if (read_failed)
		fail(r, "file.unreadable", read_failed, "read error");
}

/* Claims the costliest free lane of any open share; run->lock held. */
static int claim_lane(struct run *run, struct share **sp, struct lane **lp)
{
	for (struct share *s = run->shares; s; s = s->next) {
		struct lane *best = NULL;

		pthread_mutex_lock(&s->lock);
		if (!s->eof)
			for (int i = 0; i < s->nlanes; i++)
				if (s->lanes[i].owner == LANE_FREE &&
				    (!best || s->lanes[i].cost > best->cost))
					best = &s->lanes[i];
		if (best)
			best->owner = LANE_HELPER;
		pthread_mutex_unlock(&s->lock);
		if (best) {
			*sp = s;
			*lp = best;
			return 1;
		}
	}
	return 0;
}

/* --- one file --------------------------------------------------------------- */

static void hash_item(struct worker *w, size_t index, struct kist_hash_result *r)
{
	struct run *run = w->run;
	const struct kist_pipeline_options *o = run->o;
	const struct kist_hash_item *it = &run->items[index];
	struct stat before, after;
	int fd;

	memset(r, 0, sizeof(*r));
	r->index = index;
	r->path = it->path;
	r->algs = o->algs;

	/* O_NONBLOCK: a FIFO swapped in after the walk must not hang us. */
	if (o->beneath)
		fd = kist_path_open_beneath(o->dirfd, it->path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	else
		fd = openat(o->dirfd, it->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY |
							 (o->nofollow ? O_NOFOLLOW : 0));
	if (fd < 0) {
		int e = errno;

		if (e == ENOENT)
			fail(r, "file.missing", 0, "no such file");
		else if (e == EXDEV)
			fail(r, "file.outside", 0, "path leaves the directory; not opened");
		else if (e == ELOOP && (o->nofollow || o->beneath))
			fail(r, "file.symlink", 0, "is a symbolic link, not followed");
		else
			fail(r, "file.unreadable", e, "cannot open");
		goto skipped;
	}
	if (fstat(fd, &before) < 0) {
		fail(r, "file.unreadable", errno, "cannot stat");
		goto out;
	}
	if (!S_ISREG(before.st_mode)) {
		fail(r, "file.not-regular", 0, S_ISDIR(before.st_mode) ? "is a directory"
								       : "not a regular file");
		goto out;
	}
	/* O_NONBLOCK does not affect reads of a regular file: leave it. */
#ifdef HAVE_POSIX_FADVISE
	if ((uint64_t)before.st_size > run->block)
		posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
	if (digests_ready(w->digests, o->algs) < 0) {
		fail(r, "digest.unavailable", 0, "cannot start a digest (OpenSSL)");
		goto out;
	}
	if (o->consumer)
		r->consumer_state = o->consumer->open(o->consumer->arg, index, it->path,
						      (uint64_t)before.st_size);

	if (run->nlanes > 1 && (uint64_t)before.st_size >= run->share_threshold)
		hash_shared(w, fd, r);
	else
		hash_plain(w, fd, (uint64_t)before.st_size, r);

	if (!r->fail_code && digests_end(w->digests, o->algs, r) < 0)
		fail(r, "digest.unavailable", 0, "cannot finish a digest (OpenSSL)");
	if (!r->fail_code && !cancelled(run)) {
		/* A file that grew, shrank or was rewritten while we read it has
		 * no single digest: say so rather than record a mixture. */
		if (fstat(fd, &after) == 0 &&
		    (after.st_size != before.st_size || after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
		     after.st_mtim.tv_nsec != before.st_mtim.tv_nsec || r->bytes != (uint64_t)after.st_size))
			fail(r, "file.changed", 0, "changed while it was read");
		else if (it->size != UINT64_MAX && it->size != r->bytes)
			fail(r, "file.changed", 0, "size changed since the directory was read");
	}
	if (o->consumer && r->consumer_state)
		o->consumer->close(r->consumer_state, r->fail_code != NULL);
out:
	close(fd);
skipped:
	if (o->consumer && !r->consumer_state && o->consumer->skip)
		o->consumer->skip(o->consumer->arg, index);
}

/* --- workers and delivery ---------------------------------------------------- */

/* Is a batch of results ready for delivery, counting from the next one to
 * deliver, now that item i is done? Waking the deliverer once per file costs
 * more than hashing a small file. run->lock held. */
static int batch_ready(const struct run *run, size_t i)
{
	size_t want = run->n - run->emitted < DELIVER_BATCH ? run->n - run->emitted : DELIVER_BATCH;
	size_t k;

	if (i < run->emitted || i >= run->emitted + want)
		return 0;
	for (k = 0; k < want; k++)
		if (!run->slots[(run->emitted + k) % run->window].done)
			return 0;
	return 1;
}

static void worker_main(void *arg)
{
	struct worker *w = arg;
	struct run *run = w->run;

	pthread_mutex_lock(&run->lock);
	for (;;) {
		struct share *s;
		struct lane *l;

		if (cancelled(run))
			break;
		if (run->next_item < run->n && run->next_item < run->emitted + run->window) {
			size_t i = run->next_item++;
			struct slot *slot = &run->slots[i % run->window];

			run->in_progress++;
			pthread_mutex_unlock(&run->lock);
			hash_item(w, i, &slot->r);
			if (run->o->progress)
				kist_progress_add_file(run->o->progress);
			pthread_mutex_lock(&run->lock);
			slot->done = 1;
			run->in_progress--;
			/* Wake only whoever waits on this: the deliverer for a
			 * batch of ready results; idle workers for the last item. */
			if (batch_ready(run, i))
				pthread_cond_signal(&run->main_cv);
			if (run->idle)
				pthread_cond_broadcast(&run->work_cv);
			continue;
		}
		if (claim_lane(run, &s, &l)) {
			run->stats.lanes_helped++;
			pthread_mutex_unlock(&run->lock);
			help(s, l);
			pthread_mutex_lock(&run->lock);
			continue;
		}
		if (run->next_item >= run->n && run->in_progress == 0)
			break;
		run->idle++;
		pthread_cond_wait(&run->work_cv, &run->lock);
		run->idle--;
	}
	pthread_cond_signal(&run->main_cv);   /* a cancelled run ends the deliverer's wait */
	pthread_mutex_unlock(&run->lock);
}

/* Splits the algorithms into at most jobs lanes of about equal cost. */
static void plan_lanes(struct run *run, kist_algset algs, unsigned jobs)
{
	int order[KIST_ALG_COUNT], count = 0;

	for (int a = 0; a < KIST_ALG_COUNT; a++)
		if (algs & KIST_ALG_BIT(a))
			order[count++] = a;
	for (int i = 1; i < count; i++)           /* costliest first */
		for (int j = i; j > 0 && kist_alg_cost(order[j]) > kist_alg_cost(order[j - 1]); j--) {
			int t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	run->nlanes = count < (int)jobs ? count : (int)jobs;
	for (int i = 0; i < count; i++) {
		int best = 0;

		for (int k = 1; k < run->nlanes; k++)
			if (run->lane_cost[k] < run->lane_cost[best])
				best = k;
		run->lane_algs[best] |= KIST_ALG_BIT(order[i]);
		run->lane_cost[best] += kist_alg_cost(order[i]);
	}
}

static void worker_free(struct worker *w)
{
	for (int a = 0; a < KIST_ALG_COUNT; a++)
		kist_digest_free(w->digests[a]);
	for (int i = 0; i < RING; i++)
		free(w->ring[i]);
}

int kist_pipeline_run(const struct kist_pipeline_options *o, const struct kist_hash_item *items,
		      size_t n, kist_result_fn fn, void *ctx, struct kist_error *err)
{
	struct run run = { .o = o, .items = items, .n = n };
	struct worker *workers = NULL;
	struct kist_pool *pool = NULL;
	unsigned jobs = o->jobs ? o->jobs : kist_cpu_count();
	int rc = KIST_OK;

	if (n == 0)
		return KIST_OK;
	if (!o->algs && !o->consumer)
		return kist_error_set(err, KIST_FAILED, "nothing to compute");
	run.block = o->block_size ? o->block_size : DEFAULT_BLOCK;
	run.share_threshold = o->share_threshold ? o->share_threshold : (uint64_t)run.block * RING;
	run.window = (size_t)jobs * WINDOW_PER_JOB;
	plan_lanes(&run, o->algs, jobs);
	pthread_mutex_init(&run.lock, NULL);
	pthread_cond_init(&run.work_cv, NULL);
	pthread_cond_init(&run.main_cv, NULL);

	run.slots = calloc(run.window, sizeof(*run.slots));
	workers = calloc(jobs, sizeof(*workers));
	if (!run.slots || !workers) {
		rc = kist_error_set(err, KIST_FAILED, "out of memory");
		goto out;
	}
	for (unsigned i = 0; i < jobs; i++) {
		workers[i].run = &run;
		if (!(workers[i].buf = workers[i].ring[0] = malloc(run.block))) {
			rc = kist_error_set(err, KIST_FAILED, "out of memory");
			goto out;
		}
	}
	if (!(pool = kist_pool_new(jobs))) {
		rc = kist_error_set(err, KIST_FAILED, "cannot start worker threads");
		goto out;
	}
	for (unsigned i = 0; i < kist_pool_size(pool); i++)
		kist_pool_submit(pool, worker_main, &workers[i]);

	pthread_mutex_lock(&run.lock);
	while (run.emitted < n && !cancelled(&run)) {
		struct slot *slot = &run.slots[run.emitted % run.window];

		if (!slot->done) {
			if (!batch_ready(&run, run.emitted))
				pthread_cond_wait(&run.main_cv, &run.lock);
			continue;
		}
		pthread_mutex_unlock(&run.lock);
		int stop = fn(ctx, &slot->r);
		pthread_mutex_lock(&run.lock);
		run.stats.files++;
		run.stats.bytes += slot->r.bytes;
		slot->done = 0;
		run.emitted++;
		if (stop)
			run.stop = 1;
		if (run.idle)
			pthread_cond_broadcast(&run.work_cv);
	}
	if (run.emitted < n) {
		run.stop = 1;
		pthread_cond_broadcast(&run.work_cv);
		rc = kist_error_set(err, KIST_FAILED, "stopped after %zu of %zu files", run.emitted, n);
	}
	pthread_mutex_unlock(&run.lock);
out:
	kist_pool_free(pool);
	/* results never delivered (the run stopped): their consumer states */
	for (size_t i = 0; run.slots && i < run.window; i++)
		if (run.slots[i].done && run.slots[i].r.consumer_state && o->consumer &&
		    o->consumer->discard)
			o->consumer->discard(run.slots[i].r.consumer_state);
	if (o->stats)
		*o->stats = run.stats;
	if (workers)
		for (unsigned i = 0; i < jobs; i++)
			worker_free(&workers[i]);
	free(workers);
	free(run.slots);
	pthread_mutex_destroy(&run.lock);
	pthread_cond_destroy(&run.work_cv);
	pthread_cond_destroy(&run.main_cv);
	return rc;
}

struct one_file {
	unsigned char (*digest)[KIST_DIGEST_MAX];
	uint64_t *bytes;
	struct kist_error *err;
	int rc;
};

static int take_one(void *ctx, const struct kist_hash_result *r)
{
	struct one_file *one = ctx;

	if (r->fail_code) {
		one->rc = kist_error_set(one->err, KIST_FAILED, "%s: %s", r->path, r->fail_message);
		return 0;
	}
	memcpy(one->digest, r->digest, sizeof(r->digest));
	if (one->bytes)
		*one->bytes = r->bytes;
	return 0;
}

int kist_hash_file(int dirfd, const char *path, kist_algset algs,
		   unsigned char digest[KIST_ALG_COUNT][KIST_DIGEST_MAX], uint64_t *bytes,
		   struct kist_error *err)
{
	struct kist_pipeline_options o;
	struct kist_hash_item item = { path, UINT64_MAX };
	struct one_file one = { digest, bytes, err, KIST_OK };
	int rc;

	kist_pipeline_options_init(&o);
	o.algs = algs;
	o.jobs = 1;
	o.dirfd = dirfd;
	o.nofollow = 1;
	rc = kist_pipeline_run(&o, &item, 1, take_one, &one, err);
	return rc != KIST_OK ? rc : one.rc;
}
