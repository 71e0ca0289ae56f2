/*
 * Memory that grows: -s is a reservation made up front, not a ceiling.
 *
 * Each segment holds a virtual range of ENV_SEGMENT_SPAN (PROT_NONE past what
 * is mapped, see memory.c), so a segment grows in place: the file behind it
 * is extended and allocated on the segment's NUMA node, the new part mapped
 * over the held range, prefaulted and locked, then the segment's heap takes
 * it as one more free element and the translation map (vtophys, and with it
 * any VFIO container) registers it. The heap stays one contiguous range, so
 * nothing above the heap knows memory grew.
 *
 * A segment grows with the kind of page it was made of: a hugepage segment
 * from free hugepages of its size, an ordinary-page segment from ordinary
 * pages while /proc/meminfo's MemAvailable leaves ENV_GROW_KEEP_FREE for the
 * rest of the system. Memory never shrinks back.
 *
 * Multi-process: the shared segment record's len is the truth. Whoever grows
 * (primary or secondary) holds the shared lock; every process maps what
 * others grew in env_memory_sync_locked, which heap_shared_lock calls, so a
 * process maps grown memory before any malloc, free or memzone/ring/mempool
 * lookup can hand it a pointer into it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <brisk/env.h>
#include <brisk/log.h>

#include "heap.h"
#include "memory.h"

#define ENV_GROW_MIN (64ull << 20) /* fewer, larger steps: fewer map entries */
#define ENV_GROW_KEEP_FREE (256ull << 20) /* left to the system by ordinary-page growth */
#define ENV_GROW_ALIGN (2ull << 20)

static uint64_t grow_round_up(uint64_t v, uint64_t align) { return (v + align - 1) / align * align; }

/* Bytes of MemAvailable, or 0 when unknown. */
static uint64_t meminfo_available(void)
{
	char line[128];
	unsigned long long kb;
	uint64_t bytes = 0;
	FILE *f = fopen("/proc/meminfo", "re");

	if (f == NULL) {
		return 0;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
			bytes = (uint64_t)kb * 1024;
			break;
		}
	}
	fclose(f);
	return bytes;
}

/* What the system can still give a segment of this page size. */
static uint64_t system_room(const struct mem_segment *seg)
{
	uint64_t avail;

	if (seg->page_size > (uint64_t)sysconf(_SC_PAGESIZE)) {
		return env_hugepages_available(seg->page_size) * seg->page_size;
	}
	avail = meminfo_available();
	return avail > ENV_GROW_KEEP_FREE ? avail - ENV_GROW_KEEP_FREE : 0;
}

/*
 * How much to grow for a request of min_bytes: at least ENV_GROW_MIN, less
 * when only less is left (but never less than the request). 0 = no room.
 */
static uint64_t grow_size(const struct mem_segment *seg, uint64_t min_bytes)
{
	uint64_t step = seg->page_size > ENV_GROW_ALIGN ? seg->page_size : ENV_GROW_ALIGN;
	uint64_t need = grow_round_up(min_bytes, step);
	uint64_t want = need > ENV_GROW_MIN ? need : grow_round_up(ENV_GROW_MIN, step);
	uint64_t room = seg->span - seg->len, sys = system_room(seg);

	room = room < sys ? room : sys;
	room = room / step * step;
	if (room < need) {
		BRISK_ERRLOG("memory of NUMA node %d cannot grow by %" PRIu64 " MiB: %" PRIu64
			     " MiB of %s left (virtual range %" PRIu64 " MiB)\n",
			     seg->socket_id, need >> 20, sys >> 20,
			     seg->page_size > (uint64_t)sysconf(_SC_PAGESIZE) ? "free hugepages" : "available memory",
			     (seg->span - seg->len) >> 20);
		return 0;
	}
	return want < room ? want : room;
}

/* Extends the file and maps [len, len + add) of it over the held range. */
static int segment_extend(struct mem_segment *seg, uint64_t add)
{
	uint8_t *at = (uint8_t *)seg->va + seg->len;
	bool huge = seg->page_size > (uint64_t)sysconf(_SC_PAGESIZE);
	void *va;
	int rc;

	rc = ftruncate(seg->fd, (off_t)(seg->len + add)) == 0 ? 0 : -errno;
	if (rc == 0) {
		rc = env_segment_allocate(seg->fd, seg->len, add, seg->socket_id);
	}
	if (rc == 0) {
		va = mmap(at, add, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, seg->fd, (off_t)seg->len);
		rc = va == MAP_FAILED ? -errno : 0;
	}
	if (rc != 0) {
		if (ftruncate(seg->fd, (off_t)seg->len) != 0) {
			BRISK_WARNLOG("cannot shrink a segment file back: %s\n", strerror(errno));
		}
		return rc == -ENOSPC || rc == -EINVAL ? -ENOMEM : rc;
	}
	env_segment_prefault(at, add, seg->page_size, true, huge);
	return 0;
}

