# Guest side of test/functional/nvme_nsmgmt_qemu.sh (busybox ash, sourced
# after test/nvme/qemu/guest/lib.sh). Controller 0 is in an NVM subsystem
# with namespace 1 attached and namespace 2 (4 KiB blocks, 16 MiB) detached.
# QEMU 7.2 implements Namespace Attachment but not Namespace Management
# (create/delete answer Invalid Opcode): the steps assert exactly that.
# shellcheck shell=dash

NSM_T=""

nsm() { # name steps...: one nvme_nsmgmt run, every step as expected
	local name=$1
	shift
	run_logged /tmp/nsm.log 300 nvme_nsmgmt -r "$NSM_T" -s 64 "$@"
	check "$name" grep -q "^nvme_nsmgmt: PASS" /tmp/nsm.log
}

nsmgmt_checks() { # uio|vfio
	local b
	b=$(ctrl_bdf 0)
	NSM_T=$(trid "$b")
	check "nvme0 $b: bound to $1" bind "$b" "$1"
	run_logged /tmp/id.log 60 nvme_identify -r "$NSM_T" -s 64
	check "$1: nvme_identify lists namespace management as supported" \
		grep -q "^ns_mgmt *: supported" /tmp/id.log
	nsm "$1: ns 2 starts detached; attach, I/O on both, refusals, detach, attach" \
		mgmt=yes list=1 blocks:2=0 io:2=EINVAL \
		attach:2 list=1,2 blocks:2=4096 io:2 io:1 attach:2=EEXIST \
		detach:2 list=1 io:2=EINVAL detach:2=ENOENT \
		attach:9=EINVAL create:1024:0=ENOTSUP delete:2=ENOTSUP attach:2 list=1,2
	nsm "$1: a new bring-up sees ns 2 attached; detach it" list=1,2 io:2 detach:2 list=1
	nsm "$1: a new bring-up sees ns 2 detached; attach it again" list=1 attach:2 list=1,2
	bind "$b" nvme
	check "$1: the kernel's nvme driver finds ns 2 attached" wait_ns "$b" 2
	bind "$b" none
}

wait_ns() { # bdf nsid: the kernel scans namespaces after binding, slowly
	local i=0
	while [ $i -lt 300 ]; do
		ns_blockdev "$1" "$2" >/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
