#!/bin/bash
# Crash: an lvstore on an aio file; each round (at least 20)
#   1. lvol_io checks the pattern the previous round wrote into lvs0/data
#      (written and acknowledged before that round's kill) and writes a new one;
#   2. bdevperf -z (the app framework with every module and RPC) loads the
#      store, random writes run on a thin lvol (allocating clusters) while
#      rpc.py creates, snapshots and deletes lvols in a loop (deleting
#      snapshots that have one clone, which pass their clusters to it, too);
#   3. kill -9 at a random moment.
# The next start must load the store; every lvol whose create was
# acknowledged (and whose delete was not) is there, every acknowledged
# delete stays deleted. The one operation in flight at the kill may or may
# not have taken effect: the next start settles which, and tracks the lvol
# from then on. ROUNDS (default 24) sets the number of rounds.
# Every process it starts is ended on every exit path: the target (cleanup in
# app_common.sh), and the background helpers of a round (the killer and the
# perform_tests client, with their children), also on SIGINT/SIGTERM.
source "$(dirname "$0")/lvol_common.sh"

BG_PIDS=() # background helpers of the current round

# end_bg: ends the round's helpers: their children first (sleep; timeout,
# which passes TERM on to its python), then the helper itself.
end_bg() {
	local p
	for p in "${BG_PIDS[@]}"; do
		pkill -TERM -P "$p" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	BG_PIDS=()
}

crash_cleanup() {
	end_bg
	cleanup
}
trap crash_cleanup EXIT
# The EXIT trap runs on a signal only when the signal has a trap of its own.
trap 'exit 130' INT
trap 'exit 143' TERM

ROUNDS=${ROUNDS:-24}
IMG=$WORK/disk.img
CONF=$WORK/conf.json
BDEVPERF=$ROOT/build/bin/bdevperf
aio_config "$CONF" "$IMG" 256
ACKED=$WORK/acked      # lvol names whose create was acknowledged and delete was not
DELETED=$WORK/deleted  # lvol names whose delete was acknowledged
INFLIGHT=$WORK/inflight # "create NAME" or "delete NAME": sent, not yet answered
: >"$ACKED"
: >"$DELETED"
: >"$INFLIGHT"

# settle_inflight PRESENT: the operation the kill cut off took effect or it did
# not; both are correct. Record which, so later rounds check the outcome.
settle_inflight() {
	local present=$1 op name
	read -r op name <"$INFLIGHT" || return 0
	: >"$INFLIGHT"
	if [[ "$present" == *" lvs0/$name "* ]]; then
		echo "round $round: $op of $name was cut off by the kill; the lvol is there"
		[ "$op" = create ] && echo "$name" >>"$ACKED"
	else
		echo "round $round: $op of $name was cut off by the kill; the lvol is not there"
		if [ "$op" = delete ]; then
			grep -vx "$name" "$ACKED" >"$ACKED.new"; mv "$ACKED.new" "$ACKED"
			echo "$name" >>"$DELETED"
		fi
	fi
}

# start_perf: bdevperf waiting for perform_tests, on the test socket (as TGT_PID).
start_perf() {
	"$BDEVPERF" -z -r "$SOCK" -i "$SHM_ID" -s 256 -c "$CONF" -q 16 -o 4096 -w randwrite -t 30 \
		-T lvs0/scratch >"$WORK/tgt.log" 2>&1 &
	TGT_PID=$!
	wait_for_socket "$SOCK" "$TGT_PID" && return 0
	fail "bdevperf -z did not create its socket"
	tail -20 "$WORK/tgt.log" >&2
	return 1
}

kill9() {
	kill -KILL "$TGT_PID" 2>/dev/null
	wait "$TGT_PID" 2>/dev/null
	TGT_PID=""
	rm -f "$SOCK" /dev/hugepages/brisk_${SHM_ID}_* /dev/shm/brisk_brisk_${SHM_ID}_* 2>/dev/null
}

# Set up: the store, a data lvol for patterns, a thin scratch lvol for random writes.
start_tgt -s 128 -c "$CONF" || finish
expect_ok "lvstore on aio" bdev_lvol_create_lvstore Aio0 lvs0 -c 1048576
expect_ok "data lvol" bdev_lvol_create -l lvs0 data 4
expect_ok "scratch lvol" bdev_lvol_create -l lvs0 -t scratch 64
stop_tgt

