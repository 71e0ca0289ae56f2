# Guest-side checks of test/functional/nvme_qemu.sh (busybox ash, sourced
# after lib.sh). Each function is one part the host lists in a boot's script;
# each takes the user-space driver mode (uio|vfio) where it matters and leaves
# every controller unbound when it returns.
# shellcheck shell=dash

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
	local n rc extra="" what=$1
	n=$(nvme_ctrls | wc -l)
	[ "$1" = vfio ] && extra=--unbind-test what="vfio --unbind-test"
	bind_all "$1" || { fail "pci_probe ($1): binding every controller"; return; }
	run_logged /tmp/pci_probe.out 60 pci_probe -s 64 $extra
	rc=$?
	if [ $rc = 0 ] && grep -q "pci_probe: PASS n=$n" /tmp/pci_probe.out; then
		ok "pci_probe ($what): $n controllers claimed, mapped, CAP/VS read"
	else
		fail "pci_probe ($what): exit $rc, no 'pci_probe: PASS n=$n'"
	fi
	bind_all none
}

# nvme_perf: mixed random 4 KiB I/O on every namespace of every controller;
# one line per namespace and a total with completed I/O.
nvme_perf_check() { # uio|vfio
	local want rc
	want=$(ns_count)
	bind_all "$1" || { fail "nvme_perf ($1): binding every controller"; return; }
	run_logged /tmp/nvme_perf.out 90 nvme_perf -q 16 -o 4096 -w randrw -M 50 -t 2 -s 128
	rc=$?
	check "nvme_perf ($1): exit 0" [ $rc = 0 ]
	check "nvme_perf ($1): a line for each of $want namespaces" \
		[ "$(grep -c '^PCIE (.*) NSID [0-9]* from core' /tmp/nvme_perf.out)" = "$want" ]
	check "nvme_perf ($1): I/O completed" \
		awk '/^Total/ {sub(/.*:/, ""); found = $1 > 0} END {exit !found}' /tmp/nvme_perf.out
	bind_all none
}

# bdevperf verify through bdev_nvme: a bdev per namespace (Nvme<i>n<ns>), each
# written and read back at queue depth 32 with no failure or miscompare.
bdevperf_verify_check() { # uio|vfio
	local rc res=/tmp/bdevperf.json
	bind_all "$1" || { fail "bdevperf ($1): binding every controller"; return; }
	bdev_nvme_config >/tmp/bdev_nvme.json
	run_logged /tmp/bdevperf.out 120 bdevperf -s 128 -c /tmp/bdev_nvme.json \
		-q 32 -o 4096 -w verify -t 3 --json-output $res
	rc=$?
	check "bdevperf verify ($1): exit 0" [ $rc = 0 ]
	for b in $(ns_bdev_names); do
		check "bdevperf verify ($1): $b ran" grep -q "\"bdev\": \"$b\"" $res
	done
	check "bdevperf verify ($1): I/O completed, none failed or miscompared" bdevperf_total_ok $res
	bind_all none
}

# The "total" object of bdevperf's --json-output: completed > 0, failed and
# miscompares 0 (busybox has no JSON tool; the keys are on lines of their own).
bdevperf_total_ok() {
	sed -n '/"total"/,/}/p' "$1" | awk -F'[:,]' '
		/"io_completed"/ {c = $2} /"io_failed"/ {f = $2} /"miscompares"/ {m = $2}
		END {exit !(c > 0 && f == 0 && m == 0)}'
}

# bdev_nvme_attach_controller for every controller, as bdevperf's -c config.
bdev_nvme_config() {
	local i=0 sep=""
	printf '{"subsystems":[{"subsystem":"bdev","config":['
	while [ -n "$(ctrl_spec $i)" ]; do
		printf '%s{"method":"bdev_nvme_attach_controller","params":' "$sep"
		printf '{"name":"Nvme%d","trtype":"PCIe","traddr":"%s"}}' $i "$(ctrl_bdf $i)"
		sep=,
		i=$((i + 1))
	done
	echo ']}]}'
}

