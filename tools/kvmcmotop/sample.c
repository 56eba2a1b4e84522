// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sample.c - one point in time: every VM's cumulative counters, summed the
 * way kvmcmotop shows them (the kind x fault x memslot x outcome table,
 * histograms by outcome, vCPUs, regions), whether they came from the
 * probes (a kvmcmo_snapshot) or from a kvmcmod (sample_json.c).
 *
 * Differences of two samples are what the screen shows: counters only
 * grow, so cur - prev is the interval and cur - base the time since start.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "top.h"

void top_vmstat_free(struct top_vmstat *v)
{
	free(v->vcpus);
	free(v->regions);
	v->vcpus = NULL;
	v->regions = NULL;
	v->nvcpus = v->nregions = 0;
}

void top_sample_free(struct top_sample *s)
{
	for (size_t i = 0; i < s->nvms; i++)
		top_vmstat_free(&s->vms[i]);
	free(s->vms);
	memset(s, 0, sizeof(*s));
}

static int cmp_vm(const void *a, const void *b)
{
	__u64 x = ((const struct top_vmstat *)a)->id, y = ((const struct top_vmstat *)b)->id;

	return x < y ? -1 : x > y;
}

static int cmp_vcpu(const void *a, const void *b)
{
	__u32 x = ((const struct top_vcpu *)a)->vcpu, y = ((const struct top_vcpu *)b)->vcpu;

	return x < y ? -1 : x > y;
}

static int cmp_region(const void *a, const void *b)
{
	const struct top_region *x = a, *y = b;

	if (x->base != y->base)
		return x->base < y->base ? -1 : 1;
	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	if (x->memslot != y->memslot)
		return x->memslot < y->memslot ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return x->outcome < y->outcome ? -1 : x->outcome > y->outcome;
}

/* sort, then sum neighbours with equal keys */
static size_t merge_vcpus(struct top_vcpu *v, size_t n)
{
	size_t m = 0;

	qsort(v, n, sizeof(*v), cmp_vcpu);
	for (size_t i = 0; i < n; i++) {
		if (m && v[m - 1].vcpu == v[i].vcpu) {
			v[m - 1].aborts += v[i].aborts;
			v[m - 1].cmo += v[i].cmo;
		} else {
			v[m++] = v[i];
		}
	}
	return m;
}

static size_t merge_regions(struct top_region *v, size_t n)
{
	size_t m = 0;

	qsort(v, n, sizeof(*v), cmp_region);
	for (size_t i = 0; i < n; i++) {
		if (m && !cmp_region(&v[m - 1], &v[i]))
			v[m - 1].count += v[i].count;
		else
			v[m++] = v[i];
	}
	return m;
}

/*
 * Sorted by id, one VM listed twice is kept once.  kvmcmo_snapshot_read()
 * reads the live VMs, then the destroyed ones: a VM destroyed in between
 * is in both lists (seen in the emulated host, VMs coming and going every
 * second).  The destroyed entry is the newer one.  Rows are keyed by id,
 * so nothing is counted twice.
 */
static void dedupe_vms(struct top_sample *s)
{
	size_t m = 0;

	for (size_t i = 0; i < s->nvms; i++) {
		struct top_vmstat *keep = m ? &s->vms[m - 1] : NULL, *v = &s->vms[i];

		if (keep && keep->id == v->id) {
			if (keep->alive && !v->alive) {
				top_vmstat_free(keep);
				*keep = *v;
			} else {
				top_vmstat_free(v);
			}
			continue;
		}
		if (m != i)
			s->vms[m] = *v;
		m++;
	}
	s->nvms = m;
}

int top_sample_normalize(struct top_sample *s)
{
	qsort(s->vms, s->nvms, sizeof(*s->vms), cmp_vm);
	dedupe_vms(s);
	for (size_t i = 0; i < s->nvms; i++) {
		struct top_vmstat *v = &s->vms[i];

		v->nvcpus = merge_vcpus(v->vcpus, v->nvcpus);
		v->nregions = merge_regions(v->regions, v->nregions);
	}
	return 0;
}

const struct top_vmstat *top_sample_find(const struct top_sample *s, __u64 id)
{
	size_t lo = 0, hi = s ? s->nvms : 0;

	while (lo < hi) {
		size_t m = lo + (hi - lo) / 2;

		if (s->vms[m].id == id)
			return &s->vms[m];
		if (s->vms[m].id < id)
			lo = m + 1;
		else
			hi = m;
	}
	return NULL;
}

