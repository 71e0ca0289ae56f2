#!/usr/bin/env bash
# Instructions per I/O of the data paths (figures, never pass/fail; not run
# by CI: each row takes a minute or two under valgrind).
#
# Method (doc/performance.md, "Instructions per I/O"): the program runs twice
# under valgrind --tool=callgrind, a SHORT and a LONG run; start-up and
# shutdown are the same in both, so
#   instructions per I/O = (Ir(LONG) - Ir(SHORT)) / (I/Os(LONG) - I/Os(SHORT))
# counts only the steady-state I/O loop. bdevperf runs a fixed number of
# I/Os (--io-count), so the load of a shared machine changes nothing;
# blob_perf has no such option and runs SHORT and LONG seconds (a loaded
# machine makes that row noisier; LONG is 5x SHORT to keep the difference large).
# Rows: bdevperf 4 KiB at QD 32 on a malloc bdev, a null bdev and a thick
# lvol on a malloc bdev (randread and randwrite), bdevperf -Z (zero-copy) on
# malloc, and blob_perf's blob side (reads and writes together) on malloc.
# Usage: test/long/ipio_bench.sh [rows...]   rows: malloc null lvol zcopy blob
#   IPIO_SHORT_IOS / IPIO_LONG_IOS  bdevperf I/Os of the two runs (20000 / 60000)
#   IPIO_SHORT / IPIO_LONG  blob_perf seconds of the two runs (default 1 / 5)
#   IPIO_BIN  directory of bdevperf and blob_perf (default build/bin)
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
ROOT=$PWD
SHORT=${IPIO_SHORT:-1}
LONG=${IPIO_LONG:-5}
SHORT_IOS=${IPIO_SHORT_IOS:-20000}
LONG_IOS=${IPIO_LONG_IOS:-60000}
BIN=${IPIO_BIN:-$ROOT/build/bin}
ROWS=("$@")
[ ${#ROWS[@]} -gt 0 ] || ROWS=(malloc null lvol zcopy blob)
command -v valgrind >/dev/null || { echo "valgrind is not installed (scripts/pkgdep.sh)" >&2; exit 1; }
for p in bdevperf blob_perf; do
	[ -x "$BIN/$p" ] || { echo "build $BIN/$p first" >&2; exit 1; }
done
WORK=$(mktemp -d /tmp/brisk_ipio.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

cat >"$WORK/conf.json" <<'EOF'
{"subsystems": [{"subsystem": "bdev", "config": [
 {"method": "bdev_malloc_create", "params": {"name": "Malloc0", "num_blocks": 8192, "block_size": 4096}},
 {"method": "bdev_null_create", "params": {"name": "Null0", "num_blocks": 8192, "block_size": 4096}},
 {"method": "bdev_malloc_create", "params": {"name": "Malloc1", "num_blocks": 12288, "block_size": 4096}},
 {"method": "bdev_lvol_create_lvstore", "params": {"bdev_name": "Malloc1", "lvs_name": "lvs0",
  "cluster_sz": 4194304}},
 {"method": "bdev_lvol_create", "params": {"lvs_name": "lvs0", "lvol_name": "thick", "size_in_mib": 32}}]}]}
EOF

# cg_total FILE: the instruction count callgrind wrote.
cg_total() { awk '/^(summary|totals):/ {print $2; exit}' "$1"; }

# run_cg TAG SECS CMD...: runs CMD under callgrind; prints nothing, leaves
# $WORK/TAG.cg (counts) and $WORK/TAG.log.
run_cg() {
	local tag=$1 secs=$2
	shift 2
	if ! timeout -k 5 $((secs * 120 + 300)) nice valgrind --tool=callgrind \
		--callgrind-out-file="$WORK/$tag.cg" "$@" >"$WORK/$tag.log" 2>&1; then
		echo "run $tag failed:" >&2
		tail -5 "$WORK/$tag.log" >&2
		return 1
	fi
}

# bdevperf_row NAME BDEV WORKLOAD [extra flags]: prints one table row.
bdevperf_row() {
	local name=$1 bdev=$2 w=$3 s ir=() ios=()
	shift 3
	for s in "$SHORT_IOS" "$LONG_IOS"; do
		run_cg "$name-$w-$s" 30 "$BIN/bdevperf" --no-huge -s 256 -m 0x1 -c "$WORK/conf.json" \
			-T "$bdev" -q 32 -o 4096 -w "$w" -t 600 --io-count "$s" \
			--json-output "$WORK/$name-$w-$s.json" "$@" || return
		ir+=("$(cg_total "$WORK/$name-$w-$s.cg")")
		ios+=("$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"]["io_completed"])' \
			"$WORK/$name-$w-$s.json")")
	done
	print_row "$name $w" "${ir[@]}" "${ios[@]}"
}

# blob_row: blob_perf's blob side, randread and randwrite together.
blob_row() {
	local s ir=() ios=()
	for s in "$SHORT" "$LONG"; do
		run_cg "blob-$s" "$s" "$BIN/blob_perf" --no-huge -s 300 -m 0x1 --phases io --io-side blob \
			-t "$s" -R 1 --size 16M --json-output "$WORK/blob-$s.json" || return
		ir+=("$(cg_total "$WORK/blob-$s.cg")")
		# blob_perf reports IOPS per row: I/Os = IOPS x seconds, summed over the rows.
		ios+=("$(python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))
rows = r["rows"]
print(int(sum(x.get("blob_iops", 0) for x in rows) * float(sys.argv[2])))' "$WORK/blob-$s.json" "$s")")
	done
	print_row "blob-on-malloc r+w" "${ir[@]}" "${ios[@]}"
}

# print_row NAME IR_SHORT IR_LONG IOS_SHORT IOS_LONG
print_row() {
	python3 -c 'import sys
n, a, b, c, d = sys.argv[1], *map(int, sys.argv[2:])
print("| %-24s | %10d | %9.0f |" % (n, d - c, (b - a) / (d - c) if d > c else float("nan")))' "$@"
}

echo "instructions per I/O, $(date -u '+%F %T') UTC, git $(git rev-parse --short HEAD 2>/dev/null)," \
	"bdevperf runs of $SHORT_IOS and $LONG_IOS I/Os, blob_perf runs of $SHORT and $LONG s"
echo "| row (4 KiB, QD 32)       | I/Os diff  | instr/IO  |"
echo "|---|---:|---:|"
for row in "${ROWS[@]}"; do
	case $row in
	malloc) bdevperf_row malloc Malloc0 randread; bdevperf_row malloc Malloc0 randwrite ;;
	null) bdevperf_row null Null0 randread; bdevperf_row null Null0 randwrite ;;
	lvol) bdevperf_row lvol lvs0/thick randread; bdevperf_row lvol lvs0/thick randwrite ;;
	zcopy)
		if "$BIN/bdevperf" --help 2>&1 | grep -q -- ' -Z'; then
			bdevperf_row malloc-zcopy Malloc0 randread -Z; bdevperf_row malloc-zcopy Malloc0 randwrite -Z
		else
			echo "| malloc-zcopy (no -Z in this bdevperf) | | |"
		fi ;;
	blob) blob_row ;;
	*) echo "unknown row '$row' (malloc null lvol zcopy blob)" >&2; exit 1 ;;
	esac
done
