// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * diffout.c - `kvmcmo diff` as a text table (default) and as JSON (--json).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"



/* perf stat's "value ( +- x% )" */
static void fmt_value(const struct diff_row *r, int s, char *buf, size_t len)
{
	const struct diff_stat *st = &r->s[s];
	char v[32], sd[24] = "";

	if (diff_row_is_hist(r)) {
		if (!st->total) {
			snprintf(buf, len, "-");
			return;
		}
		diff_fmt_ns(st->avg, "u", v, sizeof(v));
	} else {
		snprintf(v, sizeof(v), "%.2f", st->mean);
	}
	if (st->mean > 0 && st->sd > 0)
		snprintf(sd, sizeof(sd), " (+- %.1f%%)", 100.0 * st->sd / st->mean);
	snprintf(buf, len, "%s%s", v, sd);
}

static void fmt_change(double c, char *buf, size_t len)
{
	if (isnan(c))
		snprintf(buf, len, "-");
	else if (isinf(c))
		snprintf(buf, len, "new");
	else
		snprintf(buf, len, "%+.1f%%", 100.0 * c);
}

static void fmt_p(const struct diff_row *r, char *buf, size_t len)
{
	if (!r->t.testable)
		snprintf(buf, len, "-");
	else if (r->t.p >= 0.001)
		snprintf(buf, len, "%.3f", r->t.p);
	else
		snprintf(buf, len, "%.1e", r->t.p);
}

static void side_summary(FILE *out, const char *label, const struct diff_side *s)
{
	fprintf(out, "%-4s", label);
	for (size_t i = 0; i < s->nfiles; i++) {
		const struct rec_file *f = &s->files[i];

		fprintf(out, "%s %s (%zu sample%s; kernel %s, kvmcmo %s, %s, host %s%s%s)\n",
			i ? "    " : "", f->path, f->nsamples, f->nsamples == 1 ? "" : "s",
			f->kernel_release, f->tool_version, f->attach, f->hostname,
			f->start ? ", " : "", f->start ? f->start : "");
	}
}

/* what a reader should know before trusting the table */
static void notes(FILE *out, const struct diff *d)
{
	const struct rec_file *b = &d->side[0].files[0], *n = &d->side[1].files[0];

	if (strcmp(b->kernel_release, n->kernel_release))
		fprintf(out, "note: different kernels: %s -> %s\n", b->kernel_release,
			n->kernel_release);
	if (strcmp(b->attach, n->attach))
		fprintf(out, "note: different attach modes: %s -> %s\n", b->attach, n->attach);
	for (int s = 0; s < 2; s++) {
		if (d->side[s].n < 2)
			fprintf(out, "note: one %s sample: run-to-run noise cannot be measured "
				"(record with -r 3 or more)\n", s ? "new" : "base");
		for (size_t i = 0; i < d->side[s].n; i++) {
			const struct diff_sample *ds = &d->side[s].samples[i];

			for (int k = 0; k < KVMCMO_STAT__COUNT; k++)
				if (ds->s->stats[k])
					fprintf(out, "warning: %s sample %zu: %s = %llu: counts are "
						"incomplete\n", ds->file->path, ds->index + 1,
						kvmcmo_stat_label[k],
						(unsigned long long)ds->s->stats[k]);
		}
	}
}

static void print_failures(FILE *out, json_t *failures)
{
	size_t i;
	json_t *f;

	json_array_foreach(failures, i, f) {
		json_t *ch = json_object_get(f, "change"), *p = json_object_get(f, "p");

		fprintf(out, "FAIL --fail-on %s: VM %s: %.4g -> %.4g", json_string_value(
			json_object_get(f, "expr")), json_string_value(json_object_get(f, "vm")),
			json_real_value(json_object_get(f, "base")),
			json_real_value(json_object_get(f, "new")));
		if (json_is_real(ch))
			fprintf(out, " (%+.1f%%", 100.0 * json_real_value(ch));
		else
			fprintf(out, " (new");
		if (json_is_real(p))
			fprintf(out, ", p %.2g)\n", json_real_value(p));
		else
			fprintf(out, ")\n");
	}
}

