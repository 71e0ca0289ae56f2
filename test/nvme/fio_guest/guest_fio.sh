# Guest side of test/functional/fio_nvme_qemu.sh (busybox ash, sourced after
# test/nvme/qemu/guest/lib.sh): fio with the brisk_nvme engine on QEMU's
# controller through uio_pci_generic. fio and the engine are in /brisk/bin.
# shellcheck shell=dash

ENGINE=/brisk/bin/brisk_nvme.so

# fio_nvme NAME ARGS...: fio with the engine on the given filename, output kept.
fio_nvme() {
	local name=$1
	shift
	run_logged "/tmp/$name.log" 200 fio --ioengine=external:$ENGINE --thread=1 --spdk_mem=64 \
		--output-format=terse --terse-version=3 "$@"
}

# Terse v3: field 6 is the read KiB, 47 the write KiB (1-based, ';'-separated).
terse_kib() { # log field
	grep '^3;' "$1" | awk -F';' -v f="$2" '{s += $f} END {print s + 0}'
}

fio_checks() {
	local b addr t
	b=$(ctrl_bdf 0)
	addr=$(echo "$b" | tr : .)   # fio splits filenames at ':'
	t="trtype=PCIe traddr=$addr"
	check "nvme0 $b: bound to uio" bind "$b" uio

	check "fio verify ns1 (512 B): randwrite 4k QD16, 2 jobs" fio_nvme v1 \
		--filename="$t ns=1" --name=v --rw=randwrite --bs=4k --iodepth=16 --numjobs=2 \
		--size=4M --offset_increment=4M --verify=crc32c --do_verify=1 --verify_fatal=1
	[ "$(terse_kib /tmp/v1.log 6)" -ge 8192 ] && ok "ns1: 8 MiB read back" || fail "ns1: reads missing"

	check "fio verify ns2 (4 KiB): write 64k QD8 then verify" fio_nvme v2 \
		--filename="$t ns=2" --name=v --rw=write --bs=64k --iodepth=8 --size=8M \
		--verify=md5 --do_verify=1 --verify_fatal=1
	check "fio trim ns1 (Dataset Management)" fio_nvme trim \
		--filename="$t ns=1" --name=t --rw=randtrim --bs=16k --iodepth=4 --size=1M

	expect_fail "namespace 9 refused" fio_nvme bad_ns --filename="$t ns=9" --name=n --rw=read --bs=4k --size=1M
	check "... with a message naming it" grep -q "no active namespace 9" /tmp/bad_ns.log
	expect_fail "TCP transport ID parsed, refused by the driver" fio_nvme tcp \
		--filename="trtype=TCP adrfam=IPv4 traddr=10.0.2.2 trsvcid=4420 ns=1" --name=n --rw=read --bs=4k --size=1M
	check "... with a message" grep -q "cannot attach the controller" /tmp/tcp.log
	bind "$b" none
}
