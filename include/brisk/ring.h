/*
 * Lock-free rings of pointers, shaped like DPDK's rte_ring so code ports by
 * renaming. Capacity is a power of two minus one unless BRISK_RING_F_EXACT_SZ.
 * Producer/consumer modes are chosen at creation and can be overridden per
 * call (mp/sp, mc/sc variants). Bulk = all or nothing, burst = as many as fit.
 * Rings live in memzones, so a secondary process finds them with lookup.
 */
#ifndef BRISK_RING_H
#define BRISK_RING_H

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

struct brisk_ring;

/* count: power of two (capacity count-1), or any count with EXACT_SZ.
 * NULL with errno: EINVAL (count 0 / not a power of two / too big, bad flags or name),
 * EEXIST (name taken), ENOMEM. */
struct brisk_ring *brisk_ring_create(const char *name, unsigned count, int socket_id, unsigned flags);
/* Memory needed for a ring of count (for rings placed by the caller), or -EINVAL. */
long brisk_ring_get_memsize(unsigned count);
/* Initialises caller-provided memory of brisk_ring_get_memsize(count) bytes
 * (not registered by name, so not found by lookup). 0 or -EINVAL. */
int brisk_ring_init(struct brisk_ring *r, const char *name, unsigned count, unsigned flags);
void brisk_ring_free(struct brisk_ring *r);
struct brisk_ring *brisk_ring_lookup(const char *name);

unsigned brisk_ring_enqueue_bulk(struct brisk_ring *r, void *const *objs, unsigned n, unsigned *free_space);
unsigned brisk_ring_enqueue_burst(struct brisk_ring *r, void *const *objs, unsigned n, unsigned *free_space);
unsigned brisk_ring_dequeue_bulk(struct brisk_ring *r, void **objs, unsigned n, unsigned *available);
unsigned brisk_ring_dequeue_burst(struct brisk_ring *r, void **objs, unsigned n, unsigned *available);
unsigned brisk_ring_mp_enqueue_bulk(struct brisk_ring *r, void *const *objs, unsigned n, unsigned *free_space);
unsigned brisk_ring_sp_enqueue_bulk(struct brisk_ring *r, void *const *objs, unsigned n, unsigned *free_space);
unsigned brisk_ring_mp_enqueue_burst(struct brisk_ring *r, void *const *objs, unsigned n, unsigned *free_space);
unsigned brisk_ring_sp_enqueue_burst(struct brisk_ring *r, void *const *objs, unsigned n, unsigned *free_space);
unsigned brisk_ring_mc_dequeue_bulk(struct brisk_ring *r, void **objs, unsigned n, unsigned *available);
unsigned brisk_ring_sc_dequeue_bulk(struct brisk_ring *r, void **objs, unsigned n, unsigned *available);
unsigned brisk_ring_mc_dequeue_burst(struct brisk_ring *r, void **objs, unsigned n, unsigned *available);
unsigned brisk_ring_sc_dequeue_burst(struct brisk_ring *r, void **objs, unsigned n, unsigned *available);
/* Single object: 0, or -ENOBUFS (full) / -ENOENT (empty). */
int brisk_ring_enqueue(struct brisk_ring *r, void *obj);
int brisk_ring_dequeue(struct brisk_ring *r, void **obj);

unsigned brisk_ring_count(const struct brisk_ring *r);
unsigned brisk_ring_free_count(const struct brisk_ring *r);
bool brisk_ring_empty(const struct brisk_ring *r);
bool brisk_ring_full(const struct brisk_ring *r);
unsigned brisk_ring_get_capacity(const struct brisk_ring *r);
unsigned brisk_ring_get_size(const struct brisk_ring *r);
const char *brisk_ring_get_name(const struct brisk_ring *r);
void brisk_ring_dump(FILE *f, const struct brisk_ring *r);

#ifdef __cplusplus
}
#endif
#endif
