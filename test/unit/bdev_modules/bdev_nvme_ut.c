/*
 * The NVMe bdev module against a mock of the driver (nvme_mock.h, linked in
 * place of lib/nvme): attach without blocking and its bad input (nothing
 * registered), one bdev per active namespace and its JSON, the I/O mapping
 * (odd iovecs through reset_sgl/next_sge, compare and MISCOMPARE, flush with
 * and without a volatile cache), unmap split into 256-range DSM commands and
 * write_zeroes into 65536-block commands, driver -ENOMEM retried by the bdev
 * layer, NVMe errors (no retry with DNR, bdev_retry_count retries otherwise),
 * passthrough with its status, reset with I/O in flight on another namespace
 * (aborted and resubmitted; refused on a secondary process's controller), the channel poller pausing when idle, a
 * controller that fails with I/O in flight (errors, bdevs removed, process
 * fine), hotplug add and remove, detach and save_config; an attach racing
 * the hotplug poller (the device claimed by a hotplug probe already under
 * way is handed to the attach; a controller hotplug attached under the
 * attach's name and address is adopted); the reconnect policy's checks;
 * the discovery service (attach from the log, attach and detach after
 * notices, referrals, save_config, stop, an unreachable address).
 */
#include "ut_common.h"
#include <brisk/nvmf_spec.h>

#include "nvme_mock.h"
#include "../../../module/bdev/nvme/bdev_nvme.h"
#include "../../common/ut_main.h"

static int count_nvme_bdevs(void)
{
	int n = 0;

	for (struct brisk_bdev *b = brisk_bdev_first(); b != NULL; b = brisk_bdev_next(b)) {
		n += strcmp(brisk_bdev_get_module_name(b), "nvme") == 0;
	}
	return n;
}

struct attach_res {
	int done;
	int rc;
};

static void attach_cb(void *arg, int rc, struct nvme_ctrlr *nctrlr)
{
	struct attach_res *r = arg;

	r->done = 1;
	r->rc = rc;
}

static void examined(void *arg)
{
	*(int *)arg = 1;
}

/* Attaches name at PCI traddr; the completion comes later, never inside the
 * call. Returns once the new bdevs are examined (their reads logged no more). */
static int attach(const char *name, const char *traddr)
{
	struct bdev_nvme_attach_opts o = { .name = name };
	struct attach_res r = {0};
	int rc;
	int ex = 0;

	o.trid.trtype = BRISK_NVME_TRANSPORT_PCIE;
	snprintf(o.trid.traddr, sizeof(o.trid.traddr), "%s", traddr);
	rc = bdev_nvme_attach(&o, attach_cb, &r);
	if (rc != 0) {
		return rc;
	}
	CU_ASSERT_EQUAL(r.done, 0);
	poll_until(&r.done);
	CU_ASSERT_EQUAL(r.done, 1);
	CU_ASSERT_EQUAL(brisk_bdev_wait_for_examine(examined, &ex), 0);
	poll_until(&ex);
	return r.rc;
}

static int detach(const char *name)
{
	int rc = bdev_nvme_detach(name, del_done, NULL);

	if (rc != 0) {
		return rc;
	}
	g_del_done = 0;
	poll_until(&g_del_done);
	return g_del_done ? g_del_rc : -ETIMEDOUT;
}

static void test_attach_bad_input(void)
{
	struct bdev_nvme_attach_opts o = { .name = NULL };
	struct attach_res r = {0};

	o.trid.trtype = BRISK_NVME_TRANSPORT_PCIE;
	snprintf(o.trid.traddr, sizeof(o.trid.traddr), "0000:00:09.0");
	CU_ASSERT_EQUAL(bdev_nvme_attach(&o, attach_cb, &r), -EINVAL);
	o.name = "";
	CU_ASSERT_EQUAL(bdev_nvme_attach(&o, attach_cb, &r), -EINVAL);
	o.name = "Nvme9";
	o.trid.trtype = (enum brisk_nvme_transport_type)1; /* RDMA */
	CU_ASSERT_EQUAL(bdev_nvme_attach(&o, attach_cb, &r), -EINVAL);
	o.trid.trtype = BRISK_NVME_TRANSPORT_TCP;
	o.trid.adrfam = BRISK_NVMF_ADRFAM_IPV4;
	snprintf(o.trid.subnqn, sizeof(o.trid.subnqn), "nqn.x");
	CU_ASSERT_EQUAL(bdev_nvme_attach(&o, attach_cb, &r), -EINVAL); /* no trsvcid */
	o.trid.trtype = BRISK_NVME_TRANSPORT_PCIE;
	o.trid.traddr[0] = '\0';
	CU_ASSERT_EQUAL(bdev_nvme_attach(&o, attach_cb, &r), -EINVAL);
	CU_ASSERT_EQUAL(r.done, 0);
	/* No device there: the error comes later and nothing is registered. */
	CU_ASSERT_EQUAL(attach("Nvme9", "0000:00:09.0"), -ENODEV);
	CU_ASSERT_EQUAL(count_nvme_bdevs(), 0);
	CU_ASSERT_PTR_NULL(bdev_nvme_ctrlr_get("Nvme9"));
	CU_ASSERT_EQUAL(detach("Nvme9"), -ENODEV);
}

