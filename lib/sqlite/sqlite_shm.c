/*
 * The WAL index (SQLite's -shm) of the brisk VFS. Only one process can use
 * a store, so the index never needs a file: its regions are ordinary memory
 * shared by the connections of this process through the database's node,
 * freed when the last connection unmaps it (SQLite rebuilds the index from
 * the WAL on the next open, as it does after a crash). The 8 lock slots
 * follow SQLite's shm rules: many readers or one writer per slot.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite_internal.h"

static struct brisk_sqlite_shm *shm_attach(struct brisk_sqlite_node *node)
{
	if (node->shm == NULL) {
		node->shm = calloc(1, sizeof(*node->shm));
		if (node->shm == NULL) {
			return NULL;
		}
	}
	return node->shm;
}

/* Caller holds the mutex: grows the region array to at least n regions. */
static int shm_grow(struct brisk_sqlite_shm *shm, int n, int size)
{
	void **regions = realloc(shm->regions, sizeof(void *) * n);

	if (regions == NULL) {
		return SQLITE_NOMEM;
	}
	shm->regions = regions;
	while (shm->nregion < n) {
		regions[shm->nregion] = calloc(1, size);
		if (regions[shm->nregion] == NULL) {
			return SQLITE_NOMEM;
		}
		shm->nregion++;
	}
	return SQLITE_OK;
}

int brisk_sqlite_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **pp)
{
	struct brisk_sqlite_file *file = (struct brisk_sqlite_file *)f;
	struct brisk_sqlite_shm *shm;
	int rc = SQLITE_OK;

	*pp = NULL;
	brisk_sqlite_mutex_enter();
	shm = shm_attach(file->node);
	if (shm == NULL) {
		rc = SQLITE_NOMEM;
	} else if (!file->shm_mapped) {
		file->shm_mapped = true;
		file->node->refs++;
		shm->links++;
		shm->region_size = size;
	}
	if (rc == SQLITE_OK && shm->region_size != size) {
		rc = SQLITE_IOERR_SHMSIZE;
	}
	if (rc == SQLITE_OK && region >= shm->nregion && extend) {
		rc = shm_grow(shm, region + 1, size);
	}
	if (rc == SQLITE_OK && region >= 0 && region < shm->nregion && shm->regions != NULL) {
		*pp = shm->regions[region];
	}
	brisk_sqlite_mutex_leave();
	return rc;
}

/* Caller holds the mutex: are slots [offset, offset+n) free for this handle? */
static bool shm_can_lock(struct brisk_sqlite_file *file, struct brisk_sqlite_shm *shm,
			 int offset, int n, bool excl)
{
	for (int i = offset; i < offset + n; i++) {
		uint16_t bit = 1u << i;
		int others = shm->shared[i] - ((file->shm_shared & bit) ? 1 : 0);

		if ((shm->excl[i] && !(file->shm_excl & bit)) || (excl && others > 0)) {
			return false;
		}
	}
	return true;
}

/* Caller holds the mutex. */
static void shm_release(struct brisk_sqlite_file *file, struct brisk_sqlite_shm *shm,
			int offset, int n)
{
	for (int i = offset; i < offset + n; i++) {
		uint16_t bit = 1u << i;

		if (file->shm_excl & bit) {
			shm->excl[i] = false;
		}
		if (file->shm_shared & bit) {
			shm->shared[i]--;
		}
		file->shm_excl &= ~bit;
		file->shm_shared &= ~bit;
	}
}

/* Caller holds the mutex. */
static void shm_take(struct brisk_sqlite_file *file, struct brisk_sqlite_shm *shm,
		     int offset, int n, bool excl)
{
	for (int i = offset; i < offset + n; i++) {
		uint16_t bit = 1u << i;

		if (excl && !(file->shm_excl & bit)) {
			shm->excl[i] = true;
			file->shm_excl |= bit;
		} else if (!excl && !(file->shm_shared & bit) && !(file->shm_excl & bit)) {
			shm->shared[i]++;
			file->shm_shared |= bit;
		}
	}
}

int brisk_sqlite_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	struct brisk_sqlite_file *file = (struct brisk_sqlite_file *)f;
	struct brisk_sqlite_shm *shm = file->node->shm;
	bool excl = (flags & SQLITE_SHM_EXCLUSIVE) != 0;
	int rc = SQLITE_OK;

	if (shm == NULL || !file->shm_mapped || offset < 0 || n < 1 ||
	    offset + n > SQLITE_SHM_NLOCK) {
		return SQLITE_IOERR_SHMLOCK;
	}
	brisk_sqlite_mutex_enter();
	if (flags & SQLITE_SHM_UNLOCK) {
		shm_release(file, shm, offset, n);
	} else if (shm_can_lock(file, shm, offset, n, excl)) {
		shm_take(file, shm, offset, n, excl);
	} else {
		rc = SQLITE_BUSY;
	}
	brisk_sqlite_mutex_leave();
	return rc;
}

