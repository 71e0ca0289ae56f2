/*
 * Unit tests of the allocator core (lib/env/heap.c): randomized allocate and
 * free with content checks, coalescing (free space and free element count
 * return to their initial values), alignment and bound, statistics, the
 * invariant checker itself, a second heap, and two threads at once.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <brisk/env.h>

#include "../../../lib/env/heap.h"
#include "../../common/ut_main.h"

#define RANDOM_OPS 20000
#define RANDOM_SLOTS 256
#define MAX_BLOCK (256u * 1024)

struct block {
	uint8_t *p;
	size_t size;
	uint64_t seed;
};

static int g_socket; /* the heap the tests look at */

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static uint64_t pattern_word(uint64_t seed, size_t i)
{
	return (seed + i) * 0x9e3779b97f4a7c15ull;
}

static void fill_block(const struct block *b)
{
	size_t i, words = b->size / 8;

	for (i = 0; i < words; i++) {
		uint64_t w = pattern_word(b->seed, i);

		memcpy(b->p + i * 8, &w, 8);
	}
	for (i = words * 8; i < b->size; i++) {
		b->p[i] = (uint8_t)(b->seed + i);
	}
}

static bool block_intact(const struct block *b)
{
	size_t i, words = b->size / 8;

	for (i = 0; i < words; i++) {
		uint64_t w;

		memcpy(&w, b->p + i * 8, 8);
		if (w != pattern_word(b->seed, i)) {
			return false;
		}
	}
	for (i = words * 8; i < b->size; i++) {
		if (b->p[i] != (uint8_t)(b->seed + i)) {
			return false;
		}
	}
	return true;
}

/* Log-uniform between 1 and MAX_BLOCK: many small blocks, some large. */
static size_t random_size(uint64_t *rng)
{
	unsigned bits = (unsigned)(xorshift(rng) % 19); /* 2^18 = 256 KiB */

	return 1 + (size_t)(xorshift(rng) % (1ull << bits));
}

/* Mostly the default, sometimes up to 2 MiB. */
static size_t random_align(uint64_t *rng)
{
	uint64_t r = xorshift(rng) % 100;

	if (r < 60) {
		return 0;
	}
	if (r < 97) {
		return (size_t)1 << (xorshift(rng) % 13); /* 1 .. 4 KiB */
	}
	return (size_t)1 << (13 + xorshift(rng) % 9); /* 8 KiB .. 2 MiB */
}

static void get_stats(struct brisk_heap_stats *st)
{
	CU_ASSERT_EQUAL_FATAL(brisk_malloc_get_heap_stats(g_socket, st), 0);
}

static void check_stats_consistent(const struct brisk_heap_stats *st)
{
	CU_ASSERT_EQUAL(st->socket_id, g_socket);
	CU_ASSERT_EQUAL(st->free_bytes + st->alloc_bytes, st->total_bytes);
	CU_ASSERT(st->greatest_free_size <= st->free_bytes);
	CU_ASSERT(st->free_count == 0 || st->greatest_free_size > 0);
	CU_ASSERT(st->free_bytes >= (uint64_t)st->free_count * HEAP_ELEM_HDR_SIZE);
	CU_ASSERT(st->alloc_bytes >= (uint64_t)st->alloc_count * HEAP_ELEM_HDR_SIZE);
}

