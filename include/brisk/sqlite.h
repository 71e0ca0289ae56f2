/*
 * Brisk's SQLite VFS ("brisk"): SQLite databases on a blobfs (blobfs.h) on a
 * Brisk bdev, with no kernel file system under them. Use it as a loadable
 * extension (build/lib/libbrisk_sqlite.so) or link build/lib/libbrisk_sqlite.a
 * into a program that links SQLite and call brisk_sqlite_vfs_register.
 * Where the store lives: doc/sqlite.md (BRISK_SQLITE_CONFIG,
 * BRISK_SQLITE_BDEV, or the URI parameters brisk_config= and brisk_bdev=).
 */
#ifndef BRISK_SQLITE_H
#define BRISK_SQLITE_H

#ifdef __cplusplus
extern "C" {
#endif

/* Registers the "brisk" VFS (the default VFS when make_default is non-zero).
 * The store is started on the first open. An SQLite result code. */
int brisk_sqlite_vfs_register(int make_default);

/* For SQLite's -DSQLITE_EXTRA_INIT=brisk_sqlite_extra_init (SQLite's test
 * harness, speedtest1): registers the VFS at every sqlite3_initialize, as
 * the default when BRISK_SQLITE_DEFAULT=1. */
int brisk_sqlite_extra_init(const char *unused);

#ifdef __cplusplus
}
#endif

#endif
