/*
 * brisk_vtophys: DMA buffers get the physical address the kernel reports in
 * /proc/self/pagemap (read independently here), sizes are clamped to the
 * physically contiguous run, hugepages translate per 2 MiB page, memory a
 * user registers becomes translatable and unregistered memory does not.
 * The physical checks need root; without it they are skipped with a note.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <brisk/env.h>
#include <brisk/log.h>

#include "../../common/test_env.h"
#include "../../../lib/env/env_internal.h"
#include "../../common/ut_main.h"

#define MB2 (2ull * 1024 * 1024)
#define PG 4096ull

static bool g_root;

/* The kernel's answer, read without the library. */
static uint64_t
pagemap_phys(const void *va)
{
	uint64_t entry = 0, v = (uint64_t)(uintptr_t)va;
	int fd = open("/proc/self/pagemap", O_RDONLY);
	ssize_t n;

	if (fd < 0) {
		return BRISK_VTOPHYS_ERROR;
	}
	n = pread(fd, &entry, sizeof(entry), (off_t)(v / PG * 8));
	close(fd);
	if (n != 8 || (entry & (1ull << 63)) == 0 || (entry & ((1ull << 55) - 1)) == 0) {
		return BRISK_VTOPHYS_ERROR;
	}
	return (entry & ((1ull << 55) - 1)) * PG + (v & (PG - 1));
}

static void
test_dma_buffer(void)
{
	uint64_t phys = 0, size;
	uint8_t *buf;

	if (!g_root) {
		/* No physical addresses to give: registered memory still says so. */
		printf("  (physical address checks skipped: not root)\n");
		buf = brisk_malloc(8192, 4096, BRISK_ENV_SOCKET_ID_ANY);
		CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
		size = 8192;
		CU_ASSERT_EQUAL(brisk_vtophys(buf, &size), BRISK_VTOPHYS_ERROR);
		CU_ASSERT_EQUAL(size, 0);
		brisk_free(buf);
		return;
	}
	buf = brisk_dma_zmalloc(8192, 4096, &phys);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	CU_ASSERT_NOT_EQUAL(phys, BRISK_VTOPHYS_ERROR);
	CU_ASSERT_NOT_EQUAL(phys, 0);
	CU_ASSERT_EQUAL(brisk_vtophys(buf, NULL), phys);
	CU_ASSERT_EQUAL(phys, pagemap_phys(buf));
	CU_ASSERT_EQUAL(phys & (PG - 1), (uint64_t)(uintptr_t)buf & (PG - 1));
	CU_ASSERT_EQUAL(brisk_vtophys(buf + 100, NULL), phys + 100);
	CU_ASSERT_EQUAL(brisk_vtophys(buf + 5000, NULL), pagemap_phys(buf + 5000));
	/* A DMA buffer within a page is physically contiguous end to end. */
	size = 4096;
	CU_ASSERT_EQUAL(brisk_vtophys(buf, &size), phys);
	CU_ASSERT_EQUAL(size, 4096);
	size = 0;
	CU_ASSERT_EQUAL(brisk_vtophys(buf, &size), phys);
	CU_ASSERT_EQUAL(size, 0);
	brisk_free(buf);
}

static void
test_hugepage_translation(void)
{
	uint64_t p0, size;
	uint8_t *buf;
	int i;

	if (!g_root || !brisk_env_using_hugepages()) {
		printf("  (skipped: needs root and hugepages)\n");
		return;
	}
	/* One whole, aligned 2 MiB page. */
	buf = brisk_malloc(MB2, MB2, BRISK_ENV_SOCKET_ID_ANY);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	memset(buf, 1, MB2);
	p0 = brisk_vtophys(buf, NULL);
	CU_ASSERT_NOT_EQUAL_FATAL(p0, BRISK_VTOPHYS_ERROR);
	CU_ASSERT_EQUAL(p0 & (MB2 - 1), 0);
	for (i = 0; i < 512; i += 37) {
		CU_ASSERT_EQUAL(brisk_vtophys(buf + i * PG + 7, NULL), p0 + i * PG + 7);
		CU_ASSERT_EQUAL(pagemap_phys(buf + i * PG + 7), p0 + i * PG + 7);
	}
	size = 4 * MB2;
	CU_ASSERT_EQUAL(brisk_vtophys(buf + 4096, &size), p0 + 4096);
	CU_ASSERT(size >= MB2 - 4096 && size <= 4 * MB2);
	/* What is reported contiguous really is. */
	CU_ASSERT_EQUAL(pagemap_phys(buf + 4096 + size - 1), p0 + 4096 + size - 1);
	brisk_free(buf);
}

static void
test_small_page_runs(void)
{
	uint64_t p, size, off;
	uint8_t *buf;

	if (!g_root) {
		printf("  (skipped: not root)\n");
		return;
	}
	/* 256 KiB: on 4 KiB pages probably split into several physical runs. */
	buf = brisk_malloc(256 * 1024, 4096, BRISK_ENV_SOCKET_ID_ANY);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	for (off = 0; off < 256 * 1024;) {
		size = 256 * 1024 - off;
		p = brisk_vtophys(buf + off, &size);
		CU_ASSERT_NOT_EQUAL_FATAL(p, BRISK_VTOPHYS_ERROR);
		CU_ASSERT_FATAL(size > 0 && size <= 256 * 1024 - off);
		CU_ASSERT_EQUAL(p, pagemap_phys(buf + off));
		/* Every page of the run is where the run says. */
		CU_ASSERT_EQUAL(pagemap_phys(buf + off + size - 1), p + size - 1);
		off += size;
	}
	brisk_free(buf);
}

