/* A blobstore device (struct brisk_bs_dev) over a bdev. */
#ifndef BRISK_BLOB_BDEV_H
#define BRISK_BLOB_BDEV_H

#include <brisk/bdev.h>
#include <brisk/blob.h>

#ifdef __cplusplus
extern "C" {
#endif

struct brisk_bdev_module;

/* Opens bdev_name for writing (event_cb gets the bdev's events; required).
 * The bs_dev closes the descriptor when destroyed (the store destroys its
 * device at unload). 0, -EINVAL (bad argument, or a block size that does not
 * divide 4096), -ENODEV, -EPERM (claimed by a module), -ENOMEM. */
int brisk_bdev_create_bs_dev_ext(const char *bdev_name, brisk_bdev_event_cb_t event_cb,
				 void *event_ctx, struct brisk_bs_dev **bs_dev);

/* Claims the bdev for module (exclusive writer until the bs_dev is destroyed).
 * 0, -EINVAL, -EPERM (claimed by another module). */
int brisk_bs_bdev_claim(struct brisk_bs_dev *bs_dev, struct brisk_bdev_module *module);

/* The descriptor of the bdev under a bs_dev made by
 * brisk_bdev_create_bs_dev_ext (for a stacked module's direct I/O, the
 * lvol's: brisk_bdev_io_submit_to_base); valid while the bs_dev is. */
struct brisk_bdev_desc *brisk_bs_bdev_get_desc(struct brisk_bs_dev *bs_dev);

#ifdef __cplusplus
}
#endif

#endif
