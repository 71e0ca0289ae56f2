# Sourced by app_common.sh and bdevperf_common.sh (not executable on its own):
# bounded waits on the processes a test starts.
# shellcheck shell=bash

# wait_for_socket SOCK PID: waits up to 10 s for PID to create the Unix
# socket SOCK. Returns 1 if PID exited first or the time ran out.
wait_for_socket() {
	local sock=$1 pid=$2
	for _ in $(seq 1 200); do
		[ -S "$sock" ] && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# wait_for_exit PID: waits up to 10 s for PID to exit (it may stay a zombie
# until the caller's wait). Returns 1 if it is still running.
wait_for_exit() {
	local pid=$1
	for _ in $(seq 1 200); do
		[ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = Z ] && return 0
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.05
	done
	return 1
}
