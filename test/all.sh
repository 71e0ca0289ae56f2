#!/bin/bash
# Sets up a fresh Debian 12 machine and runs every Brisk test:
# installs packages (fio and its source too, for the fio ioengine tests),
# reserves hugepages, configures, builds, runs test/run_tests.sh.
# Usage: sudo test/all.sh [run_tests.sh args...]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ]; then
	scripts/pkgdep.sh --fio
	scripts/setup.sh config
else
	echo "test/all.sh: not root; assuming packages and hugepages are set up" >&2
fi
./configure
make -j2
test/run_tests.sh "$@"
