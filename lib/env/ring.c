/*
 * Ring creation, lookup and inspection. The enqueue/dequeue fast path is
 * static inline in include/brisk/ring.h; this file holds everything that is
 * not on it. Named rings live in memzone "RG_<name>" so that a secondary
 * process finds them with brisk_ring_lookup.
 */
#include <errno.h>
#include <sched.h>
#include <time.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <brisk/env.h>
#include <brisk/log.h>
#include <brisk/ring.h>

#define RING_MZ_PREFIX "RG_"
#define RING_PUBLIC_FLAGS (BRISK_RING_F_SP_ENQ | BRISK_RING_F_SC_DEQ | BRISK_RING_F_EXACT_SZ)
/* Private flag: the ring's memory is its memzone (so brisk_ring_free may release it). */
#define RING_F_IN_MEMZONE 0x80000000u
/* Spins (each one pause, tens of cycles) before brisk_ring__wait_tail gives up
 * the CPU: far longer than any unpreempted enqueue takes, short next to a
 * scheduler time slice. */
#define RING_SPINS_BEFORE_YIELD 4096
/* Yields that did not help before waiting sleeps instead (see wait_tail). */
#define RING_YIELDS_BEFORE_SLEEP 16
#define RING_SLEEP_NS 20000

_Static_assert(sizeof(RING_MZ_PREFIX) - 1 + BRISK_RING_NAMESIZE <= BRISK_MEMZONE_NAMESIZE,
	       "ring memzone name must fit in a memzone name");
_Static_assert(offsetof(struct brisk_ring, cons) - offsetof(struct brisk_ring, prod) >=
	       BRISK_RING_SIDE_ALIGN, "producer and consumer must not share cache lines");

static uint32_t align32_pow2(uint32_t x)
{
	x--;
	x |= x >> 1;
	x |= x >> 2;
	x |= x >> 4;
	x |= x >> 8;
	x |= x >> 16;
	return x + 1;
}

/* Slot count and capacity for count under flags; -EINVAL with a message if invalid. */
static int ring_geometry(unsigned count, unsigned flags, uint32_t *size, uint32_t *capacity)
{
	if (flags & ~RING_PUBLIC_FLAGS) {
		BRISK_ERRLOG("ring flags 0x%x: unknown bits 0x%x\n", flags, flags & ~RING_PUBLIC_FLAGS);
		return -EINVAL;
	}
	if (count == 0) {
		BRISK_ERRLOG("ring count is 0\n");
		return -EINVAL;
	}
	if (flags & BRISK_RING_F_EXACT_SZ) {
		/* One slot stays empty to tell full from empty, hence count + 1. */
		if (count > BRISK_RING_SZ_MASK / 2) {
			BRISK_ERRLOG("ring count %u is too big with EXACT_SZ (max %u)\n", count,
				     BRISK_RING_SZ_MASK / 2);
			return -EINVAL;
		}
		*size = align32_pow2(count + 1);
		*capacity = count;
		return 0;
	}
	if ((count & (count - 1)) != 0) {
		BRISK_ERRLOG("ring count %u is not a power of two (use BRISK_RING_F_EXACT_SZ)\n", count);
		return -EINVAL;
	}
	if (count > BRISK_RING_SZ_MASK) {
		BRISK_ERRLOG("ring count %u is too big (max %u)\n", count, BRISK_RING_SZ_MASK);
		return -EINVAL;
	}
	*size = count;
	*capacity = count - 1;
	return 0;
}

static int ring_check_name(const char *name)
{
	if (name == NULL || name[0] == '\0') {
		BRISK_ERRLOG("ring name is %s\n", name == NULL ? "NULL" : "empty");
		return -EINVAL;
	}
	if (strnlen(name, BRISK_RING_NAMESIZE) >= BRISK_RING_NAMESIZE) {
		BRISK_ERRLOG("ring name '%.40s' is too long (max %d characters)\n", name,
			     BRISK_RING_NAMESIZE - 1);
		return -EINVAL;
	}
	return 0;
}

