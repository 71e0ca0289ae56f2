/*
 * The allocator core: element headers, size-class free lists, splitting on
 * allocation and merging with both neighbours on free. The layout and the
 * invariants are described in heap.h. Every function here except
 * env_heap_create, env_heap_validate and the small query helpers at the end
 * expects g_env_shared->lock to be held.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <brisk/log.h>

#include "heap.h"

#define HEAP_MAGIC 0x5041454845534952ull      /* "RISEHEAP" */
#define HEAP_ELEM_MAGIC 0x4d454c454b534952ull /* "RISKELEM" */
/* A trailing remainder smaller than this stays inside the busy element:
 * a free element that can hold at most 64 bytes is not worth a list entry. */
#define HEAP_MIN_SPLIT (2 * HEAP_ELEM_HDR_SIZE)
/* Smallest range env_heap_create accepts. */
#define HEAP_MIN_LEN (4096u)

#ifdef DEBUG
/* Debug builds keep a guard word right after the bytes asked for, and fill
 * freed memory with a poison byte so that a use after free reads garbage
 * that is easy to recognise in a dump. */
#define HEAP_GUARD_SIZE 8u
#define HEAP_GUARD_WORD 0xbd5aa5bd5aa5bd5aull
#define HEAP_POISON_BYTE 0x6b
#else
#define HEAP_GUARD_SIZE 0u
#endif

/* Rejected frees in this process; tests read it to see that a report happened. */
static uint64_t g_bad_free_count;

static inline uintptr_t align_up(uintptr_t v, uintptr_t align)
{
	return (v + align - 1) & ~(align - 1);
}

static inline uint64_t elem_magic(const struct heap_elem *elem)
{
	return HEAP_ELEM_MAGIC ^ (uintptr_t)elem;
}

static inline uintptr_t elem_end(const struct heap_elem *elem)
{
	return (uintptr_t)elem + elem->size;
}

static struct heap_elem *elem_next(const struct env_heap *heap, const struct heap_elem *elem)
{
	uintptr_t next = elem_end(elem);

	return next < heap->end ? (struct heap_elem *)next : NULL;
}

static unsigned size_class(uint64_t size)
{
	unsigned log2 = 63 - (unsigned)__builtin_clzll(size | HEAP_ELEM_HDR_SIZE);
	unsigned k = log2 - 6; /* 64 = 1 << 6 is class 0 */

	return k < HEAP_NUM_CLASSES ? k : HEAP_NUM_CLASSES - 1;
}

static void elem_init(struct heap_elem *elem, struct env_heap *heap, struct heap_elem *prev,
		      uint64_t size)
{
	elem->magic = elem_magic(elem);
	elem->heap = heap;
	elem->prev = prev;
	elem->size = size;
	elem->user_size = 0;
	elem->state = 0;
	elem->socket_id = heap->socket_id;
	elem->free_next = NULL;
	elem->free_prev = NULL;
}

/* The header of an element swallowed by a neighbour must not pass as an
 * element any more, or a stale pointer to it would be freed a second time. */
static void elem_erase_header(struct heap_elem *elem)
{
#ifdef DEBUG
	memset(elem, HEAP_POISON_BYTE, sizeof(*elem));
#else
	elem->magic = 0;
	elem->state = 0;
#endif
}

static void elem_poison_data(struct heap_elem *elem)
{
#ifdef DEBUG
	memset(heap_elem_data(elem), HEAP_POISON_BYTE, elem->size - HEAP_ELEM_HDR_SIZE);
#else
	(void)elem;
#endif
}

static void elem_write_guard(struct heap_elem *elem)
{
#ifdef DEBUG
	uint64_t guard = HEAP_GUARD_WORD;

	memcpy((char *)heap_elem_data(elem) + elem->user_size, &guard, sizeof(guard));
#else
	(void)elem;
#endif
}

static bool elem_guard_intact(const struct heap_elem *elem)
{
#ifdef DEBUG
	uint64_t guard;

	memcpy(&guard, (const char *)heap_elem_data(elem) + elem->user_size, sizeof(guard));
	return guard == HEAP_GUARD_WORD;
#else
	(void)elem;
	return true;
#endif
}

/* Puts elem on its size-class list and counts it as free. */
static void elem_make_free(struct env_heap *heap, struct heap_elem *elem)
{
	unsigned k = size_class(elem->size);

	elem->state = HEAP_ELEM_FREE;
	elem->user_size = 0;
	elem->free_prev = NULL;
	elem->free_next = heap->free_lists[k];
	if (elem->free_next != NULL) {
		elem->free_next->free_prev = elem;
	}
	heap->free_lists[k] = elem;
	heap->free_count++;
	heap->free_bytes += elem->size;
}

