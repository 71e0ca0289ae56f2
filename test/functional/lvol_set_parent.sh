#!/bin/bash
# bdev_lvol_set_parent (SPDK): a thin lvol becomes a clone of a snapshot of
# its lvstore; the snapshot's data shows through the clusters the lvol has
# not written, its own writes stay. Each rule is refused with the problem
# named (thick lvol, parent not a snapshot, parent larger, already the
# parent, unknown names) and nothing changes; the new parent survives a
# restart; bdev_lvol_set_parent_bdev stays a clear refusal.
source "$(dirname "$0")/lvol_common.sh"

IMG=$WORK/disk.img
CONF=$WORK/conf.json
aio_config "$CONF" "$IMG" 128

start_tgt -s 128 -c "$CONF" || finish
expect_ok "lvstore on aio" bdev_lvol_create_lvstore Aio0 lvs0 -c 1048576
expect_ok "thick lvol src" bdev_lvol_create -l lvs0 src 8
expect_ok "thin lvol" bdev_lvol_create -t -l lvs0 thin 8
expect_ok "thick lvol" bdev_lvol_create -l lvs0 thick 8
expect_ok "larger lvol" bdev_lvol_create -t -l lvs0 big 16
stop_tgt
check_io "pattern A into src, B into thin's second MiB" "$CONF" w:lvs0/src:0:8M:0xaa \
	w:lvs0/thin:1M:1M:0xbb

start_tgt -s 128 -c "$CONF" || finish
expect_ok "snapshot of src" bdev_lvol_snapshot lvs0/src snap
expect_ok "snapshot of big" bdev_lvol_snapshot lvs0/big bigsnap
expect_err "thick lvol refused" "lvol_name is not thin provisioned" bdev_lvol_set_parent lvs0/thick lvs0/snap
expect_err "writable parent refused" "parent_name is not a snapshot" bdev_lvol_set_parent lvs0/thin lvs0/src
expect_err "snapshot as the lvol refused" "lvol_name is read-only" bdev_lvol_set_parent lvs0/bigsnap lvs0/snap
expect_err "unknown parent refused" "No such lvol: parent_name" bdev_lvol_set_parent lvs0/thin lvs0/nope
expect_err "unknown lvol refused" "No such lvol: lvol_name" bdev_lvol_set_parent lvs0/nope lvs0/snap
expect_err "larger snapshot refused" "Invalid argument" bdev_lvol_set_parent lvs0/thin lvs0/bigsnap
grep -q "is larger than blob" "$WORK/tgt.log" && pass "the log names the size" || fail "no size error in the log"
[ "$(lvol_field lvs0/thin is_clone)" = false ] && pass "thin is still no clone" ||
	fail "thin changed: $(lvol_field lvs0/thin is_clone)"
expect_ok "set parent" bdev_lvol_set_parent lvs0/thin lvs0/snap
expect_err "same parent again refused" "File exists" bdev_lvol_set_parent lvs0/thin lvs0/snap
[ "$(lvol_field lvs0/thin is_clone)" = true ] && [ "$(lvol_field lvs0/thin base_snapshot)" = snap ] &&
	pass "thin is a clone of snap" || fail "relations: $(rpcpy bdev_lvol_get_lvols)"
expect_err "set_parent_bdev refused" "not supported" bdev_lvol_set_parent_bdev lvs0/thin Aio0
stop_tgt

check_io "thin reads snap's data under its own" "$CONF" r:lvs0/thin:0:1M:0xaa \
	r:lvs0/thin:1M:1M:0xbb r:lvs0/thin:2M:6M:0xaa r:lvs0/snap:0:8M:0xaa
start_tgt -s 128 -c "$CONF" || finish
[ "$(lvol_field lvs0/thin base_snapshot)" = snap ] && pass "parent kept across a restart" ||
	fail "after restart: $(rpcpy bdev_lvol_get_lvols)"
stop_tgt
finish
