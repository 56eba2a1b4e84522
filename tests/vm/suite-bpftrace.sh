#!/usr/bin/env bash
# The bpftrace edition on real (emulated-host) arm64 KVM: for each kernel
# of shared/KERNELS.md, boot it with the static arm64 kvmcmo, the scripts
# tools/kvmcmo.bt and tools/kvmcmo-trace.bt and Debian's arm64 bpftrace
# (tests/vm/bpftrace/fetch-bpftrace.sh), and in ONE run of the workload
# have `kvmcmo stat --json`, `bpftrace kvmcmo.bt`, `bpftrace
# kvmcmo-trace.bt all` and one of `bpftrace kvmcmo.bt 2` and `bpftrace
# kvmcmo-trace.bt` (they take turns over the kernels, the last one named
# runs `kvmcmo-trace.bt`) attached at once
# (tests/vm/bpftrace/guest.sh).  tests/vm/bpftrace/judge.py then asserts,
# per VM, kvmcmo.bt's counts = kvmcmo stat's = the workload's ground truth,
# exactly, and one kvmcmo-trace.bt line per traced abort; every bpftrace
# must end on one SIGINT.
# A kernel where bpftrace cannot run fails with bpftrace's reason.
#
#   tests/vm/suite-bpftrace.sh [-j N] [SERIES...]   (default: 5.10 6.1 6.12 7.2)
#
# -j N boots N kernels at once (default 1: each guest's bpftrace compiles
# keep both of its vCPUs busy, a second guest only shares the same cores).
# KVMCMO_CI=1 (CI's time budget): no third bpftrace on the first and the
# last kernel named (5.10 and 7.2 by default): they run kvmcmo stat,
# kvmcmo.bt and kvmcmo-trace.bt all, with the same exact checks; the ones
# between keep their third run (by default 6.1 `kvmcmo-trace.bt`, 6.12
# `kvmcmo.bt 2`), so each mode still runs on one kernel.
# KVMCMO_KEEP=DIR keeps each kernel's outputs (console log, every tool's
# output) in DIR/<series>/.  Each kernel's section gives its boot's wall
# time.  Last line: "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
. tests/vm/lib.sh
jobs=1
while [ $# -gt 0 ]; do
	case "$1" in
	-j) jobs=$2; shift 2 ;;
	-*) echo "suite-bpftrace.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
kernels=${*:-5.10 6.1 6.12 7.2}
work=$(mktemp -d /tmp/kvmcmo-bpftrace.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail_setup() { echo "suite-bpftrace: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

scripts/fetch-kernels.sh $kernels >&2 || fail_setup "fetch-kernels failed"
scripts/fetch-arm64-deps.sh >&2 || fail_setup "fetch-arm64-deps failed"
bt=$(tests/vm/bpftrace/fetch-bpftrace.sh) || fail_setup "fetch-bpftrace failed"
make -s ARCH=arm64 STATIC=1 >&2 || fail_setup "make ARCH=arm64 STATIC=1 failed"

mkdir -p "$work/payload/tools"
cp .output/arm64-static/kvmcmo "$work/payload/"
cp tools/kvmcmo.bt tools/kvmcmo-trace.bt "$work/payload/tools/"
cp -a "$bt/." "$work/payload/bt/"

# Besides kvmcmo.bt and kvmcmo-trace.bt all, each boot runs one more
# bpftrace (compiles are what takes time): the interval mode of kvmcmo.bt
# and the CMO-only mode of kvmcmo-trace.bt take turns over the kernels;
# with KVMCMO_CI, over all but the first and the last.
ci=0
[ -n "${KVMCMO_CI:-}" ] && [ "$KVMCMO_CI" != 0 ] && ci=1
n=$(echo $kernels | wc -w)
i=0
for k in $kernels; do
	mkdir -p "$work/$k/out"
	cp -al "$work/payload" "$work/$k/payload"
	if [ $ci = 1 ] && { [ $i = 0 ] || [ $i = $((n - 1)) ]; }; then extra=none
	elif [ $(((i - n) % 2)) = 0 ]; then extra=bt_interval
	else extra=trace_cmo; fi
	echo "EXTRA=$extra" > "$work/$k/payload/run.conf"
	i=$((i + 1))
done

run_one() {
	local k=$1 rc
	# 3 GiB: the initramfs holds bpftrace's ~190 MB of LLVM and friends,
	# and four bpftrace processes compile at once
	tests/vm/boot.sh --kernel "$k" --payload "$work/$k/payload" --run tests/vm/bpftrace/guest.sh \
		--mem 3072 --timeout 1500 --out "$work/$k/out" --log "$work/$k/console.log" \
		> "$work/$k/boot.txt" 2>&1
	rc=$?
	echo $rc > "$work/$k/boot.rc"
}

vm_each_kernel "$jobs" run_one $kernels

passed=0 failed=0
for k in $kernels; do
	echo "== kernel $k: $(vm_boot_line "$k")"
	echo "# $k: boot wall $(sed -n 's/.*; wall \([0-9.]*s\);.*/\1/p' "$work/$k/boot.txt" | tail -1)"
	vm_boot_ok "$k" && vm_judge "$k" tests/vm/bpftrace/judge.py "$work/$k/out" "$k"
	vm_keep "$k"
done
echo "# suite wall ${SECONDS} s (kernels: $kernels; -j $jobs$([ $ci = 1 ] && echo ', KVMCMO_CI'))"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
