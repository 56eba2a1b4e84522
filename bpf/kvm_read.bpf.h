/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * kvm_read.bpf.h - CO-RE readers for the KVM state kvmcmo classifies.
 *
 * Every kernel difference between 5.10 and 7.2 that the programs meet is
 * absorbed here, by feature tests on the running kernel's BTF (never by
 * version number).  Each reader names the kernel change it covers.
 *
 * The vcpu comes from current->preempt_notifiers (kvm_current_vcpu()),
 * not from a BTF-typed argument, so every read is a probe read.
 */
#ifndef __KVM_READ_BPF_H
#define __KVM_READ_BPF_H

#include <bpf/bpf_core_read.h>
#include "kvmcmo.h"

/*
 * ESR_EL2 as saved at guest exit.  u32 up to 5.18, u64 since "KVM: arm64:
 * Treat ESR_EL2 as a 64-bit register" (5.19): read by the field's size so
 * the high half of a u32 field is never padding garbage.
 */
static __always_inline __u64 kvm_read_esr(struct kvm_vcpu *vcpu)
{
	if (bpf_core_field_size(vcpu->arch.fault.esr_el2) == 4) {
		__u32 v = 0;

		bpf_core_read(&v, sizeof(v), &vcpu->arch.fault.esr_el2);
		return v;
	}
	return BPF_CORE_READ(vcpu, arch.fault.esr_el2);
}

/*
 * Faulting IPA from HPFAR_EL2.FIPA (bits 47:4 hold IPA bits 55:12).  7.2
 * keeps bit 63 (NS) as a "valid" mark: the mask drops it and the RES0 bits.
 */
#define KVMCMO_HPFAR_FIPA_MASK 0x0000fffffffffff0ULL

static __always_inline __u64 kvm_read_ipa(struct kvm_vcpu *vcpu)
{
	__u64 hpfar = BPF_CORE_READ(vcpu, arch.fault.hpfar_el2);

	return (hpfar & KVMCMO_HPFAR_FIPA_MASK) << 8;
}

static __always_inline __u64 kvm_read_pc(struct kvm_vcpu *vcpu)
{
	return BPF_CORE_READ(vcpu, arch.ctxt.regs.pc);
}

/* 6.0+: PC moves are deferred to the next guest entry (iflags) */
static __always_inline int kvm_pc_deferred(struct kvm_vcpu *vcpu)
{
	return bpf_core_field_exists(vcpu->arch.iflags);
}

/*
 * Did KVM arrange to skip the guest instruction?  Since 5.12 ("KVM: arm64:
 * Defer guest PC increment") kvm_incr_pc() sets INCREMENT_PC, bit 1 of
 * vcpu->arch.iflags (6.0+; bits 1..3 also encode a pending exception when
 * bit 0, PENDING_EXCEPTION, is set).  Before it, kvm_skip_instr() moved
 * the PC at once, by the instruction's length (ESR.IL): an injected
 * exception also moves the PC (to a vector), so only PC + length is a skip.
 */
#define KVMCMO_IFLAG_PENDING_EXCEPTION 0x1
#define KVMCMO_IFLAG_INCREMENT_PC      0x2

static __always_inline int kvm_read_skipped(struct kvm_vcpu *vcpu, __u64 entry_pc, __u64 esr)
{
	if (kvm_pc_deferred(vcpu)) {
		__u8 f = BPF_CORE_READ(vcpu, arch.iflags);

		return (f & (KVMCMO_IFLAG_PENDING_EXCEPTION | KVMCMO_IFLAG_INCREMENT_PC)) ==
		       KVMCMO_IFLAG_INCREMENT_PC;
	}
	return kvm_read_pc(vcpu) == entry_pc + ((esr & KVMCMO_ESR_IL) ? 4 : 2);
}

/*
 * The vcpu this thread runs, from inside KVM_RUN: vcpu_load() links
 * vcpu->preempt_notifier into current->preempt_notifiers (KVM is the only
 * user on arm64) until vcpu_put() at the end of the ioctl.  A tracepoint
 * has no vcpu argument; this costs one probe read (5.10 has no BTF for the
 * per-CPU kvm_running_vcpu, and no bpf_get_current_task_btf()).  NULL when
 * no notifier is linked.
 */
static __always_inline struct kvm_vcpu *kvm_current_vcpu(void)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct hlist_node *n = BPF_CORE_READ(task, preempt_notifiers.first);

	if (!n)
		return NULL;
	return (void *)n - (bpf_core_field_offset(struct kvm_vcpu, preempt_notifier) +
			    bpf_core_field_offset(struct preempt_notifier, link));
}

