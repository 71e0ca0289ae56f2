/*
 * The "bdev" subsystem (libbrisk_event_bdev, SPDK's module/event: it ties
 * the bdev layer to lib/event, and neither of those uses the other, so it
 * belongs to neither): starts the bdev layer (pools, then every bdev module
 * in registration order) when the app initialises its subsystems, finishes it
 * (every bdev unregistered, modules finished) at shutdown, and writes its
 * part of save_config: bdev_set_options, module settings, the calls that
 * recreate each bdev, QoS limits, then bdev_wait_for_examine so that a
 * loaded configuration waits for examine (lvol stores, partitions) before
 * the next subsystem runs. Its settle step holds "start-up complete" until
 * the bdevs the configuration created are examined.
 */
#include <brisk/bdev.h>
#include <brisk/event.h>

static void bdev_subsystem_init_done(void *cb_arg, int rc) { brisk_subsystem_init_done(rc); }

static void bdev_subsystem_init(void) { brisk_bdev_initialize(bdev_subsystem_init_done, NULL); }

static void bdev_subsystem_fini_done(void *cb_arg) { brisk_subsystem_fini_done(); }

static void bdev_subsystem_fini(void) { brisk_bdev_finish(bdev_subsystem_fini_done, NULL); }

static void bdev_subsystem_write_config_json(json_t *config_array) { brisk_bdev_subsystem_config_json(config_array); }

/* The configuration created bdevs; their examine (lvol stores loading, a
 * dirty one replaying) may still run: start-up is not complete before it ends. */
static void bdev_subsystem_settle(void (*done)(void *ctx), void *ctx)
{
	if (brisk_bdev_wait_for_examine(done, ctx) != 0) {
		done(ctx);
	}
}

static struct brisk_subsystem g_bdev_subsystem = {
	.name = "bdev",
	.init = bdev_subsystem_init,
	.fini = bdev_subsystem_fini,
	.write_config_json = bdev_subsystem_write_config_json,
	.settle = bdev_subsystem_settle,
};
BRISK_SUBSYSTEM_REGISTER(g_bdev_subsystem)
