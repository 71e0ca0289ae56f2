#!/usr/bin/env bash
# SQL through Debian's sqlite3 shell on the brisk VFS: `.load` the extension,
# open a database by URI (?vfs=brisk, the store named by brisk_config= and
# brisk_bdev=), run a schema with indexes, inserts, updates, deletes, VACUUM
# and integrity_check in each journal mode; reopen in a new shell to see the
# data persist; BRISK_SQLITE_DEFAULT=1 makes an unmodified `sqlite3 NAME` use
# the store; a bad config is refused with an error naming it; the SQL
# functions brisk_file() and brisk_file_data() reach the store's files. Rows:
# SQLITE_TEST_ROWS (default 5000). Each shell is bounded by timeout.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
ROOT=$PWD
EXT=$ROOT/build/lib/libbrisk_sqlite.so
WORK=$(mktemp -d /tmp/brisk_sqlite_shell.XXXXXX)
ROWS=${SQLITE_TEST_ROWS:-5000}
FAILS=0
trap 'rm -rf "$WORK"' EXIT

fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }

if ! command -v sqlite3 >/dev/null 2>&1; then
	echo "FAIL: the sqlite3 shell is missing (scripts/pkgdep.sh installs it)"
	exit 1
fi
[ -f "$EXT" ] || { echo "FAIL: $EXT is missing (make)"; exit 1; }

truncate -s 256M "$WORK/store.img"
cat > "$WORK/brisk.json" <<JSON
{"subsystems": [{"subsystem": "bdev", "config": [{"method": "bdev_aio_create",
 "params": {"name": "aio0", "filename": "$WORK/store.img", "block_size": 4096}}]}]}
JSON
export BRISK_SQLITE_MEM_MB=96 BRISK_SQLITE_CACHE_MB=16
URI_ARGS="brisk_config=$WORK/brisk.json&brisk_bdev=aio0"

# shell DB SQL...: runs SQL on DB (a name on the store) in a new shell.
shell() {
	local db=$1
	shift
	printf '.load %s\n.open file:%s?vfs=brisk&%s\n%s\n' "$EXT" "$db" "$URI_ARGS" "$*" |
		timeout 120 sqlite3 -batch -bail 2>&1
}

for mode in delete truncate persist wal; do
	out=$(shell "sh_$mode.db" "
PRAGMA journal_mode=$mode;
PRAGMA synchronous=FULL;
CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, s TEXT);
CREATE INDEX t_k ON t(k);
CREATE UNIQUE INDEX t_s ON t(s);
WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < $ROWS)
  INSERT INTO t SELECT i, i % 97, printf('row-%08d', i) FROM r;
UPDATE t SET k = k + 1000 WHERE id % 3 = 0;
DELETE FROM t WHERE id % 10 = 0;
VACUUM;
SELECT 'count', count(*) FROM t;
PRAGMA integrity_check;")
	want=$((ROWS - ROWS / 10))
	if grep -qx "$mode" <<<"$out" && grep -qx "count|$want" <<<"$out" && grep -qx ok <<<"$out"; then
		pass "$mode: $ROWS inserts, updates, deletes, VACUUM, integrity_check ok"
	else
		fail "$mode: unexpected output: $(tail -c 400 <<<"$out")"
	fi
done

out=$(shell sh_delete.db "SELECT count(*) FROM t WHERE k >= 1000; PRAGMA integrity_check;")
want=$(( ROWS / 3 - ROWS / 30 ))
if grep -qx "$want" <<<"$out" && grep -qx ok <<<"$out"; then
	pass "a new shell reads the data back through the index ($want rows)"
else
	fail "reopen: want $want rows: $(tail -c 400 <<<"$out")"
fi

# brisk_file_data() and brisk_file('list'): the bytes and names SQLite's
# own suite reaches through its Tcl shim (test/functional/sqlite_brisk.tcl).
out=$(shell sh_delete.db "SELECT 'w', brisk_file_data('write', 'raw.bin', 2, x'414243');
SELECT 'r', hex(brisk_file_data('read', 'raw.bin', 0, 10));
SELECT 't', brisk_file_data('truncate', 'raw.bin', 1, NULL), brisk_file('size', 'raw.bin');
SELECT 'l', brisk_file('list', '.') LIKE '%raw.bin%sh_delete.db%' OR
            brisk_file('list', '.') LIKE '%sh_delete.db%raw.bin%';
SELECT brisk_file_data('read', 'none.bin', 0, 1);")
if grep -qx "w|3" <<<"$out" && grep -qx "r|0000414243" <<<"$out" && grep -qx "t|1|1" <<<"$out" &&
	grep -qx "l|1" <<<"$out" && grep -q "no such file on the store" <<<"$out"; then
	pass "brisk_file_data writes, reads and truncates; brisk_file lists a folder"
else
	fail "brisk_file_data/list: $(tail -c 400 <<<"$out")"
fi

# A WAL database's index lives in the VFS's memory; while a connection maps
# it, brisk_file() shows it as the <db>-shm file unix would have (SQLite's
# suite reads it so): exists, its size, its header (iVersion 3007000,
# native order), listed in the folder, copied to a store file.
out=$(shell sh_walidx.db "PRAGMA journal_mode=WAL; CREATE TABLE w(x); INSERT INTO w VALUES (1);
SELECT 's', brisk_file('exists', 'sh_walidx.db-shm'), brisk_file('size', 'sh_walidx.db-shm');
SELECT 'h', hex(brisk_file_data('read', 'sh_walidx.db-shm', 0, 4));
SELECT 'l', brisk_file('list', '.') LIKE '%sh_walidx.db-shm%';
SELECT 'c', brisk_file('copy', 'sh_walidx.db-shm', 'shm.copy'), brisk_file('size', 'shm.copy');")
if grep -qx "s|1|32768" <<<"$out" && grep -qx "h|18E22D00" <<<"$out" && grep -qx "l|1" <<<"$out" &&
	grep -qx "c|1|32768" <<<"$out"; then
	pass "a live WAL index is the <db>-shm file for brisk_file(): exists, size, read, list, copy"
else
	fail "WAL index as <db>-shm: $(tail -c 400 <<<"$out")"
fi

out=$(printf '.load %s\n.open default.db\nCREATE TABLE d(v); INSERT INTO d VALUES (42);\n' "$EXT" |
	BRISK_SQLITE_DEFAULT=1 BRISK_SQLITE_CONFIG=$WORK/brisk.json BRISK_SQLITE_BDEV=aio0 \
	timeout 60 sqlite3 -batch -bail 2>&1)
out2=$(shell default.db "SELECT v FROM d;")
if [ ! -e default.db ] && [ ! -e "$WORK/default.db" ] && grep -qx 42 <<<"$out2"; then
	pass "BRISK_SQLITE_DEFAULT=1: a plain .open puts the database on the store"
else
	fail "default VFS: $out / $out2"
fi

out=$(printf '.load %s\n.open file:x.db?vfs=brisk&brisk_config=%s/none.json&brisk_bdev=aio0\nCREATE TABLE x(v);\n' \
	"$EXT" "$WORK" | timeout 60 sqlite3 -batch -bail 2>&1)
if grep -q "unable to open database" <<<"$out" && grep -q "none.json" <<<"$out"; then
	pass "a missing config is refused with an error naming it"
else
	fail "missing config: $(tail -c 400 <<<"$out")"
fi

[ "$FAILS" -eq 0 ] || { echo "$FAILS check(s) failed"; exit 1; }
echo "all checks passed"
