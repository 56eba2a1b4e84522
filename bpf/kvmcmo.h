/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * kvmcmo.h - the one definition of every label, enum, limit and map record
 * that crosses the BPF/userspace boundary, and the classifier itself.
 *
 * The BPF side includes this after vmlinux.h; userspace includes it after
 * <linux/types.h>.  Both sides classify with the same pure functions below,
 * so the host unit tests (tests/unit/test_classify.c) exercise exactly the
 * code that runs in the kernel.  That matters for the CMO branches: no
 * emulator produces ESR.CM=1 aborts (see shared/KERNELS.md), so the ESR
 * tables in those tests are the only place those branches run before real
 * arm64 hardware.
 */
#ifndef __KVMCMO_H
#define __KVMCMO_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* ---- labels: X(ENUM_SUFFIX, "label") -------------------------------- */

/* kind: first match wins, in this order (see kvmcmo_classify_kind()) */
#define KVMCMO_KINDS(X)         \
	X(CMO, "cmo")           \
	X(S1PTW, "s1ptw")       \
	X(WRITE, "write")       \
	X(READ, "read")         \
	X(EXEC, "exec")

#define KVMCMO_FAULTS(X)                \
	X(TRANSLATION, "translation")   \
	X(PERMISSION, "permission")     \
	X(ACCESS_FLAG, "access_flag")   \
	X(OTHER, "other")

#define KVMCMO_MEMSLOTS(X)              \
	X(NONE, "none")                 \
	X(RO, "ro")                     \
	X(RW_DIRTY_LOG, "rw_dirty_log") \
	X(RW, "rw")

#define KVMCMO_OUTCOMES(X)              \
	X(MMIO_USER, "mmio_user")       \
	X(NISV, "nisv")                 \
	X(MMIO_KERNEL, "mmio_kernel")   \
	X(INJECT_DABT, "inject_dabt")   \
	X(MAP_RW, "map_rw")             \
	X(MAP_RO, "map_ro")             \
	X(RELAX, "relax")               \
	X(ACCESS_FLAG, "access_flag")   \
	X(SKIP, "skip")                 \
	X(ERROR, "error")               \
	X(OTHER, "other")

/* where a data abort injection came from */
#define KVMCMO_DABT_SOURCES(X)          \
	X(ABORT, "abort")               \
	X(USERSPACE, "userspace")

#define KVMCMO_KIND_ENUM(n, l) KVMCMO_KIND_##n,
#define KVMCMO_FAULT_ENUM(n, l) KVMCMO_FAULT_##n,
#define KVMCMO_MEMSLOT_ENUM(n, l) KVMCMO_MEMSLOT_##n,
#define KVMCMO_OUTCOME_ENUM(n, l) KVMCMO_OUTCOME_##n,
#define KVMCMO_DABT_ENUM(n, l) KVMCMO_DABT_##n,

enum kvmcmo_kind { KVMCMO_KINDS(KVMCMO_KIND_ENUM) KVMCMO_KIND__COUNT };
enum kvmcmo_fault { KVMCMO_FAULTS(KVMCMO_FAULT_ENUM) KVMCMO_FAULT__COUNT };
enum kvmcmo_memslot { KVMCMO_MEMSLOTS(KVMCMO_MEMSLOT_ENUM) KVMCMO_MEMSLOT__COUNT };
enum kvmcmo_outcome { KVMCMO_OUTCOMES(KVMCMO_OUTCOME_ENUM) KVMCMO_OUTCOME__COUNT };
enum kvmcmo_dabt_source { KVMCMO_DABT_SOURCES(KVMCMO_DABT_ENUM) KVMCMO_DABT__COUNT };

/* ---- limits (one place; BPF map sizes and userspace buffers use these) */

