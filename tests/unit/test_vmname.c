// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_vmname.c - user/vmname.c: VM names from VMM command lines.
 *
 * The command lines are the ones the VMMs really get: libvirt's QEMU line
 * (abridged from a libvirt 9.x domain log), hand-written QEMU lines,
 * kvmtool's "lkvm run".  The /proc tests run on real processes: this one,
 * a zombie, a reaped child and a shell carrying a QEMU-style argv.
 *
 * Build: cc -std=c11 -D_GNU_SOURCE -Ibpf -Iuser -Itests/unit \
 *        tests/unit/test_vmname.c user/vmname.c
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "libkvmcmo.h"

/* argv as one NUL-separated buffer; sizeof() - 1 drops the literal's NUL
 * so the last element ends without one, as a rewritten argv may */
#define ARGV(s) s, sizeof(s) - 1

struct name_case {
	const char *what;
	const char *cmdline;
	size_t n;
	int ret;                /* 0 or -ENOENT */
	const char *name;       /* expected buffer, "" when not found */
};

#define LONG200 \
	"0123456789abcdefghij0123456789abcdefghij0123456789abcdefghij" \
	"0123456789abcdefghij0123456789abcdefghij0123456789abcdefghij" \
	"0123456789abcdefghij0123456789abcdefghij0123456789abcdefghij" \
	"0123456789abcdefghij"

static const char long200[] = LONG200;
_Static_assert(sizeof(long200) == 201, "200 characters");

static const struct name_case cases[] = {
	{ "libvirt",
	  ARGV("/usr/bin/qemu-system-aarch64\0-name\0guest=vm1,debug-threads=on\0"
	       "-S\0-object\0{\"qom-type\":\"secret\",\"id\":\"masterKey0\",\"format\":\"raw\","
	       "\"file\":\"/var/lib/libvirt/qemu/domain-1-vm1/master-key.aes\"}\0"
	       "-blockdev\0{\"driver\":\"file\",\"filename\":\"/usr/share/AAVMF/AAVMF_CODE.fd\","
	       "\"node-name\":\"libvirt-pflash0-storage\",\"auto-read-only\":true,"
	       "\"discard\":\"unmap\"}\0"
	       "-machine\0virt-8.2,usb=off,gic-version=3,dump-guest-core=off\0"
	       "-accel\0kvm\0-cpu\0host\0-m\0size=4194304k\0"
	       "-smp\0" "4,sockets=4,cores=1,threads=1\0"
	       "-uuid\0c7a5fdbd-cdaf-9455-926a-d65c16db1809\0"
	       "-no-user-config\0-nodefaults\0"
	       "-chardev\0socket,id=charmonitor,fd=32,server=on,wait=off\0"
	       "-mon\0chardev=charmonitor,id=monitor,mode=control\0"
	       "-msg\0timestamp=on\0"),
	  0, "vm1" },
	{ "libvirt, name with a doubled comma",
	  ARGV("qemu-system-aarch64\0-name\0guest=web,,prod,debug-threads=on\0-S\0"),
	  0, "web,prod" },
	{ "qemu -name NAME",
	  ARGV("qemu-system-aarch64\0-M\0virt\0-accel\0kvm\0-name\0myvm\0-nographic\0"),
	  0, "myvm" },
	{ "qemu implied name then process=",
	  ARGV("qemu-system-aarch64\0-name\0myvm,process=qemu-myvm,debug-threads=on\0"),
	  0, "myvm" },
	{ "qemu guest= after other keys",
	  ARGV("qemu-kvm\0-name\0debug-threads=on,guest=late\0"),
	  0, "late" },
	{ "qemu process= only: no guest name",
	  ARGV("qemu-system-aarch64\0-name\0process=worker\0-m\0" "1G\0"),
	  -ENOENT, "" },
	{ "qemu --name is -name",
	  ARGV("/usr/bin/qemu-system-aarch64\0--name\0guest=dd,debug-threads=on\0"),
	  0, "dd" },
	{ "qemu repeated -name: last wins",
	  ARGV("qemu-system-aarch64\0-name\0first\0-name\0guest=second\0"),
	  0, "second" },
	{ "qemu repeated guest= key: last wins",
	  ARGV("qemu-system-aarch64\0-name\0a,guest=b\0"),
	  0, "b" },
	{ "qemu empty guest name",
	  ARGV("qemu-system-aarch64\0-name\0guest=,debug-threads=on\0"),
	  -ENOENT, "" },
	{ "qemu -name=NAME is refused by QEMU",
	  ARGV("qemu-system-aarch64\0-name=vm\0-m\0" "1G\0"),
	  -ENOENT, "" },
	{ "-name last, no value",
	  ARGV("qemu-system-aarch64\0-m\0" "1G\0-name\0"),
	  -ENOENT, "" },
	{ "-name last, no value, no trailing NUL",
	  ARGV("qemu-system-aarch64\0-m\0" "1G\0-name"),
	  -ENOENT, "" },
	{ "-name inside another argument is not an option",
	  ARGV("qemu-system-aarch64\0-append\0console=ttyAMA0 -name x\0"),
	  -ENOENT, "" },
	{ "no name anywhere",
	  ARGV("qemu-system-aarch64\0-M\0virt\0-cpu\0host\0"),
	  -ENOENT, "" },
	{ "argv[0] alone", ARGV("qemu-system-aarch64"), -ENOENT, "" },
	{ "empty cmdline (kernel thread, zombie)", "", 0, -ENOENT, "" },
	{ "argv[0] called -name is not an option",
	  ARGV("-name\0x\0"), -ENOENT, "" },

	{ "kvmtool --name NAME",
	  ARGV("lkvm\0run\0-k\0/boot/Image\0-m\0" "512\0-c\0" "2\0--name\0guest-1\0"),
	  0, "guest-1" },
	{ "kvmtool --name=NAME",
	  ARGV("/usr/local/bin/lkvm\0run\0--name=tool,vm\0--console\0serial\0"),
	  0, "tool,vm" },
	{ "kvmtool: commas are literal",
	  ARGV("lkvm\0run\0--name\0a,,b,guest=c\0"),
	  0, "a,,b,guest=c" },
	{ "kvmtool --name last, no value",
	  ARGV("lkvm\0run\0--name\0"), -ENOENT, "" },
	{ "kvmtool --name= empty",
	  ARGV("lkvm\0run\0--name=\0"), -ENOENT, "" },
	{ "kvmtool: after --, not an option",
	  ARGV("lkvm\0run\0--\0--name\0x\0"), -ENOENT, "" },

	{ "hostile: quotes and backslashes",
	  ARGV("qemu-system-aarch64\0-name\0guest=\"vm\\\\1'\",debug-threads=on\0"),
	  0, "\"vm\\\\1'\"" },
	{ "hostile: newline and tab",
	  ARGV("lkvm\0run\0--name\0line1\nline2\tend\0"),
	  0, "line1\nline2\tend" },
	{ "hostile: UTF-8",
	  ARGV("qemu-system-aarch64\0-name\0guest=\xc3\xa9t\xc3\xa9-\xe2\x98\x83-\xf0\x9f\x90\xa7\0"),
	  0, "\xc3\xa9t\xc3\xa9-\xe2\x98\x83-\xf0\x9f\x90\xa7" },
	{ "hostile: 200 chars truncated to 127",
	  ARGV("lkvm\0run\0--name\0" LONG200),
	  0, NULL /* long200[:127] */ },
};

