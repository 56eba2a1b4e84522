// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * failon.c - `kvmcmo diff --fail-on EXPR`: thresholds for CI.
 *
 *   EXPR      := METRIC [ "@" VM ] ":" CONDITION
 *   METRIC    := [ "aborts" ] { "." TERM }     guest aborts, all or a subset
 *              | "double_faults" { "." TERM }  (kind and memslot terms)
 *              | "dabt" [ "." SOURCE ]         data aborts injected
 *              | "latency" [ "." OUTCOME ] "." ( "p50" | "p99" | "mean" )
 *   TERM      := LABEL | DIM "=" LABEL         DIM: kind fault memslot outcome
 *   CONDITION := ( "+" | "-" ) NUMBER [ "%" ]  a significant rise / fall of
 *                                              the per-sample value, by more
 *                                              than NUMBER (percent)
 *              | ( ">" | ">=" | "<" | "<=" ) NUMBER   the NEW value alone
 *
 * A bare label must name one dimension: "access_flag" and "other" are both
 * a fault and an outcome, so they need "fault=" or "outcome=".  Counts are
 * per run (or per second: see --per) averaged over samples; latency values
 * are those of the pooled histogram of each side, in ns.  A change
 * condition also needs the change to be significant at the diff's
 * corrected level, so noise never fails a build; a level condition does
 * not ("double_faults:>0" fails on a single double fault).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"

enum fo_what { FO_ABORTS, FO_DFAULT, FO_DABT, FO_LATENCY };
enum fo_stat { FO_P50, FO_P99, FO_MEAN };
enum fo_op { FO_REL_UP, FO_REL_DOWN, FO_ABS_UP, FO_ABS_DOWN, FO_GT, FO_GE, FO_LT, FO_LE };
enum { DIM_KIND, DIM_FAULT, DIM_MEMSLOT, DIM_OUTCOME, DIM__COUNT };

struct failon {
	char *text;
	char *vm;                       /* NULL: every VM */
	enum fo_what what;
	int sel[DIM__COUNT];            /* -1: any */
	int src;                        /* dabt source, -1: both */
	enum fo_stat stat;
	enum fo_op op;
	double value;
};

static const struct {
	const char *name;
	const char *const *labels;
	int n;
} dims[DIM__COUNT] = {
	{ "kind", kvmcmo_kind_label, KVMCMO_KIND__COUNT },
	{ "fault", kvmcmo_fault_label, KVMCMO_FAULT__COUNT },
	{ "memslot", kvmcmo_memslot_label, KVMCMO_MEMSLOT__COUNT },
	{ "outcome", kvmcmo_outcome_label, KVMCMO_OUTCOME__COUNT },
};

const char *failon_text(const struct failon *f)
{
	return f->text;
}

void failon_free(struct failon *f)
{
	if (!f)
		return;
	free(f->text);
	free(f->vm);
	free(f);
}

static const char *an(const char *word)
{
	return strchr("aeiou", word[0]) ? "n" : "";
}

/* one TERM; allowed: bit mask of the dimensions this metric takes */
static int parse_term(struct failon *f, char *t, unsigned int allowed, char *err, size_t len)
{
	char *eq = strchr(t, '=');
	int dim = -1, idx = -1, hits = 0;

	if (eq) {
		*eq = 0;
		for (int d = 0; d < DIM__COUNT; d++)
			if (!strcmp(t, dims[d].name))
				dim = d;
		if (dim < 0 || !(allowed & (1U << dim))) {
			snprintf(err, len, "'%s' is not a dimension here", t);
			return -1;
		}
		idx = kvmcmo_label_index(dims[dim].labels, dims[dim].n, eq + 1);
		if (idx < 0) {
			snprintf(err, len, "unknown %s '%s'", dims[dim].name, eq + 1);
			return -1;
		}
	} else {
		for (int d = 0; d < DIM__COUNT; d++) {
			int i = kvmcmo_label_index(dims[d].labels, dims[d].n, t);

			if (i < 0 || !(allowed & (1U << d)))
				continue;
			if (hits++) {
				snprintf(err, len, "'%s' is both a%s %s and a%s %s: write %s=%s or "
					 "%s=%s", t, an(dims[dim].name), dims[dim].name,
					 an(dims[d].name), dims[d].name, dims[dim].name, t,
					 dims[d].name, t);
				return -1;
			}
			dim = d;
			idx = i;
		}
		if (dim < 0) {
			snprintf(err, len, "unknown label '%s'", t);
			return -1;
		}
	}
	if (f->sel[dim] >= 0) {
		snprintf(err, len, "two %s labels", dims[dim].name);
		return -1;
	}
	f->sel[dim] = idx;
	return 0;
}

static int parse_number(const char *s, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	return errno || end == s || *end || !isfinite(*v) || *v < 0 ? -1 : 0;
}