/* Takes elem off its list (its size must be the one it was listed with). */
static void elem_unlist(struct env_heap *heap, struct heap_elem *elem)
{
	if (elem->free_prev != NULL) {
		elem->free_prev->free_next = elem->free_next;
	} else {
		heap->free_lists[size_class(elem->size)] = elem->free_next;
	}
	if (elem->free_next != NULL) {
		elem->free_next->free_prev = elem->free_prev;
	}
	elem->free_next = NULL;
	elem->free_prev = NULL;
	heap->free_count--;
	heap->free_bytes -= elem->size;
}

static void fix_next_prev_link(struct env_heap *heap, struct heap_elem *elem)
{
	struct heap_elem *next = elem_next(heap, elem);

	if (next != NULL) {
		next->prev = elem;
	}
}

int env_heap_create(int socket_id, void *base, size_t len)
{
	struct env_heap *heap;
	struct heap_elem *first;
	uintptr_t b, start, end;

	if (g_env_shared == NULL) {
		BRISK_ERRLOG("heap for socket %d: env shared state not set up\n", socket_id);
		return -EINVAL;
	}
	if (socket_id < 0 || socket_id >= BRISK_ENV_MAX_NUMA_NODES) {
		BRISK_ERRLOG("heap: socket_id %d out of range [0, %d)\n", socket_id,
			     BRISK_ENV_MAX_NUMA_NODES);
		return -EINVAL;
	}
	if (g_env_shared->heaps[socket_id] != NULL) {
		BRISK_ERRLOG("heap: socket %d already has a heap\n", socket_id);
		return -EINVAL;
	}
	if (base == NULL || (uintptr_t)base + len < (uintptr_t)base) {
		BRISK_ERRLOG("heap for socket %d: bad range %p + %zu\n", socket_id, base, len);
		return -EINVAL;
	}
	b = align_up((uintptr_t)base, HEAP_ELEM_HDR_SIZE);
	start = align_up(b + sizeof(struct env_heap), HEAP_ELEM_HDR_SIZE);
	end = ((uintptr_t)base + len) & ~(uintptr_t)(HEAP_ELEM_HDR_SIZE - 1);
	if (end <= start || end - start < HEAP_MIN_LEN) {
		BRISK_ERRLOG("heap for socket %d: %zu bytes at %p is too small\n", socket_id, len, base);
		return -EINVAL;
	}

	/* Runs in the primary during init, before any other thread or process
	 * can see the heap, so no lock is needed yet. */
	heap = (struct env_heap *)b;
	memset(heap, 0, sizeof(*heap));
	heap->magic = HEAP_MAGIC;
	heap->socket_id = socket_id;
	heap->start = start;
	heap->end = end;

	first = (struct heap_elem *)start;
	elem_init(first, heap, NULL, end - start);
	elem_make_free(heap, first);

	g_env_shared->heaps[socket_id] = heap;
	return 0;
}

/* Where the data of an allocation of size bytes could start inside the free
 * element elem, or 0 when it does not fit. The data follows its header, so
 * the header goes right before the aligned address; the part of elem before
 * that header becomes a free element of its own (any multiple of 64 bytes is
 * a valid element, so no minimum gap is needed). */
static uintptr_t elem_fit(const struct heap_elem *elem, size_t size, size_t align, size_t bound)
{
	uintptr_t end = elem_end(elem);
	uintptr_t data = align_up((uintptr_t)elem + HEAP_ELEM_HDR_SIZE, align);

	/* Crossing a multiple of bound: start at the next multiple instead.
	 * It is also a multiple of align when align <= bound; when align > bound,
	 * data is already a multiple of bound and size <= bound cannot cross. */
	if (bound != 0 && ((data ^ (data + size - 1)) & ~(uintptr_t)(bound - 1)) != 0) {
		data = align_up(data, bound);
	}
	if (data >= end || end - data < size + HEAP_GUARD_SIZE) {
		return 0;
	}
	return data;
}

/* Turns the part of the free element elem starting at data - header into a
 * busy element of size bytes; what is left on either side stays free. */
