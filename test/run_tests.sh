#!/bin/bash
# Runs every test: unit tests (with and without hugepages when hugepages
# exist) and functional tests. Each test is bounded in time. Prints one line a
# test and closes with "N passed, N failed".
# Usage: test/run_tests.sh [--unit] [--functional] [PATTERN]
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
UNIT_TIMEOUT=${UNIT_TIMEOUT:-600}
FUNC_TIMEOUT=${FUNC_TIMEOUT:-900}
run_unit=1
run_func=1
pattern=""
for a in "$@"; do
	case "$a" in
	--unit) run_func=0 ;;
	--functional) run_unit=0 ;;
	-h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) pattern=$a ;;
	esac
done

passed=0
failed=0
failed_names=()
LOGDIR=${BRISK_TEST_LOGDIR:-$ROOT/build/test/logs}
mkdir -p "$LOGDIR"

have_hugepages() {
	[ "$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)" -gt 0 ] 2>/dev/null &&
		awk '$3 == "hugetlbfs" {f=1} END {exit !f}' /proc/mounts
}

run_one() { # name, then command...
	local name=$1; shift
	local log="$LOGDIR/${name//\//_}.log"
	local start=$SECONDS
	if "$@" >"$log" 2>&1; then
		passed=$((passed + 1))
		printf 'PASS  %-50s %3ds\n' "$name" $((SECONDS - start))
	else
		local rc=$?
		failed=$((failed + 1))
		failed_names+=("$name")
		printf 'FAIL  %-50s %3ds (exit %d, log %s)\n' "$name" $((SECONDS - start)) "$rc" "$log"
		tail -n 30 "$log" | sed 's/^/      | /'
	fi
}

if [ $run_unit = 1 ]; then
	modes="nohuge"
	if have_hugepages; then modes="huge nohuge"; fi
	for t in build/test/unit/*/*_ut; do
		[ -x "$t" ] || continue
		[ -n "$pattern" ] && [[ "$t" != *$pattern* ]] && continue
		for m in $modes; do
			if [ $m = nohuge ]; then
				run_one "unit/${t#build/test/unit/}[$m]" env BRISK_TEST_NO_HUGE=1 timeout -k 10 "$UNIT_TIMEOUT" "$t"
			else
				run_one "unit/${t#build/test/unit/}[$m]" timeout -k 10 "$UNIT_TIMEOUT" "$t"
			fi
		done
	done
fi

if [ $run_func = 1 ]; then
	for t in test/functional/*.sh test/functional/*.py; do
		[ -x "$t" ] || continue
		[ -n "$pattern" ] && [[ "$t" != *$pattern* ]] && continue
		run_one "${t#test/}" timeout -k 10 "$FUNC_TIMEOUT" "$t"
	done
fi

echo
if [ $failed -gt 0 ]; then
	echo "failed tests: ${failed_names[*]}"
fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