void brisk_sqlite_shm_barrier(sqlite3_file *f)
{
	/* A full fence, and the mutex orders it with the lock calls. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	brisk_sqlite_mutex_enter();
	brisk_sqlite_mutex_leave();
}

/* Caller holds the mutex. */
static void shm_free(struct brisk_sqlite_shm *shm)
{
	for (int i = 0; i < shm->nregion; i++) {
		free(shm->regions[i]);
	}
	free(shm->regions);
	free(shm);
}

int brisk_sqlite_shm_unmap(sqlite3_file *f, int delete_flag)
{
	struct brisk_sqlite_file *file = (struct brisk_sqlite_file *)f;
	struct brisk_sqlite_node *node = file->node;

	if (!file->shm_mapped) {
		return SQLITE_OK;
	}
	brisk_sqlite_mutex_enter();
	shm_release(file, node->shm, 0, SQLITE_SHM_NLOCK);
	file->shm_mapped = false;
	if (--node->shm->links == 0) {
		/* Nobody else reads it: the next opener rebuilds it from the WAL. */
		shm_free(node->shm);
		node->shm = NULL;
	}
	brisk_sqlite_mutex_leave();
	brisk_sqlite_node_put(node);
	return SQLITE_OK;
}

/* Caller holds the mutex: the live index of database db, or NULL. */
static struct brisk_sqlite_shm *shm_of(const char *db)
{
	struct brisk_sqlite_node *node = brisk_sqlite_node_find(db);

	return node != NULL && node->shm != NULL && node->shm->links > 0 ? node->shm : NULL;
}

int64_t brisk_sqlite_shm_file_size(const char *db)
{
	struct brisk_sqlite_shm *shm;
	int64_t size = -ENOENT;

	brisk_sqlite_mutex_enter();
	shm = shm_of(db);
	if (shm != NULL) {
		size = (int64_t)shm->nregion * shm->region_size;
	}
	brisk_sqlite_mutex_leave();
	return size;
}

/* Caller holds the mutex: copies between buf and the regions, growing them
 * for a write past the end as the unix VFS's file would grow. */
static int64_t shm_copy(struct brisk_sqlite_shm *shm, uint64_t off, char *buf, uint64_t n, bool write)
{
	uint64_t size = (uint64_t)shm->nregion * shm->region_size, done = 0;

	if (write && off + n > size &&
	    shm_grow(shm, (int)((off + n + shm->region_size - 1) / shm->region_size), shm->region_size) != 0) {
		return -ENOMEM;
	}
	size = (uint64_t)shm->nregion * shm->region_size;
	while (done < n && off + done < size) {
		uint64_t at = off + done, in = at % shm->region_size;
		uint64_t len = shm->region_size - in < n - done ? shm->region_size - in : n - done;
		char *region = shm->regions[at / shm->region_size];

		memcpy(write ? region + in : buf + done, write ? buf + done : region + in, len);
		done += len;
	}
	return (int64_t)done;
}

int64_t brisk_sqlite_shm_file_io(const char *db, uint64_t off, void *buf, uint64_t n, bool write)
{
	struct brisk_sqlite_shm *shm;
	int64_t rc = -ENOENT;

	brisk_sqlite_mutex_enter();
	shm = shm_of(db);
	if (shm != NULL && shm->region_size > 0) {
		rc = shm_copy(shm, off, buf, n, write);
	}
	brisk_sqlite_mutex_leave();
	return rc;
}

/* Caller holds the mutex: the tail of node's name if it is directly in dir. */
static const char *shm_tail_in(struct brisk_sqlite_node *node, const char *dir)
{
	size_t dlen = strlen(dir);

	if (node->shm == NULL || node->shm->links == 0 || strncmp(node->name, dir, dlen) != 0 ||
	    node->name[dlen] != '/' || strchr(node->name + dlen + 1, '/') != NULL) {
		return NULL;
	}
	return node->name + dlen + 1;
}

char *brisk_sqlite_shm_file_list(const char *dir)
{
	struct brisk_sqlite_node *node;
	size_t len = 1;
	char *out;

	brisk_sqlite_mutex_enter();
	for (node = brisk_sqlite_nodes(); node != NULL; node = node->next) {
		len += shm_tail_in(node, dir) ? strlen(node->name) + 5 : 0;
	}
	out = calloc(1, len);
	for (node = brisk_sqlite_nodes(); out != NULL && node != NULL; node = node->next) {
		const char *tail = shm_tail_in(node, dir);

		if (tail != NULL) {
			strcat(out, tail);
			strcat(out, "-shm\n");
		}
	}
	brisk_sqlite_mutex_leave();
	return out;
}
