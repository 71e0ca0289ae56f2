/* String helpers: number parsing (good and bad input), capacities, copies, trim. */
#include <CUnit/Basic.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/string.h>
#include "../../common/ut_main.h"

static void
test_parse_long(void)
{
	long v = 7;

	CU_ASSERT_EQUAL(brisk_parse_long("123", 10, &v), 0);
	CU_ASSERT_EQUAL(v, 123);
	CU_ASSERT_EQUAL(brisk_parse_long("-45", 10, &v), 0);
	CU_ASSERT_EQUAL(v, -45);
	CU_ASSERT_EQUAL(brisk_parse_long("+8", 10, &v), 0);
	CU_ASSERT_EQUAL(v, 8);
	CU_ASSERT_EQUAL(brisk_parse_long("0x1f", 0, &v), 0);
	CU_ASSERT_EQUAL(v, 31);
	CU_ASSERT_EQUAL(brisk_parse_long("017", 0, &v), 0);
	CU_ASSERT_EQUAL(v, 15);
	CU_ASSERT_EQUAL(brisk_parse_long("ff", 16, &v), 0);
	CU_ASSERT_EQUAL(v, 255);
	CU_ASSERT_EQUAL(brisk_parse_long("9223372036854775807", 10, &v), 0);
	CU_ASSERT_EQUAL(v, LONG_MAX);
	CU_ASSERT_EQUAL(brisk_parse_long("-9223372036854775808", 10, &v), 0);
	CU_ASSERT_EQUAL(v, LONG_MIN);

	v = 7;
	CU_ASSERT_EQUAL(brisk_parse_long("12x", 10, &v), -EINVAL);
	CU_ASSERT_EQUAL(brisk_parse_long("", 10, &v), -EINVAL);
	CU_ASSERT_EQUAL(brisk_parse_long("0x", 0, &v), -EINVAL);
	CU_ASSERT_EQUAL(brisk_parse_long("x1", 0, &v), -EINVAL);
	CU_ASSERT_EQUAL(brisk_parse_long(" 12", 10, &v), -EINVAL);
	CU_ASSERT_EQUAL(brisk_parse_long("12 ", 10, &v), -EINVAL);
	CU_ASSERT_EQUAL(brisk_parse_long("-", 10, &v), -EINVAL);
	CU_ASSERT_EQUAL(brisk_parse_long("12", 1, &v), -EINVAL);
	CU_ASSERT_EQUAL(brisk_parse_long("12", 37, &v), -EINVAL);
	CU_ASSERT_EQUAL(brisk_parse_long(NULL, 10, &v), -EINVAL);
	CU_ASSERT_EQUAL(brisk_parse_long("9223372036854775808", 10, &v), -ERANGE);
	CU_ASSERT_EQUAL(brisk_parse_long("-9223372036854775809", 10, &v), -ERANGE);
	CU_ASSERT_EQUAL(v, 7); /* untouched on error */
}

static void
test_parse_int(void)
{
	int v = 7;

	CU_ASSERT_EQUAL(brisk_parse_int("2147483647", 10, &v), 0);
	CU_ASSERT_EQUAL(v, INT_MAX);
	CU_ASSERT_EQUAL(brisk_parse_int("-2147483648", 10, &v), 0);
	CU_ASSERT_EQUAL(v, INT_MIN);
	CU_ASSERT_EQUAL(brisk_parse_int("0x10", 0, &v), 0);
	CU_ASSERT_EQUAL(v, 16);
	v = 7;
	CU_ASSERT_EQUAL(brisk_parse_int("2147483648", 10, &v), -ERANGE);
	CU_ASSERT_EQUAL(brisk_parse_int("-2147483649", 10, &v), -ERANGE);
	CU_ASSERT_EQUAL(brisk_parse_int("99999999999999999999999", 10, &v), -ERANGE);
	CU_ASSERT_EQUAL(brisk_parse_int("1.5", 10, &v), -EINVAL);
	CU_ASSERT_EQUAL(brisk_parse_int("", 10, &v), -EINVAL);
	CU_ASSERT_EQUAL(brisk_parse_int("1", 10, NULL), -EINVAL);
	CU_ASSERT_EQUAL(v, 7);
}

