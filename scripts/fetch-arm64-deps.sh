#!/usr/bin/env bash
# Fetch the arm64 libraries needed to link fully static arm64 kvmcmo binaries,
# and a static arm64 busybox for the test initramfs.
#
#   scripts/fetch-arm64-deps.sh [--refresh]
#
# Uses a PRIVATE apt state (own sources list, lists, cache, empty dpkg status,
# arch arm64) on the machine's own suite (bookworm, + -updates, -security):
# the host's apt configuration and dpkg architectures are not touched, and
# nothing is installed (apt-get download + dpkg-deb -x only; installing
# busybox-static:arm64 would replace the host busybox).
# Output in ${KVMCMO_CACHE:-$HOME/.cache/kvmcmo}:
#   sysroot-arm64/          usr/include, usr/lib/aarch64-linux-gnu/*.a ...
#   busybox-arm64           static arm64 busybox
# Prints the CFLAGS/LDFLAGS to use and checks them by linking a static test
# program with aarch64-linux-gnu-gcc.
set -euo pipefail

CACHE=${KVMCMO_CACHE:-$HOME/.cache/kvmcmo}
SYSROOT=$CACHE/sysroot-arm64
BUSYBOX=$CACHE/busybox-arm64
REFRESH=0
[ "${1:-}" = --refresh ] && REFRESH=1
PKGS=(libbpf-dev libbpf1 libelf-dev libelf1 zlib1g-dev zlib1g libzstd-dev libzstd1 libjansson-dev libjansson4 libgsl-dev libgsl27 libgslcblas0 libmicrohttpd-dev libmicrohttpd12 libgnutls30 libp11-kit0 libidn2-0 libunistring2 libtasn1-6 libnettle8 libhogweed6 libgmp10 libffi8 libyaml-dev libyaml-0-2 libcrypt-dev libcrypt1 libncurses-dev ncurses-base libevent-dev busybox-static)
LIBS=(libbpf.a libelf.a libz.a libzstd.a libjansson.a libgsl.a libgslcblas.a libmicrohttpd.so libyaml.so libcrypt.a libncursesw.a libtinfo.a libevent_core.a libevent_extra.a)
LIBDIR=$SYSROOT/usr/lib/aarch64-linux-gnu
tmp="" tmp2=""
trap 'rm -rf ${tmp:+"$tmp"} ${tmp2:+"$tmp2"}' EXIT

log() { echo "fetch-arm64-deps: $*" >&2; }
die() { echo "fetch-arm64-deps: ERROR: $*" >&2; exit 1; }

complete() {
    local l
    [ -x "$BUSYBOX" ] && [ -s "$SYSROOT/.packages" ] || return 1
    for l in "${LIBS[@]}"; do [ -s "$LIBDIR/$l" ] || return 1; done
}

# shellcheck source=apt-private.sh
. "$(dirname "${BASH_SOURCE[0]}")/apt-private.sh"

fetch() {
    # the mirror from the host's apt sources, the host's own suite
    apt_private deps || die "no private apt state"
    log "apt-get update (private state, $APT_SUITE arm64)"
    apt_private_update || { cat "$APT_STATE/update.log" >&2; die "apt-get update failed"; }
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmcmo-deps.XXXXXX")
    log "apt-get download ${PKGS[*]/%/:arm64}"
    (cd "$tmp" && apt-get "${APT_O[@]}" -q download "${PKGS[@]/%/:arm64}" >/dev/null) || die "apt-get download failed"
    rm -rf "$SYSROOT.new"; mkdir -p "$SYSROOT.new"
    local deb
    for deb in "$tmp"/*.deb; do
        case $(basename "$deb") in
            busybox-static_*)
                mkdir -p "$tmp/bb"; dpkg-deb -x "$deb" "$tmp/bb"
                install -m 0755 "$tmp/bb/bin/busybox" "$BUSYBOX.new"
                mv "$BUSYBOX.new" "$BUSYBOX" ;;
            *) dpkg-deb -x "$deb" "$SYSROOT.new" ;;
        esac
        dpkg-deb -W --showformat='${Package}:arm64=${Version}\n' "$deb" >> "$SYSROOT.new/.packages"
    done
    rm -rf "$SYSROOT"; mv "$SYSROOT.new" "$SYSROOT"
}

if [ "$REFRESH" = 1 ] || ! complete; then
    fetch
fi
for l in "${LIBS[@]}"; do [ -s "$LIBDIR/$l" ] || die "missing $LIBDIR/$l"; done
file -b "$BUSYBOX" 2>/dev/null | grep -q 'ARM aarch64.*statically linked' ||
    { command -v file >/dev/null && die "$BUSYBOX is not a static aarch64 binary"; }
log "packages: $(paste -sd" " "$SYSROOT/.packages")"

CFLAGS_HINT="-I$SYSROOT/usr/include"
LDFLAGS_HINT="-static -L$LIBDIR"
LIBS_HINT="-lbpf -lelf -lz -lzstd -ljansson"

# Check: a static arm64 program using libbpf and jansson links.
tmp2=$(mktemp -d "${TMPDIR:-/tmp}/kvmcmo-deps-cc.XXXXXX")
cat > "$tmp2/t.c" <<'EOF'
#include <stdio.h>
#include <bpf/libbpf.h>
#include <jansson.h>
int main(void)
{
	json_t *o = json_object();
	json_object_set_new(o, "libbpf", json_integer(libbpf_major_version()));
	char *s = json_dumps(o, 0);
	puts(s);
	return 0;
}
EOF
if ! aarch64-linux-gnu-gcc $CFLAGS_HINT -O2 -o "$tmp2/t" "$tmp2/t.c" $LDFLAGS_HINT $LIBS_HINT 2>"$tmp2/err"; then
    cat "$tmp2/err" >&2
    die "static arm64 link test failed"
fi
if command -v file >/dev/null; then log "link test: $(file -b "$tmp2/t" | cut -d, -f1-4)"; fi
if command -v qemu-aarch64-static >/dev/null; then log "link test runs: $(qemu-aarch64-static "$tmp2/t")"; fi
echo "SYSROOT=$SYSROOT BUSYBOX=$BUSYBOX"
echo "CC=aarch64-linux-gnu-gcc CFLAGS=\"$CFLAGS_HINT\" LDFLAGS=\"$LDFLAGS_HINT\" LIBS=\"$LIBS_HINT\" (pkg-config: PKG_CONFIG_SYSROOT_DIR=$SYSROOT PKG_CONFIG_LIBDIR=$LIBDIR/pkgconfig:$SYSROOT/usr/share/pkgconfig pkg-config --static --cflags --libs libbpf jansson, then add -lzstd: libelf.pc omits it)"