void brisk_ring__wait_tail(struct brisk_ring_headtail *ht, uint32_t old_head)
{
	unsigned spins = 0;
	unsigned yields = 0;

	/* acquire: see brisk_ring__update_tail. */
	while (__atomic_load_n(&ht->tail, __ATOMIC_ACQUIRE) != old_head) {
		if (++spins < RING_SPINS_BEFORE_YIELD) {
			brisk_ring__pause();
			continue;
		}
		spins = 0;
		if (++yields < RING_YIELDS_BEFORE_SLEEP) {
			/* The thread we wait for is likely preempted, maybe on this
			 * very core: let it run instead of burning our time slice. */
			sched_yield();
		} else {
			/* CFS may hand the core straight back to a yielding thread while
			 * the preempted one waits; sleeping really gives it the core. */
			struct timespec ts = { .tv_sec = 0, .tv_nsec = RING_SLEEP_NS };
			nanosleep(&ts, NULL);
		}
	}
}

long brisk_ring_get_memsize_flags(unsigned count, unsigned flags)
{
	uint32_t size, capacity;
	int rc = ring_geometry(count, flags, &size, &capacity);

	if (rc != 0) {
		return rc;
	}
	return (long)(sizeof(struct brisk_ring) + (size_t)size * sizeof(void *));
}

long brisk_ring_get_memsize(unsigned count)
{
	return brisk_ring_get_memsize_flags(count, 0);
}

/* Sets up r after the caller validated everything. */
static void ring_setup(struct brisk_ring *r, const char *name, uint32_t size, uint32_t capacity,
		       unsigned flags)
{
	memset(r, 0, sizeof(*r));
	if (name != NULL) {
		snprintf(r->name, sizeof(r->name), "%s", name);
	}
	r->flags = flags;
	r->size = size;
	r->mask = size - 1;
	r->capacity = capacity;
	r->prod.single = (flags & BRISK_RING_F_SP_ENQ) != 0;
	r->cons.single = (flags & BRISK_RING_F_SC_DEQ) != 0;
}

int brisk_ring_init(struct brisk_ring *r, const char *name, unsigned count, unsigned flags)
{
	uint32_t size, capacity;
	int rc;

	if (r == NULL) {
		BRISK_ERRLOG("ring memory is NULL\n");
		return -EINVAL;
	}
	if (name != NULL && strnlen(name, BRISK_RING_NAMESIZE) >= BRISK_RING_NAMESIZE) {
		BRISK_ERRLOG("ring name '%.40s' is too long (max %d characters)\n", name,
			     BRISK_RING_NAMESIZE - 1);
		return -EINVAL;
	}
	rc = ring_geometry(count, flags, &size, &capacity);
	if (rc != 0) {
		return rc;
	}
	ring_setup(r, name, size, capacity, flags);
	return 0;
}

struct brisk_ring *brisk_ring_create(const char *name, unsigned count, int socket_id, unsigned flags)
{
	char mz_name[BRISK_MEMZONE_NAMESIZE];
	uint32_t size, capacity;
	struct brisk_ring *r;
	size_t len;

	if (ring_check_name(name) != 0 || ring_geometry(count, flags, &size, &capacity) != 0) {
		errno = EINVAL;
		return NULL;
	}
	len = sizeof(struct brisk_ring) + (size_t)size * sizeof(void *);
	snprintf(mz_name, sizeof(mz_name), RING_MZ_PREFIX "%s", name);
	r = brisk_memzone_reserve_aligned(mz_name, len, socket_id, 0, BRISK_RING_SIDE_ALIGN);
	if (r == NULL) {
		int err = errno;

		if (err == EEXIST) {
			BRISK_ERRLOG("ring '%s' already exists\n", name);
		} else {
			BRISK_ERRLOG("ring '%s': cannot reserve %zu bytes: %s\n", name, len, strerror(err));
		}
		errno = err == EEXIST || err == EINVAL ? err : ENOMEM;
		return NULL;
	}
	ring_setup(r, name, size, capacity, flags | RING_F_IN_MEMZONE);
	r->memzone_len = len;
	return r;
}

