/*
 * The malloc bdev module: a RAM-backed bdev (module/bdev/malloc).
 * Shared by bdev_malloc.c and bdev_malloc_rpc.c (and unit tests).
 */
#ifndef BRISK_BDEV_MALLOC_H
#define BRISK_BDEV_MALLOC_H

#include <stdint.h>

#include <brisk/bdev.h>
#include <brisk/uuid.h>

struct bdev_malloc_opts {
	const char *name;              /* NULL: MallocN */
	struct brisk_uuid uuid;        /* null: generated */
	uint64_t num_blocks;           /* > 0 */
	uint32_t block_size;           /* a multiple of 512 */
	uint32_t physical_block_size; /* 0 = block_size, else a power-of-two multiple of it */
	uint32_t optimal_io_boundary;  /* blocks, 0 = none */
};

/* 0, -EINVAL (a bad field, named in the log), -EEXIST (name taken), -ENOMEM. */
int bdev_malloc_create(struct brisk_bdev **bdev, const struct bdev_malloc_opts *opts);
/* -ENODEV when no malloc bdev has that name; otherwise cb(cb_arg, rc) later. */
int bdev_malloc_delete(const char *name, brisk_bdev_unregister_cb cb, void *cb_arg);

#endif
