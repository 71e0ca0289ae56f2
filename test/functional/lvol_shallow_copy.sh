#!/bin/bash
# bdev_lvol_start_shallow_copy / bdev_lvol_check_shallow_copy (SPDK): the
# clusters a snapshot has allocated itself, and no others, land on another
# bdev at the same offsets. vol (thin, 1 MiB clusters) gets data in MiB 0
# and 3, snapshot snap1, then MiB 5, snapshot snap2: snap2 owns MiB 5 only.
# Copies go to an aio bdev on dst.img, whose bytes are checked after the
# target stops. Refusals: a writable lvol, unknown names, a small bdev, an
# unknown operation_id.
source "$(dirname "$0")/lvol_common.sh"

IMG=$WORK/disk.img
DST=$WORK/dst.img
CONF=$WORK/conf.json
truncate -s 16M "$DST"
cat >"$CONF" <<JSON
{"subsystems":[{"subsystem":"bdev","config":[
 {"method":"bdev_aio_create","params":{"name":"Aio0","filename":"$IMG","block_size":512}},
 {"method":"bdev_aio_create","params":{"name":"Aio1","filename":"$DST","block_size":512}}]}]}
JSON
truncate -s 128M "$IMG"

# copy_and_wait DESC LVOL CLUSTERS: a copy to Aio1 that completes with CLUSTERS copied.
copy_and_wait() {
	local id state=""
	expect_ok "$1: started" bdev_lvol_start_shallow_copy "$2" Aio1
	id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["operation_id"])' "$WORK/out" 2>/dev/null)
	for _ in $(seq 100); do
		rpcpy bdev_lvol_check_shallow_copy "${id:-0}" >"$WORK/state" 2>&1
		state=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["state"])' "$WORK/state" 2>/dev/null)
		[ "$state" = "in progress" ] || break
		sleep 0.1
	done
	python3 - "$WORK/state" "$3" <<'PY' && pass "$1: complete, $3 of $3 clusters" || fail "$1: $(cat "$WORK/state")"
import json, sys
s = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
assert s["state"] == "complete" and s["copied_clusters"] == n and s["total_clusters"] == n, s
assert "error" not in s, s
PY
}

start_tgt -s 128 -c "$CONF" || finish
expect_ok "lvstore on aio" bdev_lvol_create_lvstore Aio0 lvs0 -c 1048576
expect_ok "thin lvol vol" bdev_lvol_create -t -l lvs0 vol 8
stop_tgt
check_io "MiB 0 and 3 of vol written" "$CONF" w:lvs0/vol:0:1M:0xaa w:lvs0/vol:3M:1M:0xbb
start_tgt -s 128 -c "$CONF" || finish
expect_ok "snapshot snap1" bdev_lvol_snapshot lvs0/vol snap1
stop_tgt
check_io "MiB 5 of vol written" "$CONF" w:lvs0/vol:5M:1M:0xcc

start_tgt -s 128 -c "$CONF" || finish
expect_ok "snapshot snap2" bdev_lvol_snapshot lvs0/vol snap2
expect_ok "a 4 MiB malloc bdev" bdev_malloc_create -b Small 4 512
expect_err "a writable lvol refused" "is not read-only" bdev_lvol_start_shallow_copy lvs0/vol Aio1
expect_err "unknown lvol refused" "No such lvol: src_lvol_name" bdev_lvol_start_shallow_copy lvs0/nope Aio1
expect_err "unknown bdev refused" "dst_bdev_name 'Nope'" bdev_lvol_start_shallow_copy lvs0/snap2 Nope
expect_err "a smaller bdev refused" "is smaller than" bdev_lvol_start_shallow_copy lvs0/snap2 Small
expect_err "the lvstore's own bdev refused" "cannot open it for writing" \
	bdev_lvol_start_shallow_copy lvs0/snap2 Aio0
expect_err "unknown operation_id refused" "No shallow copy with operation_id 99" \
	bdev_lvol_check_shallow_copy 99
copy_and_wait "shallow copy of snap2" lvs0/snap2 1
stop_tgt
python3 - "$DST" <<'PY' && pass "dst holds snap2's MiB 5 and nothing else" || fail "dst after snap2's copy"
import sys
d = open(sys.argv[1], "rb").read()
M = 1 << 20
assert d[5 * M:6 * M] == b"\xcc" * M, "MiB 5"
assert d[:5 * M] == bytes(5 * M) and d[6 * M:] == bytes(len(d) - 6 * M), "other bytes written"
PY

start_tgt -s 128 -c "$CONF" || finish
copy_and_wait "shallow copy of snap1" lvs0/snap1 2
expect_ok "snap1 can be deleted after its copy" bdev_lvol_delete lvs0/snap1
stop_tgt
python3 - "$DST" <<'PY' && pass "dst holds MiB 0, 3 (snap1) and 5 (snap2)" || fail "dst after snap1's copy"
import sys
d = open(sys.argv[1], "rb").read()
M = 1 << 20
want = {0: b"\xaa", 3: b"\xbb", 5: b"\xcc"}
for i in range(len(d) // M):
    assert d[i * M:(i + 1) * M] == want.get(i, b"\0") * M, "MiB %d" % i
PY
finish
