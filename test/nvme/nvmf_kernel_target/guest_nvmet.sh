# shellcheck shell=dash
# Guest side of test/functional/nvmf_kernel_target_qemu.sh (busybox ash,
# lib.sh loaded): the Linux kernel's NVMe/TCP target (nvmet-tcp, set up
# through configfs) exports the QEMU controller's namespace, bound to the
# kernel's nvme driver, on the guest's 127.0.0.1; Brisk's host programs in
# the same guest use it: nvme_discover, nvme_identify, nvme_perf, and
# bdevperf verify through bdev_nvme_attach_controller with digests on.
NQN=nqn.2026-12.io.brisk:kernel-target
PORT=4420
T="trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$PORT"

nvmet_setup() { # block device
	local s=/sys/kernel/config/nvmet/subsystems/$NQN p=/sys/kernel/config/nvmet/ports/1
	modprobe nvmet && modprobe nvmet-tcp || return 1
	mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config || return 1
	mkdir "$s" && echo 1 >"$s/attr_allow_any_host" && mkdir "$s/namespaces/1" &&
		echo -n "$1" >"$s/namespaces/1/device_path" && echo 1 >"$s/namespaces/1/enable" &&
		mkdir "$p" && echo tcp >"$p/addr_trtype" && echo ipv4 >"$p/addr_adrfam" &&
		echo 127.0.0.1 >"$p/addr_traddr" && echo $PORT >"$p/addr_trsvcid" &&
		ln -s "$s" "$p/subsystems/$NQN"
}

ip link set lo up
b=$(ctrl_bdf 0)
check "nvme0 bound to the kernel's nvme driver" bind "$b" nvme
dev=$(ns_blockdev "$b" 1)
check "nvmet-tcp exports $dev as $NQN on 127.0.0.1:$PORT" nvmet_setup "$dev"

run_logged /tmp/disc 60 nvme_discover -r "$T"
cat /tmp/disc
check "nvme_discover lists the kernel's subsystem" grep -q "^subnqn:  $NQN\$" /tmp/disc

run_logged /tmp/id 60 nvme_identify -r "$T subnqn:$NQN"
check "nvme_identify: the kernel target's model (Linux)" grep -q "^mn *: Linux" /tmp/id
check "nvme_identify: its 64 MiB namespace (nsze 0x20000 blocks of 512 B)" grep -q "^nsze *: 0x20000" /tmp/id

run_logged /tmp/perf 60 nvme_perf -r "$T subnqn:$NQN" -q 16 -o 4096 -w randrw -M 50 -t 2 -s 128
cat /tmp/perf
check "nvme_perf randrw 4 KiB against the kernel target" grep -q "^Total" /tmp/perf

cat >/tmp/bdev.json <<JSON
{"subsystems":[{"subsystem":"bdev","config":[
 {"method":"bdev_nvme_attach_controller","params":{"name":"Nvme0","trtype":"tcp","adrfam":"ipv4",
  "traddr":"127.0.0.1","trsvcid":"$PORT","subnqn":"$NQN","hdgst":true,"ddgst":true}}]}]}
JSON
run_logged /tmp/bp 120 bdevperf -c /tmp/bdev.json -s 128 -L nvme -q 16 -o 4096 -w verify -t 3
rc=$?
tail -n 8 /tmp/bp
check "bdevperf verify through bdev_nvme over TCP (exit $rc)" [ $rc = 0 ]
check "digests negotiated with nvmet-tcp" grep -q "qid 1: connected, header digest on, data digest on" /tmp/bp
run_logged /tmp/bp64 120 bdevperf -c /tmp/bdev.json -s 128 -q 8 -o 65536 -w verify -t 2
check "bdevperf verify 64 KiB (R2T) against the kernel target" [ $? = 0 ]
