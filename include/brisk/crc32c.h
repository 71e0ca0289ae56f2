/* CRC32C (Castagnoli): SSE4.2 instruction when the CPU has it, table otherwise. */
#ifndef BRISK_CRC32C_H
#define BRISK_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Standard CRC32C of a buffer (init ~0, final xor ~0): "123456789" -> 0xE3069283. */
uint32_t brisk_crc32c(const void *buf, size_t len);
/* Raw update for chaining pieces: crc = ~0; crc = update(..); ...; result = ~crc. */
uint32_t brisk_crc32c_update(const void *buf, size_t len, uint32_t crc);
/* The two implementations, exposed so tests can check both. */
uint32_t brisk_crc32c_update_sw(const void *buf, size_t len, uint32_t crc);
uint32_t brisk_crc32c_update_hw(const void *buf, size_t len, uint32_t crc); /* only if available */
bool brisk_crc32c_hw_available(void);

#ifdef __cplusplus
}
#endif
#endif
