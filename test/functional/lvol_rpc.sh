#!/bin/bash
# Lvol stores and lvols through rpc.py against brisk_tgt: stores on a malloc
# and on an aio bdev, thick and thin lvols, rename, resize, read-only,
# delete, store rename and delete, info JSON and save_config, and bad input
# (each refused with a clear error and nothing changed). Then I/O: bdevperf
# verify on a thick and a thin lvol over malloc.
source "$(dirname "$0")/lvol_common.sh"

IMG=$WORK/aio.img
truncate -s 128M "$IMG"
cat >"$WORK/conf.json" <<JSON
{"subsystems":[{"subsystem":"bdev","config":[
 {"method":"bdev_malloc_create","params":{"name":"Malloc0","num_blocks":131072,"block_size":512}},
 {"method":"bdev_aio_create","params":{"name":"Aio0","filename":"$IMG","block_size":512}}]}]}
JSON
start_tgt -s 256 -c "$WORK/conf.json" || finish
rpcpy framework_wait_init >/dev/null 2>&1

# ---- Stores ----
expect_ok "lvstore on malloc" bdev_lvol_create_lvstore Malloc0 lvs_m -c 1048576
LVS_M=$(tr -d '"' <"$WORK/out")
expect_ok "lvstore on aio (clear none, md ratio 200)" bdev_lvol_create_lvstore Aio0 lvs_a -c 1048576 \
	--clear-method none -m 200
expect_err "duplicate lvstore name" "already in use" bdev_lvol_create_lvstore Malloc0 lvs_a
expect_err "lvstore on a claimed bdev" "claimed|Operation not permitted" bdev_lvol_create_lvstore Malloc0 other
expect_err "lvstore on a missing bdev" "No such device" bdev_lvol_create_lvstore Nope lvs_x
expect_err "bad cluster size" "cluster_sz" bdev_lvol_create_lvstore Malloc0 lvs_x -c 1000
expect_err "bad clear method" "clear_method" bdev_lvol_create_lvstore Malloc0 lvs_x --clear-method shred
expect_err "lvstore name too long" "lvs_name" bdev_lvol_create_lvstore Malloc0 "$(printf 'n%.0s' {1..64})"
expect_ok "get lvstores" bdev_lvol_get_lvstores
n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$WORK/out")
[ "$n" = 2 ] && pass "two lvstores listed" || fail "expected 2 lvstores, got $n"
expect_ok "get lvstore by uuid" bdev_lvol_get_lvstores -u "$LVS_M"
grep -q '"name": "lvs_m"' "$WORK/out" && grep -q '"base_bdev": "Malloc0"' "$WORK/out" &&
	pass "lvstore by uuid shows name and base bdev" || fail "lvstore by uuid: $(cat "$WORK/out")"
FREE_A=$(rpcpy bdev_lvol_get_lvstores -l lvs_a | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["free_clusters"])')

# ---- Lvols ----
expect_ok "thick lvol" bdev_lvol_create -l lvs_a thick 16
THICK=$(tr -d '"' <"$WORK/out")
expect_ok "thin lvol" bdev_lvol_create -l lvs_a -t thin 64
expect_ok "lvol by lvstore uuid" bdev_lvol_create -u "$LVS_M" m1 8
expect_ok "lvol with clear method" bdev_lvol_create -l lvs_m -c write_zeroes m2 4
rpc bdev_lvol_create '{"lvs_name":"lvs_m","lvol_name":"legacy","size":3145728}' >/dev/null &&
	[ "$(lvol_field lvs_m/legacy size_bytes)" = 3145728 ] && pass "legacy size in bytes" || fail "legacy size"
[ "$(lvol_field lvs_a/thin is_thin_provisioned)" = true ] && [ "$(lvol_field lvs_a/thin num_allocated_clusters)" = 0 ] &&
	pass "thin lvol reports no allocated cluster" || fail "thin lvol fields"
[ "$(lvol_field lvs_a/thick uuid)" = "$THICK" ] && pass "lvol bdev named by its uuid" || fail "uuid mismatch"
free_now=$(rpcpy bdev_lvol_get_lvstores -l lvs_a | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["free_clusters"])')
[ "$free_now" = $((FREE_A - 16)) ] && pass "thick lvol took 16 clusters" || fail "free clusters $FREE_A -> $free_now"

