#!/bin/bash
# Snapshots and clones on an aio file: write a pattern, snapshot, write more,
# clone the snapshot, and check what each reads (lvol_io between target
# runs); relations in bdev_lvol_get_lvols and the info JSON; deleting a
# snapshot with two clones is refused; inflate and decouple; deleting the
# snapshot with its one clone left passes its data to that clone.
source "$(dirname "$0")/lvol_common.sh"

IMG=$WORK/disk.img
CONF=$WORK/conf.json
aio_config "$CONF" "$IMG" 128

start_tgt -s 128 -c "$CONF" || finish
expect_ok "lvstore on aio" bdev_lvol_create_lvstore Aio0 lvs0 -c 1048576
expect_ok "thick lvol" bdev_lvol_create -l lvs0 vol 8
stop_tgt
check_io "pattern A into vol" "$CONF" w:lvs0/vol:0:8M:0xaa

start_tgt -s 128 -c "$CONF" || finish
expect_ok "snapshot of vol" bdev_lvol_snapshot lvs0/vol snap
expect_err "snapshot name taken" "already exists" bdev_lvol_snapshot lvs0/vol snap
expect_err "snapshot of a snapshot" "read-only" bdev_lvol_snapshot lvs0/snap snap2
expect_err "clone of a writable lvol" "not a snapshot" bdev_lvol_clone lvs0/vol c0
[ "$(lvol_field lvs0/snap is_snapshot)" = true ] && [ "$(lvol_field lvs0/vol is_clone)" = true ] &&
	[ "$(lvol_field lvs0/vol base_snapshot)" = snap ] && pass "relations listed" || fail "relations: $(rpcpy bdev_lvol_get_lvols)"
stop_tgt

check_io "pattern B over the first 2 MiB of vol" "$CONF" w:lvs0/vol:0:2M:0xbb
start_tgt -s 128 -c "$CONF" || finish
expect_ok "clone of the snapshot" bdev_lvol_clone lvs0/snap clone1
rpc bdev_get_bdevs '{"name":"lvs0/snap"}' | python3 -c '
import json, sys
l = json.load(sys.stdin)[0]["driver_specific"]["lvol"]
assert l["snapshot"] is True and sorted(l["clones"]) == ["clone1", "vol"], l' && pass "info JSON lists the clones" || fail "info JSON of snap"
stop_tgt

check_io "each reads what it should" "$CONF" r:lvs0/vol:0:2M:0xbb r:lvs0/vol:2M:6M:0xaa \
	r:lvs0/snap:0:8M:0xaa r:lvs0/clone1:0:8M:0xaa w:lvs0/clone1:1M:1M:0xcc
check_io "clone writes stay in the clone" "$CONF" r:lvs0/clone1:1M:1M:0xcc r:lvs0/snap:0:8M:0xaa \
	r:lvs0/vol:1M:1M:0xbb

start_tgt -s 128 -c "$CONF" || finish
expect_ok "second clone" bdev_lvol_clone lvs0/snap clone2
expect_err "delete a snapshot with clones" "clones" bdev_lvol_delete lvs0/snap
[ -n "$(lvol_field lvs0/snap uuid)" ] && pass "snapshot still there" || fail "snapshot gone"
expect_ok "resize a clone" bdev_lvol_resize lvs0/clone2 12
expect_ok "inflate vol" bdev_lvol_inflate lvs0/vol
[ "$(lvol_field lvs0/vol is_clone)" = false ] && [ "$(lvol_field lvs0/vol is_thin_provisioned)" = false ] &&
	pass "vol stands alone" || fail "vol after inflate: clone=$(lvol_field lvs0/vol is_clone)"
expect_ok "decouple clone1" bdev_lvol_decouple_parent lvs0/clone1
[ -z "$(lvol_field lvs0/clone1 base_snapshot)" ] && pass "clone1 has no parent" || fail "clone1 parent $(lvol_field lvs0/clone1 base_snapshot)"
expect_err "decouple an lvol without parent" "parent|Invalid" bdev_lvol_decouple_parent lvs0/vol
[ "$(lvol_field lvs0/snap clones)" = '["clone2"]' ] && pass "clone2 is the snapshot's only clone" ||
	fail "clones of snap: $(lvol_field lvs0/snap clones)"
expect_ok "delete the snapshot (its one clone takes its clusters)" bdev_lvol_delete lvs0/snap
[ "$(lvol_aliases)" = "lvs0/clone1 lvs0/clone2 lvs0/vol" ] && pass "vol, clone1 and clone2 left" ||
	fail "lvols: $(lvol_aliases)"
[ "$(lvol_field lvs0/clone2 is_clone)" = false ] && pass "clone2 has no parent now" ||
	fail "clone2 parent $(lvol_field lvs0/clone2 base_snapshot)"
stop_tgt

check_io "data kept after inflate, decouple and delete" "$CONF" r:lvs0/vol:0:2M:0xbb r:lvs0/vol:2M:6M:0xaa \
	r:lvs0/clone1:0:1M:0xaa r:lvs0/clone1:1M:1M:0xcc r:lvs0/clone1:2M:6M:0xaa \
	r:lvs0/clone2:0:8M:0xaa r:lvs0/clone2:8M:4M:0x00
finish
