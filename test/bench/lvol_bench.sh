#!/bin/bash
# Lvol benchmarks (figures, never pass/fail), one core, in one run:
#  1. bdevperf 4 KiB randread and randwrite at queue depth 32 on a malloc
#     bdev and on a thick lvol over another malloc bdev, both 448 MiB (the
#     same working set); prints the lvol's overhead in percent (runs
#     alternate, REPEAT times, best of each kept to damp noise; the range
#     of the runs is printed too).
#     The same on two aio bdevs (O_DIRECT files): the overhead on a device
#     with real latency.
#  2. First writes to a thin lvol (every write allocates its cluster): the
#     whole lvol written once with 128 KiB writes at queue depth 32, against
#     the same writes to a thick lvol (clusters already there), to the
#     malloc bdev itself and to the thin lvol again (now allocated). A fresh
#     process and lvstore each round, REPEAT rounds, best and range kept.
# Usage: test/bench/lvol_bench.sh [seconds per bdevperf run, default 5]
#   BENCH_CORE=N  core (default 0)   REPEAT=N  rounds (default 2)
#   BENCH_JSON=FILE  also write the figures as JSON to FILE
set -u
cd "$(dirname "$0")/../.." || exit 1
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

echo "lvol benchmarks: $(date -u '+%F %T') UTC, $(nproc) cores, core $CORE, $SECS s a run, $REPEAT rounds"
echo "cpu: $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//')"

