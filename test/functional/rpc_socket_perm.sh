#!/bin/bash
# The control socket belongs to whom it should (issue 12, items 10-12), with
# a second, unprivileged user (nobody, through setpriv):
# - the socket is 0660 even under umask 000; nobody cannot connect;
# - with a wider mode nobody reaches the socket but is refused by its
#   credentials (-32002, logged); with --rpc-socket-group it is let in;
# - a symlink at the lock path is not followed; a directory writable by
#   anyone without the sticky bit, or owned by another user, is refused;
# - rpc.py refuses a socket owned by another non-root user (a squatter)
#   unless --trust; rpc.py's default path is per user;
# - the default socket lives in a root-owned /var/run/brisk (0755).
# Needs root (it switches to nobody); bounded to ~1 minute.
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
TGT=$ROOT/build/bin/brisk_tgt
WORK=$(mktemp -d /tmp/brisk_sockperm.XXXXXX)
SHM_ID=$((60000 + $$ % 5000))
PIDS=()
FAILS=0
source "$ROOT/test/functional/proc_wait.sh"

cleanup() {
	# Every process was started with exec (no wrapper), so its pid is its own.
	for pid in "${PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	rm -f /dev/hugepages/brisk_${SHM_ID}_* /dev/shm/brisk_brisk_${SHM_ID}_* 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }

if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null || ! id nobody >/dev/null 2>&1; then
	echo "FAIL: needs root, setpriv (util-linux) and the user nobody" >&2
	exit 1
fi
# nobody must reach WORK and the client (the checkout may be private).
chmod 0711 "$WORK"
mkdir "$WORK/scripts" && cp -r "$ROOT/scripts/rpc.py" "$ROOT/scripts/rpc" "$WORK/scripts/"
chmod -R a+rX "$WORK/scripts"
AS_NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
NOBODY_RPC=("${AS_NOBODY[@]}" env -u XDG_RUNTIME_DIR python3 -B "$WORK/scripts/rpc.py" -t 5)

# start_tgt SOCK [ARGS...]: starts brisk_tgt under umask 000; sets TGT_PID.
start_tgt() {
	local sock=$1
	shift
	(umask 000; exec "$TGT" -r "$sock" -i "$SHM_ID" -s 64 --no-huge "$@") \
		>>"$WORK/tgt.log" 2>&1 &
	TGT_PID=$!
	PIDS+=("$TGT_PID")
	wait_for_socket "$sock" "$TGT_PID"
}

stop_tgt() {
	kill -TERM "$TGT_PID" 2>/dev/null
	wait_for_exit "$TGT_PID"
	wait "$TGT_PID" 2>/dev/null
}

# 1. Mode 0660 whatever the umask; nobody cannot connect.
SOCK=$WORK/a.sock
if start_tgt "$SOCK"; then
	mode=$(stat -c %a "$SOCK")
	[ "$mode" = 660 ] && pass "socket created 0660 under umask 000" ||
		fail "socket mode $mode under umask 000 (want 660)"
	out=$("${NOBODY_RPC[@]}" -s "$SOCK" rpc_get_methods 2>&1) &&
		fail "nobody talked to a 0660 root socket: $out"
	grep -q "permission denied" <<<"$out" && pass "nobody cannot connect: $out" ||
		fail "nobody's error unclear: $out"
	stop_tgt
else
	fail "brisk_tgt did not start"; cat "$WORK/tgt.log" >&2
fi

# 2. A socket anyone may open: nobody is still refused, by its credentials.
if start_tgt "$SOCK" --rpc-socket-mode 0666; then
	[ "$(stat -c %a "$SOCK")" = 666 ] || fail "--rpc-socket-mode 0666 not applied"
	out=$("${NOBODY_RPC[@]}" -s "$SOCK" rpc_get_methods 2>&1) &&
		fail "nobody was served on a 0666 socket: $out"
	if grep -q "Permission denied.*32002" <<<"$out" && grep -q "refused a client.*uid 65534" "$WORK/tgt.log"; then
		pass "nobody refused by SO_PEERCRED and logged: $out"
	else
		fail "credential refusal: '$out', log: $(grep -c 'refused a client' "$WORK/tgt.log") lines"
	fi
	python3 scripts/rpc.py -s "$SOCK" rpc_get_options >/dev/null && pass "root is still served" ||
		fail "root refused"
	stop_tgt
fi

# 3. --rpc-socket-group: members (nobody's group nogroup) are let in.
if start_tgt "$SOCK" --rpc-socket-group nogroup; then
	[ "$(stat -c %G:%a "$SOCK")" = nogroup:660 ] || fail "socket group/mode: $(stat -c %G:%a "$SOCK")"
	out=$("${NOBODY_RPC[@]}" -s "$SOCK" rpc_get_options 2>&1) &&
		pass "--rpc-socket-group nogroup: nobody (group nogroup) is served" ||
		fail "group member refused: $out"
	stop_tgt
fi
err=$("$TGT" -r "$SOCK" --rpc-socket-group no_such_group_x 2>&1) && fail "unknown group accepted"
grep -q "no group 'no_such_group_x'" <<<"$err" && pass "unknown group: $err" || fail "unknown group: $err"
err=$("$TGT" -r "$SOCK" --rpc-socket-mode 0400 2>&1) && fail "mode 0400 accepted"
grep -q "rpc-socket-mode" <<<"$err" && pass "bad mode: $err" || fail "bad mode: $err"

# expect_refused SOCK TEXT WHAT: brisk_tgt exits non-zero naming TEXT.
expect_refused() {
	: >"$WORK/refuse.log"
	timeout 30 "$TGT" -r "$1" -i "$SHM_ID" -s 64 --no-huge >"$WORK/refuse.log" 2>&1 &&
		{ fail "$3: brisk_tgt started"; return; }
	grep -q -- "$2" "$WORK/refuse.log" && pass "$3: $(grep -m1 -- "$2" "$WORK/refuse.log" | sed 's/.*\*ERROR\*: //')" ||
		fail "$3: no '$2' in: $(tail -3 "$WORK/refuse.log")"
}

# 4. The lock file is not followed through a symlink.
ln -s "$WORK/victim" "$WORK/b.sock.lock"
expect_refused "$WORK/b.sock" "symlink" "symlink at the lock path"
[ -e "$WORK/victim" ] && fail "the symlink's target was created" || pass "symlink target untouched"

# 5. Directories: world-writable without sticky, or another user's.
mkdir -m 0777 "$WORK/pub"
chmod 0777 "$WORK/pub"
expect_refused "$WORK/pub/s.sock" "writable by anyone" "world-writable directory"
chmod 01777 "$WORK/pub"
if start_tgt "$WORK/pub/s.sock"; then pass "sticky world-writable directory accepted"; stop_tgt
else fail "sticky directory refused"; fi
mkdir -m 0755 "$WORK/theirs"
chown 65534:65534 "$WORK/theirs"
expect_refused "$WORK/theirs/s.sock" "belongs to uid 65534" "directory of another user"

# 6. A squatter (nobody) listening where root's rpc.py will look.
SQUAT=$WORK/pub/squat.sock
# setpriv and env exec python: $! is the squatter itself (killed by cleanup); it
# gives up by itself after 60 s without a client.
"${AS_NOBODY[@]}" env python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(4); s.settimeout(60)
while True:
    c, _ = s.accept(); c.recv(4096)
    c.sendall(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"impostor\"}\n"); c.close()
' "$SQUAT" &
PIDS+=($!)
for _ in $(seq 50); do [ -S "$SQUAT" ] && break; sleep 0.1; done
out=$(python3 scripts/rpc.py -s "$SQUAT" -t 5 rpc_get_options 2>&1) && fail "rpc.py believed a squatter: $out"
grep -q "owned by uid 65534" <<<"$out" && pass "rpc.py refuses a socket of another user: $out" ||
	fail "squatter refusal unclear: $out"
out=$(python3 scripts/rpc.py -s "$SQUAT" -t 5 --trust rpc_get_options 2>&1)
grep -q impostor <<<"$out" && pass "--trust talks to it anyway" || fail "--trust: $out"

# 7. Default paths: rpc.py's per user, the target's under /var/run/brisk.
want=/tmp/brisk-65534/brisk.sock
got=$("${AS_NOBODY[@]}" env -u XDG_RUNTIME_DIR python3 -B -c \
	"import sys; sys.path.insert(0, '$WORK/scripts'); from rpc.client import DEFAULT_SOCKET; print(DEFAULT_SOCKET)")
[ "$got" = "$want" ] && pass "rpc.py default for nobody without XDG_RUNTIME_DIR: $got" || fail "nobody default $got"
got=$("${AS_NOBODY[@]}" env XDG_RUNTIME_DIR=/run/user/65534 python3 -B -c \
	"import sys; sys.path.insert(0, '$WORK/scripts'); from rpc.client import DEFAULT_SOCKET; print(DEFAULT_SOCKET)")
[ "$got" = /run/user/65534/brisk.sock ] && pass "rpc.py default with XDG_RUNTIME_DIR: $got" || fail "xdg default $got"
DEF=/var/run/brisk/brisk.sock
if python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])" "$DEF" 2>/dev/null; then
	fail "cannot check the default path: another target listens on $DEF"
else
	(umask 000; exec "$TGT" -i "$SHM_ID" -s 64 --no-huge) >>"$WORK/tgt.log" 2>&1 &
	TGT_PID=$!
	PIDS+=("$TGT_PID")
	if wait_for_socket "$DEF" "$TGT_PID"; then
		d=$(stat -c %U:%a /var/run/brisk) s=$(stat -c %U:%a "$DEF")
		[ "$d" = root:755 ] && [ "$s" = root:660 ] && pass "default socket $DEF ($s) in /var/run/brisk ($d)" ||
			fail "default socket $s in $d"
		python3 scripts/rpc.py rpc_get_options >/dev/null && pass "rpc.py finds the default socket" ||
			fail "rpc.py without -s"
		stop_tgt
	else
		fail "brisk_tgt without -r did not create $DEF"; tail -5 "$WORK/tgt.log" >&2
	fi
fi

[ "$FAILS" = 0 ] && echo "all checks passed" || { echo "$FAILS check(s) failed" >&2; exit 1; }
