#!/bin/sh
# Guest side of tests/vm/suite-kvmcmotop.sh (runs inside the emulated arm64
# KVM host as /payload/run.sh).  Results go to /out/ for the host's judge
# (tests/vm/kvmcmotop/judge.py); this script only records, it fails only
# when something could not run at all.
#
# Batch, on every kernel, while the workload runs its throwaway VMs:
#   A  kvmcmotop -b -j -d 1 -k read        JSON frames (rates and totals)
#   B  kvmcmotop -c -t -L b.csv -d 2 -k write   CSV, totals since start
#   C  kvmcmotop -b -t -d 2                plain text, totals, kind cmo
#   D  kvmcmotop -b -n 3 -d 0.5 -k exec    ends by itself after 3 frames
# then SIGINT to C (it prints a last, partial frame), SIGSEGV to B (a crash:
# the log keeps whole frames up to it), and kill -9 of A (its last frame, a
# second after the workload, is judged): what is attached must be what was
# before A..D started.
#
# CI mode (the payload file "ci", on a kernel without the screen): A alone,
# its exact totals and its kill -9; the formats, the crash and the rest are
# checked on the screen's kernel, which always runs everything.
#
# With kvmcmod in the payload (one kernel): kvmcmod starts first, R reads it
# (kvmcmotop --remote -b -j -t) during the same workload, C and D read it
# too (--remote: the same frames, and two sets of probes fewer to load
# under emulation), and A must say that a kvmcmod runs here.
#
# With tmux in the payload (one kernel): the screen, started before A..D
# so that it sees the same workload, then driven through tmux (tty.sh).
cd /payload || exit 1
K=./kvmcmo
TOP=./kvmcmotop
export TERMINFO=/payload/terminfo TERM=screen
# the boot's time, in guest uptime seconds (the suite's payload file
# "deadline"): screen steps past it are skipped so that the results still
# make it out before boot.sh's timeout
DEADLINE=$(cat deadline 2>/dev/null || echo 1000)
uname -r > /out/uname
up() { cut -d' ' -f1 /proc/uptime; }
late() { [ "$(up | cut -d. -f1)" -ge "$DEADLINE" ]; }
log() { echo "[$(up)] $*"; echo "[$(up)] $*" >> /out/log.txt; }
# loopback: kvmcmod listens there; the init leaves it down
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up

# the kernel's lists of what is attached (as tests/vm/guest/core.sh), and
# the BPF programs loaded: an fentry target is listed once however many
# programs share its trampoline (kvmcmod's and ours), but every loaded
# program has its own bpf_prog_TAG_NAME in /proc/kallsyms
attached() {
	{ cat /sys/kernel/tracing/enabled_functions 2>/dev/null
	  cat /sys/kernel/debug/kprobes/list 2>/dev/null; } |
		grep -E 'kvm_handle_guest_abort|io_mem_abort|kvm_pgtable_stage2_(map|relax_perms|mkyoung)|kvm_inject_(dabt|sea)|kvm_arch_destroy_vm' || true
	# (grep first: awk over every kernel symbol takes seconds under TCG)
	grep -F '[bpf]' /proc/kallsyms | awk '$3 ~ /^bpf_prog_/ { print $3 }' | sort
}

# until the list of what is attached equals FILE (at most 3 s); polls in FILE.polls
detached_to() {
	i=0
	while [ $i -lt 30 ]; do
		attached > "$2"
		cmp -s "$2" "$1" && break
		i=$((i + 1))
		sleep 0.1
	done
	echo $i > "$2.polls"
}

# wait_line FILE PATTERN PID [SECONDS]: until FILE has PATTERN (PID alive)
wait_line() {
	i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt $((${4:-300} * 5)) ] && return 1
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.2
	done
}

# ---------------------------------------------------------------- kvmcmod
KD=""
if [ -x ./kvmcmod ]; then
	mkdir -p /lib && ln -sf /payload/lib/ld-linux-aarch64.so.1 /lib/
	LD_LIBRARY_PATH=/payload/lib ./kvmcmod -i 500ms --vm-grace 1h \
		> /out/kd.out 2> /out/kd.err &
	KD=$!
	wait_line /out/kd.err "listening on" $KD 600 || log "kvmcmod did not start"
	echo $KD > /out/kd.pid
fi
attached > /out/attached-0.txt

# ---------------------------------------------------------------- screen
if [ -d ./tmux ]; then
	. ./tty.sh
	tty_start
fi
attached > /out/attached-1.txt

# ---------------------------------------------------------------- batch
FULL=1
[ -f ci ] && [ ! -d ./tmux ] && FULL=""
echo "${FULL:+full}${FULL:-ci}" > /out/mode.txt
log "batch: starting A${FULL:+ B C D}${KD:+ R}"
$TOP -b -j -d 1 -k read > /out/a.json 2> /out/a.err &
A=$!
B="" C="" D="" R=""
if [ -n "$FULL" ]; then
	$TOP -c -t -L /out/b.csv -d 2 -k write > /out/b.out 2> /out/b.err &
	B=$!
	$TOP ${KD:+--remote http://127.0.0.1:10131} -b -t -d 2 > /out/c.txt 2> /out/c.err &
	C=$!
	$TOP ${KD:+--remote http://127.0.0.1:10131} -b -n 3 -d 0.5 -k exec > /out/d.txt \
		2> /out/d.err &
	D=$!
fi
if [ -n "$KD" ]; then
	$TOP --remote http://127.0.0.1:10131 -b -j -t -d 1 > /out/r.json 2> /out/r.err &
	R=$!
fi
ok=1
for p in "a $A" ${B:+"b $B"} ${C:+"c $C"} ${R:+"r $R"}; do
	set -- $p
	wait_line /out/$1.err "Tracing guest aborts" $2 900 || { ok=0; log "$1 did not start"; }
done
attached > /out/attached-2.txt
log "batch: tracing ($ok)"
if [ $ok = 1 ]; then
	$K selftest --workload-only --truth /out/truth.json > /out/workload.txt 2>&1
	echo $? > /out/workload.rc
fi
log "batch: workload done"
# A refreshes every second, kvmcmod polls every 0.5 s, B every 2 s: two of
# B's deadlines pass, so its last whole frame (judged after its crash)
# came after the end even on a loaded host
sleep ${FULL:+4.5}${FULL:-2.5}
[ -n "$C$R" ] && kill -INT $C $R 2>/dev/null
[ -n "$B" ] && kill -SEGV $B
for p in ${B:+"b $B"} ${C:+"c $C"} ${D:+"d $D"} ${R:+"r $R"}; do
	set -- $p
	wait $2
	echo $? > /out/$1.rc
done
log "batch: ${FULL:+B C D }${R:+R }ended"
kill -9 $A
wait $A 2>/dev/null
detached_to /out/attached-1.txt /out/after-kill9.txt
log "batch: A killed"

if [ -d ./tmux ]; then
	tty_steps
fi

[ -n "$KD" ] && kill -TERM $KD && wait $KD
for f in /out/*.json /out/*.csv /out/*.txt; do
	[ -s "$f" ] && [ "$(wc -c < "$f")" -gt 20000 ] && gzip "$f"
done
log "done"
exit 0
