/*
 * CHAP value encodings and the response computation (RFC 7143 12.1.3 and
 * 6.1: binary values are "0x" hex or "0b" base64; RFC 1994: the response is
 * MD5 of identifier, secret and challenge).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "iscsi_chap.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

static int decode_hex(const char *s, uint8_t *out, size_t cap)
{
	size_t len = strlen(s), n = 0, i = 0;

	if (len == 0) {
		return -EINVAL;
	}
	/* An odd digit count means a leading zero nibble. */
	if (len % 2 == 1) {
		if (hexval(s[0]) < 0 || cap == 0) {
			return -EINVAL;
		}
		out[n++] = (uint8_t)hexval(s[0]);
		i = 1;
	}
	for (; i < len; i += 2) {
		int hi = hexval(s[i]), lo = hexval(s[i + 1]);

		if (hi < 0 || lo < 0 || n == cap) {
			return -EINVAL;
		}
		out[n++] = (uint8_t)(hi << 4 | lo);
	}
	return (int)n;
}

static int b64val(char c)
{
	const char *tab = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(tab, c) : NULL;

	return p ? (int)(p - tab) : -1;
}

static int decode_b64(const char *s, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;

	for (; *s != '\0' && *s != '='; s++) {
		int v = b64val(*s);

		if (v < 0) {
			return -EINVAL;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == cap) {
				return -EINVAL;
			}
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return n > 0 ? (int)n : -EINVAL;
}

int iscsi_chap_decode(const char *s, uint8_t *out, size_t cap)
{
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		return decode_hex(s + 2, out, cap);
	}
	if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
		return decode_b64(s + 2, out, cap);
	}
	return -EINVAL;
}

void iscsi_chap_encode(const uint8_t *buf, size_t len, char *out, size_t cap)
{
	size_t o = 0;

	if (cap < 3) {
		return;
	}
	out[o++] = '0';
	out[o++] = 'x';
	for (size_t i = 0; i < len && o + 3 <= cap; i++) {
		snprintf(out + o, 3, "%02x", buf[i]);
		o += 2;
	}
	out[o] = '\0';
}

void iscsi_chap_response(uint8_t id, const char *secret, const uint8_t *chal, size_t chal_len, uint8_t out[16])
{
	struct iscsi_md5_piece pieces[3] = {
		{&id, 1}, {secret, strlen(secret)}, {chal, chal_len},
	};

	iscsi_md5(pieces, 3, out);
}