#define KVMCMO_MAX_VMS          1024    /* struct kvm instances tracked at once */
#define KVMCMO_MAX_VCPU_THREADS 4096    /* vCPU threads without a slot (LRU) */
#define KVMCMO_THREAD_SLOTS     4096    /* per-thread records indexed by tid: power of 2 */
#define KVMCMO_MAX_ABORT_KEYS   32768   /* (vm, vcpu, kind, fault, memslot, outcome) */
#define KVMCMO_MAX_LAT_KEYS     (KVMCMO_MAX_VMS * 4)
#define KVMCMO_MAX_REGION_KEYS  16384   /* (vm, region, kind, outcome) */
#define KVMCMO_MAX_DFAULT_KEYS  4096
#define KVMCMO_HIST_SLOTS       40      /* log2(ns) buckets: slot i holds [2^i, 2^(i+1)) */
#define KVMCMO_MEMSLOT_SEARCH   10      /* binary-search steps: 2^10 > KVM_MEM_SLOTS_NUM */
#define KVMCMO_RBTREE_DEPTH     32      /* gfn_tree depth bound (2*log2(32768 slots)) */
#define KVMCMO_REGION_SHIFT     16      /* aborts outside memslots: 64 KiB IPA windows */
#define KVMCMO_COMM_LEN         16
#define KVMCMO_CMDLINE_LEN      256     /* -name/--name come early in argv */
#define KVMCMO_PAGE_SHIFT       12      /* double-fault matching granule (IPA page) */
#define KVMCMO_VCPU_ROWS        512     /* dense counter rows, one per (VM, vCPU): power of 2 */
#define KVMCMO_REGION_ROWS      1024    /* dense counter rows, one per memslot region: power of 2 */
#define KVMCMO_NO_ROW           0xffffffffU     /* no dense row: the hash maps count */

/* ---- ESR_ELx bits (Arm ARM D17.2.37, shared/KERNELS.md) ------------- */

#define KVMCMO_ESR_EC_SHIFT     26
#define KVMCMO_ESR_EC_MASK      0x3fULL
#define KVMCMO_EC_IABT_LOW      0x20
#define KVMCMO_EC_IABT_CUR      0x21
#define KVMCMO_EC_DABT_LOW      0x24
#define KVMCMO_EC_DABT_CUR      0x25
#define KVMCMO_ESR_IL           (1ULL << 25)    /* 32-bit instruction */
#define KVMCMO_ESR_ISV          (1ULL << 24)
#define KVMCMO_ESR_CM           (1ULL << 8)
#define KVMCMO_ESR_S1PTW        (1ULL << 7)
#define KVMCMO_ESR_WNR          (1ULL << 6)
#define KVMCMO_ESR_FSC_MASK     0x3fULL
#define KVMCMO_FSC_TYPE_MASK    0x3cULL
#define KVMCMO_FSC_TRANSLATION  0x04
#define KVMCMO_FSC_ACCESS_FLAG  0x08
#define KVMCMO_FSC_PERMISSION   0x0c
#define KVMCMO_FSC_TRANS_LM1    0x2b    /* translation fault, level -1 (FEAT_LPA2) */

/* struct kvm_memory_slot.flags (include/uapi/linux/kvm.h) */
#define KVMCMO_MEM_LOG_DIRTY_PAGES (1U << 0)
#define KVMCMO_MEM_READONLY        (1U << 1)
/* kernel-internal (include/linux/kvm_host.h): a slot being deleted/moved */
#define KVMCMO_MEMSLOT_INVALID     (1U << 16)

/* struct kvm_run.exit_reason values the outcome needs (uapi, stable) */
#define KVMCMO_EXIT_MMIO        6
#define KVMCMO_EXIT_INTR        10      /* a signal: KVM_RUN returned -EINTR */
#define KVMCMO_EXIT_ARM_NISV    28

/* ---- what the BPF side observed during one kvm_handle_guest_abort call */

enum kvmcmo_event {
	KVMCMO_EV_IO_MEM_ABORT  = 1U << 0,  /* io_mem_abort() entered */
	KVMCMO_EV_INJECT_DABT   = 1U << 1,  /* kvm_inject_dabt()/kvm_inject_sea(iabt=0) */
	KVMCMO_EV_MAP_W         = 1U << 2,  /* resumed, stage-2 leaf now valid and writable */
	KVMCMO_EV_MAP_R         = 1U << 3,  /* resumed, stage-2 leaf now valid, read-only */
	KVMCMO_EV_RELAX         = 1U << 4,  /* kvm_pgtable_stage2_relax_perms() */
	KVMCMO_EV_MKYOUNG       = 1U << 5,  /* handle_access_fault() (kvm_access_fault) */
	KVMCMO_EV_SKIP          = 1U << 6,  /* guest PC advanced by KVM, no other action */
	KVMCMO_EV_MEMSLOT       = 1U << 7,  /* a memslot covers the faulting IPA */
};

/* events that say what the handler did; without one, a resumed abort on
 * RAM mapped (the stage-2 leaf tells how) and outside RAM may have skipped */
#define KVMCMO_EV_HANDLED (KVMCMO_EV_IO_MEM_ABORT | KVMCMO_EV_INJECT_DABT | \
			   KVMCMO_EV_RELAX | KVMCMO_EV_MKYOUNG)

struct kvmcmo_obs {
	__s64 ret;              /* kvm_handle_guest_abort() return value */
	__u32 events;           /* enum kvmcmo_event bits */
	__u32 exit_reason;      /* vcpu->run->exit_reason at return */
};

