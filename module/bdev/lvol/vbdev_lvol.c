/*
 * The lvol bdev module: every lvol of every loaded lvol store is a bdev
 * named by the lvol's UUID with the alias "lvs_name/lvol_name". I/O goes
 * straight to the lvol's blob on a blobstore channel of the submitting
 * thread. Stores are found by examine: when a bdev appears, the module tries
 * to load an lvol store from it, claims it when there is one, and registers
 * a bdev per lvol. When the base bdev goes away (hot remove, or the end of
 * the app), the lvol bdevs are unregistered and the store is unloaded
 * cleanly. Lvol stores live on disk, so nothing is written to save_config.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/blob_bdev.h>
#include <brisk/env.h>
#include <brisk/log.h>
#include <brisk/string.h>
#include <brisk/thread.h>

#include "vbdev_lvol.h"

static void lvol_examine_disk(struct brisk_bdev *bdev);
static int lvol_get_ctx_size(void);

struct brisk_bdev_module g_lvol_if = {
	.name = "lvol",
	.examine_disk = lvol_examine_disk,
	.get_ctx_size = lvol_get_ctx_size,
};
BRISK_BDEV_MODULE_REGISTER(lvol, &g_lvol_if)

struct lvol_channel {
	struct brisk_io_channel *bs_ch;
	struct brisk_bdev_desc *base_desc; /* the store's base bdev (direct I/O) */
};

static int lvol_get_ctx_size(void)
{
	return 0; /* the blob completion gets the bdev_io itself */
}

/* ---- I/O ---- */

static void lvol_io_done(void *arg, int bserrno)
{
	struct brisk_bdev_io *io = arg;

	if (bserrno == -ENOMEM) {
		/* channel full: the bdev layer retries */
		brisk_bdev_io_complete(io, BRISK_BDEV_IO_STATUS_NOMEM);
		return;
	}
	/* The blobstore's errno (the base bdev's: -ENOSPC ...) reaches the user. */
	brisk_bdev_io_complete_aio_status(io, bserrno);
}

static void lvol_direct_done(struct brisk_bdev_io *io, int status, void *token)
{
	brisk_blob_io_direct_end(token);
	brisk_bdev_io_complete(io, status);
}

/* A read or write inside one allocated cluster goes to the base bdev's
 * module as the same bdev I/O, at the cluster's blocks: no blob request
 * and no second bdev I/O. false: the blob path must take it (thin or
 * unallocated, a clone's read of its parent, across clusters, a frozen or
 * read-only blob, a base that cannot take it as it is). */
static bool lvol_submit_direct(struct lvol_channel *lch, struct brisk_blob *blob, struct brisk_bdev_io *io)
{
	struct brisk_io_channel *dev_ch;
	uint64_t lba;
	void *token;

	if (brisk_blob_io_direct_start(blob, lch->bs_ch, io->type == BRISK_BDEV_IO_TYPE_WRITE, io->u.offset_blocks,
				       io->u.num_blocks, &lba, &dev_ch, &token) != 0) {
		return false;
	}
	if (brisk_bdev_io_submit_to_base(io, lch->base_desc, dev_ch, lba, lvol_direct_done, token) != 0) {
		brisk_blob_io_direct_end(token);
		return false;
	}
	return true;
}

