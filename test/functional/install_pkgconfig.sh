#!/bin/bash
# `make install` into a scratch DESTDIR, then build an outside program with
# nothing but `pkg-config --cflags --libs brisk` and run it: it reserves
# memory, passes objects through a ring and a mempool, and releases all.
set -u
cd "$(dirname "$0")/../.." || exit 1
WORK=$(mktemp -d /tmp/brisk_install_test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

PREFIX=/opt/brisk-test
make -s DESTDIR="$WORK/root" CONFIG_PREFIX="$PREFIX" install >"$WORK/install.log" 2>&1 ||
	{ tail -20 "$WORK/install.log"; fail "make install"; }
PCDIR=$WORK/root$PREFIX/lib/pkgconfig
[ -f "$PCDIR/brisk.pc" ] || fail "brisk.pc not installed"
[ -f "$WORK/root$PREFIX/include/brisk/env.h" ] || fail "headers not installed"
echo "ok: installed under DESTDIR with brisk.pc"

# The .pc names the final prefix; point pkg-config at the DESTDIR copy.
pc() { PKG_CONFIG_PATH=$PCDIR pkg-config --define-variable=prefix="$WORK/root$PREFIX" "$@" brisk; }

cat >"$WORK/outside.c" <<'EOF'
#include <stdio.h>
#include <brisk/env.h>
#include <brisk/ring.h>
#include <brisk/mempool.h>

int main(void)
{
	struct brisk_env_opts opts;
	struct brisk_mempool *mp;
	struct brisk_ring *r;
	void *obj, *back;

	brisk_env_opts_init(&opts);
	opts.name = "outside";
	opts.no_huge = true;
	opts.mem_size_mb = 32;
	if (brisk_env_init(&opts) != 0) {
		return 1;
	}
	mp = brisk_mempool_create("outside_mp", 63, 64, 0, -1);
	r = brisk_ring_create("outside_ring", 64, -1, 0);
	if (mp == NULL || r == NULL || brisk_mempool_get(mp, &obj) != 0 ||
	    brisk_ring_enqueue_bulk(r, &obj, 1, NULL) != 1 ||
	    brisk_ring_dequeue_bulk(r, &back, 1, NULL) != 1 || back != obj) {
		return 2;
	}
	brisk_mempool_put(mp, obj);
	printf("outside program: ring and mempool work (%u free)\n", brisk_mempool_avail_count(mp));
	brisk_ring_free(r);
	brisk_mempool_free(mp);
	brisk_env_fini();
	return 0;
}
EOF
# shellcheck disable=SC2046
cc -std=gnu11 -Wall -Werror $(pc --cflags) -o "$WORK/outside" "$WORK/outside.c" $(pc --libs) \
	>"$WORK/cc.log" 2>&1 || { cat "$WORK/cc.log"; fail "outside program does not build with pkg-config"; }
echo "ok: outside program builds with pkg-config --cflags --libs brisk"
timeout 60 "$WORK/outside" || fail "outside program exited $?"
echo "ok: outside program runs"

# brisk.pc carries the sanitizer flags of a sanitizer build, and only then:
# instrumented archives need the sanitizer runtimes where they are linked.
# First the installed file against this tree's configuration...
pcfield() { sed -n "s/^$1: //p" "$2"; }
want=""
grep -q '^CONFIG_ASAN := y' mk/config.mk && want="$want -fsanitize=address"
grep -q '^CONFIG_UBSAN := y' mk/config.mk && want="$want -fsanitize=undefined"
for field in Cflags Libs; do
	got=$(pcfield "$field" "$PCDIR/brisk.pc" | grep -o -- '-fsanitize=[a-z,]*' | sed 's/^/ /' | tr -d '\n')
	[ "$got" = "$want" ] || fail "installed brisk.pc $field has sanitizer flags '$got', the build has '$want'"
done
echo "ok: installed brisk.pc has the build's sanitizer flags ('${want# }')"

# ...then the file written by `make pc` after configure runs in a scratch copy
# of the build files (no compiling: fast).
mkdir -p "$WORK/cfg"
cp -r configure Makefile mk scripts lib module "$WORK/cfg/"
rm -f "$WORK/cfg/mk/config.mk"
pc_of() { # configure args...: brisk.pc of that configuration in $WORK/cfg/build/brisk.pc
	(cd "$WORK/cfg" && ./configure "$@" >"$WORK/configure.log" 2>&1 && make -s pc >>"$WORK/configure.log" 2>&1) ||
		{ cat "$WORK/configure.log"; fail "configure $* && make pc"; }
}
pc_of
cp "$WORK/cfg/build/brisk.pc" "$WORK/plain.pc"
grep -q -- -fsanitize "$WORK/plain.pc" && fail "brisk.pc of a plain build has sanitizer flags: $(cat "$WORK/plain.pc")"
pc_of --enable-asan --enable-ubsan
san=$WORK/cfg/build/brisk.pc
for field in Cflags Libs; do
	for f in -fsanitize=address -fsanitize=undefined; do
		pcfield "$field" "$san" | grep -q -- " $f\b" || fail "ASan+UBSan brisk.pc $field lacks $f: $(pcfield "$field" "$san")"
	done
done
pcfield Cflags "$san" | grep -q -- "-fno-sanitize-recover=undefined" ||
	fail "ASan+UBSan brisk.pc Cflags lack the build's -fno-sanitize-recover=undefined"
[ "$(pcfield Libs "$san" | sed 's/ -fsanitize=[a-z]*//g')" = "$(pcfield Libs "$WORK/plain.pc")" ] ||
	fail "ASan+UBSan brisk.pc Libs differ from the plain ones beyond the sanitizer flags"
pc_of --enable-ubsan
pcfield Libs "$WORK/cfg/build/brisk.pc" | grep -q -- "-fsanitize=address" && fail "UBSan-only brisk.pc asks for ASan"
pcfield Libs "$WORK/cfg/build/brisk.pc" | grep -q -- "-fsanitize=undefined" || fail "UBSan-only brisk.pc lacks -fsanitize=undefined"
echo "ok: brisk.pc of configure --enable-asan --enable-ubsan carries -fsanitize=address,undefined; plain and UBSan-only ones what they should"
