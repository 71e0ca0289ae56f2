#!/bin/bash
# The NVMe bdev module's RPCs against brisk_tgt on a host without NVMe
# devices: attach refuses bad input (trtype, address, unsupported SPDK
# parameters) with a clear error and registers nothing; attaching a PCI
# address where no device is fails cleanly; detach, reset and get of an
# unknown controller fail; bdev_nvme_set_options accepts SPDK's defaults and
# refuses unsupported values by name; save_config of the empty module writes
# set_options and set_hotplug, and a target started from it reproduces them.
# (Real controllers are tested in the QEMU guest: test/functional/nvme_qemu.sh.)
source "$(dirname "$0")/lvol_common.sh" # expect_ok / expect_err / rpcpy on top of app_common.sh

BAD_PCI=0000:ff:1f.7 # no such device on any machine we run on

nvme_bdevs() {
	rpcpy bdev_get_bdevs | python3 -c '
import json, sys
print(" ".join(b["name"] for b in json.load(sys.stdin) if b["product_name"] == "NVMe disk"))'
}

# save_nvme_config: the bdev_nvme_* calls of save_config, one JSON object a line.
save_nvme_config() {
	rpcpy save_config | python3 -c '
import json, sys
for s in json.load(sys.stdin)["subsystems"]:
    for c in (s["config"] or []):
        if c["method"].startswith("bdev_nvme_"):
            print(json.dumps(c, sort_keys=True))'
}

start_tgt --no-huge || finish
rpcpy framework_wait_init >/dev/null 2>&1

# ---- attach: bad input ----
expect_err "attach with trtype rdma" "trtype 'rdma' is not supported" \
	bdev_nvme_attach_controller -b Nvme0 -t rdma -a 10.0.0.1 -s 4420 -n nqn.x
expect_err "attach with an unknown trtype" "trtype 'foo'" bdev_nvme_attach_controller -b Nvme0 -t foo -a x
if rpc bdev_nvme_attach_controller '{"name":"Nvme0","trtype":"pcie"}' >/dev/null 2>"$WORK/err"; then
	fail "attach without traddr succeeded"
elif grep -q "traddr" "$WORK/err"; then
	pass "attach without traddr names traddr ($(cat "$WORK/err"))"
else
	fail "attach without traddr: $(cat "$WORK/err")"
fi
expect_err "attach with an empty traddr" "traddr must not be empty" bdev_nvme_attach_controller -b Nvme0 -t pcie -a ""
expect_err "attach with a malformed PCI address" "not a PCI address" \
	bdev_nvme_attach_controller -b Nvme0 -t pcie -a 00:zz.0
expect_err "attach over TCP without trsvcid" "trsvcid is required" \
	bdev_nvme_attach_controller -b Nvme0 -t tcp -a 127.0.0.1 -n nqn.2016-06.io.spdk:cnode1
expect_err "attach over TCP with a bad adrfam" "adrfam 'ib'" \
	bdev_nvme_attach_controller -b Nvme0 -t tcp -a 127.0.0.1 -s 4420 -f ib -n nqn.2016-06.io.spdk:cnode1
expect_err "attach with an empty name" "name" bdev_nvme_attach_controller -b "" -t pcie -a $BAD_PCI
expect_err "attach with PI checking" "prchk_reftag is not supported" \
	bdev_nvme_attach_controller -b Nvme0 -t pcie -a $BAD_PCI -r
expect_err "attach with an unknown multipath mode" "multipath" \
	bdev_nvme_attach_controller -b Nvme0 -t pcie -a $BAD_PCI -x sideways
expect_err "attach with reconnect settings on PCIe" "ctrlr_loss_timeout_sec applies to fabrics" \
	bdev_nvme_attach_controller -b Nvme0 -t pcie -a $BAD_PCI -l 10 -o 2
if rpc bdev_nvme_attach_controller "{\"name\":\"Nvme0\",\"trtype\":\"pcie\",\"traddr\":\"$BAD_PCI\",\"bogus\":1}" \
	>/dev/null 2>"$WORK/err"; then
	fail "attach with an unknown parameter succeeded"
