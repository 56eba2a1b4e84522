// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * diff.c - `kvmcmo diff`: compare two sets of recordings.
 *
 * VMs are matched by key (recfile.h: the name, "#N" when a name repeats in
 * a sample).  For each VM, every abort class (kind, fault, memslot,
 * outcome), data-abort injection source and double-fault class seen on
 * either side is a count row, and every latency outcome and double-fault
 * gap a histogram row (tested on its buckets and on its runs: stats.h).  Each row gets a test (stats.h) and the verdicts
 * are corrected for the number of rows (Tarone), so a diff of identical
 * workloads flags nothing but with probability <= alpha.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "cli.h"
#include "diff.h"

#define DIFF_ALPHA_DEFAULT 0.01
#define DIFF_MAX_FAILON 64

/* ---- loading ------------------------------------------------------------------ */

struct load_job {
	struct diff_side *s;
	char **paths;
	int n;
	int ret;                        /* 0 or a KVMCMO_EXIT_* code */
	char err[512];                  /* the one line to print */
};

static void *load_side(void *arg)
{
	struct load_job *j = arg;
	struct diff_side *s = j->s;
	size_t total = 0;

	j->ret = KVMCMO_EXIT_FAIL;
	snprintf(j->err, sizeof(j->err), "out of memory");
	s->files = calloc((size_t)j->n, sizeof(*s->files));
	if (!s->files)
		return NULL;
	s->all_command = true;
	for (int i = 0; i < j->n; i++) {
		int r = rec_load(j->paths[i], &s->files[i], j->err, sizeof(j->err));

		if (r) {
			j->ret = r == -ENOMEM ? KVMCMO_EXIT_FAIL : KVMCMO_EXIT_USAGE;
			return NULL;
		}
		s->nfiles++;
		total += s->files[i].nsamples;
		if (strcmp(s->files[i].mode, "command"))
			s->all_command = false;
	}
	s->samples = calloc(total + 1, sizeof(*s->samples));
	if (!s->samples)
		return NULL;
	for (size_t i = 0; i < s->nfiles; i++)
		for (size_t k = 0; k < s->files[i].nsamples; k++) {
			struct diff_sample *ds = &s->samples[s->n++];

			ds->s = &s->files[i].samples[k];
			ds->file = &s->files[i];
			ds->index = k;
			ds->seconds = (double)ds->s->duration_ns / 1e9;
		}
	j->ret = 0;
	return NULL;
}

/* the two sides are parsed at once: parsing is most of a big diff's time */
int diff_load(struct diff *d, char **base, int nbase, char **new, int nnew)
{
	struct load_job j[2] = { { &d->side[DIFF_BASE], base, nbase, 0, "" },
				 { &d->side[DIFF_NEW], new, nnew, 0, "" } };
	pthread_t t;
	bool threaded;

	memset(d, 0, sizeof(*d));
	json_object_seed(0);            /* jansson's hash seed, before any thread */
	threaded = !pthread_create(&t, NULL, load_side, &j[1]);
	load_side(&j[0]);
	if (threaded)
		pthread_join(t, NULL);
	else
		load_side(&j[1]);
	for (int s = 0; s < 2; s++)
		if (j[s].ret) {
			kvmcmo_err("%s", j[s].err);
			return j[s].ret;
		}
	return 0;
}

void diff_free(struct diff *d)
{
	for (int s = 0; s < 2; s++) {
		for (size_t i = 0; i < d->side[s].nfiles; i++)
			rec_free(&d->side[s].files[i]);
		free(d->side[s].files);
		free(d->side[s].samples);
	}
	for (size_t i = 0; i < d->nvms; i++) {
		free(d->vms[i].at[0]);
		free(d->vms[i].at[1]);
	}
	for (size_t i = 0; i < d->nrows; i++) {
		free(d->rows[i].h[0]);
		free(d->rows[i].h[1]);
	}
	free(d->vms);
	free(d->rows);
	memset(d, 0, sizeof(*d));
}

/* ---- matching VMs by key ---------------------------------------------------------- */

