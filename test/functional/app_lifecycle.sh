#!/bin/bash
# brisk_tgt life cycle: --help, bad flags, start and clean SIGTERM/SIGINT
# shutdown (exit 0, no socket/shm/hugepage file left), --wait-for-rpc with
# framework_start_init, the framework_* RPCs, brisk/spdk_kill_instance, and
# a signal delivered twice at once (one clean stop).
source "$(dirname "$0")/app_common.sh"

# ---- --help and bad flags ----
out=$("$TGT" --help 2>&1); rc=$?
[ $rc -eq 0 ] || fail "--help exited $rc"
for opt in --config --cpumask --rpc-socket --mem-size --shm-id --logflag --no-huge \
	   --huge-dir --log-level --wait-for-rpc --poll-mode --pci-allowed --pci-blocked --help; do
	grep -q -- "$opt" <<<"$out" || fail "--help does not list $opt"
done
pass "--help"

bad_flag() { # expected-text args...
	local want=$1 out rc
	shift
	out=$(timeout 10 "$TGT" "$@" 2>&1); rc=$?
	[ $rc -ne 0 ] || fail "brisk_tgt $* exited 0"
	grep -q -- "$want" <<<"$out" || fail "brisk_tgt $*: message lacks '$want': $out"
}
bad_flag "-m (--cpumask)" -m zz
bad_flag "unknown option '--bogus'" --bogus
bad_flag "unknown option '-Z'" -Z
bad_flag "-s (--mem-size)" -s 0
bad_flag "--log-level" --log-level loud
bad_flag "needs a value" -r
bad_flag "unexpected argument 'stray'" stray
bad_flag "no log flag 'nope'" -L nope
bad_flag "-A (--pci-allowed): '00:20.0' is not a PCI address" -A 00:20.0
bad_flag "cannot be used together" -A 0000:00:04.0 -B 0000:00:05.0
pass "bad flags are refused naming the flag"

# A core the machine lacks: start-up fails cleanly.
out=$(timeout 20 "$TGT" -r "$SOCK" -i "$SHM_ID" -s 64 -m 0x80000000 2>&1); rc=$?
[ $rc -ne 0 ] || fail "-m with a missing core exited 0"
# shellcheck disable=SC2034 # read by check_no_leftovers (app_common.sh)
LAST_PID=0
check_no_leftovers
pass "a missing core fails start-up"

# ---- Start, RPCs, SIGTERM ----
start_tgt -m 0x3 || finish
res=$(rpc framework_wait_init) || fail "framework_wait_init failed"
[ "$res" = "true" ] || fail "framework_wait_init returned $res"
grep -q "RPC socket $SOCK" "$WORK/tgt.log" || fail "no start-up NOTICE naming the RPC socket"
grep -q "cores 0x3" "$WORK/tgt.log" || fail "no start-up NOTICE naming the cores"

res=$(rpc framework_get_reactors) || fail "framework_get_reactors failed"
python3 - "$res" <<'EOF' || fail "framework_get_reactors: unexpected answer: $res"
import json, sys
r = json.loads(sys.argv[1])
lcores = sorted(x["lcore"] for x in r["reactors"])
assert lcores == [0, 1], lcores
threads = [t["name"] for x in r["reactors"] for t in x["lw_threads"]]
assert "app_thread" in threads, threads
main = [x for x in r["reactors"] if x["lcore"] == 0][0]
assert any(t["name"] == "app_thread" for t in main["lw_threads"])
for x in r["reactors"]:
    assert x["busy"] >= 0 and x["idle"] > 0 and isinstance(x["in_interrupt"], bool)
assert r["tick_rate"] > 0
EOF

res=$(rpc framework_get_subsystems) || fail "framework_get_subsystems failed"
python3 -c 'import json,sys; s=json.loads(sys.argv[1]); assert all("subsystem" in x and isinstance(x["depends_on"], list) for x in s); assert "log" in [x["subsystem"] for x in s]' "$res" ||
	fail "framework_get_subsystems: unexpected answer: $res"

