/*
 * Unit tests of memzones: reserve, lookup, info, free, walk, dump, every bad
 * argument, duplicate names, a full table (ENOMEM), and that the memory
 * goes back to the heap.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <brisk/env.h>

#include "../../../lib/env/heap.h"
#include "../../common/ut_main.h"

#define TABLE_SIZE 2048 /* MEMZONE_TABLE_SIZE in memzone.c */

static int g_socket;

static void get_stats(struct brisk_heap_stats *st)
{
	CU_ASSERT_EQUAL_FATAL(brisk_malloc_get_heap_stats(g_socket, st), 0);
}

static void test_reserve_lookup_free(void)
{
	struct brisk_heap_stats before, after;
	struct brisk_memzone_info info;
	uint8_t *a, *b;

	get_stats(&before);
	a = brisk_memzone_reserve("mz_a", 10000, BRISK_ENV_SOCKET_ID_ANY, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL((uintptr_t)a % 64, 0);
	memset(a, 0xab, 10000);
	b = brisk_memzone_reserve_aligned("mz_b", 300, g_socket, 0, 1024 * 1024);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL((uintptr_t)b % (1024 * 1024), 0);

	CU_ASSERT_PTR_EQUAL(brisk_memzone_lookup("mz_a"), a);
	CU_ASSERT_PTR_EQUAL(brisk_memzone_lookup("mz_b"), b);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_memzone_lookup("mz_c"));
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_PTR_NULL(brisk_memzone_lookup("mz_")); /* prefixes do not match */

	CU_ASSERT_EQUAL(brisk_memzone_get_info("mz_a", &info), 0);
	CU_ASSERT_STRING_EQUAL(info.name, "mz_a");
	CU_ASSERT_PTR_EQUAL(info.addr, a);
	CU_ASSERT_EQUAL(info.len, 10000);
	CU_ASSERT_EQUAL(info.socket_id, env_heap_socket_of(a));
	CU_ASSERT_EQUAL(info.phys_addr, brisk_vtophys(a, NULL));
	CU_ASSERT_NOT_EQUAL(info.phys_addr, BRISK_VTOPHYS_ERROR);
	CU_ASSERT_EQUAL(brisk_memzone_get_info("mz_b", &info), 0);
	CU_ASSERT_EQUAL(info.socket_id, g_socket);
	CU_ASSERT_EQUAL(brisk_memzone_get_info("mz_c", &info), -ENOENT);
	CU_ASSERT_EQUAL(brisk_memzone_get_info("mz_a", NULL), -EINVAL);
	CU_ASSERT_EQUAL(brisk_memzone_get_info(NULL, &info), -EINVAL);

	CU_ASSERT_EQUAL(brisk_memzone_free("mz_a"), 0);
	CU_ASSERT_PTR_NULL(brisk_memzone_lookup("mz_a"));
	CU_ASSERT_EQUAL(brisk_memzone_free("mz_a"), -ENOENT);
	CU_ASSERT_EQUAL(brisk_memzone_free("never"), -ENOENT);
	CU_ASSERT_EQUAL(brisk_memzone_free(""), -EINVAL);
	CU_ASSERT_EQUAL(brisk_memzone_free(NULL), -EINVAL);
	CU_ASSERT_EQUAL(brisk_memzone_free("mz_b"), 0);

	CU_ASSERT_EQUAL(env_heap_validate(g_socket), 0);
	get_stats(&after);
	CU_ASSERT_EQUAL(after.free_bytes, before.free_bytes);
	CU_ASSERT_EQUAL(after.free_count, before.free_count);
}