struct entry {
	const char *key;
	const struct rec_vm *vm;
	int side;
	size_t sample;
};

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	if (x->side != y->side)
		return x->side - y->side;
	return x->sample < y->sample ? -1 : x->sample > y->sample;
}

static int match_vms(struct diff *d)
{
	size_t n = 0, i, j;
	struct entry *e;

	for (int s = 0; s < 2; s++)
		for (i = 0; i < d->side[s].n; i++)
			n += d->side[s].samples[i].s->nvms;
	e = malloc((n + 1) * sizeof(*e));
	d->vms = calloc(n + 1, sizeof(*d->vms));
	if (!e || !d->vms) {
		free(e);
		return -ENOMEM;
	}
	n = 0;
	for (int s = 0; s < 2; s++)
		for (i = 0; i < d->side[s].n; i++) {
			const struct rec_sample *rs = d->side[s].samples[i].s;

			for (j = 0; j < rs->nvms; j++)
				e[n++] = (struct entry){ rs->vms[j].key, &rs->vms[j], s, i };
		}
	qsort(e, n, sizeof(*e), cmp_entry);
	for (i = 0; i < n; i = j) {
		struct diff_vm *v = &d->vms[d->nvms++];

		v->key = e[i].key;
		v->name = e[i].vm->name;
		v->at[0] = calloc(d->side[0].n + 1, sizeof(*v->at[0]));
		v->at[1] = calloc(d->side[1].n + 1, sizeof(*v->at[1]));
		if (!v->at[0] || !v->at[1]) {
			free(e);
			return -ENOMEM;
		}
		for (j = i; j < n && !strcmp(e[j].key, e[i].key); j++) {
			v->at[e[j].side][e[j].sample] = e[j].vm;
			v->present[e[j].side] = true;
		}
	}
	free(e);
	return 0;
}

/* ---- rows ------------------------------------------------------------------------ */

struct rows {
	struct diff_row *r;
	size_t n, cap;
};

static struct diff_row *row_add(struct rows *rs, size_t vm, enum diff_metric metric, int a, int b)
{
	struct diff_row *r;

	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? 2 * rs->cap : 1024;
		struct diff_row *nr = realloc(rs->r, cap * sizeof(*nr));

		if (!nr)
			return NULL;
		rs->r = nr;
		rs->cap = cap;
	}
	r = &rs->r[rs->n++];
	memset(r, 0, sizeof(*r));
	r->vm = vm;
	r->metric = metric;
	r->a = a;
	r->b = b;
	return r;
}

static __u64 vm_class_count(const struct rec_vm *v, int cls)
{
	size_t lo = 0, hi = v ? v->naborts : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v->aborts[mid].cls == cls)
			return v->aborts[mid].count;
		if (v->aborts[mid].cls < cls)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static const struct rec_hist *vm_hist(const struct rec_hist *h, size_t n, int a, int b)
{
	for (size_t i = 0; i < n; i++)
		if (h[i].a == a && h[i].b == b)
			return &h[i];
	return NULL;
}

static double rel_change(double base, double new)
{
	if (base == 0)
		return new == 0 ? NAN : INFINITY;
	return new / base - 1.0;
}

/*
 * A count row from per-sample values (one array per side, laid out like
 * d->side[s].samples): statistics and the test.
 */
static void count_row(const struct diff *d, struct diff_row *r, double *const v[2])
{
	double ex[2][d->side[0].n + d->side[1].n + 1], rate[d->side[0].n + d->side[1].n + 1];
	double tot[2] = {}, exp_tot[2] = {};

	for (int s = 0; s < 2; s++) {
		const struct diff_side *side = &d->side[s];

		for (size_t i = 0; i < side->n; i++) {
			ex[s][i] = d->per_run ? 1.0 : side->samples[i].seconds;
			rate[i] = v[s][i] / side->samples[i].seconds;
			tot[s] += v[s][i];
			exp_tot[s] += ex[s][i];
		}
		st_mean_sd(v[s], side->n, &r->s[s].mean, &r->s[s].sd);
		st_mean_sd(rate, side->n, &r->s[s].rate_mean, &r->s[s].rate_sd);
		r->s[s].total = tot[s];
	}
	r->change = rel_change(tot[0] / exp_tot[0], tot[1] / exp_tot[1]);
	st_count_test(v[0], ex[0], d->side[0].n, v[1], ex[1], d->side[1].n, &r->t);
}

