/* Whole-string number parsing and small string helpers. */
#include <brisk/string.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* strtol and friends skip leading spaces and accept a sign; callers of these
 * helpers want the string to be exactly a number, so check the first char. */
static bool
starts_like_number(const char *s, bool allow_minus)
{
	if (s == NULL || *s == '\0' || isspace((unsigned char)*s)) {
		return false;
	}
	if (*s == '-' && !allow_minus) {
		return false;
	}
	return true;
}

static bool
base_valid(int base)
{
	return base == 0 || (base >= 2 && base <= 36);
}

int
brisk_parse_long(const char *s, int base, long *out)
{
	char *end;
	long v;

	if (!starts_like_number(s, true) || !base_valid(base) || out == NULL) {
		return -EINVAL;
	}
	errno = 0;
	v = strtol(s, &end, base);
	if (end == s || *end != '\0') {
		return -EINVAL;
	}
	if (errno == ERANGE) {
		return -ERANGE;
	}
	*out = v;
	return 0;
}

int
brisk_parse_int(const char *s, int base, int *out)
{
	long v;
	int rc;

	if (out == NULL) {
		return -EINVAL;
	}
	rc = brisk_parse_long(s, base, &v);
	if (rc != 0) {
		return rc;
	}
	if (v < INT_MIN || v > INT_MAX) {
		return -ERANGE;
	}
	*out = (int)v;
	return 0;
}

int
brisk_parse_u64(const char *s, int base, uint64_t *out)
{
	char *end;
	unsigned long long v;

	/* strtoull silently negates "-1" into a huge value: refuse the sign. */
	if (!starts_like_number(s, false) || !base_valid(base) || out == NULL) {
		return -EINVAL;
	}
	errno = 0;
	v = strtoull(s, &end, base);
	if (end == s || *end != '\0') {
		return -EINVAL;
	}
	if (errno == ERANGE) {
		return -ERANGE;
	}
	*out = v;
	return 0;
}

int
brisk_parse_u32(const char *s, int base, uint32_t *out)
{
	uint64_t v;
	int rc;

	if (out == NULL) {
		return -EINVAL;
	}
	rc = brisk_parse_u64(s, base, &v);
	if (rc != 0) {
		return rc;
	}
	if (v > UINT32_MAX) {
		return -ERANGE;
	}
	*out = (uint32_t)v;
	return 0;
}

int
brisk_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	size_t i;

	if (s == NULL || out == NULL) {
		return -EINVAL;
	}
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* Binary multiples; the exponent of 1024 for each unit letter. */
static int
unit_shift(char c)
{
	switch (tolower((unsigned char)c)) {
	case 'k': return 10;
	case 'm': return 20;
	case 'g': return 30;
	case 't': return 40;
	case 'p': return 50;
	case 'e': return 60;
	default: return -1;
	}
}

int
brisk_parse_capacity(const char *s, uint64_t *bytes, bool *has_suffix)
{
	const char *p, *unit;
	uint64_t v = 0;
	int shift = 0;

	if (s == NULL || bytes == NULL) {
		return -EINVAL;
	}
	/* Decimal digits only: a hex number would swallow a "B" suffix. */
	for (p = s; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10) {
			return -ERANGE;
		}
		v = v * 10 + d;
	}
	if (p == s) {
		return -EINVAL;
	}
	unit = p;
	if (*p != '\0') {
		/* Accepted forms: K, KB, KiB (any case), or a bare B for bytes. */
		if (tolower((unsigned char)*p) == 'b') {
			p++;
		} else {
			shift = unit_shift(*p);
			if (shift < 0) {
				return -EINVAL;
			}
			p++;
			if (tolower((unsigned char)p[0]) == 'i' && tolower((unsigned char)p[1]) == 'b') {
				p += 2;
			} else if (tolower((unsigned char)p[0]) == 'b') {
				p++;
			}
		}
		if (*p != '\0') {
			return -EINVAL;
		}
	}
	if (shift > 0 && v > (UINT64_MAX >> shift)) {
		return -ERANGE;
	}
	*bytes = v << shift;
	if (has_suffix != NULL) {
		*has_suffix = *unit != '\0';
	}
	return 0;
}

char *
brisk_vsprintf_alloc(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0) {
		return NULL;
	}
	return s;
}

char *
brisk_sprintf_alloc(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = brisk_vsprintf_alloc(fmt, ap);
	va_end(ap);
	return s;
}

size_t
brisk_strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size > 0) {
		size_t n = len < size - 1 ? len : size - 1;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

void
brisk_strcpy_pad(void *dst, const char *src, size_t size, int pad)
{
	size_t len = strnlen(src, size);

	memcpy(dst, src, len);
	memset((char *)dst + len, pad, size - len);
}

char *
brisk_str_trim(char *s)
{
	char *start = s;
	size_t len;

	if (s == NULL) {
		return NULL;
	}
	while (isspace((unsigned char)*start)) {
		start++;
	}
	len = strlen(start);
	while (len > 0 && isspace((unsigned char)start[len - 1])) {
		len--;
	}
	memmove(s, start, len);
	s[len] = '\0';
	return s;
}

static bool
is_control_byte(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

bool
brisk_str_has_control_chars(const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		if (is_control_byte((unsigned char)*s)) {
			return true;
		}
	}
	return false;
}

/* The escape of one byte into esc (at most 4 chars + NUL); returns its length. */
static size_t
escape_byte(unsigned char c, char esc[5])
{
	switch (c) {
	case '\n': memcpy(esc, "\\n", 3); return 2;
	case '\t': memcpy(esc, "\\t", 3); return 2;
	case '\r': memcpy(esc, "\\r", 3); return 2;
	default:
		if (!is_control_byte(c)) {
			esc[0] = (char)c;
			esc[1] = '\0';
			return 1;
		}
		snprintf(esc, 5, "\\x%02x", c);
		return 4;
	}
}

size_t
brisk_str_escape_control_chars(char *dst, size_t size, const char *src, size_t len)
{
	size_t out = 0, n;
	bool full = size == 0;
	char esc[5];

	for (size_t i = 0; i < len; i++) {
		n = escape_byte((unsigned char)src[i], esc);
		if (!full && out + n < size) {
			memcpy(dst + out, esc, n);
		} else if (!full) {
			dst[out] = '\0';
			full = true;
		}
		out += n;
	}
	if (!full) {
		dst[out] = '\0';
	}
	return out;
}