static void lvol_submit_request(struct brisk_io_channel *ch, struct brisk_bdev_io *io)
{
	struct lvol_bdev *lv = io->bdev->ctxt;
	struct lvol_channel *lch = brisk_io_channel_get_ctx(ch);
	struct brisk_blob *blob = brisk_lvol_get_blob(lv->lvol);
	uint64_t off = io->u.offset_blocks, n = io->u.num_blocks;

	if (blob == NULL) {
		/* Between a delete's close and the bdev's unregister. */
		brisk_bdev_io_complete(io, BRISK_BDEV_IO_STATUS_FAILED);
		return;
	}
	if ((io->type == BRISK_BDEV_IO_TYPE_READ || io->type == BRISK_BDEV_IO_TYPE_WRITE) &&
	    lvol_submit_direct(lch, blob, io)) {
		return;
	}
	switch (io->type) {
	case BRISK_BDEV_IO_TYPE_READ:
		brisk_blob_io_readv(blob, lch->bs_ch, io->u.iovs, io->u.iovcnt, off, n, lvol_io_done, io);
		break;
	case BRISK_BDEV_IO_TYPE_WRITE:
		brisk_blob_io_writev(blob, lch->bs_ch, io->u.iovs, io->u.iovcnt, off, n, lvol_io_done, io);
		break;
	case BRISK_BDEV_IO_TYPE_UNMAP:
		brisk_blob_io_unmap(blob, lch->bs_ch, off, n, lvol_io_done, io);
		break;
	case BRISK_BDEV_IO_TYPE_WRITE_ZEROES:
		brisk_blob_io_write_zeroes(blob, lch->bs_ch, off, n, lvol_io_done, io);
		break;
	default:
		brisk_bdev_io_complete(io, BRISK_BDEV_IO_STATUS_FAILED);
		break;
	}
}

static bool lvol_io_type_supported(void *ctx, enum brisk_bdev_io_type type)
{
	struct lvol_bdev *lv = ctx;

	switch (type) {
	case BRISK_BDEV_IO_TYPE_READ:
		return true;
	case BRISK_BDEV_IO_TYPE_WRITE:
	case BRISK_BDEV_IO_TYPE_UNMAP:
	case BRISK_BDEV_IO_TYPE_WRITE_ZEROES:
		return lv->lvol != NULL && brisk_lvol_get_blob(lv->lvol) != NULL &&
		       !brisk_lvol_is_read_only(lv->lvol);
	default:
		return false;
	}
}

static int lvol_channel_create(void *io_device, void *ctx_buf)
{
	struct lvol_bdev *lv = io_device;
	struct lvol_channel *lch = ctx_buf;

	lch->bs_ch = brisk_bs_alloc_io_channel(brisk_lvs_get_bs(lv->lb->lvs));
	lch->base_desc = brisk_bs_bdev_get_desc(lv->lb->bs_dev);
	return lch->bs_ch != NULL ? 0 : -ENOMEM;
}

static void lvol_channel_destroy(void *io_device, void *ctx_buf)
{
	struct lvol_channel *lch = ctx_buf;

	(void)io_device;
	brisk_bs_free_io_channel(lch->bs_ch);
}

static struct brisk_io_channel *lvol_get_io_channel(void *ctx)
{
	return brisk_get_io_channel(ctx);
}

/* ---- JSON ---- */

static int lvol_dump_info_json(void *ctx, json_t *driver_specific)
{
	struct lvol_bdev *lv = ctx;
	struct brisk_lvol *lvol = lv->lvol, *parent, *clones[64];
	char uuid[BRISK_UUID_STRING_LEN];
	json_t *o, *arr;
	size_t n, i;

	brisk_uuid_fmt_lower(uuid, sizeof(uuid), brisk_lvs_get_uuid(lv->lb->lvs));
	o = json_object();
	json_object_set_new(o, "lvol_store_uuid", json_string(uuid));
	json_object_set_new(o, "base_bdev", json_string(lv->lb->base_bdev_name));
	json_object_set_new(o, "thin_provision", json_boolean(brisk_lvol_is_thin(lvol)));
	json_object_set_new(o, "num_allocated_clusters",
			    json_integer((json_int_t)brisk_blob_get_num_allocated_clusters(brisk_lvol_get_blob(lvol))));
	json_object_set_new(o, "snapshot", json_boolean(brisk_lvol_is_snapshot(lvol)));
	json_object_set_new(o, "clone", json_boolean(brisk_lvol_is_clone(lvol)));
	parent = brisk_lvol_get_parent(lvol);
	if (parent != NULL) {
		json_object_set_new(o, "base_snapshot", json_string(brisk_lvol_get_name(parent)));
	}
	n = brisk_lvol_get_clones(lvol, clones, sizeof(clones) / sizeof(clones[0]));
	if (n > 0) {
		arr = json_array();
		for (i = 0; i < n && i < sizeof(clones) / sizeof(clones[0]); i++) {
			json_array_append_new(arr, json_string(brisk_lvol_get_name(clones[i])));
		}
		json_object_set_new(o, "clones", arr);
	}
	json_object_set_new(driver_specific, "lvol", o);
	return 0;
}