void brisk_ring_free(struct brisk_ring *r)
{
	char mz_name[BRISK_MEMZONE_NAMESIZE];

	if (r == NULL) {
		return;
	}
	if (!(r->flags & RING_F_IN_MEMZONE)) {
		BRISK_ERRLOG("ring '%s' was placed by the caller (brisk_ring_init): not freed\n", r->name);
		return;
	}
	snprintf(mz_name, sizeof(mz_name), RING_MZ_PREFIX "%s", r->name);
	if (brisk_memzone_lookup(mz_name) != r) {
		BRISK_ERRLOG("ring '%s' at %p is not a registered ring\n", r->name, (void *)r);
		return;
	}
	r->flags = 0; /* a second free of the same pointer is then reported, not obeyed */
	if (brisk_memzone_free(mz_name) != 0) {
		BRISK_ERRLOG("ring '%s': memzone %s could not be freed\n", r->name, mz_name);
	}
}

struct brisk_ring *brisk_ring_lookup(const char *name)
{
	char mz_name[BRISK_MEMZONE_NAMESIZE];
	struct brisk_ring *r;

	if (ring_check_name(name) != 0) {
		errno = EINVAL;
		return NULL;
	}
	snprintf(mz_name, sizeof(mz_name), RING_MZ_PREFIX "%s", name);
	r = brisk_memzone_lookup(mz_name);
	if (r == NULL) {
		errno = ENOENT;
	}
	return r;
}

unsigned brisk_ring_count(const struct brisk_ring *r)
{
	/* relaxed: a snapshot for reporting; it synchronises nothing. */
	uint32_t prod_tail = __atomic_load_n(&r->prod.tail, __ATOMIC_RELAXED);
	uint32_t cons_tail = __atomic_load_n(&r->cons.tail, __ATOMIC_RELAXED);
	uint32_t count = (prod_tail - cons_tail) & r->mask;

	/* The two loads are not one snapshot: clamp what cannot be. */
	return count > r->capacity ? r->capacity : count;
}

unsigned brisk_ring_free_count(const struct brisk_ring *r)
{
	return r->capacity - brisk_ring_count(r);
}

bool brisk_ring_empty(const struct brisk_ring *r)
{
	return brisk_ring_count(r) == 0;
}

bool brisk_ring_full(const struct brisk_ring *r)
{
	return brisk_ring_free_count(r) == 0;
}

unsigned brisk_ring_get_capacity(const struct brisk_ring *r)
{
	return r->capacity;
}

unsigned brisk_ring_get_size(const struct brisk_ring *r)
{
	return r->size;
}

const char *brisk_ring_get_name(const struct brisk_ring *r)
{
	return r->name;
}

void brisk_ring_dump(FILE *f, const struct brisk_ring *r)
{
	if (r == NULL) {
		fprintf(f, "ring <NULL>\n");
		return;
	}
	fprintf(f, "ring <%s>@%p\n", r->name, (const void *)r);
	fprintf(f, "  flags=0x%x (%s producer, %s consumer%s)\n", r->flags & RING_PUBLIC_FLAGS,
		r->prod.single ? "single" : "multi", r->cons.single ? "single" : "multi",
		(r->flags & BRISK_RING_F_EXACT_SZ) ? ", exact size" : "");
	fprintf(f, "  size=%u capacity=%u\n", r->size, r->capacity);
	fprintf(f, "  prod.head=%u prod.tail=%u\n", __atomic_load_n(&r->prod.head, __ATOMIC_RELAXED),
		__atomic_load_n(&r->prod.tail, __ATOMIC_RELAXED));
	fprintf(f, "  cons.head=%u cons.tail=%u\n", __atomic_load_n(&r->cons.head, __ATOMIC_RELAXED),
		__atomic_load_n(&r->cons.tail, __ATOMIC_RELAXED));
	fprintf(f, "  used=%u avail=%u\n", brisk_ring_count(r), brisk_ring_free_count(r));
}
