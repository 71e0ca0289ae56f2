#!/bin/bash
# blobcli end to end on an aio file bdev: init; thick and thin blobs; xattrs;
# import of random bytes and export back (cmp equal); resize; read-only and
# clone; list shows all of it; delete; check passes and dump decodes the
# pages. Then damaged copies of the file: a head page overwritten with random
# bytes, one with a flipped byte (bad CRC), both super block copies spoilt:
# check and load report the problem, dump goes on, nothing dies of a signal.
# Bad command lines each give a clear error. Last, build/examples/hello_blob
# runs and exits 0.
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
BLOBCLI=$ROOT/build/bin/blobcli
HELLO=$ROOT/build/examples/hello_blob
# Memory of each run (hello_blob's malloc bdev needs more); without hugepages
# BLOBCLI_MEM="--no-huge -s 64" HELLO_MEM="--no-huge -s 128".
read -r -a MEM <<<"${BLOBCLI_MEM:--s 64}"
read -r -a HMEM <<<"${HELLO_MEM:--s 128}"
WORK=$(mktemp -d /tmp/brisk_blobcli_test.XXXXXX)
FAILS=0
RC=0

cleanup() {
	rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	FAILS=$((FAILS + 1))
}

pass() {
	echo "ok: $*"
}

finish() {
	if [ "$FAILS" -ne 0 ]; then
		echo "$FAILS check(s) failed"
		exit 1
	fi
	echo "all checks passed"
	exit 0
}

for p in "$BLOBCLI" "$HELLO"; do
	[ -x "$p" ] || { echo "FAIL: $p is not built" >&2; exit 1; }
done

# aio_config CONF IMG: a config with one aio bdev Aio0 (512-byte blocks) on IMG.
aio_config() {
	cat >"$1" <<JSON
{"subsystems":[{"subsystem":"bdev","config":[
 {"method":"bdev_aio_create","params":{"name":"Aio0","filename":"$2","block_size":512}}]}]}
JSON
}

# run NAME ARGS...: blobcli ARGS (bounded to 60 s); stdout in $WORK/NAME.out,
# stderr in $WORK/NAME.err, exit status in RC. A sanitizer report fails the test.
run() {
	local name=$1; shift
	timeout -k 5 60 "$BLOBCLI" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
	RC=$?
	if grep -Eq "runtime error|AddressSanitizer|LeakSanitizer" "$WORK/$name.err"; then
		fail "$name: sanitizer report: $(grep -Em2 'runtime error|Sanitizer' "$WORK/$name.err")"
	fi
}

show() { # NAME: the end of both outputs, for a failure
	tail -n 8 "$WORK/$1.out" "$WORK/$1.err" | sed 's/^/    | /' >&2
}

# ok NAME ARGS...: blobcli must exit 0.
ok() {
	local name=$1; shift
	run "$name" "$@"
	if [ "$RC" -eq 0 ]; then
		pass "$name"
	else
		fail "$name: blobcli $* exited $RC"
		show "$name"
	fi
}

# bad NAME WANT_RC PATTERN ARGS...: blobcli must exit WANT_RC (1 or 2, never a
# signal or a timeout) and say PATTERN on stdout or stderr.
bad() {
	local name=$1 want=$2 pat=$3; shift 3
	run "$name" "$@"
	if [ "$RC" -ne "$want" ]; then
		fail "$name: blobcli $* exited $RC, want $want"
		show "$name"
	elif ! grep -Eqi -- "$pat" "$WORK/$name.out" "$WORK/$name.err"; then
		fail "$name: output does not match '$pat'"
		show "$name"
	else
		# The program's own line first: the library's log may match too.
		pass "$name ($( (grep -Ehi -- "^blobcli: .*$pat" "$WORK/$name.out" "$WORK/$name.err"
			grep -Ehi -- "$pat" "$WORK/$name.out" "$WORK/$name.err") | head -1))"
	fi
}

# has NAME PATTERN DESC: the stdout of run NAME matches PATTERN.
has() {
	if grep -Eq -- "$2" "$WORK/$1.out"; then
		pass "$3"
	else
		fail "$3: '$2' not in the output of $1"
		show "$1"
	fi
}

