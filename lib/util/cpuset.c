/* CPU sets: a fixed 1024-bit set, parsed from hex masks or core lists. */
#include <brisk/cpuset.h>

#include <brisk/log.h>

#include <ctype.h>
#include <errno.h>
#include <string.h>

#define CPUSET_WORDS (BRISK_CPUSET_SIZE / 64)

void
brisk_cpuset_zero(struct brisk_cpuset *set)
{
	memset(set, 0, sizeof(*set));
}

void
brisk_cpuset_set_cpu(struct brisk_cpuset *set, uint32_t cpu, bool state)
{
	if (cpu >= BRISK_CPUSET_SIZE) {
		return;
	}
	if (state) {
		set->bits[cpu / 64] |= 1ULL << (cpu % 64);
	} else {
		set->bits[cpu / 64] &= ~(1ULL << (cpu % 64));
	}
}

bool
brisk_cpuset_get_cpu(const struct brisk_cpuset *set, uint32_t cpu)
{
	if (cpu >= BRISK_CPUSET_SIZE) {
		return false;
	}
	return (set->bits[cpu / 64] >> (cpu % 64)) & 1;
}

uint32_t
brisk_cpuset_count(const struct brisk_cpuset *set)
{
	uint32_t i, n = 0;

	for (i = 0; i < CPUSET_WORDS; i++) {
		n += (uint32_t)__builtin_popcountll(set->bits[i]);
	}
	return n;
}

bool
brisk_cpuset_equal(const struct brisk_cpuset *a, const struct brisk_cpuset *b)
{
	return memcmp(a->bits, b->bits, sizeof(a->bits)) == 0;
}

void
brisk_cpuset_copy(struct brisk_cpuset *dst, const struct brisk_cpuset *src)
{
	memcpy(dst, src, sizeof(*dst));
}

void
brisk_cpuset_and(struct brisk_cpuset *dst, const struct brisk_cpuset *src)
{
	uint32_t i;

	for (i = 0; i < CPUSET_WORDS; i++) {
		dst->bits[i] &= src->bits[i];
	}
}

void
brisk_cpuset_or(struct brisk_cpuset *dst, const struct brisk_cpuset *src)
{
	uint32_t i;

	for (i = 0; i < CPUSET_WORDS; i++) {
		dst->bits[i] |= src->bits[i];
	}
}

uint32_t
brisk_cpuset_next(const struct brisk_cpuset *set, uint32_t start)
{
	uint32_t i;
	uint64_t w;

	if (start >= BRISK_CPUSET_SIZE) {
		return UINT32_MAX;
	}
	i = start / 64;
	w = set->bits[i] & (~0ULL << (start % 64));
	for (;;) {
		if (w != 0) {
			return i * 64 + (uint32_t)__builtin_ctzll(w);
		}
		if (++i >= CPUSET_WORDS) {
			return UINT32_MAX;
		}
		w = set->bits[i];
	}
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	return -1;
}

/* Hex digits [s, s + len), the last digit holding cpus 0-3. */
static int
parse_mask(struct brisk_cpuset *set, const char *whole, const char *s, size_t len)
{
	size_t i;

	if (len == 0) {
		BRISK_ERRLOG("cpu mask '%s': no hex digits\n", whole);
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		/* i-th digit from the right covers cpus 4i .. 4i+3. */
		int v = hex_value(s[len - 1 - i]);

		if (v < 0) {
			BRISK_ERRLOG("cpu mask '%s': '%c' is not a hex digit\n", whole, s[len - 1 - i]);
			return -EINVAL;
		}
		if (v == 0) {
			continue;
		}
		if (i >= BRISK_CPUSET_SIZE / 4) {
			BRISK_ERRLOG("cpu mask '%s': cpus above %u are not supported\n", whole,
				     BRISK_CPUSET_SIZE - 1);
			return -EINVAL;
		}
		set->bits[(i * 4) / 64] |= (uint64_t)v << ((i * 4) % 64);
	}
	return 0;
}

