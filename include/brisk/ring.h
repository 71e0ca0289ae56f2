/*
 * Lock-free rings of pointers, shaped like DPDK's rte_ring so code ports by
 * renaming. Capacity is a power of two minus one unless BRISK_RING_F_EXACT_SZ.
 * Producer/consumer modes are chosen at creation and can be overridden per
 * call (mp/sp, mc/sc variants). Bulk = all or nothing, burst = as many as fit.
 * Rings live in memzones, so a secondary process finds them with lookup.
 *
 * The enqueue/dequeue fast path is static inline here (as in DPDK) so a call
 * costs a few instructions; creation, lookup and dump are in lib/env/ring.c.
 *
 * How it works: the producer side and the consumer side each have a head and
 * a tail counter (32 bits, free-running, indexed with the mask). A producer
 * first claims slots by moving prod.head, writes them, then publishes them by
 * moving prod.tail; consumers only read slots below prod.tail. Consumers do
 * the mirror image with cons.head / cons.tail, and producers only overwrite
 * slots below cons.tail + capacity. With several producers, head moves by
 * compare-and-swap and each producer waits for the ones that claimed earlier
 * slots to publish before moving the tail past its own.
 *
 * The ring holds no pointer to process-local memory, so it works in shared
 * memory between processes (the objects it carries are the caller's concern).
 */
#ifndef BRISK_RING_H
#define BRISK_RING_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BRISK_RING_NAMESIZE 29 /* memzone name "RG_" + this, including the NUL */
#define BRISK_RING_F_SP_ENQ 0x1     /* single producer by default */
#define BRISK_RING_F_SC_DEQ 0x2     /* single consumer by default */
#define BRISK_RING_F_EXACT_SZ 0x4   /* capacity exactly count (size rounded up internally) */
#define BRISK_RING_SZ_MASK 0x7fffffffu

/* Producer and consumer each get 128 bytes (two cache lines) so the adjacent-
 * line prefetcher does not bounce one side's line when the other writes. */
#define BRISK_RING_SIDE_ALIGN 128

/* One side (producer or consumer) of a ring. */
struct brisk_ring_headtail {
	uint32_t head;   /* next slot to claim */
	uint32_t tail;   /* slots below this are published to the other side */
	uint32_t single; /* 1: one thread at a time uses this side (SP / SC) */
};

struct brisk_ring {
	char name[BRISK_RING_NAMESIZE];
	unsigned flags;     /* creation flags, plus private bits from ring.c */
	uint32_t size;      /* number of slots, a power of two */
	uint32_t mask;      /* size - 1 */
	uint32_t capacity;  /* usable slots: size - 1, or count with EXACT_SZ */
	uint64_t memzone_len; /* bytes reserved (0 for caller memory) */

	struct brisk_ring_headtail prod __attribute__((aligned(BRISK_RING_SIDE_ALIGN)));
	struct brisk_ring_headtail cons __attribute__((aligned(BRISK_RING_SIDE_ALIGN)));
	void *slots[] __attribute__((aligned(BRISK_RING_SIDE_ALIGN)));
};

/* count: power of two (capacity count-1), or any count with EXACT_SZ.
 * NULL with errno: EINVAL (count 0 / not a power of two / too big, unknown flags,
 * name NULL, empty or not shorter than BRISK_RING_NAMESIZE), EEXIST (name taken),
 * ENOMEM. Needs brisk_env_init. socket_id: NUMA node or BRISK_ENV_SOCKET_ID_ANY. */
struct brisk_ring *brisk_ring_create(const char *name, unsigned count, int socket_id, unsigned flags);
/* Memory needed for a ring of count (for rings placed by the caller), or -EINVAL. */
long brisk_ring_get_memsize(unsigned count);
/* Same as brisk_ring_get_memsize, honouring BRISK_RING_F_EXACT_SZ in flags. */
long brisk_ring_get_memsize_flags(unsigned count, unsigned flags);
/* Initialises caller-provided memory of brisk_ring_get_memsize(count) bytes
 * (brisk_ring_get_memsize_flags with EXACT_SZ), aligned to 128 bytes. The ring
 * is not registered by name, so not found by lookup; name may be NULL or "".
 * Works without brisk_env_init. 0 or -EINVAL (same rules as create). */
int brisk_ring_init(struct brisk_ring *r, const char *name, unsigned count, unsigned flags);
/* Frees a ring from brisk_ring_create (NULL is ignored; a ring from
 * brisk_ring_init is reported and left alone: its memory is the caller's). */
