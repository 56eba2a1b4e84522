/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * test.h - a tiny kselftest-style harness for kvmcmo's host unit tests.
 *
 *   TEST(name) { ... }                  defines static void test_name(void)
 *   static const struct test tests[] = { TEST_ENTRY(name), ... };
 *   int main(void) { return test_run(tests, TEST_COUNT(tests)); }
 *
 * A TEST() missing from the array is an unused static function, which
 * -Wall -Werror turns into a build error, so no test is silently skipped.
 *
 * Assertions are expressions: they print file:line, the expression, both
 * values and the caller's message when they fail, record the failure and
 * evaluate to 0 (1 when they pass).  They never return from the test; a
 * test that cannot go on after a failure says so itself:
 *
 *   if (!ASSERT_TRUE(p != NULL, "%s", row->name))
 *           return;
 *
 * The runner prints one line per test, "ok <name>" or "FAIL <name>", then
 * exactly "N passed, N failed" (test cases, not assertions), and returns
 * 0 only if no test failed.
 */
#ifndef KVMCMO_TEST_H
#define KVMCMO_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

struct test {
	const char *name;
	void (*fn)(void);
};

#define TEST(name) static void test_##name(void)
#define TEST_ENTRY(name) { #name, test_##name }
#define TEST_COUNT(arr) (sizeof(arr) / sizeof((arr)[0]))

/* failures in the running test, and assertions checked over the run */
static unsigned int test__cur_failures;
static unsigned long test__asserts;

__attribute__((format(printf, 4, 0), unused))
static void test__where(const char *file, int line, const char *what,
			const char *fmt, va_list ap)
{
	printf("  %s:%d: %s\n    case: ", file, line, what);
	vprintf(fmt, ap);
	printf("\n");
}

__attribute__((format(printf, 7, 8), unused))
static int test__eq(const char *file, int line, const char *ea, const char *eb,
		    unsigned long long a, unsigned long long b,
		    const char *fmt, ...)
{
	va_list ap;

	test__asserts++;
	if (a == b)
		return 1;
	test__cur_failures++;
	printf("  %s:%d: ASSERT_EQ(%s, %s) failed\n", file, line, ea, eb);
	printf("    case: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n    %s = %llu (%#llx)\n    %s = %llu (%#llx)\n",
	       ea, a, a, eb, b, b);
	return 0;
}

__attribute__((format(printf, 7, 8), unused))
static int test__streq(const char *file, int line, const char *ea, const char *eb,
		       const char *a, const char *b, const char *fmt, ...)
{
	va_list ap;

	test__asserts++;
	if (a && b && strcmp(a, b) == 0)
		return 1;
	test__cur_failures++;
	printf("  %s:%d: ASSERT_STREQ(%s, %s) failed\n", file, line, ea, eb);
	printf("    case: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n    %s = %s%s%s\n    %s = %s%s%s\n",
	       ea, a ? "\"" : "", a ? a : "(null)", a ? "\"" : "",
	       eb, b ? "\"" : "", b ? b : "(null)", b ? "\"" : "");
	return 0;
}

__attribute__((format(printf, 5, 6), unused))
static int test__true(const char *file, int line, const char *e, int v,
		      const char *fmt, ...)
{
	va_list ap;

	test__asserts++;
	if (v)
		return 1;
	test__cur_failures++;
	va_start(ap, fmt);
	printf("  %s:%d: ASSERT_TRUE(%s) failed\n", file, line, e);
	printf("    case: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	return 0;
}

/*
 * Integer equality.  Both sides are evaluated once and compared as
 * unsigned long long, which is exact for the enums, __u8..__u64 and
 * small non-negative ints these tests compare.  The message is required.
 */
#define ASSERT_EQ(a, b, ...) \
	test__eq(__FILE__, __LINE__, #a, #b, \
		 (unsigned long long)(a), (unsigned long long)(b), __VA_ARGS__)

#define ASSERT_STREQ(a, b, ...) \
	test__streq(__FILE__, __LINE__, #a, #b, (a), (b), __VA_ARGS__)

#define ASSERT_TRUE(cond, ...) \
	test__true(__FILE__, __LINE__, #cond, !!(cond), __VA_ARGS__)

__attribute__((unused))
static int test_run(const struct test *tests, size_t n)
{
	unsigned int passed = 0, failed = 0;

	for (size_t i = 0; i < n; i++) {
		test__cur_failures = 0;
		tests[i].fn();
		if (test__cur_failures) {
			failed++;
			printf("FAIL %s (%u failed assertion%s)\n", tests[i].name,
			       test__cur_failures,
			       test__cur_failures == 1 ? "" : "s");
		} else {
			passed++;
			printf("ok %s\n", tests[i].name);
		}
		fflush(stdout);
	}
	printf("# %lu assertions\n", test__asserts);
	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}

#endif /* KVMCMO_TEST_H */
