/*
 * The passthru module: the template virtual bdev. It claims a base bdev and
 * forwards every I/O to it. Shared by bdev_passthru.c, its RPCs and tests.
 */
#ifndef BRISK_BDEV_PASSTHRU_H
#define BRISK_BDEV_PASSTHRU_H

#include <brisk/bdev.h>
#include <brisk/uuid.h>

/* Remembers the config and creates the passthru now if base_bdev_name
 * exists, else when it appears (examine). 0, -EINVAL (a field, named in the
 * log), -EEXIST (name taken or already configured), -EPERM (base claimed by
 * another module; the config is dropped), -ENOMEM. uuid may be NULL. */
int bdev_passthru_create(const char *base_bdev_name, const char *name, const struct brisk_uuid *uuid);
/* Drops the config and unregisters the bdev; cb(cb_arg, rc) later.
 * -ENODEV when neither exists. */
int bdev_passthru_delete(const char *name, brisk_bdev_unregister_cb cb, void *cb_arg);

#endif
