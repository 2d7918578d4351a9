/* The hashing pipeline: digests, order, shared large files, consumers, failures. */
#include <stdatomic.h>

#include "unit.h"

static const kist_algset ALL = (1u << KIST_ALG_COUNT) - 1;

/* Reference digest of a whole buffer in one update. */
static void reference(enum kist_alg alg, const unsigned char *data, size_t len, unsigned char *out)
{
	struct kist_digest *d = kist_digest_new(alg);

	assert_non_null(d);
	assert_int_equal(kist_digest_begin(d), 0);
	assert_int_equal(kist_digest_update(d, data, len), 0);
	assert_int_equal(kist_digest_end(d, out), 0);
	kist_digest_free(d);
}

struct corpus {
	char *dir;
	size_t n;
	char **names;
	unsigned char **data;
	size_t *len;
	struct kist_hash_item *items;
};

/* n files; every 5th is "large" (big bytes), the rest small; some empty. */
static void corpus_make(struct corpus *c, size_t n, size_t big)
{
	c->dir = unit_tmpdir();
	c->n = n;
	c->names = calloc(n, sizeof(char *));
	c->data = calloc(n, sizeof(unsigned char *));
	c->len = calloc(n, sizeof(size_t));
	c->items = calloc(n, sizeof(*c->items));
	for (size_t i = 0; i < n; i++) {
		size_t len = i % 5 == 4 ? big + i : (i % 7 == 0 ? 0 : 100 + i * 37);

		assert_true(asprintf(&c->names[i], "%s/f%04zu", c->dir, i) > 0);
		c->data[i] = malloc(len ? len : 1);
		for (size_t k = 0; k < len; k++)
			c->data[i][k] = (unsigned char)((k * 131 + i * 17 + (k >> 9)) & 0xff);
		c->len[i] = len;
		unit_write("", c->names[i], c->data[i], len);
		c->items[i].path = c->names[i];
		c->items[i].size = len;
	}
}

static void corpus_free(struct corpus *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->names[i]);
		free(c->data[i]);
	}
	free(c->names);
	free(c->data);
	free(c->len);
	free(c->items);
	unit_rmtree(c->dir);
	free(c->dir);
}

struct check {
	struct corpus *c;
	kist_algset algs;
	size_t next;            /* results must come in input order */
	int stop_at;            /* stop the run after this many results, or -1 */
};

static int check_result(void *ctx, const struct kist_hash_result *r)
{
	struct check *k = ctx;
	unsigned char want[KIST_DIGEST_MAX];

	assert_int_equal(r->index, k->next);
	k->next++;
	assert_null(r->fail_code);
	assert_string_equal(r->path, k->c->names[r->index]);
	assert_int_equal(r->bytes, k->c->len[r->index]);
	for (int a = 0; a < KIST_ALG_COUNT; a++) {
		if (!(k->algs & KIST_ALG_BIT(a)))
			continue;
		reference(a, k->c->data[r->index], k->c->len[r->index], want);
		assert_memory_equal(r->digest[a], want, kist_alg_size(a));
	}
	return k->stop_at >= 0 && (int)k->next >= k->stop_at;
}

static struct kist_pipeline_stats last_stats;

static void run_corpus(struct corpus *c, kist_algset algs, unsigned jobs, size_t block,
		       uint64_t threshold)
{
	struct kist_pipeline_options o;
	struct check k = { .c = c, .algs = algs, .stop_at = -1 };
	struct kist_progress *p = kist_progress_new();
	struct kist_error err;
	uint64_t files, bytes, total = 0;

	kist_pipeline_options_init(&o);
	o.algs = algs;
	o.jobs = jobs;
	o.block_size = block;
	o.share_threshold = threshold;
	o.progress = p;
	o.stats = &last_stats;
	assert_int_equal(kist_pipeline_run(&o, c->items, c->n, check_result, &k, &err), KIST_OK);
	assert_int_equal(k.next, c->n);
	kist_progress_get(p, &files, &bytes);
	for (size_t i = 0; i < c->n; i++)
		total += c->len[i];
	assert_int_equal(files, c->n);
	assert_int_equal(bytes, total);
	kist_progress_free(p);
}

static void test_many_files_all_algorithms(void **state)
{
	struct corpus c;

	(void)state;
	corpus_make(&c, 60, 3000);
	for (unsigned jobs = 1; jobs <= 4; jobs++)
		run_corpus(&c, ALL, jobs, 4096, 0);
	run_corpus(&c, KIST_ALG_BIT(KIST_ALG_SHA256), 2, 0, 0);
	corpus_free(&c);
}

/* Small blocks and a low threshold: most files are shared between workers,
 * with helpers joining and leaving mid-file. Repeated to shake out races. */
