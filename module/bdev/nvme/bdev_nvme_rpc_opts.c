/*
 * bdev_nvme_set_options with SPDK's parameter set. What Brisk applies:
 * action_on_timeout, timeout_us, keep_alive_timeout_ms,
 * nvme_adminq_poll_period_us, nvme_ioq_poll_period_us, io_queue_requests,
 * bdev_retry_count. The rest (multipath, reconnect, RDMA, arbitration,
 * DH-HMAC-CHAP ...) is accepted at SPDK's default and refused, by name,
 * otherwise: a setting silently ignored would mislead. Parameters not given
 * keep their current value. Only before a controller is attached.
 */
#include <errno.h>
#include <string.h>

#include <brisk/json.h>
#include <brisk/rpc.h>

#include "bdev_nvme.h"

struct rpc_opts {
	char *action_on_timeout;
	uint64_t timeout_us;
	uint64_t timeout_admin_us;
	uint32_t keep_alive_timeout_ms;
	uint32_t retry_count;
	uint32_t arbitration_burst;
	uint32_t low_priority_weight;
	uint32_t medium_priority_weight;
	uint32_t high_priority_weight;
	uint64_t nvme_adminq_poll_period_us;
	uint64_t nvme_ioq_poll_period_us;
	uint32_t io_queue_requests;
	bool delay_cmd_submit;
	uint32_t transport_retry_count;
	int32_t bdev_retry_count;
	uint8_t transport_ack_timeout;
	int32_t ctrlr_loss_timeout_sec;
	uint32_t reconnect_delay_sec;
	uint32_t fast_io_fail_timeout_sec;
	bool disable_auto_failback;
	bool generate_uuids;
	uint8_t transport_tos;
	bool nvme_error_stat;
	uint32_t rdma_srq_size;
	bool io_path_stat;
	bool allow_accel_sequence;
	uint32_t rdma_max_cq_size;
	uint16_t rdma_cm_event_timeout_ms;
	json_t *dhchap_digests;
	json_t *dhchap_dhgroups;
};

#define O(f) offsetof(struct rpc_opts, f)
static const struct brisk_json_object_decoder g_opts_decoders[] = {
	{"action_on_timeout", O(action_on_timeout), brisk_json_decode_string, true},
	{"timeout_us", O(timeout_us), brisk_json_decode_uint64, true},
	{"timeout_admin_us", O(timeout_admin_us), brisk_json_decode_uint64, true},
	{"keep_alive_timeout_ms", O(keep_alive_timeout_ms), brisk_json_decode_uint32, true},
	{"retry_count", O(retry_count), brisk_json_decode_uint32, true},
	{"arbitration_burst", O(arbitration_burst), brisk_json_decode_uint32, true},
	{"low_priority_weight", O(low_priority_weight), brisk_json_decode_uint32, true},
	{"medium_priority_weight", O(medium_priority_weight), brisk_json_decode_uint32, true},
	{"high_priority_weight", O(high_priority_weight), brisk_json_decode_uint32, true},
	{"nvme_adminq_poll_period_us", O(nvme_adminq_poll_period_us), brisk_json_decode_uint64, true},
	{"nvme_ioq_poll_period_us", O(nvme_ioq_poll_period_us), brisk_json_decode_uint64, true},
	{"io_queue_requests", O(io_queue_requests), brisk_json_decode_uint32, true},
	{"delay_cmd_submit", O(delay_cmd_submit), brisk_json_decode_bool, true},
	{"transport_retry_count", O(transport_retry_count), brisk_json_decode_uint32, true},
	{"bdev_retry_count", O(bdev_retry_count), brisk_json_decode_int32, true},
	{"transport_ack_timeout", O(transport_ack_timeout), brisk_json_decode_uint8, true},
	{"ctrlr_loss_timeout_sec", O(ctrlr_loss_timeout_sec), brisk_json_decode_int32, true},
	{"reconnect_delay_sec", O(reconnect_delay_sec), brisk_json_decode_uint32, true},
	{"fast_io_fail_timeout_sec", O(fast_io_fail_timeout_sec), brisk_json_decode_uint32, true},
	{"disable_auto_failback", O(disable_auto_failback), brisk_json_decode_bool, true},
	{"generate_uuids", O(generate_uuids), brisk_json_decode_bool, true},
	{"transport_tos", O(transport_tos), brisk_json_decode_uint8, true},
	{"nvme_error_stat", O(nvme_error_stat), brisk_json_decode_bool, true},
	{"rdma_srq_size", O(rdma_srq_size), brisk_json_decode_uint32, true},
	{"io_path_stat", O(io_path_stat), brisk_json_decode_bool, true},
	{"allow_accel_sequence", O(allow_accel_sequence), brisk_json_decode_bool, true},
	{"rdma_max_cq_size", O(rdma_max_cq_size), brisk_json_decode_uint32, true},
	{"rdma_cm_event_timeout_ms", O(rdma_cm_event_timeout_ms), brisk_json_decode_uint16, true},
	{"dhchap_digests", O(dhchap_digests), brisk_json_decode_json, true},
	{"dhchap_dhgroups", O(dhchap_dhgroups), brisk_json_decode_json, true},
};
#undef O