static void test_attach_and_json(void)
{
	struct brisk_bdev *b1, *b3;
	json_t *info, *cfg;
	char *s;

	mock_dev_add(0, "0000:00:04.0");
	CU_ASSERT_EQUAL(attach("Nvme0", "0000:00:04.0"), 0);
	b1 = brisk_bdev_get_by_name("Nvme0n1");
	b3 = brisk_bdev_get_by_name("Nvme0n3");
	CU_ASSERT_PTR_NOT_NULL_FATAL(b1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b3);
	CU_ASSERT_PTR_NULL(brisk_bdev_get_by_name("Nvme0n2")); /* inactive namespace */
	CU_ASSERT_EQUAL(brisk_bdev_get_block_size(b1), 512);
	CU_ASSERT_EQUAL(brisk_bdev_get_num_blocks(b1), 2048);
	CU_ASSERT_EQUAL(brisk_bdev_get_block_size(b3), 4096);
	CU_ASSERT(brisk_bdev_io_type_supported(b1, BRISK_BDEV_IO_TYPE_UNMAP));
	CU_ASSERT(brisk_bdev_io_type_supported(b1, BRISK_BDEV_IO_TYPE_NVME_IO));
	CU_ASSERT(brisk_bdev_io_type_supported(b1, BRISK_BDEV_IO_TYPE_NVME_ADMIN));
	/* Duplicates: name, then address. */
	CU_ASSERT_EQUAL(attach("Nvme0", "0000:00:05.0"), -EEXIST);
	CU_ASSERT_EQUAL(attach("Other", "0000:00:04.0"), -EALREADY);

	info = brisk_bdev_info_json(b1);
	s = json_dumps(info, JSON_COMPACT);
	CU_ASSERT(s != NULL && strstr(s, "\"pci_address\":\"0000:00:04.0\"") != NULL);
	CU_ASSERT(s != NULL && strstr(s, "\"model_number\":\"Mock NVMe Ctrl\"") != NULL);
	CU_ASSERT(s != NULL && strstr(s, "\"serial_number\":\"MOCK0001\"") != NULL);
	CU_ASSERT(s != NULL && strstr(s, "\"ns_data\":{\"id\":1") != NULL);
	CU_ASSERT(s != NULL && strstr(s, "\"vendor_id\":\"0x1b36\"") != NULL);
	free(s);
	json_decref(info);
	cfg = json_array();
	brisk_bdev_subsystem_config_json(cfg);
	s = json_dumps(cfg, JSON_COMPACT);
	CU_ASSERT(s != NULL && strstr(s, "\"method\":\"bdev_nvme_set_options\"") != NULL);
	CU_ASSERT(s != NULL && strstr(s, "\"method\":\"bdev_nvme_attach_controller\"") != NULL);
	CU_ASSERT(s != NULL && strstr(s, "\"traddr\":\"0000:00:04.0\"") != NULL);
	CU_ASSERT(s != NULL && strstr(s, "\"name\":\"Nvme0\"") != NULL);
	CU_ASSERT(s != NULL && strstr(s, "\"method\":\"bdev_nvme_set_hotplug\"") != NULL);
	free(s);
	json_decref(cfg);
}

struct io_ctx {
	struct brisk_bdev_desc *desc;
	struct brisk_io_channel *ch;
	struct events ev;
};

static void io_open(struct io_ctx *x, const char *name)
{
	memset(x, 0, sizeof(*x));
	CU_ASSERT_EQUAL_FATAL(brisk_bdev_open_ext(name, true, ev_cb, &x->ev, &x->desc), 0);
	x->ch = brisk_bdev_get_io_channel(x->desc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x->ch);
}

static void io_close(struct io_ctx *x)
{
	brisk_put_io_channel(x->ch);
	poll_idle();
	brisk_bdev_close(x->desc);
	poll_idle();
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		p[i] = (uint8_t)(seed + i * 13 + (i >> 8));
	}
}