static void test_random_alloc_free(void)
{
	static struct block blocks[RANDOM_SLOTS];
	struct brisk_heap_stats before, during, after;
	uint64_t rng = 0x1234567887654321ull;
	unsigned op, i, live = 0, corrupt = 0, misaligned = 0, failed = 0;

	get_stats(&before);
	CU_ASSERT_EQUAL(env_heap_validate(g_socket), 0);
	for (op = 0; op < RANDOM_OPS; op++) {
		struct block *b = &blocks[xorshift(&rng) % RANDOM_SLOTS];

		if (b->p != NULL) {
			if (!block_intact(b)) {
				corrupt++;
			}
			brisk_free(b->p);
			b->p = NULL;
			live--;
		} else {
			size_t align = random_align(&rng);

			b->size = random_size(&rng);
			b->seed = xorshift(&rng);
			b->p = brisk_malloc(b->size, align, g_socket);
			if (b->p == NULL) {
				failed++;
				continue;
			}
			if (((uintptr_t)b->p & ((align ? align : 64) - 1)) != 0) {
				misaligned++;
			}
			fill_block(b);
			live++;
		}
		if (op % 2000 == 0) {
			CU_ASSERT_EQUAL(env_heap_validate(g_socket), 0);
			get_stats(&during);
			check_stats_consistent(&during);
			CU_ASSERT_EQUAL(during.alloc_count, before.alloc_count + live);
		}
	}
	CU_ASSERT_EQUAL(failed, 0);
	CU_ASSERT_EQUAL(misaligned, 0);
	CU_ASSERT_EQUAL(env_heap_validate(g_socket), 0);

	for (i = 0; i < RANDOM_SLOTS; i++) {
		if (blocks[i].p != NULL) {
			if (!block_intact(&blocks[i])) {
				corrupt++;
			}
			brisk_free(blocks[i].p);
			blocks[i].p = NULL;
		}
	}
	CU_ASSERT_EQUAL(corrupt, 0);
	CU_ASSERT_EQUAL(env_heap_validate(g_socket), 0);
	get_stats(&after);
	/* Coalescing: the heap is back to exactly its initial shape. */
	CU_ASSERT_EQUAL(after.free_bytes, before.free_bytes);
	CU_ASSERT_EQUAL(after.free_count, before.free_count);
	CU_ASSERT_EQUAL(after.alloc_count, before.alloc_count);
	CU_ASSERT_EQUAL(after.greatest_free_size, before.greatest_free_size);
}

static void test_alignment(void)
{
	struct brisk_heap_stats before, after;
	void *p[64];
	size_t align;
	unsigned n = 0, i;

	get_stats(&before);
	for (align = 1; align <= BRISK_MALLOC_MAX_ALIGN; align <<= 1) {
		size_t size;

		for (size = 1; size <= 100000 && n < 64; size = size * 7 + 3) {
			p[n] = brisk_malloc(size, align, g_socket);
			CU_ASSERT_PTR_NOT_NULL_FATAL(p[n]);
			CU_ASSERT_EQUAL((uintptr_t)p[n] & (align - 1), 0);
			memset(p[n], 0xa5, size);
			n++;
		}
		while (n > 0) {
			brisk_free(p[--n]);
		}
	}
	/* Default alignment is 64. */
	for (i = 0; i < 32; i++) {
		p[i] = brisk_malloc(1 + i * 13, 0, g_socket);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p[i]);
		CU_ASSERT_EQUAL((uintptr_t)p[i] & 63, 0);
	}
	for (i = 0; i < 32; i++) {
		brisk_free(p[i]);
	}
	CU_ASSERT_EQUAL(env_heap_validate(g_socket), 0);
	get_stats(&after);
	CU_ASSERT_EQUAL(after.free_bytes, before.free_bytes);
	CU_ASSERT_EQUAL(after.free_count, before.free_count);
}

static bool crosses(const void *p, size_t size, size_t bound)
{
	uintptr_t a = (uintptr_t)p;

	return ((a ^ (a + size - 1)) & ~(uintptr_t)(bound - 1)) != 0;
}

