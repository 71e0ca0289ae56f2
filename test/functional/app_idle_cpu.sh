#!/bin/bash
# Hybrid polling: brisk_tgt on two cores idle for 5 s uses under 1% of a
# core, bare, with an lvstore on an aio file (the README's default), both
# on the default adaptive spin (2000 us), and
# with --adaptive-spin-us at its bound;
# with --poll-mode both reactors spin: each reactor thread is runnable
# (on a CPU or waiting for one) over 90% of the time. Runnable time, from
# /proc/<pid>/task/<tid>/schedstat, does not depend on what else the machine
# runs, where the CPU time a spinning thread gets does (on a loaded 2-core
# machine it can be half a core); that is printed, not checked.
# CPU time is utime + stime from /proc/<pid>/stat.
source "$(dirname "$0")/app_common.sh"
WINDOW=5
HZ=$(getconf CLK_TCK)

cpu_ticks() {
	awk '{print $14 + $15}' "/proc/$1/stat"
}

# Sum of on-CPU and run-queue nanoseconds of each reactor thread, one per line.
reactor_runnable_ns() {
	local t
	for t in /proc/"$TGT_PID"/task/*; do
		case "$(cat "$t/comm" 2>/dev/null)" in
		reactor_*) awk '{printf "%.0f\n", $1 + $2}' "$t/schedstat" ;;
		esac
	done
}

measure() { # prints the CPU percentage (of one core) over WINDOW seconds
	local start end
	start=$(cpu_ticks "$TGT_PID")
	sleep "$WINDOW"
	end=$(cpu_ticks "$TGT_PID")
	echo $(( (end - start) * 100 * 100 / (HZ * WINDOW) )) # hundredths of a percent
}

if [ "$(nproc)" -lt 2 ]; then
	echo "needs 2 cores; skipped"
	exit 77
fi

start_tgt -m 0x3 || finish
rpc framework_wait_init >/dev/null || fail "framework_wait_init failed"
sleep 0.5
idle=$(measure)
echo "idle, hybrid polling: $((idle / 100)).$(printf %02d $((idle % 100)))% of a core over ${WINDOW}s"
[ "$idle" -lt 100 ] || fail "idle brisk_tgt used $((idle / 100))% CPU (limit 1%)"
# Still responsive after sleeping.
rpc framework_get_reactors >/dev/null || fail "no answer after idling"
stop_tgt TERM

# The README's embedded default: an aio file bdev with an lvstore and an
# lvol on it (the store keeps an aio channel open). Idle after the metadata
# I/O of the creates, it must sleep as well.
truncate -s 64M "$WORK/aio.img"
cat >"$WORK/aio.json" <<JSON
{"subsystems":[{"subsystem":"bdev","config":[
 {"method":"bdev_aio_create","params":{"name":"Aio0","filename":"$WORK/aio.img","block_size":512}}]}]}
JSON
start_tgt -m 0x3 -c "$WORK/aio.json" || finish
rpc framework_wait_init >/dev/null || fail "framework_wait_init failed"
rpc bdev_lvol_create_lvstore '{"bdev_name":"Aio0","lvs_name":"lvs0"}' >/dev/null || fail "lvstore create failed"
rpc bdev_lvol_create '{"lvs_name":"lvs0","lvol_name":"v0","size_in_mib":8}' >/dev/null || fail "lvol create failed"
sleep 0.5
idle=$(measure)
echo "idle with an lvstore on aio: $((idle / 100)).$(printf %02d $((idle % 100)))% of a core over ${WINDOW}s"
[ "$idle" -lt 100 ] || fail "idle brisk_tgt with an lvstore on aio used $((idle / 100))% CPU (limit 1%)"
rpc bdev_get_bdevs '{"name":"lvs0/v0"}' >/dev/null || fail "lvol not answering after idling"
stop_tgt TERM

# Adaptive spin at its bound (10 ms): an idle target still sleeps (only
# work woken from sleep stretches the spin, never the timers).
start_tgt -m 0x3 --adaptive-spin-us 10000 || finish
rpc framework_wait_init >/dev/null || fail "framework_wait_init failed"
sleep 0.5
idle=$(measure)
echo "idle, --adaptive-spin-us 10000: $((idle / 100)).$(printf %02d $((idle % 100)))% of a core over ${WINDOW}s"
[ "$idle" -lt 100 ] || fail "idle brisk_tgt with adaptive spin used $((idle / 100))% CPU (limit 1%)"
stop_tgt TERM

start_tgt -m 0x3 --poll-mode || finish
rpc framework_wait_init >/dev/null || fail "framework_wait_init failed"
mapfile -t before < <(reactor_runnable_ns)
busy=$(measure)
mapfile -t after < <(reactor_runnable_ns)
echo "--poll-mode: $((busy / 100))% of a core over ${WINDOW}s"
[ "${#before[@]}" -eq 2 ] && [ "${#after[@]}" -eq 2 ] || fail "expected 2 reactor threads, found ${#before[@]}"
for i in "${!after[@]}"; do
	pct=$(( (after[i] - before[i]) * 100 / (WINDOW * 1000000000) ))
	echo "--poll-mode: reactor $i runnable ${pct}% of the time"
	[ "$pct" -ge 90 ] || fail "--poll-mode: reactor $i was runnable only ${pct}% of the time (it sleeps?)"
done
stop_tgt TERM

finish
