#!/bin/bash
# fio with Brisk's brisk_bdev ioengine against its peers (figures, never
# pass/fail), 4 KiB at queue depth 32, one table with ratios:
#  1. malloc and null bdevs: fio + brisk_bdev vs Brisk's bdevperf on the same
#     bdev (what fio's framework and the engine's hop to a reactor cost), and
#     vs fio's own `null` engine (fio's cost alone, no storage stack at all);
#  2. an aio bdev over a file: fio + brisk_bdev vs bdevperf, and vs fio's own
#     libaio and io_uring engines (O_DIRECT) on the same file.
# Placement: bdevperf runs on core A; with brisk_bdev (default, the job's Brisk
# thread on a reactor) Brisk's reactor runs on core A and fio's job thread on
# core B, the engine handing I/O between them: two cores. With inline_poll=1
# fio's job thread polls its own Brisk thread on core A (the reactor idles
# there, asleep). fio's own engines run on core A.
# Usage: test/bench/fio_bench.sh [seconds per run, default 5]
#   BENCH_DIR=/path   folder for the aio file (default /var/tmp)
#   BENCH_CORES=A,B   cores (default 0,1)
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
BDEVPERF=$ROOT/build/bin/bdevperf
ENGINE=$ROOT/build/fio/brisk_bdev.so
SECS=${1:-5}
CORES=${BENCH_CORES:-0,1}
CA=${CORES%,*} CB=${CORES#*,}
WORK=$(mktemp -d /tmp/brisk_fio_bench.XXXXXX)
FILE=$(mktemp "${BENCH_DIR:-/var/tmp}/brisk_fio_bench.XXXXXX.img")
cleanup() { rm -rf "$WORK"; rm -f "$FILE"; }
trap cleanup EXIT

[ -x "$BDEVPERF" ] || { echo "build $BDEVPERF first (make)" >&2; exit 1; }
command -v fio >/dev/null || { echo "fio is not installed (sudo scripts/pkgdep.sh --fio)" >&2; exit 1; }
[ -f "$ENGINE" ] || { echo "$ENGINE is not built (scripts/pkgdep.sh --fio; ./configure; make)" >&2; exit 1; }
MASK_A=$(printf '0x%x' $((1 << CA)))

# bp NAME ARGS...: bdevperf on core A; prints its IOPS and mean latency (us).
bp() {
	local name=$1; shift
	if ! timeout -k 5 $((SECS + 60)) "$BDEVPERF" -m "$MASK_A" -s 512 --json-output "$WORK/$name.json" \
		-q 32 -o 4k -t "$SECS" "$@" >"$WORK/$name.log" 2>&1; then
		echo "bdevperf $name failed: $(tail -3 "$WORK/$name.log")" >&2
		echo "0 0"; return
	fi
	python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["total"]; print(t["iops"], t["avg_latency_us"])' "$WORK/$name.json"
}

# fio_run NAME DIR ARGS...: fio, time based; prints IOPS and mean latency (us) of DIR (read|write).
fio_run() {
	local name=$1 dir=$2; shift 2
	if ! timeout -k 5 $((SECS + 60)) fio --name=bench --bs=4k --iodepth=32 --numjobs=1 --time_based \
		--runtime="$SECS" --ramp_time=1 --norandommap --randrepeat=0 --output-format=json \
		--output="$WORK/$name.json" "$@" >"$WORK/$name.log" 2>&1; then
		echo "fio $name failed: $(tail -3 "$WORK/$name.log")" >&2
		echo "0 0"; return
	fi
	python3 -c 'import json,sys
t = open(sys.argv[1]).read(); j = json.loads(t[t.index("{"):])["jobs"][0][sys.argv[2]]
print(j["iops"], j["lat_ns"]["mean"] / 1000.0)' "$WORK/$name.json" "$dir"
}

# brisk NAME DIR CONFIG BDEV ARGS...: fio + brisk_bdev (reactor on core A, fio on core B).
brisk() {
	local name=$1 dir=$2 conf=$3 bdev=$4; shift 4
	fio_run "$name" "$dir" --ioengine=external:"$ENGINE" --thread=1 --spdk_json_conf="$conf" \
		--spdk_mem=512 --reactor_mask="$MASK_A" --inline_poll=0 --cpus_allowed="$CB" \
		--filename="$bdev" "$@"
}

# inline NAME DIR CONFIG BDEV ARGS...: fio + brisk_bdev with inline_poll=1, all on core A.
inline() {
	local name=$1 dir=$2 conf=$3 bdev=$4; shift 4
	fio_run "$name" "$dir" --ioengine=external:"$ENGINE" --thread=1 --spdk_json_conf="$conf" \
		--spdk_mem=512 --reactor_mask="$MASK_A" --inline_poll=1 --cpus_allowed="$CA" \
		--filename="$bdev" "$@"
}

BASE_IOPS=0
row() { # workload tool "IOPS LAT"
	local iops=${3% *} lat=${3#* }
	[ "$2" = bdevperf ] && BASE_IOPS=$iops
	printf '%-26s %-24s %12.0f %10.2f %8s\n' "$1" "$2" "$iops" "$lat" \
		"$(python3 -c 'import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print("%.2f" % (a/b) if b > 0 else "n/a")' "$iops" "$BASE_IOPS")"
}

echo "fio engine benchmarks: $(date -u '+%F %T') UTC, $(nproc) cores (A=$CA, B=$CB), $SECS s a run, 4 KiB QD 32"
echo "cpu: $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//'); $(fio --version)"
printf '%-26s %-24s %12s %10s %8s\n' "workload" "tool" "IOPS" "avg(us)" "ratio"

cat >"$WORK/mem.json" <<'JSON'
{"subsystems": [{"subsystem": "bdev", "config": [
 {"method": "bdev_malloc_create", "params": {"name": "Malloc0", "num_blocks": 8192, "block_size": 4096}},
 {"method": "bdev_null_create", "params": {"name": "Null0", "num_blocks": 262144, "block_size": 4096}}]}]}
JSON
for w in randread randwrite; do
	dir=${w#rand}
	row "malloc 32 MiB $w" bdevperf "$(bp "malloc_$w" -c "$WORK/mem.json" -T Malloc0 -w $w)"
	row "malloc 32 MiB $w" "fio brisk_bdev" "$(brisk "fmalloc_$w" "$dir" "$WORK/mem.json" Malloc0 --rw=$w)"
	row "malloc 32 MiB $w" "fio brisk_bdev inline" "$(inline "fimalloc_$w" "$dir" "$WORK/mem.json" Malloc0 --rw=$w)"
done
row "null randread" bdevperf "$(bp null -c "$WORK/mem.json" -T Null0 -w randread)"
row "null randread" "fio brisk_bdev" "$(brisk fnull read "$WORK/mem.json" Null0 --rw=randread)"
row "null randread" "fio brisk_bdev inline" "$(inline finull read "$WORK/mem.json" Null0 --rw=randread)"
row "null randread" "fio null engine" "$(fio_run fionull read --ioengine=null --size=1G --rw=randread --cpus_allowed="$CA")"

# Written in full so reads hit real blocks, not holes.
dd if=/dev/urandom of="$FILE" bs=1M count=1024 oflag=direct status=none conv=fsync
cat >"$WORK/aio.json" <<JSON
{"subsystems": [{"subsystem": "bdev", "config": [
 {"method": "bdev_aio_create", "params": {"name": "Aio0", "filename": "$FILE", "block_size": 4096}}]}]}
JSON
fs=$(df -T "$(dirname "$FILE")" | awk 'NR==2 {print $2}')
for w in randread randwrite; do
	dir=${w#rand}
	row "aio 1 GiB $fs $w" bdevperf "$(bp "aio_$w" -c "$WORK/aio.json" -w $w)"
	row "aio 1 GiB $fs $w" "fio brisk_bdev" "$(brisk "faio_$w" "$dir" "$WORK/aio.json" Aio0 --rw=$w)"
	row "aio 1 GiB $fs $w" "fio brisk_bdev inline" "$(inline "fiaio_$w" "$dir" "$WORK/aio.json" Aio0 --rw=$w)"
	for e in libaio io_uring; do
		row "aio 1 GiB $fs $w" "fio $e" "$(fio_run "f${e}_$w" "$dir" --ioengine=$e --direct=1 \
			--filename="$FILE" --rw=$w --cpus_allowed="$CA")"
	done
done
echo
echo "ratio = IOPS / bdevperf's IOPS on the same bdev (or file) and depth; avg = mean latency per I/O"
