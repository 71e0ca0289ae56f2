/*
 * Unit tests of the public malloc family: bad input, exhausted memory,
 * double free and foreign pointers (reported and harmless), realloc in
 * place and moving, zeroing, DMA buffers (physical address and page bound),
 * in debug builds the guard word and the poison of freed memory, and the
 * allocation-failure test hook.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <brisk/env.h>

#include "../../../lib/env/heap.h"
#include "../../common/ut_main.h"

static int g_socket;

static void get_stats(struct brisk_heap_stats *st)
{
	CU_ASSERT_EQUAL_FATAL(brisk_malloc_get_heap_stats(g_socket, st), 0);
}

static void assert_heap_unchanged(const struct brisk_heap_stats *before)
{
	struct brisk_heap_stats st;

	get_stats(&st);
	CU_ASSERT_EQUAL(st.free_bytes, before->free_bytes);
	CU_ASSERT_EQUAL(st.free_count, before->free_count);
	CU_ASSERT_EQUAL(st.alloc_count, before->alloc_count);
	CU_ASSERT_EQUAL(env_heap_validate(g_socket), 0);
}

static void test_bad_input(void)
{
	struct brisk_heap_stats before;
	uint64_t phys = 0;

	get_stats(&before);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_malloc(0, 0, BRISK_ENV_SOCKET_ID_ANY));
	CU_ASSERT_EQUAL(errno, EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_zmalloc(0, 64, BRISK_ENV_SOCKET_ID_ANY));
	CU_ASSERT_EQUAL(errno, EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_malloc(100, 3, BRISK_ENV_SOCKET_ID_ANY));
	CU_ASSERT_EQUAL(errno, EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_malloc(100, 96, BRISK_ENV_SOCKET_ID_ANY));
	CU_ASSERT_EQUAL(errno, EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_malloc(100, 4u * 1024 * 1024, BRISK_ENV_SOCKET_ID_ANY));
	CU_ASSERT_EQUAL(errno, EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_malloc(100, 0, BRISK_ENV_MAX_NUMA_NODES));
	CU_ASSERT_EQUAL(errno, EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_malloc(100, 0, -2));
	CU_ASSERT_EQUAL(errno, EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_dma_malloc(0, 0, &phys));
	CU_ASSERT_EQUAL(errno, EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_dma_zmalloc(64, 5, &phys));
	CU_ASSERT_EQUAL(errno, EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_dma_malloc_socket(64, 0, &phys, 1000));
	CU_ASSERT_EQUAL(errno, EINVAL);
	/* Sizes that overflow any rounding. */
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_malloc(SIZE_MAX, 0, BRISK_ENV_SOCKET_ID_ANY));
	CU_ASSERT_EQUAL(errno, ENOMEM);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_malloc(SIZE_MAX - 100, 2u * 1024 * 1024, g_socket));
	CU_ASSERT_EQUAL(errno, ENOMEM);
	/* Largest alignment is accepted. */
	{
		void *p = brisk_malloc(1, BRISK_MALLOC_MAX_ALIGN, BRISK_ENV_SOCKET_ID_ANY);

		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		CU_ASSERT_EQUAL((uintptr_t)p % BRISK_MALLOC_MAX_ALIGN, 0);
		brisk_free(p);
	}
	brisk_free(NULL); /* ignored, not reported */
	assert_heap_unchanged(&before);
}

/* Fill every heap in 1 MiB blocks until ENOMEM; the heap still works and
 * comes back whole. */
static void test_exhausted(void)
{
	struct brisk_heap_stats before, st;
	void **blocks;
	unsigned n = 0, max = 4096, i;
	void *p;

	get_stats(&before);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_malloc(before.total_bytes + 1, 0, g_socket));
	CU_ASSERT_EQUAL(errno, ENOMEM);

	blocks = calloc(max, sizeof(*blocks));
	CU_ASSERT_PTR_NOT_NULL_FATAL(blocks);
	while (n < max) {
		errno = 0;
		p = brisk_malloc(1024 * 1024, 0, BRISK_ENV_SOCKET_ID_ANY);
		if (p == NULL) {
			CU_ASSERT_EQUAL(errno, ENOMEM);
			break;
		}
		blocks[n++] = p;
	}
	CU_ASSERT(n < max);
	CU_ASSERT(n > 16);
	get_stats(&st);
	CU_ASSERT(st.greatest_free_size < 1024 * 1024 + 2 * HEAP_ELEM_HDR_SIZE);
	/* Small blocks may still fit in what is left; they do not break anything. */
	p = brisk_malloc(100, 0, BRISK_ENV_SOCKET_ID_ANY);
	brisk_free(p);
	CU_ASSERT_EQUAL(env_heap_validate(g_socket), 0);

	for (i = 0; i < n; i++) {
		brisk_free(blocks[i]);
	}
	free(blocks);
	assert_heap_unchanged(&before);
	p = brisk_malloc(1024 * 1024, 0, BRISK_ENV_SOCKET_ID_ANY);
	CU_ASSERT_PTR_NOT_NULL(p);
	brisk_free(p);
}

