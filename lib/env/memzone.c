/*
 * Memzones: named, aligned reservations from the heaps, recorded in a fixed
 * table inside shared memory so that secondary processes find them by name.
 * Rings ("RG_" names) and mempools ("MP_" names) are built on them.
 *
 * The table is small enough (MEMZONE_TABLE_SIZE entries) that a linear scan
 * by name is fine: reserve, lookup and free are start-up / control-path
 * operations. Every access holds g_env_shared->lock, except the callbacks of
 * brisk_memzone_walk, which run with it released so that they may call
 * memzone functions themselves.
 */
#include <errno.h>
#include <string.h>

#include <brisk/log.h>

#include "heap.h"

#define MEMZONE_TABLE_SIZE 2048
#define MEMZONE_TABLE_MAGIC 0x454e4f5a4d454d42ull /* "BMEMZONE" */

struct env_memzone {
	char name[BRISK_MEMZONE_NAMESIZE];
	void *addr;
	uint64_t len;
	int32_t socket_id;
	uint32_t in_use;
};

struct env_memzone_table {
	uint64_t magic;
	uint32_t capacity;
	uint32_t count;
	struct env_memzone zones[MEMZONE_TABLE_SIZE];
};

int env_memzone_init(void)
{
	struct env_memzone_table *table;
	int socket_id;

	if (g_env_shared == NULL) {
		BRISK_ERRLOG("memzone init: env shared state not set up\n");
		return -EINVAL;
	}
	if (g_env_shared->memzones != NULL) {
		return 0;
	}
	/* Runs in the primary during init, before the memory is shared, so it
	 * needs no lock. Heap 0 when it exists, as the contract says. */
	socket_id = g_env_shared->heaps[0] != NULL ? 0 : BRISK_ENV_SOCKET_ID_ANY;
	table = env_heap_alloc_locked(socket_id, sizeof(*table), HEAP_DEFAULT_ALIGN, 0);
	if (table == NULL) {
		BRISK_ERRLOG("memzone init: no memory for the memzone table (%zu bytes)\n",
			     sizeof(*table));
		return -ENOMEM;
	}
	memset(table, 0, sizeof(*table));
	table->magic = MEMZONE_TABLE_MAGIC;
	table->capacity = MEMZONE_TABLE_SIZE;
	g_env_shared->memzones = table;
	return 0;
}

/* 0 or the errno for a bad name, logged. */
static int check_name(const char *name, const char *caller)
{
	size_t len;

	if (name == NULL) {
		BRISK_ERRLOG("%s: name is NULL\n", caller);
		return EINVAL;
	}
	len = strnlen(name, BRISK_MEMZONE_NAMESIZE);
	if (len == 0) {
		BRISK_ERRLOG("%s: name is empty\n", caller);
		return EINVAL;
	}
	if (len == BRISK_MEMZONE_NAMESIZE) {
		BRISK_ERRLOG("%s: name '%.*s...' is longer than %d characters\n", caller,
			     BRISK_MEMZONE_NAMESIZE - 1, name, BRISK_MEMZONE_NAMESIZE - 1);
		return ENAMETOOLONG;
	}
	return 0;
}

/* The table, or NULL (logged) before env init / memzone init. */
static struct env_memzone_table *memzone_table(const char *caller)
{
	if (g_env_shared == NULL || g_env_shared->memzones == NULL) {
		BRISK_ERRLOG("%s: memzones are not set up (brisk_env_init)\n", caller);
		return NULL;
	}
	return g_env_shared->memzones;
}

static struct env_memzone *find_locked(struct env_memzone_table *table, const char *name)
{
	uint32_t i;

	for (i = 0; i < table->capacity; i++) {
		struct env_memzone *mz = &table->zones[i];

		if (mz->in_use && strncmp(mz->name, name, BRISK_MEMZONE_NAMESIZE) == 0) {
			return mz;
		}
	}
	return NULL;
}

static struct env_memzone *find_unused_locked(struct env_memzone_table *table)
{
	uint32_t i;

