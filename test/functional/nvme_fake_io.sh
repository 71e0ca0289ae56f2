#!/bin/bash
# nvme_io's checks on the host, against lib/nvme's in-memory fake controller
# (nvme_io --fake), with 512 B and 4 KiB blocks, and its surprise-removal
# mode (the fake's registers start reading all ones under I/O): the guest
# I/O test's logic without QEMU. One line per run; non-zero on any failure.
set -u
cd "$(dirname "$0")/../.." || exit 1
FAILS=0
LOG=$(mktemp /tmp/brisk_nvme_fake_io.XXXXXX)
trap 'rm -f "$LOG"' EXIT

run() { # block size
	if timeout -k 5 120 build/bin/nvme_io --fake -b "$1" --no-huge -s 128 >"$LOG" 2>&1 &&
	   grep -q "^nvme_io: PASS" "$LOG"; then
		echo "ok: nvme_io --fake, $1 B blocks"
	else
		echo "FAIL: nvme_io --fake, $1 B blocks"
		grep -E "FAILED|FAIL|ERROR" "$LOG" | head -n 10
		FAILS=$((FAILS + 1))
	fi
}

[ -x build/bin/nvme_io ] || { echo "FAIL: build/bin/nvme_io is missing (run make)"; exit 1; }
run 512
run 4096
if timeout -k 5 60 build/bin/nvme_io --fake --no-huge -s 128 --until-removed 20 >"$LOG" 2>&1 &&
   grep -q "^nvme_io: removal PASS" "$LOG"; then
	echo "ok: nvme_io --fake --until-removed: every I/O back, new ones refused"
else
	echo "FAIL: nvme_io --fake --until-removed"
	tail -n 5 "$LOG"
	FAILS=$((FAILS + 1))
fi
[ $FAILS = 0 ]
