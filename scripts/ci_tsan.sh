#!/bin/bash
# ThreadSanitizer run (CI's last step, .ci/run): in a ThreadSanitizer build
# (./configure --enable-tsan) of the current tree, runs the unit tests of
# lib/thread, lib/event and lib/env (rings, mempools, messages across
# threads) and a short bdevperf verify on two reactors. Any data race
# report fails the run.
# Usage: scripts/ci_tsan.sh   (in a tree configured with --enable-tsan)
set -euo pipefail
cd "$(dirname "$0")/.." || exit 1
grep -q '^CONFIG_TSAN := y' mk/config.mk || { echo "ci_tsan: configure with --enable-tsan first" >&2; exit 1; }
mapfile -t uts < <(ls test/unit/{thread,event,env}/*_ut.c | sed 's|^test/unit/\(.*\)\.c$|build/test/unit/\1|')
make -j2 "${uts[@]}" build/bin/bdevperf
# halt_on_error: the first race fails the test that hit it, with its report.
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 exitcode=66"
BRISK_TEST_LOGDIR=${BRISK_TEST_LOGDIR:-build/test/tsan-logs} BRISK_TEST_MODES=nohuge \
	test/run_tests.sh --unit 'unit/thread/' 'unit/event/' 'unit/env/'
WORK=$(mktemp -d /tmp/brisk_tsan.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cat >"$WORK/malloc.json" <<'JSON'
{"subsystems": [{"subsystem": "bdev", "config": [
  {"method": "bdev_malloc_create", "params": {"name": "Malloc0", "num_blocks": 8192, "block_size": 4096}},
  {"method": "bdev_malloc_create", "params": {"name": "Malloc1", "num_blocks": 8192, "block_size": 4096}}]}]}
JSON
timeout -k 5 120 build/bin/bdevperf --no-huge -s 256 -m 0x3 -c "$WORK/malloc.json" \
	-q 16 -o 4096 -w verify -t 3 >"$WORK/bdevperf.log" 2>&1 ||
	{ tail -60 "$WORK/bdevperf.log"; echo "ci_tsan: bdevperf verify on 2 reactors failed" >&2; exit 1; }
echo "ok: bdevperf verify on 2 reactors under ThreadSanitizer, no race reported"
