/*
 * Multi-process memory. The test runs itself again (/proc/self/exe ROLE ...)
 * for the other processes:
 *   secondary ID ADDR TYPE  attach (TYPE secondary|auto), find memzone
 *                           "mp_zone" at ADDR, check the primary's data,
 *                           write an answer, use the shared heap
 *   primary2 ID             a second primary with the same id: expects -EEXIST
 *   crash ID                a primary that exits without brisk_env_fini
 *   blocked ID              a secondary whose address range is taken: -EADDRINUSE
 * Each test uses its own shm id (derived from the pid, so parallel runs do
 * not collide) and checks that no file is left in /dev/hugepages or /dev/shm.
 */
#include <CUnit/Basic.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <brisk/env.h>
#include <brisk/log.h>
#include "../../common/ut_main.h"

#define PREFIX "brisk_ut_mp"
#define ZONE_LEN 8192
#define ANSWER_OFF 4096

static int g_next_id;

static bool
test_no_huge(void)
{
	const char *v = getenv("BRISK_TEST_NO_HUGE");

	return v != NULL && strcmp(v, "1") == 0;
}

static int
new_shm_id(void)
{
	return g_next_id++;
}

static void
mp_opts(struct brisk_env_opts *opts, int shm_id, enum brisk_proc_type type)
{
	brisk_env_opts_init(opts);
	opts->name = "multiprocess_ut";
	opts->mem_size_mb = 32;
	opts->no_huge = test_no_huge();
	opts->shm_id = shm_id;
	opts->shm_prefix = PREFIX;
	opts->proc_type = type;
}

/* Files in dir whose name contains "<PREFIX>_<id>_". */
static int
count_in(const char *dir, int shm_id)
{
	char key[64];
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL) {
		return 0;
	}
	snprintf(key, sizeof(key), PREFIX "_%d_", shm_id);
	while ((e = readdir(d)) != NULL) {
		if (strstr(e->d_name, key) != NULL) {
			n++;
		}
	}
	closedir(d);
	return n;
}

static int
files_of(int shm_id)
{
	return count_in("/dev/hugepages", shm_id) + count_in("/dev/shm", shm_id);
}

