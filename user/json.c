// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * json.c - a snapshot as the `kvmcmo stat --json` document:
 *
 * {"vms": [{"id", "pid", "fd", "name", "alive",
 *           "aborts": [{"kind", "fault", "memslot", "outcome", "count"}],
 *           "dabt_injections": {"abort", "userspace"},
 *           "double_faults": [{"kind", "memslot", "count", "gap_ns": HIST}],
 *           "latency_ns": {"<outcome>": HIST},
 *           "vcpus": [{"vcpu", "aborts", "cmo"}],             (KVMCMO_JSON_VCPUS)
 *           "regions": [{"region", "slot", "base", "size", "memslot",
 *                        "kind", "outcome", "count"}]}],       (KVMCMO_JSON_REGIONS)
 *  "stats": {"map_full", ...}}
 *
 * HIST = {"count", "sum", "p50", "p99"}, plus with KVMCMO_JSON_HIST
 * "buckets": [{"le": 2^(i+1), "count"}] for the non-empty buckets.
 *
 * Choices a consumer can rely on:
 *  - one element per VM, in s->vms order, even with no rows; a row whose
 *    key.vm names no VM in s->vms is left out (the VM list is the authority);
 *  - every label is one of the X-macro labels; a row carrying an enum value
 *    outside them (a BPF/userspace mismatch) is left out, not renamed;
 *  - rows, hists and vCPUs whose counts are all zero are left out (a delta
 *    snapshot is full of them), but the fixed objects keep every key:
 *    dabt_injections has both sources, stats every counter;
 *  - aborts are summed over vCPUs and ordered by kind, fault, memslot,
 *    outcome in enum order; double faults by kind, memslot; vcpus by vcpu;
 *    regions by count descending, then base, size, slot, memslot, kind,
 *    outcome (one slot has two rows when dirty logging was toggled on it);
 *  - "le" is the bucket's exclusive upper bound, the same number p50/p99
 *    report (see kvmcmo_hist_quantile());
 *  - numbers are unsigned; jansson's integers are signed 64-bit, so a
 *    value past INT64_MAX (only a wrapped delta can get there) is clamped;
 *  - a name that is not valid UTF-8 has each bad byte replaced by U+FFFD,
 *    since jansson refuses such strings and a VMM's argv is arbitrary bytes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libkvmcmo.h"

#define NK KVMCMO_KIND__COUNT
#define NF KVMCMO_FAULT__COUNT
#define NM KVMCMO_MEMSLOT__COUNT
#define NO KVMCMO_OUTCOME__COUNT
#define ND KVMCMO_DABT__COUNT

