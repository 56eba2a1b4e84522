#!/usr/bin/env bash
# Probe overhead of kvmcmo on emulated arm64 KVM: guest instructions (icount)
# and wall time added per stage-2 abort by `kvmcmo stat --attach MODE`.
#
#   tests/bench/overhead.sh [--kernels "5.10 6.1 6.12 7.2"] [--modes "fentry kprobe"]
#                           [--clocks "icount wall"] [--rounds 5] [--pages 10000]
#                           [--warmup-max 8] [--jobs 2] [--timeout 7200] [--stall 900] [--retries 5]
#                           [--commit REV | --binary PATH] [--out DIR] [--no-stats] [--quiet-wait 1800]
#                           [--stat-args "ARGS"]  (more `kvmcmo stat` options, e.g. --no-regions)
#   tests/bench/overhead.sh --analyze DIR      (tables again from DIR's boots)
#
# One boot of tests/vm/boot.sh per (kernel, mode, clock), running
# tests/bench/guest-overhead.sh: `kvmcmo check --attach MODE` first (a
# failing check marks the mode unsupported on that kernel: decided by trying,
# not by version), a warm-up of baseline runs, then --rounds alternations of
# a baseline run and a run under `kvmcmo stat --json --attach MODE` (attached
# once per run), then one probed run with kernel.bpf_stats_enabled=1 for the
# per-program run_cnt/run_time_ns.  The workload is `kvmcmo selftest
# --workload-only -c bench --bench-pages N`: N stage-2 read aborts on RAM plus
# one exec abort; its vms[0].vmm.ns (time in the KVM_RUN loop) is the figure.
#
# Clocks: "icount" boots with --icount --smp 1 (-icount shift=0,sleep=off:
# 1 ns of guest time = 1 guest instruction); these boots run --jobs at a
# time.  "wall" boots with --smp 1 and no icount, one at a time, after every
# icount boot (timing must not overlap other heavy work); modes whose check
# failed under icount (in the same --out DIR) are not booted again for wall.
# Before each wall boot the script waits up to --quiet-wait seconds for no
# other qemu-system-aarch64 on the host, and samples the host's qemu count
# and load every 2 s during the boot (K-MODE-wall/host-load.txt).
# A boot whose console stays silent for --stall seconds is stopped as hung
# (K-MODE-CLOCK/progress.txt: the console with host times, K-MODE-CLOCK/stalled).
# A boot whose qemu was killed by someone else (SIGTERM/SIGINT from outside:
# the host is shared) is booted again, at most --retries times
# (DIR/killed-K-MODE-CLOCK.txt says when and by which pid).
# Several invocations may share one --out DIR (e.g. icount now, wall later):
# --analyze DIR tabulates every boot in it; each boot keeps its command line.
#
# The kvmcmo measured: default `make ARCH=arm64 STATIC=1` in the repo's working
# tree (.output/arm64-static/kvmcmo); --commit REV builds REV from `git
# archive` in DIR/src (no uncommitted work of anyone in it); --binary PATH
# takes a static arm64 kvmcmo as is.  DIR/meta.txt says which.  --out: default a mktemp dir.  Results:
# DIR/results.json (every run), DIR/results.tsv (one row per kernel/mode/clock),
# DIR/results.md (the tables), DIR/K-MODE-CLOCK/ (each boot's files, console
# log).  Exit 0 when every booted (kernel, mode, clock) finished and every
# probed run counted exactly what the workload did.
#
# Examples:
#   tests/bench/overhead.sh                                  # everything
#   tests/bench/overhead.sh --kernels 6.12 --modes fentry    # one re-run
#   tests/bench/overhead.sh --kernels "6.1 6.12" --clocks icount --rounds 3
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
KERNELS="5.10 6.1 6.12 7.2" MODES="fentry kprobe" CLOCKS="icount wall"
ROUNDS=5 PAGES=10000 WARM_MAX=8 JOBS=2 TIMEOUT=7200 BINARY="" OUT="" STATS=1 ANALYZE="" QUIET_WAIT=1800 STALL=900 COMMIT="" RETRIES=5 STAT_ARGS=""
CMDLINE="tests/bench/overhead.sh $*"

usage() { sed -n '2,40p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "overhead.sh: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
    case $1 in
        --kernels) KERNELS=${2:?}; shift 2 ;;
        --modes) MODES=${2:?}; shift 2 ;;
        --clocks) CLOCKS=${2:?}; shift 2 ;;
        --rounds) ROUNDS=${2:?}; shift 2 ;;
        --pages) PAGES=${2:?}; shift 2 ;;
        --warmup-max) WARM_MAX=${2:?}; shift 2 ;;
        --jobs) JOBS=${2:?}; shift 2 ;;
        --timeout) TIMEOUT=${2:?}; shift 2 ;;
        --binary) BINARY=${2:?}; shift 2 ;;
        --commit) COMMIT=${2:?}; shift 2 ;;
        --out) OUT=${2:?}; shift 2 ;;
        --no-stats) STATS=0; shift ;;
        --quiet-wait) QUIET_WAIT=${2:?}; shift 2 ;;
        --stall) STALL=${2:?}; shift 2 ;;
        --retries) RETRIES=${2:?}; shift 2 ;;
        --stat-args) STAT_ARGS=${2?}; shift 2 ;;
        --analyze) ANALYZE=${2:?}; shift 2 ;;
        -h|--help) usage ;;
        *) echo "overhead.sh: unknown argument $1" >&2; usage ;;
    esac
