#!/usr/bin/env bash
# Everything `make check` runs, in order, with one total at the end:
#   1. unit tests on the build host (classifier ESR tables, encoder, JSON, ...)
#   2. the CLI contract on the build host (usage errors, unsupported host)
#   3. the four-kernel matrix on emulated arm64 KVM (tests/vm/matrix.sh)
#   4. the VM suites named in $KVMCMO_SUITES (default: tests/vm/CI_SUITES,
#      what fits CI's time budget; `make check-all` runs every
#      tests/vm/suite-*.sh; CI_SUITES run with KVMCMO_CI=1, their lighter
#      mode).  Each ends with its own "N passed, N failed".
# Last line: "N passed, N failed" (what CI reads).
set -u
cd "$(dirname "$0")/.."
passed=0 failed=0
tally() {       # tally LOGFILE: add the last "N passed, N failed" of it
	local line p f
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
	if [ -z "$line" ]; then
		failed=$((failed + 1))
		echo "FAIL $1: no summary"
		return
	fi
	p=$(echo "$line" | sed -E 's/.*([^0-9]|^)([0-9]+) passed, ([0-9]+) failed.*/\2/')
	f=$(echo "$line" | sed -E 's/.*([^0-9]|^)([0-9]+) passed, ([0-9]+) failed.*/\3/')
	passed=$((passed + p)) failed=$((failed + f))
}
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

echo "== unit tests"
if make -s && make -s test-unit > "$log/unit" 2>&1; then :; fi
cat "$log/unit"; tally "$log/unit"

echo "== CLI contract"
tests/cli/test_usage.sh .output/x86/kvmcmo > "$log/cli" 2>&1
cat "$log/cli"; tally "$log/cli"

echo "== arm64 KVM matrix"
tests/vm/matrix.sh ${KVMCMO_KERNELS:-} > "$log/vm" 2>"$log/vm.err"
rc=$?
cat "$log/vm"
[ $rc -ne 0 ] && tail -30 "$log/vm.err"
tally "$log/vm"

suites=${KVMCMO_SUITES-$(grep -v '^#' tests/vm/CI_SUITES 2>/dev/null)}
if [ "$suites" = all ]; then
	suites=$(ls tests/vm/suite-*.sh | sed -E 's|.*/suite-(.*)\.sh|\1|')
else
	# CI's time budget: the suites that have a lighter mode use it (each
	# says what it leaves to one kernel); `make check-all` runs them whole
	export KVMCMO_CI=${KVMCMO_CI-1}
fi
for name in $suites; do
	suite=tests/vm/suite-$name.sh
	if [ ! -x "$suite" ]; then
		echo "FAIL no executable $suite"
		failed=$((failed + 1))
		continue
	fi
	name=suite-$name
	echo "== $name"
	"$suite" > "$log/$name" 2> "$log/$name.err"
	rc=$?
	cat "$log/$name"
	[ $rc -ne 0 ] && tail -30 "$log/$name.err"
	tally "$log/$name"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
