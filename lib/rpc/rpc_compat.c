/*
 * SPDK parameters Brisk does not implement, per method. SPDK's rpc.py (v22.09
 * to today) sends every option it knows, usually at its default (false for
 * every store_true flag), so a strict server must know SPDK's whole parameter
 * list. Before a handler runs, each parameter listed here is checked and taken
 * out of the params it sees:
 *   - at SPDK's default (or JSON null) it is accepted silently: it asks for
 *     nothing Brisk does not do;
 *   - any other value is refused with an error naming the parameter, because
 *     a setting silently dropped would mislead the user;
 *   - a parameter that only tunes internals a peer has and Brisk lacks
 *     (iobuf caches, ...) is accepted at any value, with a notice.
 * Parameters Brisk implements are decoded by the handlers themselves; truly
 * unknown ones still fail there. The list is written from SPDK's published
 * JSON-RPC documentation (doc/jsonrpc.md) and rpc.py of each release.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/json.h>
#include <brisk/log.h>
#include <brisk/rpc.h>

#include "rpc_internal.h"

enum compat_rule {
	COMPAT_DEFAULT_ONLY,  /* accepted at `def` (or null); refused otherwise */
	COMPAT_IGNORED,       /* accepted at any value, with a notice */
	COMPAT_SAME_AS,       /* accepted when 0 or equal to the sibling `def` names */
};

struct compat_param {
	const char *method;
	const char *param;  /* "outer.inner" for a member of an object parameter */
	enum compat_rule rule;
	const char *def;    /* JSON text of SPDK's default, or the sibling's name */
	const char *why;    /* for the notice or the refusal */
};

#define DEF(m, p, d, why) {m, p, COMPAT_DEFAULT_ONLY, d, why}
#define IGN(m, p, why) {m, p, COMPAT_IGNORED, NULL, why}
#define NO_DIF "Brisk bdevs carry no separate metadata or protection information"

static const struct compat_param g_compat_params[] = {
	DEF("bdev_malloc_create", "md_size", "0", NO_DIF),
	DEF("bdev_malloc_create", "md_interleave", "false", NO_DIF),
	DEF("bdev_malloc_create", "dif_type", "0", NO_DIF),
	DEF("bdev_malloc_create", "dif_is_head_of_md", "false", NO_DIF),
	DEF("bdev_malloc_create", "dif_pi_format", "0", NO_DIF),
	{ "bdev_null_create", "physical_block_size", COMPAT_SAME_AS, "block_size",
	  "Brisk bdevs report one block size" },
	DEF("bdev_null_create", "md_size", "0", NO_DIF),
	DEF("bdev_null_create", "md_interleave", "false", NO_DIF),
	DEF("bdev_null_create", "dif_type", "0", NO_DIF),
	DEF("bdev_null_create", "dif_is_head_of_md", "false", NO_DIF),
	DEF("bdev_null_create", "dif_pi_format", "0", NO_DIF),
	DEF("bdev_aio_create", "nowait", "false", "Brisk's aio bdev always submits from the poller"),
	DEF("bdev_get_iostat", "per_channel", "false", "per-channel statistics are not kept"),
	IGN("bdev_set_options", "iobuf_small_cache_size", "Brisk's bdev layer has no iobuf caches"),
	IGN("bdev_set_options", "iobuf_large_cache_size", "Brisk's bdev layer has no iobuf caches"),
	DEF("framework_get_config", "with_batches", "false", "configs are not split into batches"),
	DEF("save_config", "with_batches", "false", "configs are not split into batches"),
	{ "bdev_lvol_create_lvstore", "md_page_size", COMPAT_SAME_AS, "4096",
	  "the blobstore's metadata page is 4096 bytes" },
	DEF("bdev_nvme_set_options", "enable_flush", "false", "flush is not sent to NVMe namespaces"),
	DEF("bdev_nvme_set_options", "rdma_umr_per_io", "false", "Brisk has no RDMA transport"),
	DEF("bdev_nvme_set_options", "tcp_connect_timeout_ms", "0", "not implemented"),
	/* SPDK saves the full algorithm lists; they matter only with DH-HMAC-CHAP,
	 * which bdev_nvme_attach_controller refuses. */
	IGN("bdev_nvme_set_options", "dhchap_digests", "DH-HMAC-CHAP is not implemented"),
	IGN("bdev_nvme_set_options", "dhchap_dhgroups", "DH-HMAC-CHAP is not implemented"),
	IGN("nvmf_set_config", "dhchap_digests", "DH-HMAC-CHAP is not implemented"),
	IGN("nvmf_set_config", "dhchap_dhgroups", "DH-HMAC-CHAP is not implemented"),
	DEF("nvmf_create_transport", "no_srq", "false", "Brisk has no RDMA transport"),
	IGN("nvmf_create_transport", "num_cqe", "an RDMA option; Brisk serves TCP only"),
	IGN("nvmf_create_transport", "max_srq_depth", "an RDMA option; Brisk serves TCP only"),
	IGN("nvmf_create_transport", "acceptor_backlog", "an RDMA option; Brisk serves TCP only"),
	DEF("nvmf_create_transport", "no_wr_batching", "false", "Brisk has no RDMA transport"),
	IGN("nvmf_create_transport", "control_msg_num", "Brisk's TCP transport sizes its own control messages"),
	DEF("nvmf_create_transport", "disable_mappable_bar0", "false", "Brisk has no vfio-user transport"),
	DEF("nvmf_create_transport", "disable_adaptive_irq", "false", "Brisk has no vfio-user transport"),
	DEF("nvmf_create_transport", "disable_shadow_doorbells", "false", "Brisk has no vfio-user transport"),
	DEF("nvmf_create_transport", "ack_timeout", "0", "Brisk has no RDMA transport"),
	DEF("nvmf_create_transport", "data_wr_pool_size", "0", "Brisk has no RDMA transport"),
	DEF("nvmf_create_transport", "disable_command_passthru", "false", "passthru is not implemented"),
	DEF("nvmf_create_subsystem", "max_discard_size_kib", "0", "discard size limits are not implemented"),
	DEF("nvmf_create_subsystem", "max_write_zeroes_size_kib", "0", "write zeroes size limits are not implemented"),
	DEF("nvmf_create_subsystem", "passthrough", "false", "passthru subsystems are not implemented"),
	DEF("nvmf_create_subsystem", "enable_nssr", "false", "NVM subsystem reset is not implemented"),
	DEF("nvmf_subsystem_add_listener", "secure_channel", "false", "TLS is not implemented"),
	DEF("nvmf_subsystem_add_listener", "sock_impl", "null", "Brisk has one socket implementation"),
	DEF("nvmf_subsystem_add_ns", "namespace.no_auto_visible", "false", "namespace masking is not implemented"),
	DEF("nvmf_subsystem_add_ns", "namespace.hide_metadata", "false", NO_DIF),
	DEF("nvmf_subsystem_add_host", "psk", "null", "TLS is not implemented"),
	DEF("nvmf_subsystem_add_host", "dhchap_key", "null", "DH-HMAC-CHAP is not implemented"),
	DEF("nvmf_subsystem_add_host", "dhchap_ctrlr_key", "null", "DH-HMAC-CHAP is not implemented"),
};

