#!/bin/bash
# Memory that grows past -s: bdevperf runs a verify workload on a 1 GiB
# malloc bdev with no -s (the default reservation is 256 MB), with --no-huge
# and, when enough hugepages are free, with hugepages; brisk_tgt with -s 16
# creates a 128 MiB malloc bdev over RPC and env_get_mem_stats /
# env_dpdk_get_mem_stats report the growth. A case the machine cannot hold
# (free memory or hugepages) is reported and left out; none possible = skip.
source "$(dirname "$0")/bdevperf_common.sh"
TGT=$ROOT/build/bin/brisk_tgt
TGT_PID=""
RAN=0

stop_tgt() {
	if [ -n "$TGT_PID" ] && kill -0 "$TGT_PID" 2>/dev/null; then
		kill -TERM "$TGT_PID" 2>/dev/null
		wait_for_exit "$TGT_PID" || kill -KILL "$TGT_PID" 2>/dev/null
		wait "$TGT_PID" 2>/dev/null
	fi
	TGT_PID=""
}
trap 'stop_tgt; cleanup' EXIT

mem_available_mb() {
	awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo
}

free_hugepages() {
	cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0
}

# bdevperf verify on 1 GiB of malloc, no -s; extra args select the memory.
run_big() {
	local name=$1; shift
	timeout -k 5 120 "$BDEVPERF" "$@" -c "$WORK/big.json" --json-output "$WORK/$name.out.json" \
		-q 8 -o 64k -w verify -t 1 >"$WORK/$name.log" 2>&1
	BP_RC=$?
	RAN=$((RAN + 1))
	if [ "$BP_RC" -ne 0 ]; then
		fail "$name: bdevperf with a 1 GiB malloc bdev and no -s exited $BP_RC"
		tail -15 "$WORK/$name.log" >&2
		return
	fi
	check "$name" 't["io_failed"] == 0 and t["iops"] > 0' "$name: verify failed" &&
		pass "$name: 1 GiB malloc bdev, no -s, verify: $(result "$name" 'int(t["iops"])') IOPS"
}

bdev_config "$WORK/big.json" bdev_malloc_create \
	'{"name": "Malloc0", "num_blocks": 262144, "block_size": 4096}'

if [ "$(mem_available_mb)" -ge 1800 ]; then
	run_big nohuge --no-huge
else
	echo "note: $(mem_available_mb) MiB available, 1800 needed: --no-huge case left out"
fi
if [ "$(free_hugepages)" -ge 700 ]; then
	run_big huge
else
	echo "note: $(free_hugepages) free hugepages, 700 needed: hugepage case left out"
fi

# brisk_tgt: growth through RPC and the statistics that report it.
SOCK=$WORK/tgt.sock
"$TGT" --no-huge -s 16 -r "$SOCK" >"$WORK/tgt.log" 2>&1 &
TGT_PID=$!
if ! wait_for_socket "$SOCK" "$TGT_PID"; then
	fail "brisk_tgt did not start"
	tail -15 "$WORK/tgt.log" >&2
	finish
fi
RAN=$((RAN + 1))
if rpc "$SOCK" bdev_malloc_create '{"name": "M1", "num_blocks": 32768, "block_size": 4096}' >/dev/null; then
	pass "128 MiB malloc bdev created with -s 16"
else
	fail "bdev_malloc_create of 128 MiB with -s 16 failed"
fi
rpc "$SOCK" env_get_mem_stats >"$WORK/stats.json" || fail "env_get_mem_stats failed"
if python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))["memory"]
assert m["reserved_bytes"] == 16 << 20, m
assert m["total_bytes"] >= m["reserved_bytes"] + (128 << 20), m
assert m["grow_count"] >= 1 and m["max_bytes"] >= m["total_bytes"], m
assert m["hugepages"] is False, m
' "$WORK/stats.json"; then
	pass "env_get_mem_stats: reserved 16 MiB, grown past 144 MiB"
else
	fail "env_get_mem_stats does not report the growth"
fi
if out=$(rpc "$SOCK" env_dpdk_get_mem_stats); then
	file=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["filename"])' "$out")
	if [ -f "$file" ] && grep -q "reserved 16 MiB" "$file"; then
		pass "env_dpdk_get_mem_stats wrote $file"
	else
		fail "env_dpdk_get_mem_stats: $file missing or without the memory line"
	fi
	rm -f "$file"
else
	fail "env_dpdk_get_mem_stats failed"
fi
stop_tgt
[ "$RAN" -gt 0 ] || exit 77
finish