void diff_print_text(FILE *out, const struct diff *d, bool changed_only, json_t *failures)
{
	fprintf(out, "kvmcmo diff\n");
	side_summary(out, "base", &d->side[0]);
	side_summary(out, "new", &d->side[1]);
	fprintf(out, "Counts are per %s (mean of %zu base and %zu new samples, +- the sample\n"
		"standard deviation); latency is the average time in the handler.\n"
		"Tests: exact Poisson (counts); histograms: chi-square over log2 buckets and a\n"
		"rank test of the runs, both must reject;\n"
		"%zu of %zu tests could reach significance; family-wise alpha %g -> p <= %.3g.\n",
		d->per_run ? "run of the recorded command" : "sample", d->side[0].n, d->side[1].n,
		d->testable, d->tested, d->o.alpha, d->threshold);
	notes(out, d);

	for (size_t v = 0; v < d->nvms; v++) {
		const struct diff_vm *vm = &d->vms[v];
		double tot[2] = {};

		if (changed_only && !vm->flagged)
			continue;
		for (size_t i = vm->first_row; i < vm->first_row + vm->nrows; i++)
			if (d->rows[i].metric == DM_ABORTS)
				for (int s = 0; s < 2; s++)
					tot[s] += d->rows[i].s[s].mean;
		fprintf(out, "\nVM %s: %.2f -> %.2f aborts per %s%s%s\n", vm->key, tot[0], tot[1],
			d->per_run ? "run" : "sample",
			!vm->present[1] ? " (only in base)" : !vm->present[0] ? " (only in new)" : "",
			vm->flagged ? "" : ", no significant change");
		if (!vm->nrows)
			continue;
		fprintf(out, "  %-34s %20s %20s %10s %10s %8s %8s  %s\n", "WHAT", "BASE", "NEW",
			"BASE/s", "NEW/s", "CHANGE", "P", "VERDICT");
		for (size_t i = vm->first_row; i < vm->first_row + vm->nrows; i++) {
			const struct diff_row *r = &d->rows[i];
			char what[64], b[40], n[40], c[16], p[16], rb[16] = "", rn[16] = "";

			if (changed_only && (r->verdict == DV_SAME || r->verdict == DV_UNTESTED))
				continue;
			diff_row_what(r, what, sizeof(what));
			fmt_value(r, 0, b, sizeof(b));
			fmt_value(r, 1, n, sizeof(n));
			fmt_change(r->change, c, sizeof(c));
			fmt_p(r, p, sizeof(p));
			if (!diff_row_is_hist(r)) {
				snprintf(rb, sizeof(rb), "%.4g", r->s[0].rate_mean);
				snprintf(rn, sizeof(rn), "%.4g", r->s[1].rate_mean);
			}
			fprintf(out, "  %-34s %20s %20s %10s %10s %8s %8s  %s\n", what, b, n, rb, rn,
				c, p, diff_verdict_name(r->verdict));
		}
	}
	fprintf(out, "\n");
	print_failures(out, failures);
	fprintf(out, "%zu of %zu rows changed significantly", d->flagged, d->nrows);
	if (json_array_size(failures))
		fprintf(out, "; %zu --fail-on crossing%s", json_array_size(failures),
			json_array_size(failures) == 1 ? "" : "s");
	fprintf(out, "\n");
}

/* ---- JSON ------------------------------------------------------------------------ */

