// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_diffstats.c - tools/kvmcmo/stats.c (the tests behind `kvmcmo diff`)
 * against references computed here independently (binomial sums term by
 * term, the closed forms of the chi-square cdf for 1 and 2 degrees of
 * freedom and of the F cdf for 2 numerator degrees of freedom), then
 * diff.c and failon.c end to end on recordings built in memory: identical
 * sides flag nothing, a changed row is flagged alone, --fail-on grammar.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "stats.h"
#include "diff.h"

static int close_to(double a, double b, double rel)
{
	return fabs(a - b) <= rel * fmax(fabs(a), fabs(b)) + 1e-300;
}

#define ASSERT_CLOSE(a, b, rel, ...) \
	ASSERT_TRUE(close_to((a), (b), (rel)), __VA_ARGS__)

/* P(Bin(n, p) = k), summed in long double: the reference */
static long double pmf(int k, int n, long double p)
{
	return expl(lgammal(n + 1) - lgammal(k + 1) - lgammal(n - k + 1) +
		    k * logl(p) + (n - k) * logl(1 - p));
}

static double ref_two_sided(int y, int n, double p0)
{
	long double lo = 0, hi = 0;

	for (int k = 0; k <= y; k++)
		lo += pmf(k, n, p0);
	for (int k = y; k <= n; k++)
		hi += pmf(k, n, p0);
	return (double)fminl(1.0L, 2 * fminl(lo, hi));
}

TEST(binomial_tails_match_direct_sums)
{
	static const struct { int y, n; double p0; } c[] = {
		{ 0, 12, 0.5 }, { 12, 12, 0.5 }, { 10, 30, 0.5 }, { 20, 30, 0.5 },
		{ 9, 14, 1.0 / 3 }, { 1, 40, 0.25 }, { 37, 40, 0.75 }, { 500, 1000, 0.5 },
		{ 530, 1000, 0.5 }, { 3, 7, 0.9 },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		double got = st_binom_two_sided(c[i].y, c[i].n, c[i].p0);
		double want = ref_two_sided(c[i].y, c[i].n, c[i].p0);

		ASSERT_CLOSE(got, want, 1e-9, "y=%d n=%d p0=%g: got %.12g want %.12g", c[i].y,
			     c[i].n, c[i].p0, got, want);
	}
	/* R: binom.test(10, 30)$p.value = 0.09873714 (also poisson.test(c(10, 20))) */
	ASSERT_CLOSE(st_binom_two_sided(10, 30, 0.5), 0.09873714, 1e-6, "binom.test(10, 30)");
	/* continuity in y: between two integers the p-value lies between theirs */
	ASSERT_TRUE(st_binom_upper(10.5, 30, 0.5) < st_binom_upper(10, 30, 0.5) &&
		    st_binom_upper(10.5, 30, 0.5) > st_binom_upper(11, 30, 0.5), "real y");
}

TEST(count_test_identical_is_one)
{
	double x[] = { 4, 4, 4 }, e[] = { 1, 1, 1 };
	struct st_result r;

	st_count_test(x, e, 3, x, e, 3, &r);
	ASSERT_TRUE(r.testable, "testable");
	ASSERT_CLOSE(r.p, 1.0, 1e-12, "p = %g", r.p);
	ASSERT_CLOSE(r.phi, 1.0, 0, "no dispersion for constant counts");
	/* everything on one side: 2 * 0.5^24 */
	ASSERT_CLOSE(r.p_min, 2 * pow(0.5, 24), 1e-12, "p_min = %g", r.p_min);
}

TEST(count_test_vanished_row)
{
	double x[] = { 4, 4, 4 }, y[] = { 0, 0, 0 }, e[] = { 1, 1, 1 };
	struct st_result r;

	st_count_test(x, e, 3, y, e, 3, &r);
	ASSERT_CLOSE(r.p, 2 * pow(0.5, 12), 1e-12, "p = %g", r.p);
	ASSERT_CLOSE(r.p_min, r.p, 1e-12, "the most extreme outcome happened");
}

