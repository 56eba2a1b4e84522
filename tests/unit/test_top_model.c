// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_top_model.c - kvmcmotop's model (tools/kvmcmotop/sample.c, model.c,
 * fmt.c, drill.c): snapshots into samples, samples into rows, the columns'
 * definitions, rates and totals, percentiles, filters, sorting, and the
 * numbers squeezed into screen columns.
 *
 * The snapshots are test_top.h's.
 */
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "test_top.h"

static const struct top_row *row_by_name(const struct top_frame *f, const char *name)
{
	for (size_t i = 0; i < f->nrows; i++)
		if (!strcmp(f->rows[i].name, name))
			return &f->rows[i];
	return NULL;
}

#define C(c) (TOP_COL_##c - TOP_C0)

TEST(sample_from_snapshot)
{
	struct snap_builder b;
	struct top_sample s;
	const struct top_vmstat *a;

	snap1(&b);
	if (!ASSERT_EQ(top_sample_from_snapshot(&s, &b.s), 0, "convert"))
		return;
	ASSERT_EQ(s.nvms, 3, "every VM");
	ASSERT_EQ(s.taken_ns, 10000000000ULL, "time kept");
	a = top_sample_find(&s, VM_A);
	if (!ASSERT_TRUE(a != NULL, "VM A found"))
		goto out;
	ASSERT_STREQ(a->name, "web", "name");
	ASSERT_EQ(a->aborts[K(CMO)][F(TRANSLATION)][M(RW)][O(MAP_RW)], 4, "table cell");
	ASSERT_EQ(a->dabt[KVMCMO_DABT_USERSPACE], 1, "dabt");
	ASSERT_EQ(a->dfault[K(CMO)][M(RO)].count, 2, "double faults");
	/* vcpus 0, 1, 2 (vcpu3's row is zero): vcpu1 has 2 cmo + 3 read */
	if (ASSERT_EQ(a->nvcpus, 3, "vCPUs with aborts")) {
		ASSERT_EQ(a->vcpus[1].vcpu, 1, "sorted by vcpu");
		ASSERT_EQ(a->vcpus[1].aborts, 5, "vcpu1 aborts summed over its rows");
		ASSERT_EQ(a->vcpus[1].cmo, 2, "vcpu1 cmo");
	}
	ASSERT_EQ(a->nregions, 2, "regions");
	ASSERT_TRUE(top_sample_find(&s, 0x9999) == NULL, "unknown id");
out:
	top_sample_free(&s);
}

/* a VM destroyed between the reads of the live and the dead VM maps is in
 * both lists: kept once (the destroyed entry), its rows counted once */
TEST(vm_listed_twice)
{
	struct snap_builder b;
	struct top_sample s;
	const struct top_vmstat *a;

	snap1(&b);
	vm(&b, VM_A, 100, "web", false);
	if (!ASSERT_EQ(top_sample_from_snapshot(&s, &b.s), 0, "convert"))
		return;
	ASSERT_EQ(s.nvms, 3, "A once");
	a = top_sample_find(&s, VM_A);
	if (ASSERT_TRUE(a != NULL, "A")) {
		ASSERT_EQ(a->alive, 0, "the destroyed entry kept");
		ASSERT_EQ(a->aborts[K(CMO)][F(TRANSLATION)][M(RW)][O(MAP_RW)], 4, "counted once");
		ASSERT_EQ(a->nvcpus, 3, "vCPUs once");
	}
	top_sample_free(&s);
}

TEST(columns_count_the_focus_kind)
{
	struct snap_builder b;
	struct top_sample s;
	__u64 n[TOP_NCOUNT];

	snap1(&b);
	if (!ASSERT_EQ(top_sample_from_snapshot(&s, &b.s), 0, "convert"))
		return;
	top_count_window(top_sample_find(&s, VM_A), K(CMO), n);
	ASSERT_EQ(n[C(ABORTS)], 10, "4 + 2 + 3 + 1: every kind");
	ASSERT_EQ(n[C(FOCUS)], 7, "cmo: 4 + 2 + 1");
	ASSERT_EQ(n[C(TRANS)], 5, "cmo translation: 4 + 1");
	ASSERT_EQ(n[C(PERM)], 2, "cmo permission");
	ASSERT_EQ(n[C(DFAULT)], 2, "cmo double faults");
	ASSERT_EQ(n[C(RO)], 2, "cmo on ro memslots");
	ASSERT_EQ(n[C(SKIP)], 1, "cmo skipped");
	ASSERT_EQ(n[C(EXITS)], 2, "cmo exits: mmio_user");
	ASSERT_EQ(n[C(ERRORS)], 0, "no errors");
	top_count_window(top_sample_find(&s, VM_A), K(READ), n);
	ASSERT_EQ(n[C(FOCUS)], 3, "read");
	ASSERT_EQ(n[C(EXITS)], 3, "read exits: nisv");
	ASSERT_EQ(n[C(DFAULT)], 0, "no read double faults");
	top_count_window(top_sample_find(&s, VM_C), K(CMO), n);
	ASSERT_EQ(n[C(ERRORS)], 1, "error outcome");
	ASSERT_EQ(n[C(RO)], 1, "error on ro");
	top_sample_free(&s);
}

