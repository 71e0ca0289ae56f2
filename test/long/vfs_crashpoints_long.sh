#!/usr/bin/env bash
# The brisk VFS crash-point test at every point (not run by CI): the short
# SQL workload of test/functional/vfs_crashpoints.py cut at each of its
# io_submit calls, in DELETE and WAL modes. Result recorded in doc/sqlite.md.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
SQLITE_CRASHPOINT_STRIDE=1 exec timeout 3600 test/functional/vfs_crashpoints.py