static void test_io_mapping(void)
{
	struct brisk_nvme_ns *mns = &g_mock_devs[0].ns[0];
	uint8_t *w = brisk_dma_zmalloc(4096, 4096, NULL), *r = brisk_dma_zmalloc(4096, 4096, NULL);
	struct iovec wv[3] = { { w, 100 }, { w + 100, 1000 }, { w + 1100, 948 } };
	struct iovec rv[2] = { { r, 1500 }, { r + 1500, 548 } };
	struct cpl one = {0};
	struct io_ctx x;

	io_open(&x, "Nvme0n1");
	fill(w, 4096, 1);
	g_mock_nlog = 0;
	CU_ASSERT_EQUAL(brisk_bdev_writev_blocks(x.desc, x.ch, wv, 3, 8, 4, io_done, &one), 0);
	CU_ASSERT_EQUAL(one.done, 0);
	poll_until(&one.done);
	CU_ASSERT(one.done == 1 && one.success);
	CU_ASSERT(g_mock_nlog == 1 && g_mock_log[0].opc == BRISK_NVME_OPC_WRITE && g_mock_log[0].lba == 8 &&
		  g_mock_log[0].nlb == 4);
	CU_ASSERT_EQUAL(memcmp(mns->data + 8 * 512, w, 2048), 0);
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_readv_blocks(x.desc, x.ch, rv, 2, 8, 4, io_done, c)), 1);
	CU_ASSERT_EQUAL(memcmp(r, w, 2048), 0);
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_compare_blocks(x.desc, x.ch, w, 8, 4, io_done, c)), 1);
	w[700] ^= 1;
	memset(&one, 0, sizeof(one));
	CU_ASSERT_EQUAL(brisk_bdev_compare_blocks(x.desc, x.ch, w, 8, 4, io_done, &one), 0);
	poll_until(&one.done);
	CU_ASSERT_EQUAL(one.status, BRISK_BDEV_IO_STATUS_MISCOMPARE);

	/* Flush goes to the controller only when it caches writes. */
	g_mock_nlog = 0;
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_flush_blocks(x.desc, x.ch, 0, 1, io_done, c)), 1);
	CU_ASSERT(g_mock_nlog == 1 && g_mock_log[0].opc == BRISK_NVME_OPC_FLUSH);
	mns->vwc = false;
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_flush_blocks(x.desc, x.ch, 0, 1, io_done, c)), 1);
	CU_ASSERT_EQUAL(g_mock_nlog, 1);
	mns->vwc = true;

	/* Unmapped blocks read back as zeroes; write_zeroes too. */
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_unmap_blocks(x.desc, x.ch, 9, 2, io_done, c)), 1);
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_read_blocks(x.desc, x.ch, r, 8, 4, io_done, c)), 1);
	CU_ASSERT(r[512] == 0 && r[3 * 512 - 1] == 0 && r[0] == w[0]);
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_write_zeroes_blocks(x.desc, x.ch, 8, 1, io_done, c)), 1);
	CU_ASSERT(mns->data[8 * 512] == 0);

	/* Nothing in flight: the channel's poller is paused, the thread may sleep. */
	poll_idle();
	CU_ASSERT_FALSE(brisk_thread_has_active_pollers(g_th));
	io_close(&x);
	brisk_free(w);
	brisk_free(r);
}

static void test_unmap_and_write_zeroes_split(void)
{
	struct brisk_nvme_ctrlr *c1 = mock_dev_add(1, "0000:00:05.0");
	const uint64_t big = 256ull * UINT32_MAX + 10;
	struct io_ctx x;

	free(c1->ns[0].data);
	c1->ns[0].data = NULL;              /* too big to back: commands only */
	c1->ns[0].nsec = 300ull * UINT32_MAX;
	CU_ASSERT_EQUAL(attach("Nvme1", "0000:00:05.0"), 0);
	io_open(&x, "Nvme1n1");
	g_mock_nlog = 0;
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_unmap_blocks(x.desc, x.ch, 5, big, io_done, c)), 1);
	CU_ASSERT_EQUAL_FATAL(g_mock_nlog, 2);
	CU_ASSERT(g_mock_log[0].opc == BRISK_NVME_OPC_DATASET_MANAGEMENT && g_mock_log[0].nranges == 256);
	CU_ASSERT_EQUAL(g_mock_log[0].lba, 5);
	CU_ASSERT_EQUAL(g_mock_log[0].range_blocks, 256ull * UINT32_MAX);
	CU_ASSERT(g_mock_log[1].nranges == 1 && g_mock_log[1].range_blocks == 10);
	CU_ASSERT_EQUAL(g_mock_log[1].lba, 5 + 256ull * UINT32_MAX);
	g_mock_nlog = 0;
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_unmap_blocks(x.desc, x.ch, 0, 8, io_done, c)), 1);
	CU_ASSERT(g_mock_nlog == 1 && g_mock_log[0].nranges == 1 && g_mock_log[0].range_blocks == 8);
	g_mock_nlog = 0;
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_write_zeroes_blocks(x.desc, x.ch, 100, 70000, io_done, c)), 1);
	CU_ASSERT_EQUAL_FATAL(g_mock_nlog, 2);
	CU_ASSERT(g_mock_log[0].opc == BRISK_NVME_OPC_WRITE_ZEROES && g_mock_log[0].lba == 100 &&
		  g_mock_log[0].nlb == 65536);
	CU_ASSERT(g_mock_log[1].lba == 100 + 65536 && g_mock_log[1].nlb == 70000 - 65536);
	io_close(&x);
	CU_ASSERT_EQUAL(detach("Nvme1"), 0);
	CU_ASSERT_EQUAL(c1->detaches, 1);
	CU_ASSERT_PTR_NULL(brisk_bdev_get_by_name("Nvme1n1"));
	mock_dev_free(1);
}

/* More writes than the qpair has requests: -ENOMEM, retried by the layer. */
static void test_nomem_retry(void)
{
	struct cpl cs[6] = {{0}};
	uint8_t *w = brisk_dma_zmalloc(6 * 512, 4096, NULL);
	struct io_ctx x;
	int done;

	g_mock_qpair_limit = 2; /* for the channel created now */
	g_mock_enomem_seen = 0;
	io_open(&x, "Nvme0n1");
	fill(w, 6 * 512, 9);
	for (int i = 0; i < 6; i++) {
		CU_ASSERT_EQUAL(brisk_bdev_write_blocks(x.desc, x.ch, w + i * 512, 100 + i, 1, io_done, &cs[i]), 0);
	}
	for (int k = 0; k < 200; k++) {
		poll_idle();
		done = 0;
		for (int i = 0; i < 6; i++) {
			done += cs[i].done;
		}
		if (done == 6) {
			break;
		}
	}
	for (int i = 0; i < 6; i++) {
		CU_ASSERT(cs[i].done == 1 && cs[i].success);
	}
	CU_ASSERT(g_mock_enomem_seen > 0);
	CU_ASSERT_EQUAL(memcmp(g_mock_devs[0].ns[0].data + 100 * 512, w, 6 * 512), 0);
	io_close(&x);
	g_mock_qpair_limit = MOCK_MAX_REQS;
	brisk_free(w);
}

