// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * diffout_html.c - `kvmcmo diff --html FILE`: one self-contained page (no
 * script, no font, no image and no link that leaves the file) with the
 * verdict table and before/after histograms drawn as inline SVG, written
 * for a reader who never used kvmcmo.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"

/* charts drawn at most (a 1,000-VM diff stays a readable page) */
#define HTML_MAX_CHARTS 200

#define C_BASE "#4a78b5"
#define C_NEW "#e07b24"

static void esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}



static void value_cell(FILE *f, const struct diff_row *r, int s)
{
	const struct diff_stat *st = &r->s[s];
	char v[40];

	if (diff_row_is_hist(r)) {
		if (!st->total) {
			fputs("<td class=n>&ndash;</td>", f);
			return;
		}
		diff_fmt_ns(st->avg, "&micro;", v, sizeof(v));
		fprintf(f, "<td class=n>%s", v);
	} else {
		fprintf(f, "<td class=n>%.2f", st->mean);
	}
	if (st->mean > 0 && st->sd > 0)
		fprintf(f, " <small>&plusmn;&nbsp;%.1f%%</small>", 100.0 * st->sd / st->mean);
	fputs("</td>", f);
}

static const char *verdict_class(enum diff_verdict v)
{
	switch (v) {
	case DV_UP: return "up";
	case DV_DOWN: return "down";
	case DV_SHAPE: return "shape";
	case DV_SAME: return "same";
	case DV_UNTESTED: return "na";
	}
	return "na";
}

static void row_tr(FILE *f, const struct diff *d, const struct diff_row *r, bool with_vm)
{
	char what[64];

	diff_row_what(r, what, sizeof(what));
	fprintf(f, "<tr class=%s>", verdict_class(r->verdict));
	if (with_vm) {
		fputs("<td><a href=\"#vm", f);
		fprintf(f, "%zu\">", r->vm);
		esc(f, d->vms[r->vm].key);
		fputs("</a></td>", f);
	}
	fprintf(f, "<td>%s</td>", what);
	value_cell(f, r, 0);
	value_cell(f, r, 1);
	if (isnan(r->change))
		fputs("<td class=n>&ndash;</td>", f);
	else if (isinf(r->change))
		fputs("<td class=n>new</td>", f);
	else
		fprintf(f, "<td class=n>%+.1f%%</td>", 100.0 * r->change);
	if (r->t.testable)
		fprintf(f, "<td class=n>%.2g</td>", r->t.p);
	else
		fputs("<td class=n>&ndash;</td>", f);
	fprintf(f, "<td class=v>%s</td></tr>\n", diff_verdict_name(r->verdict));
}

static void table_head(FILE *f, bool with_vm)
{
	fprintf(f, "<table><thead><tr>%s<th>What</th><th>Base</th><th>New</th><th>Change</th>"
		"<th>p</th><th>Verdict</th></tr></thead><tbody>\n", with_vm ? "<th>VM</th>" : "");
}

