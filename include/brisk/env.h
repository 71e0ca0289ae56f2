/*
 * The environment layer: memory reserved once at start-up (hugepages when
 * available), DMA address translation, named memzones, a malloc heap per NUMA
 * node, core helpers, and multi-process sharing. Rings and mempools are in
 * ring.h and mempool.h.
 */
#ifndef BRISK_ENV_H
#define BRISK_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <brisk/cpuset.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BRISK_ENV_SOCKET_ID_ANY (-1)
#define BRISK_ENV_LCORE_ID_ANY UINT32_MAX
#define BRISK_ENV_MAX_CORES 128
#define BRISK_ENV_MAX_NUMA_NODES 8
#define BRISK_ENV_DEFAULT_MEM_MB 256u

enum brisk_proc_type {
	BRISK_PROC_AUTO = 0,   /* primary if no primary with this shm id runs, else secondary */
	BRISK_PROC_PRIMARY,
	BRISK_PROC_SECONDARY,
};

struct brisk_env_opts {
	const char *name;          /* program name used in logs; default "brisk" */
	const char *core_mask;     /* mask "0x3" or list "0-1" (brisk_cpuset_parse); default "0x1" */
	uint64_t mem_size_mb; /* memory reserved up front (more grows on demand);
				    * 0 = BRISK_ENV_DEFAULT_MEM_MB */
	uint64_t mem_limit_mb; /* growth stops here (at least mem_size_mb);
				    * 0 = as far as the system's pages go */
	bool no_huge;              /* never use hugepages: ordinary pages locked in memory */
	const char *hugepage_dir;  /* hugetlbfs mount; NULL = first matching one in /proc/mounts */
	uint64_t hugepage_size;    /* bytes; 0 = system default (2 MiB); 1 GiB when configured */
	int shm_id;                /* -1 = private memory; >= 0 shares memory with processes of that id */
	const char *shm_prefix;    /* names of shared files; default "brisk" */
	enum brisk_proc_type proc_type;
};

/* Fills opts with the defaults above (shm_id = -1). */
void brisk_env_opts_init(struct brisk_env_opts *opts);
/* Reserves memory and sets up heaps and memzones. 0, or a negative errno with
 * an error logged naming the cause (-EINVAL bad option, -ENOMEM, -EEXIST a
 * primary with this shm id runs, -ENOENT no primary for a secondary, -EALREADY). */
int brisk_env_init(const struct brisk_env_opts *opts);
/* Releases everything: no hugepage file or shm object is left behind by a primary. */
void brisk_env_fini(void);
bool brisk_env_is_initialized(void);
enum brisk_proc_type brisk_env_get_proc_type(void);
/* The shm id the env runs with; -1: private memory (or no env). */
int brisk_env_get_shm_id(void);
/* The name of a process's own shared object (mempool, ring, memzone): base in
 * a primary, base_<pid> in a secondary, so that processes of one shm id that
 * each create "their" pool do not collide. 0, or -ENAMETOOLONG (len). */
int brisk_env_proc_obj_name(char *buf, size_t len, const char *base);
bool brisk_env_using_hugepages(void);
/* Page size of the reserved memory (2 MiB / 1 GiB with hugepages, 4 KiB without). */
uint64_t brisk_env_get_page_size(void);

/* Memory of the env: what -s reserved and what it has grown to since
 * (allocations past the reservation take further pages from the system). */
struct brisk_env_mem_info {
	uint64_t reserved_bytes; /* reserved at brisk_env_init, over all segments */
	uint64_t total_bytes; /* mapped now, over all segments */
	uint64_t max_bytes; /* virtual range held for growth */
	uint32_t grow_count; /* times memory grew */
	uint32_t num_segments;
	uint64_t page_size;
	bool hugepages;
};
/* 0, or -ENODEV before brisk_env_init. */
int brisk_env_get_mem_info(struct brisk_env_mem_info *info);

/* ---- Cores ---- */
uint32_t brisk_env_get_core_count(void);         /* cores in the app's mask */
uint32_t brisk_env_get_first_core(void);
uint32_t brisk_env_get_next_core(uint32_t prev); /* UINT32_MAX after the last */
uint32_t brisk_env_get_main_core(void);          /* first core of the mask */
const struct brisk_cpuset *brisk_env_get_cpuset(void);
/* The calling thread's core (set by brisk_env_thread_pin), or BRISK_ENV_LCORE_ID_ANY. */
uint32_t brisk_env_get_current_core(void);
/* NUMA node of a core (0 without NUMA support). */
int brisk_env_get_socket_id(uint32_t core);
uint32_t brisk_env_get_numa_node_count(void);
uint32_t brisk_env_get_online_cpu_count(void);   /* cores the OS has online */
/* Pins the calling OS thread to core and records it as the thread's current core.
 * 0, -EINVAL if core is not in the app's mask, or the errno of sched_setaffinity. */
int brisk_env_thread_pin(uint32_t core);
/* Records the current core without pinning (BRISK_ENV_LCORE_ID_ANY clears it). */
void brisk_env_set_current_core(uint32_t core);

#define BRISK_ENV_FOREACH_CORE(i) \
	for ((i) = brisk_env_get_first_core(); (i) != UINT32_MAX; (i) = brisk_env_get_next_core(i))

/* ---- Malloc heap (one per NUMA node) ----
 * align: 0 means the default (64 bytes); otherwise a power of two up to
 * BRISK_MALLOC_MAX_ALIGN. Failures return NULL with errno set (EINVAL, ENOMEM). */