static void test_bad_input(void)
{
	char name[BRISK_MEMZONE_NAMESIZE + 8];

	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_memzone_reserve(NULL, 100, BRISK_ENV_SOCKET_ID_ANY, 0));
	CU_ASSERT_EQUAL(errno, EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_memzone_reserve("", 100, BRISK_ENV_SOCKET_ID_ANY, 0));
	CU_ASSERT_EQUAL(errno, EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_memzone_reserve("zero", 0, BRISK_ENV_SOCKET_ID_ANY, 0));
	CU_ASSERT_EQUAL(errno, EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_memzone_reserve("flags", 100, BRISK_ENV_SOCKET_ID_ANY, 1));
	CU_ASSERT_EQUAL(errno, EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_memzone_reserve_aligned("al3", 100, BRISK_ENV_SOCKET_ID_ANY, 0, 3));
	CU_ASSERT_EQUAL(errno, EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_memzone_reserve_aligned("al4m", 100, BRISK_ENV_SOCKET_ID_ANY, 0,
							 4u * 1024 * 1024));
	CU_ASSERT_EQUAL(errno, EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_memzone_reserve("sock", 100, 99, 0));
	CU_ASSERT_EQUAL(errno, EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_memzone_reserve("huge", SIZE_MAX / 2, BRISK_ENV_SOCKET_ID_ANY, 0));
	CU_ASSERT_EQUAL(errno, ENOMEM);

	/* 32 characters do not fit with the NUL; 31 do. */
	memset(name, 'n', BRISK_MEMZONE_NAMESIZE);
	name[BRISK_MEMZONE_NAMESIZE] = '\0';
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_memzone_reserve(name, 100, BRISK_ENV_SOCKET_ID_ANY, 0));
	CU_ASSERT_EQUAL(errno, ENAMETOOLONG);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_memzone_lookup(name));
	CU_ASSERT_EQUAL(errno, ENAMETOOLONG);
	name[BRISK_MEMZONE_NAMESIZE - 1] = '\0';
	CU_ASSERT_PTR_NOT_NULL(brisk_memzone_reserve(name, 100, BRISK_ENV_SOCKET_ID_ANY, 0));
	CU_ASSERT_PTR_NOT_NULL(brisk_memzone_lookup(name));
	CU_ASSERT_EQUAL(brisk_memzone_free(name), 0);

	/* None of the refused names was created. */
	CU_ASSERT_PTR_NULL(brisk_memzone_lookup("zero"));
	CU_ASSERT_PTR_NULL(brisk_memzone_lookup("flags"));
	CU_ASSERT_PTR_NULL(brisk_memzone_lookup("al3"));
	CU_ASSERT_PTR_NULL(brisk_memzone_lookup("huge"));
	CU_ASSERT_EQUAL(brisk_memzone_walk(NULL, NULL), -EINVAL);
}

static void test_duplicate_and_reuse(void)
{
	void *a, *b;

	a = brisk_memzone_reserve("dup", 4096, BRISK_ENV_SOCKET_ID_ANY, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_memzone_reserve("dup", 4096, BRISK_ENV_SOCKET_ID_ANY, 0));
	CU_ASSERT_EQUAL(errno, EEXIST);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_memzone_reserve_aligned("dup", 64, g_socket, 0, 4096));
	CU_ASSERT_EQUAL(errno, EEXIST);
	CU_ASSERT_PTR_EQUAL(brisk_memzone_lookup("dup"), a); /* the first one untouched */

	CU_ASSERT_EQUAL(brisk_memzone_free("dup"), 0);
	b = brisk_memzone_reserve("dup", 8192, BRISK_ENV_SOCKET_ID_ANY, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_PTR_EQUAL(brisk_memzone_lookup("dup"), b);
	CU_ASSERT_EQUAL(brisk_memzone_free("dup"), 0);
}

struct walk_ctx {
	unsigned seen;     /* names starting with "walk_" */
	unsigned total;
	uint64_t mask;     /* bit i: "walk_<i>" seen */
	unsigned stop_after;
	bool bad_info;
};

static int walk_cb(const struct brisk_memzone_info *info, void *arg)
{
	struct walk_ctx *ctx = arg;

	ctx->total++;
	if (strncmp(info->name, "walk_", 5) == 0) {
		unsigned i = (unsigned)atoi(info->name + 5);

		ctx->seen++;
		ctx->mask |= 1ull << i;
		if (brisk_memzone_lookup(info->name) != info->addr || info->len != 100 + i ||
		    info->phys_addr != brisk_vtophys(info->addr, NULL)) {
			ctx->bad_info = true;
		}
	}
	if (ctx->stop_after != 0 && ctx->total == ctx->stop_after) {
		return 77;
	}
	return 0;
}

/* Frees every "walk_" zone from inside the walk: the callback runs unlocked. */
static int walk_free_cb(const struct brisk_memzone_info *info, void *arg)
{
	unsigned *freed = arg;

	if (strncmp(info->name, "walk_", 5) == 0 && brisk_memzone_free(info->name) == 0) {
		(*freed)++;
	}
	return 0;
}

