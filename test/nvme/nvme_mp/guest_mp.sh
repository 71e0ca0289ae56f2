# Guest side of test/functional/nvme_mp_qemu.sh (busybox ash, sourced after
# test/nvme/qemu/guest/lib.sh): lib/nvme's multi-process use of one
# controller, bound to uio_pci_generic or (with the IOMMU) vfio-pci. A
# primary nvme_mp does verified I/O on LBAs 0-1023 while:
#   - secondary A (LBAs 2048-3071) runs to its end and exits cleanly;
#   - secondary B (LBAs 4096-5119) and secondary C (6144-7167) run at once;
#     B is killed with SIGKILL mid-I/O: the primary must delete B's queue
#     and carry on; C must finish unharmed;
#   - secondary D, after B's death, reads back what A wrote (--verify-only);
#   - malformed requests on the channel get the right errors (--bad-requests),
#     admin commands that would change the controller among them;
#   - nvme_identify -i as a secondary: its admin commands (Identify, Get Log
#     Page, Get Features) go through the primary;
#   - the primary resets the controller while secondary E does I/O: E's
#     qpair is re-created by lib/nvme, E resubmits what the reset aborted
#     and finishes its verified I/O (PASS); the primary's own aborted I/O
#     is resubmitted too, and E's queue id comes back once E exits.
# The primary then stops (stop file) and must report PASS with no
# secondary queue left.
# shellcheck shell=dash

MP_SHM=7

# In the foreground, bounded; in the background call nvme_mp directly so that
# $! is nvme_mp itself (a function would run in a subshell).
mp_secondary() { # name lba seconds
	timeout 120 nvme_mp --secondary -i $MP_SHM -r "$(trid $MP_BDF)" --lba "$2" --count 1024 \
		--seconds "$3" --seed "$2" >/tmp/mp_$1.log 2>&1
}

