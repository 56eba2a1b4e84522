// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kvmcmo.bpf.c - count every arm64 KVM guest abort, per VM, by kind, fault,
 * memslot and outcome, in the kernel.
 *
 * One kvm_handle_guest_abort() call is one abort.  The hot path is three
 * BTF tracepoints, the cheapest hook arm64 offers on every kernel from 5.10
 * (about 120 guest instructions a hit, against 190 for fentry, 245 fexit,
 * 750 kprobe, 1,170 kretprobe: tests/bench/probecost.sh):
 *   kvm:kvm_guest_fault (inside the handler, with PC, ESR and IPA) opens a
 *   per-thread record;
 *   kvm:kvm_entry (the vCPU re-enters the guest: the handler returned > 0)
 *   or kvm:kvm_userspace_exit (KVM_RUN returns to the VMM, with the exit
 *   reason and the handler's return) closes it, classifies it with the
 *   shared pure functions of kvmcmo.h and counts it.
 * What the handler did is read at close: the memslot from KVM's memslots,
 * map_rw/map_ro from the stage-2 leaf (kvm_s2_leaf()), the skipped PC from
 * the vcpu.  Only the rarer paths are probed (fentry where a real attach
 * works, else kprobe): io_mem_abort, kvm_inject_dabt/_sea, the stage-2
 * permission relax; the access-flag path has its own tracepoint.
 *
 * The per-thread record lives in an array slot picked by the thread id
 * (an inlined lookup, no hashing: kvm_entry fires on every guest entry),
 * owned by one thread from its first abort to its exit; a thread whose
 * slot another thread owns keeps its record in an LRU hash instead.
 *
 * Userspace (user/attach.c) tries a real fentry attach for each probed
 * function and disables the losing variant before load.  Nothing here
 * needs more than 5.10 offers: no atomics whose result is used, no task
 * storage, no bpf_loop, no kfuncs.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "kvmcmo.h"
#include "kvm_read.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* set by userspace before load */
const volatile __u32 filter_tgid = 0;   /* 0: every VMM */
const volatile bool track_regions = true;       /* off: measure what regions cost */

/* one record per vCPU thread; LRU so threads that died age out */
struct thread_state {
	__u32 tid;              /* owner of an array slot; 0: free */
	__u32 pad;
	__u64 kvm;
	__u64 vcpu;
	__u64 start_ns;
	__u64 pc;               /* the abort's, from kvm_guest_fault */
	__u64 esr;
	__u64 ipa;
	__u32 events;
	__u32 active;
	/* this thread's vcpu and its stage-2 table, found once per KVM_RUN
	 * (a thread changes vcpu only between KVM_RUN calls) */
	struct kvmcmo_s2 s2;
	struct kvmcmo_s2_hint s2_hint;
	__u32 vcpu_ok;
	__u32 s2_ok;
	__u32 in_run;           /* between a guest entry and KVM_RUN's return */
	__u32 pad2;
	/*
	 * Caches for the common path (a vCPU thread faulting on one big RAM
	 * slot): the VM id and vcpu_id of this thread's vcpu, valid while no
	 * VM was destroyed since (destroy_gen), and the last memslot found,
	 * valid while no memslot update ran since (memslot_ended, below).
	 */
	__u64 c_vcpu;
	__u64 c_vm;
	__u64 c_destroy_gen;
	__u64 c_slots;          /* the VM (struct kvm) of the cached memslot */
	__u64 c_slots_gen;      /* memslot_ended when cached */
	struct kvmcmo_slot c_slot;
	__u32 c_vcpu_id;
	__u32 c_slot_valid;
	/* dense counter rows: this vcpu's (with c_vm), the cached slot's
	 * region (valid while c_rrow_vm is the VM id); KVMCMO_NO_ROW: none */
	__u32 c_row;
	__u32 c_rrow;
	__u64 c_rrow_vm;
	/* the exit's labels, stored and read back (see on_abort_exit) */
	__u8 o_kind, o_fault, o_memslot, o_outcome;
	__u32 o_pad;
	/* last cmo/s1ptw translation fault, for double-fault matching */
	__u64 dt_vcpu;
	__u64 dt_page;
	__u64 dt_pc;
	__u64 dt_ns;
	__u32 dt_kind;
	__u32 dt_valid;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KVMCMO_THREAD_SLOTS);
	__type(key, __u32);
	__type(value, struct thread_state);
} thread_slots SEC(".maps");

/* who owns each slot: an insert with BPF_NOEXIST is the atomic claim that
 * 5.10 BPF cannot do on the array itself (no cmpxchg before 5.12) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KVMCMO_THREAD_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} slot_owner SEC(".maps");

/* records of threads whose slot is taken; LRU so threads that died age out */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KVMCMO_MAX_VCPU_THREADS);
	__type(key, __u32);
	__type(value, struct thread_state);
} threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KVMCMO_MAX_VMS);
	__type(key, __u64);
	__type(value, struct kvmcmo_vm_info);
} vms SEC(".maps");