static json_t *jnum(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *hist_buckets(const struct kvmcmo_hist *h)
{
	json_t *a = json_array();

	for (int i = 0; a && h && i < KVMCMO_HIST_SLOTS; i++)
		if (h->slots[i])
			json_array_append_new(a, json_pack("{s:I, s:I}", "le",
				(json_int_t)(1ULL << (i + 1)), "count", (json_int_t)h->slots[i]));
	return a;
}

static json_t *side_json(const struct diff_row *r, int s)
{
	const struct diff_stat *st = &r->s[s];

	if (diff_row_is_hist(r))
		return json_pack("{s:o, s:o, s:I, s:I, s:o, s:o, s:o}",
				 "count", jnum(st->total), "avg_ns", jnum(st->avg),
				 "p50_ns", (json_int_t)st->p50, "p99_ns", (json_int_t)st->p99,
				 "sample_avg_mean_ns", jnum(st->mean), "sample_avg_sd_ns", jnum(st->sd),
				 "buckets", hist_buckets(r->h[s]));
	return json_pack("{s:o, s:o, s:o, s:o, s:o}", "mean", jnum(st->mean), "sd", jnum(st->sd),
			 "rate_mean", jnum(st->rate_mean), "rate_sd", jnum(st->rate_sd),
			 "total", jnum(st->total));
}

static json_t *row_json(const struct diff_row *r)
{
	static const char *const metric[] = {
		[DM_ABORTS] = "aborts", [DM_DABT] = "dabt_injections",
		[DM_DFAULT] = "double_faults", [DM_GAP] = "double_fault_gap_ns",
		[DM_LATENCY] = "latency_ns",
	};
	json_t *o = json_pack("{s:s}", "metric", metric[r->metric]);
	int k, f, m, oc;

	if (!o)
		return NULL;
	switch (r->metric) {
	case DM_ABORTS:
		rec_class_split(r->a, &k, &f, &m, &oc);
		json_object_set_new(o, "kind", json_string(kvmcmo_kind_label[k]));
		json_object_set_new(o, "fault", json_string(kvmcmo_fault_label[f]));
		json_object_set_new(o, "memslot", json_string(kvmcmo_memslot_label[m]));
		json_object_set_new(o, "outcome", json_string(kvmcmo_outcome_label[oc]));
		break;
	case DM_DABT:
		json_object_set_new(o, "source", json_string(kvmcmo_dabt_label[r->a]));
		break;
	case DM_DFAULT:
	case DM_GAP:
		json_object_set_new(o, "kind", json_string(kvmcmo_kind_label[r->a]));
		json_object_set_new(o, "memslot", json_string(kvmcmo_memslot_label[r->b]));
		break;
	case DM_LATENCY:
		json_object_set_new(o, "outcome", json_string(kvmcmo_outcome_label[r->a]));
		break;
	}
	json_object_set_new(o, "base", side_json(r, 0));
	json_object_set_new(o, "new", side_json(r, 1));
	json_object_set_new(o, "change", jnum(r->change));
	json_object_set_new(o, "new_row", json_boolean(isinf(r->change)));
	json_object_set_new(o, "p", r->t.testable ? jnum(r->t.p) : json_null());
	json_object_set_new(o, "p_min", r->t.testable ? jnum(r->t.p_min) : json_null());
	json_object_set_new(o, "dispersion", jnum(r->t.phi));
	if (diff_row_is_hist(r)) {
		json_object_set_new(o, "df", json_integer(r->t.df));
		json_object_set_new(o, "p_shape", r->t.testable ? jnum(r->t.p_shape) : json_null());
		json_object_set_new(o, "p_runs", r->t.testable ? jnum(r->t.p_runs) : json_null());
	}
	json_object_set_new(o, "verdict", json_string(diff_verdict_name(r->verdict)));
	json_object_set_new(o, "changed", json_boolean(r->verdict != DV_SAME &&
						       r->verdict != DV_UNTESTED));
	return o;
}

static json_t *files_json(const struct diff_side *s)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < s->nfiles; i++) {
		const struct rec_file *f = &s->files[i];

		json_array_append_new(a, json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s*, s:I}",
			"path", f->path, "schema", (json_int_t)f->schema,
			"tool_version", f->tool_version, "kernel_release", f->kernel_release,
			"hostname", f->hostname, "attach", f->attach, "mode", f->mode,
			"start", f->start, "samples", (json_int_t)f->nsamples));
	}
	return a;
}

json_t *diff_json(const struct diff *d, json_t *failures)
{
	json_t *root, *vms = json_array(), *fl = failures ? json_incref(failures) : json_array();

	for (size_t v = 0; vms && v < d->nvms; v++) {
		const struct diff_vm *vm = &d->vms[v];
		json_t *rows = json_array();

		for (size_t i = vm->first_row; rows && i < vm->first_row + vm->nrows; i++)
			json_array_append_new(rows, row_json(&d->rows[i]));
		double peak[2] = {};

		/* the highest per-interval abort rate of any sample (record -i) */
		for (int s = 0; s < 2; s++)
			for (size_t i = 0; i < d->side[s].n; i++)
				if (vm->at[s][i] && vm->at[s][i]->peak_per_s > peak[s])
					peak[s] = vm->at[s][i]->peak_per_s;
		json_array_append_new(vms, json_pack("{s:s, s:s, s:b, s:b, s:I, s:{s:f, s:f}, s:o}",
			"key", vm->key, "name", vm->name, "in_base", vm->present[0],
			"in_new", vm->present[1], "changed_rows", (json_int_t)vm->flagged,
			"peak_aborts_per_s", "base", peak[0], "new", peak[1], "rows", rows));
	}
	root = json_pack("{s:{s:o, s:I}, s:{s:o, s:I}, s:s, s:{s:s, s:s, s:s}, s:f, s:I,"
			 " s:I, s:I, s:f, s:I, s:I, s:o, s:o}",
		"base", "files", files_json(&d->side[0]), "samples", (json_int_t)d->side[0].n,
		"new", "files", files_json(&d->side[1]), "samples", (json_int_t)d->side[1].n,
		"per", d->per_run ? "run" : "second",
		"method", "counts", "exact conditional test of two Poisson rates, quasi-Poisson "
			"dispersion from the samples",
		"histograms", "chi-square homogeneity over log2 buckets (expected >= 5), "
			"F test against within-side heterogeneity; and a Mann-Whitney test of the "
			"runs' mean log2 bucket; p is the larger (intersection-union)",
		"correction", "Tarone's modified Bonferroni (family-wise)",
		"alpha", d->o.alpha, "family", (json_int_t)d->family,
		"testable", (json_int_t)d->testable, "tested", (json_int_t)d->tested,
		"threshold", d->threshold, "rows", (json_int_t)d->nrows,
		"changed_rows", (json_int_t)d->flagged, "vms", vms,
		"fail_on", fl);
	return root;
}
