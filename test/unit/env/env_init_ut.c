/*
 * brisk_env_init / brisk_env_fini: option checks (each bad option rejected
 * with -EINVAL and nothing left behind), init/fini cycles, -EALREADY,
 * hugepage / ordinary-page modes and the fallback between them.
 */
#include <CUnit/Basic.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <brisk/env.h>
#include <brisk/log.h>

#include "../../common/ut_main.h"

#define TWO_MB (2ull * 1024 * 1024)

static bool
test_no_huge(void)
{
	const char *v = getenv("BRISK_TEST_NO_HUGE");

	return v != NULL && strcmp(v, "1") == 0;
}

static uint64_t
read_u64(const char *path)
{
	unsigned long long v = 0;
	FILE *f = fopen(path, "r");

	if (f != NULL) {
		if (fscanf(f, "%llu", &v) != 1) {
			v = 0;
		}
		fclose(f);
	}
	return v;
}

static bool
hugepages_usable(uint64_t mb)
{
	struct stat st;

	return !test_no_huge() && stat("/dev/hugepages", &st) == 0 &&
	       access("/dev/hugepages", W_OK) == 0 &&
	       read_u64("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages") >= mb / 2;
}

/* Entries of dir whose name starts with prefix. */
static int
count_files(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL) {
		return 0;
	}
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
			n++;
		}
	}
	closedir(d);
	return n;
}

static int
leftover_files(void)
{
	return count_files("/dev/hugepages", "envut") + count_files("/dev/shm", "brisk_envut");
}

static void
base_opts(struct brisk_env_opts *opts)
{
	brisk_env_opts_init(opts);
	opts->name = "env_init_ut";
	opts->mem_size_mb = 64;
	opts->no_huge = test_no_huge();
	opts->shm_prefix = "envut";
}

static void
test_opts_init_defaults(void)
{
	struct brisk_env_opts opts;

	memset(&opts, 0xa5, sizeof(opts));
	brisk_env_opts_init(&opts);
	CU_ASSERT_STRING_EQUAL(opts.name, "brisk");
	CU_ASSERT_STRING_EQUAL(opts.core_mask, "0x1");
	CU_ASSERT_EQUAL(opts.mem_size_mb, BRISK_ENV_DEFAULT_MEM_MB);
	CU_ASSERT_FALSE(opts.no_huge);
	CU_ASSERT_PTR_NULL(opts.hugepage_dir);
	CU_ASSERT_EQUAL(opts.hugepage_size, 0);
	CU_ASSERT_EQUAL(opts.shm_id, -1);
	CU_ASSERT_STRING_EQUAL(opts.shm_prefix, "brisk");
	CU_ASSERT_EQUAL(opts.proc_type, BRISK_PROC_AUTO);
	brisk_env_opts_init(NULL); /* must not crash */
}

static void
test_init_fini_cycles(void)
{
	struct brisk_env_opts opts;
	int i, rc;
	void *p;

	CU_ASSERT_FALSE(brisk_env_is_initialized());
	for (i = 0; i < 3; i++) {
		base_opts(&opts);
		rc = brisk_env_init(&opts);
		CU_ASSERT_EQUAL_FATAL(rc, 0);
		CU_ASSERT_TRUE(brisk_env_is_initialized());
		CU_ASSERT_EQUAL(brisk_env_get_proc_type(), BRISK_PROC_PRIMARY);
		if (test_no_huge()) {
			CU_ASSERT_FALSE(brisk_env_using_hugepages());
			CU_ASSERT_EQUAL(brisk_env_get_page_size(), (uint64_t)sysconf(_SC_PAGESIZE));
		} else if (hugepages_usable(64)) {
			CU_ASSERT_TRUE(brisk_env_using_hugepages());
			CU_ASSERT_EQUAL(brisk_env_get_page_size(), TWO_MB);
		}
		/* The heap and memzones work on top of the reservation. */
		p = brisk_malloc(1000, 0, BRISK_ENV_SOCKET_ID_ANY);
		CU_ASSERT_PTR_NOT_NULL(p);
		if (p != NULL) {
			memset(p, 0x5a, 1000);
		}
		brisk_free(p);
		CU_ASSERT_PTR_NOT_NULL(brisk_memzone_reserve("cycle_mz", 8192, 0, 0));
		brisk_env_fini();
		CU_ASSERT_FALSE(brisk_env_is_initialized());
		CU_ASSERT_EQUAL(leftover_files(), 0);
	}
	brisk_env_fini(); /* a second fini is harmless */
}