TEST(rates_totals_and_percentiles)
{
	struct snap_builder b1, b2;
	struct top_sample s1, s2;
	struct top_view_opts o = { .sort = TOP_COL_ABORTS, .kind = K(CMO) };
	struct top_frame f;
	const struct top_row *a, *d, *bb;

	snap1(&b1);
	snap2(&b2);
	if (!ASSERT_EQ(top_sample_from_snapshot(&s1, &b1.s), 0, "s1") ||
	    !ASSERT_EQ(top_sample_from_snapshot(&s2, &b2.s), 0, "s2"))
		return;
	/* interval s1 -> s2; totals since s1 too (base = s1) */
	if (!ASSERT_EQ(top_frame_build(&f, &s2, &s1, &s1, &o), 0, "build"))
		goto out;
	ASSERT_TRUE(f.dt > 1.999 && f.dt < 2.001, "2 s interval (%f)", f.dt);
	ASSERT_EQ(f.nvms, 4, "four VMs");
	ASSERT_EQ(f.nalive, 3, "C is destroyed");
	a = row_by_name(&f, "web");
	d = row_by_name(&f, "new");
	bb = row_by_name(&f, "db");
	if (!ASSERT_TRUE(a && d && bb, "rows"))
		goto free;
	ASSERT_EQ(a->iv.n[C(ABORTS)], 8, "A: +6 +2 in the interval");
	ASSERT_EQ(a->iv.n[C(FOCUS)], 8, "all of them cmo");
	ASSERT_TRUE(top_row_value(a, TOP_COL_ABORTS, false, f.dt) == 4.0, "8 / 2 s = 4/s");
	ASSERT_TRUE(top_row_value(a, TOP_COL_ABORTS, true, f.dt) == 8.0, "totals since s1");
	/* vCPUs seen since start (s1): 0 and 4 aborted in the window */
	ASSERT_EQ(a->vcpus, 2, "vcpus 0 and 4");
	/* interval latency: 8 samples in slot 10: p50 = p99 = 2048 */
	ASSERT_EQ(a->iv.p50, 2048, "p50 = bucket upper bound");
	ASSERT_EQ(a->iv.p99, 2048, "p99");
	/* a VM new since s1 counts from zero */
	ASSERT_EQ(d->iv.n[C(ABORTS)], 5, "new VM");
	ASSERT_EQ(d->tot.n[C(ABORTS)], 5, "new VM total");
	ASSERT_EQ(bb->iv.n[C(ABORTS)], 0, "B idle");
	ASSERT_EQ(bb->iv.p50, 0, "no samples: 0");
	/* sorted by ABRT desc: web 4/s, new 2.5/s, then db and old with 0 by name */
	ASSERT_STREQ(f.rows[0].name, "web", "first");
	ASSERT_STREQ(f.rows[1].name, "new", "second");
	ASSERT_STREQ(f.rows[2].name, "db", "ties by name");
	ASSERT_STREQ(f.rows[3].name, "old", "last");
	ASSERT_EQ(f.total.iv.n[C(ABORTS)], 13, "total row sums the rows");
	ASSERT_EQ(f.total.vcpus, 3, "2 + 1 (D) + 0 + 0");
free:
	top_frame_free(&f);

	/* totals since start (base NULL: zero) and the first frame (prev = cur) */
	if (!ASSERT_EQ(top_frame_build(&f, &s2, &s2, NULL, &o), 0, "build"))
		goto out;
	ASSERT_TRUE(f.dt == 0, "no interval yet");
	a = row_by_name(&f, "web");
	if (ASSERT_TRUE(a != NULL, "web")) {
		ASSERT_EQ(a->iv.n[C(ABORTS)], 0, "empty interval");
		ASSERT_EQ(a->tot.n[C(ABORTS)], 18, "10 + 2 + 3 + 1 + 2 (vcpu4) since zero");
		ASSERT_EQ(a->vcpus, 4, "vcpus 0, 1, 2, 4");
		ASSERT_TRUE(top_row_value(a, TOP_COL_ABORTS, false, f.dt) == 0, "no rate yet");
		/* 12 samples at 2048 and 6 at 32768: p50 2048, p99 32768 */
		ASSERT_EQ(a->tot.p50, 2048, "p50 over every outcome");
		ASSERT_EQ(a->tot.p99, 32768, "p99 over every outcome");
	}
	top_frame_free(&f);
out:
	top_sample_free(&s1);
	top_sample_free(&s2);
}

