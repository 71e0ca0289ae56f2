# Helpers for the test scripts that run inside the QEMU guest (busybox ash,
# not bash). The guest's /init sources this file before the test script, so a
# test script calls these directly. Every check prints one line: "ok: what"
# or "FAIL: what"; failures are also counted in a file because a check may run
# in a subshell.
#
# Controllers:  nvme_ctrls            BDFs of every NVMe controller (class 0x010802)
#               ctrl_bdf I            BDF of controller I (run_guest.sh's nvme<I>)
#               ctrl_spec I           its --ctrl namespaces, e.g. 512:64M,4096:32M
#               to_bytes 64M          a size in bytes
#               bind BDF uio|vfio|nvme|none   unbind, then bind with driver_override
#               bind_all DRIVER       the same for every controller
#               driver_of BDF         the bound driver's name (empty when unbound)
#               vfio_group BDF        the device's IOMMU group number
#               trid BDF              "trtype:PCIe traddr:BDF"
#               nvme_blkdevs BDF      block devices of a controller bound to nvme
#                                     (waits for the kernel's namespace scan)
#               ns_blockdev BDF NSID  the block device of one namespace
# Checks:       ok MSG, fail MSG, check MSG CMD...  (CMD's output goes to the log)
#               expect_fail MSG CMD...  (ok when CMD exits non-zero)
#               run_logged OUT SECS CMD...  CMD under a timeout, its output in
#                                     file OUT, then on the console
#               wait_for_line FILE TEXT SECS [PID]  until FILE has a line with
#                                     TEXT (or PID exits)
#               bounded_wait PID SECS  wait for a background PID, killing it
#                                     past SECS; returns its exit status
# Host:         qmp JSON              asks the host to send JSON to QEMU's QMP
#                                     socket (run_guest.sh --qmp)
#               wait_gone BDF [SECS], wait_present BDF [SECS]
# shellcheck shell=dash

BRISK_FAILS=/tmp/.brisk_fails

ok() { echo "ok: $*"; }

fail() {
	echo "FAIL: $*"
	echo "$*" >>"$BRISK_FAILS"
}

check() {
	local msg=$1
	shift
	if "$@"; then ok "$msg"; else fail "$msg (exit $?: $*)"; fi
}

expect_fail() {
	local msg=$1
	shift
	if "$@"; then fail "$msg (succeeded: $*)"; else ok "$msg"; fi
}

# Output goes to a file, not a pipe: a child stuck in the kernel past the
# timeout would hold a pipe open and hang the caller.
run_logged() { # out secs cmd...
	local out=$1 secs=$2 rc
	shift 2
	timeout "$secs" "$@" >"$out" 2>&1
	rc=$?
	cat "$out"
	[ $rc = 143 ] && echo "run_logged: $1 killed after $secs s"
	return $rc
}

wait_for_line() { # file text secs [pid: give up when it exits]
	local i=0
	until grep -q "$2" "$1" 2>/dev/null; do
		[ $i -ge $(($3 * 10)) ] && return 1
		[ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null && return 1
		sleep 0.1
		i=$((i + 1))
	done
}

bounded_wait() { # pid secs
	local dog rc
	(sleep "$2"; kill -9 "$1" 2>/dev/null) &
	dog=$!
	wait "$1"
	rc=$?
	kill "$dog" 2>/dev/null
	return $rc
}

nvme_ctrls() {
	local d
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/class" 2>/dev/null)" = 0x010802 ] && echo "${d##*/}"
	done
}

# Root ports come in --ctrl order and the guest numbers their buses in that
# order, so the sorted BDFs are nvme0, nvme1 ...
ctrl_bdf() { nvme_ctrls | sort | sed -n "$(($1 + 1))p"; }

ctrl_spec() { echo "$BRISK_CTRLS" | tr ' ' '\n' | sed -n "$(($1 + 1))p"; }

