# Guest script (busybox ash, test/nvme/qemu/guest/lib.sh loaded): nvme_perf
# (randread with -L, randrw -M, 128 KiB sequential writes, a missing address
# and a bad -o fail) and bdevperf through bdev_nvme (verify at 4 KiB and
# 64 KiB, unmap, write_zeroes, flush, reset) on controller 0. Run with
#   test/nvme/qemu/run_guest.sh --prog build/bin/nvme_perf --prog build/bin/bdevperf \
#       --ctrl 512:64M test/nvme/bdev_nvme/bdev_nvme_guest.sh
# shellcheck shell=dash
b=$(ctrl_bdf 0)
t=$(trid "$b")
run_logged /tmp/p1 60 nvme_perf -r "$t" -q 16 -o 4096 -w randread -t 2 -c 0x1 -L -s 128 &&
	grep -q "^Total" /tmp/p1 && grep -q "99.00000%" /tmp/p1 && ok "nvme_perf randread -L" || fail "nvme_perf randread"
run_logged /tmp/p2 60 nvme_perf -r "$t" -q 8 -o 8192 -w randrw -M 70 -t 2 -s 128 &&
	ok "nvme_perf randrw -M 70" || fail "nvme_perf randrw"
run_logged /tmp/p3 60 nvme_perf -r "$t" -q 4 -o 131072 -w write -t 1 -s 128 && ok "nvme_perf seq write 128k" || fail "nvme_perf write"
expect_fail "nvme_perf on a missing address" nvme_perf -r "trtype:PCIe traddr:0000:7f:00.0" -q 1 -o 4096 -w read -t 1 -s 64
expect_fail "nvme_perf -o not a sector multiple" nvme_perf -r "$t" -q 1 -o 1000 -w read -t 1 -s 64
cat >/tmp/bdev.json <<JSON
{"subsystems":[{"subsystem":"bdev","config":[
 {"method":"bdev_nvme_set_options","params":{"action_on_timeout":"reset","timeout_us":5000000}},
 {"method":"bdev_nvme_attach_controller","params":{"name":"Nvme0","trtype":"PCIe","traddr":"$b"}}]}]}
JSON
run_logged /tmp/v1 120 bdevperf -c /tmp/bdev.json -s 256 -q 32 -o 4096 -w verify -t 3 &&
	ok "bdevperf verify 4k on Nvme0n1" || fail "bdevperf verify 4k"
run_logged /tmp/v2 120 bdevperf -c /tmp/bdev.json -s 256 -q 8 -o 65536 -w verify -t 2 &&
	ok "bdevperf verify 64k" || fail "bdevperf verify 64k"
for w in unmap write_zeroes flush reset; do
	run_logged /tmp/v3 120 bdevperf -c /tmp/bdev.json -s 256 -q 4 -o 4096 -w $w -t 1 &&
		ok "bdevperf $w" || fail "bdevperf $w"
done
