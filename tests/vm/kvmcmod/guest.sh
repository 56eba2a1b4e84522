#!/bin/sh
# Guest side of tests/vm/suite-kvmcmod.sh (runs as /payload/run.sh inside the
# emulated arm64 KVM host; one boot per kernel does everything).  It only
# gathers: pages, documents, statuses and exit codes go to /out/, and the
# host judges them (tests/vm/kvmcmod/judge.py).  It fails only when
# something could not run at all.
#
#   A  127.0.0.1:10131 (the default)  --vm-grace 1h --textfile: exact values,
#      scraped by a real Prometheus every second; HTTP and signal checks
#   B  127.0.0.1:10132  --max-vms 2 --per-vm-latency
#   C  127.0.0.1:10133  --vm-grace 2s --attach kprobe: every VM must expire;
#      HTTPS with basic auth (--web.config.file /payload/web.yml); no
#      destroy probe (KVMCMO_NO_PROBE): VMs are found destroyed by reap.c
# The workload: every default case of `kvmcmo selftest --workload-only`,
# then one VM named  a"b\c<newline>d  (hostile to the text format).
#
# kvmcmod.mode=core on the kernel command line (the suite's CI mode, on
# all kernels but one): no Prometheus server (nor its queries), no daemon
# B, no --check, C without TLS and basic auth, no slow clients; everything
# else as in full mode.  (Each daemon and --check loads the BPF programs
# once: under emulation those loads are most of a boot's time.)
cd /payload || exit 1
MODE=full
grep -q 'kvmcmod.mode=core' /proc/cmdline && MODE=core
echo $MODE > /out/mode
mkdir -p /lib && ln -sf /payload/lib/ld-linux-aarch64.so.1 /lib/ld-linux-aarch64.so.1
export LD_LIBRARY_PATH=/payload/lib
ifconfig lo 127.0.0.1 up
echo 1 > /proc/sys/kernel/bpf_stats_enabled
uname -r > /out/uname
uname -v > /out/uname-v         # the preemption model (PREEMPT_LAZY on 7.2)
mark() {      # progress, in /out/timeline and on the console
	echo "$1 $(cut -d' ' -f1 /proc/uptime)" | tee -a /out/timeline
}
# (busybox 1.35 wget -T segfaults: timeout(1) bounds it instead)
W="timeout 60 wget -q"
A=http://127.0.0.1:10131 B=http://127.0.0.1:10132
C=https://alice:s3cret@127.0.0.1:10133      # TLS, basic auth (web.yml)
WC="$W --no-check-certificate"
CFG="--web.config.file /payload/web.yml"
if [ $MODE = core ]; then
	C=http://127.0.0.1:10133 WC=$W CFG=
fi

# raw HTTP (busybox wget only GETs): request text in $1, port $2, reply to $3
raw() {
	printf "$1" | timeout 15 nc 127.0.0.1 "$2" > "$3" 2>/dev/null
	echo $? > "$3.rc"
}

# wait for a line in a file while the process lives ($3 tenths of a second)
wait_line() {
	i=0
	while ! grep -q "$1" "$2" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -gt "$3" ] && return 1
		[ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null && return 1
		sleep 0.1
	done
}

# what is attached, as the core test reads it (fentry and kprobes)
attached() {
	{ cat /sys/kernel/tracing/enabled_functions 2>/dev/null
	  cat /sys/kernel/debug/kprobes/list 2>/dev/null; } |
		grep -E 'kvm_handle_guest_abort|io_mem_abort|kvm_pgtable_stage2_(map|relax_perms|mkyoung)|kvm_inject_(dabt|sea)|kvm_arch_destroy_vm' || true
}

mark start
mkdir -p /tmp/tf /tmp/prom
./kvmcmod --interval 250ms --vm-grace 1h --textfile /tmp/tf/kvmcmo.prom \
	> /out/a.out 2> /out/a.err &
PA=$!
DAEMONS="a $PA"
if [ $MODE = full ]; then
	./kvmcmod --web.listen-address 127.0.0.1:10132 --interval 250ms --vm-grace 1h \
		--max-vms 2 --per-vm-latency > /out/b.out 2> /out/b.err &
	DAEMONS="$DAEMONS b $!"
fi
# C has no destroy probe: every VM's end is found by user/reap.c, as when
# the kernel's recursion guard skips a destroy kprobe.  reap.c reads KVM's
# debugfs, else the VMM's /proc/PID/fd: on 5.10 and 6.12 C runs in a mount
# namespace without debugfs, so each path runs on two kernels
CMD="./kvmcmod --web.listen-address 127.0.0.1:10133 --interval 200ms --vm-grace 2s \
	--attach kprobe $CFG"
