#!/bin/bash
# Persistence: on an aio file, create an lvstore and lvols (thick, thin,
# renamed, resized, read-only, one deleted), write data, stop the target,
# start it again with only the aio bdev in its config, and find every lvol
# with its name, uuid, flags and data. A third start after an lvstore rename
# finds the new name; then the file grows and the lvstore with it.
source "$(dirname "$0")/lvol_common.sh"

IMG=$WORK/disk.img
CONF=$WORK/conf.json
aio_config "$CONF" "$IMG" 128

start_tgt -s 128 -c "$CONF" || finish
expect_ok "lvstore on aio" bdev_lvol_create_lvstore Aio0 lvs0 -c 1048576
expect_ok "thick lvol" bdev_lvol_create -l lvs0 thick 8
expect_ok "thin lvol" bdev_lvol_create -l lvs0 -t thin 32
expect_ok "lvol to rename" bdev_lvol_create -l lvs0 before 4
expect_ok "lvol to resize" bdev_lvol_create -l lvs0 grower 4
expect_ok "lvol to make read-only" bdev_lvol_create -l lvs0 ro 2
expect_ok "lvol to delete" bdev_lvol_create -l lvs0 gone 2
expect_ok "rename" bdev_lvol_rename lvs0/before after
expect_ok "resize" bdev_lvol_resize lvs0/grower 12
expect_ok "delete" bdev_lvol_delete lvs0/gone
rpcpy bdev_lvol_get_lvols >"$WORK/lvols.before"
stop_tgt

check_io "write data into the lvols" "$CONF" w:lvs0/thick:0:8M:0x11 w:lvs0/thin:4M:1M:0x22 \
	w:lvs0/after:0:4M:0x33 w:lvs0/grower:10M:2M:0x44 w:lvs0/ro:0:2M:0x55

start_tgt -s 128 -c "$CONF" || finish
rpcpy framework_wait_init >/dev/null 2>&1
expect_ok "set read-only" bdev_lvol_set_read_only lvs0/ro
rpcpy bdev_lvol_get_lvols >"$WORK/lvols.mid"
stop_tgt

start_tgt -s 128 -c "$CONF" || finish
rpcpy bdev_lvol_get_lvols >"$WORK/lvols.after"
python3 - "$WORK/lvols.before" "$WORK/lvols.after" <<'PY' && pass "every lvol came back with its uuid, size and flags" || fail "lvols differ after restart"
import json, sys
before = {l["alias"]: l for l in json.load(open(sys.argv[1]))}
after = {l["alias"]: l for l in json.load(open(sys.argv[2]))}
assert sorted(before) == sorted(after) == ["lvs0/after", "lvs0/grower", "lvs0/ro", "lvs0/thick", "lvs0/thin"], (sorted(before), sorted(after))
for a, l in before.items():
    for k in ("uuid", "name", "is_thin_provisioned", "size_bytes"):
        assert after[a][k] == l[k], (a, k, l[k], after[a][k])
assert after["lvs0/ro"]["is_read_only"] is True
assert after["lvs0/thin"]["num_allocated_clusters"] == 1, after["lvs0/thin"]
assert after["lvs0/grower"]["size_bytes"] == 12 * 1024 * 1024
PY
expect_ok "rename the lvstore" bdev_lvol_rename_lvstore lvs0 lvs_new
stop_tgt

check_io "data read back after two restarts" "$CONF" r:lvs_new/thick:0:8M:0x11 r:lvs_new/thin:4M:1M:0x22 \
	r:lvs_new/thin:0:4M:0 r:lvs_new/after:0:4M:0x33 r:lvs_new/grower:10M:2M:0x44 r:lvs_new/ro:0:2M:0x55

start_tgt -s 128 -c "$CONF" || finish
[ "$(lvol_aliases)" = "lvs_new/after lvs_new/grower lvs_new/ro lvs_new/thick lvs_new/thin" ] &&
	pass "lvstore rename persisted" || fail "after lvstore rename: $(lvol_aliases)"
grep -q "lvstore lvs_new loaded" "$WORK/tgt.log" && pass "lvstore found by examine at start-up" || fail "no load message"
# Hot remove of the base bdev unloads the store; adding it back loads it again.
rpc bdev_aio_delete '{"name":"Aio0"}' >/dev/null && [ -z "$(lvol_aliases)" ] &&
	[ "$(rpcpy bdev_lvol_get_lvstores)" = "[]" ] && pass "base bdev removed: lvstore and lvols gone" ||
	fail "after bdev_aio_delete: lvols '$(lvol_aliases)'"
rpc bdev_aio_create "{\"name\":\"Aio0\",\"filename\":\"$IMG\",\"block_size\":512}" >/dev/null
for _ in $(seq 1 50); do [ -n "$(lvol_aliases)" ] && break; sleep 0.1; done
[ "$(lvol_aliases)" = "lvs_new/after lvs_new/grower lvs_new/ro lvs_new/thick lvs_new/thin" ] &&
	pass "base bdev added back at run time: examine loaded the store" || fail "after re-adding Aio0: $(lvol_aliases)"

# Grow: the file doubles, the aio bdev is rescanned, the lvstore takes the
# new space, and keeps it after a restart.
clusters() {
	rpcpy bdev_lvol_get_lvstores -l lvs_new |
		python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["total_data_clusters"])'
}
before=$(clusters)
truncate -s 256M "$IMG"
expect_ok "rescan the grown file" bdev_aio_rescan Aio0
expect_ok "grow the lvstore" bdev_lvol_grow_lvstore -l lvs_new
grown=$(clusters)
[ "$grown" -ge $((before + 120)) ] && pass "lvstore grew from $before to $grown clusters" ||
	fail "lvstore has $grown clusters (was $before)"
expect_ok "a thick lvol in the new space" bdev_lvol_create -l lvs_new big 150
stop_tgt
start_tgt -s 128 -c "$CONF" || finish
[ "$(clusters)" = "$grown" ] && pass "grown size persisted" || fail "after restart: $(clusters) clusters"
[ -n "$(lvol_field lvs_new/big uuid)" ] && pass "lvol in the new space persisted" || fail "big missing"
stop_tgt
finish
