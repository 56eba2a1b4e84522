#!/usr/bin/env bash
# Fetch Debian arm64 kernels for the emulated KVM rig.
#
#   scripts/fetch-kernels.sh [--refresh] [SERIES...]     (default: 5.10 6.1 6.12 7.2)
#
# For each series, resolves the newest Debian arm64 kernel package of that
# series through a PRIVATE apt state (own sources list, lists, cache, empty
# dpkg status, arch arm64): the host's apt configuration and dpkg
# architectures are never touched.  Output, per series, in
# ${KVMCMO_CACHE:-$HOME/.cache/kvmcmo}/kernels/<series>/:
#   Image      uncompressed arm64 Image (the package's vmlinuz; magic checked)
#   version    "<package> <version>"
#   btf        raw BTF cut out of Image
#   vmlinux.h  bpftool btf dump file btf format c
#   config     the package's /boot/config-*
# A series whose five files all exist is not looked up again (no network I/O)
# unless --refresh is given.  The mirror URI is read at run time from
# /etc/apt/sources.list.d/debian.sources (or /etc/apt/sources.list).
set -euo pipefail

CACHE=${KVMCMO_CACHE:-$HOME/.cache/kvmcmo}
KDIR=$CACHE/kernels
APTROOT=$CACHE/apt
REFRESH=0
SERIES=()
for a in "$@"; do
    case $a in
        --refresh) REFRESH=1 ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *) SERIES+=("$a") ;;
    esac
