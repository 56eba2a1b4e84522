// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * reap.c - VMs destroyed behind the destroy probe's back.
 *
 * A skipped kvm_arch_destroy_vm() kprobe (vmlive.c says when) leaves a
 * dead VM in the live list: it would never expire from kvmcmod, and its
 * rows would never leave the kernel maps.  Before each snapshot the live
 * list is checked against what KVM itself shows, and a VM KVM no longer
 * has is moved to the dead list as the destroy program would have done,
 * when it was first found gone.  It is counted in the vm_destroy_unseen
 * stat, with the BPF side's own finds (a struct kvm reused by another
 * process, bpf/kvmcmo.bpf.c vm_id()).
 *
 * Every snapshot checks, not only after a recursion miss: 5.10 does not
 * count misses.  The check costs a stat() or two per live VM.  A VM is
 * retired only when KVM has shown it gone for KVMCMO_REAP_AFTER_NS, as
 * its destroy probe runs a little after KVM removes what we look at; its
 * destroyed_ns is when it was first seen gone.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "internal.h"
#include "kvmcmo.skel.h"

struct live_vm {
	__u64 kvm;              /* the vms map key */
	struct kvmcmo_vm_info info;
};

/* A newer VM of the same VMM made under the same "<pid>-<fd>": the VM fd
 * was closed and reused, so this one is gone even if the name lives. */
static bool superseded(const struct live_vm *v, const struct live_vm *all, size_t n)
{
	if (!v->info.debugfs_name[0])
		return false;
	for (size_t i = 0; i < n; i++)
		if (all[i].info.pid == v->info.pid && all[i].info.first_ns > v->info.first_ns &&
		    !strcmp(all[i].info.debugfs_name, v->info.debugfs_name))
			return true;
	return false;
}

static int live_vms(int fd, struct live_vm **out, size_t *n)
{
	size_t cap = 16;
	__u64 key, last, *prev = NULL;
	struct live_vm *v = malloc(cap * sizeof(*v));

	*n = 0;
	if (!v)
		return -ENOMEM;
	while (!bpf_map_get_next_key(fd, prev, &key)) {
		last = key;
		prev = &last;
		if (*n == cap) {
			struct live_vm *w = realloc(v, 2 * cap * sizeof(*v));

			if (!w) {
				free(v);
				return -ENOMEM;
			}
			v = w;
			cap *= 2;
		}
		v[*n].kvm = key;
		/* ENOENT: destroyed since the walk found it */
		if (!bpf_map_lookup_elem(fd, &key, &v[*n].info))
			(*n)++;
		else if (errno != ENOENT) {
			free(v);
			return -errno;
		}
	}
	if (errno != ENOENT) {
		free(v);
		return -errno;
	}
	*out = v;
	return 0;
}

/* live -> dead, unless the entry changed since it was read */
static int retire(struct kvmcmo_bpf *skel, const struct live_vm *v, __u64 destroyed_ns)
{
	int live = bpf_map__fd(skel->maps.vms), dead = bpf_map__fd(skel->maps.dead_vms);
	struct kvmcmo_vm_info cur;

	if (bpf_map_lookup_elem(live, &v->kvm, &cur))
		return errno == ENOENT ? 0 : -errno;    /* the probe saw it after all */
	if (cur.id != v->info.id)
		return 0;
	cur.destroyed_ns = destroyed_ns;
	if (bpf_map_update_elem(dead, &cur.id, &cur, BPF_ANY))
		return -errno;
	if (bpf_map_delete_elem(live, &v->kvm))
		return errno == ENOENT ? 0 : -errno;
	return 1;
}

static __u64 suspect_since(const struct kvmcmo_reaper *r, __u64 id, __u64 now)
{
	for (size_t i = 0; i < r->nsuspects; i++)
		if (r->suspects[i].id == id)
			return r->suspects[i].since_ns;
	return now;
}

int kvmcmo_reap_vms(struct kvmcmo *k)
{
	struct kvmcmo_bpf *skel = kvmcmo_skel(k);
	struct kvmcmo_reaper *r = kvmcmo_reaper(k);
	struct kvmcmo_suspect *next;
	bool global = kvmcmo_global_pids();
	struct live_vm *v = NULL;
	struct timespec ts;
	size_t n, nnext = 0;
	__u64 now;
	int err, reaped = 0;

	err = live_vms(bpf_map__fd(skel->maps.vms), &v, &n);
	if (err)
		return err;
	next = malloc((n + 1) * sizeof(*next));
	if (!next) {
		free(v);
		return -ENOMEM;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);   /* bpf_ktime_get_ns()'s clock */
	now = (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	for (size_t i = 0; i < n && !err; i++) {
		__u64 since;

		if (!superseded(&v[i], v, n) &&
		    kvmcmo_vm_live("", v[i].info.pid, v[i].info.debugfs_name, global) !=
		    KVMCMO_VM_GONE)
			continue;
		/* gone for long enough that the destroy probe would have run */
		since = suspect_since(r, v[i].info.id, now);
		if (now - since < KVMCMO_REAP_AFTER_NS) {
			next[nnext++] = (struct kvmcmo_suspect){ v[i].info.id, since };
			continue;
		}
		err = retire(skel, &v[i], since);
		if (err > 0) {
			reaped++;
			err = 0;
		}
	}
	free(v);
	free(r->suspects);
	r->suspects = next;
	r->nsuspects = nnext;
	if (reaped) {
		/* threads that cached the VM's id look it up again (thread_vm()) */
		int fd = bpf_map__fd(skel->maps.destroy_gen);
		__u32 zero = 0;
		__u64 gen;

		if (!bpf_map_lookup_elem(fd, &zero, &gen)) {
			gen++;
			bpf_map_update_elem(fd, &zero, &gen, BPF_ANY);
		}
		r->reaped += reaped;
	}
	return err ? err : reaped;
}