else
	grep -q "bogus" "$WORK/err" && pass "unknown parameter named ($(cat "$WORK/err"))" ||
		fail "unknown parameter: $(cat "$WORK/err")"
fi

# ---- attach where no device is ----
expect_err "attach of a PCI address with no device" "no NVMe controller|No such device|not found" \
	bdev_nvme_attach_controller -b Nvme0 -t pcie -a $BAD_PCI
[ -z "$(nvme_bdevs)" ] && pass "no NVMe bdev registered" || fail "NVMe bdevs left: $(nvme_bdevs)"
expect_ok "get_controllers" bdev_nvme_get_controllers
[ "$(tr -d ' \n' <"$WORK/out")" = "[]" ] && pass "no controller listed" || fail "controllers: $(cat "$WORK/out")"
expect_err "the name is free again" "no NVMe controller|No such device|not found" \
	bdev_nvme_attach_controller -b Nvme0 -t pcie -a $BAD_PCI

# ---- unknown controllers ----
expect_err "detach of an unknown controller" "No such device" bdev_nvme_detach_controller Nvme7
expect_err "reset of an unknown controller" "No such device" bdev_nvme_reset_controller Nvme7
expect_err "get of an unknown controller" "No such device" bdev_nvme_get_controllers -n Nvme7

# ---- set_options ----
expect_ok "set_options with SPDK's defaults of unsupported values" bdev_nvme_set_options \
	--transport-retry-count 4 --arbitration-burst 0 -l 0
expect_err "set_options transport_retry_count 7" "transport_retry_count" bdev_nvme_set_options --transport-retry-count 7
expect_err "set_options ctrlr_loss_timeout_sec -1" "ctrlr_loss_timeout_sec" bdev_nvme_set_options -l -1
expect_err "set_options generate_uuids" "generate_uuids" bdev_nvme_set_options --generate-uuids
expect_err "set_options bad action" "action_on_timeout 'explode'" bdev_nvme_set_options -a explode
expect_err "set_options adminq period 0" "nvme_adminq_poll_period_us" bdev_nvme_set_options -p 0
expect_ok "set_options applied values" bdev_nvme_set_options -a abort -t 2000000 -k 5000 \
	--bdev-retry-count 2 -s 1024 -p 20000
expect_err "set_hotplug period too long" "period_us" bdev_nvme_set_hotplug -e -r 100000000
expect_ok "set_hotplug enable" bdev_nvme_set_hotplug -e -r 200000
expect_ok "set_hotplug disable" bdev_nvme_set_hotplug -d -r 300000

# ---- save_config of the (empty) module, then load it ----
save_nvme_config >"$WORK/saved1"
grep -q '"method": "bdev_nvme_set_options"' "$WORK/saved1" &&
	grep -q '"action_on_timeout": "abort"' "$WORK/saved1" && grep -q '"timeout_us": 2000000' "$WORK/saved1" &&
	grep -q '"bdev_retry_count": 2' "$WORK/saved1" && grep -q '"io_queue_requests": 1024' "$WORK/saved1" &&
	pass "save_config writes bdev_nvme_set_options with the values set" ||
	fail "save_config set_options: $(cat "$WORK/saved1")"
grep -q '"method": "bdev_nvme_set_hotplug", "params": {"enable": false, "period_us": 300000}' "$WORK/saved1" &&
	pass "save_config writes bdev_nvme_set_hotplug" || fail "save_config hotplug: $(cat "$WORK/saved1")"
grep -q "bdev_nvme_attach_controller" "$WORK/saved1" && fail "save_config lists a controller" ||
	pass "save_config lists no controller"
rpcpy save_config >"$WORK/conf.json"
stop_tgt
start_tgt --no-huge -c "$WORK/conf.json" || finish
rpcpy framework_wait_init >/dev/null 2>&1
save_nvme_config >"$WORK/saved2"
cmp -s "$WORK/saved1" "$WORK/saved2" && pass "a target started from the saved config saves the same" ||
	fail "config round trip differs: $(diff "$WORK/saved1" "$WORK/saved2")"
stop_tgt
finish