/* SPDK's defaults of the parameters Brisk does not implement. */
static void rpc_opts_unsupported_defaults(struct rpc_opts *p)
{
	p->retry_count = 4;
	p->transport_retry_count = 4;
	p->delay_cmd_submit = true;
}

/* Name of the first unsupported parameter set away from its default. */
static const char *rpc_opts_unsupported(const struct rpc_opts *p)
{
	const char *bad = NULL;

#define CHECK(cond, name) do { if (bad == NULL && (cond)) { bad = (name); } } while (0)
	CHECK(p->timeout_admin_us != 0, "timeout_admin_us (one timeout_us covers admin commands)");
	CHECK(p->retry_count != 4, "retry_count");
	CHECK(p->transport_retry_count != 4, "transport_retry_count");
	CHECK(p->arbitration_burst != 0, "arbitration_burst");
	CHECK(p->low_priority_weight != 0, "low_priority_weight");
	CHECK(p->medium_priority_weight != 0, "medium_priority_weight");
	CHECK(p->high_priority_weight != 0, "high_priority_weight");
	CHECK(!p->delay_cmd_submit, "delay_cmd_submit (the driver always batches doorbells)");
	CHECK(p->transport_ack_timeout != 0, "transport_ack_timeout");
	CHECK(p->ctrlr_loss_timeout_sec != 0, "ctrlr_loss_timeout_sec");
	CHECK(p->reconnect_delay_sec != 0, "reconnect_delay_sec");
	CHECK(p->fast_io_fail_timeout_sec != 0, "fast_io_fail_timeout_sec");
	CHECK(p->disable_auto_failback, "disable_auto_failback");
	CHECK(p->generate_uuids, "generate_uuids");
	CHECK(p->transport_tos != 0, "transport_tos");
	CHECK(p->nvme_error_stat, "nvme_error_stat");
	CHECK(p->rdma_srq_size != 0, "rdma_srq_size");
	CHECK(p->io_path_stat, "io_path_stat");
	CHECK(p->allow_accel_sequence, "allow_accel_sequence");
	CHECK(p->rdma_max_cq_size != 0, "rdma_max_cq_size");
	CHECK(p->rdma_cm_event_timeout_ms != 0, "rdma_cm_event_timeout_ms");
	CHECK(p->dhchap_digests != NULL, "dhchap_digests");
	CHECK(p->dhchap_dhgroups != NULL, "dhchap_dhgroups");
#undef CHECK
	return bad;
}

