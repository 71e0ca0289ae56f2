#!/bin/bash
# Virtual bdevs built over RPC (scripts/rpc.py) in a waiting bdevperf (-z),
# then verified by perform_tests: a passthru over malloc and the two parts of
# a split malloc all read back what was written; deleting the passthru takes
# it out of the next run; write failures injected into an error bdev over
# RPC are counted by bdevperf and fail the call; a bdev deleted while a test
# runs on it makes perform_tests say so.
source "$(dirname "$0")/bdevperf_common.sh"
SOCK=$WORK/bp.sock
RPCPY="$ROOT/scripts/rpc.py -s $SOCK -t 30"

"$BDEVPERF" -z -r "$SOCK" -s 256 -q 8 -o 4k -w verify -t 1 >"$WORK/z.log" 2>&1 &
BP_PID=$!
wait_for_socket "$SOCK" "$BP_PID" || { fail "bdevperf -z did not create its socket"; cat "$WORK/z.log" >&2; finish; }

rpcpy() { # ARGS...: rpc.py on bdevperf's socket; fails the test on error
	timeout 60 $RPCPY "$@" >"$WORK/rpcpy.out" 2>&1 || fail "rpc.py $*: $(cat "$WORK/rpcpy.out")"
}
rpcpy bdev_malloc_create -b Malloc0 16 512
rpcpy bdev_passthru_create -b Malloc0 -p Pt0
rpcpy bdev_malloc_create -b Malloc1 16 4096
rpcpy bdev_split_create Malloc1 2
rpcpy bdev_wait_for_examine

rpc "$SOCK" perform_tests >"$WORK/v1.out.json" || fail "perform_tests verify on passthru and split failed"
check v1 'sorted(j["bdev"] for j in r["results"]) == ["Malloc1p0", "Malloc1p1", "Pt0"]' \
	"verify should run on the leaves Pt0, Malloc1p0 and Malloc1p1 only"
check v1 'all(j["io_completed"] > 0 and j["io_failed"] == 0 and j["miscompares"] == 0 for j in r["results"])' \
	"verify through passthru and split parts" && pass "verify on a passthru over malloc and on split parts"

# The data went through to the bases: the passthru's blocks are Malloc0's.
rpcpy bdev_get_iostat -b Malloc0
python3 - "$WORK/rpcpy.out" <<'PY' || fail "Malloc0 saw no I/O through Pt0: $(cat "$WORK/rpcpy.out")"
import json, sys
s = json.load(open(sys.argv[1]))["bdevs"][0]
sys.exit(0 if s["num_write_ops"] > 0 and s["num_read_ops"] > 0 else 1)
PY

rpcpy bdev_passthru_delete Pt0
rpc "$SOCK" perform_tests '{"workload_type": "randread", "time_in_sec": 1}' >"$WORK/v2.out.json" ||
	fail "perform_tests after deleting Pt0 failed"
check v2 'sorted(j["bdev"] for j in r["results"]) == ["Malloc0", "Malloc1p0", "Malloc1p1"]' \
	"after bdev_passthru_delete, Malloc0 is a leaf again and Pt0 is gone" && pass "bdev_passthru_delete"

# Five write failures injected over RPC: counted, and the call fails.
rpcpy bdev_split_delete Malloc1
rpcpy bdev_error_create Malloc1
rpcpy bdev_error_inject_error EE_Malloc1 write failure -n 5
before=$FAILS
err=$(rpc "$SOCK" perform_tests '{"workload_type": "randwrite", "time_in_sec": 1}' 2>&1) &&
	fail "perform_tests with injected write failures succeeded"
grep -q "bdevperf failed" <<<"$err" || fail "unclear error for failed I/O: $err"
python3 - "$WORK/z.log" <<'PY' || fail "the 5 injected failures are not in the results: $(grep -i fail "$WORK/z.log" | tail -5)"
import re, sys
log = open(sys.argv[1]).read()
sys.exit(0 if re.search(r"\b5 I/O failed\b", log) else 1)
PY
[ "$FAILS" = "$before" ] && pass "5 write failures injected through rpc.py are counted and fail perform_tests"

# A bdev deleted while perform_tests runs on it: the answer says so.
rpcpy bdev_error_delete EE_Malloc1
rpcpy bdev_malloc_delete Malloc1
rpc "$SOCK" perform_tests '{"workload_type": "randread", "time_in_sec": 4}' >/dev/null 2>"$WORK/rm.err" &
pt=$!
sleep 1
rpcpy bdev_malloc_delete Malloc0
wait "$pt" && fail "perform_tests on a bdev deleted mid-run succeeded"
grep -q "error -19: bdevperf failed: bdev Malloc0 was removed during the test" "$WORK/rm.err" &&
	pass "bdev deleted mid-run: $(head -c 150 "$WORK/rm.err")" ||
	fail "perform_tests on a bdev deleted mid-run: $(cat "$WORK/rm.err")"

kill -TERM "$BP_PID"
wait_for_exit "$BP_PID"
wait "$BP_PID"; rc=$?
BP_PID=""
[ $rc -eq 0 ] || { fail "bdevperf -z exited $rc on SIGTERM"; tail "$WORK/z.log" >&2; }
finish
