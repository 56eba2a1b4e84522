#!/usr/bin/env bash
# kvmcmotop with 200 VMs: frame build + draw time, and memory over minutes
# of refreshes (the numbers in BENCHMARKS.md, section kvmcmotop).  Not part
# of `make check`.
#
#   tests/bench/kvmcmotop-bench.sh [--minutes N (10)] [--seconds S (60)]
#                                  [--emulated KERNEL [--guest-minutes M (N)]
#                                   [--emulated-only]] [--out DIR]
#
# Native, on this host (any architecture: no probes, --remote only):
#  1. tests/bench/kvmcmotop-source.py, a synthetic kvmcmod serving 200 VMs
#     (1 to 8 vCPUs, 6 to 30 table rows, histograms, regions each; a VM
#     replaced every 50 polls), dumps two documents two polls apart;
#     tests/bench/kvmcmotop-bench.c times the frame model and the ncurses
#     drawing on them for S seconds, at 80x24 and at 200x60;
#  2. the real kvmcmotop --remote -d 0.2 reads that source in a pty (80x24)
#     for N minutes while tests/bench/kvmcmotop-pty.py walks its keys every
#     20 s and samples VmRSS every 10 s.
# With --emulated KERNEL, also in the emulated arm64 KVM host
# (tests/bench/kvmcmotop-guest.sh): kvmcmod and a kvmcmotop screen count six
# workload runs (222 VMs, all kept), kvmcmotop-bench.c runs on two of that
# kvmcmod's documents there, and the screen refreshes every 0.2 s for M
# minutes with VmRSS sampled; kvmcmotop-bench.c then runs natively on the
# same two real documents.  One guest, about M + 15 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
MIN=10 SECS=60 EMU="" GMIN="" ONLY="" OUTDIR=""
while [ $# -gt 0 ]; do
	case $1 in
	--minutes) MIN=$2; shift 2 ;;
	--seconds) SECS=$2; shift 2 ;;
	--emulated) EMU=$2; shift 2 ;;
	--guest-minutes) GMIN=$2; shift 2 ;;
	--emulated-only) ONLY=1; shift ;;
	--out) OUTDIR=$2; shift 2 ;;
	*) echo "kvmcmotop-bench.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
BUILD=${KVMCMO_BUILD:-.output}
work=$(mktemp -d /tmp/kvmcmotop-bench.XXXXXX)
src=""
trap '[ -n "$src" ] && kill $src 2>/dev/null; rm -rf "$work"' EXIT
OUTDIR=${OUTDIR:-$work/out}
mkdir -p "$OUTDIR"

HOSTARCH=$(uname -m | sed -e 's/aarch64/arm64/' -e 's/x86_64/x86/')    # as the Makefile names it
make -s OUTPUT="$BUILD/$HOSTARCH" >&2
FLAGS=(-std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Ibpf -Iuser -Itools/kvmcmotop)
LIBS=(-lncursesw -ltinfo -levent_extra -levent_core -lbpf -lelf -lz -ljansson -lm)
gcc "${FLAGS[@]}" -I"$BUILD/$HOSTARCH" -o "$work/bench-native" tests/bench/kvmcmotop-bench.c \
	"$BUILD/$HOSTARCH/tools/libkvmcmotop.a" "$BUILD/$HOSTARCH/libkvmcmo.a" "${LIBS[@]}"
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
echo "== native $(uname -m) ($cpu, $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg))"

# as root at SCHED_FIFO (as tests/bench/diff-bench.sh), so that the emulated
# guests of others on this machine do not stretch the times measured
rt=()
if [ "$(id -u)" = 0 ] && command -v chrt > /dev/null; then
	rt=(chrt -f 50)
fi

