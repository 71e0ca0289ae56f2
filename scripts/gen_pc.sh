#!/bin/sh
# Writes brisk.pc to stdout:
#   gen_pc.sh PREFIX "LIB NAMES" "SYSTEM LIBS" ["SANITIZER FLAGS"] [shared]
# brisk.pc links the static archives by file name (-l:libbrisk_x.a), whole,
# even where the shared libraries are installed beside them; with "shared"
# the file is brisk-shared.pc, which links libbrisk_x.so, every one kept
# (--no-as-needed: modules register themselves from constructors).
# Sanitizer flags (those the libraries were compiled with) go in Cflags, so a
# program is built like Brisk's own, and their -fsanitize= options in Libs:
# instrumented archives need the sanitizer runtimes at link time.
prefix=$1
libs=""
shared=${5:-}
for l in $2; do
	if [ "$shared" = shared ]; then libs="$libs -lbrisk_$l"; else libs="$libs -l:libbrisk_$l.a"; fi
done
if [ "$shared" = shared ]; then
	link="-Wl,--no-as-needed$libs"
	name=brisk-shared
else
	link="-Wl,--whole-archive$libs -Wl,--no-whole-archive"
	name=brisk
fi
san_cflags=""
san_libs=""
for f in ${4:-}; do
	san_cflags="$san_cflags $f"
	case $f in -fsanitize=*) san_libs="$san_libs $f" ;; esac
done
cat <<PC
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: $name
Description: Brisk userspace storage stack
Version: 0.1.0
Cflags: -I\${includedir} -pthread$san_cflags
Libs: -L\${libdir} $link $3 -pthread$san_libs
PC
