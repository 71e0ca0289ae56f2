/*
 * brisk_env_init / brisk_env_fini: check the options, then bring up the
 * layer in order (cores, memory, address translation, heaps, memzones) and
 * take it down in reverse.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <brisk/env.h>
#include <brisk/log.h>

#include "env_internal.h"

BRISK_LOG_REGISTER_COMPONENT(env)

#define ENV_SHM_PREFIX_MAX 64
/* Above this the multiplication to bytes could overflow; far above any RAM. */
#define ENV_MEM_MB_LIMIT (1ull << 30)

static bool g_initialized;
static int g_shm_id = -1; /* of the running env */

void
brisk_env_opts_init(struct brisk_env_opts *opts)
{
	if (opts == NULL) {
		return;
	}
	memset(opts, 0, sizeof(*opts));
	opts->name = "brisk";
	opts->core_mask = "0x1";
	opts->mem_size_mb = BRISK_ENV_DEFAULT_MEM_MB;
	opts->no_huge = false;
	opts->hugepage_dir = NULL;
	opts->hugepage_size = 0;
	opts->shm_id = -1;
	opts->shm_prefix = "brisk";
	opts->proc_type = BRISK_PROC_AUTO;
}

static int
check_shm_prefix(const char *prefix)
{
	size_t i, len = strlen(prefix);

	if (len == 0 || len > ENV_SHM_PREFIX_MAX) {
		BRISK_ERRLOG("shm_prefix must have 1 to %d characters\n", ENV_SHM_PREFIX_MAX);
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		char c = prefix[i];

		/* It names files: no '/', no spaces, nothing a shell would trip on. */
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.')) {
			BRISK_ERRLOG("shm_prefix '%s': character '%c' not allowed (use letters, digits, "
				     "'_', '-', '.')\n", prefix, c);
			return -EINVAL;
		}
	}
	return 0;
}

/* Checks the options that need no system look-up and fills in defaults. */
static int
check_opts(const struct brisk_env_opts *in, struct brisk_env_opts *opts)
{
	uint64_t phys_mb;
	long pages, page_size;
	int rc;

	*opts = *in;
	if (opts->name == NULL) {
		opts->name = "brisk";
	}
	if (opts->core_mask == NULL) {
		opts->core_mask = "0x1";
	}
	if (opts->shm_prefix == NULL) {
		opts->shm_prefix = "brisk";
	}
	if (opts->mem_size_mb == 0) {
		opts->mem_size_mb = BRISK_ENV_DEFAULT_MEM_MB;
	}
	pages = sysconf(_SC_PHYS_PAGES);
	page_size = sysconf(_SC_PAGESIZE);
	phys_mb = pages > 0 && page_size > 0 ? ((uint64_t)pages * (uint64_t)page_size) >> 20 :
		  ENV_MEM_MB_LIMIT;
	if (opts->mem_limit_mb != 0 && opts->mem_limit_mb < opts->mem_size_mb) {
		BRISK_ERRLOG("mem_limit_mb %" PRIu64 " is less than mem_size_mb %" PRIu64 "\n", opts->mem_limit_mb,
			     opts->mem_size_mb);
		return -EINVAL;
	}
	if (opts->mem_size_mb > ENV_MEM_MB_LIMIT || opts->mem_size_mb > phys_mb) {
		BRISK_ERRLOG("mem_size_mb %" PRIu64 " is more than this machine's %" PRIu64 " MiB\n",
			     opts->mem_size_mb, phys_mb);
		return -EINVAL;
	}
	if (opts->proc_type != BRISK_PROC_AUTO && opts->proc_type != BRISK_PROC_PRIMARY &&
	    opts->proc_type != BRISK_PROC_SECONDARY) {
		BRISK_ERRLOG("proc_type %d is not AUTO, PRIMARY or SECONDARY\n", (int)opts->proc_type);
		return -EINVAL;
	}
	if (opts->shm_id < 0) {
		if (opts->proc_type == BRISK_PROC_SECONDARY) {
			BRISK_ERRLOG("proc_type SECONDARY needs shm_id >= 0 (the primary's id)\n");
			return -EINVAL;
		}
		opts->shm_id = -1;
	}
	rc = check_shm_prefix(opts->shm_prefix);
	if (rc != 0) {
		return rc;
	}
	return 0;
}

