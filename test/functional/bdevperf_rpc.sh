#!/bin/bash
# bdevperf -z: waits for perform_tests over JSON-RPC; the bdev is created over
# RPC; perform_tests runs with the command line's parameters, then with
# overrides, answers with the results; bad parameters get a clear error; the
# program stays up between tests and exits 0 on SIGTERM.
source "$(dirname "$0")/bdevperf_common.sh"
SOCK=$WORK/bp.sock

"$BDEVPERF" -z -r "$SOCK" -s 256 -q 8 -o 4k -w verify -t 1 >"$WORK/z.log" 2>&1 &
BP_PID=$!
wait_for_socket "$SOCK" "$BP_PID" || { fail "bdevperf -z did not create its socket"; cat "$WORK/z.log" >&2; finish; }

# Without a bdev the run cannot start.
before=$FAILS
err=$(rpc "$SOCK" perform_tests 2>&1) && fail "perform_tests without any bdev succeeded: $err"
grep -q "No such device\|no bdev" <<<"$err$(cat "$WORK/z.log")" || fail "no-bdev error unclear: $err"
[ "$FAILS" = "$before" ] && pass "perform_tests without a bdev fails"

rpc "$SOCK" bdev_malloc_create '{"name": "Malloc0", "num_blocks": 16384, "block_size": 512}' >/dev/null ||
	fail "bdev_malloc_create over RPC failed"

rpc "$SOCK" perform_tests >"$WORK/t1.out.json" || fail "perform_tests with command-line parameters failed"
check t1 'r["results"][0]["workload"] == "verify" and r["results"][0]["queue_depth"] == 8 and t["io_completed"] > 0 and t["miscompares"] == 0' \
	"perform_tests results (command line parameters)" && pass "perform_tests (verify, from the command line)"

rpc "$SOCK" perform_tests '{"workload_type": "randrw", "rw_percentage": 30, "queue_depth": 4, "io_size": "8k", "time_in_sec": 1}' \
	>"$WORK/t2.out.json" || fail "perform_tests with overrides failed"
check t2 'r["results"][0]["workload"] == "randrw" and r["results"][0]["queue_depth"] == 4 and r["results"][0]["io_size"] == 8192 and t["rw_percentage"] == 30 and t["io_completed"] > 0' \
	"perform_tests overrides not applied" && pass "perform_tests with overrides"

badp() { # params expected-text
	local err
	err=$(rpc "$SOCK" perform_tests "$1" 2>&1) && { fail "perform_tests $1 succeeded"; return; }
	grep -q -- "$2" <<<"$err" || { fail "perform_tests $1: error does not name $2: $err"; return; }
	pass "perform_tests $1 -> $err"
}
badp '{"workload_type": "bogus"}' "workload_type"
badp '{"queue_depth": -1}' "queue_depth"
badp '{"queue_depth": 0}' "queue_depth"
badp '{"rw_percentage": 101}' "rw_percentage"
badp '{"io_size": "huge"}' "io_size"
badp '{"io_size": 1000}' "Invalid argument"
badp '[1, 2]' "object"
badp '{"queue_depht": 4}' "unknown parameter 'queue_depht'"

kill -0 "$BP_PID" 2>/dev/null || fail "bdevperf -z exited after the tests"
grep -q "Results: workload randrw" "$WORK/z.log" || fail "no results table printed in -z mode"

# SIGTERM during a long test: the test ends early, the call is answered with
# the results so far, then the program exits 0.
before=$FAILS
rpc "$SOCK" perform_tests '{"time_in_sec": 60, "workload_type": "randread"}' >"$WORK/long.out.json" 2>"$WORK/long.err" &
rpc_pid=$!
sleep 1.5
err=$(rpc "$SOCK" perform_tests 2>&1) && fail "a second perform_tests during a run succeeded"
grep -q "already running" <<<"$err" || fail "busy error unclear: $err"
start=$SECONDS
kill -TERM "$BP_PID"
wait_for_exit "$BP_PID"
wait "$BP_PID"; rc=$?
BP_PID=""
[ $rc -eq 0 ] || { fail "bdevperf -z exited $rc on SIGTERM"; tail "$WORK/z.log" >&2; }
[ $((SECONDS - start)) -lt 15 ] || fail "SIGTERM did not cut the 60 s test short"
wait "$rpc_pid" || fail "the running perform_tests got no results: $(cat "$WORK/long.err")"
check long 't["io_completed"] > 0 and 0.5 < t["runtime"] < 15' "results of the test cut short"
[ -e "$SOCK" ] && fail "socket left behind"
[ "$FAILS" = "$before" ] && pass "SIGTERM ends bdevperf -z cleanly"
finish