static int rpc_parse_action(const char *s, enum bdev_nvme_timeout_action *out)
{
	static const enum bdev_nvme_timeout_action all[] = {
		BDEV_NVME_TIMEOUT_ACTION_NONE, BDEV_NVME_TIMEOUT_ACTION_RESET, BDEV_NVME_TIMEOUT_ACTION_ABORT,
	};

	for (size_t i = 0; i < BRISK_COUNTOF(all); i++) {
		if (strcmp(s, bdev_nvme_timeout_action_str(all[i])) == 0) {
			*out = all[i];
			return 0;
		}
	}
	return -EINVAL;
}

static void rpc_opts_from_current(struct rpc_opts *p)
{
	const struct bdev_nvme_opts *o = &g_bdev_nvme_opts;

	p->timeout_us = o->timeout_us;
	p->keep_alive_timeout_ms = o->keep_alive_timeout_ms;
	p->nvme_adminq_poll_period_us = o->nvme_adminq_poll_period_us;
	p->nvme_ioq_poll_period_us = o->nvme_ioq_poll_period_us;
	p->io_queue_requests = o->io_queue_requests;
	p->bdev_retry_count = o->bdev_retry_count;
}

/* 0, or -EINVAL with the message in err. */
static int rpc_opts_to_opts(const struct rpc_opts *p, struct bdev_nvme_opts *o, char *err, size_t len)
{
	const char *bad = rpc_opts_unsupported(p);

	*o = g_bdev_nvme_opts;
	if (bad != NULL) {
		snprintf(err, len, "%s: only SPDK's default value is supported by Brisk", bad);
		return -EINVAL;
	}
	if (p->action_on_timeout != NULL && rpc_parse_action(p->action_on_timeout, &o->action_on_timeout) != 0) {
		snprintf(err, len, "action_on_timeout '%s' must be none, reset or abort", p->action_on_timeout);
		return -EINVAL;
	}
	if (p->nvme_adminq_poll_period_us == 0 || p->nvme_adminq_poll_period_us > 1000000) {
		snprintf(err, len, "nvme_adminq_poll_period_us must be 1 to 1000000 (an idle reactor "
			 "must be able to sleep)");
		return -EINVAL;
	}
	if (p->bdev_retry_count < -1 || p->nvme_ioq_poll_period_us > 1000000) {
		snprintf(err, len, p->bdev_retry_count < -1 ? "bdev_retry_count must be -1 or more" :
			 "nvme_ioq_poll_period_us must be at most 1000000");
		return -EINVAL;
	}
	o->timeout_us = p->timeout_us;
	o->timeout_admin_us = 0;
	o->keep_alive_timeout_ms = p->keep_alive_timeout_ms;
	o->nvme_adminq_poll_period_us = p->nvme_adminq_poll_period_us;
	o->nvme_ioq_poll_period_us = p->nvme_ioq_poll_period_us;
	o->io_queue_requests = p->io_queue_requests;
	o->bdev_retry_count = p->bdev_retry_count;
	return 0;
}

static void rpc_bdev_nvme_set_options(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_opts p = {0};
	struct bdev_nvme_opts o;
	char err[256];

	rpc_opts_unsupported_defaults(&p);
	rpc_opts_from_current(&p);
	if (brisk_json_decode_object(params, g_opts_decoders, BRISK_COUNTOF(g_opts_decoders), &p, err,
				     sizeof(err)) != 0 || rpc_opts_to_opts(&p, &o, err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	if (bdev_nvme_set_opts(&o) != 0) {
		brisk_jsonrpc_send_error_response(req, -EPERM, "bdev_nvme_set_options must be called before "
						  "any controller is attached");
		goto out;
	}
	brisk_jsonrpc_send_bool_response(req, true);
out:
	brisk_json_free_object(g_opts_decoders, BRISK_COUNTOF(g_opts_decoders), &p);
}
BRISK_RPC_REGISTER("bdev_nvme_set_options", rpc_bdev_nvme_set_options,
		   BRISK_RPC_STARTUP | BRISK_RPC_RUNTIME)
