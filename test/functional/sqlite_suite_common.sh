# shellcheck shell=bash
# Sourced by sqlite_suite.sh and test/long/sqlite_extraquick.sh (not a test
# itself): runs SQLite's own TCL test scripts with the harness built by
# `make sqlite-harness` on SQLite's unix VFS and on the brisk VFS, and
# compares the results. The harness refuses to run as root: it runs as
# nobody. The brisk runs get a fresh store (an aio file) each and the Tcl
# shim test/functional/sqlite_brisk.tcl (through the hook sqlite_src.sh adds).
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
ROOT=$PWD
FAILS=0
WORK=$(mktemp -d /tmp/brisk_sqlite_suite.XXXXXX)
chmod 755 "$WORK"
trap 'rm -rf "$WORK"' EXIT

fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }

# Fetches SQLite's source (cached) and builds the harness; sets SQLITE_SRC, TF.
suite_build() {
	SQLITE_SRC=$(nice scripts/sqlite_src.sh 2>"$WORK/src.log" | tail -1)
	if [ ! -f "$SQLITE_SRC/sqlite3.c" ]; then
		echo "FAIL: scripts/sqlite_src.sh: $(tail -3 "$WORK/src.log")"
		exit 1
	fi
	if ! nice make -s -j2 build/sqlite/testfixture SQLITE_SRC="$SQLITE_SRC" >"$WORK/build.log" 2>&1; then
		echo "FAIL: make build/sqlite/testfixture: $(tail -5 "$WORK/build.log")"
		exit 1
	fi
	TF=$ROOT/build/sqlite/testfixture
}

# as_nobody CMD...: the harness refuses root.
as_nobody() {
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
	else
		"$@"
	fi
}

# suite_run VFS SCRIPT LOG TIMEOUT: runs one test script in a fresh folder
# (and, for brisk, on a fresh store); the output goes to LOG.
suite_run() {
	local vfs=$1 script=$2 log=$3 limit=$4 dir
	dir=$(mktemp -d "$WORK/$vfs.XXXXXX")
	chmod 755 "$dir"
	local -a env=(HOME="$dir")
	if [ "$vfs" = brisk ]; then
		truncate -s 512M "$dir/store.img"
		printf '{"subsystems": [{"subsystem": "bdev", "config": [{"method": "bdev_aio_create", "params": {"name": "aio0", "filename": "%s", "block_size": 4096}}]}]}\n' \
			"$dir/store.img" > "$dir/brisk.json"
		env+=(BRISK_SQLITE_DEFAULT=1 BRISK_SQLITE_CONFIG="$dir/brisk.json"
		      BRISK_SQLITE_BDEV=aio0 BRISK_SQLITE_MEM_MB=128 BRISK_SQLITE_CACHE_MB=16
		      BRISK_SQLITE_TCL="$ROOT/test/functional/sqlite_brisk.tcl")
	fi
	chown -R nobody:nogroup "$dir" 2>/dev/null
	(cd "$dir" && as_nobody env "${env[@]}" timeout -k 10 "$limit" "$TF" "$script") >"$log" 2>&1
	local rc=$?
	rm -rf "$dir"
	return $rc
}

# suite_errors LOG: "<errors> <tests>" from the harness's summary line.
suite_errors() {
	sed -n 's/^\([0-9]*\) errors out of \([0-9]*\) tests.*/\1 \2/p' "$1" | tail -1
}

# suite_failed LOG: the names of the failed tests, one per line, sorted.
suite_failed() {
	sed -n 's/^!Failures on these tests: *//p' "$1" | tr ' ' '\n' | sed '/^$/d' | sort -u
}

# The known brisk-only differences (sqlite_brisk_known.txt): "name reason".
KNOWN=$ROOT/test/functional/sqlite_brisk_known.txt
suite_known() {
	sed -e 's/^#.*//' -e '/^[[:space:]]*$/d' "$KNOWN"
}

# suite_compare UNIX_LOG BRISK_LOG: prints each known difference seen and
# each unexplained one; returns 1 when brisk fails a test unix passes (not
# listed as known) or passes one unix fails.
suite_compare() {
	local u=$1 b=$2 t reason rc=0
	while read -r t; do
		reason=$(suite_known | awk -v t="$t" '$1 == t { $1 = ""; print substr($0, 2); exit }')
		if [ -n "$reason" ]; then
			echo "known difference on brisk: $t ($reason)"
		else
			echo "failing on brisk only: $t"
			rc=1
		fi
	done < <(comm -13 <(suite_failed "$u") <(suite_failed "$b"))
	while read -r t; do
		echo "failing on unix only: $t"
		rc=1
	done < <(comm -23 <(suite_failed "$u") <(suite_failed "$b"))
	return $rc
}