res=$(rpc framework_get_config '{"name": "log"}') || fail "framework_get_config log failed"
grep -q log_set_print_level <<<"$res" || fail "framework_get_config log: $res"
err=$(rpc framework_get_config '{"name": "nope"}' 2>&1) && fail "framework_get_config nope succeeded"
grep -q "nope" <<<"$err" || fail "framework_get_config error does not name the subsystem: $err"
err=$(rpc framework_get_config '{}' 2>&1) && fail "framework_get_config without name succeeded"
grep -q "name" <<<"$err" || fail "framework_get_config error does not name the parameter: $err"
err=$(rpc framework_start_init 2>&1) && fail "framework_start_init after init succeeded"
err=$(rpc brisk_kill_instance '{"sig_name": "SIGNOPE"}' 2>&1) && fail "kill with a bad signal succeeded"
grep -q "sig_name" <<<"$err" || fail "kill error does not name sig_name: $err"
pass "framework RPCs"

stop_tgt TERM
pass "SIGTERM: exit 0, nothing left behind"

# ---- SIGINT, private memory, no hugepages ----
"$TGT" -r "$SOCK" -s 64 --no-huge >"$WORK/tgt.log" 2>&1 &
TGT_PID=$!
wait_for_socket "$SOCK" "$TGT_PID" || fail "brisk_tgt --no-huge did not create its socket"
rpc framework_wait_init >/dev/null || fail "framework_wait_init (--no-huge) failed"
stop_tgt INT
pass "SIGINT with --no-huge and private memory"

# ---- --wait-for-rpc ----
start_tgt --wait-for-rpc || finish
grep -q "waiting for the framework_start_init" "$WORK/tgt.log" || fail "no wait-for-rpc notice"
err=$(rpc framework_get_reactors 2>&1) && fail "a RUNTIME method ran before framework_start_init"
rpc save_config >/dev/null || fail "save_config at STARTUP failed"
res=$(rpc framework_start_init) || fail "framework_start_init failed"
[ "$res" = "true" ] || fail "framework_start_init returned $res"
res=$(rpc framework_wait_init) || fail "framework_wait_init failed"
[ "$res" = "true" ] || fail "framework_wait_init returned $res"
rpc framework_get_reactors >/dev/null || fail "framework_get_reactors after init failed"
err=$(rpc framework_start_init 2>&1) && fail "a second framework_start_init succeeded"
stop_tgt TERM
pass "--wait-for-rpc, framework_start_init, framework_wait_init"

# SIGTERM while waiting for framework_start_init also exits cleanly.
start_tgt --wait-for-rpc || finish
stop_tgt TERM
pass "SIGTERM while waiting for framework_start_init"

# ---- kill_instance ----
start_tgt || finish
rpc framework_wait_init >/dev/null
res=$(rpc brisk_kill_instance '{"sig_name": "SIGTERM"}') || fail "brisk_kill_instance failed"
wait_tgt_exit || fail "brisk_tgt did not exit 0 after brisk_kill_instance SIGTERM"
check_no_leftovers
start_tgt || finish
rpc framework_wait_init >/dev/null
res=$(rpc spdk_kill_instance '{"sig_name": "SIGINT"}') || fail "spdk_kill_instance failed"
wait_tgt_exit || fail "brisk_tgt did not exit 0 after spdk_kill_instance SIGINT"
check_no_leftovers
pass "brisk_kill_instance / spdk_kill_instance"

# ---- A signal delivered twice at once is one request ----
# Both signals wait while the process is stopped, then arrive one after the
# other (as when a wrapper forwards a signal its process group also got):
# a clean stop, not the forced exit. (A second signal a second or more
# later forces the exit: bdevperf_drain_timeout.sh, where the stop waits.)
start_tgt || finish
rpc framework_wait_init >/dev/null
kill -STOP "$TGT_PID"
kill -INT "$TGT_PID"
kill -TERM "$TGT_PID"
kill -CONT "$TGT_PID"
wait_tgt_exit
rc=$?
[ $rc -eq 0 ] || fail "signal delivered twice: exit code $rc, expected 0 (a clean stop)"
[ -e "$SOCK" ] && fail "signal delivered twice: socket left behind (not a clean stop)"
rm -f "$SOCK"
pass "a signal delivered twice at once stops cleanly"

finish
