// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_hist.c - user/hist.c: quantiles, merge, and the printed bars
 * against tests/unit/golden/hist_print.txt.
 *
 * The golden file is found next to this source (__FILE__), so the test runs
 * from any directory it was built from.  KVMCMO_GOLDEN_UPDATE=1 rewrites it
 * instead of comparing; review the diff before committing it.
 *
 * Build: cc -std=c11 -D_GNU_SOURCE -Ibpf -Iuser -Itests/unit \
 *        tests/unit/test_hist.c user/hist.c
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "golden.h"
#include "libkvmcmo.h"

/* ---- fixtures ------------------------------------------------------------- */

/* 5 in [512, 1024), 10 in [1024, 2048), 5 in [4096, 8192) */
static struct kvmcmo_hist h20(void)
{
	struct kvmcmo_hist h = { .count = 20, .sum_ns = 5 * 700 + 10 * 1500 + 5 * 5000 };

	h.slots[9] = 5;
	h.slots[10] = 10;
	h.slots[12] = 5;
	return h;
}

TEST(quantile_known)
{
	struct kvmcmo_hist h = h20();
	static const struct { double q; __u64 want; } t[] = {
		{ 0.0, 1024 },          /* first non-empty bucket, not slot 0 */
		{ 0.01, 1024 },
		{ 0.25, 1024 },         /* cumulative 5 reaches 0.25 * 20 exactly */
		{ 0.26, 2048 },
		{ 0.50, 2048 },
		{ 0.75, 2048 },         /* 15 reaches 15 */
		{ 0.76, 8192 },
		{ 0.99, 8192 },
		{ 1.0, 8192 },
		{ 7.0, 8192 },          /* clamped */
		{ -1.0, 1024 },
	};

	for (size_t i = 0; i < TEST_COUNT(t); i++)
		ASSERT_EQ(kvmcmo_hist_quantile(&h, t[i].q), t[i].want, "q %.2f", t[i].q);
	ASSERT_EQ(kvmcmo_hist_quantile(&h, NAN), 1024, "NaN is q = 0");
}

TEST(quantile_edges)
{
	struct kvmcmo_hist h = {};

	ASSERT_EQ(kvmcmo_hist_quantile(&h, 0.5), 0, "empty");
	h.count = 3;            /* count without slots: still nothing to rank */
	ASSERT_EQ(kvmcmo_hist_quantile(&h, 0.5), 0, "count only");

	h = (struct kvmcmo_hist){ .count = 1 };
	h.slots[0] = 1;
	ASSERT_EQ(kvmcmo_hist_quantile(&h, 0.5), 2, "slot 0: 0 and 1 ns");

	h = (struct kvmcmo_hist){ .count = 1 };
	h.slots[KVMCMO_HIST_SLOTS - 1] = 1;
	ASSERT_EQ(kvmcmo_hist_quantile(&h, 0.99), 1ULL << KVMCMO_HIST_SLOTS, "last slot");

	/* the BPF side bumped count but not yet the slot: ranks use the slots */
	h = h20();
	h.count = 1000;
	ASSERT_EQ(kvmcmo_hist_quantile(&h, 0.99), 8192, "count ahead of slots");

	/* p99 of 100 samples: 99 fast, 1 slow -> the 99th is still fast */
	h = (struct kvmcmo_hist){ .count = 100 };
	h.slots[3] = 99;
	h.slots[20] = 1;
	ASSERT_EQ(kvmcmo_hist_quantile(&h, 0.99), 16, "99 of 100");
	ASSERT_EQ(kvmcmo_hist_quantile(&h, 0.995), 1ULL << 21, "above the 99th");
}

