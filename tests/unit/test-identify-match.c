/* The PRONOM/DROID pattern syntax and matcher, one feature at a time. */
#include "unit.h"

#include <regex.h>

#include <kist/identify.h>

/* 1 if pattern matches buf (of len bytes) at offset 0 exactly to its end,
 * anchored; start/end filled. */
static int at0(const char *pattern, const char *buf, size_t len, size_t *end)
{
	struct kist_error err;
	size_t s = 99, e = 99;
	int r;

	kist_error_clear(&err);
	r = kist_pattern_search(pattern, buf, len, 0, 1, &s, &e, &err);
	assert_true(r >= 0);
	if (r) {
		assert_int_equal(s, 0);
		if (end)
			*end = e;
	}
	return r;
}

#define M(p, lit) at0(p, lit, sizeof(lit) - 1, NULL)

static void test_hex_literal(void **state)
{
	size_t end;

	assert_true(at0("4D5A", "MZ\x90", 3, &end));
	assert_int_equal(end, 2);
	assert_true(M("4d5a", "MZ"));           /* lower case hex */
	assert_true(M("4D 5A", "MZ"));          /* spaces between bytes */
	assert_false(M("4D5A", "MY"));
	assert_false(M("4D5A", "M"));           /* shorter than the pattern */
	assert_true(at0("00FF", "\x00\xff", 2, NULL));
}

static void test_quoted(void **state)
{
	assert_true(M("'PK'0304", "PK\x03\x04"));
	assert_false(M("'PK'0304", "pk\x03\x04"));
	assert_true(M("10 00 00 00 'Word.Document.' ['6'-'7'] 00", "\x10\x00\x00\x00Word.Document.7\x00"));
	assert_false(M("10 00 00 00 'Word.Document.' ['6'-'7'] 00", "\x10\x00\x00\x00Word.Document.8\x00"));
}

static void test_wildcard(void **state)
{
	assert_true(M("41??43", "ABC"));
	assert_true(M("41??43", "A\x00" "C"));
	assert_false(M("41??43", "AC"));
	assert_false(M("41????", "AB"));
}

static void test_fixed_gap(void **state)
{
	assert_true(M("41{2}44", "AxxD"));
	assert_false(M("41{2}44", "AxD"));
	assert_false(M("41{2}44", "AxxxD"));
}

static void test_range_gap(void **state)
{
	assert_false(M("41{1-3}44", "AD"));
	assert_true(M("41{1-3}44", "AxD"));
	assert_true(M("41{1-3}44", "AxxD"));
	assert_true(M("41{1-3}44", "AxxxD"));
	assert_false(M("41{1-3}44", "AxxxxD"));
}

static void test_open_gap(void **state)
{
	char buf[300];

	assert_false(M("41{2-*}44", "AxD"));
	assert_true(M("41{2-*}44", "AxxD"));
	memset(buf, 'x', sizeof(buf));
	buf[0] = 'A';
	buf[299] = 'D';
	assert_true(at0("41{2-*}44", buf, sizeof(buf), NULL));
	assert_true(at0("41*44", buf, sizeof(buf), NULL));
	assert_true(M("41*44", "AD"));
	assert_false(at0("41{2-*}45", buf, sizeof(buf), NULL));
}

static void test_byte_range(void **state)
{
	assert_true(M("[30:39]", "0"));
	assert_true(M("[30:39]", "9"));
	assert_false(M("[30:39]", "a"));
	assert_true(M("[39:30]", "5"));          /* reversed bounds */
	assert_true(M("['a'-'c']", "b"));
	assert_false(M("['a'-'c']", "d"));
	assert_true(M("[41 61:62]", "A"));      /* union */
	assert_true(M("[41 61:62]", "b"));
	assert_false(M("[41 61:62]", "B"));
}

