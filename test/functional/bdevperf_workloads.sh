#!/bin/bash
# bdevperf on a malloc bdev: every workload runs, completes I/O without
# failures and exits 0; verify checks every read-back on two cores; -l adds
# percentiles; -T selects bdevs; the table and --json-output agree; -Z
# (zero-copy) and --io-count.
source "$(dirname "$0")/bdevperf_common.sh"

bdev_config "$WORK/malloc.json" bdev_malloc_create '{"name": "Malloc0", "num_blocks": 32768, "block_size": 512}'

for w in read write randread randwrite unmap flush write_zeroes reset; do
	run_bdevperf "$w" -c "$WORK/malloc.json" -q 16 -o 4k -w "$w" -t 1
	if [ "$BP_RC" -ne 0 ]; then
		fail "workload $w exited $BP_RC"; tail -15 "$WORK/$w.log" >&2; continue
	fi
	check "$w" 't["io_completed"] > 0 and t["io_failed"] == 0 and r["results"][0]["workload"] == "'"$w"'"' \
		"workload $w: no I/O completed or some failed" && pass "workload $w"
done
check reset 't["resets"] >= 1' "reset workload issued no reset"

for w in rw randrw; do
	run_bdevperf "$w" -c "$WORK/malloc.json" -q 8 -o 8k -w "$w" -M 70 -t 1
	[ "$BP_RC" -eq 0 ] || fail "workload $w exited $BP_RC"
	check "$w" 't["io_completed"] > 0 and t["io_failed"] == 0 and t["rw_percentage"] == 70' \
		"workload $w -M 70" && pass "workload $w -M 70"
done

# verify on two cores: two jobs on disjoint halves, every read-back checked.
run_bdevperf verify2 -c "$WORK/malloc.json" -m 0x3 -q 32 -o 4096 -w verify -t 2 -l
[ "$BP_RC" -eq 0 ] || { fail "verify on two cores exited $BP_RC"; tail -15 "$WORK/verify2.log" >&2; }
check verify2 'len(r["results"]) == 2 and sorted(j["core"] for j in r["results"]) == [0, 1]' \
	"verify -m 0x3 should run one job per core"
check verify2 't["miscompares"] == 0 and t["io_failed"] == 0 and t["io_completed"] > 1000' \
	"verify on two cores"
check verify2 '0 < t["latency_percentiles_us"]["p50"] <= t["latency_percentiles_us"]["p99"] <= t["latency_percentiles_us"]["p99.9"] <= t["max_latency_us"] * 1.02' \
	"-l percentiles out of order"
check verify2 't["min_latency_us"] <= t["avg_latency_us"] <= t["max_latency_us"]' "latency min/avg/max"
grep -q "^Total (2 jobs)" "$WORK/verify2.log" || fail "no total line in the table"
grep -q "p99.9(us)" "$WORK/verify2.log" || fail "-l did not add percentile columns"
grep -q '^\[ *[0-9]* s\] .* IOPS' "$WORK/verify2.log" || fail "no progress line"
pass "verify on two cores with -l"

# -T picks one bdev out of two; without -T every leaf runs.
bdev_config "$WORK/two.json" bdev_malloc_create '{"name": "Malloc0", "num_blocks": 16384, "block_size": 512}' \
	bdev_malloc_create '{"name": "Malloc1", "num_blocks": 16384, "block_size": 4096}'
run_bdevperf twoT -c "$WORK/two.json" -q 4 -o 4k -w randread -t 1 -T Malloc1
check twoT '[j["bdev"] for j in r["results"]] == ["Malloc1"]' "-T Malloc1 should test only Malloc1"
run_bdevperf two -c "$WORK/two.json" -q 4 -o 4k -w verify -t 1
check two 'sorted(j["bdev"] for j in r["results"]) == ["Malloc0", "Malloc1"] and t["miscompares"] == 0' \
	"without -T every bdev should run"
pass "-T selection"

# Large I/O (the layer may split it): 256 KiB verify.
run_bdevperf big -c "$WORK/malloc.json" -q 4 -o 256k -w verify -t 1
[ "$BP_RC" -eq 0 ] || fail "256 KiB verify exited $BP_RC"
check big 't["io_completed"] > 0 and t["miscompares"] == 0' "256 KiB verify" && pass "256 KiB verify"

# -Z: writes fill the malloc bdev's lent buffers and commit, read-backs
# borrow them; verify checks every block. --io-count stops each job after
# that many I/Os (before -t). A bdev that lends nothing refuses -Z.
run_bdevperf zcopy -c "$WORK/malloc.json" -q 16 -o 4k -w verify -t 1 -Z
[ "$BP_RC" -eq 0 ] || { fail "-Z verify exited $BP_RC"; tail -15 "$WORK/zcopy.log" >&2; }
check zcopy 't["io_completed"] > 1000 and t["miscompares"] == 0 and t["io_failed"] == 0' "-Z verify" &&
	pass "-Z verify (zero-copy writes and read-backs)"
run_bdevperf count -c "$WORK/malloc.json" -q 16 -o 4k -w randread -t 30 -Z --io-count 5000
[ "$BP_RC" -eq 0 ] || fail "--io-count exited $BP_RC"
check count '5000 <= t["io_completed"] < 5016 and t["runtime"] < 20' "--io-count 5000 -q 16" &&
	pass "--io-count stops the job"
bdev_config "$WORK/null.json" bdev_null_create '{"name": "Null0", "num_blocks": 8192, "block_size": 512}'
run_bdevperf znull -c "$WORK/null.json" -q 4 -o 4k -w randread -t 1 -Z
if [ "$BP_RC" -ne 0 ] && grep -q "does not support zero-copy" "$WORK/znull.log"; then
	pass "-Z refused on a null bdev"
else
	fail "-Z on a null bdev: exit $BP_RC, no clear message"
fi

finish