/*
 * Where the vcpu's stage-2 table lives: root VA, the linear-map offset
 * (root VA - root PA: KVM allocates every table from the linear map, and
 * VHE's phys_to_virt is __va), IPA size and start level.  Fixed for a VM's
 * life (kvm_init_stage2_mmu() at creation), so read once per KVM_RUN.
 */
struct kvmcmo_s2 {
	__u64 pgd;
	__u64 va_off;
	__u32 ia_bits;
	__s32 start_level;
};

static __always_inline int kvm_read_s2(struct kvm_vcpu *vcpu, struct kvmcmo_s2 *s2)
{
	struct kvm_s2_mmu *mmu = BPF_CORE_READ(vcpu, arch.hw_mmu);
	struct kvm_pgtable *pgt = BPF_CORE_READ(mmu, pgt);

	if (!pgt)
		return 0;
	s2->pgd = (__u64)BPF_CORE_READ(pgt, pgd);
	s2->va_off = s2->pgd - BPF_CORE_READ(mmu, pgd_phys);
	s2->ia_bits = BPF_CORE_READ(pgt, ia_bits);
	/* u32 in 5.10, s8 since LPA2 (6.7): the probed bitfield read sizes
	 * and sign-extends it */
	s2->start_level = BPF_CORE_READ_BITFIELD_PROBED(pgt, start_level);
	return s2->pgd && s2->ia_bits >= 32 && s2->ia_bits <= 52 &&
	       s2->start_level >= 0 && s2->start_level <= 3;
}

/*
 * The stage-2 leaf for ipa after the handler ran: 1 mapped writable, 0
 * mapped read-only, -1 not mapped.  A walk of the 4 KiB-granule table the
 * way the hardware does it (Debian's arm64 kernels all use 4 KiB pages):
 * the start level's tables are concatenated, so its index spans ia_bits;
 * a table descriptor (bit 1 below level 3) holds the next table's PA in
 * bits 49:12 (LPA2 puts PA bits 51:50 in 9:8; PAs that high are not
 * handled); a leaf's S2AP bit 7 is write permission, bit 0 valid.  One
 * probe read per level (3 for a 40-bit IPA space), 2 with the hint below.
 * This replaces a probe on kvm_pgtable_stage2_map() (a kprobe costs ~750
 * guest instructions, a probe read ~85 on 6.12 and ~200 on 5.10).
 */
#define KVMCMO_PTE_VALID        (1ULL << 0)
#define KVMCMO_PTE_TABLE        (1ULL << 1)
#define KVMCMO_PTE_S2AP_W       (1ULL << 7)
#define KVMCMO_PTE_ADDR_MASK    0x0003fffffffff000ULL

/*
 * The last level-3 table walked to, for the next abort in the same 2 MiB
 * (a guest touching fresh pages walks the same one 512 times): its VA, and
 * the level-2 descriptor that pointed to it and where that lives.  Reused
 * only while that descriptor still holds the same value, so a table KVM
 * replaced (a block mapping over it, an unmap) is never read: 2 probe
 * reads instead of 3.  The level-2 table itself is assumed live (KVM frees
 * one only when a whole 1 GiB range is unmapped or mapped as one block).
 */
struct kvmcmo_s2_hint {
	__u64 block;            /* ipa >> 21, + 1 (0: none) */
	__u64 parent_va;        /* VA of the level-2 descriptor */
	__u64 parent;           /* its value */
	__u64 table;            /* VA of the level-3 table */
};

static __always_inline int kvm_s2_pte_perm(__u64 pte)
{
	return (pte & KVMCMO_PTE_VALID) ? !!(pte & KVMCMO_PTE_S2AP_W) : -1;
}

static __always_inline int kvm_s2_leaf(const struct kvmcmo_s2 *s2, struct kvmcmo_s2_hint *h,
				       __u64 ipa)
{
	__u64 table = s2->pgd, pte = 0, idx, va;
	__u32 level = s2->start_level & 3;

	if (h->block == (ipa >> 21) + 1) {
		if (!bpf_probe_read_kernel(&pte, sizeof(pte), (void *)h->parent_va) &&
		    pte == h->parent &&
		    !bpf_probe_read_kernel(&pte, sizeof(pte),
					   (void *)(h->table + ((ipa >> 12) & 511) * 8)))
			return kvm_s2_pte_perm(pte);
		h->block = 0;
	}
	for (int i = 0; i < 4; i++) {
		__u32 shift = 12 + 9 * (3 - level);

		if (i == 0)
			idx = (ipa & ((1ULL << (s2->ia_bits & 63)) - 1)) >> shift;
		else
			idx = (ipa >> shift) & 511;
		va = table + idx * 8;
		if (bpf_probe_read_kernel(&pte, sizeof(pte), (void *)va))
			return -1;
		if (!(pte & KVMCMO_PTE_VALID))
			return -1;
		if (level == 3 || !(pte & KVMCMO_PTE_TABLE))
			return kvm_s2_pte_perm(pte);
		table = (pte & KVMCMO_PTE_ADDR_MASK) + s2->va_off;
		if (level == 2) {
			h->block = (ipa >> 21) + 1;
			h->parent_va = va;
			h->parent = pte;
			h->table = table;
		}
		level++;
	}
	return -1;
}

