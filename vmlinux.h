/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * vmlinux.h - minimal, hand-kept CO-RE header for arm64 KVM (not generated).
 *
 * Only the types and fields kvmcmo reads.  Every struct carries
 * preserve_access_index, so field offsets are relocated by libbpf against
 * the running kernel's /sys/kernel/btf/vmlinux; the layouts below only need
 * the right field NAMES and TYPES, not the right offsets.
 *
 * Checked against the BTF of the four Debian arm64 kernels we support
 * (5.10, 6.1, 6.12, 7.2): tests/vm/matrix.sh loads and attaches
 * bpf/kvmcmo.bpf.o on each of them, and libbpf refuses to load a program
 * with a CO-RE relocation it cannot resolve on a reachable path.  Each
 * kernel's full header, for reading, is cut from its Image by
 * scripts/fetch-kernels.sh (~/.cache/kvmcmo/kernels/<series>/vmlinux.h).
 *
 * To regenerate a full header instead, for one kernel:
 *   bpftool btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h
 * (or, without booting: file ~/.cache/kvmcmo/kernels/<series>/btf).
 * Kernel drift is handled in bpf/kvm_read.bpf.h, not here: where a field
 * changed, the old shape is a ___flavor struct below.
 */
#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

typedef signed char __s8;
typedef unsigned char __u8;
typedef short __s16;
typedef unsigned short __u16;
typedef int __s32;
typedef unsigned int __u32;
typedef long long __s64;
typedef unsigned long long __u64;
typedef __s8 s8;
typedef __u8 u8;
typedef __s16 s16;
typedef __u16 u16;
typedef __s32 s32;
typedef __u32 u32;
typedef __s64 s64;
typedef __u64 u64;
typedef _Bool bool;
typedef __u64 gfn_t;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
enum { false = 0, true = 1 };

enum bpf_map_type {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PERCPU_HASH = 5,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_LRU_HASH = 9,
	BPF_MAP_TYPE_QUEUE = 22,
};

enum {
	BPF_ANY = 0,
	BPF_NOEXIST = 1,
	BPF_EXIST = 2,
};

/* arm64 uapi register file: the kprobe context (stable ABI, no CO-RE needed) */
struct user_pt_regs {
	__u64 regs[31];
	__u64 sp;
	__u64 pc;
	__u64 pstate;
};

struct pt_regs {
	struct user_pt_regs user_regs;
	__u64 orig_x0;
};

struct rb_node {
	unsigned long __rb_parent_color;
	struct rb_node *rb_right;
	struct rb_node *rb_left;
};

struct rb_root {
	struct rb_node *rb_node;
};

struct qstr {
	__u64 hash_len;
	const unsigned char *name;
};

struct dentry {
	struct qstr d_name;
};

/* 6.x: esr_el2 is u64; 5.10 had u32 (read by size, kvm_read.bpf.h) */
struct kvm_vcpu_fault_info {
	__u64 esr_el2;
	__u64 far_el2;
	__u64 hpfar_el2;
};

struct kvm_cpu_context {
	struct user_pt_regs regs;
};

struct kvm_vcpu_arch {
	struct kvm_cpu_context ctxt;
	struct kvm_s2_mmu *hw_mmu;
	struct kvm_vcpu_fault_info fault;
	__u8 iflags;            /* 6.0+: INCREMENT_PC and pending exceptions */
};

struct kvm_run {
	__u32 exit_reason;
};

struct kvm;

struct mm_struct {
	unsigned long arg_start;
	unsigned long arg_end;
};

struct hlist_node {
	struct hlist_node *next;
	struct hlist_node **pprev;
};

struct hlist_head {
	struct hlist_node *first;
};

/* KVM links its vcpu's notifier into the vCPU thread while the vcpu is
 * loaded (vcpu_load()): how a tracepoint finds the running vcpu */
struct preempt_notifier {
	struct hlist_node link;
};

struct task_struct {
	struct mm_struct *mm;
	struct hlist_head preempt_notifiers;
};

/* the stage-2 page table (5.10+); start_level is u32 in 5.10, s8 since
 * 6.7 (read with BPF_CORE_READ_BITFIELD_PROBED, which sizes it) */
struct kvm_pgtable {
	u32 ia_bits;
	u32 start_level;
	u64 *pgd;
};

struct kvm_s2_mmu {
	u64 pgd_phys;
	struct kvm_pgtable *pgt;
};

struct kvm_vcpu {
	struct kvm *kvm;
	struct preempt_notifier preempt_notifier;
	int vcpu_id;
	struct kvm_run *run;
	struct kvm_vcpu_arch arch;
};

struct kvm_memory_slot {
	struct rb_node gfn_node[2];     /* 5.17+: node in kvm_memslots.gfn_tree */
	gfn_t base_gfn;
	unsigned long npages;
	__u32 flags;
	short id;
};

/* 5.17+: memslots in an rbtree by gfn, two copies (node_idx picks one) */
struct kvm_memslots {
	__u64 generation;       /* not read by kvmcmo (see thread_memslot()) */
	struct rb_root gfn_tree;
	int node_idx;
};

/* up to 5.16: a sorted array (descending base_gfn), see kvm_read.bpf.h */
struct kvm_memslots___array {
	struct kvm_memory_slot memslots[512];
	int used_slots;
};

struct kvm {
	struct kvm_memslots *memslots[1];       /* arm64: one address space */
	struct dentry *debugfs_dentry;          /* "<pid>-<fd>" */
};

/* stage-2 permissions: values moved in 7.2 (W 2->4, R 4->8); use
 * bpf_core_enum_value(), never these numbers */
enum kvm_pgtable_prot {
	KVM_PGTABLE_PROT_X = 1,
	KVM_PGTABLE_PROT_W = 2,
	KVM_PGTABLE_PROT_R = 4,
};

#pragma clang attribute pop

#endif /* __VMLINUX_H__ */