/* ---- from a libkvmcmo snapshot ---------------------------------------------- */

/* rows of every table start with __u64 vm: the VM a row belongs to */
static struct top_vmstat *vm_of(struct top_sample *t, __u64 id)
{
	return (struct top_vmstat *)top_sample_find(t, id);
}

static int add_vcpu(struct top_vmstat *v, size_t *cap, __u32 vcpu, __u64 n, bool cmo)
{
	if (v->nvcpus == *cap) {
		size_t nc = *cap ? 2 * *cap : 8;
		struct top_vcpu *p = realloc(v->vcpus, nc * sizeof(*p));

		if (!p)
			return -ENOMEM;
		v->vcpus = p;
		*cap = nc;
	}
	v->vcpus[v->nvcpus++] = (struct top_vcpu){ .vcpu = vcpu, .aborts = n, .cmo = cmo ? n : 0 };
	return 0;
}

int top_sample_from_snapshot(struct top_sample *out, const struct kvmcmo_snapshot *s)
{
	size_t *vcap = NULL, *rcap = NULL, i;
	int err = 0;

	memset(out, 0, sizeof(*out));
	out->taken_ns = s->taken_ns;
	memcpy(out->stats, s->stats, sizeof(out->stats));
	out->vms = calloc(s->nvms + 1, sizeof(*out->vms));
	vcap = calloc(s->nvms + 1, sizeof(*vcap));
	rcap = calloc(s->nvms + 1, sizeof(*rcap));
	if (!out->vms || !vcap || !rcap) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < s->nvms; i++) {
		struct top_vmstat *v = &out->vms[i];

		v->id = s->vms[i].id;
		v->pid = s->vms[i].pid;
		v->fd = s->vms[i].fd;
		v->alive = s->vms[i].alive;
		memcpy(v->name, s->vms[i].name, sizeof(v->name));
		v->name[sizeof(v->name) - 1] = 0;
	}
	out->nvms = s->nvms;
	qsort(out->vms, out->nvms, sizeof(*out->vms), cmp_vm);
	dedupe_vms(out);                /* before rows find their VM by id */

	/* caps follow the sorted order: index by position in out->vms */
#define CAP(arr, v) (arr[(v) - out->vms])
	for (i = 0; i < s->naborts && !err; i++) {
		const struct kvmcmo_abort_key *k = &s->aborts[i].key;
		struct top_vmstat *v = vm_of(out, k->vm);

		if (!v || k->kind >= TOP_NK || k->fault >= TOP_NF || k->memslot >= TOP_NM ||
		    k->outcome >= TOP_NO)
			continue;
		v->aborts[k->kind][k->fault][k->memslot][k->outcome] += s->aborts[i].count;
		if (s->aborts[i].count)
			err = add_vcpu(v, &CAP(vcap, v), k->vcpu, s->aborts[i].count,
				       k->kind == KVMCMO_KIND_CMO);
	}
	for (i = 0; i < s->nlat; i++) {
		struct top_vmstat *v = vm_of(out, s->lat[i].key.vm);

		if (v && s->lat[i].key.outcome < TOP_NO)
			kvmcmo_hist_merge(&v->lat[s->lat[i].key.outcome], &s->lat[i].hist);
	}
	for (i = 0; i < s->ndabts; i++) {
		struct top_vmstat *v = vm_of(out, s->dabts[i].key.vm);

		if (v && s->dabts[i].key.source < TOP_ND)
			v->dabt[s->dabts[i].key.source] += s->dabts[i].count;
	}
	for (i = 0; i < s->ndfaults; i++) {
		const struct kvmcmo_dfault_key *k = &s->dfaults[i].key;
		struct top_vmstat *v = vm_of(out, k->vm);

		if (v && k->kind < TOP_NK && k->memslot < TOP_NM)
			kvmcmo_hist_merge(&v->dfault[k->kind][k->memslot], &s->dfaults[i].hist);
	}
	for (i = 0; i < s->nregions && !err; i++) {
		const struct kvmcmo_region_key *k = &s->regions[i].key;
		struct top_vmstat *v = vm_of(out, k->vm);
		size_t *cap;

		if (!v || k->kind >= TOP_NK || k->outcome >= TOP_NO || k->memslot >= TOP_NM ||
		    !s->regions[i].count)
			continue;
		cap = &CAP(rcap, v);
		if (v->nregions == *cap) {
			size_t nc = *cap ? 2 * *cap : 8;
			struct top_region *p = realloc(v->regions, nc * sizeof(*p));

			if (!p) {
				err = -ENOMEM;
				break;
			}
			v->regions = p;
			*cap = nc;
		}
		/* one slot has a row per memslot type (dirty logging toggled), as in json.c */
		v->regions[v->nregions++] = (struct top_region){
			.base = k->base, .size = k->size, .slot = k->slot < 0 ? -1 : k->slot,
			.memslot = k->memslot,
			.kind = k->kind, .outcome = k->outcome, .count = s->regions[i].count,
		};
	}
