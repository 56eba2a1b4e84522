// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * snapshot.c - read the kernel maps into plain sorted arrays.
 *
 * Counters stay cumulative in the kernel and are never reset by readers:
 * per-interval numbers are differences of two snapshots, so no event is
 * lost between a read and a reset, and several readers can share maps.
 * Every value kvmcmo keeps is an array of u64 words, so summing per-CPU
 * copies is word-wise addition whatever the record.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "internal.h"
#include "kvmcmo.skel.h"

#ifndef ENOTSUPP
#define ENOTSUPP 524    /* the kernel's own: no batch op for this map type */
#endif

struct rows {
	void *data;
	size_t n;
	size_t cap;             /* rows allocated */
};

/* Room for one more row of rsz bytes at the end of r: the new row, or NULL. */
static char *rows_grow(struct rows *r, size_t rsz)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 64;
		char *d = realloc(r->data, cap * rsz);

		if (!d)
			return NULL;
		r->data = d;
		r->cap = cap;
	}
	return (char *)r->data + r->n++ * rsz;
}

/* Append one (key, per-CPU values) row to out, summing the CPUs' copies. */
static int add_row(struct rows *out, const void *key, size_t ksz,
		   const char *vals, size_t vsz, size_t stride, int ncpu)
{
	char *row = rows_grow(out, ksz + vsz);

	if (!row)
		return -ENOMEM;
	memcpy(row, key, ksz);
	memcpy(row + ksz, vals, vsz);
	for (int c = 1; c < ncpu; c++) {
		__u64 *dst = (__u64 *)(row + ksz);
		const __u64 *src = (const __u64 *)(vals + c * stride);

		for (size_t w = 0; w < vsz / 8; w++)
			dst[w] += src[w];
	}
	return 0;
}

/*
 * The whole map in a few BPF_MAP_LOOKUP_BATCH calls (hash maps, 5.6+: all
 * four kernels) instead of two system calls per row: a poll of 200 VMs
 * reads thousands of rows.  1: the kernel has no batch op for this map,
 * use the walk.  A bucket with more rows than the batch (ENOSPC) doubles it.
 * The kernel lays the values out value_size apart, or, per-CPU, each CPU's
 * copy rounded up to 8 bytes (stride): esz is one element's span.
 */
static int read_map_batch(int fd, size_t ksz, size_t vsz, size_t stride, int ncpu,
			  size_t esz, struct rows *out)
{
	size_t chunk = 256;
	char *keys = NULL, *vals = NULL;
	__u64 tok_in = 0, tok_out = 0;  /* a hash map's token is a bucket index */
	bool first = true;
	int err = 0;

	for (;;) {
		__u32 count = (__u32)chunk;
		int r;

		if (!keys) {
			keys = malloc(chunk * ksz);
			vals = malloc(chunk * esz);
			if (!keys || !vals) {
				err = -ENOMEM;
				break;
			}
		}
		r = bpf_map_lookup_batch(fd, first ? NULL : &tok_in, &tok_out, keys, vals,
					 &count, NULL);
		if (r && errno == ENOSPC && chunk < (1U << 20)) {
			chunk *= 2;
			free(keys);
			free(vals);
			keys = vals = NULL;
			continue;
		}
		if (r && errno != ENOENT) {
			err = first && (errno == EINVAL || errno == ENOTSUPP || errno == EOPNOTSUPP) ?
			      1 : -errno;
			break;
		}
		for (__u32 i = 0; i < count && !err; i++)
			err = add_row(out, keys + i * ksz, ksz, vals + (size_t)i * esz,
				      vsz, stride, ncpu);
		if (err || r)           /* ENOENT: that was the last batch */
			break;
		tok_in = tok_out;
		first = false;
	}
	free(keys);
	free(vals);
	return err;
}

/*
 * Read one map into rows of (key, value) laid end to end, values summed
 * over CPUs for per-CPU maps.  batch: hash maps in BPF_MAP_LOOKUP_BATCH
 * calls.  Not with kprobes: the kernel skips every kprobe program on a CPU
 * while a map system call runs there (bpf_disable_instrumentation), and a
 * batch holds that for a whole map where the walk holds it for one row; a
 * reader preempted inside it (7.2 is PREEMPT_LAZY) hid a VM's destroy from
 * kvmcmod.  fentry programs have their own per-program guard.
 */
