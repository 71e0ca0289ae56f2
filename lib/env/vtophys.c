/*
 * brisk_vtophys: the address a device uses to reach a virtual address.
 *
 * Physical addresses come from /proc/self/pagemap (readable with
 * CAP_SYS_ADMIN; without it the kernel reports PFN 0 and we return
 * BRISK_VTOPHYS_ERROR). While a device is attached through vfio-pci, all
 * registered memory is in its IOMMU and the device address is the virtual
 * address itself (IOVA = VA).
 *
 * A brisk_mem_map is the cache: when memory is registered, each 2 MiB page of
 * hugepage memory gets its physical address (a hugepage never moves and is
 * contiguous). Memory in ordinary 4 KiB pages gets VTOPHYS_PER_PAGE instead:
 * its pages are not contiguous and may be moved by the kernel, so every call
 * asks pagemap afresh. Unregistered memory translates to BRISK_VTOPHYS_ERROR.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <brisk/env.h>
#include <brisk/log.h>

#include "env_internal.h"

#define VTOPHYS_PER_PAGE (UINT64_MAX - 1) /* registered; ask pagemap on each call */
#define VTOPHYS_2MB BRISK_MEM_MAP_PAGE_SIZE
#define VTOPHYS_2MB_MASK (VTOPHYS_2MB - 1)
#define SMALL_PAGE 4096ull
#define PAGEMAP_PRESENT (1ull << 63)
#define PAGEMAP_PFN_MASK ((1ull << 55) - 1)
#define PAGEMAP_BATCH 512 /* entries per pread: one 2 MiB page worth */

static struct brisk_mem_map *g_vtophys_map;
static int g_pagemap_fd = -1;
static bool g_iova_is_va;
static bool g_pfn_warned; /* once per process, not per init */
/* Every range this file registered (segments, then their growth), in order:
 * brisk_mem_unregister takes one registration at a time. */
static struct vtophys_range {
	uint64_t va;
	uint64_t len;
} * g_ranges;
static uint32_t g_range_count, g_range_cap;

static void
warn_no_pfn(void)
{
	/* One warning per process: the cause is the same for every page. */
	if (!__atomic_exchange_n(&g_pfn_warned, true, __ATOMIC_RELAXED)) {
		BRISK_WARNLOG("cannot read physical addresses from /proc/self/pagemap (needs root / "
			      "CAP_SYS_ADMIN): brisk_vtophys returns BRISK_VTOPHYS_ERROR\n");
	}
}

/* Reads n pagemap entries from the 4 KiB page of va on. 0 or -1. */
static int
pagemap_read(uint64_t va, uint64_t *entries, size_t n)
{
	off_t off = (off_t)(va / SMALL_PAGE * sizeof(uint64_t));
	ssize_t len = (ssize_t)(n * sizeof(uint64_t));

	if (g_pagemap_fd < 0 || pread(g_pagemap_fd, entries, (size_t)len, off) != len) {
		warn_no_pfn();
		return -1;
	}
	return 0;
}

static uint64_t
entry_to_phys(uint64_t entry)
{
	uint64_t pfn = entry & PAGEMAP_PFN_MASK;

	if ((entry & PAGEMAP_PRESENT) == 0) {
		return BRISK_VTOPHYS_ERROR;
	}
	if (pfn == 0) {
		warn_no_pfn();
		return BRISK_VTOPHYS_ERROR;
	}
	return pfn * SMALL_PAGE;
}

/* Translation to store for the 2 MiB page at va (registration time). */
static uint64_t
translation_of_2mb(uint64_t va)
{
	uint64_t entry, phys;

	if (__atomic_load_n(&g_iova_is_va, __ATOMIC_RELAXED)) {
		return va;
	}
	if (env_memory_page_size_at(va) < VTOPHYS_2MB) {
		return VTOPHYS_PER_PAGE;
	}
	if (pagemap_read(va, &entry, 1) != 0) {
		return VTOPHYS_PER_PAGE;
	}
	phys = entry_to_phys(entry);
	if (phys == BRISK_VTOPHYS_ERROR || (phys & VTOPHYS_2MB_MASK) != 0) {
		return VTOPHYS_PER_PAGE;
	}
	return phys;
}