static void test_bound(void)
{
	struct brisk_heap_stats before, after;
	uint64_t rng = 42;
	void *p[200];
	size_t sizes[200];
	unsigned i, crossing = 0;

	get_stats(&before);
	for (i = 0; i < 200; i++) {
		size_t bound = i % 2 ? 4096 : 65536;

		sizes[i] = 1 + xorshift(&rng) % bound;
		p[i] = env_heap_alloc(g_socket, sizes[i], (size_t)64 << (i % 4), bound);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p[i]);
		if (crosses(p[i], sizes[i], bound)) {
			crossing++;
		}
		CU_ASSERT_EQUAL((uintptr_t)p[i] & (((size_t)64 << (i % 4)) - 1), 0);
		memset(p[i], 0x3c, sizes[i]);
	}
	CU_ASSERT_EQUAL(crossing, 0);
	CU_ASSERT_EQUAL(env_heap_validate(g_socket), 0);
	for (i = 0; i < 200; i++) {
		brisk_free(p[i]);
	}

	/* Bad bounds: not a power of two, smaller than the size. */
	errno = 0;
	CU_ASSERT_PTR_NULL(env_heap_alloc(g_socket, 100, 0, 3000));
	CU_ASSERT_EQUAL(errno, EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(env_heap_alloc(g_socket, 8192, 0, 4096));
	CU_ASSERT_EQUAL(errno, EINVAL);
	/* Exactly the bound fits. */
	p[0] = env_heap_alloc(g_socket, 4096, 0, 4096);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p[0]);
	CU_ASSERT_EQUAL((uintptr_t)p[0] & 4095, 0);
	brisk_free(p[0]);

	CU_ASSERT_EQUAL(env_heap_validate(g_socket), 0);
	get_stats(&after);
	CU_ASSERT_EQUAL(after.free_bytes, before.free_bytes);
	CU_ASSERT_EQUAL(after.free_count, before.free_count);
}

/* Five neighbours A..E: freeing B and D leaves two holes, freeing C merges
 * the three into one, freeing A and E restores the start. */
static void test_coalesce_both_sides(void)
{
	struct brisk_heap_stats before, st;
	uint8_t *p[5];
	unsigned i;

	get_stats(&before);
	for (i = 0; i < 5; i++) {
		p[i] = brisk_malloc(1000, 0, g_socket);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p[i]);
	}
	/* Carved one after the other from the same free element. */
	for (i = 1; i < 5; i++) {
		CU_ASSERT_EQUAL(p[i] - p[i - 1], p[1] - p[0]);
	}
	get_stats(&st);
	CU_ASSERT_EQUAL(st.alloc_count, before.alloc_count + 5);

	brisk_free(p[1]);
	brisk_free(p[3]);
	get_stats(&st);
	CU_ASSERT_EQUAL(st.free_count, before.free_count + 2);
	brisk_free(p[2]);
	get_stats(&st);
	CU_ASSERT_EQUAL(st.free_count, before.free_count + 1);
	CU_ASSERT_EQUAL(env_heap_validate(g_socket), 0);
	/* The merged hole (3 x 1088 bytes) serves a block none of its parts could. */
	if (before.free_count == 1) {
		uint8_t *hole = p[1];

		p[1] = brisk_malloc(3000, 0, g_socket);
		CU_ASSERT_PTR_EQUAL(p[1], hole);
		brisk_free(p[1]);
	}
	brisk_free(p[0]);
	brisk_free(p[4]);
	get_stats(&st);
	CU_ASSERT_EQUAL(st.free_count, before.free_count);
	CU_ASSERT_EQUAL(st.free_bytes, before.free_bytes);
	CU_ASSERT_EQUAL(env_heap_validate(g_socket), 0);
}