done
[ ${#SERIES[@]} -gt 0 ] || SERIES=(5.10 6.1 6.12 7.2)

log() { echo "fetch-kernels: $*" >&2; }
die() { echo "fetch-kernels: ERROR: $*" >&2; exit 1; }

have_all() {
    local d=$KDIR/$1 f
    for f in Image version btf vmlinux.h config; do [ -s "$d/$f" ] || return 1; done
}

# ---------------------------------------------------------------- mirror URIs
# shellcheck source=apt-private.sh
. "$(dirname "${BASH_SOURCE[0]}")/apt-private.sh"
mirror_uris() { apt_mirror_uris || die "no Debian mirror URI in the host's apt sources"; }

# Does URI/dists/SUITE exist on the mirror?  (apt's own downloader, no curl.)
suite_exists() {
    local tmp; tmp=$(mktemp -d)
    if /usr/lib/apt/apt-helper download-file "$1/dists/$2/InRelease" "$tmp/InRelease" >/dev/null 2>&1; then
        rm -rf "$tmp"; return 0
    fi
    rm -rf "$tmp"; return 1
}

# ------------------------------------------------------------ private apt
# Keyring used as Signed-By.  The host's keyring is tried first; if apt
# reports a missing key, Debian's current debian-archive-keyring package is
# downloaded through a private state that verifies with the host keyring
# (sid is also signed by the older release keys), unpacked with dpkg-deb -x
# and used instead.  Signature verification is never switched off.
# KVMCMO_HOST_KEYRING overrides the host keyring; KVMCMO_FETCH_KEYRING=1
# uses Debian's current keyring package from the start.
HOST_KEYRING=${KVMCMO_HOST_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
KEYRING=$HOST_KEYRING

apt_opts() { # STATE_DIR
    local s=$1
    echo "-o Dir::Etc::sourcelist=$s/sources.list -o Dir::Etc::sourceparts=- \
-o Dir::State::Lists=$s/lists -o Dir::Cache=$s/cache -o Dir::State::status=$s/status \
-o Dir::Etc::preferences=$s/preferences -o Dir::Etc::preferencesparts=$s/preferences.d \
-o APT::Sandbox::User=root \
-o APT::Architecture=arm64 -o APT::Architectures::=arm64 \
-o Acquire::Languages=none -o Debug::NoLocking=1 -o APT::Get::List-Cleanup=0 \
-o Acquire::Retries=3 $EXTRA_APT_OPTS"
}
EXTRA_APT_OPTS=""

# make_state NAME "URI SUITE" ...   -> prints state dir
make_state() {
    local name=$1; shift
    local s=$APTROOT/$name
    mkdir -p "$s/lists/partial" "$s/cache/archives/partial" "$s/preferences.d"
    : > "$s/status"; : > "$s/preferences"
    : > "$s/sources.list.new"
    local l
    for l in "$@"; do
        echo "deb [arch=arm64 signed-by=$KEYRING] $l main" >> "$s/sources.list.new"
    done
    mv "$s/sources.list.new" "$s/sources.list"
    echo "$s"
}

apt_update() { # STATE_DIR
    local s=$1 out
    # shellcheck disable=SC2046
    out=$(apt-get $(apt_opts "$s") -q update 2>&1) && ! grep -qE '^(W|E): .*(NO_PUBKEY|not signed|expired|EXPKEYSIG)' <<<"$out" && return 0
    if grep -q 'is expired' <<<"$out"; then
        # The mirror is a frozen snapshot: sid's Release carries a one-week
        # Valid-Until that has passed.  Only the freshness check is relaxed;
        # signatures are still verified.
        log "note: $(grep -o '[^ ]*Release file for [^ ]* is expired[^)]*' <<<"$out" | head -1); ignoring Valid-Until for this state"
        EXTRA_APT_OPTS="$EXTRA_APT_OPTS -o Acquire::Check-Valid-Until=false"
        # shellcheck disable=SC2046
        out=$(apt-get $(apt_opts "$s") -q update 2>&1) && ! grep -qE '^(W|E): .*(NO_PUBKEY|not signed|EXPKEYSIG)' <<<"$out" && return 0
    fi
    if grep -qE 'NO_PUBKEY|not signed|EXPKEYSIG' <<<"$out" && [ "$KEYRING" = "$HOST_KEYRING" ]; then
        log "host keyring cannot verify ($(grep -oE 'NO_PUBKEY [0-9A-F]+|EXPKEYSIG [0-9A-F]+' <<<"$out" | head -1)); fetching Debian's newer debian-archive-keyring"
        newer_keyring
        sed -i "s#signed-by=[^] ]*#signed-by=$KEYRING#" "$s/sources.list"
        # shellcheck disable=SC2046
        out=$(apt-get $(apt_opts "$s") -q update 2>&1) && ! grep -qE '^(W|E): .*(NO_PUBKEY|not signed|EXPKEYSIG)' <<<"$out" && return 0
    fi
    echo "$out" >&2
    return 1
}

newer_keyring() {
    local kr=$CACHE/keyring
    if [ ! -s "$kr/usr/share/keyrings/debian-archive-keyring.gpg" ] || [ "$REFRESH" = 1 ]; then
        local s suite tmp
        # Any suite the host keyring verifies will do; the newest first.
        for suite in sid trixie bookworm; do
            suite_exists "$MAIN" "$suite" || continue
            s=$(KEYRING=$HOST_KEYRING make_state keyring-$suite "$MAIN $suite")
            # shellcheck disable=SC2046
            apt-get $(apt_opts "$s") -q update >/dev/null 2>&1 || continue
            tmp=$(mktemp -d)
            # shellcheck disable=SC2046
            if (cd "$tmp" && apt-get $(apt_opts "$s") -q download debian-archive-keyring >/dev/null 2>&1); then
                rm -rf "$kr"; mkdir -p "$kr"
                dpkg-deb -x "$tmp"/debian-archive-keyring_*.deb "$kr"
                rm -rf "$tmp"
                break
            fi
            rm -rf "$tmp"
        done
    fi
    [ -s "$kr/usr/share/keyrings/debian-archive-keyring.gpg" ] || die "could not obtain a debian-archive-keyring that verifies the mirror"
    KEYRING=$kr/usr/share/keyrings/debian-archive-keyring.gpg
}

apt_q() { local s=$1; shift; # shellcheck disable=SC2046
    apt-get $(apt_opts "$s") -q "$@"; }
apt_cache() { local s=$1; shift; # shellcheck disable=SC2046
    apt-cache $(apt_opts "$s") "$@"; }

# -------------------------------------------------------------- per series
# Prints the suites (with URI) to search for a series.
series_sources() {
    local cand=() c uri suite
    case $1 in
        5.10) cand=("$MAIN bullseye" "$SEC bullseye-security" "$MAIN bullseye-security") ;;
        6.1)  cand=("$MAIN bookworm" "$MAIN bookworm-updates" "$SEC bookworm-security") ;;
        6.12) cand=("$MAIN trixie" "$MAIN trixie-updates" "$SEC trixie-security") ;;
        7.2)  cand=("$MAIN sid") ;;
        *)    die "unknown series $1 (known: 5.10 6.1 6.12 7.2)" ;;
    esac
    for c in "${cand[@]}"; do
        read -r uri suite <<<"$c"
        if suite_exists "$uri" "$suite"; then echo "$c"; else log "series $1: $uri has no $suite (skipped)"; fi
    done
}

