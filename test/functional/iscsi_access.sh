#!/usr/bin/env bash
# iSCSI access control and lifecycle on 127.0.0.1 with libiscsi's tools and
# the test initiator (iscsi_client.py): an initiator outside the group is
# refused; CHAP refuses a wrong secret and a missing one and accepts the
# right one; a LUN whose bdev is deleted under I/O fails its commands
# cleanly while the session and the target go on; and data written to an
# lvol LUN is there after save_config, a restart and a new login.
source "$(dirname "$0")/iscsi_common.sh"
need_libiscsi

# pyclient CODE: runs CODE with `ic` (iscsi_client) and PORT in scope.
pyclient() {
	timeout 30 python3 - "$ISCSI_PORT" "$1" <<'PY'
import sys
sys.path.insert(0, "test/functional")
import iscsi_client as ic
PORT = int(sys.argv[1])
exec(sys.argv[2])
PY
}

start_tgt --no-huge -s 256 || finish
rpc bdev_malloc_create '{"name": "Malloc0", "num_blocks": 32768, "block_size": 512}' >/dev/null
rpc bdev_malloc_create '{"name": "Malloc1", "num_blocks": 32768, "block_size": 512}' >/dev/null
iscsi_export open Malloc0 '["iqn.2024-01.io.brisk:allowed", "iqn.2024-01.io.brisk:test"]' || fail "export open"

# ---- ACL ----
timeout 20 iscsi-inq -i iqn.2024-01.io.brisk:allowed "$(iscsi_url open)" >/dev/null 2>&1 &&
	pass "an initiator in the group logs in" || fail "allowed initiator refused"
timeout 20 iscsi-inq -i iqn.2024-01.io.brisk:stranger "$(iscsi_url open)" >/dev/null 2>&1 &&
	fail "an initiator outside the group got in" || pass "an initiator outside the group is refused"
out=$(pyclient 'print(hex(ic.Session(PORT, "iqn.2016-06.io.spdk:open", initiator="iqn.2024-01.io.brisk:stranger").login()))')
[ "$out" = "0x202" ] && pass "refusal is status 0x0202 (authorization failure)" || fail "refusal status $out"
grep -q "may not reach" "$WORK/tgt.log" && pass "refusal logged" || fail "refusal not logged"

# ---- CHAP ----
rpc iscsi_create_auth_group '{"tag": 1, "secrets": [{"user": "alice", "secret": "alicesecret12",
	"muser": "tgt", "msecret": "targetsecret34"}]}' >/dev/null || fail "auth group"
rpc iscsi_create_target_node '{"name": "chap", "alias_name": "chap", "queue_depth": 16, "require_chap": true,
	"chap_group": 1, "luns": [{"bdev_name": "Malloc1", "lun_id": 0}], "pg_ig_maps": [{"pg_tag": 1, "ig_tag": 1}]}' \
	>/dev/null || fail "CHAP node"
timeout 20 iscsi-inq -i iqn.2024-01.io.brisk:allowed "$(iscsi_url chap 0 'alice%alicesecret12@')" >/dev/null 2>&1 &&
	pass "CHAP with the right secret logs in" || fail "CHAP with the right secret refused"
timeout 20 iscsi-inq -i iqn.2024-01.io.brisk:allowed "$(iscsi_url chap 0 'alice%wrongsecret99@')" >/dev/null 2>&1 &&
	fail "CHAP with a wrong secret got in" || pass "CHAP with a wrong secret is refused"
timeout 20 iscsi-inq -i iqn.2024-01.io.brisk:allowed "$(iscsi_url chap)" >/dev/null 2>&1 &&
	fail "no CHAP got into a require_chap node" || pass "no CHAP is refused where CHAP is required"
