/* Unit tests for lib/util/json.c: element decoders and object decoding. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <brisk/json.h>
#include "../../common/ut_main.h"

static json_t *
parse(const char *text)
{
	json_error_t error;
	json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &error);

	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	return v;
}

static void
test_decode_string(void)
{
	char *s = NULL;
	json_t *v = json_string("Malloc0");

	CU_ASSERT_EQUAL(brisk_json_decode_string(v, &s), 0);
	CU_ASSERT_STRING_EQUAL(s, "Malloc0");
	json_decref(v);

	/* Decoding again replaces (and frees) the old value. */
	v = json_string("other");
	CU_ASSERT_EQUAL(brisk_json_decode_string(v, &s), 0);
	CU_ASSERT_STRING_EQUAL(s, "other");
	json_decref(v);

	v = json_integer(5);
	CU_ASSERT_EQUAL(brisk_json_decode_string(v, &s), -EINVAL);
	CU_ASSERT_STRING_EQUAL(s, "other");
	json_decref(v);

	/* An embedded NUL would silently truncate the name: rejected. */
	v = json_stringn("ab\0cd", 5);
	CU_ASSERT_EQUAL(brisk_json_decode_string(v, &s), BRISK_JSON_ERR_NUL);
	json_decref(v);

	CU_ASSERT_EQUAL(brisk_json_decode_string(json_null(), &s), -EINVAL);
	free(s);
}

static void
test_decode_bool(void)
{
	bool b = false;
	json_t *v = json_integer(1);

	CU_ASSERT_EQUAL(brisk_json_decode_bool(json_true(), &b), 0);
	CU_ASSERT_TRUE(b);
	CU_ASSERT_EQUAL(brisk_json_decode_bool(json_false(), &b), 0);
	CU_ASSERT_FALSE(b);
	CU_ASSERT_EQUAL(brisk_json_decode_bool(v, &b), -EINVAL);
	CU_ASSERT_EQUAL(brisk_json_decode_bool(json_null(), &b), -EINVAL);
	CU_ASSERT_FALSE(b);
	json_decref(v);
}

/* Runs decode on the JSON text and returns its rc. */
static int
decode_text(brisk_json_decode_fn decode, const char *text, void *out)
{
	json_t *v = parse(text);
	int rc = decode(v, out);

	json_decref(v);
	return rc;
}

static void
test_decode_int32(void)
{
	int32_t i = 7;

	CU_ASSERT_EQUAL(decode_text(brisk_json_decode_int32, "-2147483648", &i), 0);
	CU_ASSERT_EQUAL(i, INT32_MIN);
	CU_ASSERT_EQUAL(decode_text(brisk_json_decode_int32, "2147483647", &i), 0);
	CU_ASSERT_EQUAL(i, INT32_MAX);
	CU_ASSERT_EQUAL(decode_text(brisk_json_decode_int32, "2147483648", &i), -ERANGE);
	CU_ASSERT_EQUAL(decode_text(brisk_json_decode_int32, "-2147483649", &i), -ERANGE);
	CU_ASSERT_EQUAL(decode_text(brisk_json_decode_int32, "1.5", &i), -EINVAL);
	CU_ASSERT_EQUAL(decode_text(brisk_json_decode_int32, "\"12\"", &i), -EINVAL);
	CU_ASSERT_EQUAL(i, INT32_MAX);
}

