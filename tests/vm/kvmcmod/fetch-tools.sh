#!/usr/bin/env bash
# The third-party programs the kvmcmod suite runs, from Debian's packages,
# unpacked into the cache (nothing is installed on the host):
#   arm64/prometheus      a real Prometheus server, for the guest
#   arm64/wrk             the HTTP load generator, for the guest (bench)
#   arm64/lib/            the arm64 libraries those two load
#   promtool              x86-64, for `promtool check metrics` on the host
#   packages              "name:arch=version" of every package unpacked
#
#   tests/vm/kvmcmod/fetch-tools.sh [--refresh]
#
# Apt runs on PRIVATE states (scripts/apt-private.sh): the arm64 one that
# scripts/fetch-arm64-deps.sh keeps (run it first), and an amd64 one, so
# the mirror is whatever the host's apt configuration names (read at run
# time) and the host's apt and dpkg are never touched.  Output in
# ${KVMCMO_CACHE:-$HOME/.cache/kvmcmo}/kvmcmod-tools/; a complete cache is
# reused without network I/O.
set -euo pipefail

CACHE=${KVMCMO_CACHE:-$HOME/.cache/kvmcmo}
DEST=$CACHE/kvmcmod-tools
REFRESH=0
[ "${1:-}" = --refresh ] && REFRESH=1
ARM_PKGS=(prometheus wrk libluajit-5.1-2 libssl3)
tmp=""
trap 'rm -rf ${tmp:+"$tmp"}' EXIT

log() { echo "fetch-tools: $*" >&2; }
die() { echo "fetch-tools: ERROR: $*" >&2; exit 1; }

complete() {
    [ -x "$DEST/arm64/prometheus" ] && [ -x "$DEST/arm64/wrk" ] &&
        [ -x "$DEST/promtool" ] && [ -s "$DEST/packages" ]
}

# shellcheck source=../../../scripts/apt-private.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../../scripts/apt-private.sh"

fetch() {
    local suite deb arm_o amd_o
    # the arm64 state scripts/fetch-arm64-deps.sh keeps (its lists as they are)
    apt_private deps || die "no private apt state"
    suite=$APT_SUITE
    [ -d "$APT_STATE/lists" ] && ls "$APT_STATE"/lists/*Packages* >/dev/null 2>&1 ||
        die "no arm64 apt lists in $APT_STATE: run scripts/fetch-arm64-deps.sh first"
    arm_o=("${APT_O[@]}")
    apt_private kvmcmod-amd64 amd64 || die "no private apt state"
    amd_o=("${APT_O[@]}")
    log "apt-get update (private state, $suite amd64)"
    apt_private_update || { cat "$APT_STATE/update.log" >&2; die "apt-get update failed"; }

    tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmcmod-tools.XXXXXX")
    mkdir -p "$tmp/arm" "$tmp/amd" "$tmp/x-arm" "$tmp/x-amd"
    log "apt-get download ${ARM_PKGS[*]/%/:arm64} prometheus:amd64"
    (cd "$tmp/arm" && apt-get "${arm_o[@]}" -q download "${ARM_PKGS[@]/%/:arm64}" >/dev/null) ||
        die "apt-get download (arm64) failed"
    (cd "$tmp/amd" && apt-get "${amd_o[@]}" -q download prometheus:amd64 >/dev/null) ||
        die "apt-get download (amd64) failed"
    : > "$tmp/packages"
    for deb in "$tmp"/arm/*.deb; do
        dpkg-deb -x "$deb" "$tmp/x-arm"
        dpkg-deb -W --showformat='${Package}:${Architecture}=${Version}\n' "$deb" >> "$tmp/packages"
    done
    for deb in "$tmp"/amd/*.deb; do
        dpkg-deb -x "$deb" "$tmp/x-amd"
        dpkg-deb -W --showformat='${Package}:${Architecture}=${Version}\n' "$deb" >> "$tmp/packages"
    done
    rm -rf "$DEST.new"
    mkdir -p "$DEST.new/arm64/lib"
    install -m 0755 "$tmp/x-arm/usr/bin/prometheus" "$tmp/x-arm/usr/bin/wrk" "$DEST.new/arm64/"
    cp -a "$tmp"/x-arm/usr/lib/aarch64-linux-gnu/*.so* "$DEST.new/arm64/lib/"
    install -m 0755 "$tmp/x-amd/usr/bin/promtool" "$DEST.new/promtool"
    mv "$tmp/packages" "$DEST.new/packages"
    rm -rf "$DEST"
    mv "$DEST.new" "$DEST"
}

if [ "$REFRESH" = 1 ] || ! complete; then
    fetch
fi
complete || die "incomplete $DEST"
log "packages: $(paste -sd' ' "$DEST/packages")"
