# Guest script (busybox ash, test/nvme/qemu/guest/lib.sh loaded): surprise
# removal (QMP device_del) of controller 0 while bdevperf reads from it and
# from a malloc bdev: the NVMe I/O fails, the bdev goes, bdevperf keeps
# running; then brisk_tgt with bdev_nvme_set_hotplug: the removal detaches
# the controller at once, device_add + rebinding attaches it again as Nvme0,
# and brisk_tgt exits 0 on SIGTERM. Run with
#   test/nvme/qemu/run_guest.sh --qmp --prog build/bin/bdevperf --prog build/bin/brisk_tgt \
#       --ctrl 512:64M test/nvme/bdev_nvme/bdev_nvme_hotplug.sh
# shellcheck shell=dash
b=$(ctrl_bdf 0)
cat >/tmp/hp.json <<JSON
{"subsystems":[{"subsystem":"bdev","config":[
 {"method":"bdev_nvme_attach_controller","params":{"name":"Nvme0","trtype":"PCIe","traddr":"$b"}},
 {"method":"bdev_malloc_create","params":{"name":"Malloc0","num_blocks":16384,"block_size":512}},
 {"method":"bdev_nvme_set_hotplug","params":{"enable":true,"period_us":200000}}]}]}
JSON
timeout 60 bdevperf -c /tmp/hp.json -s 256 -q 16 -o 4096 -w randread -t 12 --drain-timeout 5 >/tmp/bp.log 2>&1 &
pid=$!
# Not a fixed sleep: on a loaded host start-up takes seconds.
check "bdevperf runs I/O before the removal" wait_for_line /tmp/bp.log "IOPS," 60 $pid
qmp "device_del nvme0"
check "device gone after device_del" wait_gone "$b" 15
sleep 2
kill -0 $pid && ok "bdevperf still running (Malloc0 job) after the removal" || fail "bdevperf died at the removal"
qmp "device_add nvme0"
check "device back after device_add" wait_present "$b" 15
check "rebound to uio_pci_generic" bind "$b" uio
sleep 3
wait $pid
rc=$?
cat /tmp/bp.log
{ [ $rc -eq 0 ] || [ $rc -eq 1 ]; } && ok "bdevperf exited normally (rc $rc)" || fail "bdevperf rc $rc"
grep -q "failing its I/O and removing its bdevs" /tmp/bp.log && ok "removal noticed" || fail "removal not noticed"
grep -q "controller Nvme0 detached" /tmp/bp.log && ok "controller detached cleanly" || fail "no detach"

# brisk_tgt holds no descriptor: removal detaches at once, hotplug re-attaches.
cat >/tmp/tgt.json <<JSON
{"subsystems":[{"subsystem":"bdev","config":[
 {"method":"bdev_nvme_attach_controller","params":{"name":"Nvme0","trtype":"PCIe","traddr":"$b"}},
 {"method":"bdev_nvme_set_hotplug","params":{"enable":true,"period_us":200000}}]}]}
JSON
brisk_tgt -c /tmp/tgt.json -s 128 -r /tmp/tgt.sock >/tmp/tgt.log 2>&1 &
tp=$!
check "brisk_tgt attached Nvme0" wait_for_line /tmp/tgt.log "controller Nvme0 attached" 60 $tp
qmp "device_del nvme0"
check "device gone again" wait_gone "$b" 15
sleep 1
grep -q "controller Nvme0 detached" /tmp/tgt.log && ok "brisk_tgt: controller detached on removal" || fail "brisk_tgt: no detach"
kill -0 $tp && ok "brisk_tgt still running" || fail "brisk_tgt died"
qmp "device_add nvme0"
check "device back again" wait_present "$b" 15
check "rebound to uio_pci_generic again" bind "$b" uio
i=0 # the poller (200 ms) attaches it: up to 30 s on a loaded host
while [ "$(grep -c 'controller Nvme0 attached' /tmp/tgt.log)" -lt 2 ] && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ "$(grep -c 'controller Nvme0 attached' /tmp/tgt.log)" -ge 2 ] && ok "hotplug attached the device again" || fail "hotplug did not re-attach"
kill -TERM $tp
wait $tp
rc=$?
cat /tmp/tgt.log
[ $rc -eq 0 ] && ok "brisk_tgt exited 0" || fail "brisk_tgt rc $rc"
