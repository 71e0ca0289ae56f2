/*
 * Mempools of fixed-size objects, shaped like DPDK's rte_mempool: objects in
 * a memzone, a ring of free objects, and a per-core cache in front of it
 * (used by threads that have a current core, see brisk_env_thread_pin).
 *
 * A per-core cache is owned by whichever thread runs on that core: at most
 * one thread per core (across processes sharing the memory) may use a pool's
 * cache at a time, as with DPDK's lcores. Threads with no current core go
 * straight to the ring, which is safe from any number of threads.
 *
 * get/put are static inline here (as in DPDK) so the cached path costs a few
 * instructions; creation, refill/flush and inspection live in lib/env/mempool.c.
 */
#ifndef BRISK_MEMPOOL_H
#define BRISK_MEMPOOL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <brisk/env.h>
#include <brisk/ring.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BRISK_MEMPOOL_NAMESIZE 29 /* memzone name "MP_" + this, including the NUL */
#define BRISK_MEMPOOL_CACHE_MAX_SIZE 512
#define BRISK_MEMPOOL_DEFAULT_CACHE_SIZE 256
#define BRISK_MEMPOOL_OBJ_ALIGN 64

/* One core's cache: a stack of free objects (most recently freed on top). */
struct brisk_mempool_cache {
	uint32_t size;        /* a refill brings len up to this (0: no cache) */
	uint32_t flushthresh; /* a put that would pass this first flushes to the ring */
	uint32_t len;         /* objects held */
	void **objs;          /* 2 * size slots, in the pool's memzone */
} __attribute__((aligned(64)));

struct brisk_mempool {
	char name[BRISK_MEMPOOL_NAMESIZE];
	uint32_t flags;        /* private to mempool.c */
	uint32_t size;         /* number of objects */
	uint32_t elt_size;     /* as asked */
	uint32_t obj_stride;   /* elt_size rounded up to BRISK_MEMPOOL_OBJ_ALIGN */
	uint32_t cache_size;   /* per core; 0 = no cache */
	uint32_t num_caches;   /* cores with a cache (core ids below this) */
	uint64_t memzone_len;
	uintptr_t obj_start;   /* first object */
	uintptr_t obj_end;     /* one past the last object */
	struct brisk_ring *ring; /* free objects, multi-producer / multi-consumer */
	struct brisk_mempool_cache *caches; /* num_caches entries */
};

typedef void (*brisk_mempool_obj_cb_t)(struct brisk_mempool *mp, void *arg, void *obj, unsigned obj_idx);

/* NULL with errno: EINVAL (n 0 or above BRISK_RING_SZ_MASK / 2, elt_size 0,
 * cache_size > BRISK_MEMPOOL_CACHE_MAX_SIZE or > n / 1.5, name NULL, empty or
 * not shorter than BRISK_MEMPOOL_NAMESIZE), EEXIST, ENOMEM. Objects are
 * 64-byte aligned. Needs brisk_env_init. */
struct brisk_mempool *brisk_mempool_create(const char *name, unsigned n, unsigned elt_size,
					   unsigned cache_size, int socket_id);
/* Same, calling obj_init on every object once at creation. */
struct brisk_mempool *brisk_mempool_create_ctor(const char *name, unsigned n, unsigned elt_size,
						unsigned cache_size, int socket_id,
						brisk_mempool_obj_cb_t obj_init, void *obj_init_arg);
/* NULL is ignored; a pointer that is not a live pool is reported and ignored. */
void brisk_mempool_free(struct brisk_mempool *mp);
/* NULL with errno ENOENT (no such pool) or EINVAL (bad name). */
struct brisk_mempool *brisk_mempool_lookup(const char *name);
const char *brisk_mempool_get_name(const struct brisk_mempool *mp);

/* 0, or -ENOENT when not enough objects are free (bulk: all or nothing).
 * Objects sitting in other cores' caches do not count as free here. */
BRISK_RING__INLINE int brisk_mempool_get(struct brisk_mempool *mp, void **obj);
BRISK_RING__INLINE int brisk_mempool_get_bulk(struct brisk_mempool *mp, void **objs, unsigned n);
BRISK_RING__INLINE void brisk_mempool_put(struct brisk_mempool *mp, void *obj);
BRISK_RING__INLINE void brisk_mempool_put_bulk(struct brisk_mempool *mp, void *const *objs, unsigned n);

