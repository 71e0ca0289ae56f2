/*
 * CHAP for iSCSI login (RFC 7143 12.1.3, RFC 1994): MD5 over scattered
 * pieces, the binary encodings of CHAP values (0x hex, 0b base64), and the
 * target's side of one-way and mutual authentication.
 */
#ifndef BRISK_ISCSI_CHAP_H
#define BRISK_ISCSI_CHAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ISCSI_CHAP_CHALLENGE_LEN 32
#define ISCSI_CHAP_MAX_BIN 1024

struct iscsi_md5_piece {
	const void *p;
	size_t len;
};
void iscsi_md5(const struct iscsi_md5_piece *pieces, int n, uint8_t out[16]);

/* Decodes "0x..." (hex) or "0b..." (base64). Returns the byte count or -EINVAL. */
int iscsi_chap_decode(const char *s, uint8_t *out, size_t cap);
/* "0x" + hex of buf. */
void iscsi_chap_encode(const uint8_t *buf, size_t len, char *out, size_t cap);

/* The CHAP response R = MD5(id || secret || challenge). */
void iscsi_chap_response(uint8_t id, const char *secret, const uint8_t *chal, size_t chal_len, uint8_t out[16]);

#endif
