/* Bit arrays: set/get/clear, bounds, searches, counts, resize, mask store/load. */
#include <CUnit/Basic.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/bit_array.h>
#include "../../common/ut_main.h"

static void
test_create_free(void)
{
	struct brisk_bit_array *ba = brisk_bit_array_create(100);

	CU_ASSERT_FATAL(ba != NULL);
	CU_ASSERT_EQUAL(brisk_bit_array_capacity(ba), 100);
	CU_ASSERT_EQUAL(brisk_bit_array_count_set(ba), 0);
	CU_ASSERT_EQUAL(brisk_bit_array_count_clear(ba), 100);
	brisk_bit_array_free(&ba);
	CU_ASSERT(ba == NULL);
	brisk_bit_array_free(&ba); /* freeing NULL is harmless */

	ba = brisk_bit_array_create(0);
	CU_ASSERT_FATAL(ba != NULL);
	CU_ASSERT_EQUAL(brisk_bit_array_capacity(ba), 0);
	CU_ASSERT_EQUAL(brisk_bit_array_find_first_set(ba, 0), BRISK_BIT_ARRAY_NONE);
	CU_ASSERT_EQUAL(brisk_bit_array_find_first_clear(ba, 0), BRISK_BIT_ARRAY_NONE);
	CU_ASSERT_EQUAL(brisk_bit_array_set(ba, 0), -EINVAL);
	brisk_bit_array_set_all(ba);
	CU_ASSERT_EQUAL(brisk_bit_array_count_set(ba), 0);
	brisk_bit_array_free(&ba);
}

static void
test_set_get_clear(void)
{
	struct brisk_bit_array *ba = brisk_bit_array_create(130);
	uint32_t i;

	CU_ASSERT_FATAL(ba != NULL);
	CU_ASSERT_EQUAL(brisk_bit_array_set(ba, 0), 0);
	CU_ASSERT_EQUAL(brisk_bit_array_set(ba, 63), 0);
	CU_ASSERT_EQUAL(brisk_bit_array_set(ba, 64), 0);
	CU_ASSERT_EQUAL(brisk_bit_array_set(ba, 129), 0);
	for (i = 0; i < 130; i++) {
		CU_ASSERT_EQUAL(brisk_bit_array_get(ba, i), i == 0 || i == 63 || i == 64 || i == 129);
	}
	CU_ASSERT_EQUAL(brisk_bit_array_count_set(ba), 4);
	CU_ASSERT_EQUAL(brisk_bit_array_count_clear(ba), 126);
	/* Setting twice is idempotent. */
	CU_ASSERT_EQUAL(brisk_bit_array_set(ba, 63), 0);
	CU_ASSERT_EQUAL(brisk_bit_array_count_set(ba), 4);

	CU_ASSERT_EQUAL(brisk_bit_array_clear(ba, 63), 0);
	CU_ASSERT_FALSE(brisk_bit_array_get(ba, 63));
	CU_ASSERT_EQUAL(brisk_bit_array_count_set(ba), 3);

	/* Out of range. */
	CU_ASSERT_EQUAL(brisk_bit_array_set(ba, 130), -EINVAL);
	CU_ASSERT_EQUAL(brisk_bit_array_set(ba, UINT32_MAX), -EINVAL);
	CU_ASSERT_EQUAL(brisk_bit_array_clear(ba, 130), -EINVAL);
	CU_ASSERT_FALSE(brisk_bit_array_get(ba, 130));
	CU_ASSERT_FALSE(brisk_bit_array_get(ba, UINT32_MAX));
	CU_ASSERT_EQUAL(brisk_bit_array_count_set(ba), 3);
	brisk_bit_array_free(&ba);
}

static void
test_set_all_clear_all(void)
{
	struct brisk_bit_array *ba = brisk_bit_array_create(70);

	CU_ASSERT_FATAL(ba != NULL);
	brisk_bit_array_set_all(ba);
	CU_ASSERT_EQUAL(brisk_bit_array_count_set(ba), 70);
	CU_ASSERT_EQUAL(brisk_bit_array_count_clear(ba), 0);
	CU_ASSERT_EQUAL(brisk_bit_array_find_first_clear(ba, 0), BRISK_BIT_ARRAY_NONE);
	CU_ASSERT_FALSE(brisk_bit_array_get(ba, 70));
	brisk_bit_array_clear_all(ba);
	CU_ASSERT_EQUAL(brisk_bit_array_count_set(ba), 0);
	CU_ASSERT_EQUAL(brisk_bit_array_find_first_set(ba, 0), BRISK_BIT_ARRAY_NONE);
	brisk_bit_array_free(&ba);
}

