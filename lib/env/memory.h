/*
 * Private to memory.c and memory_shared.c: the process-local view of the
 * reserved segments and of the multi-process lock.
 */
#ifndef BRISK_ENV_MEMORY_H
#define BRISK_ENV_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "env_internal.h"

/* Where ordinary-page segments of shared memory and every lock file live. */
#define ENV_SHM_DIR "/dev/shm"
/* How long a secondary waits for a starting primary to finish its init. */
#define ENV_ATTACH_TIMEOUT_MS 10000

struct mem_segment {
	void *va;                /* NULL when not mapped */
	uint64_t len; /* mapped */
	uint64_t span; /* virtual range held (PROT_NONE past len) */
	uint64_t page_size;
	int socket_id;
	int fd;                  /* backing file, -1 when closed */
	bool unlink_on_fini;     /* a primary's named file */
	char path[ENV_PATH_MAX]; /* "" for memfd / already unlinked */
};

/* What this process holds. */
struct mem_state {
	enum brisk_proc_type proc_type;
	int num_segments;
	struct mem_segment segs[ENV_MAX_SEGMENTS];
	int lock_fd;                  /* the primary's flock; -1 otherwise */
	char lock_path[ENV_PATH_MAX];
};

/* The choices of env_memory_init, from the options. */
struct mem_config {
	bool shared;                 /* shm_id >= 0 */
	int shm_id;
	const char *prefix;
	bool huge;                   /* reserve hugepages (may still fall back) */
	bool dir_given;              /* hugepage_dir came from the options */
	uint64_t page_size;          /* of the segments to create */
	uint64_t huge_page_size;     /* hugepage size considered, 0 if none */
	char huge_dir[ENV_PATH_MAX]; /* hugetlbfs mount, "" if none */
	char huge_reason[160];       /* why hugepages are not used */
	uint64_t total;              /* bytes over all segments */
	uint64_t limit; /* growth limit over all segments, 0 = none */
	int num_segments;
	int sockets[ENV_MAX_SEGMENTS];
};

extern struct mem_state g_env_mem;

/* Formats a path into buf; 0, or -ENAMETOOLONG if it does not fit. */
int env_path_printf(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Virtual range held per segment so that it can grow in place: address
 * space only (PROT_NONE, no memory), and the heap stays one range. */
#define ENV_SEGMENT_SPAN (64ull << 30)

/* memory.c helpers shared with memory_grow.c */
/* Free hugepages of this size a new mapping can still take. */
uint64_t env_hugepages_available(uint64_t size);
/* Allocates [off, off + len) of fd on NUMA node; 0 or -errno (-ENOSPC: no memory). */
int env_segment_allocate(int fd, uint64_t off, uint64_t len, int node);
/* Faults in (write: zero; else read) and locks [va, va + len). */
void env_segment_prefault(void *va, uint64_t len, uint64_t page_size, bool write, bool huge);
/* memory.c: maps a segment recorded by the primary at its address (secondary). */
int env_memory_map_segment(const struct env_segment *rec, int index);

/* memory_shared.c */
/* Takes the primary's lock, or decides this process is a secondary
 * (type AUTO/SECONDARY). 0, -EEXIST (a live primary and type PRIMARY) or -errno. */
int env_shared_lock(const struct mem_config *cfg, enum brisk_proc_type type,
		    enum brisk_proc_type *result);
/* Primary holding the lock: removes the files a dead primary left. */
void env_shared_remove_stale(const struct mem_config *cfg);
/* Primary: records where the segments are, for secondaries to find. */
int env_shared_announce(void);
/* Secondary: waits for the primary, then maps every segment. */
int env_shared_attach(const struct mem_config *cfg);
/* Primary: removes the lock file and releases the lock. */
void env_shared_unlock(void);

#endif
