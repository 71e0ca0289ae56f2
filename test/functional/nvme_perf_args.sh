#!/bin/bash
# nvme_perf's command line on a host without NVMe devices: --help, bad and
# missing flags (exit 2 naming the flag), and runs that cannot start (an
# address with no device, no NVMe device at all: exit 1 with a clear
# message). Runs with real controllers are in the QEMU guest
# (test/nvme/bdev_nvme/bdev_nvme_guest.sh).
set -u
cd "$(dirname "$0")/../.." || exit 1
PERF=build/bin/nvme_perf
WORK=$(mktemp -d /tmp/brisk_nvme_perf.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
FAILS=0

# check NAME WANT_RC TEXT ARGS...: nvme_perf ARGS exits WANT_RC printing TEXT.
check() {
	local name=$1 want=$2 text=$3 rc
	shift 3
	timeout -k 5 30 "$PERF" "$@" >"$WORK/out" 2>&1
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL: $name: exit $rc, want $want: $(head -c 300 "$WORK/out")"
		FAILS=$((FAILS + 1))
	elif ! grep -q -- "$text" "$WORK/out"; then
		echo "FAIL: $name: output lacks '$text': $(head -c 300 "$WORK/out")"
		FAILS=$((FAILS + 1))
	else
		echo "ok: $name ($(grep -m1 -- "$text" "$WORK/out"))"
	fi
}

RUN=(-q 4 -o 4096 -t 1 --no-huge -s 32)
check help 0 "usage: nvme_perf" --help
check no_args 2 "-q, -o, -w and -t are required"
check bad_pattern 2 "-w 'sideways' must be" -w sideways "${RUN[@]}"
check no_pattern 2 "-w is required" "${RUN[@]}"
check qd0 2 "-q '0' must be a number of at least 1" -w read -q 0 -o 4096 -t 1
check io_small 2 "-o '100' must be" -w read -q 1 -o 100 -t 1
check mix_range 2 "-M 101 must be 0 to 100" -w randrw -M 101 "${RUN[@]}"
check mix_not_mixed 2 "-M is for -w rw or randrw only" -w read -M 30 "${RUN[@]}"
check bad_trid 2 "is not a transport ID" -w read -r "trtype:Carrier-Pigeon traddr:1" "${RUN[@]}"
check extra_arg 2 "unexpected argument" -w read "${RUN[@]}" stray
check no_device 1 "no NVMe controller at 0000:7f:1f.7" -w read -r "trtype:PCIe traddr:0000:7f:1f.7" "${RUN[@]}"
# Without -r: only devices bound to vfio-pci/uio_pci_generic (none on a test host).
# shellcheck disable=SC2010 # ls -l shows the bound devices' PCI addresses (symlinks)
if ! ls -l /sys/bus/pci/drivers/vfio-pci /sys/bus/pci/drivers/uio_pci_generic 2>/dev/null | grep -q ':..\..'; then
	check no_bound_device 1 "no NVMe controller found" -w read "${RUN[@]}"
fi
check bad_mask 1 "cannot initialise the environment" -w read -c 0x0 -r "trtype:PCIe traddr:0000:7f:1f.7" "${RUN[@]}"
if [ "$FAILS" -ne 0 ]; then
	echo "$FAILS check(s) failed"
	exit 1
fi
echo "all checks passed"