static void
test_find(void)
{
	struct brisk_bit_array *ba = brisk_bit_array_create(300);

	CU_ASSERT_FATAL(ba != NULL);
	CU_ASSERT_EQUAL(brisk_bit_array_find_first_set(ba, 0), BRISK_BIT_ARRAY_NONE);
	CU_ASSERT_EQUAL(brisk_bit_array_find_first_clear(ba, 0), 0);
	CU_ASSERT_EQUAL(brisk_bit_array_find_first_clear(ba, 299), 299);
	CU_ASSERT_EQUAL(brisk_bit_array_find_first_clear(ba, 300), BRISK_BIT_ARRAY_NONE);

	brisk_bit_array_set(ba, 5);
	brisk_bit_array_set(ba, 64);
	brisk_bit_array_set(ba, 250);
	CU_ASSERT_EQUAL(brisk_bit_array_find_first_set(ba, 0), 5);
	CU_ASSERT_EQUAL(brisk_bit_array_find_first_set(ba, 5), 5);
	CU_ASSERT_EQUAL(brisk_bit_array_find_first_set(ba, 6), 64);
	CU_ASSERT_EQUAL(brisk_bit_array_find_first_set(ba, 65), 250);
	CU_ASSERT_EQUAL(brisk_bit_array_find_first_set(ba, 251), BRISK_BIT_ARRAY_NONE);
	CU_ASSERT_EQUAL(brisk_bit_array_find_first_set(ba, 1000), BRISK_BIT_ARRAY_NONE);

	brisk_bit_array_set_all(ba);
	brisk_bit_array_clear(ba, 7);
	brisk_bit_array_clear(ba, 128);
	CU_ASSERT_EQUAL(brisk_bit_array_find_first_clear(ba, 0), 7);
	CU_ASSERT_EQUAL(brisk_bit_array_find_first_clear(ba, 8), 128);
	/* Past the last clear bit: the tail of the last word must not count. */
	CU_ASSERT_EQUAL(brisk_bit_array_find_first_clear(ba, 129), BRISK_BIT_ARRAY_NONE);
	CU_ASSERT_EQUAL(brisk_bit_array_find_first_clear(ba, UINT32_MAX), BRISK_BIT_ARRAY_NONE);
	brisk_bit_array_free(&ba);
}

