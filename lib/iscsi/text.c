/*
 * Key=value lists of Login and Text PDUs (RFC 7143 6.1) and the answer
 * buffer the target fills. Parsing works in place: the received data
 * segment is NUL-terminated pairs, and each pair's '=' becomes a NUL.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "iscsi_text.h"

static int kv_add(struct iscsi_kv *kv, char *pair, char *err, size_t errlen)
{
	char *eq = strchr(pair, '=');

	if (eq == NULL || eq == pair || eq - pair > ISCSI_KEY_MAX) {
		snprintf(err, errlen, "text pair '%.32s' is not key=value", pair);
		return -EINVAL;
	}
	*eq = '\0';
	if (iscsi_kv_get(kv, pair) != NULL) {
		snprintf(err, errlen, "key %s given twice", pair);
		return -EINVAL;
	}
	if (kv->num == ISCSI_TEXT_MAX_PAIRS) {
		snprintf(err, errlen, "more than %d text pairs", ISCSI_TEXT_MAX_PAIRS);
		return -EINVAL;
	}
	kv->pairs[kv->num].key = pair;
	kv->pairs[kv->num].value = eq + 1;
	kv->num++;
	return 0;
}

int iscsi_kv_parse(char *buf, uint32_t len, struct iscsi_kv *kv, char *err, size_t errlen)
{
	uint32_t start = 0;

	kv->num = 0;
	/* Trailing padding NULs and a missing final NUL are both tolerated. */
	while (start < len) {
		uint32_t end = start;

		while (end < len && buf[end] != '\0') {
			end++;
		}
		if (end == len) {
			snprintf(err, errlen, "text data does not end in NUL");
			return -EINVAL;
		}
		if (end > start && kv_add(kv, buf + start, err, errlen) != 0) {
			return -EINVAL;
		}
		start = end + 1;
	}
	return 0;
}

const char *iscsi_kv_get(const struct iscsi_kv *kv, const char *key)
{
	for (uint32_t i = 0; i < kv->num; i++) {
		if (strcmp(kv->pairs[i].key, key) == 0) {
			return kv->pairs[i].value;
		}
	}
	return NULL;
}

void iscsi_text_add(struct iscsi_text_out *out, const char *key, const char *value)
{
	int n;

	if (out->overflow) {
		return;
	}
	n = snprintf(out->buf + out->len, out->cap - out->len, "%s=%s", key, value);
	if (n < 0 || (uint32_t)n + 1 > out->cap - out->len) {
		out->overflow = true;
		return;
	}
	out->len += (uint32_t)n + 1;
}

void iscsi_text_addf(struct iscsi_text_out *out, const char *key, const char *fmt, ...)
{
	char value[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	iscsi_text_add(out, key, value);
}
