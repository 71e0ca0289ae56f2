#!/usr/bin/env bash
# SQLite's own TCL tests on the brisk VFS, a named subset that fits CI: each
# file runs with the same harness on SQLite's unix VFS and on brisk (a fresh
# store), and the two must report the same failures (the unix VFS is the
# reference: a test failing on both is SQLite's or Debian's, not ours), but
# for the known differences listed with their reasons in
# test/functional/sqlite_brisk_known.txt, reported by name. The
# whole extraquick suite runs in test/long/sqlite_extraquick.sh (result in
# doc/sqlite.md). SQLITE_SUITE_FILES overrides the list (names in SQLite's
# test/ folder); each run is bounded by SQLITE_SUITE_TIMEOUT (default 300 s).
source "$(dirname "${BASH_SOURCE[0]}")/../functional/sqlite_suite_common.sh"

# The files that give unix's result on brisk today, known differences
# included (doc/sqlite.md lists the ones that do not yet, and why).
FILES=${SQLITE_SUITE_FILES:-"select1.test insert.test journal1.test rollback.test lock.test
	exclusive.test walmode.test temptable.test delete.test e_wal.test capi3e.test
	delete_db.test corruptL.test diskfull.test capi3.test capi3c.test crash8.test"}
LIMIT=${SQLITE_SUITE_TIMEOUT:-300}

suite_build
for f in $FILES; do
	if [ ! -f "$SQLITE_SRC/test/$f" ]; then
		fail "$f: no such test in $SQLITE_SRC/test"
		continue
	fi
	suite_run unix "$SQLITE_SRC/test/$f" "$WORK/unix.log" "$LIMIT"
	suite_run brisk "$SQLITE_SRC/test/$f" "$WORK/brisk.log" "$LIMIT"
	u=$(suite_errors "$WORK/unix.log")
	b=$(suite_errors "$WORK/brisk.log")
	if [ -z "$u" ]; then
		fail "$f: no summary on the unix VFS: $(tail -c 300 "$WORK/unix.log")"
	elif [ -z "$b" ]; then
		fail "$f: no summary on brisk: $(tail -c 300 "$WORK/brisk.log")"
	elif suite_compare "$WORK/unix.log" "$WORK/brisk.log"; then
		pass "$f: unix ${u% *} errors / ${u#* } tests, brisk ${b% *} / ${b#* } (known differences above)"
	else
		fail "$f: unix ${u% *}/${u#* }, brisk ${b% *}/${b#* }: differences above"
	fi
done
[ "$FAILS" -eq 0 ] || { echo "$FAILS check(s) failed"; exit 1; }
echo "all checks passed"
