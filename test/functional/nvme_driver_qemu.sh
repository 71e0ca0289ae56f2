#!/bin/bash
# lib/nvme's PCIe driver against QEMU's emulated NVMe controller, in guests
# booted by test/nvme/qemu/run_guest.sh (guest side: test/nvme/nvme_io/
# guest_checks.sh). Two controllers (512 B + 4 KiB namespaces, and a 512 B
# one): nvme_identify and nvme_io's checks on every namespace through
# uio_pci_generic and through vfio-pci behind the emulated IOMMU, each boot
# ending with a surprise removal of the second controller under I/O (QMP
# device_del), then the cross-check with the kernel's nvme driver (each
# reads what the other wrote). Skips (exit 77) only when QEMU cannot run.
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
RUN_GUEST=$ROOT/test/nvme/qemu/run_guest.sh
GUEST=$ROOT/test/nvme/nvme_io/guest_checks.sh
WORK=$(mktemp -d /tmp/brisk_nvme_driver_qemu.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
FAILS=0
# shellcheck disable=SC2054 # commas are inside QEMU option values
CTRLS=(--ctrl 512:64M,4096:64M --ctrl 512:32M)
PROGS=()

fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }

skip_unless_qemu() {
	if ! command -v qemu-system-x86_64 >/dev/null; then
		echo "nvme_driver_qemu: qemu-system-x86_64 is not installed (scripts/pkgdep.sh installs it)"
		echo "nvme_driver_qemu: skipped"
		exit 77
	fi
}

need_programs() {
	local p
	for p in nvme_identify nvme_io; do
		[ -x "build/bin/$p" ] || { fail "build/bin/$p is missing (run make)"; return 1; }
		PROGS+=(--prog "build/bin/$p")
	done
}

boot() { # name guest-call run_guest.sh options...
	local name=$1 call=$2
	shift 2
	echo ". ./guest_checks.sh; $call" >"$WORK/$name.sh"
	echo "--- boot $name: $call"
	# no_timer_check: under a loaded TCG host the guest kernel's IO-APIC
	# timer check can time out and panic ("timer doesn't work through
	# Interrupt-remapped IO-APIC"); QEMU's timer works, skip the check.
	# (run_guest.sh appends ARGS without a space: hence the leading one.)
	"$RUN_GUEST" --name "nvme_driver_$name" --timeout 400 --file "$GUEST" "${PROGS[@]}" \
		--append " no_timer_check" "$@" "$WORK/$name.sh" || fail "boot $name (see the lines above)"
}

main() {
	local start=$SECONDS
	skip_unless_qemu
	need_programs || exit 1
	boot uio "io_checks uio; removal_check 1 uio" --driver none --qmp "${CTRLS[@]}"
	boot vfio "io_checks vfio; removal_check 1 vfio" --driver none --iommu --qmp "${CTRLS[@]}"
	boot cross "cross_check" --driver none --ctrl 512:64M,4096:64M
	echo "nvme_driver_qemu: $FAILS failures in $((SECONDS - start)) s"
	[ $FAILS = 0 ]
}

main
