/*
 * Bdev registration and unregistration, lookup, aliases, descriptors and
 * their events, claims.
 *
 * The bdev list, descriptors and claims are management state: they are read
 * from any thread (open, lookup) and changed rarely, so they sit under one
 * mutex. Nothing on the I/O path takes it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/env.h>
#include <brisk/log.h>
#include <brisk/string.h>

#include "bdev_internal.h"

BRISK_LOG_REGISTER_COMPONENT(bdev)


/* ------------------------------------------------------------------------ */
/* Lookup (callers hold the lock) */

static bool bdev_has_name(struct brisk_bdev *bdev, const char *name)
{
	struct bdev_alias *a;
	char uuid[BRISK_UUID_STRING_LEN];

	if (strcmp(bdev->name, name) == 0) {
		return true;
	}
	TAILQ_FOREACH(a, &bdev->internal->aliases, link) {
		if (strcmp(a->name, name) == 0) {
			return true;
		}
	}
	brisk_uuid_fmt_lower(uuid, sizeof(uuid), &bdev->uuid);
	return strcasecmp(uuid, name) == 0;
}

static struct brisk_bdev *bdev_find_locked(const char *name)
{
	struct brisk_bdev *bdev;

	TAILQ_FOREACH(bdev, &g_bdev_mgr.bdevs, link) {
		if (bdev_has_name(bdev, name)) {
			return bdev;
		}
	}
	return NULL;
}

struct brisk_bdev *brisk_bdev_get_by_name(const char *name)
{
	struct brisk_bdev *bdev;

	if (name == NULL) {
		return NULL;
	}
	pthread_mutex_lock(&g_bdev_mgr.lock);
	bdev = bdev_find_locked(name);
	pthread_mutex_unlock(&g_bdev_mgr.lock);
	return bdev;
}

struct brisk_bdev *brisk_bdev_first(void)
{
	struct brisk_bdev *bdev;

	pthread_mutex_lock(&g_bdev_mgr.lock);
	bdev = TAILQ_FIRST(&g_bdev_mgr.bdevs);
	pthread_mutex_unlock(&g_bdev_mgr.lock);
	return bdev;
}

struct brisk_bdev *brisk_bdev_next(struct brisk_bdev *prev)
{
	struct brisk_bdev *bdev;

	pthread_mutex_lock(&g_bdev_mgr.lock);
	bdev = TAILQ_NEXT(prev, link);
	pthread_mutex_unlock(&g_bdev_mgr.lock);
	return bdev;
}

static struct brisk_bdev *bdev_leaf_from(struct brisk_bdev *bdev)
{
	while (bdev != NULL && bdev->internal->claim_module != NULL) {
		bdev = TAILQ_NEXT(bdev, link);
	}
	return bdev;
}

struct brisk_bdev *brisk_bdev_first_leaf(void)
{
	struct brisk_bdev *bdev;

	pthread_mutex_lock(&g_bdev_mgr.lock);
	bdev = bdev_leaf_from(TAILQ_FIRST(&g_bdev_mgr.bdevs));
	pthread_mutex_unlock(&g_bdev_mgr.lock);
	return bdev;
}

struct brisk_bdev *brisk_bdev_next_leaf(struct brisk_bdev *prev)
{
	struct brisk_bdev *bdev;

	pthread_mutex_lock(&g_bdev_mgr.lock);
	bdev = bdev_leaf_from(TAILQ_NEXT(prev, link));
	pthread_mutex_unlock(&g_bdev_mgr.lock);
	return bdev;
}

/* ------------------------------------------------------------------------ */
/* Properties */

const char *brisk_bdev_get_name(const struct brisk_bdev *bdev) { return bdev->name; }
const char *brisk_bdev_get_product_name(const struct brisk_bdev *bdev) { return bdev->product_name; }
const char *brisk_bdev_get_module_name(const struct brisk_bdev *bdev) { return bdev->module->name; }
uint32_t brisk_bdev_get_block_size(const struct brisk_bdev *bdev) { return bdev->blocklen; }

