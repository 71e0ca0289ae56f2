#!/bin/bash
# bdev_nvme's reconnect policy over NVMe/TCP (bdev_nvme_attach_controller's
# ctrlr_loss_timeout_sec, reconnect_delay_sec, fast_io_fail_timeout_sec)
# against brisk_tgt on 127.0.0.1 exporting an aio namespace (its data
# outlives the target):
#   - the target is killed (SIGKILL) under bdevperf verify and started again
#     on the same port: the host reconnects, held I/O resumes, no I/O fails
#     and nothing miscompares;
#   - the target is killed for good: I/O fails once fast_io_fail_timeout_sec
#     passes, the controller is deleted after ctrlr_loss_timeout_sec, and
#     bdevperf stays up and ends by itself;
#   - bad policies are refused with the parameter named, nothing attached.
# Every process is bounded in time and stopped on exit.
source "$(dirname "$0")/bdevperf_common.sh"

TGT=$ROOT/build/bin/brisk_tgt
RPC_PY=$ROOT/scripts/rpc.py
NQN=nqn.2016-06.io.brisk:reconnect
TGT_PID=""

stop_tgt() { # signal
	if [ -n "$TGT_PID" ] && kill -0 "$TGT_PID" 2>/dev/null; then
		kill "-$1" "$TGT_PID" 2>/dev/null
		wait_for_exit "$TGT_PID" || kill -KILL "$TGT_PID" 2>/dev/null
		wait "$TGT_PID" 2>/dev/null
	fi
	TGT_PID=""
}
trap 'stop_tgt KILL; cleanup' EXIT

trpc() {
	timeout 30 python3 "$RPC_PY" -s "$WORK/tgt.sock" "$@"
}

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
truncate -s 32M "$WORK/ns.img"

# start_tgt N: brisk_tgt exporting the aio file on PORT (log tgtN.log); the
# first start is configured by RPC and saved, later ones load that config
# (quicker: the host's reconnects should not wait for rpc.py).
start_tgt() {
	rm -f "$WORK/tgt.sock"
	if [ -s "$WORK/tgt.json" ]; then
		"$TGT" --no-huge -s 64 -m 0x1 -r "$WORK/tgt.sock" -c "$WORK/tgt.json" >"$WORK/tgt$1.log" 2>&1 &
		TGT_PID=$!
		wait_for_socket "$WORK/tgt.sock" "$TGT_PID" || { cat "$WORK/tgt$1.log" >&2; return 1; }
		return 0
	fi
	# Not under timeout(1): SIGKILL must reach brisk_tgt itself. The EXIT
	# trap stops it whatever happens.
	"$TGT" --no-huge -s 64 -m 0x1 -r "$WORK/tgt.sock" >"$WORK/tgt$1.log" 2>&1 &
	TGT_PID=$!
	wait_for_socket "$WORK/tgt.sock" "$TGT_PID" || { cat "$WORK/tgt$1.log" >&2; return 1; }
	trpc bdev_aio_create "$WORK/ns.img" Aio0 512 >/dev/null &&
		trpc nvmf_create_transport -t TCP >/dev/null &&
		trpc nvmf_create_subsystem "$NQN" -a >/dev/null &&
		trpc nvmf_subsystem_add_ns "$NQN" Aio0 >/dev/null &&
		trpc nvmf_subsystem_add_listener "$NQN" -t tcp -a 127.0.0.1 -s "$PORT" -f ipv4 >/dev/null &&
		trpc save_config >"$WORK/tgt.json"
}

# attach_config FILE LOSS DELAY FASTFAIL
attach_config() {
	bdev_config "$1" bdev_nvme_attach_controller '{"name": "Nvme0", "trtype": "tcp",
		"adrfam": "ipv4", "traddr": "127.0.0.1", "trsvcid": "'"$PORT"'", "subnqn": "'"$NQN"'",
		"ctrlr_loss_timeout_sec": '"$2"', "reconnect_delay_sec": '"$3"',
		"fast_io_fail_timeout_sec": '"$4"'}'
}

# bdevperf_bg NAME SECONDS: bdevperf verify in the background (BP_PID).
bdevperf_bg() {
	timeout -k 5 60 "$BDEVPERF" --no-huge -s 64 -c "$WORK/$1.json" -q 8 -o 4096 -w verify -t "$2" \
		--json-output "$WORK/$1.out.json" >"$WORK/$1.log" 2>&1 &
	BP_PID=$!
}