/* VMs destroyed while we ran, by id, so their names outlive them */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KVMCMO_MAX_VMS);
	__type(key, __u64);
	__type(value, struct kvmcmo_vm_info);
} dead_vms SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} vm_seq SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kvmcmo_vm_info);
} vm_scratch SEC(".maps");

/* bumped on every VM destroy: invalidates the per-thread VM id caches */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} destroy_gen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, KVMCMO_MAX_ABORT_KEYS);
	__type(key, struct kvmcmo_abort_key);
	__type(value, __u64);
} aborts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, KVMCMO_MAX_LAT_KEYS);
	__type(key, struct kvmcmo_lat_key);
	__type(value, struct kvmcmo_hist);
} latency SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, KVMCMO_MAX_VMS * KVMCMO_DABT__COUNT);
	__type(key, struct kvmcmo_dabt_key);
	__type(value, __u64);
} dabts SEC(".maps");

/* rare (cmo/s1ptw permission faults only): a plain hash, atomic adds */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KVMCMO_MAX_DFAULT_KEYS);
	__type(key, struct kvmcmo_dfault_key);
	__type(value, struct kvmcmo_hist);
} dfaults SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, KVMCMO_MAX_REGION_KEYS);
	__type(key, struct kvmcmo_region_key);
	__type(value, __u64);
} regions SEC(".maps");

/* dense counters (kvmcmo.h): (VM, vCPU) -> row, rows, free rows */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KVMCMO_VCPU_ROWS);
	__type(key, struct kvmcmo_vcpu_id);
	__type(value, __u32);
} vcpu_rows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KVMCMO_VCPU_ROWS);
	__type(key, __u32);
	__type(value, struct kvmcmo_vcpu_counts);
} vcpu_counts SEC(".maps");

/* filled with 0..KVMCMO_VCPU_ROWS-1 by userspace before attach; a pop is
 * the atomic row allocation 5.10 BPF can do */
struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, KVMCMO_VCPU_ROWS);
	__type(value, __u32);
} vcpu_free SEC(".maps");

/* (VM, memslot region) -> row, rows, free rows */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KVMCMO_REGION_ROWS);
	__type(key, struct kvmcmo_region_id);
	__type(value, __u32);
} region_rows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KVMCMO_REGION_ROWS);
	__type(key, __u32);
	__type(value, struct kvmcmo_region_counts);
} region_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, KVMCMO_REGION_ROWS);
	__type(value, __u32);
} region_free SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KVMCMO_STAT__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static const struct kvmcmo_hist zero_hist;
static const struct thread_state zero_thread;

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		*v += 1;
}

/* Find or create a per-CPU value; NULL (and a map_full count) if full. */
static __always_inline void *lookup_or_init(void *map, const void *key, const void *zero)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	/* -EEXIST: another CPU created it first; anything else: full */
	if (bpf_map_update_elem(map, key, zero, BPF_NOEXIST) && !bpf_map_lookup_elem(map, key)) {
		stat_inc(KVMCMO_STAT_MAP_FULL);
		return NULL;
	}
	return bpf_map_lookup_elem(map, key);
}

static __always_inline void count_u64(void *map, const void *key)
{
	static const __u64 zero;
	__u64 *v = lookup_or_init(map, key, &zero);

	if (v)
		*v += 1;
}

static __always_inline void hist_add(struct kvmcmo_hist *h, __u64 ns)
{
	__u32 slot = kvmcmo_hist_slot(ns);

	if (slot < KVMCMO_HIST_SLOTS)
		h->slots[slot] += 1;
	h->sum_ns += ns;
	h->count += 1;
}

/* ---- dense counters (kvmcmo.h) ------------------------------------------ */

/* the compiler forgets what it knew of x (so it keeps a mask it could
 * prove redundant: the verifier cannot) */
#define OPAQUE_REG(x) asm volatile("" : "+r"(x))

/*
 * The dense row of key in ids: found, or taken from the free queue and
 * published (a racing CPU's row wins; ours goes back).  -1 when no row is
 * free: the caller counts in the hash maps instead.
 */
static __always_inline int dense_row(void *ids, void *free, const void *key)
{
	__u32 *r = bpf_map_lookup_elem(ids, key);
	__u32 row;

	if (r)
		return *r;
	if (bpf_map_pop_elem(free, &row))
		return -1;
	if (bpf_map_update_elem(ids, key, &row, BPF_NOEXIST)) {
		bpf_map_push_elem(free, &row, 0);
		r = bpf_map_lookup_elem(ids, key);
		return r ? *r : -1;
	}
	return row;
}

static __always_inline int vcpu_row(__u64 vm, __u32 vcpu)
{
	struct kvmcmo_vcpu_id k = {};

	k.vm = vm;
	k.vcpu = vcpu;
	return dense_row(&vcpu_rows, &vcpu_free, &k);
}

