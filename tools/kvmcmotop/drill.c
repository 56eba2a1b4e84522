// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * drill.c - one VM in detail, as lines of text the screen scrolls through:
 * the kind x fault x memslot x outcome table, data aborts injected, the
 * vCPUs, handler time by outcome and as bars, double-fault gaps as bars,
 * and the regions (memslots, or 64 KiB windows outside them).
 *
 * Counts are those of the window shown: the last interval as rates per
 * second, or the time since start as totals.  Histogram bars always show
 * the window's counts (a bar of rates reads the same, scaled).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "top.h"

void top_lines_free(struct top_lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

__attribute__((format(printf, 3, 4)))
static int add(struct top_lines *l, int width, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	if (l->n == l->cap) {
		size_t nc = l->cap ? 2 * l->cap : 64;
		char **p = realloc(l->v, nc * sizeof(*p));

		if (!p)
			return -ENOMEM;
		l->v = p;
		l->cap = nc;
	}
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	if (width > 0 && n > width)
		s[width] = 0;
	l->v[l->n++] = s;
	return 0;
}

/* a count of the window, as shown: exact total or rate per second */
static char *val(char *buf, size_t len, __u64 n, double dt, bool totals)
{
	if (totals || dt <= 0)
		snprintf(buf, len, "%llu", (unsigned long long)n);
	else
		snprintf(buf, len, "%.1f", (double)n / dt);
	return buf;
}

static char *size_str(char *buf, size_t len, __u64 v)
{
	static const char u[] = "KMGTPE";
	int i = -1;

	while (v >= 1024 && !(v & 1023) && u[i + 1]) {
		v >>= 10;
		i++;
	}
	if (i < 0)
		snprintf(buf, len, "%llu", (unsigned long long)v);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)v, u[i]);
	return buf;
}

/* log2 bars, first to last non-empty bucket: "  4.1u -> 8.2u      12 |####" */
static int bars(struct top_lines *l, const struct kvmcmo_hist *h, int width)
{
	int lo = -1, hi = -1, err = 0, barw = width - 27;
	__u64 max = 0;

	if (barw < 10)
		barw = 10;
	for (int i = 0; i < KVMCMO_HIST_SLOTS; i++) {
		if (!h->slots[i])
			continue;
		if (lo < 0)
			lo = i;
		hi = i;
		if (h->slots[i] > max)
			max = h->slots[i];
	}
	if (lo < 0)
		return add(l, width, "  (no samples)");
	for (int i = lo; i <= hi && !err; i++) {
		char a[16], b[16], bar[256];
		int n = (int)((double)h->slots[i] * barw / (double)max + 0.5);

		if (h->slots[i] && !n)
			n = 1;
		if (n > (int)sizeof(bar) - 1)
			n = sizeof(bar) - 1;
		memset(bar, '#', n);
		bar[n] = 0;
		if (i)
			top_fmt_ns(a, sizeof(a), 1ULL << i, 6);
		else
			snprintf(a, sizeof(a), "0");
		top_fmt_ns(b, sizeof(b), 2ULL << i, 6);
		err = add(l, width, "  %6s -> %-6s %8llu |%s", a, b,
			  (unsigned long long)h->slots[i], bar);
	}
	return err;
}

