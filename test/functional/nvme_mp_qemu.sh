#!/bin/bash
# lib/nvme's multi-process use in a QEMU guest (guest side:
# test/nvme/nvme_mp/guest_mp.sh): a primary nvme_mp shares a controller
# bound to uio_pci_generic (one boot) or vfio-pci behind the emulated IOMMU
# (another); secondaries of the same shm id get I/O qpairs
# from it and do verified I/O on their own LBA ranges at the same time as
# the primary; one is killed mid-I/O and the primary deletes its queue and
# carries on; another reads back what the first secondary wrote;
# nvme_identify runs as a secondary (admin commands through the primary);
# a secondary's qpair survives a reset by the primary; then a primary and
# a secondary nvme_perf (-i) at once, and bdevperf (verify) through
# bdev_nvme in a secondary app beside the primary nvme_perf.
# Skips (exit 77) only when QEMU cannot run.
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
RUN_GUEST=$ROOT/test/nvme/qemu/run_guest.sh
GUEST=$ROOT/test/nvme/nvme_mp/guest_mp.sh
WORK=$(mktemp -d /tmp/brisk_nvme_mp_qemu.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
FAILS=0

fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }

if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "nvme_mp_qemu: qemu-system-x86_64 is not installed (scripts/pkgdep.sh installs it)"
	echo "nvme_mp_qemu: skipped"
	exit 77
fi
for prog in nvme_mp nvme_perf nvme_identify bdevperf; do
	[ -x build/bin/$prog ] || { echo "FAIL: build/bin/$prog is missing (run make)"; exit 1; }
done

boot() { # name guest-call run_guest.sh options...
	local name=$1 call=$2
	shift 2
	echo ". ./guest_mp.sh; $call" >"$WORK/$name.sh"
	echo "--- boot $name: $call"
	# no_timer_check: see nvme_driver_qemu.sh (a loaded TCG host).
	"$RUN_GUEST" --name "nvme_mp_$name" --timeout 500 --file "$GUEST" \
		--prog build/bin/nvme_mp --prog build/bin/nvme_perf --prog build/bin/nvme_identify \
		--prog build/bin/bdevperf --append " no_timer_check" \
		"$@" "$WORK/$name.sh" || fail "boot $name (see the lines above)"
}

start=$SECONDS
boot uio "mp_run uio; mp_perf uio" --driver none --ctrl 512:16M
boot vfio "mp_run vfio; mp_perf vfio" --driver none --iommu --ctrl 512:16M
echo "nvme_mp_qemu: $FAILS failures in $((SECONDS - start)) s"
[ $FAILS = 0 ]