static void
test_unregistered_memory(void)
{
	uint64_t size = 100;
	int on_stack = 0;
	void *heap = malloc(64);

	CU_ASSERT_EQUAL(brisk_vtophys(&on_stack, NULL), BRISK_VTOPHYS_ERROR);
	CU_ASSERT_EQUAL(brisk_vtophys(heap, &size), BRISK_VTOPHYS_ERROR);
	CU_ASSERT_EQUAL(size, 0);
	CU_ASSERT_EQUAL(brisk_vtophys(NULL, NULL), BRISK_VTOPHYS_ERROR);
	free(heap);
}

static void
test_user_registration(void)
{
	uint8_t *raw, *region;
	uint64_t size;

	raw = mmap(NULL, 3 * MB2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CU_ASSERT_FATAL(raw != MAP_FAILED);
	region = (uint8_t *)(((uintptr_t)raw + MB2 - 1) & ~(uintptr_t)(MB2 - 1));
	memset(region, 0x11, MB2);
	mlock(region, MB2);
	CU_ASSERT_EQUAL(brisk_vtophys(region, NULL), BRISK_VTOPHYS_ERROR);
	CU_ASSERT_EQUAL(brisk_mem_register(region, MB2), 0);
	/* Registering again, or overlapping an env segment, is refused. */
	CU_ASSERT_EQUAL(brisk_mem_register(region, MB2), -EBUSY);
	if (g_root) {
		size = MB2;
		CU_ASSERT_EQUAL(brisk_vtophys(region + 8192, &size), pagemap_phys(region + 8192));
		CU_ASSERT(size >= PG - 0 && size <= MB2);
		/* The run never reaches past the registered region. */
		size = 4 * MB2;
		brisk_vtophys(region + MB2 - PG, &size);
		CU_ASSERT(size <= PG);
	}
	CU_ASSERT_EQUAL(brisk_mem_unregister(region, MB2), 0);
	CU_ASSERT_EQUAL(brisk_vtophys(region, NULL), BRISK_VTOPHYS_ERROR);
	munlock(region, MB2);
	munmap(raw, 3 * MB2);
}

/* What VFIO attach/detach do (lib/env/pci_vfio.c): IOVA = VA for all
 * registered memory, present and future, then back to physical addresses. */
static void
test_iova_va_switch(void)
{
	uint8_t *buf = brisk_dma_zmalloc(8192, 4096, NULL), *raw, *region;
	uint64_t before, size;

	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	before = brisk_vtophys(buf, NULL);
	CU_ASSERT_FALSE(env_vtophys_iova_is_va());
	env_vtophys_set_iova_va(true);
	CU_ASSERT_TRUE(env_vtophys_iova_is_va());
	CU_ASSERT_EQUAL(brisk_vtophys(buf, NULL), (uint64_t)(uintptr_t)buf);
	size = 8192;
	CU_ASSERT_EQUAL(brisk_vtophys(buf + 10, &size), (uint64_t)(uintptr_t)buf + 10);
	CU_ASSERT_EQUAL(size, 8192); /* virtually contiguous is contiguous */
	/* Memory registered later is VA too; unregistered memory is still an error. */
	raw = mmap(NULL, 3 * MB2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CU_ASSERT_FATAL(raw != MAP_FAILED);
	region = (uint8_t *)(((uintptr_t)raw + MB2 - 1) & ~(uintptr_t)(MB2 - 1));
	CU_ASSERT_EQUAL(brisk_vtophys(region, NULL), BRISK_VTOPHYS_ERROR);
	CU_ASSERT_EQUAL(brisk_mem_register(region, MB2), 0);
	CU_ASSERT_EQUAL(brisk_vtophys(region + 64, NULL), (uint64_t)(uintptr_t)region + 64);
	CU_ASSERT_EQUAL(brisk_mem_unregister(region, MB2), 0);
	munmap(raw, 3 * MB2);
	env_vtophys_set_iova_va(false);
	CU_ASSERT_FALSE(env_vtophys_iova_is_va());
	CU_ASSERT_EQUAL(brisk_vtophys(buf, NULL), before);
	brisk_free(buf);
}

static void
test_after_fini(void)
{
	void *buf = brisk_malloc(4096, 4096, BRISK_ENV_SOCKET_ID_ANY);

	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	brisk_env_fini();
	CU_ASSERT_EQUAL(brisk_vtophys(buf, NULL), BRISK_VTOPHYS_ERROR);
	/* And a new init translates again. */
	CU_ASSERT_EQUAL_FATAL(brisk_test_env_init("vtophys_ut", "0x1", 64), 0);
	buf = brisk_malloc(4096, 4096, BRISK_ENV_SOCKET_ID_ANY);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	if (g_root) {
		CU_ASSERT_EQUAL(brisk_vtophys(buf, NULL), pagemap_phys(buf));
	} else {
		CU_ASSERT_EQUAL(brisk_vtophys(buf, NULL), BRISK_VTOPHYS_ERROR);
	}
	brisk_free(buf);
}

static int
suite_init(void)
{
	return brisk_test_env_init("vtophys_ut", "0x1", 64);
}

static int
suite_fini(void)
{
	brisk_env_fini();
	return 0;
}

static int ut_setup(void)
{
	g_root = geteuid() == 0;
	return 0;
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_dma_buffer),        BRISK_UT_TEST(test_hugepage_translation),
	BRISK_UT_TEST(test_small_page_runs),   BRISK_UT_TEST(test_unregistered_memory),
	BRISK_UT_TEST(test_user_registration), BRISK_UT_TEST(test_iova_va_switch),
	BRISK_UT_TEST(test_after_fini),        CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "vtophys", suite_init, suite_fini, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "vtophys_ut",
	.setup = ut_setup,
	.suites = g_ut_suites,
};
