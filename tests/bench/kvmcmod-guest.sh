#!/bin/sh
# Guest side of tests/bench/kvmcmod-bench.sh: 200 VMs, then render time,
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

# NVMS VMs, one VMM process each (as with QEMU), four at a time; each is
# destroyed when its case ends and stays on the page (grace 1 h): the
# page, the maps and the model hold exactly what 200 live VMs would
say "kvmcmod up, starting $NVMS VMs"
echo "vms-start $(up)" > /out/timeline
n=0
while [ $n -lt "$NVMS" ]; do
	for j in 1 2 3 4; do
		[ $n -lt "$NVMS" ] || break
		./kvmcmo __run-case rw_read --name "vm$n" > /dev/null 2>&1 &
		n=$((n + 1))
	done
	wait
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

# load: 100 connections for 30 s; /healthz timed meanwhile
say "idle done, wrk"
$W -O /out/load-before.txt $M/metrics
./wrk -t 2 -c 100 -d 30s --latency $M/metrics > /out/wrk.txt 2>&1 &
PW=$!
sleep 2
: > /out/healthz-times.txt
i=0
while kill -0 $PW 2>/dev/null && [ $i -lt 100 ]; do
	t0=$(up)
	$W -O /dev/null $M/healthz; r=$?
	echo "$t0 $(up) $r" >> /out/healthz-times.txt
	sleep 0.5
	i=$((i + 1))
done
wait $PW
echo $? > /out/wrk.rc
$W -O /out/load-after.txt $M/metrics
kill -0 $PD; echo $? > /out/alive.rc
grep -E '^Vm(RSS|HWM)' /proc/$PD/status > /out/rss.txt
kill -TERM $PD
wait $PD
echo $? > /out/d.rc
exit 0
