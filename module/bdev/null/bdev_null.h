/*
 * The null bdev module: writes are discarded, reads return zeroes.
 * Shared by bdev_null.c and bdev_null_rpc.c (and unit tests).
 */
#ifndef BRISK_BDEV_NULL_H
#define BRISK_BDEV_NULL_H

#include <stdint.h>

#include <brisk/bdev.h>
#include <brisk/uuid.h>

struct bdev_null_opts {
	const char *name;        /* required */
	struct brisk_uuid uuid;  /* null: generated */
	uint64_t num_blocks;     /* > 0 */
	uint32_t block_size;     /* a multiple of 512 */
};

/* 0, -EINVAL (a bad field, named in the log), -EEXIST (name taken), -ENOMEM. */
int bdev_null_create(struct brisk_bdev **bdev, const struct bdev_null_opts *opts);
/* -ENODEV when no null bdev has that name; otherwise cb(cb_arg, rc) later. */
int bdev_null_delete(const char *name, brisk_bdev_unregister_cb cb, void *cb_arg);
/* New size in MiB (SPDK's bdev_null_resize). 0, -ENODEV, -EINVAL, -EBUSY
 * (shrinking an open bdev). Open descriptors get a RESIZE event. */
int bdev_null_resize(const char *name, uint64_t new_size_mb);

#endif
