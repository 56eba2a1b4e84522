// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sample_json.c - the document kvmcmod serves at /api/v1/snapshot (the
 * `kvmcmo stat --json` shape of user/json.c, with histogram buckets, vCPUs
 * and regions) read back into a sample.
 *
 * What the document gives and what it does not:
 *  - "aborts" rows are summed over vCPUs, "vcpus" has per-vCPU totals
 *    (aborts and cmo): that is all the drill-down shows per vCPU;
 *  - histograms need "buckets" for percentiles and bars; without them only
 *    count and sum are kept (percentiles show as "-");
 *  - a row with a label this build does not know (a newer kvmcmod) is
 *    left out, as json.c leaves out what it cannot name;
 *  - "id" identifies a VM across documents; without it (an older
 *    producer), pid and fd do.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "top.h"

/* a non-negative JSON integer, else 0 */
static __u64 u64_of(const json_t *o, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(o, key));

	return v > 0 ? (__u64)v : 0;
}

static int label(const char *const *labels, int n, const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? kvmcmo_label_index(labels, n, s) : -1;
}

#define KIND(o) label(kvmcmo_kind_label, TOP_NK, o, "kind")
#define FAULT(o) label(kvmcmo_fault_label, TOP_NF, o, "fault")
#define MEMSLOT(o) label(kvmcmo_memslot_label, TOP_NM, o, "memslot")
#define OUTCOME(o) label(kvmcmo_outcome_label, TOP_NO, o, "outcome")

/* {"count", "sum", "buckets": [{"le": 2^(i+1), "count"}]} added into h */
static void hist_add(struct kvmcmo_hist *h, const json_t *j)
{
	const json_t *b;
	size_t i;

	if (!json_is_object(j))
		return;
	h->count += u64_of(j, "count");
	h->sum_ns += u64_of(j, "sum");
	json_array_foreach(json_object_get(j, "buckets"), i, b) {
		__u64 le = u64_of(b, "le");
		int slot = 0;

		/* le is a power of two >= 2: slot = log2(le) - 1 */
		if (le < 2 || (le & (le - 1)))
			continue;
		while ((2ULL << slot) < le)
			slot++;
		if (slot < KVMCMO_HIST_SLOTS)
			h->slots[slot] += u64_of(b, "count");
	}
}

static int vm_from_json(struct top_vmstat *v, const json_t *j)
{
	const json_t *r, *d, *id = json_object_get(j, "id");
	const char *name = json_string_value(json_object_get(j, "name"));
	const char *key;
	size_t i;

	v->pid = (__u32)u64_of(j, "pid");
	v->fd = json_is_integer(json_object_get(j, "fd")) ?
		(int)json_integer_value(json_object_get(j, "fd")) : -1;
	v->id = json_is_integer(id) ? (__u64)json_integer_value(id) :
		((__u64)v->pid << 32 | (__u32)v->fd);
	v->alive = !json_is_false(json_object_get(j, "alive"));
	snprintf(v->name, sizeof(v->name), "%s", name ? name : "");

	json_array_foreach(json_object_get(j, "aborts"), i, r) {
		int k = KIND(r), f = FAULT(r), m = MEMSLOT(r), o = OUTCOME(r);

		if (k >= 0 && f >= 0 && m >= 0 && o >= 0)
			v->aborts[k][f][m][o] += u64_of(r, "count");
	}
	d = json_object_get(j, "dabt_injections");
	for (int s = 0; s < TOP_ND; s++)
		v->dabt[s] = u64_of(d, kvmcmo_dabt_label[s]);
	json_array_foreach(json_object_get(j, "double_faults"), i, r) {
		int k = KIND(r), m = MEMSLOT(r);
		const json_t *gap = json_object_get(r, "gap_ns");

		if (k < 0 || m < 0)
			continue;
		if (json_is_object(gap)) {
			hist_add(&v->dfault[k][m], gap);
		} else {
			v->dfault[k][m].count += u64_of(r, "count");
		}
	}
	json_object_foreach((json_t *)json_object_get(j, "latency_ns"), key, r) {
		int o = kvmcmo_label_index(kvmcmo_outcome_label, TOP_NO, key);

		if (o >= 0)
			hist_add(&v->lat[o], r);
	}

	v->nvcpus = json_array_size(json_object_get(j, "vcpus"));
	v->vcpus = calloc(v->nvcpus + 1, sizeof(*v->vcpus));
	v->nregions = json_array_size(json_object_get(j, "regions"));
	v->regions = calloc(v->nregions + 1, sizeof(*v->regions));
	if (!v->vcpus || !v->regions)
		return -ENOMEM;
	json_array_foreach(json_object_get(j, "vcpus"), i, r)
		v->vcpus[i] = (struct top_vcpu){ .vcpu = (__u32)u64_of(r, "vcpu"),
						 .aborts = u64_of(r, "aborts"),
						 .cmo = u64_of(r, "cmo") };
	v->nregions = 0;
	json_array_foreach(json_object_get(j, "regions"), i, r) {
		int k = KIND(r), m = MEMSLOT(r), o = OUTCOME(r);
		json_int_t slot = json_integer_value(json_object_get(r, "slot"));

		if (k < 0 || m < 0 || o < 0)
			continue;
		v->regions[v->nregions++] = (struct top_region){
			.base = u64_of(r, "base"), .size = u64_of(r, "size"),
			.slot = slot < 0 ? -1 : (__s32)slot, .memslot = m, .kind = k, .outcome = o,
			.count = u64_of(r, "count"),
		};
	}
	return 0;
}

int top_sample_from_json(struct top_sample *out, const json_t *doc, char *why, size_t len)
{
	const json_t *vms = json_object_get(doc, "vms"), *j, *st;
	size_t i;
	int err;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(doc))
		return top_why(why, len, "not a JSON object");
	if (!json_is_array(vms))
		return top_why(why, len, "no \"vms\" array: not a kvmcmo snapshot");
	out->vms = calloc(json_array_size(vms) + 1, sizeof(*out->vms));
	if (!out->vms)
		return -ENOMEM;
	json_array_foreach(vms, i, j) {
		if (!json_is_object(j) || !json_is_integer(json_object_get(j, "pid"))) {
			top_sample_free(out);
			return top_why(why, len, "vms[%zu] is not a VM object", i);
		}
		out->nvms++;
		err = vm_from_json(&out->vms[i], j);
		if (err) {
			top_sample_free(out);
			return err;
		}
	}
	st = json_object_get(doc, "stats");
	for (i = 0; i < KVMCMO_STAT__COUNT; i++)
		out->stats[i] = u64_of(st, kvmcmo_stat_label[i]);
	return top_sample_normalize(out);
}
