// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * probe.bpf.c - an empty fentry program.  user/attach.c points it at each
 * kernel function kvmcmo wants and really attaches it: arm64 gained the
 * ftrace direct calls fentry needs only after 6.1, and a real attach is the
 * only reliable test (never the kernel version).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("fentry/kvm_handle_guest_abort")
int BPF_PROG(probe_fentry)
{
	return 0;
}
