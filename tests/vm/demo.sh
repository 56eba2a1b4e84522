#!/usr/bin/env bash
# `make demo`: kvmcmo on a real arm64 KVM host when you have none.  Boots a
# Debian arm64 kernel (default 6.12) under qemu-system-aarch64 with KVM
# inside, starts `kvmcmo stat`, runs the selftest workload's VMs, and shows
# what kvmcmo saw.
#
#   tests/vm/demo.sh [SERIES]        (make demo KERNEL=5.10)
set -eu
cd "$(dirname "$0")/../.."
k=${1:-6.12}
scripts/fetch-kernels.sh "$k" >&2
scripts/fetch-arm64-deps.sh >&2
make -s ARCH=arm64 STATIC=1 >&2
payload=$(mktemp -d)
trap 'rm -rf "$payload"' EXIT
cp .output/arm64-static/kvmcmo "$payload/"
cat > "$payload/demo.sh" <<'GUEST'
cd /payload
echo "# kvmcmo check"
./kvmcmo check
echo
echo "# kvmcmo stat (in the background) while three VMs run:"
echo "#   ro_read_write: reads then writes a read-only memslot (ROM/flash)"
echo "#   none_ldp_nisv: an LDP outside every memslot (no valid syndrome)"
echo "#   dirty_read_write: reads then writes a dirty-logging memslot"
./kvmcmo stat > /tmp/stat.txt 2> /tmp/stat.err &
pid=$!
while ! grep -q Tracing /tmp/stat.err; do sleep 0.2; done
cat /tmp/stat.err
./kvmcmo selftest --workload-only -c ro_read_write -c none_ldp_nisv -c dirty_read_write > /dev/null 2>&1
kill -INT $pid
wait $pid
cat /tmp/stat.txt
GUEST
tests/vm/boot.sh --kernel "$k" --payload "$payload" --run "$payload/demo.sh" --timeout 600