static void test_shared_large_files(void **state)
{
	struct corpus c;

	(void)state;
	corpus_make(&c, 20, 300000);
	for (int round = 0; round < 5; round++) {
		run_corpus(&c, ALL, 4, 4096, 8192);
		run_corpus(&c, KIST_ALG_BIT(KIST_ALG_SHA256) | KIST_ALG_BIT(KIST_ALG_SHA512), 2, 1024, 1);
		run_corpus(&c, KIST_ALG_BIT(KIST_ALG_MD5) | KIST_ALG_BIT(KIST_ALG_SHA1), 3, 512, 2048);
	}
	corpus_free(&c);
}

/* One big file alone: the only way to use a second worker is to share it. */
static void test_single_file_shared(void **state)
{
	struct corpus c;

	(void)state;
	struct corpus one;

	corpus_make(&c, 5, 2000000);   /* file 4 is the big one */
	one = c;
	one.items = &c.items[4];
	one.names = &c.names[4];
	one.data = &c.data[4];
	one.len = &c.len[4];
	one.n = 1;
	/* The idle worker takes a lane, unless the reader finished before that
	 * thread was scheduled at all: try a few times. */
	int helped = 0;
	for (int i = 0; i < 50 && !helped; i++) {
		run_corpus(&one, KIST_ALG_BIT(KIST_ALG_SHA256) | KIST_ALG_BIT(KIST_ALG_SHA512), 2, 65536, 0);
		assert_int_equal(last_stats.shared_files, 1);
		assert_true(last_stats.lanes_helped <= 1);
		helped = last_stats.lanes_helped == 1;
	}
	assert_true(helped);
	run_corpus(&one, ALL, 8, 65536, 0);
	assert_int_equal(last_stats.shared_files, 1);
	assert_true(last_stats.lanes_helped >= 1);
	/* one digest: nothing to share */
	run_corpus(&one, KIST_ALG_BIT(KIST_ALG_SHA256), 2, 65536, 0);
	assert_int_equal(last_stats.shared_files, 0);
	corpus_free(&c);
}

struct sum_state {
	uint64_t expect_offset;
	uint64_t sum;
	uint64_t *out;
};

static void *sum_open(void *arg, size_t index, const char *path, uint64_t size)
{
	struct sum_state *s = calloc(1, sizeof(*s));

	(void)path;
	(void)size;
	s->out = &((uint64_t *)arg)[index];
	return s;
}

static void sum_update(void *state, const unsigned char *buf, size_t len, uint64_t offset)
{
	struct sum_state *s = state;

	assert_int_equal(offset, s->expect_offset);   /* blocks arrive in order */
	for (size_t i = 0; i < len; i++)
		s->sum = s->sum * 31 + buf[i];
	s->expect_offset += len;
}

static void sum_close(void *state, int failed)
{
	struct sum_state *s = state;

	assert_false(failed);
	*s->out = s->sum;
	free(s);
}

static void test_consumer_sees_every_byte(void **state)
{
	struct corpus c;
	struct kist_pipeline_options o;
	struct kist_error err;
	struct check k = { .algs = KIST_ALG_BIT(KIST_ALG_SHA256) | KIST_ALG_BIT(KIST_ALG_MD5),
			   .stop_at = -1 };
	uint64_t sums[30] = { 0 };
	struct kist_consumer consumer = { sum_open, sum_update, sum_close, sums, NULL, NULL };

	(void)state;
	corpus_make(&c, 30, 100000);
	k.c = &c;
	kist_pipeline_options_init(&o);
	o.algs = k.algs;
	o.jobs = 3;
	o.block_size = 4096;
	o.share_threshold = 10000;
	o.consumer = &consumer;
	assert_int_equal(kist_pipeline_run(&o, c.items, c.n, check_result, &k, &err), KIST_OK);
	for (size_t i = 0; i < c.n; i++) {
		uint64_t want = 0;

		for (size_t b = 0; b < c.len[i]; b++)
			want = want * 31 + c.data[i][b];
		assert_int_equal(sums[i], want);
	}
	corpus_free(&c);
}

/* A consumer whose state outlives close: the result callback frees it, or
 * the pipeline discards it when the run stops first. */
struct keep_counts {
	atomic_int opened, closed, discarded;
	int freed;                    /* by the result callback (calling thread) */
};

struct keep_state {
	struct keep_counts *counts;
	uint64_t sum;
};

static void *keep_open(void *arg, size_t index, const char *path, uint64_t size)
{
	struct keep_state *s = calloc(1, sizeof(*s));

	(void)index, (void)path, (void)size;
	s->counts = arg;
	atomic_fetch_add(&s->counts->opened, 1);
	return s;
}