# row NAME ID: the list row of blob ID in the output of run NAME.
row() {
	awk -v id="$2" '$1 == id' "$WORK/$1.out"
}

# created NAME: the id of the blob a create/clone run printed.
created() {
	awk '/^blob 0x[0-9a-f]+ created/ {print $2; exit}' "$WORK/$1.out"
}

# newest_head DUMP ID: the device page of the newest head slot of blob ID.
newest_head() {
	awk -v id="blob id $2:" '
		$0 == id {f = 1; next}
		/^blob id / {f = 0}
		f && /^  slot .*newest/ {match($0, /device page [0-9]+/); print substr($0, RSTART + 12, RLENGTH - 12); exit}
	' "$WORK/$1.out"
}

IMG=$WORK/disk.img
CONF=$WORK/aio.json
truncate -s 64M "$IMG"
aio_config "$CONF" "$IMG"
B=(-c "$CONF" -b Aio0 "${MEM[@]}")

# ---- Help ----
ok help --help
for cmd in init stats list create clone delete resize set-read-only set-xattr get-xattr \
	remove-xattr import export dump check; do
	grep -q "^  $cmd" "$WORK/help.out" || fail "--help does not document command $cmd"
done
for opt in -b -j --thin --cluster-size --md-pages --bytes --recover --config --no-huge --mem-size; do
	grep -q -- "$opt" "$WORK/help.out" || fail "--help does not document option $opt"
done

# ---- A store with blobs ----
bad load_before_init 1 "no blobstore on the bdev" list "${B[@]}"
ok init init "${B[@]}"
has init "clusters: +64 " "init: 64 clusters of 1 MiB"
ok stats_empty stats "${B[@]}"
has stats_empty "blobs: +0 of" "stats: no blob yet"

ok create_thick create 4 "${B[@]}"
THICK=$(created create_thick)
ok create_thin create 8 --thin "${B[@]}"
THIN=$(created create_thin)
ok create_victim create 3 "${B[@]}"
VICTIM=$(created create_victim)
ok create_shrink create 5 "${B[@]}"
SHRINK=$(created create_shrink)
ok create_gone create 2 "${B[@]}"
GONE=$(created create_gone)
ok create_crc create 1 "${B[@]}"
CRCB=$(created create_crc)
[ -n "$THICK" ] && [ -n "$THIN" ] && [ -n "$VICTIM" ] && [ -n "$SHRINK" ] && [ -n "$GONE" ] &&
	[ -n "$CRCB" ] ||
	{ fail "create did not print the new ids"; finish; }
pass "blob ids: thick $THICK, thin $THIN, victim $VICTIM, shrink $SHRINK, deleted $GONE, crc $CRCB"

ok set_xattr set-xattr "$THICK" owner "brisk test" "${B[@]}"
ok set_xattr2 set-xattr "$THIN" color blue "${B[@]}"
ok get_xattr get-xattr "$THICK" owner "${B[@]}"
[ "$(cat "$WORK/get_xattr.out")" = "brisk test" ] && pass "get-xattr returns the value" ||
	fail "get-xattr printed '$(cat "$WORK/get_xattr.out")'"
ok set_xattr_tmp set-xattr "$THIN" tmp x "${B[@]}"
ok remove_xattr remove-xattr "$THIN" tmp "${B[@]}"
bad get_removed 1 "has no xattr 'tmp'" get-xattr "$THIN" tmp "${B[@]}"

# 5 MiB + 1234 bytes of random data: not a whole number of clusters or io units.
SIZE=$((5 * 1048576 + 1234))
head -c "$SIZE" /dev/urandom >"$WORK/rand.bin"
ok import_thin import "$THIN" "$WORK/rand.bin" "${B[@]}"
ok export_thin export "$THIN" "$WORK/thin.out" --bytes "$SIZE" "${B[@]}"
cmp -s "$WORK/rand.bin" "$WORK/thin.out" && pass "thin blob: export gives back the imported bytes" ||
	fail "thin blob: exported bytes differ from the imported file"
