#!/bin/bash
# Boots a QEMU guest with emulated NVMe controllers and runs a test script in
# it against Brisk's user-space programs. Pass/fail comes from the result line
# the guest prints on its serial console (QEMU exits 0 either way).
#
# Usage: test/nvme/qemu/run_guest.sh [options] TEST_SCRIPT
#   --driver uio|vfio|nvme|none  bind every controller at boot (default uio);
#                                vfio adds the emulated Intel IOMMU
#   --iommu                      the emulated IOMMU with any driver
#   --ctrl BS:SIZE[,BS:SIZE...]  a controller with these namespaces (block size
#                                512 or 4096, size like 64M); repeat for more
#                                controllers; default one 512:64M controller
#   --subsys                     every controller in one NVM subsystem (nvme-subsys,
#                                namespace attachment); a namespace written
#                                BS:SIZE:detached starts detached
#   --prog FILE                  a program for /brisk/bin (its libraries come too)
#   --file FILE                  a data file for /brisk/files (the script's cwd)
#   --module NAME                one more kernel module in the initramfs
#   --qmp                        QMP socket; the host carries out the guest's
#                                `qmp "device_del nvme0"` / `qmp "device_add nvme0"`
#   --nic                        a virtio NIC on QEMU's user network: the guest
#                                (10.0.2.15 once the script sets it) reaches the
#                                host's 127.0.0.1 as 10.0.2.2; pass
#                                --module virtio_pci --module virtio_net too
#   --mem MB (1024) --smp N (1) --hugepages N (256) --timeout S (120)
#   --append ARGS                more kernel command line
#   --name NAME                  log name (default: the script's name)
# The test script runs under busybox ash with guest/lib.sh loaded (bind,
# nvme_ctrls, check, ok, fail, qmp ...). Controller i sits on root port rp<i>
# with id nvme<i>, serial brisk<i>; the guest has the --ctrl list in
# $BRISK_CTRLS (space separated) and 1/0 in $BRISK_IOMMU.
# Serial log: build/test/logs/qemu-NAME.log (QMP answers: qemu-NAME.qmp.log).
# Exit: 0 pass, 1 the guest reported a failure, 2 no result line (timeout,
# panic), 3 bad usage or setup.
# Example: test/nvme/qemu/run_guest.sh --driver vfio --ctrl 512:64M,4096:32M \
#            --prog build/bin/nvme_identify my_test.sh
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
DRIVER=uio IOMMU=0 QMP=0 NIC=0 SUBSYS=0 MEM=1024 SMP=1 HUGEPAGES=256 TIMEOUT=120 APPEND="" NAME=""
CTRLS=() MKARGS=() TEST=""
WORK="" QEMU_PID="" WATCH_PID=""

usage() { sed -n '6,36p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-3}"; }
die() { echo "run_guest.sh: $*" >&2; exit 3; }

cleanup() {
	[ -n "$WATCH_PID" ] && kill "$WATCH_PID" 2>/dev/null && wait "$WATCH_PID" 2>/dev/null
	[ -n "$QEMU_PID" ] && kill "$QEMU_PID" 2>/dev/null && wait "$QEMU_PID" 2>/dev/null
	[ -n "$WORK" ] && rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 3' INT TERM

parse_args() {
	while [ $# -gt 0 ]; do
		case "$1" in
		--driver) DRIVER=$2; shift ;;
		--iommu) IOMMU=1 ;;
		--ctrl) CTRLS+=("$2"); shift ;;
		--prog|--file|--module) MKARGS+=("$1" "$2"); shift ;;
		--qmp) QMP=1 ;;
		--nic) NIC=1 ;;
		--subsys) SUBSYS=1 ;;
		--mem) MEM=$2; shift ;;
		--smp) SMP=$2; shift ;;
		--hugepages) HUGEPAGES=$2; shift ;;
		--timeout) TIMEOUT=$2; shift ;;
		--append) APPEND=$2; shift ;;
		--name) NAME=$2; shift ;;
		-h|--help) usage 0 ;;
		-*) die "unknown option '$1'" ;;
		*) [ -z "$TEST" ] || die "one test script only"; TEST=$1 ;;
		esac
		shift
	done
	[ -n "$TEST" ] || usage
	[ -f "$TEST" ] || die "no test script '$TEST'"
	case "$DRIVER" in uio|vfio|nvme|none) ;; *) die "--driver: uio|vfio|nvme|none" ;; esac
	[ "$DRIVER" = vfio ] && IOMMU=1
	[ ${#CTRLS[@]} -gt 0 ] || CTRLS=("512:64M")
	[ -n "$NAME" ] || NAME=$(basename "$TEST" .sh)
}

# disk_args CTRL NS SIZE: a sparse image, zero at boot, and its block node.
disk_args() {
	local img=$WORK/c$1n$2.img
	truncate -s "$3" "$img" || die "--ctrl: bad size '$3'"
	QARGS+=(-blockdev "driver=raw,node-name=c$1n$2,file.driver=file,file.filename=$img")
}

block_size() {
	case "${1%%:*}" in
	512|4096) echo "${1%%:*}" ;;
	*) die "--ctrl: block size '${1%%:*}' (512 or 4096)" ;;
	esac
}

