# In-guest payload for tests/vm/workload/trace-check.sh (runs as /payload/run.sh).
# Runs every workload case alone with plain ftrace on: the kvm_guest_fault
# tracepoint (one line per stage-2 abort, with its ESR) and kprobe events on
# the functions that decide the outcome.  No BPF: an independent look at
# what KVM did, to check the workload's truth against.
mkdir -p /out
uname -r > /out/uname
T=/sys/kernel/tracing
[ -d $T/events ] || T=/sys/kernel/debug/tracing
K=/payload/kvmcmo
echo 0 > $T/tracing_on
kp() { echo "$1" >> $T/kprobe_events 2>/dev/null || echo "no kprobe: $1"; }
# arm64 calling convention: x0.. are the arguments
kp 'p:wl/s2map kvm_pgtable_stage2_map addr=%x1 size=%x2 prot=%x4'
kp 'p:wl/relax kvm_pgtable_stage2_relax_perms addr=%x1 prot=%x2'
kp 'p:wl/mkyoung kvm_pgtable_stage2_mkyoung addr=%x1'
kp 'p:wl/iomem io_mem_abort ipa=%x1'
kp 'p:wl/injdabt kvm_inject_dabt addr=%x1'
kp 'p:wl/injsea kvm_inject_sea iabt=%x1 addr=%x2'
echo 1 > $T/events/wl/enable
echo 1 > $T/events/kvm/kvm_guest_fault/enable
echo 8192 > $T/buffer_size_kb
fail=0
for c in $($K selftest --list) ; do
    [ "$c" = bench ] && continue
    echo > $T/trace
    echo 1 > $T/tracing_on
    $K selftest --workload-only -c $c --truth /out/$c.json > /out/$c.log 2>&1 || fail=1
    echo 0 > $T/tracing_on
    cat $T/trace > /out/$c.trace
done
echo "workload rc=$fail"
exit $fail
