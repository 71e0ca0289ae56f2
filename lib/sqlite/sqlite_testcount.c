/*
 * SQLite's test harness (testfixture, built with SQLITE_TEST) counts the
 * syncs and open files of its VFS in globals its Tcl tests read
 * (sqlite_sync_count, sqlite_fullsync_count, sqlite_open_file_count: e.g.
 * trans.test checks that commits sync, exclusive.test that a journal stays
 * open). The unix VFS keeps them in os_unix.c; the brisk VFS keeps the same
 * counts when linked into such a harness. The references are weak, so in an
 * ordinary SQLite (no such globals) they are NULL and nothing is counted.
 * The same harness simulates a full disk (sqlite_diskfull_pending, e.g.
 * diskfull.test) inside the unix VFS's xWrite and xSync; the brisk VFS
 * honours it at the same calls.
 */
#include "sqlite_internal.h"

extern int sqlite3_sync_count __attribute__((weak));
extern int sqlite3_fullsync_count __attribute__((weak));
extern int sqlite3_open_file_count __attribute__((weak));
extern int sqlite3_diskfull_pending __attribute__((weak));
extern int sqlite3_diskfull __attribute__((weak));
extern int sqlite3_io_error_hit __attribute__((weak));
extern int sqlite3_io_error_hardhit __attribute__((weak));
extern int sqlite3_io_error_benign __attribute__((weak));

void brisk_sqlite_count_open(int delta)
{
	if (&sqlite3_open_file_count != NULL) {
		sqlite3_open_file_count += delta;
	}
}

/* As os_unix.c counts: one per sync (a FULL one also as a full sync), and
 * one more at the first sync of a new journal or WAL, where the unix VFS
 * also syncs the directory (on the store the same sync makes the new name
 * durable). */
void brisk_sqlite_count_sync(struct brisk_sqlite_file *file, int flags)
{
	if (&sqlite3_sync_count == NULL || &sqlite3_fullsync_count == NULL) {
		return;
	}
	if ((flags & 0x0F) == SQLITE_SYNC_FULL) {
		sqlite3_fullsync_count++;
	}
	sqlite3_sync_count++;
	if (file->new_journal) {
		file->new_journal = false;
		sqlite3_sync_count++;
	}
}

/* As os_common.h's SimulateDiskfullError: the pending count runs down to 1,
 * then every write and sync fails with SQLITE_FULL (and counts as an I/O
 * error hit) until the test resets it. */
bool brisk_sqlite_sim_diskfull(void)
{
	if (&sqlite3_diskfull_pending == NULL || &sqlite3_diskfull == NULL || &sqlite3_io_error_hit == NULL ||
	    &sqlite3_io_error_hardhit == NULL || &sqlite3_io_error_benign == NULL || sqlite3_diskfull_pending == 0) {
		return false;
	}
	if (sqlite3_diskfull_pending != 1) {
		sqlite3_diskfull_pending--;
		return false;
	}
	if (!sqlite3_io_error_benign) {
		sqlite3_io_error_hardhit++;
	}
	sqlite3_diskfull = 1;
	sqlite3_io_error_hit = 1;
	return true;
}
