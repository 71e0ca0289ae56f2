#!/bin/bash
# libiscsi's iscsi-perf against brisk_tgt on one core (-m 0x1): a 128 MiB
# malloc LUN and a 100 MiB lvol LUN (lvstore on a malloc bdev), both 4 KiB
# blocks; 4 KiB random read at QD 32 and QD 1, 128 KiB sequential read at
# QD 8. For each run: IOPS (iscsi-perf's last "iops average"; "ABORTED" when
# iscsi-perf stopped on an error, the average up to then), the target's CPU
# seconds in the run (utime + stime from /proc/PID/stat) and IOPS per
# CPU-second; then the target's CPU share over 20 s with one logged-in idle
# session; the load average at the start and end. Figures go to
# doc/performance.md ("iSCSI target"). Not in CI (about 2 minutes).
# Usage: test/long/iscsi_perf.sh [seconds per run (10)]
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
SECS=${1:-10}
WORK=$(mktemp -d /tmp/brisk_iscsi_perf.XXXXXX)
SOCK=$WORK/tgt.sock
PORT=$((30000 + $$ % 20000))
TGT_PID=""
INIT=iqn.2024-01.io.brisk:perf

# A target that does not exit on SIGTERM within 20 s is reported and killed.
cleanup() {
	if [ -n "$TGT_PID" ] && kill "$TGT_PID" 2>/dev/null; then
		for _ in $(seq 200); do kill -0 "$TGT_PID" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$TGT_PID" 2>/dev/null && echo "brisk_tgt did not exit on SIGTERM in 20 s: killed" &&
			kill -KILL "$TGT_PID"
		wait "$TGT_PID" 2>/dev/null
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

rpc() { timeout 30 python3 scripts/rpc.py -s "$SOCK" "$@" >/dev/null; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$TGT_PID/stat"; }
url() { echo "iscsi://127.0.0.1:$PORT/iqn.2016-06.io.spdk:$1/0"; }

setup() {
	build/bin/brisk_tgt --no-huge -s 512 -m 0x1 -r "$SOCK" >"$WORK/tgt.log" 2>&1 &
	TGT_PID=$!
	for _ in $(seq 600); do [ -S "$SOCK" ] && break; sleep 0.1; done
	rpc bdev_malloc_create -b Malloc0 128 4096 &&
		rpc bdev_malloc_create -b Malloc1 128 4096 &&
		rpc bdev_lvol_create_lvstore Malloc1 lvs0 &&
		rpc bdev_lvol_create -l lvs0 vol0 100 &&
		rpc iscsi_create_portal_group 1 "127.0.0.1:$PORT" &&
		rpc iscsi_create_initiator_group 1 ANY 127.0.0.1/32 &&
		rpc iscsi_create_target_node malloc malloc Malloc0:0 1:1 64 -d &&
		rpc iscsi_create_target_node lvol lvol lvs0/vol0:0 1:1 64 -d
}

# run NODE LABEL PERF_ARGS...: one iscsi-perf run, one table row.
run() {
	local node=$1 label=$2 c0 c1 iops cpu end
	shift 2
	c0=$(cpu_ticks)
	echo "# iscsi-perf -i $INIT $* -t $SECS $(url "$node")" >&2
	timeout $((SECS + 20)) iscsi-perf -i "$INIT" "$@" -t "$SECS" "$(url "$node")" >"$WORK/perf.out" 2>&1
	c1=$(cpu_ticks)
	iops=$(tr '\r' '\n' <"$WORK/perf.out" | grep -aoE 'iops average [0-9]+' | tail -n1 | awk '{print $3}')
	end=$(grep -aoE 'finished|ABORTED|failed with.*' "$WORK/perf.out" | head -n1)
	cpu=$(echo "$c0 $c1" | awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($2 - $1) / hz}')
	echo "| $node | $label | ${iops:-?} | $cpu | $(echo "${iops:-0} $cpu $SECS" |
		awk '{ if ($2 > 0) printf "%d", $1 * $3 / $2; else print "?" }') | ${end:-?} |"
}

idle() {
	local c0 c1
	python3 - "$PORT" <<'PY' &
import sys, time
sys.path.insert(0, "test/functional")
import iscsi_client as ic
s = ic.Session(int(sys.argv[1]), "iqn.2016-06.io.spdk:malloc")
assert s.login() == 0
time.sleep(25)
s.logout()
PY
	local py=$!
	sleep 3
	c0=$(cpu_ticks)
	sleep 20
	c1=$(cpu_ticks)
	wait $py
	echo "$c0 $c1" | awk -v hz="$(getconf CLK_TCK)" '{printf "idle: %.2f%% of a core over 20 s, one logged-in session\n", ($2 - $1) / hz / 20 * 100}'
}

setup || { echo "setup failed"; cat "$WORK/tgt.log"; exit 1; }
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| LUN | workload | IOPS | target CPU s | IOPS per CPU-s | iscsi-perf |"
echo "|---|---|---:|---:|---:|---|"
for node in malloc lvol; do
	run "$node" "4 KiB randread QD 32" -m 32 -b 1 -r
	run "$node" "4 KiB randread QD 1" -m 1 -b 1 -r
	run "$node" "128 KiB seq read QD 8" -m 8 -b 32
done
idle
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