static void
test_parse_u64_u32(void)
{
	uint64_t v64 = 7;
	uint32_t v32 = 7;

	CU_ASSERT_EQUAL(brisk_parse_u64("18446744073709551615", 10, &v64), 0);
	CU_ASSERT_EQUAL(v64, UINT64_MAX);
	CU_ASSERT_EQUAL(brisk_parse_u64("0xFFFFFFFFFFFFFFFF", 0, &v64), 0);
	CU_ASSERT_EQUAL(v64, UINT64_MAX);
	CU_ASSERT_EQUAL(brisk_parse_u64("0", 10, &v64), 0);
	CU_ASSERT_EQUAL(v64, 0);
	v64 = 7;
	CU_ASSERT_EQUAL(brisk_parse_u64("18446744073709551616", 10, &v64), -ERANGE);
	CU_ASSERT_EQUAL(brisk_parse_u64("-1", 10, &v64), -EINVAL);
	CU_ASSERT_EQUAL(brisk_parse_u64("12x", 10, &v64), -EINVAL);
	CU_ASSERT_EQUAL(brisk_parse_u64("", 10, &v64), -EINVAL);
	CU_ASSERT_EQUAL(brisk_parse_u64("0x", 0, &v64), -EINVAL);
	CU_ASSERT_EQUAL(brisk_parse_u64("\t5", 0, &v64), -EINVAL);
	CU_ASSERT_EQUAL(v64, 7);

	CU_ASSERT_EQUAL(brisk_parse_u32("4294967295", 10, &v32), 0);
	CU_ASSERT_EQUAL(v32, UINT32_MAX);
	CU_ASSERT_EQUAL(brisk_parse_u32("0x100", 0, &v32), 0);
	CU_ASSERT_EQUAL(v32, 256);
	v32 = 7;
	CU_ASSERT_EQUAL(brisk_parse_u32("4294967296", 10, &v32), -ERANGE);
	CU_ASSERT_EQUAL(brisk_parse_u32("-1", 10, &v32), -EINVAL);
	CU_ASSERT_EQUAL(brisk_parse_u32("abc", 10, &v32), -EINVAL);
	CU_ASSERT_EQUAL(v32, 7);
}

static void
test_parse_bool(void)
{
	static const char *const yes[] = { "true", "TRUE", "yes", "Yes", "on", "1" };
	static const char *const no[] = { "false", "False", "no", "NO", "off", "0" };
	static const char *const bad[] = { "", "2", "tru", "truex", " true", "y", "n" };
	bool v;
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		v = false;
		CU_ASSERT_EQUAL(brisk_parse_bool(yes[i], &v), 0);
		CU_ASSERT_TRUE(v);
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		v = true;
		CU_ASSERT_EQUAL(brisk_parse_bool(no[i], &v), 0);
		CU_ASSERT_FALSE(v);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = true;
		CU_ASSERT_EQUAL(brisk_parse_bool(bad[i], &v), -EINVAL);
		CU_ASSERT_TRUE(v);
	}
	CU_ASSERT_EQUAL(brisk_parse_bool(NULL, &v), -EINVAL);
}

