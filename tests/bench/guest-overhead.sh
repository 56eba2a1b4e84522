# tests/bench/guest-overhead.sh - runs INSIDE the emulated arm64 host
# (busybox sh, cwd /payload), started by tests/bench/overhead.sh through
# tests/vm/boot.sh.  One boot = one (kernel, attach mode, clock).
#
# /payload/bench.conf sets MODE (fentry|kprobe), PAGES, ROUNDS, WARM_MAX,
# STATS (1: one extra probed run with kernel.bpf_stats_enabled=1 at the end),
# STAT_ARGS (more `kvmcmo stat` options, e.g. --no-regions).
#
# Sequence:
#   1. kvmcmo check --attach MODE; non-zero: write /out/status=unsupported, stop.
#   2. warm-up: baseline runs (no probes) until two consecutive runs agree
#      within 1% of vmm.ns, at most WARM_MAX runs.
#   3. ROUNDS x { baseline run; probed run }.  A probed run starts
#      `kvmcmo stat --json --attach MODE` in the background, waits for its
#      "Tracing" line, checks the probes are in the kernel's lists, runs the
#      bench, SIGINTs stat, keeps its JSON, and waits until the probes are
#      gone from the lists again (so the next baseline runs unprobed).
#   4. STATS=1: the same probed run once more with bpf_stats enabled
#      (never during the timed runs above: bpf_stats costs time itself).
#
# Everything goes to /out (copied back to the host); every run is also
# echoed to the console as "BENCH-RUN name kind ns" so a hung boot still
# leaves its partial results in the console log.
. /payload/bench.conf
mkdir -p /out/runs
: > /out/runs.tsv
echo 0 > /proc/sys/kernel/bpf_stats_enabled 2>/dev/null
uname -r > /out/uname
cat /proc/sys/net/core/bpf_jit_enable > /out/bpf_jit_enable 2>/dev/null
[ -d /sys/kernel/debug/kprobes ] || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null

# guest uptime first: under icount it is the instruction clock
say() { echo "BENCH: [$(cut -d' ' -f1 /proc/uptime)] $*"; }

./kvmcmo check --attach "$MODE" > /out/check.txt 2>&1
rc=$?
echo "$rc" > /out/check.rc
if [ "$rc" != 0 ]; then
    say "kvmcmo check --attach $MODE failed (rc=$rc): mode unsupported here"
    cat /out/check.txt
    echo unsupported > /out/status
    exit 0
fi

# the functions kvmcmo attaches to (bpf/kvmcmo.bpf.c)
FUNCS='kvm_handle_guest_abort|io_mem_abort|kvm_inject_dabt|kvm_inject_sea|kvm_pgtable_stage2_map|kvm_pgtable_stage2_relax_perms|kvm_pgtable_stage2_mkyoung|kvm_arch_destroy_vm'
# "F K": our targets in enabled_functions (ftrace: fentry) and in
# kprobes/list (kprobes made through perf_event_open)
attached() {
    f=$(grep -cE "^($FUNCS)[ ]" /sys/kernel/tracing/enabled_functions 2>/dev/null)
    k=$(grep -cE "[ ]($FUNCS)\+" /sys/kernel/debug/kprobes/list 2>/dev/null)
    echo "${f:-0} ${k:-0}"
}

vmm_ns() { sed -n 's/.*"ns": *\([0-9][0-9]*\).*/\1/p' "$1" | head -n 1; }

# bench NAME KIND: one bench VM; appends "NAME KIND ns" to /out/runs.tsv
bench() {
    ./kvmcmo selftest --workload-only -c bench --bench-pages "$PAGES" \
        --truth "/out/runs/$1.truth.json" > "/out/runs/$1.log" 2>&1
    brc=$?
    ns=$(vmm_ns "/out/runs/$1.truth.json")
    [ "$brc" = 0 ] && [ -n "$ns" ] || { say "run $1 failed (rc=$brc)"; ns=-1; }
    printf '%s\t%s\t%s\n' "$1" "$2" "$ns" >> /out/runs.tsv
    echo "BENCH-RUN $1 $2 $ns"
}

# probed NAME KIND: bench with `kvmcmo stat` attached (attach once)
probed() {
    before=$(attached)
    say "run $1: starting kvmcmo stat --attach $MODE"
    ./kvmcmo stat --json --attach "$MODE" $STAT_ARGS > "/out/runs/$1.stat.json" 2> "/out/runs/$1.stat.err" &
    spid=$!
    i=0
    until grep -q '^Tracing' "/out/runs/$1.stat.err" 2>/dev/null; do
        if ! kill -0 "$spid" 2>/dev/null || [ $i -ge 600 ]; then
            say "run $1: kvmcmo stat did not attach"; cat "/out/runs/$1.stat.err"
            kill -9 "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
            printf '%s\t%s\t%s\n' "$1" "$2" -1 >> /out/runs.tsv
            return 1
        fi
        sleep 0.1; i=$((i + 1))
    done
    during=$(attached)
    say "run $1: attached [$during], running the bench"
    [ "$1" = p1 ] && { cat /sys/kernel/tracing/enabled_functions; cat /sys/kernel/debug/kprobes/list; } \
        > /out/attached-p1.txt 2>&1
    bench "$1" "$2"
    say "run $1: bench done, SIGINT to kvmcmo stat"
    kill -INT "$spid"
    wait "$spid"
    echo $? > "/out/runs/$1.stat.rc"
    say "run $1: kvmcmo stat exited $(cat "/out/runs/$1.stat.rc"), waiting for the probes to go"
    # detach: wait (up to 10 s) until our targets left both lists
    i=0
    while [ "$(attached)" != "0 0" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    after=$(attached)
    echo "before=$before during=$during after=$after detach_wait_ds=$i" > "/out/runs/$1.attach"
    say "run $1: probes before [$before] during [$during] after [$after] (fentry kprobe)"
}

say "mode $MODE pages $PAGES rounds $ROUNDS warm-up max $WARM_MAX, attached now [$(attached)]"
prev=""
w=0
while [ $w -lt "$WARM_MAX" ]; do
    w=$((w + 1))
    bench "w$w" warmup
    if [ -n "$prev" ] && [ "$ns" -gt 0 ] && [ "$prev" -gt 0 ] &&
       awk -v a="$prev" -v b="$ns" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d * 100 <= b) }'; then
        say "warm after $w runs"
        break
    fi
    prev=$ns
done
echo "$w" > /out/warmup_runs

r=0
while [ $r -lt "$ROUNDS" ]; do
    r=$((r + 1))
    bench "b$r" base
    probed "p$r" probed || break
done

if [ "$STATS" = 1 ]; then
    echo 1 > /proc/sys/kernel/bpf_stats_enabled
    say "bpf_stats_enabled=$(cat /proc/sys/kernel/bpf_stats_enabled)"
    probed s1 stats
    echo 0 > /proc/sys/kernel/bpf_stats_enabled
fi
echo done > /out/status
say done
