/*
 * Decoding JSON-RPC params into C structs through a table of per-key
 * decoders (see include/brisk/json.h). Every rejection names the key so a
 * user reading an RPC error knows what to fix.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/json.h>
#include <brisk/string.h>

int
brisk_json_decode_string(const json_t *val, void *out)
{
	char **str = out;
	char *copy;

	if (!json_is_string(val)) {
		return -EINVAL;
	}
	/* json_string_value stops at an embedded NUL; reject such strings rather
	 * than silently truncating a name. */
	if (strlen(json_string_value(val)) != json_string_length(val)) {
		return BRISK_JSON_ERR_NUL;
	}
	copy = strdup(json_string_value(val));
	if (copy == NULL) {
		return -ENOMEM;
	}
	free(*str);
	*str = copy;
	return 0;
}

int
brisk_json_decode_name(const json_t *val, void *out)
{
	if (json_is_string(val) && strlen(json_string_value(val)) == json_string_length(val) &&
	    brisk_str_has_control_chars(json_string_value(val))) {
		return BRISK_JSON_ERR_CONTROL;
	}
	return brisk_json_decode_string(val, out);
}

int
brisk_json_decode_bool(const json_t *val, void *out)
{
	if (!json_is_boolean(val)) {
		return -EINVAL;
	}
	*(bool *)out = json_is_true(val);
	return 0;
}

/* Integers must be JSON integers (3.0 and "3" are rejected: a config that says
 * "size": "64" is a mistake worth reporting). */
static int
decode_integer_range(const json_t *val, json_int_t min, json_int_t max, json_int_t *v)
{
	if (!json_is_integer(val)) {
		return -EINVAL;
	}
	*v = json_integer_value(val);
	if (*v < min || *v > max) {
		return -ERANGE;
	}
	return 0;
}

int
brisk_json_decode_int32(const json_t *val, void *out)
{
	json_int_t v;
	int rc = decode_integer_range(val, INT32_MIN, INT32_MAX, &v);

	if (rc == 0) {
		*(int32_t *)out = (int32_t)v;
	}
	return rc;
}

int
brisk_json_decode_int64(const json_t *val, void *out)
{
	json_int_t v;
	int rc = decode_integer_range(val, INT64_MIN, INT64_MAX, &v);

	if (rc == 0) {
		*(int64_t *)out = (int64_t)v;
	}
	return rc;
}

int
brisk_json_decode_uint8(const json_t *val, void *out)
{
	json_int_t v;
	int rc = decode_integer_range(val, 0, UINT8_MAX, &v);

	if (rc == 0) {
		*(uint8_t *)out = (uint8_t)v;
	}
	return rc;
}

int
brisk_json_decode_uint16(const json_t *val, void *out)
{
	json_int_t v;
	int rc = decode_integer_range(val, 0, UINT16_MAX, &v);

	if (rc == 0) {
		*(uint16_t *)out = (uint16_t)v;
	}
	return rc;
}

int
brisk_json_decode_uint32(const json_t *val, void *out)
{
	json_int_t v;
	int rc = decode_integer_range(val, 0, UINT32_MAX, &v);

	if (rc == 0) {
		*(uint32_t *)out = (uint32_t)v;
	}
	return rc;
}

/*
 * jansson parses integers into a signed 64-bit json_int_t and rejects larger
 * literals, so values above INT64_MAX cannot reach us as integers. A uint64
 * parameter therefore accepts 0..INT64_MAX, which covers every size and
 * offset Brisk deals with.
 */
int
brisk_json_decode_uint64(const json_t *val, void *out)
{
	json_int_t v;
	int rc = decode_integer_range(val, 0, INT64_MAX, &v);

	if (rc == 0) {
		*(uint64_t *)out = (uint64_t)v;
	}
	return rc;
}

int
brisk_json_decode_double(const json_t *val, void *out)
{
	if (!json_is_number(val)) {
		return -EINVAL;
	}
	*(double *)out = json_number_value(val);
	return 0;
}

int
brisk_json_decode_json(const json_t *val, void *out)
{
	json_t **slot = out;

	if (val == NULL) {
		return -EINVAL;
	}
	json_decref(*slot);
	/* jansson's reference count is not const-aware; the value itself is
	 * never modified through this pointer. */
	*slot = json_incref((json_t *)val);
	return 0;
}

