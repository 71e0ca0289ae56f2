/*
 * Finding where each JSON value ends in a client's byte stream, without
 * parsing it (see struct rpc_framer in rpc_internal.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rpc_internal.h"



void
rpc_framer_init(struct rpc_framer *f)
{
	memset(f, 0, sizeof(*f));
}

void
rpc_framer_fini(struct rpc_framer *f)
{
	free(f->buf);
	memset(f, 0, sizeof(*f));
}

char *
rpc_framer_reserve(struct rpc_framer *f, size_t want, size_t *avail)
{
	if (f->head == f->len && f->cap > RPC_IDLE_BUF_CAP) {
		/* A large request has been handled: give its buffer back. */
		free(f->buf);
		f->buf = NULL;
		f->cap = f->len = f->head = f->scan = f->value_start = 0;
	}
	if (f->head > 0 && (f->head == f->len || f->head >= f->cap / 2 || f->cap - f->len < want)) {
		memmove(f->buf, f->buf + f->head, f->len - f->head);
		f->len -= f->head;
		f->scan -= f->head;
		f->value_start = f->in_value ? f->value_start - f->head : 0;
		f->head = 0;
	}
	if (f->cap - f->len < want) {
		size_t cap = f->cap ? f->cap * 2 : RPC_READ_CHUNK;
		char *grown;

		if (cap < f->len + want) {
			cap = f->len + want;
		}
		grown = realloc(f->buf, cap);
		if (grown == NULL) {
			return NULL;
		}
		f->buf = grown;
		f->cap = cap;
	}
	*avail = f->cap - f->len;
	return f->buf + f->len;
}

void
rpc_framer_commit(struct rpc_framer *f, size_t n)
{
	f->len += n;
}

size_t
rpc_framer_pending(const struct rpc_framer *f)
{
	return f->len - f->head;
}

static bool
is_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static enum rpc_frame_status
framer_complete(struct rpc_framer *f, size_t end, size_t limit, const char **start, size_t *len)
{
	if (end - f->value_start > limit) {
		return RPC_FRAME_TOO_LARGE;
	}
	*start = f->buf + f->value_start;
	*len = end - f->value_start;
	f->head = end;
	f->scan = end;
	f->in_value = false;
	return RPC_FRAME_VALUE;
}

enum rpc_frame_status
rpc_framer_next(struct rpc_framer *f, size_t limit, const char **start, size_t *len)
{
	for (; f->scan < f->len; f->scan++) {
		char c = f->buf[f->scan];

		if (!f->in_value) {
			if (is_json_space(c)) {
				f->head = f->scan + 1;
				continue;
			}
			f->value_start = f->scan;
			f->in_value = true;
			f->depth = 0;
			f->in_string = false;
			f->escape = false;
			f->bare = false;
			if (c == '{' || c == '[') {
				f->depth = 1;
			} else if (c == '"') {
				f->in_string = true;
			} else if (c == '}' || c == ']' || c == ',' || c == ':') {
				return RPC_FRAME_MALFORMED;
			} else {
				f->bare = true;
			}
			continue;
		}
		if (f->in_string) {
			if (f->escape) {
				f->escape = false;
			} else if (c == '\\') {
				f->escape = true;
			} else if (c == '"') {
				f->in_string = false;
				if (f->depth == 0) {
					return framer_complete(f, f->scan + 1, limit, start, len);
				}
			}
			continue;
		}
		if (f->bare) {
			/* A number or literal ends at the first delimiter, which is
			 * not part of it. */
			if (is_json_space(c) || strchr("{}[],:\"", c) != NULL) {
				return framer_complete(f, f->scan, limit, start, len);
			}
			continue;
		}
		switch (c) {
		case '"':
			f->in_string = true;
			break;
		case '{':
		case '[':
			f->depth++;
			break;
		case '}':
		case ']':
			/* Mismatched pairs ({]) still balance the depth; the parser
			 * rejects them. */
			if (--f->depth == 0) {
				return framer_complete(f, f->scan + 1, limit, start, len);
			}
			break;
		default:
			break;
		}
	}
	if (f->in_value && f->len - f->value_start > limit) {
		return RPC_FRAME_TOO_LARGE;
	}
	return RPC_FRAME_NEED_MORE;
}
