#!/usr/bin/env bash
# Smoke test of the emulated arm64 KVM rig: boot each kernel and check that
# KVM came up (/dev/kvm, dmesg), that BTF is exported, and which kvmcmo attach
# points exist in /proc/kallsyms.
#
#   tests/vm/smoke.sh [-j N] [--timeout SECS] [SERIES...]   (default: 5.10 6.1 6.12 7.2)
#
# Kernels come from scripts/fetch-kernels.sh, busybox from
# scripts/fetch-arm64-deps.sh (both cached).  Results (console logs, kallsyms
# excerpts) go to ${KVMCMO_SMOKE_OUT:-a mktemp dir}.  Exit 0 only if every
# kernel passed.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
JOBS=1 TIMEOUT=600 SERIES=()
while [ $# -gt 0 ]; do
    case $1 in
        -j) JOBS=${2:?}; shift 2 ;;
        --timeout) TIMEOUT=${2:?}; shift 2 ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) SERIES+=("$1"); shift ;;
    esac
done
[ ${#SERIES[@]} -gt 0 ] || SERIES=(5.10 6.1 6.12 7.2)
RES=${KVMCMO_SMOKE_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/kvmcmo-smoke.XXXXXX")}
mkdir -p "$RES"

PAY=$RES/payload
mkdir -p "$PAY"
cat > "$RES/run.sh" <<'EOF'
# smoke payload (runs in the guest as /payload/run.sh)
fail=0
miss() { echo "SMOKE-MISSING: $*"; fail=1; }
echo "uname -r: $(uname -r)"
mkdir -p /out
uname -r > /out/uname
[ -c /dev/kvm ] && ls -l /dev/kvm || miss /dev/kvm
[ -r /sys/kernel/btf/vmlinux ] && ls -l /sys/kernel/btf/vmlinux || miss /sys/kernel/btf/vmlinux
dmesg | grep -i kvm > /out/dmesg-kvm.txt
cat /out/dmesg-kvm.txt
grep -qiE 'kvm.*(VHE|Hyp|nVHE).*initiali[sz]ed successfully' /out/dmesg-kvm.txt || miss "KVM init message in dmesg"
for d in /sys/kernel/tracing /sys/kernel/debug /sys/fs/bpf; do
    grep -q " $d " /proc/mounts || miss "mount $d"
done
grep -E 'kvm_handle_guest_abort|user_mem_abort|kvm_inject_dabt|kvm_inject_sea|io_mem_abort|gfn_to_memslot|kvm_pgtable_stage2_(map|relax_perms|mkyoung)$' \
    /proc/kallsyms > /out/kallsyms.txt
cat /out/kallsyms.txt
has() { grep -qE " [tT] $1\$" /out/kallsyms.txt; }
for f in kvm_handle_guest_abort io_mem_abort gfn_to_memslot \
         kvm_pgtable_stage2_map kvm_pgtable_stage2_relax_perms kvm_pgtable_stage2_mkyoung; do
    has "$f" || miss "symbol $f"
done
has kvm_inject_dabt || has kvm_inject_sea || miss "symbol kvm_inject_dabt or kvm_inject_sea"
has user_mem_abort && echo "user_mem_abort: present" || echo "user_mem_abort: inlined (not in kallsyms)"
[ -s /out/kallsyms.txt ] || miss "kallsyms output"
echo "smoke: $([ $fail = 0 ] && echo PASS || echo FAIL)"
exit $fail
EOF

one() { # SERIES
    local s=$1 t0 t1 rc
    t0=$(date +%s.%N)
    "$HERE/boot.sh" --kernel "$s" --payload "$PAY" --run "$RES/run.sh" --timeout "$TIMEOUT" \
        --log "$RES/$s.console.log" --out "$RES/$s.out" >"$RES/$s.txt" 2>&1
    rc=$?
    t1=$(date +%s.%N)
    echo "$rc $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')" > "$RES/$s.rc"
}

running=0
for s in "${SERIES[@]}"; do
    one "$s" &
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then wait -n; running=$((running - 1)); fi
done
wait

fail=0
for s in "${SERIES[@]}"; do
    read -r rc secs < "$RES/$s.rc"
    ver=$(cat "${KVMCMO_CACHE:-$HOME/.cache/kvmcmo}/kernels/$s/version" 2>/dev/null)
    uname=$(cat "$RES/$s.out/uname" 2>/dev/null || echo '?')
    syms=$(awk '{print $3}' "$RES/$s.out/kallsyms.txt" 2>/dev/null | sort -u | paste -sd' ')
    if [ "$rc" = 0 ]; then st=PASS; else st="FAIL(rc=$rc)"; fail=1; fi
    echo "== $s: $st  ${secs}s  uname=$uname  pkg=$ver"
    echo "   symbols: ${syms:-none}"
    grep -h 'SMOKE-MISSING\|VHE\|initialized successfully' "$RES/$s.txt" | sed 's/^/   /'
    [ "$rc" = 0 ] || tail -n 30 "$RES/$s.txt" | sed 's/^/   | /'
done
echo "smoke: results in $RES"
n=${#SERIES[@]}; nf=$(for s in "${SERIES[@]}"; do read -r rc _ < "$RES/$s.rc"; [ "$rc" = 0 ] || echo x; done | wc -l)
echo "smoke: $((n - nf)) passed, $nf failed"
exit $fail
