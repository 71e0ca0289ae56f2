/* String and number parsing helpers with error reporting. */
#ifndef BRISK_STRING_H
#define BRISK_STRING_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Whole-string parses: leading/trailing garbage, empty strings -> -EINVAL;
 * out of range -> -ERANGE. base as for strtol (0 = auto 0x/0 prefixes). */
int brisk_parse_long(const char *s, int base, long *out);
int brisk_parse_int(const char *s, int base, int *out);
int brisk_parse_u64(const char *s, int base, uint64_t *out);
int brisk_parse_u32(const char *s, int base, uint32_t *out);
/* "true"/"false"/"yes"/"no"/"on"/"off"/"1"/"0". */
int brisk_parse_bool(const char *s, bool *out);
/* Sizes with optional binary suffix: "512", "4k", "64M", "1G", "2T" (also KiB/MiB/GiB/TiB,
 * KB/MB...). *has_suffix tells whether a unit was given (may be NULL). */
int brisk_parse_capacity(const char *s, uint64_t *bytes, bool *has_suffix);

/* malloc'ed formatted string, NULL on failure. */
char *brisk_sprintf_alloc(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *brisk_vsprintf_alloc(const char *fmt, va_list ap);
/* Copies at most size-1 chars and NUL-terminates; returns strlen(src). */
size_t brisk_strlcpy(char *dst, const char *src, size_t size);
/* Copies src into a fixed-width field padded with pad (no NUL), as NVMe/SCSI fields want. */
void brisk_strcpy_pad(void *dst, const char *src, size_t size, int pad);
/* Trims leading and trailing whitespace in place; returns s. */
char *brisk_str_trim(char *s);
/* True when s holds a byte below 0x20 or 0x7f (newline, tab, escape ...):
 * names with them are refused, since they forge log lines or terminal output. */
bool brisk_str_has_control_chars(const char *s);
/* Copies len bytes of src (NULs included) into dst with every control byte
 * written as an escape: \n \t \r, others \xHH. Always NUL-terminates
 * (size > 0) and never splits an escape; returns the length the whole
 * escaped text needs (like snprintf). */
size_t brisk_str_escape_control_chars(char *dst, size_t size, const char *src, size_t len);

#ifdef __cplusplus
}
#endif
#endif