/* ---- map keys and values (fixed-width only; asserted sizes) ------------ */

/*
 * A VM is identified by a unique id given when the BPF side first sees its
 * struct kvm (not the pointer itself: a destroyed VM's struct kvm can be
 * reused by the next one).  id = per-CPU sequence << 12 | CPU.
 */
#define KVMCMO_VM_ID_CPU_BITS   12

struct kvmcmo_abort_key {
	__u64 vm;               /* VM id */
	__u32 vcpu;             /* vcpu->vcpu_id */
	__u8 kind, fault, memslot, outcome;
};

struct kvmcmo_lat_key {
	__u64 vm;
	__u32 outcome;
	__u32 pad;
};

struct kvmcmo_hist {
	__u64 slots[KVMCMO_HIST_SLOTS];
	__u64 sum_ns;
	__u64 count;
};

struct kvmcmo_dabt_key {
	__u64 vm;
	__u32 source;           /* enum kvmcmo_dabt_source */
	__u32 pad;
};

struct kvmcmo_dfault_key {
	__u64 vm;
	__u8 kind, memslot, pad[6];
};

/*
 * A region: a memslot (by id) or, outside memslots, a 64 KiB IPA window.
 * Filled from what the handler-exit program already reads; no extra probe.
 */
struct kvmcmo_region_key {
	__u64 vm;
	__u64 base;             /* memslot base IPA, or IPA window base */
	__u64 size;             /* memslot size in bytes, or window size */
	__s32 slot;             /* memslot id, or -1 outside memslots */
	__u8 kind, outcome, memslot, pad;
};

/*
 * Dense counters (the per-abort fast path).  The hot rows live in plain
 * arrays, one row per (VM, vCPU) and one per memslot region, indexed by
 * label with no hashing; the row index is found once per thread and cached
 * in its record.  Rows come from a free-row queue filled by userspace;
 * when it is empty the hash maps above count instead, so counts stay exact.
 * Readers fold both into the same (key, value) rows.
 */
#define KVMCMO_LABELS (KVMCMO_KIND__COUNT * KVMCMO_FAULT__COUNT * \
		       KVMCMO_MEMSLOT__COUNT * KVMCMO_OUTCOME__COUNT)
#define KVMCMO_REGION_LABELS (KVMCMO_KIND__COUNT * KVMCMO_MEMSLOT__COUNT * \
			      KVMCMO_OUTCOME__COUNT)
/* array lengths: powers of 2 above the label counts, so a mask (which the
 * verifier trusts whatever the compiler does with a compare) bounds them */
#define KVMCMO_LABEL_SLOTS      1024
#define KVMCMO_REGION_LABEL_SLOTS 256
#define KVMCMO_OUTCOME_SLOTS    16

struct kvmcmo_vcpu_id {         /* key of the vcpu_rows map: -> row */
	__u64 vm;
	__u32 vcpu;
	__u32 pad;
};

struct kvmcmo_vcpu_counts {
	__u64 aborts[KVMCMO_LABEL_SLOTS];               /* by kvmcmo_label() */
	struct kvmcmo_hist lat[KVMCMO_OUTCOME_SLOTS];   /* latency by outcome */
};

struct kvmcmo_region_id {       /* key of the region_rows map: -> row */
	__u64 vm;
	__u64 base;
	__u64 size;
	__s32 slot;
	__u32 pad;
};

struct kvmcmo_region_counts {
	__u64 aborts[KVMCMO_REGION_LABEL_SLOTS];        /* by kvmcmo_region_label() */
};

static __always_inline __u32 kvmcmo_label(__u32 kind, __u32 fault, __u32 memslot, __u32 outcome)
{
	return ((kind * KVMCMO_FAULT__COUNT + fault) * KVMCMO_MEMSLOT__COUNT + memslot) *
	       KVMCMO_OUTCOME__COUNT + outcome;
}

static __always_inline void kvmcmo_label_split(__u32 l, __u8 *kind, __u8 *fault, __u8 *memslot,
					       __u8 *outcome)
{
	*outcome = l % KVMCMO_OUTCOME__COUNT;
	l /= KVMCMO_OUTCOME__COUNT;
	*memslot = l % KVMCMO_MEMSLOT__COUNT;
	l /= KVMCMO_MEMSLOT__COUNT;
	*fault = l % KVMCMO_FAULT__COUNT;
	*kind = l / KVMCMO_FAULT__COUNT;
}

