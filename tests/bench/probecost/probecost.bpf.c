// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * probecost.bpf.c - the floor cost of each attach primitive kvmcmo could
 * use on the abort path, measured by tests/bench/probecost.sh.  Every
 * program only counts its runs (one per-CPU array add), except the *_ktime,
 * *_read and *_hash ones, which add one clock read, one probe read, one
 * hash lookup to that.  Nothing here is used by kvmcmo itself.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 32);
	__type(key, __u32);
	__type(value, __u64);
} runs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} h SEC(".maps");

__u64 sink;

static __always_inline int hit(__u32 i)
{
	__u64 *v = bpf_map_lookup_elem(&runs, &i);

	if (v)
		*v += 1;
	return 0;
}

SEC("tp_btf/kvm_exit") int BPF_PROG(tp_exit) { return hit(0); }
SEC("tp_btf/kvm_entry") int BPF_PROG(tp_entry) { return hit(1); }
SEC("tp_btf/kvm_guest_fault") int BPF_PROG(tp_fault) { return hit(2); }
SEC("raw_tp/kvm_guest_fault") int raw_fault(void *ctx) { return hit(3); }
SEC("fentry/kvm_handle_guest_abort") int BPF_PROG(fentry_abort) { return hit(4); }
SEC("fexit/kvm_handle_guest_abort") int BPF_PROG(fexit_abort) { return hit(5); }
SEC("kprobe/kvm_handle_guest_abort") int BPF_KPROBE(kprobe_abort) { return hit(6); }
SEC("kretprobe/kvm_handle_guest_abort") int BPF_KRETPROBE(kretprobe_abort) { return hit(7); }
SEC("fentry/kvm_pgtable_stage2_map") int BPF_PROG(fentry_map) { return hit(8); }
SEC("kprobe/kvm_pgtable_stage2_map") int BPF_KPROBE(kprobe_map) { return hit(9); }

SEC("tp_btf/kvm_guest_fault") int BPF_PROG(tp_fault_ktime)
{
	sink += bpf_ktime_get_ns();
	return hit(10);
}

SEC("tp_btf/kvm_guest_fault") int BPF_PROG(tp_fault_read)
{
	struct task_struct *t = (void *)bpf_get_current_task();

	sink += (__u64)BPF_CORE_READ(t, mm);
	return hit(11);
}

SEC("tp_btf/kvm_guest_fault") int BPF_PROG(tp_fault_hash)
{
	__u32 k = (__u32)bpf_get_current_pid_tgid() & 1023;
	__u64 *v = bpf_map_lookup_elem(&h, &k);

	if (v)
		sink += *v;
	return hit(12);
}

SEC("tp_btf/kvm_userspace_exit") int BPF_PROG(tp_uexit) { return hit(13); }