# ---- 1. thick lvol vs malloc ----
# Malloc0 (448 MiB) raw; Malloc1 (512 MiB, 4 KiB blocks) under an lvstore
# (4 MiB clusters) with a 448 MiB thick lvol: both runs cover 448 MiB.
cat >"$WORK/conf.json" <<'EOF'
{"subsystems": [{"subsystem": "bdev", "config": [
 {"method": "bdev_malloc_create", "params": {"name": "Malloc0", "num_blocks": 114688, "block_size": 4096}},
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
# stats V1 V2 ...: "best min max" of the numbers
stats() { python3 -c 'import sys; v=[float(x) for x in sys.argv[1:]]; print(max(v), min(v), max(v))' "$@"; }

# compare KIND RAW LVOL: the rows of raw bdev vs thick lvol for randread and
# randwrite; appends their JSON to JSON_P1 under KIND.
compare() {
	local kind=$1 raw=$2 lvol=$3 w i ms ls json=""
	printf '%-12s %12s %21s %12s %21s %10s\n' "workload" "$kind IOPS" "(range)" "lvol IOPS" "(range)" "overhead"
	for w in randread randwrite; do
		ms=(); ls=()
		for i in $(seq 1 "$REPEAT"); do
			# The order alternates so that drift on a shared machine hits both sides.
			if [ $((i % 2)) = 1 ]; then
				ms+=("$(bp "${kind}_${w}_$i" "$raw" $w)"); ls+=("$(bp "l${kind}_${w}_$i" "$lvol" $w)")
			else
				ls+=("$(bp "l${kind}_${w}_$i" "$lvol" $w)"); ms+=("$(bp "${kind}_${w}_$i" "$raw" $w)")
			fi
		done
		read -r best_m min_m max_m <<<"$(stats "${ms[@]}")"
		read -r best_l min_l max_l <<<"$(stats "${ls[@]}")"
		ovh=$(python3 -c "m,l=$best_m,$best_l; print('%.1f' % ((m - l) / m * 100) if m > 0 else 'null')")
		printf '%-12s %12.0f %10.0f-%-10.0f %12.0f %10.0f-%-10.0f %9s%%\n' "$w" "$best_m" "$min_m" "$max_m" \
			"$best_l" "$min_l" "$max_l" "$ovh"
		json+="${json:+, }\"$w\": {\"${kind}_iops\": $best_m, \"lvol_iops\": $best_l, \"overhead_pct\": $ovh, "
		json+="\"${kind}_runs\": [$(IFS=,; echo "${ms[*]}")], \"lvol_runs\": [$(IFS=,; echo "${ls[*]}")]}"
	done
	JSON_P1+="${JSON_P1:+, }\"$kind\": {$json}"
}

JSON_P1=""
echo
echo "== 4 KiB, QD 32, 448 MiB: malloc bdev vs thick lvol on malloc (best of $REPEAT alternating runs)"
compare malloc Malloc0 lvs0/thick
# The same on a device with real latency: two 512 MiB files written in full
# (holes would read without any I/O), opened with O_DIRECT by the aio bdev.
for f in raw lvs; do
	dd if=/dev/zero of="$WORK/$f.img" bs=1M count=512 conv=fsync status=none
done
cat >"$WORK/conf.json" <<EOF
{"subsystems": [{"subsystem": "bdev", "config": [
 {"method": "bdev_aio_create", "params": {"name": "Aio0", "filename": "$WORK/raw.img", "block_size": 4096}},
 {"method": "bdev_aio_create", "params": {"name": "Aio1", "filename": "$WORK/lvs.img", "block_size": 4096}},
 {"method": "bdev_lvol_create_lvstore", "params": {"bdev_name": "Aio1", "lvs_name": "lvs0"}},
 {"method": "bdev_lvol_create", "params": {"lvs_name": "lvs0", "lvol_name": "thick", "size_in_mib": 448}}]}]}
EOF
echo
echo "== 4 KiB, QD 32: aio bdev on a file vs thick lvol on an aio bdev (O_DIRECT, files on $(df --output=source "$WORK" | tail -1))"
compare aio Aio0 lvs0/thick
echo; echo "overhead = (best raw IOPS - best lvol IOPS) / best raw IOPS"

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
echo "== write of 448 MiB once, 128 KiB writes, QD 32 (lvstore clusters 4 MiB; best of $REPEAT fresh processes)"
names=("thin lvol, first write (allocates)" "thick lvol" "malloc bdev" "thin lvol, second write")
keys=(thin_first thick malloc thin_second)
declare -a runs0=() runs1=() runs2=() runs3=()
for i in $(seq 1 "$REPEAT"); do
	if timeout -k 5 120 "$LVOL_IO" -m "$MASK" -s 1800 -c "$WORK/thin.json" -q 32 -x w:lvs_thin/thin:0:448M:0x5a \
		-x w:lvs_thick/thick:0:448M:0x5a -x w:Malloc0:0:448M:0x5a -x w:lvs_thin/thin:0:448M:0xa5 \
		>"$WORK/thin_$i.log" 2>&1; then
		mapfile -t v < <(awk '/: ok/ {gsub(/[(,]/, ""); for (i = 1; i <= NF; i++) if ($i == "MiB/s") print $(i-1)}' \
			"$WORK/thin_$i.log")
		runs0+=("${v[0]}"); runs1+=("${v[1]}"); runs2+=("${v[2]}"); runs3+=("${v[3]}")
	else
		echo "lvol_io round $i failed:" >&2; tail -5 "$WORK/thin_$i.log" >&2
	fi
done
JSON_P2=""
if [ ${#runs0[@]} -gt 0 ]; then
	printf '%-40s %10s %21s\n' "bdev" "MiB/s" "(range)"
	for k in 0 1 2 3; do
		# shellcheck disable=SC1087 # ${runs$k[@]} is text for eval: copies array runs<k>
		eval "r=(\"\${runs$k[@]}\")"
		# shellcheck disable=SC2154 # r is set by the eval above
		read -r b lo hi <<<"$(stats "${r[@]}")"
		printf '%-40s %10.1f %10.1f-%-10.1f\n' "${names[$k]}" "$b" "$lo" "$hi"
		JSON_P2+="${JSON_P2:+, }\"${keys[$k]}\": {\"mib_per_s\": $b, \"runs\": [$(IFS=,; echo "${r[*]}")]}"
	done
	echo "(one pass of 448 MiB takes 20-40 ms: the spread between rounds is large on a shared machine)"
fi

if [ -n "${BENCH_JSON:-}" ]; then
	echo "{\"date\": \"$(date -u '+%F %T') UTC\", \"seconds\": $SECS, \"core\": $CORE, \"repeat\": $REPEAT," \
		"\"thick_vs_raw_4k_qd32\": {$JSON_P1}, \"write_448m_128k_qd32\": {$JSON_P2}}" |
		python3 -m json.tool >"$BENCH_JSON" || echo "could not write $BENCH_JSON" >&2
fi
