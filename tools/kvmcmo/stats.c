// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * stats.c - p-values for `kvmcmo diff` (stats.h).  Every distribution
 * function is GSL's; what is here is only which statistic goes in.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_statistics_double.h>

#include "stats.h"

/* expected count every merged histogram cell must reach (Cochran's rule) */
#define ST_MIN_EXPECTED 5.0

/* GSL's default handler aborts the process on a domain error */
static void st_init(void)
{
	static int done;

	if (!done) {
		gsl_set_error_handler_off();
		done = 1;
	}
}

double st_binom_lower(double y, double n, double p0)
{
	st_init();
	if (y >= n)
		return 1.0;
	if (y < 0)
		return 0.0;
	/* P(Bin(n, p0) <= y) = 1 - I_p0(y + 1, n - y) */
	return gsl_cdf_beta_Q(p0, y + 1.0, n - y);
}

double st_binom_upper(double y, double n, double p0)
{
	st_init();
	if (y <= 0)
		return 1.0;
	if (y > n)
		return 0.0;
	/* P(Bin(n, p0) >= y) = I_p0(y, n - y + 1) */
	return gsl_cdf_beta_P(p0, y, n - y + 1.0);
}

double st_binom_two_sided(double y, double n, double p0)
{
	double lo = st_binom_lower(y, n, p0), hi = st_binom_upper(y, n, p0);
	double p = 2.0 * (lo < hi ? lo : hi);

	return p > 1.0 ? 1.0 : p;
}

static void untestable(struct st_result *r)
{
	memset(r, 0, sizeof(*r));
	r->p = 1.0;
	r->p_min = 1.0;
	r->p_shape = 1.0;
	r->p_runs = 1.0;
	r->phi = 1.0;
}

static double sum(const double *v, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += v[i];
	return s;
}

/* Pearson chi-square of samples around their pooled rate */
static double pearson(const double *c, const double *e, size_t n, double rate)
{
	double x2 = 0;

	if (rate <= 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		double mu = e[i] * rate, d = c[i] - mu;

		if (mu > 0)
			x2 += d * d / mu;
	}
	return x2;
}

void st_count_test(const double *x, const double *ex, size_t nx,
		   const double *y, const double *ey, size_t ny,
		   struct st_result *r)
{
	double X = sum(x, nx), Y = sum(y, ny), E = sum(ex, nx), F = sum(ey, ny);
	double p0, n, x2 = 0, lo, hi;
	int df = 0;

	st_init();
	untestable(r);
	if (X + Y <= 0 || E <= 0 || F <= 0)
		return;
	/* dispersion: within-side variation beyond Poisson */
	if (nx > 1 && X > 0) {
		x2 += pearson(x, ex, nx, X / E);
		df += (int)nx - 1;
	}
	if (ny > 1 && Y > 0) {
		x2 += pearson(y, ey, ny, Y / F);
		df += (int)ny - 1;
	}
	if (df > 0 && x2 / df > 1.0)
		r->phi = x2 / df;
	X /= r->phi;
	Y /= r->phi;
	n = X + Y;
	p0 = F / (E + F);
	r->testable = 1;
	r->p = st_binom_two_sided(Y, n, p0);
	/* the most extreme outcomes: everything on one side */
	lo = pow(1.0 - p0, n);
	hi = pow(p0, n);
	r->p_min = 2.0 * (lo < hi ? lo : hi);
	if (r->p_min > 1.0)
		r->p_min = 1.0;
}

static int cmp_double_asc(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* each non-empty histogram's mean bucket index (a log2 of its times) */
static size_t run_means(const struct kvmcmo_hist *const *h, size_t n, double *out)
{
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		double tot = 0, w = 0;

		for (int s = 0; h[i] && s < KVMCMO_HIST_SLOTS; s++) {
			tot += (double)h[i]->slots[s];
			w += (double)h[i]->slots[s] * s;
		}
		if (tot > 0)
			out[m++] = w / tot;
	}
	return m;
}

/* ---- Mann-Whitney ------------------------------------------------------------ */

#define MW_EXACT_MAX 20

/* counts of the arrangements of n1 x's and n2 y's with U = u, for the last
 * (n1, n2) asked (a diff asks the same sizes row after row) */
static double mw_freq[(MW_EXACT_MAX * MW_EXACT_MAX) + 1];
static int mw_n1 = -1, mw_n2 = -1;