static void test_negation(void **state)
{
	assert_true(M("41[!42]43", "AXC"));
	assert_false(M("41[!42]43", "ABC"));
	assert_true(M("[!30:39]", "a"));
	assert_false(M("[!30:39]", "4"));
	/* [!aabb]: not this sequence of bytes */
	assert_true(M("41[!4243]", "ABD"));
	assert_true(M("41[!4243]", "AXC"));
	assert_false(M("41[!4243]", "ABC"));
	assert_false(M("41[!4243]", "AB"));      /* needs the two bytes */
}

static void test_bitmask(void **state)
{
	assert_true(M("[&0F]", "\x1f"));
	assert_false(M("[&0F]", "\x1e"));
	assert_true(M("[~81]", "\x80"));
	assert_false(M("[~81]", "\x7e"));
}

static void test_alternatives(void **state)
{
	assert_true(M("41(42|4344)45", "ABE"));
	assert_true(M("41(42|4344)45", "ACDE"));
	assert_false(M("41(42|4344)45", "ACE"));
	assert_true(M("'office:version=' (22|27) '1.2' (22|27)", "office:version='1.2'"));
	assert_true(M("(41{1}43|44)45", "AxCE"));
	assert_true(M("(41{1}43|44)45", "DE"));
	assert_false(M("(41{1}43|44)45", "AxxCE"));
	/* alternatives of different lengths, then more: backtracking */
	assert_true(M("(41|4142)43", "ABC"));
	assert_true(M("((41|42)(43|44))2B", "BD+"));
	assert_false(M("((41|42)(43|44))2B", "BB+"));
}

static void test_backtracking(void **state)
{
	size_t end;

	/* the first gap that works is not the shortest that matches the literal */
	assert_true(at0("41{0-5}4142", "AAAAB", 5, &end));
	assert_int_equal(end, 5);
	assert_true(M("41{0-3}42{0-3}43", "AxBBxC"));
}

static void test_search(void **state)
{
	struct kist_error err;
	size_t s, e;

	assert_int_equal(kist_pattern_search("'IEND'", "....IEND..", 10, 0, 0, &s, &e, &err), 1);
	assert_int_equal(s, 4);
	assert_int_equal(e, 8);
	assert_int_equal(kist_pattern_search("'IEND'", "....IEND..", 10, 5, 0, &s, &e, &err), 0);
	assert_int_equal(kist_pattern_search("'IEND'", "....IEND..", 10, 0, 1, &s, &e, &err), 0);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"4", "4G", "GG", "[41", "(41|", "41)", "41|42", "{5-2}", "{999999999999}", "'abc",
		"[]", "()", "(41|)", "{", "{1-}", "[!]", "", "   ", "41 \x01", "[41:]", "{-1}",
		"((((((((((((((((((41))))))))))))))))))",
	};
	struct kist_error err;
	size_t s, e;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		kist_error_clear(&err);
		if (kist_pattern_search(bad[i], "AAAA", 4, 0, 0, &s, &e, &err) != -1)
			fail_msg("pattern '%s' should be refused", bad[i]);
		assert_true(err.message[0] != 0);
	}
	kist_error_clear(&err);
	kist_pattern_search("41 4G", "A", 1, 0, 0, &s, &e, &err);
	assert_non_null(strstr(err.message, "bad hex digit at column 5"));
}

/* Hostile nesting of open gaps over a large buffer: bounded work, no match. */
static void test_bounded(void **state)
{
	size_t len = 1 << 16, s, e;
	char *buf = malloc(len);
	struct kist_error err;

	memset(buf, 'A', len);
	assert_int_equal(kist_pattern_search("41{0-*}41{0-*}41{0-*}(43|41{0-*}42)", buf, len, 0, 1, &s, &e, &err), 0);
	assert_int_equal(kist_pattern_search("{0-*}{0-*}{0-*}{0-*}42", buf, len, 0, 1, &s, &e, &err), 0);
	buf[len - 1] = 'B';
	assert_int_equal(kist_pattern_search("{0-*}42", buf, len, 0, 1, &s, &e, &err), 1);
	assert_int_equal(e, len);
	free(buf);
}