static void keep_update(void *state, const unsigned char *buf, size_t len, uint64_t offset)
{
	struct keep_state *s = state;

	(void)offset;
	for (size_t i = 0; i < len; i++)
		s->sum = s->sum * 31 + buf[i];
}

static void keep_close(void *state, int failed)
{
	struct keep_state *s = state;

	(void)failed;
	atomic_fetch_add(&s->counts->closed, 1);
}

static void keep_discard(void *state)
{
	struct keep_state *s = state;

	atomic_fetch_add(&s->counts->discarded, 1);
	free(s);
}

struct tee_check {
	struct corpus *c;
	struct keep_counts *a, *b;
	size_t delivered, stop_at;
};

static int tee_result(void *ctx, const struct kist_hash_result *r)
{
	struct tee_check *t = ctx;
	struct kist_tee_state *st = r->consumer_state;
	struct keep_state *first = st->first, *second = st->second;
	uint64_t want = 0;

	for (size_t b = 0; b < t->c->len[r->index]; b++)
		want = want * 31 + t->c->data[r->index][b];
	assert_int_equal(first->sum, want);   /* both saw every byte */
	assert_int_equal(second->sum, want);
	free(first);
	free(second);
	kist_tee_state_free(st);
	t->a->freed++;
	t->b->freed++;
	return ++t->delivered == t->stop_at;
}

static void test_tee_and_discard(void **state)
{
	struct corpus c;
	struct kist_pipeline_options o;
	struct kist_error err;
	struct keep_counts a = { 0 }, b = { 0 };
	struct kist_consumer ca = { keep_open, keep_update, keep_close, &a, keep_discard, NULL };
	struct kist_consumer cb = { keep_open, keep_update, keep_close, &b, keep_discard, NULL };
	struct kist_tee tee;
	struct tee_check t = { .c = &c, .a = &a, .b = &b, .stop_at = (size_t)-1 };

	(void)state;
	corpus_make(&c, 200, 3000);
	kist_pipeline_options_init(&o);
	o.algs = KIST_ALG_BIT(KIST_ALG_SHA1);
	o.jobs = 2;
	o.block_size = 1024;
	o.consumer = kist_tee_init(&tee, &ca, &cb);
	assert_int_equal(kist_pipeline_run(&o, c.items, c.n, tee_result, &t, &err), KIST_OK);
	assert_int_equal(t.delivered, c.n);
	assert_int_equal(atomic_load(&a.opened), c.n);
	assert_int_equal(atomic_load(&b.closed), c.n);
	assert_int_equal(atomic_load(&a.discarded), 0);

	/* stopped after 5 results: every other opened state is discarded, once */
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	t.delivered = 0;
	t.stop_at = 5;
	assert_int_equal(kist_pipeline_run(&o, c.items, c.n, tee_result, &t, &err), KIST_FAILED);
	assert_int_equal(a.freed, 5);
	assert_true(atomic_load(&a.opened) > 5);
	assert_int_equal(atomic_load(&a.opened), a.freed + atomic_load(&a.discarded));
	assert_int_equal(atomic_load(&b.opened), b.freed + atomic_load(&b.discarded));
	assert_int_equal(atomic_load(&a.opened), atomic_load(&a.closed));
	corpus_free(&c);
}

static void test_stop_early(void **state)
{
	struct corpus c;
	struct kist_pipeline_options o;
	struct kist_error err;
	struct check k = { .algs = KIST_ALG_BIT(KIST_ALG_SHA256), .stop_at = 3 };

	(void)state;
	corpus_make(&c, 40, 1000);
	k.c = &c;
	kist_pipeline_options_init(&o);
	o.jobs = 2;
	assert_int_equal(kist_pipeline_run(&o, c.items, c.n, check_result, &k, &err), KIST_FAILED);
	assert_int_equal(k.next, 3);
	corpus_free(&c);
}

struct failures {
	const char *codes[8];
	void *states[8];
	size_t count;
};

static int collect_failures(void *ctx, const struct kist_hash_result *r)
{
	struct failures *f = ctx;

	f->states[f->count] = r->consumer_state;
	f->codes[f->count++] = r->fail_code;
	return 0;
}

/* Which items a consumer opened and which it was told to skip. */
struct seen {
	atomic_int opened[8], skipped[8];
};

static void *seen_open(void *arg, size_t index, const char *path, uint64_t size)
{
	struct seen *s = arg;

	(void)path;
	(void)size;
	atomic_fetch_add(&s->opened[index], 1);
	return index == 7 ? NULL : s;   /* "empty": a consumer that declines */
}

static void seen_update(void *state, const unsigned char *buf, size_t len, uint64_t offset)
{
	(void)state, (void)buf, (void)len, (void)offset;
}