before=$(lvol_aliases)
expect_err "duplicate lvol name" "already exists" bdev_lvol_create -l lvs_a thick 4
expect_err "size bigger than free space" "free|No space" bdev_lvol_create -l lvs_a huge 100000
expect_err "unknown lvstore" "No such lvstore" bdev_lvol_create -l nope v 4
expect_err "negative size" "negative" bdev_lvol_create -l lvs_a neg -- -4
expect_err "zero size" "size_in_mib" bdev_lvol_create -l lvs_a zero 0
expect_err "lvol name too long" "lvol_name" bdev_lvol_create -l lvs_a "$(printf 'v%.0s' {1..64})" 4
expect_err "lvol name with a slash" "lvol_name" bdev_lvol_create -l lvs_a "a/b" 4
expect_err "both uuid and lvs_name" "exactly one" bdev_lvol_create -l lvs_a -u "$LVS_M" both 4
[ "$(lvol_aliases)" = "$before" ] && pass "bad input changed no lvol" || fail "lvols changed: $before -> $(lvol_aliases)"
free_after=$(rpcpy bdev_lvol_get_lvstores -l lvs_a | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["free_clusters"])')
[ "$free_after" = "$free_now" ] && pass "bad input changed no free count" || fail "free $free_now -> $free_after"

# Info JSON and save_config.
if rpc bdev_get_bdevs '{"name":"lvs_a/thin"}' >"$WORK/bdev.json" 2>&1; then
	python3 - "$WORK/bdev.json" "$(rpcpy bdev_lvol_get_lvstores -l lvs_a | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["uuid"])')" <<'PY' && pass "info JSON: lvstore uuid, base bdev, thin flag" || fail "info JSON: $(cat "$WORK/bdev.json")"
import json, sys
b = json.load(open(sys.argv[1]))[0]
l = b["driver_specific"]["lvol"]
assert b["aliases"] == ["lvs_a/thin"], b["aliases"]
assert l["lvol_store_uuid"] == sys.argv[2] and l["base_bdev"] == "Aio0" and l["thin_provision"] is True, l
assert b["product_name"] == "Logical Volume"
PY
else
	fail "bdev_get_bdevs lvs_a/thin: $(cat "$WORK/bdev.json")"
fi
rpc save_config >"$WORK/saved.json" && ! grep -q bdev_lvol "$WORK/saved.json" && grep -q bdev_aio_create "$WORK/saved.json" &&
	pass "save_config has the base bdevs and no lvol call" || fail "save_config: $(grep -c bdev_lvol "$WORK/saved.json") lvol calls"

# Rename.
expect_ok "rename lvol" bdev_lvol_rename lvs_a/thin thin2
[ -n "$(lvol_field lvs_a/thin2 uuid)" ] && [ -z "$(lvol_field lvs_a/thin uuid)" ] && pass "renamed lvol listed under its new alias" ||
	fail "rename not visible: $(lvol_aliases)"
expect_err "rename onto an existing name" "already exists" bdev_lvol_rename lvs_a/thin2 thick
expect_err "rename an unknown lvol" "No such lvol" bdev_lvol_rename lvs_a/none x
expect_ok "rename lvstore" bdev_lvol_rename_lvstore lvs_a lvs_b
rpc bdev_get_bdevs '{"name":"lvs_b/thick"}' >/dev/null 2>&1 && ! rpc bdev_get_bdevs '{"name":"lvs_a/thick"}' >/dev/null 2>&1 &&
	pass "lvstore rename moved the bdev aliases" || fail "aliases after lvstore rename"
expect_err "rename lvstore onto a used name" "in use" bdev_lvol_rename_lvstore lvs_b lvs_m

# Resize.
expect_ok "grow thick lvol" bdev_lvol_resize lvs_b/thick 24
[ "$(lvol_field lvs_b/thick size_bytes)" = $((24 * 1024 * 1024)) ] && pass "lvol is 24 MiB" || fail "size $(lvol_field lvs_b/thick size_bytes)"
blocks=$(rpc bdev_get_bdevs '{"name":"lvs_b/thick"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["num_blocks"])')
[ "$blocks" = $((24 * 2048)) ] && pass "bdev grew with it" || fail "bdev has $blocks blocks"
expect_ok "shrink thick lvol" bdev_lvol_resize lvs_b/thick 8
expect_err "resize below zero" "negative" bdev_lvol_resize lvs_b/thick -- -1
expect_err "resize beyond free space" "free|No space" bdev_lvol_resize lvs_b/thick 100000
[ "$(lvol_field lvs_b/thick size_bytes)" = $((8 * 1024 * 1024)) ] && pass "failed resizes kept 8 MiB" || fail "size $(lvol_field lvs_b/thick size_bytes)"