/* the bucket of a value, as the BPF side picks it, is below the bound */
TEST(quantile_bounds_slot)
{
	static const __u64 v[] = { 0, 1, 2, 3, 4, 511, 512, 1023, 1024, 123456789 };

	for (size_t i = 0; i < TEST_COUNT(v); i++) {
		struct kvmcmo_hist h = { .count = 1, .sum_ns = v[i] };
		__u64 q;

		h.slots[kvmcmo_hist_slot(v[i])] = 1;
		q = kvmcmo_hist_quantile(&h, 0.5);
		ASSERT_TRUE(v[i] < q && q <= 2 * (v[i] ? v[i] : 1), "v %llu q %llu",
			    (unsigned long long)v[i], (unsigned long long)q);
	}
}

TEST(merge)
{
	struct kvmcmo_hist a = h20(), b = {}, zero = {};

	b.slots[0] = 2;
	b.slots[10] = 1;
	b.slots[KVMCMO_HIST_SLOTS - 1] = 3;
	b.count = 6;
	b.sum_ns = 99;

	kvmcmo_hist_merge(&a, &b);
	ASSERT_EQ(a.slots[0], 2, "slot 0");
	ASSERT_EQ(a.slots[9], 5, "slot 9");
	ASSERT_EQ(a.slots[10], 11, "slot 10");
	ASSERT_EQ(a.slots[12], 5, "slot 12");
	ASSERT_EQ(a.slots[KVMCMO_HIST_SLOTS - 1], 3, "last slot");
	ASSERT_EQ(a.count, 26, "count");
	ASSERT_EQ(a.sum_ns, h20().sum_ns + 99, "sum");
	ASSERT_EQ(b.count, 6, "src untouched");

	/* merging nothing changes nothing */
	b = a;
	kvmcmo_hist_merge(&a, &zero);
	ASSERT_TRUE(!memcmp(&a, &b, sizeof(a)), "merge of empty");
}

static char *print(const struct kvmcmo_hist *h, const char *unit)
{
	char *text = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&text, &n);

	if (!f)
		return NULL;
	kvmcmo_hist_print(f, h, unit);
	fclose(f);
	return text;
}

TEST(print_golden)
{
	struct kvmcmo_hist small = h20(), wide = {}, one = {};
	char *a, *b, *c, *all;

	/* an empty bucket between non-empty ones is printed; 1 of 4000 gets 0 stars */
	small.slots[11] = 0;
	small.slots[13] = 1;
	small.slots[9] = 4000;
	/* bounds past 10 digits widen the columns; the ':' stays aligned */
	wide.slots[0] = 3;
	wide.slots[1] = 1;
	wide.slots[35] = 2;
	one.slots[KVMCMO_HIST_SLOTS - 1] = 1;

	a = print(&small, "nsecs");
	b = print(&wide, "nsecs");
	c = print(&one, "usecs");
	if (!ASSERT_TRUE(a && b && c, "open_memstream"))
		return;
	if (asprintf(&all, "# h20\n%s# wide\n%s# last slot only\n%s", a, b, c) > 0) {
		golden_check("hist_print.txt", all);
		free(all);
	}
	free(a);
	free(b);
	free(c);
}

TEST(print_shape)
{
	struct kvmcmo_hist h = {}, empty = {};
	char *t;

	h.slots[9] = 5;
	h.slots[10] = 10;
	t = print(&h, "nsecs");
	if (!ASSERT_TRUE(t != NULL, "print"))
		return;
	/* the exact biolatency layout, independent of the golden file */
	ASSERT_STREQ(t,
		     "     nsecs               : count    distribution\n"
		     "       512 -> 1023       : 5        |********************                    |\n"
		     "      1024 -> 2047       : 10       |****************************************|\n",
		     "two rows");
	free(t);

	t = print(&empty, "nsecs");
	ASSERT_STREQ(t, "", "empty histogram prints nothing");
	free(t);
}

static const struct test tests[] = {
	TEST_ENTRY(quantile_known),
	TEST_ENTRY(quantile_edges),
	TEST_ENTRY(quantile_bounds_slot),
	TEST_ENTRY(merge),
	TEST_ENTRY(print_golden),
	TEST_ENTRY(print_shape),
};

int main(void)
{
	return test_run(tests, TEST_COUNT(tests));
}