TEST(filters_and_sorting)
{
	struct snap_builder b;
	struct top_sample s;
	struct top_view_opts o = { .sort = TOP_COL_NAME, .ascending = true, .kind = K(CMO) };
	struct top_frame f;
	regex_t re;

	snap2(&b);
	if (!ASSERT_EQ(top_sample_from_snapshot(&s, &b.s), 0, "convert"))
		return;
	if (ASSERT_EQ(top_frame_build(&f, &s, NULL, NULL, &o), 0, "by name")) {
		ASSERT_EQ(f.nrows, 4, "all");
		ASSERT_STREQ(f.rows[0].name, "db", "a-z");
		ASSERT_STREQ(f.rows[3].name, "web", "a-z");
		top_frame_free(&f);
	}
	o.hide_dead = true;
	if (ASSERT_EQ(top_frame_build(&f, &s, NULL, NULL, &o), 0, "alive")) {
		ASSERT_EQ(f.nrows, 3, "old hidden");
		ASSERT_EQ(f.nvms, 4, "still seen");
		top_frame_free(&f);
	}
	o.hide_dead = false;
	o.pid = 200;
	if (ASSERT_EQ(top_frame_build(&f, &s, NULL, NULL, &o), 0, "pid")) {
		ASSERT_EQ(f.nrows, 1, "one VMM");
		ASSERT_STREQ(f.rows[0].name, "db", "pid 200");
		ASSERT_EQ(f.total.tot.n[C(ABORTS)], 10, "total of the shown rows only");
		top_frame_free(&f);
	}
	o.pid = 0;
	ASSERT_EQ(regcomp(&re, "^(web|new)$", REG_EXTENDED | REG_NOSUB), 0, "regex");
	o.name_re = &re;
	o.sort = TOP_COL_FOCUS;
	o.ascending = false;
	o.totals = true;
	if (ASSERT_EQ(top_frame_build(&f, &s, NULL, NULL, &o), 0, "regex")) {
		ASSERT_EQ(f.nrows, 2, "web and new");
		/* cmo totals: web 10+2+2+1 = 15, new 0 */
		ASSERT_STREQ(f.rows[0].name, "web", "most cmo first");
		ASSERT_EQ(f.rows[0].tot.n[C(FOCUS)], 15, "web cmo");
		top_frame_free(&f);
	}
	o.ascending = true;
	if (ASSERT_EQ(top_frame_build(&f, &s, NULL, NULL, &o), 0, "asc")) {
		ASSERT_STREQ(f.rows[0].name, "new", "least cmo first");
		top_frame_free(&f);
	}
	regfree(&re);
	top_sample_free(&s);
}

TEST(diff_restart_and_vanished_rows)
{
	struct snap_builder b1, b2;
	struct top_sample s1, s2;
	struct top_vmstat w;
	const struct top_vmstat *a1, *a2;

	snap2(&b2);
	snap1(&b1);
	/* "later" snapshot is s1: as if the source restarted, A went from 10 to 4 */
	if (!ASSERT_EQ(top_sample_from_snapshot(&s1, &b1.s), 0, "s1") ||
	    !ASSERT_EQ(top_sample_from_snapshot(&s2, &b2.s), 0, "s2"))
		return;
	a1 = top_sample_find(&s1, VM_A);
	a2 = top_sample_find(&s2, VM_A);
	if (ASSERT_EQ(top_vmstat_diff(&w, a1, a2), 0, "diff")) {
		ASSERT_EQ(w.aborts[K(CMO)][F(TRANSLATION)][M(RW)][O(MAP_RW)], 4,
			  "a counter that went back counts from zero");
		ASSERT_EQ(w.lat[O(MAP_RW)].count, 4, "a histogram that shrank is taken whole");
		ASSERT_EQ(w.lat[O(NISV)].count, 0, "unchanged histogram");
		/* vcpu4 exists only in the reference: not in the window */
		for (size_t i = 0; i < w.nvcpus; i++)
			ASSERT_TRUE(w.vcpus[i].vcpu != 4, "vanished vcpu row");
		ASSERT_EQ(w.nregions, 0, "regions unchanged: nothing in the window");
		top_vmstat_free(&w);
	}
	top_sample_free(&s1);
	top_sample_free(&s2);
}

