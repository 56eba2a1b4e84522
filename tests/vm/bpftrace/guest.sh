#!/bin/sh
# Guest side of the bpftrace suite (runs inside the emulated arm64 KVM host
# as /payload/run.sh; tests/vm/suite-bpftrace.sh boots it).  Payload:
#   kvmcmo                 static arm64 kvmcmo
#   kvmcmo.bt, kvmcmo-trace.bt
#   bt/run-bpftrace, bt/root/   Debian's arm64 bpftrace and its libraries
#                               (tests/vm/bpftrace/fetch-bpftrace.sh)
# All at once, on one run of the workload:
#   kvmcmo stat --json                      -> /out/stat.txt
#   bpftrace kvmcmo.bt                      -> /out/bt.txt
#   bpftrace kvmcmo-trace.bt all            -> /out/trace_all.txt
#   and one of (run.conf's EXTRA, the suite spreads them over the kernels):
#   bpftrace kvmcmo.bt 2   (2 s intervals)  -> /out/bt_interval.txt
#   bpftrace kvmcmo-trace.bt   (CMO only)   -> /out/trace_cmo.txt
#   or none (EXTRA=none: KVMCMO_CI, see tests/vm/suite-bpftrace.sh)
#   kvmcmo selftest --workload-only --truth /out/truth.json
# Each bpftrace compiles its script with LLVM under emulation (minutes on
# a loaded 2-core host), hence three, not four, per boot.
# The host judges (tests/vm/bpftrace/judge.py).  This script only records:
# every exit status, stderr and the reason a tool did not start.
cd /payload || exit 1
K=./kvmcmo
BT=./bt/run-bpftrace
uname -r > /out/uname

# progress on the console (the host sees it even when the guest times out)
say() { echo "guest.sh [$(cut -d' ' -f1 /proc/uptime)] $*"; }

# available_filter_functions is slow to read under emulation, above all on
# 7.2 (53k lines: 20-30 s a read, 6.12 2-4 s), and bpftrace 0.17 reads it
# at every start and once more per wildcard probe (three in each script);
# the reads of bpftraces started together contend on ftrace_lock: 7.2 took
# 270-430 s to compile two or three scripts at once.  Read it once and
# serve that copy at both places bpftrace may look (it prefers debugfs's):
# the same list, since no module is loaded during the run.
aff=available_filter_functions
t0=$(cut -d' ' -f1 /proc/uptime)
if cat /sys/kernel/tracing/$aff > /tmp/$aff; then
	for d in /sys/kernel/debug/tracing /sys/kernel/tracing; do
		mount --bind /tmp/$aff $d/$aff || echo "bind mount over $d/$aff failed" >> /out/aff.txt
	done
fi
echo "$(wc -l < /tmp/$aff) lines, read at $t0 .. $(cut -d' ' -f1 /proc/uptime) s" >> /out/aff.txt
say "available_filter_functions: $(tail -1 /out/aff.txt)"

$BT --version > /out/bt-version 2>&1
echo $? > /out/bt-version.rc
$BT --info > /out/bt-info.txt 2>&1
# bpftrace 0.17 finds kernel BTF by object id with names, which needs
# 5.11: where it reports none but the kernel exports it, give it the file.
if grep -q '^  btf: no' /out/bt-info.txt && [ -r /sys/kernel/btf/vmlinux ]; then
	export BPFTRACE_BTF=/sys/kernel/btf/vmlinux
	echo "BPFTRACE_BTF=$BPFTRACE_BTF (bpftrace --info: btf: no)" > /out/bt-env
fi

# wait_for FILE PID TEXT: until TEXT appears in FILE (0), PID dies or
# 3000 polls pass (1).  bpftrace prints its header from BEGIN, which runs
# after every probe is attached.
wait_for() {
	i=0
	while ! grep -q "$3" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 3000 ] && return 1
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.2
	done
}


started=""
start() {       # start NAME TEXT CMD...: run CMD > /out/NAME.txt in the background
	name=$1 text=$2
	shift 2
	t0=$(cut -d' ' -f1 /proc/uptime)
	say "start $name: $*"
	"$@" > /out/$name.txt 2> /out/$name.err &
	eval "pid_$name=$!"
	eval "text_$name=\"\$text\""
	eval "t0_$name=$t0"
	started="$started $name"
}

# everything attaches side by side (the bpftrace compiles, LLVM under
# emulation, take longest); the workload starts when all are attached
start stat "Tracing guest aborts" $K stat --json
EXTRA=bt_interval
[ -r run.conf ] && . ./run.conf
echo "$EXTRA" > /out/extra
start bt "Tracing guest aborts" $BT tools/kvmcmo.bt
start trace_all "Tracing all guest aborts" $BT tools/kvmcmo-trace.bt all
case $EXTRA in
bt_interval) start bt_interval "Tracing guest aborts" $BT tools/kvmcmo.bt 2 ;;
trace_cmo) start trace_cmo "Tracing CMO guest aborts" $BT tools/kvmcmo-trace.bt ;;
esac
runs="bt trace_all"
[ "$EXTRA" = none ] || runs="$runs $EXTRA"
# stat prints its ready line on stderr
if wait_for /out/stat.err $pid_stat "Tracing guest aborts"; then
	say "stat attached"
else
	echo "stat did not start" > /out/stat.fail
fi
for n in $runs; do
	eval "p=\$pid_$n; t=\$text_$n; t0=\$t0_$n"
	if wait_for /out/$n.txt "$p" "$t"; then
		echo "$t0 $(cut -d' ' -f1 /proc/uptime)" > /out/$n.ready
		say "$n attached"
	else
		echo "not ready after 3000 polls or exited" > /out/$n.fail
		say "$n did not attach: $(tail -3 /out/$n.err)"
	fi
done

say "workload"
$K selftest --workload-only --truth /out/truth.json > /out/workload.txt 2>&1
echo $? > /out/workload.rc
say "workload exited $(cat /out/workload.rc)"
# one more interval tick, so the interval run prints its last table
sleep 3

for n in $started; do
	eval "p=\$pid_$n"
	kill -INT "$p" 2>/dev/null
done
# bounded: a tool that does not exit within ~120 s of SIGINT is recorded
# (with where its threads sleep) and killed, so the rest still comes back
for n in $started; do
	eval "p=\$pid_$n"
	i=0
	while kill -0 "$p" 2>/dev/null && [ $i -lt 600 ]; do
		i=$((i + 1))
		sleep 0.2
	done
	if kill -0 "$p" 2>/dev/null; then
		say "$n did not exit after SIGINT: killed"
		for t in /proc/$p/task/*; do
			echo "== $t $(cat $t/comm 2>/dev/null) wchan=$(cat $t/wchan 2>/dev/null)"
			cat $t/stack 2>/dev/null
		done > /out/$n.hang
		kill -9 "$p"
	fi
	wait "$p"
	echo $? > /out/$n.rc
done
say "done"
exit 0