static void
test_already_initialized(void)
{
	struct brisk_env_opts opts;

	base_opts(&opts);
	CU_ASSERT_EQUAL_FATAL(brisk_env_init(&opts), 0);
	CU_ASSERT_EQUAL(brisk_env_init(&opts), -EALREADY);
	CU_ASSERT_TRUE(brisk_env_is_initialized());
	/* The first init is untouched by the refused one. */
	CU_ASSERT_PTR_NOT_NULL(brisk_memzone_reserve("still_ok", 4096, 0, 0));
	brisk_env_fini();
	CU_ASSERT_FALSE(brisk_env_is_initialized());
}

/* Expects opts to be rejected with -EINVAL and leave nothing behind. */
static void
expect_rejected(const struct brisk_env_opts *opts, int expected, const char *what)
{
	int rc = brisk_env_init(opts);

	if (rc != expected) {
		fprintf(stderr, "case '%s': got %d, expected %d\n", what, rc, expected);
	}
	CU_ASSERT_EQUAL(rc, expected);
	CU_ASSERT_FALSE(brisk_env_is_initialized());
	CU_ASSERT_EQUAL(brisk_env_get_core_count(), 0);
	CU_ASSERT_EQUAL(leftover_files(), 0);
	if (rc == 0) {
		brisk_env_fini();
	}
}

static void
test_bad_opts(void)
{
	struct brisk_env_opts opts;
	char offline[32], long_prefix[100];
	long online = sysconf(_SC_NPROCESSORS_ONLN);

	CU_ASSERT_EQUAL(brisk_env_init(NULL), -EINVAL);

	base_opts(&opts);
	opts.core_mask = "zz";
	expect_rejected(&opts, -EINVAL, "core_mask zz");
	opts.core_mask = "0x0";
	expect_rejected(&opts, -EINVAL, "core_mask 0x0");
	opts.core_mask = "";
	expect_rejected(&opts, -EINVAL, "core_mask empty");
	opts.core_mask = "1-0x";
	expect_rejected(&opts, -EINVAL, "core_mask 1-0x");
	/* A core beyond BRISK_ENV_MAX_CORES, and one that is not online. */
	opts.core_mask = "200";
	expect_rejected(&opts, -EINVAL, "core_mask list 200");
	opts.core_mask = "[200]";
	expect_rejected(&opts, -EINVAL, "core_mask [200]");
	snprintf(offline, sizeof(offline), "[0,%ld]", online < 100 ? 100 : online + 1);
	opts.core_mask = offline;
	expect_rejected(&opts, -EINVAL, "offline core");

	base_opts(&opts);
	opts.mem_size_mb = 1ull << 40;
	expect_rejected(&opts, -EINVAL, "mem_size_mb 2^40");
	opts.mem_size_mb = UINT64_MAX;
	expect_rejected(&opts, -EINVAL, "mem_size_mb max");

	base_opts(&opts);
	opts.no_huge = false; /* the hugepage options are only checked when used */
	opts.hugepage_dir = "/tmp";
	expect_rejected(&opts, -EINVAL, "hugepage_dir /tmp");
	opts.hugepage_dir = "/nonexistent/brisk";
	expect_rejected(&opts, -EINVAL, "hugepage_dir missing");
	opts.hugepage_dir = NULL;
	opts.hugepage_size = 12345;
	expect_rejected(&opts, -EINVAL, "hugepage_size 12345");
	opts.hugepage_size = 4096;
	expect_rejected(&opts, -EINVAL, "hugepage_size 4096");
	opts.hugepage_size = 1ull << 40;
	expect_rejected(&opts, -EINVAL, "hugepage_size 1 TiB");

	base_opts(&opts);
	opts.shm_id = 7;
	opts.shm_prefix = "a/b";
	expect_rejected(&opts, -EINVAL, "shm_prefix a/b");
	opts.shm_prefix = "";
	expect_rejected(&opts, -EINVAL, "shm_prefix empty");
	opts.shm_prefix = "sp ace";
	expect_rejected(&opts, -EINVAL, "shm_prefix with space");
	memset(long_prefix, 'x', sizeof(long_prefix) - 1);
	long_prefix[sizeof(long_prefix) - 1] = '\0';
	opts.shm_prefix = long_prefix;
	expect_rejected(&opts, -EINVAL, "shm_prefix too long");

	base_opts(&opts);
	opts.proc_type = (enum brisk_proc_type)7;
	expect_rejected(&opts, -EINVAL, "proc_type 7");
	opts.proc_type = BRISK_PROC_SECONDARY;
	opts.shm_id = -1;
	expect_rejected(&opts, -EINVAL, "secondary without shm_id");

	/* After all those refusals a good init still works. */
	base_opts(&opts);
	CU_ASSERT_EQUAL(brisk_env_init(&opts), 0);
	brisk_env_fini();
}

