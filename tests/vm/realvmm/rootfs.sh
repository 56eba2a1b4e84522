#!/usr/bin/env bash
# Assemble the real VMM for the emulated arm64 KVM host: Debian's arm64
# qemu-system-aarch64, the shared libraries it links, and Debian's AAVMF
# firmware (code and variable-store banks), as a tree for boot.sh's payload.
#
#   tests/vm/realvmm/rootfs.sh [--refresh]
#
# Prints the tree's path: ${KVMCMO_CACHE:-$HOME/.cache/kvmcmo}/realvmm/root,
# holding
#   qemu-system-aarch64                     Debian's binary, unmodified
#   lib/ld-linux-aarch64.so.1, lib/*.so*   the loader and the NEEDED closure
#   share/AAVMF_CODE.fd, share/AAVMF_VARS.fd
#   PACKAGES                                "name:arm64=version", one a line
#
# How: a PRIVATE apt state (own sources list, lists and cache, empty dpkg
# status, arch arm64; the host's apt configuration and dpkg architectures are
# never touched) on the machine's own suite, mirror read at run time from the
# host's apt sources.  `apt-cache depends --recurse` of qemu-system-arm and
# qemu-efi-aarch64 (no recommends, suggests, ...) names about 125 packages;
# they are fetched with `apt-get download` and unpacked with `dpkg-deb -x`
# (no chroot, no maintainer scripts), then only what the binary really loads
# is kept: its ELF NEEDED closure (tests/vm/kvmcmod/payload.sh), not the
# ~275 MB of the whole package set.  A complete tree is reused without network I/O.
set -euo pipefail

CACHE=${KVMCMO_CACHE:-$HOME/.cache/kvmcmo}
DEST=$CACHE/realvmm/root
RECIPE=3        # bump when the tree's layout changes
REFRESH=0
[ "${1:-}" = --refresh ] && REFRESH=1
[ "${1:-}" = -h ] || [ "${1:-}" = --help ] && { sed -n '2,24p' "$0"; exit 0; }

log() { echo "realvmm/rootfs: $*" >&2; }
die() { echo "realvmm/rootfs: ERROR: $*" >&2; exit 1; }

if [ "$REFRESH" = 0 ] && [ "$(cat "$DEST/.recipe" 2>/dev/null)" = "$RECIPE" ]; then
    echo "$DEST"
    exit 0
fi
command -v aarch64-linux-gnu-readelf >/dev/null ||
    die "aarch64-linux-gnu-readelf missing: run scripts/install-build-deps.sh"

# shellcheck source=../../../scripts/apt-private.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../../scripts/apt-private.sh"
apt_private realvmm || die "no Debian mirror in the host's apt sources"
log "apt-get update (private state, $APT_SUITE arm64)"
apt_private_update || { cat "$APT_STATE/update.log" >&2; die "apt-get update failed"; }
O=("${APT_O[@]}")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmcmo-realvmm.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
apt-cache "${O[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts \
    --no-breaks --no-replaces --no-enhances qemu-system-arm qemu-efi-aarch64 |
    grep -E '^[a-z0-9]' | sed 's/:arm64$//' | sort -u > "$tmp/pkgs"
[ -s "$tmp/pkgs" ] || die "apt-cache depends found nothing for qemu-system-arm"
log "apt-get download $(wc -l < "$tmp/pkgs") packages"
mkdir -p "$tmp/debs" "$tmp/x"
(cd "$tmp/debs" && xargs apt-get "${O[@]}" -q download < "$tmp/pkgs" > "$tmp/dl.log" 2>&1) ||
    { tail -20 "$tmp/dl.log" >&2; die "apt-get download failed"; }
for deb in "$tmp"/debs/*.deb; do
    dpkg-deb -x "$deb" "$tmp/x"
    dpkg-deb -W --showformat='${Package}:${Architecture}=${Version}\n' "$deb" >> "$tmp/PACKAGES"
done

X=$tmp/x
N=$DEST.new
rm -rf "$N"; mkdir -p "$N/share"
qemu=$X/usr/bin/qemu-system-aarch64
[ -x "$qemu" ] || die "qemu-system-arm:arm64 holds no usr/bin/qemu-system-aarch64"
for f in AAVMF_CODE.fd AAVMF_VARS.fd; do
    [ -s "$X/usr/share/AAVMF/$f" ] || die "qemu-efi-aarch64 holds no usr/share/AAVMF/$f"
    cp "$X/usr/share/AAVMF/$f" "$N/share/"
done

# The loader and the NEEDED closure, from the packages' own library dirs
# first (tests/vm/kvmcmod/payload.sh: DEST/EXE, DEST/lib/*.so*)
interp=$(aarch64-linux-gnu-readelf -l "$qemu" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
[ "$interp" = /lib/ld-linux-aarch64.so.1 ] || die "unexpected program interpreter '$interp'"
"$(dirname "$0")/../kvmcmod/payload.sh" "$N" "$qemu" -- "$X/lib/aarch64-linux-gnu" "$X/usr/lib/aarch64-linux-gnu" ||
    die "copying qemu-system-aarch64's libraries failed"
sort "$tmp/PACKAGES" > "$N/PACKAGES"
echo "$RECIPE" > "$N/.recipe"
rm -rf "$DEST"; mv "$N" "$DEST"
log "$(wc -l < "$DEST/PACKAGES") packages, $(ls "$DEST/lib" | wc -l) libraries; $(du -sh "$DEST" | cut -f1) in $DEST"
log "qemu: $(grep '^qemu-system-arm:' "$DEST/PACKAGES"), firmware: $(grep '^qemu-efi-aarch64:' "$DEST/PACKAGES")"
echo "$DEST"
