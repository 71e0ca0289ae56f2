/* UUIDs: generate, parse (good and malformed), format, compare, null, copy. */
#include <CUnit/Basic.h>

#include <errno.h>
#include <string.h>

#include <brisk/uuid.h>
#include "../../common/ut_main.h"

static void
test_parse_fmt(void)
{
	struct brisk_uuid u;
	char buf[BRISK_UUID_STRING_LEN];
	static const uint8_t expect[16] = { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
					    0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };

	CU_ASSERT_EQUAL(brisk_uuid_parse(&u, "12345678-9ABC-DEF0-0123-456789abcdef"), 0);
	CU_ASSERT(memcmp(u.u, expect, 16) == 0);
	CU_ASSERT_EQUAL(brisk_uuid_fmt_lower(buf, sizeof(buf), &u), 0);
	CU_ASSERT_STRING_EQUAL(buf, "12345678-9abc-def0-0123-456789abcdef");

	/* Buffer one byte short. */
	CU_ASSERT_EQUAL(brisk_uuid_fmt_lower(buf, sizeof(buf) - 1, &u), -EINVAL);
	CU_ASSERT_EQUAL(brisk_uuid_fmt_lower(buf, 0, &u), -EINVAL);
}

static void
test_parse_bad(void)
{
	static const char *const bad[] = {
		"",
		"12345678-9abc-def0-0123-456789abcde",   /* short */
		"12345678-9abc-def0-0123-456789abcdef0", /* long */
		"12345678-9abc-def0-0123-456789abcdeg",  /* not hex */
		"123456789-abc-def0-0123-456789abcdef",  /* dash misplaced */
		"12345678 9abc def0 0123 456789abcdef",
		" 2345678-9abc-def0-0123-456789abcdef",
	};
	struct brisk_uuid u;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(brisk_uuid_parse(&u, bad[i]), -EINVAL);
	}
	CU_ASSERT_EQUAL(brisk_uuid_parse(&u, NULL), -EINVAL);
}

static void
test_generate_compare_copy(void)
{
	struct brisk_uuid a, b, c, null;
	char sa[BRISK_UUID_STRING_LEN];

	memset(&null, 0, sizeof(null));
	CU_ASSERT_TRUE(brisk_uuid_is_null(&null));

	brisk_uuid_generate(&a);
	brisk_uuid_generate(&b);
	CU_ASSERT_FALSE(brisk_uuid_is_null(&a));
	CU_ASSERT_NOT_EQUAL(brisk_uuid_compare(&a, &b), 0);
	/* Antisymmetric. */
	CU_ASSERT((brisk_uuid_compare(&a, &b) < 0) == (brisk_uuid_compare(&b, &a) > 0));
	CU_ASSERT_EQUAL(brisk_uuid_compare(&a, &a), 0);
	CU_ASSERT(brisk_uuid_compare(&null, &a) < 0);

	brisk_uuid_copy(&c, &a);
	CU_ASSERT_EQUAL(brisk_uuid_compare(&c, &a), 0);

	/* Format then parse gives the same uuid back. */
	CU_ASSERT_EQUAL(brisk_uuid_fmt_lower(sa, sizeof(sa), &a), 0);
	CU_ASSERT_EQUAL(strlen(sa), 36);
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(brisk_uuid_parse(&c, sa), 0);
	CU_ASSERT_EQUAL(brisk_uuid_compare(&c, &a), 0);
	/* Random (version 4) or time-based (version 1) uuids from libuuid. */
	CU_ASSERT(sa[14] == '4' || sa[14] == '1');
}

/* Version 5 against the RFC 4122 example (DNS namespace, www.example.com). */
static void
test_generate_sha1(void)
{
	struct brisk_uuid ns, a, b;
	char s[BRISK_UUID_STRING_LEN];

	CU_ASSERT_EQUAL_FATAL(brisk_uuid_parse(&ns, "6ba7b810-9dad-11d1-80b4-00c04fd430c8"), 0);
	brisk_uuid_generate_sha1(&a, &ns, "www.example.com", strlen("www.example.com"));
	CU_ASSERT_EQUAL(brisk_uuid_fmt_lower(s, sizeof(s), &a), 0);
	CU_ASSERT_STRING_EQUAL(s, "2ed6657d-e927-568b-95e1-2665a8aea6a2");
	/* Deterministic; another name or namespace gives another UUID. */
	brisk_uuid_generate_sha1(&b, &ns, "www.example.com", strlen("www.example.com"));
	CU_ASSERT_EQUAL(brisk_uuid_compare(&a, &b), 0);
	brisk_uuid_generate_sha1(&b, &ns, "www.example.org", strlen("www.example.org"));
	CU_ASSERT_NOT_EQUAL(brisk_uuid_compare(&a, &b), 0);
	brisk_uuid_generate_sha1(&b, &a, "www.example.com", strlen("www.example.com"));
	CU_ASSERT_NOT_EQUAL(brisk_uuid_compare(&a, &b), 0);
}

static const CU_TestInfo g_ut_tests[] = {
	{ "parse_fmt", test_parse_fmt },
	{ "parse_bad", test_parse_bad },
	{ "generate_compare_copy", test_generate_compare_copy },
	{ "generate_sha1", test_generate_sha1 },
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "uuid", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "uuid_ut",
	.suites = g_ut_suites,
};