# wait_line FILE TEXT SECS PID: TEXT appears in FILE (1 if PID exits first).
wait_line() {
	for _ in $(seq 1 $(($3 * 10))); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$4" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

bp_wait() { # BP_RC: bdevperf's exit status (bounded by its own timeout -k)
	wait "$BP_PID" 2>/dev/null
	BP_RC=$?
	BP_PID=""
}

# 1. Target restart: the host reconnects and I/O resumes.
start_tgt 1 || { fail "brisk_tgt did not start"; finish; }
attach_config "$WORK/restart.json" 30 1 0
bdevperf_bg restart 20 # the target takes seconds to start on a loaded host
if wait_line "$WORK/restart.log" "IOPS," 30 "$BP_PID"; then
	sleep 1
	stop_tgt KILL
	pass "target killed (SIGKILL) under bdevperf verify"
	sleep 2
	start_tgt 2 || fail "brisk_tgt did not start again"
	bp_wait
	if [ "$BP_RC" -eq 0 ] && grep -q "controller Nvme0 reconnected" "$WORK/restart.log"; then
		pass "the host reconnected: $(grep -o "reconnected after [0-9]* ms" "$WORK/restart.log" | head -1)"
	else
		fail "no reconnection (bdevperf exit $BP_RC)"; tail -20 "$WORK/restart.log" >&2
	fi
	check restart 't["io_failed"] == 0 and t["miscompares"] == 0' "no I/O failed or miscompared across the restart" &&
		pass "no I/O failed or miscompared across the restart"
	check restart 'r["results"][0]["io_completed"] > 100' "I/O completed" &&
		pass "I/O resumed after the restart: $(result restart 'r["results"][0]["io_completed"]') completed in all"
else
	fail "bdevperf never reported I/O"; tail -20 "$WORK/restart.log" >&2
fi

# 2. Bad policies (on the restarted target): refused with the parameter named, nothing attached.
kill -0 "$TGT_PID" 2>/dev/null || { fail "the restarted brisk_tgt is not running"; finish; }
bad() { # WHAT PARAMS_JSON TEXT
	local out
	out=$(rpc "$WORK/tgt.sock" bdev_nvme_attach_controller "$2" 2>&1)
	if [ $? -ne 0 ] && echo "$out" | grep -q "$3"; then
		pass "refused: $1"
	else
		fail "not refused clearly: $1 ($out)"
	fi
}
T='"name": "NvmeX", "trtype": "tcp", "adrfam": "ipv4", "traddr": "127.0.0.1", "trsvcid": "'$PORT'", "subnqn": "'$NQN'"'
bad "no reconnect_delay_sec" "{$T, \"ctrlr_loss_timeout_sec\": 5}" "reconnect_delay_sec must be at least 1"
bad "delay over the loss timeout" "{$T, \"ctrlr_loss_timeout_sec\": 2, \"reconnect_delay_sec\": 3}" "must not exceed"
bad "ctrlr_loss_timeout_sec -2" "{$T, \"ctrlr_loss_timeout_sec\": -2, \"reconnect_delay_sec\": 1}" "ctrlr_loss_timeout_sec must be -1"
bad "fast_io_fail below the delay" "{$T, \"ctrlr_loss_timeout_sec\": 10, \"reconnect_delay_sec\": 3, \"fast_io_fail_timeout_sec\": 1}" "at least reconnect_delay_sec"
bad "a delay without a loss timeout" "{$T, \"reconnect_delay_sec\": 1}" "need ctrlr_loss_timeout_sec"
bad "PCIe" '{"name": "NvmeP", "trtype": "PCIe", "traddr": "0000:00:04.0", "ctrlr_loss_timeout_sec": 5, "reconnect_delay_sec": 1}' "fabrics (trtype TCP) only"
[ "$(rpc "$WORK/tgt.sock" bdev_nvme_get_controllers)" = "[]" ] && pass "nothing attached by the refused calls" ||
	fail "a refused call attached something"
# 3. The target stays away (the restarted one is killed for good): fast_io_fail, then the controller goes.
attach_config "$WORK/loss.json" 4 1 2
bdevperf_bg loss 10
if wait_line "$WORK/loss.log" "IOPS," 30 "$BP_PID"; then
	stop_tgt KILL
	bp_wait
	grep -q "fast_io_fail_timeout_sec 2 s passed" "$WORK/loss.log" &&
		pass "I/O failed after fast_io_fail_timeout_sec" || fail "no fast_io_fail"
	grep -q "no reconnection in ctrlr_loss_timeout_sec 4 s: deleting it" "$WORK/loss.log" &&
		pass "controller deleted after ctrlr_loss_timeout_sec" || fail "controller not deleted after the loss timeout"
	[ "$BP_RC" -eq 1 ] && check loss 't["io_failed"] > 0 and r["results"][0]["io_outstanding"] == 0' \
		"I/O failed, none left outstanding" && pass "bdevperf ended by itself, I/O failed, none outstanding" ||
		{ fail "bdevperf after the loss (exit $BP_RC)"; tail -20 "$WORK/loss.log" >&2; }
else
	fail "bdevperf never reported I/O (loss)"; tail -20 "$WORK/loss.log" >&2
fi

finish
