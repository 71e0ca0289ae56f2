/* UUIDs on top of libuuid; struct brisk_uuid has libuuid's 16-byte layout. */
#include <brisk/uuid.h>

#include <errno.h>
#include <string.h>
#include <uuid/uuid.h>

_Static_assert(sizeof(struct brisk_uuid) == sizeof(uuid_t), "brisk_uuid must match uuid_t");

void
brisk_uuid_generate(struct brisk_uuid *uuid)
{
	uuid_generate(uuid->u);
}

void
brisk_uuid_generate_sha1(struct brisk_uuid *uuid, const struct brisk_uuid *ns, const char *name, size_t len)
{
	uuid_generate_sha1(uuid->u, ns->u, name, len);
}

int
brisk_uuid_parse(struct brisk_uuid *uuid, const char *str)
{
	if (uuid == NULL || str == NULL) {
		return -EINVAL;
	}
	return uuid_parse(str, uuid->u) == 0 ? 0 : -EINVAL;
}

int
brisk_uuid_fmt_lower(char *buf, size_t size, const struct brisk_uuid *uuid)
{
	if (buf == NULL || uuid == NULL || size < BRISK_UUID_STRING_LEN) {
		return -EINVAL;
	}
	uuid_unparse_lower(uuid->u, buf);
	return 0;
}

int
brisk_uuid_compare(const struct brisk_uuid *a, const struct brisk_uuid *b)
{
	return uuid_compare(a->u, b->u);
}

bool
brisk_uuid_is_null(const struct brisk_uuid *uuid)
{
	return uuid_is_null(uuid->u) != 0;
}

void
brisk_uuid_copy(struct brisk_uuid *dst, const struct brisk_uuid *src)
{
	memcpy(dst->u, src->u, sizeof(dst->u));
}