static __always_inline int region_row(__u64 vm, __u64 base, __u64 size, __s32 slot)
{
	struct kvmcmo_region_id k = {};

	k.vm = vm;
	k.base = base;
	k.size = size;
	k.slot = slot;
	return dense_row(&region_rows, &region_free, &k);
}

/* One abort of label (kvmcmo_label()) taking lat ns, on a (VM, vCPU) row:
 * 0, or -1 if row is no row. */
static __always_inline int vcpu_count(__u64 row, __u64 label, __u64 outcome, __u64 lat)
{
	struct kvmcmo_vcpu_counts *c;
	struct kvmcmo_hist *h;
	__u32 key = row, hs;

	/* u64 arguments: the bounds checks stay on the registers used */
	if (row >= KVMCMO_VCPU_ROWS || label >= KVMCMO_LABELS || outcome >= KVMCMO_OUTCOME__COUNT)
		return -1;
	c = bpf_map_lookup_elem(&vcpu_counts, &key);
	if (!c)
		return -1;
	/* adds whose result is unused: BPF_XADD, fine on 5.10; the masks are
	 * no-ops (checked above) that bound the index for the verifier */
	OPAQUE_REG(label);
	OPAQUE_REG(outcome);
	__sync_fetch_and_add(&c->aborts[label & (KVMCMO_LABEL_SLOTS - 1)], 1);
	h = &c->lat[outcome & (KVMCMO_OUTCOME_SLOTS - 1)];
	hs = kvmcmo_hist_slot(lat);
	if (hs < KVMCMO_HIST_SLOTS)
		__sync_fetch_and_add(&h->slots[hs], 1);
	__sync_fetch_and_add(&h->sum_ns, lat);
	__sync_fetch_and_add(&h->count, 1);
	return 0;
}

/* The same in the hash maps (no row free) */
static __always_inline int vcpu_count_hash(__u64 vm, __u32 vcpu, __u32 label, __u64 lat)
{
	struct kvmcmo_abort_key ak = {};
	struct kvmcmo_lat_key lk = {};
	struct kvmcmo_hist *h;

	ak.vm = vm;
	ak.vcpu = vcpu;
	kvmcmo_label_split(label, &ak.kind, &ak.fault, &ak.memslot, &ak.outcome);
	count_u64(&aborts, &ak);
	lk.vm = vm;
	lk.outcome = ak.outcome;
	h = lookup_or_init(&latency, &lk, &zero_hist);
	if (h)
		hist_add(h, lat);
	return 0;
}

/* One abort of region label (kvmcmo_region_label()) on a memslot region row */
static __always_inline int region_count(__u64 row, __u64 rlabel)
{
	struct kvmcmo_region_counts *c;
	__u32 key = row;

	if (row >= KVMCMO_REGION_ROWS || rlabel >= KVMCMO_REGION_LABELS)
		return -1;
	c = bpf_map_lookup_elem(&region_counts, &key);
	if (!c)
		return -1;
	OPAQUE_REG(rlabel);
	__sync_fetch_and_add(&c->aborts[rlabel & (KVMCMO_REGION_LABEL_SLOTS - 1)], 1);
	return 0;
}

/* The same in the regions hash: a memslot without a row, or an IPA window */
static __always_inline int region_count_hash(__u64 vm, __u64 base, __u64 size, __s32 slot, __u32 rlabel)
{
	struct kvmcmo_region_key rk = {};

	rk.vm = vm;
	rk.base = base;
	rk.size = size;
	rk.slot = slot;
	kvmcmo_region_label_split(rlabel, &rk.kind, &rk.memslot, &rk.outcome);
	count_u64(&regions, &rk);
	return 0;
}

/*
 * A VM's end: its live entry moves to the dead list (a destroyed VM keeps
 * its counters under its id; its struct kvm may come back as a new VM,
 * which must get a new id), and every thread's cached VM id is dropped.
 */
static __always_inline void vm_retire(__u64 kvm_ptr, struct kvmcmo_vm_info *vi)
{
	__u32 zero = 0;
	__u64 *gen = bpf_map_lookup_elem(&destroy_gen, &zero);

	if (gen)
		__sync_fetch_and_add(gen, 1);   /* result unused: BPF_XADD, fine on 5.10 */
	if (!vi)
		return;
	/* the map value is ours until deleted: mark it, copy it, drop it */
	vi->destroyed_ns = bpf_ktime_get_ns();
	bpf_map_update_elem(&dead_vms, &vi->id, vi, BPF_ANY);
	bpf_map_delete_elem(&vms, &kvm_ptr);
}

static __always_inline int on_destroy_vm(struct kvm *kvm)
{
	__u64 kvm_ptr = (__u64)kvm;

	vm_retire(kvm_ptr, bpf_map_lookup_elem(&vms, &kvm_ptr));
	return 0;
}

/*
 * The VM behind a struct kvm: found, or created the first time it is seen
 * with a fresh id, its VMM's pid and its VM fd (debugfs dir "<pid>-<fd>").
 */
