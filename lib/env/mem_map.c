/*
 * Translation maps (brisk_mem_map) and the registry of memory registered for
 * DMA (brisk_mem_register).
 *
 * A map holds one 64-bit translation per 2 MiB page of the 48-bit virtual
 * address space, in two levels: the first level is indexed by VA bits 47..30
 * (one slot per 1 GiB), the second by bits 29..21 (512 slots of 2 MiB each).
 * Second-level tables are allocated on demand and only freed with the map,
 * so a reader never sees a table vanish under it: translate takes no lock.
 *
 * Writers (set/clear) serialise on the map's mutex. The registry (all maps
 * and all registered regions) has its own mutex, held while notifying maps so
 * that a map allocated concurrently with a registration sees it exactly once.
 * Notify callbacks therefore must not call brisk_mem_register/unregister or
 * allocate/free maps themselves.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <brisk/env.h>
#include <brisk/log.h>

#include "env_internal.h"

#define MAP_VA_BITS 48
#define MAP_2MB_SHIFT 21
#define MAP_1GB_SHIFT 30
#define MAP_2MB_MASK (BRISK_MEM_MAP_PAGE_SIZE - 1)
#define MAP_L1_ENTRIES (1ull << (MAP_VA_BITS - MAP_1GB_SHIFT))   /* 2^18 */
#define MAP_L2_ENTRIES (1ull << (MAP_1GB_SHIFT - MAP_2MB_SHIFT)) /* 512 */
#define MAP_VA_LIMIT (1ull << MAP_VA_BITS)

struct map_1gb {
	uint64_t translation_2mb[MAP_L2_ENTRIES];
};

struct brisk_mem_map {
	uint64_t default_translation;
	struct brisk_mem_map_ops ops;
	void *cb_ctx;
	pthread_mutex_t mutex; /* serialises set/clear; readers take none */
	TAILQ_ENTRY(brisk_mem_map) link;
	struct map_1gb *l1[MAP_L1_ENTRIES];
};

struct mem_region {
	uint64_t va;
	uint64_t len;
};

static pthread_mutex_t g_registry_mutex = PTHREAD_MUTEX_INITIALIZER;
static TAILQ_HEAD(, brisk_mem_map) g_maps = TAILQ_HEAD_INITIALIZER(g_maps);
/* Registered regions, sorted by va, never overlapping. */
static struct mem_region *g_regions;
static size_t g_region_count;
static size_t g_region_cap;

static inline uint64_t
l1_index(uint64_t va)
{
	return va >> MAP_1GB_SHIFT;
}

static inline uint64_t
l2_index(uint64_t va)
{
	return (va >> MAP_2MB_SHIFT) & (MAP_L2_ENTRIES - 1);
}

static bool
range_is_valid(uint64_t vaddr, uint64_t size)
{
	return size != 0 && (vaddr & MAP_2MB_MASK) == 0 && (size & MAP_2MB_MASK) == 0 &&
	       vaddr < MAP_VA_LIMIT && size <= MAP_VA_LIMIT - vaddr;
}

/* Second-level table of va, allocated when missing (map mutex held). */
static struct map_1gb *
map_get_l2_locked(struct brisk_mem_map *map, uint64_t va)
{
	struct map_1gb *l2 = map->l1[l1_index(va)];
	uint64_t i;

	if (l2 != NULL) {
		return l2;
	}
	l2 = malloc(sizeof(*l2));
	if (l2 == NULL) {
		return NULL;
	}
	for (i = 0; i < MAP_L2_ENTRIES; i++) {
		l2->translation_2mb[i] = map->default_translation;
	}
	/* Release: a lock-free reader that sees the pointer also sees the table filled. */
	__atomic_store_n(&map->l1[l1_index(va)], l2, __ATOMIC_RELEASE);
	return l2;
}

