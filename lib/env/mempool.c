/*
 * Mempool creation, the cache slow paths (refill and flush), and inspection.
 * get/put are static inline in include/brisk/mempool.h.
 *
 * A pool is one memzone "MP_<name>" laid out as
 *
 *   [struct brisk_mempool][caches][cache slot arrays][ring][objects]
 *
 * so a secondary process finds all of it with one lookup. The ring (not
 * registered by name) holds pointers to the free objects; it is created with
 * exactly n slots of capacity, so a put to the ring can never fail.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <brisk/env.h>
#include <brisk/log.h>
#include <brisk/mempool.h>
#include <brisk/ring.h>

#define MEMPOOL_MZ_PREFIX "MP_"
#define MEMPOOL_F_LIVE 0x1u /* set while the pool exists: catches a second free */

_Static_assert(sizeof(MEMPOOL_MZ_PREFIX) - 1 + BRISK_MEMPOOL_NAMESIZE <= BRISK_MEMZONE_NAMESIZE,
	       "mempool memzone name must fit in a memzone name");

static size_t align_up(size_t x, size_t a)
{
	return (x + a - 1) & ~(a - 1);
}

static int mempool_check_name(const char *name)
{
	if (name == NULL || name[0] == '\0') {
		BRISK_ERRLOG("mempool name is %s\n", name == NULL ? "NULL" : "empty");
		return -EINVAL;
	}
	if (strnlen(name, BRISK_MEMPOOL_NAMESIZE) >= BRISK_MEMPOOL_NAMESIZE) {
		BRISK_ERRLOG("mempool name '%.40s' is too long (max %d characters)\n", name,
			     BRISK_MEMPOOL_NAMESIZE - 1);
		return -EINVAL;
	}
	return 0;
}

static int mempool_check_params(const char *name, unsigned n, unsigned elt_size, unsigned cache_size)
{
	if (mempool_check_name(name) != 0) {
		return -EINVAL;
	}
	if (n == 0 || n > BRISK_RING_SZ_MASK / 2) {
		BRISK_ERRLOG("mempool '%s': n %u must be between 1 and %u\n", name, n, BRISK_RING_SZ_MASK / 2);
		return -EINVAL;
	}
	if (elt_size == 0 || elt_size > UINT32_MAX - BRISK_MEMPOOL_OBJ_ALIGN) {
		BRISK_ERRLOG("mempool '%s': elt_size %u is invalid\n", name, elt_size);
		return -EINVAL;
	}
	if (cache_size > BRISK_MEMPOOL_CACHE_MAX_SIZE) {
		BRISK_ERRLOG("mempool '%s': cache_size %u is above the maximum %u\n", name, cache_size,
			     BRISK_MEMPOOL_CACHE_MAX_SIZE);
		return -EINVAL;
	}
	/* A cache may hold 1.5 times its size before flushing: it must not be
	 * able to swallow the whole pool. */
	if ((uint64_t)cache_size * 3 > (uint64_t)n * 2) {
		BRISK_ERRLOG("mempool '%s': cache_size %u is above n / 1.5 (n %u)\n", name, cache_size, n);
		return -EINVAL;
	}
	return 0;
}

/* Cores that get a cache: every core id this machine can have, up to the max. */
static uint32_t mempool_num_caches(void)
{
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);

	if (ncpu < 1) {
		ncpu = 1;
	}
	return ncpu > BRISK_ENV_MAX_CORES ? BRISK_ENV_MAX_CORES : (uint32_t)ncpu;
}

struct mempool_layout {
	size_t caches_off;
	size_t cache_slots_off;
	size_t ring_off;
	size_t objs_off;
	size_t total;
};

static int mempool_compute_layout(unsigned n, uint32_t stride, unsigned cache_size, uint32_t num_caches,
				  struct mempool_layout *l)
{
	long ring_len = brisk_ring_get_memsize_flags(n, BRISK_RING_F_EXACT_SZ);

