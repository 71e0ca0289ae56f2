#!/bin/bash
# The installed libraries export the brisk_ API and nothing else, and no
# library uses one above it in the Makefile's layer order (LIB_NAMES).
# Every installed libbrisk_*.a / libbrisk_*.so is checked with nm, found by
# name, so a library added to the tree is checked without editing this file.
# Then a program that defines Brisk's internal names itself (lvol_free ...)
# links with `pkg-config --libs brisk` (and brisk-shared when built).
set -u
cd "$(dirname "$0")/../.." || exit 1
WORK=$(mktemp -d /tmp/brisk_symbols.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

PREFIX=/opt/brisk-sym
LIBDIR=$WORK/root$PREFIX/lib
make -s DESTDIR="$WORK/root" CONFIG_PREFIX="$PREFIX" install >"$WORK/install.log" 2>&1 ||
	{ tail -20 "$WORK/install.log"; fail "make install"; }
read -r -a order <<<"$(make -s print-lib-names)"
[ ${#order[@]} -gt 0 ] || fail "make print-lib-names printed no library"
shopt -s nullglob
libs=("$LIBDIR"/libbrisk_*.a "$LIBDIR"/libbrisk_*.so)
[ ${#libs[@]} -ge ${#order[@]} ] || fail "${#libs[@]} libraries installed, ${#order[@]} in LIB_NAMES"
echo "ok: ${#libs[@]} installed libraries found (${#order[@]} in the layer order)"

# One table for every library: "LIB KIND SYMBOL", KIND D (defined global) or
# U (undefined). A .so's version node (BRISK_0, type A) names its export
# list; it is not code. nm -A prefixes each line with the file name.
symtab() {
	{
		nm -A -g "${libs[@]}" | grep '\.a:'
		nm -A -D "${libs[@]}" | grep '\.so:' | sed 's/@[^ ]*$//'
	} | awk '{
		lib = $1; sub(/:.*/, "", lib); sub(/.*\/libbrisk_/, "", lib); sub(/\.(a|so)$/, "", lib)
		kind = (NF == 3) ? $2 : "U"; sym = $NF
		if (kind == "U" || kind == "w" || kind == "v") print lib, "U", sym
		else if (kind != "A") print lib, "D", sym
	}' | sort -u
}
symtab >"$WORK/symtab.txt" 2>"$WORK/nm.err" || fail "nm: $(head -3 "$WORK/nm.err")"
awk '$2 == "D" && $3 !~ /^brisk_/' "$WORK/symtab.txt" >"$WORK/leaks.txt"
if [ -s "$WORK/leaks.txt" ]; then
	awk '{n[$1]++; if (n[$1] <= 10) s[$1] = s[$1] " " $3}
	     END {for (l in n) printf "FAIL: libbrisk_%s exports %d names outside brisk_:%s\n", l, n[l], s[l]}' "$WORK/leaks.txt"
	exit 1
fi
echo "ok: every installed library exports only brisk_ symbols"

# Each library's layer is its position in the order (0 = highest); a
# library's undefined symbol defined by a library of a lower number is a use
# of a layer above it.
printf '%s\n' "${order[@]}" >"$WORK/order.txt"
awk 'FILENAME == ARGV[1] {layer[$1] = FNR; next}
     !($1 in layer) {
	if (!($1 in told)) print "FAIL: libbrisk_" $1 " is installed but not in the Makefile'"'"'s LIB_NAMES"
	told[$1] = 1; bad = 1; next
     }
     $2 == "D" {def[$3] = $1; next}
     {use[++n] = $1 " " $3}
     END {
	for (i = 1; i <= n; i++) {
		split(use[i], u, " ")
		d = def[u[2]]
		if (d != "" && layer[d] < layer[u[1]]) {
			print "FAIL: libbrisk_" u[1] " uses " u[2] " of libbrisk_" d ", a layer above it"; bad = 1
		}
	}
	exit bad
     }' "$WORK/order.txt" "$WORK/symtab.txt" || exit 1
echo "ok: no library uses one above it in LIB_NAMES"

# A program with its own functions named like Brisk's internal ones (taken
# from the tree's internal archives) links with the installed libraries.
nm -g --defined-only build/lib/libbrisk_*.a 2>/dev/null | awk '$2 == "T" && $3 !~ /^brisk_/ {print $3}' |
	sort -u | head -40 >"$WORK/internal.txt"
[ -s "$WORK/internal.txt" ] || fail "no internal function names found in build/lib"
{
	echo '#include <brisk/env.h>'
	sed 's/.*/void &(void); void &(void) {}/' "$WORK/internal.txt"
	echo 'int main(void) { struct brisk_env_opts o; brisk_env_opts_init(&o); return o.name == NULL; }'
} >"$WORK/clash.c"
pc() { PKG_CONFIG_PATH=$LIBDIR/pkgconfig pkg-config --define-variable=prefix="$WORK/root$PREFIX" "$@"; }
pcs=(brisk)
[ -f "$LIBDIR/pkgconfig/brisk-shared.pc" ] && pcs+=(brisk-shared)
for p in "${pcs[@]}"; do
	# shellcheck disable=SC2046
	cc -std=gnu11 $(pc --cflags "$p") -o "$WORK/clash_$p" "$WORK/clash.c" $(pc --libs "$p") >"$WORK/cc.log" 2>&1 ||
		{ head -20 "$WORK/cc.log"; fail "a program defining $(wc -l <"$WORK/internal.txt") of Brisk's internal names does not link with $p.pc"; }
	LD_LIBRARY_PATH=$LIBDIR timeout 30 "$WORK/clash_$p" || fail "the program linked with $p.pc exited $?"
	echo "ok: a program defining $(wc -l <"$WORK/internal.txt") of Brisk's internal names (e.g. $(head -1 "$WORK/internal.txt")) links and runs with $p.pc"
done
