#!/usr/bin/env bash
# kvmcmod's model update and /metrics render, natively on this machine, with
# a synthetic host of 200 VMs (tests/bench/kvmcmod-render.c says what each
# VM holds).  No kernel maps (no arm64 KVM here): the daemon's own code
# only; the emulated end-to-end numbers come from tests/bench/kvmcmod-bench.sh.
#
#   tests/bench/kvmcmod-render.sh [VMS (200)] [VCPUS (4)] [RENDERS (2000)]
#
# Runs with the host-wide latency histograms (the default) and with
# --per-vm-latency.  Then the HTTP load, natively: the daemon's HTTP server
# (http.c) serves that model on 127.0.0.1 with one model update a second
# (kvmcmod --interval 1s), `wrk -t2 -c100 -d30s` pulls /metrics and, at the
# same time, `wrk -t1 -c1 -d30s --latency` asks /healthz (its latency
# distribution is the "answers /healthz within 100 ms" bar).  Needs wrk
# (Debian package wrk).  Not part of `make check`.
set -euo pipefail
cd "$(dirname "$0")/../.."
make -s .output/x86/libkvmcmo.a .output/x86/tools/libkvmcmod.a
bin=$(mktemp /tmp/kvmcmod-render.XXXXXX)
out=$(mktemp -d /tmp/kvmcmod-render-out.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$bin" "$out"' EXIT
cc -O2 -g -std=gnu11 -Wall -Wextra -Iuser -Iuser/kvmcmod -Ibpf -I.output/x86 \
	-o "$bin" tests/bench/kvmcmod-render.c .output/x86/tools/libkvmcmod.a \
	.output/x86/libkvmcmo.a -lmicrohttpd -lyaml -lcrypt -lpthread -lm \
	$(pkg-config --libs libbpf jansson)
echo "== $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
"$bin" "$@"
"$bin" "$@" --per-vm-latency

if ! command -v wrk >/dev/null; then
	echo "kvmcmod-render.sh: no wrk on this host (Debian package wrk): HTTP load skipped" >&2
	exit 1
fi
port=$((20000 + RANDOM % 20000))
"$bin" "${1:-200}" "${2:-4}" 1 --serve "$port" 40 > "$out/serve" 2>&1 &
pid=$!
for _ in $(seq 100); do
	grep -q serving "$out/serve" && break
	sleep 0.1
done
url=http://127.0.0.1:$port
curl -sf "$url/metrics" | grep '^kvmcmo_guest_aborts_total' | sort > "$out/before" || true
wrk -t1 -c1 -d30s --latency "$url/healthz" > "$out/healthz" 2>&1 &
hz=$!
wrk -t2 -c100 -d30s --timeout 30s --latency "$url/metrics" > "$out/metrics" 2>&1
wait $hz
wait $pid
pid=
echo "== HTTP load, 127.0.0.1, load $(cut -d' ' -f1-3 /proc/loadavg)"
grep -E 'served' "$out/serve"
echo "-- wrk -t2 -c100 -d30s /metrics"
grep -E 'requests in|Requests/sec|Socket errors|Non-2xx|^ +(50|90|99)%' "$out/metrics"
echo "-- wrk -t1 -c1 -d30s /healthz (at the same time)"
grep -E 'requests in|Socket errors|Non-2xx|Max|^ +(50|90|99)%|Latency ' "$out/healthz"
