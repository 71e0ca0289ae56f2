/*
 * The delay module: a virtual bdev that adds latency to reads and writes of
 * its base, for tests. Shared by bdev_delay.c, its RPCs and tests.
 */
#ifndef BRISK_BDEV_DELAY_H
#define BRISK_BDEV_DELAY_H

#include <stdint.h>

#include <brisk/bdev.h>
#include <brisk/uuid.h>

/* Largest latency accepted (µs): one minute. A delay bdev is a test tool,
 * and examine and shutdown wait for held I/O, so a longer latency would only
 * stall the target (and the tick arithmetic has to stay far from overflow). */
#define BDEV_DELAY_MAX_LATENCY_US (60ull * 1000 * 1000)

struct bdev_delay_opts {
	const char *base_bdev_name;
	const char *name;
	struct brisk_uuid uuid;   /* null: generated */
	uint64_t avg_read_latency;  /* µs; about 99% of reads */
	uint64_t p99_read_latency;  /* µs; about 1% of reads; >= avg */
	uint64_t avg_write_latency;
	uint64_t p99_write_latency;
};

enum bdev_delay_latency_type {
	DELAY_AVG_READ,
	DELAY_P99_READ,
	DELAY_AVG_WRITE,
	DELAY_P99_WRITE,
	DELAY_NUM_LATENCY_TYPES
};

/* 0, -EINVAL (a field, named in the log; a latency above
 * BDEV_DELAY_MAX_LATENCY_US or a p99 below its avg), -ENODEV (no base), -EEXIST,
 * -EPERM (base claimed), -ENOMEM. */
int bdev_delay_create(const struct bdev_delay_opts *opts);
int bdev_delay_delete(const char *name, brisk_bdev_unregister_cb cb, void *cb_arg);
/* latency_type: avg_read|p99_read|avg_write|p99_write. 0, -ENODEV, -EINVAL
 * (unknown type, latency_us above BDEV_DELAY_MAX_LATENCY_US, or p99 would
 * fall below avg). */
int bdev_delay_update_latency(const char *name, const char *latency_type, uint64_t latency_us);

#endif
