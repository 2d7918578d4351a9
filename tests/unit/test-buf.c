/* The growing buffer behind tag files, PREMIS objects and fetched profiles. */
#include "unit.h"

#include <stdint.h>

#include <kist/buf.h>

static void test_append(void **state)
{
	struct kist_buf b = { 0 };
	char big[5000];

	(void)state;
	assert_int_equal(kist_buf_add(&b, "", 0), 0);
	assert_non_null(b.p);
	assert_string_equal(b.p, "");
	assert_int_equal(kist_buf_adds(&b, "Payload-Oxum"), 0);
	assert_int_equal(kist_buf_add(&b, ": 3.1\nignored", 6), 0);
	assert_int_equal(b.len, 18);
	assert_string_equal(b.p, "Payload-Oxum: 3.1\n");
	/* embedded NULs are bytes like any other; the text stays terminated */
	assert_int_equal(kist_buf_add(&b, "a\0b", 3), 0);
	assert_int_equal(b.len, 21);
	assert_memory_equal(b.p + 18, "a\0b", 4);
	/* growth past several doublings keeps what was there */
	memset(big, 'x', sizeof(big));
	assert_int_equal(kist_buf_add(&b, big, sizeof(big)), 0);
	assert_int_equal(b.len, 21 + sizeof(big));
	assert_memory_equal(b.p, "Payload-Oxum: 3.1\n", 18);
	assert_int_equal(b.p[b.len - 1], 'x');
	assert_int_equal(b.p[b.len], '\0');
	kist_buf_free(&b);
	assert_null(b.p);
	assert_int_equal(b.len, 0);
}

static void test_reserve(void **state)
{
	struct kist_buf b = { 0 };
	char *p;

	(void)state;
	assert_int_equal(kist_buf_reserve(&b, 4096), 0);
	assert_true(b.cap >= 4097);
	p = b.p;
	for (int i = 0; i < 4096; i++)
		assert_int_equal(kist_buf_add(&b, "y", 1), 0);
	assert_ptr_equal(b.p, p);   /* no allocation after the reservation */
	kist_buf_free(&b);
}

/* A size no allocation can meet fails, and the buffer remembers it: later
 * appends fail too, so a caller may check once at the end. */
static void test_failure_sticks(void **state)
{
	struct kist_buf b = { 0 };

	(void)state;
	assert_int_equal(kist_buf_adds(&b, "kept"), 0);
	assert_int_equal(kist_buf_reserve(&b, SIZE_MAX - 2), -1);
	assert_true(b.failed);
	assert_int_equal(kist_buf_adds(&b, "more"), -1);
	assert_string_equal(b.p, "kept");
	kist_buf_free(&b);
	assert_false(b.failed);
	assert_int_equal(kist_buf_adds(&b, "again"), 0);
	kist_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append),
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_failure_sticks),
	};
	return UNIT_RUN(tests);
}