static json_t *ju64(__u64 v)
{
	return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/* json_object_set_new() that remembers a failure (NULL value included) */
static void set(json_t *o, const char *key, json_t *v, int *err)
{
	if (json_object_set_new(o, key, v))
		*err = -ENOMEM;
}

static void append(json_t *a, json_t *v, int *err)
{
	if (json_array_append_new(a, v))
		*err = -ENOMEM;
}

/* ---- strings --------------------------------------------------------- */

/* length of the valid UTF-8 sequence at s (RFC 3629), 0 if invalid */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	__u32 c;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, c = s[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	/* overlong, surrogate, past U+10FFFF */
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	return len;
}

size_t kvmcmo_utf8_clean(char *dst, size_t len, const char *src, size_t n)
{
	static const char repl[] = "\xef\xbf\xbd";     /* U+FFFD */
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, o = 0;

	if (!len)
		return 0;
	while (i < n && s[i]) {
		size_t l = utf8_seq(s + i, n - i);
		const char *from = l ? (const char *)s + i : repl;
		size_t cnt = l ? l : 3;

		if (o + cnt >= len)
			break;
		memcpy(dst + o, from, cnt);
		o += cnt;
		i += l ? l : 1;
	}
	dst[o] = 0;
	return o;
}

static json_t *json_name(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	char *fixed;
	json_t *j;

	j = json_stringn(s, n);
	if (j)
		return j;
	/* invalid UTF-8: each bad byte becomes U+FFFD (3 bytes) */
	fixed = malloc(3 * n + 1);
	if (!fixed)
		return NULL;
	j = json_stringn(fixed, kvmcmo_utf8_clean(fixed, 3 * n + 1, s, n));
	free(fixed);
	return j;
}

/* ---- histograms ------------------------------------------------------ */

static bool hist_empty(const struct kvmcmo_hist *h)
{
	if (h->count || h->sum_ns)
		return false;
	for (int i = 0; i < KVMCMO_HIST_SLOTS; i++)
		if (h->slots[i])
			return false;
	return true;
}

static json_t *hist_json(const struct kvmcmo_hist *h, bool buckets)
{
	json_t *o = json_object(), *a;
	int err = 0;

	if (!o)
		return NULL;
	set(o, "count", ju64(h->count), &err);
	set(o, "sum", ju64(h->sum_ns), &err);
	set(o, "p50", ju64(kvmcmo_hist_quantile(h, 0.50)), &err);
	set(o, "p99", ju64(kvmcmo_hist_quantile(h, 0.99)), &err);
	if (buckets) {
		a = json_array();
		for (int i = 0; a && i < KVMCMO_HIST_SLOTS; i++) {
			json_t *b;

			if (!h->slots[i])
				continue;
			b = json_object();
			if (b) {
				set(b, "le", ju64(1ULL << (i + 1)), &err);
				set(b, "count", ju64(h->slots[i]), &err);
			}
			append(a, b, &err);
		}
		set(o, "buckets", a, &err);
	}
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *kvmcmo_hist_json(const struct kvmcmo_hist *h)
{
	return hist_json(h, false);
}

/* ---- rows by VM ------------------------------------------------------- */

/*
 * Every row type starts with its key and every key with __u64 vm, so one
 * index serves all five tables: (vm, row number) pairs sorted, a VM's rows
 * found by binary search.  O(rows log rows) instead of VMs x rows.
 */
struct ord {
	__u64 vm;
	size_t row;
};

struct index {
	const char *rows;
	size_t stride, n;
	struct ord *ord;
};

static int cmp_ord(const void *a, const void *b)
{
	const struct ord *x = a, *y = b;

	if (x->vm != y->vm)
		return x->vm < y->vm ? -1 : 1;
	/* keep snapshot order within a VM */
	return x->row < y->row ? -1 : x->row > y->row;
}

static int index_build(struct index *x, const void *rows, size_t n, size_t stride)
{
	x->rows = rows;
	x->n = rows ? n : 0;
	x->stride = stride;
	x->ord = malloc((x->n + 1) * sizeof(*x->ord));
	if (!x->ord)
		return -ENOMEM;
	for (size_t i = 0; i < x->n; i++) {
		x->ord[i].row = i;
		memcpy(&x->ord[i].vm, x->rows + i * stride, sizeof(__u64));
	}
	qsort(x->ord, x->n, sizeof(*x->ord), cmp_ord);
	return 0;
}

/* [*lo, *hi) of x->ord: the rows of VM id */
static void index_range(const struct index *x, __u64 id, size_t *lo, size_t *hi)
{
	size_t l = 0, h = x->n;

	while (l < h) {
		size_t m = l + (h - l) / 2;

		if (x->ord[m].vm < id)
			l = m + 1;
		else
			h = m;
	}
	*lo = l;
	for (h = l; h < x->n && x->ord[h].vm == id; h++)
		;
	*hi = h;
}

#define ROW(x, type, k) ((const type *)((x)->rows + (x)->ord[k].row * (x)->stride))

enum { IX_ABORT, IX_LAT, IX_DABT, IX_DFAULT, IX_REGION, IX__COUNT };

/* per-VM sums, reused VM after VM (~16 KiB: kept off the stack) */
struct acc {
	__u64 aborts[NK][NF][NM][NO];
	__u64 dabt[ND];
	struct kvmcmo_hist lat[NO];
	struct kvmcmo_hist dfault[NK][NM];
};

/* ---- the parts of one VM --------------------------------------------- */

static json_t *vm_aborts(const struct acc *a, int *err)
{
	json_t *arr = json_array();

	for (int k = 0; arr && k < NK; k++)
		for (int f = 0; f < NF; f++)
			for (int m = 0; m < NM; m++)
				for (int o = 0; o < NO; o++) {
					__u64 c = a->aborts[k][f][m][o];
					json_t *r;

					if (!c)
						continue;
					r = json_pack("{s:s, s:s, s:s, s:s, s:o}",
						      "kind", kvmcmo_kind_label[k],
						      "fault", kvmcmo_fault_label[f],
						      "memslot", kvmcmo_memslot_label[m],
						      "outcome", kvmcmo_outcome_label[o],
						      "count", ju64(c));
					append(arr, r, err);
				}
	return arr;
}

static json_t *vm_dfaults(const struct acc *a, bool buckets, int *err)
{
	json_t *arr = json_array();

	for (int k = 0; arr && k < NK; k++)
		for (int m = 0; m < NM; m++) {
			const struct kvmcmo_hist *h = &a->dfault[k][m];

			if (hist_empty(h))
				continue;
			append(arr, json_pack("{s:s, s:s, s:o, s:o}",
					      "kind", kvmcmo_kind_label[k],
					      "memslot", kvmcmo_memslot_label[m],
					      "count", ju64(h->count),
					      "gap_ns", hist_json(h, buckets)), err);
		}
	return arr;
}

struct vcpu_sum {
	__u32 vcpu;
	__u64 aborts, cmo;
};

static int cmp_vcpu(const void *a, const void *b)
{
	__u32 x = ((const struct vcpu_sum *)a)->vcpu, y = ((const struct vcpu_sum *)b)->vcpu;

	return x < y ? -1 : x > y;
}

static json_t *vm_vcpus(const struct index *x, size_t lo, size_t hi, int *err)
{
	struct vcpu_sum *v = malloc((hi - lo + 1) * sizeof(*v));
	json_t *arr = json_array();
	size_t n = 0, i;

	if (!v || !arr) {
		free(v);
		json_decref(arr);
		return NULL;
	}
	for (i = lo; i < hi; i++) {
		const struct kvmcmo_abort_row *r = ROW(x, struct kvmcmo_abort_row, i);

		if (r->key.kind >= NK)
			continue;
		v[n].vcpu = r->key.vcpu;
		v[n].aborts = r->count;
		v[n].cmo = r->key.kind == KVMCMO_KIND_CMO ? r->count : 0;
		n++;
	}
	qsort(v, n, sizeof(*v), cmp_vcpu);
	for (i = 0; i < n;) {
		struct vcpu_sum s = v[i];

		for (i++; i < n && v[i].vcpu == s.vcpu; i++) {
			s.aborts += v[i].aborts;
			s.cmo += v[i].cmo;
		}
		if (!s.aborts)
			continue;
		append(arr, json_pack("{s:I, s:o, s:o}", "vcpu", (json_int_t)s.vcpu,
				      "aborts", ju64(s.aborts), "cmo", ju64(s.cmo)), err);
	}
	free(v);
	return arr;
}

static json_t *vm_regions(const struct index *x, size_t lo, size_t hi, int *err)
{
	struct kvmcmo_region_row *v = malloc((hi - lo + 1) * sizeof(*v));
	json_t *arr = json_array();
	size_t m = 0, i;

	if (!v || !arr) {
		free(v);
		json_decref(arr);
		return NULL;
	}
	for (i = lo; i < hi; i++)
		v[m++] = *ROW(x, struct kvmcmo_region_row, i);
	m = kvmcmo_regions_rank(v, m);
	for (i = 0; i < m; i++) {
		char name[32];

		kvmcmo_region_name(&v[i].key, name, sizeof(name));
		append(arr, json_pack("{s:s, s:I, s:o, s:o, s:s, s:s, s:s, s:o}",
				      "region", name, "slot", (json_int_t)v[i].key.slot,
				      "base", ju64(v[i].key.base), "size", ju64(v[i].key.size),
				      "memslot", kvmcmo_memslot_label[v[i].key.memslot],
				      "kind", kvmcmo_kind_label[v[i].key.kind],
				      "outcome", kvmcmo_outcome_label[v[i].key.outcome],
				      "count", ju64(v[i].count)), err);
	}
	free(v);
	return arr;
}

static json_t *vm_json(const struct kvmcmo_vm *vm, const struct index *ix,
		       struct acc *a, unsigned int flags)
{
	bool buckets = flags & KVMCMO_JSON_HIST;
	size_t lo[IX__COUNT], hi[IX__COUNT], i;
	json_t *o = json_object(), *d, *lat;
	int err = 0;

	if (!o)
		return NULL;
	for (i = 0; i < IX__COUNT; i++)
		index_range(&ix[i], vm->id, &lo[i], &hi[i]);

	memset(a, 0, sizeof(*a));
	for (i = lo[IX_ABORT]; i < hi[IX_ABORT]; i++) {
		const struct kvmcmo_abort_key *k = &ROW(&ix[IX_ABORT], struct kvmcmo_abort_row, i)->key;

		if (k->kind < NK && k->fault < NF && k->memslot < NM && k->outcome < NO)
			a->aborts[k->kind][k->fault][k->memslot][k->outcome] +=
				ROW(&ix[IX_ABORT], struct kvmcmo_abort_row, i)->count;
	}
	for (i = lo[IX_DABT]; i < hi[IX_DABT]; i++) {
		const struct kvmcmo_dabt_row *r = ROW(&ix[IX_DABT], struct kvmcmo_dabt_row, i);

		if (r->key.source < ND)
			a->dabt[r->key.source] += r->count;
	}
	for (i = lo[IX_LAT]; i < hi[IX_LAT]; i++) {
		const struct kvmcmo_lat_row *r = ROW(&ix[IX_LAT], struct kvmcmo_lat_row, i);

		if (r->key.outcome < NO)
			kvmcmo_hist_merge(&a->lat[r->key.outcome], &r->hist);
	}
	for (i = lo[IX_DFAULT]; i < hi[IX_DFAULT]; i++) {
		const struct kvmcmo_dfault_row *r = ROW(&ix[IX_DFAULT], struct kvmcmo_dfault_row, i);

		if (r->key.kind < NK && r->key.memslot < NM)
			kvmcmo_hist_merge(&a->dfault[r->key.kind][r->key.memslot], &r->hist);
	}

	set(o, "id", ju64(vm->id), &err);
	set(o, "pid", ju64(vm->pid), &err);
	set(o, "fd", json_integer(vm->fd), &err);
	set(o, "name", json_name(vm->name, sizeof(vm->name)), &err);
	set(o, "alive", json_boolean(vm->alive), &err);
	set(o, "aborts", vm_aborts(a, &err), &err);

	d = json_object();
	for (i = 0; d && i < ND; i++)
		set(d, kvmcmo_dabt_label[i], ju64(a->dabt[i]), &err);
	set(o, "dabt_injections", d, &err);

	set(o, "double_faults", vm_dfaults(a, buckets, &err), &err);

	lat = json_object();
	for (i = 0; lat && i < NO; i++)
		if (!hist_empty(&a->lat[i]))
			set(lat, kvmcmo_outcome_label[i], hist_json(&a->lat[i], buckets), &err);
	set(o, "latency_ns", lat, &err);

	if (flags & KVMCMO_JSON_VCPUS)
		set(o, "vcpus", vm_vcpus(&ix[IX_ABORT], lo[IX_ABORT], hi[IX_ABORT], &err), &err);
	if (flags & KVMCMO_JSON_REGIONS)
		set(o, "regions", vm_regions(&ix[IX_REGION], lo[IX_REGION], hi[IX_REGION], &err),
		    &err);
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* NULL on allocation failure (nothing else can fail) */
json_t *kvmcmo_snapshot_json(const struct kvmcmo_snapshot *s, unsigned int flags)
{
	struct index ix[IX__COUNT] = {};
	json_t *root = json_object(), *vms = json_array(), *st = json_object();
	struct acc *a = malloc(sizeof(*a));
	int err = 0;
	size_t i;

	if (!root || !vms || !st || !a)
		err = -ENOMEM;
	if (!err)
		err = index_build(&ix[IX_ABORT], s->aborts, s->naborts, sizeof(*s->aborts));
	if (!err)
		err = index_build(&ix[IX_LAT], s->lat, s->nlat, sizeof(*s->lat));
	if (!err)
		err = index_build(&ix[IX_DABT], s->dabts, s->ndabts, sizeof(*s->dabts));
	if (!err)
		err = index_build(&ix[IX_DFAULT], s->dfaults, s->ndfaults, sizeof(*s->dfaults));
	if (!err)
		err = index_build(&ix[IX_REGION], s->regions, s->nregions, sizeof(*s->regions));

	for (i = 0; !err && i < s->nvms; i++)
		append(vms, vm_json(&s->vms[i], ix, a, flags), &err);
	for (i = 0; !err && i < KVMCMO_STAT__COUNT; i++)
		set(st, kvmcmo_stat_label[i], ju64(s->stats[i]), &err);

	for (i = 0; i < IX__COUNT; i++)
		free(ix[i].ord);
	free(a);
	if (err) {
		json_decref(vms);
		json_decref(st);
		json_decref(root);
		return NULL;
	}
	/* set() steals both references, failed or not */
	set(root, "vms", vms, &err);
	set(root, "stats", st, &err);
	if (err) {
		json_decref(root);
		return NULL;
	}
	return root;
}