# Read-only.
expect_ok "set read-only" bdev_lvol_set_read_only lvs_b/thick
[ "$(lvol_field lvs_b/thick is_read_only)" = true ] && pass "lvol is read-only" || fail "not read-only"
w=$(rpc bdev_get_bdevs '{"name":"lvs_b/thick"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["supported_io_types"]["write"])')
[ "$w" = False ] && pass "read-only bdev refuses writes" || fail "write supported: $w"
expect_err "resize a read-only lvol" "read-only" bdev_lvol_resize lvs_b/thick 16

# Grow a store (nothing new on the device).
expect_ok "grow lvstore" bdev_lvol_grow_lvstore -l lvs_b
expect_err "grow an unknown lvstore" "No such lvstore" bdev_lvol_grow_lvstore -l nope

# Delete.
expect_ok "delete lvol" bdev_lvol_delete lvs_b/thin2
[ -z "$(lvol_field lvs_b/thin2 uuid)" ] && pass "deleted lvol gone" || fail "thin2 still listed"
expect_err "delete an unknown lvol" "No such lvol" bdev_lvol_delete lvs_b/thin2
expect_ok "delete lvstore" bdev_lvol_delete_lvstore -l lvs_m
[ "$(lvol_aliases)" = "lvs_b/thick" ] && pass "its lvols are gone" || fail "lvols: $(lvol_aliases)"
expect_ok "the base bdev is free again" bdev_lvol_create_lvstore Malloc0 lvs_m2
LVS_M2=$(tr -d '"' <"$WORK/out")
expect_err "delete an unknown lvstore" "No such lvstore" bdev_lvol_delete_lvstore -l lvs_m

# A full store: 64 MiB with 4 MiB clusters has 16 blob ids, one is the
# store's own. Thin lvols until create is refused, with the limit named.
made=0
while [ "$made" -lt 100 ] && rpcpy bdev_lvol_create -l lvs_m2 -t "f$made" 4 >/dev/null 2>"$WORK/err"; do
	made=$((made + 1))
done
if grep -q "is full: it holds at most $made lvols" "$WORK/err"; then
	pass "full lvstore refuses lvol $((made + 1)): $(cat "$WORK/err")"
else
	fail "full lvstore: after $made lvols: $(cat "$WORK/err")"
fi
expect_err "snapshot in a full lvstore" "is full" bdev_lvol_snapshot lvs_m2/f0 snap
expect_ok "delete one of them" bdev_lvol_delete lvs_m2/f0
expect_ok "then a create fits again" bdev_lvol_create -l lvs_m2 -t again 4
expect_ok "delete lvstore by uuid" bdev_lvol_delete_lvstore -u "$LVS_M2"
stop_tgt

# ---- I/O: bdevperf verify on a thick and a thin lvol over malloc ----
cat >"$WORK/bp.json" <<'JSON'
{"subsystems":[{"subsystem":"bdev","config":[
 {"method":"bdev_malloc_create","params":{"name":"Malloc0","num_blocks":262144,"block_size":512}},
 {"method":"bdev_lvol_create_lvstore","params":{"bdev_name":"Malloc0","lvs_name":"lvs0","cluster_sz":1048576}},
 {"method":"bdev_lvol_create","params":{"lvs_name":"lvs0","lvol_name":"thick","size_in_mib":32}},
 {"method":"bdev_lvol_create","params":{"lvs_name":"lvs0","lvol_name":"thin","size_in_mib":32,"thin_provision":true}}]}]}
JSON
if timeout -k 5 60 "$ROOT/build/bin/bdevperf" -c "$WORK/bp.json" -s 256 -q 32 -o 4096 -w verify -t 2 \
	-T lvs0/thick -T lvs0/thin >"$WORK/bp.log" 2>&1; then
	pass "bdevperf verify on thick and thin lvols"
else
	fail "bdevperf verify on lvols"
	tail -10 "$WORK/bp.log" >&2
fi
for w in unmap write_zeroes; do
	if timeout -k 5 60 "$ROOT/build/bin/bdevperf" -c "$WORK/bp.json" -s 256 -q 8 -o 64k -w $w -t 1 \
		-T lvs0/thick -T lvs0/thin >"$WORK/bp_$w.log" 2>&1; then
		pass "bdevperf $w on thick and thin lvols"
	else
		fail "bdevperf $w on lvols"
		tail -10 "$WORK/bp_$w.log" >&2
	fi
done
finish