done

if [ -n "$ANALYZE" ]; then
    exec python3 "$HERE/overhead.py" "$ANALYZE"
fi

for m in $MODES; do case $m in fentry|kprobe) ;; *) die "--modes: '$m' (fentry, kprobe)" ;; esac; done
for c in $CLOCKS; do case $c in icount|wall) ;; *) die "--clocks: '$c' (icount, wall)" ;; esac; done
for v in "$ROUNDS" "$PAGES" "$WARM_MAX" "$JOBS" "$TIMEOUT" "$STALL" "$QUIET_WAIT"; do
    case $v in ''|*[!0-9]*|0) die "not a positive number: '$v'" ;; esac
done
case $RETRIES in ''|*[!0-9]*) die "--retries: not a number: '$RETRIES'" ;; esac

OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/kvmcmo-bench.XXXXXX")}
mkdir -p "$OUT" || die "cannot create $OUT"
OUT=$(cd "$OUT" && pwd)

if [ -n "$COMMIT" ]; then
    # a commit, built in a private tree: nobody's uncommitted work gets in
    SRC=$OUT/src
    rm -rf "$SRC" && mkdir -p "$SRC"
    git -C "$REPO" archive "$COMMIT" | tar -x -C "$SRC" || die "git archive $COMMIT failed"
    echo "overhead.sh: make ARCH=arm64 STATIC=1 (commit $COMMIT in $SRC)" >&2
    make -C "$SRC" ARCH=arm64 STATIC=1 .output/arm64-static/kvmcmo >&2 || die "build failed"
    BINARY=$SRC/.output/arm64-static/kvmcmo
    SOURCE="commit $(git -C "$REPO" rev-parse "$COMMIT")"
elif [ -z "$BINARY" ]; then
    echo "overhead.sh: make ARCH=arm64 STATIC=1 (working tree)" >&2
    make -C "$REPO" ARCH=arm64 STATIC=1 .output/arm64-static/kvmcmo >&2 || die "build failed"
    BINARY=$REPO/.output/arm64-static/kvmcmo
    SOURCE="working tree at $(git -C "$REPO" rev-parse HEAD), $(git -C "$REPO" status --porcelain -- bpf user tools/kvmcmo Makefile vmlinux.h | wc -l) changed file(s) under bpf user tools/kvmcmo"
else
    SOURCE="--binary $BINARY"
fi
[ -x "$BINARY" ] || die "no kvmcmo binary at $BINARY"
PAY=$OUT/payload
mkdir -p "$PAY"
# a private copy: a rebuild in the repo during the run cannot change it
cp "$BINARY" "$PAY/kvmcmo" || die "copying $BINARY failed"

CACHE=${KVMCMO_CACHE:-$HOME/.cache/kvmcmo}
{
    echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "command=$CMDLINE"
    echo "settings=--kernels \"$KERNELS\" --modes \"$MODES\" --clocks \"$CLOCKS\" --rounds $ROUNDS --pages $PAGES --warmup-max $WARM_MAX$([ "$STATS" = 1 ] || echo ' --no-stats')"
    echo "source=$SOURCE"
    echo "binary=$BINARY"
    echo "binary_sha256=$(sha256sum "$PAY/kvmcmo" | cut -d' ' -f1)"
    echo "host_cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
    echo "host_ncpu=$(nproc)"
    echo "qemu=$(qemu-system-aarch64 --version | head -n 1)"
    for k in $KERNELS; do echo "kernel_$k=$(cat "$CACHE/kernels/$k/version" 2>/dev/null)"; done
} > "$OUT/meta.txt"
cat "$OUT/meta.txt" >> "$OUT/meta-history.txt"

# boot KERNEL MODE CLOCK: one boot, again (up to --retries times) when
# something outside killed its qemu; its files in OUT/K-MODE-CLOCK
boot() {
    local d=$OUT/$1-$2-$3 n=0 rc
    while :; do
        boot_once "$@"
        read -r rc _ < "$d/boot.rc"
        [ "$rc" = 125 ] && [ ! -e "$d/stalled" ] && grep -aq 'terminating on signal' "$d/console.log" 2>/dev/null || break
        n=$((n + 1))
        echo "$(date -u +%FT%TZ) attempt $n: $(grep -a 'terminating on signal' "$d/console.log" | head -n 1)" >> "$OUT/killed-$1-$2-$3.txt"
        echo "overhead.sh: $1 $2 $3: qemu was killed from outside ($(grep -a -m1 'terminating on signal' "$d/console.log"))" >&2
        [ "$n" -le "$RETRIES" ] || break
        echo "overhead.sh: $1 $2 $3: booting again in 60 s ($n of $RETRIES)" >&2
        sleep 60
    done
    [ -e "$OUT/killed-$1-$2-$3.txt" ] && cp "$OUT/killed-$1-$2-$3.txt" "$d/killed.txt"
    return 0
}