/* before/after bars over the log2 buckets, each side as a share of its count */
static void hist_svg(FILE *f, const struct diff_row *r, const char *title)
{
	const int W = 560, H = 236, L = 48, R = 12, T = 44, B = 46;
	const struct kvmcmo_hist *h[2] = { r->h[0], r->h[1] };
	int lo = KVMCMO_HIST_SLOTS, hi = -1, nb;
	double share[2][KVMCMO_HIST_SLOTS] = {}, max = 0, bw;

	for (int s = 0; s < 2; s++)
		for (int i = 0; h[s] && i < KVMCMO_HIST_SLOTS; i++) {
			if (!h[s]->slots[i])
				continue;
			share[s][i] = (double)h[s]->slots[i] / (double)h[s]->count;
			if (share[s][i] > max)
				max = share[s][i];
			if (i < lo)
				lo = i;
			if (i > hi)
				hi = i;
		}
	if (hi < 0)
		return;
	/* one empty bucket of context on each side */
	if (lo > 0)
		lo--;
	if (hi < KVMCMO_HIST_SLOTS - 1)
		hi++;
	nb = hi - lo + 1;
	bw = (double)(W - L - R) / nb;
	fprintf(f, "<svg class=chart role=img width=%d height=%d viewBox=\"0 0 %d %d\" "
		"xmlns=\"http://www.w3.org/2000/svg\"><title>", W, H, W, H);
	esc(f, title);
	fprintf(f, "</title>\n<text x=%d y=16 class=ct>", L);
	esc(f, title);
	fputs("</text>\n", f);
	/* y axis: 0, 50, 100% of the tallest bar */
	for (int t = 0; t <= 2; t++) {
		double y = T + (H - T - B) * (1.0 - t / 2.0);

		fprintf(f, "<line x1=%d x2=%d y1=%.1f y2=%.1f class=grid />"
			"<text x=%d y=%.1f class=yl>%.0f%%</text>\n", L, W - R, y, y, L - 4, y + 4,
			100.0 * max * t / 2.0);
	}
	for (int i = lo; i <= hi; i++) {
		double x = L + (i - lo) * bw;
		char ub[32];

		for (int s = 0; s < 2; s++) {
			double bh = max > 0 ? (H - T - B) * share[s][i] / max : 0;

			if (bh <= 0)
				continue;
			fprintf(f, "<rect x=%.1f y=%.1f width=%.1f height=%.1f fill=\"%s\">"
				"<title>%s: %.1f%% of its aborts below 2^%d ns</title></rect>\n",
				x + bw * 0.1 + s * bw * 0.4, H - B - bh, bw * 0.4, bh,
				s ? C_NEW : C_BASE, s ? "new" : "base", 100.0 * share[s][i], i + 1);
		}
		if (nb <= 14 || (i - lo) % 2 == 0) {
			diff_fmt_ns((double)(1ULL << (i + 1)), "&micro;", ub, sizeof(ub));
			fprintf(f, "<text x=%.1f y=%d class=xl transform=\"rotate(-35 %.1f %d)\">"
				"&lt;%s</text>\n", x + bw / 2, H - B + 14, x + bw / 2, H - B + 14, ub);
		}
	}
	fprintf(f, "<line x1=%d x2=%d y1=%d y2=%d class=axis />\n", L, W - R, H - B, H - B);
	fprintf(f, "<rect x=%d y=22 width=10 height=10 fill=\"%s\"/><text x=%d y=31 class=lg>base"
		"</text><rect x=%d y=22 width=10 height=10 fill=\"%s\"/><text x=%d y=31 class=lg>"
		"new</text>\n</svg>\n", L, C_BASE, L + 14, L + 60, C_NEW, L + 74);
}

/* horizontal paired bars of a VM's abort classes: per-sample means */
static void counts_svg(FILE *f, const struct diff *d, const struct diff_vm *vm)
{
	const int W = 560, L = 230, R = 60, RH = 26, T = 24;
	double max = 0;
	int n = 0, y;

	for (size_t i = vm->first_row; i < vm->first_row + vm->nrows; i++)
		if (d->rows[i].metric == DM_ABORTS) {
			n++;
			for (int s = 0; s < 2; s++)
				if (d->rows[i].s[s].mean > max)
					max = d->rows[i].s[s].mean;
		}
	if (!n || max <= 0)
		return;
	fprintf(f, "<svg class=chart role=img width=%d height=%d viewBox=\"0 0 %d %d\" "
		"xmlns=\"http://www.w3.org/2000/svg\"><title>aborts per %s</title>\n"
		"<text x=4 y=16 class=ct>aborts per %s, by kind/fault/memslot/outcome</text>\n",
		W, T + n * RH + 8, W, T + n * RH + 8, d->per_run ? "run" : "sample",
		d->per_run ? "run" : "sample");
	y = T;
	for (size_t i = vm->first_row; i < vm->first_row + vm->nrows; i++) {
		const struct diff_row *r = &d->rows[i];
		char what[64];

		if (r->metric != DM_ABORTS)
			continue;
		diff_row_what(r, what, sizeof(what));
		fprintf(f, "<text x=%d y=%d class=yl>%s</text>\n", L - 6, y + 14, what);
		for (int s = 0; s < 2; s++) {
			double w = (W - L - R) * r->s[s].mean / max;

			fprintf(f, "<rect x=%d y=%d width=%.1f height=9 fill=\"%s\"><title>%s: %.2f"
				"</title></rect>\n", L, y + 2 + s * 10, w, s ? C_NEW : C_BASE,
				s ? "new" : "base", r->s[s].mean);
			fprintf(f, "<text x=%.1f y=%d class=bl>%.2f</text>\n", L + w + 4,
				y + 10 + s * 10, r->s[s].mean);
		}
		y += RH;
	}
	fputs("</svg>\n", f);
}