void brisk_ring_free(struct brisk_ring *r);
/* NULL with errno ENOENT (no such ring) or EINVAL (bad name). */
struct brisk_ring *brisk_ring_lookup(const char *name);

unsigned brisk_ring_count(const struct brisk_ring *r);
unsigned brisk_ring_free_count(const struct brisk_ring *r);
bool brisk_ring_empty(const struct brisk_ring *r);
bool brisk_ring_full(const struct brisk_ring *r);
unsigned brisk_ring_get_capacity(const struct brisk_ring *r);
unsigned brisk_ring_get_size(const struct brisk_ring *r);
const char *brisk_ring_get_name(const struct brisk_ring *r);
void brisk_ring_dump(FILE *f, const struct brisk_ring *r);

/* ------------------------------------------------------------------------ */
/* Fast path. Everything below is internal except the brisk_ring_* calls.   */

/* Forced inline, as DPDK does: at -O2 GCC would otherwise keep the generic
 * enqueue/dequeue as one out-of-line copy and lose the constant folding of
 * the mode and amount arguments. */
#define BRISK_RING__INLINE static inline __attribute__((always_inline))
#define BRISK_RING__LIKELY(x) __builtin_expect(!!(x), 1)
#define BRISK_RING__UNLIKELY(x) __builtin_expect(!!(x), 0)

enum brisk_ring__amount {
	BRISK_RING__BULK,  /* all n or nothing */
	BRISK_RING__BURST, /* as many as possible, up to n */
};

BRISK_RING__INLINE void brisk_ring__pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield" ::: "memory");
#endif
}

/* Copies n pointers between dst and src: four at a time, then the 0-3 left
 * with two tests instead of a loop (a burst of 1 is then a single move).
 * The bounds are written as i + k <= n, not with n's low bits, so that
 * scan-build can see no element past n is read. */
BRISK_RING__INLINE void brisk_ring__copy(void **dst, void *const *src, unsigned n)
{
	unsigned i = 0;

	for (; i + 4 <= n; i += 4) {
		dst[i] = src[i];
		dst[i + 1] = src[i + 1];
		dst[i + 2] = src[i + 2];
		dst[i + 3] = src[i + 3];
	}
	if (i + 2 <= n) {
		dst[i] = src[i];
		dst[i + 1] = src[i + 1];
		i += 2;
	}
	if (i < n) {
		dst[i] = src[i];
	}
}

/* Copies n pointers into the slots starting at counter head, wrapping at size. */
BRISK_RING__INLINE void brisk_ring__write_slots(struct brisk_ring *r, uint32_t head, void *const *objs,
					   unsigned n)
{
	uint32_t idx = head & r->mask;

	if (BRISK_RING__LIKELY(idx + n <= r->size)) {
		brisk_ring__copy(&r->slots[idx], objs, n);
	} else {
		/* Rare wrap: plain loops. */
		unsigned i = 0;

		for (; idx < r->size && i < n; i++, idx++) {
			r->slots[idx] = objs[i];
		}
		for (idx = 0; i < n; i++, idx++) {
			r->slots[idx] = objs[i];
		}
	}
}

/* Copies n pointers out of the slots starting at counter head, wrapping at size. */
BRISK_RING__INLINE void brisk_ring__read_slots(struct brisk_ring *r, uint32_t head, void **objs,
					  unsigned n)
{
	uint32_t idx = head & r->mask;

	if (BRISK_RING__LIKELY(idx + n <= r->size)) {
		brisk_ring__copy(objs, &r->slots[idx], n);
	} else {
		unsigned i = 0;

		for (; idx < r->size && i < n; i++, idx++) {
			objs[i] = r->slots[idx];
		}
		for (idx = 0; i < n; i++, idx++) {
			objs[i] = r->slots[idx];
		}
	}
}

/*
 * Claims up to n slots on side `mine`, limited by how far the other side's
 * tail lets us go: up to other tail + span, where span is the capacity for
 * producers and 0 for consumers. Returns the number claimed (0 for a bulk that does not fit) and
 * the old head; *room is what was free (producers) or filled (consumers)
 * before the claim.
 */
