#!/bin/bash
# Builds the QEMU test guest's initramfs as three concatenated gzip'd cpio
# archives (the kernel unpacks them in order):
#   base   busybox, /init, lib.sh and the kernel modules   cached by content
#   progs  the given programs, every library ldd lists and the loader   cached by content
#   run    /brisk/config, the test script and data files   built each time (small)
# Cached layers live in build/qemu/initramfs/ of this tree, named by a hash of
# what goes into them, so a rebuilt program or an edited init makes a new one.
#
# Usage: mk_initramfs.sh --kdir DIR --kv KV --out FILE --test SCRIPT
#          [--driver uio|vfio|nvme|none] [--hugepages N] [--prog FILE]...
#          [--file FILE]... [--module NAME]... [--env VAR=VALUE]...
set -euo pipefail
shopt -s inherit_errexit
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
LAYERS=$ROOT/build/qemu/initramfs
# The drivers, and the crypto modules the kernel requests by name at run time
# (nvme's t10-pi asks for crc64-rocksoft; crc32c for nvme-tcp and friends).
MODULES="uio_pci_generic vfio_iommu_type1 vfio-pci nvme"
MODULES="$MODULES crc32c_generic crc32c-intel crc64_rocksoft_generic"
KDIR="" KV="" OUT="" TEST="" DRIVER=uio HUGEPAGES=256 PROGS=() FILES=() ENVS=()

die() { echo "mk_initramfs.sh: $*" >&2; exit 1; }

parse_args() {
	while [ $# -gt 0 ]; do
		case "$1" in
		--kdir) KDIR=$2 ;;
		--kv) KV=$2 ;;
		--out) OUT=$2 ;;
		--test) TEST=$2 ;;
		--driver) DRIVER=$2 ;;
		--hugepages) HUGEPAGES=$2 ;;
		--prog) PROGS+=("$2") ;;
		--file) FILES+=("$2") ;;
		--module) MODULES="$MODULES $2" ;;
		--env) ENVS+=("$2") ;;
		*) die "unknown option '$1'" ;;
		esac
		shift 2 || die "option '$1' needs a value"
	done
	[ -n "$KDIR" ] && [ -n "$KV" ] && [ -n "$OUT" ] && [ -n "$TEST" ] ||
		die "--kdir, --kv, --out and --test are required"
	[ -f "$TEST" ] || die "--test: no file '$TEST'"
}

# pack DIR OUT: DIR as a gzip'd newc cpio owned by root, written by rename.
pack() {
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
		gzip -1 >"$2.tmp.$$"
	mv "$2.tmp.$$" "$2"
}

# cached NAME KEY BUILDER: prints the path of layer NAME for KEY, building it
# with BUILDER STAGEDIR when missing.
cached() {
	local out=$LAYERS/$1-$2.cpio.gz
	if [ ! -s "$out" ]; then
		STAGE=$(mktemp -d /tmp/brisk-initramfs.XXXXXX)
		trap 'rm -rf "$STAGE"' EXIT # runs in a $(...) subshell of its own
		"$3" "$STAGE"
		pack "$STAGE" "$out"
		prune "$1"
	fi
	touch "$out"
	echo "$out"
}

prune() { # keep the 6 most recently used layers of a kind
	ls -t "$LAYERS/$1"-*.cpio.gz 2>/dev/null | tail -n +7 | xargs -r rm -f
}

hash_of() { sha256sum | cut -c1-16; }