static void
test_decode_unsigned(void)
{
	uint8_t u8 = 1;
	uint16_t u16 = 1;
	uint32_t u32 = 1;
	uint64_t u64 = 1;
	int64_t i64 = 1;

	CU_ASSERT_EQUAL(decode_text(brisk_json_decode_uint8, "255", &u8), 0);
	CU_ASSERT_EQUAL(u8, 255);
	CU_ASSERT_EQUAL(decode_text(brisk_json_decode_uint8, "256", &u8), -ERANGE);
	CU_ASSERT_EQUAL(decode_text(brisk_json_decode_uint8, "-1", &u8), -ERANGE);
	CU_ASSERT_EQUAL(u8, 255);

	CU_ASSERT_EQUAL(decode_text(brisk_json_decode_uint16, "65535", &u16), 0);
	CU_ASSERT_EQUAL(u16, 65535);
	CU_ASSERT_EQUAL(decode_text(brisk_json_decode_uint16, "65536", &u16), -ERANGE);
	CU_ASSERT_EQUAL(decode_text(brisk_json_decode_uint16, "true", &u16), -EINVAL);

	CU_ASSERT_EQUAL(decode_text(brisk_json_decode_uint32, "4294967295", &u32), 0);
	CU_ASSERT_EQUAL(u32, UINT32_MAX);
	CU_ASSERT_EQUAL(decode_text(brisk_json_decode_uint32, "4294967296", &u32), -ERANGE);
	CU_ASSERT_EQUAL(decode_text(brisk_json_decode_uint32, "-1", &u32), -ERANGE);
	CU_ASSERT_EQUAL(decode_text(brisk_json_decode_uint32, "0", &u32), 0);
	CU_ASSERT_EQUAL(u32, 0);

	CU_ASSERT_EQUAL(decode_text(brisk_json_decode_uint64, "9223372036854775807", &u64), 0);
	CU_ASSERT_EQUAL(u64, (uint64_t)INT64_MAX);
	CU_ASSERT_EQUAL(decode_text(brisk_json_decode_uint64, "-5", &u64), -ERANGE);
	CU_ASSERT_EQUAL(decode_text(brisk_json_decode_uint64, "null", &u64), -EINVAL);
	CU_ASSERT_EQUAL(u64, (uint64_t)INT64_MAX);

	CU_ASSERT_EQUAL(decode_text(brisk_json_decode_int64, "-9223372036854775808", &i64), 0);
	CU_ASSERT_EQUAL(i64, INT64_MIN);
	CU_ASSERT_EQUAL(decode_text(brisk_json_decode_int64, "[]", &i64), -EINVAL);
}

static void
test_decode_double_and_json(void)
{
	double d = 0;
	json_t *j = NULL;
	json_t *v = parse("{\"a\": [1, 2]}");

	CU_ASSERT_EQUAL(decode_text(brisk_json_decode_double, "2.5", &d), 0);
	CU_ASSERT_DOUBLE_EQUAL(d, 2.5, 1e-9);
	CU_ASSERT_EQUAL(decode_text(brisk_json_decode_double, "3", &d), 0);
	CU_ASSERT_DOUBLE_EQUAL(d, 3.0, 1e-9);
	CU_ASSERT_EQUAL(decode_text(brisk_json_decode_double, "\"3\"", &d), -EINVAL);

	CU_ASSERT_EQUAL(brisk_json_decode_json(v, &j), 0);
	CU_ASSERT_PTR_EQUAL(j, v);
	CU_ASSERT_EQUAL(v->refcount, 2);
	json_decref(j);
	json_decref(v);
}

struct sample_params {
	char *name;
	uint32_t size;
	uint16_t port;
	bool verbose;
	int32_t delta;
	json_t *extra;
};

static const struct brisk_json_object_decoder g_sample_decoders[] = {
	{ "name", offsetof(struct sample_params, name), brisk_json_decode_string, false },
	{ "size", offsetof(struct sample_params, size), brisk_json_decode_uint32, false },
	{ "port", offsetof(struct sample_params, port), brisk_json_decode_uint16, true },
	{ "verbose", offsetof(struct sample_params, verbose), brisk_json_decode_bool, true },
	{ "delta", offsetof(struct sample_params, delta), brisk_json_decode_int32, true },
	{ "extra", offsetof(struct sample_params, extra), brisk_json_decode_json, true },
};

/* Decodes text into p (defaults set first) and returns rc; err receives the message. */
static int
decode_sample(const char *text, struct sample_params *p, char *err, size_t errlen)
{
	json_t *v = text != NULL ? parse(text) : NULL;
	int rc;

	memset(p, 0, sizeof(*p));
	p->port = 4420;
	rc = brisk_json_decode_object(v, g_sample_decoders, BRISK_COUNTOF(g_sample_decoders), p,
				      err, errlen);
	json_decref(v);
	return rc;
}