ok export_whole export "$THIN" "$WORK/whole.out" "${B[@]}"
[ "$(stat -c %s "$WORK/whole.out")" -eq $((8 * 1048576)) ] &&
	cmp -s -n "$SIZE" "$WORK/rand.bin" "$WORK/whole.out" &&
	[ "$(tail -c +$((SIZE + 1)) "$WORK/whole.out" | tr -d '\0' | wc -c)" -eq 0 ] &&
	pass "whole export: 8 MiB, the file then zeroes" || fail "whole export is wrong"
# Into a thick blob of 4 clusters: it grows to 6 to hold the file.
ok import_thick import "$THICK" "$WORK/rand.bin" "${B[@]}"
has import_thick "grown to 6 cluster" "import grows the thick blob to 6 clusters"
ok export_thick export "$THICK" "$WORK/thick.out" --bytes "$SIZE" "${B[@]}"
cmp -s "$WORK/rand.bin" "$WORK/thick.out" && pass "thick blob: export gives back the imported bytes" ||
	fail "thick blob: exported bytes differ"
bad export_too_much 1 "fewer than --bytes" export "$THIN" "$WORK/x.out" --bytes 9m "${B[@]}"

ok resize_grow resize "$THIN" 12 "${B[@]}"
ok resize_shrink resize "$SHRINK" 2 "${B[@]}"
ok read_only set-read-only "$THICK" "${B[@]}"
ok clone clone "$THICK" "${B[@]}"
CLONE=$(created clone)
bad import_read_only 1 "read-only" import "$THICK" "$WORK/rand.bin" "${B[@]}"
bad clone_writable 1 "not read-only" clone "$THIN" "${B[@]}"

ok delete delete "$GONE" "${B[@]}"
bad delete_again 1 "blob $GONE does not exist" delete "$GONE" "${B[@]}"

ok list list "${B[@]}"
# Columns: ID CLUSTERS ALLOCATED IO_UNITS FLAGS PARENT (io units of 512 bytes).
check_row() { # ID WANT DESC
	local got
	got=$(row list "$1" | awk '{print $2, $3, $4, $5, $6}')
	[ "$got" = "$2" ] && pass "list: $3 ($got)" || fail "list: $3: got '$got', want '$2'"
}
check_row "$THICK" "6 6 12288 thick,read-only,snapshot -" "thick blob, grown, read-only, a snapshot"
check_row "$THIN" "12 6 24576 thin -" "thin blob: 12 clusters, 6 written"
check_row "$VICTIM" "3 3 6144 thick -" "thick blob"
check_row "$SHRINK" "2 2 4096 thick -" "shrunk thick blob"
check_row "$CLONE" "6 0 12288 thin,clone $THICK" "clone names its parent"
[ -z "$(row list "$GONE")" ] && pass "list: deleted blob is gone" || fail "list still shows $GONE"
has list '^    xattr owner = "brisk test"' "list shows the xattr of the thick blob"
has list '^    xattr color = "blue"' "list shows the xattr of the thin blob"
has list '^6 blob\(s\)' "list counts 6 blobs"
ok stats stats "${B[@]}"
has stats "blobs: +6 of" "stats: 6 blobs"

ok check check "${B[@]}"
has check "the store is consistent" "check passes on the good store"
ok check_flag --check "${B[@]}"
ok dump dump "${B[@]}"
has dump "^Super block copy A \(page 0\): valid" "dump: super block copy A valid"
has dump "^Super block copy B \(page 1\): valid" "dump: super block copy B valid"
has dump "XATTR owner = \"brisk test\"" "dump decodes the xattr descriptor"
has dump "EXTENT_RUN clusters 0\.\.5 -> device clusters" "dump decodes extent runs"
has dump "BLOB clusters 6 parent $THICK flags 0x1 thin" "dump decodes the clone's BLOB descriptor"
has dump " 0 damaged page" "dump: no damaged page in the good store"