static void inject(int n, uint16_t sct, uint16_t sc, bool dnr)
{
	for (int i = 0; i < n; i++) {
		memset(&g_mock_inject[g_mock_ninject], 0, sizeof(g_mock_inject[0]));
		g_mock_inject[g_mock_ninject].sct = sct;
		g_mock_inject[g_mock_ninject].sc = sc;
		g_mock_inject[g_mock_ninject].dnr = dnr;
		g_mock_ninject++;
	}
}

static uint32_t g_pt_cdw0;
static int g_pt_sct, g_pt_sc;
static void pt_done(struct brisk_bdev_io *io, bool success, void *arg)
{
	brisk_bdev_io_get_nvme_status(io, &g_pt_cdw0, &g_pt_sct, &g_pt_sc);
	io_done(io, success, arg);
}

static void test_errors_retries_passthru(void)
{
	uint8_t *buf = brisk_dma_zmalloc(4096, 4096, NULL);
	struct brisk_nvme_cmd cmd = { .opc = BRISK_NVME_OPC_READ, .nsid = 99 };
	struct io_ctx x;

	io_open(&x, "Nvme0n1");
	g_mock_nlog = 0;
	inject(1, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_INTERNAL_DEVICE_ERROR, true);
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_write_blocks(x.desc, x.ch, buf, 0, 1, io_done, c)), 0);
	CU_ASSERT_EQUAL(g_mock_nlog, 1); /* DNR: no retry */
	g_mock_nlog = 0;
	inject(2, BRISK_NVME_SCT_MEDIA_ERROR, BRISK_NVME_SC_UNRECOVERED_READ_ERROR, false);
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_read_blocks(x.desc, x.ch, buf, 0, 1, io_done, c)), 1);
	CU_ASSERT_EQUAL(g_mock_nlog, 3); /* two retries, then success */
	g_mock_nlog = 0;
	inject(4, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_DATA_TRANSFER_ERROR, false);
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_read_blocks(x.desc, x.ch, buf, 0, 1, io_done, c)), 0);
	CU_ASSERT_EQUAL(g_mock_nlog, 4); /* bdev_retry_count 3 */
	CU_ASSERT_EQUAL(g_mock_ninject, 0);

	/* I/O passthrough goes to the bdev's namespace and keeps its status. */
	g_mock_nlog = 0;
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_nvme_io_passthru(x.desc, x.ch, &cmd, buf, 512, pt_done, c)), 1);
	CU_ASSERT(g_mock_nlog == 1 && g_mock_log[0].nsid == 1);
	CU_ASSERT(g_pt_sct == 0 && g_pt_sc == 0);
	inject(1, BRISK_NVME_SCT_COMMAND_SPECIFIC, 0x80, false);
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_nvme_io_passthru(x.desc, x.ch, &cmd, buf, 512, pt_done, c)), 0);
	CU_ASSERT(g_pt_sct == BRISK_NVME_SCT_COMMAND_SPECIFIC && g_pt_sc == 0x80);
	CU_ASSERT_EQUAL(g_mock_nlog, 2); /* never retried */
	/* Admin passthrough runs on the controller's admin queue. */
	cmd.opc = BRISK_NVME_OPC_IDENTIFY;
	memset(buf, 0, 4096);
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_nvme_admin_passthru(x.desc, x.ch, &cmd, buf, 4096, pt_done, c)), 1);
	CU_ASSERT(buf[0] == 0xa5 && buf[4095] == 0xa5);
	io_close(&x);
	brisk_free(buf);
}

static int g_reset_done, g_reset_rc;
static void reset_cb(void *arg, int rc)
{
	g_reset_done++;
	g_reset_rc = rc;
}

/* A reset aborts what another namespace has in flight: it is submitted again. */
static void test_reset_resubmits(void)
{
	uint8_t *w = brisk_dma_zmalloc(4096, 4096, NULL);
	struct cpl wr = {0};
	struct io_ctx x1, x3;
	int resets = g_mock_devs[0].resets;

	io_open(&x1, "Nvme0n1");
	io_open(&x3, "Nvme0n3");
	fill(w, 4096, 5);
	g_mock_nlog = 0;
	g_mock_hold = true; /* the write stays in flight through the reset */
	CU_ASSERT_EQUAL(brisk_bdev_write_blocks(x3.desc, x3.ch, w, 7, 1, io_done, &wr), 0);
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_reset(x1.desc, x1.ch, io_done, c)), 1);
	CU_ASSERT_EQUAL(g_mock_devs[0].resets, resets + 1);
	CU_ASSERT_EQUAL(wr.done, 0);
	g_mock_hold = false;
	poll_until(&wr.done);
	CU_ASSERT(wr.done == 1 && wr.success);
	CU_ASSERT_EQUAL(g_mock_nlog, 2); /* the write, aborted, then again */
	CU_ASSERT_EQUAL(memcmp(g_mock_devs[0].ns[2].data + 7 * 4096, w, 4096), 0);
	/* Two resets asked at once: one reset, both called back, later. */
	g_reset_done = 0;
	bdev_nvme_reset(bdev_nvme_ctrlr_get("Nvme0"), reset_cb, NULL);
	bdev_nvme_reset(bdev_nvme_ctrlr_get("Nvme0"), reset_cb, NULL);
	CU_ASSERT_EQUAL(g_reset_done, 0);
	for (int k = 0; k < 50 && g_reset_done < 2; k++) {
		poll_idle();
	}
	CU_ASSERT(g_reset_done == 2 && g_reset_rc == 0);
	CU_ASSERT_EQUAL(g_mock_devs[0].resets, resets + 2);
	/* A secondary process's controller is the primary's to reset. */
	g_mock_devs[0].secondary = true;
	g_reset_done = 0;
	bdev_nvme_reset(bdev_nvme_ctrlr_get("Nvme0"), reset_cb, NULL);
	CU_ASSERT_EQUAL(g_reset_done, 0);
	for (int k = 0; k < 50 && g_reset_done < 1; k++) {
		poll_idle();
	}
	CU_ASSERT(g_reset_done == 1 && g_reset_rc == -ENOTSUP);
	CU_ASSERT_EQUAL(g_mock_devs[0].resets, resets + 2);
	g_mock_devs[0].secondary = false;
	io_close(&x1);
	io_close(&x3);
	brisk_free(w);
}

