# Sourced by guest.sh when tmux is in the payload: kvmcmotop's screen,
# driven with tmux send-keys and read back with capture-pane (Debian's
# arm64 tmux through its own loader: tests/vm/kvmcmotop/fetch-tmux.sh).
# Every step leaves /out/tty-NN-NAME.txt (the pane as text, -e: with its
# escape sequences) and "NAME ok|timeout|skipped UPTIME" in /out/tty-steps.txt;
# judge.py reads them.
#
# tty_start, before the batch part: kvmcmotop -d 1 in an 80x24 pane (the
#   pane's command goes on after kvmcmotop's death: stty, a marker); with
#   kvmcmod, a second one (session "second") for the u key
# tty_steps, after it (the screen has seen the batch workload):
#  0. with kvmcmod: u in the second screen: it reads kvmcmod and lets its
#     probes go (checked at 4, when the first screen is gone too)
#  1. h; rows; live rates from a loop of one case (the raw bytes sent to
#     the pane meanwhile: no screen clear per frame); t, N, A
#  2. f filter, p pid filter, Enter drill-down (End: regions), Esc, k, s, r
#  3. resize to 120x40 and 60x15, back to 80x24; colours in the escapes
#  4. kill -9: nothing stays attached (the second screen still runs, on
#     kvmcmod), the guard puts the terminal modes back, the pane still
#     answers; q ends the second screen
#  5. with kvmcmod: --remote screens (no probes to wait for): NO_COLOR and
#     q (exit 0, terminal restored), Ctrl-Z and fg, SIGTERM, SIGSEGV, SIGQUIT
T=./tmux/run-tmux
# tmux sessions: "main" and, with kvmcmod, "second"; addressed as =NAME:
# (exactly that session: a bare "top" would be the top pane of whichever
# window tmux thinks is current)
S='=main:'
n=0

cap() {         # cap NAME [-e]: the pane into /out/tty-NN-NAME.txt
	n=$((n + 1))
	$T capture-pane -p $2 -t $S > /out/tty-$(printf %02d $n)-$1.txt
}

# until the pane shows PATTERN (extended regex), at most SECONDS; then cap
wait_for() {    # wait_for NAME PATTERN [SECONDS [-e]]
	if late; then
		echo "$1 skipped $(up)" >> /out/tty-steps.txt
		return 1
	fi
	i=0
	while ! $T capture-pane -p -t $S | grep -qE -- "$2"; do
		i=$((i + 1))
		if [ $i -gt $((${3:-20} * 5)) ]; then
			echo "$1 timeout $(up)" >> /out/tty-steps.txt
			cap "$1" $4
			return 1
		fi
		sleep 0.2
	done
	echo "$1 ok $(up)" >> /out/tty-steps.txt
	cap "$1" $4
}

keys() { $T send-keys -t $S "$@"; }
ukeys() { $T send-keys -t =second: "$@"; }
# one refresh later (-d 1): the next capture shows the new state
settle() { sleep 2.5; }
# the pid of the first screen's kvmcmotop (not its guard, kvmcmotop-guard,
# nor the second screen's)
top_pid() {
	for p in $(pidof kvmcmotop); do
		[ "$(cat /proc/$p/comm 2>/dev/null)" = kvmcmotop ] &&
			[ "$p" != "$(cat /out/tty-u.pid 2>/dev/null)" ] && echo $p
	done
}

tty_start() {
	log "tty: start"
	$T new-session -d -s main -x 80 -y 24 || { echo "tmux failed" >> /out/tty-steps.txt; return; }
	# after a kill -9 the modes are the guard's to restore: read them once
	# it is done (on a loaded host it may run after this shell goes on)
	keys "./kvmcmotop -d 1; i=0; while pidof kvmcmotop-guard > /dev/null && [ \$i -lt 150 ]; do sleep 0.2; i=\$((i + 1)); done; stty -a > /out/tty-stty-kill9.txt; echo KILL9-DONE" Enter
	if [ -n "$KD" ]; then
		$T new-session -d -s second -x 80 -y 24
		ukeys "sh -c 'echo \$\$ > /out/tty-u.pid; exec ./kvmcmotop -d 1'; echo exit-u=\$?" Enter
	fi
	wait_for start 'kvmcmotop [0-9:]+ +local probes' 900
	if [ -n "$KD" ]; then
		# both attached before guest.sh lists what is (attached-1.txt)
		S='=second:'
		wait_for u-offer 'counts here: press u to read http://127' 900
		S='=main:'
	fi
}

