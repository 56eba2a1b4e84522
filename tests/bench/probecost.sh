#!/usr/bin/env bash
# The floor cost per guest abort of each attach primitive (tracepoint,
# fentry/fexit, kprobe/kretprobe, a clock read, a probe read, a hash
# lookup), on emulated arm64 KVM under -icount (guest instructions):
#
#   tests/bench/probecost.sh [--pages N] [--sets "SET;SET..."] SERIES...
#
# A set is a space-separated list of programs of probecost.bpf.c attached
# together (default: every hook alone, and the pairs).
#
# Builds tests/bench/probecost/ (arm64, static) and the static kvmcmo, boots
# each kernel with --icount --smp 1, and prints one line per program set:
# baseline and probed guest ns for N read aborts and the added cost per
# abort.  Exit 0 when every boot finished.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PAGES=10000 SETS=""
while [ $# -gt 0 ]; do
    case $1 in
        --pages) PAGES=${2:?}; shift 2 ;;
        --sets) SETS=${2:?}; shift 2 ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || { sed -n '2,16p' "$0" >&2; exit 2; }
cd "$REPO"
make -s ARCH=arm64 STATIC=1 >/dev/null || exit 1
O=.output/probecost S=${KVMCMO_CACHE:-$HOME/.cache/kvmcmo}/sysroot-arm64
mkdir -p $O
clang -g -O2 -target bpf -D__TARGET_ARCH_arm64 -Wall -Werror -I. -Ibpf \
    -c tests/bench/probecost/probecost.bpf.c -o $O/probecost.bpf.o &&
bpftool gen skeleton $O/probecost.bpf.o > $O/probecost.skel.h &&
aarch64-linux-gnu-gcc -O2 -static -I$O -I$S/usr/include tests/bench/probecost/probecost.c \
    -L$S/usr/lib/aarch64-linux-gnu -lbpf -lelf -lz -lzstd -o $O/probecost || exit 1
work=$(mktemp -d /tmp/probecost.XXXXXX)
mkdir -p "$work/payload"
cp .output/arm64-static/kvmcmo $O/probecost tests/bench/probecost/guest.sh "$work/payload/"
if [ -n "$SETS" ]; then
    echo "$SETS" | tr ';' '\n' > "$work/payload/sets"
else
cat > "$work/payload/sets" <<SETS
tp_exit
tp_entry
tp_fault
raw_fault
tp_uexit
tp_fault_ktime
tp_fault_read
tp_fault_hash
tp_exit tp_entry
fentry_abort
fexit_abort
fentry_abort fexit_abort
fentry_map
kprobe_abort
kretprobe_abort
kprobe_abort kretprobe_abort
kprobe_map
SETS
fi
rc=0
for k in "$@"; do
    log=$work/$k.log
    ( echo "PAGES=$PAGES"; cat tests/bench/probecost/guest.sh ) > "$work/payload/run-$k.sh"
    tests/vm/boot.sh --kernel "$k" --payload "$work/payload" --run "$work/payload/run-$k.sh" \
        --icount --smp 1 --timeout 5400 --log "$log" >/dev/null 2>&1 || rc=1
    echo "== $k ($(cat ${KVMCMO_CACHE:-$HOME/.cache/kvmcmo}/kernels/$k/version 2>/dev/null))"
    grep -a '^COST' "$log" | awk -v n=$((PAGES + 1)) '
        $3 == "unsupported" { printf "%-32s unsupported\n", $2; next }
        { printf "%-32s base %9d probed %9d  +%6.0f instr/abort  %s\n", $2, $3, $4, ($4 - $3) / n, substr($0, index($0, $5)) }'
done
echo "boot logs: $work"
exit $rc
