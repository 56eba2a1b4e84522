#!/usr/bin/env bash
# kvmcmotop's command-line contract on the build host (not arm64): help,
# one-line usage errors with exit 2, one-line runtime failures with exit 1,
# exit 3 where the probes cannot load, and the man page.
#
#   tests/vm/kvmcmotop/cli.sh BINARY       (e.g. .output/x86/kvmcmotop)
#
# Last line: "cli: N passed, N failed".
set -u
cd "$(dirname "$0")/../../.."
BIN=${1:?usage: cli.sh BINARY}
passed=0 failed=0
tmp=$(mktemp -d)
srv=""
trap '[ -n "$srv" ] && kill $srv 2>/dev/null; rm -rf "$tmp"' EXIT

check() {       # check NAME CONDITION-RESULT DETAIL
	if [ "$2" = 0 ]; then
		echo "ok   cli $1"
		passed=$((passed + 1))
	else
		echo "FAIL cli $1: $3"
		failed=$((failed + 1))
	fi
}

# expect NAME RC PATTERN ARGS...: exit status RC and exactly one stderr line
# matching PATTERN (stdin not a terminal, stdout a file)
expect() {
	local name=$1 rc=$2 pat=$3 got lines
	shift 3
	"$BIN" "$@" < /dev/null > "$tmp/out" 2> "$tmp/err"
	got=$?
	lines=$(wc -l < "$tmp/err")
	[ "$got" = "$rc" ] && [ "$lines" = 1 ] && grep -qE -- "$pat" "$tmp/err"
	check "$name" $? "exit $got (want $rc), stderr: $(head -c 300 "$tmp/err")"
}

"$BIN" --help > "$tmp/help" 2>&1
check "--help exits 0" $? "exit status"
grep -q '^USAGE: kvmcmotop' "$tmp/help" && grep -q '^EXAMPLES:' "$tmp/help"
check "--help has USAGE and EXAMPLES" $? "$(head -5 "$tmp/help")"
awk 'length > 80 { bad = 1 } END { exit bad }' "$tmp/help"
check "--help fits 80 columns" $? "a line is wider"

expect "bad kind" 2 "invalid kind 'nope'" -b -k nope
expect "zero delay" 2 "invalid delay '0'" -b -d 0
expect "bad delay" 2 "invalid delay '1s'" -b -d 1s
expect "zero iterations" 2 "invalid iteration count '0'" -b -n 0
expect "bad sort column" 2 "invalid sort column 'FOO'" -b -s FOO
expect "bad regex" 2 "bad regular expression" -b -f '('
expect "bad pid" 2 "invalid PID 'x'" -b -p x
expect "json and csv" 2 "-j and -c exclude each other" -j -c
expect "stray argument" 2 "unexpected argument 'extra'" -b extra
expect "unknown option" 2 "unrecognized option" -b --bogus
expect "bad attach mode" 2 "invalid attach mode 'ebpf'" -b --attach ebpf
expect "https remote" 2 "https is not supported" -b --remote https://h:1
expect "bad remote port" 2 "bad port" -b --remote http://h:0
expect "screen without a terminal" 1 "not a terminal: use -b" -t
expect "probes on a non-arm64 host" 3 "needs an arm64 host" -b -n 1
expect "remote nobody answers" 1 "no answer from http://127.0.0.1:9/api/v1/snapshot" \
	-b -n 1 --remote http://127.0.0.1:9

# an HTTP server that is not kvmcmod: 404 (python's static file server)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$tmp/www/api/v1"
echo '{"not": "a snapshot"}' > "$tmp/www/api/v1/snapshot"
python3 -m http.server --bind 127.0.0.1 --directory "$tmp/www" "$port" > /dev/null 2>&1 &
srv=$!
for _ in $(seq 50); do
	python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break
	sleep 0.1
done
expect "remote 404" 1 "HTTP 404" -b -n 1 --remote "http://127.0.0.1:$port/nothing"
expect "remote not a snapshot" 1 "no \"vms\" array: not a kvmcmo snapshot" -b -n 1 \
	--remote "http://127.0.0.1:$port/api/v1/snapshot"

# a kvmcmod running here is found and named, with the URL its arguments
# give: a stand-in process whose name (comm) is kvmcmod (a shell script
# of that name); on this host the probes then fail as before (exit 3)
fake_kvmcmod() {        # fake_kvmcmod ARGS...: start it, $fake its pid
	mkdir -p "$tmp/fake"
	printf '#!/bin/sh\nsleep 30\n' > "$tmp/fake/kvmcmod"
	chmod +x "$tmp/fake/kvmcmod"
	"$tmp/fake/kvmcmod" "$@" &
	fake=$!
	for _ in $(seq 50); do
		[ "$(cat /proc/$fake/comm 2>/dev/null)" = kvmcmod ] && break
		sleep 0.1
	done
}
if ! grep -qx kvmcmod /proc/[0-9]*/comm 2>/dev/null; then
	for c in "127.0.0.1:10199|--web.listen-address 127.0.0.1:10199|counts on this host: --remote http://127.0.0.1:10199 reads it without loading the probes twice" \
		 ":10200|--web.listen-address=:10200|counts on this host: --remote http://127.0.0.1:10200 reads it without loading the probes twice" \
		 "default port|-i 1s|counts on this host: --remote http://127.0.0.1:10131 reads it without loading the probes twice" \
		 "TLS|--web.config.file /etc/kvmcmod/web.yml|counts here too, behind TLS or basic auth: not readable here"; do
		IFS='|' read -r name args want <<< "$c"
		fake_kvmcmod $args
		"$BIN" -b -n 1 < /dev/null > "$tmp/out" 2> "$tmp/err"
		got=$?
		kill $fake 2>/dev/null
		wait $fake 2>/dev/null
		[ "$got" = 3 ] && [ "$(wc -l < "$tmp/err")" = 2 ] &&
			[ "$(head -1 "$tmp/err")" = "kvmcmotop: kvmcmod (pid $fake) $want" ] &&
			grep -q "needs an arm64 host" "$tmp/err"
		check "a local kvmcmod is named ($name)" $? "exit $got, stderr: $(head -c 300 "$tmp/err")"
	done
else
	echo "(a kvmcmod runs on this host: the detection checks are skipped)"
fi

# the man page: no groff warnings, every option of --help documented
man=man/kvmcmotop.8
warn=$(groff -man -Tutf8 -ww -z "$man" 2>&1)
check "man page renders without warnings" "$([ -f "$man" ] && [ -z "$warn" ]; echo $?)" "$warn"
missing=""
for o in $(grep -oE -- '--[a-z][a-z-]+' "$tmp/help" | sort -u); do
	[ "$o" = --help ] || [ "$o" = --usage ] && continue
	grep -q -- "$(echo "$o" | sed 's/-/\\\\-/g')" "$man" || missing="$missing $o"
done
check "man page documents every long option" "$([ -z "$missing" ]; echo $?)" "missing:$missing"

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