int top_drill_lines(struct top_lines *l, const struct top_vmstat *w,
		    const struct top_vmstat *cur, double dt, bool totals, int width)
{
	struct kvmcmo_hist all = {};
	const char *unit = totals || dt <= 0 ? "COUNT" : "PER SEC";
	__u64 n[TOP_NCOUNT];
	char v1[32], v2[32], v3[32];
	bool any;
	int err = 0;

	memset(l, 0, sizeof(*l));
	top_count_window(w, KVMCMO_KIND_CMO, n);
#define ADD(...) do { if (!err) err = add(l, width, __VA_ARGS__); } while (0)
	ADD("VM %s  pid %u  fd %d  %s", cur->name, cur->pid, cur->fd,
	    cur->alive ? "alive" : "destroyed");
	if (totals || dt <= 0)
		ADD("totals since start: %llu aborts, %llu cmo", (unsigned long long)n[0],
		    (unsigned long long)n[TOP_COL_FOCUS - TOP_C0]);
	else
		ADD("last %.1f s: %.1f aborts/s, %.1f cmo/s", dt, (double)n[0] / dt,
		    (double)n[TOP_COL_FOCUS - TOP_C0] / dt);
	ADD("data aborts injected: %s in aborts, %s by the VMM",
	    val(v1, sizeof(v1), w->dabt[KVMCMO_DABT_ABORT], dt, totals),
	    val(v2, sizeof(v2), w->dabt[KVMCMO_DABT_USERSPACE], dt, totals));

	ADD("%s", "");
	ADD("%-6s %-12s %-13s %-12s %10s", "KIND", "FAULT", "MEMSLOT", "OUTCOME", unit);
	any = false;
	for (int k = 0; k < TOP_NK; k++)
		for (int f = 0; f < TOP_NF; f++)
			for (int m = 0; m < TOP_NM; m++)
				for (int o = 0; o < TOP_NO; o++) {
					if (!w->aborts[k][f][m][o])
						continue;
					any = true;
					ADD("%-6s %-12s %-13s %-12s %10s", kvmcmo_kind_label[k],
					    kvmcmo_fault_label[f], kvmcmo_memslot_label[m],
					    kvmcmo_outcome_label[o],
					    val(v1, sizeof(v1), w->aborts[k][f][m][o], dt, totals));
				}
	if (!any)
		ADD("  (no aborts)");

	ADD("%s", "");
	ADD("%-6s %10s %10s", "VCPU", totals || dt <= 0 ? "ABORTS" : "ABORTS/S",
	    totals || dt <= 0 ? "CMO" : "CMO/S");
	for (size_t i = 0; i < w->nvcpus; i++)
		ADD("%-6u %10s %10s", w->vcpus[i].vcpu,
		    val(v1, sizeof(v1), w->vcpus[i].aborts, dt, totals),
		    val(v2, sizeof(v2), w->vcpus[i].cmo, dt, totals));
	if (!w->nvcpus)
		ADD("  (no vCPU aborted)");

	ADD("%s", "");
	ADD("%-12s %10s %8s %8s %8s", "OUTCOME", "HANDLED", "AVG", "P50", "P99");
	for (int o = 0; o < TOP_NO; o++) {
		const struct kvmcmo_hist *h = &w->lat[o];

		if (!h->count)
			continue;
		kvmcmo_hist_merge(&all, h);
		ADD("%-12s %10llu %8s %8s %8s", kvmcmo_outcome_label[o],
		    (unsigned long long)h->count, top_fmt_ns(v1, sizeof(v1), h->sum_ns / h->count, 8),
		    top_fmt_ns(v2, sizeof(v2), kvmcmo_hist_quantile(h, 0.5), 8),
		    top_fmt_ns(v3, sizeof(v3), kvmcmo_hist_quantile(h, 0.99), 8));
	}
	ADD("abort time (fault to re-entry), every outcome (n = ns, u, m, s):");
	if (!err)
		err = bars(l, &all, width);

	ADD("%s", "");
	any = false;
	for (int k = 0; k < TOP_NK; k++)
		for (int m = 0; m < TOP_NM; m++) {
			const struct kvmcmo_hist *h = &w->dfault[k][m];

			if (!h->count)
				continue;
			any = true;
			ADD("double faults, %s on %s memory: %llu; gap between the two faults:",
			    kvmcmo_kind_label[k], kvmcmo_memslot_label[m],
			    (unsigned long long)h->count);
			if (!err)
				err = bars(l, h, width);
		}
	if (!any)
		ADD("double faults: none");

	ADD("%s", "");
	ADD("%-5s %-18s %6s %-12s %-6s %-12s %10s", "SLOT", "BASE", "SIZE", "MEMSLOT", "KIND",
	    "OUTCOME", unit);
	/* most first: the window's rows sorted by count */
	{
		size_t nr = w->nregions, *ord = malloc((nr + 1) * sizeof(*ord));

		if (!ord && !err)
			err = -ENOMEM;
		for (size_t i = 0; ord && i < nr; i++)
			ord[i] = i;
		for (size_t i = 1; ord && i < nr; i++)     /* insertion: small n */
			for (size_t j = i; j > 0 && w->regions[ord[j]].count >
						    w->regions[ord[j - 1]].count; j--) {
				size_t t = ord[j];

				ord[j] = ord[j - 1];
				ord[j - 1] = t;
			}
		for (size_t i = 0; ord && i < nr; i++) {
			const struct top_region *r = &w->regions[ord[i]];
			char slot[16], base[24];

			/* "-": a 64 KiB window outside every memslot */
			if (r->slot >= 0)
				snprintf(slot, sizeof(slot), "%d", (int)r->slot);
			else
				snprintf(slot, sizeof(slot), "-");
			snprintf(base, sizeof(base), "0x%llx", (unsigned long long)r->base);
			ADD("%-5s %-18s %6s %-12s %-6s %-12s %10s", slot, base,
			    size_str(v1, sizeof(v1), r->size), kvmcmo_memslot_label[r->memslot],
			    kvmcmo_kind_label[r->kind],
			    kvmcmo_outcome_label[r->outcome],
			    val(v2, sizeof(v2), r->count, dt, totals));
		}
		if (!nr)
			ADD("  (no regions)");
		free(ord);
	}
#undef ADD
	if (err)
		top_lines_free(l);
	return err;
}
