#!/usr/bin/env bash
# Cross-check the workload's ground truth against plain ftrace (no BPF): boot
# each kernel, run every case (bench excepted) with the kvm_guest_fault
# tracepoint and kprobe events on the stage-2 outcome functions, then compare
# per VM (tests/vm/workload/trace-check.py).
#
#   tests/vm/workload/trace-check.sh [--kvmcmo STATIC_ARM64_BINARY] [--keep DIR] [SERIES...]
#
# SERIES default: 6.12 5.10.  The binary defaults to .output/arm64-static/kvmcmo
# (make ARCH=arm64 STATIC=1).  Exit 0 only if every kernel's run passed.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
BIN=$ROOT/.output/arm64-static/kvmcmo KEEP="" SERIES=()
while [ $# -gt 0 ]; do
    case $1 in
        --kvmcmo) BIN=${2:?}; shift 2 ;;
        --keep) KEEP=${2:?}; shift 2 ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) SERIES+=("$1"); shift ;;
    esac
done
[ ${#SERIES[@]} -gt 0 ] || SERIES=(6.12 5.10)
[ -x "$BIN" ] || { echo "trace-check: no $BIN (make ARCH=arm64 STATIC=1)" >&2; exit 2; }
WORK=${KEEP:-$(mktemp -d "${TMPDIR:-/tmp}/kvmcmo-trace.XXXXXX")}
mkdir -p "$WORK/payload"
cp "$BIN" "$WORK/payload/kvmcmo"
status=0
for k in "${SERIES[@]}"; do
    out=$WORK/out-$k
    rm -rf "$out"; mkdir -p "$out"
    echo "== $k"
    if ! "$ROOT/tests/vm/boot.sh" --kernel "$k" --payload "$WORK/payload" \
            --run "$HERE/trace-run.sh" --out "$out"; then
        echo "trace-check: $k: the guest run failed" >&2
        status=1
    fi
    python3 "$HERE/trace-check.py" "$out" || status=1
done
[ -n "$KEEP" ] || rm -rf "$WORK"
exit $status