# Candidate package names for a series, best first.
series_packages() { # STATE SERIES
    local s=$1 ser=$2 re
    # Plain arm64 flavour only: not -rt-arm64 (no KVM) nor -arm64-16k.
    # Old naming: linux-image-6.1.0-56-arm64-unsigned; new (trixie on):
    # linux-image-6.12.117+deb13-arm64-unsigned.
    local e=${ser//./\\.}
    re="^linux-image-$e\\.[0-9][^ -]*(-[0-9]+)?-arm64-unsigned\$"
    # 7.2 in sid: the image package is a meta/signed wrapper; the vmlinuz
    # lives in linux-binary-<ver>-arm64 (see KERNELS.md).  Consider both.
    if [ "$ser" = 7.2 ] || [[ $ser == [7-9].* ]]; then
        re="^(linux-image-$e\\.[0-9][^ -]*(-[0-9]+)?-arm64-unsigned|linux-binary-$e\\.[0-9][^ -]*(-[0-9]+)?-arm64)\$"
    fi
    apt_cache "$s" pkgnames linux- 2>/dev/null | grep -E "$re" || true
}

# All "pkg version" pairs of the candidates, newest first (Debian order).
rank_candidates() { # STATE pkgs...
    local s=$1; shift
    local p v out=()
    for p in "$@"; do
        for v in $(apt_cache "$s" show "$p:arm64" 2>/dev/null | awk '/^Version:/{print $2}'); do
            out+=("$p $v")
        done
    done
    [ ${#out[@]} -gt 0 ] || return 0
    printf '%s\n' "${out[@]}" | python3 -c '
import sys, subprocess, functools
rows = [l.split() for l in sys.stdin if l.strip()]
def cmp(a, b):
    if a[1] == b[1]: return 0
    return -1 if subprocess.call(["dpkg", "--compare-versions", a[1], "gt", b[1]]) == 0 else 1
for r in sorted(rows, key=functools.cmp_to_key(cmp)): print(*r)'
}

check_image() {
    python3 - "$1" <<'EOF'
import sys
with open(sys.argv[1], 'rb') as f:
    h = f.read(64)
sys.exit(0 if len(h) == 64 and h[56:60] == b'ARM\x64' else 1)
EOF
}

# Cut raw BTF out of an arm64 Image.  Prints the size.
cut_btf() { # IMAGE OUT
    python3 - "$1" "$2" <<'EOF'
import struct, sys
data = open(sys.argv[1], 'rb').read()
magic = bytes.fromhex('9feb010018000000')
best = None
pos = data.find(magic)
while pos >= 0:
    try:
        _, _, _, hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from('<HBBIIIII', data, pos)
        total = hdr_len + max(type_off + type_len, str_off + str_len)
        if (hdr_len == 24 and type_off == 0 and str_off == type_len and type_len > 0
                and str_len > 0 and pos + total <= len(data)
                and data[pos + hdr_len + str_off] == 0 and data[pos + total - 1] == 0
                and (best is None or total > best[1])):
            best = (pos, total)
    except struct.error:
        pass
    pos = data.find(magic, pos + 1)
if best is None:
    sys.exit('no BTF header found in ' + sys.argv[1])
open(sys.argv[2], 'wb').write(data[best[0]:best[0] + best[1]])
print('%d bytes at offset 0x%x' % (best[1], best[0]))
EOF
}

fetch_series() {
    local ser=$1 d=$KDIR/$1
    if [ "$REFRESH" = 0 ] && have_all "$ser"; then
        echo "$ser: $(cat "$d/version") (cached)"
        return 0
    fi
    [ -n "${MAIN:-}" ] || read -r MAIN SEC < <(mirror_uris)
    if [ "${KVMCMO_FETCH_KEYRING:-0}" = 1 ] && [ "$KEYRING" = "$HOST_KEYRING" ]; then
        newer_keyring; log "using $KEYRING"
    fi
    local srcs=() l
    while IFS= read -r l; do srcs+=("$l"); done < <(series_sources "$ser")
    if [ ${#srcs[@]} -eq 0 ]; then
        echo "$ser: FAILED: no suite for this series is served by the mirror $MAIN" >&2
        return 1
    fi
    local s
    s=$(make_state "k$ser" "${srcs[@]}")
    if ! apt_update "$s"; then
        echo "$ser: FAILED: apt-get update on ${srcs[*]} failed" >&2
        return 1
    fi
    local pkgs cands pkg ver c got=""
    mapfile -t pkgs < <(series_packages "$s" "$ser")
    mapfile -t cands < <(rank_candidates "$s" "${pkgs[@]}")
    if [ ${#cands[@]} -eq 0 ]; then
        echo "$ser: FAILED: no arm64 kernel package of series $ser in ${srcs[*]}" >&2
        return 1
    fi
    local tmp; tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmcmo-fk.XXXXXX")
    TMPS+=("$tmp")
    # Newest first; the mirror may list a build whose .deb is gone (seen:
    # bullseye-security index naming a 404 pool file), so fall back.
    for c in "${cands[@]}"; do
        read -r pkg ver <<<"$c"
        log "$ser: downloading $pkg $ver"
        if (cd "$tmp" && apt_q "$s" download "$pkg:arm64=$ver" >/dev/null 2>"$tmp/err"); then
            got=1; break
        fi
        log "$ser: $pkg $ver: $(grep -m1 -E '^E:' "$tmp/err" || tail -1 "$tmp/err"); trying an older one"
    done
    if [ -z "$got" ]; then
        echo "$ser: FAILED: none of ${#cands[@]} candidate packages could be downloaded" >&2
        return 1
    fi
    mkdir -p "$tmp/x"
    dpkg-deb -x "$tmp"/*.deb "$tmp/x"
    # Layouts: /boot/vmlinuz-V + /boot/config-V (up to trixie);
    # /usr/lib/modules/V/vmlinuz in linux-binary-V with the config in
    # linux-base-V (sid, 7.x).
    local vmlinuz config base
    vmlinuz=$(find "$tmp/x/boot" "$tmp/x/usr/lib/modules" -maxdepth 2 \( -name 'vmlinuz-*' -o -name vmlinuz \) -type f 2>/dev/null | head -1)
    config=$(find "$tmp/x/boot" "$tmp/x/usr/lib/modules" -maxdepth 2 \( -name 'config-*' -o -name config \) -type f 2>/dev/null | head -1)
    if [ -z "$vmlinuz" ]; then
        echo "$ser: FAILED: $pkg $ver holds no vmlinuz" >&2
        return 1
    fi
    if [ -z "$config" ]; then
        base=$(apt_cache "$s" show "$pkg:arm64=$ver" 2>/dev/null | sed -n 's/^Depends:.*\(linux-base-[^ ,]*\) (= \([^)]*\)).*/\1 \2/p' | head -1)
        if [ -n "$base" ]; then
            read -r bpkg bver <<<"$base"
            log "$ser: config from $bpkg $bver"
            mkdir -p "$tmp/b"
            (cd "$tmp/b" && apt_q "$s" download "$bpkg:arm64=$bver" >/dev/null 2>&1) &&
                dpkg-deb --fsys-tarfile "$tmp"/b/*.deb | tar -x -C "$tmp/b" --wildcards './usr/lib/modules/*/config' './boot/config-*' 2>/dev/null || true
            config=$(find "$tmp/b" -type f \( -name config -o -name 'config-*' \) | head -1)
        fi
    fi
    [ -n "$config" ] || { echo "$ser: FAILED: no kernel config found for $pkg $ver" >&2; return 1; }
    check_image "$vmlinuz" || { echo "$ser: FAILED: $vmlinuz is not an uncompressed arm64 Image (no ARM\\x64 magic at 56)" >&2; return 1; }
    rm -rf "$d.new"; mkdir -p "$d.new"
    cp "$vmlinuz" "$d.new/Image"
    cp "$config" "$d.new/config"
    echo "$pkg $ver" > "$d.new/version"
    local btfinfo
    btfinfo=$(cut_btf "$d.new/Image" "$d.new/btf") || { echo "$ser: FAILED: no BTF in $pkg's Image" >&2; return 1; }
    log "$ser: BTF $btfinfo"
    bpftool btf dump file "$d.new/btf" format c > "$d.new/vmlinux.h" && [ -s "$d.new/vmlinux.h" ] ||
        { echo "$ser: FAILED: bpftool btf dump of the cut BTF failed" >&2; return 1; }
    grep -q '^CONFIG_KVM=y' "$d.new/config" || log "$ser: WARNING: $pkg has no CONFIG_KVM=y"
    grep -q '^struct kvm_vcpu {' "$d.new/vmlinux.h" || log "$ser: WARNING: no struct kvm_vcpu in vmlinux.h"
    rm -rf "$d"; mv "$d.new" "$d"
    echo "$ser: $pkg $ver ($(sed -n 's/^# Linux\/arm64 \([^ ]*\) Kernel Configuration/\1/p' "$d/config" | head -1))"
}

TMPS=()
cleanup() { local t; for t in "${TMPS[@]}"; do rm -rf "$t"; done; }
trap cleanup EXIT
mkdir -p "$KDIR"
rc=0
for ser in "${SERIES[@]}"; do
    fetch_series "$ser" || rc=1
done
exit $rc