# Nvme<i>n<nsid> for every namespace run_guest.sh configured.
ns_bdev_names() {
	local i=0 n
	while [ -n "$(ctrl_spec $i)" ]; do
		n=$(ctrl_spec $i | tr , '\n' | wc -l)
		seq 1 "$n" | sed "s/^/Nvme${i}n/"
		i=$((i + 1))
	done
}

ns_count() { ns_bdev_names | wc -l; }

# Removal under load: bdevperf verifies every namespace, QMP's device_del takes
# controller I away. Its I/O all completes (with errors), its bdev goes, the
# other controllers' I/O is untouched and bdevperf ends by itself.
hotplug_removal_check() { # uio|vfio index
	local b pid rc res=/tmp/hotplug.json what="removal of nvme$2 ($1)"
	bind_all "$1" || { fail "$what: binding every controller"; return; }
	b=$(ctrl_bdf "$2")
	echo "$b" >"/tmp/nvme$2.bdf" # for hotplug_readd_check
	bdev_nvme_config >/tmp/hotplug_conf.json
	bdevperf -s 128 -c /tmp/hotplug_conf.json -q 32 -o 4096 -w verify -t 8 \
		--json-output $res >/tmp/hotplug.out 2>&1 &
	pid=$!
	if ! wait_for_line /tmp/hotplug.out "IOPS," 60 $pid; then
		bounded_wait $pid 1
		cat /tmp/hotplug.out
		fail "$what: bdevperf never reported I/O"
		return
	fi
	qmp "device_del nvme$2"
	check "$what: gone from the guest" wait_gone "$b" 30
	check "$what: bdevperf still running" kill -0 $pid
	bounded_wait $pid 60
	rc=$?
	cat /tmp/hotplug.out
	check "$what: bdevperf ended by itself with exit 1 (failed I/O)" [ $rc = 1 ]
	check "$what: Nvme$2n1's I/O failed" [ "$(job_field $res Nvme$2n1 io_failed)" -gt 0 ]
	check "$what: Nvme$2n1's I/O all completed" [ "$(job_field $res Nvme$2n1 io_outstanding)" = 0 ]
	check "$what: Nvme$2n1 removed" grep -q "bdev Nvme$2n1 is being removed" /tmp/hotplug.out
	others_clean "$what" "$2" $res
	bind_all none
}

# others_clean WHAT INDEX RESULTS: bdevs of other controllers completed I/O
# with no failure or miscompare.
others_clean() {
	local n
	for n in $(ns_bdev_names | grep -v "^Nvme$2n"); do
		check "$1: $n completed I/O, none failed or miscompared" \
			[ "$(job_field $3 $n io_completed)" -gt 0 -a "$(job_field $3 $n io_failed)" = 0 \
			-a "$(job_field $3 $n miscompares)" = 0 ]
	done
}

