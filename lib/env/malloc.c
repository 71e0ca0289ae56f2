/*
 * The public malloc family over the heaps of heap.c: argument checks, the
 * choice of heap (socket policy), DMA bounds and physical addresses,
 * realloc, statistics, and the allocation-failure test hook.
 *
 * Socket policy: BRISK_ENV_SOCKET_ID_ANY means the calling thread's NUMA
 * node (its current core, see brisk_env_thread_pin) and then any other heap
 * with room. An explicit socket that has a heap is used alone (the caller
 * asked for that placement); an explicit socket with no memory reserved is
 * treated like ANY, so code that places buffers near a device still works
 * when the app only reserved memory on other nodes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <brisk/log.h>

#include "heap.h"

static inline bool is_power_of_two(size_t x)
{
	return x != 0 && (x & (x - 1)) == 0;
}

/* 0 with *align normalised (0 -> default, small -> 64), or EINVAL logged. */
static int check_size_align(size_t size, size_t *align, const char *caller)
{
	if (size == 0) {
		BRISK_ERRLOG("%s: size 0 is not a valid allocation size\n", caller);
		return EINVAL;
	}
	if (*align == 0) {
		*align = HEAP_DEFAULT_ALIGN;
	} else if (!is_power_of_two(*align) || *align > BRISK_MALLOC_MAX_ALIGN) {
		BRISK_ERRLOG("%s: align %zu must be a power of two no larger than %u\n", caller,
			     *align, BRISK_MALLOC_MAX_ALIGN);
		return EINVAL;
	}
	if (*align < HEAP_DEFAULT_ALIGN) {
		*align = HEAP_DEFAULT_ALIGN; /* every element is 64-byte aligned anyway */
	}
	return 0;
}

static int current_socket(void)
{
	uint32_t core = brisk_env_get_current_core();
	int socket_id;

	if (core == BRISK_ENV_LCORE_ID_ANY) {
		return -1;
	}
	socket_id = brisk_env_get_socket_id(core);
	return socket_id >= 0 && socket_id < BRISK_ENV_MAX_NUMA_NODES ? socket_id : -1;
}

/* The socket policy over the memory there is now; NULL with errno. */
static void *alloc_any_locked(int socket_id, size_t size, size_t align, size_t bound)
{
	struct env_heap **heaps = g_env_shared->heaps;
	int preferred, i, err;
	void *p;

	err = check_size_align(size, &align, "heap alloc");
	if (err == 0 && bound != 0 && (!is_power_of_two(bound) || bound < size)) {
		BRISK_ERRLOG("heap alloc: bound %zu must be a power of two no smaller than size %zu\n",
			     bound, size);
		err = EINVAL;
	}
	if (err == 0 && socket_id != BRISK_ENV_SOCKET_ID_ANY &&
	    (socket_id < 0 || socket_id >= BRISK_ENV_MAX_NUMA_NODES)) {
		BRISK_ERRLOG("heap alloc: socket_id %d out of range\n", socket_id);
		err = EINVAL;
	}
	if (err != 0) {
		errno = err;
		return NULL;
	}

	if (socket_id != BRISK_ENV_SOCKET_ID_ANY && heaps[socket_id] != NULL) {
		return env_heap_alloc_from_locked(heaps[socket_id], size, align, bound);
	}
	preferred = socket_id != BRISK_ENV_SOCKET_ID_ANY ? -1 : current_socket();
	if (preferred >= 0 && heaps[preferred] != NULL) {
		p = env_heap_alloc_from_locked(heaps[preferred], size, align, bound);
		if (p != NULL) {
			return p;
		}
	}
	for (i = 0; i < BRISK_ENV_MAX_NUMA_NODES; i++) {
		if (i != preferred && heaps[i] != NULL) {
			p = env_heap_alloc_from_locked(heaps[i], size, align, bound);
			if (p != NULL) {
				return p;
			}
		}
	}
	errno = ENOMEM;
	return NULL;
}

/* Heap to grow for a request that found no room: the asked-for socket's,
 * else the calling thread's, else the first. -1 when there is none. */
static int grow_target(int socket_id)
{
	struct env_heap **heaps = g_env_shared->heaps;
	int i;

	if (socket_id == BRISK_ENV_SOCKET_ID_ANY) {
		socket_id = current_socket();
	}
	if (socket_id >= 0 && heaps[socket_id] != NULL) {
		return socket_id;
	}
	for (i = 0; i < BRISK_ENV_MAX_NUMA_NODES; i++) {
		if (heaps[i] != NULL) {
			return i;
		}
	}
	return -1;
}

/* Grows heap target enough for one request (alignment or bound waste and
 * headers included), then allocates there. NULL with errno ENOMEM. */
