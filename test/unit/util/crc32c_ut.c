/* CRC32C: known vectors for both implementations, hw == sw on random input, chaining. */
#include <CUnit/Basic.h>

#include <stdlib.h>
#include <string.h>

#include <brisk/crc32c.h>
#include "../../common/ut_main.h"

struct vector {
	const char *name;
	uint8_t data[64];
	size_t len;
	uint32_t crc;
};

static struct vector g_vectors[5];

static void
fill_vectors(void)
{
	size_t i;

	g_vectors[0].name = "123456789";
	memcpy(g_vectors[0].data, "123456789", 9);
	g_vectors[0].len = 9;
	g_vectors[0].crc = 0xE3069283;

	g_vectors[1].name = "32 zeros";
	g_vectors[1].len = 32;
	g_vectors[1].crc = 0x8A9136AA;

	g_vectors[2].name = "32 x 0xff";
	memset(g_vectors[2].data, 0xff, 32);
	g_vectors[2].len = 32;
	g_vectors[2].crc = 0x62A8AB43;

	g_vectors[3].name = "0..31";
	for (i = 0; i < 32; i++) {
		g_vectors[3].data[i] = (uint8_t)i;
	}
	g_vectors[3].len = 32;
	g_vectors[3].crc = 0x46DD794E;

	g_vectors[4].name = "empty";
	g_vectors[4].len = 0;
	g_vectors[4].crc = 0;
}

static void
test_vectors_sw(void)
{
	size_t i;

	for (i = 0; i < sizeof(g_vectors) / sizeof(g_vectors[0]); i++) {
		uint32_t crc = ~brisk_crc32c_update_sw(g_vectors[i].data, g_vectors[i].len, ~0u);

		if (crc != g_vectors[i].crc) {
			fprintf(stderr, "sw %s: 0x%08x != 0x%08x\n", g_vectors[i].name, crc,
				g_vectors[i].crc);
		}
		CU_ASSERT_EQUAL(crc, g_vectors[i].crc);
	}
}

static void
test_vectors_hw(void)
{
	size_t i;

	if (!brisk_crc32c_hw_available()) {
		fprintf(stderr, "SSE4.2 not available: hw path not tested\n");
		return;
	}
	for (i = 0; i < sizeof(g_vectors) / sizeof(g_vectors[0]); i++) {
		uint32_t crc = ~brisk_crc32c_update_hw(g_vectors[i].data, g_vectors[i].len, ~0u);

		CU_ASSERT_EQUAL(crc, g_vectors[i].crc);
	}
}

static void
test_vectors_dispatch(void)
{
	size_t i;

	for (i = 0; i < sizeof(g_vectors) / sizeof(g_vectors[0]); i++) {
		CU_ASSERT_EQUAL(brisk_crc32c(g_vectors[i].data, g_vectors[i].len), g_vectors[i].crc);
		CU_ASSERT_EQUAL(~brisk_crc32c_update(g_vectors[i].data, g_vectors[i].len, ~0u),
				g_vectors[i].crc);
	}
}

/* hw and sw agree on every length 0..300 at every alignment 0..15, and on
 * random larger buffers with random start values. */
static void
test_hw_matches_sw(void)
{
	uint8_t *buf = malloc(70000);
	size_t len, off, i;
	int mismatches = 0;

	CU_ASSERT_FATAL(buf != NULL);
	srand(12345);
	for (i = 0; i < 70000; i++) {
		buf[i] = (uint8_t)rand();
	}
	for (off = 0; off < 16; off++) {
		for (len = 0; len <= 300; len++) {
			uint32_t sw = brisk_crc32c_update_sw(buf + off, len, ~0u);
			uint32_t any = brisk_crc32c_update(buf + off, len, ~0u);
			uint32_t hw = brisk_crc32c_hw_available() ?
				      brisk_crc32c_update_hw(buf + off, len, ~0u) : sw;

			mismatches += (sw != hw) + (sw != any);
		}
	}
	for (i = 0; i < 200; i++) {
		uint32_t seed = (uint32_t)rand();

		off = (size_t)rand() % 64;
		len = (size_t)rand() % (70000 - 64);
		uint32_t sw = brisk_crc32c_update_sw(buf + off, len, seed);
		uint32_t any = brisk_crc32c_update(buf + off, len, seed);
		mismatches += sw != any;
		if (brisk_crc32c_hw_available()) {
			mismatches += sw != brisk_crc32c_update_hw(buf + off, len, seed);
		}
	}
	CU_ASSERT_EQUAL(mismatches, 0);
	free(buf);
}

/* Feeding a buffer in random pieces gives the same CRC as one call. */
static void
test_chaining(void)
{
	uint8_t buf[4096];
	uint32_t whole, crc_sw, crc_any, crc_hw;
	size_t pos, piece, i;
	int round;

	for (i = 0; i < sizeof(buf); i++) {
		buf[i] = (uint8_t)(i * 7 + 3);
	}
	whole = brisk_crc32c(buf, sizeof(buf));
	srand(777);
	for (round = 0; round < 50; round++) {
		crc_sw = crc_any = crc_hw = ~0u;
		for (pos = 0; pos < sizeof(buf); pos += piece) {
			piece = (size_t)rand() % 200;
			if (piece > sizeof(buf) - pos) {
				piece = sizeof(buf) - pos;
			}
			crc_sw = brisk_crc32c_update_sw(buf + pos, piece, crc_sw);
			crc_any = brisk_crc32c_update(buf + pos, piece, crc_any);
			if (brisk_crc32c_hw_available()) {
				crc_hw = brisk_crc32c_update_hw(buf + pos, piece, crc_hw);
			} else {
				crc_hw = crc_sw;
			}
		}
		CU_ASSERT_EQUAL(~crc_sw, whole);
		CU_ASSERT_EQUAL(~crc_any, whole);
		CU_ASSERT_EQUAL(~crc_hw, whole);
	}
	/* Known vector split in two. */
	crc_any = brisk_crc32c_update("1234", 4, ~0u);
	crc_any = brisk_crc32c_update("56789", 5, crc_any);
	CU_ASSERT_EQUAL(~crc_any, 0xE3069283);
}

/* A single flipped bit always changes the CRC (CRCs detect all 1-bit errors). */
static void
test_detects_bit_flip(void)
{
	uint8_t buf[512];
	uint32_t base;
	size_t bit;
	int misses = 0;

	memset(buf, 0x5a, sizeof(buf));
	base = brisk_crc32c(buf, sizeof(buf));
	for (bit = 0; bit < sizeof(buf) * 8; bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		misses += brisk_crc32c(buf, sizeof(buf)) == base;
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	CU_ASSERT_EQUAL(misses, 0);
}

static int ut_setup(void)
{
	fill_vectors();
	return 0;
}

static const CU_TestInfo g_ut_tests[] = {
	{ "vectors_sw", test_vectors_sw },
	{ "vectors_hw", test_vectors_hw },
	{ "vectors_dispatch", test_vectors_dispatch },
	{ "hw_matches_sw", test_hw_matches_sw },
	{ "chaining", test_chaining },
	{ "detects_bit_flip", test_detects_bit_flip },
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "crc32c", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "crc32c_ut",
	.setup = ut_setup,
	.suites = g_ut_suites,
};
