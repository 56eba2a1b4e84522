#!/usr/bin/env bash
# Install everything the kvmcmo build and the emulated arm64 KVM rig need on a
# fresh Debian bookworm x86-64 machine.  Non-interactive and idempotent: when
# every package is already installed it does nothing (no network I/O).
#
#   scripts/install-build-deps.sh
#
# The arm64 libraries and busybox are NOT installed here (they would clash
# with the host's): scripts/fetch-arm64-deps.sh unpacks them into a cache.
set -euo pipefail

PKGS=(
    # BPF build
    clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev libzstd-dev libjansson-dev
    make gcc libc6-dev pkg-config
    # static arm64 cross build
    gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu
    # the rig: qemu-system-aarch64, initramfs, scripts
    qemu-system-arm cpio gzip python3 file
    # fetch scripts (apt, dpkg, tar, gpgv are part of every Debian system)
    xz-utils debian-archive-keyring
    # kvmcmo diff: p-values (GSL), the HTML report's screenshot test, the
    # record-file fuzzer (clang's libFuzzer runtime)
    libgsl-dev chromium libclang-rt-dev
    # kvmcmotop: its screen (ncurses) and its --remote HTTP client (libevent)
    libncurses-dev libevent-dev
    # kvmcmod: its HTTP server, its --web.config.file (YAML, crypt(3) hashes)
    libmicrohttpd-dev libyaml-dev libcrypt-dev
    # its VM suite: a throwaway TLS certificate
    openssl
)

missing=()
for p in "${PKGS[@]}"; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$st" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-build-deps: all ${#PKGS[@]} packages already installed"
    exit 0
fi

SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
echo "install-build-deps: installing ${missing[*]}"
$SUDO apt-get update -q
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${PKGS[@]}"