static int parse_cond(struct failon *f, char *c, char *err, size_t len)
{
	size_t n = strlen(c);
	bool pct = n && c[n - 1] == '%';

	if (pct)
		c[--n] = 0;
	if (c[0] == '+' || c[0] == '-') {
		f->op = c[0] == '+' ? (pct ? FO_REL_UP : FO_ABS_UP) : (pct ? FO_REL_DOWN : FO_ABS_DOWN);
		c++;
	} else if (!pct && (c[0] == '>' || c[0] == '<')) {
		bool eq = c[1] == '=';

		f->op = c[0] == '>' ? (eq ? FO_GE : FO_GT) : (eq ? FO_LE : FO_LT);
		c += eq ? 2 : 1;
	} else {
		snprintf(err, len, "the condition must be +N%%, -N%%, +N, -N, >N, >=N, <N or <=N");
		return -1;
	}
	if (parse_number(c, &f->value)) {
		snprintf(err, len, "'%s' is not a non-negative number", c);
		return -1;
	}
	return 0;
}

struct failon *failon_parse(const char *text, char *err, size_t len)
{
	struct failon *f = calloc(1, sizeof(*f));
	char *s = strdup(text), *colon, *at, *tok, *save = NULL;
	unsigned int allowed = (1U << DIM__COUNT) - 1;
	bool first = true, stat_seen = false;

	if (!f || !s) {
		snprintf(err, len, "out of memory");
		goto fail;
	}
	f->text = strdup(text);
	if (!f->text) {
		snprintf(err, len, "out of memory");
		goto fail;
	}
	for (int d = 0; d < DIM__COUNT; d++)
		f->sel[d] = -1;
	f->src = -1;
	colon = strrchr(s, ':');
	if (!colon) {
		snprintf(err, len, "expected METRIC:CONDITION");
		goto fail;
	}
	*colon = 0;
	if (parse_cond(f, colon + 1, err, len))
		goto fail;
	at = strchr(s, '@');
	if (at) {
		*at = 0;
		if (!at[1]) {
			snprintf(err, len, "empty VM name after '@'");
			goto fail;
		}
		f->vm = strdup(at + 1);
		if (!f->vm) {
			snprintf(err, len, "out of memory");
			goto fail;
		}
	}
	if (!*s) {
		snprintf(err, len, "empty metric");
		goto fail;
	}
	for (tok = strtok_r(s, ".", &save); tok; tok = strtok_r(NULL, ".", &save), first = false) {
		if (first && !strcmp(tok, "aborts")) {
			f->what = FO_ABORTS;
			continue;
		}
		if (first && !strcmp(tok, "double_faults")) {
			f->what = FO_DFAULT;
			allowed = 1U << DIM_KIND | 1U << DIM_MEMSLOT;
			continue;
		}
		if (first && !strcmp(tok, "dabt")) {
			f->what = FO_DABT;
			allowed = 0;
			continue;
		}
		if (first && !strcmp(tok, "latency")) {
			f->what = FO_LATENCY;
			allowed = 1U << DIM_OUTCOME;
			continue;
		}
		if (stat_seen) {
			snprintf(err, len, "nothing may follow p50, p99 or mean");
			goto fail;
		}
		if (f->what == FO_DABT) {
			if (f->src >= 0) {
				snprintf(err, len, "dabt takes one source");
				goto fail;
			}
			f->src = kvmcmo_label_index(kvmcmo_dabt_label, KVMCMO_DABT__COUNT, tok);
			if (f->src < 0) {
				snprintf(err, len, "dabt takes one of: abort, userspace");
				goto fail;
			}
			continue;
		}
		if (f->what == FO_LATENCY && (!strcmp(tok, "p50") || !strcmp(tok, "p99") ||
					      !strcmp(tok, "mean"))) {
			f->stat = tok[0] == 'm' ? FO_MEAN : tok[1] == '5' ? FO_P50 : FO_P99;
			stat_seen = true;
			continue;
		}
		if (parse_term(f, tok, allowed, err, len))
			goto fail;
	}
	if (f->what == FO_LATENCY && !stat_seen) {
		snprintf(err, len, "latency needs .p50, .p99 or .mean at the end");
		goto fail;
	}
	free(s);
	return f;
fail:
	free(s);
	failon_free(f);
	return NULL;
}

/* ---- evaluation ---------------------------------------------------------------- */

static bool class_matches(const struct failon *f, int cls)
{
	int l[DIM__COUNT];

	rec_class_split(cls, &l[DIM_KIND], &l[DIM_FAULT], &l[DIM_MEMSLOT], &l[DIM_OUTCOME]);
	for (int d = 0; d < DIM__COUNT; d++)
		if (f->sel[d] >= 0 && f->sel[d] != l[d])
			return false;
	return true;
}

/* a count metric of one VM in one sample */
static double count_value(const struct failon *f, const struct rec_vm *v)
{
	double sum = 0;

	if (!v)
		return 0;
	switch (f->what) {
	case FO_ABORTS:
		for (size_t i = 0; i < v->naborts; i++)
			if (class_matches(f, v->aborts[i].cls))
				sum += (double)v->aborts[i].count;
		break;
	case FO_DFAULT:
		for (size_t i = 0; i < v->ngaps; i++)
			if ((f->sel[DIM_KIND] < 0 || f->sel[DIM_KIND] == v->gaps[i].a) &&
			    (f->sel[DIM_MEMSLOT] < 0 || f->sel[DIM_MEMSLOT] == v->gaps[i].b))
				sum += (double)v->gaps[i].count;
		break;
	case FO_DABT:
		for (int s = 0; s < KVMCMO_DABT__COUNT; s++)
			if (f->src < 0 || f->src == s)
				sum += (double)v->dabt[s];
		break;
	case FO_LATENCY:
		break;
	}
	return sum;
}

