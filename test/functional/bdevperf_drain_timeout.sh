#!/bin/bash
# I/O that never completes does not hang bdevperf at the stop: after the run
# ends (end of -t, SIGINT, or a perform_tests test in -z mode) it waits at
# most --drain-timeout for the I/O in flight, then names each job's
# outstanding I/O, prints the table of what completed and exits 1 (-z: the
# call gets an error, later calls are refused until the I/O completes after
# all, SIGTERM exits 1 at once). I/O that completes within the timeout still
# gives a clean exit 0.
#   held      error bdev holding 3 reads for ever ("pending"), end of -t
#   sigint    delay bdev with a 60 s p99 read latency, SIGINT during the run
#   in_time   delay bdev with 300 ms latency: the drain completes, exit 0
#   rpc       -z: held I/O, refusal, recovery when they complete, SIGTERM
source "$(dirname "$0")/bdevperf_common.sh"

malloc='{"name": "Malloc0", "num_blocks": 16384, "block_size": 512}'
delay() { # name avg_read_us p99_read_us
	echo "{\"base_bdev_name\": \"Malloc0\", \"name\": \"$1\", \"avg_read_latency\": $2, \"p99_read_latency\": $3, \"avg_write_latency\": $2, \"p99_write_latency\": $2}"
}

# check_left NAME JOB COUNT: the log names JOB with COUNT (a number or a
# regex) outstanding I/O, a table is printed, the summary and exit line too.
check_left() {
	local name=$1 job=$2 count=$3 log=$WORK/$1.log
	grep -Eq "job $job: $count I/O to bdev [^ ]+ still outstanding [0-9]+ s after the stop \(--drain-timeout\)" "$log" ||
		{ fail "$name: no error naming job $job and its outstanding I/O"; tail -15 "$log" >&2; }
	grep -q "^Results: workload" "$log" && grep -q "^Total (1 job)" "$log" ||
		fail "$name: no results table printed"
	grep -q "did not complete within --drain-timeout" "$log" || fail "$name: no summary line"
	grep -q "exiting with [0-9]* I/O still outstanding" "$log" || fail "$name: no exit line"
	grep -q "AddressSanitizer\|runtime error" "$log" && fail "$name: sanitizer report"
}

# 1. End of -t with 3 reads held for ever: 1 s run + 2 s drain timeout.
bdev_config "$WORK/held.json" bdev_malloc_create "$malloc" bdev_error_create '{"base_name": "Malloc0"}' \
	bdev_error_inject_error '{"name": "EE_Malloc0", "io_type": "read", "error_type": "pending", "num": 3}'
before=$FAILS
start=$SECONDS
run_bdevperf held -c "$WORK/held.json" -q 8 -o 4k -w randread -t 1 --drain-timeout 2
took=$((SECONDS - start))
[ "$BP_RC" -eq 1 ] || fail "held: exit $BP_RC, want 1 (124 = timed out: bdevperf hung)"
[ "$took" -le 10 ] || fail "held: took $took s for -t 1 and --drain-timeout 2"
check_left held EE_Malloc0_core0 3
check held 't["io_outstanding"] == 3 and r["results"][0]["io_outstanding"] == 3 and t["io_completed"] > 0 and t["io_failed"] == 0' \
	"held: JSON results should carry 3 outstanding I/O and the completed ones"
grep -q "3 I/O still outstanding (not counted)" "$WORK/held.log" || fail "held: table does not show the outstanding I/O"
[ "$FAILS" = "$before" ] && pass "held: exit 1 after $took s, $(grep -m1 -o 'job EE_Malloc0_core0: 3 I/O.*' "$WORK/held.log")"

# 2. SIGINT during a long run on a delay bdev whose 1-in-100 reads take 60 s:
# the queue soon holds only those; the stop waits 1 s for them.
bdev_config "$WORK/slow.json" bdev_malloc_create "$malloc" bdev_delay_create "$(delay Delay0 20 60000000)"
before=$FAILS
timeout -k 5 60 "$BDEVPERF" -s 256 --json-output "$WORK/sigint.out.json" -c "$WORK/slow.json" \
	-q 4 -o 4k -w randread -t 50 --drain-timeout 1 >"$WORK/sigint.log" 2>&1 &
BP_PID=$!
for _ in $(seq 1 100); do grep -q "^\[   1 s\]" "$WORK/sigint.log" && break; sleep 0.05; done
start=$SECONDS
kill -INT "$BP_PID"
wait "$BP_PID"; rc=$?
took=$((SECONDS - start))
BP_PID=""
[ "$rc" -eq 1 ] || fail "sigint: exit $rc, want 1"
[ "$took" -le 8 ] || fail "sigint: took $took s after SIGINT with --drain-timeout 1"
check_left sigint Delay0_core0 '[1-4]'
check sigint '1 <= t["io_outstanding"] <= 4 and t["io_completed"] > 0' "sigint: JSON results"
[ "$FAILS" = "$before" ] && pass "sigint: exit 1 $took s after SIGINT, $(grep -m1 -o 'job Delay0_core0: [0-9]* I/O.*' "$WORK/sigint.log")"

# 2b. The same with a long --drain-timeout: a second SIGINT a second and more
# after the first forces the exit (status 1) without waiting for the drain.
before=$FAILS
# Not under timeout(1), which would turn the signals into its own; a
# watchdog bounds the run instead.
"$BDEVPERF" -s 256 -c "$WORK/slow.json" -q 4 -o 4k -w randread -t 50 --drain-timeout 30 \
	>"$WORK/force.log" 2>&1 &