TEST(count_test_exposure)
{
	/* 5 in 2 s against 9 in 1 s: Y | 14 ~ Bin(14, 1/3) */
	double x[] = { 5 }, ex[] = { 2 }, y[] = { 9 }, ey[] = { 1 };
	struct st_result r;

	st_count_test(x, ex, 1, y, ey, 1, &r);
	ASSERT_CLOSE(r.p, ref_two_sided(9, 14, 1.0 / 3), 1e-9, "p = %g", r.p);
	/* the same counts per run (equal exposure) are a different question */
	ex[0] = 1;
	st_count_test(x, ex, 1, y, ey, 1, &r);
	ASSERT_CLOSE(r.p, ref_two_sided(9, 14, 0.5), 1e-9, "p = %g", r.p);
}

TEST(count_test_dispersion)
{
	/* runs that disagree among themselves: side a has Pearson
	 * (0-10)^2/10 + (20-10)^2/10 = 20 on 1 df, side b 0 on 1 df: phi 10 */
	double x[] = { 0, 20 }, y[] = { 10, 10 }, e[] = { 1, 1 };
	double x2[] = { 30, 34, 29, 31 }, y2[] = { 12, 50, 3, 40 }, e4[] = { 1, 1, 1, 1 };
	struct st_result r, plain;

	st_count_test(x, e, 2, y, e, 2, &r);
	ASSERT_CLOSE(r.phi, 10.0, 1e-12, "phi = %g", r.phi);
	ASSERT_CLOSE(r.p, 1.0, 1e-12, "20 vs 20 stays p = 1");
	/* a mean shift hidden in noise: less significant than Poisson says */
	st_count_test(x2, e4, 4, y2, e4, 4, &r);
	st_count_test((double[]){ 124 }, (double[]){ 4 }, 1, (double[]){ 105 }, (double[]){ 4 },
		      1, &plain);
	ASSERT_TRUE(r.phi > 1 && r.p > plain.p, "phi %g, p %g vs Poisson %g", r.phi, r.p,
		    plain.p);
	ASSERT_CLOSE(plain.p, ref_two_sided(105, 229, 0.5), 1e-9, "pooled Poisson");
}

TEST(count_test_untestable)
{
	double z[] = { 0, 0 }, e[] = { 1, 1 };
	struct st_result r;

	st_count_test(z, e, 2, z, e, 2, &r);
	ASSERT_TRUE(!r.testable && r.p == 1 && r.p_min == 1, "0 vs 0");
}

static struct kvmcmo_hist hist3(__u64 a, __u64 b, __u64 c)
{
	struct kvmcmo_hist h = {};

	h.slots[10] = a;
	h.slots[11] = b;
	h.slots[12] = c;
	h.count = a + b + c;
	return h;
}

/* Pearson chi-square of an r x c table (row-major), the reference */
static double ref_chi2(const double *t, int rows, int cols)
{
	double rt[8] = {}, ct[8] = {}, n = 0, x2 = 0;

	for (int i = 0; i < rows; i++)
		for (int j = 0; j < cols; j++) {
			rt[i] += t[i * cols + j];
			ct[j] += t[i * cols + j];
			n += t[i * cols + j];
		}
	for (int i = 0; i < rows; i++)
		for (int j = 0; j < cols; j++) {
			double e = rt[i] * ct[j] / n;

			x2 += (t[i * cols + j] - e) * (t[i * cols + j] - e) / e;
		}
	return x2;
}

