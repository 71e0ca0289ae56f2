/*
 * Private to lib/env: how memory reservation (env.c, memory.c), the heap
 * (malloc.c), memzones (memzone.c), rings and mempools fit together.
 *
 * brisk_env_init reserves memory as one or more segments (one per NUMA node
 * in use), each a contiguous virtual range. The first bytes of segment 0 hold
 * struct env_shared; the rest of every segment is handed to that node's heap.
 * Everything that must be found by a secondary process (heaps, the memzone
 * table, rings, mempools) lives inside the segments, which secondaries map at
 * the same virtual addresses, so plain pointers stay valid across processes.
 */
#ifndef BRISK_ENV_INTERNAL_H
#define BRISK_ENV_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <pthread.h>

#include <brisk/env.h>

#define ENV_SHARED_MAGIC 0x4b53495242454e56ull /* "VNEBRISK" */
#define ENV_SHARED_VERSION 2
#define ENV_MAX_SEGMENTS BRISK_ENV_MAX_NUMA_NODES
#define ENV_PATH_MAX 256
/* Virtual address where the primary tries to place its memory, so that a
 * secondary is likely to find the same range free. ThreadSanitizer builds
 * give another (mk/flags.mk): this one lies in TSan's shadow memory. */
#ifndef ENV_BASE_VIRTADDR
#define ENV_BASE_VIRTADDR 0x200000000000ull
#endif

struct env_segment {
	uint64_t va;
	uint64_t len; /* mapped now: grows (memory_grow.c), never shrinks */
	uint64_t span; /* virtual range held for growth, from va */
	uint64_t reserved_len; /* what brisk_env_init reserved (-s) */
	uint64_t page_size;
	int socket_id;
	char path[ENV_PATH_MAX]; /* backing file a secondary opens ("" if private) */
};

struct env_shared {
	uint64_t magic;
	uint32_t version;
	uint32_t num_segments;
	int primary_pid;
	int hugepages;                      /* 1 if the segments are hugepages */
	uint64_t page_size;
	uint32_t grow_count; /* times memory grew past the reservation */
	struct env_segment segments[ENV_MAX_SEGMENTS];
	struct env_heap *heaps[BRISK_ENV_MAX_NUMA_NODES]; /* by socket id; NULL = none */
	struct env_memzone_table *memzones;  /* set by env_memzone_init */
	pthread_mutex_t lock;                /* process-shared and robust (set up by memory.c);
					      * guards heap and memzone changes */
};

/* The shared state; NULL before brisk_env_init. */
extern struct env_shared *g_env_shared;

/* ---- malloc.c ---- */
/* Primary: create the heap of socket_id over [base, base + len) and record it in
 * g_env_shared->heaps. 0 or -EINVAL. */
int env_heap_create(int socket_id, void *base, size_t len);
/* Allocate from one heap: align a power of two; the block never crosses a
 * multiple of bound (0 = no bound). NULL with errno. Caller holds nothing. */
void *env_heap_alloc(int socket_id, size_t size, size_t align, size_t bound);

/* ---- memzone.c ---- */
/* Primary: create the memzone table (in heap memory) and record it. 0 or -ENOMEM. */
int env_memzone_init(void);

/* ---- memory.c / vtophys.c ---- */
/* Reserve (primary) or attach (secondary) the segments; fill g_env_shared. */
int env_memory_init(const struct brisk_env_opts *opts, enum brisk_proc_type type);
void env_memory_fini(void);
/* Primary: the heaps and memzone table are ready; lets secondaries attach. */
void env_memory_publish(void);
/* PRIMARY or SECONDARY once env_memory_init succeeded (AUTO resolved). */
enum brisk_proc_type env_memory_get_proc_type(void);
/* Page size of the reserved segment holding va, 0 if va is in none. */
uint64_t env_memory_page_size_at(uint64_t va);
int env_vtophys_init(void);
void env_vtophys_fini(void);
/* Registers [va, va + len) for translation and remembers it so that
 * env_vtophys_fini unregisters it. 0 or the brisk_mem_register error. */
int env_vtophys_register(uint64_t va, uint64_t len);
/* Bytes of segment index mapped in this process (may lag the shared len). */
uint64_t env_memory_mapped_len(uint32_t index);

/* ---- memory_grow.c (caller holds g_env_shared->lock) ---- */
/* Grows the segment (and heap) of socket_id by at least min_bytes from
 * further hugepages or ordinary pages, as the segment was made.
 * 0, or -ENOMEM when the system has no more (logged). */
int env_memory_grow_locked(int socket_id, uint64_t min_bytes);
/* Maps what another process grew; cheap when nothing changed. */
void env_memory_sync_locked(void);
/* pci_vfio.c: devices see IOVA = VA (on) or physical addresses (off). */
void env_vtophys_set_iova_va(bool on);
bool env_vtophys_iova_is_va(void);
/* mem_map.c: tells map (REGISTER) about every registered region again, so
 * that it recomputes its translations. 0 or the first callback error. */
int env_mem_map_refresh(struct brisk_mem_map *map);

/* ---- cores.c ---- */
int env_cores_init(const char *core_mask);
void env_cores_fini(void);

#endif
