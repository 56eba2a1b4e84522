#!/usr/bin/env bash
# The real-VMM proof (issue 7): inside the emulated arm64 KVM host, Debian's
# arm64 qemu-system-aarch64 boots Debian's AAVMF from two pflash banks under
# KVM to the UEFI shell while kvmcmo is attached; kvmcmo's per-region counts
# must match QEMU's own `-trace pflash_*` exactly, after accounting for the
# accesses QEMU splits (tests/vm/realvmm/judge.py explains the relation and
# replays the run exit by exit).
#
#   tests/vm/suite-realvmm.sh [SERIES...]   (default: 6.12 6.1, i.e. one
#                                            fentry and one kprobe kernel)
#   tests/vm/suite-realvmm.sh --rejudge DIR [SERIES...]
#                                           judge the runs a KVMCMO_KEEP=DIR
#                                           run kept (DIR/SERIES/out), no boot
#
# The two boots run in parallel (3 GiB each).  The VMM's tree is assembled
# once by tests/vm/realvmm/rootfs.sh and cached under ~/.cache/kvmcmo.
# KVMCMO_KEEP=DIR keeps each run's files (traces, stat output, console);
# REALVMM_TIMEOUT=S changes the per-boot limit (1200 s; one boot alone took
# 160 s here, both at once on a machine running a dozen other emulated
# hosts took 730 s).
# Last line: "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
rejudge=""
if [ "${1:-}" = --rejudge ]; then
	rejudge=${2:?--rejudge DIR}
	shift 2
fi
kernels=${*:-6.12 6.1}
work=$(mktemp -d /tmp/kvmcmo-realvmm.XXXXXX)
trap 'rm -rf "$work"' EXIT
bail() { echo "realvmm: $*"; echo "0 passed, 1 failed"; exit 1; }

run_one() {
	local k=$1
	mkdir -p "$work/$k"
	tests/vm/boot.sh --kernel "$k" --payload "$work/payload" --run tests/vm/realvmm/guest.sh \
		--mem 3072 --timeout "${REALVMM_TIMEOUT:-1200}" --out "$work/$k/out" --log "$work/$k/console.log" \
		> "$work/$k/boot.txt" 2>&1
	echo $? > "$work/$k/boot.rc"
}

if [ -n "$rejudge" ]; then
	for k in $kernels; do
		mkdir -p "$work/$k"
		cp -r "$rejudge/$k/out" "$work/$k/out" || bail "no $rejudge/$k/out"
		cp "$rejudge/$k/boot.txt" "$work/$k/boot.txt" 2>/dev/null || : > "$work/$k/boot.txt"
		echo 0 > "$work/$k/boot.rc"
	done
else
	# shellcheck disable=SC2086
	scripts/fetch-kernels.sh $kernels >&2 || bail "fetching kernels failed"
	scripts/fetch-arm64-deps.sh >&2 || bail "fetching arm64 libraries failed"
	make -s ARCH=arm64 STATIC=1 >&2 || bail "static arm64 build failed"
	root=$(tests/vm/realvmm/rootfs.sh) || bail "assembling the VMM tree failed"
	mkdir -p "$work/payload"
	cp .output/arm64-static/kvmcmo "$work/payload/"
	cp -al "$root" "$work/payload/root" 2>/dev/null || cp -a "$root" "$work/payload/root"
	for k in $kernels; do
		run_one "$k" &
	done
	wait
fi

passed=0 failed=0
tally() {
	local line
	line=$(tail -1 "$1")
	passed=$((passed + $(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\1/')))
	failed=$((failed + $(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\2/')))
}
for k in $kernels; do
	echo "== kernel $k: $(grep -m1 '^boot.sh: kernel' "$work/$k/boot.txt" | sed 's/^boot.sh: kernel //')"
	grep '^realvmm:' "$work/$k/boot.txt"
	if [ "$(cat "$work/$k/boot.rc")" != 0 ]; then
		echo "FAIL $k guest did not finish (boot.sh exit $(cat "$work/$k/boot.rc"))"
		tail -20 "$work/$k/boot.txt"
		failed=$((failed + 1))
		continue
	fi
	tests/vm/realvmm/judge.py "$work/$k/out" "$k" --table "$work/$k/table.txt" > "$work/$k/result.txt"
	cat "$work/$k/result.txt"
	tally "$work/$k/result.txt"

	# The judge must be able to fail: one exit more in a flash window
	# (abort table included), one exit moved from a memslot to a window.
	for t in add move; do
		mkdir -p "$work/$k/tamper-$t"
		cp -a "$work/$k/out/." "$work/$k/tamper-$t/"
		python3 - "$work/$k/tamper-$t/stat.json" "$t" <<-'EOF'
		import json, sys
		p, how = sys.argv[1], sys.argv[2]
		d = json.loads(open(p).read().strip().splitlines()[-1])
		rows = d['vms'][0]['regions']
		if how == 'add':
		    r = next(r for r in rows if r['slot'] < 0 and r['base'] < 0x8000000 and r['outcome'] == 'mmio_user')
		    r['count'] += 1
		    # and in the abort table too, so only the reconciliation can see it
		    a = next(a for a in d['vms'][0]['aborts'] if a['kind'] == r['kind']
		             and a['memslot'] == 'none' and a['outcome'] == 'mmio_user')
		    a['count'] += 1
		else:
		    r = next(r for r in rows if r['slot'] >= 0 and r['base'] < 0x8000000 and r['outcome'] == 'mmio_user')
		    r['count'] -= 1
		    rows.append(dict(r, region='0x%08x' % r['base'], slot=-1, size=65536, count=1))
		open(p, 'w').write(json.dumps(d) + '\n')
		EOF
		if tests/vm/realvmm/judge.py "$work/$k/tamper-$t" "$k-tampered" > "$work/$k/tamper-$t.txt"; then
			echo "FAIL $k the judge passed a tampered stat.json ($t)"
			failed=$((failed + 1))
		else
			echo "ok   $k the judge fails a tampered stat.json ($t): $(grep -m1 '^FAIL' "$work/$k/tamper-$t.txt" | cut -c1-100)"
			passed=$((passed + 1))
		fi
	done
	if [ -n "${KVMCMO_KEEP:-}" ]; then
		mkdir -p "$KVMCMO_KEEP/$k" && cp -r "$work/$k/." "$KVMCMO_KEEP/$k/"
	fi
done
# the bar: one fentry and one kprobe kernel (the default pair)
if [ -z "${*:-}" ]; then
	modes=$(sed -n 's/^ok   attach mode: \([a-z]*\) .*/\1/p' "$work"/*/result.txt 2>/dev/null | sort -u | paste -sd' ')
	if [ "$modes" = "fentry kprobe" ]; then
		echo "ok   attach modes covered: $modes"
		passed=$((passed + 1))
	else
		echo "FAIL attach modes covered: '$modes', want fentry and kprobe"
		failed=$((failed + 1))
	fi
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
