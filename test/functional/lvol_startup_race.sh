#!/bin/bash
# Start-up race: an lvol store is loaded by examine, in the background, after
# the configuration created its bdev. Right after start-up (and right after
# a kill -9, when the dirty store replays), bdev_lvol_get_lvstores must list
# the store, not [], and framework_wait_init ("start-up complete") must mean
# the store and its lvols are there.
#   1. A slow examine made deterministic: the store sits behind a delay bdev
#      with 250 ms reads, examined on request (auto examine off). The first
#      RPC after the socket appears and framework_wait_init both see it.
#   2. Three rounds of kill -9 under write load (bdevperf -z), each followed
#      at once by bdev_lvol_get_lvstores, which must list the store.
# Every process the test starts is killed on every exit path.
source "$(dirname "$0")/lvol_common.sh"

IMG=$WORK/disk.img
BDEVPERF=$ROOT/build/bin/bdevperf
PT_PID=""
aio_config "$WORK/aio.json" "$IMG" 64

kill_extra() {
	[ -n "$PT_PID" ] && kill -KILL "$PT_PID" 2>/dev/null && wait "$PT_PID" 2>/dev/null
	PT_PID=""
	cleanup
}
trap kill_extra EXIT
# The EXIT trap runs on a signal only when the signal has a trap of its own.
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- set up: a store on Aio0 through a delay bdev (no latency yet) ----
start_tgt -s 128 -c "$WORK/aio.json" || finish
expect_ok "delay bdev over Aio0" bdev_delay_create -b Aio0 -d Delay0 -r 0 -t 0 -w 0 -n 0
expect_ok "lvstore on Delay0" bdev_lvol_create_lvstore Delay0 lvs0 -c 1048576
for i in 1 2 3 4; do
	expect_ok "lvol v$i" bdev_lvol_create -l lvs0 "v$i" 4
done
stop_tgt

cat >"$WORK/slow.json" <<JSON
{"subsystems":[{"subsystem":"bdev","config":[
 {"method":"bdev_set_options","params":{"bdev_auto_examine":false}},
 {"method":"bdev_aio_create","params":{"name":"Aio0","filename":"$IMG","block_size":512}},
 {"method":"bdev_delay_create","params":{"base_bdev_name":"Aio0","name":"Delay0",
  "avg_read_latency":250000,"p99_read_latency":250000,"avg_write_latency":0,"p99_write_latency":0}},
 {"method":"bdev_examine","params":{"name":"Delay0"}}]}]}
JSON

# first_rpc METHOD: a client started (and ready) before the target, which
# connects the moment the socket appears and sends METHOD (no interpreter
# start-up in between, which takes seconds on a busy machine); its answer
# lands in $WORK/first.out or $WORK/first.err.
first_rpc() {
	rm -f "$WORK/first.ready"
	timeout 60 python3 - "$SOCK" "$1" "$WORK/first.ready" >"$WORK/first.out" 2>"$WORK/first.err" <<'PY' &
import json, os, socket, sys, time
path, method = sys.argv[1], sys.argv[2]
open(sys.argv[3], "w").close()
deadline = time.time() + 50
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
while True:
    try:
        s.connect(path)
        break
    except OSError:
        if time.time() > deadline:
            sys.exit("no socket")
        time.sleep(0.002)
s.sendall(json.dumps({"jsonrpc": "2.0", "method": method, "id": 1}).encode())
buf, dec = b"", json.JSONDecoder()
while True:
    chunk = s.recv(65536)
    if not chunk:
        sys.exit("connection closed before an answer")
    buf += chunk
    try:
        resp, _ = dec.raw_decode(buf.decode())
        break
    except ValueError:
        continue
if "error" in resp:
    sys.exit("error %d: %s" % (resp["error"]["code"], resp["error"]["message"]))
print(json.dumps(resp["result"]))
PY
	PT_PID=$!
	for _ in $(seq 1 600); do
		[ -e "$WORK/first.ready" ] && return 0
		sleep 0.05
	done
	fail "the early client did not start"
}

# ---- 1a. the first RPC, sent the moment the socket appears ----
rm -f "$SOCK"
first_rpc bdev_lvol_get_lvstores
start_tgt -s 128 -c "$WORK/slow.json" || finish
wait "$PT_PID"
PT_PID=""
if grep -q '"name": "lvs0"' "$WORK/first.out"; then
	pass "the first bdev_lvol_get_lvstores lists lvs0"
else
	fail "the first bdev_lvol_get_lvstores, during examine: $(cat "$WORK/first.out" "$WORK/first.err")"
fi
n=$(rpcpy bdev_lvol_get_lvols -l lvs0 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$n" = 4 ] && pass "bdev_lvol_get_lvols lists the 4 lvols" || fail "bdev_lvol_get_lvols lists $n lvols, want 4"
stop_tgt

# ---- 1b. "start-up complete" (framework_wait_init) comes after the store loaded ----
first_rpc framework_wait_init
start_tgt -s 128 -c "$WORK/slow.json" || finish
wait "$PT_PID"
PT_PID=""
[ "$(cat "$WORK/first.out")" = "true" ] || fail "framework_wait_init: $(cat "$WORK/first.out" "$WORK/first.err")"
order=$(grep -o "lvstore lvs0 loaded\|start-up complete" "$WORK/tgt.log" | tr '\n' ',')
[ "$order" = "lvstore lvs0 loaded,start-up complete," ] &&
	pass "start-up completes after the store loaded (framework_wait_init answered then)" ||
	fail "log order: $order"
stop_tgt

# ---- 2. kill -9 under load, then at once get_lvstores ----
[ -x "$BDEVPERF" ] || { fail "$BDEVPERF is not built"; finish; }
ok_rounds=0
for round in 1 2 3; do
	"$BDEVPERF" -z -r "$SOCK" -i "$SHM_ID" -s 256 -c "$WORK/aio.json" -q 16 -o 4096 -w randwrite -t 30 \
		>"$WORK/tgt.log" 2>&1 &
	TGT_PID=$!
	wait_for_socket "$SOCK" "$TGT_PID" || { fail "round $round: bdevperf -z did not start"; break; }
	if ! rpcpy bdev_lvol_get_lvstores -l lvs0 >/dev/null 2>"$WORK/err"; then
		fail "round $round: right after start-up: $(cat "$WORK/err")"
		break
	fi
	rpc perform_tests '{"time_in_sec": 10}' >/dev/null 2>&1 &
	PT_PID=$!
	sleep 0.$((RANDOM % 5 + 3))
	kill -KILL "$TGT_PID"
	wait "$TGT_PID" 2>/dev/null
	TGT_PID=""
	wait "$PT_PID" 2>/dev/null
	PT_PID=""
	rm -f "$SOCK" /dev/hugepages/brisk_${SHM_ID}_* /dev/shm/brisk_brisk_${SHM_ID}_* 2>/dev/null
	ok_rounds=$((ok_rounds + 1))
done
[ "$ok_rounds" = 3 ] && pass "3 rounds of kill -9 under load: the store is listed by the first RPC"
finish
