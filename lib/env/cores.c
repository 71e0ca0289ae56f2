/*
 * Cores: the application's core mask, the NUMA node of each core, thread
 * pinning and the calling thread's current core.
 */
#include <errno.h>
#include <numa.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <brisk/cpuset.h>
#include <brisk/env.h>
#include <brisk/log.h>

#include "env_internal.h"

#define CPU_ONLINE_PATH "/sys/devices/system/cpu/online"

static struct brisk_cpuset g_cpuset;
static uint32_t g_core_count;
static uint32_t g_main_core = UINT32_MAX;
/* Set by brisk_env_thread_pin / brisk_env_set_current_core; per OS thread. */
static __thread uint32_t g_current_core = BRISK_ENV_LCORE_ID_ANY;

/* NUMA node of every core below BRISK_ENV_MAX_CORES, looked up once at init
 * (the heap asks on every allocation; libnuma would make a system call). */
static int g_socket_of[BRISK_ENV_MAX_CORES];
static bool g_sockets_cached;

static pthread_once_t g_numa_once = PTHREAD_ONCE_INIT;
static bool g_numa_ok;

static void
numa_probe(void)
{
	/* numa_available() is the documented gate before any other libnuma call. */
	g_numa_ok = numa_available() >= 0;
}

static bool
numa_usable(void)
{
	pthread_once(&g_numa_once, numa_probe);
	return g_numa_ok;
}

static int
lookup_socket(uint32_t core)
{
	int node;

	if (!numa_usable()) {
		return 0;
	}
	node = numa_node_of_cpu((int)core);
	if (node < 0) {
		/* Not a cpu the kernel knows: no node to report. */
		return BRISK_ENV_SOCKET_ID_ANY;
	}
	if (node >= BRISK_ENV_MAX_NUMA_NODES) {
		BRISK_WARNLOG("core %u is on NUMA node %d, beyond the %d supported: using node 0\n",
			      core, node, BRISK_ENV_MAX_NUMA_NODES);
		return 0;
	}
	return node;
}

/* Online cpus as the kernel lists them ("0-1,4"). 0 or -errno. */
static int
read_online_cpus(struct brisk_cpuset *online)
{
	char buf[BRISK_CPUSET_STR_MAX + 4];
	char list[sizeof(buf) + 2];
	FILE *f;
	size_t n;

	f = fopen(CPU_ONLINE_PATH, "re");
	if (f == NULL) {
		return -errno;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) {
		n--;
	}
	buf[n] = '\0';
	/* Brackets force list syntax: a bare "0" would otherwise read as an empty hex mask. */
	snprintf(list, sizeof(list), "[%s]", buf);
	return brisk_cpuset_parse(online, list);
}

int
env_cores_init(const char *core_mask)
{
	struct brisk_cpuset set, online;
	uint32_t core;
	int rc;

	if (core_mask == NULL) {
		core_mask = "0x1";
	}
	rc = brisk_cpuset_parse(&set, core_mask);
	if (rc != 0) {
		BRISK_ERRLOG("core_mask '%s' is not a valid core mask (0x3) or list (0-1,4)\n",
			     core_mask);
		return -EINVAL;
	}
	rc = read_online_cpus(&online);
	if (rc != 0) {
		BRISK_WARNLOG("cannot read %s (%s): assuming every core exists\n", CPU_ONLINE_PATH,
			      strerror(-rc));
		brisk_cpuset_zero(&online);
		for (core = 0; core < (uint32_t)sysconf(_SC_NPROCESSORS_CONF); core++) {
			brisk_cpuset_set_cpu(&online, core, true);
		}
	}
	BRISK_CPUSET_FOREACH(core, &set) {
		if (core >= BRISK_ENV_MAX_CORES) {
			BRISK_ERRLOG("core_mask '%s': core %u is beyond the limit of %u cores\n",
				     core_mask, core, BRISK_ENV_MAX_CORES);
			return -EINVAL;
		}
		if (!brisk_cpuset_get_cpu(&online, core)) {
			BRISK_ERRLOG("core_mask '%s': core %u is not online\n", core_mask, core);
			return -EINVAL;
		}
	}
	for (core = 0; core < BRISK_ENV_MAX_CORES; core++) {
		g_socket_of[core] = brisk_cpuset_get_cpu(&online, core) ? lookup_socket(core) :
				    BRISK_ENV_SOCKET_ID_ANY;
	}
	g_sockets_cached = true;
	brisk_cpuset_copy(&g_cpuset, &set);
	g_core_count = brisk_cpuset_count(&set);
	g_main_core = brisk_cpuset_next(&set, 0);
	return 0;
}

void
env_cores_fini(void)
{
	brisk_cpuset_zero(&g_cpuset);
	g_core_count = 0;
	g_main_core = UINT32_MAX;
	g_sockets_cached = false;
	g_current_core = BRISK_ENV_LCORE_ID_ANY;
}

uint32_t
brisk_env_get_core_count(void)
{
	return g_core_count;
}

uint32_t
brisk_env_get_first_core(void)
{
	return brisk_cpuset_next(&g_cpuset, 0);
}

uint32_t
brisk_env_get_next_core(uint32_t prev)
{
	if (prev >= BRISK_CPUSET_SIZE - 1) {
		return UINT32_MAX;
	}
	return brisk_cpuset_next(&g_cpuset, prev + 1);
}

uint32_t
brisk_env_get_main_core(void)
{
	return g_main_core;
}

const struct brisk_cpuset *
brisk_env_get_cpuset(void)
{
	return &g_cpuset;
}

uint32_t
brisk_env_get_current_core(void)
{
	return g_current_core;
}

void
brisk_env_set_current_core(uint32_t core)
{
	g_current_core = core;
}

int
brisk_env_get_socket_id(uint32_t core)
{
	if (core >= BRISK_CPUSET_SIZE) {
		return BRISK_ENV_SOCKET_ID_ANY;
	}
	if (g_sockets_cached && core < BRISK_ENV_MAX_CORES) {
		return g_socket_of[core];
	}
	return lookup_socket(core);
}

uint32_t
brisk_env_get_numa_node_count(void)
{
	int n;

	if (!numa_usable()) {
		return 1;
	}
	n = numa_max_node() + 1;
	if (n < 1) {
		return 1;
	}
	return n > BRISK_ENV_MAX_NUMA_NODES ? BRISK_ENV_MAX_NUMA_NODES : (uint32_t)n;
}

uint32_t
brisk_env_get_online_cpu_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (uint32_t)n : 1;
}

int
brisk_env_thread_pin(uint32_t core)
{
	cpu_set_t cpus;
	int rc;

	if (core >= BRISK_ENV_MAX_CORES || !brisk_cpuset_get_cpu(&g_cpuset, core)) {
		BRISK_ERRLOG("cannot pin to core %u: not in the application's core mask\n", core);
		return -EINVAL;
	}
	CPU_ZERO(&cpus);
	CPU_SET(core, &cpus);
	rc = pthread_setaffinity_np(pthread_self(), sizeof(cpus), &cpus);
	if (rc != 0) {
		BRISK_ERRLOG("cannot pin to core %u: %s\n", core, strerror(rc));
		return -rc;
	}
	g_current_core = core;
	return 0;
}
