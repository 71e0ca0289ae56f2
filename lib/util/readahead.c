/*
 * Read-ahead for non-blocking stream sockets (include/brisk/readahead.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <brisk/readahead.h>

int brisk_readahead_init(struct brisk_readahead *ra, uint32_t cap)
{
	ra->buf = malloc(cap);
	ra->cap = cap;
	ra->off = ra->len = 0;
	return ra->buf != NULL ? 0 : -ENOMEM;
}

void brisk_readahead_fini(struct brisk_readahead *ra)
{
	free(ra->buf);
	ra->buf = NULL;
	ra->off = ra->len = 0;
}

static uint32_t readahead_take(struct brisk_readahead *ra, void *dst, uint32_t want)
{
	uint32_t n = ra->len - ra->off;

	if (n > want) {
		n = want;
	}
	memcpy(dst, ra->buf + ra->off, n);
	ra->off += n;
	if (ra->off == ra->len) {
		ra->off = ra->len = 0;
	}
	return n;
}

ssize_t brisk_readahead_fill(struct brisk_readahead *ra, int fd, void *dst, uint32_t want, uint32_t direct_min)
{
	ssize_t n;

	if (brisk_readahead_pending(ra)) {
		return readahead_take(ra, dst, want);
	}
	if (want >= direct_min) {
		return recv(fd, dst, want, MSG_DONTWAIT);
	}
	n = recv(fd, ra->buf, ra->cap, MSG_DONTWAIT);
	if (n <= 0) {
		return n;
	}
	ra->len = (uint32_t)n;
	return readahead_take(ra, dst, want);
}
