/* Bit arrays: resizable, with find-first-set/clear and population count. */
#ifndef BRISK_BIT_ARRAY_H
#define BRISK_BIT_ARRAY_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BRISK_BIT_ARRAY_NONE UINT32_MAX

struct brisk_bit_array;

/* All bits start clear. Returns NULL on allocation failure. */
struct brisk_bit_array *brisk_bit_array_create(uint32_t num_bits);
void brisk_bit_array_free(struct brisk_bit_array **ba);
/* Grows (new bits clear) or shrinks; *ba may move. 0 or -ENOMEM. */
int brisk_bit_array_resize(struct brisk_bit_array **ba, uint32_t num_bits);
uint32_t brisk_bit_array_capacity(const struct brisk_bit_array *ba);
/* Out-of-range bits read as clear. */
bool brisk_bit_array_get(const struct brisk_bit_array *ba, uint32_t bit);
/* 0, or -EINVAL when bit >= capacity. */
int brisk_bit_array_set(struct brisk_bit_array *ba, uint32_t bit);
int brisk_bit_array_clear(struct brisk_bit_array *ba, uint32_t bit);
void brisk_bit_array_set_all(struct brisk_bit_array *ba);
void brisk_bit_array_clear_all(struct brisk_bit_array *ba);
/* First set/clear bit at index >= start, or BRISK_BIT_ARRAY_NONE. */
uint32_t brisk_bit_array_find_first_set(const struct brisk_bit_array *ba, uint32_t start);
uint32_t brisk_bit_array_find_first_clear(const struct brisk_bit_array *ba, uint32_t start);
uint32_t brisk_bit_array_count_set(const struct brisk_bit_array *ba);
uint32_t brisk_bit_array_count_clear(const struct brisk_bit_array *ba);
/* Packed little-endian bit mask of (capacity + 7) / 8 bytes, bit i in byte i/8, bit i%8. */
void brisk_bit_array_store_mask(const struct brisk_bit_array *ba, void *mask);
void brisk_bit_array_load_mask(struct brisk_bit_array *ba, const void *mask);

#ifdef __cplusplus
}
#endif
#endif
