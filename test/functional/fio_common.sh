# Sourced by the fio_*.sh functional tests (not executable on its own).
# Runs Debian's fio with Brisk's ioengines (build/fio/*.so) on JSON configs
# written to a temp folder, every run bounded by timeout; checks fio's exit
# status, its JSON results and its error messages. Skips (exit 77, one
# "skipped" line) only when fio or its source is not on the machine.
# shellcheck shell=bash
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
ROOT=$PWD
FIO_BDEV=$ROOT/build/fio/brisk_bdev.so
# shellcheck disable=SC2034 # read by the tests that source this file
FIO_NVME=$ROOT/build/fio/brisk_nvme.so
WORK=$(mktemp -d /tmp/brisk_fio_test.XXXXXX)
FAILS=0
FIO_RC=0

cleanup() {
	rm -rf "$WORK"
}
trap cleanup EXIT

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

if ! command -v fio >/dev/null 2>&1; then
	echo "skipped: fio is not installed (sudo scripts/pkgdep.sh --fio)"
	exit 77
fi
if ! grep -q '^CONFIG_FIO := y' mk/config.mk 2>/dev/null; then
	echo "skipped: the fio ioengines are not configured: no fio source matching $(fio --version) (sudo scripts/pkgdep.sh --fio, then ./configure)"
	exit 77
fi
[ -f "$FIO_BDEV" ] || { echo "FAIL: $FIO_BDEV is not built (make)" >&2; exit 1; }

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

# run_fio NAME ARGS...: fio with the bdev engine (bounded to 90 s): results
# as JSON in $WORK/NAME.json, messages in $WORK/NAME.log, status in FIO_RC.
run_fio() {
	local name=$1; shift
	# from $WORK: fio may leave files (verify state) in its working folder
	(cd "$WORK" && timeout -k 5 90 fio --ioengine=external:"$FIO_BDEV" --output-format=json \
		--output="$WORK/$name.out.json" "$@") >"$WORK/$name.log" 2>&1
	FIO_RC=$?
}

# fio_result NAME EXPR: a python expression over fio's JSON (bound to r;
# jobs = r["jobs"]) printed.
fio_result() {
	python3 - "$WORK/$1.out.json" "$2" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
r = json.loads(text[text.index("{"):])   # fio may print notes before the JSON
jobs = r["jobs"]
print(eval(sys.argv[2]))
PY
}

# fio_check NAME EXPR MESSAGE: passes with MESSAGE when fio exited 0 and EXPR is true.
fio_check() {
	local v
	if [ "$FIO_RC" -ne 0 ]; then
		fail "$3: fio exited $FIO_RC"
		tail -15 "$WORK/$1.log" >&2
		return 1
	fi
	v=$(fio_result "$1" "$2" 2>&1)
	if [ "$v" != "True" ]; then
		fail "$3 ($2 -> $v)"
		tail -15 "$WORK/$1.log" >&2
		return 1
	fi
	pass "$3"
}

# fio_refused NAME PATTERN MESSAGE: passes when fio exited non-zero and said PATTERN.
fio_refused() {
	if [ "$FIO_RC" -eq 0 ]; then
		fail "$3: fio exited 0"
	elif [ "$FIO_RC" -ge 124 ]; then
		fail "$3: fio timed out or was killed (status $FIO_RC)"
	elif ! grep -q -- "$2" "$WORK/$1.log" "$WORK/$1.out.json" 2>/dev/null; then
		fail "$3: no message '$2'"
		tail -15 "$WORK/$1.log" >&2
	else
		pass "$3 (exit $FIO_RC: $(grep -h -m1 -- "$2" "$WORK/$1.log" "$WORK/$1.out.json" 2>/dev/null | head -1))"
	fi
}
