#!/bin/bash
# Lvol benchmarks (figures, never pass/fail), one core, in one run:
#  1. bdevperf 4 KiB randread and randwrite at queue depth 32 on a malloc
#     bdev and on a thick lvol over another malloc bdev of the same size;
#     prints the lvol's overhead in percent (runs alternate, REPEAT times,
#     best of each kept to damp noise).
#  2. First writes to a thin lvol (every write allocates its cluster): the
#     whole lvol written once with 128 KiB writes at queue depth 32, against
#     the same writes to a thick lvol (clusters already there) and to the
#     malloc bdev itself.
# Usage: test/bench/lvol_bench.sh [seconds per bdevperf run, default 5]
#   BENCH_CORE=N  core (default 0)   REPEAT=N  rounds of part 1 (default 2)
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
BDEVPERF=$ROOT/build/bin/bdevperf
LVOL_IO=$ROOT/build/bin/lvol_io
SECS=${1:-5}
CORE=${BENCH_CORE:-0}
REPEAT=${REPEAT:-2}
WORK=$(mktemp -d /tmp/brisk_lvol_bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
for p in "$BDEVPERF" "$LVOL_IO"; do
	[ -x "$p" ] || { echo "build $p first (make build/bin/bdevperf build/bin/lvol_io)" >&2; exit 1; }
done
MASK=$(printf '0x%x' $((1 << CORE)))

field() {
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); t=r.get("total"); print(eval(sys.argv[2]))' "$1" "$2"
}

echo "lvol benchmarks: $(date -u '+%F %T') UTC, $(nproc) cores, core $CORE, $SECS s a run"
echo "cpu: $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//')"

# ---- 1. thick lvol vs malloc ----
# Two malloc bdevs of 512 MiB (4 KiB blocks): Malloc0 raw, Malloc1 under an
# lvstore (4 MiB clusters) with a 448 MiB thick lvol.
cat >"$WORK/conf.json" <<'EOF'
{"subsystems": [{"subsystem": "bdev", "config": [
 {"method": "bdev_malloc_create", "params": {"name": "Malloc0", "num_blocks": 131072, "block_size": 4096}},
 {"method": "bdev_malloc_create", "params": {"name": "Malloc1", "num_blocks": 131072, "block_size": 4096}},
 {"method": "bdev_lvol_create_lvstore", "params": {"bdev_name": "Malloc1", "lvs_name": "lvs0"}},
 {"method": "bdev_lvol_create", "params": {"lvs_name": "lvs0", "lvol_name": "thick", "size_in_mib": 448}}]}]}
EOF
bp() { # NAME TARGET WORKLOAD
	if ! timeout -k 5 $((SECS + 60)) "$BDEVPERF" -m "$MASK" -s 1536 -c "$WORK/conf.json" -T "$2" -q 32 -o 4k \
		-w "$3" -t "$SECS" --json-output "$WORK/$1.json" >"$WORK/$1.log" 2>&1; then
		echo "bdevperf $1 failed:" >&2; tail -5 "$WORK/$1.log" >&2
		echo '{"total": {"iops": 0, "avg_latency_us": 0}}' >"$WORK/$1.json"
	fi
	field "$WORK/$1.json" 't["iops"]'
}
echo
echo "== 4 KiB, QD 32: malloc bdev vs thick lvol on malloc (best of $REPEAT alternating runs)"
printf '%-12s %14s %14s %10s\n' "workload" "malloc IOPS" "lvol IOPS" "overhead"
for w in randread randwrite; do
	best_m=0; best_l=0
	for i in $(seq 1 "$REPEAT"); do
		m=$(bp "m_${w}_$i" Malloc0 $w)
		l=$(bp "l_${w}_$i" lvs0/thick $w)
		best_m=$(python3 -c "print(max($best_m, $m))")
		best_l=$(python3 -c "print(max($best_l, $l))")
	done
	ovh=$(python3 -c "m,l=$best_m,$best_l; print('%.1f%%' % ((m - l) / m * 100) if m > 0 else 'n/a')")
	printf '%-12s %14.0f %14.0f %10s\n' "$w" "$best_m" "$best_l" "$ovh"
done
echo "overhead = (malloc IOPS - lvol IOPS) / malloc IOPS"

# ---- 2. thin lvol first writes ----
# lvol_io writes each bdev once, 448 MiB in 128 KiB writes, QD 32, and times it.
cat >"$WORK/thin.json" <<'EOF'
{"subsystems": [{"subsystem": "bdev", "config": [
 {"method": "bdev_malloc_create", "params": {"name": "Malloc0", "num_blocks": 131072, "block_size": 4096}},
 {"method": "bdev_malloc_create", "params": {"name": "Malloc1", "num_blocks": 131072, "block_size": 4096}},
 {"method": "bdev_malloc_create", "params": {"name": "Malloc2", "num_blocks": 131072, "block_size": 4096}},
 {"method": "bdev_lvol_create_lvstore", "params": {"bdev_name": "Malloc1", "lvs_name": "lvs_thin"}},
 {"method": "bdev_lvol_create", "params": {"lvs_name": "lvs_thin", "lvol_name": "thin", "size_in_mib": 448, "thin_provision": true}},
 {"method": "bdev_lvol_create_lvstore", "params": {"bdev_name": "Malloc2", "lvs_name": "lvs_thick"}},
 {"method": "bdev_lvol_create", "params": {"lvs_name": "lvs_thick", "lvol_name": "thick", "size_in_mib": 448}}]}]}
EOF
echo
echo "== first write of 448 MiB, 128 KiB writes, QD 32"
if timeout -k 5 120 "$LVOL_IO" -m "$MASK" -s 1800 -c "$WORK/thin.json" -q 32 -x w:lvs_thin/thin:0:448M:0x5a \
	-x w:lvs_thick/thick:0:448M:0x5a -x w:Malloc0:0:448M:0x5a -x w:lvs_thin/thin:0:448M:0xa5 >"$WORK/thin.log" 2>&1; then
	printf '%-40s %10s\n' "bdev" "MiB/s"
	awk '/: ok/ {gsub(/[(,]/, ""); for (i = 1; i <= NF; i++) if ($i == "MiB/s") v = $(i-1); print $3 " " v}' "$WORK/thin.log" |
		awk 'NR==1 {printf "%-40s %10s\n", "thin lvol, first write (allocates)", $2}
		     NR==2 {printf "%-40s %10s\n", "thick lvol", $2}
		     NR==3 {printf "%-40s %10s\n", "malloc bdev", $2}
		     NR==4 {printf "%-40s %10s\n", "thin lvol, second write", $2}'
else
	echo "lvol_io failed:"; tail -5 "$WORK/thin.log"
fi