	for (i = 0; i < table->capacity; i++) {
		if (!table->zones[i].in_use) {
			return &table->zones[i];
		}
	}
	return NULL;
}

static void fill_info(const struct env_memzone *mz, struct brisk_memzone_info *info)
{
	memset(info, 0, sizeof(*info));
	memcpy(info->name, mz->name, sizeof(info->name));
	info->addr = mz->addr;
	info->len = mz->len;
	info->socket_id = mz->socket_id;
	info->phys_addr = BRISK_VTOPHYS_ERROR; /* filled by the caller, outside the lock */
}

static void *memzone_reserve_locked(struct env_memzone_table *table, const char *name,
				    size_t len, int socket_id, size_t align)
{
	struct env_memzone *mz;
	struct heap_elem *elem;
	void *addr;

	if (find_locked(table, name) != NULL) {
		BRISK_ERRLOG("memzone '%s' already exists\n", name);
		errno = EEXIST;
		return NULL;
	}
	mz = find_unused_locked(table);
	if (mz == NULL) {
		BRISK_ERRLOG("memzone '%s': the memzone table is full (%u entries)\n", name,
			     table->capacity);
		errno = ENOMEM;
		return NULL;
	}
	addr = env_heap_alloc_locked(socket_id, len, align, 0);
	if (addr == NULL) {
		int err = errno;

		BRISK_ERRLOG("memzone '%s': cannot allocate %zu bytes (align %zu, socket %d): %s\n",
			     name, len, align, socket_id, strerror(err));
		errno = err;
		return NULL;
	}
	memset(mz, 0, sizeof(*mz));
	memcpy(mz->name, name, strlen(name) + 1);
	mz->addr = addr;
	mz->len = len;
	mz->socket_id = env_heap_check_ptr_locked(addr, &elem) == HEAP_PTR_BUSY ?
			elem->socket_id : -1;
	mz->in_use = 1;
	table->count++;
	return addr;
}

void *brisk_memzone_reserve_aligned(const char *name, size_t len, int socket_id,
				    unsigned flags, size_t align)
{
	struct env_memzone_table *table;
	void *addr;
	int err;

	err = check_name(name, "brisk_memzone_reserve");
	if (err == 0 && len == 0) {
		BRISK_ERRLOG("memzone '%s': len 0 is not a valid size\n", name);
		err = EINVAL;
	}
	if (err == 0 && flags != 0) {
		BRISK_ERRLOG("memzone '%s': unknown flags %#x (none are defined)\n", name, flags);
		err = EINVAL;
	}
	if (err == 0 && align != 0 &&
	    ((align & (align - 1)) != 0 || align > BRISK_MALLOC_MAX_ALIGN)) {
		BRISK_ERRLOG("memzone '%s': align %zu must be a power of two no larger than %u\n",
			     name, align, BRISK_MALLOC_MAX_ALIGN);
		err = EINVAL;
	}
	if (err != 0) {
		errno = err;
		return NULL;
	}
	table = memzone_table("brisk_memzone_reserve");
	if (table == NULL) {
		errno = ENOMEM;
		return NULL;
	}

	heap_shared_lock();
	addr = memzone_reserve_locked(table, name, len, socket_id, align);
	err = errno;
	heap_shared_unlock();
	if (addr == NULL) {
		errno = err;
	}
	return addr;
}

void *brisk_memzone_reserve(const char *name, size_t len, int socket_id, unsigned flags)
{
	return brisk_memzone_reserve_aligned(name, len, socket_id, flags, 0);
}

void *brisk_memzone_lookup(const char *name)
{
	struct env_memzone_table *table;
	struct env_memzone *mz;
	void *addr = NULL;
	int err;

	err = check_name(name, "brisk_memzone_lookup");
	if (err != 0) {
		errno = err;
		return NULL;
	}
	table = memzone_table("brisk_memzone_lookup");
	if (table == NULL) {
		errno = ENOENT;
		return NULL;
	}
	heap_shared_lock();
	mz = find_locked(table, name);
	if (mz != NULL) {
		addr = mz->addr;
	}
	heap_shared_unlock();
	if (addr == NULL) {
		errno = ENOENT;
	}
	return addr;
}

