#!/bin/sh
# Reserves hugepages and mounts hugetlbfs for Brisk.
# Usage: sudo scripts/setup.sh [config|reset|status]
#   config (default)  reserve HUGEMEM MiB of 2 MiB pages (default 2048) and mount
#                     hugetlbfs at HUGEDIR (default /dev/hugepages)
#   reset             unmount what config mounted, release the pages, remove
#                     leftover Brisk hugepage files and /dev/shm files (stop
#                     Brisk processes first: their shared memory goes too)
#   status            show hugepages and mounts
set -e
HUGEMEM=${HUGEMEM:-2048}
HUGEDIR=${HUGEDIR:-/dev/hugepages}
NR=/proc/sys/vm/nr_hugepages
# Remembers the mounts config made, so reset leaves other mounts alone.
MOUNTED=/run/brisk_setup_mounts

status() {
	echo "hugepage size:  $(awk '/Hugepagesize/ {print $2 " " $3}' /proc/meminfo)"
	echo "total / free:   $(awk '/HugePages_Total/ {print $2}' /proc/meminfo) / $(awk '/HugePages_Free/ {print $2}' /proc/meminfo)"
	echo "hugetlbfs mounts:"
	awk '$3 == "hugetlbfs" {print "  " $2 " (" $4 ")"}' /proc/mounts
	if ls "$HUGEDIR"/brisk* >/dev/null 2>&1; then
		echo "Brisk files in $HUGEDIR:"; ls -l "$HUGEDIR"/brisk*
	fi
	if ls /dev/shm/brisk_* >/dev/null 2>&1; then
		echo "Brisk files in /dev/shm (shared memory without hugepages, locks):"
		ls -l /dev/shm/brisk_*
	fi
}

need_root() {
	if [ "$(id -u)" != 0 ]; then echo "setup.sh: $1 needs root" >&2; exit 1; fi
}

case "${1:-config}" in
config)
	need_root config
	pages=$((HUGEMEM / 2))
	echo "$pages" > $NR || { echo "setup.sh: cannot write $NR" >&2; exit 1; }
	got=$(cat $NR)
	echo "setup.sh: reserved $got of $pages 2 MiB hugepages"
	if [ "$got" -lt "$pages" ]; then
		echo "setup.sh: warning: the kernel gave fewer pages than asked (memory fragmented?)" >&2
	fi
	if ! awk -v d="$HUGEDIR" '$2 == d && $3 == "hugetlbfs" {f=1} END {exit !f}' /proc/mounts; then
		mkdir -p "$HUGEDIR"
		mount -t hugetlbfs nodev "$HUGEDIR"
		echo "$HUGEDIR" >>"$MOUNTED"
		echo "setup.sh: mounted hugetlbfs at $HUGEDIR"
	fi
	;;
reset)
	need_root reset
	rm -f "$HUGEDIR"/brisk* /dev/shm/brisk_* 2>/dev/null || true
	if grep -qxF "$HUGEDIR" "$MOUNTED" 2>/dev/null &&
		awk -v d="$HUGEDIR" '$2 == d && $3 == "hugetlbfs" {f=1} END {exit !f}' /proc/mounts; then
		umount "$HUGEDIR" && echo "setup.sh: unmounted $HUGEDIR" || true
		grep -vxF "$HUGEDIR" "$MOUNTED" >"$MOUNTED.new" || true
		mv "$MOUNTED.new" "$MOUNTED"
	elif awk -v d="$HUGEDIR" '$2 == d && $3 == "hugetlbfs" {f=1} END {exit !f}' /proc/mounts; then
		echo "setup.sh: $HUGEDIR was mounted before setup.sh config: left mounted"
	fi
	echo 0 > $NR
	echo "setup.sh: released hugepages"
	;;
status) status ;;
-h|--help|help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' ;;
*) echo "setup.sh: unknown command '$1' (config, reset, status)" >&2; exit 1 ;;
esac