/* ---- Registration ---- */

static void lvol_bdev_gone(void *io_device)
{
	struct lvol_bdev *lv = io_device;

	if (lv->lvol != NULL) {
		brisk_lvol_set_ctx(lv->lvol, NULL);
	}
	brisk_bdev_destruct_done(&lv->bdev, 0);
	free(lv->alias_conflict);
	free(lv->bdev.name);
	free(lv);
}

static int lvol_destruct(void *ctx)
{
	struct lvol_bdev *lv = ctx;

	brisk_io_device_unregister(lv, lvol_bdev_gone);
	return 1;
}

static const struct brisk_bdev_fn_table g_lvol_fn_table = {
	.destruct = lvol_destruct,
	.submit_request = lvol_submit_request,
	.io_type_supported = lvol_io_type_supported,
	.get_io_channel = lvol_get_io_channel,
	.dump_info_json = lvol_dump_info_json,
};

void vbdev_lvol_alias(const struct brisk_lvol *lvol, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", brisk_lvs_get_name(brisk_lvol_get_lvs(lvol)), brisk_lvol_get_name(lvol));
}

int vbdev_lvol_register(struct lvs_bdev *lb, struct brisk_lvol *lvol)
{
	struct brisk_blob_store *bs = brisk_lvs_get_bs(lb->lvs);
	struct brisk_blob *blob = brisk_lvol_get_blob(lvol);
	struct lvol_bdev *lv;
	int rc;

	lv = calloc(1, sizeof(*lv));
	if (lv == NULL || (lv->bdev.name = strdup(brisk_lvol_get_uuid_str(lvol))) == NULL) {
		free(lv);
		return -ENOMEM;
	}
	lv->lvol = lvol;
	lv->lb = lb;
	lv->bdev.product_name = "Logical Volume";
	lv->bdev.uuid = *brisk_lvol_get_uuid(lvol);
	lv->bdev.blocklen = (uint32_t)brisk_bs_get_io_unit_size(bs);
	lv->bdev.blockcnt = brisk_blob_get_num_io_units(blob);
	lv->bdev.ctxt = lv;
	lv->bdev.fn_table = &g_lvol_fn_table;
	lv->bdev.module = &g_lvol_if;
	brisk_io_device_register(lv, lvol_channel_create, lvol_channel_destroy, sizeof(struct lvol_channel),
				 lv->bdev.name);
	rc = brisk_bdev_register(&lv->bdev);
	if (rc != 0) {
		BRISK_ERRLOG("lvol %s: cannot register its bdev %s: %s\n", brisk_lvol_get_name(lvol), lv->bdev.name,
			     strerror(-rc));
		brisk_io_device_unregister(lv, NULL);
		free(lv->bdev.name);
		free(lv);
		return rc;
	}
	vbdev_lvol_claim_alias(lv);
	brisk_lvol_set_ctx(lvol, lv);
	return 0;
}

void vbdev_lvol_claim_alias(struct lvol_bdev *lv)
{
	char alias[BRISK_LVS_NAME_MAX + BRISK_LVOL_NAME_MAX + 1];
	struct brisk_bdev *holder;
	int rc;

	free(lv->alias_conflict);
	lv->alias_conflict = NULL;
	vbdev_lvol_alias(lv->lvol, alias, sizeof(alias));
	rc = brisk_bdev_alias_add(&lv->bdev, alias);
	if (rc == 0) {
		return;
	}
	holder = brisk_bdev_get_by_name(alias);
	lv->alias_conflict = strdup(holder != NULL ? brisk_bdev_get_name(holder) : strerror(-rc));
	BRISK_ERRLOG("lvol %s: its alias %s is taken by bdev %s; the lvol is reachable only by its "
		     "UUID name %s (rename one of them)\n", brisk_lvol_get_name(lv->lvol), alias,
		     holder != NULL ? brisk_bdev_get_name(holder) : "(unknown)", lv->bdev.name);
}