static void test_double_free(void)
{
	struct brisk_heap_stats before;
	uint64_t reports;
	void *a, *b, *c;

	a = brisk_malloc(256, 0, g_socket);
	b = brisk_malloc(256, 0, g_socket);
	c = brisk_malloc(256, 0, g_socket);
	CU_ASSERT_FATAL(a != NULL && b != NULL && c != NULL);
	brisk_free(b);
	get_stats(&before);
	reports = env_heap_bad_free_count();
	brisk_free(b); /* b lies between two busy blocks: still a free element */
	CU_ASSERT_EQUAL(env_heap_bad_free_count(), reports + 1);
	assert_heap_unchanged(&before);
	/* A realloc of the freed block is refused the same way. */
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_realloc(b, 1000, 0));
	CU_ASSERT_EQUAL(errno, EINVAL);
	CU_ASSERT_EQUAL(env_heap_bad_free_count(), reports + 2);

	brisk_free(a);
	brisk_free(c);
	/* c merged into the free block before it (a and b); its header is gone. */
	reports = env_heap_bad_free_count();
	get_stats(&before);
	brisk_free(c);
	CU_ASSERT_EQUAL(env_heap_bad_free_count(), reports + 1);
	assert_heap_unchanged(&before);
}

static void test_foreign_pointers(void)
{
	struct brisk_heap_stats before;
	uint64_t reports;
	char on_stack[128];
	char *in_libc = malloc(128);
	uint8_t *block = brisk_malloc(8192, 0, g_socket);

	CU_ASSERT_FATAL(in_libc != NULL && block != NULL);
	memset(block, 0, 8192);
	get_stats(&before);
	reports = env_heap_bad_free_count();

	brisk_free(on_stack);
	brisk_free(in_libc);
	brisk_free(block + 1);      /* misaligned interior pointer */
	brisk_free(block + 4096);   /* aligned interior pointer: no header there */
	brisk_free((void *)(uintptr_t)0x40);
	CU_ASSERT_EQUAL(env_heap_bad_free_count(), reports + 5);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_realloc(on_stack, 10, 0));
	CU_ASSERT_EQUAL(errno, EINVAL);
	CU_ASSERT_EQUAL(env_heap_bad_free_count(), reports + 6);
	assert_heap_unchanged(&before);

	free(in_libc);
	brisk_free(block);
	CU_ASSERT_EQUAL(env_heap_bad_free_count(), reports + 6);
	CU_ASSERT_EQUAL(env_heap_validate(g_socket), 0);
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		p[i] = (uint8_t)(seed + i * 7);
	}
}

static bool same(const uint8_t *p, size_t n, uint8_t seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] != (uint8_t)(seed + i * 7)) {
			return false;
		}
	}
	return true;
}

