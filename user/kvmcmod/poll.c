// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * poll.c - the monotonic model, from cumulative kernel snapshots.
 *
 * The kernel's counters are cumulative and never reset, so what happened
 * since the last poll is, row by row, cur - prev.  The model adds those
 * increments into its own rows (the library's row types, sorted by key),
 * for the VMs it tracks (vms.c), and into host-wide histograms for every
 * VM.  So nothing it shows ever goes backwards while the daemon lives,
 * whatever the kernel side does with its rows: a row that vanishes keeps
 * its last value here, and a row that comes back smaller than before (it
 * was deleted and made again) counts from zero.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kvmcmod.h"

const double kd_rate_bounds[KD_RATE_BUCKETS] = {
	0, 1, 10, 100, 1e3, 1e4, 1e5, 1e6,
};

const double kd_dur_bounds[KD_DUR_BUCKETS] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1,
};

void kd_fhist_observe(struct kd_fhist *h, const double *bounds, int nb, double v)
{
	int i = 0;

	while (i < nb && v > bounds[i])
		i++;
	h->buckets[i]++;
	h->sum += v;
	h->count++;
}

void kd_model_init(struct kd_model *m, const struct kd_opts *o)
{
	memset(m, 0, sizeof(*m));
	m->opts = *o;
}

void kd_model_free(struct kd_model *m)
{
	for (size_t i = 0; i < m->nvms; i++)
		kd_vm_free(&m->vms[i]);
	free(m->vms);
	free(m->untracked);
	free(m->forget);
	kvmcmo_snapshot_free(&m->acc);
	kvmcmo_snapshot_free(&m->prev);
	memset(m, 0, sizeof(*m));
}

/* ---- one row array ----------------------------------------------------------- */

struct rowset {
	const char *cur, *prev;
	size_t ncur, nprev, ksz, vsz;
	/* called with every non-zero increment, tracked VM or not */
	void (*each)(struct kd_model *m, const void *key, const __u64 *inc);
};

static __u64 row_vm(const void *key)
{
	__u64 vm;

	memcpy(&vm, key, sizeof(vm));   /* every key starts with the VM id */
	return vm;
}

static bool row_zero(const __u64 *v, size_t words)
{
	for (size_t w = 0; w < words; w++)
		if (v[w])
			return false;
	return true;
}

/*
 * Fold one array of cur rows into *acc: increments of tracked VMs added
 * to their rows, rows of VMs no longer tracked left out.  A new VM's
 * whole cumulative rows are its increment (the probes saw it first after
 * the previous poll began, so whatever the previous read caught of it was
 * never counted).
 */
static int fold(struct kd_model *m, const struct rowset *r, void **acc, size_t *nacc)
{
	size_t rsz = r->ksz + r->vsz, words = r->vsz / 8, p = 0, ninc = 0, i, j, n;
	char *inc = malloc((r->ncur + 1) * rsz), *out;
	const char *a = *acc;

	if (!inc)
		return -ENOMEM;
	for (i = 0; i < r->ncur; i++) {
		const char *c = r->cur + i * rsz;
		char *row = inc + ninc * rsz;
		__u64 *v = (__u64 *)(row + r->ksz);
		const struct kd_vm *vm = kd_vm_find(m, row_vm(c));
		int cmp = 1;

		while (p < r->nprev && (cmp = memcmp(r->prev + p * rsz, c, r->ksz)) < 0)
			p++;
		memcpy(row, c, rsz);
		if (p < r->nprev && cmp == 0 && !(vm && vm->fresh)) {
			const __u64 *pv = (const __u64 *)(r->prev + p * rsz + r->ksz);
			bool reset = false;

			for (size_t w = 0; w < words; w++)
				reset |= pv[w] > v[w];
			if (!reset)
				for (size_t w = 0; w < words; w++)
					v[w] -= pv[w];
		}
		if (row_zero(v, words))
			continue;
		if (r->each)
			r->each(m, row, v);
		if (vm)
			ninc++;
	}

	/* merge the increments into the kept rows */
	out = malloc((*nacc + ninc + 1) * rsz);
	if (!out) {
		free(inc);
		return -ENOMEM;
	}
	for (i = 0, j = 0, n = 0; i < *nacc || j < ninc;) {
		const char *x = i < *nacc ? a + i * rsz : NULL;
		const char *y = j < ninc ? inc + j * rsz : NULL;
		int cmp = !x ? 1 : !y ? -1 : memcmp(x, y, r->ksz);
		char *o = out + n * rsz;

		if (cmp < 0) {
			i++;
			if (!kd_vm_find(m, row_vm(x)))
				continue;       /* its VM is gone */
			memcpy(o, x, rsz);
		} else if (cmp > 0) {
			memcpy(o, y, rsz);
			j++;
		} else {
			__u64 *ov = (__u64 *)(o + r->ksz);
			const __u64 *yv = (const __u64 *)(y + r->ksz);

			memcpy(o, x, rsz);
			for (size_t w = 0; w < words; w++)
				ov[w] += yv[w];
			i++;
			j++;
		}
		n++;
	}
	free(inc);
	free(*acc);
	*acc = out;
	*nacc = n;
	return 0;
}