static void
test_parse_capacity(void)
{
	static const struct {
		const char *s;
		uint64_t bytes;
		bool suffix;
	} good[] = {
		{ "0", 0, false },
		{ "512", 512, false },
		{ "4k", 4096, true },
		{ "4K", 4096, true },
		{ "4KB", 4096, true },
		{ "4kib", 4096, true },
		{ "4KiB", 4096, true },
		{ "64M", 64ULL << 20, true },
		{ "64MiB", 64ULL << 20, true },
		{ "1G", 1ULL << 30, true },
		{ "1gb", 1ULL << 30, true },
		{ "2T", 2ULL << 40, true },
		{ "3P", 3ULL << 50, true },
		{ "100B", 100, true },
		{ "15E", 15ULL << 60, true },
		{ "18446744073709551615", UINT64_MAX, false },
	};
	static const char *const bad[] = { "", "k", "4x", "4KK", "4KiBs", "4 K", " 4", "-1", "4.5M",
					   "0x10", "4iB", "1Bk" };
	static const char *const range[] = { "16E", "18446744073709551616", "99999999999999999999T",
					     "17179869184G" };
	uint64_t bytes;
	bool suffix;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		bytes = 1;
		suffix = !good[i].suffix;
		CU_ASSERT_EQUAL(brisk_parse_capacity(good[i].s, &bytes, &suffix), 0);
		CU_ASSERT_EQUAL(bytes, good[i].bytes);
		CU_ASSERT_EQUAL(suffix, good[i].suffix);
		if (bytes != good[i].bytes) {
			fprintf(stderr, "capacity '%s' -> %lu\n", good[i].s, (unsigned long)bytes);
		}
	}
	/* has_suffix may be NULL. */
	CU_ASSERT_EQUAL(brisk_parse_capacity("8k", &bytes, NULL), 0);
	CU_ASSERT_EQUAL(bytes, 8192);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bytes = 1;
		CU_ASSERT_EQUAL(brisk_parse_capacity(bad[i], &bytes, &suffix), -EINVAL);
		CU_ASSERT_EQUAL(bytes, 1);
	}
	for (i = 0; i < sizeof(range) / sizeof(range[0]); i++) {
		CU_ASSERT_EQUAL(brisk_parse_capacity(range[i], &bytes, &suffix), -ERANGE);
	}
	CU_ASSERT_EQUAL(brisk_parse_capacity(NULL, &bytes, &suffix), -EINVAL);
}

static char *
call_vsprintf_alloc(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = brisk_vsprintf_alloc(fmt, ap);
	va_end(ap);
	return s;
}

static void
test_sprintf_alloc(void)
{
	char *s = brisk_sprintf_alloc("%s-%d-%04x", "abc", 42, 0xbe);
	char big[5000];

	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT_STRING_EQUAL(s, "abc-42-00be");
	free(s);

	s = brisk_sprintf_alloc("%s", "");
	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT_STRING_EQUAL(s, "");
	free(s);

	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	s = call_vsprintf_alloc("<%s>", big);
	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT_EQUAL(strlen(s), sizeof(big) + 1);
	CU_ASSERT_EQUAL(s[0], '<');
	CU_ASSERT_EQUAL(s[sizeof(big)], '>');
	free(s);
}

static void
test_strlcpy(void)
{
	char buf[8];

	memset(buf, 'x', sizeof(buf));
	CU_ASSERT_EQUAL(brisk_strlcpy(buf, "abc", sizeof(buf)), 3);
	CU_ASSERT_STRING_EQUAL(buf, "abc");

	CU_ASSERT_EQUAL(brisk_strlcpy(buf, "0123456789", sizeof(buf)), 10);
	CU_ASSERT_STRING_EQUAL(buf, "0123456");

	CU_ASSERT_EQUAL(brisk_strlcpy(buf, "1234567", sizeof(buf)), 7);
	CU_ASSERT_STRING_EQUAL(buf, "1234567");

	memset(buf, 'x', sizeof(buf));
	CU_ASSERT_EQUAL(brisk_strlcpy(buf, "abc", 0), 3);
	CU_ASSERT_EQUAL(buf[0], 'x'); /* size 0 writes nothing */

	CU_ASSERT_EQUAL(brisk_strlcpy(buf, "abc", 1), 3);
	CU_ASSERT_STRING_EQUAL(buf, "");
}