static void *alloc_after_grow(int target, size_t size, size_t align, size_t bound)
{
	uint64_t waste = bound > align ? bound : align;
	void *p;

	if (align < HEAP_DEFAULT_ALIGN) {
		align = HEAP_DEFAULT_ALIGN;
	}
	if (target < 0 || env_memory_grow_locked(target, size + waste + 4 * HEAP_ELEM_HDR_SIZE) != 0) {
		errno = ENOMEM;
		return NULL;
	}
	p = env_heap_alloc_from_locked(g_env_shared->heaps[target], size, align, bound);
	if (p == NULL) {
		errno = ENOMEM;
	}
	return p;
}

/* The reservation first; past it, memory grows (memory_grow.c). */
void *env_heap_alloc_locked(int socket_id, size_t size, size_t align, size_t bound)
{
	void *p = alloc_any_locked(socket_id, size, align, bound);

	if (p == NULL && errno == ENOMEM) {
		p = alloc_after_grow(grow_target(socket_id), size, align, bound);
	}
	return p;
}

/* Allocation-failure test hook (brisk_env_fail_alloc_set): the number of
 * allocations left up to and including the one that fails; 0 = off, and
 * then the whole cost is one predictable branch per allocation. */
static uint64_t g_fail_countdown;
static bool g_fail_hit;

static bool fail_alloc_countdown(void);

/* jansson's allocator while the hook is armed: JSON parsed and built by the
 * RPC server and the config loader fails in turn too. */
static void *fail_alloc_json_malloc(size_t size)
{
	if (__atomic_load_n(&g_fail_countdown, __ATOMIC_RELAXED) != 0 && fail_alloc_countdown()) {
		return NULL;
	}
	return malloc(size);
}

void brisk_env_fail_alloc_set(uint64_t n)
{
	__atomic_store_n(&g_fail_hit, false, __ATOMIC_RELAXED);
	__atomic_store_n(&g_fail_countdown, n, __ATOMIC_RELAXED);
	/* Both allocators pair with free: switching while JSON is live is safe. */
	json_set_alloc_funcs(n != 0 ? fail_alloc_json_malloc : malloc, free);
}

bool brisk_env_fail_alloc_hit(void) { return __atomic_load_n(&g_fail_hit, __ATOMIC_RELAXED); }

/* Counts one allocation down; true (errno ENOMEM) for the one that fails.
 * A CAS so that two threads never both take the last count. */
static bool fail_alloc_countdown(void)
{
	uint64_t left = __atomic_load_n(&g_fail_countdown, __ATOMIC_RELAXED);

	while (left != 0) {
		if (__atomic_compare_exchange_n(&g_fail_countdown, &left, left - 1, false, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED)) {
			if (left != 1) {
				return false;
			}
			__atomic_store_n(&g_fail_hit, true, __ATOMIC_RELAXED);
			errno = ENOMEM;
			return true;
		}
	}
	return false;
}

static inline bool fail_alloc_injected(void)
{
	return __builtin_expect(__atomic_load_n(&g_fail_countdown, __ATOMIC_RELAXED) != 0, 0) && fail_alloc_countdown();
}

static bool env_ready(const char *caller)
{
	if (g_env_shared == NULL) {
		BRISK_ERRLOG("%s: the env layer is not initialised (brisk_env_init)\n", caller);
		return false;
	}
	return true;
}

void *env_heap_alloc(int socket_id, size_t size, size_t align, size_t bound)
{
	void *p;
	int err;

	if (!env_ready("heap alloc")) {
		errno = ENOMEM;
		return NULL;
	}
	if (fail_alloc_injected()) {
		return NULL;
	}
	heap_shared_lock();
	p = env_heap_alloc_locked(socket_id, size, align, bound);
	err = errno;
	heap_shared_unlock();
	if (p == NULL) {
		errno = err;
	}
	return p;
}

void *brisk_malloc(size_t size, size_t align, int socket_id)
{
	return env_heap_alloc(socket_id, size, align, 0);
}

void *brisk_zmalloc(size_t size, size_t align, int socket_id)
{
	void *p = env_heap_alloc(socket_id, size, align, 0);

	if (p != NULL) {
		memset(p, 0, size);
	}
	return p;
}

void *brisk_dma_malloc_socket(size_t size, size_t align, uint64_t *phys_addr, int socket_id)
{
	uint64_t page_size, phys;
	void *p;

	if (!env_ready("brisk_dma_malloc")) {
		errno = ENOMEM;
		return NULL;
	}
	/* Within one page the buffer is physically contiguous; larger buffers
	 * span pages anyway and get no bound. */
	page_size = g_env_shared->page_size;
	p = env_heap_alloc(socket_id, size, align, size <= page_size ? page_size : 0);
	if (p == NULL || phys_addr == NULL) {
		return p;
	}
	phys = brisk_vtophys(p, NULL);
	if (phys == BRISK_VTOPHYS_ERROR) {
		BRISK_ERRLOG("brisk_dma_malloc: no physical address for %p\n", p);
		brisk_free(p);
		errno = ENOMEM;
		return NULL;
	}
	*phys_addr = phys;
	return p;
}

