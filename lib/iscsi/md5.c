/*
 * MD5 (RFC 1321), needed only by CHAP (RFC 1994, CHAP_A=5). Small and
 * one-shot over scattered pieces: CHAP hashes identifier, secret and
 * challenge, never much data.
 */
#include <string.h>

#include "iscsi_chap.h"

static const uint32_t g_k[64] = {
	0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
	0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
	0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
	0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
	0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
	0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
	0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
	0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};
static const uint8_t g_s[64] = {
	7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
	5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
	4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
	6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
};

struct md5 {
	uint32_t h[4];
	uint8_t block[64];
	uint32_t fill;
	uint64_t total;
};

static uint32_t rol(uint32_t x, uint8_t n)
{
	return (x << n) | (x >> (32 - n));
}

static uint32_t md5_f(int i, uint32_t b, uint32_t c, uint32_t d, int *g)
{
	if (i < 16) {
		*g = i;
		return (b & c) | (~b & d);
	}
	if (i < 32) {
		*g = (5 * i + 1) % 16;
		return (d & b) | (~d & c);
	}
	if (i < 48) {
		*g = (3 * i + 5) % 16;
		return b ^ c ^ d;
	}
	*g = (7 * i) % 16;
	return c ^ (b | ~d);
}

static void md5_block(struct md5 *m)
{
	uint32_t w[16], a = m->h[0], b = m->h[1], c = m->h[2], d = m->h[3];

	for (int i = 0; i < 16; i++) {
		w[i] = (uint32_t)m->block[i * 4] | (uint32_t)m->block[i * 4 + 1] << 8 |
		       (uint32_t)m->block[i * 4 + 2] << 16 | (uint32_t)m->block[i * 4 + 3] << 24;
	}
	for (int i = 0; i < 64; i++) {
		int g;
		uint32_t f = md5_f(i, b, c, d, &g) + a + g_k[i] + w[g];

		a = d;
		d = c;
		c = b;
		b = b + rol(f, g_s[i]);
	}
	m->h[0] += a;
	m->h[1] += b;
	m->h[2] += c;
	m->h[3] += d;
}

static void md5_update(struct md5 *m, const uint8_t *p, size_t len)
{
	m->total += len;
	while (len > 0) {
		size_t n = 64 - m->fill < len ? 64 - m->fill : len;

		memcpy(m->block + m->fill, p, n);
		m->fill += n;
		p += n;
		len -= n;
		if (m->fill == 64) {
			md5_block(m);
			m->fill = 0;
		}
	}
}

void iscsi_md5(const struct iscsi_md5_piece *pieces, int n, uint8_t out[16])
{
	struct md5 m = {.h = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476}};
	uint8_t pad[72] = {0x80};
	uint64_t bits;
	size_t padlen;

	for (int i = 0; i < n; i++) {
		md5_update(&m, pieces[i].p, pieces[i].len);
	}
	bits = m.total * 8;
	padlen = (m.fill < 56 ? 56 : 120) - m.fill;
	for (int i = 0; i < 8; i++) {
		pad[padlen + i] = (uint8_t)(bits >> (8 * i));
	}
	md5_update(&m, pad, padlen + 8);
	for (int i = 0; i < 16; i++) {
		out[i] = (uint8_t)(m.h[i / 4] >> (8 * (i % 4)));
	}
}