TEST(hist_test_chi_square)
{
	struct kvmcmo_hist a = hist3(50, 50, 0), b = hist3(20, 80, 0);
	const struct kvmcmo_hist *pa[] = { &a }, *pb[] = { &b };
	double t[] = { 50, 50, 20, 80 }, x2 = ref_chi2(t, 2, 2);
	struct st_result r;

	st_hist_test(pa, 1, pb, 1, &r);
	ASSERT_TRUE(r.testable && r.df == 1, "df %d", r.df);
	/* chi-square with 1 df: Q(x) = erfc(sqrt(x / 2)) */
	ASSERT_CLOSE(r.p_shape, erfc(sqrt(x2 / 2)), 1e-9, "p %g, x2 %g", r.p_shape, x2);
	/* one run a side: the runs cannot show anything, so neither can the row */
	ASSERT_TRUE(r.p_runs == 1 && r.p_min == 1 && r.p == 1, "p_runs %g", r.p_runs);
	/* identical shapes of different sizes: nothing to see */
	b = hist3(100, 100, 0);
	st_hist_test(pa, 1, pb, 1, &r);
	ASSERT_CLOSE(r.p_shape, 1.0, 1e-12, "same shape: p %g", r.p_shape);
}

TEST(hist_test_merges_sparse_buckets)
{
	struct kvmcmo_hist a = {}, b = {};
	const struct kvmcmo_hist *pa[] = { &a }, *pb[] = { &b };
	struct st_result r;

	/* 2 vs 2 aborts: one merged group, no shape to test */
	a.slots[3] = 2;
	a.count = 2;
	b.slots[5] = 2;
	b.count = 2;
	st_hist_test(pa, 1, pb, 1, &r);
	ASSERT_TRUE(!r.testable && r.p == 1 && r.p_min == 1, "too few");
	/* 1 in each of 20 buckets on both sides: groups of >= 10, p = 1 */
	for (int i = 0; i < 20; i++)
		a.slots[i] = b.slots[i] = 1;
	a.count = b.count = 20;
	st_hist_test(pa, 1, pb, 1, &r);
	ASSERT_TRUE(r.testable && r.df == 3, "20+20 in 4 groups of 10: df %d", r.df);
	ASSERT_CLOSE(r.p, 1.0, 1e-12, "p %g", r.p);
	/* one side empty */
	memset(&b, 0, sizeof(b));
	st_hist_test(pa, 1, pb, 1, &r);
	ASSERT_TRUE(!r.testable, "empty side");
}

TEST(hist_test_heterogeneity)
{
	/* two samples per side that disagree a lot: the between-side chi-square
	 * is judged against the within-side one (an F test, 2 and 4 df) */
	struct kvmcmo_hist a1 = hist3(40, 10, 10), a2 = hist3(10, 40, 10);
	struct kvmcmo_hist b1 = hist3(30, 30, 30), b2 = hist3(10, 30, 50);
	const struct kvmcmo_hist *pa[] = { &a1, &a2 }, *pb[] = { &b1, &b2 };
	double between[] = { 50, 50, 20, 40, 60, 80 };
	double wa[] = { 40, 10, 10, 10, 40, 10 }, wb[] = { 30, 30, 30, 10, 30, 50 };
	double x2b = ref_chi2(between, 2, 3), x2w = ref_chi2(wa, 2, 3) + ref_chi2(wb, 2, 3);
	double phi = x2w / 4, f = x2b / 2 / phi;
	struct st_result r;

	st_hist_test(pa, 2, pb, 2, &r);
	ASSERT_TRUE(r.testable && r.df == 2, "df %d", r.df);
	ASSERT_CLOSE(r.phi, phi, 1e-9, "phi %g want %g", r.phi, phi);
	/* F(2, d2): Q(f) = (1 + 2 f / d2)^(-d2 / 2) */
	ASSERT_CLOSE(r.p_shape, pow(1 + 2 * f / 4, -4 / 2.0), 1e-9, "p %g", r.p_shape);
	/* and far less significant than the plain chi-square (exp(-x/2), 2 df) */
	ASSERT_TRUE(r.p_shape > exp(-x2b / 2) * 100, "p %g vs %g", r.p_shape, exp(-x2b / 2));
	/* the row's p is the larger of the two tests (intersection-union) */
	ASSERT_TRUE(r.p == fmax(r.p_shape, r.p_runs), "p %g", r.p);
}

