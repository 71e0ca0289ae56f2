/*
 * The "nvmf" subsystem (libbrisk_event_nvmf: it ties lib/nvmf to lib/event,
 * as module/event/bdev does for lib/bdev): starts the NVMe-oF target (after
 * the bdev subsystem, whose bdevs it exports) on the app thread, stops it at
 * shutdown (connections, then subsystems, then poll groups), and writes its
 * part of save_config (the nvmf_* calls that recreate it).
 */
#include <brisk/event.h>
#include <brisk/nvmf.h>

static void nvmf_subsystem_init_done(void *ctx, int rc) { brisk_subsystem_init_done(rc); }

static void nvmf_subsystem_init(void)
{
	brisk_nvmf_tgt_init(brisk_reactors_is_poll_mode(), nvmf_subsystem_init_done, NULL);
}

static void nvmf_subsystem_fini_done(void *ctx, int rc) { brisk_subsystem_fini_done(); }

static void nvmf_subsystem_fini(void) { brisk_nvmf_tgt_fini(nvmf_subsystem_fini_done, NULL); }

static void nvmf_subsystem_write_config_json(json_t *config_array) { brisk_nvmf_tgt_write_config_json(config_array); }

static struct brisk_subsystem g_nvmf_subsystem = {
	.name = "nvmf",
	.init = nvmf_subsystem_init,
	.fini = nvmf_subsystem_fini,
	.write_config_json = nvmf_subsystem_write_config_json,
};
BRISK_SUBSYSTEM_REGISTER(g_nvmf_subsystem)
BRISK_SUBSYSTEM_DEPEND(nvmf, bdev)