/* Maps what the shared record says segment index has beyond this process's
 * mapping (another process grew it). */
static int segment_catch_up(int index)
{
	struct mem_segment *seg = &g_env_mem.segs[index];
	uint64_t shared_len = g_env_shared->segments[index].len;
	uint64_t add = shared_len - seg->len;
	uint8_t *at = (uint8_t *)seg->va + seg->len;
	int rc;

	if (mmap(at, add, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, seg->fd, (off_t)seg->len) == MAP_FAILED) {
		rc = -errno;
		BRISK_ERRLOG("cannot map %" PRIu64 " MiB another process added to segment %d: %s\n", add >> 20, index,
			     strerror(-rc));
		return rc;
	}
	env_segment_prefault(at, add, seg->page_size, false, seg->page_size > (uint64_t)sysconf(_SC_PAGESIZE));
	seg->len = shared_len;
	rc = env_vtophys_register((uint64_t)(uintptr_t)at, add);
	if (rc != 0) {
		BRISK_ERRLOG("cannot register grown memory of segment %d for translation: %d\n", index, rc);
	}
	return rc;
}

void env_memory_sync_locked(void)
{
	int i;

	if (g_env_shared == NULL) {
		return;
	}
	for (i = 0; i < g_env_mem.num_segments; i++) {
		if (g_env_mem.segs[i].va != NULL && g_env_shared->segments[i].len > g_env_mem.segs[i].len) {
			segment_catch_up(i);
		}
	}
}

static int segment_index_of_socket(int socket_id)
{
	int i;

	for (i = 0; i < g_env_mem.num_segments; i++) {
		if (g_env_mem.segs[i].socket_id == socket_id) {
			return i;
		}
	}
	return -1;
}

/* Publishes the new length, hands the memory to the heap, registers it. */
static int segment_publish_growth(int index, uint64_t old_len)
{
	struct mem_segment *seg = &g_env_mem.segs[index];
	struct env_heap *heap = g_env_shared->heaps[seg->socket_id];
	uint64_t start = (uint64_t)(uintptr_t)seg->va;
	int rc;

	rc = env_vtophys_register(start + old_len, seg->len - old_len);
	if (rc != 0) {
		/* The memory stays mapped but unused: the heap never sees it, and the
		 * shared len is unchanged so other processes do not map it either. */
		BRISK_ERRLOG("cannot register grown memory for translation: %d\n", rc);
		seg->len = old_len;
		return rc;
	}
	g_env_shared->segments[index].len = seg->len;
	g_env_shared->grow_count++;
	env_heap_extend_locked(heap, (uintptr_t)(start + seg->len));
	BRISK_NOTICELOG("memory of NUMA node %d grew by %" PRIu64 " MiB to %" PRIu64 " MiB\n", seg->socket_id,
			(seg->len - old_len) >> 20, seg->len >> 20);
	return 0;
}

int env_memory_grow_locked(int socket_id, uint64_t min_bytes)
{
	int index = segment_index_of_socket(socket_id);
	struct mem_segment *seg;
	uint64_t add, old_len;
	int rc;

	if (index < 0 || g_env_shared->heaps[socket_id] == NULL) {
		return -ENOMEM;
	}
	seg = &g_env_mem.segs[index];
	if ((uint64_t)(uintptr_t)seg->va + seg->len != g_env_shared->heaps[socket_id]->end) {
		BRISK_ERRLOG("heap of NUMA node %d does not end at its segment's end\n", socket_id);
		return -EIO;
	}
	add = grow_size(seg, min_bytes);
	if (add == 0) {
		return -ENOMEM;
	}
	rc = segment_extend(seg, add);
	if (rc != 0) {
		BRISK_ERRLOG("memory of NUMA node %d cannot grow by %" PRIu64 " MiB: %s\n", socket_id, add >> 20,
			     strerror(-rc));
		return rc;
	}
	old_len = seg->len;
	seg->len += add;
	return segment_publish_growth(index, old_len);
}

int brisk_env_get_mem_info(struct brisk_env_mem_info *info)
{
	uint32_t i;

	memset(info, 0, sizeof(*info));
	if (g_env_shared == NULL) {
		return -ENODEV;
	}
	heap_shared_lock();
	for (i = 0; i < g_env_shared->num_segments; i++) {
		info->reserved_bytes += g_env_shared->segments[i].reserved_len;
		info->total_bytes += g_env_shared->segments[i].len;
		info->max_bytes += g_env_shared->segments[i].span;
	}
	info->grow_count = g_env_shared->grow_count;
	info->num_segments = g_env_shared->num_segments;
	info->page_size = g_env_shared->page_size;
	info->hugepages = g_env_shared->hugepages != 0;
	heap_shared_unlock();
	return 0;
}
