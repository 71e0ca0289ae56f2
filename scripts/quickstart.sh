#!/bin/bash
# The main job on an embedded default, on a fresh Debian 12 machine:
# installs packages, reserves hugepages, builds Brisk, runs the env
# self-check benchmark, then starts brisk_tgt on a default that needs no
# hardware: a file-backed aio bdev (created on the first run under the data
# directory), an lvol store and a thin lvol on it. It then shows a user
# session with rpc.py (list, create, snapshot, clone, resize, delete lvols),
# exports the thin lvol over NVMe/TCP on 127.0.0.1 and reads it with Brisk's
# own NVMe/TCP host (nvme_identify, nvme_perf), stops the target, and starts it again to show that the lvols are found on
# disk. Run it again later: the same lvstore and lvol are there.
#
# Usage: sudo scripts/quickstart.sh
#   BRISK_DATA_DIR   where the backing file and config live (default /var/tmp/brisk)
#   BRISK_DATA_MB    size of the backing file on first run (default 1024, sparse)
#   BRISK_NVMF_PORT  TCP port on 127.0.0.1 for the NVMe/TCP export (default 4420)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ]; then
	scripts/pkgdep.sh
	scripts/setup.sh config
else
	echo "quickstart.sh: not root; skipping package install and hugepage setup" >&2
fi
[ -f mk/config.mk ] || ./configure
make -j2

echo
echo "=== env self-check: build/bin/env_perf --quick"
build/bin/env_perf --quick

DATA=${BRISK_DATA_DIR:-/var/tmp/brisk}
IMG=$DATA/brisk0.img
CONF=$DATA/brisk_tgt.json
SOCK=/var/tmp/brisk_quickstart.sock
PORT=${BRISK_NVMF_PORT:-4420}
NQN=nqn.2016-06.io.brisk:quickstart
mkdir -p "$DATA"
# bdev_aio_create takes absolute paths only (doc/security.md).
DATA=$(cd "$DATA" && pwd)
IMG=$DATA/brisk0.img
CONF=$DATA/brisk_tgt.json
if [ ! -f "$IMG" ]; then
	echo
	echo "=== first run: creating the backing file $IMG (${BRISK_DATA_MB:-1024} MiB, sparse)"
	truncate -s "${BRISK_DATA_MB:-1024}M" "$IMG"
fi
# The embedded default: one aio bdev on the file. The lvol store on it is
# found by examine at start-up, so the config names nothing else.
cat >"$CONF" <<JSON
{"subsystems": [{"subsystem": "bdev", "config": [
  {"method": "bdev_aio_create", "params": {"name": "Aio0", "filename": "$IMG", "block_size": 512}},
  {"method": "bdev_wait_for_examine"}]}]}
JSON

TGT=""
start_tgt() {
	echo
	echo "=== starting build/bin/brisk_tgt -m 0x3 -r $SOCK -c $CONF"
	build/bin/brisk_tgt -m 0x3 -r "$SOCK" -c "$CONF" &
	TGT=$!
	for _ in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
	scripts/rpc.py -s "$SOCK" framework_wait_init >/dev/null
}
stop_tgt() {
	echo
	echo "=== stopping brisk_tgt (SIGTERM)"
	kill -TERM "$TGT"
	wait "$TGT" && echo "brisk_tgt exited cleanly"
	TGT=""
}
trap '[ -z "$TGT" ] || { kill -TERM $TGT 2>/dev/null || true; wait $TGT 2>/dev/null || true; }' EXIT
rpc() { echo "\$ scripts/rpc.py $*"; scripts/rpc.py -s "$SOCK" "$@"; }

start_tgt
if ! scripts/rpc.py -s "$SOCK" bdev_lvol_get_lvstores -l lvs0 >/dev/null 2>&1; then
	echo "=== no lvol store on $IMG yet: creating lvs0 and a thin lvol vol0"
	rpc bdev_lvol_create_lvstore Aio0 lvs0
	rpc bdev_lvol_create -l lvs0 -t vol0 256
fi
# Left over by an earlier run that was interrupted: start the demo afresh.
for n in demo_clone demo demo_snap; do
	scripts/rpc.py -s "$SOCK" bdev_lvol_delete "lvs0/$n" >/dev/null 2>&1 || true
done
rpc framework_get_reactors
rpc bdev_lvol_get_lvstores
rpc bdev_lvol_get_lvols

echo
echo "=== a session: create, snapshot, clone, resize, delete"
rpc bdev_lvol_create -l lvs0 demo 16
rpc bdev_lvol_snapshot lvs0/demo demo_snap
rpc bdev_lvol_clone lvs0/demo_snap demo_clone
rpc bdev_lvol_resize lvs0/demo_clone 32
rpc bdev_lvol_resize lvs0/demo 24
rpc bdev_lvol_get_lvols -l lvs0
rpc bdev_lvol_delete lvs0/demo_clone
echo "(demo_snap has one clone left, demo: deleting it passes its clusters to demo)"
rpc bdev_lvol_delete lvs0/demo_snap
rpc bdev_lvol_delete lvs0/demo

echo
echo "=== the target's main job: lvs0/vol0 exported over NVMe/TCP on 127.0.0.1:$PORT"
rpc nvmf_create_transport -t TCP
rpc nvmf_create_subsystem "$NQN" -a -s BRISK0001 -d "Brisk quickstart"
rpc nvmf_subsystem_add_ns "$NQN" lvs0/vol0
rpc nvmf_subsystem_add_listener "$NQN" -t tcp -f ipv4 -a 127.0.0.1 -s "$PORT"
TRID="trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$PORT subnqn:$NQN"
echo "\$ build/bin/nvme_identify -r '$TRID'   (Brisk's NVMe/TCP host; the kernel's: nvme connect -t tcp -a 127.0.0.1 -s $PORT -n $NQN)"
ident=$(build/bin/nvme_identify --no-huge -r "$TRID") # a failed identify stops the script
grep -E "^(mn|sn|subnqn|nn) |nsze|lbaf .*in use" <<<"$ident"
echo "\$ build/bin/nvme_perf -r '$TRID' -q 16 -o 4096 -w randrw -M 70 -t 2"
build/bin/nvme_perf --no-huge -r "$TRID" -q 16 -o 4096 -w randrw -M 70 -t 2 | tail -n 4
rpc nvmf_delete_subsystem "$NQN"
rpc save_config
stop_tgt

echo
echo "=== second start: the lvols are found on disk (only the aio bdev is configured)"
start_tgt
rpc bdev_lvol_get_lvols
stop_tgt
trap - EXIT
echo
echo "Data directory: $DATA (delete it to start from scratch)."
