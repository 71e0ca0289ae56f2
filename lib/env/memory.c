/*
 * Memory reservation: the segments behind every heap and memzone.
 *
 * brisk_env_init reserves its memory once, as one segment per NUMA node used
 * by the core mask. Each segment is a file (hugetlbfs, memfd or /dev/shm)
 * mapped MAP_SHARED at a fixed virtual address counted up from
 * ENV_BASE_VIRTADDR, its pages allocated on the segment's node before the
 * first touch, then faulted in and locked, so that later allocations never
 * page-fault and their physical addresses are known.
 *
 * Private memory (shm_id < 0) uses memfd or files unlinked at once, so nothing
 * is left behind even by a crash. Shared memory (shm_id >= 0) is described by
 * struct env_shared at the start of segment 0; see memory_shared.c for how
 * the primary announces it and a secondary attaches.
 *
 * Without usable hugepages (none free, no hugetlbfs, or no_huge) the segments
 * are ordinary 4 KiB pages, locked in memory, with a warning: the kernel may
 * still move them, so they are not safe for DMA by real devices.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <numa.h>
#include <numaif.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <brisk/env.h>
#include <brisk/log.h>

#include "env_internal.h"
#include "memory.h"

#define HUGETLBFS_MAGIC_NUMBER 0x958458f6
#define MEMFD_HUGE_SHIFT 26 /* MFD_HUGE_SHIFT in linux/memfd.h */
#define MEM_2MB (2ull * 1024 * 1024)

struct env_shared *g_env_shared;
struct mem_state g_env_mem;

static uint64_t
round_up(uint64_t v, uint64_t align)
{
	return (v + align - 1) / align * align;
}

static bool
is_pow2(uint64_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

int
env_path_printf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		buf[0] = '\0';
		return -ENAMETOOLONG;
	}
	return 0;
}

/* ---- Hugepage configuration ---- */

static uint64_t
meminfo_hugepage_size(void)
{
	char line[128];
	unsigned long long kb;
	uint64_t size = 0;
	FILE *f = fopen("/proc/meminfo", "re");

	if (f == NULL) {
		return 0;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "Hugepagesize: %llu kB", &kb) == 1) {
			size = (uint64_t)kb * 1024;
			break;
		}
	}
	fclose(f);
	return size;
}

static int
read_sysfs_u64(const char *path, uint64_t *value)
{
	unsigned long long v = 0;
	FILE *f = fopen(path, "re");
	int rc;

	if (f == NULL) {
		return -errno;
	}
	rc = fscanf(f, "%llu", &v) == 1 ? 0 : -EIO;
	fclose(f);
	*value = v;
	return rc;
}

static bool
hugepage_size_supported(uint64_t size)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%" PRIu64 "kB", size / 1024);
	return stat(path, &st) == 0;
}

/* Pages of this size that a new mapping can still reserve. */
uint64_t env_hugepages_available(uint64_t size)
{
	char path[128];
	uint64_t free_pages = 0, resv = 0;

	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%" PRIu64
		 "kB/free_hugepages", size / 1024);
	if (read_sysfs_u64(path, &free_pages) != 0) {
		return 0;
	}
	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%" PRIu64
		 "kB/resv_hugepages", size / 1024);
	if (read_sysfs_u64(path, &resv) != 0) {
		resv = 0;
	}
	return free_pages > resv ? free_pages - resv : 0;
}

/* Page size of a hugetlbfs mount, 0 if path is not on hugetlbfs. */
static uint64_t
hugetlbfs_page_size(const char *path)
{
	struct statfs sfs;

	if (statfs(path, &sfs) != 0 || (uint64_t)sfs.f_type != HUGETLBFS_MAGIC_NUMBER) {
		return 0;
	}
	return (uint64_t)sfs.f_bsize;
}

