#!/usr/bin/env bash
# kvmcmod with 200 live VMs (tests/bench/kvmcmod-vms.c holds them in one
# process), under emulation: /metrics render time p50/p99,
# daemon CPU per poll, RSS, and a wrk load of 100 connections for 30 s on
# /metrics (errors, /healthz latency meanwhile, counters unchanged).
#
#   tests/bench/kvmcmod-bench.sh [KERNEL (6.12)]
#
# Prints a Markdown table for BENCHMARKS.md.  Not part of `make check`
# (a benchmark, 3-5 minutes here); timing is the emulated host's, on this
# 2-core machine (see BENCHMARKS.md for what that means).
# KVMCMOD_BENCH_TIMEOUT (s, default 1500) bounds the guest.
set -euo pipefail
cd "$(dirname "$0")/../.."
K=${1:-6.12}
CACHE=${KVMCMO_CACHE:-$HOME/.cache/kvmcmo}
TOOLS=$CACHE/kvmcmod-tools
work=$(mktemp -d /tmp/kvmcmod-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

scripts/fetch-kernels.sh "$K" >&2
scripts/fetch-arm64-deps.sh >&2
tests/vm/kvmcmod/fetch-tools.sh >&2
make -s ARCH=arm64 STATIC=1 .output/arm64-static/kvmcmo .output/arm64-static/kvmcmod >&2
tests/vm/kvmcmod/payload.sh "$work/payload" .output/arm64-static/kvmcmod "$TOOLS/arm64/wrk" \
	-- "$TOOLS/arm64/lib" >&2
cp .output/arm64-static/kvmcmo "$work/payload/"
# the VM holder, from the workload's VMM and guest encoder
aarch64-linux-gnu-gcc -O2 -std=gnu11 -Wall -Wextra -static -Itools/kvmcmo \
	-o "$work/payload/kvmcmod-vms" tests/bench/kvmcmod-vms.c \
	.output/arm64-static/tools/libkvmcmo.a
tests/vm/boot.sh --kernel "$K" --payload "$work/payload" --run tests/bench/kvmcmod-guest.sh \
	--timeout ${KVMCMOD_BENCH_TIMEOUT:-1500} --out "$work/out" --log "$work/console.log" >&2
[ -n "${KVMCMO_KEEP:-}" ] && mkdir -p "$KVMCMO_KEEP" && cp -r "$work/." "$KVMCMO_KEEP/"

python3 - "$work/out" "$K" <<'EOF'
import re, sys, os
out, kernel = sys.argv[1], sys.argv[2]
rd = lambda n: open(os.path.join(out, n)).read()
def val(page, name):
    m = re.search(r'^' + re.escape(name) + r' (\S+)$', page, re.M)
    return float(m.group(1)) if m else None
page = rd("page.txt")
nvm = len({m for m in re.findall(r'^kvmcmo_dabt_injections_total\{vm="([^"]*)"', page, re.M)})
alive = val(page, 'kvmcmo_vms{state="alive"}')
lines = len([l for l in page.splitlines() if l and not l.startswith("#")])
# render times from -v: the renders after the 200 VMs were in
renders = [float(x) for n, x in re.findall(r'rendered \d+ bytes, (\d+) VMs in (\S+) s', rd("d.err"))
           if int(n) >= nvm]
renders.sort()
q = lambda p: renders[min(len(renders) - 1, int(p * len(renders)))] * 1e3
b, a = rd("idle-before.txt"), rd("idle-after.txt")
polls = val(a, "kvmcmo_polls_total") - val(b, "kvmcmo_polls_total")
cpu_poll = (val(a, "kvmcmo_poll_cpu_seconds_total") - val(b, "kvmcmo_poll_cpu_seconds_total")) / polls
cpu_proc = (val(a, "process_cpu_seconds_total") - val(b, "process_cpu_seconds_total")) / polls
# /proc/PID/status lists VmHWM (the peak) before VmRSS
rssd = dict(l.split()[:2] for l in rd("rss.txt").splitlines())
wrk = rd("wrk.txt")
reqs = re.search(r'(\d+) requests in', wrk)
errs = re.search(r'Socket errors: (.*)', wrk)
non2xx = re.search(r'Non-2xx or 3xx responses: (\d+)', wrk)
rps = re.search(r'Requests/sec:\s+(\S+)', wrk)
hz = [(float(t1) - float(t0)) * 1e3 for t0, t1, r in
      (l.split() for l in rd("healthz-times.txt").splitlines()) if r == "0"]
hz_fail = sum(1 for l in rd("healthz-times.txt").splitlines() if l.split()[2] != "0")
# why they failed, in wget's words (a 503 is "server returned error")
hz_why = sorted(set(l.strip() for l in (rd("healthz-times.txt.err") if os.path.exists(
    os.path.join(out, "healthz-times.txt.err")) else "").splitlines() if l.strip()))
hz_idle = sorted((float(t1) - float(t0)) * 1e3 for t0, t1, r in
                 (l.split() for l in rd("healthz-idle.txt").splitlines()) if r == "0")
lat = dict(re.findall(r'^\s+(50|75|90|99)%\s+(\S+)', wrk, re.M))
fam = lambda p: sorted(l for l in p.splitlines() if l.startswith("kvmcmo_guest_aborts_total"))
same = fam(rd("load-before.txt")) == fam(rd("load-after.txt"))
print(f"| kernel | VMs on the page (alive) | series lines | render p50 / p99 (n) | CPU per poll (poll thread / whole process) | RSS / peak |")
print(f"|---|---|---|---|---|---|")
print(f"| {kernel} | {nvm} ({alive:.0f}) | {lines} | {q(.5):.2f} / {q(.99):.2f} ms ({len(renders)}) | "
      f"{cpu_poll*1e3:.2f} / {cpu_proc*1e3:.1f} ms ({int(polls)} polls) | "
      f"{rssd.get('VmRSS:', '?')} kB / {rssd.get('VmHWM:', '?')} kB |")
print()
print(f"wrk -t2 -c100 -d30s --timeout 30s /metrics: {reqs.group(1) if reqs else '?'} requests, "
      f"{rps.group(1) if rps else '?'} req/s, latency p50/p90/p99 "
      f"{lat.get('50', '?')}/{lat.get('90', '?')}/{lat.get('99', '?')}, "
      f"socket errors: {errs.group(1) if errs else 'none'}, "
      f"non-2xx: {non2xx.group(1) if non2xx else 0}; /healthz during the load: "
      f"{len(hz)} answered, median {sorted(hz)[len(hz) // 2] if hz else float('nan'):.0f} ms, "
      f"max {max(hz) if hz else float('nan'):.0f} ms, {hz_fail} failed{' (' + '; '.join(hz_why) + ')' if hz_why else ''} "
      f"(one busybox wget each, 0.01 s clock; without load: median "
      f"{hz_idle[len(hz_idle) // 2] if hz_idle else float('nan'):.0f} ms, max "
      f"{max(hz_idle) if hz_idle else float('nan'):.0f} ms); counters unchanged by the load: {same}; "
      f"daemon alive: {rd('alive.rc').strip() == '0'}, exit {rd('d.rc').strip()}; "
      f"VMs alive to the end: {rd('vms-alive.rc').strip() == '0'}, holder exit {rd('vms.rc').strip()}")
# /healthz from one open connection (wrk -c1: no client start-up in it)
for name, what in (("wrk-healthz.txt", "during the load"), ("wrk-healthz-idle.txt", "without load")):
    if not os.path.exists(os.path.join(out, name)):
        continue
    w = rd(name)
    d = dict(re.findall(r'^\s+(50|75|90|99)%\s+(\S+)', w, re.M))
    n = re.search(r'(\d+) requests in', w)
    mx = re.search(r'Latency\s+\S+\s+\S+\s+(\S+)', w)
    print(f"/healthz {what}, wrk -t1 -c1: {n.group(1) if n else '?'} requests, "
          f"p50/p90/p99/max {d.get('50', '?')}/{d.get('90', '?')}/{d.get('99', '?')}/"
          f"{mx.group(1) if mx else '?'}")
EOF
