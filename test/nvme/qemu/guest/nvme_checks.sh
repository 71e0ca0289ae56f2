# Guest-side checks of test/functional/nvme_qemu.sh (busybox ash, sourced
# after lib.sh). Each function is one part the host lists in a boot's script;
# each takes the user-space driver mode (uio|vfio) where it matters and leaves
# every controller unbound when it returns.

# The harness itself: every controller found, bound to each driver in turn,
# with the device nodes and BARs the user-space driver needs, and the kernel's
# driver sees the namespaces run_guest.sh configured.
selftest() {
	local i=0
	while [ -n "$(ctrl_spec $i)" ]; do
		selftest_ctrl $i
		i=$((i + 1))
	done
	check "controller count $i" [ "$(nvme_ctrls | wc -l)" = $i ]
}

selftest_ctrl() { # index
	local b sz grp
	b=$(ctrl_bdf "$1")
	[ -n "$b" ] || { fail "nvme$1: no controller of class 0x010802"; return; }
	check "nvme$1 $b: bound to uio_pci_generic" bind "$b" uio
	check "nvme$1: uio device node" [ -c "/dev/$(ls "/sys/bus/pci/devices/$b/uio")" ]
	sz=$(stat -c %s "/sys/bus/pci/devices/$b/resource0")
	check "nvme$1: sysfs resource0 ($sz bytes)" [ "${sz:-0}" -ge 8192 ]
	if [ "$BRISK_IOMMU" = 1 ]; then
		check "nvme$1: bound to vfio-pci" bind "$b" vfio
		grp=$(vfio_group "$b")
		check "nvme$1: /dev/vfio/$grp" [ -c "/dev/vfio/$grp" ]
	fi
	check "nvme$1: bound to the kernel's nvme driver" bind "$b" nvme
	selftest_namespaces "$1" "$b"
	bind "$b" none
}

# Each namespace the kernel found has the block size and size of --ctrl.
selftest_namespaces() { # index bdf
	local spec ns=1 bs want blk c
	c=$(ls -d "/sys/bus/pci/devices/$2"/nvme/nvme* | head -n1)
	check "nvme$1: serial brisk$1" [ "$(cat "$c/serial" | tr -d ' ')" = "brisk$1" ]
	for spec in $(ctrl_spec "$1" | tr , ' '); do
		bs=${spec%%:*}
		want=$(to_bytes "${spec#*:}")
		blk=$(ns_blockdev "$2" $ns)
		if [ -z "$blk" ]; then
			fail "nvme$1 namespace $ns: no block device"
		else
			check "nvme$1 namespace $ns ($blk): $bs B blocks" \
				[ "$(cat /sys/block/${blk#/dev/}/queue/logical_block_size)" = "$bs" ]
			check "nvme$1 namespace $ns: $want bytes" \
				[ $(($(cat /sys/block/${blk#/dev/}/size) * 512)) = "$want" ]
		fi
		ns=$((ns + 1))
	done
}

# ns_blockdev BDF NSID: the kernel's block device of that namespace.
ns_blockdev() {
	local d
	for d in $(nvme_blkdevs "$1"); do
		[ "$(cat "/sys/block/${d#/dev/}/nsid" 2>/dev/null)" = "$2" ] && { echo "$d"; return 0; }
	done
	return 1
}
