# Guest side of test/functional/iscsi_kernel_qemu.sh (busybox ash, lib.sh
# loaded): the Linux kernel's iSCSI initiator (open-iscsi's iscsid and
# iscsiadm, iscsi_tcp) against brisk_tgt on the QEMU host (10.0.2.2).
# iscsi.env in the working directory gives ISCSI_PORT, ISCSI_IQN,
# ISCSI_INITIATOR, ISCSI_USER, ISCSI_SECRET, and ISCSI_FIO=1 when fio is in
# the guest (then fio reads the raw LUN before the file system checks).
# shellcheck shell=dash
. ./iscsi.env
PORTAL=10.0.2.2:$ISCSI_PORT

net_up() {
	modprobe virtio_pci && modprobe virtio_net && modprobe iscsi_tcp && modprobe sd_mod || return 1
	modprobe crc32c_generic
	modprobe ext4 2>/dev/null
	ip link set lo up
	ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2
}

# iscsid wants its name file, a root entry in /etc/passwd (lib.sh's base
# layer has it) and its database and lock directories.
iscsid_up() {
	mkdir -p /etc/iscsi/nodes /etc/iscsi/send_targets /run/lock/iscsi /var/lib/iscsi
	echo "InitiatorName=$ISCSI_INITIATOR" >/etc/iscsi/initiatorname.iscsi
	cat >/etc/iscsi/iscsid.conf <<-CONF
		node.startup = manual
		node.session.initial_login_retry_max = 1
		node.conn[0].timeo.login_timeout = 15
		node.conn[0].timeo.logout_timeout = 15
		node.session.timeo.replacement_timeout = 20
		node.session.scan = auto
	CONF
	iscsid -f >/tmp/iscsid.log 2>&1 &
	local i=0
	until iscsiadm -m session >/dev/null 2>&1 || [ $? = 21 ]; do # 21: no sessions
		[ $i -ge 50 ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
}

# SendTargets names the target; its address is the target's own listen
# address (127.0.0.1, the guest itself here), so the node is made by hand.
discover() {
	run_logged /tmp/disc.out 20 iscsiadm -m discovery -t st -p "$PORTAL" &&
		grep -q "$ISCSI_IQN" /tmp/disc.out
}

node_set() { # NAME VALUE
	iscsiadm -m node -T "$ISCSI_IQN" -p "$PORTAL" -o update -n "$1" -v "$2" >/dev/null
}

node_new() {
	iscsiadm -m node -o new -T "$ISCSI_IQN" -p "$PORTAL" >/dev/null &&
		node_set node.session.auth.authmethod CHAP &&
		node_set node.session.auth.username "$ISCSI_USER"
}

login() { # SECRET
	node_set node.session.auth.password "$1" &&
		run_logged /tmp/login.out 40 iscsiadm -m node -T "$ISCSI_IQN" -p "$PORTAL" --login
}

logout() {
	run_logged /tmp/logout.out 30 iscsiadm -m node -T "$ISCSI_IQN" -p "$PORTAL" --logout
}

# The refusal is an authentication failure (iscsiadm's error 24), not a
# network or protocol error.
refused_auth() { # SECRET
	! login "$1" && grep -q "(24 - " /tmp/login.out
}

no_session() { ! iscsiadm -m session >/dev/null 2>&1; }

# The one SCSI disk (the guest has no other): waits for the kernel's scan.
disk() {
	local i=0 d
	while [ $i -lt 150 ]; do
		for d in /sys/block/sd*; do
			[ -e "$d" ] && [ -b "/dev/${d##*/}" ] && { echo "/dev/${d##*/}"; return 0; }
		done
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# Full paths: busybox's ash runs its own (ext2-only) mke2fs applet first.
make_fs() { # DEV
	[ -f mke2fs.conf ] && cp mke2fs.conf /etc/mke2fs.conf
	mkdir -p /mnt/t && run_logged /tmp/mkfs.out 120 /brisk/bin/mke2fs -q -t ext4 -F "$1"
}

write_files() { # DEV: files of several sizes, their checksums kept in /tmp
	mount -t ext4 "$1" /mnt/t || return 1
	dd if=/dev/urandom of=/mnt/t/big bs=64k count=48 2>/dev/null &&
		dd if=/dev/urandom of=/mnt/t/small bs=1k count=3 2>/dev/null &&
		mkdir /mnt/t/d && seq 1 20000 >/mnt/t/d/numbers &&
		(cd /mnt/t && md5sum big small d/numbers >/tmp/sums) && sync
	local rc=$?
	umount /mnt/t && return $rc
}

fsck_clean() { run_logged /tmp/fsck.out 120 /brisk/bin/e2fsck -f -n "$1"; }

read_back() { # DEV
	mount -t ext4 "$1" /mnt/t || return 1
	(cd /mnt/t && md5sum -c /tmp/sums)
	local rc=$?
	umount /mnt/t && return $rc
}

fio_one() { # DEV LABEL FIO_ARGS...: one line with fio's read summary
	local dev=$1 label=$2
	shift 2
	run_logged /tmp/fio.out 60 fio --name=k --filename="$dev" --direct=1 --ioengine=libaio \
		--runtime=10 --time_based --size=32m "$@" >/dev/null
	ok "fio $label: $(grep -m1 -E "read: IOPS=" /tmp/fio.out | sed 's/^ *//')"
}

fio_runs() { # DEV
	fio_one "$1" "4k randread QD 32" --rw=randread --bs=4k --iodepth=32
	fio_one "$1" "4k randread QD 1" --rw=randread --bs=4k --iodepth=1
	fio_one "$1" "128k read QD 8" --rw=read --bs=128k --iodepth=8
}

check "network, iscsi_tcp and sd_mod" net_up
check "iscsid started" iscsid_up || { cat /tmp/iscsid.log; exit 1; }
check "discovery (SendTargets) lists $ISCSI_IQN" discover
check "node record for $PORTAL with CHAP" node_new
check "login with a wrong CHAP secret is refused (authorization failure)" refused_auth "${ISCSI_SECRET}x"
check "no session after the refused login" no_session
check "login with CHAP" login "$ISCSI_SECRET" || { cat /tmp/iscsid.log; exit 1; }
dev=$(disk) || { fail "no SCSI disk appeared"; exit 1; }
ok "LUN 0 is $dev, $(cat /sys/block/${dev#/dev/}/size) sectors"
[ "${ISCSI_FIO:-0}" = 1 ] && fio_runs "$dev"
check "mkfs.ext4 $dev" make_fs "$dev"
check "mount, write files, checksums, umount" write_files "$dev"
check "fsck finds the file system clean" fsck_clean "$dev"
check "logout" logout
check "no session after logout" no_session
check "login again" login "$ISCSI_SECRET"
dev=$(disk) || { fail "no SCSI disk after the second login"; exit 1; }
check "files read back with matching checksums" read_back "$dev"
check "logout again" logout
