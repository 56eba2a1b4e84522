#!/bin/sh
# Guest side of tests/bench/kvmcmotop-bench.sh --emulated (runs inside the
# emulated arm64 KVM host as /payload/run.sh).
#
#  1. kvmcmod (-i 1s, destroyed VMs kept an hour) and kvmcmotop on an 80x24
#     tmux screen, both counting from the start
#  2. the workload six times: 6 x 37 throwaway VMs, all kept by both
#  3. two kvmcmod documents, after the fifth and after the sixth run
#     (prev.json, cur.json: the native benchmark's input)
#  4. ./bench (tests/bench/kvmcmotop-bench.c) on them, here (emulated arm64)
#  5. the kvmcmotop screen at -d 0.2 for BENCH_MINUTES (default 10): its CPU
#     time and VmRSS every 30 s from /proc
cd /payload || exit 1
K=./kvmcmo
T=./tmux/run-tmux
export TERMINFO=/payload/terminfo TERM=screen
MIN=$(cat bench-minutes 2>/dev/null || echo 10)
up() { cut -d' ' -f1 /proc/uptime; }
log() { echo "[$(up)] $*"; echo "[$(up)] $*" >> /out/log.txt; }
uname -r > /out/uname
# loopback: kvmcmod listens there (wget reads its documents); the init leaves it down
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up

mkdir -p /lib && ln -sf /payload/lib/ld-linux-aarch64.so.1 /lib/
LD_LIBRARY_PATH=/payload/lib ./kvmcmod -i 1s --vm-grace 1h > /dev/null 2> /out/kd.err &
KD=$!
$T new-session -d -s b -x 80 -y 24
$T send-keys -t =b: "./kvmcmotop -d 1 2> /out/top.err" Enter
i=0
while [ $i -lt 3000 ]; do
	grep -q "listening on" /out/kd.err 2>/dev/null &&
		$T capture-pane -p -t =b: | grep -q 'local probes' && break
	i=$((i + 1))
	sleep 0.2
done
log "kvmcmod and kvmcmotop up"
for r in 1 2 3 4 5 6; do
	$K selftest --workload-only > /out/workload-$r.txt 2>&1
	echo "run $r rc $?" >> /out/workload.rc
	sleep 2
	[ $r = 5 ] && wget -q -O /out/prev.json http://127.0.0.1:10131/api/v1/snapshot
done
sleep 2
wget -q -O /out/cur.json http://127.0.0.1:10131/api/v1/snapshot
log "workload runs done"

./bench /out/prev.json /out/cur.json 60 > /out/bench-emulated.txt 2>&1
log "bench done"

pid=""
for p in $(pidof kvmcmotop); do
	[ "$(cat /proc/$p/comm)" = kvmcmotop ] && pid=$p
done
$T send-keys -t =b: s
$T send-keys -t =b: -l 0.2
$T send-keys -t =b: Enter
sleep 2
$T capture-pane -p -t =b: > /out/screen.txt
hz=100
t=0
while [ $t -le $((MIN * 60)) ]; do
	set -- $(cut -d' ' -f14,15 /proc/$pid/stat)
	echo "t=$t cpu_ticks=$(($1 + $2)) hz=$hz $(grep VmRSS /proc/$pid/status | tr -s ' \t' ' ')" >> /out/screen-rss.txt
	sleep 30
	t=$((t + 30))
done
$T capture-pane -p -t =b: > /out/screen-end.txt
$T send-keys -t =b: q
sleep 2
$T kill-server
kill -TERM $KD
wait $KD
gzip /out/prev.json /out/cur.json
log "done"
exit 0
