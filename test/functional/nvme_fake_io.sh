#!/bin/bash
# nvme_io's checks on the host, against lib/nvme's in-memory fake controller
# (nvme_io --fake), with 512 B and 4 KiB blocks: the guest I/O test's logic
# without QEMU. One line per run; exits non-zero on any failure.
set -u
cd "$(dirname "$0")/../.."
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
[ $FAILS = 0 ]
