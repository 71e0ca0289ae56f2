#!/bin/bash
# fio with the brisk_nvme engine on QEMU's emulated NVMe controller, in a
# guest booted by test/nvme/qemu/run_guest.sh with Debian's fio, the engine
# and their libraries in the initramfs (guest side:
# test/nvme/fio_guest/guest_fio.sh): verify jobs on a 512 B and a 4 KiB
# namespace, trim, and the refusals (unknown namespace, TCP not supported
# yet). Skips (exit 77) only when QEMU, fio or fio's source is not here.
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
RUN_GUEST=$ROOT/test/nvme/qemu/run_guest.sh
GUEST=$ROOT/test/nvme/fio_guest/guest_fio.sh
ENGINE=$ROOT/build/fio/brisk_nvme.so
WORK=$(mktemp -d /tmp/brisk_fio_nvme_qemu.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

skip() { echo "fio_nvme_qemu: $*"; echo "skipped: $*"; exit 77; }

command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed (scripts/pkgdep.sh installs it)"
command -v fio >/dev/null || skip "fio is not installed (scripts/pkgdep.sh --fio)"
grep -q '^CONFIG_FIO := y' mk/config.mk 2>/dev/null ||
	skip "the fio ioengines are not configured (no matching fio source: scripts/pkgdep.sh --fio)"
[ -x "$ENGINE" ] || { echo "FAIL: $ENGINE is not built (make)"; exit 1; }

echo ". ./guest_fio.sh; fio_checks" >"$WORK/fio.sh"
start=$SECONDS
# no_timer_check: on a loaded host TCG's timer can miss the kernel's IO-APIC
# timer check, and the guest panics ("IO-APIC + timer doesn't work") at boot.
if "$RUN_GUEST" --name fio_nvme --timeout 500 --driver none --ctrl 512:32M,4096:32M --append no_timer_check \
	--file "$GUEST" --prog "$(command -v fio)" --prog "$ENGINE" "$WORK/fio.sh"; then
	echo "fio_nvme_qemu: passed in $((SECONDS - start)) s"
else
	echo "FAIL: fio_nvme_qemu (see the lines above) after $((SECONDS - start)) s"
	exit 1
fi