# ---- Damaged copies ----
VPAGE=$(newest_head dump "$VICTIM")
CPAGE=$(newest_head dump "$CRCB")
[ -n "$VPAGE" ] && [ -n "$CPAGE" ] || { fail "dump does not show the head pages of $VICTIM and $CRCB"; finish; }
BAD=$WORK/bad.img
BADCONF=$WORK/bad.json
cp "$IMG" "$BAD"
aio_config "$BADCONF" "$BAD"
BB=(-c "$BADCONF" -b Aio0 "${MEM[@]}")
# Random bytes over the head of $VICTIM and one flipped byte in the BLOB descriptor
# of $CRCB's head: each blob was only created, so that head is its only version.
dd if=/dev/urandom of="$BAD" bs=4096 seek="$VPAGE" count=1 conv=notrunc status=none
python3 - "$BAD" $((CPAGE * 4096 + 52)) <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 0x40]))
PY
echo "damaged: random bytes over device page $VPAGE (blob $VICTIM), a flipped byte in page $CPAGE (blob $CRCB)"
bad check_damaged 1 "problem: blob $CRCB is missing: marked in use but has no valid metadata" check "${BB[@]}"
has check_damaged "problem: blob $VICTIM is missing: marked in use but has no valid metadata" "check names the other damaged blob"
has check_damaged "problem: 4 cluster\(s\) marked used belong to no readable blob: held" "check finds the 4 clusters held for the missing blobs"
has check_damaged "check: [0-9]+ problem\(s\) found" "check counts the problems"
cp "$BAD" "$WORK/bad.orig"
ok dump_damaged dump "${BB[@]}"
has dump_damaged "slot [01] \(device page $VPAGE\): not a metadata page" "dump: random head page is 'not a metadata page'"
has dump_damaged "slot [01] \(device page $CPAGE\): bad CRC" "dump: flipped byte is 'bad CRC'"
has dump_damaged "^Summary: .* 2 damaged page" "dump goes on and counts 2 damaged pages"
cmp -s "$BAD" "$WORK/bad.orig" && pass "dump wrote nothing" || fail "dump changed the device"
ok list_damaged list "${BB[@]}"
[ -z "$(row list_damaged "$VICTIM")" ] && [ -n "$(row list_damaged "$THIN")" ] &&
	pass "list skips the damaged blobs and shows the others" || fail "list on the damaged store"
bad open_damaged 1 "blob $VICTIM does not exist" get-xattr "$VICTIM" x "${BB[@]}"
ok export_intact export "$THIN" "$WORK/bad_thin.out" --bytes "$SIZE" "${BB[@]}"
cmp -s "$WORK/rand.bin" "$WORK/bad_thin.out" && pass "an intact blob of the damaged store still reads back" ||
	fail "intact blob of the damaged store reads differently"

# Both super block copies spoilt: nothing loads, dump says why.
NOSB=$WORK/nosb.img
cp "$IMG" "$NOSB"
aio_config "$WORK/nosb.json" "$NOSB"
dd if=/dev/urandom of="$NOSB" bs=4096 seek=0 count=1 conv=notrunc status=none
python3 - "$NOSB" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(4096 + 20); b = f.read(1); f.seek(4096 + 20); f.write(bytes([b[0] ^ 1]))
PY
bad load_nosb 1 "cannot load a blobstore from bdev 'Aio0': no blobstore" check -c "$WORK/nosb.json" -b Aio0 "${MEM[@]}"
bad dump_nosb 1 "found no store" dump -c "$WORK/nosb.json" -b Aio0 "${MEM[@]}"
has dump_nosb "^Super block copy A \(page 0\): not a super block" "dump: copy A is not a super block"
has dump_nosb "^Super block copy B \(page 1\): bad CRC" "dump: copy B has a bad CRC"

# The good store is untouched by all of this.
ok check_again check "${B[@]}"

