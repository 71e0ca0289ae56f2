#!/bin/bash
# The blobfs command-line tool end to end on an aio file: mkfs, import and
# export (byte-identical, sizes that are not multiples of a page), ls, stat,
# mv over an existing file, rm, check, persistence across runs, a -c config
# with -b, and clear refusals (no blobfs yet, unknown command, missing
# file, bad arguments) that leave the store intact.
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
B=$ROOT/build/bin/blobfs
WORK=$(mktemp -d /tmp/brisk_blobfs_cli.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
FAILS=0
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }
bfs() { BRISK_TEST_NO_HUGE=1 timeout -k 5 30 "$B" -f "$WORK/dev.img" --cache-size 1 "$@"; }

[ -x "$B" ] || { echo "FAIL: $B not built" >&2; exit 1; }
truncate -s 64M "$WORK/dev.img"

out=$(bfs ls 2>&1); rc=$?
[ $rc -ne 0 ] && grep -q "run mkfs" <<<"$out" && pass "ls before mkfs refused: no blobstore" ||
	fail "ls before mkfs: rc=$rc out=$out"
bfs mkfs && pass "mkfs" || fail "mkfs"
[ -z "$(bfs ls)" ] && pass "empty after mkfs" || fail "files after mkfs"

head -c 3000001 /dev/urandom >"$WORK/a.bin"
head -c 777 /dev/urandom >"$WORK/b.bin"
: >"$WORK/empty.bin"
bfs import "$WORK/a.bin" a && bfs import "$WORK/b.bin" b && bfs import "$WORK/empty.bin" e &&
	pass "import three files" || fail "import"
bfs export a "$WORK/a.out" && cmp -s "$WORK/a.bin" "$WORK/a.out" && pass "export a (3000001 B) identical" ||
	fail "export a differs"
bfs export e "$WORK/e.out" && [ ! -s "$WORK/e.out" ] && pass "export of an empty file" || fail "export e"
ls_out=$(bfs ls)
[ "$(wc -l <<<"$ls_out")" = 3 ] && grep -Eq '^ +3000001  a$' <<<"$ls_out" && grep -Eq '^ +777  b$' <<<"$ls_out" &&
	pass "ls lists names and sizes" || fail "ls: $ls_out"
st=$(bfs stat b)
grep -q '^size: 777$' <<<"$st" && grep -q '^blobid: 0x' <<<"$st" && pass "stat" || fail "stat: $st"

# re-import a shorter file over a longer one: the tail must go
head -c 5000 /dev/urandom >"$WORK/a2.bin"
bfs import "$WORK/a2.bin" a && bfs export a "$WORK/a2.out" && cmp -s "$WORK/a2.bin" "$WORK/a2.out" &&
	pass "import over a longer file truncates" || fail "re-import"

bfs mv b a && bfs export a "$WORK/ba.out" && cmp -s "$WORK/b.bin" "$WORK/ba.out" &&
	! bfs stat b >/dev/null 2>&1 && pass "mv replaces the target" || fail "mv"
bfs rm e && ! bfs stat e >/dev/null 2>&1 && pass "rm" || fail "rm"
out=$(bfs rm nope 2>&1); [ $? -ne 0 ] && grep -q "nope" <<<"$out" && pass "rm of a missing file names it" ||
	fail "rm nope: $out"
out=$(bfs check); [ $? -eq 0 ] && grep -q "check: ok" <<<"$out" && pass "check ok" || fail "check: $out"

cat >"$WORK/conf.json" <<JSON
{"subsystems":[{"subsystem":"bdev","config":[{"method":"bdev_aio_create",
 "params":{"name":"Disk0","filename":"$WORK/dev.img","block_size":512}}]}]}
JSON
out=$(BRISK_TEST_NO_HUGE=1 timeout -k 5 30 "$B" -c "$WORK/conf.json" -b Disk0 ls)
grep -Eq '^ +777  a$' <<<"$out" && pass "-c config -b bdev" || fail "-c/-b: $out"
out=$(BRISK_TEST_NO_HUGE=1 timeout -k 5 30 "$B" -c "$WORK/conf.json" -b Nope ls 2>&1)
[ $? -ne 0 ] && grep -q "Nope" <<<"$out" && pass "unknown bdev refused" || fail "bad bdev: $out"

for args in "frob" "stat" "import $WORK/nonexistent x" "export" ; do
	out=$(bfs $args 2>&1); rc=$?
	[ $rc -ne 0 ] && [ -n "$out" ] && pass "refused: $args" || fail "not refused: $args (rc=$rc)"
done
out=$(timeout 10 "$B" ls 2>&1); [ $? -ne 0 ] && grep -q -- "-f FILE" <<<"$out" && pass "no device refused" ||
	fail "no device: $out"
timeout 10 "$B" --help | grep -q "import LOCAL NAME" && pass "--help" || fail "--help"
out=$(bfs check); grep -q "check: ok" <<<"$out" && pass "store intact after the refusals" || fail "check after"

[ $FAILS -eq 0 ] && echo "blobfs_cli: all passed" || echo "blobfs_cli: $FAILS failure(s)"
exit $((FAILS > 0))