void *brisk_dma_malloc(size_t size, size_t align, uint64_t *phys_addr)
{
	return brisk_dma_malloc_socket(size, align, phys_addr, BRISK_ENV_SOCKET_ID_ANY);
}

void *brisk_dma_zmalloc(size_t size, size_t align, uint64_t *phys_addr)
{
	void *p = brisk_dma_malloc_socket(size, align, phys_addr, BRISK_ENV_SOCKET_ID_ANY);

	if (p != NULL) {
		memset(p, 0, size);
	}
	return p;
}

void brisk_free(void *buf)
{
	struct heap_elem *elem;
	enum heap_ptr_status status;

	if (buf == NULL) {
		return;
	}
	if (!env_ready("brisk_free")) {
		return;
	}
	heap_shared_lock();
	status = env_heap_check_ptr_locked(buf, &elem);
	if (status == HEAP_PTR_BUSY) {
		env_heap_free_elem_locked(elem);
	} else {
		env_heap_report_bad_ptr_locked(buf, status, "brisk_free");
	}
	heap_shared_unlock();
}

void *brisk_realloc(void *buf, size_t size, size_t align)
{
	struct heap_elem *elem;
	enum heap_ptr_status status;
	void *p;
	int err;

	if (buf == NULL) {
		return brisk_malloc(size, align, BRISK_ENV_SOCKET_ID_ANY);
	}
	if (size == 0) {
		brisk_free(buf);
		return NULL;
	}
	err = check_size_align(size, &align, "brisk_realloc");
	if (err != 0) {
		errno = err;
		return NULL;
	}
	if (!env_ready("brisk_realloc")) {
		errno = EINVAL;
		return NULL;
	}
	if (fail_alloc_injected()) {
		return NULL;
	}

	heap_shared_lock();
	status = env_heap_check_ptr_locked(buf, &elem);
	if (status != HEAP_PTR_BUSY) {
		env_heap_report_bad_ptr_locked(buf, status, "brisk_realloc");
		heap_shared_unlock();
		errno = EINVAL;
		return NULL;
	}
	/* In place when the alignment still holds and the element, or the
	 * element plus a free right neighbour, is big enough. */
	if (((uintptr_t)buf & (align - 1)) == 0 && env_heap_resize_locked(elem, size)) {
		heap_shared_unlock();
		return buf;
	}
	/* Moving keeps the original heap (socket). */
	p = env_heap_alloc_from_locked(elem->heap, size, align, 0);
	if (p == NULL) {
		p = alloc_after_grow(elem->heap->socket_id, size, align, 0);
	}
	if (p != NULL) {
		memcpy(p, buf, elem->user_size < size ? elem->user_size : size);
		env_heap_free_elem_locked(elem);
	}
	heap_shared_unlock();
	if (p == NULL) {
		errno = ENOMEM;
	}
	return p;
}

int brisk_malloc_get_heap_stats(int socket_id, struct brisk_heap_stats *stats)
{
	struct env_heap *heap;

	if (stats == NULL) {
		BRISK_ERRLOG("brisk_malloc_get_heap_stats: stats is NULL\n");
		return -EINVAL;
	}
	if (g_env_shared == NULL || socket_id < 0 || socket_id >= BRISK_ENV_MAX_NUMA_NODES) {
		return -ENOENT;
	}
	heap_shared_lock();
	heap = g_env_shared->heaps[socket_id];
	if (heap != NULL) {
		env_heap_stats_locked(heap, stats);
	}
	heap_shared_unlock();
	return heap != NULL ? 0 : -ENOENT;
}

void brisk_malloc_dump_stats(FILE *f)
{
	struct brisk_heap_stats st;
	int i;

	if (f == NULL) {
		return;
	}
	if (g_env_shared == NULL) {
		fprintf(f, "malloc heaps: env not initialised\n");
		return;
	}
	for (i = 0; i < BRISK_ENV_MAX_NUMA_NODES; i++) {
		if (brisk_malloc_get_heap_stats(i, &st) != 0) {
			continue;
		}
		fprintf(f, "heap socket %d: total %llu bytes, free %llu in %u elements "
			"(largest %llu), in use %llu in %u elements\n",
			st.socket_id, (unsigned long long)st.total_bytes,
			(unsigned long long)st.free_bytes, st.free_count,
			(unsigned long long)st.greatest_free_size,
			(unsigned long long)st.alloc_bytes, st.alloc_count);
	}
}