struct kvmcmo_slot {
	__u64 base_gfn;
	__u64 npages;
	__u32 flags;
	__s32 id;
};

static __always_inline int kvm_slot_fill(struct kvm_memory_slot *s, __u64 gfn,
					 struct kvmcmo_slot *out)
{
	out->base_gfn = BPF_CORE_READ(s, base_gfn);
	out->npages = BPF_CORE_READ(s, npages);
	if (gfn < out->base_gfn || gfn >= out->base_gfn + out->npages)
		return 0;
	out->flags = BPF_CORE_READ(s, flags);
	out->id = BPF_CORE_READ(s, id);
	/* a slot being deleted or moved: KVM treats it as no memslot */
	return !(out->flags & KVMCMO_MEMSLOT_INVALID);
}

/*
 * 5.17+ ("KVM: Keep memslots in tree-based structures instead of array-
 * based ones"): walk kvm_memslots.gfn_tree the way search_memslots() does.
 * A memslot sits in the tree through gfn_node[node_idx].
 */
static __always_inline int kvm_memslot_tree(struct kvm_memslots *slots, __u64 gfn,
					    struct kvmcmo_slot *out)
{
	struct rb_node *node = BPF_CORE_READ(slots, gfn_tree.rb_node);
	int idx = BPF_CORE_READ(slots, node_idx) & 1;
	__u64 node_off = bpf_core_field_offset(struct kvm_memory_slot, gfn_node) +
			 idx * bpf_core_type_size(struct rb_node);

	for (int i = 0; i < KVMCMO_RBTREE_DEPTH && node; i++) {
		struct kvm_memory_slot *s = (void *)node - node_off;
		__u64 base = BPF_CORE_READ(s, base_gfn);

		if (gfn >= base) {
			if (gfn < base + BPF_CORE_READ(s, npages))
				return kvm_slot_fill(s, gfn, out);
			node = BPF_CORE_READ(node, rb_right);
		} else {
			node = BPF_CORE_READ(node, rb_left);
		}
	}
	return 0;
}

/*
 * Up to 5.16: memslots[] sorted by descending base_gfn, used_slots long;
 * the same binary search as that era's search_memslots().
 */
static __always_inline int kvm_memslot_array(void *slots, __u64 gfn,
					     struct kvmcmo_slot *out)
{
	struct kvm_memslots___array *a = slots;
	__u32 used = BPF_CORE_READ(a, used_slots);
	__u64 first = bpf_core_field_offset(struct kvm_memslots___array, memslots);
	__u64 size = bpf_core_type_size(struct kvm_memory_slot);
	__u32 start = 0, end = used;

	for (int i = 0; i < KVMCMO_MEMSLOT_SEARCH && start < end; i++) {
		__u32 mid = start + (end - start) / 2;
		struct kvm_memory_slot *s = slots + first + (__u64)(mid & 0x3ff) * size;

		if (gfn >= BPF_CORE_READ(s, base_gfn))
			end = mid;
		else
			start = mid + 1;
	}
	if (start >= used)
		return 0;
	return kvm_slot_fill(slots + first + (__u64)(start & 0x3ff) * size, gfn, out);
}

/*
 * The active memslots of a VM (address space 0: arm64 has one).  Read only
 * on a cache miss: the cache itself is invalidated by the memslot-update
 * hooks (kvmcmo.bpf.c), so KVM's generation is not needed.
 */
static __always_inline struct kvm_memslots *kvm_read_memslots(struct kvm *kvm)
{
	return BPF_CORE_READ(kvm, memslots[0]);
}

/* The memslot KVM found for this gfn, searched the way KVM searches. */
static __always_inline int kvm_find_memslot(struct kvm_memslots *slots, __u64 gfn,
					    struct kvmcmo_slot *out)
{
	if (!slots)
		return 0;
	if (bpf_core_field_exists(slots->gfn_tree))
		return kvm_memslot_tree(slots, gfn, out);
	return kvm_memslot_array(slots, gfn, out);
}

#endif /* __KVM_READ_BPF_H */