static int read_map(struct bpf_map *map, struct rows *out, bool batch)
{
	int fd = bpf_map__fd(map);
	enum bpf_map_type type = bpf_map__type(map);
	size_t ksz = bpf_map__key_size(map), vsz = bpf_map__value_size(map);
	bool percpu = type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY;
	int ncpu = percpu ? libbpf_num_possible_cpus() : 1;
	size_t stride = (vsz + 7) & ~7UL;
	char *key = NULL, *next = NULL, *vals = NULL;
	int err = 0, rc;

	if (ncpu < 1)
		return -EINVAL;
	out->data = NULL;
	out->n = out->cap = 0;
	if (batch && (type == BPF_MAP_TYPE_HASH || type == BPF_MAP_TYPE_PERCPU_HASH ||
		      type == BPF_MAP_TYPE_LRU_HASH)) {
		err = read_map_batch(fd, ksz, vsz, stride, ncpu,
				     percpu ? stride * (size_t)ncpu : vsz, out);
		if (err <= 0)
			goto out;
		err = 0;
		free(out->data);
		out->data = NULL;
		out->n = out->cap = 0;
	}
	key = calloc(1, ksz);
	next = calloc(1, ksz);
	vals = calloc(ncpu, stride);
	if (!key || !next || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (void *prev = NULL; !(rc = bpf_map_get_next_key(fd, prev, next)); prev = key) {
		memcpy(key, next, ksz);
		/* deleted between next_key and lookup: skip it */
		rc = bpf_map_lookup_elem(fd, key, vals);
		if (rc == -ENOENT)
			continue;
		if (rc) {
			err = rc;
			goto out;
		}
		err = add_row(out, key, ksz, vals, vsz, stride, ncpu);
		if (err)
			goto out;
	}
	/* ENOENT ends the walk; anything else (EPERM once a daemon dropped a
	 * capability the kernel still wants) must not read as an empty map */
	if (rc != -ENOENT)
		err = rc < 0 ? rc : -EIO;
out:
	if (err) {
		free(out->data);
		out->data = NULL;
		out->n = out->cap = 0;
	} else if (!out->data) {
		out->data = malloc(1);  /* callers free it, and NULL means failure */
		if (!out->data)
			err = -ENOMEM;
	}
	free(key);
	free(next);
	free(vals);
	return err;
}

static size_t g_ksz;    /* qsort has no context argument in C11 */

static int cmp_key(const void *a, const void *b)
{
	return memcmp(a, b, g_ksz);
}

/*
 * Sort rows by key and fold rows with equal keys into one (a label counted
 * both in a dense row and in the hash map it overflowed to): values are
 * u64 words, summed.
 */
static void sort_fold(struct rows *r, size_t ksz, size_t vsz)
{
	size_t rsz = ksz + vsz, n = 0;
	char *d = r->data;

	g_ksz = ksz;
	if (r->n)
		qsort(d, r->n, rsz, cmp_key);
	for (size_t i = 0; i < r->n; i++) {
		char *row = d + i * rsz;

		if (n && !memcmp(d + (n - 1) * rsz, row, ksz)) {
			__u64 *dst = (__u64 *)(d + (n - 1) * rsz + ksz);
			const __u64 *src = (const __u64 *)(row + ksz);

			for (size_t w = 0; w < vsz / 8; w++)
				dst[w] += src[w];
			continue;
		}
		if (n != i)
			memcpy(d + n * rsz, row, rsz);
		n++;
	}
	r->n = n;
}

static int read_sorted(struct bpf_map *map, void **arr, size_t *n, bool batch)
{
	struct rows r = {};
	int err = read_map(map, &r, batch);

	if (err)
		return err;
	sort_fold(&r, bpf_map__key_size(map), bpf_map__value_size(map));
	*arr = r.data;
	*n = r.n;
	return 0;
}

/* Append one row of rsz bytes. */
static int rows_push(struct rows *r, size_t rsz, const void *row)
{
	char *slot = rows_grow(r, rsz);

	if (!slot)
		return -ENOMEM;
	memcpy(slot, row, rsz);
	return 0;
}

/* The rows of one (VM, vCPU) dense counter row, as abort and latency rows. */
static int vcpu_dense_rows(const struct kvmcmo_vcpu_id *id, const struct kvmcmo_vcpu_counts *c,
			   struct rows *ab, struct rows *lat)
{
	int err = 0;

	for (__u32 l = 0; l < KVMCMO_LABELS && !err; l++) {
		struct kvmcmo_abort_row r = { .key.vm = id->vm, .key.vcpu = id->vcpu };

		if (!c->aborts[l])
			continue;
		kvmcmo_label_split(l, &r.key.kind, &r.key.fault, &r.key.memslot, &r.key.outcome);
		r.count = c->aborts[l];
		err = rows_push(ab, sizeof(r), &r);
	}
	for (__u32 o = 0; o < KVMCMO_OUTCOME__COUNT && !err; o++) {
		struct kvmcmo_lat_row r = { .key.vm = id->vm, .key.outcome = o };

		if (!c->lat[o].count)
			continue;
		r.hist = c->lat[o];
		err = rows_push(lat, sizeof(r), &r);
	}
	return err;
}

/* The rows of one memslot region's dense counter row. */
static int region_dense_rows(const struct kvmcmo_region_id *id,
			     const struct kvmcmo_region_counts *c, struct rows *reg)
{
	int err = 0;

	for (__u32 l = 0; l < KVMCMO_REGION_LABELS && !err; l++) {
		struct kvmcmo_region_row r = {
			.key.vm = id->vm, .key.base = id->base, .key.size = id->size,
			.key.slot = id->slot,
		};

		if (!c->aborts[l])
			continue;
		kvmcmo_region_label_split(l, &r.key.kind, &r.key.memslot, &r.key.outcome);
		r.count = c->aborts[l];
		err = rows_push(reg, sizeof(r), &r);
	}
	return err;
}

/*
 * The dense counters: for every (id -> row) of ids, the row of counts.
 * A row freed between the two reads (kvmcmo_forget_vm) reads as zeros.
 */
static int read_dense(struct bpf_map *ids, struct bpf_map *counts,
		      struct rows *a, struct rows *b, bool batch)
{
	struct rows idr = {};
	size_t ksz = bpf_map__key_size(ids), vsz = bpf_map__value_size(counts);
	int fd = bpf_map__fd(counts), err = read_map(ids, &idr, batch);
	void *val = malloc(vsz);

	if (!err && !val)
		err = -ENOMEM;
	for (size_t i = 0; i < idr.n && !err; i++) {
		const char *rec = (const char *)idr.data + i * (ksz + sizeof(__u32));
		union {
			struct kvmcmo_vcpu_id v;
			struct kvmcmo_region_id r;
		} key = {};
		__u32 row;

		/* rows of ksz + 4 bytes: copied out, not cast (alignment) */
		memcpy(&key, rec, ksz < sizeof(key) ? ksz : sizeof(key));
		memcpy(&row, rec + ksz, sizeof(row));
		if (bpf_map_lookup_elem(fd, &row, val))
			continue;
		if (b)
			err = vcpu_dense_rows(&key.v, val, a, b);
		else
			err = region_dense_rows(&key.r, val, a);
	}
	free(val);
	free(idr.data);
	return err;
}

/* aborts, latency and regions: the hash maps' rows and the dense rows */
static int read_counts(struct kvmcmo_bpf *skel, struct kvmcmo_snapshot *s, bool batch)
{
	struct rows ab = {}, lat = {}, reg = {};
	int err = read_map(skel->maps.aborts, &ab, batch);

	if (!err)
		err = read_map(skel->maps.latency, &lat, batch);
	if (!err)
		err = read_map(skel->maps.regions, &reg, batch);
	if (!err)
		err = read_dense(skel->maps.vcpu_rows, skel->maps.vcpu_counts, &ab, &lat, batch);
	if (!err)
		err = read_dense(skel->maps.region_rows, skel->maps.region_counts, &reg, NULL,
				 batch);
	if (err) {
		free(ab.data);
		free(lat.data);
		free(reg.data);
		return err;
	}
	sort_fold(&ab, sizeof(struct kvmcmo_abort_key), sizeof(__u64));
	sort_fold(&lat, sizeof(struct kvmcmo_lat_key), sizeof(struct kvmcmo_hist));
	sort_fold(&reg, sizeof(struct kvmcmo_region_key), sizeof(__u64));
	s->aborts = ab.data;
	s->naborts = ab.n;
	s->lat = lat.data;
	s->nlat = lat.n;
	s->regions = reg.data;
	s->nregions = reg.n;
	return 0;
}

static void vm_from_info(struct kvmcmo_vm *vm, const struct kvmcmo_vm_info *info, bool alive)
{
	size_t n = info->cmdline_len < sizeof(info->cmdline) ? info->cmdline_len : sizeof(info->cmdline);

	memset(vm, 0, sizeof(*vm));
	vm->id = info->id;
	vm->pid = info->pid;
	vm->alive = alive;
	vm->first_ns = info->first_ns;
	vm->destroyed_ns = info->destroyed_ns;
	vm->fd = kvmcmo_vm_fd(info->debugfs_name);
	/* the argv captured at first sight, then the live process, then comm */
	if (kvmcmo_vm_name_from_cmdline(info->cmdline, n, vm->name, sizeof(vm->name)) &&
	    kvmcmo_vm_name(info->pid, vm->name, sizeof(vm->name)))
		snprintf(vm->name, sizeof(vm->name), "%.*s", (int)sizeof(info->comm), info->comm);
}

static int cmp_vm(const void *a, const void *b)
{
	const struct kvmcmo_vm *x = a, *y = b;

	if (x->first_ns != y->first_ns)
		return x->first_ns < y->first_ns ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int read_vms(struct kvmcmo_bpf *skel, struct kvmcmo_snapshot *s, bool batch)
{
	struct rows live = {}, dead = {};
	size_t lrsz = sizeof(__u64) + sizeof(struct kvmcmo_vm_info);
	int err;

	err = read_map(skel->maps.vms, &live, batch);
	if (!err)
		err = read_map(skel->maps.dead_vms, &dead, batch);
	if (err)
		goto out;
	s->vms = calloc(live.n + dead.n + 1, sizeof(*s->vms));
	if (!s->vms) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < live.n; i++)
		vm_from_info(&s->vms[s->nvms++],
			     (void *)((char *)live.data + i * lrsz + sizeof(__u64)), true);
	for (size_t i = 0; i < dead.n; i++)
		vm_from_info(&s->vms[s->nvms++],
			     (void *)((char *)dead.data + i * lrsz + sizeof(__u64)), false);
	qsort(s->vms, s->nvms, sizeof(*s->vms), cmp_vm);
out:
	free(live.data);
	free(dead.data);
	return err;
}

int kvmcmo_snapshot_read(struct kvmcmo *k, struct kvmcmo_snapshot *s)
{
	struct kvmcmo_bpf *skel = kvmcmo_skel(k);
	bool batch = !kvmcmo_uses_kprobes(k);
	struct timespec ts;
	struct rows st = {};
	int err;

	memset(s, 0, sizeof(*s));
	/* first, so the VM list read below knows every VM KVM has destroyed */
	err = kvmcmo_reap_vms(k);
	if (err < 0)
		return err;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	s->taken_ns = (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	err = read_counts(skel, s, batch);
	if (!err)
		err = read_sorted(skel->maps.dabts, (void **)&s->dabts, &s->ndabts, batch);
	if (!err)
		err = read_sorted(skel->maps.dfaults, (void **)&s->dfaults, &s->ndfaults, batch);
	/* VMs last: every id in the rows above is then in the VM list */
	if (!err)
		err = read_vms(skel, s, batch);
	if (!err)
		err = read_map(skel->maps.stats, &st, batch);
	if (!err) {
		for (size_t i = 0; i < st.n; i++) {
			__u32 idx;
			__u64 v;

			memcpy(&idx, (char *)st.data + i * 12, 4);
			memcpy(&v, (char *)st.data + i * 12 + 4, 8);
			if (idx < KVMCMO_STAT__COUNT)
				s->stats[idx] = v;
		}
		s->stats[KVMCMO_STAT_VM_DESTROY_UNSEEN] += kvmcmo_reaper(k)->reaped;
	}
	free(st.data);
	if (err)
		kvmcmo_snapshot_free(s);
	return err;
}

void kvmcmo_snapshot_free(struct kvmcmo_snapshot *s)
{
	free(s->vms);
	free(s->aborts);
	free(s->lat);
	free(s->dabts);
	free(s->dfaults);
	free(s->regions);
	memset(s, 0, sizeof(*s));
}

const struct kvmcmo_vm *kvmcmo_snapshot_vm(const struct kvmcmo_snapshot *s, __u64 id)
{
	for (size_t i = 0; i < s->nvms; i++)
		if (s->vms[i].id == id)
			return &s->vms[i];
	return NULL;
}

/*
 * d = cur - prev for one sorted row array: a merge on the key.  Values are
 * u64 words; a row whose difference is all zero is dropped.
 */
static int delta_rows(const void *cur, size_t ncur, const void *prev, size_t nprev,
		      size_t ksz, size_t vsz, void **out, size_t *nout)
{
	size_t rsz = ksz + vsz, j = 0;
	char *d = malloc((ncur + 1) * rsz);

	if (!d)
		return -ENOMEM;
	*nout = 0;
	for (size_t i = 0; i < ncur; i++) {
		const char *c = (const char *)cur + i * rsz;
		char *row = d + *nout * rsz;
		bool nonzero = false;
		int cmp = 1;

		while (j < nprev && (cmp = memcmp((const char *)prev + j * rsz, c, ksz)) < 0)
			j++;
		memcpy(row, c, rsz);
		if (j < nprev && cmp == 0) {
			__u64 *dv = (__u64 *)(row + ksz);
			const __u64 *pv = (const __u64 *)((const char *)prev + j * rsz + ksz);

			for (size_t w = 0; w < vsz / 8; w++)
				dv[w] -= pv[w];
		}
		for (size_t w = 0; w < vsz / 8; w++)
			nonzero |= ((__u64 *)(row + ksz))[w] != 0;
		if (nonzero)
			(*nout)++;
	}
	*out = d;
	return 0;
}

#define DELTA(field, nfield, keytype, valsz)                                        \
	delta_rows(cur->field, cur->nfield, prev->field, prev->nfield,             \
		   sizeof(keytype), valsz, (void **)&d->field, &d->nfield)

int kvmcmo_snapshot_delta(const struct kvmcmo_snapshot *cur,
			  const struct kvmcmo_snapshot *prev,
			  struct kvmcmo_snapshot *d)
{
	int err;

	memset(d, 0, sizeof(*d));
	d->taken_ns = cur->taken_ns;
	err = DELTA(aborts, naborts, struct kvmcmo_abort_key, sizeof(__u64));
	if (!err)
		err = DELTA(lat, nlat, struct kvmcmo_lat_key, sizeof(struct kvmcmo_hist));
	if (!err)
		err = DELTA(dabts, ndabts, struct kvmcmo_dabt_key, sizeof(__u64));
	if (!err)
		err = DELTA(dfaults, ndfaults, struct kvmcmo_dfault_key, sizeof(struct kvmcmo_hist));
	if (!err)
		err = DELTA(regions, nregions, struct kvmcmo_region_key, sizeof(__u64));
	if (!err) {
		d->vms = malloc((cur->nvms + 1) * sizeof(*d->vms));
		if (!d->vms)
			err = -ENOMEM;
		else
			memcpy(d->vms, cur->vms, cur->nvms * sizeof(*d->vms));
		d->nvms = cur->nvms;
	}
	for (int i = 0; i < KVMCMO_STAT__COUNT; i++)
		d->stats[i] = cur->stats[i] - prev->stats[i];
	if (err)
		kvmcmo_snapshot_free(d);
	return err;
}
