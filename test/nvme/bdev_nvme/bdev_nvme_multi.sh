# Guest script (busybox ash, test/nvme/qemu/guest/lib.sh loaded): two
# controllers, the second with a 512 B and a 4 KiB namespace: nvme_perf on all three
# namespaces from two cores, bdevperf verify through bdev_nvme on every
# namespace bdev from two cores. Run with
#   test/nvme/qemu/run_guest.sh --smp 2 --prog build/bin/nvme_perf --prog build/bin/bdevperf \
#       --ctrl 512:64M --ctrl 512:32M,4096:32M test/nvme/bdev_nvme/bdev_nvme_multi.sh
# shellcheck shell=dash
b0=$(ctrl_bdf 0); b1=$(ctrl_bdf 1)
run_logged /tmp/p1 60 nvme_perf -r "$(trid $b0)" -r "$(trid $b1)" -q 8 -o 4096 -w randread -t 2 -c 0x3 -s 256 &&
	[ "$(grep -c 'from core' /tmp/p1)" = 6 ] && ok "nvme_perf: 3 namespaces x 2 cores" || fail "nvme_perf multi"
cat >/tmp/m.json <<JSON
{"subsystems":[{"subsystem":"bdev","config":[
 {"method":"bdev_nvme_attach_controller","params":{"name":"Nvme0","trtype":"PCIe","traddr":"$b0"}},
 {"method":"bdev_nvme_attach_controller","params":{"name":"Nvme1","trtype":"PCIe","traddr":"$b1"}}]}]}
JSON
run_logged /tmp/v 120 bdevperf -c /tmp/m.json -m 0x3 -s 256 -q 16 -o 8192 -w verify -t 4 &&
	grep -q Nvme0n1 /tmp/v && grep -q Nvme1n2 /tmp/v && ok "bdevperf verify on Nvme0n1, Nvme1n1, Nvme1n2 (4 KiB blocks), 2 cores" ||
	fail "bdevperf multi verify"