/* exact two-sided Mann-Whitney p by enumerating every split: the reference */
static double ref_mw(const double *x, int nx, const double *y, int ny)
{
	double all[16], u0 = 0;
	int n = nx + ny, lo = 0, hi = 0, tot = 0;

	for (int i = 0; i < nx; i++)
		all[i] = x[i];
	for (int j = 0; j < ny; j++)
		all[nx + j] = y[j];
	for (int i = 0; i < nx; i++)
		for (int j = 0; j < ny; j++)
			u0 += x[i] > y[j];
	for (unsigned int m = 0; m < 1U << n; m++) {
		double u = 0;

		if (__builtin_popcount(m) != nx)
			continue;
		for (int i = 0; i < n; i++)
			for (int j = 0; j < n; j++)
				if ((m >> i & 1) && !(m >> j & 1))
					u += all[i] > all[j];
		tot++;
		lo += u <= u0;
		hi += u >= u0;
	}
	return fmin(1.0, 2.0 * fmin(lo, hi) / tot);
}

TEST(mann_whitney)
{
	double a[] = { 1, 2, 3 }, b[] = { 4, 5, 6 };
	double x[] = { 1.1, 2.2, 3.3, 4.4, 9.1, 0.3 }, y[] = { 2.5, 5.5, 6.6, 7.7, 8.8, 0.1, 3.0 };
	double big1[25], big2[25], p, pmin;

	st_mann_whitney(a, 3, b, 3, &p, &pmin);
	ASSERT_CLOSE(p, 0.1, 1e-12, "3 v 3 separated: 2/20, p %g", p);
	ASSERT_CLOSE(pmin, 0.1, 1e-12, "p_min");
	st_mann_whitney(x, 6, y, 7, &p, &pmin);
	ASSERT_CLOSE(p, ref_mw(x, 6, y, 7), 1e-12, "6 v 7: p %g", p);
	ASSERT_CLOSE(pmin, 2.0 / 1716, 1e-12, "p_min = 2 / C(13, 6)");
	st_mann_whitney(y, 7, x, 6, &p, &pmin);
	ASSERT_CLOSE(p, ref_mw(y, 7, x, 6), 1e-12, "7 v 6: p %g", p);
	st_mann_whitney(a, 3, a, 3, &p, &pmin);
	ASSERT_CLOSE(p, 1.0, 1e-12, "identical: p %g", p);
	/* beyond 20 a side: the normal approximation */
	for (int i = 0; i < 25; i++) {
		big1[i] = i;
		big2[i] = i + 0.5;
	}
	st_mann_whitney(big1, 25, big2, 25, &p, &pmin);
	ASSERT_TRUE(p > 0.5, "interleaved 25 v 25: p %g", p);
	for (int i = 0; i < 25; i++)
		big2[i] = 100 + i;
	st_mann_whitney(big1, 25, big2, 25, &p, &pmin);
	ASSERT_TRUE(p < 1e-8 && pmin < 1e-13, "separated 25 v 25: p %g", p);
}

TEST(hist_test_runs_as_replicates)
{
	/* 8 runs a side, every base run at bucket 10, every new run at 12: the
	 * runs agree, so both tests reject; one odd run in the new side (its
	 * aborts spread) does not change that */
	struct kvmcmo_hist a[8], b[8];
	const struct kvmcmo_hist *pa[8], *pb[8];
	struct st_result r;

	for (int i = 0; i < 8; i++) {
		a[i] = hist3(20, 0, 0);
		b[i] = hist3(0, 0, 20);
		pa[i] = &a[i];
		pb[i] = &b[i];
	}
	st_hist_test(pa, 8, pb, 8, &r);
	ASSERT_CLOSE(r.p_runs, 2.0 / 12870, 1e-12, "8 v 8 separated");
	ASSERT_TRUE(r.p == r.p_runs && r.p_shape < 1e-30, "p %g shape %g", r.p, r.p_shape);
	/* one run that is all outliers: the pooled buckets say "changed", the
	 * runs do not */
	for (int i = 0; i < 8; i++)
		b[i] = hist3(20, 0, 0);
	b[3] = hist3(0, 0, 200);
	st_hist_test(pa, 8, pb, 8, &r);
	ASSERT_TRUE(r.p_shape < 1e-6 || r.phi > 1, "shape %g phi %g", r.p_shape, r.phi);
	ASSERT_TRUE(r.p_runs > 0.1 && r.p > 0.1, "runs %g", r.p_runs);
}

