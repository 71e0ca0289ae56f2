#!/bin/bash
# bdevperf verify on an aio bdev over a temporary file (O_DIRECT where the file
# system allows it): every read-back matches, no I/O fails; then the data of
# the file itself carries the pattern headers bdevperf wrote.
source "$(dirname "$0")/bdevperf_common.sh"

truncate -s 64M "$WORK/aio.img"
bdev_config "$WORK/aio.json" bdev_aio_create '{"name": "Aio0", "filename": "'"$WORK/aio.img"'", "block_size": 512}'

run_bdevperf verify -c "$WORK/aio.json" -q 32 -o 4k -w verify -t 2
[ "$BP_RC" -eq 0 ] || { fail "aio verify exited $BP_RC"; tail -15 "$WORK/verify.log" >&2; }
check verify '[j["bdev"] for j in r["results"]] == ["Aio0"] and t["io_completed"] > 100 and t["io_failed"] == 0 and t["miscompares"] == 0' \
	"aio verify" && pass "aio verify: $(result verify 'int(t["iops"])') IOPS"

# Each written block starts with its own block number (little-endian u64).
python3 - "$WORK/aio.img" <<'PY' || fail "the file does not hold bdevperf's block headers"
import struct, sys
f = open(sys.argv[1], "rb")
f.seek(8 * 512)
blk = struct.unpack("<Q", f.read(8))[0]
sys.exit(0 if blk == 8 else 1)
PY

run_bdevperf rr -c "$WORK/aio.json" -q 16 -o 4k -w randread -t 1
[ "$BP_RC" -eq 0 ] || fail "aio randread exited $BP_RC"
check rr 't["io_completed"] > 0 and t["io_failed"] == 0' "aio randread" && pass "aio randread"
finish