static const struct {
	brisk_json_decode_fn fn;
	const char *expects;
} g_decoder_names[] = {
	{ brisk_json_decode_string, "a string" },
	{ brisk_json_decode_name, "a string" },
	{ brisk_json_decode_bool, "a boolean" },
	{ brisk_json_decode_int32, "a 32-bit integer" },
	{ brisk_json_decode_int64, "a 64-bit integer" },
	{ brisk_json_decode_uint8, "an unsigned 8-bit integer" },
	{ brisk_json_decode_uint16, "an unsigned 16-bit integer" },
	{ brisk_json_decode_uint32, "an unsigned 32-bit integer" },
	{ brisk_json_decode_uint64, "an unsigned 64-bit integer" },
	{ brisk_json_decode_double, "a number" },
	{ brisk_json_decode_json, "a JSON value" },
};

const char *
brisk_json_decoder_expects(brisk_json_decode_fn decode)
{
	for (size_t i = 0; i < BRISK_COUNTOF(g_decoder_names); i++) {
		if (g_decoder_names[i].fn == decode) {
			return g_decoder_names[i].expects;
		}
	}
	return "a valid value";
}

static void
set_error(char *err, size_t errlen, const char *fmt, const char *name, const char *extra)
{
	if (err != NULL && errlen > 0) {
		snprintf(err, errlen, fmt, name, extra);
	}
}

static void
decode_error(const struct brisk_json_object_decoder *d, int rc, char *err, size_t errlen)
{
	if (rc == BRISK_JSON_ERR_NUL) {
		set_error(err, errlen, "parameter '%s' contains a NUL character%s", d->name, "");
	} else if (rc == BRISK_JSON_ERR_CONTROL) {
		set_error(err, errlen, "parameter '%s' must not contain control characters%s", d->name,
			  " (newline, tab, escape...)");
	} else {
		set_error(err, errlen, "parameter '%s' must be %s", d->name,
			  brisk_json_decoder_expects(d->decode));
	}
}

static const struct brisk_json_object_decoder *
find_decoder(const struct brisk_json_object_decoder *d, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(d[i].name, key) == 0) {
			return &d[i];
		}
	}
	return NULL;
}

int
brisk_json_decode_object(const json_t *obj, const struct brisk_json_object_decoder *d, size_t n,
			 void *out, char *err, size_t errlen)
{
	const char *key;
	json_t *val;

	if (err != NULL && errlen > 0) {
		err[0] = '\0';
	}
	if (obj != NULL && !json_is_object(obj)) {
		set_error(err, errlen, "%sparams must be an object%s", "", "");
		return -EINVAL;
	}

	/* Unknown keys first: a misspelt optional key would otherwise be
	 * silently ignored and its default used. */
	if (obj != NULL) {
		json_object_foreach((json_t *)obj, key, val) {
			if (find_decoder(d, n, key) == NULL) {
				set_error(err, errlen, "unknown parameter '%s'%s", key, "");
				return -EINVAL;
			}
		}
	}

	for (size_t i = 0; i < n; i++) {
		val = obj != NULL ? json_object_get(obj, d[i].name) : NULL;
		if (val == NULL) {
			if (!d[i].optional) {
				set_error(err, errlen, "missing parameter '%s'%s", d[i].name, "");
				return -EINVAL;
			}
			continue;
		}
		int rc = d[i].decode(val, (char *)out + d[i].offset);
		if (rc == -ENOMEM) {
			set_error(err, errlen, "out of memory decoding parameter '%s'%s", d[i].name, "");
			return -EINVAL;
		}
		if (rc != 0) {
			decode_error(&d[i], rc, err, errlen);
			return -EINVAL;
		}
	}
	return 0;
}

void
brisk_json_free_object(const struct brisk_json_object_decoder *d, size_t n, void *out)
{
	for (size_t i = 0; i < n; i++) {
		void *field = (char *)out + d[i].offset;

		if (d[i].decode == brisk_json_decode_string || d[i].decode == brisk_json_decode_name) {
			free(*(char **)field);
			*(char **)field = NULL;
		} else if (d[i].decode == brisk_json_decode_json) {
			json_decref(*(json_t **)field);
			*(json_t **)field = NULL;
		}
	}
}