busybox_bin() {
	local b
	for b in /bin/busybox /usr/bin/busybox; do
		# ldd fails on a static binary
		[ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1 && { echo "$b"; return; }
	done
	die "no static busybox (apt-get install busybox-static)"
}

# `busybox --list` names busybox itself: a link of that name would point at
# itself and the guest panics with "init error -40".
stage_busybox() {
	local a
	mkdir -p "$1/bin" "$1/sbin" "$1/usr/bin" "$1/usr/sbin"
	cp "$(busybox_bin)" "$1/bin/busybox"
	for a in $("$1/bin/busybox" --list); do
		[ "$a" = busybox ] && continue
		ln -s busybox "$1/bin/$a"
	done
	ln -s ../bin/modprobe "$1/sbin/modprobe"
	ln -s ../bin/sh "$1/usr/bin/sh"
}

# Every module the list needs, in the kernel's own paths, with a fresh
# modules.dep/alias so the guest's modprobe resolves dependencies.
stage_modules() {
	local m f rel files="" mdir=$1/lib/modules/$KV
	mkdir -p "$mdir"
	for m in $MODULES; do
		files="$files $(modprobe -d "$KDIR" -S "$KV" --show-depends "$m" |
			awk '$1 == "insmod" {print $2}')" || die "module $m not in $KDIR"
	done
	for f in $(printf '%s\n' $files | sort -u); do
		rel=${f#"$KDIR"/lib/modules/$KV/}
		mkdir -p "$mdir/$(dirname "$rel")"
		case "$f" in
		*.ko.xz) xz -dc "$f" >"$mdir/${rel%.xz}" ;;
		*.ko.zst) zstd -qdc "$f" >"$mdir/${rel%.zst}" ;;
		*) cp "$f" "$mdir/$rel" ;;
		esac
	done
	cp "$KDIR/lib/modules/$KV"/modules.builtin* "$KDIR/lib/modules/$KV/modules.order" "$mdir/"
	depmod -b "$1" "$KV"
}

build_base() {
	mkdir -p "$1"/{proc,sys,dev,tmp,run,var/tmp,root,etc,brisk}
	stage_busybox "$1"
	stage_modules "$1"
	cp "$HERE/guest/init" "$1/init"
	chmod 755 "$1/init"
	cp "$HERE/guest/lib.sh" "$1/brisk/lib.sh"
	echo "root:x:0:0:root:/root:/bin/sh" >"$1/etc/passwd"
	echo "root:x:0:" >"$1/etc/group"
}

base_layer() {
	local key
	key=$( (echo "$KV $MODULES"; sha256sum "$(busybox_bin)" "$HERE/guest/init" \
		"$HERE/guest/lib.sh" "$0" | cut -c1-64) | hash_of)
	cached base "$key" build_base
}

# Libraries as ldd resolves them on this host, under the same paths, and the
# loader under the path the programs name (PT_INTERP).
prog_libs() {
	{ ldd "$@" 2>/dev/null || true; } | awk '/=> \// {print $3} /^[ \t]*\/[^ ]+ \(/ {print $1}' | sort -u
}

build_progs() {
	local p l
	mkdir -p "$1/brisk/bin"
	for p in "${PROGS[@]}"; do
		cp "$p" "$1/brisk/bin/"
	done
	for l in $(prog_libs "${PROGS[@]}"); do
		mkdir -p "$1$(dirname "$l")"
		cp -L "$l" "$1$l"
	done
}

progs_layer() {
	local p key
	for p in "${PROGS[@]}"; do [ -x "$p" ] || die "--prog: '$p' is not an executable"; done
	key=$( (printf '%s\n' "${PROGS[@]##*/}"; cat "${PROGS[@]}" "$0") | hash_of)
	cached progs "$key" build_progs
}

run_layer() { # OUT
	local stage f
	stage=$(mktemp -d /tmp/brisk-initramfs.XXXXXX)
	mkdir -p "$stage/brisk/files"
	{
		printf 'BRISK_DRIVER=%s\nBRISK_HUGEPAGES=%s\n' "$DRIVER" "$HUGEPAGES"
		for f in "${ENVS[@]}"; do printf "export %s='%s'\n" "${f%%=*}" "${f#*=}"; done
	} >"$stage/brisk/config"
	cp "$TEST" "$stage/brisk/test.sh"
	for f in "${FILES[@]}"; do cp "$f" "$stage/brisk/files/"; done
	pack "$stage" "$1"
	rm -rf "$stage"
}

main() {
	parse_args "$@"
	mkdir -p "$LAYERS"
	local base progs=/dev/null
	base=$(base_layer)
	[ ${#PROGS[@]} -gt 0 ] && progs=$(progs_layer)
	run_layer "$OUT.run"
	cat "$base" "$progs" "$OUT.run" >"$OUT"
	rm -f "$OUT.run"
}

main "$@"