int brisk_memzone_get_info(const char *name, struct brisk_memzone_info *info)
{
	struct env_memzone_table *table;
	struct env_memzone *mz;
	int err;

	err = check_name(name, "brisk_memzone_get_info");
	if (err != 0) {
		return -err;
	}
	if (info == NULL) {
		BRISK_ERRLOG("brisk_memzone_get_info: info is NULL\n");
		return -EINVAL;
	}
	table = memzone_table("brisk_memzone_get_info");
	if (table == NULL) {
		return -ENOENT;
	}
	heap_shared_lock();
	mz = find_locked(table, name);
	if (mz != NULL) {
		fill_info(mz, info);
	}
	heap_shared_unlock();
	if (mz == NULL) {
		return -ENOENT;
	}
	/* Outside the lock: translation has its own locking. */
	info->phys_addr = brisk_vtophys(info->addr, NULL);
	return 0;
}

int brisk_memzone_free(const char *name)
{
	struct env_memzone_table *table;
	struct env_memzone *mz;
	struct heap_elem *elem;
	enum heap_ptr_status status;
	int err;

	err = check_name(name, "brisk_memzone_free");
	if (err != 0) {
		return -err;
	}
	table = memzone_table("brisk_memzone_free");
	if (table == NULL) {
		return -ENOENT;
	}
	heap_shared_lock();
	mz = find_locked(table, name);
	if (mz == NULL) {
		heap_shared_unlock();
		return -ENOENT;
	}
	status = env_heap_check_ptr_locked(mz->addr, &elem);
	if (status == HEAP_PTR_BUSY) {
		env_heap_free_elem_locked(elem);
	} else {
		/* Someone passed the memzone's address to brisk_free. */
		env_heap_report_bad_ptr_locked(mz->addr, status, "brisk_memzone_free");
	}
	memset(mz, 0, sizeof(*mz));
	table->count--;
	heap_shared_unlock();
	return 0;
}

int brisk_memzone_walk(int (*fn)(const struct brisk_memzone_info *info, void *ctx), void *ctx)
{
	struct env_memzone_table *table;
	struct brisk_memzone_info info;
	uint32_t i = 0;
	int rc;

	if (fn == NULL) {
		BRISK_ERRLOG("brisk_memzone_walk: fn is NULL\n");
		return -EINVAL;
	}
	if (g_env_shared == NULL || g_env_shared->memzones == NULL) {
		return 0;
	}
	table = g_env_shared->memzones;
	for (;;) {
		bool found = false;

		/* One entry per lock hold: fn runs unlocked and may reserve or
		 * free memzones; entries are visited in table order. */
		heap_shared_lock();
		for (; i < table->capacity; i++) {
			if (table->zones[i].in_use) {
				fill_info(&table->zones[i], &info);
				found = true;
				i++;
				break;
			}
		}
		heap_shared_unlock();
		if (!found) {
			return 0;
		}
		info.phys_addr = brisk_vtophys(info.addr, NULL);
		rc = fn(&info, ctx);
		if (rc != 0) {
			return rc;
		}
	}
}

void brisk_memzone_dump(FILE *f)
{
	struct env_memzone_table *table;
	uint32_t i;

	if (f == NULL) {
		return;
	}
	if (g_env_shared == NULL || g_env_shared->memzones == NULL) {
		fprintf(f, "memzones: not set up\n");
		return;
	}
	table = g_env_shared->memzones;
	heap_shared_lock();
	fprintf(f, "memzones: %u of %u in use\n", table->count, table->capacity);
	for (i = 0; i < table->capacity; i++) {
		const struct env_memzone *mz = &table->zones[i];

		if (mz->in_use) {
			fprintf(f, "  %-31s addr %p len %llu socket %d\n", mz->name, mz->addr,
				(unsigned long long)mz->len, mz->socket_id);
		}
	}
	heap_shared_unlock();
}
