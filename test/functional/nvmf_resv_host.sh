#!/bin/bash
# NVMe reservations between Brisk's host side (build/bin/nvme_resv: two
# lib/nvme TCP controllers with their own host IDs, through two listeners of
# one subsystem) and brisk_tgt on 127.0.0.1: register, Write Exclusive, the
# other host's write conflicts, report, preempt; then brisk_tgt restarts
# with the same ptpl_file and a new host finds the reservation, clears it.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
ROOT=$PWD
TGT=$ROOT/build/bin/brisk_tgt
TOOL=$ROOT/build/bin/nvme_resv
WORK=$(mktemp -d /tmp/brisk_nvmf_resv.XXXXXX)
SOCK=$WORK/tgt.sock
TGT_PID=""
NQN=nqn.2016-06.io.brisk:resv-host
FAILED=0

stop_tgt() {
	if [ -n "$TGT_PID" ] && kill -0 "$TGT_PID" 2>/dev/null; then
		kill -TERM "$TGT_PID" 2>/dev/null
		for _ in $(seq 100); do kill -0 "$TGT_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$TGT_PID" 2>/dev/null
	fi
	[ -n "$TGT_PID" ] && wait "$TGT_PID" 2>/dev/null
	TGT_PID=""
}
cleanup() {
	stop_tgt
	rm -rf "$WORK"
}
trap cleanup EXIT

for b in "$TGT" "$TOOL"; do [ -x "$b" ] || { echo "FAIL: $b is not built"; exit 1; }; done
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
P1=$(free_port)
P2=$(free_port)
rpc() { timeout 30 python3 "$ROOT/scripts/rpc.py" -s "$SOCK" "$@" >/dev/null; }
trid() { echo "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$1 subnqn:$NQN"; }

start_tgt() {
	rm -f "$SOCK"
	timeout 300 "$TGT" --no-huge -s 128 -r "$SOCK" >>"$WORK/tgt.log" 2>&1 &
	TGT_PID=$!
	for _ in $(seq 200); do [ -S "$SOCK" ] && break; sleep 0.1; done
	rpc bdev_malloc_create -b Malloc0 8 512 &&
		rpc nvmf_create_transport -t TCP &&
		rpc nvmf_create_subsystem "$NQN" -a &&
		rpc nvmf_subsystem_add_ns "$NQN" Malloc0 --ptpl-file "$WORK/ns1.ptpl" &&
		rpc nvmf_subsystem_add_listener "$NQN" -t tcp -a 127.0.0.1 -s "$P1" &&
		rpc nvmf_subsystem_add_listener "$NQN" -t tcp -a 127.0.0.1 -s "$P2"
}

run_tool() {
	timeout 60 "$TOOL" "$@" || FAILED=1
}

if start_tgt; then echo "ok: brisk_tgt with two listeners and a ptpl_file"; else echo "FAIL: target setup"; exit 1; fi
run_tool -r "$(trid "$P1")" -r "$(trid "$P2")"
stop_tgt
if start_tgt; then echo "ok: brisk_tgt restarted with the same ptpl_file"; else echo "FAIL: restart"; exit 1; fi
run_tool -r "$(trid "$P1")" --after-restart
stop_tgt
[ "$FAILED" = 0 ] || { echo "FAIL: nvmf_resv_host (target log: $WORK/tgt.log)"; tail -20 "$WORK/tgt.log"; exit 1; }
echo "nvmf_resv_host: PASS"
