/* CPU sets: set helpers, mask and list parsing (good and malformed), formatting. */
#include <CUnit/Basic.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/cpuset.h>
#include <brisk/log.h>
#include "../../common/ut_main.h"

static void
test_set_helpers(void)
{
	struct brisk_cpuset a, b, c;
	uint32_t cpu, seen[8], n = 0;

	brisk_cpuset_zero(&a);
	CU_ASSERT_EQUAL(brisk_cpuset_count(&a), 0);
	CU_ASSERT_EQUAL(brisk_cpuset_next(&a, 0), UINT32_MAX);

	brisk_cpuset_set_cpu(&a, 0, true);
	brisk_cpuset_set_cpu(&a, 63, true);
	brisk_cpuset_set_cpu(&a, 64, true);
	brisk_cpuset_set_cpu(&a, 1023, true);
	brisk_cpuset_set_cpu(&a, 1024, true); /* out of range: ignored */
	CU_ASSERT_EQUAL(brisk_cpuset_count(&a), 4);
	CU_ASSERT_TRUE(brisk_cpuset_get_cpu(&a, 63));
	CU_ASSERT_FALSE(brisk_cpuset_get_cpu(&a, 62));
	CU_ASSERT_FALSE(brisk_cpuset_get_cpu(&a, 1024));
	CU_ASSERT_EQUAL(brisk_cpuset_next(&a, 1), 63);
	CU_ASSERT_EQUAL(brisk_cpuset_next(&a, 65), 1023);
	CU_ASSERT_EQUAL(brisk_cpuset_next(&a, 1024), UINT32_MAX);

	BRISK_CPUSET_FOREACH(cpu, &a) {
		if (n < 8) {
			seen[n] = cpu;
		}
		n++;
	}
	CU_ASSERT_EQUAL(n, 4);
	CU_ASSERT(seen[0] == 0 && seen[1] == 63 && seen[2] == 64 && seen[3] == 1023);

	brisk_cpuset_set_cpu(&a, 63, false);
	CU_ASSERT_FALSE(brisk_cpuset_get_cpu(&a, 63));
	CU_ASSERT_EQUAL(brisk_cpuset_count(&a), 3);

	brisk_cpuset_copy(&b, &a);
	CU_ASSERT_TRUE(brisk_cpuset_equal(&a, &b));
	brisk_cpuset_set_cpu(&b, 5, true);
	CU_ASSERT_FALSE(brisk_cpuset_equal(&a, &b));

	/* and / or */
	brisk_cpuset_zero(&c);
	brisk_cpuset_set_cpu(&c, 5, true);
	brisk_cpuset_set_cpu(&c, 64, true);
	brisk_cpuset_set_cpu(&c, 700, true);
	brisk_cpuset_copy(&b, &a);
	brisk_cpuset_and(&b, &c);
	CU_ASSERT_EQUAL(brisk_cpuset_count(&b), 1);
	CU_ASSERT_TRUE(brisk_cpuset_get_cpu(&b, 64));
	brisk_cpuset_copy(&b, &a);
	brisk_cpuset_or(&b, &c);
	CU_ASSERT_EQUAL(brisk_cpuset_count(&b), 5);
}

static void
expect_cpus(const char *str, const uint32_t *cpus, uint32_t n)
{
	struct brisk_cpuset set;
	uint32_t i;
	int rc = brisk_cpuset_parse(&set, str);

	CU_ASSERT_EQUAL(rc, 0);
	if (rc != 0) {
		fprintf(stderr, "parse '%s' failed: %d\n", str, rc);
		return;
	}
	CU_ASSERT_EQUAL(brisk_cpuset_count(&set), n);
	for (i = 0; i < n; i++) {
		CU_ASSERT_TRUE(brisk_cpuset_get_cpu(&set, cpus[i]));
	}
}

static void
test_parse_mask(void)
{
	static const uint32_t c01[] = { 0, 1 };
	static const uint32_t c4[] = { 4 };
	static const uint32_t c_ab[] = { 1, 3, 4, 5, 7 }; /* 0xba */
	static const uint32_t c_high[] = { 0, 1023 };
	static const uint32_t c_1024[] = { 2, 5, 12 };
	char top[260];

	expect_cpus("0x3", c01, 2);
	expect_cpus("0X3", c01, 2);
	expect_cpus("3", c01, 2);
	expect_cpus("10", c4, 1); /* a bare number is hex: 0x10 = cpu 4 */
	expect_cpus("0xba", c_ab, 5);
	expect_cpus("0xBA", c_ab, 5);
	/* "1024" is the mask 0x1024, not cpu 1024 (that one is "[1024]", refused). */
	expect_cpus("1024", c_1024, 3);
	expect_cpus("0x00000003", c01, 2); /* leading zeros fine */

	/* Highest representable cpu: 256 hex digits with the top bit set. */
	memset(top, '0', sizeof(top));
	top[0] = '0';
	top[1] = 'x';
	top[2] = '8';
	top[2 + 255] = '1';
	top[2 + 256] = '\0';
	expect_cpus(top, c_high, 2);
	/* Leading zeros beyond 1024 bits are harmless... */
	memmove(top + 3, top + 2, 257);
	top[2] = '0';
	expect_cpus(top, c_high, 2);
}

