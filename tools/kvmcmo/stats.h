/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * stats.h - the significance tests of `kvmcmo diff`, over GSL's cdfs.
 *
 * Counts: the exact conditional test for two Poisson rates (given the
 * total, the NEW side's count is binomial with p0 = its share of the
 * exposure), with the counts divided by a dispersion factor estimated from
 * the samples when runs vary more than Poisson (quasi-Poisson).
 * Histograms: chi-square homogeneity over log2 buckets (adjacent buckets
 * merged until every expected count is >= 5), scaled by the heterogeneity
 * of the samples within each side (an F test) when that exceeds 1.
 * Many rows: Tarone's modified Bonferroni, which leaves out of the family
 * the discrete tests that could not reach significance whatever happened.
 * docs/record-schema.md and man/kvmcmo-diff.8 describe the method.
 */
#ifndef __KVMCMO_STATS_H
#define __KVMCMO_STATS_H

#include <stddef.h>
#include <linux/types.h>

#include "kvmcmo.h"

struct st_result {
	double p;               /* two-sided p-value, 1 when untestable */
	double p_shape;         /* histograms: the bucket test alone */
	double p_runs;          /* histograms: the run-level rank test alone */
	double p_min;           /* smallest p this test could give (Tarone) */
	double phi;             /* dispersion/heterogeneity factor used (>= 1) */
	int df;                 /* histograms: buckets after merging - 1 */
	int testable;           /* 0: nothing to compare (p = p_min = 1) */
};

/* P(Y <= y) and P(Y >= y) for Y ~ Binomial(n, p0), continued to real
 * y and n through the regularized incomplete beta function */
double st_binom_lower(double y, double n, double p0);
double st_binom_upper(double y, double n, double p0);
/* twice the smaller tail, at most 1 */
double st_binom_two_sided(double y, double n, double p0);

/*
 * Two Poisson rates from per-sample counts: x[i] over exposure ex[i] (a
 * run, or seconds), y[j] over ey[j].  With 2+ samples on some side the
 * Pearson dispersion of the samples around their side's rate (df = samples
 * - sides) scales both totals down when it is above 1.
 */
void st_count_test(const double *x, const double *ex, size_t nx,
		   const double *y, const double *ey, size_t ny,
		   struct st_result *r);

/*
 * Two sets of per-sample histograms (NULL entries count as empty).  Two
 * tests, both of which must reject (an intersection-union test: p is the
 * larger of the two): the shape of the pooled buckets (above), and a
 * Mann-Whitney rank test of the runs themselves (each sample's mean log2
 * bucket), because the aborts of one run share its conditions (host load,
 * preemption of the VMM) and are not independent replicates.  With few runs
 * a side the rank test cannot get small (p_min = 2 / C(na + nb, na)) and
 * the row drops out of the Tarone family.
 */
void st_hist_test(const struct kvmcmo_hist *const *a, size_t na,
		  const struct kvmcmo_hist *const *b, size_t nb,
		  struct st_result *r);

/*
 * Tarone's procedure over m tests: the smallest K with
 * #{i : p_min[i] <= alpha / K} <= K.  A test is significant when its
 * p <= alpha / K; the family-wise error rate stays <= alpha.
 * *ntestable gets that count (the family size actually paid for).
 */
size_t st_tarone(const double *p_min, size_t m, double alpha, size_t *ntestable);

/* two-sided Mann-Whitney U test: exact null distribution up to 20 x 20
 * (ties: midranks, conservatively rounded), normal with tie correction
 * beyond; *p_min the smallest p it could give */
void st_mann_whitney(const double *x, size_t nx, const double *y, size_t ny, double *p,
		     double *p_min);

/* mean and sample standard deviation (0 for n < 2) */
void st_mean_sd(const double *v, size_t n, double *mean, double *sd);

#endif
