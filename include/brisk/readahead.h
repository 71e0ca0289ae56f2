/*
 * Read-ahead for a non-blocking stream socket parsed in small parts (the
 * NVMe/TCP and iSCSI targets): one recv takes whatever the peer queued, up
 * to the buffer's size, and parts are copied out of it, instead of a system
 * call per header. Parts of direct_min bytes or more are read straight into
 * their destination, so bulk data is not copied twice.
 */
#ifndef BRISK_READAHEAD_H
#define BRISK_READAHEAD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct brisk_readahead {
	uint8_t *buf;
	uint32_t cap;
	uint32_t off, len; /* buf[off, len) not yet handed out */
};

/* 0, or -ENOMEM. */
int brisk_readahead_init(struct brisk_readahead *ra, uint32_t cap);
void brisk_readahead_fini(struct brisk_readahead *ra);

/* Bytes read ahead wait: whoever polls the socket must call fill again
 * even when the socket has nothing new. */
static inline bool brisk_readahead_pending(const struct brisk_readahead *ra) { return ra->len > ra->off; }

/* Puts up to want (> 0) bytes into dst: from the read-ahead if it holds any,
 * else with one recv (MSG_DONTWAIT). Returns the bytes placed (> 0), or
 * recv's 0 (peer closed) or -1 (errno set, EAGAIN when nothing came). */
ssize_t brisk_readahead_fill(struct brisk_readahead *ra, int fd, void *dst, uint32_t want, uint32_t direct_min);

#endif
