# Guest side of test/functional/nvmf_kernel_host.sh (busybox ash, lib.sh
# loaded): the Linux kernel's NVMe/TCP host against brisk_tgt on the QEMU
# host (10.0.2.2). nvmf.env in the working directory gives NVMF_PORT,
# NVMF_NQN, NVMF_HOSTNQN, NVMF_BAD_HOSTNQN, NVMF_SN, NVMF_MN.
# shellcheck shell=dash
. ./nvmf.env

# fabrics_connect OPTIONS: the controller's instance number on stdout; the
# kernel answers the write of /dev/nvme-fabrics on the same open file.
fabrics_connect() {
	local line
	exec 3<>/dev/nvme-fabrics || return 1
	if ! echo "$1" >&3; then
		exec 3<&-
		return 1
	fi
	read -r line <&3
	exec 3<&-
	echo "$line" | sed -n 's/.*instance=\([0-9]*\).*/\1/p'
}

# The disk of controller instance $1 (native multipath names its path nvmeXcYnZ).
ctrl_disk() {
	local i=0 d
	while [ $i -lt 100 ]; do
		for d in /sys/class/nvme/nvme$1/nvme*n1; do
			[ -e "$d" ] || continue
			d=$(echo "${d##*/}" | sed 's/c[0-9]*n/n/')
			[ -b "/dev/$d" ] && { echo "/dev/$d"; return 0; }
		done
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

net_up() {
	modprobe virtio_pci && modprobe virtio_net && modprobe nvme-tcp || return 1
	modprobe ext4 2>/dev/null
	ip link set lo up
	ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2
}

# dd_check DEV BS COUNT: a random pattern written with O_DIRECT reads back equal.
dd_check() {
	dd if=/dev/urandom of=/tmp/pat bs="$2" count="$3" 2>/dev/null &&
		dd if=/tmp/pat of="$1" bs="$2" count="$3" oflag=direct 2>/dev/null &&
		dd if="$1" of=/tmp/back bs="$2" count="$3" iflag=direct 2>/dev/null &&
		cmp /tmp/pat /tmp/back
}

# Full paths: busybox's ash runs its own (ext2-only) mke2fs applet first.
fs_check() { # DEV
	[ -f mke2fs.conf ] && cp mke2fs.conf /etc/mke2fs.conf
	mkdir -p /mnt/t &&
		run_logged /tmp/mkfs.out 120 /brisk/bin/mke2fs -q -t ext4 -F "$1" &&
		mount -t ext4 "$1" /mnt/t &&
		dd if=/dev/urandom of=/mnt/t/a bs=64k count=32 2>/dev/null &&
		cp /mnt/t/a /mnt/t/b && mkdir /mnt/t/d && echo hello >/mnt/t/d/c && sync &&
		umount /mnt/t && mount -t ext4 "$1" /mnt/t &&
		cmp /mnt/t/a /mnt/t/b && [ "$(cat /mnt/t/d/c)" = hello ] && umount /mnt/t &&
		run_logged /tmp/fsck.out 120 /brisk/bin/e2fsck -f -n "$1"
}

resv_report_ok() { # DEV
	/brisk/bin/nvme resv-report "$1" --eds -o json >/tmp/resv.json 2>&1
	grep -q '"rtype" *: *1,' /tmp/resv.json && grep -q '"regctl" *: *1,' /tmp/resv.json && return 0
	cat /tmp/resv.json
	return 1
}

# resv_check LABEL DEV: nvme-cli's reservation commands (Linux's passthrough).
resv_check() {
	local n=/brisk/bin/nvme
	check "$1: nvme resv-register" $n resv-register "$2" --nrkey=0xabcd --rrega=0
	check "$1: nvme resv-acquire Write Exclusive" $n resv-acquire "$2" --crkey=0xabcd --rtype=1 --racqa=0
	check "$1: nvme resv-report --eds: type 1, one registrant" resv_report_ok "$2"
	check "$1: the holder's O_DIRECT writes pass" dd_check "$2" 4096 16
	check "$1: nvme resv-release" $n resv-release "$2" --crkey=0xabcd --rtype=1 --rrela=0
	check "$1: nvme resv-register unregister" $n resv-register "$2" --crkey=0xabcd --rrega=1
}

one_connection() { # LABEL EXTRA_OPTIONS FS(0/1)
	local inst dev opts="transport=tcp,traddr=10.0.2.2,trsvcid=$NVMF_PORT,nqn=$NVMF_NQN,hostnqn=$NVMF_HOSTNQN$2"
	inst=$(fabrics_connect "$opts")
	if [ -z "$inst" ]; then
		fail "$1: connect"
		return 1
	fi
	ok "$1: connected as nvme$inst"
	check "$1: model is $NVMF_MN" [ "$(cat /sys/class/nvme/nvme$inst/model | sed 's/ *$//')" = "$NVMF_MN" ]
	check "$1: serial is $NVMF_SN" [ "$(cat /sys/class/nvme/nvme$inst/serial | sed 's/ *$//')" = "$NVMF_SN" ]
	check "$1: transport tcp" [ "$(cat /sys/class/nvme/nvme$inst/transport)" = tcp ]
	check "$1: subsystem NQN" [ "$(cat /sys/class/nvme/nvme$inst/subsysnqn)" = "$NVMF_NQN" ]
	dev=$(ctrl_disk "$inst") || { fail "$1: no namespace block device"; dev=""; }
	if [ -n "$dev" ]; then
		ok "$1: namespace $dev, $(cat /sys/block/${dev#/dev/}/size) sectors"
		check "$1: dd 4 KiB blocks (in-capsule writes) O_DIRECT read back" dd_check "$dev" 4096 256
		check "$1: dd 1 MiB blocks (R2T + H2CData) O_DIRECT read back" dd_check "$dev" 1048576 8
		check "$1: dd 512 B blocks O_DIRECT read back" dd_check "$dev" 512 64
		if [ "$3" = 1 ]; then
			check "$1: mkfs.ext4, mount, files, remount, fsck" fs_check "$dev"
		else
			resv_check "$1" "$dev"
		fi
	fi
	echo 1 >/sys/class/nvme/nvme$inst/delete_controller
	sleep 0.5
	check "$1: disconnected" [ ! -e /sys/class/nvme/nvme$inst ]
}

check "network and nvme-tcp modules" net_up
if [ -n "$(fabrics_connect "transport=tcp,traddr=10.0.2.2,trsvcid=$NVMF_PORT,nqn=$NVMF_NQN,hostnqn=$NVMF_BAD_HOSTNQN" 2>/dev/null)" ]; then
	fail "a host NQN not on the allow list connected"
else
	ok "a host NQN not on the allow list is refused"
fi
one_connection "no digests" "" 1
one_connection "header+data digests" ",hdr_digest,data_digest" 0