static struct io_ctx g_fx;
static int g_removed;
static void fail_ev_cb(enum brisk_bdev_event_type type, struct brisk_bdev *bdev, void *ctx)
{
	if (type == BRISK_BDEV_EVENT_REMOVE) {
		g_removed = 1;
	}
}

/* The controller dies with writes in flight: they fail, the bdevs go away. */
static void test_failed_controller(void)
{
	struct brisk_nvme_ctrlr *c0 = &g_mock_devs[0];
	uint8_t *w = brisk_dma_zmalloc(4096, 4096, NULL);
	struct cpl a = {0}, b = {0};

	CU_ASSERT_EQUAL_FATAL(brisk_bdev_open_ext("Nvme0n1", true, fail_ev_cb, NULL, &g_fx.desc), 0);
	g_fx.ch = brisk_bdev_get_io_channel(g_fx.desc);
	CU_ASSERT_EQUAL(brisk_bdev_write_blocks(g_fx.desc, g_fx.ch, w, 0, 1, io_done, &a), 0);
	CU_ASSERT_EQUAL(brisk_bdev_write_blocks(g_fx.desc, g_fx.ch, w, 1, 1, io_done, &b), 0);
	c0->failed = true;
	c0->removed = true;
	poll_until(&b.done);
	CU_ASSERT(a.done == 1 && !a.success && b.done == 1 && !b.success);
	poll_until(&g_removed);
	CU_ASSERT_EQUAL(g_removed, 1);
	CU_ASSERT_PTR_NULL(brisk_bdev_get_by_name("Nvme0n3")); /* nobody had it open */
	/* New I/O fails at once. */
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_read_blocks(g_fx.desc, g_fx.ch, w, 0, 1, io_done, c)), 0);
	brisk_put_io_channel(g_fx.ch);
	poll_idle();
	brisk_bdev_close(g_fx.desc);
	for (int k = 0; k < 100 && bdev_nvme_ctrlr_get("Nvme0") != NULL; k++) {
		poll_idle();
	}
	CU_ASSERT_PTR_NULL(bdev_nvme_ctrlr_get("Nvme0"));
	CU_ASSERT_PTR_NULL(brisk_bdev_get_by_name("Nvme0n1"));
	CU_ASSERT_EQUAL(c0->detaches, 1);
	CU_ASSERT_EQUAL(count_nvme_bdevs(), 0);
	mock_dev_free(0);
	brisk_free(w);
}

static int ctrlr_exists(void)
{
	return bdev_nvme_ctrlr_get("Nvme0") != NULL;
}

/* The mock's devices have no sysfs entry: every one counts as bound. */
static bool mock_usable(const struct brisk_nvme_transport_id *trid)
{
	return true;
}

static void test_hotplug(void)
{
	int present = 0;

	g_bdev_nvme_hotplug_usable = mock_usable;
	CU_ASSERT_EQUAL(bdev_nvme_set_hotplug(true, 100000000), -EINVAL);
	CU_ASSERT_EQUAL(bdev_nvme_set_hotplug(true, 1000), 0);
	mock_dev_add(2, "0000:00:06.0");
	for (uint64_t end = now_ms() + 5000; !present && now_ms() < end;) {
		brisk_thread_poll(g_th, 0, 0);
		present = ctrlr_exists();
	}
	CU_ASSERT_EQUAL_FATAL(present, 1);
	CU_ASSERT(bdev_nvme_ctrlr_get("Nvme0")->from_hotplug);
	poll_idle();
	CU_ASSERT_PTR_NOT_NULL(brisk_bdev_get_by_name("Nvme0n1"));
	g_mock_present[2] = false; /* pulled out */
	for (uint64_t end = now_ms() + 5000; present && now_ms() < end;) {
		brisk_thread_poll(g_th, 0, 0);
		present = ctrlr_exists();
	}
	CU_ASSERT_EQUAL(present, 0);
	CU_ASSERT_EQUAL(count_nvme_bdevs(), 0);
	CU_ASSERT_EQUAL(bdev_nvme_set_hotplug(false, 0), 0);
	mock_dev_free(2);
}

