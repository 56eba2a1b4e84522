#!/usr/bin/env bash
# kvmcmo record and diff, end to end (issue 5).  In an emulated arm64 KVM
# host (Debian 6.12, fentry; one recording forced to kprobe): the workload
# recorded unchanged 7 times and changed twice (KVMCMO_WL_NO_NISV=1: its NISV
# aborts become errors), command and window modes, exit statuses
# (tests/vm/record/guest.sh).  On the host (tests/vm/record/check.py): every
# sample equals the workload truth exactly; the 21 pairs of unchanged
# recordings diff clean; unchanged vs changed flags exactly the two moved
# rows and exits 1; --fail-on; bad input; the HTML report screenshotted by
# headless Chromium.  Then the CLI contract of record/diff on this host and
# the fuzzer's committed corpus (tests/fuzz/run.sh).
#
#   tests/vm/suite-record.sh [--kernel SERIES] [--keep DIR]
#
# Last line: "N passed, N failed".  About 5 minutes on an idle 2-core host.
set -u
cd "$(dirname "$0")/../.."
kernel=6.12 keep=""
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=$2; shift 2 ;;
	--keep) keep=$2; shift 2 ;;
	*) echo "suite-record.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
work=$(mktemp -d /tmp/kvmcmo-suite-record.XXXXXX)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}
tally() {       # add the last "N passed, N failed" of a file
	local line
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
	if [ -z "$line" ]; then fail "$2: no summary"; return; fi
	passed=$((passed + ${line%% passed*}))
	line=${line#*passed, }
	failed=$((failed + ${line%% failed*}))
}

scripts/fetch-kernels.sh "$kernel" >&2 && scripts/fetch-arm64-deps.sh >&2 ||
	{ fail "fetch kernel $kernel / arm64 deps"; finish; }
make -s .output/x86/kvmcmo >&2 && make -s ARCH=arm64 STATIC=1 .output/arm64-static/kvmcmo >&2 ||
	{ fail "build kvmcmo (x86 and static arm64)"; finish; }
host=.output/x86/kvmcmo

# ---- the CLI contract of record and diff, on this host
expect() {      # expect RC ARGS...: exactly one line on stderr, nothing on stdout
	local rc=$1 got nerr nout
	shift
	"$host" "$@" > "$work/o" 2> "$work/e" < /dev/null
	got=$?
	nerr=$(wc -l < "$work/e") nout=$(wc -c < "$work/o")
	if [ "$got" = "$rc" ] && [ "$nerr" = 1 ] && [ "$nout" = 0 ]; then
		ok "kvmcmo $* -> $rc: $(cat "$work/e")"
	else
		fail "kvmcmo $* -> exit $got (want $rc), $nerr stderr lines, $nout stdout bytes: $(head -3 "$work/e")"
	fi
}
expect 2 record
expect 2 record -d 1
expect 2 record -o "$work/r.json"
expect 2 record -o "$work/r.json" -d 1 -- true
expect 2 record -o "$work/r.json" -d 0
expect 2 record -o "$work/r.json" -r 0 -- true
expect 2 record -o "$work/r.json" -i 0.001 -d 1
expect 2 record -o "$work/r.json" --
expect 2 record -o "$work/r.json" true
expect 2 record -o "$work/r.json" --attach magic -d 1
expect 3 record -o "$work/r.json" -d 1
[ ! -e "$work/r.json" ] && ok "record on an unsupported host leaves no file" ||
	fail "record on an unsupported host left $work/r.json"
expect 2 diff
expect 2 diff a.json
expect 2 diff a.json b.json c.json
expect 2 diff a.json --
expect 2 diff --alpha 2 a.json b.json
expect 2 diff --per minute a.json b.json
expect 2 diff --fail-on bogus a.json b.json
expect 2 diff --fail-on 'access_flag:>0' a.json b.json
expect 2 diff a.json b.json
for c in record diff; do
	if "$host" $c --help > "$work/o" 2>&1 && grep -q "EXAMPLES" "$work/o"; then
		ok "kvmcmo $c --help"
	else
		fail "kvmcmo $c --help"
	fi
done

# ---- the guest
mkdir -p "$work/payload" "$work/out"
cp .output/arm64-static/kvmcmo "$work/payload/"
tests/vm/boot.sh --kernel "$kernel" --payload "$work/payload" --run tests/vm/record/guest.sh \
	--timeout 1500 --out "$work/out" --log "$work/console.log" > "$work/boot.txt" 2>&1
rc=$?
grep -m1 '^boot.sh: kernel' "$work/boot.txt" | sed 's/^boot.sh: /== /'
if [ $rc -ne 0 ]; then
	fail "guest on $kernel did not finish (boot.sh exit $rc)"
	tail -20 "$work/boot.txt"
	echo "-- last lines of the guest console:"
	tail -30 "$work/console.log" 2>/dev/null
else
	ok "guest on $kernel: $(tail -1 "$work/boot.txt" | sed 's/^boot.sh: //')"
	mkdir -p "$work/html"
	tests/vm/record/check.py "$work/out" "$host" --html-dir "$work/html" > "$work/check.txt" 2>&1
	cat "$work/check.txt"
	tally "$work/check.txt" check.py
fi
if [ -n "$keep" ]; then
	mkdir -p "$keep" && cp -r "$work/out" "$work/html" "$work/console.log" "$work/boot.txt" \
		"$keep/" 2>/dev/null
fi

# ---- the fuzzer's committed corpus
tests/fuzz/run.sh > "$work/fuzz.txt" 2>&1
cat "$work/fuzz.txt" | tail -5
tally "$work/fuzz.txt" tests/fuzz/run.sh
finish
