#!/usr/bin/env bash
# Copy dynamic arm64 executables into a test payload with everything they
# load: the loader and each shared library of their NEEDED closure, found
# in the arm64 sysroot (scripts/fetch-arm64-deps.sh) or the cross
# toolchain's glibc.  In the guest:
#     mkdir -p /lib && ln -s /payload/lib/ld-linux-aarch64.so.1 /lib/
#     export LD_LIBRARY_PATH=/payload/lib
#
#   tests/vm/kvmcmod/payload.sh DEST EXECUTABLE... [-- EXTRA_LIBDIR...]
#
# Executables go to DEST/, libraries to DEST/lib/.  Exit 1 with one line
# when a library cannot be found.
set -euo pipefail
CACHE=${KVMCMO_CACHE:-$HOME/.cache/kvmcmo}
DEST=${1:?usage: payload.sh DEST EXECUTABLE...}
shift
exes=() dirs=("$CACHE/sysroot-arm64/usr/lib/aarch64-linux-gnu" "$CACHE/sysroot-arm64/lib/aarch64-linux-gnu"
              /usr/aarch64-linux-gnu/lib)
while [ $# -gt 0 ]; do
    if [ "$1" = -- ]; then shift; dirs=("$@" "${dirs[@]}"); break; fi
    exes+=("$1"); shift
done
mkdir -p "$DEST/lib"
READELF=aarch64-linux-gnu-readelf
needed() { "$READELF" -d "$1" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
find_lib() {
    local d
    for d in "${dirs[@]}"; do
        [ -e "$d/$1" ] && { readlink -f "$d/$1"; return 0; }
    done
    return 1
}
queue=()
for e in "${exes[@]}"; do
    cp "$e" "$DEST/"
    queue+=("$e")
done
# every dynamic executable needs the loader
ld=$(find_lib ld-linux-aarch64.so.1) || { echo "payload.sh: no ld-linux-aarch64.so.1" >&2; exit 1; }
cp "$ld" "$DEST/lib/ld-linux-aarch64.so.1"
while [ ${#queue[@]} -gt 0 ]; do
    f=${queue[0]}; queue=("${queue[@]:1}")
    for n in $(needed "$f"); do
        [ -e "$DEST/lib/$n" ] && continue
        p=$(find_lib "$n") || { echo "payload.sh: $n (needed by $(basename "$f")) not found in ${dirs[*]}" >&2; exit 1; }
        cp "$p" "$DEST/lib/$n"
        queue+=("$p")
    done
done
