/*
 * Resizable bit arrays stored as 64-bit words. Invariant: bits at or past the
 * capacity in the last word are always clear, so counts and searches can work
 * a word at a time without masking every word.
 */
#include <brisk/bit_array.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct brisk_bit_array {
	uint32_t num_bits;
	uint64_t words[];
};

static inline uint32_t
word_count(uint32_t num_bits)
{
	return (uint32_t)(((uint64_t)num_bits + 63) / 64);
}

static inline size_t
alloc_size(uint32_t num_bits)
{
	return sizeof(struct brisk_bit_array) + (size_t)word_count(num_bits) * sizeof(uint64_t);
}

/* Mask of the valid bits in the last word (all ones when it is full). */
static inline uint64_t
tail_mask(uint32_t num_bits)
{
	uint32_t rem = num_bits % 64;

	return rem == 0 ? ~0ULL : (1ULL << rem) - 1;
}

static void
clear_tail(struct brisk_bit_array *ba)
{
	uint32_t words = word_count(ba->num_bits);

	if (words > 0) {
		ba->words[words - 1] &= tail_mask(ba->num_bits);
	}
}

struct brisk_bit_array *
brisk_bit_array_create(uint32_t num_bits)
{
	struct brisk_bit_array *ba = calloc(1, alloc_size(num_bits));

	if (ba != NULL) {
		ba->num_bits = num_bits;
	}
	return ba;
}

void
brisk_bit_array_free(struct brisk_bit_array **ba)
{
	if (ba != NULL) {
		free(*ba);
		*ba = NULL;
	}
}

int
brisk_bit_array_resize(struct brisk_bit_array **bap, uint32_t num_bits)
{
	struct brisk_bit_array *ba;
	uint32_t old_words, new_words;

	if (bap == NULL) {
		return -EINVAL;
	}
	if (*bap == NULL) {
		*bap = brisk_bit_array_create(num_bits);
		return *bap == NULL ? -ENOMEM : 0;
	}
	old_words = word_count((*bap)->num_bits);
	new_words = word_count(num_bits);
	ba = realloc(*bap, alloc_size(num_bits));
	if (ba == NULL) {
		return -ENOMEM;
	}
	if (new_words > old_words) {
		memset(&ba->words[old_words], 0, (size_t)(new_words - old_words) * sizeof(uint64_t));
	}
	ba->num_bits = num_bits;
	/* Shrinking within a word leaves old bits past the new end: clear them
	 * so a later grow exposes them as clear. */
	clear_tail(ba);
	*bap = ba;
	return 0;
}

uint32_t
brisk_bit_array_capacity(const struct brisk_bit_array *ba)
{
	return ba->num_bits;
}

bool
brisk_bit_array_get(const struct brisk_bit_array *ba, uint32_t bit)
{
	if (bit >= ba->num_bits) {
		return false;
	}
	return (ba->words[bit / 64] >> (bit % 64)) & 1;
}

int
brisk_bit_array_set(struct brisk_bit_array *ba, uint32_t bit)
{
	if (bit >= ba->num_bits) {
		return -EINVAL;
	}
	ba->words[bit / 64] |= 1ULL << (bit % 64);
	return 0;
}

int
brisk_bit_array_clear(struct brisk_bit_array *ba, uint32_t bit)
{
	if (bit >= ba->num_bits) {
		return -EINVAL;
	}
	ba->words[bit / 64] &= ~(1ULL << (bit % 64));
	return 0;
}

void
brisk_bit_array_set_all(struct brisk_bit_array *ba)
{
	memset(ba->words, 0xff, (size_t)word_count(ba->num_bits) * sizeof(uint64_t));
	clear_tail(ba);
}

void
brisk_bit_array_clear_all(struct brisk_bit_array *ba)
{
	memset(ba->words, 0, (size_t)word_count(ba->num_bits) * sizeof(uint64_t));
}

/* Shared search: invert == ~0 looks for clear bits, 0 for set bits. */
static uint32_t
find_first(const struct brisk_bit_array *ba, uint32_t start, uint64_t invert)
{
	uint32_t words = word_count(ba->num_bits);
	uint32_t i, bit;
	uint64_t w;

	if (start >= ba->num_bits) {
		return BRISK_BIT_ARRAY_NONE;
	}
	i = start / 64;
	/* Drop the bits below start in the first word. */
	w = (ba->words[i] ^ invert) & (~0ULL << (start % 64));
	for (;;) {
		if (w != 0) {
			bit = i * 64 + (uint32_t)__builtin_ctzll(w);
			/* Inverted tail bits past the capacity look clear: reject them. */
			return bit < ba->num_bits ? bit : BRISK_BIT_ARRAY_NONE;
		}
		if (++i >= words) {
			return BRISK_BIT_ARRAY_NONE;
		}
		w = ba->words[i] ^ invert;
	}
}

uint32_t
brisk_bit_array_find_first_set(const struct brisk_bit_array *ba, uint32_t start)
{
	return find_first(ba, start, 0);
}

uint32_t
brisk_bit_array_find_first_clear(const struct brisk_bit_array *ba, uint32_t start)
{
	return find_first(ba, start, ~0ULL);
}

uint32_t
brisk_bit_array_count_set(const struct brisk_bit_array *ba)
{
	uint32_t words = word_count(ba->num_bits);
	uint32_t i, count = 0;

	for (i = 0; i < words; i++) {
		count += (uint32_t)__builtin_popcountll(ba->words[i]);
	}
	return count;
}

uint32_t
brisk_bit_array_count_clear(const struct brisk_bit_array *ba)
{
	return ba->num_bits - brisk_bit_array_count_set(ba);
}

/* Byte-by-byte so the on-disk layout is the same on any host byte order. */
void
brisk_bit_array_store_mask(const struct brisk_bit_array *ba, void *mask)
{
	uint8_t *out = mask;
	uint32_t bytes = (uint32_t)(((uint64_t)ba->num_bits + 7) / 8);
	uint32_t i;

	for (i = 0; i < bytes; i++) {
		out[i] = (uint8_t)(ba->words[i / 8] >> ((i % 8) * 8));
	}
}

void
brisk_bit_array_load_mask(struct brisk_bit_array *ba, const void *mask)
{
	const uint8_t *in = mask;
	uint32_t bytes = (uint32_t)(((uint64_t)ba->num_bits + 7) / 8);
	uint32_t i;

	brisk_bit_array_clear_all(ba);
	for (i = 0; i < bytes; i++) {
		ba->words[i / 8] |= (uint64_t)in[i] << ((i % 8) * 8);
	}
	/* The last byte may hold bits past the capacity: keep the invariant. */
	clear_tail(ba);
}
