#!/bin/bash
# Fetches the guest kernel for the QEMU NVMe tests: Debian's current
# linux-image package, unpacked (never installed) into a cache shared by every
# tree and helper on the machine, with depmod run on its modules and the ELF
# vmlinux cut out of the bzImage (a direct ELF boot skips SeaBIOS's decompress,
# about 3 s a boot).
#
# Usage: test/nvme/qemu/fetch_kernel.sh
# Prints three shell assignments on stdout, for eval:
#   KV=6.1.0-57-amd64  KDIR=<cache>/kernel-6.1.0-57-amd64  KERNEL=<vmlinux or bzImage>
# Cache: $BRISK_QEMU_CACHE, default /var/tmp/brisk-qemu-cache. Several processes
# use it at once: every change happens under flock on <cache>/.lock, and every
# result appears by rename, so a reader never sees half a file. Nothing here
# ever deletes the cache.
set -euo pipefail
CACHE=${BRISK_QEMU_CACHE:-/var/tmp/brisk-qemu-cache}

die() { echo "fetch_kernel.sh: $*" >&2; exit 1; }

# The package linux-image-amd64 points at today; offline, the newest kernel
# already in the cache will do.
current_package() {
	local p
	p=$(apt-cache depends linux-image-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ {print $2; exit}')
	if [ -z "$p" ] && [ "$(id -u)" = 0 ]; then
		apt-get update -q >&2 || true
		p=$(apt-cache depends linux-image-amd64 2>/dev/null |
			awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ {print $2; exit}')
	fi
	if [ -z "$p" ]; then
		p=$(cd "$CACHE" && ls -d kernel-* 2>/dev/null | sort -V | tail -n1)
		[ -n "$p" ] && p=linux-image-${p#kernel-}
	fi
	[ -n "$p" ] || die "no linux-image package found (apt-cache depends linux-image-amd64)"
	echo "$p"
}

# complete KDIR KV: the unpacked tree, its modules index and the boot image exist.
complete() {
	[ -f "$1/boot/vmlinuz-$2" ] && [ -s "$1/lib/modules/$2/modules.dep" ] &&
		[ -e "$1/.vmlinux-tried" ]
}

unpack() { # package KV KDIR
	local deb tmp
	deb=$(ls "$CACHE/$1"_*.deb 2>/dev/null | sort -V | tail -n1 || true)
	if [ -z "$deb" ]; then
		echo "fetch_kernel.sh: downloading $1" >&2
		tmp=$(mktemp -d "$CACHE/.dl.XXXXXX")
		if ! (cd "$tmp" && timeout 900 apt-get download -q "$1" >&2); then
			rm -rf "$tmp"
			echo "fetch_kernel.sh: apt-get download $1 failed" >&2
			return 1
		fi
		deb=$(ls "$tmp"/*.deb)
		mv "$deb" "$CACHE/" && rmdir "$tmp"
		deb=$CACHE/$(basename "$deb")
	fi
	echo "fetch_kernel.sh: unpacking $(basename "$deb")" >&2
	tmp=$(mktemp -d "$CACHE/.x.XXXXXX")
	dpkg -x "$deb" "$tmp" || { rm -rf "$tmp"; die "dpkg -x $deb failed"; }
	mv -T "$tmp" "$3"
}

# The bzImage carries the kernel as an xz (or gzip/zstd) stream after its
# setup code: find the stream's magic and decompress from there. Trailing
# bytes make the decompressors complain; the ELF magic decides success.
extract_vmlinux() { # bzImage out
	local magic tool off
	for magic in '\xfd7zXZ\x00:xz' '\x1f\x8b\x08\x00:gzip' '\x28\xb5\x2f\xfd:zstd'; do
		tool=${magic##*:}
		command -v "$tool" >/dev/null || continue
		off=$(LC_ALL=C grep -obUaP "${magic%:*}" "$1" | head -n1 | cut -d: -f1 || true)
		[ -n "$off" ] || continue
		tail -c +$((off + 1)) "$1" | "$tool" -dc 2>/dev/null >"$2.tmp" || true
		if [ "$(head -c4 "$2.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
			mv "$2.tmp" "$2"
			return 0
		fi
	done
	rm -f "$2.tmp"
	return 1
}

prepare() { # package KV KDIR
	[ -d "$3" ] || unpack "$@" || return 1
	if [ ! -s "$3/lib/modules/$2/modules.dep" ]; then
		depmod -b "$3" "$2" || die "depmod -b $3 $2 failed"
	fi
	if [ ! -e "$3/.vmlinux-tried" ]; then
		extract_vmlinux "$3/boot/vmlinuz-$2" "$3/vmlinux" ||
			echo "fetch_kernel.sh: no ELF vmlinux in the bzImage; booting the bzImage" >&2
		touch "$3/.vmlinux-tried"
	fi
}

# The newest kernel the cache already holds complete: stale apt lists or no
# network should not stop a machine that has run the tests before.
cached_fallback() {
	local d
	for d in $(cd "$CACHE" && ls -d kernel-* 2>/dev/null | sort -rV); do
		complete "$CACHE/$d" "${d#kernel-}" && { echo "${d#kernel-}"; return 0; }
	done
	return 1
}

main() {
	local pkg kv kdir kernel
	mkdir -p "$CACHE"
	pkg=$(current_package)
	kv=${pkg#linux-image-}
	kdir=$CACHE/kernel-$kv
	if ! complete "$kdir" "$kv"; then
		exec 9>>"$CACHE/.lock"
		flock -w 1200 9 || die "$CACHE/.lock held by another process for 20 minutes"
		if ! complete "$kdir" "$kv" && ! prepare "$pkg" "$kv" "$kdir"; then
			kv=$(cached_fallback) || die "no $pkg and no complete kernel in $CACHE"
			echo "fetch_kernel.sh: using the cached kernel $kv instead" >&2
			kdir=$CACHE/kernel-$kv
		fi
		exec 9>&-
	fi
	kernel=$kdir/vmlinux
	[ -f "$kernel" ] || kernel=$kdir/boot/vmlinuz-$kv
	echo "KV=$kv"
	echo "KDIR=$kdir"
	echo "KERNEL=$kernel"
}

main "$@"
