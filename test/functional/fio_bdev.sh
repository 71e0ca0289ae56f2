#!/bin/bash
# fio with the brisk_bdev ioengine: verify jobs (written data read back and
# checked by fio) on malloc, aio and lvol bdevs with several jobs, depths and
# block sizes; several bdevs in one job; trim; time_based with ramp_time;
# and the refusals: a bdev name the config did not make, no config, a config
# that is not there, jobs as processes (no --thread=1).
source "$(dirname "$0")/fio_common.sh"

# Small, ordinary memory: the tests share the machine's hugepages with others.
MEM=(--thread=1 --no_huge=1 --spdk_mem=192)
VERIFY=(--verify=crc32c --do_verify=1 --verify_fatal=1 --verify_state_save=0)
# every job wrote and read its whole region back, and no job saw an error
ALL_VERIFIED='all(j["error"] == 0 and j["write"]["io_bytes"] >= SIZE and j["read"]["io_bytes"] >= SIZE for j in jobs)'

bdev_config "$WORK/malloc.json" \
	bdev_malloc_create '{"name": "Malloc0", "num_blocks": 65536, "block_size": 512}' \
	bdev_malloc_create '{"name": "Malloc1", "num_blocks": 8192, "block_size": 4096}' \
	bdev_null_create '{"name": "Null0", "num_blocks": 262144, "block_size": 512}'

# malloc: 4 jobs over two reactors, each verifying its own 4 MiB at depth 16
run_fio malloc_4jobs "${MEM[@]}" "${VERIFY[@]}" --spdk_json_conf="$WORK/malloc.json" \
	--reactor_mask=0x3 --name=m --filename=Malloc0 --rw=randwrite --bs=4k --iodepth=16 \
	--numjobs=4 --size=4M --offset_increment=4M
fio_check malloc_4jobs "len(jobs) == 4 and ${ALL_VERIFIED//SIZE/4 << 20}" \
	"malloc verify: 4 jobs on 2 reactors, randwrite 4k QD16"

# malloc: larger blocks, depth 1 and 64, mixed sizes in one job file
cat > "$WORK/mixed.fio" <<JOB
[global]
ioengine=external:$FIO_BDEV
thread=1
no_huge=1
spdk_mem=192
spdk_json_conf=$WORK/malloc.json
filename=Malloc0
verify=md5
do_verify=1
verify_fatal=1
verify_state_save=0
size=2M
[qd1]
rw=write
bs=512
iodepth=1
offset=0
[qd64]
rw=randwrite
bs=64k
iodepth=64
offset=8M
[bsrange]
rw=randwrite
bsrange=4k-128k
iodepth=8
offset=16M
JOB
timeout -k 5 90 fio --output-format=json --output="$WORK/mixed.out.json" "$WORK/mixed.fio" >"$WORK/mixed.log" 2>&1
FIO_RC=$?
fio_check mixed "len(jobs) == 3 and ${ALL_VERIFIED//SIZE/2 << 20}" \
	"malloc verify from a job file: 512 B QD1, 64k QD64, 4k-128k QD8"

# two bdevs in one job (filename a:b), block sizes 512 and 4096
run_fio two_bdevs "${MEM[@]}" "${VERIFY[@]}" --spdk_json_conf="$WORK/malloc.json" \
	--name=two --filename=Malloc0:Malloc1 --rw=randwrite --bs=4k --iodepth=8 --size=16M
fio_check two_bdevs "${ALL_VERIFIED//SIZE/16 << 20}" "verify on two bdevs in one job (Malloc0:Malloc1)"

# trim where the bdev unmaps (malloc does)
run_fio trim "${MEM[@]}" --spdk_json_conf="$WORK/malloc.json" --name=t --filename=Malloc0 \
	--rw=randtrim --bs=16k --iodepth=8 --size=8M
fio_check trim 'jobs[0]["error"] == 0 and jobs[0]["trim"]["total_ios"] == 512' "randtrim on malloc: 512 unmaps"

# time_based with ramp_time on null: stats only after the ramp
run_fio timed "${MEM[@]}" --spdk_json_conf="$WORK/malloc.json" --name=tb --filename=Null0 \
	--rw=randread --bs=4k --iodepth=32 --time_based --runtime=2 --ramp_time=1
fio_check timed 'jobs[0]["error"] == 0 and jobs[0]["read"]["total_ios"] > 1000 and 1500 <= jobs[0]["job_runtime"] <= 4000' \
	"time_based 2 s after a 1 s ramp on null"

# aio on a file (fio's own O_DIRECT peer would use the same file)
truncate -s 32M "$WORK/aio.img"
bdev_config "$WORK/aio.json" bdev_aio_create '{"name": "Aio0", "filename": "'"$WORK/aio.img"'", "block_size": 512}'
run_fio aio "${MEM[@]}" "${VERIFY[@]}" --spdk_json_conf="$WORK/aio.json" --name=a --filename=Aio0 \
	--rw=randwrite --bs=8k --iodepth=32 --numjobs=2 --size=8M --offset_increment=8M
fio_check aio "len(jobs) == 2 and ${ALL_VERIFIED//SIZE/8 << 20}" "aio verify: 2 jobs, randwrite 8k QD32"

# inline_poll=0: each job's Brisk thread runs on a reactor (the default polls inline)
run_fio aio_inline "${MEM[@]}" "${VERIFY[@]}" --spdk_json_conf="$WORK/aio.json" --inline_poll=0 \
	--name=a --filename=Aio0 --rw=randrw --bs=4k --iodepth=16 --numjobs=2 --size=8M --offset_increment=8M