static __always_inline __u64 vm_id(__u64 kvm_ptr)
{
	struct kvmcmo_vm_info *info, *vi;
	struct kvm *kvm = (void *)kvm_ptr;
	struct task_struct *task;
	struct dentry *d;
	const unsigned char *name;
	unsigned long arg_start, arg_len;
	__u32 zero = 0;
	__u64 *seq;

	vi = bpf_map_lookup_elem(&vms, &kvm_ptr);
	if (vi) {
		if (vi->pid == bpf_get_current_pid_tgid() >> 32)
			return vi->id;
		/*
		 * KVM serves a VM only in the mm that created it (kvm->mm):
		 * another process here means a new VM at a dead VM's address,
		 * whose destroy our probe missed (a kprobe the kernel's
		 * recursion guard skipped).  The dead one ends now.
		 */
		vm_retire(kvm_ptr, vi);
		stat_inc(KVMCMO_STAT_VM_DESTROY_UNSEEN);
	}
	seq = bpf_map_lookup_elem(&vm_seq, &zero);
	info = bpf_map_lookup_elem(&vm_scratch, &zero);     /* too big for the stack */
	if (!seq || !info)
		return 0;
	__builtin_memset(info, 0, sizeof(*info));
	/* per-CPU sequence, no atomics: ids are unique across CPUs */
	*seq += 1;
	info->id = (*seq << KVMCMO_VM_ID_CPU_BITS) | bpf_get_smp_processor_id();
	info->first_ns = bpf_ktime_get_ns();
	info->pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(info->comm, sizeof(info->comm));
	d = BPF_CORE_READ(kvm, debugfs_dentry);
	/* NULL or an ERR_PTR when debugfs is off or the dir was not made */
	if (d && (unsigned long)d < (unsigned long)-4095L) {
		name = BPF_CORE_READ(d, d_name.name);
		bpf_probe_read_kernel_str(info->debugfs_name, sizeof(info->debugfs_name), name);
	}
	/* we run in a vCPU thread of the VMM: its argv is in this mm */
	task = (void *)bpf_get_current_task();
	arg_start = BPF_CORE_READ(task, mm, arg_start);
	arg_len = BPF_CORE_READ(task, mm, arg_end) - arg_start;
	if (arg_len > KVMCMO_CMDLINE_LEN)
		arg_len = KVMCMO_CMDLINE_LEN;
	if (arg_start && arg_len &&
	    !bpf_probe_read_user(info->cmdline, arg_len & (KVMCMO_CMDLINE_LEN - 1 | KVMCMO_CMDLINE_LEN),
				 (void *)arg_start))
		info->cmdline_len = arg_len;
	if (bpf_map_update_elem(&vms, &kvm_ptr, info, BPF_NOEXIST)) {
		vi = bpf_map_lookup_elem(&vms, &kvm_ptr);
		if (vi)
			return vi->id;
		stat_inc(KVMCMO_STAT_VM_OVERFLOW);
	}
	return info->id;
}

static __always_inline int traced(void)
{
	return !filter_tgid || (bpf_get_current_pid_tgid() >> 32) == filter_tgid;
}

/* ---- per-thread records ------------------------------------------------- */

static __always_inline struct thread_state *thread_slot(__u32 tid)
{
	__u32 idx = tid & (KVMCMO_THREAD_SLOTS - 1);

	return bpf_map_lookup_elem(&thread_slots, &idx);
}

/* This thread's record, or NULL if it has none yet. */
static __always_inline struct thread_state *thread_find(__u32 tid)
{
	struct thread_state *t = thread_slot(tid);

	if (t && t->tid == tid)
		return t;
	return bpf_map_lookup_elem(&threads, &tid);
}

/* A new thread's record: its slot if free (claimed atomically), else a
 * hash entry. */
static __always_inline struct thread_state *thread_create(__u32 tid)
{
	__u32 idx = tid & (KVMCMO_THREAD_SLOTS - 1);
	struct thread_state *t = thread_slot(tid);

	if (t && !t->tid && !bpf_map_update_elem(&slot_owner, &idx, &tid, BPF_NOEXIST)) {
		*t = zero_thread;
		t->tid = tid;
		return t;
	}
	bpf_map_update_elem(&threads, &tid, &zero_thread, BPF_ANY);
	return bpf_map_lookup_elem(&threads, &tid);
}

/* A thread exits: its slot is free again (record first, then the claim,
 * so a new owner never sees the old record). */
static __always_inline int on_thread_exit(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u32 idx = tid & (KVMCMO_THREAD_SLOTS - 1);
	struct thread_state *t = thread_slot(tid);

	if (t && t->tid == tid) {
		*t = zero_thread;
		bpf_map_delete_elem(&slot_owner, &idx);
	}
	return 0;
}

/* ---- kvm:kvm_guest_fault: an abort opens ------------------------------ */