TEST(tarone)
{
	double pm[] = { 0, 0, 0.5, 0.5, 0.5 }, ones[] = { 1, 1, 1 };
	size_t n;

	ASSERT_EQ(st_tarone(pm, 5, 0.05, &n), 2, "two can reach 0.05/2");
	ASSERT_EQ(n, 2, "testable");
	ASSERT_EQ(st_tarone(ones, 3, 0.05, &n), 1, "none can");
	ASSERT_EQ(n, 0, "testable");
	ASSERT_EQ(st_tarone(NULL, 0, 0.05, &n), 1, "empty family");
	/* 30 discrete tests that cannot go below 2e-3 and 10 continuous ones,
	 * alpha 0.01: from K = 6 on only the continuous ones qualify, and
	 * K = 10 is the first with no more qualifying than K */
	{
		double v[40];

		for (int i = 0; i < 40; i++)
			v[i] = i < 30 ? 2e-3 : 0;
		ASSERT_EQ(st_tarone(v, 40, 0.01, &n), 10, "K");
		ASSERT_EQ(n, 10, "testable");
	}
}

/* ---- diff and --fail-on end to end, on recordings built here ---------------- */

static char *recording(const char *vms_json, int nsamples)
{
	char *s = NULL, *samples = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&samples, &len);

	for (int i = 0; i < nsamples; i++)
		fprintf(f, "%s{\"duration_ns\": 1000000000, \"exit_status\": 0, \"vms\": %s}",
			i ? "," : "", vms_json);
	fclose(f);
	if (asprintf(&s, "{\"format\": \"kvmcmo-record\", \"schema\": 1,"
		     " \"tool\": {\"name\": \"kvmcmo\", \"version\": \"0.1.0\"},"
		     " \"host\": {\"hostname\": \"h\", \"kernel_release\": \"6.12\"},"
		     " \"target\": {\"mode\": \"command\"}, \"samples\": [%s]}", samples) < 0)
		s = NULL;
	free(samples);
	return s;
}

#define VM(key, aborts, lat) \
	"{\"key\": \"" key "\", \"name\": \"" key "\", \"aborts\": [" aborts "]," \
	" \"dabt_injections\": {\"abort\": 0, \"userspace\": 0}, \"double_faults\": []," \
	" \"latency_ns\": {" lat "}}"
#define ROW(k, f, m, o, c) \
	"{\"kind\": \"" k "\", \"fault\": \"" f "\", \"memslot\": \"" m "\", \"outcome\": \"" \
	o "\", \"count\": " #c "}"
#define LAT(o, a, b, n) \
	"\"" o "\": {\"count\": " #n ", \"sum\": 1, \"buckets\": [{\"le\": 65536, " \
	"\"count\": " #a "}, {\"le\": 131072, \"count\": " #b "}]}"

static int load(struct diff *d, const char *base, const char *new)
{
	char err[256];

	memset(d, 0, sizeof(*d));
	d->side[0].files = calloc(1, sizeof(struct rec_file));
	d->side[1].files = calloc(1, sizeof(struct rec_file));
	if (rec_parse(base, strlen(base), "base", &d->side[0].files[0], err, sizeof(err)) ||
	    rec_parse(new, strlen(new), "new", &d->side[1].files[0], err, sizeof(err))) {
		printf("  %s\n", err);
		return -1;
	}
	for (int s = 0; s < 2; s++) {
		struct rec_file *f = &d->side[s].files[0];

		d->side[s].nfiles = 1;
		d->side[s].all_command = true;
		d->side[s].samples = calloc(f->nsamples, sizeof(struct diff_sample));
		for (size_t i = 0; i < f->nsamples; i++)
			d->side[s].samples[d->side[s].n++] = (struct diff_sample){
				.s = &f->samples[i], .file = f, .index = i, .seconds = 1 };
	}
	return diff_compute(d, &(struct diff_opts){ .alpha = 0.01 });
}

