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
# Apt runs on PRIVATE states: the arm64 one that scripts/fetch-arm64-deps.sh
# keeps (run it first), and an amd64 twin made from its sources list, so
# the mirror is whatever the host's apt configuration names (read at run
# time there) and the host's apt and dpkg are never touched.  Output in
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

# apt options for a private state directory and architecture
apt_opts() {
    local s=$1 arch=$2
    echo "-o Dir::Etc::sourcelist=$s/sources.list -o Dir::Etc::sourceparts=-" \
         "-o Dir::State::Lists=$s/lists -o Dir::Cache=$s/cache -o Dir::State::status=$s/status" \
         "-o Dir::Etc::preferences=$s/preferences -o Dir::Etc::preferencesparts=$s/preferences.d" \
         "-o APT::Architecture=$arch -o APT::Architectures::=$arch -o APT::Sandbox::User=root" \
         "-o Acquire::Languages=none -o Debug::NoLocking=1 -o Acquire::Retries=3"
}

fetch() {
    local suite arm amd deb
    suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
    arm=$CACHE/apt/deps-$suite
    [ -s "$arm/sources.list" ] && [ -d "$arm/lists" ] ||
        die "no arm64 apt state in $arm: run scripts/fetch-arm64-deps.sh first"
    amd=$CACHE/apt/kvmcmod-amd64-$suite
    mkdir -p "$amd/lists/partial" "$amd/cache/archives/partial" "$amd/preferences.d"
    : > "$amd/status"; : > "$amd/preferences"
    sed 's/arch=arm64/arch=amd64/' "$arm/sources.list" > "$amd/sources.list"
    log "apt-get update (private state, $suite amd64)"
    # shellcheck disable=SC2046
    apt-get $(apt_opts "$amd" amd64) -q update > "$amd/update.log" 2>&1 ||
        { cat "$amd/update.log" >&2; die "apt-get update failed"; }

    tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmcmod-tools.XXXXXX")
    mkdir -p "$tmp/arm" "$tmp/amd" "$tmp/x-arm" "$tmp/x-amd"
    log "apt-get download ${ARM_PKGS[*]/%/:arm64} prometheus:amd64"
    # shellcheck disable=SC2046
    (cd "$tmp/arm" && apt-get $(apt_opts "$arm" arm64) -q download "${ARM_PKGS[@]/%/:arm64}" >/dev/null) ||
        die "apt-get download (arm64) failed"
    # shellcheck disable=SC2046
    (cd "$tmp/amd" && apt-get $(apt_opts "$amd" amd64) -q download prometheus:amd64 >/dev/null) ||
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