	if (ring_len < 0) {
		return (int)ring_len;
	}
	l->caches_off = align_up(sizeof(struct brisk_mempool), 64);
	l->cache_slots_off = l->caches_off + (size_t)num_caches * sizeof(struct brisk_mempool_cache);
	l->ring_off = align_up(l->cache_slots_off + (size_t)num_caches * 2 * cache_size * sizeof(void *),
			       BRISK_RING_SIDE_ALIGN);
	l->objs_off = align_up(l->ring_off + (size_t)ring_len, BRISK_MEMPOOL_OBJ_ALIGN);
	l->total = l->objs_off + (size_t)n * stride;
	return 0;
}

struct brisk_mempool *brisk_mempool_create_ctor(const char *name, unsigned n, unsigned elt_size,
						unsigned cache_size, int socket_id,
						brisk_mempool_obj_cb_t obj_init, void *obj_init_arg)
{
	char mz_name[BRISK_MEMZONE_NAMESIZE];
	struct mempool_layout l = { 0 };
	struct brisk_mempool *mp;
	uint32_t stride, num_caches, i;
	uint8_t *base;
	int rc;

	if (mempool_check_params(name, n, elt_size, cache_size) != 0) {
		errno = EINVAL;
		return NULL;
	}
	stride = (uint32_t)align_up(elt_size, BRISK_MEMPOOL_OBJ_ALIGN);
	num_caches = cache_size != 0 ? mempool_num_caches() : 0;
	rc = mempool_compute_layout(n, stride, cache_size, num_caches, &l);
	if (rc != 0) {
		errno = -rc;
		return NULL;
	}

	snprintf(mz_name, sizeof(mz_name), MEMPOOL_MZ_PREFIX "%s", name);
	base = brisk_memzone_reserve_aligned(mz_name, l.total, socket_id, 0, BRISK_RING_SIDE_ALIGN);
	if (base == NULL) {
		int err = errno;

		if (err == EEXIST) {
			BRISK_ERRLOG("mempool '%s' already exists\n", name);
		} else {
			BRISK_ERRLOG("mempool '%s': cannot reserve %zu bytes for %u objects of %u bytes: %s\n",
				     name, l.total, n, elt_size, strerror(err));
		}
		errno = err == EEXIST || err == EINVAL ? err : ENOMEM;
		return NULL;
	}

	mp = (struct brisk_mempool *)base;
	memset(mp, 0, sizeof(*mp));
	snprintf(mp->name, sizeof(mp->name), "%s", name);
	mp->size = n;
	mp->elt_size = elt_size;
	mp->obj_stride = stride;
	mp->cache_size = cache_size;
	mp->num_caches = num_caches;
	mp->memzone_len = l.total;
	mp->obj_start = (uintptr_t)(base + l.objs_off);
	mp->obj_end = mp->obj_start + (uintptr_t)n * stride;
	mp->caches = (struct brisk_mempool_cache *)(base + l.caches_off);
	for (i = 0; i < num_caches; i++) {
		struct brisk_mempool_cache *c = &mp->caches[i];

		c->size = cache_size;
		c->flushthresh = cache_size * 3 / 2;
		c->len = 0;
		c->objs = (void **)(base + l.cache_slots_off) + (size_t)i * 2 * cache_size;
	}
	mp->ring = (struct brisk_ring *)(base + l.ring_off);
	rc = brisk_ring_init(mp->ring, name, n, BRISK_RING_F_EXACT_SZ);
	if (rc != 0) {
		/* Cannot happen after the checks above; release and report. */
		BRISK_ERRLOG("mempool '%s': ring init failed: %d\n", name, rc);
		brisk_memzone_free(mz_name);
		errno = -rc;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		void *obj = (void *)(mp->obj_start + (uintptr_t)i * stride);

		if (obj_init != NULL) {
			obj_init(mp, obj_init_arg, obj, i);
		}
		brisk_ring_sp_enqueue_bulk(mp->ring, &obj, 1, NULL);
	}
	mp->flags = MEMPOOL_F_LIVE;
	return mp;
}

