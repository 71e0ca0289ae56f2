/*
 * Mempools of fixed-size objects, shaped like DPDK's rte_mempool: objects in
 * a memzone, a ring of free objects, and a per-core cache in front of it
 * (used by threads that have a current core, see brisk_env_thread_pin).
 */
#ifndef BRISK_MEMPOOL_H
#define BRISK_MEMPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BRISK_MEMPOOL_NAMESIZE 29 /* memzone name "MP_" + this, including the NUL */
#define BRISK_MEMPOOL_CACHE_MAX_SIZE 512
#define BRISK_MEMPOOL_DEFAULT_CACHE_SIZE 256

struct brisk_mempool;
typedef void (*brisk_mempool_obj_cb_t)(struct brisk_mempool *mp, void *arg, void *obj, unsigned obj_idx);

/* NULL with errno: EINVAL (n 0, elt_size 0, cache_size > BRISK_MEMPOOL_CACHE_MAX_SIZE
 * or > n / 1.5, bad name), EEXIST, ENOMEM. Objects are 64-byte aligned. */
struct brisk_mempool *brisk_mempool_create(const char *name, unsigned n, unsigned elt_size,
					   unsigned cache_size, int socket_id);
/* Same, calling obj_init on every object once at creation. */
struct brisk_mempool *brisk_mempool_create_ctor(const char *name, unsigned n, unsigned elt_size,
						unsigned cache_size, int socket_id,
						brisk_mempool_obj_cb_t obj_init, void *obj_init_arg);
void brisk_mempool_free(struct brisk_mempool *mp);
struct brisk_mempool *brisk_mempool_lookup(const char *name);
const char *brisk_mempool_get_name(const struct brisk_mempool *mp);

/* 0, or -ENOENT when not enough objects are free (bulk: all or nothing). */
int brisk_mempool_get(struct brisk_mempool *mp, void **obj);
int brisk_mempool_get_bulk(struct brisk_mempool *mp, void **objs, unsigned n);
void brisk_mempool_put(struct brisk_mempool *mp, void *obj);
void brisk_mempool_put_bulk(struct brisk_mempool *mp, void *const *objs, unsigned n);

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

#ifdef __cplusplus
}
#endif
#endif