static __always_inline int thread_set_vcpu(struct thread_state *t, struct kvm_vcpu *vcpu)
{
	t->vcpu = (__u64)vcpu;
	t->kvm = (__u64)BPF_CORE_READ(vcpu, kvm);
	t->s2_ok = kvm_read_s2(vcpu, &t->s2);
	t->s2_hint.block = 0;
	t->vcpu_ok = t->kvm != 0;
	return t->vcpu_ok;
}

/* This thread's vcpu, VM and stage-2 table, read once per KVM_RUN. */
static __always_inline int thread_vcpu(struct thread_state *t)
{
	struct kvm_vcpu *vcpu;

	if (t->vcpu_ok)
		return 1;
	vcpu = kvm_current_vcpu();
	return vcpu ? thread_set_vcpu(t, vcpu) : 0;
}

static __always_inline int on_abort_open(__u64 pc, __u64 esr, __u64 ipa)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct thread_state *t;

	if (!traced())
		return 0;
	t = thread_find(tid);
	if (!t) {
		t = thread_create(tid);
		if (!t) {
			stat_inc(KVMCMO_STAT_MAP_FULL);
			return 0;
		}
	}
	if (t->active)
		stat_inc(KVMCMO_STAT_ENTRY_BUSY);
	if (!thread_vcpu(t)) {
		stat_inc(KVMCMO_STAT_NO_ENTRY);
		t->active = 0;
		return 0;
	}
	t->pc = pc;
	t->esr = esr;
	t->ipa = ipa;
	t->events = 0;
	t->active = 1;
	t->start_ns = bpf_ktime_get_ns();
	return 0;
}

/* ---- events from callees, on the same thread ---------------------------- */

static __always_inline struct thread_state *active_thread(void)
{
	struct thread_state *t = thread_find((__u32)bpf_get_current_pid_tgid());

	return t && t->active ? t : NULL;
}

static __always_inline int on_event(__u32 ev)
{
	struct thread_state *t = active_thread();

	if (t)
		t->events |= ev;
	else if (traced())
		stat_inc(KVMCMO_STAT_NO_ENTRY);
	return 0;
}

/* Inside an abort the injection is the abort's outcome; outside, the VMM
 * asked for it (KVM_SET_VCPU_EVENTS). */
static __always_inline int on_inject_dabt(struct kvm_vcpu *vcpu)
{
	struct thread_state *t;
	struct kvmcmo_dabt_key k = {};

	if (!traced())
		return 0;
	t = thread_find((__u32)bpf_get_current_pid_tgid());
	k.vm = vm_id((__u64)BPF_CORE_READ(vcpu, kvm));
	k.source = KVMCMO_DABT_USERSPACE;
	if (t && !t->active && t->in_run) {
		/*
		 * Inside KVM_RUN (the VMM's KVM_SET_VCPU_EVENTS cannot run then)
		 * with no abort open: kvm_handle_guest_abort() injects before
		 * its tracepoint, for an IPA beyond the VM's IPA size (and on
		 * 7.2 a synchronous external abort).  The abort opens here.
		 */
		if (!t->vcpu_ok || t->vcpu != (__u64)vcpu)
			thread_set_vcpu(t, vcpu);
		t->pc = kvm_read_pc(vcpu);
		t->esr = kvm_read_esr(vcpu);
		t->ipa = kvm_read_ipa(vcpu);
		t->events = 0;
		t->active = 1;
		t->start_ns = bpf_ktime_get_ns();
	}
	if (t && t->active) {
		t->events |= KVMCMO_EV_INJECT_DABT;
		k.source = KVMCMO_DABT_ABORT;
	}
	count_u64(&dabts, &k);
	return 0;
}

/* ---- kvm_handle_guest_abort(vcpu): exit ---------------------------------- */

static __always_inline void check_double_fault(struct thread_state *t, __u64 vm, __u8 kind,
					       __u8 fault, __u8 memslot,
					       __u64 page, __u64 now)
{
	struct kvmcmo_dfault_key k = {};
	struct kvmcmo_hist *h;
	__u32 slot;

	if (!kvmcmo_dfault_kind(kind))
		return;
	if (fault == KVMCMO_FAULT_TRANSLATION) {
		t->dt_vcpu = t->vcpu;
		t->dt_page = page;
		t->dt_pc = t->pc;
		t->dt_ns = now;
		t->dt_kind = kind;
		t->dt_valid = 1;
		return;
	}
	if (fault != KVMCMO_FAULT_PERMISSION || !t->dt_valid)
		return;
	if (t->dt_kind != kind || t->dt_vcpu != t->vcpu || t->dt_page != page ||
	    t->dt_pc != t->pc)
		return;
	t->dt_valid = 0;
	k.vm = vm;
	k.kind = kind;
	k.memslot = memslot;
	h = lookup_or_init(&dfaults, &k, &zero_hist);
	if (!h)
		return;
	/* a plain hash shared by all CPUs: adds whose result is unused
	 * compile to BPF_XADD, which 5.10 accepts */
	slot = kvmcmo_hist_slot(now - t->dt_ns);
	if (slot < KVMCMO_HIST_SLOTS)   /* 40 slots: a mask of 39 would misfile */
		__sync_fetch_and_add(&h->slots[slot], 1);
	__sync_fetch_and_add(&h->sum_ns, now - t->dt_ns);
	__sync_fetch_and_add(&h->count, 1);
}