/* pooled histogram statistics; per-sample averages for mean +- sd */
static int hist_row(const struct diff *d, struct diff_row *r,
		    const struct kvmcmo_hist *const *h[2])
{
	for (int s = 0; s < 2; s++) {
		const struct diff_side *side = &d->side[s];
		double avg[side->n + 1];
		size_t n = 0;

		r->h[s] = calloc(1, sizeof(*r->h[s]));
		if (!r->h[s])
			return -ENOMEM;
		for (size_t i = 0; i < side->n; i++) {
			if (!h[s][i] || !h[s][i]->count)
				continue;
			kvmcmo_hist_merge(r->h[s], h[s][i]);
			avg[n++] = (double)h[s][i]->sum_ns / (double)h[s][i]->count;
		}
		st_mean_sd(avg, n, &r->s[s].mean, &r->s[s].sd);
		r->s[s].total = (double)r->h[s]->count;
		if (r->h[s]->count) {
			r->s[s].avg = (double)r->h[s]->sum_ns / (double)r->h[s]->count;
			r->s[s].p50 = kvmcmo_hist_quantile(r->h[s], 0.50);
			r->s[s].p99 = kvmcmo_hist_quantile(r->h[s], 0.99);
		}
	}
	r->change = rel_change(r->s[0].avg, r->s[1].avg);
	st_hist_test(h[0], d->side[0].n, h[1], d->side[1].n, &r->t);
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* the sorted union of (a, b) pairs of a VM's histogram rows, as a * 64 + b */
static size_t hist_keys(const struct diff *d, const struct diff_vm *v, bool gaps, int *out)
{
	bool mark[64 * 64] = {};
	size_t m = 0;

	for (int s = 0; s < 2; s++)
		for (size_t i = 0; i < d->side[s].n; i++) {
			const struct rec_vm *rv = v->at[s][i];
			const struct rec_hist *h = rv ? (gaps ? rv->gaps : rv->lat) : NULL;
			size_t nh = rv ? (gaps ? rv->ngaps : rv->nlat) : 0;

			/* labels are < 64 (recfile.c checked them) */
			for (size_t j = 0; j < nh; j++)
				mark[h[j].a * 64 + h[j].b] = true;
		}
	for (int k = 0; k < 64 * 64; k++)
		if (mark[k])
			out[m++] = k;
	return m;
}

/* each sample's histogram (a, b) of a VM, gaps or latency, and its
 * "count" (the number of double faults for gaps) */
static void side_hists(const struct diff *d, const struct diff_vm *vm, bool gaps, int a, int b,
		       const struct kvmcmo_hist **hp[2], double *const v[2])
{
	for (int s = 0; s < 2; s++)
		for (size_t i = 0; i < d->side[s].n; i++) {
			const struct rec_vm *rv = vm->at[s][i];
			const struct rec_hist *h = !rv ? NULL : gaps ? vm_hist(rv->gaps, rv->ngaps, a, b)
							  : vm_hist(rv->lat, rv->nlat, a, b);

			v[s][i] = h ? (double)h->count : 0;
			hp[s][i] = h ? &h->h : NULL;
		}
}

static int vm_rows(struct diff *d, size_t vi, struct rows *rs, unsigned int *seen,
		   int *classes, double *const v[2])
{
	struct diff_vm *vm = &d->vms[vi];
	const struct kvmcmo_hist **hp[2];
	size_t nc = 0, nk;
	int err = 0;

	vm->first_row = rs->n;
	hp[0] = calloc(d->side[0].n + 1, sizeof(*hp[0]));
	hp[1] = calloc(d->side[1].n + 1, sizeof(*hp[1]));
	if (!hp[0] || !hp[1]) {
		err = -ENOMEM;
		goto out;
	}

	/* abort classes seen on either side (seen[] holds the VM's stamp) */
	for (int s = 0; s < 2; s++)
		for (size_t i = 0; i < d->side[s].n; i++) {
			const struct rec_vm *rv = vm->at[s][i];

			for (size_t j = 0; rv && j < rv->naborts; j++) {
				int c = rv->aborts[j].cls;

				if (seen[c] != vi + 1 && rv->aborts[j].count) {
					seen[c] = vi + 1;
					classes[nc++] = c;
				}
			}
		}
	qsort(classes, nc, sizeof(*classes), cmp_int);
	for (size_t k = 0; k < nc; k++) {
		struct diff_row *r = row_add(rs, vi, DM_ABORTS, classes[k], 0);

		if (!r) {
			err = -ENOMEM;
			goto out;
		}
		for (int s = 0; s < 2; s++)
			for (size_t i = 0; i < d->side[s].n; i++)
				v[s][i] = (double)vm_class_count(vm->at[s][i], classes[k]);
		count_row(d, r, v);
	}

	/* data aborts injected, by source */
	for (int src = 0; src < KVMCMO_DABT__COUNT; src++) {
		bool any = false;
		struct diff_row *r;

		for (int s = 0; s < 2; s++)
			for (size_t i = 0; i < d->side[s].n; i++) {
				v[s][i] = vm->at[s][i] ? (double)vm->at[s][i]->dabt[src] : 0;
				any |= v[s][i] > 0;
			}
		if (!any)
			continue;
		r = row_add(rs, vi, DM_DABT, src, 0);
		if (!r) {
			err = -ENOMEM;
			goto out;
		}
		count_row(d, r, v);
	}

	/* double faults: how many (a count row), and their gaps (a histogram row) */
	nk = hist_keys(d, vm, true, classes);
	for (size_t k = 0; k < nk; k++) {
		int a = classes[k] / 64, b = classes[k] % 64;
		struct diff_row *r = row_add(rs, vi, DM_DFAULT, a, b);

		if (!r) {
			err = -ENOMEM;
			goto out;
		}
		side_hists(d, vm, true, a, b, hp, v);
		count_row(d, r, v);
		r = row_add(rs, vi, DM_GAP, a, b);
		if (!r) {
			err = -ENOMEM;
			goto out;
		}
		err = hist_row(d, r, (const struct kvmcmo_hist *const *[2]){ hp[0], hp[1] });
		if (err)
			goto out;
	}

	/* time in the handler, by outcome */
	nk = hist_keys(d, vm, false, classes);
	for (size_t k = 0; k < nk; k++) {
		int a = classes[k] / 64;
		struct diff_row *r = row_add(rs, vi, DM_LATENCY, a, 0);

		if (!r) {
			err = -ENOMEM;
			goto out;
		}
		side_hists(d, vm, false, a, 0, hp, v);
		err = hist_row(d, r, (const struct kvmcmo_hist *const *[2]){ hp[0], hp[1] });
		if (err)
			goto out;
	}
out:
	vm->nrows = rs->n - vm->first_row;
	free(hp[0]);
	free(hp[1]);
	return err;
}

static void decide(struct diff *d)
{
	double *pm = malloc((d->nrows + 1) * sizeof(*pm));
	size_t m = 0;

	for (size_t i = 0; i < d->nrows; i++)
		if (d->rows[i].t.testable && pm)
			pm[m++] = d->rows[i].t.p_min;
	d->tested = m;
	d->family = pm ? st_tarone(pm, m, d->o.alpha, &d->testable) : (m ? m : 1);
	if (!pm)
		d->testable = m;
	free(pm);
	d->threshold = d->o.alpha / (double)d->family;
	for (size_t i = 0; i < d->nrows; i++) {
		struct diff_row *r = &d->rows[i];

		if (!r->t.testable) {
			r->verdict = DV_UNTESTED;
			continue;
		}
		if (r->t.p > d->threshold) {
			r->verdict = DV_SAME;
			continue;
		}
		if (r->metric == DM_LATENCY || r->metric == DM_GAP)
			r->verdict = DV_SHAPE;
		else
			r->verdict = r->change > 0 ? DV_UP : DV_DOWN;
		d->vms[r->vm].flagged++;
		d->flagged++;
	}
}

int diff_compute(struct diff *d, const struct diff_opts *o)
{
	size_t nmax = d->side[0].n > d->side[1].n ? d->side[0].n : d->side[1].n;
	unsigned int *seen = calloc(REC_NCLASS, sizeof(*seen));
	int *classes = malloc(4 * REC_NCLASS * sizeof(*classes));
	double *v[2] = { calloc(nmax + 1, sizeof(double)), calloc(nmax + 1, sizeof(double)) };
	struct rows rs = {};
	int err = 0;

	d->o = *o;
	d->per_run = o->per == DIFF_PER_RUN ||
		     (o->per == DIFF_PER_AUTO && d->side[0].all_command && d->side[1].all_command);
	if (!seen || !classes || !v[0] || !v[1])
		err = -ENOMEM;
	if (!err)
		err = match_vms(d);
	for (size_t i = 0; !err && i < d->nvms; i++)
		err = vm_rows(d, i, &rs, seen, classes, v);
	d->rows = rs.r;
	d->nrows = rs.n;
	if (!err)
		decide(d);
	free(seen);
	free(classes);
	free(v[0]);
	free(v[1]);
	return err;
}

bool diff_row_is_hist(const struct diff_row *r)
{
	return r->metric == DM_LATENCY || r->metric == DM_GAP;
}

void diff_fmt_ns(double ns, const char *micro, char *buf, size_t len)
{
	if (ns >= 1e9)
		snprintf(buf, len, "%.3gs", ns / 1e9);
	else if (ns >= 1e6)
		snprintf(buf, len, "%.3gms", ns / 1e6);
	else if (ns >= 1e3)
		snprintf(buf, len, "%.3g%ss", ns / 1e3, micro);
	else
		snprintf(buf, len, "%.0fns", ns);
}

/* ---- names ------------------------------------------------------------------------ */

void diff_row_what(const struct diff_row *r, char *buf, size_t len)
{
	int k, f, m, o;

	switch (r->metric) {
	case DM_ABORTS:
		rec_class_split(r->a, &k, &f, &m, &o);
		snprintf(buf, len, "%s/%s/%s/%s", kvmcmo_kind_label[k], kvmcmo_fault_label[f],
			 kvmcmo_memslot_label[m], kvmcmo_outcome_label[o]);
		break;
	case DM_DABT:
		snprintf(buf, len, "dabt injected (%s)", kvmcmo_dabt_label[r->a]);
		break;
	case DM_DFAULT:
		snprintf(buf, len, "double faults %s/%s", kvmcmo_kind_label[r->a],
			 kvmcmo_memslot_label[r->b]);
		break;
	case DM_GAP:
		snprintf(buf, len, "double-fault gap %s/%s", kvmcmo_kind_label[r->a],
			 kvmcmo_memslot_label[r->b]);
		break;
	case DM_LATENCY:
		snprintf(buf, len, "latency %s", kvmcmo_outcome_label[r->a]);
		break;
	}
}

const char *diff_verdict_name(enum diff_verdict v)
{
	switch (v) {
	case DV_SAME: return "same";
	case DV_UP: return "UP";
	case DV_DOWN: return "DOWN";
	case DV_SHAPE: return "CHANGED";
	case DV_UNTESTED: return "n/a";
	}
	return "?";
}

/* ---- the command --------------------------------------------------------------------- */

static struct diff_env {
	bool json, changed;
	const char *html;
	double alpha;
	int per;
	const char *failon[DIFF_MAX_FAILON];
	int nfailon;
	char **files;
	int nfiles;
} denv = { .alpha = DIFF_ALPHA_DEFAULT };

static const char ddoc[] =
	"Compare kvmcmo recordings: what changed per VM and row, and is it significant.\n"
	"\n"
	"USAGE: kvmcmo diff [OPTION...] BASE.json NEW.json\n"
	"       kvmcmo diff [OPTION...] BASE.json... -- NEW.json...\n"
	"\n"
	"EXAMPLES:\n"
	"    kvmcmo diff base.json new.json            # table; exit 1 if anything changed\n"
	"    kvmcmo diff --html report.html base.json new.json\n"
	"    kvmcmo diff --fail-on 'cmo.nisv:+10%' --fail-on 'double_faults:>0' b.json n.json\n"
	"    kvmcmo diff --fail-on 'latency.p99:+20%' --json b1.json b2.json -- n1.json\n"
	"\n"
	"--fail-on EXPR is METRIC[@VM]:CONDITION; METRIC: aborts[.LABEL...] (or just\n"
	"LABEL[.LABEL...]: kind, fault, memslot, outcome labels), double_faults[.LABEL...],\n"
	"dabt[.abort|.userspace], latency[.OUTCOME].p50|p99|mean; CONDITION: +N% -N% +N -N\n"
	"(significant changes of the per-sample mean) or >N >=N <N <=N (the new value).\n"
	"Exit status: 0 nothing crossed, 1 a threshold crossed (without --fail-on: a row\n"
	"changed significantly), 2 bad usage or bad input.";

enum { OPT_ALPHA = 0x100, OPT_PER, OPT_FAILON, OPT_HTML, OPT_CHANGED };

static const struct argp_option dopts[] = {
	{ "json", 'j', NULL, 0, "Print the comparison as JSON", 0 },
	{ "html", OPT_HTML, "FILE", 0, "Also write a self-contained HTML report to FILE", 0 },
	{ "fail-on", OPT_FAILON, "EXPR", 0, "Exit 1 when EXPR crosses (repeatable)", 0 },
	{ "alpha", OPT_ALPHA, "A", 0, "Family-wise error rate (default 0.01)", 0 },
	{ "per", OPT_PER, "UNIT", 0, "Normalize counts per 'run' or per 'second' (default: per"
	  " run when both sides recorded commands)", 0 },
	{ "changed", OPT_CHANGED, NULL, 0, "Text: only rows that changed significantly", 0 },
	{},
};

static error_t dparse_arg(int key, char *arg, struct argp_state *state)
{
	char *end;

	(void)state;
	switch (key) {
	case 'j':
		denv.json = true;
		break;
	case OPT_HTML:
		if (!*arg) {
			kvmcmo_usage_err("empty --html file name");
			return EINVAL;
		}
		denv.html = arg;
		break;
	case OPT_FAILON:
		if (denv.nfailon >= DIFF_MAX_FAILON) {
			kvmcmo_usage_err("at most %d --fail-on expressions", DIFF_MAX_FAILON);
			return EINVAL;
		}
		denv.failon[denv.nfailon++] = arg;
		break;
	case OPT_ALPHA:
		errno = 0;
		denv.alpha = strtod(arg, &end);
		if (errno || end == arg || *end || !(denv.alpha > 0 && denv.alpha < 1)) {
			kvmcmo_usage_err("invalid --alpha '%s' (between 0 and 1)", arg);
			return EINVAL;
		}
		break;
	case OPT_PER:
		if (!strcmp(arg, "run")) {
			denv.per = DIFF_PER_RUN;
		} else if (!strcmp(arg, "second")) {
			denv.per = DIFF_PER_SECOND;
		} else {
			kvmcmo_usage_err("invalid --per '%s' (run or second)", arg);
			return EINVAL;
		}
		break;
	case OPT_CHANGED:
		denv.changed = true;
		break;
	case ARGP_KEY_ARG:
		denv.files[denv.nfiles++] = arg;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* "a.json,b.json" -> its parts, in place */
static int split_list(char *s, char **out, int max)
{
	int n = 0;

	for (char *p = strtok(s, ","); p; p = strtok(NULL, ","))
		if (n < max)
			out[n++] = p;
	return n;
}

int cmd_diff(int argc, char **argv)
{
	static const struct argp argp = { dopts, dparse_arg, "BASE.json NEW.json", ddoc,
					  NULL, NULL, NULL };
	struct failon *fo[DIFF_MAX_FAILON] = {};
	char **base = NULL, **new = NULL, **files = NULL;
	int nbase = 0, nnew = 0, nargs = argc, sep = -1, err, ret = KVMCMO_EXIT_FAIL;
	json_t *failures = NULL;
	struct diff d = {};
	size_t crossed = 0;

	kvmcmo_log_init("kvmcmo diff");
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			nargs = i;
			sep = i;
			break;
		}
	files = calloc((size_t)argc + 1, sizeof(*files));
	base = calloc((size_t)argc * 4 + 1, sizeof(*base));
	new = calloc((size_t)argc * 4 + 1, sizeof(*new));
	if (!files || !base || !new) {
		kvmcmo_err("out of memory");
		goto out;
	}
	denv.files = files;
	err = kvmcmo_argp_parse(&argp, nargs, argv, NULL);
	if (err) {
		ret = err == KVMCMO_ARGP_HELP ? 0 : err;
		goto out;
	}
	if (sep >= 0) {
		for (int i = 0; i < denv.nfiles; i++)
			base[nbase++] = denv.files[i];
		for (int i = sep + 1; i < argc; i++)
			new[nnew++] = argv[i];
		if (!nbase || !nnew) {
			kvmcmo_usage_err("need recordings on both sides of '--'");
			ret = KVMCMO_EXIT_USAGE;
			goto out;
		}
	} else {
		if (denv.nfiles != 2) {
			kvmcmo_usage_err(denv.nfiles < 2 ? "need two recordings: BASE.json NEW.json"
				 : "more than two recordings: separate BASE... and NEW... with '--'");
			ret = KVMCMO_EXIT_USAGE;
			goto out;
		}
		nbase = split_list(denv.files[0], base, argc * 4);
		nnew = split_list(denv.files[1], new, argc * 4);
		if (!nbase || !nnew) {
			kvmcmo_usage_err("empty list of recordings");
			ret = KVMCMO_EXIT_USAGE;
			goto out;
		}
	}
	for (int i = 0; i < denv.nfailon; i++) {
		char msg[256];

		fo[i] = failon_parse(denv.failon[i], msg, sizeof(msg));
		if (!fo[i]) {
			kvmcmo_usage_err("--fail-on '%s': %s", denv.failon[i], msg);
			ret = KVMCMO_EXIT_USAGE;
			goto out;
		}
	}

	err = diff_load(&d, base, nbase, new, nnew);
	if (err) {
		ret = err;
		goto out;
	}
	err = diff_compute(&d, &(struct diff_opts){ .alpha = denv.alpha, .per = denv.per });
	if (err) {
		kvmcmo_err("out of memory");
		goto out;
	}
	failures = json_array();
	for (int i = 0; i < denv.nfailon; i++) {
		char msg[256];
		int n = failon_eval(fo[i], &d, failures, msg, sizeof(msg));

		if (n < 0) {
			kvmcmo_usage_err("--fail-on '%s': %s", denv.failon[i], msg);
			ret = KVMCMO_EXIT_USAGE;
			goto out;
		}
		crossed += (size_t)n;
	}
	ret = denv.nfailon ? (crossed ? 1 : 0) : (d.flagged ? 1 : 0);

	if (denv.json) {
		json_t *j = diff_json(&d, failures);

		if (!j || json_dumpf(j, stdout, JSON_INDENT(1)) || puts("") == EOF) {
			kvmcmo_err("failed to print JSON");
			json_decref(j);
			ret = KVMCMO_EXIT_FAIL;
			goto out;
		}
		json_decref(j);
	} else {
		diff_print_text(stdout, &d, denv.changed, failures);
	}
	if (denv.html && diff_write_html(denv.html, &d, failures, ret))
		ret = KVMCMO_EXIT_USAGE;
	fflush(stdout);
out:
	for (int i = 0; i < denv.nfailon; i++)
		failon_free(fo[i]);
	json_decref(failures);
	diff_free(&d);
	free(files);
	free(base);
	free(new);
	return ret;
}
