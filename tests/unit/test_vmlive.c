// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_vmlive.c - user/vmlive.c: is a VM alive, as KVM's debugfs and the
 * VMM's /proc say?  The trees are built under a temporary root: KVM's
 * debugfs directories "<pid>-<fd>", a VMM whose VM fd links to
 * anon_inode:kvm-vm, one whose fd was reused for a file, a zombie (a
 * /proc/<pid> without fds).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "internal.h"

static char root[64], bare[64];         /* with debugfs, without */

static void mk(const char *base, const char *rel)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", base, rel);
	for (char *s = p + strlen(base) + 1; *s; s++)
		if (*s == '/') {
			*s = 0;
			mkdir(p, 0755);
			*s = '/';
		}
	mkdir(p, 0755);
}

static void ln(const char *base, const char *rel, const char *target)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", base, rel);
	if (symlink(target, p))
		perror(p);
}

static void make_trees(void)
{
	const char *bases[] = { root, bare };

	snprintf(root, sizeof(root), "/tmp/kvmcmo-vmlive.XXXXXX");
	snprintf(bare, sizeof(bare), "/tmp/kvmcmo-vmlive.XXXXXX");
	if (!mkdtemp(root) || !mkdtemp(bare))
		return;
	mk(root, "sys/kernel/debug/kvm/100-5");
	for (int i = 0; i < 2; i++) {
		mk(bases[i], "proc/100/fd");
		ln(bases[i], "proc/100/fd/5", "anon_inode:kvm-vm");
		ln(bases[i], "proc/100/fd/6", "/var/lib/vm/disk.img");
		mk(bases[i], "proc/200");       /* a zombie: no fd dir */
	}
}

TEST(vm_fd)
{
	static const struct { const char *name; int fd; } c[] = {
		{ "100-5", 5 }, { "4242-123", 123 }, { "100-", -1 }, { "100", -1 },
		{ "100-5x", -1 }, { "", -1 }, { "100--5", -1 },
	};

	for (size_t i = 0; i < TEST_COUNT(c); i++)
		ASSERT_EQ(kvmcmo_vm_fd(c[i].name), c[i].fd, "\"%s\"", c[i].name);
}

TEST(debugfs_decides)
{
	/* the directory is KVM's word, whatever /proc shows */
	ASSERT_EQ(kvmcmo_vm_live(root, 100, "100-5", true), KVMCMO_VM_ALIVE, "dir there");
	ASSERT_EQ(kvmcmo_vm_live(root, 100, "100-6", true), KVMCMO_VM_GONE,
		  "dir gone, the fd is a file now");
	ASSERT_EQ(kvmcmo_vm_live(root, 100, "100-7", false), KVMCMO_VM_GONE,
		  "dir gone, foreign pids: debugfs names global pids");
	ASSERT_EQ(kvmcmo_vm_live(root, 100, "../kvm/100-5", false), KVMCMO_VM_UNKNOWN,
		  "a name with a slash is not looked up");
}

TEST(proc_without_debugfs)
{
	ASSERT_EQ(kvmcmo_vm_live(bare, 100, "100-5", true), KVMCMO_VM_ALIVE, "VM fd open");
	ASSERT_EQ(kvmcmo_vm_live(bare, 100, "100-6", true), KVMCMO_VM_GONE,
		  "fd reused for a file");
	ASSERT_EQ(kvmcmo_vm_live(bare, 100, "100-7", true), KVMCMO_VM_GONE, "fd closed");
	ASSERT_EQ(kvmcmo_vm_live(bare, 200, "200-5", true), KVMCMO_VM_GONE, "zombie VMM");
	ASSERT_EQ(kvmcmo_vm_live(bare, 999, "999-5", true), KVMCMO_VM_GONE, "VMM gone");
	ASSERT_EQ(kvmcmo_vm_live(bare, 100, "", true), KVMCMO_VM_ALIVE,
		  "no fd known: the VMM lives");
	ASSERT_EQ(kvmcmo_vm_live(bare, 999, "", true), KVMCMO_VM_GONE,
		  "no fd known, VMM gone");
	/* a name without debugfs under it falls back to /proc too */
	ASSERT_EQ(kvmcmo_vm_live(root, 999, "", true), KVMCMO_VM_GONE, "no name, VMM gone");
}

TEST(foreign_pids_tell_nothing)
{
	/* in a container /proc/<pid> is some other process, or none */
	ASSERT_EQ(kvmcmo_vm_live(bare, 999, "999-5", false), KVMCMO_VM_UNKNOWN, "VMM gone?");
	ASSERT_EQ(kvmcmo_vm_live(bare, 100, "100-7", false), KVMCMO_VM_UNKNOWN, "fd closed?");
	ASSERT_EQ(kvmcmo_vm_live(root, 999, "", false), KVMCMO_VM_UNKNOWN, "no name");
}

static const struct test tests[] = {
	TEST_ENTRY(vm_fd),
	TEST_ENTRY(debugfs_decides),
	TEST_ENTRY(proc_without_debugfs),
	TEST_ENTRY(foreign_pids_tell_nothing),
};

int main(void)
{
	char cmd[160];
	int ret;

	make_trees();
	ret = test_run(tests, TEST_COUNT(tests));
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", root, bare);
	if (root[0] == '/' && system(cmd))
		return 1;
	return ret;
}