/* The bdev subsystem's save_config, compact. */
static char *config_json_str(void)
{
	json_t *cfg = json_array();
	char *s;

	brisk_bdev_subsystem_config_json(cfg);
	s = json_dumps(cfg, JSON_COMPACT);
	json_decref(cfg);
	return s;
}

/* Polls until the hotplug poller has a probe under way. */
static void poll_until_hotplug_probe(void)
{
	for (uint64_t end = now_ms() + 5000; bdev_nvme_hotplug_probe_id() == 0 && now_ms() < end;) {
		brisk_thread_poll(g_th, 0, 0);
	}
	CU_ASSERT_NOT_EQUAL_FATAL(bdev_nvme_hotplug_probe_id(), 0);
}

/* The hotplug probe claimed the device before bdev_nvme_attach was called:
 * the attach waits for it and takes the controller under its own name. */
static void test_hotplug_attach_race(void)
{
	struct bdev_nvme_attach_opts o = { .name = "Boot0" };
	struct attach_res r = {0};
	struct nvme_ctrlr *c;

	g_bdev_nvme_hotplug_usable = mock_usable;
	CU_ASSERT_EQUAL(bdev_nvme_set_hotplug(true, 1000), 0);
	mock_dev_add(2, "0000:00:06.0");
	poll_until_hotplug_probe();
	o.trid.trtype = BRISK_NVME_TRANSPORT_PCIE;
	snprintf(o.trid.traddr, sizeof(o.trid.traddr), "0000:00:06.0");
	CU_ASSERT_EQUAL_FATAL(bdev_nvme_attach(&o, attach_cb, &r), 0);
	CU_ASSERT_EQUAL(r.done, 0);
	poll_until(&r.done);
	CU_ASSERT_EQUAL(r.rc, 0);
	c = bdev_nvme_ctrlr_get("Boot0");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_FALSE(c->from_hotplug);
	CU_ASSERT_PTR_NULL(bdev_nvme_ctrlr_get("Nvme0"));
	poll_idle();
	CU_ASSERT_PTR_NOT_NULL(brisk_bdev_get_by_name("Boot0n1"));
	CU_ASSERT_EQUAL(bdev_nvme_set_hotplug(false, 0), 0);
	CU_ASSERT_EQUAL(detach("Boot0"), 0);
	mock_dev_free(2);
}

/* Hotplug attached the device as Nvme0 before the config's attach of Nvme0
 * at that address: the attach adopts it (saved from then on); another name
 * or address is still refused. */
static void test_hotplug_attach_adopt(void)
{
	char *s;
	int present = 0;

	g_bdev_nvme_hotplug_usable = mock_usable;
	CU_ASSERT_EQUAL(bdev_nvme_set_hotplug(true, 1000), 0);
	mock_dev_add(2, "0000:00:06.0");
	for (uint64_t end = now_ms() + 5000; !present && now_ms() < end;) {
		brisk_thread_poll(g_th, 0, 0);
		present = ctrlr_exists();
	}
	CU_ASSERT_EQUAL_FATAL(present, 1);
	CU_ASSERT_EQUAL(bdev_nvme_set_hotplug(false, 0), 0);
	CU_ASSERT_EQUAL(attach("Nvme0", "0000:00:07.0"), -EEXIST);
	CU_ASSERT_EQUAL(attach("Other", "0000:00:06.0"), -EALREADY);
	CU_ASSERT(bdev_nvme_ctrlr_get("Nvme0")->from_hotplug);
	s = config_json_str();
	CU_ASSERT(s != NULL && strstr(s, "\"traddr\":\"0000:00:06.0\"") == NULL);
	free(s);
	CU_ASSERT_EQUAL(attach("Nvme0", "0000:00:06.0"), 0);
	CU_ASSERT_FALSE(bdev_nvme_ctrlr_get("Nvme0")->from_hotplug);
	s = config_json_str();
	CU_ASSERT(s != NULL && strstr(s, "\"traddr\":\"0000:00:06.0\"") != NULL);
	free(s);
	CU_ASSERT_EQUAL(detach("Nvme0"), 0);
	mock_dev_free(2);
}

/* bdev_nvme_attach_controller's reconnect policy: SPDK's rules, TCP only. */
static void test_reconnect_opts_check(void)
{
	struct brisk_nvme_transport_id tcp = { .trtype = BRISK_NVME_TRANSPORT_TCP };
	struct brisk_nvme_transport_id pcie = { .trtype = BRISK_NVME_TRANSPORT_PCIE };
	struct bdev_nvme_reconnect_opts o;
	char err[160];

#define RC(loss, delay, fast, trid) \
	(o = (struct bdev_nvme_reconnect_opts) { loss, delay, fast }, \
	 bdev_nvme_reconnect_opts_check(&o, &(trid), err, sizeof(err)))
	CU_ASSERT_EQUAL(RC(0, 0, 0, tcp), 0);
	CU_ASSERT_EQUAL(RC(0, 0, 0, pcie), 0);
	CU_ASSERT_EQUAL(RC(10, 2, 0, tcp), 0);
	CU_ASSERT_EQUAL(RC(10, 2, 4, tcp), 0);
	CU_ASSERT_EQUAL(RC(-1, 1, 0, tcp), 0);
	CU_ASSERT_EQUAL(RC(-1, 1, 30, tcp), 0);
	CU_ASSERT_EQUAL(RC(10, 10, 10, tcp), 0);
	CU_ASSERT_EQUAL(RC(10, 2, 0, pcie), -EINVAL);
	CU_ASSERT(strstr(err, "trtype TCP") != NULL);
	CU_ASSERT_EQUAL(RC(-2, 1, 0, tcp), -EINVAL);
	CU_ASSERT(strstr(err, "ctrlr_loss_timeout_sec must be -1") != NULL);
	CU_ASSERT_EQUAL(RC(0, 1, 0, tcp), -EINVAL);
	CU_ASSERT_EQUAL(RC(0, 0, 1, tcp), -EINVAL);
	CU_ASSERT_EQUAL(RC(10, 0, 0, tcp), -EINVAL);
	CU_ASSERT(strstr(err, "reconnect_delay_sec must be at least 1") != NULL);
	CU_ASSERT_EQUAL(RC(2, 3, 0, tcp), -EINVAL);
	CU_ASSERT_EQUAL(RC(10, 2, 11, tcp), -EINVAL);
	CU_ASSERT_EQUAL(RC(10, 3, 2, tcp), -EINVAL);
	CU_ASSERT(strstr(err, "at least reconnect_delay_sec") != NULL);
#undef RC
}

