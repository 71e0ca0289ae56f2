#!/bin/bash
# JSON configuration: save_config -> restart with -c -> save_config gives the
# same JSON; load_config; bad -c files (unreadable, not JSON, wrong shape,
# a subsystem Brisk lacks with entries, unknown method, bad parameter) stop start-up with a
# clear message, a non-zero exit and nothing left behind.
source "$(dirname "$0")/app_common.sh"

same_json() { # file1 file2
	python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); sys.exit(a != b)' "$1" "$2"
}

# ---- save -> restart with -c -> save ----
start_tgt -m 0x1 || finish
rpc framework_wait_init >/dev/null || fail "framework_wait_init failed"
# Change some state that the configuration records (the log subsystem).
rpc log_set_flag '{"flag": "reactor"}' >/dev/null || fail "log_set_flag failed"
rpc log_set_level '{"level": "WARNING"}' >/dev/null || fail "log_set_level failed"
rpc save_config >"$WORK/saved1.json" || fail "save_config failed"
python3 - "$WORK/saved1.json" <<'EOF' || fail "save_config: unexpected shape: $(cat "$WORK/saved1.json")"
import json, sys
c = json.load(open(sys.argv[1]))
subs = c["subsystems"]
assert isinstance(subs, list)
for s in subs:
    assert isinstance(s["subsystem"], str)
    assert s["config"] is None or isinstance(s["config"], list)
log = [s for s in subs if s["subsystem"] == "log"][0]
calls = [(e["method"], e.get("params")) for e in log["config"]]
assert ("log_set_flag", {"flag": "reactor"}) in calls, calls
EOF
stop_tgt TERM

start_tgt -m 0x1 -c "$WORK/saved1.json" || finish
rpc framework_wait_init >/dev/null || fail "framework_wait_init with -c failed"
rpc save_config >"$WORK/saved2.json" || fail "save_config after restart failed"
same_json "$WORK/saved1.json" "$WORK/saved2.json" ||
	fail "save_config differs after restart: $(diff "$WORK/saved1.json" "$WORK/saved2.json")"
pass "save_config -> -c -> save_config round trip"

# ---- load_config ----
res=$(rpc load_config "$(cat "$WORK/saved1.json")") || fail "load_config of a saved config failed"
[ "$res" = "true" ] || fail "load_config returned $res"
err=$(rpc load_config '{"subsystems": [{"subsystem": "log", "config": [{"method": "no_such_method"}]}]}' 2>&1) &&
	fail "load_config with an unknown method succeeded"
grep -q "no_such_method" <<<"$err" || fail "load_config error does not name the method: $err"
err=$(rpc load_config '{"subsystems": [{"subsystem": "log", "config": [{"method": "log_set_level", "params": {"level": "loud"}}]}]}' 2>&1) &&
	fail "load_config with a bad parameter succeeded"
grep -q "log_set_level" <<<"$err" && grep -q "level" <<<"$err" ||
	fail "load_config error does not name method and parameter: $err"
err=$(rpc load_config '{"subsystems": 5}' 2>&1) && fail "load_config with a bad shape succeeded"
grep -q "subsystems" <<<"$err" || fail "load_config shape error: $err"
err=$(rpc load_config 2>&1) && fail "load_config without params succeeded"
stop_tgt TERM
pass "load_config"

# ---- bad -c files ----
bad_config() { # name expected-text contents
	local name=$1 want=$2 file=$WORK/$1.json out rc
	printf '%s' "$3" >"$file"
	out=$(timeout 20 "$TGT" -r "$SOCK" -i "$SHM_ID" -s 64 -c "$file" 2>&1); rc=$?
	[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "-c $name: exit code $rc, expected a failure"
	grep -q -- "$want" <<<"$out" || fail "-c $name: message lacks '$want': $out"
	# shellcheck disable=SC2034 # read by check_no_leftovers (app_common.sh)
	LAST_PID=0
	check_no_leftovers
}
bad_config not_json "line 3" $'{\n  "subsystems": [\n    oops\n]}'
bad_config not_object "must be a JSON object" '[1, 2]'
bad_config no_subsystems "'subsystems' is missing" '{"foo": 1}'
bad_config bad_entry "'subsystem' is missing" '{"subsystems": [{"config": []}]}'
bad_config unknown_subsystem "subsystem 'nope' is not supported" \
	'{"subsystems": [{"subsystem": "nope", "config": [{"method": "nope_enable"}]}]}'
bad_config config_not_array "'config' must be an array" '{"subsystems": [{"subsystem": "log", "config": 7}]}'
bad_config no_method "'method' is missing" '{"subsystems": [{"subsystem": "log", "config": [{"params": {}}]}]}'
bad_config unknown_method "unknown method 'no_such_method'" \
	'{"subsystems": [{"subsystem": "log", "config": [{"method": "no_such_method", "params": {}}]}]}'
bad_config bad_param "method 'log_set_flag' failed" \
	'{"subsystems": [{"subsystem": "log", "config": [{"method": "log_set_flag", "params": {"flag": "no_such_flag"}}]}]}'
bad_config bad_param_type "level" \
	'{"subsystems": [{"subsystem": "log", "config": [{"method": "log_set_level", "params": {"level": 5}}]}]}'

out=$(timeout 20 "$TGT" -r "$SOCK" -i "$SHM_ID" -s 64 -c "$WORK/does_not_exist.json" 2>&1); rc=$?
[ $rc -ne 0 ] || fail "-c of a missing file exited 0"
grep -q "cannot read" <<<"$out" || fail "-c of a missing file: $out"
check_no_leftovers
pass "bad -c files fail start-up with a clear message"

# ---- -c with --wait-for-rpc: STARTUP part first, the rest after framework_start_init ----
start_tgt --wait-for-rpc -c "$WORK/saved1.json" || finish
rpc framework_start_init >/dev/null || fail "framework_start_init with -c failed"
rpc framework_wait_init >/dev/null || fail "framework_wait_init failed"
rpc save_config >"$WORK/saved3.json" || fail "save_config failed"
same_json "$WORK/saved1.json" "$WORK/saved3.json" || fail "config differs with --wait-for-rpc"
stop_tgt TERM
pass "-c with --wait-for-rpc"

finish