TEST(cmdline_table)
{
	for (size_t i = 0; i < TEST_COUNT(cases); i++) {
		const struct name_case *c = &cases[i];
		char buf[128], want[128];
		int ret;

		memset(buf, 'X', sizeof(buf));
		ret = kvmcmo_vm_name_from_cmdline(c->cmdline, c->n, buf, sizeof(buf));
		if (c->name)
			snprintf(want, sizeof(want), "%s", c->name);
		else
			snprintf(want, sizeof(want), "%.127s", long200);
		ASSERT_EQ(ret, c->ret, "%s", c->what);
		ASSERT_TRUE(memchr(buf, '\0', sizeof(buf)) != NULL, "%s: NUL-terminated", c->what);
		ASSERT_STREQ(buf, want, "%s", c->what);
	}
}

/* small buffers: every length keeps the NUL and a prefix of the name */
TEST(truncation_lengths)
{
	static const char cmd[] = "lkvm\0run\0--name\0abcdef";
	char buf[8];

	for (size_t len = 1; len <= sizeof(buf); len++) {
		memset(buf, 'X', sizeof(buf));
		ASSERT_EQ(kvmcmo_vm_name_from_cmdline(cmd, sizeof(cmd) - 1, buf, len),
			  len > 1 ? 0 : -ENOENT, "len %zu", len);
		ASSERT_EQ(strlen(buf), len - 1 < 6 ? len - 1 : 6, "len %zu", len);
		ASSERT_TRUE(!strncmp(buf, "abcdef", strlen(buf)), "len %zu: %s", len, buf);
		if (len < sizeof(buf))
			ASSERT_EQ(buf[len], 'X', "len %zu: wrote past the buffer", len);
	}
	ASSERT_EQ(kvmcmo_vm_name_from_cmdline(cmd, sizeof(cmd) - 1, buf, 0), -EINVAL,
		  "len 0 has no room for the NUL");
}