static void
test_defaults_for_null_fields(void)
{
	struct brisk_env_opts opts;

	base_opts(&opts);
	opts.name = NULL;
	opts.core_mask = NULL;
	opts.mem_size_mb = 0; /* BRISK_ENV_DEFAULT_MEM_MB */
	opts.shm_prefix = NULL;
	CU_ASSERT_EQUAL_FATAL(brisk_env_init(&opts), 0);
	CU_ASSERT_EQUAL(brisk_env_get_core_count(), 1);
	CU_ASSERT_EQUAL(brisk_env_get_main_core(), 0);
	brisk_env_fini();
}

static void
test_no_huge_forced(void)
{
	struct brisk_env_opts opts;

	base_opts(&opts);
	opts.no_huge = true;
	CU_ASSERT_EQUAL_FATAL(brisk_env_init(&opts), 0);
	CU_ASSERT_FALSE(brisk_env_using_hugepages());
	CU_ASSERT_EQUAL(brisk_env_get_page_size(), (uint64_t)sysconf(_SC_PAGESIZE));
	brisk_env_fini();
}

static void
test_hugepage_dir_explicit(void)
{
	struct brisk_env_opts opts;
	int before;

	if (!hugepages_usable(64) || access("/dev/hugepages", W_OK) != 0) {
		printf("  (skipped: no free 2 MiB hugepages, no_huge run or not writable)\n");
		return;
	}
	before = count_files("/dev/hugepages", "");
	base_opts(&opts);
	opts.hugepage_dir = "/dev/hugepages";
	opts.hugepage_size = TWO_MB;
	CU_ASSERT_EQUAL_FATAL(brisk_env_init(&opts), 0);
	CU_ASSERT_TRUE(brisk_env_using_hugepages());
	CU_ASSERT_EQUAL(brisk_env_get_page_size(), TWO_MB);
	/* Private memory: the file was unlinked right after creation. */
	CU_ASSERT_EQUAL(count_files("/dev/hugepages", ""), before);
	brisk_env_fini();
	CU_ASSERT_EQUAL(count_files("/dev/hugepages", ""), before);
}

static void
test_fallback_without_free_pages(void)
{
	struct brisk_env_opts opts;
	const char *gb = "/sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages";
	struct stat st;

	/* 1 GiB pages are supported here but none are reserved: fall back. */
	if (test_no_huge() || stat(gb, &st) != 0 || read_u64(gb) != 0) {
		printf("  (skipped: needs 1 GiB hugepage support with none free)\n");
		return;
	}
	base_opts(&opts);
	opts.hugepage_size = 1ull << 30;
	CU_ASSERT_EQUAL_FATAL(brisk_env_init(&opts), 0);
	CU_ASSERT_FALSE(brisk_env_using_hugepages());
	CU_ASSERT_EQUAL(brisk_env_get_page_size(), (uint64_t)sysconf(_SC_PAGESIZE));
	CU_ASSERT_PTR_NOT_NULL(brisk_memzone_reserve("fallback_mz", 1 << 20, 0, 0));
	brisk_env_fini();
	CU_ASSERT_EQUAL(leftover_files(), 0);
}

static void
test_mem_not_multiple_of_page(void)
{
	struct brisk_env_opts opts;
	void *p;

	/* 3 MiB: rounded up to whole (huge) pages, and all of it usable. */
	base_opts(&opts);
	opts.mem_size_mb = 3;
	CU_ASSERT_EQUAL_FATAL(brisk_env_init(&opts), 0);
	p = brisk_malloc(2 << 20, 0, BRISK_ENV_SOCKET_ID_ANY);
	CU_ASSERT_PTR_NOT_NULL(p);
	brisk_free(p);
	brisk_env_fini();
}

/* The bad-input cases log errors on purpose; keep the output readable. */
static int ut_setup(void)
{
	if (getenv("BRISK_TEST_VERBOSE") == NULL) {
		brisk_log_set_print_level(BRISK_LOG_ERROR);
	}
	return 0;
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_opts_init_defaults),       BRISK_UT_TEST(test_init_fini_cycles),
	BRISK_UT_TEST(test_already_initialized),      BRISK_UT_TEST(test_bad_opts),
	BRISK_UT_TEST(test_defaults_for_null_fields), BRISK_UT_TEST(test_no_huge_forced),
	BRISK_UT_TEST(test_hugepage_dir_explicit),    BRISK_UT_TEST(test_fallback_without_free_pages),
	BRISK_UT_TEST(test_mem_not_multiple_of_page), CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "env_init", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "env_init_ut",
	.setup = ut_setup,
	.suites = g_ut_suites,
};
