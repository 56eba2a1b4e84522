#!/usr/bin/env bash
# Run unit test binaries; each prints "N passed, N failed" last.  Prints
# every test's output and one total line: "N passed, N failed".
set -u
passed=0 failed=0
for t in "$@"; do
	out=$(cd "$(dirname "$0")/.." && "$t" 2>&1)
	rc=$?
	echo "$out"
	line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -1)
	if [ -z "$line" ]; then
		echo "FAIL $t: no summary line (exit $rc)"
		failed=$((failed + 1))
		continue
	fi
	p=${line%% passed*}
	f=${line#*passed, }; f=${f%% failed*}
	passed=$((passed + p)) failed=$((failed + f))
	# a crash after the summary still fails
	[ $rc -ne 0 ] && [ "$f" -eq 0 ] && { echo "FAIL $t: exit $rc"; failed=$((failed + 1)); }
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