#define BRISK_MALLOC_MAX_ALIGN (2u * 1024 * 1024)
void *brisk_malloc(size_t size, size_t align, int socket_id);
void *brisk_zmalloc(size_t size, size_t align, int socket_id);
/* DMA-safe: physically contiguous when size <= the page size (never crosses a page). */
void *brisk_dma_malloc(size_t size, size_t align, uint64_t *phys_addr);
void *brisk_dma_zmalloc(size_t size, size_t align, uint64_t *phys_addr);
void *brisk_dma_malloc_socket(size_t size, size_t align, uint64_t *phys_addr, int socket_id);
/* Like realloc(3); keeps the original socket. NULL buf = malloc, size 0 = free. */
void *brisk_realloc(void *buf, size_t size, size_t align);
/* NULL is ignored. A pointer not from the heap or already freed is reported
 * with BRISK_ERRLOG and ignored (never corrupts the heap). */
void brisk_free(void *buf);

/* Allocation-failure test hook, for tests only (SQLite's "malloc failure"
 * loop): the nth brisk_malloc / brisk_zmalloc / brisk_realloc / brisk_dma_*
 * call, or jansson allocation (json_set_alloc_funcs, while armed), from now
 * on (1 = the next one, in any thread) fails with ENOMEM, once; the calls
 * after it succeed again. 0 turns it off (the default) and gives jansson
 * libc's malloc back. libc malloc itself is not counted. */
void brisk_env_fail_alloc_set(uint64_t n);
/* True once the failure armed by the last brisk_env_fail_alloc_set happened. */
bool brisk_env_fail_alloc_hit(void);

struct brisk_heap_stats {
	int socket_id;
	uint64_t total_bytes;        /* managed by this heap */
	uint64_t free_bytes;
	uint64_t alloc_bytes;        /* in use, including element headers */
	uint64_t greatest_free_size; /* largest single free element */
	uint32_t alloc_count;        /* elements in use */
	uint32_t free_count;         /* free elements */
};
/* 0, or -ENOENT when there is no heap for socket_id. */
int brisk_malloc_get_heap_stats(int socket_id, struct brisk_heap_stats *stats);
void brisk_malloc_dump_stats(FILE *f);

/* ---- Memzones: named, aligned reservations shared with secondary processes ---- */
#define BRISK_MEMZONE_NAMESIZE 32 /* including the NUL */
struct brisk_memzone_info {
	char name[BRISK_MEMZONE_NAMESIZE];
	void *addr;
	size_t len;
	int socket_id;
	uint64_t phys_addr; /* of the first byte */
};
/* NULL with errno: EINVAL (bad name/len/align/flags), ENAMETOOLONG, EEXIST, ENOMEM. */
void *brisk_memzone_reserve(const char *name, size_t len, int socket_id, unsigned flags);
void *brisk_memzone_reserve_aligned(const char *name, size_t len, int socket_id,
				    unsigned flags, size_t align);
void *brisk_memzone_lookup(const char *name);
int brisk_memzone_get_info(const char *name, struct brisk_memzone_info *info);
/* 0, or -ENOENT. */
int brisk_memzone_free(const char *name);
/* Calls fn for each memzone until it returns non-zero (which is returned). */
int brisk_memzone_walk(int (*fn)(const struct brisk_memzone_info *info, void *ctx), void *ctx);
void brisk_memzone_dump(FILE *f);

/* ---- Address translation ---- */
#define BRISK_VTOPHYS_ERROR UINT64_MAX
/* Physical (or IOVA) address of buf; if size is not NULL, on input the length
 * wanted and on output the contiguous length available from buf (<= input). */
uint64_t brisk_vtophys(const void *buf, uint64_t *size);

/* Two-level translation map at 2 MiB granularity (48-bit virtual addresses). */
#define BRISK_MEM_MAP_PAGE_SIZE (2ull * 1024 * 1024)
struct brisk_mem_map;
enum brisk_mem_map_notify_action {
	BRISK_MEM_MAP_NOTIFY_REGISTER,
	BRISK_MEM_MAP_NOTIFY_UNREGISTER,
};
typedef int (*brisk_mem_map_notify_cb)(void *cb_ctx, struct brisk_mem_map *map,
				       enum brisk_mem_map_notify_action action,
				       void *vaddr, size_t size);
typedef int (*brisk_mem_map_contiguous_cb)(uint64_t addr1, uint64_t addr2);
struct brisk_mem_map_ops {
	brisk_mem_map_notify_cb notify_cb;
	brisk_mem_map_contiguous_cb are_contiguous; /* may be NULL */
};
/* A new map is told (REGISTER) about every region already registered. */
struct brisk_mem_map *brisk_mem_map_alloc(uint64_t default_translation,
					  const struct brisk_mem_map_ops *ops, void *cb_ctx);
/* Tells the map (UNREGISTER) about every registered region, then frees it. */
void brisk_mem_map_free(struct brisk_mem_map **map);
/* vaddr and size multiples of BRISK_MEM_MAP_PAGE_SIZE; 0 or -EINVAL. */
int brisk_mem_map_set_translation(struct brisk_mem_map *map, uint64_t vaddr, uint64_t size,
				  uint64_t translation);
int brisk_mem_map_clear_translation(struct brisk_mem_map *map, uint64_t vaddr, uint64_t size);
/* Translation of vaddr (default_translation if none); size as in brisk_vtophys. */
uint64_t brisk_mem_map_translate(const struct brisk_mem_map *map, uint64_t vaddr, uint64_t *size);
/* Register memory for DMA: every map is notified. 2 MiB-aligned; 0 or -EINVAL/-EBUSY. */
int brisk_mem_register(void *vaddr, size_t len);
int brisk_mem_unregister(void *vaddr, size_t len);

#ifdef __cplusplus
}
#endif
#endif
