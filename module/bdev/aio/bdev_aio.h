/*
 * The aio bdev module: a file or block device through libaio.
 * Shared by bdev_aio.c, bdev_aio_rpc.c and unit tests.
 */
#ifndef BRISK_BDEV_AIO_H
#define BRISK_BDEV_AIO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <brisk/bdev.h>
#include <brisk/uuid.h>

struct bdev_aio_opts {
	const char *filename;   /* required: a regular file or a block device */
	const char *name;       /* required */
	uint32_t block_size;    /* 0: detected; else a power of two >= 512 and >= the device's */
	bool readonly;
	bool fallocate;         /* unmap and write_zeroes through fallocate */
	struct brisk_uuid uuid; /* null: generated */
};

/* 0, -EINVAL (a bad field, named in the log; for a good name and filename:
 * block_size below the device's logical block size), -ENOENT/-EACCES/-EISDIR
 * (the path, named in the log), -ENOTBLK (neither a regular file nor a block
 * device: a FIFO, socket or character device is never opened for I/O, so it
 * cannot block the caller), -ERANGE (smaller than one block), -EIO (geometry unreadable),
 * -EEXIST (name taken), -ENOMEM. Nothing is registered on failure. */
int bdev_aio_create(struct brisk_bdev **bdev, const struct bdev_aio_opts *opts);
/* "a regular file", "a FIFO", "a socket", "a character device" ... for messages. */
const char *bdev_aio_mode_name(mode_t mode);
/* The type of what path names (without opening it for I/O); NULL if it
 * cannot be looked at. */
const char *bdev_aio_file_type(const char *path);
/* -ENODEV when no aio bdev has that name; otherwise cb(cb_arg, rc) later. */
int bdev_aio_delete(const char *name, brisk_bdev_unregister_cb cb, void *cb_arg);
/* Re-reads the size of the file; open descriptors get a RESIZE event.
 * 0, -ENODEV, -EIO (size unreadable), -EBUSY (shrinking an open bdev). */
int bdev_aio_rescan(const char *name);

#endif
