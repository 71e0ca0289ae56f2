# Sourced by the bdevperf_*.sh functional tests (not executable on its own).
# Runs build/bin/bdevperf with JSON configs written to a temp folder and
# checks its exit status, printed table and --json-output results; cleans up
# every process and file on exit.
# shellcheck shell=bash
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
ROOT=$PWD
BDEVPERF=$ROOT/build/bin/bdevperf
WORK=$(mktemp -d /tmp/brisk_bdevperf_test.XXXXXX)
BP_PID=""
FAILS=0
BP_RC=0

cleanup() {
	if [ -n "$BP_PID" ] && kill -0 "$BP_PID" 2>/dev/null; then
		kill -KILL "$BP_PID" 2>/dev/null
		wait "$BP_PID" 2>/dev/null
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
source "$ROOT/test/functional/proc_wait.sh"

fail() {
	echo "FAIL: $*" >&2
	FAILS=$((FAILS + 1))
}

pass() {
	echo "ok: $*"
}

finish() {
	if [ "$FAILS" -ne 0 ]; then
		echo "$FAILS check(s) failed"
		exit 1
	fi
	echo "all checks passed"
	exit 0
}

[ -x "$BDEVPERF" ] || { echo "FAIL: $BDEVPERF is not built" >&2; exit 1; }

# bdev_config FILE METHOD PARAMS [METHOD PARAMS ...]: a JSON config with these bdev calls.
bdev_config() {
	local file=$1; shift
	python3 - "$file" "$@" <<'PY'
import json, sys
calls = []
args = sys.argv[2:]
for i in range(0, len(args), 2):
    calls.append({"method": args[i], "params": json.loads(args[i + 1])})
json.dump({"subsystems": [{"subsystem": "bdev", "config": calls}]}, open(sys.argv[1], "w"))
PY
}

# run_bdevperf NAME ARGS...: runs bdevperf (bounded to 60 s), output in
# $WORK/NAME.log, results in $WORK/NAME.out.json; exit status in BP_RC.
run_bdevperf() {
	local name=$1; shift
	rm -f "$WORK/$name.out.json"
	timeout -k 5 60 "$BDEVPERF" -s 256 --json-output "$WORK/$name.out.json" "$@" >"$WORK/$name.log" 2>&1
	# shellcheck disable=SC2034 # read by the test that sources this file
	BP_RC=$?
}

# result NAME EXPR: evaluates a python expression over the results JSON
# (bound to r; t = r["total"]) and prints it.
result() {
	python3 - "$WORK/$1.out.json" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
t = r["total"]
print(eval(sys.argv[2]))
PY
}

# check NAME EXPR MESSAGE: fails with MESSAGE (and the log) unless EXPR is true.
check() {
	local v
	v=$(result "$1" "$2" 2>&1)
	if [ "$v" != "True" ]; then
		fail "$3 ($2 -> $v)"
		tail -15 "$WORK/$1.log" >&2
		return 1
	fi
	return 0
}

# rpc SOCK METHOD [PARAMS_JSON]: prints the result; exit 1 with the error on stderr.
rpc() {
	timeout 60 python3 "$ROOT/test/functional/rpc_call.py" "$@"
}
