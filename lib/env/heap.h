/*
 * Private to lib/env: the allocator core behind brisk_malloc and memzones.
 *
 * A heap manages one contiguous range of a shared segment. Everything it
 * needs lives inside that range (secondary processes map the segments at the
 * same address and allocate and free through the same structures):
 *
 *   [struct env_heap][elem][data ...][elem][data ...] ... [elem][data ...]
 *
 * Every element starts with a 64-byte header and covers a multiple of 64
 * bytes; elements tile the range in address order, so an element's right
 * neighbour is at elem + elem->size and its left neighbour is elem->prev.
 * Free elements sit on a doubly linked list per power-of-two size class.
 * Freeing merges an element with free neighbours on both sides, so two free
 * elements are never adjacent and freeing everything restores one element.
 * The data of an element always starts right after its header; an aligned or
 * bounded allocation splits a leading free element off to get there.
 *
 * All heaps and the memzone table are guarded by g_env_shared->lock.
 */
#ifndef BRISK_ENV_HEAP_H
#define BRISK_ENV_HEAP_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "env_internal.h"

#define HEAP_ELEM_HDR_SIZE 64u     /* one cache line: data keeps the default alignment */
#define HEAP_DEFAULT_ALIGN 64u
#define HEAP_NUM_CLASSES 32        /* class k: element sizes in [64 << k, 128 << k) */

enum heap_elem_state {
	HEAP_ELEM_FREE = 1,
	HEAP_ELEM_BUSY = 2,
};

struct env_heap;

struct heap_elem {
	uint64_t magic;            /* HEAP_ELEM_MAGIC ^ address: a copied header does not pass */
	struct env_heap *heap;
	struct heap_elem *prev;    /* left neighbour by address; NULL for the first */
	uint64_t size;             /* whole element, header included; multiple of 64 */
	uint64_t user_size;        /* bytes asked for (busy elements) */
	uint32_t state;            /* enum heap_elem_state */
	int32_t socket_id;
	struct heap_elem *free_next; /* size-class list links, free elements only */
	struct heap_elem *free_prev;
};

struct env_heap {
	uint64_t magic;
	int socket_id;
	uint32_t free_count;       /* free elements */
	uint32_t alloc_count;      /* busy elements */
	uint32_t pad;
	uint64_t free_bytes;       /* sum of free element sizes, headers included */
	uint64_t bad_free_count;   /* rejected frees (double free, foreign pointer) */
	uintptr_t start;           /* first element */
	uintptr_t end;             /* one past the last element */
	struct heap_elem *free_lists[HEAP_NUM_CLASSES];
};

/* Lock around every heap and memzone change. The mutex is process shared
 * and robust (memory.c): when a process dies holding it the next locker gets
 * EOWNERDEAD. A change cut short there cannot be rolled back, so mark the
 * mutex consistent and go on rather than hang every other process;
 * env_heap_validate can tell whether the heap survived. */
static inline void heap_shared_lock(void)
{
	int rc = pthread_mutex_lock(&g_env_shared->lock);

	if (rc == EOWNERDEAD) {
		pthread_mutex_consistent(&g_env_shared->lock);
	}
	/* Memory another process grew must be mapped here before this process
	 * walks heap structures or hands out memzones that may lie in it. */
	env_memory_sync_locked();
}

static inline void heap_shared_unlock(void)
{
	pthread_mutex_unlock(&g_env_shared->lock);
}

/* Everything below needs g_env_shared->lock held by the caller. */

/* One heap: NULL with errno ENOMEM when no element fits. size > 0, align a
 * power of two >= 64, bound 0 or a power of two >= size (checked by the caller). */
void *env_heap_alloc_from_locked(struct env_heap *heap, size_t size, size_t align, size_t bound);
/* Socket policy (see malloc.c) and argument checks; NULL with errno EINVAL/ENOMEM.
 * align 0 = 64. */
void *env_heap_alloc_locked(int socket_id, size_t size, size_t align, size_t bound);

enum heap_ptr_status {
	HEAP_PTR_BUSY,        /* a live allocation */
	HEAP_PTR_FREE,        /* its element is free: a double free */
	HEAP_PTR_FOREIGN,     /* outside every heap, misaligned or bad header magic */
};
/* Classifies ptr; on HEAP_PTR_BUSY *elem is its element. Never reads memory
 * outside the heaps. */
enum heap_ptr_status env_heap_check_ptr_locked(const void *ptr, struct heap_elem **elem);
/* Frees a busy element (merging with free neighbours). In debug builds checks
 * the guard word and poisons the data. */
void env_heap_free_elem_locked(struct heap_elem *elem);
/* Resizes a busy element without moving it: shrinks, or grows into a free
 * right neighbour. false when that is not possible (nothing changed). */
bool env_heap_resize_locked(struct heap_elem *elem, size_t size);
/* The heap's range grew: [heap->end, new_end) follows it directly in the
 * same segment. Joins the last element if free, else adds a free one. */
void env_heap_extend_locked(struct env_heap *heap, uintptr_t new_end);
/* Usable bytes from the data to the end of the element (guard excluded). */
size_t env_heap_elem_capacity(const struct heap_elem *elem);
void env_heap_stats_locked(const struct env_heap *heap, struct brisk_heap_stats *stats);
/* Records and logs a rejected free/realloc of ptr. */
void env_heap_report_bad_ptr_locked(const void *ptr, enum heap_ptr_status status,
				    const char *caller);

static inline void *heap_elem_data(const struct heap_elem *elem)
{
	return (char *)elem + HEAP_ELEM_HDR_SIZE;
}

/* Take the lock themselves. */

/* Walks every element of the heap of socket_id and checks the invariants
 * (magic, address links, sizes tiling the range, no two adjacent free
 * elements, free lists holding exactly the free elements, counters, guard
 * words in debug builds). 0, -ENOENT (no heap) or -EIO with the first broken
 * invariant logged. For tests and debugging. */
int env_heap_validate(int socket_id);
/* Total of rejected frees over all heaps (tests use it to see a report). */
uint64_t env_heap_bad_free_count(void);
/* Socket of the heap holding a live allocation, or -1. */
int env_heap_socket_of(const void *ptr);

#endif
