// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * hist.c - log2 histograms as the BPF side fills them (kvmcmo_hist_slot()):
 * slot i holds [2^i, 2^(i+1)) ns, slot 0 also holds 0 and 1, and the last
 * slot also holds everything above it.
 */
#include <stdint.h>

#include "libkvmcmo.h"

static __u64 slot_bound(int i)
{
	return 1ULL << (i + 1);
}

/*
 * The quantile convention: the exclusive upper bound 2^(i+1) of the first
 * bucket i whose cumulative count reaches q * total, so "p99 = 4096" reads
 * "99% of the samples took less than 4096 ns".  An upper bound errs on the
 * safe side for latency, and it is exact: the true quantile lies in
 * [2^i, 2^(i+1)), nothing finer is known.  q = 0 gives the first non-empty
 * bucket.  The last slot is open-ended, its 2^40 is a floor there (18 min).
 *
 * The total is the sum of the slots, not h->count: the BPF side bumps the
 * two separately, and a map read in between must not yield a quantile past
 * the last sample.  Empty histogram: 0.
 */
__u64 kvmcmo_hist_quantile(const struct kvmcmo_hist *h, double q)
{
	__u64 total = 0, cum = 0;
	double target;
	int i;

	for (i = 0; i < KVMCMO_HIST_SLOTS; i++)
		total += h->slots[i];
	if (!total)
		return 0;
	if (!(q >= 0.0))                /* also NaN */
		q = 0.0;
	if (q > 1.0)
		q = 1.0;
	target = q * (double)total;

	for (i = 0; i < KVMCMO_HIST_SLOTS; i++) {
		cum += h->slots[i];
		if (cum && (double)cum >= target)
			return slot_bound(i);
	}
	/* rounding of q * total beyond the last count: the last sample */
	for (i = KVMCMO_HIST_SLOTS - 1; i > 0 && !h->slots[i]; i--)
		;
	return slot_bound(i);
}

void kvmcmo_hist_merge(struct kvmcmo_hist *dst, const struct kvmcmo_hist *src)
{
	for (int i = 0; i < KVMCMO_HIST_SLOTS; i++)
		dst->slots[i] += src->slots[i];
	dst->sum_ns += src->sum_ns;
	dst->count += src->count;
}

/* val/max of width stars without overflowing val * width */
static unsigned int stars(__u64 val, __u64 max, unsigned int width)
{
	__u64 n;

	if (!max)
		return 0;
	if (max <= UINT64_MAX / width)
		n = val * width / max;
	else
		n = val / (max / width);        /* max >= 2^58: off by < 1 star */
	return n > width ? width : (unsigned int)n;
}

static int digits(__u64 v)
{
	int d = 1;

	while (v >= 10) {
		v /= 10;
		d++;
	}
	return d;
}

/*
 * The layout of bcc/libbpf-tools print_log2_hist() (biolatency), so the
 * bars read like every other BPF tool's:
 *
 *      nsecs               : count    distribution
 *        512 -> 1023       : 5        |**********                              |
 *
 * Rows run from the first to the last non-empty bucket.  The number columns
 * are 10 wide as there, widened when a bound needs more digits (slots past
 * 2^33 ns), with the header padded to keep the ':' in one column.  Unlike
 * biolatency the bar stays 40 stars wide whatever the range.  An empty
 * histogram prints nothing.
 */
void kvmcmo_hist_print(FILE *f, const struct kvmcmo_hist *h, const char *unit)
{
	const unsigned int bar = 40;
	int lo = -1, hi = -1, w, i;
	__u64 max = 0;

	for (i = 0; i < KVMCMO_HIST_SLOTS; i++) {
		if (!h->slots[i])
			continue;
		if (lo < 0)
			lo = i;
		hi = i;
		if (h->slots[i] > max)
			max = h->slots[i];
	}
	if (lo < 0)
		return;

	w = digits(slot_bound(hi) - 1);
	if (w < 10)
		w = 10;
	/* "%*s -> %-*s" is 2w + 4 wide; biolatency's header is 5 + 19 for w = 10 */
	fprintf(f, "%*s%-*s : count    distribution\n", w - 5, "", w + 9,
		unit ? unit : "nsecs");
	for (i = lo; i <= hi; i++) {
		__u64 low = i ? 1ULL << i : 0, high = slot_bound(i) - 1;
		unsigned int n = stars(h->slots[i], max, bar);

		fprintf(f, "%*llu -> %-*llu : %-8llu |", w, (unsigned long long)low,
			w, (unsigned long long)high, (unsigned long long)h->slots[i]);
		for (unsigned int s = 0; s < bar; s++)
			fputc(s < n ? '*' : ' ', f);
		fputs("|\n", f);
	}
}
