#!/bin/bash
# Hostile input at creation time, end to end through brisk_tgt:
#   - bdev_aio_create on a FIFO (read-only and read-write) and on a socket is
#     refused at once with an error naming the file type, and the target
#     keeps answering (the old code blocked the reactor in open(2));
#   - bdev, lvstore and lvol names with control characters are refused with
#     an error naming the parameter, and nothing is created;
#   - a name that only reaches the log (a lookup of a missing bdev) cannot
#     forge a log line: every log line still starts with a timestamp;
#   - a string parameter with an embedded NUL is reported as such.
source "$(dirname "$0")/lvol_common.sh"

FIFO=$WORK/fifo
mkfifo "$FIFO"
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$WORK/unix.sock"

start_tgt -m 0x1 || finish
rpc framework_wait_init >/dev/null || fail "framework_wait_init failed"

# ---- aio on special files ----
expect_err "aio on a FIFO, read-only" "is a FIFO, not a regular file" \
	bdev_aio_create -r "$FIFO" AioFifo 512
expect_err "aio on a FIFO, read-write" "is a FIFO, not a regular file" \
	bdev_aio_create "$FIFO" AioFifo 512
expect_err "aio on a socket" "is a socket, not a regular file" \
	bdev_aio_create "$WORK/unix.sock" AioSock 512
expect_err "aio on a character device" "is a character device, not a regular file" \
	bdev_aio_create /dev/null AioNull 512
if timeout 5 python3 "$RPCPY" -s "$SOCK" bdev_get_bdevs >/dev/null 2>&1; then
	pass "the target still answers after the special files"
else
	fail "the target does not answer after bdev_aio_create on special files"
fi

# ---- control characters in names ----
expect_err "bdev name with a newline" "parameter 'name' must not contain control characters" \
	bdev_malloc_create -b $'evil\n[2026-01-01 00:00:00.000000] app.c:1:x: *NOTICE*: forged' 8 512
expect_err "bdev name with an escape sequence" "must not contain control characters" \
	bdev_null_create $'n\e[2Jull' 8 512
expect_ok "a plain malloc bdev" bdev_malloc_create -b Malloc0 8 512
expect_err "lvstore name with a tab" "parameter 'lvs_name' must not contain control characters" \
	bdev_lvol_create_lvstore Malloc0 $'lvs\t0'
expect_ok "a plain lvstore" bdev_lvol_create_lvstore Malloc0 lvs0 -c 1048576
expect_err "lvol name with a newline" "parameter 'lvol_name' must not contain control characters" \
	bdev_lvol_create -l lvs0 $'v\nforged' 4
expect_ok "a plain lvol" bdev_lvol_create -l lvs0 v1 4
expect_err "snapshot name with a carriage return" "'snapshot_name' must not contain control" \
	bdev_lvol_snapshot lvs0/v1 $'s\r1'
expect_err "rename to a name with DEL" "'new_name' must not contain control" \
	bdev_lvol_rename lvs0/v1 $'v\x7f2'
names=$(rpcpy bdev_get_bdevs | python3 -c 'import json,sys; print(sorted(b["name"] for b in json.load(sys.stdin) if b["product_name"] != "Logical Volume"))')
[ "$names" = "['Malloc0']" ] && pass "only the plain bdevs exist ($names)" ||
	fail "bdevs after the refused creates: $names"

# ---- the log cannot be forged ----
# A file name is logged when it cannot be opened.
expect_err "aio on a missing file with a newline in its name" "No such file" \
	bdev_aio_create $'/nonexistent/x\n[2026-01-01 00:00:00.000000] app.c:1:x: *NOTICE*: injected' AioX 512
expect_err "aio on a missing file with escapes in its name" "No such file" \
	bdev_aio_create $'/nonexistent/y\r\e[1Ainjected2' AioY 512
sleep 0.2
bad=$(grep -v '^\[20[0-9][0-9]-' "$WORK/tgt.log" | grep -c "injected")
[ "$bad" = 0 ] && pass "no forged log line (logged names are escaped)" ||
	fail "the log holds $bad forged line(s): $(grep -n injected "$WORK/tgt.log" | head -3)"
grep -q 'x\\n\[2026-01-01' "$WORK/tgt.log" && grep -q 'y\\r\\x1b\[1Ainjected2' "$WORK/tgt.log" &&
	pass "the names are logged with \\n, \\r and \\x1b escaped" ||
	fail "the escaped names are not in the log: $(grep -n injected "$WORK/tgt.log" | head -3)"

# ---- an embedded NUL ----
if rpc bdev_malloc_create '{"name": "a\u0000b", "num_blocks": 16, "block_size": 512}' \
	>"$WORK/out" 2>"$WORK/err"; then
	fail "a name with a NUL was accepted: $(cat "$WORK/out")"
elif grep -q "parameter 'name' contains a NUL character" "$WORK/err"; then
	pass "embedded NUL: $(cat "$WORK/err")"
else
	fail "embedded NUL: unclear error: $(cat "$WORK/err")"
fi

stop_tgt TERM
finish