prev=""
seq_no=0
fails_before=$FAILS
for round in $(seq 1 "$ROUNDS"); do
	byte=$(printf '0x%02x' $((round % 250 + 1)))
	ops=()
	[ -n "$prev" ] && ops+=("r:lvs0/data:0:4M:$prev")
	ops+=("w:lvs0/data:0:4M:$byte" "r:lvs0/data:0:4M:$byte")
	if ! lvol_io "$CONF" "${ops[@]}"; then
		fail "round $round: data written before the last kill does not read back (or the store did not load)"
		tail -5 "$WORK/lvol_io.log" >&2
		break
	fi
	prev=$byte

	start_perf || break
	if ! rpcpy bdev_lvol_get_lvstores -l lvs0 >/dev/null 2>&1; then
		fail "round $round: lvstore lvs0 did not load"
		tail -20 "$WORK/tgt.log" >&2
		break
	fi
	# Every acknowledged lvol is here, no acknowledged delete came back.
	present=" $(lvol_aliases) "
	settle_inflight "$present"
	while read -r n; do
		[[ "$present" == *" lvs0/$n "* ]] || fail "round $round: acknowledged lvol $n is missing"
	done <"$ACKED"
	while read -r n; do
		[[ "$present" == *" lvs0/$n "* ]] && fail "round $round: deleted lvol $n came back"
	done <"$DELETED"

	# Random writes in the background, metadata operations in the foreground.
	rpc perform_tests '{"time_in_sec": 20}' >/dev/null 2>&1 &
	BG_PIDS+=($!)
	deadline=$(python3 -c "import random; print(random.uniform(0.2, 1.5))")
	(sleep "$deadline"; kill -KILL "$TGT_PID" 2>/dev/null) &
	killer=$!
	BG_PIDS+=("$killer")
	while kill -0 "$TGT_PID" 2>/dev/null; do
		seq_no=$((seq_no + 1))
		name=v$seq_no
		echo "create $name" >"$INFLIGHT"
		if rpcpy bdev_lvol_create -l lvs0 -t "$name" 2 >/dev/null 2>"$WORK/rpc.err"; then
			echo "$name" >>"$ACKED"
			: >"$INFLIGHT"
		else
			break
		fi
		echo "create s$seq_no" >"$INFLIGHT"
		if rpcpy bdev_lvol_snapshot "lvs0/$name" "s$seq_no" >/dev/null 2>"$WORK/rpc.err"; then
			echo "s$seq_no" >>"$ACKED"
			: >"$INFLIGHT"
		else
			break
		fi
		# Every other step delete the oldest or the second oldest lvol: a clone
		# v<n>, or a snapshot s<n> with its one clone v<n> (a merge), or alone.
		line=$(( (seq_no / 2) % 2 + 1 ))
		old=$(sed -n "${line}p" "$ACKED")
		if [ -n "$old" ] && [ $((seq_no % 2)) = 0 ]; then
			echo "delete $old" >"$INFLIGHT"
			if rpcpy bdev_lvol_delete "lvs0/$old" >/dev/null 2>"$WORK/rpc.err"; then
				sed -i "${line}d" "$ACKED"
				echo "$old" >>"$DELETED"
				: >"$INFLIGHT"
			else
				break
			fi
		fi
	done
	# The kill ends the loop by cutting the connection; an error answer means
	# the target refused an operation while it ran.
	if grep -q "(code -" "$WORK/rpc.err"; then
		fail "round $round: $(cat "$INFLIGHT") refused: $(tr '\n' ' ' <"$WORK/rpc.err")"
		: >"$INFLIGHT"
	fi
	wait "$killer" 2>/dev/null
	kill9
	end_bg # the perform_tests client lost its connection with the kill
done
[ "$round" = "$ROUNDS" ] && [ "$FAILS" = "$fails_before" ] && pass "$ROUNDS rounds of kill -9: store loaded, acknowledged lvols present, data intact" ||
	fail "$ROUNDS rounds of kill -9: stopped at round $round, $((FAILS - fails_before)) check(s) failed"

# A final clean start: the store still checks out.
start_tgt -s 128 -c "$CONF" || finish
rpcpy bdev_lvol_get_lvstores -l lvs0 >/dev/null && pass "final load" || fail "final load"
echo "lvols after the rounds: $(rpcpy bdev_lvol_get_lvols | grep -c '"alias"'); acknowledged deletes: $(wc -l <"$DELETED")"
stop_tgt
finish
