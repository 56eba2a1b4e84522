#!/bin/sh
# Guest side of the real-VMM test (runs inside the emulated arm64 KVM host as
# /payload/run.sh; tests/vm/suite-realvmm.sh boots it).  With `kvmcmo stat
# --json` attached, Debian's arm64 qemu-system-aarch64 boots Debian's AAVMF
# from two pflash banks under KVM (-M virt -enable-kvm -cpu host) to the UEFI
# shell, and the shell is told `reset -s`, so QEMU exits cleanly and flushes
# its own trace.  Everything goes to /out for the host's judge
# (tests/vm/realvmm/judge.py); this script fails only when something could
# not run at all.
#
# Three records of the same boot, written by three parties:
#   stat.json        kvmcmo's per-region counts (what is under test), and
#   stat.txt         the same from a second kvmcmo, as tables
#   qemu-trace.gz    QEMU's own -trace log: pflash_* (the ground truth for
#                    flash accesses, each naming its bank) and
#                    kvm_set_user_memory (the memslots QEMU adds and removes
#                    as the banks go in and out of ROM mode)
#   kvm-trace.gz     the kernel's kvm:kvm_mmio and kvm:kvm_guest_fault
#                    tracepoints for the flash window: the size of every
#                    MMIO exit there (which tells how many QEMU split) and
#                    every abort there, whatever its outcome
cd /payload || exit 1
R=/payload/root
K=./kvmcmo
Q=$R/qemu-system-aarch64
T=/sys/kernel/tracing
SHELL_WAIT=${REALVMM_SHELL_WAIT:-600}    # seconds to the UEFI shell prompt

step() { echo "$(cut -d' ' -f1 /proc/uptime) $*" >> /out/steps; }
step "start"
uname -r > /out/uname
cp $R/PACKAGES /out/PACKAGES
# Debian's binary as it is: its loader where PT_INTERP says, libraries beside
mkdir -p /lib
ln -sf $R/lib/ld-linux-aarch64.so.1 /lib/ld-linux-aarch64.so.1
export LD_LIBRARY_PATH=$R/lib
# the code bank is opened read-only; the variable store must be writable
cp $R/share/AAVMF_VARS.fd /tmp/vars.fd || exit 1

# QEMU's own trace: every pflash event, and the memslots it gives KVM
# (kvm_set_user_memory: in Debian's arm64 build, which has KVM)
ev="pflash_* kvm_set_user_memory"
echo "$ev" > /out/trace-events
targs=""
for e in $ev; do targs="$targs -trace $e"; done

# kvm:kvm_mmio and kvm:kvm_guest_fault for the two banks only (IPA 0 ..
# 128 MiB); one clock for both CPUs' buffers, so the merge keeps the order
echo 32768 > $T/buffer_size_kb
echo global > $T/trace_clock
echo 'gpa < 0x8000000' > $T/events/kvm/kvm_mmio/filter
echo 'ipa < 0x8000000' > $T/events/kvm/kvm_guest_fault/filter
echo > $T/trace
echo 1 > $T/events/kvm/kvm_mmio/enable
echo 1 > $T/events/kvm/kvm_guest_fault/enable

# Two kvmcmo, attached at once (attaching is slow under emulation): one
# for the judge (JSON), one for the region table as people read it.
$K stat --json ${KVMCMO_ATTACH:+--attach $KVMCMO_ATTACH} > /out/stat.json 2> /out/stat.err &
kpid=$!
$K stat ${KVMCMO_ATTACH:+--attach $KVMCMO_ATTACH} > /out/stat.txt 2> /out/stat-txt.err &
tpid=$!
step "two kvmcmo stat started"
# until both say their probes are attached (guest seconds, not loop turns)
deadline=$(( $(cut -d. -f1 /proc/uptime) + 900 ))
for f in stat stat-txt; do
	while ! grep -q "Tracing guest aborts" /out/$f.err 2>/dev/null; do
		if [ "$(cut -d. -f1 /proc/uptime)" -ge $deadline ] ||
		   ! kill -0 $kpid 2>/dev/null || ! kill -0 $tpid 2>/dev/null; then
			echo "realvmm: kvmcmo stat did not attach:"; cat /out/stat.err /out/stat-txt.err
			exit 1
		fi
		sleep 0.2
	done
done
step "both kvmcmo attached"

# The VM: one vCPU (the judge relies on one vCPU: the bank's ROM/IO mode
# and the exits that see it are then strictly ordered), no devices but the
# PL011 console; its serial port is our stdin/stdout.
mkfifo /tmp/con.in
start=$(cut -d' ' -f1 /proc/uptime)
# shellcheck disable=SC2086
$Q -name uefi -M virt -enable-kvm -cpu host -smp 1 -m 512 \
	-nodefaults -display none -monitor none -serial stdio \
	-drive if=pflash,format=raw,readonly=on,file=$R/share/AAVMF_CODE.fd \
	-drive if=pflash,format=raw,file=/tmp/vars.fd \
	$targs -D /tmp/qemu.trace \
	< /tmp/con.in > /out/console.txt 2> /out/qemu.err &
qpid=$!
exec 3> /tmp/con.in

i=0 shell=0
while kill -0 $qpid 2>/dev/null; do
	if grep -q 'Shell>' /out/console.txt 2>/dev/null; then
		shell=1
		break
	fi
	i=$((i + 1))
	[ $i -gt $((SHELL_WAIT * 2)) ] && break
	sleep 0.5
done
shell_at=$(cut -d' ' -f1 /proc/uptime)
echo "$shell" > /out/shell
step "shell=$shell"
if [ "$shell" = 1 ]; then
	sleep 1
	printf 'reset -s\r' >&3
fi
# QEMU exits on the guest's PSCI SYSTEM_OFF; SIGTERM is a clean exit too
i=0
while kill -0 $qpid 2>/dev/null; do
	i=$((i + 1))
	if [ $i -eq 120 ]; then
		echo "realvmm: QEMU still running 60 s after 'reset -s': SIGTERM"
		echo sigterm > /out/qemu.end
		kill -TERM $qpid
	fi
	[ $i -gt 240 ] && { kill -KILL $qpid; break; }
	sleep 0.5
done
wait $qpid
echo $? > /out/qemu.rc
exec 3>&-
end=$(cut -d' ' -f1 /proc/uptime)
echo "start $start shell $shell_at end $end" > /out/times

kill -INT $kpid $tpid
wait $kpid
echo $? > /out/stat.rc
wait $tpid
echo $? > /out/stat-txt.rc
echo 0 > $T/events/kvm/kvm_mmio/enable
echo 0 > $T/events/kvm/kvm_guest_fault/enable
cat $T/per_cpu/cpu*/stats > /out/trace-stats 2>/dev/null
grep -v '^#' $T/trace | gzip -c > /out/kvm-trace.gz
gzip -c /tmp/qemu.trace > /out/qemu-trace.gz
echo "realvmm: shell=$shell qemu rc=$(cat /out/qemu.rc) stat rc=$(cat /out/stat.rc)" \
	"boot ${start}s..${shell_at}s (guest clock), qemu trace $(wc -l < /tmp/qemu.trace) lines"
exit 0
