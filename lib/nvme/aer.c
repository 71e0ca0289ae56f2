/*
 * Asynchronous events: the driver keeps up to NVME_MAX_ASYNC_EVENTS
 * Asynchronous Event Requests outstanding. An event reaches the user's
 * callback; a namespace attribute change first reads the Changed Namespace
 * List log (which also re-arms the event) and re-scans the namespaces, so
 * the callback sees the new state. Each handled event sends a new request.
 */
#include "nvme_internal.h"

static void aer_cb(void *arg, const struct brisk_nvme_cpl *cpl);

int nvme_admin_async_event_request(struct brisk_nvme_ctrlr *ctrlr)
{
	struct brisk_nvme_cmd cmd = { .opc = BRISK_NVME_OPC_ASYNC_EVENT_REQUEST };
	int rc = nvme_admin_submit(ctrlr, &cmd, NULL, 0, aer_cb, ctrlr);

	if (rc == 0) {
		ctrlr->num_aers++;
	}
	return rc;
}

void nvme_ctrlr_submit_aers(struct brisk_nvme_ctrlr *ctrlr)
{
	uint32_t want = ctrlr->cdata.aerl + 1u;

	want = want < NVME_MAX_ASYNC_EVENTS ? want : NVME_MAX_ASYNC_EVENTS;
	while (ctrlr->num_aers < want) {
		if (nvme_admin_async_event_request(ctrlr) != 0) {
			break;
		}
	}
}

static void aer_deliver(struct brisk_nvme_ctrlr *ctrlr)
{
	struct brisk_nvme_cpl cpl = ctrlr->aer_cpl;

	if (ctrlr->aer_cb != NULL) {
		ctrlr->aer_cb(ctrlr->aer_cb_arg, &cpl);
	}
	nvme_ctrlr_submit_aers(ctrlr);
}

static void aer_scan_done(struct brisk_nvme_ctrlr *ctrlr, void *ctx, int rc)
{
	if (rc != 0) {
		BRISK_ERRLOG("nvme %s: namespace re-scan after an event failed (%d)\n",
			     ctrlr->trid.traddr, rc);
	}
	aer_deliver(ctrlr);
}

static void aer_log_done(void *arg, const struct brisk_nvme_cpl *cpl)
{
	struct brisk_nvme_ctrlr *ctrlr = arg;

	if (nvme_ns_scan_start(ctrlr, aer_scan_done, NULL) != 0) {
		aer_deliver(ctrlr); /* a scan already runs: it sees the change too */
	}
}

static bool aer_is_ns_change(const struct brisk_nvme_cpl *cpl)
{
	union brisk_nvme_async_event_completion ev = { .raw = cpl->cdw0 };

	return ev.bits.async_event_type == BRISK_NVME_ASYNC_EVENT_TYPE_NOTICE &&
	       ev.bits.async_event_info == BRISK_NVME_ASYNC_EVENT_NS_ATTR_CHANGED;
}

static void aer_cb(void *arg, const struct brisk_nvme_cpl *cpl)
{
	struct brisk_nvme_ctrlr *ctrlr = arg;

	ctrlr->num_aers--;
	if (brisk_nvme_cpl_is_error(cpl)) {
		/* Aborted by a reset or a failure (bring-up sends new ones), or
		 * refused: sending another would only loop. */
		return;
	}
	ctrlr->aer_cpl = *cpl;
	if (aer_is_ns_change(cpl) &&
	    brisk_nvme_ctrlr_cmd_get_log_page(ctrlr, BRISK_NVME_LOG_CHANGED_NS_LIST,
					      BRISK_NVME_GLOBAL_NS_TAG, ctrlr->aer_log,
					      NVME_PAGE_SIZE, 0, aer_log_done, ctrlr) == 0) {
		return;
	}
	aer_deliver(ctrlr);
}
