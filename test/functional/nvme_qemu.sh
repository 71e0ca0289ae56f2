#!/bin/bash
# Brisk's PCIe NVMe stack against QEMU's emulated NVMe controller, in guests
# booted by test/nvme/qemu/run_guest.sh. One boot per user-space driver mode,
# each running several parts (guest functions in test/nvme/qemu/guest/
# nvme_checks.sh) on two controllers: 512 B + 4 KiB namespaces, and a 4 KiB one.
# A boot runs nvme0's namespaces through the kernel's driver too; nvme1 goes
# last (removed under I/O).
# Skips (exit 77) only when QEMU cannot run here at all; every other problem,
# a missing kernel or program included, is a failure.
#
# Adding a part: a function part_NAME MODE that calls `needs PROG...` for the
# programs it runs and `guest CALL` for the guest function, and its name in
# PARTS_UIO / PARTS_VFIO.
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
QEMU_DIR=$ROOT/test/nvme/qemu
BIN=$ROOT/build/bin
WORK=$(mktemp -d /tmp/brisk_nvme_qemu.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
FAILS=0
# shellcheck disable=SC2054 # commas are inside QEMU option values
CTRLS=(--ctrl 512:64M,4096:64M --ctrl 4096:64M) # nvme_io wants 16384 blocks

fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }

skip_unless_qemu() {
	local why=""
	if ! command -v qemu-system-x86_64 >/dev/null; then
		why="qemu-system-x86_64 is not installed (scripts/pkgdep.sh installs it)"
	elif ! timeout 20 qemu-system-x86_64 -accel help 2>/dev/null | grep -qx tcg; then
		why="qemu-system-x86_64 offers no TCG accelerator"
	fi
	[ -z "$why" ] && return 0
	echo "nvme_qemu: $why"
	echo "nvme_qemu: skipped"
	exit 77
}

# A boot collects guest calls and programs from its parts, then runs once.
boot_begin() { # name
	BOOT=$1
	BOOT_ARGS=(--file "$QEMU_DIR/guest/nvme_checks.sh")
	echo ". ./nvme_checks.sh" >"$WORK/$BOOT.sh"
}

guest() { echo "$*" >>"$WORK/$BOOT.sh"; }

# needs PROG...: the part runs these build/bin programs in the guest. A missing
# one fails the part (the Makefile builds every program in the tree).
needs() {
	local p
	for p in "$@"; do
		if [ ! -x "$BIN/$p" ]; then
			fail "$BOOT: build/bin/$p is missing (run make)"
			return 1
		fi
		BOOT_ARGS+=(--prog "$BIN/$p")
	done
}

boot_run() { # run_guest.sh options
	echo "--- boot $BOOT: $*"
	"$QEMU_DIR/run_guest.sh" --name "nvme_qemu_$BOOT" --timeout 240 "${BOOT_ARGS[@]}" "$@" \
		"${CTRLS[@]}" "$WORK/$BOOT.sh" || fail "boot $BOOT (see the lines above)"
}

# --- parts -----------------------------------------------------------------

# (a) the harness: controllers found, bound to uio_pci_generic, vfio-pci and
# nvme in turn with their device nodes, BARs and namespaces; QMP removal and
# re-add of the one-namespace controller.
part_selftest() { guest selftest; guest selftest_hotplug 1; }

# (b) lib/env's PCI access: claim, map BAR0, read CAP/VS, DMA translation.
part_pci_probe() { needs pci_probe && guest pci_probe_check "$1"; }

# (c) nvme_identify and nvme_io's checks on every namespace (guest side by the
# driver's own tests: test/nvme/nvme_io/guest_checks.sh).
part_identify_io() {
	needs nvme_identify nvme_io || return
	BOOT_ARGS+=(--file "$ROOT/test/nvme/nvme_io/guest_checks.sh")
	guest ". ./guest_checks.sh; io_checks $1"
}

# (d) what Brisk writes the kernel's nvme driver reads, and the reverse.
part_crosscheck() { needs nvme_io && guest crosscheck "$1"; }

# (e) the driver under load: nvme_perf on every namespace, and bdevperf's
# verify workload through bdev_nvme on a bdev per namespace.
part_nvme_perf() { needs nvme_perf && guest nvme_perf_check "$1"; }
part_bdevperf() { needs bdevperf && guest bdevperf_verify_check "$1"; }

# (f) removal under load: QMP device_del of nvme1 while bdevperf verifies
# every namespace; then (readd) bdevperf on nvme0 with a config that enables
# bdev_nvme's hotplug poller (run at start-up, before the config's own attach
# of nvme0: the poller must not take nvme0 from it) and QMP device_add of
# nvme1, which the poller attaches. Last in a boot; in the uio boot only
# (where the race was seen; it adds ~20 s to a boot).
part_removal() { needs bdevperf && guest hotplug_removal_check "$1" 1; }
part_readd() { needs bdevperf && guest hotplug_readd_check "$1" 1; }

PARTS_UIO="pci_probe identify_io crosscheck nvme_perf bdevperf removal readd"
PARTS_VFIO="selftest pci_probe identify_io crosscheck nvme_perf bdevperf removal"

run_boot() { # mode parts run_guest.sh options...
	local mode=$1 parts=$2 p
	shift 2
	boot_begin "$mode"
	for p in $parts; do "part_$p" "$mode"; done
	boot_run "$@"
}

main() {
	local start=$SECONDS
	skip_unless_qemu
	run_boot uio "$PARTS_UIO" --driver none --qmp
	run_boot vfio "$PARTS_VFIO" --driver none --iommu --qmp
	echo "nvme_qemu: $FAILS failures in $((SECONDS - start)) s"
	[ $FAILS = 0 ]
}

main
