# tests/bench/probecost/guest.sh - runs INSIDE the emulated arm64 host
# (busybox sh, cwd /payload), started by tests/bench/probecost.sh.
# For each program set in /payload/sets (one per line): a baseline bench run,
# then the same run with `probecost SET` attached; prints
# "COST <set> <baseline ns> <probed ns> <aborts>" (under icount: guest
# instructions) and the run counts.
vmm_ns() { sed -n 's/.*"ns": *\([0-9][0-9]*\).*/\1/p' "$1" | head -n 1; }
bench() {
    ./kvmcmo selftest --workload-only -c bench --bench-pages "${PAGES:-10000}" --truth /tmp/t.json > /tmp/b.log 2>&1 || { echo -1; return; }
    vmm_ns /tmp/t.json
}
prev=0
for i in 1 2 3 4 5 6 7 8; do
    ns=$(bench); echo "WARM $ns"
    [ "$prev" != 0 ] && [ $(( (ns > prev ? ns - prev : prev - ns) * 100 / prev )) -lt 1 ] && break
    prev=$ns
done
while read -r set; do
    [ -n "$set" ] || continue
    b=$(bench)
    ./probecost $set > /tmp/pc.out 2> /tmp/pc.err &
    pid=$!
    n=0
    until grep -q attached /tmp/pc.out || ! kill -0 $pid 2>/dev/null || [ $n -ge 600 ]; do sleep 0.2; n=$((n+1)); done
    if ! grep -q attached /tmp/pc.out; then
        echo "COST $set unsupported $(cat /tmp/pc.err)"; wait $pid; continue
    fi
    p=$(bench)
    kill -INT $pid; wait $pid
    echo "COST $(echo $set | tr ' ' '+') $b $p $(tr '\n' ' ' < /tmp/pc.out)"
done < /payload/sets
echo 0 > /out/status
