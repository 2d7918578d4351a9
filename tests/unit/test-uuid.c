/* Version 4 UUIDs: their form, their randomness, and a forked child's own. */
#include "unit.h"

#include <regex.h>
#include <sys/wait.h>

#include <kist/uuid.h>

static void test_form(void **state)
{
	regex_t re;
	char u[37];

	(void)state;
	/* RFC 4122: version nibble 4, variant bits 10 (8, 9, a or b), lower case */
	assert_int_equal(regcomp(&re, "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
				 REG_EXTENDED | REG_NOSUB), 0);
	for (int i = 0; i < 2000; i++) {
		assert_int_equal(kist_uuid4(u), 0);
		assert_int_equal(regexec(&re, u, 0, NULL, 0), 0);
	}
	regfree(&re);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static void test_unique(void **state)
{
	enum { N = 20000 };
	char (*u)[37] = calloc(N, sizeof(*u));
	int nibble_seen[16] = { 0 };

	(void)state;
	assert_non_null(u);
	for (int i = 0; i < N; i++) {
		assert_int_equal(kist_uuid4(u[i]), 0);
		nibble_seen[u[i][0] <= '9' ? u[i][0] - '0' : u[i][0] - 'a' + 10]++;
	}
	qsort(u, N, sizeof(*u), cmp_str);
	for (int i = 1; i < N; i++)
		assert_string_not_equal(u[i - 1], u[i]);
	/* random bytes, not a counter: every leading hex digit turns up */
	for (int d = 0; d < 16; d++)
		assert_true(nibble_seen[d] > 0);
	free(u);
}

/* A child refills its pool: it never hands out the identifiers its parent
 * goes on to make. */
static void test_fork(void **state)
{
	int fds[2], status;
	char child[37] = { 0 }, parent[37];
	pid_t pid;

	(void)state;
	assert_int_equal(kist_uuid4(parent), 0);   /* the pool is filled now */
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char u[37];

		close(fds[0]);
		_exit(kist_uuid4(u) == 0 && write(fds[1], u, 36) == 36 ? 0 : 1);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], child, 36), 36);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(kist_uuid4(parent), 0);
	assert_string_not_equal(child, parent);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_form),
		cmocka_unit_test(test_unique),
		cmocka_unit_test(test_fork),
	};
	return UNIT_RUN(tests);
}
