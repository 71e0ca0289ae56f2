# Guest side of test/functional/nvme_driver_qemu.sh (busybox ash, sourced
# after test/nvme/qemu/guest/lib.sh): lib/nvme's programs against QEMU's
# controller. Each function leaves every controller unbound.
# shellcheck shell=dash

# nvme_identify on each controller (model, every namespace's block size),
# then nvme_io's checks on every namespace, with driver uio or vfio.
io_checks() { # uio|vfio
	local i=0 b
	while [ -n "$(ctrl_spec $i)" ]; do
		b=$(ctrl_bdf $i)
		check "nvme$i $b: bound to $1" bind "$b" "$1"
		io_checks_ctrl "$1" $i "$b"
		bind "$b" none
		i=$((i + 1))
	done
}

io_checks_ctrl() { # mode index bdf
	local ns=1 spec bs out=/tmp/id$2.log
	run_logged "$out" 60 nvme_identify -r "trtype:PCIe traddr:$3" -s 64
	check "$1 nvme$2: nvme_identify names the model" grep -q "^mn *: QEMU NVMe Ctrl" "$out"
	for spec in $(ctrl_spec "$2" | tr , ' '); do
		bs=${spec%%:*}
		check "$1 nvme$2 ns$ns: nvme_identify shows $bs B sectors" \
			grep -q "sectors of $bs bytes" "$out"
		run_logged /tmp/io.log 300 nvme_io -r "trtype:PCIe traddr:$3" -n $ns -s 64
		check "$1 nvme$2 ns$ns ($bs B): nvme_io PASS" grep -q "^nvme_io: PASS" /tmp/io.log
		ns=$((ns + 1))
	done
}

# Brisk (uio) writes a pattern, the kernel's nvme driver reads it with dd;
# the kernel writes one, Brisk reads it. Every namespace of controller 0.
cross_check() {
	local b ns=1 spec
	b=$(ctrl_bdf 0)
	for spec in $(ctrl_spec 0 | tr , ' '); do
		cross_check_ns "$b" $ns "${spec%%:*}"
		ns=$((ns + 1))
	done
	bind "$b" none
}

# The kernel scans namespaces after binding: slowly on a loaded host.
wait_blockdev() { # bdf nsid
	local i=0 blk
	while [ $i -lt 300 ]; do
		blk=$(ns_blockdev "$1" "$2") && { echo "$blk"; return 0; }
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

cross_check_ns() { # bdf nsid block_size
	local t="trtype:PCIe traddr:$1" blk
	nvme_io --pattern-file /tmp/exp42 -b "$3" --write-pattern 42 --lba 1000 --count 300
	nvme_io --pattern-file /tmp/exp43 -b "$3" --write-pattern 43 --lba 3000 --count 300
	bind "$1" uio
	check "ns$2: Brisk writes pattern 42" run_logged /tmp/w.log 60 \
		nvme_io -r "$t" -n "$2" -s 64 --write-pattern 42 --lba 1000 --count 300
	bind "$1" nvme
	blk=$(wait_blockdev "$1" "$2")
	dd if="$blk" of=/tmp/got42 bs="$3" skip=1000 count=300 2>/dev/null
	check "ns$2 ($3 B, $blk): the kernel reads what Brisk wrote" cmp /tmp/exp42 /tmp/got42
	check "ns$2: the kernel writes pattern 43" \
		dd if=/tmp/exp43 of="$blk" bs="$3" seek=3000 count=300 conv=fsync
	bind "$1" uio
	check "ns$2: Brisk reads what the kernel wrote" run_logged /tmp/v.log 60 \
		nvme_io -r "$t" -n "$2" -s 64 --verify-pattern 43 --lba 3000 --count 300
}

# Surprise removal (default vfio-pci; run_guest.sh --iommu --qmp): nvme_io keeps
# I/O in flight on controller I while the host removes it with QMP
# device_del; every I/O must come back, new ones be refused, nvme_io exit
# and release the device so that the kernel finishes the removal.
removal_check() { # index [uio|vfio]
	local b pid i=0
	b=$(ctrl_bdf "$1")
	check "nvme$1 $b: bound to ${2:-vfio}" bind "$b" "${2:-vfio}"
	nvme_io -r "trtype:PCIe traddr:$b" -s 64 --until-removed 60 >/tmp/rm.log 2>&1 &
	pid=$!
	sleep 3
	qmp "device_del nvme$1"
	while kill -0 $pid 2>/dev/null && [ $i -lt 900 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -9 $pid 2>/dev/null
	cat /tmp/rm.log
	check "nvme$1: removed under I/O, every I/O back, nvme_io exits" grep -q "removal PASS" /tmp/rm.log
	check "nvme$1: gone once nvme_io let go" wait_gone "$b" 15
}