static __always_inline __u32 kvmcmo_region_label(__u32 kind, __u32 memslot, __u32 outcome)
{
	return (kind * KVMCMO_MEMSLOT__COUNT + memslot) * KVMCMO_OUTCOME__COUNT + outcome;
}

static __always_inline void kvmcmo_region_label_split(__u32 l, __u8 *kind, __u8 *memslot,
						      __u8 *outcome)
{
	*outcome = l % KVMCMO_OUTCOME__COUNT;
	l /= KVMCMO_OUTCOME__COUNT;
	*memslot = l % KVMCMO_MEMSLOT__COUNT;
	*kind = l / KVMCMO_MEMSLOT__COUNT;
}

struct kvmcmo_vm_info {
	__u64 id;               /* the VM id used in every other key */
	__u64 first_ns;         /* bpf_ktime_get_ns() when first seen */
	__u64 destroyed_ns;     /* kvm_arch_destroy_vm() time, 0 while alive */
	__u32 pid;              /* VMM tgid */
	__u32 cmdline_len;      /* bytes captured in cmdline[] */
	char debugfs_name[16];  /* kvm->debugfs_dentry name "<pid>-<fd>": the VM's fd */
	char comm[KVMCMO_COMM_LEN];
	/* start of the VMM's argv (NUL-separated), captured once per VM so
	 * the VM keeps its name after the VMM has exited */
	char cmdline[KVMCMO_CMDLINE_LEN];
};

/* per-CPU array of self-observation counters */
#define KVMCMO_STATS(X)                                 \
	X(MAP_FULL, "map_full")         /* an update failed: map full */ \
	X(NO_ENTRY, "no_entry")         /* an abort with no vcpu found, or a callee event with no abort open */ \
	X(ENTRY_BUSY, "entry_busy")     /* nested entry on one thread */ \
	X(VM_OVERFLOW, "vm_overflow")   /* more than KVMCMO_MAX_VMS VMs */ \
	X(VM_DESTROY_UNSEEN, "vm_destroy_unseen") /* a VM's destroy the kernel hid from its probe (recursion guard), found later */
#define KVMCMO_STAT_ENUM(n, l) KVMCMO_STAT_##n,
enum kvmcmo_stat { KVMCMO_STATS(KVMCMO_STAT_ENUM) KVMCMO_STAT__COUNT };

_Static_assert(sizeof(struct kvmcmo_abort_key) == 16, "abort key layout");
_Static_assert(sizeof(struct kvmcmo_lat_key) == 16, "lat key layout");
_Static_assert(sizeof(struct kvmcmo_hist) == 8 * (KVMCMO_HIST_SLOTS + 2), "hist layout");
_Static_assert(sizeof(struct kvmcmo_dabt_key) == 16, "dabt key layout");
_Static_assert(sizeof(struct kvmcmo_dfault_key) == 16, "dfault key layout");
_Static_assert(sizeof(struct kvmcmo_region_key) == 32, "region key layout");
_Static_assert(sizeof(struct kvmcmo_vm_info) == 64 + KVMCMO_CMDLINE_LEN, "vm info layout");
_Static_assert(sizeof(struct kvmcmo_obs) == 16, "obs layout");
_Static_assert(sizeof(struct kvmcmo_vcpu_id) == 16, "vcpu id layout");
_Static_assert(sizeof(struct kvmcmo_region_id) == 32, "region id layout");
_Static_assert(KVMCMO_LABELS <= KVMCMO_LABEL_SLOTS && KVMCMO_OUTCOME__COUNT <= KVMCMO_OUTCOME_SLOTS &&
	       KVMCMO_REGION_LABELS <= KVMCMO_REGION_LABEL_SLOTS, "dense label slots");

/* ---- the classifier: pure functions of ESR, memslot flags, observation */

static __always_inline int kvmcmo_esr_is_dabt(__u64 esr)
{
	__u64 ec = (esr >> KVMCMO_ESR_EC_SHIFT) & KVMCMO_ESR_EC_MASK;

	return ec == KVMCMO_EC_DABT_LOW || ec == KVMCMO_EC_DABT_CUR;
}

static __always_inline int kvmcmo_esr_is_iabt(__u64 esr)
{
	__u64 ec = (esr >> KVMCMO_ESR_EC_SHIFT) & KVMCMO_ESR_EC_MASK;

	return ec == KVMCMO_EC_IABT_LOW || ec == KVMCMO_EC_IABT_CUR;
}

/*
 * cmo, s1ptw, write, read, exec: first match wins.  CM and WnR only mean
 * something for data aborts (they are RES0 in an instruction abort's ISS),
 * so "write"/"read" are data aborts and "exec" is an instruction abort.
 * A CMO reports WnR=1; the CM test comes first so it is never "write".
 */
