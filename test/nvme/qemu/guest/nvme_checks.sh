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

# The host's QMP plumbing (run_guest.sh --qmp): controller I, a one-namespace
# controller, leaves on device_del and comes back whole on device_add.
selftest_hotplug() { # index
	local b
	b=$(ctrl_bdf "$1")
	qmp "device_del nvme$1"
	check "nvme$1: gone after QMP device_del" wait_gone "$b" 15
	qmp "device_add nvme$1"
	check "nvme$1: back after QMP device_add" wait_present "$b" 15
	check "nvme$1: the returned controller binds to nvme" bind "$b" nvme
	check "nvme$1: its namespace is back" ns_blockdev "$b" 1
	bind "$b" none
}

# pci_probe (lib/env's PCI access) on every controller bound to MODE; under
# vfio also the device-request interrupt when the kernel unbinds the device.
pci_probe_check() { # uio|vfio
	local n rc extra=""
	n=$(nvme_ctrls | wc -l)
	[ "$1" = vfio ] && extra=--unbind-test
	bind_all "$1" || { fail "pci_probe ($1): binding every controller"; return; }
	run_logged /tmp/pci_probe.out 60 pci_probe -s 64 $extra
	rc=$?
	if [ $rc = 0 ] && grep -q "pci_probe: PASS n=$n" /tmp/pci_probe.out; then
		ok "pci_probe ($1$extra): $n controllers claimed, mapped, CAP/VS read"
	else
		fail "pci_probe ($1$extra): exit $rc, no 'pci_probe: PASS n=$n'"
	fi
	bind_all none
}
