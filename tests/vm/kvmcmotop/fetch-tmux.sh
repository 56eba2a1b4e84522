#!/usr/bin/env bash
# Assemble Debian's arm64 tmux, with every shared library it loads, into the
# cache, for driving kvmcmotop's screen inside the emulated arm64 KVM host
# (tests/vm/suite-kvmcmotop.sh).
#
#   tests/vm/kvmcmotop/fetch-tmux.sh [--refresh]
#
# Uses a PRIVATE apt state (arm64, the machine's own suite) from
# scripts/apt-private.sh, cached as apt/tmux-SUITE: the host's apt
# configuration and dpkg architectures are never touched, nothing is
# installed, and no mirror is named here (the helper reads it from the
# host's sources at run time).  The dependency closure of tmux:arm64 (`apt-cache depends
# --recurse`, no recommends/suggests) is fetched with `apt-get download` and
# unpacked with `dpkg-deb -x` (no maintainer scripts).  Output in
# ${KVMCMO_CACHE:-$HOME/.cache/kvmcmo}/tmux-arm64/:
#   root/      usr/bin/tmux, lib/ld-linux-aarch64.so.1, the libraries, and
#              libc-bin's C.UTF-8 locale (tmux needs a UTF-8 locale)
#   packages   "name:arm64=version" of every package unpacked
#   run-tmux   wrapper for the guest: tmux through the unpacked loader and
#              library path (no chroot)
# A complete cache is reused without network I/O unless --refresh is given.
set -euo pipefail

cd "$(dirname "$0")/../../.."
CACHE=${KVMCMO_CACHE:-$HOME/.cache/kvmcmo}
DEST=$CACHE/tmux-arm64
REFRESH=0
[ "${1:-}" = --refresh ] && REFRESH=1
tmp=""
trap 'rm -rf ${tmp:+"$tmp"}' EXIT

log() { echo "fetch-tmux: $*" >&2; }
die() { echo "fetch-tmux: ERROR: $*" >&2; exit 1; }

complete() {
    [ -x "$DEST/root/usr/bin/tmux" ] && [ -e "$DEST/root/lib/ld-linux-aarch64.so.1" ] &&
        [ -d "$DEST/root/usr/lib/locale/C.utf8" ] &&
        [ -s "$DEST/packages" ] && [ -x "$DEST/run-tmux" ]
}

if [ "$REFRESH" = 0 ] && complete; then
    log "cached: $(paste -sd' ' "$DEST/packages")"
    exit 0
fi

# the private apt state (the host's mirror and suite, arm64) of
# scripts/apt-private.sh; its lists are fetched only when the cached ones no
# longer resolve tmux's closure
# shellcheck source=scripts/apt-private.sh
. scripts/apt-private.sh
apt_private tmux || die "no Debian mirror in the host's apt sources"

closure() {
    # real packages only (virtual ones print as <name>)
    apt-cache "${APT_O[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts \
        --no-breaks --no-replaces --no-enhances tmux 2>/dev/null | grep -E '^[a-z0-9]' |
        sed 's/:arm64$//' | sort -u
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmcmo-tmux.XXXXXX")
# + libc-bin for its C.UTF-8 locale: tmux refuses to start without a UTF-8 one
mapfile -t pkgs < <(closure; echo libc-bin)
download() { (cd "$tmp" && apt-get "${APT_O[@]}" -q download "${pkgs[@]/%/:arm64}" >/dev/null 2>&1); }
if [ ${#pkgs[@]} -le 1 ] || ! download; then
    # no lists yet, or stale ones (the mirror moved on): fetch them once
    log "apt-get update (private state, $APT_SUITE arm64)"
    apt_private_update || { cat "$APT_STATE/update.log" >&2; die "apt-get update failed"; }
    mapfile -t pkgs < <(closure; echo libc-bin)
    [ ${#pkgs[@]} -gt 1 ] || die "tmux:arm64 not found in $APT_SUITE"
    download || die "apt-get download ${pkgs[*]} failed"
fi
log "unpacking ${#pkgs[@]} packages: ${pkgs[*]}"
rm -rf "$DEST.new"; mkdir -p "$DEST.new/root"
for deb in "$tmp"/*.deb; do
    dpkg-deb -x "$deb" "$DEST.new/root"
    dpkg-deb -W --showformat='${Package}:arm64=${Version}\n' "$deb" >> "$DEST.new/packages"
done
r=$DEST.new/root
rm -rf "$r/usr/share/doc" "$r/usr/share/man" "$r/usr/share/locale" "$r/usr/share/lintian" \
    "$r/usr/share/info" "$r/usr/share/zoneinfo" "${r:?}/etc" \
    "$r/usr/lib/aarch64-linux-gnu/gconv"      # 20 MB of charset converters tmux never loads
[ -e "$r/lib/ld-linux-aarch64.so.1" ] || die "no arm64 loader in libc6"
[ -d "$r/usr/lib/locale/C.utf8" ] || die "no C.utf8 locale in libc-bin"
# libc-bin's programs are not needed, only the locale
rm -rf "$r/sbin" "$r/usr/sbin" "$r/usr/bin/"{getconf,getent,iconv,ldd,locale,localedef,pldd,tzselect,zdump}
cat > "$DEST.new/run-tmux" <<'WRAP'
#!/bin/sh
# Debian's tmux through its own unpacked loader and libraries (no chroot).
R=$(cd "$(dirname "$0")" && pwd)/root
export LOCPATH=$R/usr/lib/locale LC_ALL=C.UTF-8
exec "$R/lib/ld-linux-aarch64.so.1" \
    --library-path "$R/lib/aarch64-linux-gnu:$R/usr/lib/aarch64-linux-gnu" \
    "$R/usr/bin/tmux" "$@"
WRAP
chmod 755 "$DEST.new/run-tmux"
rm -rf "$DEST"; mv "$DEST.new" "$DEST"
log "done: $(paste -sd' ' "$DEST/packages")"