BRISK_RING__INLINE unsigned brisk_ring__move_head(struct brisk_ring_headtail *mine,
					     const struct brisk_ring_headtail *other, uint32_t span,
					     bool single, unsigned n, enum brisk_ring__amount amount,
					     uint32_t *old_head, uint32_t *room)
{
	unsigned want = n;
	uint32_t head, other_tail;
	bool ok;

	if (single) {
		/* relaxed: only this thread writes head on a single side. */
		head = __atomic_load_n(&mine->head, __ATOMIC_RELAXED);
	} else {
		/* acquire: keeps this load ahead of the tail load below. Read the
		 * other way round, head could already be past that (older) tail
		 * and room would underflow into a claim of unpublished slots. A
		 * merely stale head is harmless: the compare-and-swap fails. */
		head = __atomic_load_n(&mine->head, __ATOMIC_ACQUIRE);
	}
	do {
		n = want;
		/* acquire: pairs with the other side's release of its tail, so the
		 * slots it handed over are really done (filled for a consumer,
		 * read out for a producer) before we touch them. */
		other_tail = __atomic_load_n(&other->tail, __ATOMIC_ACQUIRE);
		/* Unsigned arithmetic handles counter wraparound. */
		*room = span + other_tail - head;
		if (BRISK_RING__UNLIKELY(n > *room)) {
			n = amount == BRISK_RING__BULK ? 0 : *room;
		}
		if (BRISK_RING__UNLIKELY(n == 0)) {
			*old_head = head;
			return 0;
		}
		if (single) {
			/* relaxed: only this thread moves head on a single side; the
			 * other side reads our tail, never our head. */
			__atomic_store_n(&mine->head, head + n, __ATOMIC_RELAXED);
			ok = true;
		} else {
			/* CAS so concurrent threads on this side claim disjoint slots.
			 * The claim publishes nothing (the tail does); acquire only so
			 * that, on failure, the reloaded head stays ahead of the next
			 * tail load, as above. */
			ok = __atomic_compare_exchange_n(&mine->head, &head, head + n, true,
							 __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE);
		}
	} while (BRISK_RING__UNLIKELY(!ok));
	*old_head = head;
	return n;
}

/* Slow path of brisk_ring__update_tail (ring.c): spins until tail reaches
 * old_head, yielding the CPU now and then in case the thread we wait for was
 * preempted on our core. Acquire ordering, as described there. */
void brisk_ring__wait_tail(struct brisk_ring_headtail *ht, uint32_t old_head);

/* Publishes slots [old_head, old_head + n) of side `mine` to the other side. */
BRISK_RING__INLINE void brisk_ring__update_tail(struct brisk_ring_headtail *mine, uint32_t old_head,
					   unsigned n, bool single)
{
	/* Threads that claimed earlier slots must publish first, since the tail
	 * is one counter. acquire: their slot accesses then happen before our
	 * release below, so the other side sees them too. */
	if (!single && BRISK_RING__UNLIKELY(__atomic_load_n(&mine->tail, __ATOMIC_ACQUIRE) != old_head)) {
		brisk_ring__wait_tail(mine, old_head);
	}
	/* release: our slot writes (or reads) are complete before the other side
	 * can see the tail move and reuse those slots. */
	__atomic_store_n(&mine->tail, old_head + n, __ATOMIC_RELEASE);
}

BRISK_RING__INLINE unsigned brisk_ring__enqueue(struct brisk_ring *r, void *const *objs, unsigned n,
					   enum brisk_ring__amount amount, bool single,
					   unsigned *free_space)
{
	uint32_t head, room;
	unsigned want = n;

	n = brisk_ring__move_head(&r->prod, &r->cons, r->capacity, single, n, amount, &head, &room);
	/* Never more than asked: telling the compiler bounds the copy loop for
	 * constant n (no false -Warray-bounds on a one-object buffer). */
	if (n > want) {
		__builtin_unreachable();
	}
	if (BRISK_RING__LIKELY(n != 0)) {
		brisk_ring__write_slots(r, head, objs, n);
		brisk_ring__update_tail(&r->prod, head, n, single);
	}
	if (free_space != NULL) {
		*free_space = room - n;
	}
	return n;
}

BRISK_RING__INLINE unsigned brisk_ring__dequeue(struct brisk_ring *r, void **objs, unsigned n,
					   enum brisk_ring__amount amount, bool single,
					   unsigned *available)
{
	uint32_t head, room;
	unsigned want = n;

	n = brisk_ring__move_head(&r->cons, &r->prod, 0, single, n, amount, &head, &room);
	/* Never more than asked: telling the compiler bounds the copy loop for
	 * constant n (no false -Warray-bounds on a one-object buffer). */
	if (n > want) {
		__builtin_unreachable();
	}
	if (BRISK_RING__LIKELY(n != 0)) {
		brisk_ring__read_slots(r, head, objs, n);
		brisk_ring__update_tail(&r->cons, head, n, single);
	}
	if (available != NULL) {
		*available = room - n;
	}
	return n;
}