static void css(FILE *f)
{
	fputs("<style>\n"
	      "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;"
	      "max-width:1100px;padding:0 1em;color:#222}\n"
	      "h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.6em;font-size:1.25em}\n"
	      ".banner{padding:.8em 1em;border-radius:6px;font-size:1.1em;margin:1em 0}\n"
	      ".ok{background:#e3f4e1;border:1px solid #7cba73}"
	      ".bad{background:#fbe3e1;border:1px solid #d9776d}\n"
	      "table{border-collapse:collapse;margin:.6em 0;font-size:14px}\n"
	      "th,td{padding:.25em .6em;border-bottom:1px solid #ddd;text-align:left}\n"
	      "th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
	      "tr.up td.v,tr.down td.v,tr.shape td.v{font-weight:bold;color:#b3261e}\n"
	      "tr.up,tr.down,tr.shape{background:#fff4f2}tr.na td{color:#888}\n"
	      "small{color:#666}code{background:#f3f3f3;padding:0 .2em}\n"
	      "details{margin:.4em 0}summary{cursor:pointer;font-weight:600}\n"
	      ".chart{display:block;margin:.5em 0;background:#fcfcfc;border:1px solid #eee}\n"
	      ".chart text{font:11px sans-serif;fill:#333}.chart .ct{font-size:13px;font-weight:600}\n"
	      ".chart .yl{text-anchor:end}.chart .xl{text-anchor:end}\n"
	      ".chart .grid{stroke:#e4e4e4}.chart .axis{stroke:#999}\n"
	      "dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:600}\n"
	      "</style>\n", f);
}

static void explain(FILE *f, const struct diff *d)
{
	fprintf(f, "<h2>How to read this page</h2>\n<p>kvmcmo counts the <em>stage-2 guest "
		"aborts</em> of arm64 KVM virtual machines: each time a guest touches memory "
		"that the hypervisor has not mapped (or mapped without the needed permission), "
		"KVM stops the guest and handles the fault. <code>kvmcmo record</code> saved "
		"these counts for a <b>base</b> and a <b>new</b> run of the same workload; this "
		"page says what changed between them and whether the change is real or noise.</p>\n"
		"<dl><dt>What</dt><dd><code>kind/fault/memslot/outcome</code>: <i>kind</i> is what "
		"the guest did (<code>cmo</code> = a cache-maintenance instruction such as DC "
		"IVAC, <code>read</code>, <code>write</code>, <code>exec</code>, <code>s1ptw</code> "
		"= the guest's own page-table walk), <i>fault</i> why it trapped, <i>memslot</i> "
		"what memory it hit (<code>ro</code> read-only, <code>rw_dirty_log</code> "
		"dirty-logged, <code>none</code> no memory: device space), <i>outcome</i> what "
		"KVM did (<code>map_rw</code>, <code>mmio_user</code> = exit to the VMM, "
		"<code>nisv</code> = an access KVM could not decode, <code>error</code> = the vCPU "
		"run failed, ...). <code>latency</code> rows are the time KVM spent handling the "
		"aborts of one outcome.</dd>\n"
		"<dt>Base, New</dt><dd>the mean per %s over %zu base and %zu new samples, "
		"&plusmn; the standard deviation between samples (latency: the average "
		"time).</dd>\n<dt>p</dt><dd>the probability of a difference at least this large "
		"if nothing had changed: an exact Poisson test for counts, widened when samples "
		"disagree among themselves; for latency the larger p of a chi-square test over "
		"the histogram buckets and a rank test of the runs (the aborts of one run share "
		"its conditions, so a latency change must show in the runs themselves: with "
		"fewer than about 8 runs a side it cannot reach significance).</dd>\n<dt>Verdict</dt><dd><b>UP</b>/<b>DOWN</b>: significantly more or "
		"fewer; <b>CHANGED</b>: the latency distribution moved; <i>same</i>: no evidence of "
		"a change; <i>n/a</i>: nothing to compare (present on one side only, or too few). "
		"A row is significant when p &le; %.3g: the family-wise error rate %g spread over "
		"the %zu tests that could reach it (Tarone's correction), so a comparison of two "
		"identical workloads flags nothing with probability at least %g.</dd></dl>\n",
		d->per_run ? "run of the recorded command" : "sample", d->side[0].n, d->side[1].n,
		d->threshold, d->o.alpha, d->family, 1.0 - d->o.alpha);
}

