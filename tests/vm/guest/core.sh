#!/bin/sh
# Guest side of the core test (runs inside the emulated arm64 KVM host, as
# /payload/run.sh).  For each attach mode this kernel offers: `kvmcmo stat
# --json` attached while the workload runs (the host compares the two with
# tests/vm/compare.py), then `kill -9` of an attached kvmcmo and a check that
# nothing stays attached.  Results go to /out/ for the host to judge; this
# script only fails when something could not run at all.
cd /payload || exit 1
K=./kvmcmo
uname -r > /out/uname
$K check --json > /out/check.json 2>/out/check.err
echo $? > /out/check.rc

modes=kprobe
if $K check --attach fentry >/dev/null 2>&1; then
	modes="fentry kprobe"
fi
echo "$modes" > /out/modes

# wait until kvmcmo says every probe is attached (its stderr line)
wait_tracing() {
	i=0
	while ! grep -q "Tracing guest aborts" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 600 ] && return 1
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
}

# what is attached: the kernel's own lists (fentry trampolines show in
# enabled_functions, perf kprobes in debugfs kprobes/list), and for the
# tracepoint programs, which neither lists, the kernel's program ids
# (`kvmcmo check --loaded`: BPF_PROG_GET_NEXT_ID, matched by name)
attached() {
	{ cat /sys/kernel/tracing/enabled_functions 2>/dev/null
	  cat /sys/kernel/debug/kprobes/list 2>/dev/null; } |
		grep -E 'kvm_handle_guest_abort|io_mem_abort|kvm_pgtable_stage2_(map|relax_perms|mkyoung)|kvm_inject_(dabt|sea)|kvm_arch_destroy_vm' || true
	$K check --loaded 2>&1
}

for m in $modes; do
	$K stat --json --attach $m > /out/stat-$m.json 2> /out/stat-$m.err &
	pid=$!
	if wait_tracing /out/stat-$m.err $pid; then
		$K selftest --workload-only --truth /out/truth-$m.json > /out/workload-$m.txt 2>&1
		echo $? > /out/workload-$m.rc
	fi
	kill -INT $pid
	wait $pid
	echo $? > /out/stat-$m.rc

	# kill -9 must leave nothing attached (links die with the process)
	attached > /out/before-$m.txt
	$K stat --attach $m > /dev/null 2> /out/kill9-$m.err &
	pid=$!
	if wait_tracing /out/kill9-$m.err $pid; then
		attached > /out/during-$m.txt
		kill -9 $pid
		wait $pid 2>/dev/null
		i=0
		while [ $i -lt 30 ]; do
			attached > /out/after-$m.txt
			[ -s /out/after-$m.txt ] || break
			i=$((i + 1))
			sleep 0.1
		done
		echo "$i" > /out/after-$m.polls
	fi
done

# no destroy probe (KVMCMO_NO_PROBE), as when the kernel's recursion guard
# skips a destroy kprobe: a VM's end is then found when a new VMM's VM
# takes its struct kvm (bpf/kvmcmo.bpf.c vm_id()) or from KVM's debugfs
# (user/reap.c), and every VM's counts must stay exact
KVMCMO_NO_PROBE=kvm_arch_destroy_vm $K stat --json --attach kprobe \
	> /out/stat-nodestroy.json 2> /out/stat-nodestroy.err &
pid=$!
if wait_tracing /out/stat-nodestroy.err $pid; then
	$K selftest --workload-only --truth /out/truth-nodestroy.json \
		> /out/workload-nodestroy.txt 2>&1
	echo $? > /out/workload-nodestroy.rc
fi
kill -INT $pid
wait $pid
echo $? > /out/stat-nodestroy.rc

# the selftest command itself, in the default mode
$K selftest > /out/selftest.txt 2>&1
echo $? > /out/selftest.rc

# Hosts kvmcmo cannot run on, made from this one in a private mount
# namespace (or as an unprivileged user): `kvmcmo stat` must exit 3 with one
# line saying why.  compare.py checks the lines.
cp $K /tmp/kvmcmo-unpriv && chmod 0755 /tmp/kvmcmo-unpriv
hostcheck() {   # NAME COMMAND...
	n=$1; shift
	timeout 30 "$@" > /out/hostcheck-$n.out 2> /out/hostcheck-$n.err
	echo $? > /out/hostcheck-$n.rc
}
hostcheck no_btf unshare -m sh -c "mount -t tmpfs none /sys/kernel/btf && exec $K stat"
hostcheck unprivileged ./runas 65534 /tmp/kvmcmo-unpriv stat
hostcheck no_kvm_symbol unshare -m sh -c "grep -v ' kvm_handle_guest_abort\$' /proc/kallsyms > /tmp/ks1 &&
	mount --bind /tmp/ks1 /proc/kallsyms && exec $K stat"
hostcheck no_io_mem_abort unshare -m sh -c "grep -v ' io_mem_abort\$' /proc/kallsyms > /tmp/ks2 &&
	mount --bind /tmp/ks2 /proc/kallsyms && exec $K stat"
hostcheck no_dev_kvm unshare -m sh -c "mount -t tmpfs none /dev && exec $K stat"
exit 0