static void
test_parse_list(void)
{
	static const uint32_t c014[] = { 0, 1, 4 };
	static const uint32_t c0[] = { 0 };
	static const uint32_t c_big[] = { 2, 3, 4, 1023 };

	expect_cpus("0-1,4", c014, 3);
	expect_cpus("[0-1,4]", c014, 3);
	expect_cpus("[0,1,4]", c014, 3);
	expect_cpus("4,0-1", c014, 3);
	expect_cpus("0-1,1,4-4", c014, 3); /* overlaps fine */
	expect_cpus("[0]", c0, 1);
	expect_cpus("2-4,1023", c_big, 4);
}

static void
test_parse_bad(void)
{
	static const char *const bad[] = {
		"", "0x", "0", "0x0", "[]", "0-", "5-2", "[0,", "[0", "0,", ",0", "0,,1",
		"0-1024", "[1024]", "0xg", "zz", "0x3 ", " 0x3", "-1", "[0-1,4", "0-1]",
		"[0-1]]", "1-2-3", "0x3,4", "[0x3]", "99999999999999999999,1",
	};
	struct brisk_cpuset set, orig;
	char big[300];
	size_t i;

	brisk_cpuset_zero(&set);
	brisk_cpuset_set_cpu(&set, 7, true);
	brisk_cpuset_copy(&orig, &set);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = brisk_cpuset_parse(&set, bad[i]);

		if (rc != -EINVAL) {
			fprintf(stderr, "parse '%s' returned %d\n", bad[i], rc);
		}
		CU_ASSERT_EQUAL(rc, -EINVAL);
		CU_ASSERT_TRUE(brisk_cpuset_equal(&set, &orig)); /* unchanged on error */
	}
	CU_ASSERT_EQUAL(brisk_cpuset_parse(&set, NULL), -EINVAL);
	CU_ASSERT_EQUAL(brisk_cpuset_parse(NULL, "0x1"), -EINVAL);

	/* A mask with a bit for cpu 1024 (257 hex digits, leading 1). */
	memset(big, '0', sizeof(big));
	big[0] = '1';
	big[257] = '\0';
	CU_ASSERT_EQUAL(brisk_cpuset_parse(&set, big), -EINVAL);
	CU_ASSERT_TRUE(brisk_cpuset_equal(&set, &orig));
}

static void
test_fmt(void)
{
	struct brisk_cpuset set, back;
	char buf[BRISK_CPUSET_STR_MAX];
	char small[3];

	brisk_cpuset_zero(&set);
	CU_ASSERT_STRING_EQUAL(brisk_cpuset_fmt(&set, buf, sizeof(buf)), "0");
	brisk_cpuset_set_cpu(&set, 0, true);
	brisk_cpuset_set_cpu(&set, 1, true);
	CU_ASSERT_STRING_EQUAL(brisk_cpuset_fmt(&set, buf, sizeof(buf)), "3");
	brisk_cpuset_set_cpu(&set, 68, true);
	CU_ASSERT_STRING_EQUAL(brisk_cpuset_fmt(&set, buf, sizeof(buf)), "100000000000000003");
	CU_ASSERT_PTR_EQUAL(brisk_cpuset_fmt(&set, buf, sizeof(buf)), buf);

	/* Round trip through parse, including the highest cpu. */
	brisk_cpuset_set_cpu(&set, 1023, true);
	brisk_cpuset_fmt(&set, buf, sizeof(buf));
	CU_ASSERT_EQUAL(strlen(buf), 256);
	CU_ASSERT_EQUAL(buf[0], '8');
	CU_ASSERT_EQUAL(brisk_cpuset_parse(&back, buf), 0);
	CU_ASSERT_TRUE(brisk_cpuset_equal(&set, &back));

	/* A short buffer is truncated but always terminated. */
	brisk_cpuset_fmt(&set, small, sizeof(small));
	CU_ASSERT_EQUAL(strlen(small), 2);
	CU_ASSERT_STRING_EQUAL(small, "80");
}

/* The bad-input cases log errors on purpose; keep the output readable. */
static int ut_setup(void)
{
	if (getenv("BRISK_TEST_VERBOSE") == NULL) {
		brisk_log_set_print_level(BRISK_LOG_DISABLED);
	}
	return 0;
}

static const CU_TestInfo g_ut_tests[] = {
	{ "set_helpers", test_set_helpers },
	{ "parse_mask", test_parse_mask },
	{ "parse_list", test_parse_list },
	{ "parse_bad", test_parse_bad },
	{ "fmt", test_fmt },
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "cpuset", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "cpuset_ut",
	.setup = ut_setup,
	.suites = g_ut_suites,
};