/* The VM id and vcpu_id of this thread's vcpu, from the cache when valid. */
static __always_inline void thread_vm(struct thread_state *t, struct kvm_vcpu *vcpu,
				      struct kvm *kvm)
{
	__u32 zero = 0;
	__u64 *gen = bpf_map_lookup_elem(&destroy_gen, &zero);
	__u64 g = gen ? *gen : 0;
	if (t->c_vcpu == t->vcpu && t->c_destroy_gen == g && t->c_vm)
		return;
	t->c_vm = vm_id((__u64)kvm);
	t->c_vcpu_id = BPF_CORE_READ(vcpu, vcpu_id);
	t->c_vcpu = t->vcpu;
	t->c_destroy_gen = g;
	t->c_row = vcpu_row(t->c_vm, t->c_vcpu_id);
	t->c_rrow_vm = 0;       /* the region row names the VM too */
	t->c_slot_valid = 0;    /* a destroyed VM's struct kvm may be this one */
}

/*
 * Memslot updates in flight, from KVM's arch hooks, which generic code
 * calls out of line on every kernel (kvm_set_memory_region() itself is
 * inlined into the ioctl on 5.10 to 6.12): an update begins at
 * kvm_arch_flush_shadow_memslot() (a slot being deleted or moved, right
 * after KVM swapped in its invalid copy), kvm_swap_active_memslots() (6.1+)
 * or kvm_arch_prepare_memory_region(), and ends when
 * kvm_arch_commit_memory_region() returns (or the prepare fails).  While
 * begun != ended no cached memslot is trusted; a cached one is valid while
 * `ended` keeps the value it was cached under.  This saves the two probe
 * reads (the memslots pointer and its generation) that validating against
 * KVM's own state costs on every abort.  memslot_writers pairs the ends
 * with a begin on the same thread (several begin hooks fire per update; an
 * update already in flight when kvmcmo attached has no begin).  Left: on
 * 5.10 a delete/move swaps the invalid copy in a little before the flush
 * hook (under synchronize_srcu), and an abort on that slot then is
 * labelled with the slot's flags, not "none".
 */
__u64 memslot_begun;
__u64 memslot_ended;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} memslot_writers SEC(".maps");

static __always_inline int on_memslot_update(bool begin)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	static const __u8 one = 1;

	if (begin) {
		if (!bpf_map_update_elem(&memslot_writers, &tid, &one, BPF_NOEXIST))
			__sync_fetch_and_add(&memslot_begun, 1);  /* result unused: XADD, fine on 5.10 */
	} else if (!bpf_map_delete_elem(&memslot_writers, &tid)) {
		__sync_fetch_and_add(&memslot_ended, 1);
	}
	return 0;
}

/* The memslot holding gfn: the cached one while no update happened. */
static __always_inline int thread_memslot(struct thread_state *t, struct kvm *kvm, __u64 gfn,
					  struct kvmcmo_slot *slot)
{
	__u64 ended = *(volatile __u64 *)&memslot_ended;
	bool quiet = *(volatile __u64 *)&memslot_begun == ended;
	struct kvm_memslots *slots;

	if (quiet && t->c_slot_valid && t->c_slots == (__u64)kvm && t->c_slots_gen == ended &&
	    gfn >= t->c_slot.base_gfn && gfn < t->c_slot.base_gfn + t->c_slot.npages) {
		*slot = t->c_slot;
		return 1;
	}
	slots = kvm_read_memslots(kvm);
	if (!kvm_find_memslot(slots, gfn, slot))
		return 0;
	t->c_slot = *slot;
	t->c_slots = (__u64)kvm;
	t->c_slots_gen = ended;
	t->c_slot_valid = quiet;
	t->c_rrow_vm = 0;
	return 1;
}

/* v, stored in t->f and loaded back: a value the verifier does not know */
#define OPAQUE(t, f, v) ({ (t)->f = (v); *(volatile typeof((t)->f) *)&(t)->f; })

/*
 * Close this thread's open abort: ret is the handler's return as far as
 * the closing tracepoint tells it (kvm_entry: > 0; kvm_userspace_exit: the
 * KVM_RUN return, 0 for an exit to the VMM, negative for an error).
 */