static int
map_fill(struct brisk_mem_map *map, uint64_t vaddr, uint64_t size, uint64_t translation,
	 bool allocate)
{
	uint64_t va;
	struct map_1gb *l2;

	pthread_mutex_lock(&map->mutex);
	for (va = vaddr; va < vaddr + size; va += BRISK_MEM_MAP_PAGE_SIZE) {
		if (allocate) {
			l2 = map_get_l2_locked(map, va);
			if (l2 == NULL) {
				pthread_mutex_unlock(&map->mutex);
				return -ENOMEM;
			}
		} else {
			l2 = map->l1[l1_index(va)];
			if (l2 == NULL) {
				/* Nothing was set in this 1 GiB: skip to the next one. */
				va = ((va >> MAP_1GB_SHIFT) << MAP_1GB_SHIFT) +
				     (1ull << MAP_1GB_SHIFT) - BRISK_MEM_MAP_PAGE_SIZE;
				continue;
			}
		}
		/* Relaxed store: one aligned 64-bit word, a reader sees old or new. */
		__atomic_store_n(&l2->translation_2mb[l2_index(va)], translation, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&map->mutex);
	return 0;
}

int
brisk_mem_map_set_translation(struct brisk_mem_map *map, uint64_t vaddr, uint64_t size,
			      uint64_t translation)
{
	if (map == NULL) {
		BRISK_ERRLOG("mem map: map is NULL\n");
		return -EINVAL;
	}
	if (!range_is_valid(vaddr, size)) {
		BRISK_ERRLOG("mem map: vaddr 0x%llx size 0x%llx must be non-empty, 2 MiB aligned and "
			     "below 2^48\n", (unsigned long long)vaddr, (unsigned long long)size);
		return -EINVAL;
	}
	return map_fill(map, vaddr, size, translation, true);
}

int
brisk_mem_map_clear_translation(struct brisk_mem_map *map, uint64_t vaddr, uint64_t size)
{
	if (map == NULL) {
		BRISK_ERRLOG("mem map: map is NULL\n");
		return -EINVAL;
	}
	if (!range_is_valid(vaddr, size)) {
		BRISK_ERRLOG("mem map: vaddr 0x%llx size 0x%llx must be non-empty, 2 MiB aligned and "
			     "below 2^48\n", (unsigned long long)vaddr, (unsigned long long)size);
		return -EINVAL;
	}
	return map_fill(map, vaddr, size, map->default_translation, false);
}

static inline uint64_t
map_lookup(const struct brisk_mem_map *map, uint64_t va)
{
	/* Acquire pairs with the release in map_get_l2_locked. */
	const struct map_1gb *l2 = __atomic_load_n(&map->l1[l1_index(va)], __ATOMIC_ACQUIRE);

	if (l2 == NULL) {
		return map->default_translation;
	}
	return __atomic_load_n(&l2->translation_2mb[l2_index(va)], __ATOMIC_RELAXED);
}

uint64_t
brisk_mem_map_translate(const struct brisk_mem_map *map, uint64_t vaddr, uint64_t *size)
{
	uint64_t translation, prev, next, va, avail, want;

	if (map == NULL || vaddr >= MAP_VA_LIMIT) {
		if (size != NULL) {
			*size = 0;
		}
		return map == NULL ? BRISK_VTOPHYS_ERROR : map->default_translation;
	}
	translation = map_lookup(map, vaddr);
	if (size == NULL || *size == 0) {
		return translation;
	}
	want = *size;
	avail = BRISK_MEM_MAP_PAGE_SIZE - (vaddr & MAP_2MB_MASK);
	if (translation == map->default_translation) {
		/* Nothing mapped: only the rest of this page is known to be alike. */
		*size = avail < want ? avail : want;
		return translation;
	}
	prev = translation;
	va = (vaddr & ~MAP_2MB_MASK) + BRISK_MEM_MAP_PAGE_SIZE;
	while (avail < want && va < MAP_VA_LIMIT) {
		next = map_lookup(map, va);
		if (next == map->default_translation) {
			break;
		}
		if (map->ops.are_contiguous != NULL ? !map->ops.are_contiguous(prev, next) :
		    next != prev) {
			break;
		}
		avail += BRISK_MEM_MAP_PAGE_SIZE;
		prev = next;
		va += BRISK_MEM_MAP_PAGE_SIZE;
	}
	*size = avail < want ? avail : want;
	return translation;
}

static int
map_notify(struct brisk_mem_map *map, enum brisk_mem_map_notify_action action,
	   const struct mem_region *r)
{
	if (map->ops.notify_cb == NULL) {
		return 0;
	}
	return map->ops.notify_cb(map->cb_ctx, map, action, (void *)(uintptr_t)r->va, r->len);
}

static void
map_destroy(struct brisk_mem_map *map)
{
	uint64_t i;

	for (i = 0; i < MAP_L1_ENTRIES; i++) {
		free(map->l1[i]);
	}
	pthread_mutex_destroy(&map->mutex);
	free(map);
}

struct brisk_mem_map *
brisk_mem_map_alloc(uint64_t default_translation, const struct brisk_mem_map_ops *ops,
		    void *cb_ctx)
{
	struct brisk_mem_map *map;
	size_t i, j;
	int rc;

	/* 2 MiB of first-level pointers; calloc gets them as untouched zero pages. */
	map = calloc(1, sizeof(*map));
	if (map == NULL) {
		BRISK_ERRLOG("mem map: out of memory\n");
		return NULL;
	}
	map->default_translation = default_translation;
	if (ops != NULL) {
		map->ops = *ops;
	}
	map->cb_ctx = cb_ctx;
	pthread_mutex_init(&map->mutex, NULL);

	pthread_mutex_lock(&g_registry_mutex);
	for (i = 0; i < g_region_count; i++) {
		rc = map_notify(map, BRISK_MEM_MAP_NOTIFY_REGISTER, &g_regions[i]);
		if (rc != 0) {
			BRISK_ERRLOG("mem map: notify callback refused region 0x%llx+0x%llx: %d\n",
				     (unsigned long long)g_regions[i].va,
				     (unsigned long long)g_regions[i].len, rc);
			for (j = i; j > 0; j--) {
				map_notify(map, BRISK_MEM_MAP_NOTIFY_UNREGISTER, &g_regions[j - 1]);
			}
			pthread_mutex_unlock(&g_registry_mutex);
			map_destroy(map);
			return NULL;
		}
	}
	TAILQ_INSERT_TAIL(&g_maps, map, link);
	pthread_mutex_unlock(&g_registry_mutex);
	return map;
}

int
env_mem_map_refresh(struct brisk_mem_map *map)
{
	size_t i;
	int rc = 0;

	pthread_mutex_lock(&g_registry_mutex);
	for (i = 0; i < g_region_count && rc == 0; i++) {
		rc = map_notify(map, BRISK_MEM_MAP_NOTIFY_REGISTER, &g_regions[i]);
	}
	pthread_mutex_unlock(&g_registry_mutex);
	return rc;
}

void
brisk_mem_map_free(struct brisk_mem_map **pmap)
{
	struct brisk_mem_map *map;
	size_t i;

	if (pmap == NULL || *pmap == NULL) {
		return;
	}
	map = *pmap;
	pthread_mutex_lock(&g_registry_mutex);
	TAILQ_REMOVE(&g_maps, map, link);
	for (i = 0; i < g_region_count; i++) {
		map_notify(map, BRISK_MEM_MAP_NOTIFY_UNREGISTER, &g_regions[i]);
	}
	pthread_mutex_unlock(&g_registry_mutex);
	map_destroy(map);
	*pmap = NULL;
}

/* Index of the first region ending after va (registry mutex held). */
static size_t
region_search(uint64_t va)
{
	size_t lo = 0, hi = g_region_count, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (g_regions[mid].va + g_regions[mid].len <= va) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return lo;
}

static int
region_insert(size_t at, uint64_t va, uint64_t len)
{
	struct mem_region *grown;
	size_t cap;

	if (g_region_count == g_region_cap) {
		cap = g_region_cap == 0 ? 16 : g_region_cap * 2;
		grown = realloc(g_regions, cap * sizeof(*grown));
		if (grown == NULL) {
			return -ENOMEM;
		}
		g_regions = grown;
		g_region_cap = cap;
	}
	memmove(&g_regions[at + 1], &g_regions[at], (g_region_count - at) * sizeof(*g_regions));
	g_regions[at].va = va;
	g_regions[at].len = len;
	g_region_count++;
	return 0;
}

static void
region_remove(size_t at)
{
	memmove(&g_regions[at], &g_regions[at + 1], (g_region_count - at - 1) * sizeof(*g_regions));
	g_region_count--;
	if (g_region_count == 0) {
		free(g_regions);
		g_regions = NULL;
		g_region_cap = 0;
	}
}

int
brisk_mem_register(void *vaddr, size_t len)
{
	struct mem_region r = { .va = (uint64_t)(uintptr_t)vaddr, .len = len };
	struct brisk_mem_map *map, *undo;
	size_t at;
	int rc;

	if (!range_is_valid(r.va, r.len)) {
		BRISK_ERRLOG("mem register: vaddr %p len 0x%zx must be non-empty, 2 MiB aligned and "
			     "below 2^48\n", vaddr, len);
		return -EINVAL;
	}
	pthread_mutex_lock(&g_registry_mutex);
	at = region_search(r.va);
	if (at < g_region_count && g_regions[at].va < r.va + r.len) {
		pthread_mutex_unlock(&g_registry_mutex);
		BRISK_ERRLOG("mem register: %p+0x%zx overlaps registered region 0x%llx+0x%llx\n",
			     vaddr, len, (unsigned long long)g_regions[at].va,
			     (unsigned long long)g_regions[at].len);
		return -EBUSY;
	}
	TAILQ_FOREACH(map, &g_maps, link) {
		rc = map_notify(map, BRISK_MEM_MAP_NOTIFY_REGISTER, &r);
		if (rc != 0) {
			BRISK_ERRLOG("mem register: a map refused %p+0x%zx: %d\n", vaddr, len, rc);
			TAILQ_FOREACH(undo, &g_maps, link) {
				if (undo == map) {
					break;
				}
				map_notify(undo, BRISK_MEM_MAP_NOTIFY_UNREGISTER, &r);
			}
			pthread_mutex_unlock(&g_registry_mutex);
			return rc;
		}
	}
	rc = region_insert(at, r.va, r.len);
	if (rc != 0) {
		TAILQ_FOREACH(map, &g_maps, link) {
			map_notify(map, BRISK_MEM_MAP_NOTIFY_UNREGISTER, &r);
		}
	}
	pthread_mutex_unlock(&g_registry_mutex);
	return rc;
}

int
brisk_mem_unregister(void *vaddr, size_t len)
{
	struct mem_region r = { .va = (uint64_t)(uintptr_t)vaddr, .len = len };
	struct mem_region *owner;
	struct brisk_mem_map *map;
	uint64_t owner_end, head_len, tail_va, tail_len;
	size_t at;
	int rc = 0;

	if (!range_is_valid(r.va, r.len)) {
		BRISK_ERRLOG("mem unregister: vaddr %p len 0x%zx must be non-empty, 2 MiB aligned and "
			     "below 2^48\n", vaddr, len);
		return -EINVAL;
	}
	pthread_mutex_lock(&g_registry_mutex);
	at = region_search(r.va);
	owner = at < g_region_count ? &g_regions[at] : NULL;
	if (owner == NULL || owner->va > r.va || owner->va + owner->len < r.va + r.len) {
		pthread_mutex_unlock(&g_registry_mutex);
		BRISK_ERRLOG("mem unregister: %p+0x%zx is not inside one registered region\n",
			     vaddr, len);
		return -EINVAL;
	}
	/* Unregistering the middle of a region splits it: make room first so
	 * that nothing can fail after the maps were told. */
	owner_end = owner->va + owner->len;
	head_len = r.va - owner->va;
	tail_va = r.va + r.len;
	tail_len = owner_end - tail_va;
	if (head_len != 0 && tail_len != 0) {
		rc = region_insert(at + 1, tail_va, tail_len);
		if (rc != 0) {
			pthread_mutex_unlock(&g_registry_mutex);
			return rc;
		}
		g_regions[at].len = head_len;
	} else if (head_len != 0) {
		g_regions[at].len = head_len;
	} else if (tail_len != 0) {
		g_regions[at].va = tail_va;
		g_regions[at].len = tail_len;
	} else {
		region_remove(at);
	}
	TAILQ_FOREACH(map, &g_maps, link) {
		map_notify(map, BRISK_MEM_MAP_NOTIFY_UNREGISTER, &r);
	}
	pthread_mutex_unlock(&g_registry_mutex);
	return 0;
}