fio_check aio_inline "len(jobs) == 2 and all(j['error'] == 0 and j['read']['io_bytes'] >= 8 << 20 for j in jobs)" \
	"aio verify with inline_poll=0 (reactors): 2 jobs, randrw 4k QD16"
run_fio malloc_inline "${MEM[@]}" "${VERIFY[@]}" --spdk_json_conf="$WORK/malloc.json" --inline_poll=0 \
	--name=m --filename=Malloc0:Malloc1 --rw=randwrite --bs=4k --iodepth=32 --size=16M
fio_check malloc_inline "${ALL_VERIFIED//SIZE/16 << 20}" "two malloc bdevs verify with inline_poll=0 (reactors), QD32"

# lvol on malloc, config made with SPDK's lvol methods; this run on hugepages
bdev_config "$WORK/lvol.json" \
	bdev_malloc_create '{"name": "Malloc0", "num_blocks": 16384, "block_size": 4096}' \
	bdev_lvol_create_lvstore '{"bdev_name": "Malloc0", "lvs_name": "lvs0"}' \
	bdev_lvol_create '{"lvs_name": "lvs0", "lvol_name": "lv0", "size_in_mib": 48, "thin_provision": true}'
run_fio lvol --thread=1 --spdk_mem=160 "${VERIFY[@]}" --brisk_json_conf="$WORK/lvol.json" \
	--name=l --filename=lvs0/lv0 --rw=randwrite --bs=4k --iodepth=16 --numjobs=2 \
	--size=16M --offset_increment=16M
fio_check lvol "len(jobs) == 2 and ${ALL_VERIFIED//SIZE/16 << 20}" \
	"thin lvol verify: 2 jobs, randwrite 4k QD16 (--brisk_json_conf, hugepages)"

# SIGINT mid-run (fio owns the signal): fio stops its job, the engine closes
# the bdev and stops Brisk, and the process is gone within seconds
timeout -k 5 90 fio --ioengine=external:"$FIO_BDEV" "${MEM[@]}" --spdk_json_conf="$WORK/malloc.json" \
	--name=s --filename=Null0 --rw=randread --bs=4k --iodepth=8 --time_based --runtime=60 \
	--output-format=json --output="$WORK/sigint.out.json" >"$WORK/sigint.log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "start-up complete" "$WORK/sigint.log" && break; sleep 0.2; done
sleep 1
kill -INT $pid
for _ in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.2; done
if kill -0 $pid 2>/dev/null; then
	fail "SIGINT: fio still running 20 s later"
	kill -KILL $pid
	wait $pid
else
	wait $pid
	# shellcheck disable=SC2034 # read by fio_check (fio_common.sh)
	FIO_RC=0 # fio's status after SIGINT is not 0; what counts is a clean, prompt stop with results
	fio_check sigint 'jobs[0]["read"]["total_ios"] > 0 and jobs[0]["job_runtime"] < 30000' \
		"SIGINT mid-run: fio stops promptly with its results"
fi

# refusals: fio exits non-zero with a message that names the problem
run_fio bad_name "${MEM[@]}" --spdk_json_conf="$WORK/malloc.json" --name=b --filename=Nope0 \
	--rw=read --bs=4k --size=1M
fio_refused bad_name "no bdev named 'Nope0'" "unknown bdev name refused"
run_fio no_conf "${MEM[@]}" --name=n --filename=Malloc0 --rw=read --bs=4k --size=1M
fio_refused no_conf "no bdev configuration" "missing --spdk_json_conf refused"
run_fio missing_conf "${MEM[@]}" --spdk_json_conf="$WORK/nothere.json" --name=n --filename=Malloc0 \
	--rw=read --bs=4k --size=1M
fio_refused missing_conf "cannot read spdk_json_conf" "config file that does not exist refused"
echo '{"subsystems": [{"subsystem": "bdev", "config": [{"method": "bdev_malloc_create", "params": {"name": "M", "block_size": 512}}]}]}' > "$WORK/bad.json"
run_fio bad_conf "${MEM[@]}" --spdk_json_conf="$WORK/bad.json" --name=n --filename=M --rw=read --bs=4k --size=1M
fio_refused bad_conf "Brisk did not start" "config with a bad method call refused"
run_fio no_thread --no_huge=1 --spdk_json_conf="$WORK/malloc.json" --name=p --filename=Malloc0 \
	--rw=read --bs=4k --size=1M
fio_refused no_thread "add --thread=1" "jobs as processes refused (--thread=1 missing)"
run_fio bad_bs "${MEM[@]}" --spdk_json_conf="$WORK/malloc.json" --name=b --filename=Malloc1 \
	--rw=read --bs=512 --size=1M
fio_refused bad_bs "not a multiple of bdev 'Malloc1''s block size 4096" "bs below the block size refused"
bdev_config "$WORK/claimed.json" \
	bdev_malloc_create '{"name": "Malloc0", "num_blocks": 8192, "block_size": 4096}' \
	bdev_lvol_create_lvstore '{"bdev_name": "Malloc0", "lvs_name": "lvs0"}'
run_fio claimed "${MEM[@]}" --spdk_json_conf="$WORK/claimed.json" --name=c --filename=Malloc0 \
	--rw=write --bs=4k --size=1M
fio_refused claimed "claimed by the lvol module" "a bdev claimed by an lvstore refused for writing"
finish
