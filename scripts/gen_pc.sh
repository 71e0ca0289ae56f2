#!/bin/sh
# Writes brisk.pc to stdout:
#   gen_pc.sh PREFIX "LIB NAMES" "SYSTEM LIBS" ["SANITIZER FLAGS"]
# Sanitizer flags (those the libraries were compiled with) go in Cflags, so a
# program is built like Brisk's own, and their -fsanitize= options in Libs:
# instrumented archives need the sanitizer runtimes at link time.
prefix=$1
libs=""
for l in $2; do libs="$libs -lbrisk_$l"; done
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

Name: brisk
Description: Brisk userspace storage stack
Version: 0.1.0
Cflags: -I\${includedir} -pthread$san_cflags
Libs: -L\${libdir} -Wl,--whole-archive$libs -Wl,--no-whole-archive $3 -pthread$san_libs
PC
