#!/bin/bash
# The Linux kernel's iSCSI initiator (open-iscsi + iscsi_tcp in a QEMU guest,
# see doc/testing-qemu.md) against brisk_tgt on this machine: discovery, a
# wrong CHAP secret refused, login with CHAP, mkfs.ext4, mount, files with
# checksums, umount, fsck, logout, login again and the checksums match.
# Skips (exit 77) only when QEMU cannot run here. ISCSI_KERNEL_FIO=1 also
# puts Debian's fio in the guest (64 libraries, ~80 MB, so not by default)
# and prints its IOPS on the raw LUN (doc/performance.md).
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
ROOT=$PWD
TGT=$ROOT/build/bin/brisk_tgt
WORK=$(mktemp -d /tmp/brisk_iscsi_kernel.XXXXXX)
SOCK=$WORK/tgt.sock
TGT_PID=""
IQN=iqn.2016-06.io.spdk:kernel
INITIATOR=iqn.2026-12.io.brisk:guest

cleanup() {
	if [ -n "$TGT_PID" ] && kill -0 "$TGT_PID" 2>/dev/null; then
		kill -TERM "$TGT_PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$TGT_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$TGT_PID" 2>/dev/null
		wait "$TGT_PID" 2>/dev/null
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "SKIP: iscsi_kernel_qemu: qemu-system-x86_64 is not installed (scripts/pkgdep.sh)"
	exit 77
fi
[ -x "$TGT" ] || { echo "FAIL: $TGT is not built"; exit 1; }
for p in /sbin/mke2fs /sbin/e2fsck /sbin/iscsid /sbin/iscsiadm; do
	[ -x "$p" ] || { echo "FAIL: $p is missing (scripts/pkgdep.sh: e2fsprogs, open-iscsi)"; exit 1; }
done

MKE2FS_CONF=""
[ -f /etc/mke2fs.conf ] && MKE2FS_CONF="--file /etc/mke2fs.conf"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
rpc() { timeout 30 python3 "$ROOT/scripts/rpc.py" -s "$SOCK" "$@"; }

# The guest's connections leave QEMU's user network from the host's 127.0.0.1.
configure() {
	rpc bdev_malloc_create -b Malloc0 64 512 >/dev/null &&
		rpc iscsi_create_portal_group 1 "127.0.0.1:$PORT" >/dev/null &&
		rpc iscsi_create_initiator_group 1 "$INITIATOR" 127.0.0.1/32 >/dev/null &&
		rpc iscsi_create_auth_group 1 -c "user:guest secret:guestsecret12" >/dev/null &&
		rpc iscsi_create_target_node kernel kernel "Malloc0:0" "1:1" 64 -r -g 1 >/dev/null
}

timeout 600 "$TGT" --no-huge -s 256 -r "$SOCK" >"$WORK/tgt.log" 2>&1 &
TGT_PID=$!
for _ in $(seq 200); do [ -S "$SOCK" ] && break; sleep 0.1; done
configure || { echo "FAIL: target configuration"; cat "$WORK/tgt.log"; exit 1; }
echo "ok: brisk_tgt exports $IQN (64 MiB malloc LUN, CHAP) on 127.0.0.1:$PORT"

cat >"$WORK/iscsi.env" <<ENV
ISCSI_PORT=$PORT
ISCSI_IQN=$IQN
ISCSI_INITIATOR=$INITIATOR
ISCSI_USER=guest
ISCSI_SECRET=guestsecret12
ISCSI_FIO=${ISCSI_KERNEL_FIO:-0}
ENV
GUEST_OPTS=(--mem 512 --timeout 240)
[ "${ISCSI_KERNEL_FIO:-0}" = 1 ] && GUEST_OPTS=(--mem 1024 --timeout 420 --prog "$(command -v fio)")

nice test/nvme/qemu/run_guest.sh --driver none --nic --name iscsi_kernel \
	"${GUEST_OPTS[@]}" --hugepages 0 \
	--module virtio_pci --module virtio_net --module iscsi_tcp --module sd_mod --module ext4 \
	--prog /sbin/mke2fs --prog /sbin/e2fsck --prog /sbin/iscsid --prog /sbin/iscsiadm \
	--file "$WORK/iscsi.env" $MKE2FS_CONF \
	test/nvme/qemu/guest/iscsi_initiator.sh
rc=$?
[ $rc = 3 ] && echo "FAIL: the QEMU guest could not be set up (see above)"
kill -0 "$TGT_PID" 2>/dev/null && echo "ok: brisk_tgt still running" || { echo "FAIL: brisk_tgt died"; rc=1; }
grep -q "does not match its secret" "$WORK/tgt.log" && echo "ok: the target logged the wrong secret" ||
	{ echo "FAIL: no wrong-secret line in the target log"; rc=1; }
[ $rc = 0 ] || { echo "--- target log"; tail -n 40 "$WORK/tgt.log"; }
exit $rc