static __always_inline __u8 kvmcmo_classify_kind(__u64 esr)
{
	int dabt = kvmcmo_esr_is_dabt(esr);

	if (dabt && (esr & KVMCMO_ESR_CM))
		return KVMCMO_KIND_CMO;
	if (esr & KVMCMO_ESR_S1PTW)
		return KVMCMO_KIND_S1PTW;
	if (dabt)
		return (esr & KVMCMO_ESR_WNR) ? KVMCMO_KIND_WRITE : KVMCMO_KIND_READ;
	return KVMCMO_KIND_EXEC;
}

/* Same tests as the kernel's esr_fsc_is_*_fault() helpers (6.x). */
static __always_inline __u8 kvmcmo_classify_fault(__u64 esr)
{
	__u64 fsc = esr & KVMCMO_ESR_FSC_MASK;
	__u64 type = esr & KVMCMO_FSC_TYPE_MASK;

	if (type == KVMCMO_FSC_TRANSLATION || fsc == KVMCMO_FSC_TRANS_LM1)
		return KVMCMO_FAULT_TRANSLATION;
	if (type == KVMCMO_FSC_PERMISSION)
		return KVMCMO_FAULT_PERMISSION;
	if (type == KVMCMO_FSC_ACCESS_FLAG)
		return KVMCMO_FAULT_ACCESS_FLAG;
	return KVMCMO_FAULT_OTHER;
}

static __always_inline __u8 kvmcmo_classify_memslot(int found, __u32 flags)
{
	if (!found)
		return KVMCMO_MEMSLOT_NONE;
	if (flags & KVMCMO_MEM_READONLY)
		return KVMCMO_MEMSLOT_RO;
	if (flags & KVMCMO_MEM_LOG_DIRTY_PAGES)
		return KVMCMO_MEMSLOT_RW_DIRTY_LOG;
	return KVMCMO_MEMSLOT_RW;
}

/*
 * What KVM did, from what was seen during the call.  A negative return
 * fails the vCPU run whatever else happened; an injected abort is what the
 * guest sees next; an io_mem_abort() decides by where it went.
 */
static __always_inline __u8 kvmcmo_classify_outcome(const struct kvmcmo_obs *o)
{
	__u32 ev = o->events;

	if (o->ret < 0)
		return KVMCMO_OUTCOME_ERROR;
	if (ev & KVMCMO_EV_INJECT_DABT)
		return KVMCMO_OUTCOME_INJECT_DABT;
	if (ev & KVMCMO_EV_IO_MEM_ABORT) {
		if (o->ret > 0)
			return KVMCMO_OUTCOME_MMIO_KERNEL;
		if (o->exit_reason == KVMCMO_EXIT_ARM_NISV)
			return KVMCMO_OUTCOME_NISV;
		if (o->exit_reason == KVMCMO_EXIT_MMIO)
			return KVMCMO_OUTCOME_MMIO_USER;
		return KVMCMO_OUTCOME_OTHER;
	}
	if (ev & KVMCMO_EV_RELAX)
		return KVMCMO_OUTCOME_RELAX;
	if (ev & KVMCMO_EV_MAP_W)
		return KVMCMO_OUTCOME_MAP_RW;
	if (ev & KVMCMO_EV_MAP_R)
		return KVMCMO_OUTCOME_MAP_RO;
	if (ev & KVMCMO_EV_MKYOUNG)
		return KVMCMO_OUTCOME_ACCESS_FLAG;
	if (ev & KVMCMO_EV_SKIP)
		return KVMCMO_OUTCOME_SKIP;
	return KVMCMO_OUTCOME_OTHER;
}

/* log2 bucket of a duration; slot 0 also takes 0 and 1 ns */
static __always_inline __u32 kvmcmo_hist_slot(__u64 v)
{
	__u32 r = 0;

#ifdef __clang__
#pragma unroll
#endif
	for (int s = 32; s > 0; s >>= 1) {
		if (v >= (1ULL << s)) {
			v >>= s;
			r += s;
		}
	}
	return r < KVMCMO_HIST_SLOTS ? r : KVMCMO_HIST_SLOTS - 1;
}

/* double faults: a translation fault then a permission fault of the same
 * kind on the same vCPU, IPA page and guest PC.  Only these kinds qualify. */
static __always_inline int kvmcmo_dfault_kind(__u8 kind)
{
	return kind == KVMCMO_KIND_CMO || kind == KVMCMO_KIND_S1PTW;
}

#endif /* __KVMCMO_H */