/* Random patterns over the bytes A-D against random strings, checked against
 * the same pattern written as a POSIX extended regular expression. */
static unsigned rnd_state = 2718281;

static unsigned rnd(unsigned n)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 16) % n;
}

static void gen(char *pat, char *re, int depth)
{
	int n = 1 + (int)rnd(4);

	for (int i = 0; i < n; i++) {
		switch (rnd(depth < 2 ? 7 : 5)) {
		case 0:
		case 1: {
			int c = 'A' + (int)rnd(4);

			sprintf(pat + strlen(pat), "%02X", c);
			sprintf(re + strlen(re), "%c", c);
			break;
		}
		case 2:
			strcat(pat, "??");
			strcat(re, ".");
			break;
		case 3: {
			int a = 'A' + (int)rnd(4), b = a + (int)rnd((unsigned)('D' - a + 1));

			if (rnd(2)) {
				sprintf(pat + strlen(pat), "[%02X:%02X]", a, b);
				sprintf(re + strlen(re), "[%c-%c]", a, b);
			} else {
				sprintf(pat + strlen(pat), "[!%02X]", a);
				sprintf(re + strlen(re), "[^%c]", a);
			}
			break;
		}
		case 4: {
			unsigned lo = rnd(3), hi = lo + rnd(3);

			if (rnd(4) == 0) {
				sprintf(pat + strlen(pat), "{%u-*}", lo);
				sprintf(re + strlen(re), ".{%u,}", lo);
			} else {
				sprintf(pat + strlen(pat), "{%u-%u}", lo, hi);
				sprintf(re + strlen(re), ".{%u,%u}", lo, hi);
			}
			break;
		}
		default: {
			int alts = 2 + (int)rnd(2);

			strcat(pat, "(");
			strcat(re, "(");
			for (int k = 0; k < alts; k++) {
				if (k) {
					strcat(pat, "|");
					strcat(re, "|");
				}
				gen(pat, re, depth + 1);
			}
			strcat(pat, ")");
			strcat(re, ")");
		}
		}
	}
}

static void test_differential(void **state)
{
	int matched = 0;

	for (int round = 0; round < 3000; round++) {
		char pat[2048] = "", re[2048] = "^", text[16];
		size_t len = rnd(12), s, e;
		struct kist_error err;
		regex_t rx;
		int want, got;

		gen(pat, re + 1, 0);
		for (size_t i = 0; i < len; i++)
			text[i] = (char)('A' + rnd(4));
		text[len] = 0;
		assert_int_equal(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
		want = regexec(&rx, text, 0, NULL, 0) == 0;
		regfree(&rx);
		kist_error_clear(&err);
		got = kist_pattern_search(pat, text, len, 0, 1, &s, &e, &err);
		if (got == -1 && strstr(err.message, "empty pattern"))
			continue;   /* "{0}" alone: refused, as it should be */
		if (got != want)
			fail_msg("pattern %s (regex %s) on '%s': kist says %d, regex %d", pat, re, text, got, want);
		matched += got;
	}
	/* both outcomes were exercised */
	assert_true(matched > 300 && matched < 2700);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex_literal),
		cmocka_unit_test(test_quoted),
		cmocka_unit_test(test_wildcard),
		cmocka_unit_test(test_fixed_gap),
		cmocka_unit_test(test_range_gap),
		cmocka_unit_test(test_open_gap),
		cmocka_unit_test(test_byte_range),
		cmocka_unit_test(test_negation),
		cmocka_unit_test(test_bitmask),
		cmocka_unit_test(test_alternatives),
		cmocka_unit_test(test_backtracking),
		cmocka_unit_test(test_search),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_differential),
	};

	return UNIT_RUN(tests);
}