static __always_inline int on_abort_close(struct thread_state *t, long ret, __u32 exit_reason)
{
	struct kvm_vcpu *vcpu = (void *)t->vcpu;
	struct kvm *kvm = (void *)t->kvm;
	struct kvmcmo_abort_key ak = {};
	struct kvmcmo_slot slot = {};
	struct kvmcmo_obs obs = {};
	__u64 now = bpf_ktime_get_ns(), esr = t->esr, ipa = t->ipa, lat;
	__u32 label;
	int found, leaf;

	t->active = 0;
	thread_vm(t, vcpu, kvm);
	found = thread_memslot(t, kvm, ipa >> KVMCMO_PAGE_SHIFT, &slot);

	obs.ret = ret;
	obs.exit_reason = exit_reason;
	obs.events = t->events | (found ? KVMCMO_EV_MEMSLOT : 0);
	/*
	 * Resumed with nothing else seen: on RAM the handler mapped the page
	 * (the stage-2 leaf says with which permission); outside memslots it
	 * may have skipped the instruction (a CMO).
	 */
	if (ret > 0 && !(t->events & KVMCMO_EV_HANDLED)) {
		if (found) {
			leaf = t->s2_ok ? kvm_s2_leaf(&t->s2, &t->s2_hint, ipa) : -1;
			if (leaf >= 0)
				obs.events |= leaf ? KVMCMO_EV_MAP_W : KVMCMO_EV_MAP_R;
		} else if (kvm_read_skipped(vcpu, t->pc, esr)) {
			obs.events |= KVMCMO_EV_SKIP;
		}
	}

	ak.vm = t->c_vm;
	ak.vcpu = t->c_vcpu_id;
	/*
	 * Through the thread record and back: each classifier path ends in a
	 * constant, and the verifier would otherwise walk the rest of this
	 * program once per label (880 of them) instead of once.
	 */
	ak.kind = OPAQUE(t, o_kind, kvmcmo_classify_kind(esr));
	ak.fault = OPAQUE(t, o_fault, kvmcmo_classify_fault(esr));
	ak.memslot = OPAQUE(t, o_memslot, kvmcmo_classify_memslot(found, slot.flags));
	ak.outcome = OPAQUE(t, o_outcome, kvmcmo_classify_outcome(&obs));

	lat = now - t->start_ns;
	label = kvmcmo_label(ak.kind, ak.fault, ak.memslot, ak.outcome);
	if (vcpu_count(t->c_row, label, ak.outcome, lat))
		vcpu_count_hash(ak.vm, ak.vcpu, label, lat);

	/* region view: the memslot, or the 64 KiB IPA window outside them */
	if (!track_regions)
		goto regions_done;
	label = kvmcmo_region_label(ak.kind, ak.memslot, ak.outcome);
	if (found) {
		if (t->c_rrow_vm != ak.vm) {
			t->c_rrow = region_row(ak.vm, slot.base_gfn << KVMCMO_PAGE_SHIFT,
					       slot.npages << KVMCMO_PAGE_SHIFT, slot.id);
			t->c_rrow_vm = ak.vm;
		}
		if (region_count(t->c_rrow, label))
			region_count_hash(ak.vm, slot.base_gfn << KVMCMO_PAGE_SHIFT,
					  slot.npages << KVMCMO_PAGE_SHIFT, slot.id, label);
	} else {
		region_count_hash(ak.vm, ipa & ~((1ULL << KVMCMO_REGION_SHIFT) - 1),
				  1ULL << KVMCMO_REGION_SHIFT, -1, label);
	}
regions_done:
	check_double_fault(t, ak.vm, ak.kind, ak.fault, ak.memslot, ipa >> KVMCMO_PAGE_SHIFT, now);
	return 0;
}

/* kvm:kvm_entry: every guest entry; closes an open abort as resumed.  A
 * vCPU thread gets its record at its first entry (an inlined slot lookup
 * from then on). */
static __always_inline int on_guest_entry(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct thread_state *t;

	if (!traced())
		return 0;
	t = thread_find(tid);
	if (!t) {
		t = thread_create(tid);
		if (!t)
			return 0;
	}
	t->in_run = 1;
	if (t->active)
		on_abort_close(t, 1, 0);
	return 0;
}

/*
 * kvm:kvm_userspace_exit: KVM_RUN returns.  An abort still open ended the
 * run: err is the handler's return (0: exit to the VMM with reason; < 0:
 * the run fails), except KVM_EXIT_INTR, a signal seen after the handler
 * resumed the guest.  The thread may run another vcpu next.
 */
static __always_inline int on_vmm_exit(__u32 reason, int err)
{
	struct thread_state *t;

	if (!traced())
		return 0;
	t = thread_find((__u32)bpf_get_current_pid_tgid());
	if (!t)
		return 0;
	if (t->active)
		on_abort_close(t, reason == KVMCMO_EXIT_INTR ? 1 : err, reason);
	t->vcpu_ok = 0;
	t->in_run = 0;
	return 0;
}

/* ---- the hot path: BTF tracepoints (every kernel) ---------------------- */

SEC("tp_btf/kvm_guest_fault")
int BPF_PROG(abort_open_tp, unsigned long pc, unsigned long esr, unsigned long far,
	     unsigned long long ipa)
{
	return on_abort_open(pc, esr, ipa);
}

