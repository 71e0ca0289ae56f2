#!/usr/bin/env bash
# SQLite's extraquick.test (~254,000 tests) with one harness on SQLite's unix
# VFS and on the brisk VFS (not run by CI: tens of minutes here). Prints both
# summaries and the tests that fail on one VFS only; exits non-zero when the
# failure sets differ (but for the known differences listed in
# test/functional/sqlite_brisk_known.txt, reported by name). SQLITE_XQ_VFS
# runs one VFS only ("brisk": compared with the unix log of an earlier
# run). Logs are kept in SQLITE_XQ_LOGS (default
# /var/tmp/brisk-sqlite/xq-logs). Result recorded in doc/sqlite.md.
source "$(dirname "${BASH_SOURCE[0]}")/../functional/sqlite_suite_common.sh"
LOGS=${SQLITE_XQ_LOGS:-/var/tmp/brisk-sqlite/xq-logs}
LIMIT=${SQLITE_XQ_TIMEOUT:-7200}
mkdir -p "$LOGS"

suite_build
for vfs in ${SQLITE_XQ_VFS:-unix brisk}; do
	start=$(date +%s)
	suite_run "$vfs" "$SQLITE_SRC/test/extraquick.test" "$LOGS/$vfs.log" "$LIMIT"
	echo "$vfs: $(suite_errors "$LOGS/$vfs.log" | awk '{print $1 " errors out of " $2 " tests"}')" \
		"in $(( $(date +%s) - start )) s (log $LOGS/$vfs.log)"
	suite_failed "$LOGS/$vfs.log" > "$LOGS/$vfs.failed"
done
[ -n "$(suite_errors "$LOGS/unix.log")" ] || fail "no summary on the unix VFS"
[ -n "$(suite_errors "$LOGS/brisk.log")" ] || fail "no summary on brisk"
suite_compare "$LOGS/unix.log" "$LOGS/brisk.log" || fail "the failures differ (above)"
[ "$FAILS" -eq 0 ] || { echo "$FAILS check(s) failed"; exit 1; }
pass "extraquick.test: the same failures on brisk as on unix"