static void test_stats(void)
{
	struct brisk_heap_stats before, st;
	void *p[10];
	unsigned i;
	FILE *f;
	char line[256];

	get_stats(&before);
	check_stats_consistent(&before);
	CU_ASSERT(before.total_bytes > 32ull * 1024 * 1024);
	for (i = 0; i < 10; i++) {
		p[i] = brisk_malloc(10000, 0, g_socket);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p[i]);
	}
	get_stats(&st);
	check_stats_consistent(&st);
	CU_ASSERT_EQUAL(st.total_bytes, before.total_bytes);
	CU_ASSERT_EQUAL(st.alloc_count, before.alloc_count + 10);
	/* Each block: 10000 bytes rounded to 64 plus its header. */
	CU_ASSERT(st.alloc_bytes - before.alloc_bytes >= 10 * (10000 + HEAP_ELEM_HDR_SIZE));
	CU_ASSERT(st.alloc_bytes - before.alloc_bytes <= 10 * (10000 + 3 * HEAP_ELEM_HDR_SIZE));
	/* The largest free element can serve an allocation of its capacity. */
	{
		size_t cap = st.greatest_free_size - HEAP_ELEM_HDR_SIZE - 64;
		void *big = brisk_malloc(cap, 0, g_socket);

		CU_ASSERT_PTR_NOT_NULL(big);
		brisk_free(big);
	}
	for (i = 0; i < 10; i++) {
		brisk_free(p[i]);
	}
	get_stats(&st);
	CU_ASSERT_EQUAL(st.free_bytes, before.free_bytes);

	CU_ASSERT_EQUAL(brisk_malloc_get_heap_stats(g_socket, NULL), -EINVAL);
	CU_ASSERT_EQUAL(brisk_malloc_get_heap_stats(-5, &st), -ENOENT);
	CU_ASSERT_EQUAL(brisk_malloc_get_heap_stats(BRISK_ENV_MAX_NUMA_NODES, &st), -ENOENT);

	f = tmpfile();
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	brisk_malloc_dump_stats(f);
	rewind(f);
	CU_ASSERT_PTR_NOT_NULL(fgets(line, sizeof(line), f));
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "heap socket"));
	fclose(f);
}

/* The checker must notice broken invariants, or the other tests prove nothing. */
static void test_validate_detects_corruption(void)
{
	uint8_t *p = brisk_malloc(4000, 0, g_socket);
	struct heap_elem *elem, saved;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	elem = (struct heap_elem *)(p - HEAP_ELEM_HDR_SIZE);
	saved = *elem;
	elem->size += 64;
	CU_ASSERT_EQUAL(env_heap_validate(g_socket), -EIO);
	*elem = saved;
	elem->prev = elem;
	CU_ASSERT_EQUAL(env_heap_validate(g_socket), -EIO);
	*elem = saved;
	elem->state = HEAP_ELEM_FREE;
	CU_ASSERT_EQUAL(env_heap_validate(g_socket), -EIO);
	*elem = saved;
	CU_ASSERT_EQUAL(env_heap_validate(g_socket), 0);
	brisk_free(p);
	CU_ASSERT_EQUAL(env_heap_validate(g_socket), 0);
	CU_ASSERT_EQUAL(env_heap_validate(-1), -ENOENT);
}

/* A second heap built inside a block of the first: explicit socket ids go to
 * it alone, pointers are recognised as its own, and bad creation arguments
 * are refused. */