static void *elem_carve(struct env_heap *heap, struct heap_elem *elem, uintptr_t data, size_t size)
{
	uintptr_t end = elem_end(elem);
	uintptr_t busy_end = align_up(data + size + HEAP_GUARD_SIZE, HEAP_ELEM_HDR_SIZE);
	struct heap_elem *busy = (struct heap_elem *)(data - HEAP_ELEM_HDR_SIZE);
	struct heap_elem *prev = elem->prev;

	elem_unlist(heap, elem);
	if (busy != elem) {
		elem->size = (uintptr_t)busy - (uintptr_t)elem;
		elem_make_free(heap, elem);
		prev = elem;
	}
	elem_init(busy, heap, prev, end - (uintptr_t)busy);
	if (end - busy_end >= HEAP_MIN_SPLIT) {
		struct heap_elem *tail = (struct heap_elem *)busy_end;

		busy->size = busy_end - (uintptr_t)busy;
		elem_init(tail, heap, busy, end - busy_end);
		elem_make_free(heap, tail);
		fix_next_prev_link(heap, tail);
	} else {
		fix_next_prev_link(heap, busy);
	}
	busy->state = HEAP_ELEM_BUSY;
	busy->user_size = size;
	elem_write_guard(busy);
	heap->alloc_count++;
	return (void *)data;
}

void *env_heap_alloc_from_locked(struct env_heap *heap, size_t size, size_t align, size_t bound)
{
	unsigned k;

	if (size > heap->end - heap->start) {
		errno = ENOMEM;
		return NULL;
	}
	/* Smallest class first: elements in the first class may still be too
	 * small, every element of a higher class holds size (alignment or bound
	 * permitting). First fit within a class. */
	for (k = size_class(HEAP_ELEM_HDR_SIZE + size + HEAP_GUARD_SIZE); k < HEAP_NUM_CLASSES; k++) {
		struct heap_elem *elem;

		for (elem = heap->free_lists[k]; elem != NULL; elem = elem->free_next) {
			uintptr_t data = elem_fit(elem, size, align, bound);

			if (data != 0) {
				return elem_carve(heap, elem, data, size);
			}
		}
	}
	errno = ENOMEM;
	return NULL;
}

enum heap_ptr_status env_heap_check_ptr_locked(const void *ptr, struct heap_elem **elemp)
{
	uintptr_t p = (uintptr_t)ptr;
	struct env_heap *heap = NULL;
	struct heap_elem *elem;
	int i;

	if (g_env_shared == NULL) {
		return HEAP_PTR_FOREIGN;
	}
	if ((p & (HEAP_ELEM_HDR_SIZE - 1)) != 0) {
		return HEAP_PTR_FOREIGN;
	}
	elem = (struct heap_elem *)(p - HEAP_ELEM_HDR_SIZE);
	for (i = 0; i < BRISK_ENV_MAX_NUMA_NODES && heap == NULL; i++) {
		struct env_heap *h = g_env_shared->heaps[i];

		/* Only after the range check is it safe to read the header. The
		 * header must also name this heap: a heap built inside a block of
		 * another (tests do that) overlaps it. */
		if (h != NULL && p >= h->start + HEAP_ELEM_HDR_SIZE && p < h->end &&
		    elem->magic == elem_magic(elem) && elem->heap == h) {
			heap = h;
		}
	}
	if (heap == NULL) {
		return HEAP_PTR_FOREIGN;
	}
	if (elem->state == HEAP_ELEM_FREE) {
		return HEAP_PTR_FREE;
	}
	if (elem->state != HEAP_ELEM_BUSY) {
		return HEAP_PTR_FOREIGN;
	}
	*elemp = elem;
	return HEAP_PTR_BUSY;
}

void env_heap_report_bad_ptr_locked(const void *ptr, enum heap_ptr_status status,
				    const char *caller)
{
	/* Atomic although under the lock: env_heap_bad_free_count reads it without. */
	__atomic_fetch_add(&g_bad_free_count, 1, __ATOMIC_RELAXED);
	if (status == HEAP_PTR_FREE) {
		BRISK_ERRLOG("%s(%p): double free (the block is already free); ignored\n", caller, ptr);
	} else {
		BRISK_ERRLOG("%s(%p): not a heap pointer (outside the heaps, misaligned or bad "
			     "header magic); ignored\n", caller, ptr);
	}
}

void env_heap_free_elem_locked(struct heap_elem *elem)
{
	struct env_heap *heap = elem->heap;
	struct heap_elem *next, *prev;

	if (!elem_guard_intact(elem)) {
		BRISK_ERRLOG("heap overflow: guard word after %llu bytes at %p overwritten\n",
			     (unsigned long long)elem->user_size, heap_elem_data(elem));
	}
	elem_poison_data(elem);
	heap->alloc_count--;

	next = elem_next(heap, elem);
	if (next != NULL && next->state == HEAP_ELEM_FREE) {
		elem_unlist(heap, next);
		elem->size += next->size;
		elem_erase_header(next);
	}
	prev = elem->prev;
	if (prev != NULL && prev->state == HEAP_ELEM_FREE) {
		elem_unlist(heap, prev);
		prev->size += elem->size;
		elem_erase_header(elem);
		elem = prev;
	}
	fix_next_prev_link(heap, elem);
	elem_make_free(heap, elem);
}