static void seen_close(void *state, int failed)
{
	(void)state, (void)failed;
}

static void seen_skip(void *arg, size_t index)
{
	struct seen *s = arg;

	atomic_fetch_add(&s->skipped[index], 1);
}

static void test_failures(void **state)
{
	char *dir = unit_tmpdir(), *p = NULL;
	struct kist_pipeline_options o;
	struct kist_error err;
	struct failures f = { 0 };
	int dirfd;
	struct kist_hash_item items[] = {
		{ "missing", UINT64_MAX },
		{ "sub", UINT64_MAX },
		{ "fifo", UINT64_MAX },        /* must not hang */
		{ "link", UINT64_MAX },        /* nofollow */
		{ "ok", 2 },
		{ "ok", 5 },                   /* the caller saw another size */
		{ "sub/../ok", UINT64_MAX },   /* beneath: refused */
		{ "empty", 0 },
	};

	(void)state;
	unit_mkdir(dir, "sub");
	unit_write(dir, "ok", "ok", 2);
	unit_write(dir, "empty", "", 0);
	assert_true(asprintf(&p, "%s/fifo", dir) > 0);
	assert_int_equal(mkfifo(p, 0644), 0);
	free(p);
	assert_true(asprintf(&p, "%s/link", dir) > 0);
	assert_int_equal(symlink("ok", p), 0);
	free(p);
	dirfd = open(dir, O_RDONLY | O_DIRECTORY);

	kist_pipeline_options_init(&o);
	o.dirfd = dirfd;
	o.beneath = 1;
	o.jobs = 2;
	assert_int_equal(kist_pipeline_run(&o, items, 8, collect_failures, &f, &err), KIST_OK);
	assert_int_equal(f.count, 8);
	assert_string_equal(f.codes[0], "file.missing");
	assert_string_equal(f.codes[1], "file.not-regular");
	assert_string_equal(f.codes[2], "file.not-regular");
	assert_string_equal(f.codes[3], "file.symlink");
	assert_null(f.codes[4]);
	assert_string_equal(f.codes[5], "file.changed");
	assert_string_equal(f.codes[6], "file.outside");
	assert_null(f.codes[7]);

	/* a consumer learns of every file it will see nothing of: never
	 * opened (missing, directory, FIFO, link, outside), or declined */
	{
		struct seen seen;
		struct kist_consumer c = { seen_open, seen_update, seen_close, &seen, NULL, seen_skip };
		struct kist_tee tee;
		struct kist_consumer plain = { seen_open, seen_update, seen_close, &seen, NULL, NULL };

		for (int round = 0; round < 2; round++) {
			memset(&seen, 0, sizeof(seen));
			memset(&f, 0, sizeof(f));
			o.consumer = round == 0 ? &c : kist_tee_init(&tee, &c, &plain);
			assert_int_equal(kist_pipeline_run(&o, items, 8, collect_failures, &f, &err), KIST_OK);
			for (int i = 0; i < 8; i++) {
				int opened = i == 4 || i == 5 || i == 7;

				assert_int_equal(atomic_load(&seen.opened[i]), opened * (round + 1));
				assert_int_equal(atomic_load(&seen.skipped[i]), !opened || i == 7);
			}
			for (int i = 0; round == 1 && i < 8; i++)
				kist_tee_state_free(f.states[i]);
		}
	}
	close(dirfd);
	unit_rmtree(dir);
	free(dir);
}

static void test_hash_file(void **state)
{
	char *dir = unit_tmpdir();
	unsigned char d[KIST_ALG_COUNT][KIST_DIGEST_MAX];
	char hex[KIST_DIGEST_HEX_MAX];
	uint64_t bytes = 99;
	struct kist_error err;
	int dirfd;

	(void)state;
	unit_write(dir, "empty", "", 0);
	dirfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_int_equal(kist_hash_file(dirfd, "empty", ALL, d, &bytes, &err), KIST_OK);
	assert_int_equal(bytes, 0);
	kist_hex(d[KIST_ALG_SHA256], 32, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	kist_hex(d[KIST_ALG_MD5], 16, hex);
	assert_string_equal(hex, "d41d8cd98f00b204e9800998ecf8427e");
	assert_int_equal(kist_hash_file(dirfd, "nothing", ALL, d, &bytes, &err), KIST_FAILED);
	assert_non_null(strstr(err.message, "nothing"));
	close(dirfd);
	unit_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_files_all_algorithms),
		cmocka_unit_test(test_shared_large_files),
		cmocka_unit_test(test_single_file_shared),
		cmocka_unit_test(test_consumer_sees_every_byte),
		cmocka_unit_test(test_tee_and_discard),
		cmocka_unit_test(test_stop_early),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_hash_file),
	};
	return UNIT_RUN(tests);
}
