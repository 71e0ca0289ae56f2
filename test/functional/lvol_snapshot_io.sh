#!/bin/bash
# Relation operations on an lvol under I/O: bdevperf runs a verify workload
# on lvs0/vol from both reactors while rpc.py takes snapshots of it, deletes
# older snapshots (each passes its clusters to its one clone), clones and
# inflates. Every I/O must complete and every read must return what was
# written (the blobstore freezes the lvol's I/O while its cluster map
# changes); afterwards the lvstore loads and the lvols are as acknowledged.
source "$(dirname "$0")/lvol_common.sh"

IMG=$WORK/disk.img
CONF=$WORK/conf.json
BDEVPERF=$ROOT/build/bin/bdevperf
SECS=${SECS:-12}
aio_config "$CONF" "$IMG" 256

start_tgt -s 128 -c "$CONF" || finish
expect_ok "lvstore on aio" bdev_lvol_create_lvstore Aio0 lvs0 -c 1048576
expect_ok "thick lvol" bdev_lvol_create -l lvs0 vol 32
stop_tgt

"$BDEVPERF" -z -m 0x3 -r "$SOCK" -i "$SHM_ID" -s 256 -c "$CONF" -q 16 -o 4096 -w verify \
	-t "$SECS" -T lvs0/vol >"$WORK/tgt.log" 2>&1 &
TGT_PID=$!
wait_for_socket "$SOCK" "$TGT_PID" || { fail "bdevperf -z did not create its socket"; tail -20 "$WORK/tgt.log" >&2; finish; }

(rpc perform_tests >"$WORK/perf.json" 2>"$WORK/perf.err"; echo $? >"$WORK/perf.rc") &
perf=$!
sleep 1
# The operations run from one Python process on one socket: a rpc.py start
# per call takes a second on a loaded machine, and the loop must get several
# rounds into the workload's window.
python3 - "$ROOT/scripts" "$SOCK" "$((SECS - 2))" >"$WORK/ops.out" <<'PY'
import sys, time
sys.path.insert(0, sys.argv[1])
from rpc.client import JSONRPCClient, JSONRPCException
c = JSONRPCClient(sys.argv[2], timeout=60.0)
end = time.monotonic() + int(sys.argv[3])
n = snaps = merges = clones = inflates = errors = 0
parent = prev = ""
def op(what, *calls):
    global errors
    try:
        for method, params in calls:
            c.call(method, params)
        return True
    except JSONRPCException as e:
        errors += 1
        print("%s: %s" % (what, e))
        return False
while time.monotonic() < end:
    n += 1
    if op("snapshot %d" % n, ("bdev_lvol_snapshot", {"lvol_name": "lvs0/vol", "snapshot_name": "snap%d" % n})):
        snaps += 1
        parent = "snap%d" % n
    # The previous snapshot has one clone now (the newer snapshot; none if
    # vol was inflated since): delete it.
    if prev and op("delete " + prev, ("bdev_lvol_delete", {"name": "lvs0/" + prev})):
        merges += 1
    prev = "snap%d" % n
    if n % 3 == 0 and op("clone %d" % n,
                         ("bdev_lvol_clone", {"snapshot_name": "lvs0/snap%d" % n, "clone_name": "clone%d" % n}),
                         ("bdev_lvol_inflate", {"name": "lvs0/clone%d" % n}),
                         ("bdev_lvol_delete", {"name": "lvs0/clone%d" % n})):
        clones += 1
    if n % 4 == 0 and op("inflate", ("bdev_lvol_inflate", {"name": "lvs0/vol"})):
        inflates += 1
        parent = ""
print("counts %d %d %d %d %d" % (snaps, merges, clones, inflates, errors))
print("names %s %s" % (prev, parent))
PY
grep -v "^counts \|^names " "$WORK/ops.out"
read -r _ snaps merges clones inflates errors < <(grep "^counts " "$WORK/ops.out")
read -r _ prev parent < <(grep "^names " "$WORK/ops.out")
: "${snaps:=0}" "${merges:=0}" "${clones:=0}" "${inflates:=0}" "${errors:=1}"
wait "$perf"
echo "under I/O: $snaps snapshots, $merges deletes of the previous snapshot, $clones clone+inflate+delete, $inflates inflates"
[ $errors = 0 ] && pass "every relation operation under I/O succeeded" || fail "$errors operations failed"
[ $snaps -ge 3 ] && [ $merges -ge 2 ] && pass "enough operations ran during the workload" ||
	fail "only $snaps snapshots and $merges merges"
if [ "$(cat "$WORK/perf.rc")" = 0 ] && python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
t = r["total"]
assert len(r["results"]) == 2, r["results"]           # a job on each reactor
assert t["io_completed"] > 1000 and t["io_failed"] == 0 and t["miscompares"] == 0, t
print("%d I/Os verified" % t["io_completed"])' "$WORK/perf.json"; then
	pass "verify workload: every I/O completed and read back what was written"
else
	fail "verify workload failed: $(cat "$WORK/perf.err")"
	tail -20 "$WORK/tgt.log" >&2
fi
kill -TERM "$TGT_PID" 2>/dev/null
wait "$TGT_PID" 2>/dev/null
TGT_PID=""

start_tgt -s 128 -c "$CONF" || finish
want="lvs0/$prev lvs0/vol"
[ "$(lvol_aliases)" = "$want" ] && pass "after a restart: $want" || fail "lvols: $(lvol_aliases) (want $want)"
[ "$(lvol_field lvs0/vol base_snapshot)" = "$parent" ] && pass "vol's parent is '$parent'" ||
	fail "vol's parent: $(lvol_field lvs0/vol base_snapshot)"
stop_tgt
finish
