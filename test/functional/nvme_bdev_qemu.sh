#!/bin/bash
# bdev_nvme and nvme_perf on QEMU's NVMe controller, in one guest boot (to keep
# CI time small) running the guest scripts of test/nvme/bdev_nvme/ one after
# the other, each in its own subshell: bdev_nvme_guest.sh (nvme_perf shapes,
# bdevperf verify/unmap/write_zeroes/flush/reset on nvme0),
# bdev_nvme_multi.sh (two controllers, three namespaces, two cores) and
# bdev_nvme_hotplug.sh (device_del under bdevperf, then brisk_tgt whose
# config attaches nvme0 and enables the hotplug poller, which picks the
# device up again after device_add). nvme1 is unbound before the hotplug
# script so the poller sees only nvme0.
# Skips (exit 0) only when QEMU cannot run here at all.
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
DIR=$ROOT/test/nvme/bdev_nvme
WORK=$(mktemp -d /tmp/brisk_nvme_bdev_qemu.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "nvme_bdev_qemu: qemu-system-x86_64 is not installed (scripts/pkgdep.sh installs it)"
	echo "nvme_bdev_qemu: skipped"
	exit 0
fi
progs=()
for p in nvme_perf bdevperf brisk_tgt; do
	[ -x build/bin/$p ] || { echo "FAIL: build/bin/$p is missing (run make)"; exit 1; }
	progs+=(--prog "build/bin/$p")
done
cat >"$WORK/all.sh" <<'GUEST'
echo "--- bdev_nvme_guest.sh"; ( . ./bdev_nvme_guest.sh )
echo "--- bdev_nvme_multi.sh"; ( . ./bdev_nvme_multi.sh )
bind "$(ctrl_bdf 1)" none
echo "--- bdev_nvme_hotplug.sh"; ( . ./bdev_nvme_hotplug.sh )
GUEST
start=$SECONDS
# nvme0 has one namespace so that device_add brings it back whole; no_timer_check:
# see nvme_driver_qemu.sh (a loaded TCG host).
test/nvme/qemu/run_guest.sh --name nvme_bdev_qemu --timeout 300 --smp 2 --qmp \
	--append " no_timer_check" "${progs[@]}" \
	--file "$DIR/bdev_nvme_guest.sh" --file "$DIR/bdev_nvme_multi.sh" --file "$DIR/bdev_nvme_hotplug.sh" \
	--ctrl 512:64M --ctrl 512:32M,4096:32M "$WORK/all.sh"
rc=$?
echo "nvme_bdev_qemu: guest exit $rc in $((SECONDS - start)) s"
[ $rc = 0 ] && echo "ok: bdev_nvme guest scripts pass" || echo "FAIL: bdev_nvme guest scripts (see above)"
exit $rc
