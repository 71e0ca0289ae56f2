#!/usr/bin/env bash
# bdevperf IOPS and IOPS per CPU-second on one core (figures, never
# pass/fail; not run by CI). On a shared machine wall IOPS move with the
# other load; I/Os divided by the CPU seconds the process was given (user +
# system, from the kernel's accounting of the child) move much less.
# Rows: 4 KiB randread/randwrite at QD 32 on a malloc bdev, a thick lvol on
# a malloc bdev, and (with -Z) malloc zero-copy; ROUNDS rounds alternate the
# rows, the best of each is printed with the range.
# Usage: test/long/iops_cpu_bench.sh [seconds a run, default 3]
#   ROUNDS=N (default 3)  BENCH_CORE=N (default 1)  IPIO_BIN=DIR (default build/bin)
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
SECS=${1:-3}
ROUNDS=${ROUNDS:-3}
CORE=${BENCH_CORE:-1}
BIN=${IPIO_BIN:-$PWD/build/bin}
[ -x "$BIN/bdevperf" ] || { echo "build $BIN/bdevperf first" >&2; exit 1; }
WORK=$(mktemp -d /tmp/brisk_iops_cpu.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
MASK=$(printf '0x%x' $((1 << CORE)))

cat >"$WORK/conf.json" <<'EOF'
{"subsystems": [{"subsystem": "bdev", "config": [
 {"method": "bdev_malloc_create", "params": {"name": "Malloc0", "num_blocks": 65536, "block_size": 4096}},
 {"method": "bdev_malloc_create", "params": {"name": "Malloc1", "num_blocks": 73728, "block_size": 4096}},
 {"method": "bdev_lvol_create_lvstore", "params": {"bdev_name": "Malloc1", "lvs_name": "lvs0",
  "cluster_sz": 4194304}},
 {"method": "bdev_lvol_create", "params": {"lvs_name": "lvs0", "lvol_name": "thick", "size_in_mib": 256}}]}]}
EOF

# one NAME BDEV WORKLOAD [flags]: prints "IOPS IOPS_PER_CPU_SECOND".
one() {
	local name=$1 bdev=$2 w=$3
	shift 3
	python3 - "$WORK/$name.json" "$BIN/bdevperf" -m "$MASK" -s 1024 -c "$WORK/conf.json" -T "$bdev" \
		-q 32 -o 4096 -w "$w" -t "$SECS" "$@" <<'PY'
import json, resource, subprocess, sys
out, cmd = sys.argv[1], sys.argv[2:] + ["--json-output", sys.argv[1]]
rc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300).returncode
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
t = json.load(open(out))["total"] if rc == 0 else {"iops": 0, "io_completed": 0}
cpu = ru.ru_utime + ru.ru_stime
print("%.0f %.0f" % (t["iops"], t["io_completed"] / cpu if cpu > 0 else 0))
PY
}

declare -A IOPS PERCPU
ROWS=("malloc Malloc0 randread" "malloc Malloc0 randwrite" "lvol lvs0/thick randread"
	"lvol lvs0/thick randwrite" "malloc-Z Malloc0 randread -Z" "malloc-Z Malloc0 randwrite -Z")
for r in $(seq 1 "$ROUNDS"); do
	for row in "${ROWS[@]}"; do
		read -r name bdev w flags <<<"$row"
		# shellcheck disable=SC2086 # flags is empty or one word
		read -r iops percpu <<<"$(one "$name-$w-$r" "$bdev" "$w" $flags)"
		IOPS["$name $w"]+="$iops "
		PERCPU["$name $w"]+="$percpu "
	done
done
echo "bdevperf 4 KiB QD 32, core $CORE, $SECS s, $ROUNDS rounds, $(date -u '+%F %T') UTC," \
	"git $(git rev-parse --short HEAD 2>/dev/null), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| row | best IOPS (range) | best IOPS per CPU-second (range) |"
echo "|---|---:|---:|"
for row in "${ROWS[@]}"; do
	read -r name bdev w flags <<<"$row"
	python3 -c 'import sys
n, a, b = sys.argv[1], [float(x) for x in sys.argv[2].split()], [float(x) for x in sys.argv[3].split()]
print("| %s | %.0f (%.0f-%.0f) | %.0f (%.0f-%.0f) |" % (n, max(a), min(a), max(a), max(b), min(b), max(b)))' \
		"$name $w" "${IOPS["$name $w"]}" "${PERCPU["$name $w"]}"
done