static void
test_decode_object_ok(void)
{
	struct sample_params p;
	char err[128];

	CU_ASSERT_EQUAL(decode_sample("{\"name\": \"Malloc0\", \"size\": 64}", &p, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(p.name, "Malloc0");
	CU_ASSERT_EQUAL(p.size, 64);
	CU_ASSERT_EQUAL(p.port, 4420); /* default kept */
	CU_ASSERT_FALSE(p.verbose);
	CU_ASSERT_PTR_NULL(p.extra);
	CU_ASSERT_STRING_EQUAL(err, "");
	brisk_json_free_object(g_sample_decoders, BRISK_COUNTOF(g_sample_decoders), &p);
	CU_ASSERT_PTR_NULL(p.name);

	CU_ASSERT_EQUAL(decode_sample("{\"name\": \"x\", \"size\": 1, \"port\": 80, \"verbose\": true,"
				      " \"delta\": -3, \"extra\": {\"k\": 1}}", &p, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(p.port, 80);
	CU_ASSERT_TRUE(p.verbose);
	CU_ASSERT_EQUAL(p.delta, -3);
	CU_ASSERT_TRUE(json_is_object(p.extra));
	brisk_json_free_object(g_sample_decoders, BRISK_COUNTOF(g_sample_decoders), &p);
	CU_ASSERT_PTR_NULL(p.extra);
}

static void
test_decode_object_errors(void)
{
	struct sample_params p;
	char err[128];

	CU_ASSERT_EQUAL(decode_sample("{\"name\": \"x\", \"size\": 1, \"colour\": 2}", &p, err, sizeof(err)),
			-EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "unknown parameter 'colour'");
	brisk_json_free_object(g_sample_decoders, BRISK_COUNTOF(g_sample_decoders), &p);

	CU_ASSERT_EQUAL(decode_sample("{\"name\": \"x\"}", &p, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "missing parameter 'size'");
	brisk_json_free_object(g_sample_decoders, BRISK_COUNTOF(g_sample_decoders), &p);
	CU_ASSERT_PTR_NULL(p.name);

	CU_ASSERT_EQUAL(decode_sample("{\"name\": \"x\", \"size\": -1}", &p, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "parameter 'size' must be an unsigned 32-bit integer");
	brisk_json_free_object(g_sample_decoders, BRISK_COUNTOF(g_sample_decoders), &p);

	CU_ASSERT_EQUAL(decode_sample("{\"name\": 3, \"size\": 1}", &p, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "parameter 'name' must be a string");

	CU_ASSERT_EQUAL(decode_sample("{\"name\": \"x\", \"size\": 1, \"port\": 70000}", &p, err,
				      sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "parameter 'port' must be an unsigned 16-bit integer");
	brisk_json_free_object(g_sample_decoders, BRISK_COUNTOF(g_sample_decoders), &p);

	CU_ASSERT_EQUAL(decode_sample("{\"name\": \"x\", \"size\": 1, \"verbose\": \"yes\"}", &p, err,
				      sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "parameter 'verbose' must be a boolean");
	brisk_json_free_object(g_sample_decoders, BRISK_COUNTOF(g_sample_decoders), &p);

	CU_ASSERT_EQUAL(decode_sample("{\"name\": \"x\", \"size\": 1, \"delta\": 1.5}", &p, err,
				      sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "parameter 'delta' must be a 32-bit integer");
	brisk_json_free_object(g_sample_decoders, BRISK_COUNTOF(g_sample_decoders), &p);

	/* A string with an embedded NUL is a string: say what is wrong with it. */
	CU_ASSERT_EQUAL(decode_sample("{\"name\": \"a\\u0000b\", \"size\": 1}", &p, err, sizeof(err)),
			-EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "parameter 'name' contains a NUL character");
	brisk_json_free_object(g_sample_decoders, BRISK_COUNTOF(g_sample_decoders), &p);

	CU_ASSERT_EQUAL(decode_sample("[1, 2]", &p, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "params must be an object");

	/* No params at all: the required keys are missing. */
	CU_ASSERT_EQUAL(decode_sample(NULL, &p, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "missing parameter 'name'");

	/* A NULL err buffer is allowed. */
	CU_ASSERT_EQUAL(decode_sample("{}", &p, NULL, 0), -EINVAL);

	/* Truncated into a small buffer, still NUL-terminated. */
	CU_ASSERT_EQUAL(decode_sample("{\"name\": \"x\"}", &p, err, 8), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "missing");
	brisk_json_free_object(g_sample_decoders, BRISK_COUNTOF(g_sample_decoders), &p);
}

static void
test_decode_object_all_optional(void)
{
	static const struct brisk_json_object_decoder opt[] = {
		{ "current", 0, brisk_json_decode_bool, true },
	};
	bool current = false;
	char err[64];
	json_t *empty = json_object();

	CU_ASSERT_EQUAL(brisk_json_decode_object(NULL, opt, 1, &current, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(brisk_json_decode_object(empty, opt, 1, &current, err, sizeof(err)), 0);
	CU_ASSERT_FALSE(current);
	json_decref(empty);
}

static void
test_decoder_expects(void)
{
	CU_ASSERT_STRING_EQUAL(brisk_json_decoder_expects(brisk_json_decode_uint64),
			       "an unsigned 64-bit integer");
	CU_ASSERT_STRING_EQUAL(brisk_json_decoder_expects(NULL), "a valid value");
}

struct name_params {
	char *name;
};

static const struct brisk_json_object_decoder g_name_decoders[] = {
	{ "name", offsetof(struct name_params, name), brisk_json_decode_name, false },
};

static int
decode_name_text(const char *text, struct name_params *p, char *err, size_t errlen)
{
	json_t *v = parse(text);
	int rc;

	memset(p, 0, sizeof(*p));
	rc = brisk_json_decode_object(v, g_name_decoders, 1, p, err, errlen);
	json_decref(v);
	return rc;
}

/* Names (bdevs, lvstores, lvols) refuse control characters: they would
 * forge log lines and terminal output. */
static void
test_decode_name(void)
{
	struct name_params p;
	char err[128];

	CU_ASSERT_EQUAL(decode_name_text("{\"name\": \"lvs0/v\\u00e9-1\"}", &p, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(p.name, "lvs0/v\xc3\xa9-1");
	brisk_json_free_object(g_name_decoders, 1, &p);
	CU_ASSERT_PTR_NULL(p.name);

	CU_ASSERT_EQUAL(decode_name_text("{\"name\": \"evil\\n[ts] forged\"}", &p, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "parameter 'name' must not contain control characters "
			       "(newline, tab, escape...)");
	CU_ASSERT_PTR_NULL(p.name);
	CU_ASSERT_EQUAL(decode_name_text("{\"name\": \"a\\u001b[31m\"}", &p, err, sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(decode_name_text("{\"name\": \"a\\u007f\"}", &p, err, sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(decode_name_text("{\"name\": \"a\\u0000\"}", &p, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "parameter 'name' contains a NUL character");
	CU_ASSERT_EQUAL(decode_name_text("{\"name\": 7}", &p, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "parameter 'name' must be a string");
}

static const CU_TestInfo g_ut_tests[] = {
	{ "decode_string", test_decode_string },
	{ "decode_bool", test_decode_bool },
	{ "decode_int32", test_decode_int32 },
	{ "decode_unsigned", test_decode_unsigned },
	{ "decode_double_and_json", test_decode_double_and_json },
	{ "decode_object_ok", test_decode_object_ok },
	{ "decode_object_errors", test_decode_object_errors },
	{ "decode_object_all_optional", test_decode_object_all_optional },
	{ "decoder_expects", test_decoder_expects },
	{ "decode_name", test_decode_name },
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "json", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "json_ut",
	.suites = g_ut_suites,
};