# ---------------------------------------------------------------- 1. frame time
if [ -z "$ONLY" ]; then
	tests/bench/kvmcmotop-source.py --vms 200 --dump "$OUTDIR/synthetic-a.json" --at 100
	tests/bench/kvmcmotop-source.py --vms 200 --dump "$OUTDIR/synthetic-b.json" --at 102
	echo "-- kvmcmotop-bench.c, 200 synthetic VMs ($(du -k "$OUTDIR/synthetic-a.json" | cut -f1) KiB of JSON each), $SECS s each size${rt:+, SCHED_FIFO 50}:"
	for size in "80 24" "200 60"; do
		"${rt[@]}" "$work/bench-native" "$OUTDIR/synthetic-a.json" "$OUTDIR/synthetic-b.json" \
			"$SECS" $size | grep -v '^t='
	done

	# ---------------------------------------------------------------- 2. memory
	tests/bench/kvmcmotop-source.py --vms 200 --poll 2 > "$work/source.txt" &
	src=$!
	for _ in $(seq 100); do grep -q listening "$work/source.txt" 2>/dev/null && break; sleep 0.1; done
	url=$(sed -n 's/^listening on //p' "$work/source.txt")
	echo "-- kvmcmotop --remote $url -d 0.2 in an 80x24 pty, keys every 20 s, $MIN min:"
	tests/bench/kvmcmotop-pty.py --minutes "$MIN" -- "$BUILD/$HOSTARCH/kvmcmotop" --remote "$url" \
		-d 0.2 | tee "$OUTDIR/native-rss.txt"
	echo "snapshots served (refreshes): $(python3 -c "import urllib.request as u; print(u.urlopen('$url/requests').read().decode().strip())")"
	kill $src
	wait $src 2>/dev/null || true
	src=""
fi

[ -n "$EMU" ] || exit 0
GMIN=${GMIN:-$MIN}

# ---------------------------------------------------------------- 3. emulated
CACHE=${KVMCMO_CACHE:-$HOME/.cache/kvmcmo}
SYS=$CACHE/sysroot-arm64
scripts/fetch-kernels.sh "$EMU" >&2
scripts/fetch-arm64-deps.sh >/dev/null
tests/vm/kvmcmotop/fetch-tmux.sh >&2
make -s ARCH=arm64 STATIC=1 OUTPUT="$BUILD/arm64-static" >&2
aarch64-linux-gnu-gcc "${FLAGS[@]}" -I"$BUILD/arm64-static" -I"$SYS/usr/include" -static \
	-L"$SYS/usr/lib/aarch64-linux-gnu" -o "$work/bench-arm64" tests/bench/kvmcmotop-bench.c \
	"$BUILD/arm64-static/tools/libkvmcmotop.a" "$BUILD/arm64-static/libkvmcmo.a" \
	"${LIBS[@]}" -lzstd 2> >(grep -v 'statically linked applications' >&2)
P=$work/payload
mkdir -p "$P"
cp "$BUILD/arm64-static/kvmcmo" "$BUILD/arm64-static/kvmcmotop" "$P/"
cp "$work/bench-arm64" "$P/bench"
cp -a "$SYS/lib/terminfo" "$P/"
cp -a "$CACHE/tmux-arm64" "$P/tmux"
tests/vm/kvmcmod/payload.sh "$P" "$BUILD/arm64-static/kvmcmod" >&2
echo "$GMIN" > "$P/bench-minutes"
tests/vm/boot.sh --kernel "$EMU" --payload "$P" --run tests/bench/kvmcmotop-guest.sh \
	--timeout $((GMIN * 60 + 1800)) --mem 2048 --out "$OUTDIR/emulated" \
	--log "$OUTDIR/emulated/console.log" >&2
E=$OUTDIR/emulated
echo "== emulated arm64 ($EMU, $(cat "$E/uname")), QEMU TCG on this host"
echo "-- kvmcmotop-bench.c on two real kvmcmod documents ($(grep -c . "$E/workload.rc") workload runs), 60 s:"
cat "$E/bench-emulated.txt"
echo "-- the kvmcmotop screen (local probes) at -d 0.2, $GMIN min, every 30 s:"
cat "$E/screen-rss.txt"
gunzip -f "$E/prev.json.gz" "$E/cur.json.gz"
echo "-- native $(uname -m), kvmcmotop-bench.c on those two real documents, $SECS s${rt:+, SCHED_FIFO 50}:"
"${rt[@]}" "$work/bench-native" "$E/prev.json" "$E/cur.json" "$SECS" | grep -v '^t='
