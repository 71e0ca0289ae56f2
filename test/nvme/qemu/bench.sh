#!/bin/bash
# Benchmark (not a CI test): Brisk's nvme_perf against the Linux kernel's nvme
# driver on the same emulated controller in one QEMU guest, 4 KiB random reads
# at queue depth 32: the kernel through fio (io_uring, O_DIRECT) when
# /usr/bin/fio exists, else both sides fall back to 4 KiB sequential reads at
# QD 1 (the kernel through dd). Prints a table, the ratio and one JSON line.
# Under TCG the emulated device dominates: the figures compare the two drivers'
# costs on one slow device, they say nothing about real hardware.
#
# Usage: test/nvme/qemu/bench.sh [-t SECONDS] [-d uio|vfio] [--smp N]
#   defaults: 10 s a side, vfio, 1 vCPU
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
SECS=10 MODE=vfio SMP=1
WORK=$(mktemp -d /tmp/brisk-qemu-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

while [ $# -gt 0 ]; do
	case "$1" in
	-t) SECS=$2; shift ;;
	-d) MODE=$2; shift ;;
	--smp) SMP=$2; shift ;;
	-h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench.sh: unknown option '$1'" >&2; exit 1 ;;
	esac
	shift
done
[ -x "$ROOT/build/bin/nvme_perf" ] || { echo "bench.sh: build/bin/nvme_perf is missing (make)" >&2; exit 1; }

if [ -x /usr/bin/fio ]; then
	WORKLOAD="randread QD 32" PERF_ARGS="-q 32 -o 4096 -w randread" FIO=(--prog /usr/bin/fio)
	KERNEL_TOOL="fio io_uring"
else
	WORKLOAD="read QD 1" PERF_ARGS="-q 1 -o 4096 -w read" FIO=()
	KERNEL_TOOL="dd iflag=direct"
fi

# The guest: the kernel's driver first, then Brisk's on the same namespace.
cat >"$WORK/bench.sh" <<EOF
b=\$(ctrl_bdf 0)
bind "\$b" nvme || fail "bind \$b to nvme"
dev=\$(ns_blockdev "\$b" 1)
if [ -x /brisk/bin/fio ]; then
	fio --name=kernel --filename="\$dev" --rw=randread --bs=4k --iodepth=32 \
		--ioengine=io_uring --direct=1 --runtime=$SECS --time_based --minimal >/tmp/k.out
	echo "BENCH kernel_iops=\$(awk -F';' '{print \$8}' /tmp/k.out)"
else
	n=\$(timeout $SECS dd if="\$dev" of=/dev/null bs=4096 iflag=direct 2>&1 |
		awk -F+ '/records in/ {print \$1}')
	echo "BENCH kernel_iops=\$((n / $SECS))"
fi
bind "\$b" $MODE || fail "bind \$b to $MODE"
run_logged /tmp/p.out $((SECS + 60)) nvme_perf -r "\$(trid \$b)" $PERF_ARGS -t $SECS ||
	fail "nvme_perf exit \$?"
echo "BENCH brisk_iops=\$(awk '/^Total/ {sub(/.*:/, ""); print \$1}' /tmp/p.out)"
EOF

# vfio's IOMMU translates the kernel driver's DMA too: both sides pay for it.
IOMMU=()
[ "$MODE" = vfio ] && IOMMU=(--iommu)
"$HERE/run_guest.sh" --name bench --driver none "${IOMMU[@]}" --smp "$SMP" --timeout $((SECS * 2 + 180)) \
	--ctrl 4096:1G --prog "$ROOT/build/bin/nvme_perf" "${FIO[@]}" "$WORK/bench.sh" >"$WORK/out" ||
	{ cat "$WORK/out"; exit 1; }
LOG=$(sed -n 's/.*(log \(.*\))$/\1/p' "$WORK/out")
kernel=$(grep -aoE 'BENCH kernel_iops=[0-9.]+' "$LOG" | cut -d= -f2)
brisk=$(grep -aoE 'BENCH brisk_iops=[0-9.]+' "$LOG" | cut -d= -f2)
[ -n "$kernel" ] && [ -n "$brisk" ] || { echo "bench.sh: no figures in $LOG" >&2; exit 1; }
ratio=$(awk -v a="$brisk" -v b="$kernel" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
printf 'QEMU TCG guest, %s vCPU, emulated NVMe, 4 KiB %s, %s s each\n' "$SMP" "$WORKLOAD" "$SECS"
printf '%-36s %12s\n' "driver" "IOPS"
printf '%-36s %12.0f\n' "Linux nvme ($KERNEL_TOOL)" "$kernel" "Brisk nvme_perf ($MODE)" "$brisk"
printf 'ratio Brisk/Linux: %s\n' "$ratio"
printf '{"workload":"4k %s","seconds":%s,"vcpus":%s,"kernel_iops":%s,"brisk_iops":%s,"ratio":%s}\n' \
	"$WORKLOAD" "$SECS" "$SMP" "$kernel" "$brisk" "$ratio"