case $(uname -r) in
5.10.*|6.12.*)
	KVMCMO_NO_PROBE=kvm_arch_destroy_vm unshare -m sh -c \
		"umount /sys/kernel/debug; ls /sys/kernel/debug/kvm > /out/c-debugfs.txt 2>&1;
		 exec $CMD" > /out/c.out 2> /out/c.err &
	;;
*)
	ls /sys/kernel/debug/kvm > /out/c-debugfs.txt 2>&1
	KVMCMO_NO_PROBE=kvm_arch_destroy_vm $CMD > /out/c.out 2> /out/c.err &
	;;
esac
PC=$!
PP=
if [ $MODE = full ]; then
	./prometheus --config.file=/payload/prometheus.yml --storage.tsdb.path=/tmp/prom \
		--web.listen-address=127.0.0.1:9090 > /out/prom.log 2>&1 &
	PP=$!
fi
DAEMONS="$DAEMONS c $PC"
# a fifth attach, then detach, alongside: --check
PK=
if [ $MODE = full ]; then
	./kvmcmod --check > /out/check.out 2>&1 &
	PK=$!
fi
ok=1
set -- $DAEMONS
while [ $# -gt 0 ]; do
	wait_line listening /out/$1.err 3000 "$2" || { echo "kvmcmod $1 did not start"; ok=0; }
	shift 2
done
mark attached
if [ -n "$PK" ]; then
	wait $PK
	echo $? > /out/check.rc
fi
mark checked
i=0
until [ -z "$PP" ] || $W -O /dev/null http://127.0.0.1:9090/-/ready; do
	i=$((i + 1)); [ $i -gt 300 ] && { echo "prometheus not ready"; break; }
	sleep 1
done
mark prometheus
grep -E '^Cap(Prm|Eff|Bnd)' /proc/$PA/status > /out/caps.txt
cat /proc/sys/kernel/unprivileged_bpf_disabled > /out/unpriv-bpf.txt
[ $ok = 1 ] || { cat /out/*.err; exit 1; }

# ---- the workload ----------------------------------------------------------
$W -O /out/a-before.txt $A/metrics
./kvmcmo selftest --workload-only --truth /out/truth.json > /out/workload.txt 2>&1
echo $? > /out/workload.rc
mark workload
./kvmcmo __run-case rw_write --name 'a"b\c
d' > /out/hostile.json 2> /out/hostile.err
echo $? > /out/hostile.rc
mark hostile
sleep 1                 # one more poll of every daemon (250 ms)

# ---- pages --------------------------------------------------------------------
$W -O /out/a-metrics.txt $A/metrics; echo $? > /out/a-metrics.rc
$W -O /out/a-api.json $A/api/v1/snapshot; echo $? > /out/a-api.rc
[ $MODE = full ] && { $W -O /out/b-metrics.txt $B/metrics; echo $? > /out/b-metrics.rc; }
cp /tmp/tf/kvmcmo.prom /out/a-textfile.prom
# each daemon's BPF programs as the kernel counts them (run_cnt, and from
# 5.12 recursion_misses: runs the kernel skipped because a BPF program or
# a BPF map syscall was already active on that CPU)
set -- $DAEMONS
while [ $# -gt 0 ]; do
	for f in /proc/$2/fd/*; do
		[ "$(readlink "$f")" = anon_inode:bpf-prog ] && cat /proc/$2/fdinfo/${f##*/}
	done > /out/$1-progs.txt 2>/dev/null
	shift 2
done
ls /tmp/tf > /out/textfile-dir.txt
$W -O /out/healthz.txt $A/healthz; echo $? > /out/healthz.rc

# ---- TLS and basic auth (C) ---------------------------------------------------
if [ $MODE = full ]; then
	$WC -O /out/tls-ok.txt $C/healthz 2> /out/tls-ok.err; echo $? > /out/tls-ok.rc
	$WC -O /out/tls-noauth.txt https://127.0.0.1:10133/healthz 2> /out/tls-noauth.err
	echo $? > /out/tls-noauth.rc
	$WC -O /out/tls-badpw.txt https://alice:wrong@127.0.0.1:10133/healthz 2> /out/tls-badpw.err
	echo $? > /out/tls-badpw.rc
	raw 'GET /healthz HTTP/1.0\r\n\r\n' 10133 /out/tls-plain.txt
fi

# ---- HTTP: methods, paths, malformed clients ---------------------------------
raw 'HEAD /metrics HTTP/1.0\r\n\r\n' 10131 /out/http-head.txt
raw 'GET /nope HTTP/1.0\r\n\r\n' 10131 /out/http-404.txt
raw 'POST /metrics HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello' 10131 /out/http-405-post.txt
raw 'BREW /metrics HTTP/1.0\r\n\r\n' 10131 /out/http-405-brew.txt
raw 'GET / HTTP/1.0\r\n\r\n' 10131 /out/http-root.txt
raw 'GET /api/v1/snapshot HTTP/1.0\r\n\r\n' 10131 /out/http-api.txt
raw '\001\002\003 garbage\r\n\r\n' 10131 /out/http-garbage.txt
# a 100 KiB header
big=$(head -c 102400 /dev/zero | tr '\0' a)
raw "GET /metrics HTTP/1.0\r\nX-Big: $big\r\n\r\n" 10131 /out/http-bighdr.txt
# slow clients: 20 connections that send half a request and wait
if [ $MODE = full ]; then
	i=0
	while [ $i -lt 20 ]; do
		{ printf 'GET /metrics HTTP/1.1\r\nHost: x\r\n'; sleep 8; } | timeout 12 nc 127.0.0.1 10131 > /dev/null 2>&1 &
		i=$((i + 1))
	done
	sleep 1
	t0=$(cut -d' ' -f1 /proc/uptime)
	$W -O /out/healthz-slow.txt $A/healthz 2> /out/healthz-slow.err; echo $? > /out/healthz-slow.rc
	echo "$t0 $(cut -d' ' -f1 /proc/uptime)" > /out/healthz-slow.time
	sleep 8
fi
kill -0 $PA 2>/dev/null; echo $? > /out/alive-after-http.rc
$W -O /out/a-metrics-after-http.txt $A/metrics; echo $? > /out/a-metrics-after-http.rc

# ---- Prometheus: the values, and every dashboard query --------------------------
[ $MODE = full ] && sleep 3     # scrapes after the last change
# last_over_time: a scrape that timed out on the busy emulated host leaves
# staleness markers that hide a plain selector until the next good scrape
if [ $MODE = full ]; then
	$W -O /out/prom-aborts.json "http://127.0.0.1:9090/api/v1/query?query=last_over_time(kvmcmo_guest_aborts_total%5B2m%5D)"
	$W -O /out/prom-dabt.json "http://127.0.0.1:9090/api/v1/query?query=last_over_time(kvmcmo_dabt_injections_total%5B2m%5D)"
	$W -O /out/prom-up.json "http://127.0.0.1:9090/api/v1/query?query=sum_over_time(up%5B10m%5D)%20/%20count_over_time(up%5B10m%5D)"
	$W -O /out/prom-targets.json "http://127.0.0.1:9090/api/v1/targets"
	mkdir -p /out/q
	while IFS='	' read -r id fam path; do
		$W -O "/out/q/$id.json" "http://127.0.0.1:9090$path"
		echo $? > "/out/q/$id.rc"
	done < /payload/queries.txt
fi
mark prometheus-queries

# ---- signals -----------------------------------------------------------------------
kill -HUP $PA
sleep 1
kill -0 $PA 2>/dev/null; echo $? > /out/alive-after-hup.rc
$W -O /out/healthz-hup.txt $A/healthz 2> /out/healthz-hup.err; echo $? > /out/healthz-hup.rc
# C: every VM must expire (grace 2 s), and its rows leave the kernel maps
# at the poll after (kvmcmo_forget_vm)
i=0
while :; do
	$WC -O /out/c-metrics.txt $C/metrics
	grep -q '^kvmcmo_vms{state="destroyed"} 0$' /out/c-metrics.txt &&
		grep -q '^kvmcmo_vms{state="alive"} 0$' /out/c-metrics.txt &&
		grep -q '^kvmcmo_kernel_map_rows{map="aborts"} 0$' /out/c-metrics.txt && break
	i=$((i + 1)); [ $i -gt 60 ] && break
	sleep 0.5
done
mark grace
attached > /out/attached-during.txt
set -- $DAEMONS
while [ $# -gt 0 ]; do
	kill -TERM $2
	wait $2
	echo $? > /out/$1.rc
	shift 2
done
if [ -n "$PP" ]; then
	kill $PP 2>/dev/null
	wait $PP 2>/dev/null
fi
i=0
while [ $i -lt 30 ]; do
	attached > /out/attached-after.txt
	[ -s /out/attached-after.txt ] || break
	i=$((i + 1))
	sleep 0.1
done
mark end
exit 0
