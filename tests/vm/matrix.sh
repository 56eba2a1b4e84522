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

running=0
for k in $kernels; do
	run_one "$k" &
	running=$((running + 1))
	if [ $running -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

passed=0 failed=0
for k in $kernels; do
	echo "== kernel $k: $(grep -m1 '^boot.sh: kernel' "$work/$k/boot.txt" | sed 's/^boot.sh: kernel //')"
	if [ "$(cat "$work/$k/boot.rc")" != 0 ]; then
		echo "FAIL $k guest did not finish (boot.sh exit $(cat "$work/$k/boot.rc"))"
		tail -20 "$work/$k/boot.txt"
		failed=$((failed + 1))
		continue
	fi
	tests/vm/compare.py "$work/$k/out" "$k" > "$work/$k/result.txt"
	cat "$work/$k/result.txt"
	line=$(tail -1 "$work/$k/result.txt")
	p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\1/')
	f=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\2/')
	passed=$((passed + p)) failed=$((failed + f))
	if [ -n "${KVMCMO_KEEP:-}" ]; then
		mkdir -p "$KVMCMO_KEEP/$k" && cp -r "$work/$k/." "$KVMCMO_KEEP/$k/"
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