static void
test_strcpy_pad(void)
{
	char buf[10];

	memset(buf, 0, sizeof(buf));
	brisk_strcpy_pad(buf, "abc", 8, ' ');
	CU_ASSERT(memcmp(buf, "abc     ", 8) == 0);
	CU_ASSERT_EQUAL(buf[8], 0); /* nothing past size */

	brisk_strcpy_pad(buf, "0123456789abc", 8, ' ');
	CU_ASSERT(memcmp(buf, "01234567", 8) == 0);
	CU_ASSERT_EQUAL(buf[8], 0);

	brisk_strcpy_pad(buf, "", 4, '#');
	CU_ASSERT(memcmp(buf, "####", 4) == 0);

	brisk_strcpy_pad(buf, "ab", 4, 0);
	CU_ASSERT(memcmp(buf, "ab\0\0", 4) == 0);
}

static void
test_trim(void)
{
	char a[] = "  hello world \t\n";
	char b[] = "nothing";
	char c[] = " \t \n";
	char d[] = "";
	char e[] = "\tx";

	CU_ASSERT_PTR_EQUAL(brisk_str_trim(a), a);
	CU_ASSERT_STRING_EQUAL(a, "hello world");
	CU_ASSERT_STRING_EQUAL(brisk_str_trim(b), "nothing");
	CU_ASSERT_STRING_EQUAL(brisk_str_trim(c), "");
	CU_ASSERT_STRING_EQUAL(brisk_str_trim(d), "");
	CU_ASSERT_STRING_EQUAL(brisk_str_trim(e), "x");
	CU_ASSERT_PTR_NULL(brisk_str_trim(NULL));
}

static void
test_has_control_chars(void)
{
	CU_ASSERT_FALSE(brisk_str_has_control_chars("lvs0/vol-1_a.b"));
	CU_ASSERT_FALSE(brisk_str_has_control_chars("caf\xc3\xa9"));
	CU_ASSERT_FALSE(brisk_str_has_control_chars(""));
	CU_ASSERT_TRUE(brisk_str_has_control_chars("a\nb"));
	CU_ASSERT_TRUE(brisk_str_has_control_chars("a\tb"));
	CU_ASSERT_TRUE(brisk_str_has_control_chars("\x1b[31m"));
	CU_ASSERT_TRUE(brisk_str_has_control_chars("del\x7f"));
}

static void
test_escape_control_chars(void)
{
	char buf[64];

	CU_ASSERT_EQUAL(brisk_str_escape_control_chars(buf, sizeof(buf), "plain", 5), 5);
	CU_ASSERT_STRING_EQUAL(buf, "plain");
	CU_ASSERT_EQUAL(brisk_str_escape_control_chars(buf, sizeof(buf), "a\nb\tc\rd\x01\x7f", 9), 18);
	CU_ASSERT_STRING_EQUAL(buf, "a\\nb\\tc\\rd\\x01\\x7f");
	/* Truncation never splits an escape; the return is the full length. */
	CU_ASSERT_EQUAL(brisk_str_escape_control_chars(buf, 3, "a\nb", 3), 4);
	CU_ASSERT_STRING_EQUAL(buf, "a");
	/* Stops at len, not at a NUL: an embedded NUL is shown too. */
	CU_ASSERT_EQUAL(brisk_str_escape_control_chars(buf, sizeof(buf), "x\0y", 3), 6);
	CU_ASSERT_STRING_EQUAL(buf, "x\\x00y");
}

static const CU_TestInfo g_ut_tests[] = {
	{ "parse_long", test_parse_long },
	{ "parse_int", test_parse_int },
	{ "parse_u64_u32", test_parse_u64_u32 },
	{ "parse_bool", test_parse_bool },
	{ "parse_capacity", test_parse_capacity },
	{ "sprintf_alloc", test_sprintf_alloc },
	{ "strlcpy", test_strlcpy },
	{ "strcpy_pad", test_strcpy_pad },
	{ "trim", test_trim },
	{ "has_control_chars", test_has_control_chars },
	{ "escape_control_chars", test_escape_control_chars },
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "string", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "string_ut",
	.suites = g_ut_suites,
};