/* ---- Discovery service ---- */

#define DISC_NOTICE (0x02u | 0xf0u << 8 | 0x70u << 16) /* Notice, log change, log 70h */

/* A mock NVMe/TCP controller at 127.0.0.1:port with subnqn. */
static struct brisk_nvme_ctrlr *mock_tcp_dev(int i, const char *port, const char *nqn)
{
	struct brisk_nvme_ctrlr *c = mock_dev_add(i, "127.0.0.1");

	c->trid.trtype = BRISK_NVME_TRANSPORT_TCP;
	c->trid.adrfam = BRISK_NVMF_ADRFAM_IPV4;
	snprintf(c->trid.trsvcid, sizeof(c->trid.trsvcid), "%s", port);
	snprintf(c->trid.subnqn, sizeof(c->trid.subnqn), "%s", nqn);
	return c;
}

/* The discovery log: a header and one entry per (port, nqn, subtype). */
static void disc_log_set(uint8_t *log, uint32_t *len, int n, const char *const *ports, const char *const *nqns,
			 const uint8_t *subtypes)
{
	struct brisk_nvmf_discovery_log_header *h = (void *)log;
	struct brisk_nvmf_discovery_log_entry *e = (void *)(log + 1024);

	memset(log, 0, 1024 * 4);
	h->genctr = h->genctr + 1;
	h->numrec = (uint64_t)n;
	for (int i = 0; i < n; i++) {
		e[i].trtype = BRISK_NVMF_TRTYPE_TCP;
		e[i].adrfam = BRISK_NVMF_ADRFAM_IPV4;
		e[i].subtype = subtypes[i];
		memset(e[i].trsvcid, ' ', sizeof(e[i].trsvcid)); /* space padded, as the spec */
		memcpy(e[i].trsvcid, ports[i], strlen(ports[i]));
		memcpy(e[i].traddr, "127.0.0.1", 9);
		memcpy(e[i].subnqn, nqns[i], strlen(nqns[i]));
	}
	*len = 1024u * (uint32_t)(n + 1);
}

static void disc_done(void *arg, int rc)
{
	struct attach_res *r = arg;

	r->done = 1;
	r->rc = rc;
}

static void disc_notice(struct brisk_nvme_ctrlr *dc)
{
	struct brisk_nvme_cpl cpl = { .cdw0 = DISC_NOTICE };

	CU_ASSERT_PTR_NOT_NULL_FATAL(dc->aer_cb);
	dc->aer_cb(dc->aer_cb_arg, &cpl);
}

static void poll_until_ctrlr(const char *name, bool present)
{
	for (uint64_t end = now_ms() + 5000; (bdev_nvme_ctrlr_get(name) != NULL) != present && now_ms() < end;) {
		brisk_thread_poll(g_th, 0, 0);
	}
}

static struct bdev_nvme_discovery_opts disc_opts(const char *port)
{
	struct bdev_nvme_discovery_opts o = { .name = "d", .wait_for_attach = true };

	o.trid.trtype = BRISK_NVME_TRANSPORT_TCP;
	o.trid.adrfam = BRISK_NVMF_ADRFAM_IPV4;
	snprintf(o.trid.traddr, sizeof(o.trid.traddr), "127.0.0.1");
	snprintf(o.trid.trsvcid, sizeof(o.trid.trsvcid), "%s", port);
	snprintf(o.trid.subnqn, sizeof(o.trid.subnqn), "%s", BRISK_NVMF_DISCOVERY_NQN);
	return o;
}

/* Nothing listens there: the error comes later, nothing is left. */
static void test_discovery_unreachable(void)
{
	struct bdev_nvme_discovery_opts o = disc_opts("9999");
	struct attach_res r = { 0 };
	json_t *info;

	CU_ASSERT_EQUAL(bdev_nvme_start_discovery(&o, disc_done, &r), 0);
	CU_ASSERT_EQUAL(r.done, 0);
	poll_until(&r.done);
	CU_ASSERT_EQUAL(r.rc, -ENODEV);
	info = bdev_nvme_discovery_info_json();
	CU_ASSERT_EQUAL(json_array_size(info), 0);
	json_decref(info);
	CU_ASSERT_EQUAL(bdev_nvme_stop_discovery("d", disc_done, &r), -ENODEV);
}