static void hist_add(struct kvmcmo_hist *dst, const __u64 *inc)
{
	__u64 *d = (__u64 *)dst;

	for (size_t w = 0; w < sizeof(*dst) / 8; w++)
		d[w] += inc[w];
}

static void each_abort(struct kd_model *m, const void *key, const __u64 *inc)
{
	const struct kvmcmo_abort_key *k = key;
	struct kd_vm *vm;

	if (k->kind != KVMCMO_KIND_CMO)
		return;
	vm = kd_vm_find(m, k->vm);
	if (vm)
		vm->cmo_inc += inc[0];
}

static void each_lat(struct kd_model *m, const void *key, const __u64 *inc)
{
	const struct kvmcmo_lat_key *k = key;

	if (k->outcome < KVMCMO_OUTCOME__COUNT)
		hist_add(&m->host_lat[k->outcome], inc);
}

static void each_dfault(struct kd_model *m, const void *key, const __u64 *inc)
{
	const struct kvmcmo_dfault_key *k = key;

	if (k->kind < KVMCMO_KIND__COUNT && k->memslot < KVMCMO_MEMSLOT__COUNT)
		hist_add(&m->host_gap[k->kind][k->memslot], inc);
}

#define ROWSET(field, nfield, keytype, valsz, fn)                               \
	((struct rowset){ (const char *)cur->field, (const char *)prev->field,    \
			  cur->nfield, prev->nfield, sizeof(keytype), valsz, fn })

/* ---- named regions ----------------------------------------------------------- */

struct region_total {
	char label[KD_REGION_LABEL_LEN];
	__u64 count;
};

static int cmp_total(const void *a, const void *b)
{
	const struct region_total *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->label, y->label);
}

static bool region_named(const struct kd_vm *vm, const char *label)
{
	for (int i = 0; i < vm->nregions; i++)
		if (!strcmp(vm->regions[i], label))
			return true;
	return false;
}

/*
 * While a VM has fewer than --regions-top named regions, its largest
 * unnamed regions get names; a named region keeps its own series for
 * good.  (A true top N would move regions in and out of "other", and
 * "other" would then go backwards.)
 */