static const struct diff_row *find_row(const struct diff *d, const char *vm, const char *what)
{
	for (size_t i = 0; i < d->nrows; i++) {
		char w[64];

		diff_row_what(&d->rows[i], w, sizeof(w));
		if (!strcmp(d->vms[d->rows[i].vm].key, vm) && !strcmp(w, what))
			return &d->rows[i];
	}
	return NULL;
}

#define VMS_BASE "[" VM("a", ROW("read", "translation", "none", "nisv", 4) "," \
		     ROW("exec", "translation", "rw", "map_rw", 1), LAT("nisv", 30, 30, 60)) "," \
		     VM("b", ROW("write", "permission", "ro", "mmio_user", 3), "") "]"
#define VMS_NEW "[" VM("a", ROW("read", "translation", "none", "error", 4) "," \
		    ROW("exec", "translation", "rw", "map_rw", 1), LAT("error", 30, 30, 60)) "," \
		    VM("b", ROW("write", "permission", "ro", "mmio_user", 3), "") "]"

TEST(diff_identical_flags_nothing)
{
	char *base = recording(VMS_BASE, 5);
	struct diff d;

	if (!ASSERT_TRUE(base && !load(&d, base, base), "load"))
		return;
	ASSERT_EQ(d.nvms, 2, "VMs");
	ASSERT_EQ(d.flagged, 0, "identical sides flag nothing");
	ASSERT_TRUE(d.per_run, "both recorded commands: per run");
	diff_free(&d);
	free(base);
}

TEST(diff_flags_exactly_the_changed_rows)
{
	char *base = recording(VMS_BASE, 5), *new = recording(VMS_NEW, 5);
	const struct diff_row *r;
	struct diff d;

	if (!ASSERT_TRUE(base && new && !load(&d, base, new), "load"))
		return;
	ASSERT_EQ(d.flagged, 2, "nisv gone, error new");
	r = find_row(&d, "a", "read/translation/none/nisv");
	ASSERT_TRUE(r && r->verdict == DV_DOWN, "nisv down");
	r = find_row(&d, "a", "read/translation/none/error");
	ASSERT_TRUE(r && r->verdict == DV_UP && isinf(r->change), "error up, new row");
	/* 4 per run x 5 runs = 20 on one side: p = 2 * 0.5^20 */
	ASSERT_CLOSE(r->t.p, 2 * pow(0.5, 20), 1e-9, "p %g", r->t.p);
	r = find_row(&d, "a", "latency nisv");
	ASSERT_TRUE(r && r->verdict == DV_UNTESTED, "latency on one side only: n/a");
	r = find_row(&d, "b", "write/permission/ro/mmio_user");
	ASSERT_TRUE(r && r->verdict == DV_SAME && r->s[0].mean == 3 && r->s[0].sd == 0,
		    "unchanged VM");
	diff_free(&d);
	free(base);
	free(new);
}

static int eval(const char *expr, const char *base, const char *new, char *err, size_t len)
{
	struct failon *f = failon_parse(expr, err, len);
	struct diff d;
	int n;

	if (!f)
		return -2;
	if (load(&d, base, new)) {
		failon_free(f);
		return -3;
	}
	n = failon_eval(f, &d, NULL, err, len);
	diff_free(&d);
	failon_free(f);
	return n;
}