/* Compare against a plain bool array under random operations. */
static void
test_random_against_model(void)
{
	enum { N = 1000 };
	struct brisk_bit_array *ba = brisk_bit_array_create(N);
	bool model[N] = { false };
	uint32_t i, start, expect_set, expect_clear, count;
	int round, bad = 0;

	CU_ASSERT_FATAL(ba != NULL);
	srand(42);
	for (round = 0; round < 5000; round++) {
		i = (uint32_t)rand() % N;
		if (rand() & 1) {
			brisk_bit_array_set(ba, i);
			model[i] = true;
		} else {
			brisk_bit_array_clear(ba, i);
			model[i] = false;
		}
		start = (uint32_t)rand() % N;
		expect_set = expect_clear = BRISK_BIT_ARRAY_NONE;
		for (i = start; i < N; i++) {
			if (model[i] && expect_set == BRISK_BIT_ARRAY_NONE) {
				expect_set = i;
			}
			if (!model[i] && expect_clear == BRISK_BIT_ARRAY_NONE) {
				expect_clear = i;
			}
		}
		bad += brisk_bit_array_find_first_set(ba, start) != expect_set;
		bad += brisk_bit_array_find_first_clear(ba, start) != expect_clear;
	}
	count = 0;
	for (i = 0; i < N; i++) {
		count += model[i];
		bad += brisk_bit_array_get(ba, i) != model[i];
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(brisk_bit_array_count_set(ba), count);
	CU_ASSERT_EQUAL(brisk_bit_array_count_clear(ba), N - count);
	brisk_bit_array_free(&ba);
}

static void
test_resize(void)
{
	struct brisk_bit_array *ba = brisk_bit_array_create(10);
	uint32_t i;

	CU_ASSERT_FATAL(ba != NULL);
	brisk_bit_array_set(ba, 3);
	brisk_bit_array_set(ba, 9);

	/* Grow: old bits kept, new bits clear. */
	CU_ASSERT_EQUAL(brisk_bit_array_resize(&ba, 1000), 0);
	CU_ASSERT_EQUAL(brisk_bit_array_capacity(ba), 1000);
	CU_ASSERT(brisk_bit_array_get(ba, 3));
	CU_ASSERT(brisk_bit_array_get(ba, 9));
	CU_ASSERT_EQUAL(brisk_bit_array_count_set(ba), 2);
	CU_ASSERT_EQUAL(brisk_bit_array_set(ba, 999), 0);

	/* Shrink within a word: bits past the new end are dropped, and stay
	 * dropped when growing back. */
	brisk_bit_array_set_all(ba);
	CU_ASSERT_EQUAL(brisk_bit_array_resize(&ba, 5), 0);
	CU_ASSERT_EQUAL(brisk_bit_array_capacity(ba), 5);
	CU_ASSERT_EQUAL(brisk_bit_array_count_set(ba), 5);
	CU_ASSERT_EQUAL(brisk_bit_array_set(ba, 5), -EINVAL);
	CU_ASSERT_EQUAL(brisk_bit_array_resize(&ba, 200), 0);
	CU_ASSERT_EQUAL(brisk_bit_array_count_set(ba), 5);
	for (i = 0; i < 200; i++) {
		CU_ASSERT_EQUAL(brisk_bit_array_get(ba, i), i < 5);
	}
	CU_ASSERT_EQUAL(brisk_bit_array_find_first_clear(ba, 0), 5);

	/* Shrink to nothing and back. */
	CU_ASSERT_EQUAL(brisk_bit_array_resize(&ba, 0), 0);
	CU_ASSERT_EQUAL(brisk_bit_array_count_set(ba), 0);
	CU_ASSERT_EQUAL(brisk_bit_array_resize(&ba, 64), 0);
	CU_ASSERT_EQUAL(brisk_bit_array_count_set(ba), 0);
	brisk_bit_array_free(&ba);

	/* Resizing a NULL array creates one. */
	CU_ASSERT_EQUAL(brisk_bit_array_resize(&ba, 17), 0);
	CU_ASSERT_FATAL(ba != NULL);
	CU_ASSERT_EQUAL(brisk_bit_array_capacity(ba), 17);
	brisk_bit_array_free(&ba);
	CU_ASSERT_EQUAL(brisk_bit_array_resize(NULL, 17), -EINVAL);
}

static void
test_mask_store_load(void)
{
	struct brisk_bit_array *ba = brisk_bit_array_create(20);
	struct brisk_bit_array *copy = brisk_bit_array_create(20);
	uint8_t mask[4];
	uint8_t big[16];
	uint32_t i;

	CU_ASSERT_FATAL(ba != NULL && copy != NULL);
	brisk_bit_array_set(ba, 0);
	brisk_bit_array_set(ba, 9);
	brisk_bit_array_set(ba, 19);
	memset(mask, 0xaa, sizeof(mask));
	brisk_bit_array_store_mask(ba, mask);
	/* Bit i lives in byte i/8, bit i%8; (20+7)/8 = 3 bytes written. */
	CU_ASSERT_EQUAL(mask[0], 0x01);
	CU_ASSERT_EQUAL(mask[1], 0x02);
	CU_ASSERT_EQUAL(mask[2], 0x08);
	CU_ASSERT_EQUAL(mask[3], 0xaa); /* untouched */

	brisk_bit_array_set(copy, 5); /* load replaces the contents */
	brisk_bit_array_load_mask(copy, mask);
	for (i = 0; i < 20; i++) {
		CU_ASSERT_EQUAL(brisk_bit_array_get(copy, i), brisk_bit_array_get(ba, i));
	}

	/* Bits past the capacity in the last mask byte are ignored. */
	mask[2] = 0xff;
	brisk_bit_array_load_mask(copy, mask);
	CU_ASSERT_EQUAL(brisk_bit_array_count_set(copy), 2 + 4);
	brisk_bit_array_free(&ba);
	brisk_bit_array_free(&copy);

	/* Multi-word round trip. */
	ba = brisk_bit_array_create(128);
	copy = brisk_bit_array_create(128);
	CU_ASSERT_FATAL(ba != NULL && copy != NULL);
	for (i = 0; i < 128; i += 3) {
		brisk_bit_array_set(ba, i);
	}
	brisk_bit_array_store_mask(ba, big);
	CU_ASSERT_EQUAL(big[0], 0x49); /* bits 0, 3, 6 */
	CU_ASSERT_EQUAL(big[8], 0x24); /* bits 66, 69 -> byte 8, bits 2 and 5 */
	brisk_bit_array_load_mask(copy, big);
	for (i = 0; i < 128; i++) {
		CU_ASSERT_EQUAL(brisk_bit_array_get(copy, i), i % 3 == 0);
	}
	brisk_bit_array_free(&ba);
	brisk_bit_array_free(&copy);
}

static const CU_TestInfo g_ut_tests[] = {
	{ "create_free", test_create_free },
	{ "set_get_clear", test_set_get_clear },
	{ "set_all_clear_all", test_set_all_clear_all },
	{ "find", test_find },
	{ "random_against_model", test_random_against_model },
	{ "resize", test_resize },
	{ "mask_store_load", test_mask_store_load },
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "bit_array", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "bit_array_ut",
	.suites = g_ut_suites,
};
