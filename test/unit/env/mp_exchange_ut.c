/*
 * Multi-process exchange: this program is both sides. Without arguments it is
 * the primary (CUnit): it creates a ring and a mempool in shared memory and
 * starts itself (/proc/self/exe) as a secondary with the same shm id. The
 * secondary finds both by name, takes objects from the pool, writes a
 * numbered pattern into each and enqueues it; the primary dequeues, checks
 * the pattern and order, and puts each object back. At the end the pool is
 * full again, and after brisk_env_fini no file of ours is left in
 * /dev/hugepages or /dev/shm. Bad input: a second primary with the same id,
 * and a secondary with an id no primary uses, are refused.
 */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include <brisk/env.h>
#include <brisk/log.h>
#include <brisk/mempool.h>
#include <brisk/ring.h>
#include <brisk/ticks.h>
#include "../../common/ut_main.h"

#define SHM_PREFIX "mpx_ut"
#define RING_NAME "mpx_ring"
#define POOL_NAME "mpx_pool"
#define POOL_SIZE 512
#define NUM_OBJS 200000
#define PAYLOAD_WORDS 14
#define TIMEOUT_S 30

struct exchange_obj {
	uint64_t seq;
	uint32_t writer_pid;
	uint32_t pad;
	uint64_t payload[PAYLOAD_WORDS];
};

static int g_shm_id;

static uint64_t pattern(uint64_t seq, unsigned i)
{
	return (seq + 1) * 0x9e3779b97f4a7c15ull + i;
}

static int env_start(const char *name, const char *core_mask, enum brisk_proc_type type, int shm_id)
{
	struct brisk_env_opts opts;
	const char *no_huge = getenv("BRISK_TEST_NO_HUGE");

	brisk_env_opts_init(&opts);
	opts.name = name;
	opts.core_mask = core_mask;
	opts.mem_size_mb = 64;
	opts.no_huge = no_huge != NULL && strcmp(no_huge, "1") == 0;
	opts.shm_id = shm_id;
	opts.shm_prefix = SHM_PREFIX;
	opts.proc_type = type;
	if (getenv("BRISK_TEST_VERBOSE") == NULL) {
		brisk_log_set_print_level(BRISK_LOG_ERROR);
	}
	return brisk_env_init(&opts);
}

/* ---- secondary side (runs in the child process) ---- */

static int secondary_main(int shm_id)
{
	struct brisk_ring *ring;
	struct brisk_mempool *mp;
	uint64_t seq, deadline;
	int rc;

	rc = env_start("mpx_secondary", "0x2", BRISK_PROC_SECONDARY, shm_id);
	if (rc != 0) {
		fprintf(stderr, "secondary: env init failed: %d\n", rc);
		return 2;
	}
	if (brisk_env_get_proc_type() != BRISK_PROC_SECONDARY) {
		fprintf(stderr, "secondary: not running as a secondary\n");
		return 3;
	}
	/* Core 1's cache: the primary uses core 0's, so they never share one. */
	if (brisk_env_thread_pin(1) != 0) {
		fprintf(stderr, "secondary: cannot pin to core 1\n");
		return 4;
	}
	ring = brisk_ring_lookup(RING_NAME);
	mp = brisk_mempool_lookup(POOL_NAME);
	if (ring == NULL || mp == NULL) {
		fprintf(stderr, "secondary: lookup failed (ring %p, pool %p)\n", (void *)ring, (void *)mp);
		return 5;
	}
	if (brisk_mempool_get_count(mp) != POOL_SIZE || brisk_ring_get_size(ring) != 1024) {
		fprintf(stderr, "secondary: ring or pool does not look as created\n");
		return 6;
	}
	deadline = brisk_get_ticks() + TIMEOUT_S * brisk_get_ticks_hz();
	for (seq = 0; seq < NUM_OBJS; seq++) {
		struct exchange_obj *o = NULL;
		unsigned i;

		while (brisk_mempool_get(mp, (void **)&o) != 0) {
			if (brisk_get_ticks() > deadline) {
				fprintf(stderr, "secondary: timed out getting object %llu\n",
					(unsigned long long)seq);
				return 7;
			}
			sched_yield(); /* the primary puts them back */
		}
		o->seq = seq;
		o->writer_pid = (uint32_t)getpid();
		for (i = 0; i < PAYLOAD_WORDS; i++) {
			o->payload[i] = pattern(seq, i);
		}
		while (brisk_ring_enqueue(ring, o) != 0) {
			if (brisk_get_ticks() > deadline) {
				fprintf(stderr, "secondary: timed out enqueueing\n");
				return 8;
			}
			sched_yield();
		}
	}
	brisk_env_fini();
	return 0;
}

/* ---- primary side ---- */