/* Enqueue: return the number enqueued; *free_space (if not NULL) is the free
 * room left afterwards. Bulk enqueues n or 0. */
BRISK_RING__INLINE unsigned brisk_ring_mp_enqueue_bulk(struct brisk_ring *r, void *const *objs, unsigned n,
						  unsigned *free_space)
{
	return brisk_ring__enqueue(r, objs, n, BRISK_RING__BULK, false, free_space);
}

BRISK_RING__INLINE unsigned brisk_ring_sp_enqueue_bulk(struct brisk_ring *r, void *const *objs, unsigned n,
						  unsigned *free_space)
{
	return brisk_ring__enqueue(r, objs, n, BRISK_RING__BULK, true, free_space);
}

BRISK_RING__INLINE unsigned brisk_ring_mp_enqueue_burst(struct brisk_ring *r, void *const *objs, unsigned n,
						   unsigned *free_space)
{
	return brisk_ring__enqueue(r, objs, n, BRISK_RING__BURST, false, free_space);
}

BRISK_RING__INLINE unsigned brisk_ring_sp_enqueue_burst(struct brisk_ring *r, void *const *objs, unsigned n,
						   unsigned *free_space)
{
	return brisk_ring__enqueue(r, objs, n, BRISK_RING__BURST, true, free_space);
}

BRISK_RING__INLINE unsigned brisk_ring_enqueue_bulk(struct brisk_ring *r, void *const *objs, unsigned n,
					       unsigned *free_space)
{
	return brisk_ring__enqueue(r, objs, n, BRISK_RING__BULK, r->prod.single != 0, free_space);
}

BRISK_RING__INLINE unsigned brisk_ring_enqueue_burst(struct brisk_ring *r, void *const *objs, unsigned n,
						unsigned *free_space)
{
	return brisk_ring__enqueue(r, objs, n, BRISK_RING__BURST, r->prod.single != 0, free_space);
}

/* Dequeue: return the number dequeued; *available (if not NULL) is the number
 * of objects left afterwards. Bulk dequeues n or 0. */
BRISK_RING__INLINE unsigned brisk_ring_mc_dequeue_bulk(struct brisk_ring *r, void **objs, unsigned n,
						  unsigned *available)
{
	return brisk_ring__dequeue(r, objs, n, BRISK_RING__BULK, false, available);
}

BRISK_RING__INLINE unsigned brisk_ring_sc_dequeue_bulk(struct brisk_ring *r, void **objs, unsigned n,
						  unsigned *available)
{
	return brisk_ring__dequeue(r, objs, n, BRISK_RING__BULK, true, available);
}

BRISK_RING__INLINE unsigned brisk_ring_mc_dequeue_burst(struct brisk_ring *r, void **objs, unsigned n,
						   unsigned *available)
{
	return brisk_ring__dequeue(r, objs, n, BRISK_RING__BURST, false, available);
}

BRISK_RING__INLINE unsigned brisk_ring_sc_dequeue_burst(struct brisk_ring *r, void **objs, unsigned n,
						   unsigned *available)
{
	return brisk_ring__dequeue(r, objs, n, BRISK_RING__BURST, true, available);
}

BRISK_RING__INLINE unsigned brisk_ring_dequeue_bulk(struct brisk_ring *r, void **objs, unsigned n,
					       unsigned *available)
{
	return brisk_ring__dequeue(r, objs, n, BRISK_RING__BULK, r->cons.single != 0, available);
}

BRISK_RING__INLINE unsigned brisk_ring_dequeue_burst(struct brisk_ring *r, void **objs, unsigned n,
						unsigned *available)
{
	return brisk_ring__dequeue(r, objs, n, BRISK_RING__BURST, r->cons.single != 0, available);
}

/* Single object: 0, or -ENOBUFS (full) / -ENOENT (empty). */
BRISK_RING__INLINE int brisk_ring_enqueue(struct brisk_ring *r, void *obj)
{
	return brisk_ring_enqueue_bulk(r, &obj, 1, NULL) == 1 ? 0 : -ENOBUFS;
}

BRISK_RING__INLINE int brisk_ring_dequeue(struct brisk_ring *r, void **obj)
{
	return brisk_ring_dequeue_bulk(r, obj, 1, NULL) == 1 ? 0 : -ENOENT;
}

#ifdef __cplusplus
}
#endif
#endif
