#!/usr/bin/env bash
# Assemble Debian's arm64 bpftrace, with every shared library it loads, into
# the cache, for the emulated arm64 KVM host (tests/vm/suite-bpftrace.sh).
#
#   tests/vm/bpftrace/fetch-bpftrace.sh [--refresh]
#
# A PRIVATE apt state (own sources list, lists, cache, empty dpkg status,
# arch arm64) on the machine's own suite (bookworm + -updates + -security):
# the host's apt configuration and dpkg architectures are never touched and
# nothing is installed.  The dependency closure of bpftrace:arm64
# (`apt-cache depends --recurse`, no recommends/suggests) is fetched with
# `apt-get download` and unpacked with `dpkg-deb -x` (no maintainer
# scripts); then only bpftrace, the loader and the shared libraries bpftrace
# loads (the DT_NEEDED closure, read with readelf) are kept: no docs,
# locales, gconv, libbcc/libclang-cpp (bcc's, not bpftrace's).  Output in
# ${KVMCMO_CACHE:-$HOME/.cache/kvmcmo}/bpftrace-arm64/:
#   root/         usr/bin/bpftrace, lib/ld-linux-aarch64.so.1, the libraries
#   packages      "name:arm64=version" of every package unpacked
#   version       the bpftrace package version
#   run-bpftrace  wrapper for the guest: runs bpftrace through the unpacked
#                 loader with the unpacked library path (no chroot)
# A complete cache is reused without network I/O unless --refresh is given.
# The mirror URI is read at run time from the host's apt sources.
set -euo pipefail

CACHE=${KVMCMO_CACHE:-$HOME/.cache/kvmcmo}
DEST=$CACHE/bpftrace-arm64
REFRESH=0
[ "${1:-}" = --refresh ] && REFRESH=1
tmp=""
trap 'rm -rf ${tmp:+"$tmp"}' EXIT

log() { echo "fetch-bpftrace: $*" >&2; }
die() { echo "fetch-bpftrace: ERROR: $*" >&2; exit 1; }

complete() {
    [ -x "$DEST/root/usr/bin/bpftrace" ] && [ -e "$DEST/root/lib/ld-linux-aarch64.so.1" ] &&
        [ -s "$DEST/packages" ] && [ -x "$DEST/run-bpftrace" ]
}

# shellcheck source=../../../scripts/apt-private.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../../scripts/apt-private.sh"

# Copy bpftrace, the loader and the DT_NEEDED closure of bpftrace from the
# unpacked packages FROM into the root TO (symlinks kept as they are).
prune() {
    local from=$1 to=$2 dirs=(lib/aarch64-linux-gnu usr/lib/aarch64-linux-gnu) todo=(usr/bin/bpftrace)
    local -A seen=()
    # bookworm is not usr-merged inside its packages: the loader is
    # /lib/ld-linux-aarch64.so.1, a link into /lib/aarch64-linux-gnu.
    [ -e "$from/lib/ld-linux-aarch64.so.1" ] || die "no arm64 loader in libc6"
    mkdir -p "$to/usr/bin" "$to/lib" "${dirs[@]/#/$to/}"
    cp -a "$from/lib/ld-linux-aarch64.so.1" "$to/lib/"
    while [ ${#todo[@]} -gt 0 ]; do
        local f=${todo[0]} real n d found
        todo=("${todo[@]:1}")
        [ -z "${seen[$f]:-}" ] || continue
        seen[$f]=1
        # the file and every link on the way to it
        real=$f
        while [ -L "$from/$real" ]; do
            cp -a "$from/$real" "$to/$real"
            # lexical only (-s): the host's own /lib link must not count
            real=$(realpath -m -s "/$(dirname "$real")/$(readlink "$from/$real")")
            real=${real#/}
        done
        mkdir -p "$to/$(dirname "$real")"
        cp -a "$from/$real" "$to/$real"
        for n in $(readelf -d "$from/$real" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
            found=""
            for d in "${dirs[@]}"; do
                if [ -e "$from/$d/$n" ]; then todo+=("$d/$n"); found=1; break; fi
            done
            [ -n "$found" ] || die "$real needs $n, which no unpacked package holds"
        done
    done
}

fetch() {
    apt_private bpftrace || die "no private apt state"
    local o=("${APT_O[@]}") suite=$APT_SUITE
    log "apt-get update (private state, $suite arm64)"
    apt_private_update || { cat "$APT_STATE/update.log" >&2; die "apt-get update failed"; }
    local pkgs
    # Real packages only (virtual ones print as <name>).
    mapfile -t pkgs < <(apt-cache "${o[@]}" depends --recurse --no-recommends --no-suggests \
        --no-conflicts --no-breaks --no-replaces --no-enhances bpftrace | grep -E '^[a-z0-9]' | sort -u)
    [ ${#pkgs[@]} -gt 0 ] || die "bpftrace:arm64 not found in $suite"
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmcmo-bpftrace.XXXXXX")
    log "apt-get download ${#pkgs[@]} packages: ${pkgs[*]}"
    (cd "$tmp" && apt-get "${o[@]}" -q download "${pkgs[@]/%/:arm64}" >/dev/null) || die "apt-get download failed"
    rm -rf "$DEST.new"; mkdir -p "$DEST.new/root" "$tmp/x"
    local deb
    for deb in "$tmp"/*.deb; do
        dpkg-deb -x "$deb" "$tmp/x"
        dpkg-deb -W --showformat='${Package}:arm64=${Version}\n' "$deb" >> "$DEST.new/packages"
    done
    prune "$tmp/x" "$DEST.new/root"
    dpkg-deb -W --showformat='${Version}\n' "$tmp"/bpftrace_*.deb > "$DEST.new/version"
    cat > "$DEST.new/run-bpftrace" <<'WRAP'
#!/bin/sh
# Debian's bpftrace through its own unpacked loader and libraries (no chroot).
R=$(cd "$(dirname "$0")" && pwd)/root
exec "$R/lib/ld-linux-aarch64.so.1" \
    --library-path "$R/lib/aarch64-linux-gnu:$R/usr/lib/aarch64-linux-gnu" \
    "$R/usr/bin/bpftrace" "$@"
WRAP
    chmod 755 "$DEST.new/run-bpftrace"
    rm -rf "$DEST"; mv "$DEST.new" "$DEST"
}

if [ "$REFRESH" = 1 ] || ! complete; then
    fetch
fi
complete || die "$DEST is incomplete"
file -b "$DEST/root/usr/bin/bpftrace" 2>/dev/null | grep -q 'ARM aarch64' ||
    { command -v file >/dev/null && die "$DEST/root/usr/bin/bpftrace is not an aarch64 binary"; }
log "bpftrace $(cat "$DEST/version"), $(wc -l < "$DEST/packages") packages, $(du -sm "$DEST/root" | cut -f1) MB"
echo "$DEST"
