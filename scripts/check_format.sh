#!/bin/bash
# Checks that the C lines a change touches follow .clang-format. Only the
# changed lines are checked (git clang-format), so the tree is brought to the
# style file by file as it is edited, not in one reformatting commit.
# Usage: scripts/check_format.sh [BASE]
#   BASE: commit to compare with (default: $BRISK_FORMAT_BASE, else the merge
#   base with main when HEAD is not on main, else the previous commit).
set -euo pipefail
cd "$(dirname "$0")/.." || exit 1
command -v git-clang-format >/dev/null ||
	{ echo "check_format: git-clang-format is not installed (clang-format, scripts/pkgdep.sh)" >&2; exit 1; }
base=${1:-${BRISK_FORMAT_BASE:-}}
if [ -z "$base" ]; then
	if git rev-parse -q --verify main >/dev/null && [ "$(git merge-base HEAD main)" != "$(git rev-parse HEAD)" ]; then
		base=$(git merge-base HEAD main)
	elif git rev-parse -q --verify HEAD~1 >/dev/null; then
		base=HEAD~1
	else
		echo "check_format: no earlier commit to compare with; nothing to check"
		exit 0
	fi
fi
out=$(git clang-format --diff --extensions c,h "$base" -- 2>&1) || true
case $out in
"" | *"no modified files to format"* | *"did not modify any files"*)
	echo "check_format: lines changed since $(git rev-parse --short "$base") follow .clang-format"
	;;
*)
	echo "$out"
	echo "check_format: the changes above are needed (run: git clang-format $base)" >&2
	exit 1
	;;
esac
