#!/bin/bash
# The Linux kernel's NVMe/TCP host (nvme-tcp in a QEMU guest, see
# doc/testing-qemu.md) against brisk_tgt on this machine: a refused host NQN,
# then with digests off and on: connect, model and serial, O_DIRECT pattern
# writes and read-back in three block sizes, mkfs.ext4 + mount + files +
# fsck, disconnect; nvme-cli's resv-register/acquire/report/release on the
# namespace. Skips (exit 77) only when QEMU cannot run here.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
ROOT=$PWD
TGT=$ROOT/build/bin/brisk_tgt
WORK=$(mktemp -d /tmp/brisk_nvmf_kernel.XXXXXX)
SOCK=$WORK/tgt.sock
TGT_PID=""
NQN=nqn.2016-06.io.brisk:kernel-host
HOSTNQN=nqn.2014-08.org.nvmexpress:uuid:5b7c1a2e-0d44-4a8e-9b61-0c6f3a1d2e77
BAD_HOSTNQN=nqn.2014-08.org.nvmexpress:uuid:00000000-1111-2222-3333-444444444444

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
	echo "SKIP: nvmf_kernel_host: qemu-system-x86_64 is not installed (scripts/pkgdep.sh)"
	exit 77
fi
[ -x "$TGT" ] || { echo "FAIL: $TGT is not built"; exit 1; }
for p in /sbin/mke2fs /sbin/e2fsck /usr/sbin/nvme; do
	[ -x "$p" ] || { echo "FAIL: $p is missing (e2fsprogs, nvme-cli: scripts/pkgdep.sh)"; exit 1; }
done

MKE2FS_CONF=""
[ -f /etc/mke2fs.conf ] && MKE2FS_CONF="--file /etc/mke2fs.conf"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
rpc() { timeout 30 python3 "$ROOT/scripts/rpc.py" -s "$SOCK" "$@"; }

timeout 600 "$TGT" --no-huge -s 256 -r "$SOCK" >"$WORK/tgt.log" 2>&1 &
TGT_PID=$!
for _ in $(seq 200); do [ -S "$SOCK" ] && break; sleep 0.1; done
rpc bdev_malloc_create -b Malloc0 64 512 >/dev/null &&
	rpc nvmf_create_transport -t TCP >/dev/null &&
	rpc nvmf_create_subsystem "$NQN" -s BRISK-KH-0001 -d "Brisk kernel host test" >/dev/null &&
	rpc nvmf_subsystem_add_host "$NQN" "$HOSTNQN" >/dev/null &&
	rpc nvmf_subsystem_add_ns "$NQN" Malloc0 >/dev/null &&
	rpc nvmf_subsystem_add_listener "$NQN" -t tcp -a 127.0.0.1 -s "$PORT" >/dev/null ||
	{ echo "FAIL: target configuration"; cat "$WORK/tgt.log"; exit 1; }
echo "ok: brisk_tgt listens on 127.0.0.1:$PORT with a 64 MiB malloc namespace"

cat >"$WORK/nvmf.env" <<ENV
NVMF_PORT=$PORT
NVMF_NQN=$NQN
NVMF_HOSTNQN=$HOSTNQN
NVMF_BAD_HOSTNQN=$BAD_HOSTNQN
NVMF_SN=BRISK-KH-0001
NVMF_MN="Brisk kernel host test"
ENV

# no_timer_check: under TCG on a loaded machine the kernel's IO-APIC timer
# check can fail and panic the boot ("IO-APIC + timer doesn't work").
nice test/nvme/qemu/run_guest.sh --driver none --nic --timeout 420 --name nvmf_kernel_host \
	--append " no_timer_check" \
	--module virtio_pci --module virtio_net --module nvme-tcp --module ext4 \
	--prog /sbin/mke2fs --prog /sbin/e2fsck --prog /usr/sbin/nvme --file "$WORK/nvmf.env" $MKE2FS_CONF \
	test/nvme/qemu/guest/nvmf_host.sh
rc=$?
[ $rc = 3 ] && echo "FAIL: the QEMU guest could not be set up (see above)"
kill -0 "$TGT_PID" 2>/dev/null && echo "ok: brisk_tgt still running" || { echo "FAIL: brisk_tgt died"; rc=1; }
[ $rc = 0 ] || { echo "--- target log"; tail -n 40 "$WORK/tgt.log"; }
exit $rc
