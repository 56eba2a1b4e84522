// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * vmlive.c - is a VM the kernel maps call alive really alive?
 *
 * The BPF side learns of a VM's end from its kvm_arch_destroy_vm() probe.
 * A kprobe can be skipped: the kernel does not run a kprobe program while
 * another BPF program or a BPF map syscall holds its recursion guard on
 * that CPU, and on a preemptible kernel a reader preempted inside a map
 * syscall holds it for a while (the kernel counts the skip in the
 * program's recursion_misses from 5.12, silently before).  A VM whose
 * destroy went unseen would stay alive forever, so readers ask the
 * kernel's own bookkeeping instead (reap.c):
 *
 *  1. KVM's debugfs directory "<pid>-<fd>" (/sys/kernel/debug/kvm), made
 *     when the VM is created and removed first thing in kvm_destroy_vm():
 *     exact, and named with global pids.
 *  2. Without debugfs: the VMM's /proc/<pid>/fd/<fd>, which is the VM's
 *     anon inode until the VM fd is closed (a VM is destroyed when its last
 *     reference goes, so after its fd is closed).  Only when this process
 *     sees global pids (the initial pid namespace): in a container the
 *     pids the BPF side records mean nothing in /proc.
 *  3. Otherwise: unknown, which readers take as alive.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* the initial pid namespace's inode number (PROC_PID_INIT_INO) */
#define KVMCMO_PID_INIT_INO 0xEFFFFFFCU

int kvmcmo_vm_fd(const char *debugfs_name)
{
	const char *dash = strchr(debugfs_name, '-');
	char *end;
	long fd;

	if (!dash || !dash[1])
		return -1;
	errno = 0;
	fd = strtol(dash + 1, &end, 10);
	if (errno || *end || fd < 0 || fd > INT_MAX)
		return -1;
	return (int)fd;
}

bool kvmcmo_global_pids(void)
{
	struct stat st;

	return !stat("/proc/self/ns/pid", &st) && st.st_ino == KVMCMO_PID_INIT_INO;
}

/* 1: KVM's debugfs directory of the VM, when debugfs shows KVM's */
static enum kvmcmo_vm_live live_debugfs(const char *root, const char *debugfs_name)
{
	char path[PATH_MAX];
	struct stat st;
	int dir, err;

	if (!debugfs_name[0] || strchr(debugfs_name, '/'))
		return KVMCMO_VM_UNKNOWN;
	snprintf(path, sizeof(path), "%s/sys/kernel/debug/kvm", root);
	dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return KVMCMO_VM_UNKNOWN;       /* no debugfs, or no access */
	err = fstatat(dir, debugfs_name, &st, AT_SYMLINK_NOFOLLOW) ? errno : 0;
	close(dir);
	if (!err)
		return S_ISDIR(st.st_mode) ? KVMCMO_VM_ALIVE : KVMCMO_VM_UNKNOWN;
	return err == ENOENT ? KVMCMO_VM_GONE : KVMCMO_VM_UNKNOWN;
}

/* 2: the VMM's VM fd */
static enum kvmcmo_vm_live live_proc(const char *root, __u32 pid, int fd)
{
	char path[PATH_MAX], link[64];
	struct stat st;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/proc/%u", root, pid);
	if (stat(path, &st))
		return errno == ENOENT ? KVMCMO_VM_GONE : KVMCMO_VM_UNKNOWN;
	if (fd < 0)
		return KVMCMO_VM_ALIVE;         /* the VMM lives: nothing better */
	snprintf(path, sizeof(path), "%s/proc/%u/fd/%d", root, pid, fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		/* ENOENT: closed, or the VMM is a zombie with no fds left */
		return errno == ENOENT ? KVMCMO_VM_GONE : KVMCMO_VM_UNKNOWN;
	link[n] = 0;
	return strcmp(link, "anon_inode:kvm-vm") ? KVMCMO_VM_GONE : KVMCMO_VM_ALIVE;
}

enum kvmcmo_vm_live kvmcmo_vm_live(const char *root, __u32 pid, const char *debugfs_name,
				   bool global_pids)
{
	enum kvmcmo_vm_live l = live_debugfs(root, debugfs_name);

	if (l != KVMCMO_VM_UNKNOWN || !global_pids)
		return l;
	return live_proc(root, pid, kvmcmo_vm_fd(debugfs_name));
}
