#!/bin/bash
# clang's static analyzer (scan-build) on the C files a change touches: the
# whole tree takes ~45 min on two loaded cores, one changed file seconds.
# Each finding is fixed or suppressed at its site with a one-line reason
# (see CONTRIBUTING.md); any finding fails the check. A changed header is not
# followed to the files that include it: the full run (--all) covers that.
# Usage: scripts/check_scan_build.sh [--all | --files FILE... | BASE]
#   in a tree configured with --cc=clang (objects already built or not).
#   --files: these files (paths from the top; other than build sources skipped),
#   for a copy of the tree without .git (CI's scratch copies).
#   BASE: commit to compare with (default: $BRISK_SCAN_BASE, else the merge
#   base with main when HEAD is not on main, else the previous commit).
#   --all: every library, module, program, example and unit test.
set -euo pipefail
cd "$(dirname "$0")/.." || exit 1
command -v scan-build >/dev/null ||
	{ echo "check_scan_build: scan-build is not installed (clang-tools, scripts/pkgdep.sh)" >&2; exit 1; }
grep -q '^CONFIG_CC_KIND := clang' mk/config.mk ||
	{ echo "check_scan_build: configure with --cc=clang first" >&2; exit 1; }

# The base commit, chosen as scripts/check_format.sh does.
pick_base() {
	if git rev-parse -q --verify main >/dev/null && [ "$(git merge-base HEAD main)" != "$(git rev-parse HEAD)" ]; then
		git merge-base HEAD main
	elif git rev-parse -q --verify HEAD~1 >/dev/null; then
		echo HEAD~1
	fi
}

# Of the files named on stdin, the sources the build compiles into build/obj
# (fio's plugin builds elsewhere) that still exist.
build_sources() {
	local f
	while read -r f; do
		case $f in
		app/fio/*) ;;
		lib/*.c | module/*.c | app/*.c | test/*.c | examples/*.c) [ -f "$f" ] && echo "$f" ;;
		esac
	done
	return 0
}

if [ "${1:-}" = --all ]; then
	targets=(all)
	what="the whole tree"
else
	if [ "${1:-}" = --files ]; then
		shift
		mapfile -t srcs < <(printf '%s\n' "$@" | build_sources)
		what="${#srcs[@]} file(s) named"
	else
		base=${1:-${BRISK_SCAN_BASE:-$(pick_base)}}
		[ -n "$base" ] || { echo "check_scan_build: no earlier commit to compare with; nothing to check"; exit 0; }
		mapfile -t srcs < <(git diff --name-only "$base" | build_sources)
		what="${#srcs[@]} file(s) changed since $(git rev-parse --short "$base")"
	fi
	if [ ${#srcs[@]} -eq 0 ]; then
		echo "check_scan_build: no C source to analyze"
		exit 0
	fi
	targets=()
	for s in "${srcs[@]}"; do
		targets+=("build/obj/${s%.c}.o")
	done
	# Objects already built would not be compiled, so not analyzed.
	rm -f "${targets[@]}"
fi
out=$(mktemp -d /tmp/brisk_scan.XXXXXX)
trap 'rm -rf "$out"' EXIT
if ! nice scan-build -o "$out" --status-bugs make -j2 "${targets[@]}" >"$out/build.log" 2>&1; then
	grep -E 'warning:|error:|bugs? found' "$out/build.log" || tail -30 "$out/build.log"
	echo "check_scan_build: findings in $what (fix, or suppress at the site with a reason)" >&2
	exit 1
fi
echo "check_scan_build: no finding in $what"
