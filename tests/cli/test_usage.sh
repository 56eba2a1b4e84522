#!/usr/bin/env bash
# CLI contract on the build host: every misuse prints exactly one line on
# stderr, nothing on stdout, and exits 2; on a host that cannot run kvmcmo
# (this x86-64 build machine) the commands that need KVM print one line and
# exit 3; --help and --version exit 0.
#
#   tests/cli/test_usage.sh KVMCMO_BINARY
set -u
bin=$1
passed=0 failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

expect() {      # expect RC LINES_ON_STDERR ARGS...
	local rc=$1 lines=$2 got nerr nout
	shift 2
	"$bin" "$@" > "$tmp/out" 2> "$tmp/err" < /dev/null
	got=$?
	nerr=$(wc -l < "$tmp/err")
	nout=$(wc -c < "$tmp/out")
	if [ "$got" = "$rc" ] && { [ "$lines" = any ] || [ "$nerr" = "$lines" ]; } &&
	   { [ "$rc" = 0 ] || [ "$nout" = 0 ]; }; then
		passed=$((passed + 1))
		echo "ok   kvmcmo $* -> $rc"
	else
		failed=$((failed + 1))
		echo "FAIL kvmcmo $* -> exit $got (want $rc), $nerr stderr lines (want $lines), $nout stdout bytes"
		sed 's/^/     | /' "$tmp/err"
	fi
}

expect 2 1
expect 2 1 bogus
expect 2 1 stat --bogus
expect 2 1 stat -x
expect 2 1 stat -p
expect 2 1 stat -p abc
expect 2 1 stat -p 0
expect 2 1 stat -p -5
expect 2 1 stat 0
expect 2 1 stat 1 0
expect 2 1 stat 1 2 3
expect 2 1 stat abc
expect 2 1 stat --attach magic
expect 2 1 stat 99999999999999999999
expect 2 1 check extra
expect 2 1 check --attach nope
expect 2 1 selftest --cmo-model maybe
expect 2 1 selftest -c no_such_case
expect 2 1 selftest --bench-pages 0
expect 2 1 selftest --bench-pages 99999999
expect 2 1 selftest positional
expect 0 0 --help
expect 0 0 --version
expect 0 0 stat --help
expect 0 0 check --help
expect 0 0 selftest --help
expect 0 0 selftest --list

if [ "$(uname -m)" != aarch64 ]; then
	expect 3 1 stat
	expect 3 1 stat -j 1 1
	expect 3 1 check
	expect 3 1 check --loaded
	expect 3 1 selftest
	expect 3 1 selftest --workload-only
	grep -q "this host is $(uname -m)" "$tmp/err" && passed=$((passed + 1)) ||
		{ failed=$((failed + 1)); echo "FAIL unsupported-host message"; }
fi
echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