static pid_t spawn_self(const char *mode, int shm_id)
{
	char id[32];
	pid_t pid;

	snprintf(id, sizeof(id), "%d", shm_id);
	pid = fork();
	if (pid == 0) {
		execl("/proc/self/exe", "mp_exchange_ut", mode, id, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static int wait_child(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid) {
		return -1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Number of entries in dir whose name contains SHM_PREFIX. */
static int count_our_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL) {
		return 0;
	}
	while ((e = readdir(d)) != NULL) {
		if (strstr(e->d_name, SHM_PREFIX) != NULL) {
			printf("\n    leftover: %s/%s", dir, e->d_name);
			n++;
		}
	}
	closedir(d);
	return n;
}

static void test_exchange(void)
{
	struct brisk_ring *ring;
	struct brisk_mempool *mp;
	uint64_t seq = 0, bad_data = 0, bad_order = 0, foreign = 0, deadline;
	pid_t child, child_pid = 0;
	int rc, exit_code = -1;

	CU_ASSERT_EQUAL_FATAL(env_start("mpx_primary", "0x1", BRISK_PROC_PRIMARY, g_shm_id), 0);
	CU_ASSERT_EQUAL(brisk_env_get_proc_type(), BRISK_PROC_PRIMARY);
	CU_ASSERT_EQUAL(brisk_env_thread_pin(0), 0);
	ring = brisk_ring_create(RING_NAME, 1024, BRISK_ENV_SOCKET_ID_ANY,
				 BRISK_RING_F_SP_ENQ | BRISK_RING_F_SC_DEQ);
	mp = brisk_mempool_create(POOL_NAME, POOL_SIZE, sizeof(struct exchange_obj), 32,
				  BRISK_ENV_SOCKET_ID_ANY);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ring);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mp);

	/* Bad input: a second primary with the same id is refused. */
	child = spawn_self("--second-primary", g_shm_id);
	CU_ASSERT_FATAL(child > 0);
	CU_ASSERT_EQUAL(wait_child(child), 0);

	child = spawn_self("--secondary", g_shm_id);
	CU_ASSERT_FATAL(child > 0);
	deadline = brisk_get_ticks() + (TIMEOUT_S + 5) * brisk_get_ticks_hz();
	while (seq < NUM_OBJS) {
		struct exchange_obj *o = NULL;
		unsigned i;

		if (brisk_ring_dequeue(ring, (void **)&o) != 0) {
			if (child_pid == 0 && waitpid(child, &rc, WNOHANG) == child) {
				child_pid = child; /* exited early; drain what it sent, then stop */
				exit_code = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
				if (brisk_ring_empty(ring)) {
					break;
				}
			}
			if (brisk_get_ticks() > deadline) {
				break;
			}
			sched_yield();
			continue;
		}
		if (!brisk_mempool_contains(mp, o)) {
			foreign++;
			continue;
		}
		if (o->seq != seq) {
			bad_order++;
		}
		for (i = 0; i < PAYLOAD_WORDS; i++) {
			if (o->payload[i] != pattern(o->seq, i)) {
				bad_data++;
				break;
			}
		}
		if (o->writer_pid != (uint32_t)child) {
			bad_data++;
		}
		seq++;
		brisk_mempool_put(mp, o);
	}
	if (child_pid == 0) {
		if (seq < NUM_OBJS) {
			kill(child, SIGKILL);
		}
		exit_code = wait_child(child);
	}
	printf("\n    primary received %llu objects; secondary exit code %d\n    ",
	       (unsigned long long)seq, exit_code);
	CU_ASSERT_EQUAL(exit_code, 0);
	CU_ASSERT_EQUAL(seq, NUM_OBJS);
	CU_ASSERT_EQUAL(bad_order, 0);
	CU_ASSERT_EQUAL(bad_data, 0);
	CU_ASSERT_EQUAL(foreign, 0);
	CU_ASSERT(brisk_ring_empty(ring));
	/* Objects left in the secondary's core cache are in shared memory and count as free. */
	CU_ASSERT(brisk_mempool_full(mp));
	CU_ASSERT_EQUAL(brisk_mempool_in_use_count(mp), 0);

	brisk_ring_free(ring);
	brisk_mempool_free(mp);
	brisk_env_fini();
	CU_ASSERT_EQUAL(count_our_files("/dev/hugepages"), 0);
	CU_ASSERT_EQUAL(count_our_files("/dev/shm"), 0);
}

/* Bad input: a secondary whose id has no primary fails cleanly. */
static void test_secondary_without_primary(void)
{
	pid_t child = spawn_self("--orphan-secondary", g_shm_id + 1);

	CU_ASSERT_FATAL(child > 0);
	CU_ASSERT_EQUAL(wait_child(child), 0);
	CU_ASSERT_EQUAL(count_our_files("/dev/hugepages"), 0);
	CU_ASSERT_EQUAL(count_our_files("/dev/shm"), 0);
}

static int ut_role_other_primary(int shm_id)
{
	int rc = env_start("mpx_primary2", "0x2", BRISK_PROC_PRIMARY, shm_id);

	if (rc == 0) {
		brisk_env_fini();
	}
	return rc == -EEXIST ? 0 : 1;
}

static int ut_role_orphan(int shm_id)
{
	int rc = env_start("mpx_orphan", "0x2", BRISK_PROC_SECONDARY, shm_id);

	if (rc == 0) {
		brisk_env_fini();
	}
	return rc == -ENOENT ? 0 : 1;
}

/* The processes the tests start: "<mode> <shm id>". */
static int ut_role(int argc, char **argv)
{
	if (argc != 3) {
		return BRISK_UT_NO_ROLE;
	}
	if (strcmp(argv[1], "--secondary") == 0) {
		return secondary_main(atoi(argv[2]));
	}
	if (strcmp(argv[1], "--second-primary") == 0) {
		return ut_role_other_primary(atoi(argv[2]));
	}
	if (strcmp(argv[1], "--orphan-secondary") == 0) {
		return ut_role_orphan(atoi(argv[2]));
	}
	return BRISK_UT_NO_ROLE;
}

static int ut_setup(void)
{
	/* An id unlikely to collide with a parallel run of this test. */
	g_shm_id = 1000 + (int)(getpid() % 100000) * 2;
	return 0;
}

static const CU_TestInfo g_ut_tests[] = {
	{ "exchange", test_exchange },
	{ "secondary_without_primary", test_secondary_without_primary },
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "mp_exchange", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "mp_exchange_ut",
	.role = ut_role,
	.setup = ut_setup,
	.suites = g_ut_suites,
};
