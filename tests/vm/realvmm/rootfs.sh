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

# The machine's Debian mirror: first non-security URI of its apt sources,
# and the security one (or the same host's debian-security).
mirrors() {
    local f=/etc/apt/sources.list.d/debian.sources main sec
    if [ -r "$f" ]; then
        main=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' "$f")
        sec=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /security/) { print $i; exit } }' "$f")
    fi
    if [ -z "${main:-}" ] && [ -r /etc/apt/sources.list ]; then
        main=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' /etc/apt/sources.list)
    fi
    [ -n "${main:-}" ] || die "no Debian mirror URI in the host's apt sources"
    main=${main%/}
    [ -n "${sec:-}" ] || sec=${main%/debian}/debian-security
    echo "$main ${sec%/}"
}

suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
read -r MAIN SEC < <(mirrors)
S=$CACHE/apt/realvmm-$suite
mkdir -p "$S/lists/partial" "$S/cache/archives/partial" "$S/preferences.d"
: > "$S/status"; : > "$S/preferences"
kr=/usr/share/keyrings/debian-archive-keyring.gpg
{
    echo "deb [arch=arm64 signed-by=$kr] $MAIN $suite main"
    echo "deb [arch=arm64 signed-by=$kr] $MAIN $suite-updates main"
    echo "deb [arch=arm64 signed-by=$kr] $SEC $suite-security main"
} > "$S/sources.list"
O=(-o "Dir::Etc::sourcelist=$S/sources.list" -o Dir::Etc::sourceparts=-
   -o "Dir::State::Lists=$S/lists" -o "Dir::Cache=$S/cache" -o "Dir::State::status=$S/status"
   -o "Dir::Etc::preferences=$S/preferences" -o "Dir::Etc::preferencesparts=$S/preferences.d"
   -o APT::Architecture=arm64 -o APT::Architectures::=arm64 -o APT::Sandbox::User=root
   -o Acquire::Languages=none -o Debug::NoLocking=1 -o Acquire::Retries=3)

log "apt-get update (private state, $suite arm64)"
apt-get "${O[@]}" -q update > "$S/update.log" 2>&1 || { cat "$S/update.log" >&2; die "apt-get update failed"; }

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
