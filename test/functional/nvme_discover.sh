#!/bin/bash
# build/bin/nvme_discover (Brisk's NVMe/TCP discovery client) against
# brisk_tgt on 127.0.0.1: two subsystems, one listening on two ports, are
# listed with the layout of `nvme discover`; an I/O subsystem's NQN is refused
# as not a discovery controller; bad -r values are refused. Bounded; every
# process is stopped on exit.
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
source "$ROOT/test/functional/proc_wait.sh"
WORK=$(mktemp -d /tmp/brisk_nvme_discover.XXXXXX)
TGT_PID=""
FAILS=0
cleanup() {
	if [ -n "$TGT_PID" ]; then
		kill -TERM "$TGT_PID" 2>/dev/null
		wait_for_exit "$TGT_PID" || kill -KILL "$TGT_PID" 2>/dev/null
		wait "$TGT_PID" 2>/dev/null
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
P1=$(free_port)
P2=$(free_port)
A=nqn.2016-06.io.brisk:disc-a
B=nqn.2016-06.io.brisk:disc-b
listener() { # nqn port
	echo '{"method":"nvmf_subsystem_add_listener","params":{"nqn":"'"$1"'","listen_address":{"trtype":"TCP","adrfam":"IPv4","traddr":"127.0.0.1","trsvcid":"'"$2"'"}}}'
}
cat >"$WORK/tgt.json" <<JSON
{"subsystems":[{"subsystem":"bdev","config":[
 {"method":"bdev_malloc_create","params":{"name":"Malloc0","num_blocks":2048,"block_size":512}}]},
 {"subsystem":"nvmf","config":[{"method":"nvmf_create_transport","params":{"trtype":"TCP"}},
 {"method":"nvmf_create_subsystem","params":{"nqn":"$A","allow_any_host":true}},
 {"method":"nvmf_subsystem_add_ns","params":{"nqn":"$A","namespace":{"bdev_name":"Malloc0"}}},
 $(listener $A $P1), $(listener $A $P2),
 {"method":"nvmf_create_subsystem","params":{"nqn":"$B","allow_any_host":true}},
 $(listener $B $P2)]}]}
JSON
timeout -k 5 120 build/bin/brisk_tgt --no-huge -s 64 -m 0x1 -r "$WORK/tgt.sock" -c "$WORK/tgt.json" \
	>"$WORK/tgt.log" 2>&1 &
TGT_PID=$!
wait_for_socket "$WORK/tgt.sock" "$TGT_PID" || { fail "brisk_tgt did not start"; cat "$WORK/tgt.log"; exit 1; }
for _ in $(seq 1 100); do grep -q "port $P2" "$WORK/tgt.log" && break; sleep 0.1; done

disc() { # out-file trid...
	local out=$1
	shift
	timeout -k 5 30 build/bin/nvme_discover --no-huge -s 64 "$@" >"$WORK/$out" 2>&1
}
disc d1 -r "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$P1"
rc=$?
[ $rc = 0 ] && grep -q "^Discovery Log Number of Records 3, Generation counter" "$WORK/d1" &&
	pass "nvme_discover: 3 records (two subsystems, one on two ports)" ||
	{ fail "nvme_discover (exit $rc)"; cat "$WORK/d1"; }
[ "$(grep -c "^subnqn:  $A\$" "$WORK/d1")" = 2 ] && [ "$(grep -c "^subnqn:  $B\$" "$WORK/d1")" = 1 ] &&
	pass "each subsystem listed once per listener" || fail "subsystems listed wrongly"
grep -q "^trsvcid: $P2\$" "$WORK/d1" && grep -q "^traddr:  127.0.0.1\$" "$WORK/d1" &&
	grep -q "^trtype:  tcp\$" "$WORK/d1" && grep -q "^subtype: nvme subsystem\$" "$WORK/d1" &&
	grep -q "^adrfam:  ipv4\$" "$WORK/d1" && pass "entries in nvme discover's layout" ||
	fail "entry fields"

disc d2 -r "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$P1 subnqn:$A"
[ $? != 0 ] && grep -q "is not a discovery controller" "$WORK/d2" &&
	pass "an I/O subsystem's NQN is refused: not a discovery controller" ||
	{ fail "I/O subsystem NQN not refused"; cat "$WORK/d2"; }
disc d3 -r "trtype:PCIe traddr:0000:00:04.0"
[ $? != 0 ] && grep -q "needs trtype:TCP" "$WORK/d3" && pass "a PCIe trid is refused" ||
	{ fail "PCIe trid"; cat "$WORK/d3"; }
disc d4
[ $? != 0 ] && grep -q "\-r TRID is needed" "$WORK/d4" && pass "no -r is refused" || fail "no -r"

kill -0 "$TGT_PID" 2>/dev/null && pass "brisk_tgt still running" || fail "brisk_tgt died"
echo "nvme_discover: $FAILS failures"
[ $FAILS = 0 ]