struct brisk_mempool *brisk_mempool_create(const char *name, unsigned n, unsigned elt_size,
					   unsigned cache_size, int socket_id)
{
	return brisk_mempool_create_ctor(name, n, elt_size, cache_size, socket_id, NULL, NULL);
}

void brisk_mempool_free(struct brisk_mempool *mp)
{
	char mz_name[BRISK_MEMZONE_NAMESIZE];

	if (mp == NULL) {
		return;
	}
	snprintf(mz_name, sizeof(mz_name), MEMPOOL_MZ_PREFIX "%.*s", BRISK_MEMPOOL_NAMESIZE - 1, mp->name);
	if (!(mp->flags & MEMPOOL_F_LIVE) || brisk_memzone_lookup(mz_name) != mp) {
		BRISK_ERRLOG("%p is not a live mempool: not freed\n", (void *)mp);
		return;
	}
	if (!brisk_mempool_full(mp)) {
		BRISK_WARNLOG("mempool '%s' freed with %u object(s) still in use\n", mp->name,
			      brisk_mempool_in_use_count(mp));
	}
	mp->flags = 0;
	if (brisk_memzone_free(mz_name) != 0) {
		BRISK_ERRLOG("mempool '%s': memzone %s could not be freed\n", mp->name, mz_name);
	}
}

struct brisk_mempool *brisk_mempool_lookup(const char *name)
{
	char mz_name[BRISK_MEMZONE_NAMESIZE];
	struct brisk_mempool *mp;

	if (mempool_check_name(name) != 0) {
		errno = EINVAL;
		return NULL;
	}
	snprintf(mz_name, sizeof(mz_name), MEMPOOL_MZ_PREFIX "%s", name);
	mp = brisk_memzone_lookup(mz_name);
	if (mp == NULL) {
		errno = ENOENT;
	}
	return mp;
}

const char *brisk_mempool_get_name(const struct brisk_mempool *mp)
{
	return mp->name;
}

bool brisk_mempool__cache_refill(struct brisk_mempool *mp, struct brisk_mempool_cache *cache,
				 unsigned n)
{
	/* Fill to size + n so that after taking n the cache sits at size. */
	unsigned want = cache->size + n - cache->len;

	if (brisk_ring_mc_dequeue_bulk(mp->ring, &cache->objs[cache->len], want, NULL) == want) {
		cache->len += want;
		return true;
	}
	/* The ring is short: take just what this request still needs. */
	want = n - cache->len;
	if (brisk_ring_mc_dequeue_bulk(mp->ring, &cache->objs[cache->len], want, NULL) == want) {
		cache->len += want;
		return true;
	}
	return false;
}

void brisk_mempool__cache_flush(struct brisk_mempool *mp, struct brisk_mempool_cache *cache)
{
	brisk_ring_mp_enqueue_bulk(mp->ring, cache->objs, cache->len, NULL);
	cache->len = 0;
}

bool brisk_mempool_contains(const struct brisk_mempool *mp, const void *obj)
{
	uintptr_t a = (uintptr_t)obj;

	return a >= mp->obj_start && a < mp->obj_end && (a - mp->obj_start) % mp->obj_stride == 0;
}

void brisk_mempool__put_checked(struct brisk_mempool *mp, void *const *objs, unsigned n)
{
	unsigned i, bad = 0;

	for (i = 0; i < n; i++) {
		bad += !brisk_mempool_contains(mp, objs[i]);
	}
	if (bad == 0) {
		brisk_mempool__put_bulk(mp, objs, n); /* same path as a release build */
		return;
	}
	for (i = 0; i < n; i++) {
		if (!brisk_mempool_contains(mp, objs[i])) {
			BRISK_ERRLOG("mempool '%s': object %p does not belong to the pool: dropped\n",
				     mp->name, objs[i]);
			continue;
		}
		brisk_mempool__put_bulk(mp, &objs[i], 1);
	}
}

