#!/bin/bash
# The main job on an embedded default, on a fresh Debian 12 machine:
# installs packages, reserves hugepages, builds Brisk, runs the env
# self-check benchmark, then starts brisk_tgt and talks to it over JSON-RPC.
# Usage: sudo scripts/quickstart.sh
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

SOCK=/var/tmp/brisk_quickstart.sock
echo
echo "=== starting build/bin/brisk_tgt -m 0x3 -r $SOCK"
build/bin/brisk_tgt -m 0x3 -r "$SOCK" &
TGT=$!
trap 'kill -TERM $TGT 2>/dev/null || true; wait $TGT 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
rpc() { echo "\$ scripts/rpc.py $*"; scripts/rpc.py -s "$SOCK" "$@"; }
rpc framework_wait_init
rpc framework_get_reactors
rpc thread_get_stats
rpc env_get_mem_stats
rpc save_config
echo
echo "=== stopping brisk_tgt (SIGTERM)"
kill -TERM $TGT
wait $TGT && echo "brisk_tgt exited cleanly"
trap - EXIT
