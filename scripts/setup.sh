#!/bin/sh
# Reserves hugepages, mounts hugetlbfs and hands NVMe devices to Brisk.
# Usage: sudo scripts/setup.sh [config|reset|status]
#   config (default)  reserve HUGEMEM MiB of 2 MiB pages (default 2048), mount
#                     hugetlbfs at HUGEDIR (default /dev/hugepages), and bind every
#                     NVMe device that is not in use to vfio-pci (with an IOMMU) or
#                     uio_pci_generic (without), remembering its driver
#   reset             bind the NVMe devices back to the kernel's nvme driver, unmount
#                     what config mounted, release the pages, remove leftover Brisk
#                     hugepage and /dev/shm files (stop Brisk processes first)
#   status            show hugepages, mounts and NVMe devices
# PCI_ALLOWED / PCI_BLOCKED: space-separated PCI addresses (0000:00:04.0) to limit
# the devices config and reset touch, as in SPDK's setup.sh. HUGEMEM=keep: config
# and reset leave hugepages and mounts as they are and only (re)bind devices.
set -e
HUGEMEM=${HUGEMEM:-2048}
HUGEDIR=${HUGEDIR:-/dev/hugepages}
NR=/proc/sys/vm/nr_hugepages
# Remembers the mounts config made, so reset leaves other mounts alone.
MOUNTED=/run/brisk_setup_mounts
# Tests point these at a fake tree (the library reads BRISK_PCI_SYSFS_ROOT too).
SYSFS=${BRISK_PCI_SYSFS_ROOT:-/sys}
MOUNTS=${BRISK_SETUP_MOUNTS:-/proc/mounts}
# "address driver" of each device config rebound, for reset and status.
DRIVERS=${BRISK_SETUP_DRIVERS:-/run/brisk_setup_drivers}
NVME_CLASS=0x010802

hugepages_status() {
	echo "hugepage size:  $(awk '/Hugepagesize/ {print $2 " " $3}' /proc/meminfo)"
	echo "total / free:   $(awk '/HugePages_Total/ {print $2}' /proc/meminfo) / $(awk '/HugePages_Free/ {print $2}' /proc/meminfo)"
	echo "hugetlbfs mounts:"
	awk '$3 == "hugetlbfs" {print "  " $2 " (" $4 ")"}' /proc/mounts
	if ls "$HUGEDIR"/brisk* >/dev/null 2>&1; then
		echo "Brisk files in $HUGEDIR:"; ls -l "$HUGEDIR"/brisk*
	fi
	if ls /dev/shm/brisk_* >/dev/null 2>&1; then
		echo "Brisk files in /dev/shm (shared memory without hugepages, locks):"
		ls -l /dev/shm/brisk_*
	fi
}

need_root() {
	if [ "$(id -u)" != 0 ]; then echo "setup.sh: $1 needs root" >&2; exit 1; fi
}

# ---- NVMe devices ----

# Addresses of every NVMe controller, sorted.
nvme_devices() {
	for d in "$SYSFS"/bus/pci/devices/*; do
		[ -f "$d/class" ] && [ "$(cat "$d/class")" = $NVME_CLASS ] && echo "${d##*/}"
	done | sort
}

# PCI_ALLOWED (when set) and PCI_BLOCKED decide which devices are touched.
pci_allowed() {
	if [ -n "$PCI_ALLOWED" ]; then
		case " $PCI_ALLOWED " in *" $1 "*) return 0 ;; *) return 1 ;; esac
	fi
	case " $PCI_BLOCKED " in *" $1 "*) return 1 ;; esac
	return 0
}

driver_of() {
	if [ -e "$SYSFS/bus/pci/devices/$1/driver" ]; then
		basename "$(readlink "$SYSFS/bus/pci/devices/$1/driver")"
	fi
}

# Block devices (namespaces and partitions) of a controller bound to nvme.
block_devices() {
	for ns in "$SYSFS/bus/pci/devices/$1"/nvme/nvme*/nvme*n*; do
		[ -d "$ns" ] || continue
		echo "${ns##*/}"
		for p in "$ns"/"${ns##*/}"p*; do [ -d "$p" ] && echo "${p##*/}"; done
	done
}

# Prints why the device is in use (a mounted namespace or partition, swap, or a
# holder such as LVM or md); prints nothing when it is free.
in_use() {
	for b in $(block_devices "$1"); do
		if awk -v dev="/dev/$b" '$1 == dev {f=1} END {exit !f}' "$MOUNTS"; then
			echo "/dev/$b is mounted"; return
		fi
		if [ -f /proc/swaps ] && awk -v dev="/dev/$b" '$1 == dev {f=1} END {exit !f}' /proc/swaps; then
			echo "/dev/$b is swap"; return
		fi
		if [ -n "$(ls "$SYSFS/class/block/$b/holders" 2>/dev/null)" ]; then
			echo "/dev/$b is held by $(ls "$SYSFS/class/block/$b/holders" | tr '\n' ' ')"; return
		fi
	done
}

# vfio-pci when the kernel has IOMMU groups, else uio_pci_generic.
user_driver() {
	if [ -n "$(ls "$SYSFS/kernel/iommu_groups" 2>/dev/null)" ]; then
		echo vfio-pci
	else
		echo uio_pci_generic
	fi
}

load_driver() {
	[ -d "$SYSFS/bus/pci/drivers/$1" ] && return 0
	modprobe "$1" 2>/dev/null || { echo "setup.sh: cannot load the $1 module" >&2; return 1; }
}

remember_driver() {
	grep -q "^$1 " "$DRIVERS" 2>/dev/null && return 0
	echo "$1 ${2:-none}" >>"$DRIVERS"
}

