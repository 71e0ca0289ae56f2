#!/bin/bash
# Hybrid polling: brisk_tgt on two cores idle for 5 s uses under 1% of a
# core; with --poll-mode both reactors spin: each reactor thread is runnable
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
	exit 0
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
