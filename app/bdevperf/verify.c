/*
 * Data patterns of the verify and reset workloads. Every block written
 * carries its own block number and the write's seed in a header, then words
 * derived from both, so a read that returns another block's data, stale data
 * from an earlier write, or corrupted bytes is caught and described.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <brisk/log.h>

#include "bdevperf.h"

#define PATTERN_MIX 0x9E3779B97F4A7C15ull /* golden-ratio multiplier: spreads nearby inputs */

static inline uint64_t pattern_word(uint64_t block, uint64_t seed, uint64_t i)
{
	return ((block * PATTERN_MIX) ^ seed) + i * PATTERN_MIX;
}

void bdevperf_pattern_fill(void *buf, uint64_t len, uint32_t block_size, uint64_t offset_blocks,
			   uint64_t seed)
{
	uint64_t words = block_size / sizeof(uint64_t);
	uint64_t *w = buf;

	for (uint64_t b = 0; b < len / block_size; b++) {
		uint64_t block = offset_blocks + b;

		w[0] = block;
		w[1] = seed;
		for (uint64_t i = 2; i < words; i++) {
			w[i] = pattern_word(block, seed, i);
		}
		w += words;
	}
}

int bdevperf_pattern_check(const char *bdev_name, const void *buf, uint64_t len, uint32_t block_size,
			   uint64_t offset_blocks, uint64_t seed, uint64_t *bad_offset)
{
	uint64_t words = block_size / sizeof(uint64_t);
	const uint64_t *w = buf;

	for (uint64_t b = 0; b < len / block_size; b++) {
		uint64_t block = offset_blocks + b;

		for (uint64_t i = 0; i < words; i++) {
			uint64_t want = i == 0 ? block : i == 1 ? seed : pattern_word(block, seed, i);

			if (w[i] != want) {
				/* First differing byte of the (little-endian) word. */
				uint64_t byte = i * sizeof(uint64_t) +
						(uint64_t)__builtin_ctzll(w[i] ^ want) / 8;

				BRISK_ERRLOG("verify: bdev %s: mismatch at byte offset %" PRIu64
					     " (block %" PRIu64 ", byte %" PRIu64 " in block): 8-byte word at "
					     "byte %" PRIu64 " expected 0x%016" PRIx64 ", got 0x%016" PRIx64
					     " (block header says block %" PRIu64 ", seed 0x%" PRIx64
					     "; expected seed 0x%" PRIx64 ")\n",
					     bdev_name, block * block_size + byte, block, byte,
					     i * sizeof(uint64_t), want, w[i], w[0], w[1], seed);
				if (bad_offset != NULL) {
					*bad_offset = block * block_size + byte;
				}
				return -EILSEQ;
			}
		}
		w += words;
	}
	return 0;
}