grep -q "does not match its secret" "$WORK/tgt.log" && pass "wrong secret logged" || fail "wrong secret not logged"
rpc iscsi_target_node_set_auth '{"name": "chap", "require_chap": true, "mutual_chap": true, "chap_group": 1}' >/dev/null
timeout 20 iscsi-inq -i iqn.2024-01.io.brisk:allowed "$(iscsi_url chap 0 'alice%alicesecret12@')" >/dev/null 2>&1 &&
	fail "one-way CHAP got into a mutual_chap node" || pass "mutual CHAP node refuses one-way CHAP"
timeout 20 iscsi-inq -i iqn.2024-01.io.brisk:allowed \
	"$(iscsi_url chap 0 'alice%alicesecret12@')?target_user=tgt&target_password=targetsecret34" >/dev/null 2>&1 &&
	pass "mutual CHAP logs in" || fail "mutual CHAP refused"

# ---- LUN removed under I/O ----
timeout 15 iscsi-perf -i iqn.2024-01.io.brisk:allowed -m 16 -t 5 "$(iscsi_url open)" >"$WORK/perf.log" 2>&1 &
perf=$!
sleep 2
rpc bdev_malloc_delete '{"name": "Malloc0"}' >/dev/null && pass "bdev deleted under I/O" || fail "bdev_malloc_delete"
wait $perf
kill -0 "$TGT_PID" 2>/dev/null && pass "target alive after the LUN went away under I/O" || fail "target died"
out=$(pyclient '
s = ic.Session(PORT, "iqn.2016-06.io.spdk:open")
assert s.login() == 0
st, _ = s.read10(0, 1, 512)
print(st, s.nop(), s.logout())')
[ "$out" = "2 True True" ] && pass "reads of the removed LUN end in CHECK CONDITION; the session goes on" ||
	fail "removed LUN: read status/nop/logout = $out"

# ---- lvol LUN survives a restart ----
truncate -s 64M "$WORK/aio.img"
rpc bdev_aio_create "{\"name\": \"Aio0\", \"filename\": \"$WORK/aio.img\", \"block_size\": 512}" >/dev/null &&
	rpc bdev_lvol_create_lvstore '{"bdev_name": "Aio0", "lvs_name": "lvs0"}' >/dev/null &&
	rpc bdev_lvol_create '{"lvol_name": "vol0", "size_in_mib": 16, "lvs_name": "lvs0"}' >/dev/null ||
	fail "lvol setup"
rpc iscsi_create_target_node '{"name": "lvol", "alias_name": "lvol", "queue_depth": 16,
	"luns": [{"bdev_name": "lvs0/vol0", "lun_id": 0}], "pg_ig_maps": [{"pg_tag": 1, "ig_tag": 1}]}' >/dev/null ||
	fail "lvol node"
out=$(pyclient '
s = ic.Session(PORT, "iqn.2016-06.io.spdk:lvol")
assert s.login() == 0
data = bytes((i * 7) & 0xff for i in range(64 * 512))
print(s.write10(100, data, 512), s.logout())')
[ "$out" = "0 True" ] && pass "64 blocks written to the lvol LUN" || fail "lvol write: $out"
rpc save_config >"$WORK/config.json" || fail "save_config"
grep -q iscsi_create_target_node "$WORK/config.json" && pass "save_config writes the target nodes" ||
	fail "save_config has no iscsi_create_target_node"
stop_tgt
start_tgt --no-huge -s 256 -c "$WORK/config.json" || finish
out=$(pyclient '
s = ic.Session(PORT, "iqn.2016-06.io.spdk:lvol")
assert s.login() == 0
st, got = s.read10(100, 64, 512)
print(st, got == bytes((i * 7) & 0xff for i in range(64 * 512)), s.logout())')
[ "$out" = "0 True True" ] && pass "lvol data read back after the restart" || fail "lvol after restart: $out"
rpc iscsi_get_auth_groups | grep -q targetsecret34 && pass "auth groups restored by the config" ||
	fail "auth group lost over the restart"
stop_tgt
finish
