#!/bin/bash
# cppcheck (warning and portability checks) on the C sources of the
# libraries, modules, programs and examples. A finding is fixed, or
# suppressed at its line with "// cppcheck-suppress <id>" and the reason.
# Usage: scripts/check_cppcheck.sh
set -euo pipefail
cd "$(dirname "$0")/.." || exit 1
command -v cppcheck >/dev/null || { echo "check_cppcheck: cppcheck is not installed (scripts/pkgdep.sh)" >&2; exit 1; }
# The TAILQ/STAILQ macros: cppcheck reads no system header by itself, and
# without these the structures that hold lists do not parse.
queue_h=$(find /usr/include -path '*/sys/queue.h' | head -1)
[ -n "$queue_h" ] || { echo "check_cppcheck: sys/queue.h not found" >&2; exit 1; }
cppcheck -q --enable=warning,portability --inline-suppr --error-exitcode=1 \
	--std=c11 -D__GNUC__ -D_GNU_SOURCE -D__x86_64__ -Iinclude --include="$queue_h" \
	--suppress=missingIncludeSystem --template=gcc lib module app examples
echo "check_cppcheck: no findings"
