/*
 * Memory that grows past the -s reservation: allocations larger than what
 * was reserved succeed, the grown memory is translated (vtophys) and told to
 * every translation map (old and new), the heap takes it as one range and
 * gives it back on free, and a secondary process maps memory the primary
 * grew (and the primary maps what the secondary grew). The test runs itself
 * again as "secondary ID" for the other process. Reservations are small
 * (8-16 MiB) and growth 64-96 MiB under a 256 MiB mem_limit_mb, so
 * hugepage runs fit beside other users.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <brisk/env.h>
#include <brisk/log.h>
#include "../../common/ut_main.h"

#define BIG (96u << 20)
#define ZONE_PRIMARY "grow_primary"
#define ZONE_SECONDARY "grow_secondary"
#define ZONE_LEN (40u << 20)

static uint64_t g_map_bytes; /* registered bytes a test map was told about */

static int count_notify(void *ctx, struct brisk_mem_map *map, enum brisk_mem_map_notify_action action, void *vaddr,
			size_t size)
{
	(void)ctx;
	(void)map;
	(void)vaddr;
	if (action == BRISK_MEM_MAP_NOTIFY_REGISTER) {
		g_map_bytes += size;
	} else {
		g_map_bytes -= size;
	}
	return 0;
}

static const struct brisk_mem_map_ops g_count_ops = { .notify_cb = count_notify };

static bool no_huge(void)
{
	const char *v = getenv("BRISK_TEST_NO_HUGE");

	return v != NULL && strcmp(v, "1") == 0;
}

/* Every 2 MiB of buf has a translation. */
static void check_translated(const uint8_t *buf, size_t len)
{
	size_t off;

	for (off = 0; off < len; off += 2u << 20) {
		CU_ASSERT(brisk_vtophys(buf + off, NULL) != BRISK_VTOPHYS_ERROR);
	}
}

static void test_grow_private(void)
{
	struct brisk_env_mem_info before, after;
	struct brisk_heap_stats hs, base;
	struct brisk_mem_map *old_map, *new_map;
	struct brisk_env_opts opts;
	uint8_t *big;

	brisk_env_opts_init(&opts);
	opts.name = "mem_grow_ut";
	opts.mem_size_mb = 8;
	opts.mem_limit_mb = 256; /* room for BIG, and a bound on a shared machine */
	opts.no_huge = no_huge();
	if (getenv("BRISK_TEST_VERBOSE") == NULL) {
		brisk_log_set_print_level(BRISK_LOG_ERROR);
	}
	CU_ASSERT_FATAL(brisk_env_init(&opts) == 0);
	CU_ASSERT_FATAL(brisk_env_get_mem_info(&before) == 0);
	CU_ASSERT(before.reserved_bytes >= (8u << 20));
	CU_ASSERT(before.total_bytes == before.reserved_bytes);
	CU_ASSERT(before.grow_count == 0);
	g_map_bytes = 0;
	old_map = brisk_mem_map_alloc(0, &g_count_ops, NULL);
	CU_ASSERT_FATAL(old_map != NULL);
	CU_ASSERT(g_map_bytes == before.total_bytes);

	CU_ASSERT_FATAL(brisk_malloc_get_heap_stats(0, &base) == 0);
	big = brisk_malloc(BIG, 0, BRISK_ENV_SOCKET_ID_ANY);
	CU_ASSERT_FATAL(big != NULL);
	memset(big, 0xa5, BIG);
	CU_ASSERT(big[BIG - 1] == 0xa5);
	CU_ASSERT(brisk_env_get_mem_info(&after) == 0);
	CU_ASSERT(after.reserved_bytes == before.reserved_bytes);
	CU_ASSERT(after.total_bytes >= before.total_bytes + BIG);
	CU_ASSERT(after.grow_count >= 1);
	CU_ASSERT(after.max_bytes >= after.total_bytes);
	check_translated(big, BIG);
	/* The map that existed was told about the growth; a new one hears of all. */
	CU_ASSERT(g_map_bytes == after.total_bytes);
	new_map = brisk_mem_map_alloc(0, &g_count_ops, NULL);
	CU_ASSERT_FATAL(new_map != NULL);
	CU_ASSERT(g_map_bytes == 2 * after.total_bytes);
	brisk_mem_map_free(&new_map);
	brisk_mem_map_free(&old_map);
	CU_ASSERT(g_map_bytes == 0);

	/* Freed, the grown part joins the free tail: the heap has the elements
	 * it had before, the tail larger by the growth. */
	brisk_free(big);
	CU_ASSERT(brisk_malloc_get_heap_stats(0, &hs) == 0);
	CU_ASSERT(hs.alloc_count == base.alloc_count);
	CU_ASSERT(hs.free_count == base.free_count);
	CU_ASSERT(hs.total_bytes == base.total_bytes + (after.total_bytes - after.reserved_bytes));
	CU_ASSERT(hs.greatest_free_size > BIG);
	/* Past mem_limit_mb: refused, nothing changed. */
	errno = 0;
	CU_ASSERT(brisk_malloc(300u << 20, 0, BRISK_ENV_SOCKET_ID_ANY) == NULL);
	CU_ASSERT(errno == ENOMEM);
	CU_ASSERT(brisk_malloc_get_heap_stats(0, &base) == 0);
	CU_ASSERT(base.free_bytes == hs.free_bytes && base.free_count == hs.free_count);
	/* Reuse does not grow again. */
	big = brisk_dma_zmalloc(BIG, 4096, NULL);
	CU_ASSERT(big != NULL);
	CU_ASSERT(brisk_env_get_mem_info(&before) == 0);
	CU_ASSERT(before.grow_count == after.grow_count);
	brisk_free(big);
	brisk_env_fini();
}