unsigned brisk_mempool_avail_count(const struct brisk_mempool *mp); /* ring + caches */
unsigned brisk_mempool_in_use_count(const struct brisk_mempool *mp);
bool brisk_mempool_full(const struct brisk_mempool *mp);   /* every object free */
bool brisk_mempool_empty(const struct brisk_mempool *mp);  /* none free */
unsigned brisk_mempool_get_count(const struct brisk_mempool *mp); /* total objects */
unsigned brisk_mempool_get_elt_size(const struct brisk_mempool *mp);
/* Calls cb on every object (free or not); returns the number of objects. */
unsigned brisk_mempool_obj_iter(struct brisk_mempool *mp, brisk_mempool_obj_cb_t cb, void *arg);
void brisk_mempool_dump(FILE *f, const struct brisk_mempool *mp);
/* Calls fn for every mempool in the (shared) memory. */
void brisk_mempool_walk(void (*fn)(struct brisk_mempool *mp, void *ctx), void *ctx);
/* Whether obj is the start of one of mp's objects. */
bool brisk_mempool_contains(const struct brisk_mempool *mp, const void *obj);

/* ------------------------------------------------------------------------ */
/* Fast path. Everything below is internal except the brisk_mempool_* calls. */

/* Slow paths in mempool.c. Refill: bring the cache up to size + n from the
 * ring (or at least n); false if the ring cannot cover n. */
bool brisk_mempool__cache_refill(struct brisk_mempool *mp, struct brisk_mempool_cache *cache,
				 unsigned n);
/* Flush: hand the whole cache back to the ring. */
void brisk_mempool__cache_flush(struct brisk_mempool *mp, struct brisk_mempool_cache *cache);
/* Debug builds: put with every object checked against the pool; foreign
 * objects are reported with BRISK_ERRLOG and dropped. */
void brisk_mempool__put_checked(struct brisk_mempool *mp, void *const *objs, unsigned n);

/* The calling thread's cache, or NULL (no cache, or no current core). */
BRISK_RING__INLINE struct brisk_mempool_cache *brisk_mempool__cache(struct brisk_mempool *mp)
{
	uint32_t core;

	if (mp->cache_size == 0) {
		return NULL;
	}
	core = brisk_env_get_current_core();
	/* BRISK_ENV_LCORE_ID_ANY is above num_caches too. */
	return core < mp->num_caches ? &mp->caches[core] : NULL;
}

/* Put without the debug check. */
BRISK_RING__INLINE void brisk_mempool__put_bulk(struct brisk_mempool *mp, void *const *objs, unsigned n)
{
	struct brisk_mempool_cache *cache = brisk_mempool__cache(mp);

	if (cache == NULL || n > cache->size) {
		/* Always fits: the ring can hold every object of the pool. */
		brisk_ring_mp_enqueue_bulk(mp->ring, objs, n, NULL);
		return;
	}
	if (cache->len + n > cache->flushthresh) {
		brisk_mempool__cache_flush(mp, cache);
	}
	brisk_ring__copy(&cache->objs[cache->len], objs, n);
	cache->len += n;
}

BRISK_RING__INLINE void brisk_mempool_put_bulk(struct brisk_mempool *mp, void *const *objs, unsigned n)
{
#ifdef DEBUG
	brisk_mempool__put_checked(mp, objs, n);
#else
	brisk_mempool__put_bulk(mp, objs, n);
#endif
}

BRISK_RING__INLINE void brisk_mempool_put(struct brisk_mempool *mp, void *obj)
{
	brisk_mempool_put_bulk(mp, &obj, 1);
}

BRISK_RING__INLINE int brisk_mempool_get_bulk(struct brisk_mempool *mp, void **objs, unsigned n)
{
	struct brisk_mempool_cache *cache = brisk_mempool__cache(mp);
	unsigned len;

	if (cache == NULL || n > cache->size) {
		return brisk_ring_mc_dequeue_bulk(mp->ring, objs, n, NULL) == n ? 0 : -ENOENT;
	}
	if (cache->len < n && !brisk_mempool__cache_refill(mp, cache, n)) {
		return -ENOENT;
	}
	/* Take the top n: the most recently freed objects are likely still in
	 * this core's CPU cache. Copied as a block, in order, for speed. */
	len = cache->len - n;
	brisk_ring__copy(objs, &cache->objs[len], n);
	cache->len = len;
	return 0;
}

BRISK_RING__INLINE int brisk_mempool_get(struct brisk_mempool *mp, void **obj)
{
	return brisk_mempool_get_bulk(mp, obj, 1);
}

#ifdef __cplusplus
}
#endif
#endif