static pid_t
spawn(const char *role, int shm_id, const char *a1, const char *a2)
{
	char id[16];
	pid_t pid;

	snprintf(id, sizeof(id), "%d", shm_id);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		execl("/proc/self/exe", "multiprocess_ut", role, id, a1, a2, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Exit code of pid, or -1 if it did not exit normally. */
static int
wait_exit(pid_t pid)
{
	int status;

	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
		return -1;
	}
	return WEXITSTATUS(status);
}

/* ---- Roles of the child processes (exit code = first failed step) ---- */

static int
role_secondary(int shm_id, const char *addr_str, const char *type_str)
{
	struct brisk_env_opts opts;
	struct brisk_memzone_info info;
	enum brisk_proc_type type = strcmp(type_str, "auto") == 0 ? BRISK_PROC_AUTO :
				    BRISK_PROC_SECONDARY;
	uint8_t *zone;
	uint64_t sum = 0;
	void *p;
	int i, rc;

	mp_opts(&opts, shm_id, type);
	opts.no_huge = !test_no_huge(); /* ignored: a secondary follows the primary */
	rc = brisk_env_init(&opts);
	if (rc != 0) {
		fprintf(stderr, "secondary: init failed: %d\n", rc);
		return 10;
	}
	if (brisk_env_get_proc_type() != BRISK_PROC_SECONDARY) {
		return 11;
	}
	if (test_no_huge() && brisk_env_using_hugepages()) {
		return 12; /* the primary ran without hugepages, so must we */
	}
	zone = brisk_memzone_lookup("mp_zone");
	if (zone == NULL) {
		return 13;
	}
	if ((uintptr_t)zone != (uintptr_t)strtoull(addr_str, NULL, 16)) {
		fprintf(stderr, "secondary: zone at %p, primary said %s\n", (void *)zone, addr_str);
		return 14;
	}
	if (brisk_memzone_get_info("mp_zone", &info) != 0 || info.len < ZONE_LEN) {
		return 15;
	}
	for (i = 0; i < ANSWER_OFF; i++) {
		if (zone[i] != (uint8_t)(i * 7 + shm_id)) {
			return 16;
		}
		sum += zone[i];
	}
	/* The shared heap works from here too. */
	p = brisk_malloc(1000, 0, BRISK_ENV_SOCKET_ID_ANY);
	if (p == NULL) {
		return 17;
	}
	memset(p, 0x77, 1000);
	brisk_free(p);
	memcpy(zone + ANSWER_OFF, &sum, sizeof(sum));
	*(int32_t *)(zone + ANSWER_OFF + 8) = (int32_t)getpid();
	brisk_env_fini();
	return 0;
}

static int
role_primary2(int shm_id)
{
	struct brisk_env_opts opts;
	int rc;

	mp_opts(&opts, shm_id, BRISK_PROC_PRIMARY);
	rc = brisk_env_init(&opts);
	if (rc == 0) {
		brisk_env_fini();
		return 2;
	}
	return rc == -EEXIST ? 0 : 1;
}

static int
role_crash(int shm_id)
{
	struct brisk_env_opts opts;

	mp_opts(&opts, shm_id, BRISK_PROC_PRIMARY);
	if (brisk_env_init(&opts) != 0 || brisk_memzone_reserve("crash_zone", 4096, 0, 0) == NULL) {
		return 1;
	}
	_exit(0); /* no fini: the files stay, the lock goes with the process */
}

static int
role_blocked(int shm_id)
{
	struct brisk_env_opts opts;
	void *p;
	int rc;

	/* Occupy where the primary put segment 0 (ENV_BASE_VIRTADDR). */
	p = mmap((void *)0x200000000000ull, 2 << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS |
		 MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED) {
		return 1;
	}
	mp_opts(&opts, shm_id, BRISK_PROC_SECONDARY);
	rc = brisk_env_init(&opts);
	if (rc == 0) {
		brisk_env_fini();
		return 2;
	}
	return rc == -EADDRINUSE && !brisk_env_is_initialized() ? 0 : 3;
}

/* ---- Tests (the primary side) ---- */

static uint8_t *
primary_with_zone(int shm_id, enum brisk_proc_type type)
{
	struct brisk_env_opts opts;
	uint8_t *zone;
	int i;

	mp_opts(&opts, shm_id, type);
	if (brisk_env_init(&opts) != 0) {
		return NULL;
	}
	zone = brisk_memzone_reserve("mp_zone", ZONE_LEN, BRISK_ENV_SOCKET_ID_ANY, 0);
	if (zone == NULL) {
		brisk_env_fini();
		return NULL;
	}
	for (i = 0; i < ANSWER_OFF; i++) {
		zone[i] = (uint8_t)(i * 7 + shm_id);
	}
	memset(zone + ANSWER_OFF, 0, 16);
	return zone;
}

static void
run_secondary(int shm_id, uint8_t *zone, const char *type)
{
	char addr[32];
	uint64_t sum = 0, got;
	pid_t pid;
	int i;

	for (i = 0; i < ANSWER_OFF; i++) {
		sum += zone[i];
	}
	snprintf(addr, sizeof(addr), "%" PRIxPTR, (uintptr_t)zone);
	pid = spawn("secondary", shm_id, addr, type);
	CU_ASSERT_EQUAL(wait_exit(pid), 0);
	memcpy(&got, zone + ANSWER_OFF, sizeof(got));
	CU_ASSERT_EQUAL(got, sum);
	CU_ASSERT_EQUAL(*(int32_t *)(zone + ANSWER_OFF + 8), (int32_t)pid);
}

static void
test_secondary_sees_primary(void)
{
	int id = new_shm_id();
	uint8_t *zone = primary_with_zone(id, BRISK_PROC_PRIMARY);

	CU_ASSERT_PTR_NOT_NULL_FATAL(zone);
	CU_ASSERT_EQUAL(brisk_env_get_proc_type(), BRISK_PROC_PRIMARY);
	CU_ASSERT(files_of(id) >= 2); /* lock file and segment 0 */
	run_secondary(id, zone, "secondary");
	/* A second secondary after the first left, this one by AUTO. */
	memset(zone + ANSWER_OFF, 0, 16);
	run_secondary(id, zone, "auto");
	brisk_env_fini();
	CU_ASSERT_EQUAL(files_of(id), 0);
}

static void
test_auto_becomes_primary(void)
{
	int id = new_shm_id();
	uint8_t *zone = primary_with_zone(id, BRISK_PROC_AUTO);

	CU_ASSERT_PTR_NOT_NULL_FATAL(zone);
	CU_ASSERT_EQUAL(brisk_env_get_proc_type(), BRISK_PROC_PRIMARY);
	run_secondary(id, zone, "auto");
	brisk_env_fini();
	CU_ASSERT_EQUAL(files_of(id), 0);
}

static void
test_second_primary_refused(void)
{
	int id = new_shm_id();
	uint8_t *zone = primary_with_zone(id, BRISK_PROC_PRIMARY);

	CU_ASSERT_PTR_NOT_NULL_FATAL(zone);
	CU_ASSERT_EQUAL(wait_exit(spawn("primary2", id, NULL, NULL)), 0);
	/* The refused primary disturbed nothing: a secondary still attaches. */
	run_secondary(id, zone, "secondary");
	brisk_env_fini();
	CU_ASSERT_EQUAL(files_of(id), 0);
}

static void
test_secondary_without_primary(void)
{
	struct brisk_env_opts opts;
	int id = new_shm_id();

	mp_opts(&opts, id, BRISK_PROC_SECONDARY);
	CU_ASSERT_EQUAL(brisk_env_init(&opts), -ENOENT);
	CU_ASSERT_FALSE(brisk_env_is_initialized());
	CU_ASSERT_EQUAL(files_of(id), 0);
}

static void
test_stale_files_of_dead_primary(void)
{
	struct brisk_env_opts opts;
	int id = new_shm_id();

	CU_ASSERT_EQUAL_FATAL(wait_exit(spawn("crash", id, NULL, NULL)), 0);
	CU_ASSERT(files_of(id) >= 2);
	/* Nobody holds the lock: a secondary finds no primary... */
	mp_opts(&opts, id, BRISK_PROC_SECONDARY);
	CU_ASSERT_EQUAL(brisk_env_init(&opts), -ENOENT);
	/* ...and a new primary cleans up and starts fresh. */
	mp_opts(&opts, id, BRISK_PROC_PRIMARY);
	CU_ASSERT_EQUAL_FATAL(brisk_env_init(&opts), 0);
	CU_ASSERT_PTR_NULL(brisk_memzone_lookup("crash_zone"));
	CU_ASSERT_PTR_NOT_NULL(brisk_memzone_reserve("crash_zone", 4096, 0, 0));
	brisk_env_fini();
	CU_ASSERT_EQUAL(files_of(id), 0);
}

static void
test_private_and_shared_coexist(void)
{
	struct brisk_env_opts opts;
	int id = new_shm_id();

	/* Two processes with different ids are independent primaries. */
	mp_opts(&opts, id, BRISK_PROC_PRIMARY);
	CU_ASSERT_EQUAL_FATAL(brisk_env_init(&opts), 0);
	CU_ASSERT_EQUAL(wait_exit(spawn("primary2", id + 1000, NULL, NULL)), 2);
	brisk_env_fini();
	CU_ASSERT_EQUAL(files_of(id), 0);
	CU_ASSERT_EQUAL(files_of(id + 1000), 0);
}

static void
test_secondary_address_in_use(void)
{
	int id = new_shm_id();
	uint8_t *zone = primary_with_zone(id, BRISK_PROC_PRIMARY);

	CU_ASSERT_PTR_NOT_NULL_FATAL(zone);
	if ((uintptr_t)zone >> 44 != 0x2) {
		printf("  (skipped: the primary's memory is not at the base address)\n");
	} else {
		CU_ASSERT_EQUAL(wait_exit(spawn("blocked", id, NULL, NULL)), 0);
	}
	/* The failed secondary left the primary alone. */
	run_secondary(id, zone, "secondary");
	brisk_env_fini();
	CU_ASSERT_EQUAL(files_of(id), 0);
}

static void
test_forked_child_is_secondary(void)
{
	int id = new_shm_id();
	uint8_t *zone = primary_with_zone(id, BRISK_PROC_PRIMARY);
	int files;
	pid_t pid;

	CU_ASSERT_PTR_NOT_NULL_FATAL(zone);
	files = files_of(id);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int bad = brisk_env_get_proc_type() != BRISK_PROC_SECONDARY;

		zone[ANSWER_OFF] = 0x42;
		brisk_env_fini(); /* must not remove the primary's files */
		_exit(bad);
	}
	CU_ASSERT_EQUAL(wait_exit(pid), 0);
	CU_ASSERT_EQUAL(zone[ANSWER_OFF], 0x42);
	CU_ASSERT_EQUAL(brisk_env_get_proc_type(), BRISK_PROC_PRIMARY);
	CU_ASSERT_EQUAL(files_of(id), files);
	/* Still this process's id, and a secondary still attaches. */
	CU_ASSERT_EQUAL(wait_exit(spawn("primary2", id, NULL, NULL)), 0);
	run_secondary(id, zone, "secondary");
	brisk_env_fini();
	CU_ASSERT_EQUAL(files_of(id), 0);
}