static void recordings(FILE *f, const struct diff *d)
{
	fputs("<h2>Recordings</h2>\n<table><thead><tr><th>Side</th><th>File</th><th>Samples"
	      "</th><th>Kernel</th><th>kvmcmo</th><th>Probes</th><th>Host</th><th>Start</th>"
	      "</tr></thead><tbody>\n", f);
	for (int s = 0; s < 2; s++)
		for (size_t i = 0; i < d->side[s].nfiles; i++) {
			const struct rec_file *r = &d->side[s].files[i];

			fprintf(f, "<tr><td>%s</td><td>", s ? "new" : "base");
			esc(f, r->path);
			fprintf(f, "</td><td class=n>%zu</td><td>", r->nsamples);
			esc(f, r->kernel_release);
			fputs("</td><td>", f);
			esc(f, r->tool_version);
			fputs("</td><td>", f);
			esc(f, r->attach);
			fputs("</td><td>", f);
			esc(f, r->hostname);
			fputs("</td><td>", f);
			esc(f, r->start ? r->start : "");
			fputs("</td></tr>\n", f);
		}
	fputs("</tbody></table>\n", f);
}

int diff_write_html(const char *path, const struct diff *d, json_t *failures, int exit_code)
{
	FILE *f = fopen(path, "w");
	size_t charts = 0, left = 0, i;
	json_t *fl;

	if (!f) {
		kvmcmo_err("cannot write %s: %s", path, strerror(errno));
		return -errno;
	}
	fputs("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>\n"
	      "<meta name=viewport content=\"width=device-width\">\n"
	      "<title>kvmcmo diff</title>\n", f);
	css(f);
	fputs("</head><body>\n<h1>kvmcmo diff: guest aborts, base vs new</h1>\n", f);
	fprintf(f, "<div class=\"banner %s\" id=verdict>", exit_code ? "bad" : "ok");
	if (d->flagged)
		fprintf(f, "<b>%zu of %zu rows changed significantly</b>", d->flagged, d->nrows);
	else
		fprintf(f, "<b>No significant change</b> in %zu rows", d->nrows);
	fprintf(f, " across %zu VM%s", d->nvms, d->nvms == 1 ? "" : "s");
	if (json_array_size(failures))
		fprintf(f, "; %zu <code>--fail-on</code> threshold%s crossed",
			json_array_size(failures), json_array_size(failures) == 1 ? "" : "s");
	fprintf(f, ". Exit status %d.</div>\n", exit_code);

	if (json_array_size(failures)) {
		fputs("<h2>Thresholds crossed</h2>\n<table><thead><tr><th>--fail-on</th><th>VM</th>"
		      "<th>Base</th><th>New</th><th>Change</th><th>p</th></tr></thead><tbody>\n", f);
		json_array_foreach(failures, i, fl) {
			json_t *ch = json_object_get(fl, "change"), *p = json_object_get(fl, "p");

			fputs("<tr class=up><td><code>", f);
			esc(f, json_string_value(json_object_get(fl, "expr")));
			fputs("</code></td><td>", f);
			esc(f, json_string_value(json_object_get(fl, "vm")));
			fprintf(f, "</td><td class=n>%.4g</td><td class=n>%.4g</td>",
				json_real_value(json_object_get(fl, "base")),
				json_real_value(json_object_get(fl, "new")));
			if (json_is_real(ch))
				fprintf(f, "<td class=n>%+.1f%%</td>", 100.0 * json_real_value(ch));
			else
				fputs("<td class=n>new</td>", f);
			if (json_is_real(p))
				fprintf(f, "<td class=n>%.2g</td></tr>\n", json_real_value(p));
			else
				fputs("<td class=n>&ndash;</td></tr>\n", f);
		}
		fputs("</tbody></table>\n", f);
	}

	if (d->flagged) {
		fputs("<h2>What changed</h2>\n", f);
		table_head(f, true);
		for (i = 0; i < d->nrows; i++)
			if (d->rows[i].verdict != DV_SAME && d->rows[i].verdict != DV_UNTESTED)
				row_tr(f, d, &d->rows[i], true);
		fputs("</tbody></table>\n", f);
	}
	explain(f, d);
	recordings(f, d);

	fputs("<h2>Every VM</h2>\n<p>VMs are matched between recordings by name (a VMM's "
	      "<code>-name</code>/<code>--name</code>), with <code>#N</code> added in order of "
	      "the VM's file descriptor when one process runs several VMs of one name. VMs with "
	      "a change are open.</p>\n", f);
	for (size_t v = 0; v < d->nvms; v++) {
		const struct diff_vm *vm = &d->vms[v];
		bool draw = charts < HTML_MAX_CHARTS;

		fprintf(f, "<details id=vm%zu%s><summary>", v, vm->flagged ? " open" : "");
		esc(f, vm->key);
		fprintf(f, " &mdash; %zu row%s, %s%s</summary>\n", vm->nrows, vm->nrows == 1 ? "" : "s",
			vm->flagged ? "<b>changed</b>" : "no significant change",
			!vm->present[1] ? " (only in base)" : !vm->present[0] ? " (only in new)" : "");
		table_head(f, false);
		for (i = vm->first_row; i < vm->first_row + vm->nrows; i++)
			row_tr(f, d, &d->rows[i], false);
		fputs("</tbody></table>\n", f);
		if (draw && (vm->flagged || charts < HTML_MAX_CHARTS / 2)) {
			counts_svg(f, d, vm);
			charts++;
		}
		for (i = vm->first_row; i < vm->first_row + vm->nrows; i++) {
			const struct diff_row *r = &d->rows[i];
			char what[64], title[256];

			if (!diff_row_is_hist(r))
				continue;
			if (charts >= HTML_MAX_CHARTS) {
				left++;
				continue;
			}
			diff_row_what(r, what, sizeof(what));
			snprintf(title, sizeof(title), "%s: %s, share of aborts per time bucket",
				 vm->key, what);
			hist_svg(f, r, title);
			charts++;
		}
		fputs("</details>\n", f);
	}
	if (left)
		fprintf(f, "<p><small>%zu more histograms are left out of this page; "
			"<code>kvmcmo diff --json</code> has every bucket.</small></p>\n", left);
	fputs("<p><small>Made by kvmcmo " KVMCMO_VERSION " <code>diff</code>. Under QEMU "
	      "emulation no <code>cmo</code> abort ever happens (emulated DC IVAC/CIVAC never "
	      "fault).</small></p>\n</body></html>\n", f);
	if (ferror(f) | fclose(f)) {
		kvmcmo_err("cannot write %s", path);
		return -EIO;
	}
	return 0;
}