TEST(failon_grammar)
{
	static const char *const bad[][2] = {
		{ "cmo.nisv", "expected METRIC:CONDITION" },
		{ "cmo.nisv:10%", "the condition must be" },
		{ "cmo.nisv:+ten%", "is not a non-negative number" },
		{ "access_flag:>0", "'access_flag' is both a fault and an outcome: write "
		  "fault=access_flag or outcome=access_flag" },
		{ "bogus:>0", "unknown label 'bogus'" },
		{ "read.write:>0", "two kind labels" },
		{ "latency.nisv:+20%", "latency needs .p50, .p99 or .mean at the end" },
		{ "latency.read.p99:+20%", "unknown label 'read'" },
		{ "double_faults.nisv:>0", "unknown label 'nisv'" },
		{ "dabt.guest:>0", "dabt takes one of: abort, userspace" },
		{ "x=read:>0", "'x' is not a dimension here" },
		{ "cmo@:>0", "empty VM name after '@'" },
		{ ":>0", "empty metric" },
	};
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct failon *f = failon_parse(bad[i][0], err, sizeof(err));

		ASSERT_TRUE(!f && strstr(err, bad[i][1]), "'%s': got '%s'", bad[i][0],
			    f ? "(parsed)" : err);
		failon_free(f);
	}
	static const char *const good[] = {
		"cmo.nisv:+10%", "double_faults:>0", "latency.p99:+20%", "aborts:-5",
		"fault=access_flag.outcome=other:>=3", "latency.mmio_user.mean:<1000",
		"dabt.userspace:<=0", "read.translation.none.nisv@vm1:-50%", "aborts@a.b:c:>0",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct failon *f = failon_parse(good[i], err, sizeof(err));

		ASSERT_TRUE(f != NULL, "'%s': %s", good[i], f ? "" : err);
		failon_free(f);
	}
}

TEST(failon_evaluation)
{
	char *base = recording(VMS_BASE, 5), *new = recording(VMS_NEW, 5), err[256];

	if (!ASSERT_TRUE(base && new, "docs"))
		return;
	ASSERT_EQ(eval("nisv:-10%", base, new, err, sizeof(err)), 1, "nisv fell in a");
	ASSERT_EQ(eval("error:>0", base, new, err, sizeof(err)), 1, "error appeared in a");
	ASSERT_EQ(eval("error:>0", base, base, err, sizeof(err)), 0, "no error before");
	ASSERT_EQ(eval("aborts:+1%", base, new, err, sizeof(err)), 0, "total unchanged");
	ASSERT_EQ(eval("mmio_user:>=3", base, new, err, sizeof(err)), 1, "b has 3 per run");
	ASSERT_EQ(eval("mmio_user:>3", base, new, err, sizeof(err)), 0, "not more than 3");
	ASSERT_EQ(eval("double_faults:>0", base, new, err, sizeof(err)), 0, "none");
	ASSERT_EQ(eval("nisv@b:-10%", base, new, err, sizeof(err)), 0, "b had no nisv");
	ASSERT_EQ(eval("nisv@zz:-10%", base, new, err, sizeof(err)), -1, "unknown VM");
	ASSERT_STREQ(err, "no VM 'zz' in the recordings", "message");
	/* a change condition needs significance: identical sides never cross */
	ASSERT_EQ(eval("aborts:+0%", base, base, err, sizeof(err)), 0, "identical");
	ASSERT_EQ(eval("latency.p99:+0%", base, base, err, sizeof(err)), 0, "identical");
	free(base);
	free(new);
}

static const struct test tests[] = {
	TEST_ENTRY(binomial_tails_match_direct_sums),
	TEST_ENTRY(count_test_identical_is_one),
	TEST_ENTRY(count_test_vanished_row),
	TEST_ENTRY(count_test_exposure),
	TEST_ENTRY(count_test_dispersion),
	TEST_ENTRY(count_test_untestable),
	TEST_ENTRY(hist_test_chi_square),
	TEST_ENTRY(hist_test_merges_sparse_buckets),
	TEST_ENTRY(hist_test_heterogeneity),
	TEST_ENTRY(mann_whitney),
	TEST_ENTRY(hist_test_runs_as_replicates),
	TEST_ENTRY(tarone),
	TEST_ENTRY(diff_identical_flags_nothing),
	TEST_ENTRY(diff_flags_exactly_the_changed_rows),
	TEST_ENTRY(failon_grammar),
	TEST_ENTRY(failon_evaluation),
};

int main(void)
{
	return test_run(tests, TEST_COUNT(tests));
}
