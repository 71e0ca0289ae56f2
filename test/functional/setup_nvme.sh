#!/bin/bash
# scripts/setup.sh's NVMe binding on a fake sysfs tree (BRISK_PCI_SYSFS_ROOT):
# config picks uio_pci_generic without IOMMU groups and vfio-pci with them,
# writes driver_override + drivers_probe, unbinds the old driver and remembers
# it, skips a device with a mounted partition and those PCI_BLOCKED /
# PCI_ALLOWED leave out; reset clears the override; status lists the devices;
# a machine without NVMe devices says so and succeeds. The real binding is
# checked in the QEMU guest (test/nvme). Hugepages are left alone (HUGEMEM=keep).
set -u
cd "$(dirname "$0")/../.." || exit 1
SETUP="timeout 30 $PWD/scripts/setup.sh"
W=$(mktemp -d /tmp/brisk_setup_test.XXXXXX)
trap 'rm -rf "$W"' EXIT
FAILS=0
SEEN=0
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
# A summary line only when no check since the previous one failed.
pass() { [ $FAILS -eq $SEEN ] && echo "ok: $*"; SEEN=$FAILS; }

if [ "$(id -u)" != 0 ]; then
	echo "FAIL: setup_nvme.sh needs root (setup.sh config refuses otherwise)" >&2
	exit 1
fi

SYS=$W/sys
export BRISK_PCI_SYSFS_ROOT=$SYS BRISK_SETUP_MOUNTS=$W/mounts BRISK_SETUP_DRIVERS=$W/drivers
export HUGEMEM=keep

