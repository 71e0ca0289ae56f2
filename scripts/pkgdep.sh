#!/bin/sh
# Installs the Debian packages Brisk needs to build and test.
# Usage: sudo scripts/pkgdep.sh [--fio|--optional]
#   --fio       adds fio and its matching source (scripts/fio_src.sh), for the
#               fio ioengines (build/fio/*.so), their tests and benchmarks
#   --optional  adds every peer used by benchmarks (DPDK, fio and its source)
set -e
if [ "$(id -u)" != 0 ]; then
	echo "pkgdep.sh: run as root (sudo scripts/pkgdep.sh)" >&2
	exit 1
fi
REQUIRED="build-essential pkg-config python3 libnuma-dev libaio-dev uuid-dev libjansson-dev libcunit1-dev procps util-linux qemu-system-x86 busybox-static cpio xz-utils kmod e2fsprogs libiscsi-bin open-iscsi"
# CI's outside tools: clang builds, scan-build (clang-tools), git clang-format
# (clang-format), cppcheck, shellcheck
REQUIRED="$REQUIRED clang clang-tools clang-format cppcheck shellcheck"
# The SQLite VFS (lib/sqlite): SQLite's headers, the shell and Python's module
# its tests drive, and what SQLite's own TCL harness (scripts/sqlite_src.sh)
# is unpacked and built with.
SQLITE_PKGS="libsqlite3-dev sqlite3 tcl8.6-dev zlib1g-dev dpkg-dev"
REQUIRED="$REQUIRED $SQLITE_PKGS"
# strace: cuts the device at the k-th io_submit (test/functional/vfs_crashpoints.py)
REQUIRED="$REQUIRED strace"
# nvme-cli: reservation commands from the kernel host (nvmf_kernel_host.sh)
REQUIRED="$REQUIRED nvme-cli"
# dpkg-dev: dpkg-source unpacks fio's source package
FIO_PKGS="fio dpkg-dev"
OPTIONAL="libdpdk-dev $FIO_PKGS"
pkgs=$REQUIRED
fio_src=n
case "${1:-}" in
--optional) pkgs="$REQUIRED $OPTIONAL"; fio_src=y ;;
--fio) pkgs="$REQUIRED $FIO_PKGS"; fio_src=y ;;
-h|--help) echo "Usage: sudo scripts/pkgdep.sh [--fio|--optional]"; exit 0 ;;
"") ;;
*) echo "pkgdep.sh: unknown option '$1'" >&2; exit 1 ;;
esac
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "pkgdep.sh: all packages present"
else
	echo "pkgdep.sh: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
fi
# The fio engines build against the installed fio's own source (Debian ships
# no headers). Without it they are not built and their tests say "skipped".
if [ "$fio_src" = y ] && ! "$(dirname "$0")/fio_src.sh" >/dev/null; then
	echo "pkgdep.sh: warning: fio's source could not be fetched; the fio engines will not be built" >&2
fi
