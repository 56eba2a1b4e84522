// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * host.c - can this host run kvmcmo at all?  Each "no" is one line that
 * says what is missing and what to do, and exit code 3.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <linux/capability.h>

#include "libkvmcmo.h"
#include "ksyms.h"

/* CAP_BPF (39) and CAP_PERFMON (38) exist from 5.8; 5.10 has both */
#define CAP_PERFMON_BIT 38
#define CAP_BPF_BIT 39

static bool has_caps(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};
	__u64 eff;

	if (syscall(SYS_capget, &hdr, data))
		return geteuid() == 0;
	eff = ((__u64)data[1].effective << 32) | data[0].effective;
	if (eff & (1ULL << CAP_SYS_ADMIN))
		return true;
	return (eff & (1ULL << CAP_BPF_BIT)) && (eff & (1ULL << CAP_PERFMON_BIT));
}

static int check_arch(char *why, size_t len)
{
	struct utsname u;

	if (uname(&u) == 0 && strcmp(u.machine, "aarch64")) {
		snprintf(why, len,
			 "this host is %s: kvmcmo needs an arm64 host with KVM "
			 "(elsewhere, 'make demo' boots an emulated one)", u.machine);
		return KVMCMO_EXIT_UNSUPPORTED;
	}
	return 0;
}

static int check_dev_kvm(char *why, size_t len)
{
	if (access("/dev/kvm", F_OK)) {
		snprintf(why, len,
			 "no /dev/kvm: KVM did not initialise on this host "
			 "(boot at EL2, check 'dmesg | grep -i kvm')");
		return KVMCMO_EXIT_UNSUPPORTED;
	}
	return 0;
}

int kvmcmo_host_check_kvm(char *why, size_t len)
{
	return check_arch(why, len) ?: check_dev_kvm(why, len);
}

int kvmcmo_host_check(char *why, size_t len)
{
	if (check_arch(why, len))
		return KVMCMO_EXIT_UNSUPPORTED;
	if (access("/sys/kernel/btf/vmlinux", R_OK) && errno == ENOENT) {
		snprintf(why, len,
			 "no kernel BTF (/sys/kernel/btf/vmlinux): this kernel needs "
			 "CONFIG_DEBUG_INFO_BTF=y for kvmcmo's CO-RE programs");
		return KVMCMO_EXIT_UNSUPPORTED;
	}
	if (!has_caps()) {
		snprintf(why, len,
			 "not privileged: run as root, or with CAP_BPF, CAP_PERFMON "
			 "and CAP_SYS_RESOURCE");
		return KVMCMO_EXIT_UNSUPPORTED;
	}
	if (!kvmcmo_ksym_exists("kvm_handle_guest_abort")) {
		snprintf(why, len,
			 "kvm_handle_guest_abort not found: this kernel has no arm64 KVM "
			 "(CONFIG_KVM) or /proc/kallsyms is unreadable");
		return KVMCMO_EXIT_UNSUPPORTED;
	}
	return check_dev_kvm(why, len);
}
