#!/bin/bash
# Lvol names that another bdev already holds, and sizes past the blob limit
# (issue 12, items 16 and 17): a create, snapshot or clone whose alias
# "lvs/name" names another bdev is refused with a clear error; an lvstore
# loaded while another bdev holds an lvol's alias reports the conflict in
# bdev_lvol_get_lvols ("alias_conflict"), not only in the log; a resize or
# create past the largest lvol says why; every lvol shows "is_degraded".
source "$(dirname "$0")/lvol_common.sh"

IMG=$WORK/aio.img
truncate -s 64M "$IMG"
cat >"$WORK/conf.json" <<JSON
{"subsystems":[{"subsystem":"bdev","config":[
 {"method":"bdev_malloc_create","params":{"name":"lvsA/v1","num_blocks":8192,"block_size":512}},
 {"method":"bdev_malloc_create","params":{"name":"Malloc1","num_blocks":65536,"block_size":512}},
 {"method":"bdev_aio_create","params":{"name":"Aio0","filename":"$IMG","block_size":512}}]}]}
JSON
start_tgt -s 256 -c "$WORK/conf.json" || finish
rpcpy framework_wait_init >/dev/null 2>&1

# ---- Create refused while the alias names another bdev ----
expect_ok "lvstore lvsA" bdev_lvol_create_lvstore Malloc1 lvsA -c 1048576
expect_err "create of an lvol whose alias is a bdev's name" "alias 'lvsA/v1' is already the name or alias of bdev 'lvsA/v1'" \
	bdev_lvol_create -l lvsA v1 4
[ -z "$(lvol_aliases)" ] && pass "nothing was created" || fail "lvols after the refusal: $(lvol_aliases)"
expect_ok "another name works" bdev_lvol_create -l lvsA v2 4
expect_ok "snapshot source" bdev_lvol_snapshot lvsA/v2 snap
expect_err "snapshot named like the bdev" "already the name or alias" bdev_lvol_snapshot lvsA/v2 v1
expect_err "clone named like the bdev" "already the name or alias" bdev_lvol_clone lvsA/snap v1
expect_err "rename onto the bdev's name" "already the name or alias" bdev_lvol_rename lvsA/v2 v1
[ "$(lvol_field lvsA/v2 is_degraded)" = false ] && pass "is_degraded shown (false)" ||
	fail "is_degraded: '$(lvol_field lvsA/v2 is_degraded)'"
[ "$(lvol_field lvsA/v2 alias_conflict)" = null ] && pass "no alias conflict shown as null" ||
	fail "alias_conflict: '$(lvol_field lvsA/v2 alias_conflict)'"

# ---- Sizes past what a blob can hold ----
expect_err "resize past the blob limit" "more than an lvol can have \(134217728 clusters" \
	bdev_lvol_resize lvsA/v2 $((134217729))
expect_err "create past the blob limit" "more than an lvol can have" bdev_lvol_create -l lvsA big 134217729
[ "$(lvol_field lvsA/v2 size_bytes)" = 4194304 ] && pass "the lvol kept its size" ||
	fail "size after refused resize: $(lvol_field lvsA/v2 size_bytes)"

# ---- A conflict found at load: reported by RPC ----
expect_ok "lvstore lvsB on aio" bdev_lvol_create_lvstore Aio0 lvsB -c 1048576
expect_ok "lvol lvsB/w" bdev_lvol_create -l lvsB w 4
W_UUID=$(tr -d '"' <"$WORK/out")
stop_tgt
cat >"$WORK/conf2.json" <<JSON
{"subsystems":[{"subsystem":"bdev","config":[
 {"method":"bdev_malloc_create","params":{"name":"lvsB/w","num_blocks":8192,"block_size":512}},
 {"method":"bdev_aio_create","params":{"name":"Aio0","filename":"$IMG","block_size":512}}]}]}
JSON
start_tgt -s 256 -c "$WORK/conf2.json" || finish
rpcpy framework_wait_init >/dev/null 2>&1
for _ in $(seq 50); do
	[ -n "$(lvol_aliases)" ] && break
	sleep 0.1
done
[ "$(lvol_field lvsB/w alias_conflict)" = "lvsB/w" ] && pass "load reports the alias held by bdev lvsB/w" ||
	fail "alias_conflict after load: '$(lvol_field lvsB/w alias_conflict)'"
[ "$(lvol_field lvsB/w uuid)" = "$W_UUID" ] && pass "the lvol is still there by its uuid" ||
	fail "lvol lvsB/w uuid '$(lvol_field lvsB/w uuid)' != $W_UUID"
grep -q "alias lvsB/w is taken by bdev lvsB/w" "$WORK/tgt.log" && pass "and the log says so" ||
	fail "no log line about the alias conflict"
stop_tgt
finish