static int
vtophys_notify(void *cb_ctx, struct brisk_mem_map *map, enum brisk_mem_map_notify_action action,
	       void *vaddr, size_t size)
{
	uint64_t va = (uint64_t)(uintptr_t)vaddr, off;
	int rc;

	if (action == BRISK_MEM_MAP_NOTIFY_UNREGISTER) {
		return brisk_mem_map_clear_translation(map, va, size);
	}
	for (off = 0; off < size; off += VTOPHYS_2MB) {
		rc = brisk_mem_map_set_translation(map, va + off, VTOPHYS_2MB,
						   translation_of_2mb(va + off));
		if (rc != 0) {
			if (off != 0) {
				brisk_mem_map_clear_translation(map, va, off);
			}
			return rc;
		}
	}
	return 0;
}

static int
vtophys_are_contiguous(uint64_t a, uint64_t b)
{
	return a != VTOPHYS_PER_PAGE && b != VTOPHYS_PER_PAGE && b == a + VTOPHYS_2MB;
}

/* Ordinary pages: walk pagemap from va while the physical pages follow each
 * other, within registered 4 KiB-page memory, up to *size bytes. */
static uint64_t
vtophys_small_pages(uint64_t va, uint64_t *size, uint64_t want)
{
	uint64_t entries[PAGEMAP_BATCH];
	uint64_t phys, expect, avail, page, n, i;

	if (pagemap_read(va, entries, 1) != 0) {
		goto error;
	}
	phys = entry_to_phys(entries[0]);
	if (phys == BRISK_VTOPHYS_ERROR) {
		goto error;
	}
	if (size == NULL) {
		return phys + (va & (SMALL_PAGE - 1));
	}
	avail = SMALL_PAGE - (va & (SMALL_PAGE - 1));
	expect = phys + SMALL_PAGE;
	page = (va & ~(SMALL_PAGE - 1)) + SMALL_PAGE;
	while (avail < want) {
		if ((page & VTOPHYS_2MB_MASK) == 0 &&
		    brisk_mem_map_translate(g_vtophys_map, page, NULL) != VTOPHYS_PER_PAGE) {
			break; /* the next 2 MiB is not registered small-page memory */
		}
		/* Pages still wanted, up to the end of this 2 MiB page. */
		n = (want - avail + SMALL_PAGE - 1) / SMALL_PAGE;
		if (n > (VTOPHYS_2MB - (page & VTOPHYS_2MB_MASK)) / SMALL_PAGE) {
			n = (VTOPHYS_2MB - (page & VTOPHYS_2MB_MASK)) / SMALL_PAGE;
		}
		if (pagemap_read(page, entries, n) != 0) {
			break;
		}
		for (i = 0; i < n && avail < want; i++) {
			if (entry_to_phys(entries[i]) != expect) {
				goto done;
			}
			avail += SMALL_PAGE;
			expect += SMALL_PAGE;
		}
		page += n * SMALL_PAGE;
	}
done:
	*size = avail < want ? avail : want;
	return phys + (va & (SMALL_PAGE - 1));
error:
	if (size != NULL) {
		*size = 0;
	}
	return BRISK_VTOPHYS_ERROR;
}

uint64_t
brisk_vtophys(const void *buf, uint64_t *size)
{
	uint64_t va = (uint64_t)(uintptr_t)buf, want = size != NULL ? *size : 0, t;

	if (g_vtophys_map == NULL) {
		if (size != NULL) {
			*size = 0;
		}
		return BRISK_VTOPHYS_ERROR;
	}
	t = brisk_mem_map_translate(g_vtophys_map, va, size);
	if (t == BRISK_VTOPHYS_ERROR) {
		if (size != NULL) {
			*size = 0;
		}
		return BRISK_VTOPHYS_ERROR;
	}
	if (t == VTOPHYS_PER_PAGE) {
		return vtophys_small_pages(va, size, want);
	}
	return t + (va & VTOPHYS_2MB_MASK);
}