static int name_regions(struct kd_model *m)
{
	const struct kvmcmo_region_row *r = m->acc.regions;
	size_t n = m->acc.nregions, lo = 0;

	while (lo < n) {
		size_t hi = lo, nt = 0;
		struct kd_vm *vm = kd_vm_find(m, r[lo].key.vm);
		struct region_total *t;

		while (hi < n && r[hi].key.vm == r[lo].key.vm)
			hi++;
		if (!vm || vm->nregions >= m->opts.regions) {
			lo = hi;
			continue;
		}
		t = calloc(hi - lo, sizeof(*t));
		if (!t)
			return -ENOMEM;
		for (size_t i = lo; i < hi; i++) {
			char l[KD_REGION_LABEL_LEN];
			size_t k;

			kvmcmo_region_name(&r[i].key, l, sizeof(l));
			if (region_named(vm, l))
				continue;
			for (k = 0; k < nt && strcmp(t[k].label, l); k++)
				;
			if (k == nt)
				memcpy(t[nt++].label, l, sizeof(l));
			t[k].count += r[i].count;
		}
		qsort(t, nt, sizeof(*t), cmp_total);
		if (!vm->regions && nt) {
			vm->regions = calloc(m->opts.regions, sizeof(*vm->regions));
			if (!vm->regions) {
				free(t);
				return -ENOMEM;
			}
		}
		for (size_t k = 0; k < nt && vm->nregions < m->opts.regions; k++)
			memcpy(vm->regions[vm->nregions++], t[k].label, KD_REGION_LABEL_LEN);
		free(t);
		lo = hi;
	}
	return 0;
}

/* ---- the update ------------------------------------------------------------------ */

int kd_model_update(struct kd_model *m, struct kvmcmo_snapshot *cur)
{
	static const struct kvmcmo_snapshot empty;
	const struct kvmcmo_snapshot *prev = m->have_prev ? &m->prev : &empty;
	struct kvmcmo_snapshot acc = m->acc;
	double dt = m->have_prev ? (double)(cur->taken_ns - prev->taken_ns) / 1e9 : 0;
	int err;

	err = kd_vms_update(m, cur);
	if (err < 0)
		return err;
	/* fold() replaces the arrays of acc one by one: a failure (out of
	 * memory) leaves a model that is no longer exact, and the caller
	 * stops rather than serve it */
	err = fold(m, &ROWSET(aborts, naborts, struct kvmcmo_abort_key, 8, each_abort),
		   (void **)&acc.aborts, &acc.naborts);
	if (!err)
		err = fold(m, &ROWSET(lat, nlat, struct kvmcmo_lat_key,
				      sizeof(struct kvmcmo_hist), each_lat),
			   (void **)&acc.lat, &acc.nlat);
	if (!err)
		err = fold(m, &ROWSET(dabts, ndabts, struct kvmcmo_dabt_key, 8, NULL),
			   (void **)&acc.dabts, &acc.ndabts);
	if (!err)
		err = fold(m, &ROWSET(dfaults, ndfaults, struct kvmcmo_dfault_key,
				      sizeof(struct kvmcmo_hist), each_dfault),
			   (void **)&acc.dfaults, &acc.ndfaults);
	if (!err)
		err = fold(m, &ROWSET(regions, nregions, struct kvmcmo_region_key, 8, NULL),
			   (void **)&acc.regions, &acc.nregions);
	m->acc = acc;
	if (!err)
		err = name_regions(m);
	if (err)
		return err;

	/* how bursty: each tracked VM that lived in this interval gets one
	 * observation of its CMO aborts per second (from the second poll) */
	for (size_t i = 0; dt > 0 && i < m->nvms; i++) {
		struct kd_vm *vm = &m->vms[i];

		if (vm->alive || vm->fresh || vm->destroyed_ns > prev->taken_ns)
			kd_fhist_observe(&vm->rate, kd_rate_bounds, KD_RATE_BUCKETS,
					 (double)vm->cmo_inc / dt);
	}
	memcpy(m->stats, cur->stats, sizeof(m->stats));
	m->kernel_rows[0] = cur->naborts;
	m->kernel_rows[1] = cur->nlat;
	m->kernel_rows[2] = cur->ndabts;
	m->kernel_rows[3] = cur->ndfaults;
	m->kernel_rows[4] = cur->nregions;
	kvmcmo_snapshot_free(&m->prev);
	m->prev = *cur;
	memset(cur, 0, sizeof(*cur));
	m->have_prev = true;
	/* /healthz reads these two without the lock (http.c) */
	__atomic_store_n(&m->last_poll_ns, m->prev.taken_ns, __ATOMIC_RELAXED);
	__atomic_store_n(&m->polls, m->polls + 1, __ATOMIC_RELAXED);
	m->generation++;
	return err;
}
