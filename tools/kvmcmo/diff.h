/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * diff.h - `kvmcmo diff`: two sets of recordings compared VM by VM and row
 * by row, each row with a significance test (stats.h), thresholds for CI
 * (--fail-on), and the outputs (text, JSON, HTML).
 */
#ifndef __KVMCMO_DIFF_H
#define __KVMCMO_DIFF_H

#include <stdbool.h>
#include <stdio.h>

#include "recfile.h"
#include "stats.h"

enum diff_side_id { DIFF_BASE, DIFF_NEW };

/* what a row measures */
enum diff_metric {
	DM_ABORTS,              /* a = class (rec_class) */
	DM_DABT,                /* a = source */
	DM_DFAULT,              /* double faults, a = kind, b = memslot */
	DM_GAP,                 /* their gap histogram, a = kind, b = memslot */
	DM_LATENCY,             /* handler time histogram, a = outcome */
};

enum diff_verdict {
	DV_SAME,                /* tested, no significant change */
	DV_UP,                  /* counts: significantly more */
	DV_DOWN,                /* counts: significantly fewer */
	DV_SHAPE,               /* histograms: the distribution changed */
	DV_UNTESTED,            /* nothing to compare (one side empty, too few) */
};

struct diff_stat {
	/* counts: per sample; histograms: per-sample average in ns */
	double mean, sd;
	double rate_mean, rate_sd;      /* counts per second of each sample */
	double total;                   /* counts: sum over samples */
	__u64 p50, p99;                 /* histograms: of the pooled buckets */
	double avg;                     /* histograms: pooled average, ns */
};

struct diff_row {
	size_t vm;                      /* index in diff->vms */
	enum diff_metric metric;
	int a, b;
	struct diff_stat s[2];
	double change;                  /* relative change of the normalized means
					 * (histograms: of the pooled average);
					 * INFINITY when base is 0, NAN when both are */
	struct st_result t;
	enum diff_verdict verdict;
	struct kvmcmo_hist *h[2];       /* pooled histograms (histogram rows) */
};

struct diff_vm {
	const char *key;
	const char *name;
	bool present[2];                /* seen in some sample of that side */
	size_t first_row, nrows;
	size_t flagged;
	/* per-sample pointers, NULL where absent: [side][sample] */
	const struct rec_vm **at[2];
};

struct diff_sample {
	const struct rec_sample *s;
	const struct rec_file *file;
	size_t index;                   /* in its file */
	double seconds;
	double exposure;                /* 1 (per run) or seconds */
};

struct diff_side {
	struct rec_file *files;
	size_t nfiles;
	struct diff_sample *samples;
	size_t n;
	bool all_command;               /* every file recorded a command */
};

struct diff_opts {
	double alpha;                   /* family-wise error rate */
	int per;                        /* DIFF_PER_AUTO, _RUN, _SECOND */
};

enum { DIFF_PER_AUTO, DIFF_PER_RUN, DIFF_PER_SECOND };

struct diff {
	struct diff_side side[2];
	struct diff_opts o;
	bool per_run;
	struct diff_vm *vms;
	size_t nvms;
	struct diff_row *rows;
	size_t nrows;
	size_t family;                  /* Tarone's K */
	size_t testable;                /* tests that could reach alpha/K */
	size_t tested;                  /* rows with a test at all */
	double threshold;               /* alpha / K */
	size_t flagged;
};

/* Load each side's files: 0, or KVMCMO_EXIT_USAGE with one line printed */
int diff_load(struct diff *d, char **base, int nbase, char **new, int nnew);
/* Match VMs, build and test the rows, decide the verdicts; 0 or -ENOMEM */
int diff_compute(struct diff *d, const struct diff_opts *o);
void diff_free(struct diff *d);

/* a row's name: "read/translation/none/nisv", "latency mmio_user", ... */
void diff_row_what(const struct diff_row *r, char *buf, size_t len);
const char *diff_verdict_name(enum diff_verdict v);
/* latency and gap rows (histograms) rather than counts */
bool diff_row_is_hist(const struct diff_row *r);
/* 1234567 ns -> "1.23ms"; micro is how the unit prefix is spelled ("u") */
void diff_fmt_ns(double ns, const char *micro, char *buf, size_t len);

/* ---- --fail-on (failon.c) ------------------------------------------------------ */

struct failon;
/* parse "METRIC[@VM]:CONDITION"; NULL with one line in err */
struct failon *failon_parse(const char *text, char *err, size_t len);
void failon_free(struct failon *f);
/* evaluate on every VM (or its VM): how many VMs cross, each crossing
 * appended to `detail` (a JSON array) if given; -1 with err when the
 * expression names a VM the recordings do not have */
int failon_eval(struct failon *f, const struct diff *d, json_t *detail, char *err, size_t len);
const char *failon_text(const struct failon *f);

/* ---- outputs (diffout.c, diffout_html.c) ------------------------------------- */

void diff_print_text(FILE *out, const struct diff *d, bool changed_only, json_t *failures);
json_t *diff_json(const struct diff *d, json_t *failures);
int diff_write_html(const char *path, const struct diff *d, json_t *failures, int exit_code);

#endif
