// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * model.c - samples -> the rows of a frame.
 *
 * Per VM, two windows: the last interval (cur - prev, shown as rates: the
 * count divided by the interval's seconds) and the time since start or the
 * last reset (cur - base, shown as totals).  The columns:
 *
 *   vCPUs     distinct vCPU ids with aborts since start
 *   aborts    every abort of the VM
 *   focus     aborts of the focus kind (cmo unless -k says otherwise), and of
 *             those: translation faults, permission faults, on read-only
 *             memslots, skipped by KVM (outcome skip), exits to the VMM
 *             (outcomes nisv and mmio_user), errors (outcome error; shown
 *             since start in both modes: one failed vCPU run must not
 *             vanish after an interval)
 *   double    double faults of the focus kind (the dfault tables)
 *   p50/p99   of the handler time of every abort of the VM in the window
 *             (the probes keep handler time by outcome, not by kind)
 *
 * The total row sums the rows shown (after the filters) and merges their
 * histograms for its percentiles.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "top.h"

#define TOP_COL_INFO(n, h, j, k, w, d) [TOP_COL_##n] = { h, j, k, w, d },
const struct top_colinfo top_cols[TOP_COL__COUNT] = { TOP_COLS(TOP_COL_INFO) };

int top_col_by_name(const char *s)
{
	for (int c = 0; c < TOP_COL__COUNT; c++)
		if (!strcasecmp(s, top_cols[c].header) || !strcasecmp(s, top_cols[c].json))
			return c;
	return -1;
}

#define N(c) (TOP_COL_##c - TOP_C0)

void top_count_window(const struct top_vmstat *w, int kind, __u64 n[TOP_NCOUNT])
{
	memset(n, 0, TOP_NCOUNT * sizeof(*n));
	for (int k = 0; k < TOP_NK; k++)
		for (int f = 0; f < TOP_NF; f++)
			for (int m = 0; m < TOP_NM; m++)
				for (int o = 0; o < TOP_NO; o++) {
					__u64 c = w->aborts[k][f][m][o];

					if (!c)
						continue;
					n[N(ABORTS)] += c;
					if (k != kind)
						continue;
					n[N(FOCUS)] += c;
					if (f == KVMCMO_FAULT_TRANSLATION)
						n[N(TRANS)] += c;
					if (f == KVMCMO_FAULT_PERMISSION)
						n[N(PERM)] += c;
					if (m == KVMCMO_MEMSLOT_RO)
						n[N(RO)] += c;
					if (o == KVMCMO_OUTCOME_SKIP)
						n[N(SKIP)] += c;
					if (o == KVMCMO_OUTCOME_NISV || o == KVMCMO_OUTCOME_MMIO_USER)
						n[N(EXITS)] += c;
					if (o == KVMCMO_OUTCOME_ERROR)
						n[N(ERRORS)] += c;
				}
	if (kind >= 0 && kind < TOP_NK)
		for (int m = 0; m < TOP_NM; m++)
			n[N(DFAULT)] += w->dfault[kind][m].count;
}

static void window(struct top_win *o, const struct top_vmstat *w, int kind)
{
	top_count_window(w, kind, o->n);
	memset(&o->lat, 0, sizeof(o->lat));
	for (int i = 0; i < TOP_NO; i++)
		kvmcmo_hist_merge(&o->lat, &w->lat[i]);
	o->p50 = kvmcmo_hist_quantile(&o->lat, 0.50);
	o->p99 = kvmcmo_hist_quantile(&o->lat, 0.99);
}

double top_row_value(const struct top_row *r, int col, bool totals, double dt)
{
	const struct top_win *w = totals ? &r->tot : &r->iv;

	switch (col) {
	case TOP_COL_PID:
		return r->pid;
	case TOP_COL_VCPUS:
		return r->vcpus;
	case TOP_COL_P50:
		return (double)w->p50;
	case TOP_COL_P99:
		return (double)w->p99;
	case TOP_COL_ERRORS:
		return (double)r->tot.n[N(ERRORS)];
	default:
		if (col < TOP_C0 || col >= TOP_C0 + TOP_NCOUNT)
			return 0;
		if (totals)
			return (double)w->n[col - TOP_C0];
		return dt > 0 ? (double)w->n[col - TOP_C0] / dt : 0;
	}
}

/* qsort has no context argument in C11 */
static const struct top_view_opts *g_sort;
static double g_dt;

static int cmp_rows(const void *a, const void *b)
{
	const struct top_row *x = a, *y = b;
	int c = g_sort->sort, r = 0;

	if (c == TOP_COL_NAME) {
		r = strcmp(x->name, y->name);
	} else {
		double vx = top_row_value(x, c, g_sort->totals, g_dt);
		double vy = top_row_value(y, c, g_sort->totals, g_dt);

		r = vx < vy ? -1 : vx > vy;
	}
	if (!g_sort->ascending)
		r = -r;
	/* ties: most aborts first, then by name, then by id: a stable screen */
	if (!r && c != TOP_COL_ABORTS) {
		double vx = top_row_value(x, TOP_COL_ABORTS, g_sort->totals, g_dt);
		double vy = top_row_value(y, TOP_COL_ABORTS, g_sort->totals, g_dt);

		r = vx > vy ? -1 : vx < vy;
	}
	if (!r)
		r = strcmp(x->name, y->name);
	if (!r)
		r = x->id < y->id ? -1 : x->id > y->id;
	return r;
}

static bool shown(const struct top_vmstat *v, const struct top_view_opts *o)
{
	if (o->hide_dead && !v->alive)
		return false;
	if (o->pid && v->pid != o->pid)
		return false;
	if (o->name_re && regexec(o->name_re, v->name, 0, NULL, 0))
		return false;
	return true;
}

static void add_win(struct top_win *t, const struct top_win *w)
{
	for (int i = 0; i < TOP_NCOUNT; i++)
		t->n[i] += w->n[i];
	kvmcmo_hist_merge(&t->lat, &w->lat);
}

int top_frame_build(struct top_frame *f, const struct top_sample *cur,
		    const struct top_sample *prev, const struct top_sample *base,
		    const struct top_view_opts *o)
{
	struct top_vmstat w;
	int err = 0;

	memset(f, 0, sizeof(*f));
	f->kind = o->kind;
	f->rows = calloc(cur->nvms + 1, sizeof(*f->rows));
	if (!f->rows)
		return -ENOMEM;
	if (prev && cur->taken_ns > prev->taken_ns)
		f->dt = (double)(cur->taken_ns - prev->taken_ns) / 1e9;
	if (base && cur->taken_ns > base->taken_ns)
		f->since = (double)(cur->taken_ns - base->taken_ns) / 1e9;
	for (int i = 0; i < KVMCMO_STAT__COUNT; i++)
		f->stats[i] = base && cur->stats[i] >= base->stats[i] ?
			      cur->stats[i] - base->stats[i] : cur->stats[i];
	f->nvms = cur->nvms;
	snprintf(f->total.name, sizeof(f->total.name), "TOTAL");

	for (size_t i = 0; i < cur->nvms; i++) {
		const struct top_vmstat *v = &cur->vms[i];
		struct top_row *r;

		f->nalive += v->alive;
		if (!shown(v, o))
			continue;
		r = &f->rows[f->nrows++];
		r->id = v->id;
		r->pid = v->pid;
		r->fd = v->fd;
		r->alive = v->alive;
		memcpy(r->name, v->name, sizeof(r->name));

		err = top_vmstat_diff(&w, v, prev ? top_sample_find(prev, v->id) : NULL);
		if (err)
			break;
		window(&r->iv, &w, o->kind);
		top_vmstat_free(&w);
		err = top_vmstat_diff(&w, v, base ? top_sample_find(base, v->id) : NULL);
		if (err)
			break;
		window(&r->tot, &w, o->kind);
		r->vcpus = w.nvcpus;    /* vCPUs with aborts in the window since start */
		top_vmstat_free(&w);

		f->total.vcpus += r->vcpus;
		add_win(&f->total.iv, &r->iv);
		add_win(&f->total.tot, &r->tot);
	}
	if (err) {
		top_frame_free(f);
		return err;
	}
	f->total.alive = true;
	f->total.iv.p50 = kvmcmo_hist_quantile(&f->total.iv.lat, 0.50);
	f->total.iv.p99 = kvmcmo_hist_quantile(&f->total.iv.lat, 0.99);
	f->total.tot.p50 = kvmcmo_hist_quantile(&f->total.tot.lat, 0.50);
	f->total.tot.p99 = kvmcmo_hist_quantile(&f->total.tot.lat, 0.99);

	g_sort = o;
	g_dt = f->dt;
	qsort(f->rows, f->nrows, sizeof(*f->rows), cmp_rows);
	g_sort = NULL;
	return 0;
}

void top_frame_free(struct top_frame *f)
{
	free(f->rows);
	memset(f, 0, sizeof(*f));
}