# ---- A blob whose newest head is damaged on a clean store (issue 12) ----
# Import twice, flip one byte of the newest head: the blob must not read back
# its older version as if nothing happened.
RB=$WORK/rb.img
truncate -s 64M "$RB"
aio_config "$WORK/rb.json" "$RB"
R=(-c "$WORK/rb.json" -b Aio0 "${MEM[@]}")
ok rb_init init "${R[@]}"
ok rb_create create 8 --thin "${R[@]}"
RBID=$(created rb_create)
head -c $((3 * 1048576)) /dev/urandom >"$WORK/first.bin"
head -c $((6 * 1048576)) /dev/urandom >"$WORK/second.bin"
ok rb_import1 import "$RBID" "$WORK/first.bin" "${R[@]}"
ok rb_import2 import "$RBID" "$WORK/second.bin" "${R[@]}"
ok rb_dump dump "${R[@]}"
RPAGE=$(newest_head rb_dump "$RBID")
[ -n "$RPAGE" ] || { fail "dump does not show the newest head of $RBID"; finish; }
python3 - "$RB" $((RPAGE * 4096 + 300)) <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 0x10]))
PY
run rb_export export "$RBID" "$WORK/rb.out" --bytes $((6 * 1048576)) "${R[@]}"
grep -q "blob $RBID is degraded" "$WORK/rb_export.err" && pass "export warns that the blob is degraded" ||
	{ fail "export of the rolled-back blob gave no warning (exit $RC)"; show rb_export; }
grep -q "blob $RBID has damaged metadata: head slot [01] holds a damaged page" "$WORK/rb_export.err" &&
	pass "the load names the blob and the damaged head" || { fail "no load error naming blob $RBID"; show rb_export; }
bad rb_write 1 "read-only|degraded" import "$RBID" "$WORK/first.bin" "${R[@]}"
bad rb_check 1 "problem: blob $RBID has damaged metadata" check "${R[@]}"
if grep -q "(leaked)" "$WORK/rb_check.out"; then fail "check calls the lost version's storage a leak"; else
	pass "check reports damage, not a leak"; fi
ok rb_recover export "$RBID" "$WORK/rb2.out" --recover "${R[@]}"
grep -q "degraded" "$WORK/rb_recover.err" && fail "--recover still reports the blob degraded" ||
	pass "--recover accepts the version found"
ok rb_check_after check "${R[@]}"
has rb_check_after "the store is consistent" "after --recover the store is consistent"
bad recover_on_init 2 "--recover only applies" init --recover "${R[@]}"

# ---- Bad command lines ----
bad no_command 2 "no command given" 
bad unknown_command 2 "unknown command 'frobnicate'" frobnicate "${B[@]}"
bad options_first 2 "the command comes first" -c "$CONF" -b Aio0 list
bad unknown_option 2 "unknown option '--bogus'" list --bogus "${B[@]}"
bad missing_bdev 2 "no bdev given" list -c "$CONF" "${MEM[@]}"
bad no_such_bdev 1 "bdev 'Nope' \(-b\) does not exist" list -c "$CONF" -b Nope "${MEM[@]}"
bad missing_config 2 "no config given" list -b Aio0 "${MEM[@]}"
bad missing_arg 2 "delete needs <blobid>" delete "${B[@]}"
bad bad_blobid 2 "'abc' is not a blob id" delete abc "${B[@]}"
bad bad_clusters 2 "'lots' is not a cluster count" create lots "${B[@]}"
bad no_such_blob 1 "blob 0x77 does not exist" get-xattr 0x77 owner "${B[@]}"
bad no_such_blob_resize 1 "blob 0x9 does not exist" resize 9 1 "${B[@]}"
bad import_missing 1 "cannot open '$WORK/missing.bin'" import "$THIN" "$WORK/missing.bin" "${B[@]}"
bad thin_not_create 2 "--thin only applies to create" list --thin "${B[@]}"
bad extra_arg 2 "unexpected argument 'extra'" check extra "${B[@]}"
bad bad_cluster_size 2 "--cluster-size" init --cluster-size 1000 "${B[@]}"

# ---- The example program ----
timeout -k 5 60 "$HELLO" "${HMEM[@]}" >"$WORK/hello.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q "read back .* they match" "$WORK/hello.out" &&
	grep -q "everything worked" "$WORK/hello.out"; then
	pass "hello_blob exits 0 after writing and reading back its pattern"
else
	fail "hello_blob exited $rc"
	tail -n 10 "$WORK/hello.out" >&2
fi
grep -Eq "runtime error|AddressSanitizer|LeakSanitizer" "$WORK/hello.out" && fail "hello_blob: sanitizer report"

finish
