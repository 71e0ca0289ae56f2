/*
 * JSON: the object bdev_get_bdevs returns for a bdev, and the calls that
 * recreate the bdev layer's state (save_config).
 */
#include <brisk/log.h>

#include "bdev_internal.h"

static void add_alias(const char *alias, void *ctx)
{
	json_array_append_new(ctx, json_string(alias));
}

static const char *const g_io_type_names[BRISK_BDEV_NUM_IO_TYPES] = {
	[BRISK_BDEV_IO_TYPE_READ] = "read",       [BRISK_BDEV_IO_TYPE_WRITE] = "write",
	[BRISK_BDEV_IO_TYPE_UNMAP] = "unmap",     [BRISK_BDEV_IO_TYPE_FLUSH] = "flush",
	[BRISK_BDEV_IO_TYPE_RESET] = "reset",     [BRISK_BDEV_IO_TYPE_WRITE_ZEROES] = "write_zeroes",
	[BRISK_BDEV_IO_TYPE_COMPARE] = "compare", [BRISK_BDEV_IO_TYPE_NVME_ADMIN] = "nvme_admin",
	[BRISK_BDEV_IO_TYPE_NVME_IO] = "nvme_io", [BRISK_BDEV_IO_TYPE_ZCOPY] = "zcopy",
};

/* I/O types SPDK lists in supported_io_types that no Brisk bdev supports:
 * reported false so tools reading SPDK's full key set find every key. */
static const char *const g_spdk_only_io_types[] = {
	"compare_and_write", "abort",         "seek_hole",       "seek_data",   "copy",
	"nvme_io_md",        "get_zone_info", "zone_management", "zone_append", "nvme_iov_md",
};

static json_t *qos_limits_json(struct brisk_bdev *bdev)
{
	uint64_t l[BRISK_BDEV_QOS_NUM_RATE_LIMIT_TYPES];

	brisk_bdev_get_qos_rate_limits(bdev, l);
	return json_pack("{s:I, s:I, s:I, s:I}",
			 "rw_ios_per_sec", (json_int_t)l[BRISK_BDEV_QOS_RW_IOPS_RATE_LIMIT],
			 "rw_mbytes_per_sec", (json_int_t)l[BRISK_BDEV_QOS_RW_BPS_RATE_LIMIT],
			 "r_mbytes_per_sec", (json_int_t)l[BRISK_BDEV_QOS_R_BPS_RATE_LIMIT],
			 "w_mbytes_per_sec", (json_int_t)l[BRISK_BDEV_QOS_W_BPS_RATE_LIMIT]);
}

/* SPDK's write/unmap hint fields, always present as SPDK writes them. */
static void add_preferred_sizes(const struct brisk_bdev *bdev, json_t *o)
{
	json_object_set_new(o, "preferred_write_alignment", json_integer(bdev->preferred_write_alignment));
	json_object_set_new(o, "preferred_write_granularity",
			    json_integer(bdev->preferred_write_granularity));
	json_object_set_new(o, "optimal_write_size", json_integer(bdev->optimal_write_size));
	json_object_set_new(o, "preferred_unmap_alignment", json_integer(bdev->preferred_unmap_alignment));
	json_object_set_new(o, "preferred_unmap_granularity",
			    json_integer(bdev->preferred_unmap_granularity));
}