tty_steps() {
	log "tty: steps"
	if [ -n "$KD" ]; then
		S='=second:'
		keys u
		wait_for u-remote 'kvmcmotop [0-9:]+ +http://127\.0\.0\.1:10131' 60
		S='=main:'
	fi
	keys h
	wait_for help 'kvmcmotop: guest aborts per VM'
	keys x
	wait_for help-back 'VMs: [0-9]+ shown'
	wait_for rows 'VMs: [3-9][0-9] shown'
	( while :; do $K selftest --workload-only -c rw_exec > /dev/null 2>&1; done ) &
	LOOP=$!
	# live rates: the total row's ABRT/s not zero (the rw_exec loop)
	wait_for rates '^TOTAL +[0-9]+ +[0-9.]*[1-9]' 60
	# what the pane receives over a few refreshes: changed cells only
	cap raw-start
	$T pipe-pane -o -t $S 'cat > /out/tty-raw.bin'
	sleep 6
	$T pipe-pane -t $S
	cap raw-end

	keys t
	wait_for totals 'kvmcmotop .* totals +kind'
	keys N
	wait_for by-name 'sort NAME asc'
	# the selection follows its VM through a re-sort: Home, to the first rows
	keys Home
	settle
	cap by-name-rows
	keys A
	wait_for by-aborts 'sort ABRT desc'
	keys Home
	settle
	cap by-aborts-rows

	keys f
	keys -l '^ro_'
	keys Enter
	wait_for filter 'filter /\^ro_/'
	settle
	cap filter-rows
	keys f C-u Enter
	# the pid of the multi case's VMM (three VMs in one process)
	mp=$(awk '/"pid":/ { gsub(/[^0-9]/, ""); p = $0 } /"name": "multi"/ { print p; exit }' \
		/out/truth.json)
	echo "$mp" > /out/tty-multi-pid.txt
	keys p
	keys -l "$mp"
	keys Enter
	wait_for pid "pid $mp"
	settle
	cap pid-rows
	keys p C-u Enter

	keys f C-u
	keys -l '^none_ldp_nisv$'
	keys Enter
	wait_for drill-filter 'VMs: 1 shown'
	keys Enter
	wait_for drill '^VM none_ldp_nisv'
	keys End
	wait_for drill-end 'SLOT +BASE +SIZE +MEMSLOT'
	keys Escape
	wait_for drill-back 'VMs: 1 shown'
	keys f C-u Enter
	wait_for unfiltered 'sort ABRT desc *$'

	keys k
	wait_for kind ' s1ptw aborts '
	keys k k k k
	wait_for kind-back ' cmo aborts '
	keys s
	keys -l 0.5
	keys Enter
	wait_for interval 'every 0\.5s' 20 -e
	keys r
	wait_for reset 'totals reset'
	settle
	cap reset-rows

	$T resize-window -t $S -x 120 -y 40
	settle
	wait_for big '^TOTAL'
	$T resize-window -t $S -x 60 -y 15
	settle
	wait_for small '^TOTAL'
	$T resize-window -t $S -x 80 -y 24
	settle
	wait_for normal '^TOTAL'

	# kill -9: the pane's command goes on (stty, marker) after the death
	attached > /out/tty-during-kill9.txt
	top_pid > /out/tty-kill9.pid
	kill -9 $(cat /out/tty-kill9.pid)
	detached_to /out/attached-0.txt /out/tty-after-kill9.txt
	if [ -n "$KD" ]; then
		# the second screen (on kvmcmod since u) was there all along
		kill -0 "$(cat /out/tty-u.pid)" 2>/dev/null
		echo $? > /out/tty-u-alive.txt
		ukeys q
		S='=second:'
		wait_for u-end 'exit-u=' 30
		S='=main:'
	fi
	wait_for kill9-done 'KILL9-DONE' 60
	ps -o pid,comm 2>/dev/null | grep -c 'kvmcmotop' > /out/tty-left-after-kill9.txt
	keys "echo alive-\$((6 * 7))" Enter
	wait_for alive 'alive-42'
	kill $LOOP 2>/dev/null
	wait $LOOP 2>/dev/null

	if [ -n "$KD" ]; then
		# screens without probes: NO_COLOR and q, Ctrl-Z and fg, then SIGTERM,
		# SIGSEGV, SIGQUIT
		keys "clear; NO_COLOR=1 ./kvmcmotop --remote http://127.0.0.1:10131 -d 1; echo exit-q=\$?; stty -a > /out/tty-stty-q.txt" Enter
		wait_for remote-q 'kvmcmotop [0-9:]+ +http://127' 120
		settle
		cap nocolor -e
		keys q
		wait_for remote-q-end 'exit-q='
		# Ctrl-Z gives the terminal back until fg
		keys "clear; ./kvmcmotop --remote http://127.0.0.1:10131 -d 1" Enter
		wait_for remote-z 'kvmcmotop [0-9:]+ +http://127' 120
		keys C-z
		wait_for remote-z-stopped 'Stopped' 30
		keys "stty -a > /out/tty-stty-z.txt; fg; echo exit-z=\$?" Enter
		wait_for remote-z-fg 'kvmcmotop [0-9:]+ +http://127' 30
		keys q
		wait_for remote-z-end 'exit-z='
		for sig in TERM SEGV QUIT; do
			keys "clear; ./kvmcmotop --remote http://127.0.0.1:10131 -d 1; echo exit-$sig=\$?; stty -a > /out/tty-stty-$sig.txt" Enter
			wait_for remote-$sig 'kvmcmotop [0-9:]+ +http://127' 120
			kill -$sig $(top_pid)
			wait_for remote-$sig-end "exit-$sig="
		done
	fi
	$T kill-server
	log "tty: end"
}
