/*
 * The "iscsi" subsystem (libbrisk_event_iscsi: it ties lib/iscsi to
 * lib/event, as module/event/bdev does for lib/bdev): starts the iSCSI
 * target (after the bdev subsystem, whose bdevs its LUNs use) on the app
 * thread, stops it at shutdown (portals, connections, poll groups, then
 * target nodes), and writes its part of save_config (the iscsi_* calls that
 * recreate it).
 */
#include <brisk/event.h>
#include <brisk/iscsi.h>

static void iscsi_subsystem_init_done(void *ctx, int rc) { brisk_subsystem_init_done(rc); }

static void iscsi_subsystem_init(void)
{
	brisk_iscsi_tgt_init(brisk_reactors_is_poll_mode(), iscsi_subsystem_init_done, NULL);
}

static void iscsi_subsystem_fini_done(void *ctx, int rc) { brisk_subsystem_fini_done(); }

static void iscsi_subsystem_fini(void) { brisk_iscsi_tgt_fini(iscsi_subsystem_fini_done, NULL); }

static void iscsi_subsystem_write_config_json(json_t *config_array) { brisk_iscsi_tgt_write_config_json(config_array); }

static struct brisk_subsystem g_iscsi_subsystem = {
	.name = "iscsi",
	.init = iscsi_subsystem_init,
	.fini = iscsi_subsystem_fini,
	.write_config_json = iscsi_subsystem_write_config_json,
};
BRISK_SUBSYSTEM_REGISTER(g_iscsi_subsystem)
BRISK_SUBSYSTEM_DEPEND(iscsi, bdev)