/* a cut never leaves half a UTF-8 sequence behind */
TEST(truncation_utf8)
{
	/* "ab" then U+1F427 (4 bytes) then U+00E9 (2 bytes) */
	static const char cmd[] = "lkvm\0run\0--name\0ab\xf0\x9f\x90\xa7\xc3\xa9";
	static const struct { size_t len; const char *want; } t[] = {
		{ 3, "ab" }, { 4, "ab" }, { 5, "ab" }, { 6, "ab" },
		{ 7, "ab\xf0\x9f\x90\xa7" }, { 8, "ab\xf0\x9f\x90\xa7" },
		{ 9, "ab\xf0\x9f\x90\xa7\xc3\xa9" },
	};
	char buf[16];

	for (size_t i = 0; i < TEST_COUNT(t); i++) {
		ASSERT_EQ(kvmcmo_vm_name_from_cmdline(cmd, sizeof(cmd) - 1, buf, t[i].len), 0,
			  "len %zu", t[i].len);
		ASSERT_STREQ(buf, t[i].want, "len %zu", t[i].len);
	}
}

/* our own cmdline has no -name: the name is our comm */
TEST(self_comm_fallback)
{
	char buf[128], old[32] = "";

	prctl(PR_GET_NAME, old);
	ASSERT_EQ(prctl(PR_SET_NAME, "kvmcmo-selftest"), 0, "prctl");
	ASSERT_EQ(kvmcmo_vm_name(getpid(), buf, sizeof(buf)), 0, "own pid");
	ASSERT_STREQ(buf, "kvmcmo-selftest", "comm, newline stripped");

	/* comm truncated to a small buffer */
	ASSERT_EQ(kvmcmo_vm_name(getpid(), buf, 5), 0, "own pid, len 5");
	ASSERT_STREQ(buf, "kvmc", "len 5");
	prctl(PR_SET_NAME, old);
}

/* a zombie's cmdline is empty: comm still names it */
TEST(zombie_comm)
{
	siginfo_t si;
	char buf[64];
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_NAME, "zombie-vm");
		_exit(0);
	}
	if (!ASSERT_TRUE(pid > 0, "fork: %s", strerror(errno)))
		return;
	/* WNOWAIT: wait for the exit but leave the zombie */
	ASSERT_EQ(waitid(P_PID, pid, &si, WEXITED | WNOWAIT), 0, "waitid");
	ASSERT_EQ(kvmcmo_vm_name(pid, buf, sizeof(buf)), 0, "zombie");
	ASSERT_STREQ(buf, "zombie-vm", "zombie");
	waitpid(pid, NULL, 0);

	/* reaped: gone, "" and -ENOENT (pid reuse within this window is not a concern) */
	memset(buf, 'X', sizeof(buf));
	ASSERT_EQ(kvmcmo_vm_name(pid, buf, sizeof(buf)), -ENOENT, "reaped");
	ASSERT_STREQ(buf, "", "reaped");
}

/* a live process whose argv carries a QEMU -name: read through /proc */
TEST(live_cmdline)
{
	int out[2], in[2];
	char buf[64], ready[8];
	ssize_t r;
	pid_t pid;

	if (!ASSERT_EQ(pipe(out) | pipe(in), 0, "pipe"))
		return;
	pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		/* sh -c SCRIPT ARG0 ARGS...: the argv after SCRIPT is ours to choose */
		execl("/bin/sh", "sh", "-c", "echo ready; read x", "qemu-system-aarch64",
		      "-name", "guest=live,,vm,debug-threads=on", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	if (!ASSERT_TRUE(pid > 0, "fork"))
		return;
	/* "ready" is printed after exec, so /proc shows the new argv */
	r = read(out[0], ready, sizeof(ready));
	ASSERT_TRUE(r > 0, "child ready");
	ASSERT_EQ(kvmcmo_vm_name(pid, buf, sizeof(buf)), 0, "live");
	ASSERT_STREQ(buf, "live,vm", "live");
	close(in[1]);           /* read x sees EOF, the shell exits */
	close(out[0]);
	waitpid(pid, NULL, 0);
}

static const struct test tests[] = {
	TEST_ENTRY(cmdline_table),
	TEST_ENTRY(truncation_lengths),
	TEST_ENTRY(truncation_utf8),
	TEST_ENTRY(self_comm_fallback),
	TEST_ENTRY(zombie_comm),
	TEST_ENTRY(live_cmdline),
};

int main(void)
{
	return test_run(tests, TEST_COUNT(tests));
}
