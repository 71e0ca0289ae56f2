#!/bin/bash
# Bad bdevperf flags and runs that cannot start: each exits non-zero with a
# message naming the flag or the bdev, and leaves nothing running.
source "$(dirname "$0")/bdevperf_common.sh"

bdev_config "$WORK/malloc.json" bdev_malloc_create '{"name": "Malloc0", "num_blocks": 8192, "block_size": 512}'

# bad NAME EXPECTED-TEXT ARGS...: bdevperf must exit non-zero printing EXPECTED-TEXT.
bad() {
	local name=$1 want=$2; shift 2
	run_bdevperf "$name" -c "$WORK/malloc.json" "$@"
	if [ "$BP_RC" -eq 0 ] || [ "$BP_RC" -ge 124 ]; then
		fail "$name: bdevperf $* exited $BP_RC (want a clean non-zero exit)"
		return
	fi
	if ! grep -q -- "$want" "$WORK/$name.log"; then
		fail "$name: message does not mention '$want': $(grep -v NOTICE "$WORK/$name.log")"
		return
	fi
	pass "$name: $(grep -m1 -- "$want" "$WORK/$name.log")"
}

bad qd0        "-q (queue depth)"        -q 0 -o 4k -w read -t 1
bad qd_text    "-q (queue depth)"        -q lots -o 4k -w read -t 1
bad io_1000    "not a multiple of the block size 512" -q 4 -o 1000 -w read -t 1
bad io_0       "-o (I/O size)"           -q 4 -o 0 -w read -t 1
bad io_text    "-o (I/O size)"           -q 4 -o big -w read -t 1
bad workload   "unknown workload 'bogus'" -q 4 -o 4k -w bogus -t 1
bad rw_no_M    "needs the read percentage -M" -q 4 -o 4k -w rw -t 1
bad M_range    "-M (read percentage)"    -q 4 -o 4k -w randrw -M 101 -t 1
bad time0      "-t (seconds)"            -q 4 -o 4k -w read -t 0
bad no_time    "run time (-t) missing"   -q 4 -o 4k -w read
bad no_qd      "queue depth (-q) missing" -o 4k -w read -t 1
bad no_bdev    "bdev 'Nope' (-T) does not exist" -q 4 -o 4k -w read -t 1 -T Nope
bad unknown    "unknown option"          -q 4 -o 4k -w read -t 1 --bogus
bad too_deep   "verify needs at least queue depth" -q 4096 -o 4k -w verify -t 1
bad drain_text "--drain-timeout must be"  -q 4 -o 4k -w read -t 1 --drain-timeout soon
bad drain_neg  "--drain-timeout must be"  -q 4 -o 4k -w read -t 1 --drain-timeout -1

# No bdev at all (empty config).
bdev_config "$WORK/empty.json"
run_bdevperf empty -c "$WORK/empty.json" -q 4 -o 4k -w read -t 1
{ [ "$BP_RC" -ne 0 ] && grep -q "no bdev to test" "$WORK/empty.log"; } ||
	fail "no bdev: exit $BP_RC, $(grep -v NOTICE "$WORK/empty.log")"
pass "no bdev"

# -h prints the bdevperf options and exits 0.
out=$(timeout 10 "$BDEVPERF" -h 2>&1) || fail "-h exited non-zero"
grep -q -- "-w <workload>" <<<"$out" && grep -q -- "--json-output" <<<"$out" || fail "-h lacks bdevperf options"
pass "-h"

finish
