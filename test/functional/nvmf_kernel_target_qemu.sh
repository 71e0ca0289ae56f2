#!/bin/bash
# Brisk's NVMe/TCP host against the Linux kernel's NVMe/TCP target (nvmet-tcp),
# an implementation written outside this project: one QEMU guest configures
# nvmet through configfs on its 127.0.0.1 over the emulated NVMe disk, and
# runs nvme_discover, nvme_identify, nvme_perf and bdevperf verify (digests
# on; 4 KiB in-capsule and 64 KiB R2T writes) against it (guest side:
# test/nvme/nvmf_kernel_target/guest_nvmet.sh).
# Skips (exit 0) only when QEMU cannot run here at all.
set -u
cd "$(dirname "$0")/../.." || exit 1

if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "nvmf_kernel_target_qemu: qemu-system-x86_64 is not installed (scripts/pkgdep.sh installs it)"
	echo "nvmf_kernel_target_qemu: skipped"
	exit 0
fi
progs=()
for p in nvme_discover nvme_identify nvme_perf bdevperf; do
	[ -x build/bin/$p ] || { echo "FAIL: build/bin/$p is missing (run make)"; exit 1; }
	progs+=(--prog "build/bin/$p")
done
start=$SECONDS
# no_timer_check: see nvme_driver_qemu.sh (a loaded TCG host).
test/nvme/qemu/run_guest.sh --name nvmf_kernel_target --driver nvme --timeout 300 \
	--append " no_timer_check" --module nvmet --module nvmet-tcp "${progs[@]}" \
	--ctrl 512:64M test/nvme/nvmf_kernel_target/guest_nvmet.sh
rc=$?
echo "nvmf_kernel_target_qemu: guest exit $rc in $((SECONDS - start)) s"
[ $rc = 0 ] && echo "ok: Brisk's TCP host against nvmet-tcp" || echo "FAIL: Brisk's TCP host against nvmet-tcp"
exit $rc