/* A decimal cpu number at *p; advances *p. */
static int
parse_cpu_number(const char *whole, const char **p, uint32_t *cpu)
{
	const char *s = *p;
	uint64_t v = 0;

	if (!isdigit((unsigned char)*s)) {
		if (*s == '\0') {
			BRISK_ERRLOG("cpu list '%s': ends where a cpu number is expected\n", whole);
		} else {
			BRISK_ERRLOG("cpu list '%s': expected a cpu number at '%s'\n", whole, s);
		}
		return -EINVAL;
	}
	while (isdigit((unsigned char)*s)) {
		v = v * 10 + (uint64_t)(*s - '0');
		if (v >= BRISK_CPUSET_SIZE) {
			BRISK_ERRLOG("cpu list '%s': cpu numbers must be below %u\n", whole,
				     BRISK_CPUSET_SIZE);
			return -EINVAL;
		}
		s++;
	}
	*p = s;
	*cpu = (uint32_t)v;
	return 0;
}

/* "0-1,4": comma-separated cpus or inclusive ranges in [s, end). */
static int
parse_list(struct brisk_cpuset *set, const char *whole, const char *s, const char *end)
{
	uint32_t first, last, cpu;
	int rc;

	for (;;) {
		rc = parse_cpu_number(whole, &s, &first);
		if (rc != 0) {
			return rc;
		}
		last = first;
		if (s < end && *s == '-') {
			s++;
			rc = parse_cpu_number(whole, &s, &last);
			if (rc != 0) {
				return rc;
			}
			if (last < first) {
				BRISK_ERRLOG("cpu list '%s': range %u-%u goes backwards\n", whole, first,
					     last);
				return -EINVAL;
			}
		}
		for (cpu = first; cpu <= last; cpu++) {
			brisk_cpuset_set_cpu(set, cpu, true);
		}
		if (s == end) {
			return 0;
		}
		if (*s != ',') {
			BRISK_ERRLOG("cpu list '%s': unexpected '%c'\n", whole, *s);
			return -EINVAL;
		}
		s++;
		if (s == end) {
			BRISK_ERRLOG("cpu list '%s': ends with ','\n", whole);
			return -EINVAL;
		}
	}
}

int
brisk_cpuset_parse(struct brisk_cpuset *set, const char *str)
{
	struct brisk_cpuset tmp;
	size_t len;
	int rc;

	if (set == NULL || str == NULL) {
		return -EINVAL;
	}
	len = strlen(str);
	if (len == 0) {
		BRISK_ERRLOG("cpu set: empty string\n");
		return -EINVAL;
	}
	brisk_cpuset_zero(&tmp);
	if (str[0] == '[') {
		if (str[len - 1] != ']') {
			BRISK_ERRLOG("cpu list '%s': missing ']'\n", str);
			return -EINVAL;
		}
		rc = parse_list(&tmp, str, str + 1, str + len - 1);
	} else if (str[0] == '0' && (str[1] == 'x' || str[1] == 'X')) {
		rc = parse_mask(&tmp, str, str + 2, len - 2);
	} else if (strpbrk(str, ",-") != NULL) {
		rc = parse_list(&tmp, str, str, str + len);
	} else {
		/* A bare number is a hex mask, as with taskset and SPDK's -m. */
		rc = parse_mask(&tmp, str, str, len);
	}
	if (rc != 0) {
		return rc;
	}
	if (brisk_cpuset_count(&tmp) == 0) {
		BRISK_ERRLOG("cpu set '%s' selects no cpu\n", str);
		return -EINVAL;
	}
	brisk_cpuset_copy(set, &tmp);
	return 0;
}

const char *
brisk_cpuset_fmt(const struct brisk_cpuset *set, char *buf, size_t size)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[BRISK_CPUSET_SIZE / 4 + 1];
	size_t n = 0, len;
	int i;
	bool started = false;

	if (buf == NULL || size == 0) {
		return buf;
	}
	for (i = BRISK_CPUSET_SIZE / 4 - 1; i >= 0; i--) {
		unsigned v = (unsigned)(set->bits[(i * 4) / 64] >> ((i * 4) % 64)) & 0xf;

		if (v != 0 || started || i == 0) {
			tmp[n++] = digits[v];
			started = true;
		}
	}
	tmp[n] = '\0';
	/* Too small a buffer gets the low digits cut off the end: better an
	 * obviously short string than overflow. */
	len = n < size - 1 ? n : size - 1;
	memcpy(buf, tmp, len);
	buf[len] = '\0';
	return buf;
}