#undef CAP
	if (!err)
		err = top_sample_normalize(out);
out:
	free(vcap);
	free(rcap);
	if (err)
		top_sample_free(out);
	return err;
}

/* ---- differences ---------------------------------------------------------------- */

static __u64 sub(__u64 c, __u64 r)
{
	return c >= r ? c - r : c;
}

static void hist_diff(struct kvmcmo_hist *o, const struct kvmcmo_hist *c,
		      const struct kvmcmo_hist *r)
{
	/* a histogram that shrank anywhere was reset: take it whole */
	bool reset = c->count < r->count;

	for (int i = 0; i < KVMCMO_HIST_SLOTS && !reset; i++)
		reset = c->slots[i] < r->slots[i];
	*o = *c;
	if (reset)
		return;
	for (int i = 0; i < KVMCMO_HIST_SLOTS; i++)
		o->slots[i] -= r->slots[i];
	o->count -= r->count;
	o->sum_ns = sub(c->sum_ns, r->sum_ns);
}

int top_vmstat_diff(struct top_vmstat *o, const struct top_vmstat *c, const struct top_vmstat *r)
{
	size_t j = 0, n = 0;

	*o = *c;
	o->vcpus = NULL;
	o->regions = NULL;
	o->nvcpus = o->nregions = 0;
	if (c->nvcpus) {
		o->vcpus = malloc(c->nvcpus * sizeof(*o->vcpus));
		if (!o->vcpus)
			return -ENOMEM;
	}
	if (c->nregions) {
		o->regions = malloc(c->nregions * sizeof(*o->regions));
		if (!o->regions) {
			top_vmstat_free(o);
			return -ENOMEM;
		}
	}
	if (r) {
		__u64 *oa = &o->aborts[0][0][0][0];
		const __u64 *ra = &r->aborts[0][0][0][0];

		for (size_t i = 0; i < sizeof(o->aborts) / sizeof(__u64); i++)
			oa[i] = sub(oa[i], ra[i]);
		for (int i = 0; i < TOP_ND; i++)
			o->dabt[i] = sub(c->dabt[i], r->dabt[i]);
		for (int i = 0; i < TOP_NO; i++)
			hist_diff(&o->lat[i], &c->lat[i], &r->lat[i]);
		for (int k = 0; k < TOP_NK; k++)
			for (int m = 0; m < TOP_NM; m++)
				hist_diff(&o->dfault[k][m], &c->dfault[k][m], &r->dfault[k][m]);
	}
	/* both sorted by key: a merge; keys only in r are gone (count 0) */
	for (size_t i = 0; i < c->nvcpus; i++) {
		struct top_vcpu v = c->vcpus[i];

		while (r && j < r->nvcpus && r->vcpus[j].vcpu < v.vcpu)
			j++;
		if (r && j < r->nvcpus && r->vcpus[j].vcpu == v.vcpu) {
			v.aborts = sub(v.aborts, r->vcpus[j].aborts);
			v.cmo = sub(v.cmo, r->vcpus[j].cmo);
		}
		if (v.aborts)
			o->vcpus[n++] = v;
	}
	o->nvcpus = n;
	j = n = 0;
	for (size_t i = 0; i < c->nregions; i++) {
		struct top_region v = c->regions[i];
		int cmp = 1;

		while (r && j < r->nregions && (cmp = cmp_region(&r->regions[j], &v)) < 0)
			j++;
		if (r && j < r->nregions && cmp == 0)
			v.count = sub(v.count, r->regions[j].count);
		if (v.count)
			o->regions[n++] = v;
	}
	o->nregions = n;
	return 0;
}