static void lvs_unregister_one_done(void *arg, int rc)
{
	struct lvs_bdev *lb = arg;

	if (rc != 0) {
		BRISK_WARNLOG("lvstore %s: unregistering an lvol bdev: %s\n", brisk_lvs_get_name(lb->lvs),
			      strerror(-rc));
	}
	if (--lb->unregistering == 0 && lb->all_gone_fn != NULL) {
		void (*fn)(struct lvs_bdev *) = lb->all_gone_fn;

		lb->all_gone_fn = NULL;
		fn(lb);
	}
}

void vbdev_lvs_unregister_all(struct lvs_bdev *lb, void (*fn)(struct lvs_bdev *lb), void *op_ctx)
{
	struct brisk_lvol *lvol;
	struct lvol_bdev *lv;

	lb->op_ctx = op_ctx;
	lb->all_gone_fn = fn;
	/* Counted up front: an unregister may complete inside the loop. */
	lb->unregistering++;
	for (lvol = brisk_lvol_first(lb->lvs); lvol != NULL; lvol = brisk_lvol_next(lvol)) {
		lv = brisk_lvol_get_ctx(lvol);
		if (lv != NULL) {
			lb->unregistering++;
			brisk_bdev_unregister(&lv->bdev, lvs_unregister_one_done, lb);
		}
	}
	lvs_unregister_one_done(lb, 0);
}

/* ---- Per-store state and the base bdev ---- */

struct lvs_bdev *vbdev_lvs_bdev_new(const char *base_bdev_name)
{
	struct lvs_bdev *lb = calloc(1, sizeof(*lb));

	if (lb != NULL && (lb->base_bdev_name = strdup(base_bdev_name)) == NULL) {
		free(lb);
		lb = NULL;
	}
	return lb;
}

void vbdev_lvs_bdev_free(struct lvs_bdev *lb)
{
	free(lb->base_bdev_name);
	free(lb);
}

static void lvs_removed_unloaded(void *arg, int rc)
{
	struct lvs_bdev *lb = arg;

	if (rc != 0) {
		BRISK_ERRLOG("lvstore on %s: unload after removal failed: %s\n", lb->base_bdev_name, strerror(-rc));
	}
	vbdev_lvs_bdev_free(lb);
}

/* The unload waits for running lvol operations (the base's descriptor must
 * close in the end): checked every millisecond. */
static int lvs_removed_try_unload(void *arg)
{
	struct lvs_bdev *lb = arg;

	if (brisk_lvs_is_busy(lb->lvs)) {
		return BRISK_POLLER_IDLE;
	}
	brisk_poller_unregister(&lb->unload_poller);
	brisk_lvs_unload(lb->lvs, lvs_removed_unloaded, lb);
	return BRISK_POLLER_BUSY;
}

static void lvs_removed_bdevs_gone(struct lvs_bdev *lb)
{
	if (!brisk_lvs_is_busy(lb->lvs)) {
		brisk_lvs_unload(lb->lvs, lvs_removed_unloaded, lb);
		return;
	}
	lb->unload_poller = brisk_poller_register(lvs_removed_try_unload, lb, 1000);
	if (lb->unload_poller == NULL) {
		BRISK_ERRLOG("lvstore on %s: cannot wait for its operations; unloading now\n", lb->base_bdev_name);
		brisk_lvs_unload(lb->lvs, lvs_removed_unloaded, lb);
	}
}

void vbdev_lvs_base_event(enum brisk_bdev_event_type type, struct brisk_bdev *bdev, void *ctx)
{
	struct lvs_bdev *lb = ctx;

	switch (type) {
	case BRISK_BDEV_EVENT_REMOVE:
		if (lb->lvs == NULL || lb->removing) {
			/* Still loading (the load's end sees the flag), or already leaving. */
			lb->removing = true;
			return;
		}
		BRISK_NOTICELOG("lvstore %s: base bdev %s is being removed: unloading the store\n", brisk_lvs_get_name(lb->lvs),
				brisk_bdev_get_name(bdev));
		lb->removing = true;
		vbdev_lvs_unregister_all(lb, lvs_removed_bdevs_gone, NULL);
		break;
	case BRISK_BDEV_EVENT_RESIZE:
		/* bdev_lvol_grow_lvstore makes use of it. */
		BRISK_NOTICELOG("lvstore base bdev %s now has %llu blocks\n", brisk_bdev_get_name(bdev),
				(unsigned long long)brisk_bdev_get_num_blocks(bdev));
		break;
	}
}

