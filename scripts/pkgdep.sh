#!/bin/sh
# Installs the Debian packages Brisk needs to build and test.
# Usage: sudo scripts/pkgdep.sh [--optional]   (--optional adds peers used by benchmarks)
set -e
if [ "$(id -u)" != 0 ]; then
	echo "pkgdep.sh: run as root (sudo scripts/pkgdep.sh)" >&2
	exit 1
fi
REQUIRED="build-essential pkg-config python3 libnuma-dev libaio-dev uuid-dev libjansson-dev libcunit1-dev procps util-linux qemu-system-x86 busybox-static cpio xz-utils kmod e2fsprogs"
OPTIONAL="libdpdk-dev fio"
pkgs=$REQUIRED
case "${1:-}" in
--optional) pkgs="$REQUIRED $OPTIONAL" ;;
-h|--help) echo "Usage: sudo scripts/pkgdep.sh [--optional]"; exit 0 ;;
"") ;;
*) echo "pkgdep.sh: unknown option '$1'" >&2; exit 1 ;;
esac
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "pkgdep.sh: all packages present"
	exit 0
fi
echo "pkgdep.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
