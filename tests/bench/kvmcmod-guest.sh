#!/bin/sh
# Guest side of tests/bench/kvmcmod-bench.sh: 200 live VMs, then render time,
# CPU per poll, RSS, and a 30 s wrk load at 100 connections.  Writes
# /out/*; the host turns them into numbers.
cd /payload || exit 1
mkdir -p /lib && ln -sf /payload/lib/ld-linux-aarch64.so.1 /lib/ld-linux-aarch64.so.1
export LD_LIBRARY_PATH=/payload/lib
ifconfig lo 127.0.0.1 up
NVMS=${NVMS:-200}
W="timeout 60 wget -q"
M=http://127.0.0.1:10131
up() { cut -d' ' -f1 /proc/uptime; }
say() { echo "[$(up)] $*"; }          # progress on the console

./kvmcmod -v --interval 1s --vm-grace 1h > /out/d.out 2> /out/d.err &
PD=$!
i=0
while ! grep -q listening /out/d.err; do
	i=$((i + 1)); [ $i -gt 3000 ] && { echo "kvmcmod did not start"; exit 1; }
	sleep 0.1
done

# NVMS VMs alive at once in one process (tests/bench/kvmcmod-vms.c): each
# has run its guest and stays until its stdin closes
say "kvmcmod up, starting $NVMS VMs"
echo "vms-start $(up)" > /out/timeline
mkfifo /tmp/hold
./kvmcmod-vms "$NVMS" < /tmp/hold > /out/vms.out 2> /out/vms.err &
PV=$!
exec 3> /tmp/hold               # the VMs live while fd 3 is open
i=0
while ! grep -q '^ready' /out/vms.out; do
	i=$((i + 1))
	if [ $i -gt 12000 ] || ! kill -0 $PV 2>/dev/null; then
		echo "kvmcmod-vms did not get ready"; cat /out/vms.err; exit 1
	fi
	sleep 0.1
done
echo "vms-end $(up)" >> /out/timeline
say "VMs done"
sleep 3
$W -O /out/page.txt $M/metrics

# render: one render per poll; scrape once per poll for 30 polls
i=0
while [ $i -lt 30 ]; do
	$W -O /dev/null $M/metrics
	sleep 1
	i=$((i + 1))
done
# CPU per poll: 30 s without scrapes
say "render done"
$W -O /out/idle-before.txt $M/metrics
sleep 30
$W -O /out/idle-after.txt $M/metrics
echo "idle-end $(up)" >> /out/timeline

# time /healthz every 0.5 s into $1 ("start end rc" lines), at most $2
# times, while the process $3 (if any) lives
time_healthz() {
	: > "$1"
	i=0
	while [ $i -lt "$2" ] && { [ -z "${3:-}" ] || kill -0 "$3" 2>/dev/null; }; do
		t0=$(up)
		$W -O /dev/null $M/healthz 2>> "$1.err"; r=$?
		echo "$t0 $(up) $r" >> "$1"
		sleep 0.5
		i=$((i + 1))
	done
}

# /healthz without load: what one wget costs here (process start included)
time_healthz /out/healthz-idle.txt 10
# and from one open connection (wrk times each request itself: no process
# start in the figure)
./wrk -t 1 -c 1 -d 5s --latency $M/healthz > /out/wrk-healthz-idle.txt 2>&1

# load: 100 connections for 30 s; /healthz timed meanwhile.  wrk gives a
# request up after 2 s by default; under emulation a 0.5 MB page to each
# of 100 clients takes longer than that, so its patience is 30 s here and
# its latency distribution tells the rest
say "idle done, wrk"
$W -O /out/load-before.txt $M/metrics
./wrk -t 2 -c 100 -d 30s --timeout 30s --latency $M/metrics > /out/wrk.txt 2>&1 &
PW=$!
sleep 2
./wrk -t 1 -c 1 -d 26s --timeout 30s --latency $M/healthz > /out/wrk-healthz.txt 2>&1 &
PH=$!
time_healthz /out/healthz-times.txt 100 $PW
wait $PH
wait $PW
echo $? > /out/wrk.rc
$W -O /out/load-after.txt $M/metrics
kill -0 $PD; echo $? > /out/alive.rc
kill -0 $PV; echo $? > /out/vms-alive.rc
grep -E '^Vm(RSS|HWM)' /proc/$PD/status > /out/rss.txt
exec 3>&-                      # the VMs go
wait $PV
echo $? > /out/vms.rc
kill -TERM $PD
wait $PD
echo $? > /out/d.rc
exit 0
