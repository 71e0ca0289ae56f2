#!/bin/bash
# Namespace Attachment (and Management, where supported) through lib/nvme
# against QEMU 7.2's controller in an NVM subsystem, in a guest booted by
# test/nvme/qemu/run_guest.sh (guest side: test/nvme/nvme_nsmgmt/
# guest_nsmgmt.sh): nvme_identify shows the capability; build/bin/nvme_nsmgmt
# attaches a namespace that starts detached, does I/O on it, detaches and
# re-attaches it across bring-ups with every refusal checked, and the
# kernel's nvme driver then finds it attached. QEMU 7.2 has no Namespace
# Management (create/delete): the test asserts -ENOTSUP for them. A uio
# boot and a vfio one (with the IOMMU). Skips (exit 77) only when QEMU cannot run.
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
RUN_GUEST=$ROOT/test/nvme/qemu/run_guest.sh
GUEST=$ROOT/test/nvme/nvme_nsmgmt/guest_nsmgmt.sh
WORK=$(mktemp -d /tmp/brisk_nvme_nsmgmt_qemu.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
FAILS=0
PROGS=()

fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }

if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "nvme_nsmgmt_qemu: qemu-system-x86_64 is not installed (scripts/pkgdep.sh installs it)"
	echo "nvme_nsmgmt_qemu: skipped"
	exit 77
fi
for p in nvme_identify nvme_nsmgmt; do
	[ -x "build/bin/$p" ] || { echo "FAIL: build/bin/$p is missing (run make)"; exit 1; }
	PROGS+=(--prog "build/bin/$p")
done
boot() { # uio|vfio run_guest.sh options...
	local mode=$1
	shift
	echo ". ./guest_nsmgmt.sh; nsmgmt_checks $mode" >"$WORK/$mode.sh"
	echo "--- boot $mode"
	# no_timer_check: see nvme_driver_qemu.sh (a loaded TCG host).
	"$RUN_GUEST" --name "nvme_nsmgmt_$mode" --timeout 400 --file "$GUEST" "${PROGS[@]}" \
		--append " no_timer_check" --driver none --subsys "$@" \
		--ctrl 512:32M,4096:16M:detached "$WORK/$mode.sh" || fail "boot $mode (see the lines above)"
}

start=$SECONDS
boot uio
boot vfio --iommu
echo "nvme_nsmgmt_qemu: $FAILS failures in $((SECONDS - start)) s"
[ $FAILS = 0 ]