/* Primary: a heap over every segment (after struct env_shared in segment 0),
 * then the memzone table in them. */
static int
create_heaps(void)
{
	const struct env_segment *seg;
	uint64_t skip;
	uint32_t i;
	int rc;

	for (i = 0; i < g_env_shared->num_segments; i++) {
		seg = &g_env_shared->segments[i];
		/* A whole 4 KiB keeps the heap's first element page-aligned. */
		skip = i == 0 ? (sizeof(struct env_shared) + 4095) / 4096 * 4096 : 0;
		rc = env_heap_create(seg->socket_id, (void *)(uintptr_t)(seg->va + skip),
				     seg->len - skip);
		if (rc != 0) {
			BRISK_ERRLOG("cannot create the heap of NUMA node %d: %d\n", seg->socket_id, rc);
			return rc;
		}
	}
	rc = env_memzone_init();
	if (rc != 0) {
		BRISK_ERRLOG("cannot create the memzone table: %d\n", rc);
	}
	return rc;
}

int
brisk_env_init(const struct brisk_env_opts *user_opts)
{
	struct brisk_env_opts opts;
	int rc;

	if (user_opts == NULL) {
		BRISK_ERRLOG("brisk_env_init: opts is NULL (use brisk_env_opts_init)\n");
		return -EINVAL;
	}
	if (g_initialized) {
		BRISK_ERRLOG("brisk_env_init: already initialised (call brisk_env_fini first)\n");
		return -EALREADY;
	}
	rc = check_opts(user_opts, &opts);
	if (rc != 0) {
		return rc;
	}
	rc = env_cores_init(opts.core_mask);
	if (rc != 0) {
		return rc;
	}
	rc = env_memory_init(&opts, opts.proc_type);
	if (rc != 0) {
		env_cores_fini();
		return rc;
	}
	rc = env_vtophys_init();
	if (rc != 0) {
		goto err_memory;
	}
	if (env_memory_get_proc_type() == BRISK_PROC_PRIMARY) {
		rc = create_heaps();
		if (rc != 0) {
			goto err_vtophys;
		}
		env_memory_publish();
	}
	g_initialized = true;
	g_shm_id = opts.shm_id;
	BRISK_INFOLOG("%s: env ready as %s, %u core(s), %" PRIu64 " MiB in %u segment(s) of %"
		      PRIu64 " KiB pages\n", opts.name,
		      env_memory_get_proc_type() == BRISK_PROC_PRIMARY ? "primary" : "secondary",
		      brisk_env_get_core_count(), opts.mem_size_mb, g_env_shared->num_segments,
		      g_env_shared->page_size / 1024);
	return 0;

err_vtophys:
	env_vtophys_fini();
err_memory:
	env_memory_fini();
	env_cores_fini();
	return rc;
}

void
brisk_env_fini(void)
{
	if (!g_initialized) {
		return;
	}
	/* Heaps and memzones live in the segments: unmapping them releases both. */
	env_vtophys_fini();
	env_memory_fini();
	env_cores_fini();
	g_initialized = false;
}

bool
brisk_env_is_initialized(void)
{
	return g_initialized;
}

enum brisk_proc_type
brisk_env_get_proc_type(void)
{
	/* Asked of memory.c: a child forked from a primary turns secondary there. */
	return g_initialized ? env_memory_get_proc_type() : BRISK_PROC_PRIMARY;
}

int brisk_env_get_shm_id(void) { return g_initialized ? g_shm_id : -1; }

int brisk_env_proc_obj_name(char *buf, size_t len, const char *base)
{
	int n = brisk_env_get_proc_type() == BRISK_PROC_SECONDARY ? snprintf(buf, len, "%s_%d", base, (int)getpid())
								  : snprintf(buf, len, "%s", base);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

bool
brisk_env_using_hugepages(void)
{
	return g_env_shared != NULL && g_env_shared->hugepages != 0;
}

uint64_t
brisk_env_get_page_size(void)
{
	return g_env_shared != NULL ? g_env_shared->page_size : (uint64_t)sysconf(_SC_PAGESIZE);
}
