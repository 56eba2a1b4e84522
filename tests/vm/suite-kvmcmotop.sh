#!/usr/bin/env bash
# kvmcmotop on real (emulated-host) arm64 KVM, judged against the workload's
# ground truth, plus its command-line contract on this host.
#
#   tests/vm/suite-kvmcmotop.sh [-j N] [--ci] [SERIES...]
#                               (default: $KVMCMO_KERNELS, else 5.10 6.1 6.12 7.2;
#                               -j: emulated guests at once, 1 by default)
#
# On every kernel (tests/vm/kvmcmotop/guest.sh): batch frames (-b text,
# -j JSON, -c CSV with -L, -n ITER -d SECONDS) of kvmcmotop processes
# attached while the workload runs; the totals since start must equal the
# workload's truth exactly, VM for VM, and a crashed (SIGSEGV) and a killed
# (kill -9) one must leave no probe attached.  On 6.12 also: kvmcmod runs
# in the guest, kvmcmotop finds it and --remote reads it (exact totals
# again), and the screen is driven through Debian's arm64 tmux inside the
# guest (tests/vm/kvmcmotop/tty.sh): rows, sorting, filters, drill-down,
# no screen clear per refresh, resizes, NO_COLOR, the u key (kvmcmod
# instead of the probes), quit, Ctrl-Z, SIGTERM, SIGSEGV, SIGQUIT and
# kill -9 with the terminal restored.  tests/vm/kvmcmotop/judge.py decides.
#
# Last line: "N passed, N failed".  KVMCMO_KEEP=DIR keeps every output;
# KVMCMO_BUILD=DIR builds into DIR/x86 and DIR/arm64-static instead of
# .output/ (a private build while others build in the same tree);
# KVMCMO_TOP_TIMEOUT=SECONDS gives each guest longer than 1800 s (a loaded
# machine: the screen's kernel takes about 1000 s at a load average of 10
# on 2 cores, and the guest skips its last screen steps 200 s before).
#
# --ci or KVMCMO_CI=1 (CI's time budget): on the kernels other than 6.12
# only the JSON batch run (exact totals, intervals adding up, kill -9 leaves
# nothing attached); 6.12 runs everything above.  Each kvmcmotop loads its
# own probes, which is most of a guest's time under emulation.
set -u
cd "$(dirname "$0")/../.."
. tests/vm/lib.sh
jobs=1
ci=""
[ -n "${KVMCMO_CI:-}" ] && [ "${KVMCMO_CI}" != 0 ] && ci=1
while [ $# -gt 0 ]; do
	case "$1" in
	-j) jobs=$2; shift 2 ;;
	--ci) ci=1; shift ;;
	-*) echo "suite-kvmcmotop.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
kernels=${*:-${KVMCMO_KERNELS:-5.10 6.1 6.12 7.2}}
TTY_KERNEL=6.12
TIMEOUT=${KVMCMO_TOP_TIMEOUT:-1800}
work=$(mktemp -d /tmp/kvmcmo-top.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail_setup() { echo "suite-kvmcmotop: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

scripts/fetch-kernels.sh $kernels >&2 || fail_setup "fetching kernels failed"
scripts/fetch-arm64-deps.sh >&2 || fail_setup "fetching arm64 libraries failed"
tests/vm/kvmcmotop/fetch-tmux.sh >&2 || fail_setup "fetching tmux failed"
BUILD=${KVMCMO_BUILD:-.output}
make -s OUTPUT="$BUILD/x86" >&2 || fail_setup "host build failed"
make -s ARCH=arm64 STATIC=1 OUTPUT="$BUILD/arm64-static" >&2 || fail_setup "arm64 build failed"
CACHE=${KVMCMO_CACHE:-$HOME/.cache/kvmcmo}
OUT=$BUILD/arm64-static

# ---------------------------------------------------------------- host side
if [ -n "$ci" ]; then
	echo "== mode: ci (the JSON batch run alone where the screen is not tested)"
else
	echo "== mode: full"
fi
echo "== host: command line, man page"
tests/vm/kvmcmotop/cli.sh "$BUILD/x86/kvmcmotop" > "$work/cli.txt" 2>&1
cat "$work/cli.txt"

# ---------------------------------------------------------------- payloads
mkdir -p "$work/payload" "$work/payload-tty"
cp "$OUT/kvmcmo" "$OUT/kvmcmotop" tests/vm/kvmcmotop/guest.sh "$work/payload/"
cp -a "$CACHE/sysroot-arm64/lib/terminfo" "$work/payload/"
# the guest skips what is left of its screen steps 200 s before the timeout
echo $((TIMEOUT - 200)) > "$work/payload/deadline"
[ -n "$ci" ] && touch "$work/payload/ci"
cp -a "$work/payload/." "$work/payload-tty/"
cp tests/vm/kvmcmotop/tty.sh "$work/payload-tty/"
cp -a "$CACHE/tmux-arm64" "$work/payload-tty/tmux"
# kvmcmod, when this tree has it: a dynamic executable with its libraries
if [ -x "$OUT/kvmcmod" ] && [ -x tests/vm/kvmcmod/payload.sh ]; then
	tests/vm/kvmcmod/payload.sh "$work/payload-tty" "$OUT/kvmcmod" >&2 ||
		fail_setup "kvmcmod payload failed"
fi

run_one() {
	local k=$1 p=$work/payload
	[ "$k" = "$TTY_KERNEL" ] && p=$work/payload-tty
	mkdir -p "$work/$k"
	SECONDS=0
	tests/vm/boot.sh --kernel "$k" --payload "$p" --run tests/vm/kvmcmotop/guest.sh \
		--timeout "$TIMEOUT" --out "$work/$k/out" --log "$work/$k/console.log" \
		> "$work/$k/boot.txt" 2>&1
	echo $? > "$work/$k/boot.rc"
	echo $SECONDS > "$work/$k/seconds"
}

# the longest run first, so the others fill the second slot meanwhile
order="$TTY_KERNEL"
for k in $kernels; do [ "$k" = "$TTY_KERNEL" ] || order="$order $k"; done
case " $kernels " in *" $TTY_KERNEL "*) ;; *) order=${order#"$TTY_KERNEL "} ;; esac
vm_each_kernel "$jobs" run_one $order

passed=0 failed=0
vm_tally "$work/cli.txt"
for k in $order; do
	echo "== kernel $k: $(vm_boot_line "$k"), $(cat "$work/$k/seconds") s"
	vm_boot_ok "$k" && vm_judge "$k" tests/vm/kvmcmotop/judge.py "$work/$k/out" "$k"
done
if [ -n "${KVMCMO_KEEP:-}" ]; then
	mkdir -p "$KVMCMO_KEEP" && cp -r "$work/." "$KVMCMO_KEEP/"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
