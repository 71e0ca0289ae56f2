#!/bin/bash
# lib/nvme's NVMe/TCP host against Brisk's own target (brisk_tgt, a malloc
# namespace exported through the nvmf RPCs) on 127.0.0.1: nvme_identify
# shows the configured model and serial, nvme_io's checks pass (fused
# Compare-and-Write included), nvme_perf randrw runs without
# errors (in-capsule writes and R2T writes), bdevperf verify through
# bdev_nvme_attach_controller -t tcp with digests off and on, and a wrong
# subnqn is refused with a clear error. Every process is bounded in time
# and stopped on exit.
source "$(dirname "$0")/bdevperf_common.sh"

TGT=$ROOT/build/bin/brisk_tgt
RPC_PY=$ROOT/scripts/rpc.py
NQN=nqn.2016-06.io.brisk:tcphost
SN=BRISK-TCP-SN7
MN="Brisk TCP host test"
TGT_PID=""

stop_tgt() {
	if [ -n "$TGT_PID" ] && kill -0 "$TGT_PID" 2>/dev/null; then
		kill -TERM "$TGT_PID" 2>/dev/null
		wait_for_exit "$TGT_PID" || kill -KILL "$TGT_PID" 2>/dev/null
		wait "$TGT_PID" 2>/dev/null
	fi
	TGT_PID=""
}
trap 'stop_tgt; cleanup' EXIT

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
timeout -k 5 180 "$TGT" --no-huge -s 128 -m 0x1 -r "$WORK/tgt.sock" >"$WORK/tgt.log" 2>&1 &
TGT_PID=$!
wait_for_socket "$WORK/tgt.sock" "$TGT_PID" || { fail "brisk_tgt did not start"; cat "$WORK/tgt.log" >&2; finish; }

trpc() {
	timeout 30 python3 "$RPC_PY" -s "$WORK/tgt.sock" "$@" >/dev/null
}
trpc bdev_malloc_create -b Malloc0 32 512 &&
	trpc nvmf_create_transport -t TCP -c 8192 &&
	trpc nvmf_create_subsystem "$NQN" -s "$SN" -d "$MN" -a &&
	trpc nvmf_subsystem_add_ns "$NQN" Malloc0 &&
	trpc nvmf_subsystem_add_listener "$NQN" -t tcp -a 127.0.0.1 -s "$PORT" -f ipv4 &&
	trpc nvmf_subsystem_add_listener "$NQN" -t tcp -a ::1 -s "$PORT" -f ipv6 ||
	{ fail "target configuration"; finish; }
pass "target: malloc namespace exported on 127.0.0.1 and ::1, port $PORT"

TRID="trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$PORT subnqn:$NQN"

timeout -k 5 30 "$ROOT/build/bin/nvme_identify" --no-huge -s 64 -r "$TRID" >"$WORK/id.log" 2>&1
if [ $? -eq 0 ] && grep -q "^sn *: $SN\$" "$WORK/id.log" && grep -q "^mn *: $MN\$" "$WORK/id.log"; then
	pass "nvme_identify over TCP: serial and model as configured"
else
	fail "nvme_identify over TCP"; tail -20 "$WORK/id.log" >&2
fi

timeout -k 5 30 "$ROOT/build/bin/nvme_identify" --no-huge -s 64 \
	-r "trtype:TCP adrfam:IPv6 traddr:::1 trsvcid:$PORT subnqn:$NQN" >"$WORK/id6.log" 2>&1
if [ $? -eq 0 ] && grep -q "^sn *: $SN\$" "$WORK/id6.log"; then
	pass "nvme_identify over TCP on IPv6 (::1)"
else
	fail "nvme_identify over IPv6"; tail -20 "$WORK/id6.log" >&2
fi

# Every nvme_io check (fused Compare-and-Write among them) over TCP.
timeout -k 5 60 "$ROOT/build/bin/nvme_io" --no-huge -s 64 -r "$TRID" >"$WORK/io.log" 2>&1
if [ $? -eq 0 ] && grep -q "compare-and-write, mismatch.* ok" "$WORK/io.log" && grep -q "^nvme_io: PASS" "$WORK/io.log"; then
	pass "nvme_io over TCP: every I/O check, fused Compare-and-Write included"
else
	fail "nvme_io over TCP: $(grep -m1 "FAIL" "$WORK/io.log")"; grep "^nvme_io" "$WORK/io.log" | tail -25 >&2
fi

# perf NAME SIZE SECONDS: randrw without errors.
perf() {
	timeout -k 5 30 "$ROOT/build/bin/nvme_perf" --no-huge -s 128 -q 32 -o "$2" -w randrw -t "$3" \
		-r "$TRID" >"$WORK/$1.log" 2>&1
	local rc=$?
	if [ $rc -eq 0 ] && grep -q "^Total" "$WORK/$1.log" && ! grep -qiE "error|fail" "$WORK/$1.log"; then
		pass "nvme_perf randrw $2 B for $3 s over TCP: $(awk '/^Total/ {print $3}' "$WORK/$1.log") IOPS"
	else
		fail "nvme_perf randrw $2 B (exit $rc)"; tail -15 "$WORK/$1.log" >&2
	fi
}
perf perf4k 4096 3
perf perf64k 65536 1 # writes above the 8 KiB in-capsule limit go by R2T

# verify NAME HDGST DDGST SIZE: bdevperf verify on Nvme0n1.
verify() {
	bdev_config "$WORK/$1.json" bdev_nvme_attach_controller '{"name": "Nvme0", "trtype": "tcp",
		"adrfam": "ipv4", "traddr": "127.0.0.1", "trsvcid": "'"$PORT"'", "subnqn": "'"$NQN"'",
		"hdgst": '"$2"', "ddgst": '"$3"'}'
	run_bdevperf "$1" --no-huge -L nvme -c "$WORK/$1.json" -q 16 -o "$4" -w verify -t 2
	[ "$BP_RC" -eq 0 ] || { fail "bdevperf $1 exited $BP_RC"; tail -15 "$WORK/$1.log" >&2; return; }
	local want
	want="header digest $([ "$2" = true ] && echo on || echo off), data digest $([ "$3" = true ] && echo on || echo off)"
	grep -q "qid 1: connected, $want" "$WORK/$1.log" || fail "$1: the I/O connection did not negotiate '$want'"
	check "$1" '[j["bdev"] for j in r["results"]] == ["Nvme0n1"] and t["io_completed"] > 20 and t["io_failed"] == 0 and t["miscompares"] == 0' \
		"bdevperf verify $1" && pass "bdevperf verify over TCP, hdgst $2 ddgst $3, $4: $(result "$1" 'int(t["iops"])') IOPS"
}
verify plain false false 4k
verify plain64k false false 64k
verify digests true true 4k
verify digests64k true true 64k

timeout -k 5 30 "$ROOT/build/bin/nvme_identify" --no-huge -s 64 \
	-r "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$PORT subnqn:$NQN-none" >"$WORK/bad.log" 2>&1
if [ $? -ne 0 ] && grep -q "no such subsystem (subnqn)" "$WORK/bad.log"; then
	pass "a wrong subnqn is refused: $(grep -o "Connect to.*" "$WORK/bad.log" | head -1 | cut -c1-60)..."
else
	fail "a wrong subnqn was not refused clearly"; cat "$WORK/bad.log" >&2
fi

stop_tgt
finish