/* one sample's latency histogram of the selected outcome(s) */
static void lat_hist(const struct failon *f, const struct rec_vm *v, struct kvmcmo_hist *h)
{
	memset(h, 0, sizeof(*h));
	for (size_t i = 0; v && i < v->nlat; i++)
		if (f->sel[DIM_OUTCOME] < 0 || f->sel[DIM_OUTCOME] == v->lat[i].a)
			kvmcmo_hist_merge(h, &v->lat[i].h);
}

static double lat_stat(const struct failon *f, const struct kvmcmo_hist *h)
{
	if (!h->count)
		return 0;
	switch (f->stat) {
	case FO_P50:
		return (double)kvmcmo_hist_quantile(h, 0.50);
	case FO_P99:
		return (double)kvmcmo_hist_quantile(h, 0.99);
	case FO_MEAN:
		break;
	}
	return (double)h->sum_ns / (double)h->count;
}

static bool crosses(const struct failon *f, double base, double new, bool significant)
{
	switch (f->op) {
	case FO_REL_UP:
		return significant && new > base * (1.0 + f->value / 100.0);
	case FO_REL_DOWN:
		return significant && new < base * (1.0 - f->value / 100.0);
	case FO_ABS_UP:
		return significant && new - base > f->value;
	case FO_ABS_DOWN:
		return significant && base - new > f->value;
	case FO_GT:
		return new > f->value;
	case FO_GE:
		return new >= f->value;
	case FO_LT:
		return new < f->value;
	case FO_LE:
		return new <= f->value;
	}
	return false;
}

/* the metric of one VM: normalized values of both sides and the test */
static int vm_metric(const struct failon *f, const struct diff *d, const struct diff_vm *vm,
		     double val[2], struct st_result *t)
{
	size_t n0 = d->side[0].n, n1 = d->side[1].n;
	double *x = calloc(n0 + n1 + 2, sizeof(double)), *e = calloc(n0 + n1 + 2, sizeof(double));
	struct kvmcmo_hist *h = calloc(n0 + n1 + 2, sizeof(*h)), pooled;
	const struct kvmcmo_hist **hp = calloc(n0 + n1 + 2, sizeof(*hp));

	if (!x || !e || !h || !hp) {
		free(x);
		free(e);
		free(h);
		free(hp);
		return -ENOMEM;
	}
	for (int s = 0; s < 2; s++) {
		size_t off = s ? n0 : 0, n = s ? n1 : n0;
		double tot = 0, etot = 0;

		memset(&pooled, 0, sizeof(pooled));
		for (size_t i = 0; i < n; i++) {
			const struct diff_sample *ds = &d->side[s].samples[i];

			if (f->what == FO_LATENCY) {
				lat_hist(f, vm->at[s][i], &h[off + i]);
				kvmcmo_hist_merge(&pooled, &h[off + i]);
				hp[off + i] = &h[off + i];
				continue;
			}
			x[off + i] = count_value(f, vm->at[s][i]);
			e[off + i] = d->per_run ? 1.0 : ds->seconds;
			tot += x[off + i];
			etot += e[off + i];
		}
		val[s] = f->what == FO_LATENCY ? lat_stat(f, &pooled) : tot / etot;
	}
	if (f->what == FO_LATENCY)
		st_hist_test(hp, n0, hp + n0, n1, t);
	else
		st_count_test(x, e, n0, x + n0, e + n0, n1, t);
	free(x);
	free(e);
	free(h);
	free(hp);
	return 0;
}

int failon_eval(struct failon *f, const struct diff *d, json_t *detail, char *err, size_t len)
{
	bool found = false;
	int n = 0;

	for (size_t i = 0; i < d->nvms; i++) {
		const struct diff_vm *vm = &d->vms[i];
		struct st_result t;
		double val[2], ch;
		bool sig;

		if (f->vm && strcmp(f->vm, vm->key))
			continue;
		found = true;
		if (vm_metric(f, d, vm, val, &t)) {
			snprintf(err, len, "out of memory");
			return -1;
		}
		sig = t.testable && t.p <= d->threshold;
		if (!crosses(f, val[0], val[1], sig))
			continue;
		n++;
		ch = val[0] ? val[1] / val[0] - 1.0 : (val[1] ? INFINITY : NAN);
		if (detail)
			json_array_append_new(detail, json_pack("{s:s, s:s, s:f, s:f, s:o, s:o, s:b}",
				"expr", f->text, "vm", vm->key, "base", val[0], "new", val[1],
				"change", isfinite(ch) ? json_real(ch) : json_null(),
				"p", t.testable ? json_real(t.p) : json_null(), "significant", sig));
	}
	if (f->vm && !found) {
		snprintf(err, len, "no VM '%s' in the recordings", f->vm);
		return -1;
	}
	return n;
}
