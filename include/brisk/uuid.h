/* UUIDs: a thin wrapper over libuuid. */
#ifndef BRISK_UUID_H
#define BRISK_UUID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct brisk_uuid {
	uint8_t u[16];
};

#define BRISK_UUID_STRING_LEN 37 /* 36 characters and the NUL */

void brisk_uuid_generate(struct brisk_uuid *uuid);
/* Name-based (version 5, SHA-1) UUID: the same namespace and name always give
 * the same UUID (a virtual bdev derived from another keeps its identity
 * across restarts this way). */
void brisk_uuid_generate_sha1(struct brisk_uuid *uuid, const struct brisk_uuid *ns, const char *name,
			      size_t len);
/* 0, or -EINVAL for a malformed string. */
int brisk_uuid_parse(struct brisk_uuid *uuid, const char *str);
/* Lower-case form; 0, or -EINVAL when size < BRISK_UUID_STRING_LEN. */
int brisk_uuid_fmt_lower(char *buf, size_t size, const struct brisk_uuid *uuid);
int brisk_uuid_compare(const struct brisk_uuid *a, const struct brisk_uuid *b);
bool brisk_uuid_is_null(const struct brisk_uuid *uuid);
void brisk_uuid_copy(struct brisk_uuid *dst, const struct brisk_uuid *src);

#ifdef __cplusplus
}
#endif
#endif
