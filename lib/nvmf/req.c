/*
 * A received command capsule on its way to execution: the data transfer its
 * SGL describes (in-capsule data, or a transport data block fetched with R2T
 * for writes / sent as C2HData for reads) is set up, then the command goes to
 * the fabrics, admin or I/O handlers by queue and opcode.
 */
#include <brisk/log.h>

#include "nvmf_internal.h"

/* Data direction from the opcode's low two bits (fabrics: from fctype). */
static int req_xfer(const struct brisk_nvme_cmd *cmd)
{
	uint8_t code = cmd->opc;

	if (cmd->opc == BRISK_NVME_OPC_FABRIC) {
		code = ((const struct brisk_nvmf_capsule_cmd *)cmd)->fctype;
	}
	return code & 0x3; /* 0 none, 1 host to controller, 2 controller to host */
}

static void req_fail(struct nvmf_req *req, int sct, int sc)
{
	nvmf_req_set_status(req, sct, sc);
	nvmf_req_complete(req);
}

static void req_dispatch(struct nvmf_req *req)
{
	struct nvmf_conn *c = req->conn;

	req->state = NVMF_REQ_EXEC;
	if (req->cmd.opc == BRISK_NVME_OPC_FABRIC) {
		const struct brisk_nvmf_capsule_cmd *f = (const void *)&req->cmd;

		if (f->fctype == BRISK_NVMF_FCTYPE_CONNECT) {
			nvmf_ctrlr_connect(req);
		} else if (c->ctrlr == NULL) {
			req_fail(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_COMMAND_SEQUENCE_ERROR);
		} else if ((f->fctype == BRISK_NVMF_FCTYPE_PROPERTY_GET ||
			    f->fctype == BRISK_NVMF_FCTYPE_PROPERTY_SET) && c->qid == 0) {
			nvmf_ctrlr_property(req);
		} else if (f->fctype == BRISK_NVMF_FCTYPE_DISCONNECT) {
			nvmf_req_complete(req);
		} else {
			req_fail(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_INVALID_OPCODE);
		}
		return;
	}
	if (c->ctrlr == NULL) {
		req_fail(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_COMMAND_SEQUENCE_ERROR);
	} else if (req->cmd.fuse != BRISK_NVME_FUSE_NONE) {
		nvmf_fused_dispatch(req);
	} else if (c->qid == 0) {
		nvmf_ctrlr_admin_cmd(req);
	} else {
		nvmf_io_cmd(req);
	}
}

/* Checks SGL1 against the data the capsule brought; -1 after completing the
 * request with an error, 1 when an R2T went out, 0 to run the command now. */
static int req_prepare_data(struct nvmf_req *req)
{
	const struct brisk_nvme_sgl_descriptor *sgl = &req->cmd.dptr.sgl1;
	uint8_t type = sgl->type_subtype >> 4, sub = sgl->type_subtype & 0xf;
	uint32_t icd = req->h2c_off;
	int xfer = req_xfer(&req->cmd);

	if (xfer == 0 || xfer == 3 || sgl->length == 0) {
		return icd == 0 ? 0 : (req_fail(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_INVALID_FIELD), -1);
	}
	if (req->cmd.psdt != BRISK_NVME_PSDT_SGL_MPTR_CONTIG) {
		req_fail(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_INVALID_FIELD); /* fabrics use SGLs only */
		return -1;
	}
	if (sgl->length > req->buf_cap) {
		req_fail(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_DATA_SGL_LENGTH_INVALID);
		return -1;
	}
	req->length = sgl->length;
	req->c2h = xfer == 2;
	if (type == BRISK_NVME_SGL_TYPE_DATA_BLOCK && sub == BRISK_NVME_SGL_SUBTYPE_OFFSET && xfer == 1) {
		if (sgl->address != 0 || icd != sgl->length) {
			req_fail(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_DATA_SGL_LENGTH_INVALID);
			return -1;
		}
		return 0;
	}
	if (type != BRISK_NVME_SGL_TYPE_TRANSPORT_DATA_BLOCK || icd != 0) {
		req_fail(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_INVALID_FIELD);
		return -1;
	}
	if (xfer == 1) {
		nvmf_conn_send_r2t(req);
		return 1;
	}
	return 0;
}

void nvmf_req_exec(struct nvmf_req *req)
{
	if (req->cpl.status.sc != 0) { /* data digest error on the way in */
		req_fail(req, BRISK_NVME_SCT_GENERIC, req->cpl.status.sc);
		return;
	}
	if (req->state == NVMF_REQ_RX_ICD && req_prepare_data(req) != 0) {
		return;
	}
	req_dispatch(req);
}