# job_field RESULTS BDEV KEY: KEY of BDEV's job in bdevperf's --json-output
# (pretty-printed: a job's own keys share one indentation; nested objects
# such as "first_error" sit deeper, so they are passed over).
job_field() {
	awk -v b="\"bdev\": \"$2\"" -v k="\"$3\":" '
		{ line[NR] = $0 }
		index($0, b) && !at { at = NR; match($0, /^ */); ind = RLENGTH }
		END {
			if (!at) exit
			for (i = at; i > 0 && own(i); i--) pick(i)
			for (i = at; i <= NR && own(i); i++) pick(i)
		}
		function own(i) { match(line[i], /^ */); return RLENGTH >= ind && line[i] !~ /^ *[{]$/ }
		function pick(i,  v) {
			match(line[i], /^ */)
			if (RLENGTH == ind && index(line[i], k)) {
				v = line[i]; sub(/^[^:]*: */, "", v); sub(/,$/, "", v); print v; exit
			}
		}' "$1"
}

# Cross-check with the kernel's nvme driver on every namespace of nvme0:
# Brisk (MODE) writes a pattern the kernel reads back with dd, the kernel
# writes one Brisk reads back, byte for byte. 300 blocks pass MDTS (512 KiB)
# on 4 KiB namespaces, so the driver splits them.
crosscheck() { # uio|vfio
	local b ns=1 spec
	b=$(ctrl_bdf 0)
	for spec in $(ctrl_spec 0 | tr , ' '); do
		crosscheck_ns "$1" "$b" $ns "${spec%%:*}"
		ns=$((ns + 1))
	done
	bind "$b" none
}

crosscheck_ns() { # mode bdf nsid block_size
	local t="trtype:PCIe traddr:$2" blk what="cross-check $1 nvme0 ns$3 ($4 B)"
	if ! nvme_io --pattern-file /tmp/brisk.pat -b "$4" --write-pattern 71 --lba 1000 --count 300 ||
		! nvme_io --pattern-file /tmp/kernel.pat -b "$4" --write-pattern 72 --lba 2000 --count 300; then
		fail "$what: nvme_io --pattern-file"
		return
	fi
	bind "$2" "$1" || { fail "$what: bind to $1"; return; }
	check "$what: Brisk writes LBAs 1000-1299" run_logged /tmp/cc.log 60 \
		nvme_io -r "$t" -n "$3" -s 64 --write-pattern 71 --lba 1000 --count 300
	bind "$2" nvme && blk=$(ns_blockdev "$2" "$3") || { fail "$what: no block device"; return; }
	dd if="$blk" of=/tmp/got bs="$4" skip=1000 count=300 2>/dev/null
	check "$what: the kernel reads Brisk's $(($4 * 300)) bytes ($blk)" cmp /tmp/brisk.pat /tmp/got
	check "$what: the kernel writes LBAs 2000-2299" \
		dd if=/tmp/kernel.pat of="$blk" bs="$4" seek=2000 count=300 conv=fsync
	bind "$2" "$1" || { fail "$what: bind back to $1"; return; }
	check "$what: Brisk reads the kernel's bytes" run_logged /tmp/cc.log 60 \
		nvme_io -r "$t" -n "$3" -s 64 --verify-pattern 72 --lba 2000 --count 300
	expect_fail "$what: Brisk's verify notices another pattern" run_logged /tmp/cc.log 60 \
		nvme_io -r "$t" -n "$3" -s 64 --verify-pattern 73 --lba 2000 --count 300
}

# After hotplug_removal_check: bdevperf runs on nvme0 with bdev_nvme's hotplug
# poller on, QMP's device_add brings controller I back, and once it is bound
# to MODE the poller attaches it (as Nvme<I>, the first free name) while
# nvme0's I/O goes on clean. The config enables the poller at start-up,
# before its attach of nvme0 runs: bdev_nvme hands nvme0 to that attach.
hotplug_readd_check() { # uio|vfio index
	local b pid rc what="hotplug of nvme$2 added back ($1)"
	b=$(cat "/tmp/nvme$2.bdf") || { fail "$what: nvme$2 was not removed first"; return; }
	bind "$(ctrl_bdf 0)" "$1" || { fail "$what: binding nvme0"; return; }
	printf '{"subsystems":[{"subsystem":"bdev","config":[%s,%s]}]}\n' \
		"{\"method\":\"bdev_nvme_attach_controller\",\"params\":{\"name\":\"Nvme0\",\"trtype\":\"PCIe\",\"traddr\":\"$(ctrl_bdf 0)\"}}" \
		'{"method":"bdev_nvme_set_hotplug","params":{"enable":true,"period_us":100000}}' \
		>/tmp/readd_conf.json
	# -t is only a bound: once the poller attached nvme$2 (a guest under load
	# may take many seconds), two more seconds of I/O, then SIGINT ends the run.
	bdevperf -s 128 -c /tmp/readd_conf.json -q 8 -o 4096 -w verify -t 90 >/tmp/readd.out 2>&1 &
	pid=$!
	wait_for_line /tmp/readd.out "IOPS," 60 $pid || fail "$what: bdevperf never reported I/O"
	qmp "device_add nvme$2"
	check "$what: back in the guest" wait_present "$b" 30
	check "$what: bound to $1" bind "$b" "$1"
	check "$what: attached by the hotplug poller" wait_for_line /tmp/readd.out "attached ($b)" 30 $pid
	sleep 2
	kill -INT $pid 2>/dev/null
	bounded_wait $pid 60
	rc=$?
	cat /tmp/readd.out
	check "$what: bdevperf on nvme0 ran clean" [ $rc = 0 ]
	bind_all none
}