# Unbinds addr from its driver and binds it to drv (empty: the kernel's choice).
bind_driver() {
	dev="$SYSFS/bus/pci/devices/$1"
	if [ -e "$dev/driver" ]; then
		echo "$1" > "$dev/driver/unbind"
	fi
	if [ -n "$2" ]; then echo "$2" > "$dev/driver_override"; else echo > "$dev/driver_override"; fi
	echo "$1" > "$SYSFS/bus/pci/drivers_probe" 2>/dev/null || true
}

nvme_config() {
	devs=$(nvme_devices)
	if [ -z "$devs" ]; then echo "setup.sh: no NVMe devices"; return 0; fi
	drv=$(user_driver)
	load_driver "$drv" || return 1
	if [ "$drv" = vfio-pci ]; then load_driver vfio_iommu_type1 >/dev/null 2>&1 || true; fi
	for a in $devs; do
		pci_allowed "$a" || { echo "setup.sh: $a: skipped (PCI_ALLOWED / PCI_BLOCKED)"; continue; }
		cur=$(driver_of "$a")
		if [ "$cur" = "$drv" ]; then echo "setup.sh: $a: already bound to $drv"; continue; fi
		why=$(in_use "$a")
		if [ -n "$why" ]; then echo "setup.sh: $a: in use ($why): skipped"; continue; fi
		remember_driver "$a" "$cur"
		bind_driver "$a" "$drv"
		now=$(driver_of "$a")
		if [ "$now" = "$drv" ]; then
			echo "setup.sh: $a: ${cur:-no driver} -> $drv"
		else
			echo "setup.sh: $a: binding to $drv failed (driver now: ${now:-none})" >&2
		fi
	done
}

nvme_reset() {
	devs=$(nvme_devices)
	if [ -z "$devs" ]; then echo "setup.sh: no NVMe devices"; return 0; fi
	load_driver nvme >/dev/null 2>&1 || true
	for a in $devs; do
		pci_allowed "$a" || continue
		cur=$(driver_of "$a")
		case "$cur" in vfio-pci|uio_pci_generic) ;; *) continue ;; esac
		bind_driver "$a" ""
		echo "setup.sh: $a: $cur -> $(driver_of "$a" | sed 's/^$/no driver/')"
		if [ -f "$DRIVERS" ]; then
			grep -v "^$a " "$DRIVERS" >"$DRIVERS.new" || true
			mv "$DRIVERS.new" "$DRIVERS"
		fi
	done
}

nvme_status() {
	devs=$(nvme_devices)
	if [ -z "$devs" ]; then echo "NVMe devices: no NVMe devices"; return 0; fi
	echo "NVMe devices:"
	printf "  %-14s %-11s %-17s %-5s %s\n" address vendor:dev driver numa "driver before config"
	for a in $devs; do
		d="$SYSFS/bus/pci/devices/$a"
		v=$(cat "$d/vendor"); p=$(cat "$d/device")
		orig=$(awk -v a="$a" '$1 == a {print $2}' "$DRIVERS" 2>/dev/null)
		printf "  %-14s %-11s %-17s %-5s %s\n" "$a" "${v#0x}:${p#0x}" "$(driver_of "$a" | sed 's/^$/-/')" \
			"$(cat "$d/numa_node" 2>/dev/null || echo -1)" "${orig:--}"
	done
}

hugepages_config() {
	[ "$HUGEMEM" = keep ] && return 0
	pages=$((HUGEMEM / 2))
	echo "$pages" > $NR || { echo "setup.sh: cannot write $NR" >&2; exit 1; }
	got=$(cat $NR)
	echo "setup.sh: reserved $got of $pages 2 MiB hugepages"
	if [ "$got" -lt "$pages" ]; then
		echo "setup.sh: warning: the kernel gave fewer pages than asked (memory fragmented?)" >&2
	fi
	if ! awk -v d="$HUGEDIR" '$2 == d && $3 == "hugetlbfs" {f=1} END {exit !f}' /proc/mounts; then
		mkdir -p "$HUGEDIR"
		mount -t hugetlbfs nodev "$HUGEDIR"
		echo "$HUGEDIR" >>"$MOUNTED"
		echo "setup.sh: mounted hugetlbfs at $HUGEDIR"
	fi
}

hugepages_reset() {
	[ "$HUGEMEM" = keep ] && return 0
	rm -f "$HUGEDIR"/brisk* /dev/shm/brisk_* 2>/dev/null || true
	if grep -qxF "$HUGEDIR" "$MOUNTED" 2>/dev/null &&
		awk -v d="$HUGEDIR" '$2 == d && $3 == "hugetlbfs" {f=1} END {exit !f}' /proc/mounts; then
		umount "$HUGEDIR" && echo "setup.sh: unmounted $HUGEDIR" || true
		grep -vxF "$HUGEDIR" "$MOUNTED" >"$MOUNTED.new" || true
		mv "$MOUNTED.new" "$MOUNTED"
	elif awk -v d="$HUGEDIR" '$2 == d && $3 == "hugetlbfs" {f=1} END {exit !f}' /proc/mounts; then
		echo "setup.sh: $HUGEDIR was mounted before setup.sh config: left mounted"
	fi
	echo 0 > $NR
	echo "setup.sh: released hugepages"
}

case "${1:-config}" in
config)
	need_root config
	hugepages_config
	nvme_config
	;;
reset)
	need_root reset
	nvme_reset
	hugepages_reset
	;;
status) hugepages_status; nvme_status ;;
-h|--help|help) awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "$0" ;;
*) echo "setup.sh: unknown command '$1' (config, reset, status)" >&2; exit 1 ;;
esac