bool env_heap_resize_locked(struct heap_elem *elem, size_t size)
{
	struct env_heap *heap = elem->heap;
	uintptr_t data = (uintptr_t)heap_elem_data(elem);
	uintptr_t new_end, end = elem_end(elem);
	struct heap_elem *next;

	if (size > heap->end - data) {
		return false;
	}
	new_end = align_up(data + size + HEAP_GUARD_SIZE, HEAP_ELEM_HDR_SIZE);
	if (new_end > end) {
		next = elem_next(heap, elem);
		if (next == NULL || next->state != HEAP_ELEM_FREE || new_end > elem_end(next)) {
			return false;
		}
		elem_unlist(heap, next);
		elem->size += next->size;
		elem_erase_header(next);
		end = elem_end(elem);
		fix_next_prev_link(heap, elem);
	}
	if (end - new_end >= HEAP_MIN_SPLIT) {
		struct heap_elem *tail = (struct heap_elem *)new_end;
		struct heap_elem *after;

		elem->size = new_end - (uintptr_t)elem;
		elem_init(tail, heap, elem, end - new_end);
		/* The tail may touch a free element on its right: merge them. */
		after = elem_next(heap, tail);
		if (after != NULL && after->state == HEAP_ELEM_FREE) {
			elem_unlist(heap, after);
			tail->size += after->size;
			elem_erase_header(after);
		}
		fix_next_prev_link(heap, tail);
		elem_poison_data(tail);
		elem_make_free(heap, tail);
	}
	elem->user_size = size;
	elem_write_guard(elem);
	return true;
}

void env_heap_extend_locked(struct env_heap *heap, uintptr_t new_end)
{
	struct heap_elem *last = (struct heap_elem *)heap->start, *next, *added;

	/* Growth is rare and large: one walk to the last element is cheap. */
	while ((next = elem_next(heap, last)) != NULL) {
		last = next;
	}
	if (last->state == HEAP_ELEM_FREE) {
		elem_unlist(heap, last);
		heap->end = new_end;
		last->size = new_end - (uintptr_t)last;
		elem_make_free(heap, last);
		return;
	}
	added = (struct heap_elem *)heap->end;
	elem_init(added, heap, last, new_end - heap->end);
	heap->end = new_end;
	elem_make_free(heap, added);
}

size_t env_heap_elem_capacity(const struct heap_elem *elem)
{
	return elem->size - HEAP_ELEM_HDR_SIZE - HEAP_GUARD_SIZE;
}

void env_heap_stats_locked(const struct env_heap *heap, struct brisk_heap_stats *stats)
{
	int k;

	memset(stats, 0, sizeof(*stats));
	stats->socket_id = heap->socket_id;
	stats->total_bytes = heap->end - heap->start;
	stats->free_bytes = heap->free_bytes;
	stats->alloc_bytes = stats->total_bytes - heap->free_bytes;
	stats->alloc_count = heap->alloc_count;
	stats->free_count = heap->free_count;
	/* The largest free element is on the highest non-empty list. */
	for (k = HEAP_NUM_CLASSES - 1; k >= 0; k--) {
		const struct heap_elem *elem;

		for (elem = heap->free_lists[k]; elem != NULL; elem = elem->free_next) {
			if (elem->size > stats->greatest_free_size) {
				stats->greatest_free_size = elem->size;
			}
		}
		if (stats->greatest_free_size != 0) {
			break;
		}
	}
}

#define VALIDATE_FAIL(...) \
	do { \
		BRISK_ERRLOG(__VA_ARGS__); \
		return -EIO; \
	} while (0)