#undef DEF
#undef IGN

/* The object holding the parameter (params or one member object) and the
 * parameter's own key; NULL when the path does not exist in params. */
static json_t *
compat_holder(json_t *params, const char *path, const char **key)
{
	const char *dot = strchr(path, '.');
	char outer[64];

	if (dot == NULL) {
		*key = path;
		return params;
	}
	snprintf(outer, sizeof(outer), "%.*s", (int)(dot - path), path);
	*key = dot + 1;
	params = json_object_get(params, outer);
	return json_is_object(params) ? params : NULL;
}

/* True when val is what the rule accepts without a notice. */
static bool
compat_value_ok(const struct compat_param *c, const json_t *holder, const json_t *val)
{
	json_t *def;
	bool same;

	if (json_is_null(val)) {
		return true;
	}
	if (c->rule == COMPAT_SAME_AS) {
		const json_t *sib = json_object_get(holder, c->def);
		json_int_t want = sib != NULL ? json_integer_value(sib) : strtoll(c->def, NULL, 10);

		return json_is_integer(val) && (json_integer_value(val) == 0 || json_integer_value(val) == want);
	}
	def = json_loads(c->def, JSON_DECODE_ANY, NULL);
	/* json_equal treats 0 and 0.0 as different, as SPDK's decoders do. */
	same = def != NULL && json_equal(def, (json_t *)val);
	json_decref(def);
	return same;
}

/* Checks and removes one listed parameter from params (a private copy). */
static int
compat_apply_one(const struct compat_param *c, json_t *params, char *msg, size_t len)
{
	const char *key;
	json_t *holder = compat_holder(params, c->param, &key);
	json_t *val = holder != NULL ? json_object_get(holder, key) : NULL;

	if (val == NULL) {
		return 0;
	}
	if (c->rule == COMPAT_IGNORED) {
		BRISK_NOTICELOG("%s: parameter '%s' accepted and ignored: %s\n", c->method, c->param, c->why);
	} else if (!compat_value_ok(c, holder, val)) {
		snprintf(msg, len, "Invalid parameters: %s: parameter '%s' is not supported by Brisk "
			 "(only SPDK's default %s is accepted): %s", c->method, c->param,
			 c->rule == COMPAT_SAME_AS ? "0 or the same as the one given" : c->def, c->why);
		return -ENOTSUP;
	}
	json_object_del(holder, key);
	return 0;
}

static bool
compat_method_listed(const char *method)
{
	for (size_t i = 0; i < BRISK_COUNTOF(g_compat_params); i++) {
		if (strcmp(g_compat_params[i].method, method) == 0) {
			return true;
		}
	}
	return false;
}

int
rpc_compat_filter(const char *method, const json_t *params, json_t **out, char *msg, size_t len)
{
	json_t *copy;
	int rc = 0;

	*out = NULL;
	if (!json_is_object(params) || !compat_method_listed(method)) {
		return 0;
	}
	/* Deep: a nested member may be removed, and the caller's params stay as sent. */
	copy = json_deep_copy(params);
	if (copy == NULL) {
		snprintf(msg, len, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < BRISK_COUNTOF(g_compat_params) && rc == 0; i++) {
		if (strcmp(g_compat_params[i].method, method) == 0) {
			rc = compat_apply_one(&g_compat_params[i], copy, msg, len);
		}
	}
	if (rc != 0) {
		json_decref(copy);
		return rc;
	}
	*out = copy;
	return 0;
}
