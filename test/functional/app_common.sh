# Sourced by the app_*.sh functional tests (not executable on its own).
# Starts brisk_tgt with a private RPC socket and shm id, talks JSON-RPC to it,
# and cleans up every process and file on exit.
# shellcheck shell=bash
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
ROOT=$PWD
TGT=$ROOT/build/bin/brisk_tgt
WORK=$(mktemp -d /tmp/brisk_app_test.XXXXXX)
SOCK=$WORK/tgt.sock
SHM_ID=$((20000 + $$ % 10000))
TGT_PID=""
LAST_PID=0
FAILS=0

cleanup() {
	if [ -n "$TGT_PID" ] && kill -0 "$TGT_PID" 2>/dev/null; then
		kill -KILL "$TGT_PID" 2>/dev/null
		wait "$TGT_PID" 2>/dev/null
	fi
	# Files of a process that was killed on purpose (forced exit tests).
	rm -f /dev/hugepages/brisk_${SHM_ID}_* /dev/shm/brisk_brisk_${SHM_ID}_* 2>/dev/null
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

# rpc METHOD [PARAMS_JSON]: prints the result as JSON; exit 1 with the error on stderr.
rpc() {
	timeout 20 python3 "$ROOT/test/functional/rpc_call.py" "$SOCK" "$@"
}

# start_tgt [ARGS...]: starts brisk_tgt in the background (log in $WORK/tgt.log)
# and waits for its socket.
start_tgt() {
	"$TGT" -r "$SOCK" -i "$SHM_ID" -s 64 "$@" >"$WORK/tgt.log" 2>&1 &
	TGT_PID=$!
	wait_for_socket "$SOCK" "$TGT_PID" && return 0
	fail "brisk_tgt $* did not create its socket"
	cat "$WORK/tgt.log" >&2
	return 1
}

# stop_tgt [SIGNAL]: signals brisk_tgt, waits (bounded) and checks it exits 0
# leaving no socket, shm or hugepage file behind.
stop_tgt() {
	local sig=${1:-TERM} rc
	kill -"$sig" "$TGT_PID"
	wait_tgt_exit
	rc=$?
	[ $rc -eq 0 ] || { fail "brisk_tgt exited $rc after SIG$sig"; tail -20 "$WORK/tgt.log" >&2; }
	check_no_leftovers
}

# Waits up to 20 s for brisk_tgt to exit; returns its exit code.
wait_tgt_exit() {
	local rc
	for _ in $(seq 1 400); do
		kill -0 "$TGT_PID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$TGT_PID" 2>/dev/null; then
		fail "brisk_tgt did not exit within 20 s"
		kill -KILL "$TGT_PID"
	fi
	wait "$TGT_PID"
	rc=$?
	LAST_PID=$TGT_PID
	TGT_PID=""
	return $rc
}

check_no_leftovers() {
	local left
	[ -e "$SOCK" ] && fail "RPC socket $SOCK left behind"
	left=$(ls /dev/hugepages/brisk_${SHM_ID}_* /dev/shm/brisk_brisk_${SHM_ID}_* \
		/dev/hugepages/brisk_p${LAST_PID}_* /dev/shm/brisk_brisk_p${LAST_PID}_* 2>/dev/null)
	[ -z "$left" ] || fail "files left behind: $left"
}

finish() {
	if [ "$FAILS" -ne 0 ]; then
		echo "$FAILS check(s) failed"
		exit 1
	fi
	echo "all checks passed"
	exit 0
}