static void test_walk(void)
{
	struct walk_ctx ctx;
	char name[BRISK_MEMZONE_NAMESIZE];
	unsigned i, freed = 0;

	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "walk_%u", i);
		CU_ASSERT_PTR_NOT_NULL_FATAL(brisk_memzone_reserve(name, 100 + i,
								   BRISK_ENV_SOCKET_ID_ANY, 0));
	}
	memset(&ctx, 0, sizeof(ctx));
	CU_ASSERT_EQUAL(brisk_memzone_walk(walk_cb, &ctx), 0);
	CU_ASSERT_EQUAL(ctx.seen, 20);
	CU_ASSERT_EQUAL(ctx.mask, (1ull << 20) - 1);
	CU_ASSERT_FALSE(ctx.bad_info);

	/* A non-zero return stops the walk and is passed back. */
	memset(&ctx, 0, sizeof(ctx));
	ctx.stop_after = 5;
	CU_ASSERT_EQUAL(brisk_memzone_walk(walk_cb, &ctx), 77);
	CU_ASSERT_EQUAL(ctx.total, 5);

	{
		FILE *f = tmpfile();
		char buf[4096];
		size_t n;

		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		brisk_memzone_dump(f);
		rewind(f);
		n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		fclose(f);
		CU_ASSERT_PTR_NOT_NULL(strstr(buf, "walk_7"));
		CU_ASSERT_PTR_NOT_NULL(strstr(buf, "memzones:"));
	}

	CU_ASSERT_EQUAL(brisk_memzone_walk(walk_free_cb, &freed), 0);
	CU_ASSERT_EQUAL(freed, 20);
	memset(&ctx, 0, sizeof(ctx));
	CU_ASSERT_EQUAL(brisk_memzone_walk(walk_cb, &ctx), 0);
	CU_ASSERT_EQUAL(ctx.seen, 0);
}

static int count_cb(const struct brisk_memzone_info *info, void *arg)
{
	(*(unsigned *)arg)++;
	return 0;
}

/* The table holds TABLE_SIZE zones; one more is ENOMEM (the header's errno
 * for "no room", chosen over ENOSPC). */
static void test_table_full(void)
{
	struct brisk_heap_stats before, after;
	char name[BRISK_MEMZONE_NAMESIZE];
	unsigned existing = 0, i, made = 0, room;

	get_stats(&before);
	CU_ASSERT_EQUAL(brisk_memzone_walk(count_cb, &existing), 0);
	CU_ASSERT_FATAL(existing < TABLE_SIZE);
	room = TABLE_SIZE - existing;
	for (i = 0; i < room; i++) {
		snprintf(name, sizeof(name), "full_%u", i);
		if (brisk_memzone_reserve(name, 64, BRISK_ENV_SOCKET_ID_ANY, 0) != NULL) {
			made++;
		}
	}
	CU_ASSERT_EQUAL(made, room);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_memzone_reserve("one_too_many", 64, BRISK_ENV_SOCKET_ID_ANY, 0));
	CU_ASSERT_EQUAL(errno, ENOMEM);
	/* A duplicate is still EEXIST, lookups still work. */
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_memzone_reserve("full_0", 64, BRISK_ENV_SOCKET_ID_ANY, 0));
	CU_ASSERT_EQUAL(errno, EEXIST);
	CU_ASSERT_PTR_NOT_NULL(brisk_memzone_lookup("full_100"));

	/* One freed slot is usable again. */
	CU_ASSERT_EQUAL(brisk_memzone_free("full_3"), 0);
	CU_ASSERT_PTR_NOT_NULL(brisk_memzone_reserve("one_too_many", 64, BRISK_ENV_SOCKET_ID_ANY, 0));
	CU_ASSERT_EQUAL(brisk_memzone_free("one_too_many"), 0);

	for (i = 0; i < room; i++) {
		snprintf(name, sizeof(name), "full_%u", i);
		CU_ASSERT_EQUAL(brisk_memzone_free(name), i == 3 ? -ENOENT : 0);
	}
	CU_ASSERT_EQUAL(env_heap_validate(g_socket), 0);
	get_stats(&after);
	CU_ASSERT_EQUAL(after.free_bytes, before.free_bytes);
	CU_ASSERT_EQUAL(after.free_count, before.free_count);
}

/* A memzone's memory passed to brisk_free is freed there; freeing the zone
 * afterwards reports it instead of freeing twice. */
static void test_free_through_brisk_free(void)
{
	struct brisk_heap_stats before;
	uint64_t reports = env_heap_bad_free_count();
	void *blocker = brisk_malloc(64, 0, g_socket);
	void *a;

	get_stats(&before);
	a = brisk_memzone_reserve("stolen", 4096, g_socket, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	brisk_free(a);
	CU_ASSERT_EQUAL(brisk_memzone_free("stolen"), 0);
	CU_ASSERT_EQUAL(env_heap_bad_free_count(), reports + 1);
	CU_ASSERT_PTR_NULL(brisk_memzone_lookup("stolen"));
	CU_ASSERT_EQUAL(env_heap_validate(g_socket), 0);
	brisk_free(blocker);
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
	{ "reserve_lookup_free", test_reserve_lookup_free },
	{ "bad_input", test_bad_input },
	{ "duplicate_and_reuse", test_duplicate_and_reuse },
	{ "walk", test_walk },
	{ "table_full", test_table_full },
	{ "free_through_brisk_free", test_free_through_brisk_free },
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "memzone", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "memzone_ut",
	.env = BRISK_UT_ENV,
	.mem_mb = 64,
	.setup = ut_setup,
	.suites = g_ut_suites,
};