# Waits until the primary's progress line reports N secondary qpairs.
mp_wait_qpairs() { # n secs
	local i=0
	while [ $i -lt $(($2 * 10)) ]; do
		tail -n 1 /tmp/mp_primary.log | grep -q ", $1 secondary qpairs" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

mp_run() { # uio|vfio
	local p b c
	MP_BDF=$(ctrl_bdf 0)
	check "mp $1: nvme0 $MP_BDF bound to $1" bind "$MP_BDF" "$1"
	rm -f /tmp/mp_stop
	rm -f /tmp/mp_reset
	nvme_mp --primary -i $MP_SHM -r "$(trid $MP_BDF)" --lba 0 --count 1024 --seconds 300 \
		--stop-file /tmp/mp_stop --reset-file /tmp/mp_reset --seed 1 >/tmp/mp_primary.log 2>&1 &
	p=$!
	if ! wait_for_line /tmp/mp_primary.log "primary ready" 60 $p; then
		cat /tmp/mp_primary.log
		fail "mp $1: the primary starts"
		kill -9 $p 2>/dev/null
		return
	fi
	ok "mp $1: the primary starts and shares the controller"

	mp_secondary A 2048 5
	cat /tmp/mp_A.log
	check "mp $1: secondary A: verified I/O beside the primary, clean exit" \
		grep -q "^nvme_mp: secondary PASS" /tmp/mp_A.log
	check "mp $1: the primary deleted A's queue at its exit" mp_wait_qpairs 0 20

	nvme_mp --secondary -i $MP_SHM -r "$(trid $MP_BDF)" --lba 4096 --count 1024 \
		--seconds 300 --seed 4096 >/tmp/mp_B.log 2>&1 &
	b=$!
	nvme_mp --secondary -i $MP_SHM -r "$(trid $MP_BDF)" --lba 6144 --count 1024 \
		--seconds 15 --seed 6144 >/tmp/mp_C.log 2>&1 &
	c=$!
	if wait_for_line /tmp/mp_B.log "verified" 60 $b && wait_for_line /tmp/mp_C.log "verified" 60 $c; then
		ok "mp $1: secondaries B and C do I/O at once"
	else
		fail "mp $1: secondaries B and C do I/O at once"
	fi
	sleep 2
	kill -9 $b 2>/dev/null
	wait $b 2>/dev/null
	cat /tmp/mp_B.log
	check "mp $1: secondary C finishes after B was killed" bounded_wait $c 90
	cat /tmp/mp_C.log
	check "mp $1: secondary C PASS" grep -q "^nvme_mp: secondary PASS" /tmp/mp_C.log
	check "mp $1: the primary deleted the killed B's queue" mp_wait_qpairs 0 20
	grep -q "deleting its I/O queue" /tmp/mp_primary.log && ok "mp $1: the primary logged B's removal" ||
		fail "mp $1: the primary logged B's removal"

	# D reads back what A wrote (A's seed is its first LBA) on a queue id
	# freed by the kill.
	timeout 120 nvme_mp --secondary -i $MP_SHM -r "$(trid $MP_BDF)" --lba 2048 --count 1024 \
		--seconds 4 --seed 2048 --verify-only >/tmp/mp_D.log 2>&1
	cat /tmp/mp_D.log
	check "mp $1: secondary D after the kill reads A's data: PASS" \
		grep -q "^nvme_mp: secondary PASS" /tmp/mp_D.log
	check "mp $1: the primary deleted D's queue" mp_wait_qpairs 0 20

	timeout 60 nvme_mp --secondary -i $MP_SHM -r "$(trid $MP_BDF)" --count 1 --bad-requests \
		>/tmp/mp_bad.log 2>&1
	cat /tmp/mp_bad.log
	check "mp $1: the primary refuses malformed requests" grep -q "^nvme_mp: bad requests PASS" /tmp/mp_bad.log

	mp_identify_check "$1"
	mp_reset_check "$1"

	touch /tmp/mp_stop
	check "mp $1: the primary stops" bounded_wait $p 60
	tail -n 5 /tmp/mp_primary.log
	check "mp $1: the primary carried on: PASS" grep -q "^nvme_mp: primary PASS" /tmp/mp_primary.log
	check "mp $1: the primary never saw an I/O error" sh -c "! grep -qE 'I/O error|mismatch' /tmp/mp_primary.log"
	bind "$MP_BDF" none
}


# nvme_perf -i: a primary and a secondary nvme_perf on one controller at once
# (randread; nvme_perf exits non-zero on any I/O error); then bdevperf -i,
# a secondary app whose bdev_nvme attaches the primary's controller, runs
# verify on Nvme0n1 while the primary still reads, and detaches at exit.
mp_perf() { # uio|vfio
	local p t
	MP_BDF=$(ctrl_bdf 0)
	t=$(trid "$MP_BDF")
	check "perf $1: nvme0 bound to $1" bind "$MP_BDF" "$1"
	nvme_perf -i 9 -r "$t" -q 8 -o 4096 -w randread -t 18 -s 64 >/tmp/perf_p.log 2>&1 &
	p=$!
	if wait_for_line /tmp/perf_p.log "controllers shared" 60 $p; then
		run_logged /tmp/perf_s.log 60 nvme_perf -i 9 -r "$t" -q 8 -o 4096 -w randread -t 3
		check "perf $1: the secondary nvme_perf runs beside the primary" \
			grep -q "^Total" /tmp/perf_s.log
		mp_bdevperf "$1"
	else
		fail "perf $1: the primary nvme_perf starts"
	fi
	check "perf $1: the primary nvme_perf finishes without errors" bounded_wait $p 60
	cat /tmp/perf_p.log
	bind "$MP_BDF" none
}

# nvme_identify in a secondary: the primary runs its admin commands.
mp_identify_check() { # uio|vfio
	local rc
	run_logged /tmp/mp_id.log 60 nvme_identify -i $MP_SHM -r "$(trid $MP_BDF)"
	rc=$?
	check "mp $1: nvme_identify as a secondary exits 0" [ $rc = 0 ]
	check "mp $1: nvme_identify as a secondary: Identify (model)" grep -q "QEMU NVMe Ctrl" /tmp/mp_id.log
	check "mp $1: nvme_identify as a secondary: Get Log Page (health)" \
		grep -qE "^temperature +: [0-9]+ C" /tmp/mp_id.log
	check "mp $1: nvme_identify as a secondary: Get Features (cdw0)" \
		grep -q "(Number of Queues), Current value:0x" /tmp/mp_id.log
}

# A reset in the primary deletes every I/O queue; lib/nvme re-creates the
# primary's at once and each secondary's qpair asks for its own again
# (doc/nvme.md): E resubmits what the reset aborted and finishes.
mp_reset_check() { # uio|vfio
	local e rc
	nvme_mp --secondary -i $MP_SHM -r "$(trid $MP_BDF)" --lba 8192 --count 1024 \
		--seconds 4 --seed 8192 >/tmp/mp_E.log 2>&1 &
	e=$!
	wait_for_line /tmp/mp_E.log "verified" 60 $e || fail "mp $1: secondary E does I/O"
	touch /tmp/mp_reset
	check "mp $1: the primary resets the controller" wait_for_line /tmp/mp_primary.log "reset the controller: done" 30 $p
	bounded_wait $e 60
	rc=$?
	cat /tmp/mp_E.log
	check "mp $1: secondary E carries on after the reset (exit 0)" [ $rc = 0 ]
	check "mp $1: E's queue was re-created" grep -q "re-creating I/O queue" /tmp/mp_E.log
	check "mp $1: E resubmitted what the reset aborted" grep -q "resubmitted after the reset" /tmp/mp_E.log
	check "mp $1: E PASS (verified I/O after the reset)" grep -q "^nvme_mp: secondary PASS" /tmp/mp_E.log
	check "mp $1: E's queue is released once E exited" mp_wait_qpairs 0 20
}

# bdevperf in a secondary (same -i as the primary nvme_perf): bdev_nvme
# connects to the shared controller, verify runs through its own qpair.
mp_bdevperf() { # uio|vfio
	local rc
	cat >/tmp/mp_bdev.json <<JSON
{"subsystems":[{"subsystem":"bdev","config":[
 {"method":"bdev_nvme_attach_controller","params":{"name":"Nvme0","trtype":"PCIe","traddr":"$MP_BDF"}}]}]}
JSON
	run_logged /tmp/mp_bdevperf.log 60 bdevperf -i 9 -c /tmp/mp_bdev.json -q 8 -o 4096 -w verify -t 3
	rc=$?
	check "perf $1: bdevperf verify through bdev_nvme in a secondary (exit 0)" [ $rc = 0 ]
	check "perf $1: the secondary's bdev_nvme attached the shared controller" \
		grep -q "attached as a secondary" /tmp/mp_bdevperf.log
	check "perf $1: bdevperf verified I/O on Nvme0n1" grep -q "Nvme0n1" /tmp/mp_bdevperf.log
}