json_t *brisk_bdev_info_json(struct brisk_bdev *bdev)
{
	char uuid[BRISK_UUID_STRING_LEN];
	json_t *o = json_object();
	json_t *aliases = json_array();
	json_t *types = json_object();
	json_t *driver = json_object();
	const char *claim = brisk_bdev_get_claim_module_name(bdev);

	brisk_uuid_fmt_lower(uuid, sizeof(uuid), &bdev->uuid);
	brisk_bdev_for_each_alias(bdev, add_alias, aliases);
	json_object_set_new(o, "name", json_string(bdev->name));
	json_object_set_new(o, "aliases", aliases);
	json_object_set_new(o, "product_name", json_string(bdev->product_name ? bdev->product_name : ""));
	json_object_set_new(o, "block_size", json_integer(bdev->blocklen));
	json_object_set_new(o, "num_blocks", json_integer((json_int_t)bdev->blockcnt));
	add_preferred_sizes(bdev, o);
	json_object_set_new(o, "uuid", json_string(uuid));
	json_object_set_new(o, "assigned_rate_limits", qos_limits_json(bdev));
	json_object_set_new(o, "claimed", json_boolean(claim != NULL));
	if (claim != NULL) {
		json_object_set_new(o, "claim_type", json_string("exclusive_write"));
		json_object_set_new(o, "claim_module", json_string(claim));
	}
	json_object_set_new(o, "zoned", json_false());
	json_object_set_new(o, "write_cache", json_boolean(bdev->write_cache));
	json_object_set_new(o, "optimal_io_boundary", json_integer(bdev->optimal_io_boundary));
	json_object_set_new(o, "max_transfer_size", json_integer(bdev->max_transfer_size));
	json_object_set_new(o, "required_alignment", json_integer(brisk_bdev_get_buf_align(bdev)));
	for (int t = 1; t < BRISK_BDEV_NUM_IO_TYPES; t++) {
		json_object_set_new(types, g_io_type_names[t],
				    json_boolean(brisk_bdev_io_type_supported(bdev, (enum brisk_bdev_io_type)t)));
	}
	for (size_t i = 0; i < sizeof(g_spdk_only_io_types) / sizeof(g_spdk_only_io_types[0]); i++) {
		json_object_set_new(types, g_spdk_only_io_types[i], json_false());
	}
	json_object_set_new(o, "supported_io_types", types);
	if (bdev->fn_table->dump_info_json != NULL) {
		bdev->fn_table->dump_info_json(bdev->ctxt, driver);
	}
	json_object_set_new(o, "driver_specific", driver);
	return o;
}

static void write_qos_json(struct brisk_bdev *bdev, json_t *array)
{
	uint64_t l[BRISK_BDEV_QOS_NUM_RATE_LIMIT_TYPES];
	static const char *const keys[BRISK_BDEV_QOS_NUM_RATE_LIMIT_TYPES] = {
		"rw_ios_per_sec", "rw_mbytes_per_sec", "r_mbytes_per_sec", "w_mbytes_per_sec",
	};
	json_t *params;
	bool any = false;

	brisk_bdev_get_qos_rate_limits(bdev, l);
	params = json_pack("{s:s}", "name", bdev->name);
	for (int i = 0; i < BRISK_BDEV_QOS_NUM_RATE_LIMIT_TYPES; i++) {
		if (l[i] != 0) {
			json_object_set_new(params, keys[i], json_integer((json_int_t)l[i]));
			any = true;
		}
	}
	if (!any) {
		json_decref(params);
		return;
	}
	json_array_append_new(array, json_pack("{s:s, s:o}", "method", "bdev_set_qos_limit", "params", params));
}

void brisk_bdev_subsystem_config_json(json_t *array)
{
	const struct brisk_bdev_opts *o = &g_bdev_mgr.opts;
	struct brisk_bdev_module *m;
	struct brisk_bdev *bdev;

	json_array_append_new(array, json_pack("{s:s, s:{s:i, s:i, s:b, s:i, s:i}}",
					       "method", "bdev_set_options", "params",
					       "bdev_io_pool_size", (int)o->bdev_io_pool_size,
					       "bdev_io_cache_size", (int)o->bdev_io_cache_size,
					       "bdev_auto_examine", o->bdev_auto_examine,
					       "small_buf_pool_size", (int)o->small_buf_pool_size,
					       "large_buf_pool_size", (int)o->large_buf_pool_size));
	TAILQ_FOREACH(m, &g_bdev_mgr.modules, link) {
		if (m->config_json != NULL) {
			m->config_json(array);
		}
	}
	bdev_write_examine_json(array);
	/* Registration order: a base is always written before what stacks on it. */
	for (bdev = brisk_bdev_first(); bdev != NULL; bdev = brisk_bdev_next(bdev)) {
		if (bdev->fn_table->write_config_json != NULL) {
			bdev->fn_table->write_config_json(bdev, array);
		}
	}
	for (bdev = brisk_bdev_first(); bdev != NULL; bdev = brisk_bdev_next(bdev)) {
		write_qos_json(bdev, array);
	}
	json_array_append_new(array, json_pack("{s:s}", "method", "bdev_wait_for_examine"));
}