static void test_second_heap(void)
{
	const size_t len = 4u * 1024 * 1024;
	int other = BRISK_ENV_MAX_NUMA_NODES - 1;
	struct brisk_heap_stats st, st0;
	uint8_t *region, *p, *q;

	CU_ASSERT_EQUAL(env_heap_create(-1, NULL, 0), -EINVAL);
	CU_ASSERT_EQUAL(env_heap_create(BRISK_ENV_MAX_NUMA_NODES, NULL, 0), -EINVAL);
	CU_ASSERT_EQUAL(env_heap_create(g_socket, NULL, 0), -EINVAL); /* exists already */
	if (g_env_shared->heaps[other] != NULL) {
		return; /* a machine with that many nodes: nothing to borrow */
	}
	get_stats(&st0);
	region = brisk_malloc(len, 0, g_socket);
	CU_ASSERT_PTR_NOT_NULL_FATAL(region);
	CU_ASSERT_EQUAL(env_heap_create(other, region, 1000), -EINVAL); /* too small */
	CU_ASSERT_EQUAL(env_heap_create(other, region, len), 0);
	CU_ASSERT_EQUAL(env_heap_validate(other), 0);
	CU_ASSERT_EQUAL(brisk_malloc_get_heap_stats(other, &st), 0);
	CU_ASSERT_EQUAL(st.free_count, 1);
	CU_ASSERT(st.total_bytes > len - 4096 && st.total_bytes < len);

	p = brisk_malloc(1000, 0, other);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT(p >= region && p < region + len);
	CU_ASSERT_EQUAL(env_heap_socket_of(p), other);
	/* An explicit socket with a heap is used alone: too big for it fails. */
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_malloc(len, 0, other));
	CU_ASSERT_EQUAL(errno, ENOMEM);
	/* realloc keeps the heap when it must move. */
	q = brisk_malloc(64, 0, other);
	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	memset(p, 0x77, 1000);
	p = brisk_realloc(p, 100000, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT(p >= region && p < region + len);
	CU_ASSERT_EQUAL(p[999], 0x77);
	brisk_free(q);
	brisk_free(p);
	CU_ASSERT_EQUAL(env_heap_validate(other), 0);
	CU_ASSERT_EQUAL(brisk_malloc_get_heap_stats(other, &st), 0);
	CU_ASSERT_EQUAL(st.free_count, 1);
	CU_ASSERT_EQUAL(st.alloc_count, 0);

	g_env_shared->heaps[other] = NULL;
	brisk_free(region);
	get_stats(&st);
	CU_ASSERT_EQUAL(st.free_bytes, st0.free_bytes);
	CU_ASSERT_EQUAL(st.free_count, st0.free_count);
}

struct thread_arg {
	uint64_t seed;
	unsigned corrupt;
	unsigned failed;
};

static void *alloc_thread(void *arg)
{
	struct thread_arg *ta = arg;
	struct block blocks[64];
	unsigned op, i;

	memset(blocks, 0, sizeof(blocks));
	for (op = 0; op < 5000; op++) {
		struct block *b = &blocks[xorshift(&ta->seed) % 64];

		if (b->p != NULL) {
			ta->corrupt += !block_intact(b);
			brisk_free(b->p);
			b->p = NULL;
		} else {
			b->size = 1 + xorshift(&ta->seed) % 20000;
			b->seed = xorshift(&ta->seed);
			b->p = brisk_malloc(b->size, 0, BRISK_ENV_SOCKET_ID_ANY);
			if (b->p == NULL) {
				ta->failed++;
				continue;
			}
			fill_block(b);
		}
	}
	for (i = 0; i < 64; i++) {
		if (blocks[i].p != NULL) {
			ta->corrupt += !block_intact(&blocks[i]);
			brisk_free(blocks[i].p);
		}
	}
	return NULL;
}

static void test_two_threads(void)
{
	struct brisk_heap_stats before, after;
	struct thread_arg args[2] = {{ .seed = 7 }, { .seed = 99 }};
	pthread_t th[2];
	int i;

	get_stats(&before);
	for (i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, alloc_thread, &args[i]), 0);
	}
	for (i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		CU_ASSERT_EQUAL(args[i].corrupt, 0);
		CU_ASSERT_EQUAL(args[i].failed, 0);
	}
	CU_ASSERT_EQUAL(env_heap_validate(g_socket), 0);
	get_stats(&after);
	CU_ASSERT_EQUAL(after.free_bytes, before.free_bytes);
	CU_ASSERT_EQUAL(after.free_count, before.free_count);
}

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
	{ "random_alloc_free", test_random_alloc_free },
	{ "alignment", test_alignment },
	{ "bound", test_bound },
	{ "coalesce_both_sides", test_coalesce_both_sides },
	{ "stats", test_stats },
	{ "validate_detects_corruption", test_validate_detects_corruption },
	{ "second_heap", test_second_heap },
	{ "two_threads", test_two_threads },
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "heap", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "heap_ut",
	.env = BRISK_UT_ENV,
	.mem_mb = 256,
	.setup = ut_setup,
	.suites = g_ut_suites,
};