# device ADDR CLASS DRIVER|"" [NAMESPACE [PARTITION]]
device() {
	local d=$SYS/bus/pci/devices/$1
	mkdir -p "$d"
	echo "$2" > "$d/class"; echo 0x1b36 > "$d/vendor"; echo 0x0010 > "$d/device"
	echo 0 > "$d/numa_node"; : > "$d/driver_override"
	[ -n "$3" ] && ln -s "$SYS/bus/pci/drivers/$3" "$d/driver"
	if [ $# -ge 4 ]; then
		mkdir -p "$d/nvme/${4%n*}/$4"
		[ $# -ge 5 ] && mkdir -p "$d/nvme/${4%n*}/$4/$5"
	fi
	return 0
}

build_tree() {
	rm -rf "$SYS" "$W/drivers"
	mkdir -p "$SYS/bus/pci/devices" "$SYS/kernel/iommu_groups"
	for drv in nvme uio_pci_generic vfio-pci e1000e; do mkdir -p "$SYS/bus/pci/drivers/$drv"; done
	: > "$SYS/bus/pci/drivers_probe"
	device 0000:00:04.0 0x010802 nvme nvme0n1
	device 0000:00:05.0 0x010802 nvme nvme1n1 nvme1n1p1
	device 0000:00:06.0 0x010802 ""
	device 0000:00:07.0 0x010802 nvme nvme2n1
	device 0000:00:03.0 0x020000 e1000e
	echo "/dev/nvme1n1p1 /mnt ext4 rw 0 0" > "$W/mounts"
}

override() { cat "$SYS/bus/pci/devices/$1/driver_override"; }

# ---- config without an IOMMU: uio_pci_generic ----
build_tree
out=$(PCI_BLOCKED="0000:00:07.0 0000:00:09.0" $SETUP config 2>&1); rc=$?
[ $rc -eq 0 ] || fail "config exited $rc: $out"
[ "$(override 0000:00:04.0)" = uio_pci_generic ] || fail "04.0 override: '$(override 0000:00:04.0)'"
[ "$(override 0000:00:06.0)" = uio_pci_generic ] || fail "06.0 (no driver) override: '$(override 0000:00:06.0)'"
grep -qx 0000:00:04.0 "$SYS/bus/pci/drivers/nvme/unbind" || fail "04.0 not unbound from nvme"
[ "$(grep -c . "$SYS/bus/pci/drivers_probe")" -ge 1 ] || fail "drivers_probe not written"
grep -qx "0000:00:04.0 nvme" "$W/drivers" || fail "original driver of 04.0 not remembered"
grep -qx "0000:00:06.0 none" "$W/drivers" || fail "06.0's lack of driver not remembered"
pass "config binds free NVMe devices to uio_pci_generic without IOMMU groups"

[ -z "$(override 0000:00:05.0)" ] || fail "05.0 with a mounted partition was rebound"
grep -q "0000:00:05.0: in use (/dev/nvme1n1p1 is mounted): skipped" <<<"$out" ||
	fail "no word about the mounted partition: $out"
pass "config skips a device with a mounted partition and says why"

[ -z "$(override 0000:00:07.0)" ] || fail "PCI_BLOCKED 07.0 was rebound"
grep -q "0000:00:07.0: skipped (PCI_ALLOWED / PCI_BLOCKED)" <<<"$out" || fail "07.0 skip not said"
[ ! -e "$SYS/bus/pci/devices/0000:00:03.0/driver_override" ] ||
	[ -z "$(cat "$SYS/bus/pci/devices/0000:00:03.0/driver_override")" ] || fail "a NIC was touched"
pass "config honours PCI_BLOCKED and leaves other classes alone"

out=$($SETUP status 2>&1); rc=$?
[ $rc -eq 0 ] || fail "status exited $rc"
for a in 0000:00:04.0 0000:00:05.0 0000:00:06.0 0000:00:07.0; do
	grep -q "$a *1b36:0010" <<<"$out" || fail "status lacks $a with vendor:device: $out"
done
grep -q "0000:00:04.0 .* nvme *0 *nvme" <<<"$out" || fail "status: 04.0 driver/numa/original: $out"
grep -q "0000:00:03.0" <<<"$out" && fail "status lists a non-NVMe device"
pass "status lists NVMe devices with address, vendor:device, driver, numa node"

$SETUP config >/dev/null 2>&1
[ "$(grep -c "^0000:00:04.0 " "$W/drivers")" = 1 ] || fail "a second config duplicated the record"
pass "a second config keeps the first record of the original driver"

# ---- reset ----
ln -sfn "$SYS/bus/pci/drivers/uio_pci_generic" "$SYS/bus/pci/devices/0000:00:04.0/driver"
out=$($SETUP reset 2>&1); rc=$?
[ $rc -eq 0 ] || fail "reset exited $rc: $out"
grep -qx 0000:00:04.0 "$SYS/bus/pci/drivers/uio_pci_generic/unbind" || fail "reset did not unbind 04.0"
[ -z "$(override 0000:00:04.0)" ] || fail "reset left 04.0's override: '$(override 0000:00:04.0)'"
grep -q "^0000:00:04.0 " "$W/drivers" && fail "reset kept 04.0's record"
[ ! -e "$SYS/bus/pci/drivers/nvme/unbind" ] || ! grep -q 0000:00:05.0 "$SYS/bus/pci/drivers/nvme/unbind" ||
	fail "reset touched 05.0 (on nvme)"
pass "reset unbinds user-space drivers and clears driver_override for the kernel's nvme"

# ---- with IOMMU groups: vfio-pci; PCI_ALLOWED ----
build_tree
mkdir -p "$SYS/kernel/iommu_groups/3"
out=$(PCI_ALLOWED="0000:00:06.0" $SETUP config 2>&1); rc=$?
[ $rc -eq 0 ] || fail "config exited $rc: $out"
[ "$(override 0000:00:06.0)" = vfio-pci ] || fail "06.0 override: '$(override 0000:00:06.0)'"
[ -z "$(override 0000:00:04.0)" ] || fail "04.0 outside PCI_ALLOWED was rebound"
pass "config picks vfio-pci with IOMMU groups and honours PCI_ALLOWED"

# ---- no NVMe devices ----
rm -rf "$SYS/bus/pci/devices"/*
for cmd in config status reset; do
	out=$($SETUP $cmd 2>&1); rc=$?
	[ $rc -eq 0 ] || fail "$cmd without NVMe devices exited $rc"
	grep -q "no NVMe devices" <<<"$out" || fail "$cmd without NVMe devices: $out"
done
pass "config, status and reset without NVMe devices say so and succeed"

[ $FAILS -eq 0 ] || { echo "$FAILS check(s) failed" >&2; exit 1; }
