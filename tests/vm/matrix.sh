#!/usr/bin/env bash
# The core test on real (emulated-host) arm64 KVM: for each kernel of
# shared/KERNELS.md, boot it under qemu-system-aarch64 -M virt,
# virtualization=on -cpu max with the static arm64 kvmcmo, run the workload
# under `kvmcmo stat --json` in every attach mode the kernel offers, and
# judge the counts exactly against the workload's ground truth
# (tests/vm/compare.py).  A crashed or hung guest is a failure.
#
#   tests/vm/matrix.sh [-j N] [SERIES...]      (default: 5.10 6.1 6.12 7.2)
#   KVMCMO_BOOT_TIMEOUT=SECS per boot (default 900: a quiet 2-core machine
#   needs about 3 minutes per kernel)
#
# Last line: "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
. tests/vm/lib.sh
jobs=2
while [ $# -gt 0 ]; do
	case "$1" in
	-j) jobs=$2; shift 2 ;;
	-*) echo "matrix.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
kernels=${*:-5.10 6.1 6.12 7.2}
work=$(mktemp -d /tmp/kvmcmo-matrix.XXXXXX)
trap 'rm -rf "$work"' EXIT

scripts/fetch-kernels.sh $kernels >&2 || { echo "0 passed, 1 failed"; exit 1; }
scripts/fetch-arm64-deps.sh >&2 || { echo "0 passed, 1 failed"; exit 1; }
make -s ARCH=arm64 STATIC=1 >&2 || { echo "0 passed, 1 failed"; exit 1; }

mkdir -p "$work/payload"
cp .output/arm64-static/kvmcmo "$work/payload/"
# the unprivileged-user helper of tests/vm/guest/core.sh
aarch64-linux-gnu-gcc -static -O2 -Wall -Werror -o "$work/payload/runas" tests/vm/guest/runas.c ||
	{ echo "0 passed, 1 failed"; exit 1; }

run_one() {
	local k=$1 rc
	mkdir -p "$work/$k"
	tests/vm/boot.sh --kernel "$k" --payload "$work/payload" --run tests/vm/guest/core.sh \
		--timeout "${KVMCMO_BOOT_TIMEOUT:-900}" --out "$work/$k/out" --log "$work/$k/console.log" \
		> "$work/$k/boot.txt" 2>&1
	rc=$?
	echo $rc > "$work/$k/boot.rc"
}

vm_each_kernel "$jobs" run_one $kernels

passed=0 failed=0
for k in $kernels; do
	echo "== kernel $k: $(vm_boot_line "$k")"
	vm_boot_ok "$k" && vm_judge "$k" tests/vm/compare.py "$work/$k/out" "$k"
	vm_keep "$k"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