/* First hugetlbfs mount in /proc/mounts with that page size; 0 or -ENOENT. */
static int
find_hugetlbfs_mount(uint64_t size, char *dir, size_t dir_len)
{
	char line[1024], mnt[ENV_PATH_MAX], type[64];
	FILE *f = fopen("/proc/mounts", "re");
	int rc = -ENOENT;

	if (f == NULL) {
		return -ENOENT;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%*s %255s %63s", mnt, type) != 2 || strcmp(type, "hugetlbfs") != 0) {
			continue;
		}
		if (hugetlbfs_page_size(mnt) == size && access(mnt, W_OK) == 0) {
			rc = env_path_printf(dir, dir_len, "%s", mnt);
			break;
		}
	}
	fclose(f);
	return rc;
}

/*
 * Decides the page size and hugepage directory from the options. Bad
 * hugepage options are -EINVAL; hugepages that are simply missing are not an
 * error: cfg->huge_reason says why ordinary pages will be used.
 */
static int
resolve_page_config(const struct brisk_env_opts *opts, struct mem_config *cfg)
{
	uint64_t dir_size;

	cfg->huge = false;
	cfg->page_size = (uint64_t)sysconf(_SC_PAGESIZE);
	cfg->huge_dir[0] = '\0';
	cfg->dir_given = false;
	if (opts->hugepage_size != 0 && !opts->no_huge) {
		if (!is_pow2(opts->hugepage_size) || opts->hugepage_size < MEM_2MB) {
			BRISK_ERRLOG("hugepage_size %" PRIu64 " is not a power of two of at least 2 MiB\n",
				     opts->hugepage_size);
			return -EINVAL;
		}
		if (!hugepage_size_supported(opts->hugepage_size)) {
			BRISK_ERRLOG("hugepage_size %" PRIu64 " KiB is not supported by this system\n",
				     opts->hugepage_size / 1024);
			return -EINVAL;
		}
	}
	if (opts->hugepage_dir != NULL && !opts->no_huge) {
		if (strlen(opts->hugepage_dir) >= ENV_PATH_MAX - 32) {
			BRISK_ERRLOG("hugepage_dir is longer than %d characters\n", ENV_PATH_MAX - 32);
			return -EINVAL;
		}
		dir_size = hugetlbfs_page_size(opts->hugepage_dir);
		if (dir_size == 0) {
			BRISK_ERRLOG("hugepage_dir '%s' is not a hugetlbfs mount\n", opts->hugepage_dir);
			return -EINVAL;
		}
		if (opts->hugepage_size != 0 && opts->hugepage_size != dir_size) {
			BRISK_ERRLOG("hugepage_dir '%s' has %" PRIu64 " KiB pages, not hugepage_size %"
				     PRIu64 " KiB\n", opts->hugepage_dir, dir_size / 1024,
				     opts->hugepage_size / 1024);
			return -EINVAL;
		}
		if (access(opts->hugepage_dir, W_OK) != 0) {
			BRISK_ERRLOG("hugepage_dir '%s' is not writable: %s\n", opts->hugepage_dir,
				     strerror(errno));
			return -EINVAL;
		}
		env_path_printf(cfg->huge_dir, sizeof(cfg->huge_dir), "%s", opts->hugepage_dir);
		cfg->dir_given = true;
		cfg->huge_page_size = dir_size;
	} else {
		cfg->huge_page_size = opts->hugepage_size != 0 ? opts->hugepage_size :
				      meminfo_hugepage_size();
	}
	if (opts->no_huge) {
		snprintf(cfg->huge_reason, sizeof(cfg->huge_reason), "no_huge was asked for");
		return 0;
	}
	if (cfg->huge_page_size == 0) {
		snprintf(cfg->huge_reason, sizeof(cfg->huge_reason), "the kernel has no hugepages");
		return 0;
	}
	/* Shared memory needs named files, hence a mount; private memory can use
	 * memfd with MFD_HUGETLB, which needs none. */
	if (!cfg->dir_given &&
	    find_hugetlbfs_mount(cfg->huge_page_size, cfg->huge_dir, sizeof(cfg->huge_dir)) != 0 &&
	    cfg->shared) {
		snprintf(cfg->huge_reason, sizeof(cfg->huge_reason),
			 "no writable hugetlbfs mount with %" PRIu64 " KiB pages",
			 cfg->huge_page_size / 1024);
		return 0;
	}
	cfg->huge = true;
	cfg->page_size = cfg->huge_page_size;
	return 0;
}