boot_once() {
    local k=$1 m=$2 c=$3 d t0 rc args=()
    d=$OUT/$k-$m-$c
    rm -rf "$d"
    mkdir -p "$d/payload"
    cp "$PAY/kvmcmo" "$d/payload/kvmcmo"
    printf 'MODE=%s\nPAGES=%s\nROUNDS=%s\nWARM_MAX=%s\nSTATS=%s\nSTAT_ARGS="%s"\n' \
        "$m" "$PAGES" "$ROUNDS" "$WARM_MAX" "$STATS" "$STAT_ARGS" > "$d/payload/bench.conf"
    cp "$d/payload/bench.conf" "$d/bench.conf"
    [ "$c" = icount ] && args+=(--icount)
    echo "$CMDLINE" > "$d/cmd.txt"
    t0=$(date +%s)
    echo "overhead.sh: $k $m $c: booting" >&2
    # -v streams the console; every line gets the host time (progress.txt):
    # where a hung guest stopped, and when
    "$REPO/tests/vm/boot.sh" -v --kernel "$k" --payload "$d/payload" --run "$HERE/guest-overhead.sh" \
        --smp 1 "${args[@]}" --timeout "$TIMEOUT" --out "$d/out" --log "$d/console.log" \
        > >(perl -ne '$|=1; s/\r//g; next if /^[A-Za-z0-9+\/=]{60,}$/; printf "%d %s", time, $_' > "$d/progress.txt") 2>&1 &
    local bpid=$! last=$t0 size=0 nsize stalled=0
    # what else ran on the host meanwhile: wall time is only as good as that
    while kill -0 "$bpid" 2>/dev/null; do
        echo "$(date +%s) qemu=$(pgrep -c -x qemu-system-aar) load=$(cut -d' ' -f1 /proc/loadavg)" >> "$d/host-load.txt"
        nsize=$(stat -c %s "$d/progress.txt" 2>/dev/null || echo 0)
        if [ "$nsize" != "$size" ]; then size=$nsize; last=$(date +%s)
        elif [ $(( $(date +%s) - last )) -ge "$STALL" ]; then
            echo "overhead.sh: $k $m $c: no console output for ${STALL}s: stopping the boot (hung?)" >&2
            echo "$(date +%s) overhead.sh: STALLED: no console output for ${STALL}s" >> "$d/progress.txt"
            stalled=1
            kill "$bpid" 2>/dev/null
            break
        fi
        sleep 2
    done
    wait "$bpid"
    rc=$?
    [ "$stalled" = 1 ] && rc=124 && echo stalled > "$d/stalled"
    sleep 1   # the perl stamper drains
    grep '^[0-9]* boot.sh' "$d/progress.txt" > "$d/boot.txt"
    rm -rf "$d/payload"
    echo "$rc $(( $(date +%s) - t0 ))" > "$d/boot.rc"
    echo "overhead.sh: $k $m $c: boot.sh rc=$rc, $(( $(date +%s) - t0 )) s; $(tail -n 1 "$d/boot.txt")" >&2
}

# wall boots wait (up to --quiet-wait s) until no other qemu-system-aarch64
# runs on the host (other people's test boots skew wall time)
wait_quiet() {
    local t=0 n
    while n=$(pgrep -c -x qemu-system-aar); [ "$n" -gt 0 ] && [ $t -lt "$QUIET_WAIT" ]; do
        [ $((t % 60)) = 0 ] && echo "overhead.sh: $n other qemu-system-aarch64 running: waiting for a quiet host" >&2
        sleep 5; t=$((t + 5))
    done
    [ "$n" -gt 0 ] && echo "overhead.sh: host still busy after ${QUIET_WAIT}s ($n qemu): timing anyway" >&2
}

unsupported() { [ "$(cat "$OUT/$1-$2-icount/out/status" 2>/dev/null)" = unsupported ]; }

for c in $CLOCKS; do
    if [ "$c" = icount ]; then
        running=0
        for k in $KERNELS; do
            for m in $MODES; do
                boot "$k" "$m" icount &
                running=$((running + 1))
                if [ "$running" -ge "$JOBS" ]; then wait -n; running=$((running - 1)); fi
            done
        done
        wait
    else
        for k in $KERNELS; do
            for m in $MODES; do
                if unsupported "$k" "$m"; then
                    echo "overhead.sh: $k $m wall: skipped (check --attach $m failed under icount)" >&2
                    continue
                fi
                wait_quiet
                boot "$k" "$m" wall
            done
        done
    fi
done

python3 "$HERE/overhead.py" "$OUT"
rc=$?
echo "overhead.sh: results in $OUT (results.json, results.tsv, results.md)" >&2
exit $rc
