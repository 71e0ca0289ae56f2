/*
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78). The SSE4.2 crc32
 * instruction when the CPU has it, slicing-by-8 tables otherwise.
 */
#include <brisk/crc32c.h>

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

#define CRC32C_POLY_REFLECTED 0x82F63B78u

/* g_table[0] is the classic byte-at-a-time table; g_table[k][b] is the CRC
 * of byte b followed by k zero bytes, which lets 8 input bytes be folded
 * with 8 independent lookups. */
static uint32_t g_table[8][256];
static pthread_once_t g_table_once = PTHREAD_ONCE_INIT;

static void
build_tables(void)
{
	uint32_t i, k, crc;

	for (i = 0; i < 256; i++) {
		crc = i;
		for (k = 0; k < 8; k++) {
			crc = (crc >> 1) ^ ((crc & 1) ? CRC32C_POLY_REFLECTED : 0);
		}
		g_table[0][i] = crc;
	}
	for (i = 0; i < 256; i++) {
		for (k = 1; k < 8; k++) {
			crc = g_table[k - 1][i];
			g_table[k][i] = (crc >> 8) ^ g_table[0][crc & 0xff];
		}
	}
}

static inline uint32_t
sw_byte(uint32_t crc, uint8_t b)
{
	return (crc >> 8) ^ g_table[0][(crc ^ b) & 0xff];
}

uint32_t
brisk_crc32c_update_sw(const void *buf, size_t len, uint32_t crc)
{
	const uint8_t *p = buf;
	uint64_t v;

	/* pthread_once also orders the table writes before our reads. */
	pthread_once(&g_table_once, build_tables);

	/* Align to 8 bytes so the word loads below are aligned (faster on
	 * older CPUs; memcpy keeps them legal either way). */
	while (len > 0 && ((uintptr_t)p & 7) != 0) {
		crc = sw_byte(crc, *p++);
		len--;
	}
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	while (len >= 8) {
		memcpy(&v, p, sizeof(v));
		v ^= crc;
		crc = g_table[7][v & 0xff] ^
		      g_table[6][(v >> 8) & 0xff] ^
		      g_table[5][(v >> 16) & 0xff] ^
		      g_table[4][(v >> 24) & 0xff] ^
		      g_table[3][(v >> 32) & 0xff] ^
		      g_table[2][(v >> 40) & 0xff] ^
		      g_table[1][(v >> 48) & 0xff] ^
		      g_table[0][v >> 56];
		p += 8;
		len -= 8;
	}
#else
	(void)v;
#endif
	while (len > 0) {
		crc = sw_byte(crc, *p++);
		len--;
	}
	return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t
brisk_crc32c_update_hw(const void *buf, size_t len, uint32_t crc)
{
	const uint8_t *p = buf;
	uint64_t c = crc, v;

	while (len > 0 && ((uintptr_t)p & 7) != 0) {
		c = _mm_crc32_u8((uint32_t)c, *p++);
		len--;
	}
	while (len >= 8) {
		memcpy(&v, p, sizeof(v));
		c = _mm_crc32_u64(c, v);
		p += 8;
		len -= 8;
	}
	while (len > 0) {
		c = _mm_crc32_u8((uint32_t)c, *p++);
		len--;
	}
	return (uint32_t)c;
}

static bool
detect_hw(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("sse4.2");
}
#else
/* No instruction on this architecture: the "hw" entry point is the table. */
uint32_t
brisk_crc32c_update_hw(const void *buf, size_t len, uint32_t crc)
{
	return brisk_crc32c_update_sw(buf, len, crc);
}

static bool
detect_hw(void)
{
	return false;
}
#endif

/* -1 unknown, 0 no, 1 yes. Detection is idempotent, so racing first callers
 * just compute the same answer; relaxed is enough as nothing else is
 * published through this value. */
static int g_hw_state = -1;

bool
brisk_crc32c_hw_available(void)
{
	int state = __atomic_load_n(&g_hw_state, __ATOMIC_RELAXED);

	if (state < 0) {
		state = detect_hw() ? 1 : 0;
		__atomic_store_n(&g_hw_state, state, __ATOMIC_RELAXED);
	}
	return state == 1;
}

uint32_t
brisk_crc32c_update(const void *buf, size_t len, uint32_t crc)
{
	if (brisk_crc32c_hw_available()) {
		return brisk_crc32c_update_hw(buf, len, crc);
	}
	return brisk_crc32c_update_sw(buf, len, crc);
}

uint32_t
brisk_crc32c(const void *buf, size_t len)
{
	return ~brisk_crc32c_update(buf, len, ~0u);
}
