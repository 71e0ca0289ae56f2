#!/bin/sh
# Fetches and configures the SQLite source that matches the installed SQLite,
# for SQLite's own test harness (testfixture, the TCL suite) and benchmark
# (speedtest1), which Brisk's SQLite VFS is tested and measured with.
#
# Usage: scripts/sqlite_src.sh [DIR]   (default DIR: /var/tmp/brisk-sqlite)
# Prints the configured source folder (DIR/sqlite3-<version>) on its last
# line; `make -C <it> sqlite3.c` has been run there (the amalgamation the
# harness and speedtest1 are built from).
#
# The source comes from Debian's source package through a private apt
# configuration (its own state, cache and sources list holding one deb-src
# line), so the system's apt setup is left untouched.
set -e
dest=${1:-/var/tmp/brisk-sqlite}

if ! pkgver=$(dpkg-query -W -f='${Version}' libsqlite3-dev 2>/dev/null) || [ -z "$pkgver" ]; then
	echo "sqlite_src.sh: libsqlite3-dev is not installed (scripts/pkgdep.sh installs it)" >&2
	exit 1
fi
# "3.40.1-2+deb12u2" -> "3.40.1"
want=${pkgver%%-*}
src="$dest/sqlite3-$want"
if [ -f "$src/sqlite3.c" ] && [ -f "$src/.brisk-pkgver" ] && [ "$(cat "$src/.brisk-pkgver")" = "$pkgver brisk-hook-1" ]; then
	echo "sqlite_src.sh: sqlite $pkgver source already configured"
	echo "$src"
	exit 0
fi
for tool in dpkg-source tclsh8.6; do
	if ! command -v $tool >/dev/null 2>&1; then
		echo "sqlite_src.sh: $tool is missing (scripts/pkgdep.sh installs dpkg-dev and tcl8.6-dev)" >&2
		exit 1
	fi
done

mkdir -p "$dest"
apt_dir=$(mktemp -d "$dest/apt.XXXXXX")
trap 'rm -rf "$apt_dir"' EXIT
mkdir -p "$apt_dir/state/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/etc"
. /etc/os-release
code=${VERSION_CODENAME:-bookworm}
# deb12uN revisions are published through bookworm-security and the point
# releases; list both so whichever carries the installed version serves.
cat > "$apt_dir/etc/sources.list" <<LIST
deb-src http://deb.debian.org/debian $code main
deb-src http://deb.debian.org/debian $code-updates main
deb-src http://deb.debian.org/debian-security $code-security main
LIST
cat > "$apt_dir/apt.conf" <<CONF
Dir::State "$apt_dir/state";
Dir::Cache "$apt_dir/cache";
Dir::Etc::sourcelist "$apt_dir/etc/sources.list";
Dir::Etc::sourceparts "$apt_dir/etc/none";
CONF
export APT_CONFIG="$apt_dir/apt.conf"
apt-get -q update >&2
(cd "$apt_dir" && apt-get -q source --download-only "sqlite3=$pkgver" >&2)
# Extracted and configured in its final place (its Makefile records the
# path); .brisk-pkgver, written last, marks a finished tree.
rm -rf "$src"
dpkg-source -x "$apt_dir"/sqlite3_*.dsc "$src" >&2

got=$(cat "$src/VERSION")
if [ "$got" != "$want" ]; then
	echo "sqlite_src.sh: the source package is sqlite $got but the installed one is $want; refusing" >&2
	rm -rf "$src"
	exit 1
fi
# A hook at the top of the harness's tester.tcl: with BRISK_SQLITE_TCL set
# (test/functional/sqlite_brisk.tcl) the suite also finds its files on the
# brisk store; without it nothing changes.
hook='if {[info exists ::env(BRISK_SQLITE_TCL)]} { source $::env(BRISK_SQLITE_TCL) }'
{ echo "# Brisk (scripts/sqlite_src.sh): run on the brisk VFS when asked."; echo "$hook"
  cat "$src/test/tester.tcl"; } > "$src/test/tester.tcl.new"
mv "$src/test/tester.tcl.new" "$src/test/tester.tcl"
# Built in place: the harness finds its test/ folder beside testfixture.
(cd "$src" && ./configure --with-tcl=/usr/lib/x86_64-linux-gnu/tcl8.6 \
	--disable-shared >&2 && make -j2 sqlite3.c >&2)
echo "$pkgver brisk-hook-1" > "$src/.brisk-pkgver"
rm -f "$dest"/sqlite3_*.orig*.tar.* # extracted copies dpkg-source leaves beside the tree
echo "sqlite_src.sh: sqlite $pkgver source configured in $src"
echo "$src"