/* ---- Examine: try to load a store from every new bdev ---- */

struct examine_ctx {
	struct lvs_bdev *lb;
};

static void lvol_examine_loaded(void *arg, struct brisk_lvol_store *lvs, int rc)
{
	struct examine_ctx *c = arg;
	struct lvs_bdev *lb = c->lb;
	struct brisk_lvol *lvol;

	free(c);
	if (rc != 0) {
		{
			BRISK_ERRLOG("lvstore on %s did not load: %s\n", lb->base_bdev_name, strerror(-rc));
		}
		vbdev_lvs_bdev_free(lb);
		brisk_bdev_module_examine_done(&g_lvol_if);
		return;
	}
	lb->lvs = lvs;
	brisk_lvs_set_ctx(lvs, lb);
	rc = lb->removing ? -ENODEV : brisk_bs_bdev_claim(lb->bs_dev, &g_lvol_if);
	if (rc != 0) {
		BRISK_ERRLOG("lvstore %s on %s: %s; unloading it\n", brisk_lvs_get_name(lvs), lb->base_bdev_name,
			     rc == -ENODEV ? "the base bdev went away during the load" : "cannot claim the base bdev");
		lb->removing = true;
		brisk_lvs_unload(lvs, lvs_removed_unloaded, lb);
		brisk_bdev_module_examine_done(&g_lvol_if);
		return;
	}
	for (lvol = brisk_lvol_first(lvs); lvol != NULL; lvol = brisk_lvol_next(lvol)) {
		vbdev_lvol_register(lb, lvol);
	}
	brisk_bdev_module_examine_done(&g_lvol_if);
}

/* Step 1, probe: read the two super block copies and look for a blobstore
 * of type LVOLSTORE, so that bdevs without a store are passed over quietly
 * (the blobstore load would log an error for each). */
struct examine_probe {
	struct brisk_bdev_desc *desc;
	struct brisk_io_channel *ch;
	uint8_t *buf;
	char name[128];
};

#define PROBE_BYTES (2 * BRISK_BS_PAGE_SIZE)

static void probe_event(enum brisk_bdev_event_type type, struct brisk_bdev *bdev, void *ctx)
{
	(void)type; (void)bdev; (void)ctx; /* the probe ends by itself */
}

static bool probe_has_lvs(const uint8_t *buf)
{
	static const char magic[8] = "BRISKBS";
	char bstype[BRISK_BLOBSTORE_TYPE_LENGTH] = {0};
	int copy;

	memcpy(bstype, BRISK_LVS_BSTYPE, strlen(BRISK_LVS_BSTYPE));
	for (copy = 0; copy < 2; copy++) {
		const uint8_t *sb = buf + copy * BRISK_BS_PAGE_SIZE;

		if (memcmp(sb, magic, sizeof(magic)) == 0 && memcmp(sb + 40, bstype, sizeof(bstype)) == 0) {
			return true;
		}
	}
	return false;
}

static void examine_load(const char *name);

static void probe_free(struct examine_probe *p)
{
	if (p->ch != NULL) {
		brisk_put_io_channel(p->ch);
	}
	if (p->desc != NULL) {
		brisk_bdev_close(p->desc);
	}
	brisk_free(p->buf);
	free(p);
}

static void probe_read_done(struct brisk_bdev_io *io, bool success, void *arg)
{
	struct examine_probe *p = arg;
	bool found = success && probe_has_lvs(p->buf);
	char name[sizeof(p->name)];

	brisk_bdev_free_io(io);
	memcpy(name, p->name, sizeof(name));
	probe_free(p);
	if (!found) {
		brisk_bdev_module_examine_done(&g_lvol_if);
		return;
	}
	examine_load(name);
}

