#!/bin/bash
# The blobfs RPCs through rpc.py against brisk_tgt: blobfs_detect (false on
# an empty bdev, true after blobfs_create), blobfs_create with a cluster
# size, blobfs_set_cache_size, and bad input refused with the field named.
# The store that blobfs_create wrote is then opened by the blobfs tool.
source "$(dirname "$0")/app_common.sh"
RPCPY="$ROOT/scripts/rpc.py"

rpcpy() { timeout 60 python3 "$RPCPY" -s "$SOCK" "$@"; }
# expect_ok DESC ARGS...: rpc.py succeeds (output in $WORK/out).
expect_ok() {
	local desc=$1; shift
	rpcpy "$@" >"$WORK/out" 2>"$WORK/err" && pass "$desc" || fail "$desc: $(cat "$WORK/err")"
}
# expect_err DESC PATTERN ARGS...: rpc.py fails with a message matching PATTERN.
expect_err() {
	local desc=$1 pat=$2; shift 2
	if rpcpy "$@" >"$WORK/out" 2>"$WORK/err"; then
		fail "$desc: succeeded: $(cat "$WORK/out")"
	elif grep -Eqi -- "$pat" "$WORK/err"; then
		pass "$desc ($(head -c 120 "$WORK/err" | tr '\n' ' '))"
	else
		fail "$desc: error '$(cat "$WORK/err")' does not match '$pat'"
	fi
}

IMG=$WORK/aio.img
truncate -s 64M "$IMG"
cat >"$WORK/conf.json" <<JSON
{"subsystems":[{"subsystem":"bdev","config":[
 {"method":"bdev_aio_create","params":{"name":"Aio0","filename":"$IMG","block_size":512}}]}]}
JSON
start_tgt -s 128 -c "$WORK/conf.json" || finish
rpcpy framework_wait_init >/dev/null 2>&1

expect_ok "detect on an empty bdev" blobfs_detect Aio0
grep -qx false "$WORK/out" && pass "empty bdev: false" || fail "detect said $(cat "$WORK/out")"
expect_ok "create (2 MiB clusters)" blobfs_create Aio0 -c 2097152
expect_ok "detect after create" blobfs_detect Aio0
# rpc.py prints nothing for a plain true (SPDK's habit), "false" otherwise
[ ! -s "$WORK/out" ] && pass "created bdev: true" || fail "detect said $(cat "$WORK/out")"
expect_ok "create with the default cluster size" blobfs_create Aio0
expect_err "cluster size not a multiple of 4096" "cluster_sz" blobfs_create Aio0 -c 1048577
expect_err "cluster size below 1 MiB" "cluster_sz" blobfs_create Aio0 -c 4096
expect_err "detect on a missing bdev" "Nope|No such device" blobfs_detect Nope
expect_err "missing bdev_name" "bdev_name" blobfs_detect ""
expect_ok "set cache size" blobfs_set_cache_size 32
expect_err "cache size 0" "size_in_mb" blobfs_set_cache_size 0
stop_tgt

out=$(BRISK_TEST_NO_HUGE=1 timeout -k 5 30 "$ROOT/build/bin/blobfs" -f "$IMG" check 2>&1)
grep -q "check: ok" <<<"$out" && pass "the created blobfs opens in the blobfs tool" || fail "tool: $out"
finish
