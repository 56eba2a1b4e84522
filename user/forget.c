// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * forget.c - drop a destroyed VM's rows from the kernel maps.
 *
 * The kernel side keeps a destroyed VM's counters under its id so that a
 * reader sees its last numbers.  A long-lived reader (kvmcmod) that has
 * taken them calls kvmcmo_forget_vm(), or VM churn would fill the maps
 * (a full map is counted in the map_full stat and loses aborts).
 * Every per-VM key starts with the VM id (bpf/kvmcmo.h), so one walk per
 * map finds the rows.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "internal.h"
#include "kvmcmo.skel.h"

/* Keys of map whose first u64 is id, into *hits (malloc'd, *n of them):
 * collected first, then deleted, since deleting while walking a hash map
 * can restart the walk. */
static int vm_keys(struct bpf_map *map, __u64 id, char **hits, size_t *n)
{
	int fd = bpf_map__fd(map);
	size_t ksz = bpf_map__key_size(map), cap = 16;
	char *key = calloc(1, ksz), *next = calloc(1, ksz);
	int err = 0;

	*n = 0;
	*hits = malloc(cap * ksz);
	if (!key || !next || !*hits) {
		err = -ENOMEM;
		goto out;
	}
	for (void *prev = NULL; !bpf_map_get_next_key(fd, prev, next); prev = key) {
		__u64 vm;

		memcpy(key, next, ksz);
		memcpy(&vm, key, sizeof(vm));
		if (vm != id)
			continue;
		if (*n == cap) {
			char *h = realloc(*hits, 2 * cap * ksz);

			if (!h) {
				err = -ENOMEM;
				goto out;
			}
			*hits = h;
			cap *= 2;
		}
		memcpy(*hits + (*n)++ * ksz, key, ksz);
	}
out:
	free(key);
	free(next);
	return err;
}

static int forget_rows(struct bpf_map *map, __u64 id)
{
	int fd = bpf_map__fd(map);
	size_t ksz = bpf_map__key_size(map), n;
	char *hits;
	int err = vm_keys(map, id, &hits, &n);

	for (size_t i = 0; i < n && !err; i++)
		if (bpf_map_delete_elem(fd, hits + i * ksz) && errno != ENOENT)
			err = -errno;
	free(hits);
	return err;
}

/*
 * A dense counter row's id (first u64: the VM id) is dropped, its counts
 * zeroed, and the row given back to the free queue, in that order: the BPF
 * side only takes zeroed rows.
 */
static int forget_dense(struct bpf_map *ids, struct bpf_map *counts, struct bpf_map *free_q,
			__u64 id)
{
	int fd = bpf_map__fd(ids), cfd = bpf_map__fd(counts), qfd = bpf_map__fd(free_q);
	size_t ksz = bpf_map__key_size(ids), n;
	void *zero = calloc(1, bpf_map__value_size(counts));
	char *hits;
	int err = vm_keys(ids, id, &hits, &n);

	if (!err && !zero)
		err = -ENOMEM;
	for (size_t i = 0; i < n && !err; i++) {
		__u32 row;

		if (bpf_map_lookup_elem(fd, hits + i * ksz, &row) ||
		    bpf_map_delete_elem(fd, hits + i * ksz))
			continue;       /* gone already */
		if (bpf_map_update_elem(cfd, &row, zero, BPF_ANY) ||
		    bpf_map_update_elem(qfd, NULL, &row, BPF_ANY))
			err = -errno;
	}
	free(hits);
	free(zero);
	return err;
}

/* Is id a live VM (a value in the vms map, keyed by struct kvm pointer)? */
static int vm_alive(struct bpf_map *vms, __u64 id)
{
	int fd = bpf_map__fd(vms);
	struct kvmcmo_vm_info info;
	__u64 key, next;

	for (void *prev = NULL; !bpf_map_get_next_key(fd, prev, &next); prev = &key) {
		key = next;
		if (!bpf_map_lookup_elem(fd, &key, &info) && info.id == id)
			return 1;
	}
	return 0;
}

int kvmcmo_forget_vm(struct kvmcmo *k, __u64 id)
{
	struct kvmcmo_bpf *skel = kvmcmo_skel(k);
	struct bpf_map *maps[] = {
		skel->maps.aborts, skel->maps.latency, skel->maps.dabts,
		skel->maps.dfaults, skel->maps.regions,
	};
	int err = 0, e;

	if (vm_alive(skel->maps.vms, id))
		return -EBUSY;
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		e = forget_rows(maps[i], id);
		if (e && !err)
			err = e;
	}
	e = forget_dense(skel->maps.vcpu_rows, skel->maps.vcpu_counts, skel->maps.vcpu_free, id);
	if (e && !err)
		err = e;
	e = forget_dense(skel->maps.region_rows, skel->maps.region_counts, skel->maps.region_free, id);
	if (e && !err)
		err = e;
	/* the name last: a reader never sees rows without their VM */
	if (bpf_map_delete_elem(bpf_map__fd(skel->maps.dead_vms), &id) && errno != ENOENT && !err)
		err = -errno;
	return err;
}