static void shared_opts(struct brisk_env_opts *opts, int shm_id, enum brisk_proc_type type)
{
	brisk_env_opts_init(opts);
	opts->name = "mem_grow_ut";
	opts->mem_size_mb = 16;
	opts->mem_limit_mb = 256;
	opts->no_huge = no_huge();
	opts->shm_id = shm_id;
	opts->shm_prefix = "brisk_ut_grow";
	opts->proc_type = type;
}

/* Secondary: the primary's zone lies in memory grown after this process
 * could first see it; reserve a zone of its own that needs growth too. */
static int role_secondary(int shm_id)
{
	struct brisk_env_opts opts;
	uint8_t *zone;
	size_t i;

	brisk_log_set_print_level(BRISK_LOG_ERROR);
	shared_opts(&opts, shm_id, BRISK_PROC_SECONDARY);
	if (brisk_env_init(&opts) != 0) {
		return 2;
	}
	zone = brisk_memzone_lookup(ZONE_PRIMARY);
	if (zone == NULL) {
		return 3;
	}
	for (i = 0; i < ZONE_LEN; i += 4096) {
		if (zone[i] != (uint8_t)(i >> 12)) {
			return 4;
		}
	}
	if (brisk_vtophys(zone + ZONE_LEN - 1, NULL) == BRISK_VTOPHYS_ERROR) {
		return 5;
	}
	zone = brisk_memzone_reserve(ZONE_SECONDARY, ZONE_LEN, BRISK_ENV_SOCKET_ID_ANY, 0);
	if (zone == NULL) {
		return 6;
	}
	memset(zone, 0x5a, ZONE_LEN);
	brisk_env_fini();
	return 0;
}

static int run_secondary(int shm_id)
{
	char id[16];
	int status;
	pid_t pid;

	snprintf(id, sizeof(id), "%d", shm_id);
	pid = fork();
	if (pid == 0) {
		execl("/proc/self/exe", "mem_grow_ut", "secondary", id, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
		return -1;
	}
	return WEXITSTATUS(status);
}

static void test_grow_shared(void)
{
	struct brisk_env_opts opts;
	struct brisk_env_mem_info info;
	int shm_id = (int)(getpid() % 100000) + 7000;
	uint8_t *zone;
	size_t i;

	shared_opts(&opts, shm_id, BRISK_PROC_PRIMARY);
	CU_ASSERT_FATAL(brisk_env_init(&opts) == 0);
	zone = brisk_memzone_reserve(ZONE_PRIMARY, ZONE_LEN, BRISK_ENV_SOCKET_ID_ANY, 0);
	CU_ASSERT_FATAL(zone != NULL);
	for (i = 0; i < ZONE_LEN; i += 4096) {
		zone[i] = (uint8_t)(i >> 12);
	}
	CU_ASSERT(brisk_env_get_mem_info(&info) == 0);
	CU_ASSERT(info.grow_count >= 1);
	CU_ASSERT(run_secondary(shm_id) == 0);
	/* What the secondary grew: mapped here at the lookup. */
	zone = brisk_memzone_lookup(ZONE_SECONDARY);
	CU_ASSERT_FATAL(zone != NULL);
	CU_ASSERT(zone[0] == 0x5a && zone[ZONE_LEN - 1] == 0x5a);
	check_translated(zone, ZONE_LEN);
	CU_ASSERT(brisk_env_get_mem_info(&info) == 0);
	CU_ASSERT(info.grow_count >= 2);
	brisk_env_fini();
}

/* The secondary process test_grow_shared starts. */
static int ut_role(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "secondary") == 0) {
		return role_secondary(atoi(argv[2]));
	}
	return BRISK_UT_NO_ROLE;
}

static const CU_TestInfo g_ut_tests[] = {
	{ "grow past the reservation (private)", test_grow_private },
	{ "grow seen by a secondary and back", test_grow_shared },
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "mem_grow", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "mem_grow_ut",
	.role = ut_role,
	.suites = g_ut_suites,
};