/* One segment per NUMA node used by the core mask, in node order. */
static void
plan_segments(uint64_t total, struct mem_config *cfg)
{
	bool used[BRISK_ENV_MAX_NUMA_NODES] = { false };
	uint32_t core;
	int node, n = 0;

	BRISK_ENV_FOREACH_CORE(core) {
		node = brisk_env_get_socket_id(core);
		used[node < 0 ? 0 : node] = true;
	}
	for (node = 0; node < BRISK_ENV_MAX_NUMA_NODES; node++) {
		if (used[node]) {
			cfg->sockets[n++] = node;
		}
	}
	if (n == 0) {
		cfg->sockets[n++] = 0;
	}
	cfg->num_segments = n;
	cfg->total = total;
}

/* ---- Reserving one segment ---- */

/*
 * A 2 MiB-aligned (at least) free virtual range of len bytes: at hint if it is
 * free, otherwise (when allow_any) wherever the kernel has room. The range is
 * held by a PROT_NONE mapping that the segment then replaces with MAP_FIXED.
 */
static void *
reserve_va(uint64_t hint, uint64_t len, uint64_t align, bool allow_any)
{
	void *addr;
	uint8_t *base, *aligned;
	uint64_t head, tail;

	addr = mmap((void *)(uintptr_t)hint, len, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	if (addr != MAP_FAILED && (uint64_t)(uintptr_t)addr == hint) {
		return addr;
	}
	if (addr != MAP_FAILED) {
		/* A kernel without MAP_FIXED_NOREPLACE took it as a hint only. */
		munmap(addr, len);
	}
	if (!allow_any) {
		return NULL;
	}
	base = mmap(NULL, len + align, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		    -1, 0);
	if (base == MAP_FAILED) {
		return NULL;
	}
	aligned = (uint8_t *)round_up((uint64_t)(uintptr_t)base, align);
	head = (uint64_t)(aligned - base);
	tail = align - head;
	if (head != 0) {
		munmap(base, head);
	}
	if (tail != 0) {
		munmap(aligned + len, tail);
	}
	return aligned;
}

/* Opens the backing file of a new segment; fd or -errno. */
static int
create_segment_file(const struct mem_config *cfg, int index, struct mem_segment *seg)
{
	char name[64];
	unsigned int flags = MFD_CLOEXEC;
	int fd, rc, shift;

	seg->path[0] = '\0';
	seg->unlink_on_fini = false;
	if (cfg->shared) {
		if (cfg->huge) {
			rc = env_path_printf(seg->path, sizeof(seg->path), "%s/%s_%d_seg%d",
					     cfg->huge_dir, cfg->prefix, cfg->shm_id, index);
		} else {
			rc = env_path_printf(seg->path, sizeof(seg->path), "%s/brisk_%s_%d_seg%d",
					     ENV_SHM_DIR, cfg->prefix, cfg->shm_id, index);
		}
		if (rc != 0) {
			BRISK_ERRLOG("the path of segment %d is longer than %d characters\n", index,
				     ENV_PATH_MAX - 1);
			return rc;
		}
		fd = open(seg->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0) {
			fd = -errno;
			BRISK_ERRLOG("cannot create %s: %s\n", seg->path, strerror(-fd));
			seg->path[0] = '\0';
			return fd;
		}
		seg->unlink_on_fini = true;
		return fd;
	}
	if (cfg->huge && cfg->dir_given) {
		/* Private memory in the chosen mount: unlinked at once, so only the
		 * mapping keeps it and nothing outlives the process. */
		rc = env_path_printf(seg->path, sizeof(seg->path), "%s/%s_p%d_seg%d", cfg->huge_dir,
				     cfg->prefix, (int)getpid(), index);
		if (rc != 0) {
			return rc;
		}
		fd = open(seg->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		fd = fd < 0 ? -errno : fd;
		if (fd >= 0) {
			unlink(seg->path);
		}
		seg->path[0] = '\0';
		return fd;
	}
	snprintf(name, sizeof(name), "brisk_seg%d", index);
	if (cfg->huge) {
		shift = __builtin_ctzll(cfg->page_size);
		flags |= MFD_HUGETLB | ((unsigned int)shift << MEMFD_HUGE_SHIFT);
	}
	fd = memfd_create(name, flags);
	return fd < 0 ? -errno : fd;
}

/*
 * Allocates the pages of fd on node: the calling thread prefers that node
 * while fallocate takes the pages, so they are placed before the first touch,
 * and a lack of memory is a clean error here instead of SIGBUS on touch.
 * MPOL_PREFERRED rather than BIND: a full node still yields memory (a warning
 * in the log is better than a failed start on a lopsided machine).
 */
int env_segment_allocate(int fd, uint64_t off, uint64_t len, int node)
{
	unsigned long old_mask[1024 / (8 * sizeof(unsigned long))] = { 0 };
	unsigned long mask = 1ul << node;
	int old_mode = MPOL_DEFAULT, rc;
	bool policy_set = false;

	if (numa_available() >= 0 && brisk_env_get_numa_node_count() > 1) {
		if (get_mempolicy(&old_mode, old_mask, sizeof(old_mask) * 8, NULL, 0) == 0 &&
		    set_mempolicy(MPOL_PREFERRED, &mask, sizeof(mask) * 8) == 0) {
			policy_set = true;
		}
	}
	/* fallocate itself, not posix_fallocate: its fallback writes to the file,
	 * which hugetlbfs refuses. */
	rc = fallocate(fd, 0, (off_t)off, (off_t)len) == 0 ? 0 : -errno;
	if (rc == -EOPNOTSUPP) {
		rc = 0; /* pages come with the first touch instead */
	}
	if (policy_set) {
		set_mempolicy(old_mode, old_mode == MPOL_DEFAULT ? NULL : old_mask,
			      sizeof(old_mask) * 8);
	}
	return rc;
}

static void
segment_release(struct mem_segment *seg)
{
	if (seg->va != NULL) {
		munmap(seg->va, seg->span > seg->len ? seg->span : seg->len);
		seg->va = NULL;
	}
	if (seg->fd >= 0) {
		close(seg->fd);
		seg->fd = -1;
	}
	if (seg->unlink_on_fini && seg->path[0] != '\0') {
		unlink(seg->path);
	}
	seg->unlink_on_fini = false;
	seg->path[0] = '\0';
}

/* Faults in every page (write: the primary's fresh memory; read: a secondary
 * must not disturb data) and locks them. */
void env_segment_prefault(void *va, uint64_t len, uint64_t page_size, bool write, bool huge)
{
	volatile uint8_t *p = va;
	uint64_t off, step = huge ? page_size : (uint64_t)sysconf(_SC_PAGESIZE);
	uint8_t sink = 0;

	for (off = 0; off < len; off += step) {
		if (write) {
			p[off] = 0;
		} else {
			sink ^= p[off];
		}
	}
	(void)sink;
	if (mlock(va, len) != 0 && !huge) {
		/* Hugepages are never swapped anyway; ordinary pages could be. */
		BRISK_WARNLOG("mlock of %" PRIu64 " MiB failed (%s): memory may be swapped out "
			      "(raise RLIMIT_MEMLOCK or run as root)\n",
			      len >> 20, strerror(errno));
	}
}

/* The virtual range a segment holds: what it may grow to (mem_limit_mb's
 * share, else ENV_SEGMENT_SPAN), never less than it starts with. */
static uint64_t segment_span(const struct mem_config *cfg, uint64_t len, uint64_t align)
{
	uint64_t span = ENV_SEGMENT_SPAN;

	if (cfg->limit != 0) {
		span = round_up(cfg->limit / (uint64_t)cfg->num_segments, align);
	}
	return span > len ? span : len;
}

/* Creates, allocates, maps and prefaults segment index at *next_va. */
static int
segment_create(const struct mem_config *cfg, int index, uint64_t *next_va,
	       struct mem_segment *seg)
{
	uint64_t align = cfg->page_size > MEM_2MB ? cfg->page_size : MEM_2MB;
	void *va;
	int rc;

	seg->fd = -1;
	seg->va = NULL;
	seg->len = round_up(cfg->total / (uint64_t)cfg->num_segments, align);
	seg->span = segment_span(cfg, seg->len, align);
	seg->page_size = cfg->page_size;
	seg->socket_id = cfg->sockets[index];
	rc = create_segment_file(cfg, index, seg);
	if (rc < 0) {
		return rc;
	}
	seg->fd = rc;
	rc = ftruncate(seg->fd, (off_t)seg->len) == 0 ? 0 : -errno;
	if (rc == 0) {
		rc = env_segment_allocate(seg->fd, 0, seg->len, seg->socket_id);
	}
	if (rc != 0) {
		segment_release(seg);
		return rc == -ENOSPC || rc == -EINVAL ? -ENOMEM : rc;
	}
	/* A secondary must find the same range free: prefer the fixed base;
	 * elsewhere only works for private memory (and is a risk for shared). */
	va = reserve_va(round_up(*next_va, align), seg->span, align, true);
	if (va == NULL) {
		segment_release(seg);
		return -ENOMEM;
	}
	if ((uint64_t)(uintptr_t)va != round_up(*next_va, align) && cfg->shared) {
		BRISK_WARNLOG("segment %d placed at %p instead of 0x%" PRIx64 ": secondary processes "
			      "may fail to map it\n", index, va, round_up(*next_va, align));
	}
	seg->va = mmap(va, seg->len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, seg->fd, 0);
	if (seg->va == MAP_FAILED) {
		rc = -errno;
		seg->va = NULL;
		munmap(va, seg->span);
		segment_release(seg);
		return rc;
	}
	env_segment_prefault(seg->va, seg->len, seg->page_size, true, cfg->huge);
	*next_va = (uint64_t)(uintptr_t)seg->va + seg->span;
	return 0;
}

static void
release_all_segments(void)
{
	int i;

	for (i = 0; i < ENV_MAX_SEGMENTS; i++) {
		segment_release(&g_env_mem.segs[i]);
	}
	g_env_mem.num_segments = 0;
}

static int
create_all_segments(const struct mem_config *cfg)
{
	uint64_t next_va = ENV_BASE_VIRTADDR;
	int i, rc;

	for (i = 0; i < cfg->num_segments; i++) {
		rc = segment_create(cfg, i, &next_va, &g_env_mem.segs[i]);
		if (rc != 0) {
			release_all_segments();
			return rc;
		}
		g_env_mem.num_segments = i + 1;
	}
	return 0;
}

/* Fills struct env_shared at the start of segment 0 (magic stays 0 until
 * env_memory_publish: a secondary waits for it). */
static int
shared_header_init(const struct mem_config *cfg)
{
	struct env_shared *sh = g_env_mem.segs[0].va;
	pthread_mutexattr_t attr;
	int i;

	memset(sh, 0, sizeof(*sh));
	sh->version = ENV_SHARED_VERSION;
	sh->num_segments = (uint32_t)g_env_mem.num_segments;
	sh->primary_pid = (int)getpid();
	sh->hugepages = cfg->huge ? 1 : 0;
	sh->page_size = cfg->page_size;
	for (i = 0; i < g_env_mem.num_segments; i++) {
		sh->segments[i].va = (uint64_t)(uintptr_t)g_env_mem.segs[i].va;
		sh->segments[i].len = g_env_mem.segs[i].len;
		sh->segments[i].span = g_env_mem.segs[i].span;
		sh->segments[i].reserved_len = g_env_mem.segs[i].len;
		sh->segments[i].page_size = g_env_mem.segs[i].page_size;
		sh->segments[i].socket_id = g_env_mem.segs[i].socket_id;
		env_path_printf(sh->segments[i].path, sizeof(sh->segments[i].path), "%s",
				g_env_mem.segs[i].path);
	}
	/* Process-shared so secondaries can use it; robust so a process that
	 * dies holding it does not hang the others (heap.h handles EOWNERDEAD). */
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	i = pthread_mutex_init(&sh->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	if (i != 0) {
		BRISK_ERRLOG("cannot initialise the shared lock: %s\n", strerror(i));
		return -i;
	}
	g_env_shared = sh;
	return 0;
}

static void
log_no_huge_warning(const struct mem_config *cfg)
{
	BRISK_WARNLOG("hugepages not used (%s): %" PRIu64 " MiB of ordinary 4 KiB pages locked in "
		      "memory instead; their physical addresses can change, so DMA to real devices "
		      "is NOT safe in this mode\n", cfg->huge_reason, cfg->total >> 20);
}

/* Primary: reserve the segments, hugepages first, ordinary pages if that fails. */
static int
primary_reserve(struct mem_config *cfg)
{
	uint64_t need, avail;
	int rc;

	if (cfg->huge) {
		need = cfg->num_segments * (round_up(cfg->total / (uint64_t)cfg->num_segments,
						     cfg->page_size) / cfg->page_size);
		avail = env_hugepages_available(cfg->page_size);
		if (avail < need) {
			snprintf(cfg->huge_reason, sizeof(cfg->huge_reason),
				 "%" PRIu64 " free %" PRIu64 " KiB hugepages, %" PRIu64 " needed",
				 avail, cfg->page_size / 1024, need);
			cfg->huge = false;
		} else {
			rc = create_all_segments(cfg);
			if (rc == 0) {
				return 0;
			}
			snprintf(cfg->huge_reason, sizeof(cfg->huge_reason),
				 "reserving %" PRIu64 " MiB of hugepages failed: %s",
				 cfg->total >> 20, strerror(-rc));
			cfg->huge = false;
		}
		cfg->page_size = (uint64_t)sysconf(_SC_PAGESIZE);
	}
	log_no_huge_warning(cfg);
	rc = create_all_segments(cfg);
	if (rc != 0) {
		BRISK_ERRLOG("cannot reserve %" PRIu64 " MiB of memory: %s\n", cfg->total >> 20,
			     strerror(-rc));
	}
	return rc;
}

/* ---- Entry points ---- */

/*
 * A child forked (without exec) from a primary shares its lock's open file
 * description and would keep the lock alive after the primary died; it also
 * must not remove the primary's files at its own fini. It drops the lock and
 * behaves as a secondary that already attached.
 */
static void
forked_child(void)
{
	int i;

	if (g_env_mem.lock_fd >= 0) {
		close(g_env_mem.lock_fd);
		g_env_mem.lock_fd = -1;
	}
	for (i = 0; i < ENV_MAX_SEGMENTS; i++) {
		g_env_mem.segs[i].unlink_on_fini = false;
	}
	if (g_env_shared != NULL) {
		g_env_mem.proc_type = BRISK_PROC_SECONDARY;
	}
}

static pthread_once_t g_atfork_once = PTHREAD_ONCE_INIT;

static void
register_atfork(void)
{
	pthread_atfork(NULL, NULL, forked_child);
}

int
env_memory_init(const struct brisk_env_opts *opts, enum brisk_proc_type type)
{
	struct mem_config cfg;
	int rc, i;

	pthread_once(&g_atfork_once, register_atfork);
	memset(&cfg, 0, sizeof(cfg));
	memset(&g_env_mem, 0, sizeof(g_env_mem));
	g_env_mem.lock_fd = -1;
	for (i = 0; i < ENV_MAX_SEGMENTS; i++) {
		g_env_mem.segs[i].fd = -1;
	}
	cfg.shared = opts->shm_id >= 0;
	cfg.shm_id = opts->shm_id;
	cfg.prefix = opts->shm_prefix != NULL ? opts->shm_prefix : "brisk";
	rc = resolve_page_config(opts, &cfg);
	if (rc != 0) {
		return rc;
	}
	plan_segments(opts->mem_size_mb << 20, &cfg);
	cfg.limit = opts->mem_limit_mb << 20;

	g_env_mem.proc_type = BRISK_PROC_PRIMARY;
	if (cfg.shared) {
		rc = env_shared_lock(&cfg, type, &g_env_mem.proc_type);
		if (rc != 0) {
			return rc;
		}
		if (g_env_mem.proc_type == BRISK_PROC_SECONDARY) {
			rc = env_shared_attach(&cfg);
			if (rc != 0) {
				env_memory_fini();
			}
			return rc;
		}
		env_shared_remove_stale(&cfg);
	}
	rc = primary_reserve(&cfg);
	if (rc == 0) {
		rc = shared_header_init(&cfg);
	}
	if (rc == 0 && cfg.shared) {
		rc = env_shared_announce();
	}
	if (rc != 0) {
		env_memory_fini();
		return rc;
	}
	return 0;
}

void
env_memory_publish(void)
{
	if (g_env_shared == NULL || g_env_mem.proc_type != BRISK_PROC_PRIMARY) {
		return;
	}
	/* Release: a secondary that reads the magic (acquire) sees the heaps,
	 * memzone table and segment list complete. */
	__atomic_store_n(&g_env_shared->magic, ENV_SHARED_MAGIC, __ATOMIC_RELEASE);
}

void
env_memory_fini(void)
{
	if (g_env_shared != NULL && g_env_mem.proc_type == BRISK_PROC_PRIMARY) {
		/* A secondary starting now must not attach to memory going away. */
		__atomic_store_n(&g_env_shared->magic, 0, __ATOMIC_RELEASE);
	}
	g_env_shared = NULL;
	release_all_segments();
	env_shared_unlock();
}

enum brisk_proc_type
env_memory_get_proc_type(void)
{
	return g_env_mem.proc_type;
}

uint64_t
env_memory_page_size_at(uint64_t va)
{
	int i;

	for (i = 0; i < g_env_mem.num_segments; i++) {
		uint64_t start = (uint64_t)(uintptr_t)g_env_mem.segs[i].va;

		if (va >= start && va - start < g_env_mem.segs[i].len) {
			return g_env_mem.segs[i].page_size;
		}
	}
	return 0;
}

uint64_t env_memory_mapped_len(uint32_t index)
{
	return (int)index < g_env_mem.num_segments ? g_env_mem.segs[index].len : 0;
}

/* Used by memory_shared.c to map a segment the primary recorded. */
int
env_memory_map_segment(const struct env_segment *rec, int index)
{
	struct mem_segment *seg = &g_env_mem.segs[index];
	void *va;
	int rc;

	seg->fd = open(rec->path, O_RDWR | O_CLOEXEC);
	if (seg->fd < 0) {
		rc = -errno;
		BRISK_ERRLOG("cannot open segment %d of the primary (%s): %s\n", index, rec->path,
			     strerror(-rc));
		return rc;
	}
	env_path_printf(seg->path, sizeof(seg->path), "%s", rec->path);
	seg->unlink_on_fini = false; /* the primary's to remove */
	seg->len = rec->len;
	seg->span = rec->span;
	seg->page_size = rec->page_size;
	seg->socket_id = rec->socket_id;
	va = reserve_va(rec->va, rec->span, MEM_2MB, false);
	if (va == NULL) {
		BRISK_ERRLOG("cannot map segment %d of the primary at 0x%" PRIx64 " (+%" PRIu64
			     " MiB): the range is in use in this process\n", index, rec->va,
			     rec->len >> 20);
		return -EADDRINUSE;
	}
	seg->va = mmap(va, seg->len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, seg->fd, 0);
	if (seg->va == MAP_FAILED) {
		rc = -errno;
		seg->va = NULL;
		munmap(va, rec->span);
		BRISK_ERRLOG("cannot map segment %d of the primary (%s): %s\n", index, rec->path,
			     strerror(-rc));
		return rc;
	}
	g_env_mem.num_segments = index + 1;
	env_segment_prefault(seg->va, seg->len, seg->page_size, false,
			     rec->page_size > (uint64_t)sysconf(_SC_PAGESIZE));
	return 0;
}
