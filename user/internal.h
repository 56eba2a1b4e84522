/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* internal.h - what the library's own files share, not front ends */
#ifndef __KVMCMO_INTERNAL_H
#define __KVMCMO_INTERNAL_H

#include "libkvmcmo.h"

struct kvmcmo_bpf;
struct kvmcmo_bpf *kvmcmo_skel(struct kvmcmo *k);
/* true when any probe is a kprobe: see read_map() in snapshot.c */
bool kvmcmo_uses_kprobes(const struct kvmcmo *k);

/* ---- VMs destroyed unseen (reap.c) ---- */

/*
 * How long KVM must have shown a VM gone before reap.c retires it: KVM
 * removes the VM's debugfs directory at the start of kvm_destroy_vm() and
 * calls kvm_arch_destroy_vm() (our probe) after tearing down stage 2, so
 * a VM is briefly gone from debugfs but not yet seen destroyed.
 */
#define KVMCMO_REAP_AFTER_NS 1000000000ULL

struct kvmcmo_suspect {
	__u64 id;
	__u64 since_ns;         /* first seen gone: its destroyed_ns if retired */
};

struct kvmcmo_reaper {
	struct kvmcmo_suspect *suspects;
	size_t nsuspects;
	__u64 reaped;           /* VMs retired so far: the vm_destroy_unseen stat */
};

struct kvmcmo_reaper *kvmcmo_reaper(struct kvmcmo *k);

/* ---- is a VM alive? (vmlive.c) ---- */
enum kvmcmo_vm_live {
	KVMCMO_VM_GONE,
	KVMCMO_VM_ALIVE,
	KVMCMO_VM_UNKNOWN,      /* nothing to tell: readers keep it alive */
};

/* The VM fd in KVM's debugfs name "<pid>-<fd>", or -1. */
int kvmcmo_vm_fd(const char *debugfs_name);
/* Does this process see global pids (the initial pid namespace)? */
bool kvmcmo_global_pids(void);
/* What KVM's debugfs, else (global_pids) /proc, says of a VM; root
 * prefixes every path ("" on a host, a directory in tests). */
enum kvmcmo_vm_live kvmcmo_vm_live(const char *root, __u32 pid, const char *debugfs_name,
				   bool global_pids);
/* Move VMs destroyed unseen to the dead list (reap.c): how many, or -errno */
int kvmcmo_reap_vms(struct kvmcmo *k);

#endif