# ns_opts SPEC: BS:SIZE[:detached] -> the nvme-ns options beyond the drive.
ns_opts() {
	local bs
	bs=$(block_size "$1") || exit 3
	echo -n "logical_block_size=$bs,physical_block_size=$bs"
	case "$1" in
	*:*:detached) echo ",detached=on" ;; # checked by ctrl_args
	*) echo ;;
	esac
}

# ctrl_args I SPEC: controller I on its own root port (hot-pluggable). With
# one namespace (and no subsystem) the controller carries it (drive=), so
# QMP's device_add brings it back in one command; otherwise namespaces are
# nvme-ns devices on its bus.
ctrl_args() {
	local i=$1 n bs size dev opts
	local -a list
	IFS=, read -ra list <<<"$2"
	QARGS+=(-device "pcie-root-port,id=rp$i,chassis=$((i + 1)),slot=$((i + 1))")
	for n in "${!list[@]}"; do
		size=${list[n]#*:}
		case "$size" in
		*:detached) [ $SUBSYS = 1 ] || die "--ctrl: ':detached' needs --subsys" ;;
		*:*) die "--ctrl: '${list[n]}' (BS:SIZE or BS:SIZE:detached)" ;;
		esac
		disk_args "$i" "$n" "${size%%:*}"
	done
	dev="\"driver\":\"nvme\",\"id\":\"nvme$i\",\"bus\":\"rp$i\",\"serial\":\"brisk$i\""
	[ $SUBSYS = 1 ] && dev="$dev,\"subsys\":\"subsys0\""
	if [ ${#list[@]} = 1 ] && [ $SUBSYS = 0 ]; then
		bs=$(block_size "${list[0]}") || exit 3
		dev="$dev,\"drive\":\"c${i}n0\",\"logical_block_size\":$bs,\"physical_block_size\":$bs"
	fi
	QARGS+=(-device "$(json_to_opts "$dev")")
	DEVICES="$DEVICES${DEVICES:+,}\"nvme$i\":{$dev}"
	[ ${#list[@]} = 1 ] && [ $SUBSYS = 0 ] && return
	for n in "${!list[@]}"; do
		opts=$(ns_opts "${list[n]}") || exit 3
		QARGS+=(-device "nvme-ns,bus=nvme$i,nsid=$((n + 1)),drive=c${i}n$n,$opts")
	done
}

# "a":"b","c":1 -> b,c=1 (driver first, as -device wants it)
json_to_opts() {
	echo "$1" | sed -e 's/"driver":"\([^"]*\)"/\1/' -e 's/"\([^"]*\)":"\{0,1\}\([^",]*\)"\{0,1\}/\1=\2/g'
}

build_qemu_args() {
	local machine=q35 i
	QARGS=(-accel tcg -cpu max -m "$MEM" -smp "$SMP" -nodefaults -display none
		-no-reboot -monitor none -serial "file:$LOG")
	DEVICES=""
	if [ $IOMMU = 1 ]; then
		machine=q35,kernel-irqchip=split
		# shellcheck disable=SC2054 # commas are inside QEMU option values
		QARGS+=(-device intel-iommu,intremap=on,aw-bits=48)
		APPEND="intel_iommu=on $APPEND"
	fi
	QARGS+=(-machine "$machine")
	[ $SUBSYS = 1 ] && QARGS+=(-device "nvme-subsys,id=subsys0,nqn=nqn.2026-12.io.brisk:subsys0")
	for i in "${!CTRLS[@]}"; do ctrl_args "$i" "${CTRLS[i]}"; done
	echo "{$DEVICES}" >"$WORK/devices.json"
	# shellcheck disable=SC2054 # commas are inside QEMU option values
	[ $NIC = 1 ] && QARGS+=(-nic user,model=virtio-net-pci)
	[ $QMP = 1 ] && QARGS+=(-qmp "unix:$WORK/qmp.sock,server=on,wait=off")
	# no_timer_check: on a loaded host TCG's timer can miss the kernel's
	# IO-APIC check, which panics ("timer doesn't work through
	# Interrupt-remapped IO-APIC") before /init runs.
	QARGS+=(-kernel "$KERNEL" -initrd "$WORK/initrd.gz"
		-append "console=ttyS0 quiet panic=-1 mitigations=off no_timer_check $APPEND")
}

prepare() {
	local out
	out=$("$HERE/fetch_kernel.sh") || die "fetching the guest kernel failed"
	eval "$out"
	WORK=$(mktemp -d /tmp/brisk-qemu.XXXXXX)
	"$HERE/mk_initramfs.sh" --kdir "$KDIR" --kv "$KV" --out "$WORK/initrd.gz" \
		--test "$TEST" --driver "$DRIVER" --hugepages "$HUGEPAGES" "${MKARGS[@]}" \
		--env "BRISK_CTRLS=${CTRLS[*]}" --env "BRISK_IOMMU=$IOMMU" ||
		die "building the initramfs failed"
	LOG_DIR=${BRISK_TEST_LOGDIR:-$ROOT/build/test/logs}
	mkdir -p "$LOG_DIR"
	LOG=$LOG_DIR/qemu-$NAME.log
	: >"$LOG"
	build_qemu_args
}

boot() {
	local start=$SECONDS
	rm -f "$WORK/qmp.sock"
	timeout -k 5 "$TIMEOUT" qemu-system-x86_64 "${QARGS[@]}" >"$WORK/qemu.out" 2>&1 &
	QEMU_PID=$!
	if [ $QMP = 1 ]; then
		/usr/bin/python3 "$HERE/qmp.py" watch "$WORK/qmp.sock" "$LOG" "$WORK/devices.json" \
			>"$LOG_DIR/qemu-$NAME.qmp.log" 2>&1 &
		WATCH_PID=$!
	fi
	wait "$QEMU_PID"
	QEMU_RC=$?
	QEMU_PID=""
	if [ -n "$WATCH_PID" ]; then
		kill "$WATCH_PID" 2>/dev/null
		wait "$WATCH_PID" 2>/dev/null
		WATCH_PID=""
	fi
	ELAPSED=$((SECONDS - start))
	cat "$WORK/qemu.out" >>"$LOG"
}

verdict() {
	local result
	grep -aoE '(ok|FAIL): .*' "$LOG" | tr -d '\r'
	result=$(grep -aoE 'BRISK-QEMU-RESULT: [A-Z]+.*' "$LOG" | tail -n1 | tr -d '\r')
	case "$result" in
	"BRISK-QEMU-RESULT: PASS"*)
		echo "run_guest: $NAME: PASS in ${ELAPSED}s (log $LOG)"; return 0 ;;
	"BRISK-QEMU-RESULT: FAIL"*)
		echo "run_guest: $NAME: ${result#BRISK-QEMU-RESULT: } in ${ELAPSED}s (log $LOG)"; return 1 ;;
	esac
	[ "$QEMU_RC" = 124 ] && echo "run_guest: $NAME: timed out after ${TIMEOUT}s" ||
		echo "run_guest: $NAME: no result line (qemu exit $QEMU_RC)"
	tail -n 20 "$LOG" | sed 's/^/  | /'
	echo "run_guest: log $LOG"
	return 2
}

# A guest that never reached /init failed before any test ran (a kernel
# panic at boot on a starved host): it gets one more boot, its log kept.
boot_once_more() {
	grep -aq "^init: " "$LOG" && return 1
	echo "run_guest: $NAME: the guest never reached /init; booting again"
	mv "$LOG" "$LOG.first"
	: >"$LOG"
	boot
}

parse_args "$@"
prepare
boot
verdict >"$WORK/verdict"
rc=$?
if [ $rc = 2 ] && boot_once_more; then
	verdict
	exit
fi
cat "$WORK/verdict"
exit $rc