uint32_t brisk_bdev_get_physical_block_size(const struct brisk_bdev *bdev)
{
	return bdev->phys_blocklen != 0 ? bdev->phys_blocklen : bdev->blocklen;
}
uint64_t brisk_bdev_get_num_blocks(const struct brisk_bdev *bdev) { return bdev->blockcnt; }
const struct brisk_uuid *brisk_bdev_get_uuid(const struct brisk_bdev *bdev) { return &bdev->uuid; }
bool brisk_bdev_has_write_cache(const struct brisk_bdev *bdev) { return bdev->write_cache; }
uint32_t brisk_bdev_get_optimal_io_boundary(const struct brisk_bdev *bdev) { return bdev->optimal_io_boundary; }
uint32_t brisk_bdev_get_max_transfer_size(const struct brisk_bdev *bdev) { return bdev->max_transfer_size; }

size_t brisk_bdev_get_buf_align(const struct brisk_bdev *bdev)
{
	return bdev->required_alignment > 1 ? bdev->required_alignment : 1;
}

bool brisk_bdev_io_type_supported(struct brisk_bdev *bdev, enum brisk_bdev_io_type io_type)
{
	if (io_type == BRISK_BDEV_IO_TYPE_WRITE_ZEROES && bdev_write_zeroes_emulated(bdev)) {
		return true;
	}
	return bdev_io_type_supported(bdev, io_type);
}

const char *brisk_bdev_get_claim_module_name(const struct brisk_bdev *bdev)
{
	const char *name;

	pthread_mutex_lock(&g_bdev_mgr.lock);
	name = bdev->internal->claim_module ? bdev->internal->claim_module->name : NULL;
	pthread_mutex_unlock(&g_bdev_mgr.lock);
	return name;
}

void brisk_bdev_for_each_alias(const struct brisk_bdev *bdev, void (*fn)(const char *alias, void *ctx),
			       void *ctx)
{
	struct bdev_alias *a;

	pthread_mutex_lock(&g_bdev_mgr.lock);
	TAILQ_FOREACH(a, &bdev->internal->aliases, link) {
		fn(a->name, ctx);
	}
	pthread_mutex_unlock(&g_bdev_mgr.lock);
}

/* ------------------------------------------------------------------------ */
/* Aliases */

int brisk_bdev_alias_add(struct brisk_bdev *bdev, const char *alias)
{
	struct bdev_alias *a;

	if (bdev == NULL || alias == NULL || alias[0] == '\0') {
		BRISK_ERRLOG("alias must be a non-empty string\n");
		return -EINVAL;
	}
	if (brisk_str_has_control_chars(alias)) {
		BRISK_ERRLOG("alias '%s' contains control characters\n", alias);
		return -EINVAL;
	}
	pthread_mutex_lock(&g_bdev_mgr.lock);
	if (bdev_find_locked(alias) != NULL) {
		pthread_mutex_unlock(&g_bdev_mgr.lock);
		BRISK_ERRLOG("bdev name or alias '%s' already exists\n", alias);
		return -EEXIST;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL || (a->name = strdup(alias)) == NULL) {
		pthread_mutex_unlock(&g_bdev_mgr.lock);
		free(a);
		return -ENOMEM;
	}
	TAILQ_INSERT_TAIL(&bdev->internal->aliases, a, link);
	pthread_mutex_unlock(&g_bdev_mgr.lock);
	return 0;
}

int brisk_bdev_alias_del(struct brisk_bdev *bdev, const char *alias)
{
	struct bdev_alias *a;

	pthread_mutex_lock(&g_bdev_mgr.lock);
	TAILQ_FOREACH(a, &bdev->internal->aliases, link) {
		if (strcmp(a->name, alias) == 0) {
			TAILQ_REMOVE(&bdev->internal->aliases, a, link);
			pthread_mutex_unlock(&g_bdev_mgr.lock);
			free(a->name);
			free(a);
			return 0;
		}
	}
	pthread_mutex_unlock(&g_bdev_mgr.lock);
	BRISK_ERRLOG("bdev %s has no alias '%s'\n", bdev->name, alias);
	return -ENOENT;
}

/* ------------------------------------------------------------------------ */
/* Registration */

