/*
 * The split module: N equal parts "<base>p0".."<base>pN-1" of a base bdev.
 * Shared by bdev_split.c, its RPCs and tests.
 */
#ifndef BRISK_BDEV_SPLIT_H
#define BRISK_BDEV_SPLIT_H

#include <stdint.h>

#include <brisk/bdev.h>

/* split_size_mb 0: the base divided by split_count; otherwise each part has
 * that size and split_count parts must fit. The parts are created now if the
 * base exists, else when it appears. 0, -EINVAL (a field, named in the log),
 * -EEXIST (base already split or a part name taken), -EPERM (base claimed),
 * -ENOMEM. */
int bdev_split_create(const char *base_bdev, uint32_t split_count, uint64_t split_size_mb);
/* Unregisters every part of base_bdev and drops the config; cb(cb_arg, rc)
 * once the last is gone. -ENODEV when base_bdev is not split. */
int bdev_split_delete(const char *base_bdev, brisk_bdev_unregister_cb cb, void *cb_arg);

#endif