static void test_realloc(void)
{
	struct brisk_heap_stats before;
	uint8_t *p, *q, *blocker, *r;

	get_stats(&before);
	/* NULL buffer: a plain allocation. */
	p = brisk_realloc(NULL, 1000, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	fill(p, 1000, 1);

	/* Grow in place into the free space that follows. */
	q = brisk_realloc(p, 50000, 0);
	if (before.free_count == 1) {
		CU_ASSERT_PTR_EQUAL(q, p);
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	CU_ASSERT(same(q, 1000, 1));
	fill(q, 50000, 2);
	p = q;

	/* Shrink: always in place, contents kept. */
	q = brisk_realloc(p, 100, 0);
	CU_ASSERT_PTR_EQUAL(q, p);
	CU_ASSERT(same(q, 100, 2));
	CU_ASSERT_EQUAL(env_heap_validate(g_socket), 0);

	/* Grow with a busy neighbour: moves and copies. */
	blocker = brisk_malloc(64, 0, g_socket);
	CU_ASSERT_PTR_NOT_NULL_FATAL(blocker);
	if ((uintptr_t)blocker == (uintptr_t)p + 128) { /* 100 + guard -> 128 */
		q = brisk_realloc(p, 200000, 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(q);
		CU_ASSERT_PTR_NOT_EQUAL(q, p);
		CU_ASSERT(same(q, 100, 2));
		p = q;
	}
	/* A stricter alignment than the block has: moves. */
	r = brisk_malloc(64, 0, g_socket);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	fill(r, 64, 3);
	q = brisk_realloc(r, 64, 1024 * 1024);
	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	CU_ASSERT_EQUAL((uintptr_t)q % (1024 * 1024), 0);
	CU_ASSERT(same(q, 64, 3));
	r = q;
	/* Bad alignment leaves the block alone. */
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_realloc(r, 128, 3));
	CU_ASSERT_EQUAL(errno, EINVAL);
	CU_ASSERT(same(r, 64, 3));
	/* Too big: NULL, ENOMEM, the block still valid. */
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_realloc(r, before.total_bytes * 2, 0));
	CU_ASSERT_EQUAL(errno, ENOMEM);
	CU_ASSERT(same(r, 64, 3));
	/* Size 0 frees. */
	CU_ASSERT_PTR_NULL(brisk_realloc(r, 0, 0));
	brisk_free(blocker);
	brisk_free(p);
	assert_heap_unchanged(&before);
}

static void test_zmalloc(void)
{
	uint8_t *p;
	size_t i;
	unsigned nonzero = 0;

	p = brisk_malloc(10000, 0, g_socket);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	memset(p, 0xff, 10000);
	brisk_free(p);
	p = brisk_zmalloc(10000, 0, g_socket);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	for (i = 0; i < 10000; i++) {
		nonzero += p[i] != 0;
	}
	CU_ASSERT_EQUAL(nonzero, 0);
	brisk_free(p);
}

/* The allocation-failure hook: exactly the nth call fails, once, with
 * ENOMEM; every member of the family counts; 0 is off. */
static void test_fail_alloc_hook(void)
{
	uint64_t phys;
	void *a, *b, *c;

	brisk_env_fail_alloc_set(3);
	a = brisk_malloc(64, 0, BRISK_ENV_SOCKET_ID_ANY);
	b = brisk_zmalloc(64, 0, BRISK_ENV_SOCKET_ID_ANY);
	CU_ASSERT_FALSE(brisk_env_fail_alloc_hit());
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_dma_malloc(4096, 4096, &phys));
	CU_ASSERT_EQUAL(errno, ENOMEM);
	CU_ASSERT_TRUE(brisk_env_fail_alloc_hit());
	c = brisk_dma_zmalloc(4096, 4096, &phys); /* only once */
	CU_ASSERT(a != NULL && b != NULL && c != NULL);
	brisk_free(c);

	brisk_env_fail_alloc_set(1);
	CU_ASSERT_FALSE(brisk_env_fail_alloc_hit()); /* re-armed */
	CU_ASSERT_PTR_NULL(brisk_realloc(a, 4096, 0));
	CU_ASSERT_TRUE(brisk_env_fail_alloc_hit());
	a = brisk_realloc(a, 4096, 0); /* the failed realloc kept a */
	CU_ASSERT_PTR_NOT_NULL(a);

	brisk_env_fail_alloc_set(2);
	brisk_env_fail_alloc_set(0); /* off before it fired */
	c = brisk_malloc(64, 0, BRISK_ENV_SOCKET_ID_ANY);
	brisk_free(brisk_malloc(64, 0, BRISK_ENV_SOCKET_ID_ANY));
	CU_ASSERT_PTR_NOT_NULL(c);
	CU_ASSERT_FALSE(brisk_env_fail_alloc_hit());
	brisk_free(a);
	brisk_free(b);
	brisk_free(c);
}

