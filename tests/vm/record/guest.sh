#!/bin/sh
# Guest side of tests/vm/suite-record.sh (runs inside the emulated arm64
# KVM host as /payload/run.sh).  Records the workload unchanged several
# times and changed (KVMCMO_WL_NO_NISV=1: no VM enables the NISV cap, so
# its NISV aborts become `error`), exercises the command and window modes
# of `kvmcmo record`, and runs `kvmcmo diff` here too.  Everything lands in
# /out for the host to judge; this script only fails when it cannot run.
cd /payload || exit 1
K=./kvmcmo
CASES="-c none_ldp_nisv -c none_ldp_nocap -c dirty_read_write -c multi -c ro_read_write"
BASES=${BASES:-7}
REPEAT=${REPEAT:-5}
WL="$K selftest --workload-only --truth /tmp/truth.json $CASES"
uname -r > /out/uname

# a freshly booted guest settles over its first runs (shared/KERNELS.md)
$WL > /dev/null 2>&1
$WL > /dev/null 2>&1
cp /tmp/truth.json /out/truth.json

i=1
while [ $i -le $BASES ]; do
	$K record -o /out/base$i.json -r $REPEAT -- $WL > /out/base$i.txt 2>&1
	echo $? > /out/base$i.rc
	i=$((i + 1))
done
for i in 1 2; do
	KVMCMO_WL_NO_NISV=1 $K record -o /out/new$i.json -r $REPEAT -- $WL > /out/new$i.txt 2>&1
	echo $? > /out/new$i.rc
done
cp /tmp/truth.json /out/truth-nonisv.json
# the other attach mode, same workload
$K record --attach kprobe -o /out/kprobe.json -r 2 -- $WL > /out/kprobe.txt 2>&1
echo $? > /out/kprobe.rc

# the command's exit status passes through
$K record -o /out/exit7.json -- sh -c 'exit 7' 2>/out/exit7.err; echo $? > /out/exit7.rc
$K record -o /out/missing.json -- /nonexistent/cmd 2>/out/missing.err; echo $? > /out/missing.rc
$K record -o /out/false.json -r 2 -- false 2>/out/false.err; echo $? > /out/false.rc

# a window (-d) ended by SIGINT: the file is still written, interrupted
$K record -o /out/window.json -d 600 -i 0.5 2>/out/window.err &
pid=$!
n=0
while ! grep -q "Recording guest aborts" /out/window.err 2>/dev/null; do
	n=$((n + 1))
	[ $n -gt 600 ] && break
	kill -0 $pid 2>/dev/null || break
	sleep 0.1
done
$K selftest --workload-only --truth /out/truth-window.json -c rw_read > /dev/null 2>&1
kill -INT $pid
wait $pid
echo $? > /out/window.rc

# diff runs here too (the static binary)
$K diff /out/base1.json /out/base2.json > /out/guest-diff-same.txt 2>&1
echo $? > /out/guest-diff-same.rc
$K diff /out/base1.json /out/new1.json > /out/guest-diff-changed.txt 2>&1
echo $? > /out/guest-diff-changed.rc
exit 0
