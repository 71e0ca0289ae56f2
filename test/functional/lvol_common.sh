# Sourced by the lvol_*.sh functional tests (not executable on its own).
# On top of app_common.sh (brisk_tgt with a private socket, cleanup on exit):
# an aio file bdev config, rpc.py on the test's socket, the lvol_io
# pattern writer/checker, and expectations on RPC errors.
# shellcheck shell=bash
source "$(dirname "${BASH_SOURCE[0]}")/app_common.sh"
RPCPY="$ROOT/scripts/rpc.py"
LVOL_IO=$ROOT/build/bin/lvol_io
[ -x "$LVOL_IO" ] || { echo "FAIL: $LVOL_IO is not built" >&2; exit 1; }

# aio_config FILE IMG [SIZE_MB]: a JSON config with one aio bdev "Aio0" on IMG
# (created with SIZE_MB, default 128, when missing).
aio_config() {
	local conf=$1 img=$2 mb=${3:-128}
	[ -f "$img" ] || truncate -s "${mb}M" "$img"
	cat >"$conf" <<JSON
{"subsystems":[{"subsystem":"bdev","config":[
 {"method":"bdev_aio_create","params":{"name":"Aio0","filename":"$img","block_size":512}}]}]}
JSON
}

# rpcpy ARGS...: scripts/rpc.py on the test target (bounded).
rpcpy() {
	timeout 60 python3 "$RPCPY" -s "$SOCK" "$@"
}

# expect_ok DESC ARGS...: rpc.py must succeed; its output goes to $WORK/out.
expect_ok() {
	local desc=$1; shift
	if rpcpy "$@" >"$WORK/out" 2>"$WORK/err"; then
		pass "$desc"
	else
		fail "$desc: rpc.py $* -> $(cat "$WORK/err")"
	fi
}

# expect_err DESC PATTERN ARGS...: rpc.py must fail with a message matching PATTERN.
expect_err() {
	local desc=$1 pat=$2; shift 2
	if rpcpy "$@" >"$WORK/out" 2>"$WORK/err"; then
		fail "$desc: rpc.py $* succeeded: $(cat "$WORK/out")"
	elif grep -Eqi -- "$pat" "$WORK/err"; then
		pass "$desc ($(head -c 150 "$WORK/err" | tr '\n' ' '))"
	else
		fail "$desc: error '$(cat "$WORK/err")' does not match '$pat'"
	fi
}

# lvol_field ALIAS FIELD: a field of bdev_lvol_get_lvols for the lvol ALIAS ("" when absent).
lvol_field() {
	rpcpy bdev_lvol_get_lvols | python3 -c '
import json, sys
for l in json.load(sys.stdin):
    if l["alias"] == sys.argv[1]:
        v = l.get(sys.argv[2], "")
        print(json.dumps(v) if not isinstance(v, str) else v)
' "$1" "$2"
}

# lvol_aliases: the sorted aliases of every lvol.
lvol_aliases() {
	rpcpy bdev_lvol_get_lvols | python3 -c '
import json, sys
print(" ".join(sorted(l["alias"] for l in json.load(sys.stdin))))'
}

# lvol_io CONF OPS...: runs lvol_io on CONF (target must be stopped) with -x OPS.
lvol_io() {
	local conf=$1 args=() op; shift
	for op in "$@"; do args+=(-x "$op"); done
	timeout -k 5 60 "$LVOL_IO" -c "$conf" -s 128 "${args[@]}" >>"$WORK/lvol_io.log" 2>&1
}

# check_io DESC CONF OPS...: lvol_io must succeed.
check_io() {
	local desc=$1; shift
	if lvol_io "$@"; then
		pass "$desc"
	else
		fail "$desc"
		tail -5 "$WORK/lvol_io.log" >&2
	fi
}