static bool is_pow2(uint64_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

bool brisk_bdev_physical_block_size_valid(uint32_t blocklen, uint32_t phys_blocklen)
{
	if (phys_blocklen == 0) {
		return true;
	}
	return blocklen != 0 && phys_blocklen % blocklen == 0 && is_pow2(phys_blocklen / blocklen);
}

static int bdev_check_fields(const struct brisk_bdev *bdev)
{
	if (bdev->name == NULL || bdev->name[0] == '\0') {
		BRISK_ERRLOG("bdev name is missing\n");
		return -EINVAL;
	}
	if (brisk_str_has_control_chars(bdev->name)) {
		BRISK_ERRLOG("bdev name '%s' contains control characters\n", bdev->name);
		return -EINVAL;
	}
	if (bdev->module == NULL) {
		BRISK_ERRLOG("bdev %s: module is missing\n", bdev->name);
		return -EINVAL;
	}
	if (bdev->fn_table == NULL || bdev->fn_table->submit_request == NULL ||
	    bdev->fn_table->io_type_supported == NULL || bdev->fn_table->get_io_channel == NULL ||
	    bdev->fn_table->destruct == NULL) {
		BRISK_ERRLOG("bdev %s: fn_table lacks destruct/submit_request/io_type_supported/get_io_channel\n",
			     bdev->name);
		return -EINVAL;
	}
	if (bdev->blocklen == 0 || bdev->blocklen % 512 != 0) {
		BRISK_ERRLOG("bdev %s: block size %u is not a multiple of 512\n", bdev->name, bdev->blocklen);
		return -EINVAL;
	}
	if (!brisk_bdev_physical_block_size_valid(bdev->blocklen, bdev->phys_blocklen)) {
		BRISK_ERRLOG("bdev %s: physical block size %u is not a power-of-two multiple of the block size %u\n",
			     bdev->name, bdev->phys_blocklen, bdev->blocklen);
		return -EINVAL;
	}
	if (bdev->blockcnt == 0) {
		BRISK_ERRLOG("bdev %s: block count must be > 0\n", bdev->name);
		return -EINVAL;
	}
	if (bdev->blockcnt > UINT64_MAX / bdev->blocklen) {
		BRISK_ERRLOG("bdev %s: %lu blocks of %u bytes do not fit in a 64-bit byte size\n", bdev->name,
			     (unsigned long)bdev->blockcnt, bdev->blocklen);
		return -EINVAL;
	}
	if (bdev->required_alignment > 1 &&
	    (!is_pow2(bdev->required_alignment) || bdev->required_alignment > 4096)) {
		BRISK_ERRLOG("bdev %s: required_alignment %u must be a power of two up to 4096\n",
			     bdev->name, bdev->required_alignment);
		return -EINVAL;
	}
	return 0;
}

int brisk_bdev_register(struct brisk_bdev *bdev)
{
	struct brisk_bdev *other;
	struct bdev_state *st;
	int rc;

	if (bdev == NULL) {
		return -EINVAL;
	}
	rc = bdev_check_fields(bdev);
	if (rc != 0) {
		return rc;
	}
	if (!g_bdev_mgr.initialized) {
		BRISK_ERRLOG("bdev %s: the bdev layer is not initialised\n", bdev->name);
		return -EINVAL;
	}
	if (brisk_get_thread() == NULL) {
		BRISK_ERRLOG("bdev %s: must be registered from a brisk_thread\n", bdev->name);
		return -EINVAL;
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		return -ENOMEM;
	}
	TAILQ_INIT(&st->aliases);
	TAILQ_INIT(&st->descs);
	TAILQ_INIT(&st->queued_resets);
	brisk_bdev_io_stat_clear(&st->stat);
	if (brisk_uuid_is_null(&bdev->uuid)) {
		brisk_uuid_generate(&bdev->uuid);
	}

	pthread_mutex_lock(&g_bdev_mgr.lock);
	TAILQ_FOREACH(other, &g_bdev_mgr.bdevs, link) {
		char uuid[BRISK_UUID_STRING_LEN];

		if (bdev_has_name(other, bdev->name)) {
			pthread_mutex_unlock(&g_bdev_mgr.lock);
			BRISK_ERRLOG("bdev name '%s' already exists\n", bdev->name);
			free(st);
			return -EEXIST;
		}
		if (brisk_uuid_compare(&other->uuid, &bdev->uuid) == 0) {
			pthread_mutex_unlock(&g_bdev_mgr.lock);
			brisk_uuid_fmt_lower(uuid, sizeof(uuid), &bdev->uuid);
			BRISK_ERRLOG("bdev %s: UUID %s already used by bdev %s\n", bdev->name, uuid, other->name);
			free(st);
			return -EEXIST;
		}
	}
	bdev->internal = st;
	st->status = BDEV_STATUS_READY;
	TAILQ_INSERT_TAIL(&g_bdev_mgr.bdevs, bdev, link);
	pthread_mutex_unlock(&g_bdev_mgr.lock);

	brisk_io_device_register(bdev_to_io_device(bdev), bdev_io_channel_create,
				 bdev_io_channel_destroy, sizeof(struct bdev_channel), bdev->name);
	BRISK_DEBUGLOG(bdev, "registered bdev %s\n", bdev->name);
	if (bdev_examine_allowed(bdev->name)) {
		bdev_start_examine(bdev);
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Unregistration: REMOVE to every descriptor; once the last one is closed,
 * drop the QoS channel, unregister the io_device (waits for channels), call
 * the module's destruct, then the caller's callback. */

static void bdev_unregister_finish(struct brisk_bdev *bdev);

struct unregister_done {
	brisk_bdev_unregister_cb cb;
	void *cb_arg;
	int rc;
};

static void unregister_done_msg(void *ctx)
{
	struct unregister_done *d = ctx;

	d->cb(d->cb_arg, d->rc);
	free(d);
}

static void bdev_state_free(struct bdev_state *st)
{
	struct bdev_alias *a;

	while ((a = TAILQ_FIRST(&st->aliases)) != NULL) {
		TAILQ_REMOVE(&st->aliases, a, link);
		free(a->name);
		free(a);
	}
	free(st);
}

/* Runs without touching the bdev: the module may have freed it. */
static void bdev_destruct_finish(struct bdev_state *st, int rc)
{
	struct unregister_done *d;

	if (st->unregister_cb != NULL) {
		d = calloc(1, sizeof(*d));
		if (d == NULL) {
			st->unregister_cb(st->unregister_ctx, rc);
		} else {
			d->cb = st->unregister_cb;
			d->cb_arg = st->unregister_ctx;
			d->rc = rc;
			if (brisk_thread_send_msg(st->unregister_thread, unregister_done_msg, d) != 0) {
				unregister_done_msg(d);
			}
		}
	}
	bdev_state_free(st);
}

void brisk_bdev_destruct_done(struct brisk_bdev *bdev, int bdeverrno)
{
	bdev_destruct_finish(bdev->internal, bdeverrno);
}

void bdev_destruct(struct brisk_bdev *bdev)
{
	struct bdev_state *st = bdev->internal;
	int rc;

	BRISK_DEBUGLOG(bdev, "destructing bdev %s\n", bdev->name);
	rc = bdev->fn_table->destruct(bdev->ctxt);
	if (rc > 0) {
		return; /* the module calls brisk_bdev_destruct_done */
	}
	bdev_destruct_finish(st, rc);
}

static void bdev_io_device_gone(void *io_device)
{
	struct brisk_bdev *bdev = (struct brisk_bdev *)((char *)io_device - 1);
	struct bdev_state *st = bdev->internal;
	bool wait_examine;

	/* An examine message still on its way holds the bdev: it destructs it. */
	pthread_mutex_lock(&g_bdev_mgr.lock);
	wait_examine = st->examine_msg_pending;
	st->destruct_deferred = wait_examine;
	pthread_mutex_unlock(&g_bdev_mgr.lock);
	if (!wait_examine) {
		bdev_destruct(bdev);
	}
}

static void bdev_after_qos_destroy(struct brisk_bdev *bdev)
{
	brisk_io_device_unregister(bdev_to_io_device(bdev), bdev_io_device_gone);
}

static void bdev_unregister_finish(struct brisk_bdev *bdev)
{
	bdev_qos_destroy(bdev, bdev_after_qos_destroy);
}

static void desc_event_msg(void *ctx);

struct desc_event {
	struct brisk_bdev_desc *desc;
	enum brisk_bdev_event_type type;
};

/* Caller holds the lock. */
static void desc_send_event_locked(struct brisk_bdev_desc *desc, enum brisk_bdev_event_type type)
{
	struct desc_event *ev = calloc(1, sizeof(*ev));

	if (ev == NULL) {
		BRISK_ERRLOG("no memory to notify a descriptor of bdev %s\n", desc->bdev->name);
		return;
	}
	ev->desc = desc;
	ev->type = type;
	desc->pending_events++;
	if (brisk_thread_send_msg(desc->thread, desc_event_msg, ev) != 0) {
		desc->pending_events--;
		free(ev);
		BRISK_ERRLOG("could not notify a descriptor of bdev %s\n", desc->bdev->name);
	}
}

static void desc_event_msg(void *ctx)
{
	struct desc_event *ev = ctx;
	struct brisk_bdev_desc *desc = ev->desc;
	bool closed;

	pthread_mutex_lock(&g_bdev_mgr.lock);
	desc->pending_events--;
	closed = desc->closed;
	if (closed && desc->pending_events == 0) {
		free(desc);
	}
	pthread_mutex_unlock(&g_bdev_mgr.lock);
	if (!closed) {
		desc->event_cb(ev->type, desc->bdev, desc->event_ctx);
	}
	free(ev);
}

void brisk_bdev_unregister(struct brisk_bdev *bdev, brisk_bdev_unregister_cb cb, void *cb_arg)
{
	struct bdev_state *st;
	struct brisk_bdev_desc *desc;
	bool no_descs;

	if (bdev == NULL || bdev->internal == NULL) {
		if (cb != NULL) {
			cb(cb_arg, -EINVAL);
		}
		return;
	}
	st = bdev->internal;
	pthread_mutex_lock(&g_bdev_mgr.lock);
	if (st->status == BDEV_STATUS_UNREGISTERING) {
		pthread_mutex_unlock(&g_bdev_mgr.lock);
		BRISK_ERRLOG("bdev %s is already being removed\n", bdev->name);
		if (cb != NULL) {
			cb(cb_arg, -EBUSY);
		}
		return;
	}
	st->status = BDEV_STATUS_UNREGISTERING;
	st->unregister_cb = cb;
	st->unregister_ctx = cb_arg;
	st->unregister_thread = brisk_get_thread();
	TAILQ_REMOVE(&g_bdev_mgr.bdevs, bdev, link);
	TAILQ_FOREACH(desc, &st->descs, link) {
		desc_send_event_locked(desc, BRISK_BDEV_EVENT_REMOVE);
	}
	no_descs = TAILQ_EMPTY(&st->descs);
	pthread_mutex_unlock(&g_bdev_mgr.lock);
	BRISK_DEBUGLOG(bdev, "unregistering bdev %s\n", bdev->name);
	if (no_descs) {
		bdev_unregister_finish(bdev);
	}
}

int brisk_bdev_unregister_by_name(const char *bdev_name, struct brisk_bdev_module *module,
				  brisk_bdev_unregister_cb cb, void *cb_arg)
{
	struct brisk_bdev *bdev = brisk_bdev_get_by_name(bdev_name);

	if (bdev == NULL || strcmp(bdev->name, bdev_name) != 0) {
		BRISK_ERRLOG("bdev '%s' does not exist\n", bdev_name ? bdev_name : "(null)");
		return -ENODEV;
	}
	if (bdev->module != module) {
		BRISK_ERRLOG("bdev %s belongs to module %s, not %s\n", bdev_name, bdev->module->name,
			     module->name);
		return -ENODEV;
	}
	brisk_bdev_unregister(bdev, cb, cb_arg);
	return 0;
}

int brisk_bdev_notify_blockcnt_change(struct brisk_bdev *bdev, uint64_t size)
{
	struct brisk_bdev_desc *desc;

	if (size == 0) {
		BRISK_ERRLOG("bdev %s: new block count must be > 0\n", bdev->name);
		return -EINVAL;
	}
	pthread_mutex_lock(&g_bdev_mgr.lock);
	if (size < bdev->blockcnt && !TAILQ_EMPTY(&bdev->internal->descs)) {
		pthread_mutex_unlock(&g_bdev_mgr.lock);
		BRISK_ERRLOG("bdev %s is open: it cannot shrink\n", bdev->name);
		return -EBUSY;
	}
	bdev->blockcnt = size;
	TAILQ_FOREACH(desc, &bdev->internal->descs, link) {
		desc_send_event_locked(desc, BRISK_BDEV_EVENT_RESIZE);
	}
	pthread_mutex_unlock(&g_bdev_mgr.lock);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Descriptors and claims */

int brisk_bdev_open_ext(const char *bdev_name, bool write, brisk_bdev_event_cb_t event_cb,
			void *event_ctx, struct brisk_bdev_desc **_desc)
{
	struct brisk_bdev_desc *desc;
	struct brisk_bdev *bdev;

	if (_desc == NULL) {
		return -EINVAL;
	}
	*_desc = NULL;
	if (bdev_name == NULL || event_cb == NULL) {
		BRISK_ERRLOG("open: bdev name and event_cb are required\n");
		return -EINVAL;
	}
	if (brisk_get_thread() == NULL) {
		BRISK_ERRLOG("open of %s: not called from a brisk_thread\n", bdev_name);
		return -EINVAL;
	}
	desc = calloc(1, sizeof(*desc));
	if (desc == NULL) {
		return -ENOMEM;
	}
	pthread_mutex_lock(&g_bdev_mgr.lock);
	bdev = bdev_find_locked(bdev_name);
	if (bdev == NULL || bdev->internal->status != BDEV_STATUS_READY) {
		pthread_mutex_unlock(&g_bdev_mgr.lock);
		BRISK_ERRLOG("bdev %s does not exist\n", bdev_name);
		free(desc);
		return -ENODEV;
	}
	if (write && bdev->internal->claim_module != NULL) {
		pthread_mutex_unlock(&g_bdev_mgr.lock);
		BRISK_ERRLOG("bdev %s is claimed by module %s: it cannot be opened for writing\n",
			     bdev->name, bdev->internal->claim_module->name);
		free(desc);
		return -EPERM;
	}
	desc->bdev = bdev;
	desc->thread = brisk_get_thread();
	desc->event_cb = event_cb;
	desc->event_ctx = event_ctx;
	desc->write = write;
	TAILQ_INSERT_TAIL(&bdev->internal->descs, desc, link);
	pthread_mutex_unlock(&g_bdev_mgr.lock);
	*_desc = desc;
	return 0;
}

void brisk_bdev_close(struct brisk_bdev_desc *desc)
{
	struct brisk_bdev *bdev;
	bool finish;

	if (desc == NULL) {
		return;
	}
	bdev = desc->bdev;
	if (desc->thread != brisk_get_thread()) {
		BRISK_ERRLOG("descriptor of bdev %s closed on another thread than it was opened on\n",
			     bdev->name);
	}
	pthread_mutex_lock(&g_bdev_mgr.lock);
	TAILQ_REMOVE(&bdev->internal->descs, desc, link);
	desc->closed = true;
	finish = bdev->internal->status == BDEV_STATUS_UNREGISTERING &&
		 TAILQ_EMPTY(&bdev->internal->descs);
	if (desc->pending_events == 0) {
		free(desc);
	}
	pthread_mutex_unlock(&g_bdev_mgr.lock);
	if (finish) {
		bdev_unregister_finish(bdev);
	}
}

struct brisk_bdev *brisk_bdev_desc_get_bdev(struct brisk_bdev_desc *desc)
{
	return desc->bdev;
}

struct brisk_io_channel *brisk_bdev_get_io_channel(struct brisk_bdev_desc *desc)
{
	return brisk_get_io_channel(bdev_to_io_device(desc->bdev));
}

int brisk_bdev_module_claim_bdev(struct brisk_bdev *bdev, struct brisk_bdev_desc *desc,
				 struct brisk_bdev_module *module)
{
	if (bdev == NULL || module == NULL) {
		return -EINVAL;
	}
	pthread_mutex_lock(&g_bdev_mgr.lock);
	if (bdev->internal->claim_module != NULL) {
		pthread_mutex_unlock(&g_bdev_mgr.lock);
		BRISK_ERRLOG("bdev %s already claimed (exclusive write) by module %s; module %s cannot claim it\n",
			     bdev->name, bdev->internal->claim_module->name, module->name);
		return -EPERM;
	}
	if (desc != NULL) {
		desc->write = true;
	}
	bdev->internal->claim_module = module;
	pthread_mutex_unlock(&g_bdev_mgr.lock);
	return 0;
}

void brisk_bdev_module_release_bdev(struct brisk_bdev *bdev)
{
	pthread_mutex_lock(&g_bdev_mgr.lock);
	bdev->internal->claim_module = NULL;
	pthread_mutex_unlock(&g_bdev_mgr.lock);
}

