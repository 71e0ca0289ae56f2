/*
 * Entry points of the brisk VFS: the loadable extension's init function
 * (libbrisk_sqlite.so: `.load`, sqlite3_load_extension, Python's
 * load_extension) and the SQLITE_EXTRA_INIT hook for programs that compile
 * SQLite with the VFS linked in. BRISK_SQLITE_DEFAULT=1 makes "brisk" the
 * default VFS, so unmodified programs and test suites run on it.
 */
#include <stdlib.h>
#include <string.h>

#include "brisk/sqlite.h"
#include "sqlite_internal.h"

#ifdef BRISK_SQLITE_EXTENSION
SQLITE_EXTENSION_INIT1
#endif

static int want_default(void)
{
	const char *v = getenv("BRISK_SQLITE_DEFAULT");

	return v != NULL && strcmp(v, "1") == 0;
}

/* The VFS, and brisk_file() on every connection opened from now on. */
static int register_all(void)
{
	int rc = brisk_sqlite_vfs_register(want_default());

	return rc ? rc : sqlite3_auto_extension((void (*)(void))brisk_sqlite_register_functions);
}

int brisk_sqlite_extra_init(const char *unused)
{
	return register_all();
}

#ifdef BRISK_SQLITE_EXTENSION
int sqlite3_extension_init(sqlite3 *db, char **err, const sqlite3_api_routines *api);
int sqlite3_brisksqlite_init(sqlite3 *db, char **err, const sqlite3_api_routines *api);

int sqlite3_extension_init(sqlite3 *db, char **err, const sqlite3_api_routines *api)
{
	int rc;

	SQLITE_EXTENSION_INIT2(api);
	rc = register_all();
	if (rc == SQLITE_OK) {
		rc = brisk_sqlite_register_functions(db, err, api);
	}
	if (rc != SQLITE_OK) {
		*err = sqlite3_mprintf("brisk VFS: registration failed (%d)", rc);
		return rc;
	}
	/* The VFS must outlive the connection that loaded it. */
	return SQLITE_OK_LOAD_PERMANENTLY;
}

/* The name SQLite derives from "libbrisk_sqlite.so" when no entry is given
 * and sqlite3_extension_init is not found first. */
int sqlite3_brisksqlite_init(sqlite3 *db, char **err, const sqlite3_api_routines *api)
{
	return sqlite3_extension_init(db, err, api);
}
#endif