TEST(fmt_fits_columns)
{
	static const struct { double v; int w; const char *want; } nums[] = {
		{ 0, 4, "0" }, { 7, 4, "7" }, { 2.5, 4, "2.5" }, { 0.04, 3, "0.0" },
		{ 9999, 4, "9999" }, { 12345, 4, "12k" }, { 1234, 3, "1k" },
		{ 999999, 4, "1.0M" }, { 1500000, 4, "1.5M" }, { 42.7, 4, "43" },
		{ 9.96, 3, "10" }, { 2e18, 4, "2.0E" }, { 1e30, 3, "+++" }, { -1, 4, "-" },
		{ 400000, 3, ".4M" }, { 960000, 3, "1M" }, { 949000, 3, ".9M" }, { 99999, 3, ".1M" },
	};
	static const struct { __u64 ns; int w; const char *want; } durs[] = {
		{ 0, 4, "-" }, { 512, 4, "512n" }, { 2048, 4, "2.0u" }, { 4096, 4, "4.1u" },
		{ 262144, 4, "262u" }, { 1048576, 4, "1.0m" }, { 16777216, 4, "17m" },
		{ 2147483648ULL, 4, "2.1s" }, { 1ULL << 40, 4, "++++" }, { 1ULL << 40, 6, "1100s" },
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		ASSERT_STREQ(top_fmt_num(buf, sizeof(buf), nums[i].v, nums[i].w), nums[i].want,
			     "%g in %d", nums[i].v, nums[i].w);
	for (size_t i = 0; i < sizeof(durs) / sizeof(durs[0]); i++)
		ASSERT_STREQ(top_fmt_ns(buf, sizeof(buf), durs[i].ns, durs[i].w), durs[i].want,
			     "%llu ns in %d", (unsigned long long)durs[i].ns, durs[i].w);
}

static bool has_line(const struct top_lines *l, const char *needle)
{
	for (size_t i = 0; i < l->n; i++)
		if (strstr(l->v[i], needle))
			return true;
	return false;
}

TEST(drill_down_lines)
{
	struct snap_builder b;
	struct top_sample s;
	struct top_lines l;
	struct top_vmstat w;
	const struct top_vmstat *a;

	snap1(&b);
	if (!ASSERT_EQ(top_sample_from_snapshot(&s, &b.s), 0, "convert"))
		return;
	a = top_sample_find(&s, VM_A);
	if (!ASSERT_EQ(top_vmstat_diff(&w, a, NULL), 0, "window"))
		goto out;
	if (ASSERT_EQ(top_drill_lines(&l, &w, a, 0, true, 80), 0, "lines")) {
		ASSERT_STREQ(l.v[0], "VM web  pid 100  fd 10  alive", "title");
		ASSERT_TRUE(has_line(&l, "cmo    translation  rw            map_rw                4"),
			    "table row");
		ASSERT_TRUE(has_line(&l, "read   translation  none          nisv                  3"),
			    "other kinds too");
		ASSERT_TRUE(has_line(&l, "0 in aborts, 1 by the VMM"), "dabt");
		ASSERT_TRUE(has_line(&l, "1               5          2"), "vcpu 1: 5 aborts, 2 cmo");
		ASSERT_TRUE(has_line(&l, "double faults, cmo on ro memory: 2"), "double faults");
		ASSERT_TRUE(has_line(&l, "256n -> 512n          2 |"), "gap bar");
		ASSERT_TRUE(has_line(&l, "     16u -> 33u           6 |"), "latency bar");
		ASSERT_TRUE(has_line(&l, "SLOT  BASE                 SIZE MEMSLOT      KIND   OUTCOME"),
			    "region header");
		ASSERT_TRUE(has_line(&l, "-     0x50000000            64K none         read   nisv"
					 "                  3"), "region outside memslots");
		ASSERT_TRUE(has_line(&l, "3     0x43000000             1M ro           cmo    mmio_user"
					 "             2"), "memslot region, its memslot type");
		for (size_t i = 0; i < l.n; i++)
			ASSERT_TRUE(strlen(l.v[i]) <= 80, "line %zu fits: %s", i, l.v[i]);
		top_lines_free(&l);
	}
	/* rates: per second over the interval */
	if (ASSERT_EQ(top_drill_lines(&l, &w, a, 2.0, false, 60), 0, "rates")) {
		ASSERT_TRUE(has_line(&l, "PER SEC"), "rate header");
		ASSERT_TRUE(has_line(&l, "map_rw              2.0"), "4 in 2 s");
		for (size_t i = 0; i < l.n; i++)
			ASSERT_TRUE(strlen(l.v[i]) <= 60, "clipped to the width");
		top_lines_free(&l);
	}
	top_vmstat_free(&w);
out:
	top_sample_free(&s);
}

static const struct test tests[] = {
	TEST_ENTRY(sample_from_snapshot),
	TEST_ENTRY(vm_listed_twice),
	TEST_ENTRY(columns_count_the_focus_kind),
	TEST_ENTRY(rates_totals_and_percentiles),
	TEST_ENTRY(filters_and_sorting),
	TEST_ENTRY(diff_restart_and_vanished_rows),
	TEST_ENTRY(fmt_fits_columns),
	TEST_ENTRY(drill_down_lines),
};

int main(void)
{
	return test_run(tests, TEST_COUNT(tests));
}
