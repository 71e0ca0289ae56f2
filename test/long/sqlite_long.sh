#!/usr/bin/env bash
# The brisk VFS's functional tests at the issue's full scale (not run by CI):
# 1 M rows per journal mode through Python's sqlite3 module and the sqlite3
# shell, and 100 kill -9 rounds of the crash test.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
rc=0
SQLITE_TEST_ROWS=1000000 SQLITE_TEST_TIMEOUT=7200 test/functional/sqlite_sql.py || rc=1
SQLITE_TEST_ROWS=1000000 test/functional/sqlite_shell.sh || rc=1
SQLITE_CRASH_ROUNDS=100 test/functional/sqlite_crash.py || rc=1
exit $rc