static void test_dma(void)
{
	struct brisk_heap_stats before;
	uint64_t page = brisk_env_get_page_size();
	uint64_t rng = 12345;
	void *p[300];
	unsigned i, crossing = 0, bad_phys = 0, nonzero = 0;

	CU_ASSERT_FATAL(page >= 4096 && (page & (page - 1)) == 0);
	get_stats(&before);
	for (i = 0; i < 300; i++) {
		uint64_t phys = 0;
		size_t size, j;
		uintptr_t a;

		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		/* Mostly small; every 20th up to a whole page (2 MiB with hugepages). */
		size = 1 + (size_t)((rng >> 33) % (i % 20 == 0 || page < 16384 ? page : 16384));
		if (i % 3 == 0) {
			p[i] = brisk_dma_zmalloc(size, 0, &phys);
		} else if (i % 3 == 1) {
			p[i] = brisk_dma_malloc(size, 4096, &phys);
		} else {
			p[i] = brisk_dma_malloc_socket(size, 0, &phys, g_socket);
		}
		CU_ASSERT_PTR_NOT_NULL_FATAL(p[i]);
		a = (uintptr_t)p[i];
		if (a / page != (a + size - 1) / page) {
			crossing++;
		}
		if (phys != brisk_vtophys(p[i], NULL) || phys == BRISK_VTOPHYS_ERROR) {
			bad_phys++;
		}
		if (i % 3 == 0) {
			for (j = 0; j < size; j++) {
				nonzero += ((uint8_t *)p[i])[j] != 0;
			}
		}
		if (i % 3 == 1) {
			CU_ASSERT_EQUAL(a % 4096, 0);
		}
		memset(p[i], 0x5c, size);
	}
	CU_ASSERT_EQUAL(crossing, 0);
	CU_ASSERT_EQUAL(bad_phys, 0);
	CU_ASSERT_EQUAL(nonzero, 0);
	/* No phys_addr wanted. */
	{
		void *x = brisk_dma_malloc(100, 0, NULL);

		CU_ASSERT_PTR_NOT_NULL(x);
		brisk_free(x);
	}
	/* Larger than a page: allowed, just not contiguous. */
	{
		uint64_t phys;
		void *x = brisk_dma_malloc(page + 1, 0, &phys);

		CU_ASSERT_PTR_NOT_NULL(x);
		CU_ASSERT_EQUAL(phys, brisk_vtophys(x, NULL));
		brisk_free(x);
	}
	for (i = 0; i < 300; i++) {
		brisk_free(p[i]);
	}
	assert_heap_unchanged(&before);
}

#ifdef DEBUG
/* Debug builds: a write past the end is caught at free, freed memory is poisoned. */
static void test_debug_guard_and_poison(void)
{
	struct brisk_heap_stats before;
	uint8_t *p, *q;
	unsigned i, not_poisoned = 0;

	get_stats(&before);
	p = brisk_malloc(100, 0, g_socket);
	q = brisk_malloc(100, 0, g_socket);
	CU_ASSERT_FATAL(p != NULL && q != NULL);
	memset(p, 1, 100);
	CU_ASSERT_EQUAL(env_heap_validate(g_socket), 0);
	p[100] = 0xee; /* one byte too far */
	CU_ASSERT_EQUAL(env_heap_validate(g_socket), -EIO);
	brisk_free(p); /* reported, still freed */
	CU_ASSERT_EQUAL(env_heap_validate(g_socket), 0);
	for (i = 0; i < 100; i++) {
		not_poisoned += p[i] != 0x6b;
	}
	CU_ASSERT_EQUAL(not_poisoned, 0);
	brisk_free(q);
	assert_heap_unchanged(&before);
}
#endif

/* The tests look at the heap the calling thread allocates from. */
static int ut_setup(void)
{
	g_socket = -1;
	for (int i = 0; i < BRISK_ENV_MAX_NUMA_NODES && g_socket < 0; i++) {
		if (g_env_shared->heaps[i] != NULL) {
			g_socket = i;
		}
	}
	if (g_socket < 0) {
		fprintf(stderr, "no heap after brisk_env_init\n");
		return -1;
	}
	return 0;
}

static const CU_TestInfo g_ut_tests[] = {
	{ "bad_input", test_bad_input },
	{ "exhausted", test_exhausted },
	{ "double_free", test_double_free },
	{ "foreign_pointers", test_foreign_pointers },
	{ "realloc", test_realloc },
	{ "zmalloc", test_zmalloc },
	{ "dma", test_dma },
	{ "fail_alloc_hook", test_fail_alloc_hook },
#ifdef DEBUG
	{ "debug_guard_and_poison", test_debug_guard_and_poison },
#endif
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "malloc", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "malloc_ut",
	.env = BRISK_UT_ENV,
	.mem_mb = 128,
	.setup = ut_setup,
	.suites = g_ut_suites,
};