static int heap_validate_elements(const struct env_heap *heap)
{
	const struct heap_elem *prev = NULL, *elem;
	uint64_t free_bytes = 0;
	uint32_t free_count = 0, busy_count = 0;
	uintptr_t p = heap->start;

	while (p < heap->end) {
		elem = (const struct heap_elem *)p;
		if (elem->magic != elem_magic(elem) || elem->heap != heap) {
			VALIDATE_FAIL("heap %d: element %p has a bad header\n", heap->socket_id, elem);
		}
		if (elem->prev != prev) {
			VALIDATE_FAIL("heap %d: element %p: prev %p, expected %p\n", heap->socket_id,
				      elem, elem->prev, prev);
		}
		if (elem->size < HEAP_ELEM_HDR_SIZE || elem->size % HEAP_ELEM_HDR_SIZE != 0 ||
		    elem->size > heap->end - p) {
			VALIDATE_FAIL("heap %d: element %p: bad size %llu\n", heap->socket_id, elem,
				      (unsigned long long)elem->size);
		}
		if (elem->state == HEAP_ELEM_FREE) {
			if (prev != NULL && prev->state == HEAP_ELEM_FREE) {
				VALIDATE_FAIL("heap %d: free elements %p and %p are adjacent\n",
					      heap->socket_id, prev, elem);
			}
			free_count++;
			free_bytes += elem->size;
		} else if (elem->state == HEAP_ELEM_BUSY) {
			if (elem->user_size + HEAP_GUARD_SIZE > elem->size - HEAP_ELEM_HDR_SIZE) {
				VALIDATE_FAIL("heap %d: element %p: user size %llu exceeds it\n",
					      heap->socket_id, elem, (unsigned long long)elem->user_size);
			}
			if (!elem_guard_intact(elem)) {
				VALIDATE_FAIL("heap %d: element %p: guard word overwritten\n",
					      heap->socket_id, elem);
			}
			busy_count++;
		} else {
			VALIDATE_FAIL("heap %d: element %p: bad state %u\n", heap->socket_id, elem,
				      elem->state);
		}
		prev = elem;
		p += elem->size;
	}
	if (p != heap->end) {
		VALIDATE_FAIL("heap %d: elements end at %#lx, heap at %#lx\n", heap->socket_id,
			      (unsigned long)p, (unsigned long)heap->end);
	}
	if (free_count != heap->free_count || busy_count != heap->alloc_count ||
	    free_bytes != heap->free_bytes) {
		VALIDATE_FAIL("heap %d: counters free %u/%llu busy %u, walk found %u/%llu %u\n",
			      heap->socket_id, heap->free_count, (unsigned long long)heap->free_bytes,
			      heap->alloc_count, free_count, (unsigned long long)free_bytes,
			      busy_count);
	}
	return 0;
}

static int heap_validate_lists(const struct env_heap *heap)
{
	uint32_t listed = 0;
	unsigned k;

	for (k = 0; k < HEAP_NUM_CLASSES; k++) {
		const struct heap_elem *elem, *prev = NULL;

		for (elem = heap->free_lists[k]; elem != NULL; elem = elem->free_next) {
			/* Bounded walk: a cycle must not hang the check. */
			if (++listed > heap->free_count) {
				VALIDATE_FAIL("heap %d: free lists hold more than %u elements\n",
					      heap->socket_id, heap->free_count);
			}
			if ((uintptr_t)elem < heap->start || (uintptr_t)elem >= heap->end ||
			    elem->magic != elem_magic(elem) || elem->state != HEAP_ELEM_FREE) {
				VALIDATE_FAIL("heap %d: list %u holds a non-free element %p\n",
					      heap->socket_id, k, elem);
			}
			if (size_class(elem->size) != k || elem->free_prev != prev) {
				VALIDATE_FAIL("heap %d: list %u: element %p misplaced or mislinked\n",
					      heap->socket_id, k, elem);
			}
			prev = elem;
		}
	}
	if (listed != heap->free_count) {
		VALIDATE_FAIL("heap %d: free lists hold %u elements, %u are free\n",
			      heap->socket_id, listed, heap->free_count);
	}
	return 0;
}

int env_heap_validate(int socket_id)
{
	struct env_heap *heap;
	int rc;

	if (g_env_shared == NULL || socket_id < 0 || socket_id >= BRISK_ENV_MAX_NUMA_NODES) {
		return -ENOENT;
	}
	heap_shared_lock();
	heap = g_env_shared->heaps[socket_id];
	if (heap == NULL) {
		rc = -ENOENT;
	} else if (heap->magic != HEAP_MAGIC) {
		BRISK_ERRLOG("heap %d: bad heap magic\n", socket_id);
		rc = -EIO;
	} else {
		rc = heap_validate_elements(heap);
		if (rc == 0) {
			rc = heap_validate_lists(heap);
		}
	}
	heap_shared_unlock();
	return rc;
}

uint64_t env_heap_bad_free_count(void)
{
	return __atomic_load_n(&g_bad_free_count, __ATOMIC_RELAXED);
}

int env_heap_socket_of(const void *ptr)
{
	struct heap_elem *elem;
	int socket_id = -1;

	if (g_env_shared == NULL) {
		return -1;
	}
	heap_shared_lock();
	if (env_heap_check_ptr_locked(ptr, &elem) == HEAP_PTR_BUSY) {
		socket_id = elem->socket_id;
	}
	heap_shared_unlock();
	return socket_id;
}
