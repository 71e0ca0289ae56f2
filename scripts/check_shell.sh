#!/bin/bash
# Runs shellcheck (warnings and errors) on every tracked shell script: *.sh files
# and files whose first line runs sh or bash. A finding is fixed, or
# disabled at its line with a comment saying why.
# Usage: scripts/check_shell.sh
set -euo pipefail
cd "$(dirname "$0")/.." || exit 1
command -v shellcheck >/dev/null || { echo "check_shell: shellcheck is not installed (scripts/pkgdep.sh)" >&2; exit 1; }
mapfile -t files < <({
	git ls-files '*.sh'
	git ls-files -z | xargs -0 awk 'FNR == 1 && /^#! *\/bin\/(ba)?sh/ {print FILENAME} {nextfile}'
} | sort -u)
shellcheck -S warning -f gcc "${files[@]}"
echo "check_shell: ${#files[@]} scripts, no shellcheck warnings"
