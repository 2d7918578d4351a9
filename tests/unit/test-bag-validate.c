/* (being written) */
#include "unit.h"

static void test_placeholder(void **state)
{
	(void)state;
	assert_true(kist_bag_version_at_least == kist_bag_version_at_least);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_placeholder) };
	return UNIT_RUN(tests);
}