to_bytes() {
	local n=${1%[KMGkmg]}
	case "$1" in
	*[Kk]) echo $((n * 1024)) ;;
	*[Mm]) echo $((n * 1024 * 1024)) ;;
	*[Gg]) echo $((n * 1024 * 1024 * 1024)) ;;
	*) echo "$n" ;;
	esac
}

kernel_driver_name() {
	case "$1" in
	uio) echo uio_pci_generic ;;
	vfio) echo vfio-pci ;;
	nvme) echo nvme ;;
	none) echo "" ;;
	*) echo "lib.sh: unknown driver '$1' (uio|vfio|nvme|none)" >&2; return 1 ;;
	esac
}

driver_of() {
	local l
	l=$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null) || return 0
	echo "${l##*/}"
}

# The kernel modules load on first use: nvme only when asked for, so the
# kernel's driver never grabs a controller a test wants in user space.
load_driver() {
	[ -d "/sys/bus/pci/drivers/$1" ] && return 0
	case "$1" in
	vfio-pci) modprobe vfio_iommu_type1 && modprobe vfio-pci ;;
	*) modprobe "$1" ;;
	esac
}

bind() {
	local bdf=$1 kd dev=/sys/bus/pci/devices/$1
	kd=$(kernel_driver_name "$2") || return 1
	[ -n "$kd" ] && { load_driver "$kd" || return 1; }
	[ -e "$dev/driver" ] && echo "$bdf" >"$dev/driver/unbind"
	echo "$kd" >"$dev/driver_override"
	[ -z "$kd" ] && return 0
	echo "$bdf" >/sys/bus/pci/drivers_probe
	[ "$(driver_of "$bdf")" = "$kd" ] || {
		echo "lib.sh: $bdf did not bind to $kd" >&2
		return 1
	}
}

bind_all() {
	local b rc=0
	for b in $(nvme_ctrls); do bind "$b" "$1" || rc=1; done
	return $rc
}

vfio_group() {
	local l
	l=$(readlink "/sys/bus/pci/devices/$1/iommu_group") || return 1
	echo "${l##*/}"
}

trid() { echo "trtype:PCIe traddr:$1"; }

# nvme_blkdevs BDF [SECS]: /dev/nvmeXnY of the controller, once the kernel's
# asynchronous reset and namespace scan have made them (default 15 s).
nvme_blkdevs() {
	local i=0 n c d found
	n=$((${2:-15} * 10))
	while [ $i -lt $n ]; do
		found=""
		for c in "/sys/bus/pci/devices/$1"/nvme/nvme*; do
			[ "$(cat "$c/state" 2>/dev/null)" = live ] || continue
			# With native multipath the controller lists path devices
			# (nvme0c0n1) of the disk the user sees (nvme0n1).
			for d in "$c"/nvme*n*; do
				d=$(echo "${d##*/}" | sed 's/c[0-9]*n/n/')
				[ -b "/dev/$d" ] && found="$found /dev/$d"
			done
		done
		if [ -n "$found" ]; then
			echo $found | tr ' ' '\n' | sort -u
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# ns_blockdev BDF NSID [SECS]: the kernel's block device of that namespace
# (the disk's number need not be the controller's). The kernel scans
# namespaces one by one after the controller is live: wait for this one.
ns_blockdev() {
	local d i=0
	while [ $i -lt $((${3:-15} * 10)) ]; do
		for d in $(nvme_blkdevs "$1" 1); do
			[ "$(cat "/sys/block/${d#/dev/}/nsid" 2>/dev/null)" = "$2" ] && { echo "$d"; return 0; }
		done
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

qmp() { echo "BRISK-QEMU-QMP: $*"; }

wait_gone() {
	local i=0
	while [ -e "/sys/bus/pci/devices/$1" ]; do
		[ $i -ge $((${2:-10} * 10)) ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
}

wait_present() {
	local i=0
	while [ ! -e "/sys/bus/pci/devices/$1" ]; do
		[ $i -ge $((${2:-10} * 10)) ] && return 1
		echo 1 >/sys/bus/pci/rescan
		sleep 0.1
		i=$((i + 1))
	done
}
