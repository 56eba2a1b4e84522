#!/usr/bin/env bash
# kvmcmod's model update and /metrics render, natively on this machine, with
# a synthetic host of 200 VMs (tests/bench/kvmcmod-render.c says what each
# VM holds).  No kernel maps, no HTTP: the daemon's own code only; the
# emulated end-to-end numbers come from tests/bench/kvmcmod-bench.sh.
#
#   tests/bench/kvmcmod-render.sh [VMS (200)] [VCPUS (4)] [RENDERS (2000)]
#
# Runs with the host-wide latency histograms (the default) and with
# --per-vm-latency.  Not part of `make check`.
set -euo pipefail
cd "$(dirname "$0")/../.."
make -s .output/x86/libkvmcmo.a .output/x86/tools/libkvmcmod.a
bin=$(mktemp /tmp/kvmcmod-render.XXXXXX)
trap 'rm -f "$bin"' EXIT
cc -O2 -g -std=gnu11 -Wall -Wextra -Iuser -Iuser/kvmcmod -Ibpf -I.output/x86 \
	-o "$bin" tests/bench/kvmcmod-render.c .output/x86/tools/libkvmcmod.a \
	.output/x86/libkvmcmo.a -lmicrohttpd -lyaml -lcrypt -lpthread -lm \
	$(pkg-config --libs libbpf jansson)
echo "== $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
"$bin" "$@"
"$bin" "$@" --per-vm-latency