static void ut_quiet(void)
{
	if (getenv("BRISK_TEST_VERBOSE") == NULL) {
		brisk_log_set_print_level(BRISK_LOG_ERROR);
	}
}

/* The processes the tests start: "<role> <id> [args]". */
static int ut_role(int argc, char **argv)
{
	ut_quiet();
	if (argc < 3) {
		return BRISK_UT_NO_ROLE;
	}
	if (strcmp(argv[1], "secondary") == 0 && argc >= 5) {
		return role_secondary(atoi(argv[2]), argv[3], argv[4]);
	}
	if (strcmp(argv[1], "primary2") == 0) {
		return role_primary2(atoi(argv[2]));
	}
	if (strcmp(argv[1], "blocked") == 0) {
		return role_blocked(atoi(argv[2]));
	}
	if (strcmp(argv[1], "crash") == 0) {
		return role_crash(atoi(argv[2]));
	}
	return BRISK_UT_NO_ROLE;
}

static int ut_setup(void)
{
	ut_quiet();
	/* Ids unique to this run: others may run the same test at the same time. */
	g_next_id = 100000 + (int)(getpid() % 100000) * 10;
	return 0;
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_secondary_sees_primary),
	BRISK_UT_TEST(test_auto_becomes_primary),
	BRISK_UT_TEST(test_second_primary_refused),
	BRISK_UT_TEST(test_secondary_without_primary),
	BRISK_UT_TEST(test_stale_files_of_dead_primary),
	BRISK_UT_TEST(test_private_and_shared_coexist),
	BRISK_UT_TEST(test_secondary_address_in_use),
	BRISK_UT_TEST(test_forked_child_is_secondary),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "multiprocess", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "multiprocess_ut",
	.role = ut_role,
	.setup = ut_setup,
	.suites = g_ut_suites,
};
