/*
 * The error module: "EE_<base>" wraps a base bdev and fails chosen I/O on
 * request, for tests. Shared by bdev_error.c, its RPCs and tests.
 */
#ifndef BRISK_BDEV_ERROR_H
#define BRISK_BDEV_ERROR_H

#include <stdint.h>

#include <brisk/bdev.h>
#include <brisk/uuid.h>

enum bdev_error_type {
	BDEV_ERROR_TYPE_NONE = 0,
	BDEV_ERROR_TYPE_FAILURE,      /* the I/O completes with an error */
	BDEV_ERROR_TYPE_PENDING,      /* the I/O is held until the rules are cleared or the bdev is deleted (then aborted) */
	BDEV_ERROR_TYPE_CORRUPT_DATA, /* data XORed with corrupt_value at corrupt_offset */
	BDEV_ERROR_TYPE_NOMEM,        /* the I/O completes with NOMEM: the layer retries it */
};

struct bdev_error_inject_opts {
	uint32_t io_type_mask;        /* bits (1 << BRISK_BDEV_IO_TYPE_x); all bits: every type */
	enum bdev_error_type error_type; /* NONE clears the mask's types */
	uint32_t num;                 /* I/Os to affect */
	uint64_t queue_depth;         /* only while at least this many I/O are in flight (0: always) */
	uint64_t corrupt_offset;      /* bytes into the I/O's data */
	uint8_t corrupt_value;        /* non-zero for CORRUPT_DATA */
};

/* 0, -EINVAL, -ENODEV (no base_name), -EEXIST, -EPERM (base claimed), -ENOMEM. */
int bdev_error_create(const char *base_name, const struct brisk_uuid *uuid);
/* Aborts held I/O, then unregisters; -ENODEV when name is not an error bdev. */
int bdev_error_delete(const char *name, brisk_bdev_unregister_cb cb, void *cb_arg);
/* 0, -ENODEV, -EINVAL (a field, named in the log). */
int bdev_error_inject_error(const char *name, const struct bdev_error_inject_opts *opts);
/* io_type / error_type names as in SPDK's RPC: 0 or -EINVAL. */
int bdev_error_parse_io_type(const char *s, uint32_t *mask, bool *clear);
int bdev_error_parse_error_type(const char *s, enum bdev_error_type *type);

#endif
