/*
 * File locks of the brisk VFS. SQLite's lock levels (SHARED, RESERVED,
 * PENDING, EXCLUSIVE) must hold between the connections of this process that
 * open the same database; no other process can reach the store (the mount
 * refuses a second one), so the state lives in one node per file name,
 * under one process-wide mutex. The rules follow SQLite's locking protocol:
 * many SHARED, at most one RESERVED beside them, PENDING keeps new readers
 * out while a writer waits for the last ones to leave, EXCLUSIVE alone.
 */
#include <stdlib.h>
#include <string.h>

#include "sqlite_internal.h"

static pthread_mutex_t g_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct brisk_sqlite_node *g_nodes;

void brisk_sqlite_mutex_enter(void)
{
	pthread_mutex_lock(&g_mutex);
}

void brisk_sqlite_mutex_leave(void)
{
	pthread_mutex_unlock(&g_mutex);
}

struct brisk_sqlite_node *brisk_sqlite_node_get(const char *name)
{
	struct brisk_sqlite_node *node;

	if (strlen(name) >= sizeof(node->name)) {
		return NULL;
	}
	brisk_sqlite_mutex_enter();
	for (node = g_nodes; node != NULL; node = node->next) {
		if (strcmp(node->name, name) == 0) {
			break;
		}
	}
	if (node == NULL && (node = calloc(1, sizeof(*node))) != NULL) {
		strcpy(node->name, name);
		node->next = g_nodes;
		g_nodes = node;
	}
	if (node != NULL) {
		node->refs++;
	}
	brisk_sqlite_mutex_leave();
	return node;
}

struct brisk_sqlite_node *brisk_sqlite_nodes(void) { return g_nodes; }

struct brisk_sqlite_node *brisk_sqlite_node_find(const char *name)
{
	struct brisk_sqlite_node *node;

	for (node = g_nodes; node != NULL; node = node->next) {
		if (strcmp(node->name, name) == 0) {
			break;
		}
	}
	return node;
}

/* Caller holds the mutex. */
static void node_put_locked(struct brisk_sqlite_node *node)
{
	struct brisk_sqlite_node **pp;

	if (--node->refs > 0) {
		return;
	}
	for (pp = &g_nodes; *pp != node; pp = &(*pp)->next) {
	}
	*pp = node->next;
	free(node);
}

void brisk_sqlite_node_put(struct brisk_sqlite_node *node)
{
	brisk_sqlite_mutex_enter();
	node_put_locked(node);
	brisk_sqlite_mutex_leave();
}

/* The lock step for a handle already allowed to try (see brisk_sqlite_lock). */
static int lock_step(struct brisk_sqlite_file *file, struct brisk_sqlite_node *node, int level)
{
	if (level == SQLITE_LOCK_SHARED) {
		node->shared++;
		if (node->level < SQLITE_LOCK_SHARED) {
			node->level = SQLITE_LOCK_SHARED;
		}
		file->level = SQLITE_LOCK_SHARED;
		return SQLITE_OK;
	}
	if (level == SQLITE_LOCK_EXCLUSIVE && node->shared > 1) {
		/* Keep new readers out while the others finish. */
		node->level = SQLITE_LOCK_PENDING;
		file->level = SQLITE_LOCK_PENDING;
		return SQLITE_BUSY;
	}
	node->level = level;
	file->level = level;
	return SQLITE_OK;
}

int brisk_sqlite_lock(sqlite3_file *f, int level)
{
	struct brisk_sqlite_file *file = (struct brisk_sqlite_file *)f;
	struct brisk_sqlite_node *node = file->node;
	int rc;

	if (file->level >= level) {
		return SQLITE_OK;
	}
	brisk_sqlite_mutex_enter();
	/* Another handle holds a lock that precludes this one: a PENDING or
	 * EXCLUSIVE lock bars everyone, a RESERVED one bars other writers. */
	if (file->level != node->level &&
	    (node->level >= SQLITE_LOCK_PENDING || level > SQLITE_LOCK_SHARED)) {
		rc = SQLITE_BUSY;
	} else {
		rc = lock_step(file, node, level);
	}
	brisk_sqlite_mutex_leave();
	return rc;
}

int brisk_sqlite_unlock(sqlite3_file *f, int level)
{
	struct brisk_sqlite_file *file = (struct brisk_sqlite_file *)f;
	struct brisk_sqlite_node *node = file->node;

	if (file->level <= level) {
		return SQLITE_OK;
	}
	brisk_sqlite_mutex_enter();
	if (file->level > SQLITE_LOCK_SHARED) {
		node->level = SQLITE_LOCK_SHARED;
	}
	if (level == SQLITE_LOCK_NONE && --node->shared == 0) {
		node->level = SQLITE_LOCK_NONE;
	}
	file->level = level;
	brisk_sqlite_mutex_leave();
	return SQLITE_OK;
}

int brisk_sqlite_check_reserved(sqlite3_file *f, int *out)
{
	struct brisk_sqlite_file *file = (struct brisk_sqlite_file *)f;

	brisk_sqlite_mutex_enter();
	*out = file->node->level > SQLITE_LOCK_SHARED;
	brisk_sqlite_mutex_leave();
	return SQLITE_OK;
}
