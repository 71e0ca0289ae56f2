#!/bin/bash
# Runs the tests: unit tests (with and without hugepages when hugepages
# exist) and the functional tests of test/tests.list. Each test is bounded in
# time. Prints one line a test and closes with "N passed, N failed, N skipped".
# A test that exits 77 was skipped (what it needs is missing here).
# Usage: test/run_tests.sh [--unit] [--functional] [PATTERN...]
#   PATTERN: run only the tests whose name contains one of them.
#   BRISK_TEST_MODES: unit-test modes to run ("huge nohuge"; default both
#   when hugepages exist, else nohuge).
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
UNIT_TIMEOUT=${UNIT_TIMEOUT:-600}
FUNC_TIMEOUT=${FUNC_TIMEOUT:-900}
SKIP_RC=77
run_unit=1
run_func=1
patterns=()
for a in "$@"; do
	case "$a" in
	--unit) run_func=0 ;;
	--functional) run_unit=0 ;;
	-h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) patterns+=("$a") ;;
	esac
done

passed=0
failed=0
skipped=0
failed_names=()
LOGDIR=${BRISK_TEST_LOGDIR:-$ROOT/build/test/logs}
mkdir -p "$LOGDIR"

have_hugepages() {
	[ "$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)" -gt 0 ] 2>/dev/null &&
		awk '$3 == "hugetlbfs" {f=1} END {exit !f}' /proc/mounts
}

selected() { # name: true when no pattern is given or one matches
	[ ${#patterns[@]} -eq 0 ] && return 0
	local p
	for p in "${patterns[@]}"; do [[ "$1" == *$p* ]] && return 0; done
	return 1
}

fail_one() { # name, reason: a test that could not even start
	failed=$((failed + 1))
	failed_names+=("$1")
	printf 'FAIL  %-50s (%s)\n' "$1" "$2"
}

run_one() { # name, then command...
	local name=$1; shift
	local log="$LOGDIR/${name//\//_}.log"
	local start=$SECONDS rc=0
	"$@" >"$log" 2>&1 || rc=$?
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1))
		printf 'PASS  %-50s %3ds\n' "$name" $((SECONDS - start))
	elif [ $rc -eq $SKIP_RC ]; then
		skipped=$((skipped + 1))
		printf 'SKIP  %-50s %3ds (%s)\n' "$name" $((SECONDS - start)) "$(grep -i -m1 'skip' "$log" | cut -c1-60)"
	else
		failed=$((failed + 1))
		failed_names+=("$name")
		printf 'FAIL  %-50s %3ds (exit %d, log %s)\n' "$name" $((SECONDS - start)) "$rc" "$log"
		tail -n 30 "$log" | sed 's/^/      | /'
	fi
}

if [ $run_unit = 1 ]; then
	modes=${BRISK_TEST_MODES:-}
	if [ -z "$modes" ]; then
		modes="nohuge"
		if have_hugepages; then modes="huge nohuge"; fi
	fi
	# Every unit-test source has its program: one that was not built fails.
	for src in test/unit/*/*_ut.c; do
		t=build/${src%.c}
		name=unit/${t#build/test/unit/}
		selected "$name" || continue
		[ -x "$t" ] || { fail_one "$name" "not built: make unit"; continue; }
		for m in $modes; do
			if [ "$m" = nohuge ]; then
				run_one "${name}[$m]" env BRISK_TEST_NO_HUGE=1 timeout -k 10 "$UNIT_TIMEOUT" "$t"
			else
				run_one "${name}[$m]" timeout -k 10 "$UNIT_TIMEOUT" "$t"
			fi
		done
	done
fi

if [ $run_func = 1 ]; then
	# Every file of test/functional is a listed test or a listed helper.
	for f in test/functional/*; do
		[ "${f##*/}" = __pycache__ ] && continue # Python's byte-code cache of the helpers
		grep -qxE "(helper )?${f#test/}" test/tests.list ||
			fail_one "${f#test/}" "not in test/tests.list (a test, or a 'helper' line)"
	done
	while read -r t; do
		case $t in "" | "#"* | "helper "*) continue ;; esac
		selected "$t" || continue
		[ -f "test/$t" ] || { fail_one "$t" "listed in test/tests.list but missing"; continue; }
		[ -x "test/$t" ] || { fail_one "$t" "not executable"; continue; }
		run_one "$t" timeout -k 10 "$FUNC_TIMEOUT" "test/$t"
	done <test/tests.list
fi

echo
if [ $failed -gt 0 ]; then
	echo "failed tests: ${failed_names[*]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