SEC("tp_btf/kvm_entry")
int BPF_PROG(guest_entry_tp)
{
	return on_guest_entry();
}

SEC("tp_btf/kvm_userspace_exit")
int BPF_PROG(vmm_exit_tp, __u32 reason, int err)
{
	return on_vmm_exit(reason, err);
}

/* handle_access_fault(): the access-flag outcome */
SEC("tp_btf/kvm_access_fault")
int BPF_PROG(access_fault_tp)
{
	return on_event(KVMCMO_EV_MKYOUNG);
}

/* ---- fentry/fexit variants (6.12+ on arm64; chosen by a real attach) ---- */

SEC("fentry/io_mem_abort")
int BPF_PROG(io_mem_abort_fentry)
{
	return on_event(KVMCMO_EV_IO_MEM_ABORT);
}

SEC("fentry/kvm_inject_dabt")
int BPF_PROG(inject_dabt_fentry, struct kvm_vcpu *vcpu)
{
	return on_inject_dabt(vcpu);
}

/* 7.2: kvm_inject_dabt() is gone; kvm_inject_sea(vcpu, iabt, addr) */
SEC("fentry/kvm_inject_sea")
int BPF_PROG(inject_sea_fentry, struct kvm_vcpu *vcpu, bool iabt)
{
	return iabt ? 0 : on_inject_dabt(vcpu);
}

SEC("fentry/kvm_pgtable_stage2_relax_perms")
int BPF_PROG(stage2_relax_fentry)
{
	return on_event(KVMCMO_EV_RELAX);
}

SEC("fentry/kvm_arch_prepare_memory_region")
int BPF_PROG(memslot_prepare_fentry)
{
	return on_memslot_update(true);
}

SEC("fexit/kvm_arch_prepare_memory_region")
int BPF_PROG(memslot_prepared_fexit, void *a, void *b, void *c, void *d, int ret)
{
	return ret ? on_memslot_update(false) : 0;
}

SEC("fexit/kvm_arch_commit_memory_region")
int BPF_PROG(memslot_commit_fexit)
{
	return on_memslot_update(false);
}

SEC("fentry/kvm_arch_flush_shadow_memslot")
int BPF_PROG(memslot_flush_fentry)
{
	return on_memslot_update(true);
}

SEC("fentry/kvm_swap_active_memslots")
int BPF_PROG(memslot_swap_fentry)
{
	return on_memslot_update(true);
}

SEC("fentry/kvm_arch_destroy_vm")
int BPF_PROG(destroy_vm_fentry, struct kvm *kvm)
{
	return on_destroy_vm(kvm);
}

/* every thread's exit, on every kernel: frees its slot (user/attach.c
 * attaches it in both modes) */
SEC("raw_tp/sched_process_exit")
int thread_exit_tp(void *ctx)
{
	return on_thread_exit();
}

/* ---- kprobe/kretprobe variants (5.10, 6.1: no arm64 ftrace trampolines) */

SEC("kprobe/io_mem_abort")
int BPF_KPROBE(io_mem_abort_kprobe)
{
	return on_event(KVMCMO_EV_IO_MEM_ABORT);
}

SEC("kprobe/kvm_inject_dabt")
int BPF_KPROBE(inject_dabt_kprobe, struct kvm_vcpu *vcpu)
{
	return on_inject_dabt(vcpu);
}

SEC("kprobe/kvm_inject_sea")
int BPF_KPROBE(inject_sea_kprobe, struct kvm_vcpu *vcpu, bool iabt)
{
	return iabt ? 0 : on_inject_dabt(vcpu);
}

SEC("kprobe/kvm_pgtable_stage2_relax_perms")
int BPF_KPROBE(stage2_relax_kprobe)
{
	return on_event(KVMCMO_EV_RELAX);
}

SEC("kprobe/kvm_arch_prepare_memory_region")
int BPF_KPROBE(memslot_prepare_kprobe)
{
	return on_memslot_update(true);
}

SEC("kretprobe/kvm_arch_prepare_memory_region")
int BPF_KRETPROBE(memslot_prepared_kretprobe, int ret)
{
	return ret ? on_memslot_update(false) : 0;
}

SEC("kretprobe/kvm_arch_commit_memory_region")
int BPF_KRETPROBE(memslot_commit_kretprobe)
{
	return on_memslot_update(false);
}

SEC("kprobe/kvm_arch_flush_shadow_memslot")
int BPF_KPROBE(memslot_flush_kprobe)
{
	return on_memslot_update(true);
}

SEC("kprobe/kvm_swap_active_memslots")
int BPF_KPROBE(memslot_swap_kprobe)
{
	return on_memslot_update(true);
}

SEC("kprobe/kvm_arch_destroy_vm")
int BPF_KPROBE(destroy_vm_kprobe, struct kvm *kvm)
{
	return on_destroy_vm(kvm);
}