static void test_discovery(void)
{
	static uint8_t log[4096];
	const char *ports[] = { "4420", "4421", "8010" };
	const char *nqns[] = { "nqn.2016-06.io.x:a", "nqn.2016-06.io.x:b", BRISK_NVMF_DISCOVERY_NQN };
	const uint8_t nvm_nvm_ref[] = { BRISK_NVMF_SUBTYPE_NVME, BRISK_NVMF_SUBTYPE_NVME,
					BRISK_NVMF_SUBTYPE_DISCOVERY };
	struct bdev_nvme_discovery_opts o = disc_opts("8009");
	struct brisk_nvme_ctrlr *dc = mock_tcp_dev(0, "8009", BRISK_NVMF_DISCOVERY_NQN);
	struct attach_res r = { 0 }, r2 = { 0 };
	char *s;
	json_t *info;

	mock_tcp_dev(1, "4420", nqns[0]);
	mock_tcp_dev(2, "4421", nqns[1]);
	dc->cd.cntrltype = BRISK_NVME_CNTRLTYPE_DISCOVERY;
	dc->nn = 0;
	dc->log = log;
	disc_log_set(log, &dc->log_len, 1, ports, nqns, nvm_nvm_ref);
	/* wait_for_attach: the answer comes once subsystem a is attached. */
	CU_ASSERT_EQUAL(bdev_nvme_start_discovery(&o, disc_done, &r), 0);
	CU_ASSERT_EQUAL(r.done, 0);
	CU_ASSERT_EQUAL(bdev_nvme_start_discovery(&o, disc_done, &r2), -EEXIST);
	poll_until(&r.done);
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_PTR_NOT_NULL(bdev_nvme_ctrlr_get("d_0"));
	CU_ASSERT_PTR_NOT_NULL(brisk_bdev_get_by_name("d_0n1"));
	/* Subsystem b and a referral appear: b is attached after the notice. */
	disc_log_set(log, &dc->log_len, 3, ports, nqns, nvm_nvm_ref);
	disc_notice(dc);
	poll_until_ctrlr("d_1", true);
	CU_ASSERT_PTR_NOT_NULL(bdev_nvme_ctrlr_get("d_1"));
	info = bdev_nvme_discovery_info_json();
	s = json_dumps(info, JSON_COMPACT);
	CU_ASSERT(s != NULL && strstr(s, "\"name\":\"d\"") != NULL && strstr(s, "\"trsvcid\":\"8010\"") != NULL);
	free(s);
	json_decref(info);
	s = config_json_str();
	CU_ASSERT(s != NULL && strstr(s, "bdev_nvme_start_discovery") != NULL &&
		  strstr(s, "bdev_nvme_attach_controller") == NULL);
	free(s);
	/* a leaves the log: detached after the next notice. */
	disc_log_set(log, &dc->log_len, 2, ports + 1, nqns + 1, nvm_nvm_ref + 1);
	disc_notice(dc);
	poll_until_ctrlr("d_0", false);
	CU_ASSERT_PTR_NULL(bdev_nvme_ctrlr_get("d_0"));
	CU_ASSERT_PTR_NOT_NULL(bdev_nvme_ctrlr_get("d_1"));
	/* Stop: everything it attached goes, then the discovery controller. */
	r.done = 0;
	CU_ASSERT_EQUAL(bdev_nvme_stop_discovery("d", disc_done, &r), 0);
	CU_ASSERT_EQUAL(r.done, 0);
	poll_until(&r.done);
	CU_ASSERT_PTR_NULL(bdev_nvme_ctrlr_get("d_1"));
	CU_ASSERT_EQUAL(count_nvme_bdevs(), 0);
	CU_ASSERT_FALSE(dc->attached);
	for (int i = 0; i < 3; i++) {
		mock_dev_free(i);
	}
}

static int ut_setup(void)
{
	struct bdev_nvme_opts o;

	if (ut_start() != 0) {
		return -1;
	}
	bdev_nvme_get_default_opts(&o);
	o.nvme_adminq_poll_period_us = 1000; /* a fast admin poller keeps the test short */
	return bdev_nvme_set_opts(&o) != 0 ? -1 : 0;
}

static int ut_teardown(void) { return ut_finish(); }

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_attach_bad_input),
	BRISK_UT_TEST(test_attach_and_json),
	BRISK_UT_TEST(test_io_mapping),
	BRISK_UT_TEST(test_unmap_and_write_zeroes_split),
	BRISK_UT_TEST(test_nomem_retry),
	BRISK_UT_TEST(test_errors_retries_passthru),
	BRISK_UT_TEST(test_reset_resubmits),
	BRISK_UT_TEST(test_failed_controller),
	BRISK_UT_TEST(test_hotplug),
	BRISK_UT_TEST(test_hotplug_attach_race),
	BRISK_UT_TEST(test_hotplug_attach_adopt),
	BRISK_UT_TEST(test_reconnect_opts_check),
	BRISK_UT_TEST(test_discovery_unreachable),
	BRISK_UT_TEST(test_discovery),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "bdev_nvme", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "bdev_nvme_ut",
	.env = BRISK_UT_ENV_THREAD,
	.mem_mb = 192,
	.thread_opts = { .msg_pool_size = 4095 },
	.setup = ut_setup,
	.teardown = ut_teardown,
	.suites = g_ut_suites,
};
