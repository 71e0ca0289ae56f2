#!/bin/bash
# An error bdev over malloc with injected read failures: bdevperf counts the
# failed I/O (table and JSON), keeps running, and exits non-zero. Without
# injections the same stack runs clean and exits 0. Reads corrupted by the
# error bdev make verify report each mismatch and exit non-zero; the summary
# names the errno of the failures and the offset of the first miscompare.
source "$(dirname "$0")/bdevperf_common.sh"

malloc='{"name": "Malloc0", "num_blocks": 16384, "block_size": 512}'
bdev_config "$WORK/clean.json" bdev_malloc_create "$malloc" bdev_error_create '{"base_name": "Malloc0"}'
bdev_config "$WORK/inject.json" bdev_malloc_create "$malloc" bdev_error_create '{"base_name": "Malloc0"}' \
	bdev_error_inject_error '{"name": "EE_Malloc0", "io_type": "read", "error_type": "failure", "num": 25}'

run_bdevperf clean -c "$WORK/clean.json" -q 8 -o 4k -w verify -t 1
[ "$BP_RC" -eq 0 ] || { fail "error bdev without injection exited $BP_RC"; tail -15 "$WORK/clean.log" >&2; }
check clean '[j["bdev"] for j in r["results"]] == ["EE_Malloc0"] and t["io_failed"] == 0 and t["io_completed"] > 0' \
	"error bdev without injection (only the leaf EE_Malloc0 runs)" && pass "error bdev, no injection"

run_bdevperf inject -c "$WORK/inject.json" -q 8 -o 4k -w randread -t 1
[ "$BP_RC" -ne 0 ] && [ "$BP_RC" -lt 124 ] || fail "25 injected read failures: exit $BP_RC, want a clean non-zero exit"
check inject 't["io_failed"] == 25 and t["io_completed"] > 25' "injected failures not counted exactly"
grep -q "25 I/O failed on bdev EE_Malloc0: Input/output error (the first at offset [0-9]*)" "$WORK/inject.log" ||
	fail "no failure summary on stderr"
grep -q "job .*failed: Input/output error" "$WORK/inject.log" || fail "failed I/O not logged"
[ "$(grep -c 'job .*failed: Input/output error' "$WORK/inject.log")" -le 5 ] || fail "failed I/O logged more than 5 times a job"
check inject 't["first_error"]["errno"] == 5 and t["first_error"]["message"] == "Input/output error"' \
	"the first error's errno is not in the results"
pass "25 injected read failures: counted, logged, non-zero exit"

# Corrupted reads under verify: 3 read-backs with one byte flipped are found,
# each reported with the bdev, the byte offset, expected and found values.
bdev_config "$WORK/corrupt.json" bdev_malloc_create "$malloc" bdev_error_create '{"base_name": "Malloc0"}' \
	bdev_error_inject_error '{"name": "EE_Malloc0", "io_type": "read", "error_type": "corrupt_data", "num": 3, "corrupt_offset": 100, "corrupt_value": 255}'
run_bdevperf corrupt -c "$WORK/corrupt.json" -q 8 -o 4k -w verify -t 1
[ "$BP_RC" -ne 0 ] && [ "$BP_RC" -lt 124 ] || fail "corrupted verify reads: exit $BP_RC, want a clean non-zero exit"
check corrupt 't["miscompares"] == 3 and t["io_failed"] == 0' "3 corrupted reads should give 3 miscompares"
[ "$(grep -c 'verify: bdev EE_Malloc0: mismatch at byte offset' "$WORK/corrupt.log")" -eq 3 ] ||
	fail "mismatches not reported: $(grep -i mismatch "$WORK/corrupt.log")"
grep -q "byte 100 in block): 8-byte word at byte 96 expected 0x" "$WORK/corrupt.log" || fail "mismatch report lacks the position in the block"
first=$(grep -m1 'mismatch at byte offset' "$WORK/corrupt.log" | sed 's/.*mismatch at byte offset \([0-9]*\) .*/\1/')
grep -q "bdevperf: run failed: data miscompare at offset $first on bdev EE_Malloc0 (3 read-back(s) differed)" \
	"$WORK/corrupt.log" || fail "no miscompare summary naming the offset $first: $(grep 'run failed' "$WORK/corrupt.log")"
grep -q "Invalid or incomplete multibyte" "$WORK/corrupt.log" && fail "a miscompare is still reported as EILSEQ's text"
check corrupt "t['first_miscompare_offset'] == $first" "the first miscompare's offset is not in the results"
pass "verify catches 3 corrupted reads: $(grep -m1 'mismatch at' "$WORK/corrupt.log" | sed 's/.*verify: //')"
finish