static void lvol_examine_disk(struct brisk_bdev *bdev)
{
	struct examine_probe *p;
	int rc = -ENOMEM;

	if (bdev->module == &g_lvol_if || brisk_bdev_get_claim_module_name(bdev) != NULL || bdev->blockcnt * bdev->blocklen < PROBE_BYTES ||
	    strlen(bdev->name) >= sizeof(p->name)) {
		brisk_bdev_module_examine_done(&g_lvol_if); /* no stores inside lvols */
		return;
	}
	p = calloc(1, sizeof(*p));
	if (p != NULL) {
		snprintf(p->name, sizeof(p->name), "%s", bdev->name);
		p->buf = brisk_dma_malloc(PROBE_BYTES, brisk_bdev_get_buf_align(bdev), NULL);
		rc = p->buf == NULL ? -ENOMEM : brisk_bdev_open_ext(bdev->name, false, probe_event, NULL, &p->desc);
		if (rc == 0) {
			p->ch = brisk_bdev_get_io_channel(p->desc);
			rc = p->ch == NULL ? -ENOMEM :
			     brisk_bdev_read(p->desc, p->ch, p->buf, 0, PROBE_BYTES, probe_read_done, p);
		}
	}
	if (rc != 0) {
		BRISK_DEBUGLOG(lvol, "examine %s: cannot read its first pages: %s\n", bdev->name, strerror(-rc));
		if (p != NULL) {
			probe_free(p);
		}
		brisk_bdev_module_examine_done(&g_lvol_if);
	}
}

/* Step 2, load: open a bs_dev on the bdev and load the store. */
static void examine_load(const char *name)
{
	struct brisk_bdev *bdev;
	struct brisk_bs_dev *bs_dev;
	struct examine_ctx *c;
	struct lvs_bdev *lb;
	int rc;

	bdev = brisk_bdev_get_by_name(name);
	if (bdev == NULL || brisk_bdev_get_claim_module_name(bdev) != NULL) {
		/* Gone, or taken meanwhile (e.g. bdev_lvol_create_lvstore on it). */
		brisk_bdev_module_examine_done(&g_lvol_if);
		return;
	}
	lb = vbdev_lvs_bdev_new(name);
	c = calloc(1, sizeof(*c));
	if (lb == NULL || c == NULL) {
		free(c);
		if (lb != NULL) {
			vbdev_lvs_bdev_free(lb);
		}
		brisk_bdev_module_examine_done(&g_lvol_if);
		return;
	}
	c->lb = lb;
	rc = brisk_bdev_create_bs_dev_ext(name, vbdev_lvs_base_event, lb, &bs_dev);
	if (rc != 0) {
		BRISK_ERRLOG("lvstore found on %s, but it cannot be opened: %s\n", name, strerror(-rc));
		free(c);
		vbdev_lvs_bdev_free(lb);
		brisk_bdev_module_examine_done(&g_lvol_if);
		return;
	}
	/* Claimed once the store has loaded (lvol_examine_loaded). */
	lb->bs_dev = bs_dev;
	brisk_lvs_load(bs_dev, lvol_examine_loaded, c);
}

/* ---- Lookup ---- */

struct brisk_lvol *vbdev_lvol_find(const char *name)
{
	struct brisk_bdev *bdev;
	struct brisk_lvol_store *lvs;
	struct brisk_lvol *lvol;
	const char *slash;
	char lvs_name[BRISK_LVS_NAME_MAX];

	if (name == NULL) {
		return NULL;
	}
	bdev = brisk_bdev_get_by_name(name);
	if (bdev != NULL && bdev->module == &g_lvol_if) {
		return ((struct lvol_bdev *)bdev->ctxt)->lvol;
	}
	/* An lvol whose bdev is not registered (should not happen) by alias. */
	slash = strchr(name, '/');
	if (slash == NULL || (size_t)(slash - name) >= sizeof(lvs_name)) {
		return NULL;
	}
	memcpy(lvs_name, name, (size_t)(slash - name));
	lvs_name[slash - name] = '\0';
	lvs = brisk_lvs_get_by_name(lvs_name);
	if (lvs == NULL) {
		return NULL;
	}
	lvol = brisk_lvol_get_by_name(lvs, slash + 1);
	return lvol;
}