static void mw_table(int n1, int n2)
{
	static double f[MW_EXACT_MAX + 1][MW_EXACT_MAX * MW_EXACT_MAX + 1];
	static double g[MW_EXACT_MAX + 1][MW_EXACT_MAX * MW_EXACT_MAX + 1];

	if (n1 == mw_n1 && n2 == mw_n2)
		return;
	/* f[i][u]: arrangements of i x's and j y's (j the loop) with U = u,
	 * f(i, j, u) = f(i - 1, j, u - j) + f(i, j - 1, u) */
	memset(f, 0, sizeof(f));
	for (int i = 0; i <= n1; i++)
		f[i][0] = 1;            /* j = 0 */
	for (int j = 1; j <= n2; j++) {
		memset(g, 0, sizeof(g));
		for (int i = 0; i <= n1; i++)
			for (int u = 0; u <= i * j; u++)
				g[i][u] = (i && u >= j ? g[i - 1][u - j] : 0) + f[i][u];
		memcpy(f, g, sizeof(f));
	}
	memcpy(mw_freq, f[n1], sizeof(mw_freq));
	mw_n1 = n1;
	mw_n2 = n2;
}

void st_mann_whitney(const double *x, size_t nx, const double *y, size_t ny, double *p,
		     double *p_min)
{
	double u = 0, n1 = (double)nx, n2 = (double)ny, tot, lo = 0, hi = 0;

	st_init();
	*p = 1.0;
	*p_min = 1.0;
	if (!nx || !ny)
		return;
	for (size_t i = 0; i < nx; i++)
		for (size_t j = 0; j < ny; j++)
			u += x[i] > y[j] ? 1.0 : x[i] == y[j] ? 0.5 : 0.0;
	/* the most extreme arrangement: one of C(n1 + n2, n1), on either side */
	tot = gsl_sf_choose((unsigned int)(nx + ny), (unsigned int)nx);
	*p_min = 2.0 / tot > 1.0 ? 1.0 : 2.0 / tot;
	if (nx <= MW_EXACT_MAX && ny <= MW_EXACT_MAX) {
		int ulo = (int)ceil(u), uhi = (int)floor(u);     /* ties: conservative */

		mw_table((int)nx, (int)ny);
		for (int k = 0; k <= (int)(nx * ny); k++) {
			if (k <= ulo)
				lo += mw_freq[k];
			if (k >= uhi)
				hi += mw_freq[k];
		}
		lo /= tot;
		hi /= tot;
	} else {
		/* normal approximation with the tie correction of the variance */
		double all[nx + ny], mu = n1 * n2 / 2, ties = 0, var, z;
		size_t n = 0, i, j;

		for (i = 0; i < nx; i++)
			all[n++] = x[i];
		for (i = 0; i < ny; i++)
			all[n++] = y[i];
		qsort(all, n, sizeof(*all), cmp_double_asc);
		for (i = 0; i < n; i = j) {
			for (j = i + 1; j < n && all[j] == all[i]; j++)
				;
			ties += pow((double)(j - i), 3) - (double)(j - i);
		}
		var = n1 * n2 / 12.0 * ((n1 + n2 + 1) - ties / ((n1 + n2) * (n1 + n2 - 1)));
		if (var <= 0)
			return;
		z = (u - mu) / sqrt(var);
		/* continuity correction towards the centre */
		lo = gsl_cdf_ugaussian_P(z + 0.5 / sqrt(var));
		hi = gsl_cdf_ugaussian_Q(z - 0.5 / sqrt(var));
	}
	*p = 2.0 * (lo < hi ? lo : hi);
	if (*p > 1.0)
		*p = 1.0;
}

/* ---- histograms -------------------------------------------------------- */

static double chi2_table(const double *rows, size_t nrows, size_t ncols)
{
	double rt[nrows ? nrows : 1], ct[ncols ? ncols : 1], N = 0, x2 = 0;

	memset(rt, 0, sizeof(rt));
	memset(ct, 0, sizeof(ct));
	for (size_t i = 0; i < nrows; i++)
		for (size_t j = 0; j < ncols; j++) {
			rt[i] += rows[i * ncols + j];
			ct[j] += rows[i * ncols + j];
			N += rows[i * ncols + j];
		}
	if (N <= 0)
		return 0;
	for (size_t i = 0; i < nrows; i++)
		for (size_t j = 0; j < ncols; j++) {
			double e = rt[i] * ct[j] / N, d = rows[i * ncols + j] - e;

			if (e > 0)
				x2 += d * d / e;
		}
	return x2;
}

/* per-sample bucket counts folded into the merged groups; returns the
 * number of non-empty samples written to out (rows of ngroups) */
static size_t fold(const struct kvmcmo_hist *const *h, size_t n, const int *group,
		   size_t ngroups, double *out)
{
	size_t rows = 0;

	for (size_t i = 0; i < n; i++) {
		double *row = out + rows * ngroups, tot = 0;

		if (!h[i])
			continue;
		memset(row, 0, ngroups * sizeof(*row));
		for (int s = 0; s < KVMCMO_HIST_SLOTS; s++) {
			row[group[s]] += (double)h[i]->slots[s];
			tot += (double)h[i]->slots[s];
		}
		if (tot > 0)
			rows++;
	}
	return rows;
}

