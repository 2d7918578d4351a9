/* Findings: counting, severities, streaming, and thread safety. */
#include "unit.h"

#include <pthread.h>

static void test_add_and_query(void **state)
{
	struct kist_findings *fs = kist_findings_new();
	const struct kist_finding *f;

	(void)state;
	assert_non_null(fs);
	assert_int_equal(kist_findings_add(fs, KIST_SEV_WARNING, "walk.symlink", "a/b", "link %d", 1), 0);
	assert_int_equal(kist_findings_add(fs, KIST_SEV_ERROR, "checksum.mismatch", NULL, "bad"), 0);
	assert_int_equal(kist_findings_count(fs), 2);
	assert_int_equal(kist_findings_count_severity(fs, KIST_SEV_WARNING), 1);
	assert_int_equal(kist_findings_count_severity(fs, KIST_SEV_ERROR), 1);
	assert_int_equal(kist_findings_count_severity(fs, KIST_SEV_FAILURE), 0);
	f = kist_findings_get(fs, 0);
	assert_string_equal(f->code, "walk.symlink");
	assert_string_equal(f->path, "a/b");
	assert_string_equal(f->message, "link 1");
	assert_null(kist_findings_get(fs, 1)->path);
	assert_null(kist_findings_get(fs, 2));
	assert_true(kist_findings_has(fs, "checksum.mismatch"));
	assert_false(kist_findings_has(fs, "file.missing"));
	assert_string_equal(kist_severity_name(KIST_SEV_FAILURE), "failure");
	kist_findings_free(fs);
}

static void count_cb(void *ctx, const struct kist_finding *f)
{
	(*(int *)ctx)++;
	assert_non_null(f->message);
}

static void test_stream_without_keeping(void **state)
{
	struct kist_findings *fs = kist_findings_new();
	int seen = 0;

	(void)state;
	kist_findings_set_callback(fs, count_cb, &seen, 0);
	for (int i = 0; i < 100; i++)
		kist_findings_add(fs, KIST_SEV_INFO, "x.y", "p", "n=%d", i);
	assert_int_equal(seen, 100);
	assert_int_equal(kist_findings_count(fs), 0);
	assert_int_equal(kist_findings_count_severity(fs, KIST_SEV_INFO), 100);
	kist_findings_free(fs);
}

static void *adder(void *arg)
{
	for (int i = 0; i < 1000; i++)
		kist_findings_add(arg, KIST_SEV_WARNING, "t.t", "path", "%d", i);
	return NULL;
}

static void test_threads(void **state)
{
	struct kist_findings *fs = kist_findings_new();
	pthread_t t[4];

	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, adder, fs), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(kist_findings_count(fs), 4000);
	kist_findings_free(fs);
}

static void test_error(void **state)
{
	struct kist_error err;

	(void)state;
	kist_error_clear(&err);
	assert_int_equal(err.status, KIST_OK);
	assert_int_equal(kist_error_sys(&err, ENOENT, "open %s", "x"), KIST_FAILED);
	assert_string_equal(err.message, "open x: No such file or directory");
	assert_int_equal(err.sys_errno, ENOENT);
	assert_int_equal(kist_error_set(&err, KIST_INVALID, "bad %d", 3), KIST_INVALID);
	assert_string_equal(err.message, "bad 3");
}

static void pool_task(void *arg)
{
	__atomic_add_fetch((int *)arg, 1, __ATOMIC_RELAXED);
}

static void test_pool(void **state)
{
	struct kist_pool *p = kist_pool_new(3);
	int n = 0;

	(void)state;
	assert_non_null(p);
	assert_int_equal(kist_pool_size(p), 3);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 500; i++)
			assert_int_equal(kist_pool_submit(p, pool_task, &n), 0);
		kist_pool_wait(p);
		assert_int_equal(n, 500 * (round + 1));
	}
	kist_pool_free(p);
	assert_true(kist_cpu_count() >= 1);
}

static void test_progress_format(void **state)
{
	struct kist_progress *p = kist_progress_new();
	char line[256];

	(void)state;
	kist_progress_set_total(p, 10, 4u << 20);
	kist_progress_add_file(p);
	kist_progress_add_bytes(p, 1u << 20);
	kist_progress_format(p, 1.0, line, sizeof(line));
	assert_string_equal(line, "1/10 files  1.0 MiB/4.0 MiB  1.0 MiB/s  ETA 0:00:03");
	kist_progress_free(p);
}

static void tick(void *ctx, const char *line, int final)
{
	int *calls = ctx;

	assert_non_null(strstr(line, "files"));
	calls[final ? 1 : 0]++;
}

static void test_progress_ticker(void **state)
{
	struct kist_progress *p = kist_progress_new();
	int calls[2] = { 0, 0 };

	(void)state;
	/* quick work: nothing reported at all */
	assert_int_equal(kist_progress_start(p, 1000, 10, tick, calls), 0);
	kist_progress_stop(p);
	assert_int_equal(calls[0] + calls[1], 0);
	/* longer than the delay: ticks, then one final call */
	assert_int_equal(kist_progress_start(p, 10, 10, tick, calls), 0);
	usleep(100 * 1000);
	kist_progress_stop(p);
	assert_true(calls[0] >= 2);
	assert_int_equal(calls[1], 1);
	kist_progress_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_and_query),
		cmocka_unit_test(test_stream_without_keeping),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_error),
		cmocka_unit_test(test_pool),
		cmocka_unit_test(test_progress_format),
		cmocka_unit_test(test_progress_ticker),
	};
	return UNIT_RUN(tests);
}