BP_PID=$!
(
	sleep 40 &
	trap 'kill $!' TERM
	wait $! && kill -KILL "$BP_PID" 2>/dev/null
) &
watchdog=$!
for _ in $(seq 1 100); do grep -q "^\[   1 s\]" "$WORK/force.log" && break; sleep 0.05; done
start=$SECONDS
kill -INT "$BP_PID"
sleep 1.5
kill -INT "$BP_PID"
wait "$BP_PID"; rc=$?
took=$((SECONDS - start))
BP_PID=""
kill "$watchdog" 2>/dev/null
wait "$watchdog" 2>/dev/null
[ "$rc" -eq 1 ] || fail "force: exit $rc after a second SIGINT, want 1"
[ "$took" -le 5 ] || fail "force: took $took s after two SIGINTs (--drain-timeout 30)"
[ "$FAILS" = "$before" ] && pass "force: a second SIGINT 1.5 s later exits 1 after $took s"

# 3. Slow but finite I/O (300 ms) within the timeout: a normal clean run.
bdev_config "$WORK/finite.json" bdev_malloc_create "$malloc" bdev_delay_create "$(delay Delay0 300000 300000)"
before=$FAILS
run_bdevperf in_time -c "$WORK/finite.json" -q 4 -o 4k -w randread -t 1 --drain-timeout 5
[ "$BP_RC" -eq 0 ] || { fail "in_time: exit $BP_RC, want 0"; tail -15 "$WORK/in_time.log" >&2; }
grep -q "outstanding" "$WORK/in_time.log" && fail "in_time: outstanding I/O reported"
check in_time 't["io_outstanding"] == 0 and t["io_completed"] > 0' "in_time: JSON results"
[ "$FAILS" = "$before" ] && pass "in_time: 300 ms I/O drain within --drain-timeout 5, exit 0"

# 4. -z: a test leaves reads held 10 s with --drain-timeout 1 (long enough for
# a second call from a slow-starting client to find them held); the call gets an
# error, the next is refused, they complete after all, a test runs again;
# then a test leaves 60 s reads and SIGTERM exits 1 at once.
SOCK=$WORK/bp.sock
bdev_config "$WORK/rpc.json" bdev_malloc_create "$malloc" bdev_delay_create "$(delay Delay0 20 10000000)"
before=$FAILS
timeout -k 5 60 "$BDEVPERF" -z -r "$SOCK" -s 256 -c "$WORK/rpc.json" -q 4 -o 4k -w randread -t 1 \
	--drain-timeout 1 >"$WORK/rpc.log" 2>&1 &
BP_PID=$!
wait_for_socket "$SOCK" "$BP_PID" || { fail "rpc: bdevperf -z did not create its socket"; cat "$WORK/rpc.log" >&2; finish; }
err=$(rpc "$SOCK" perform_tests 2>&1) && fail "rpc: perform_tests with held I/O succeeded"
grep -q "did not complete within --drain-timeout" <<<"$err" || fail "rpc: error unclear: $err"
grep -Eq "job Delay0_core0: [1-4] I/O to bdev Delay0 still outstanding" "$WORK/rpc.log" ||
	fail "rpc: no error naming the job's outstanding I/O"
grep -q "^Total (1 job)" "$WORK/rpc.log" || fail "rpc: no table"
err=$(rpc "$SOCK" perform_tests 2>&1) && fail "rpc: perform_tests while I/O is held succeeded"
grep -q "left [1-4] I/O outstanding" <<<"$err" || fail "rpc: refusal unclear: $err"
for _ in $(seq 1 300); do grep -q "completed after all" "$WORK/rpc.log" && break; sleep 0.05; done
grep -q "completed after all" "$WORK/rpc.log" || fail "rpc: the held I/O never completed"
rpc "$SOCK" bdev_delay_update_latency '{"delay_bdev_name": "Delay0", "latency_type": "p99_read", "latency_us": 20}' >/dev/null ||
	fail "rpc: bdev_delay_update_latency failed"
rpc "$SOCK" perform_tests >"$WORK/again.out.json" || fail "rpc: perform_tests after the I/O completed failed"
check again 't["io_completed"] > 0 and t["io_outstanding"] == 0' "rpc: results of the test after recovery"
rpc "$SOCK" bdev_delay_update_latency '{"delay_bdev_name": "Delay0", "latency_type": "p99_read", "latency_us": 60000000}' >/dev/null ||
	fail "rpc: bdev_delay_update_latency failed"
rpc "$SOCK" perform_tests >/dev/null 2>&1 && fail "rpc: perform_tests with 60 s reads succeeded"
start=$SECONDS
kill -TERM "$BP_PID"
wait "$BP_PID"; rc=$?
took=$((SECONDS - start))
BP_PID=""
[ "$rc" -eq 1 ] || fail "rpc: exit $rc on SIGTERM with held I/O, want 1"
[ "$took" -le 5 ] || fail "rpc: SIGTERM took $took s"
grep -q "exiting with [0-9]* I/O still outstanding" "$WORK/rpc.log" || fail "rpc: no exit line"
[ -e "$SOCK" ] && fail "rpc: socket left behind"
grep -q "AddressSanitizer\|runtime error" "$WORK/rpc.log" && fail "rpc: sanitizer report"
[ "$FAILS" = "$before" ] && pass "rpc: held I/O refused, recovered, SIGTERM exit 1 after $took s"

# --help describes the option.
"$BDEVPERF" --help 2>&1 | grep -q -- "--drain-timeout <s>" || fail "--help does not describe --drain-timeout"
finish
