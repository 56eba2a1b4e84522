# shellcheck shell=bash
# tests/vm/lib.sh - sourced by tests/vm/matrix.sh and the suites: what each
# of them does around its own guest script and judge.  They set $work (one
# directory per kernel below it, holding boot.txt, boot.rc, out/) and keep
# the counters $passed and $failed.

# vm_each_kernel JOBS FUNC KERNEL...: FUNC K for every kernel, JOBS at once
vm_each_kernel() {
	local jobs=$1 fn=$2 running=0 k
	shift 2
	for k in "$@"; do
		"$fn" "$k" &
		running=$((running + 1))
		if [ "$running" -ge "$jobs" ]; then
			wait -n
			running=$((running - 1))
		fi
	done
	wait
}

# vm_boot_line K: what boot.sh said it booted for K
vm_boot_line() {
	grep -m1 '^boot.sh: kernel' "$work/$1/boot.txt" | sed 's/^boot.sh: kernel //'
}

# vm_boot_ok K: true if K's guest ran to its end; else one failure, with
# the end of boot.sh's output (a crashed or hung guest fails the suite)
vm_boot_ok() {
	local rc
	rc=$(cat "$work/$1/boot.rc" 2>/dev/null || echo none)
	[ "$rc" = 0 ] && return 0
	echo "FAIL $1 guest did not finish (boot.sh exit $rc)"
	tail -20 "$work/$1/boot.txt"
	failed=$((failed + 1))
	return 1
}

# vm_tally FILE: add FILE's last line, "[...: ]N passed, M failed", to the
# counters; a file without one is a failure
vm_tally() {
	local pf
	pf=$(tail -1 "$1" | sed -nE 's/^(.*[^0-9])?([0-9]+) passed, ([0-9]+) failed$/\2 \3/p')
	if [ -z "$pf" ]; then
		failed=$((failed + 1))
		return
	fi
	set -- $pf
	passed=$((passed + $1)) failed=$((failed + $2))
}

# vm_judge K CMD...: run K's judge, show what it says, count its summary
vm_judge() {
	local k=$1
	shift
	"$@" > "$work/$k/result.txt"
	cat "$work/$k/result.txt"
	vm_tally "$work/$k/result.txt"
}

# vm_keep K: K's whole directory to $KVMCMO_KEEP/K, when that is set
vm_keep() {
	[ -z "${KVMCMO_KEEP:-}" ] && return 0
	mkdir -p "$KVMCMO_KEEP/$1" && cp -r "$work/$1/." "$KVMCMO_KEEP/$1/"
}
