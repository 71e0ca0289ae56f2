/*
 * Namespace Management (create, delete) and Namespace Attachment (attach,
 * detach to this controller), for controllers with OACS bit 3. Each command
 * is synchronous like Format NVM and is followed by a namespace re-scan, so
 * the active list and the namespace objects show the change on return.
 */
#include <errno.h>
#include <string.h>

#include <brisk/env.h>

#include "nvme_internal.h"

/* The errno a caller can act on for the statuses these commands return.
 * OACS bit 3 covers both commands, yet some controllers (QEMU 7.2) only
 * implement Namespace Attachment: Invalid Opcode means not supported. */
static int ns_mgmt_errno(const struct brisk_nvme_status *st)
{
	if (st->sct == BRISK_NVME_SCT_GENERIC) {
		switch (st->sc) {
		case BRISK_NVME_SC_INVALID_OPCODE: return -ENOTSUP;
		case BRISK_NVME_SC_INVALID_NAMESPACE_OR_FORMAT: return -ENOENT;
		case BRISK_NVME_SC_INVALID_FIELD: return -EINVAL;
		default: return -EIO;
		}
	}
	if (st->sct != BRISK_NVME_SCT_COMMAND_SPECIFIC) {
		return -EIO;
	}
	switch (st->sc) {
	case BRISK_NVME_SC_NS_ALREADY_ATTACHED: return -EEXIST;
	case BRISK_NVME_SC_NS_NOT_ATTACHED: return -ENOENT;
	case BRISK_NVME_SC_NS_INSUFFICIENT_CAPACITY:
	case BRISK_NVME_SC_NS_ID_UNAVAILABLE: return -ENOSPC;
	case BRISK_NVME_SC_INVALID_FORMAT:
	case BRISK_NVME_SC_CONTROLLER_LIST_INVALID: return -EINVAL;
	default: return -EIO;
	}
}

/* Sends cmd with its 4 KiB data page (or none), waits, re-scans. */
static int ns_mgmt_run(struct brisk_nvme_ctrlr *ctrlr, const struct brisk_nvme_cmd *cmd,
		       void *page, const char *what, uint32_t *cdw0)
{
	struct nvme_wait w = { 0 };
	int rc;

	rc = nvme_admin_submit(ctrlr, cmd, page, page != NULL ? NVME_PAGE_SIZE : 0, nvme_wait_cb, &w);
	rc = rc != 0 ? rc : nvme_wait_for(ctrlr, NULL, &w);
	if (rc == -EIO) {
		rc = ns_mgmt_errno(&w.cpl.status);
		BRISK_ERRLOG("nvme %s: %s of nsid %u failed: %s\n", ctrlr->trid.traddr, what,
			     cmd->nsid, brisk_nvme_cpl_get_status_string(&w.cpl.status));
		return rc;
	}
	if (rc != 0) {
		BRISK_ERRLOG("nvme %s: %s of nsid %u failed (%d)\n", ctrlr->trid.traddr, what,
			     cmd->nsid, rc);
		return rc;
	}
	if (cdw0 != NULL) {
		*cdw0 = w.cpl.cdw0;
	}
	return nvme_ns_rescan_sync(ctrlr);
}

static int ns_mgmt_check(struct brisk_nvme_ctrlr *ctrlr)
{
	if (ctrlr == NULL) {
		return -EINVAL;
	}
	if ((ctrlr->cdata.oacs & BRISK_NVME_OACS_NS_MANAGE) == 0) {
		BRISK_ERRLOG("nvme %s: no namespace management (OACS bit 3 clear)\n",
			     ctrlr->trid.traddr);
		return -ENOTSUP;
	}
	return 0;
}

int brisk_nvme_ctrlr_create_ns(struct brisk_nvme_ctrlr *ctrlr,
			       const struct brisk_nvme_ns_data *nsdata, uint32_t *nsid)
{
	struct brisk_nvme_cmd cmd = { .opc = BRISK_NVME_OPC_NS_MANAGEMENT,
		.cdw10 = BRISK_NVME_NS_MGMT_SEL_CREATE };
	struct brisk_nvme_ns_data *page;
	int rc = ns_mgmt_check(ctrlr);

	if (rc != 0 || nsdata == NULL || nsid == NULL) {
		return rc != 0 ? rc : -EINVAL;
	}
	page = brisk_dma_zmalloc(sizeof(*page), NVME_PAGE_SIZE, NULL);
	if (page == NULL) {
		return -ENOMEM;
	}
	*page = *nsdata;
	rc = ns_mgmt_run(ctrlr, &cmd, page, "Namespace Management create", nsid);
	brisk_free(page);
	return rc;
}

int brisk_nvme_ctrlr_delete_ns(struct brisk_nvme_ctrlr *ctrlr, uint32_t nsid)
{
	struct brisk_nvme_cmd cmd = { .opc = BRISK_NVME_OPC_NS_MANAGEMENT, .nsid = nsid,
		.cdw10 = BRISK_NVME_NS_MGMT_SEL_DELETE };
	int rc = ns_mgmt_check(ctrlr);

	if (rc != 0 || nsid == 0) {
		return rc != 0 ? rc : -EINVAL;
	}
	return ns_mgmt_run(ctrlr, &cmd, NULL, "Namespace Management delete", NULL);
}

/* Namespace Attachment with a controller list naming only this controller. */
static int ns_attachment(struct brisk_nvme_ctrlr *ctrlr, uint32_t nsid, uint32_t sel)
{
	struct brisk_nvme_cmd cmd = { .opc = BRISK_NVME_OPC_NS_ATTACHMENT, .nsid = nsid,
		.cdw10 = sel };
	struct brisk_nvme_ctrlr_list *list;
	int rc = ns_mgmt_check(ctrlr);

	if (rc != 0 || nsid == 0 || nsid == BRISK_NVME_GLOBAL_NS_TAG) {
		return rc != 0 ? rc : -EINVAL;
	}
	list = brisk_dma_zmalloc(sizeof(*list), NVME_PAGE_SIZE, NULL);
	if (list == NULL) {
		return -ENOMEM;
	}
	list->num_ids = 1;
	list->ctrlr_ids[0] = ctrlr->cdata.cntlid;
	rc = ns_mgmt_run(ctrlr, &cmd, list, sel == BRISK_NVME_NS_ATTACH_SEL_ATTACH ?
			 "Namespace Attachment attach" : "Namespace Attachment detach", NULL);
	brisk_free(list);
	return rc;
}

int brisk_nvme_ctrlr_attach_ns(struct brisk_nvme_ctrlr *ctrlr, uint32_t nsid)
{
	return ns_attachment(ctrlr, nsid, BRISK_NVME_NS_ATTACH_SEL_ATTACH);
}

int brisk_nvme_ctrlr_detach_ns(struct brisk_nvme_ctrlr *ctrlr, uint32_t nsid)
{
	return ns_attachment(ctrlr, nsid, BRISK_NVME_NS_ATTACH_SEL_DETACH);
}
