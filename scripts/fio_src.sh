#!/bin/sh
# Fetches and configures the fio source that matches the installed fio, for
# building Brisk's fio ioengines (Debian's fio package ships no headers).
#
# Usage: scripts/fio_src.sh [DIR]     (default DIR: /usr/local/src/brisk-fio)
# Prints the configured source folder (DIR/fio-<version>) on its last line.
#
# The source comes from Debian's source package through a private apt
# configuration (its own state, cache and sources list holding one deb-src
# line), so the system's apt setup is left untouched. fio checks only the
# ioengine interface number when it loads an engine, so an engine built
# against another version's headers would load and then misread fio's
# structures: the versions must be equal, and this script refuses otherwise.
set -e
dest=${1:-/usr/local/src/brisk-fio}

if ! command -v fio >/dev/null 2>&1; then
	echo "fio_src.sh: fio is not installed (scripts/pkgdep.sh --optional installs it)" >&2
	exit 1
fi
# "fio-3.33" -> "3.33"
want=$(fio --version | sed 's/^fio-//')
src="$dest/fio-$want"
if [ -f "$src/config-host.h" ] && [ "$(cat "$src/FIO-VERSION-FILE" 2>/dev/null)" = "FIO_VERSION = fio-$want" ]; then
	echo "fio_src.sh: fio $want source already configured"
	echo "$src"
	exit 0
fi
if ! command -v dpkg-source >/dev/null 2>&1; then
	echo "fio_src.sh: dpkg-source is missing (apt-get install dpkg-dev)" >&2
	exit 1
fi

mkdir -p "$dest"
apt_dir=$(mktemp -d "$dest/apt.XXXXXX")
trap 'rm -rf "$apt_dir"' EXIT
mkdir -p "$apt_dir/state/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/etc"
. /etc/os-release
echo "deb-src http://deb.debian.org/debian ${VERSION_CODENAME:-bookworm} main" > "$apt_dir/etc/sources.list"
cat > "$apt_dir/apt.conf" <<CONF
Dir::State "$apt_dir/state";
Dir::Cache "$apt_dir/cache";
Dir::Etc::sourcelist "$apt_dir/etc/sources.list";
Dir::Etc::sourceparts "$apt_dir/etc/none";
CONF
export APT_CONFIG="$apt_dir/apt.conf"
apt-get -q update >&2
pkgver=$(dpkg-query -W -f='${Version}' fio)
(cd "$apt_dir" && apt-get -q source --download-only "fio=$pkgver" >&2)
rm -rf "$src.tmp"
dpkg-source -x "$apt_dir"/fio_*.dsc "$src.tmp" >&2

got=$(sed -n 's/^DEF_VER=fio-//p' "$src.tmp/FIO-VERSION-GEN")
if [ "$got" != "$want" ]; then
	echo "fio_src.sh: the source package is fio $got but the installed fio is $want; refusing" >&2
	rm -rf "$src.tmp"
	exit 1
fi
# config-host.h (and FIO-VERSION-FILE) describe this machine; nothing else is built.
(cd "$src.tmp" && ./configure >&2 && make FIO-VERSION-FILE >&2)
rm -rf "$src"
mv "$src.tmp" "$src"
echo "fio_src.sh: fio $want source configured in $src"
echo "$src"
