#!/bin/bash
# A backing file on a full file system (a 4 MiB tmpfs mounted in the test's
# temp folder): the user sees ENOSPC, not a bare I/O error, all the way up:
#   - an lvol create whose metadata write finds no room fails with -28
#     "No space left on device" in the RPC answer;
#   - perform_tests writing to a thick lvol on that store fails with code -28
#     and says "No space left on device" (aio -> bdev -> blobstore -> lvol ->
#     bdevperf), and the results carry the errno of the first failure;
#   - the aio module's error line is rate-limited: a few lines a second plus
#     a "repeated N more times" summary, not one line per failed I/O.
# Needs root (mount); the mount is undone on every exit path.
source "$(dirname "$0")/bdevperf_common.sh"
SOCK=$WORK/bp.sock
MNT=$WORK/mnt
RPCPY="$ROOT/scripts/rpc.py -s $SOCK -t 30"

umount_and_cleanup() {
	if [ -n "$BP_PID" ] && kill -0 "$BP_PID" 2>/dev/null; then
		kill -KILL "$BP_PID" 2>/dev/null
		wait "$BP_PID" 2>/dev/null
	fi
	mountpoint -q "$MNT" && umount "$MNT"
	cleanup
}
trap umount_and_cleanup EXIT
# The EXIT trap runs on a signal only when the signal has a trap of its own.
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$MNT"
mount -t tmpfs -o size=4m brisk_enospc "$MNT" || { fail "cannot mount a tmpfs on $MNT (needs root)"; finish; }
truncate -s 64M "$MNT/disk.img"
bdev_config "$WORK/conf.json" bdev_aio_create "{\"name\": \"Aio0\", \"filename\": \"$MNT/disk.img\", \"block_size\": 512}"

# fill_fs: writes a filler file until the tmpfs is full.
fill_fs() {
	dd if=/dev/zero of="$MNT/filler" bs=64k >/dev/null 2>&1
	[ "$(df --output=avail -B1 "$MNT" | tail -1)" -lt 65536 ] || fail "the tmpfs did not fill up"
}

"$BDEVPERF" -z -r "$SOCK" -s 256 --json-output "$WORK/pt.json" -c "$WORK/conf.json" -q 8 -o 64k -w write -t 2 >"$WORK/z.log" 2>&1 &
BP_PID=$!
wait_for_socket "$SOCK" "$BP_PID" || { fail "bdevperf -z did not create its socket"; cat "$WORK/z.log" >&2; finish; }

timeout 60 $RPCPY bdev_lvol_create_lvstore Aio0 lvs0 -c 1048576 >"$WORK/out" 2>&1 ||
	{ fail "lvstore on the tmpfs file: $(cat "$WORK/out")"; finish; }

# ---- an lvol RPC on a full file system ----
fill_fs
if timeout 60 $RPCPY bdev_lvol_create -l lvs0 v0 4 >"$WORK/out" 2>&1; then
	fail "bdev_lvol_create on a full file system succeeded: $(cat "$WORK/out")"
elif grep -q "No space left on device" "$WORK/out" && grep -q "code -28" "$WORK/out"; then
	pass "lvol create on a full file system: $(tr '\n' ' ' <"$WORK/out" | head -c 200)"
else
	fail "lvol create on a full file system: not ENOSPC: $(cat "$WORK/out")"
fi

# ---- perform_tests on a thick lvol, then the file system fills ----
rm -f "$MNT/filler"
timeout 60 $RPCPY bdev_lvol_create -l lvs0 v1 16 >"$WORK/out" 2>&1 ||
	{ fail "thick lvol with room left: $(cat "$WORK/out")"; finish; }
fill_fs
start=$SECONDS
if rpc "$SOCK" perform_tests '{"workload_type": "write", "time_in_sec": 2}' >"$WORK/pt.out" 2>"$WORK/pt.err"; then
	fail "perform_tests writing to a full file system succeeded"
elif grep -q "error -28: bdevperf failed: [0-9]* I/O failed on bdev [^:]*: No space left on device" "$WORK/pt.err"; then
	pass "perform_tests: $(head -c 200 "$WORK/pt.err")"
	python3 - "$WORK/pt.json" <<'PY' || fail "the results lack the first error's errno: $(head -c 600 "$WORK/pt.json")"
import json, sys
r = json.load(open(sys.argv[1]))
e = r["total"]["first_error"]
sys.exit(0 if e["errno"] == 28 and e["message"] == "No space left on device" and "No space" in r["error"] else 1)
PY
else
	fail "perform_tests on a full file system: $(cat "$WORK/pt.err")"
fi
secs=$((SECONDS - start + 2))

# ---- the log ----
lines=$(grep -c "aio Aio0: I/O failed: No space left on device" "$WORK/z.log")
failed=$(grep -o "[0-9]* I/O failed on bdev" "$WORK/z.log" | head -1 | cut -d' ' -f1)
if [ "$lines" -ge 1 ] && [ "$lines" -le $((10 * secs + 10)) ]; then
	pass "aio error lines rate-limited: $lines line(s) for ${failed:-?} failed I/O in ~${secs} s"
else
	fail "aio error lines: $lines for ${failed:-?} failed I/O in ~${secs} s"
fi

kill -TERM "$BP_PID"
wait_for_exit "$BP_PID" || fail "bdevperf did not exit after SIGTERM"
wait "$BP_PID" 2>/dev/null
BP_PID=""
grep -q "last message repeated [0-9]* more times (rate-limited" "$WORK/z.log" &&
	pass "the suppressed lines are summed up: $(grep -m1 -o 'last message repeated [0-9]* more times' "$WORK/z.log")" ||
	fail "no 'repeated N more times' summary in the log"
finish
