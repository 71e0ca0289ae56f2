/* CPU sets: parse and format core masks ("0x3") and lists ("0-1,4", "[0,2-3]"). */
#ifndef BRISK_CPUSET_H
#define BRISK_CPUSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BRISK_CPUSET_SIZE 1024 /* cores representable */
#define BRISK_CPUSET_STR_MAX (BRISK_CPUSET_SIZE / 4 + 3)

struct brisk_cpuset {
	uint64_t bits[BRISK_CPUSET_SIZE / 64];
};

void brisk_cpuset_zero(struct brisk_cpuset *set);
void brisk_cpuset_set_cpu(struct brisk_cpuset *set, uint32_t cpu, bool state);
bool brisk_cpuset_get_cpu(const struct brisk_cpuset *set, uint32_t cpu);
uint32_t brisk_cpuset_count(const struct brisk_cpuset *set);
bool brisk_cpuset_equal(const struct brisk_cpuset *a, const struct brisk_cpuset *b);
void brisk_cpuset_copy(struct brisk_cpuset *dst, const struct brisk_cpuset *src);
void brisk_cpuset_and(struct brisk_cpuset *dst, const struct brisk_cpuset *src);
void brisk_cpuset_or(struct brisk_cpuset *dst, const struct brisk_cpuset *src);
/* First cpu >= start in the set, or UINT32_MAX. */
uint32_t brisk_cpuset_next(const struct brisk_cpuset *set, uint32_t start);
/* Accepts a hex mask ("0x3", "3"; a bare number is hex, so "10" is cpu 4), or a
 * decimal list ("0-1,4" or "[0-1,4]"; anything with ',' '-' or '[' is a list).
 * 0, or -EINVAL (malformed, empty set, cpu >= BRISK_CPUSET_SIZE); set unchanged on error. */
int brisk_cpuset_parse(struct brisk_cpuset *set, const char *str);
/* Hex mask without "0x" ("3"); returns buf. */
const char *brisk_cpuset_fmt(const struct brisk_cpuset *set, char *buf, size_t size);

#define BRISK_CPUSET_FOREACH(i, set) \
	for ((i) = brisk_cpuset_next((set), 0); (i) != UINT32_MAX; (i) = brisk_cpuset_next((set), (i) + 1))

#ifdef __cplusplus
}
#endif
#endif
