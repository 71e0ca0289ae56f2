#!/bin/bash
# bdev benchmarks (figures, never pass/fail):
#  1. bdevperf on a malloc bdev, one core, 4 KiB: randread and randwrite IOPS
#     at queue depth 128, and latency at queue depth 1.
#  2. bdevperf on an aio bdev over a 1 GiB file, 4 KiB, queue depth 32,
#     randread and randwrite, against fio (libaio, O_DIRECT) with the same
#     parameters on the same file and core, in the same run; prints the ratio.
# Usage: test/bench/bdev_bench.sh [seconds per run, default 10]
#   BENCH_DIR=/path  folder for the 1 GiB file (default /var/tmp)
#   BENCH_CORE=N     core for both programs (default 0)
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
BDEVPERF=$ROOT/build/bin/bdevperf
SECS=${1:-10}
CORE=${BENCH_CORE:-0}
WORK=$(mktemp -d /tmp/brisk_bdev_bench.XXXXXX)
FILE=$(mktemp "${BENCH_DIR:-/var/tmp}/brisk_bdev_bench.XXXXXX.img")
cleanup() { rm -rf "$WORK"; rm -f "$FILE"; }
trap cleanup EXIT

[ -x "$BDEVPERF" ] || { echo "build $BDEVPERF first (make build/bin/bdevperf)" >&2; exit 1; }
MASK=$(printf '0x%x' $((1 << CORE)))

# bp NAME ARGS...: runs bdevperf on core CORE; prints nothing; results in $WORK/NAME.json.
bp() {
	local name=$1; shift
	if ! timeout -k 5 $((SECS + 60)) "$BDEVPERF" -m "$MASK" -s 1024 --json-output "$WORK/$name.json" "$@" \
		>"$WORK/$name.log" 2>&1; then
		echo "bdevperf $name failed:" >&2; tail -5 "$WORK/$name.log" >&2
		echo '{"total": {"iops": 0, "mibps": 0, "avg_latency_us": 0, "latency_percentiles_us": {"p50": 0, "p99": 0, "p99.9": 0}}}' >"$WORK/$name.json"
	fi
}

# field FILE EXPR: python expression over a JSON file bound to r (t = r["total"]).
field() {
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); t=r.get("total"); print(eval(sys.argv[2]))' "$1" "$2"
}

echo "bdev benchmarks: $(date -u '+%F %T') UTC, $(nproc) cores, core $CORE, $SECS s a run"
echo "cpu: $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//')"

# ---- 1. malloc ----
cat >"$WORK/malloc.json" <<'EOF'
{"subsystems": [{"subsystem": "bdev", "config": [
 {"method": "bdev_malloc_create", "params": {"name": "Malloc0", "num_blocks": 65536, "block_size": 4096}}]}]}
EOF
echo
echo "== malloc bdev (256 MiB, 4 KiB blocks), bdevperf, one core"
printf '%-28s %14s %10s %10s %10s %10s\n' "run" "IOPS" "MiB/s" "avg(us)" "p99(us)" "p99.9(us)"
for w in randread randwrite; do
	for qd in 128 1; do
		bp "malloc_${w}_q$qd" -c "$WORK/malloc.json" -q $qd -o 4k -w $w -t "$SECS" -l
		f=$WORK/malloc_${w}_q$qd.json
		printf '%-28s %14.0f %10.1f %10.2f %10.2f %10.2f\n' "$w 4k QD$qd" "$(field "$f" 't["iops"]')" \
			"$(field "$f" 't["mibps"]')" "$(field "$f" 't["avg_latency_us"]')" \
			"$(field "$f" 't["latency_percentiles_us"]["p99"]')" \
			"$(field "$f" 't["latency_percentiles_us"]["p99.9"]')"
	done
done

# ---- 2. aio vs fio ----
echo
echo "== aio bdev vs fio (libaio, O_DIRECT), 1 GiB file on $(df -T "$(dirname "$FILE")" | awk 'NR==2 {print $2}'), 4 KiB, QD 32, one core"
# Written in full so reads hit real blocks, not holes.
dd if=/dev/urandom of="$FILE" bs=1M count=1024 oflag=direct status=none conv=fsync
cat >"$WORK/aio.json" <<EOF
{"subsystems": [{"subsystem": "bdev", "config": [
 {"method": "bdev_aio_create", "params": {"name": "Aio0", "filename": "$FILE", "block_size": 4096}}]}]}
EOF
have_fio=1
command -v fio >/dev/null || { have_fio=0; echo "(fio not installed: bdevperf figures only)"; }
printf '%-14s %14s %14s %8s %12s %12s\n' "workload" "bdevperf IOPS" "fio IOPS" "ratio" "bp avg(us)" "fio avg(us)"
for w in randread randwrite; do
	bp "aio_$w" -c "$WORK/aio.json" -q 32 -o 4k -w $w -t "$SECS"
	bp_iops=$(field "$WORK/aio_$w.json" 't["iops"]')
	bp_lat=$(field "$WORK/aio_$w.json" 't["avg_latency_us"]')
	fio_iops=0; fio_lat=0
	if [ $have_fio = 1 ]; then
		if timeout -k 5 $((SECS + 60)) fio --name=bench --filename="$FILE" --ioengine=libaio --direct=1 \
			--rw=$w --bs=4k --iodepth=32 --numjobs=1 --time_based --runtime="$SECS" \
			--cpus_allowed="$CORE" --norandommap --randrepeat=0 --group_reporting \
			--output-format=json >"$WORK/fio_$w.json" 2>"$WORK/fio_$w.err"; then
			dir=${w#rand}
			fio_iops=$(field "$WORK/fio_$w.json" 'r["jobs"][0]["'"$dir"'"]["iops"]')
			fio_lat=$(field "$WORK/fio_$w.json" 'r["jobs"][0]["'"$dir"'"]["clat_ns"]["mean"] / 1000.0')
		else
			echo "fio $w failed: $(tail -3 "$WORK/fio_$w.err")" >&2
		fi
	fi
	ratio=$(python3 -c 'import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print("%.2f" % (a/b) if b > 0 else "n/a")' "$bp_iops" "$fio_iops")
	printf '%-14s %14.0f %14.0f %8s %12.2f %12.2f\n' "$w" "$bp_iops" "$fio_iops" "$ratio" "$bp_lat" "$fio_lat"
done
echo
echo "ratio = bdevperf IOPS / fio IOPS (same file, core, size and depth; above 1: bdevperf faster)"