void st_hist_test(const struct kvmcmo_hist *const *a, size_t na,
		  const struct kvmcmo_hist *const *b, size_t nb,
		  struct st_result *r)
{
	double A[KVMCMO_HIST_SLOTS] = {}, B[KVMCMO_HIST_SLOTS] = {};
	double RA = 0, RB = 0, N, need, acc = 0, x2b, x2w = 0, *tab, *w;
	int group[KVMCMO_HIST_SLOTS], g = 0, dfw = 0;
	size_t ngroups, rows;

	st_init();
	untestable(r);
	for (size_t i = 0; i < na; i++)
		for (int s = 0; a[i] && s < KVMCMO_HIST_SLOTS; s++)
			A[s] += (double)a[i]->slots[s];
	for (size_t i = 0; i < nb; i++)
		for (int s = 0; b[i] && s < KVMCMO_HIST_SLOTS; s++)
			B[s] += (double)b[i]->slots[s];
	for (int s = 0; s < KVMCMO_HIST_SLOTS; s++) {
		RA += A[s];
		RB += B[s];
	}
	if (RA <= 0 || RB <= 0)
		return;
	N = RA + RB;
	/* a group closes once its smaller expected count reaches the rule */
	need = ST_MIN_EXPECTED * N / (RA < RB ? RA : RB);
	for (int s = 0; s < KVMCMO_HIST_SLOTS; s++) {
		group[s] = g;
		acc += A[s] + B[s];
		if (acc >= need) {
			g++;
			acc = 0;
		}
	}
	/* the slots after the last closed group (a short or empty tail) join it */
	for (int s = KVMCMO_HIST_SLOTS - 1; g > 0 && s >= 0 && group[s] == g; s--)
		group[s] = g - 1;
	ngroups = (size_t)g;
	if (ngroups < 2)
		return;         /* everything in one group: no shape to compare */

	tab = calloc((na + nb + 2) * ngroups, sizeof(*tab));
	if (!tab)
		return;
	/* between the sides */
	for (int s = 0; s < KVMCMO_HIST_SLOTS; s++) {
		tab[group[s]] += A[s];
		tab[ngroups + group[s]] += B[s];
	}
	x2b = chi2_table(tab, 2, ngroups);
	/* within each side: how much the samples disagree among themselves */
	w = tab + 2 * ngroups;
	rows = fold(a, na, group, ngroups, w);
	if (rows > 1) {
		x2w += chi2_table(w, rows, ngroups);
		dfw += (int)((rows - 1) * (ngroups - 1));
	}
	rows = fold(b, nb, group, ngroups, w);
	if (rows > 1) {
		x2w += chi2_table(w, rows, ngroups);
		dfw += (int)((rows - 1) * (ngroups - 1));
	}
	free(tab);

	r->testable = 1;
	r->df = (int)ngroups - 1;
	if (dfw > 0 && x2w / dfw > 1.0) {
		r->phi = x2w / dfw;
		r->p_shape = gsl_cdf_fdist_Q(x2b / r->df / r->phi, r->df, dfw);
	} else {
		r->p_shape = gsl_cdf_chisq_Q(x2b, r->df);
	}
	/* the runs as replicates: each non-empty sample's mean log2 bucket */
	{
		double xa[na + 1], xb[nb + 1];
		size_t ma = run_means(a, na, xa), mb = run_means(b, nb, xb);

		st_mann_whitney(xa, ma, xb, mb, &r->p_runs, &r->p_min);
	}
	r->p = r->p_shape > r->p_runs ? r->p_shape : r->p_runs;
}

/* ---- many tests ---------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

size_t st_tarone(const double *p_min, size_t m, double alpha, size_t *ntestable)
{
	double *s = malloc((m + 1) * sizeof(*s));
	size_t k, cnt = 0;

	if (!s) {
		/* no memory: plain Bonferroni over everything is still valid */
		*ntestable = m;
		return m ? m : 1;
	}
	memcpy(s, p_min, m * sizeof(*s));
	qsort(s, m, sizeof(*s), cmp_double);
	for (k = 1; k <= m; k++) {
		double t = alpha / (double)k;

		/* #{p_min <= t}: s is sorted, count from the start */
		cnt = 0;
		{
			size_t lo = 0, hi = m;

			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;

				if (s[mid] <= t)
					lo = mid + 1;
				else
					hi = mid;
			}
			cnt = lo;
		}
		if (cnt <= k)
			break;
	}
	free(s);
	if (k > m)
		k = m ? m : 1;
	*ntestable = cnt;
	return k;
}

void st_mean_sd(const double *v, size_t n, double *mean, double *sd)
{
	*mean = n ? gsl_stats_mean(v, 1, n) : 0.0;
	*sd = n > 1 ? gsl_stats_sd_m(v, 1, n, *mean) : 0.0;
}
