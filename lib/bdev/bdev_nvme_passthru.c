/*
 * NVMe passthrough through the bdev layer: raw admin and I/O commands handed
 * to a module that speaks NVMe (bdev_nvme), and the NVMe status of their
 * completion. The commands go through the usual path (reset hold, QoS as an
 * I/O, module -ENOMEM retry) but are never split or bounced: they carry no
 * block range.
 */
#include <errno.h>
#include <string.h>

#include <brisk/log.h>

#include "bdev_internal.h"

static int nvme_passthru_check(struct brisk_bdev_desc *desc, struct brisk_io_channel *_ch,
			       enum brisk_bdev_io_type type, const struct brisk_nvme_cmd *cmd,
			       const void *buf, size_t nbytes, brisk_bdev_io_completion_cb cb)
{
	if (desc == NULL || _ch == NULL || cmd == NULL || cb == NULL || (buf == NULL && nbytes != 0) ||
	    nbytes > UINT32_MAX) {
		return -EINVAL;
	}
	if (brisk_io_channel_get_io_device(_ch) != bdev_to_io_device(desc->bdev)) {
		BRISK_ERRLOG("bdev %s: I/O submitted on a channel of another device\n", desc->bdev->name);
		return -EINVAL;
	}
	if (!desc->write) {
		return -EBADF; /* a raw command may write anything */
	}
	return bdev_io_type_supported(desc->bdev, type) ? 0 : -ENOTSUP;
}

static int nvme_passthru_submit(struct brisk_bdev_desc *desc, struct brisk_io_channel *_ch,
				enum brisk_bdev_io_type type, const struct brisk_nvme_cmd *cmd,
				void *buf, size_t nbytes, brisk_bdev_io_completion_cb cb, void *cb_arg)
{
	struct bdev_io_priv *p;
	int rc;

	rc = nvme_passthru_check(desc, _ch, type, cmd, buf, nbytes, cb);
	if (rc != 0) {
		return rc;
	}
	p = bdev_io_start(desc, _ch, type, cb, cb_arg); /* no block range: nothing to split */
	if (p == NULL) {
		return -ENOMEM;
	}
	p->io.nvme_passthru.cmd = *cmd;
	p->io.nvme_passthru.buf = buf;
	p->io.nvme_passthru.nbytes = nbytes;
	bdev_io_submit(p);
	return 0;
}

int brisk_bdev_nvme_admin_passthru(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch,
				   const struct brisk_nvme_cmd *cmd, void *buf, size_t nbytes,
				   brisk_bdev_io_completion_cb cb, void *cb_arg)
{
	return nvme_passthru_submit(desc, ch, BRISK_BDEV_IO_TYPE_NVME_ADMIN, cmd, buf, nbytes, cb, cb_arg);
}

int brisk_bdev_nvme_io_passthru(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch,
				const struct brisk_nvme_cmd *cmd, void *buf, size_t nbytes,
				brisk_bdev_io_completion_cb cb, void *cb_arg)
{
	return nvme_passthru_submit(desc, ch, BRISK_BDEV_IO_TYPE_NVME_IO, cmd, buf, nbytes, cb, cb_arg);
}

void brisk_bdev_io_complete_nvme_status(struct brisk_bdev_io *bdev_io, uint32_t cdw0, int sct, int sc)
{
	struct bdev_io_priv *p = bdev_io_priv(bdev_io);
	int status = BRISK_BDEV_IO_STATUS_FAILED;

	p->has_nvme_status = true;
	p->nvme_cdw0 = cdw0;
	p->nvme_sct = sct;
	p->nvme_sc = sc;
	if (sct == BRISK_NVME_SCT_GENERIC && sc == BRISK_NVME_SC_SUCCESS) {
		status = BRISK_BDEV_IO_STATUS_SUCCESS;
	} else if (sct == BRISK_NVME_SCT_MEDIA_ERROR && sc == BRISK_NVME_SC_COMPARE_FAILURE) {
		status = BRISK_BDEV_IO_STATUS_MISCOMPARE;
	}
	brisk_bdev_io_complete(bdev_io, status);
}

void brisk_bdev_io_get_nvme_status(const struct brisk_bdev_io *bdev_io, uint32_t *cdw0, int *sct,
				   int *sc)
{
	const struct bdev_io_priv *p = bdev_io_priv((struct brisk_bdev_io *)bdev_io);

	if (p->has_nvme_status) {
		*cdw0 = p->nvme_cdw0;
		*sct = p->nvme_sct;
		*sc = p->nvme_sc;
		return;
	}
	*cdw0 = 0;
	*sct = BRISK_NVME_SCT_GENERIC;
	*sc = p->status == BRISK_BDEV_IO_STATUS_SUCCESS ? BRISK_NVME_SC_SUCCESS :
	      p->status == BRISK_BDEV_IO_STATUS_MISCOMPARE ? BRISK_NVME_SC_COMPARE_FAILURE :
	      BRISK_NVME_SC_INTERNAL_DEVICE_ERROR;
	if (p->status == BRISK_BDEV_IO_STATUS_MISCOMPARE) {
		*sct = BRISK_NVME_SCT_MEDIA_ERROR;
	}
}