unsigned brisk_mempool_avail_count(const struct brisk_mempool *mp)
{
	uint64_t count = brisk_ring_count(mp->ring);
	uint32_t i;

	for (i = 0; i < mp->num_caches; i++) {
		/* relaxed: a snapshot for reporting; other cores own these counters. */
		count += __atomic_load_n(&mp->caches[i].len, __ATOMIC_RELAXED);
	}
	/* Not one snapshot: an object moving from a cache to the ring may count twice. */
	return count > mp->size ? mp->size : (unsigned)count;
}

unsigned brisk_mempool_in_use_count(const struct brisk_mempool *mp)
{
	return mp->size - brisk_mempool_avail_count(mp);
}

bool brisk_mempool_full(const struct brisk_mempool *mp)
{
	return brisk_mempool_avail_count(mp) == mp->size;
}

bool brisk_mempool_empty(const struct brisk_mempool *mp)
{
	return brisk_mempool_avail_count(mp) == 0;
}

unsigned brisk_mempool_get_count(const struct brisk_mempool *mp)
{
	return mp->size;
}

unsigned brisk_mempool_get_elt_size(const struct brisk_mempool *mp)
{
	return mp->elt_size;
}

unsigned brisk_mempool_obj_iter(struct brisk_mempool *mp, brisk_mempool_obj_cb_t cb, void *arg)
{
	uint32_t i;

	for (i = 0; i < mp->size; i++) {
		cb(mp, arg, (void *)(mp->obj_start + (uintptr_t)i * mp->obj_stride), i);
	}
	return mp->size;
}

void brisk_mempool_dump(FILE *f, const struct brisk_mempool *mp)
{
	uint32_t i, cached = 0;

	if (mp == NULL) {
		fprintf(f, "mempool <NULL>\n");
		return;
	}
	fprintf(f, "mempool <%s>@%p\n", mp->name, (const void *)mp);
	fprintf(f, "  size=%u elt_size=%u obj_stride=%u memzone_len=%llu\n", mp->size, mp->elt_size,
		mp->obj_stride, (unsigned long long)mp->memzone_len);
	fprintf(f, "  objects=[%#llx, %#llx)\n", (unsigned long long)mp->obj_start,
		(unsigned long long)mp->obj_end);
	fprintf(f, "  cache_size=%u caches=%u\n", mp->cache_size, mp->num_caches);
	for (i = 0; i < mp->num_caches; i++) {
		uint32_t len = __atomic_load_n(&mp->caches[i].len, __ATOMIC_RELAXED);

		cached += len;
		if (len != 0) {
			fprintf(f, "    core %u: len=%u\n", i, len);
		}
	}
	fprintf(f, "  ring_count=%u cached=%u avail=%u in_use=%u\n", brisk_ring_count(mp->ring), cached,
		brisk_mempool_avail_count(mp), brisk_mempool_in_use_count(mp));
}

struct mempool_walk_ctx {
	struct brisk_mempool **pools;
	size_t count;
	size_t cap;
	int err;
};

static int mempool_walk_collect(const struct brisk_memzone_info *info, void *arg)
{
	struct mempool_walk_ctx *w = arg;

	if (strncmp(info->name, MEMPOOL_MZ_PREFIX, sizeof(MEMPOOL_MZ_PREFIX) - 1) != 0) {
		return 0;
	}
	if (w->count == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		struct brisk_mempool **p = realloc(w->pools, cap * sizeof(*p));

		if (p == NULL) {
			w->err = -ENOMEM;
			return 1;
		}
		w->pools = p;
		w->cap = cap;
	}
	w->pools[w->count++] = info->addr;
	return 0;
}

void brisk_mempool_walk(void (*fn)(struct brisk_mempool *mp, void *ctx), void *ctx)
{
	struct mempool_walk_ctx w = { 0 };
	size_t i;

	/* Collect first, call after: fn may create or free pools (memzones). */
	brisk_memzone_walk(mempool_walk_collect, &w);
	if (w.err != 0) {
		BRISK_ERRLOG("mempool walk: out of memory\n");
	}
	for (i = 0; i < w.count; i++) {
		fn(w.pools[i], ctx);
	}
	free(w.pools);
}