/*
 * lib/env's VFIO code switches modes when the first device is attached through
 * vfio-pci (all registered memory is then in the IOMMU at IOVA = VA) and back
 * when the last one is detached. The map's translations are recomputed in
 * place: a concurrent reader sees the old or the new address of each page.
 */
void
env_vtophys_set_iova_va(bool on)
{
	if (__atomic_load_n(&g_iova_is_va, __ATOMIC_RELAXED) == on) {
		return;
	}
	/* Relaxed: the refresh below takes the registry mutex, which orders it. */
	__atomic_store_n(&g_iova_is_va, on, __ATOMIC_RELAXED);
	if (g_vtophys_map != NULL) {
		env_mem_map_refresh(g_vtophys_map);
	}
	BRISK_INFOLOG("address translation: %s\n", on ? "IOVA = VA (VFIO with IOMMU)" :
		      "physical addresses from /proc/self/pagemap");
}

bool
env_vtophys_iova_is_va(void)
{
	return __atomic_load_n(&g_iova_is_va, __ATOMIC_RELAXED);
}

int
env_vtophys_init(void)
{
	static const struct brisk_mem_map_ops ops = {
		.notify_cb = vtophys_notify,
		.are_contiguous = vtophys_are_contiguous,
	};
	const struct env_segment *seg;
	uint32_t i;
	int rc;

	/* Opened even under VFIO: the last device's detach returns to physical addresses. */
	g_pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (g_pagemap_fd < 0) {
		BRISK_WARNLOG("cannot open /proc/self/pagemap: %s\n", strerror(errno));
	}
	g_vtophys_map = brisk_mem_map_alloc(BRISK_VTOPHYS_ERROR, &ops, NULL);
	if (g_vtophys_map == NULL) {
		env_vtophys_fini();
		return -ENOMEM;
	}
	for (i = 0; g_env_shared != NULL && i < g_env_shared->num_segments; i++) {
		seg = &g_env_shared->segments[i];
		rc = env_vtophys_register(seg->va, env_memory_mapped_len(i));
		if (rc != 0) {
			BRISK_ERRLOG("cannot register segment %u (0x%" PRIx64 "+%" PRIu64 " MiB) for "
				     "address translation: %d\n", i, seg->va, seg->len >> 20, rc);
			env_vtophys_fini();
			return rc;
		}
	}
	BRISK_INFOLOG("address translation: %s\n", g_iova_is_va ? "IOVA = VA (VFIO with IOMMU)" :
		      "physical addresses from /proc/self/pagemap");
	return 0;
}

int env_vtophys_register(uint64_t va, uint64_t len)
{
	struct vtophys_range *grown;
	uint32_t cap;
	int rc;

	if (g_range_count == g_range_cap) {
		cap = g_range_cap == 0 ? 16 : g_range_cap * 2;
		grown = realloc(g_ranges, cap * sizeof(*grown));
		if (grown == NULL) {
			return -ENOMEM;
		}
		g_ranges = grown;
		g_range_cap = cap;
	}
	rc = brisk_mem_register((void *)(uintptr_t)va, len);
	if (rc == 0) {
		g_ranges[g_range_count].va = va;
		g_ranges[g_range_count].len = len;
		g_range_count++;
	}
	return rc;
}

void
env_vtophys_fini(void)
{
	while (g_range_count > 0) {
		g_range_count--;
		brisk_mem_unregister((void *)(uintptr_t)g_ranges[g_range_count].va, g_ranges[g_range_count].len);
	}
	free(g_ranges);
	g_ranges = NULL;
	g_range_cap = 0;
	brisk_mem_map_free(&g_vtophys_map);
	if (g_pagemap_fd >= 0) {
		close(g_pagemap_fd);
		g_pagemap_fd = -1;
	}
}
