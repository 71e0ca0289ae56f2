#!/bin/sh
# Writes brisk.pc to stdout: gen_pc.sh PREFIX "LIB NAMES" "SYSTEM LIBS"
prefix=$1
libs=""
for l in $2; do libs="$libs -lbrisk_$l"; done
cat <<PC
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: brisk
Description: Brisk userspace storage stack
Version: 0.1.0
Cflags: -I\${includedir} -pthread
Libs: -L\${libdir} -Wl,--whole-archive$libs -Wl,--no-whole-archive $3 -pthread
PC
