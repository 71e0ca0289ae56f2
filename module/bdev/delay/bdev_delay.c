/*
 * Delay bdevs: claim a base bdev and forward its I/O, but hold each read or
 * write completion until its latency has passed: the avg figure for most
 * I/O and the p99 figure for about one in a hundred. Held completions sit on
 * a per-channel list drained by a timed poller that is paused while the list
 * is empty, so an idle delay bdev costs nothing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/bdev_module.h>
#include <brisk/log.h>
#include <brisk/thread.h>
#include <brisk/ticks.h>

#include "bdev_delay.h"

#define DELAY_POLL_PERIOD_US 10

struct delay_disk {
	struct brisk_bdev bdev;
	struct brisk_bdev_desc *base_desc;
	/* µs, set by update_latency on the RPC thread and read by I/O threads:
	 * each is a single aligned word, relaxed (no other data depends on it). */
	uint64_t latency_us[DELAY_NUM_LATENCY_TYPES];
	TAILQ_ENTRY(delay_disk) link;
};

struct delay_io {
	struct brisk_bdev_io_wait_entry wait;
	struct brisk_io_channel *ch;
	uint64_t due_tick;
	int status;
	int io_errno;       /* the base's errno when status is AIO_ERROR */
	TAILQ_ENTRY(delay_io) link;
};

TAILQ_HEAD(delay_io_list, delay_io);

/* Completes with what the base I/O completed with, errno included. */
static void delay_io_complete(struct delay_io *dio)
{
	struct brisk_bdev_io *io = brisk_bdev_io_from_ctx(dio);

	if (dio->status == BRISK_BDEV_IO_STATUS_AIO_ERROR) {
		brisk_bdev_io_complete_aio_status(io, dio->io_errno);
		return;
	}
	brisk_bdev_io_complete(io, dio->status);
}

struct delay_channel {
	struct brisk_io_channel *base_ch;
	struct delay_io_list held; /* sorted by due_tick */
	struct brisk_poller *poller;
	bool poller_running;
	unsigned int seed;
};

static TAILQ_HEAD(, delay_disk) g_delay_disks = TAILQ_HEAD_INITIALIZER(g_delay_disks);

/* Set when the bdev layer starts to finish (shutdown): from then on nothing
 * is held. Written once on the app thread, read by I/O threads: relaxed (a
 * completion held just before it shows is released by the flush below). */
static bool g_delay_finishing;

static int delay_get_ctx_size(void);
static void delay_fini_start(void);

static struct brisk_bdev_module g_delay_if = {
	.name = "delay",
	.get_ctx_size = delay_get_ctx_size,
	.fini_start = delay_fini_start,
};
BRISK_BDEV_MODULE_REGISTER(delay, &g_delay_if)

static int delay_get_ctx_size(void)
{
	return sizeof(struct delay_io);
}

/* ---- Holding completions ---- */

static int delay_poll(void *ctx)
{
	struct delay_channel *dch = ctx;
	uint64_t now = brisk_get_ticks();
	struct delay_io *dio;
	int n = 0;

	while ((dio = TAILQ_FIRST(&dch->held)) != NULL && dio->due_tick <= now) {
		TAILQ_REMOVE(&dch->held, dio, link);
		delay_io_complete(dio);
		n++;
	}
	if (TAILQ_EMPTY(&dch->held) && dch->poller_running) {
		brisk_poller_pause(dch->poller);
		dch->poller_running = false;
	}
	return n > 0 ? BRISK_POLLER_BUSY : BRISK_POLLER_IDLE;
}

static uint64_t delay_pick_us(struct delay_disk *dd, struct delay_channel *dch, bool read)
{
	enum bdev_delay_latency_type avg = read ? DELAY_AVG_READ : DELAY_AVG_WRITE;
	enum bdev_delay_latency_type p99 = read ? DELAY_P99_READ : DELAY_P99_WRITE;
	bool tail = rand_r(&dch->seed) % 100 == 0;

	return __atomic_load_n(&dd->latency_us[tail ? p99 : avg], __ATOMIC_RELAXED);
}

static void delay_hold(struct delay_channel *dch, struct delay_io *dio)
{
	struct delay_io *pos;

	/* Most I/O has the same latency, so the new one usually goes last. */
	TAILQ_FOREACH_REVERSE(pos, &dch->held, delay_io_list, link) {
		if (pos->due_tick <= dio->due_tick) {
			break;
		}
	}
	if (pos == NULL) {
		TAILQ_INSERT_HEAD(&dch->held, dio, link);
	} else {
		TAILQ_INSERT_AFTER(&dch->held, pos, dio, link);
	}
	if (!dch->poller_running) {
		brisk_poller_resume(dch->poller);
		dch->poller_running = true;
	}
}

/* ---- I/O ---- */

static void delay_submit_request(struct brisk_io_channel *ch, struct brisk_bdev_io *io);

static void delay_base_done(struct brisk_bdev_io *base_io, bool success, void *arg)
{
	struct brisk_bdev_io *io = arg;
	struct delay_io *dio = (struct delay_io *)io->driver_ctx;
	int status = brisk_bdev_io_get_status(base_io);

	dio->io_errno = brisk_bdev_io_get_errno(base_io);
	brisk_bdev_free_io(base_io);
	dio->status = success ? BRISK_BDEV_IO_STATUS_SUCCESS : (status < 0 ? status : BRISK_BDEV_IO_STATUS_FAILED);
	if (dio->due_tick == 0 || dio->due_tick <= brisk_get_ticks() ||
	    __atomic_load_n(&g_delay_finishing, __ATOMIC_RELAXED)) {
		delay_io_complete(dio);
		return;
	}
	delay_hold(brisk_io_channel_get_ctx(dio->ch), dio);
}

static void delay_retry(void *arg)
{
	struct brisk_bdev_io *io = arg;

	delay_submit_request(((struct delay_io *)io->driver_ctx)->ch, io);
}

static void delay_submit_request(struct brisk_io_channel *ch, struct brisk_bdev_io *io)
{
	struct delay_disk *dd = io->bdev->ctxt;
	struct delay_channel *dch = brisk_io_channel_get_ctx(ch);
	struct delay_io *dio = (struct delay_io *)io->driver_ctx;
	bool rw = io->type == BRISK_BDEV_IO_TYPE_READ || io->type == BRISK_BDEV_IO_TYPE_WRITE;
	int rc;

	dio->ch = ch;
	dio->due_tick = 0;
	if (rw) {
		uint64_t us = delay_pick_us(dd, dch, io->type == BRISK_BDEV_IO_TYPE_READ);

		dio->due_tick = brisk_get_ticks() + brisk_us_to_ticks(us, brisk_get_ticks_hz());
	}
	rc = brisk_bdev_forward_io(io, dd->base_desc, dch->base_ch, 0, delay_base_done);
	if (rc == -ENOMEM) {
		rc = brisk_bdev_forward_wait(io, &dio->wait, dd->base_desc, dch->base_ch, delay_retry);
	}
	if (rc != 0) {
		BRISK_ERRLOG("delay %s: forwarding failed: %s\n", dd->bdev.name, strerror(-rc));
		brisk_bdev_io_complete(io, BRISK_BDEV_IO_STATUS_FAILED);
	}
}

static bool delay_io_type_supported(void *ctx, enum brisk_bdev_io_type type)
{
	struct delay_disk *dd = ctx;

	if (type == BRISK_BDEV_IO_TYPE_ZCOPY) {
		return false; /* its submit does not forward lent buffers */
	}
	return brisk_bdev_io_type_supported(brisk_bdev_desc_get_bdev(dd->base_desc), type);
}

static int delay_channel_create(void *io_device, void *ctx_buf)
{
	struct delay_disk *dd = io_device;
	struct delay_channel *dch = ctx_buf;

	TAILQ_INIT(&dch->held);
	dch->seed = (unsigned int)brisk_get_ticks();
	dch->base_ch = brisk_bdev_get_io_channel(dd->base_desc);
	if (dch->base_ch == NULL) {
		return -ENOMEM;
	}
	dch->poller = brisk_poller_register_named(delay_poll, dch, DELAY_POLL_PERIOD_US, "bdev_delay");
	if (dch->poller == NULL) {
		brisk_put_io_channel(dch->base_ch);
		return -ENOMEM;
	}
	brisk_poller_pause(dch->poller);
	dch->poller_running = false;
	return 0;
}

static void delay_channel_destroy(void *io_device, void *ctx_buf)
{
	struct delay_channel *dch = ctx_buf;

	brisk_poller_unregister(&dch->poller);
	brisk_put_io_channel(dch->base_ch);
}

static struct brisk_io_channel *delay_get_io_channel(void *ctx)
{
	return brisk_get_io_channel(ctx);
}

static int delay_dump_info_json(void *ctx, json_t *driver_specific)
{
	struct delay_disk *dd = ctx;

	json_object_set_new(driver_specific, "delay", json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}",
			    "name", dd->bdev.name,
			    "base_bdev_name", brisk_bdev_get_name(brisk_bdev_desc_get_bdev(dd->base_desc)),
			    "avg_read_latency", (json_int_t)dd->latency_us[DELAY_AVG_READ],
			    "p99_read_latency", (json_int_t)dd->latency_us[DELAY_P99_READ],
			    "avg_write_latency", (json_int_t)dd->latency_us[DELAY_AVG_WRITE],
			    "p99_write_latency", (json_int_t)dd->latency_us[DELAY_P99_WRITE]));
	return 0;
}

static void delay_write_config_json(struct brisk_bdev *bdev, json_t *array)
{
	struct delay_disk *dd = bdev->ctxt;
	char u[BRISK_UUID_STRING_LEN];

	brisk_uuid_fmt_lower(u, sizeof(u), &bdev->uuid);
	json_array_append_new(array, json_pack("{s:s, s:{s:s, s:s, s:s, s:I, s:I, s:I, s:I}}",
			      "method", "bdev_delay_create", "params",
			      "base_bdev_name", brisk_bdev_get_name(brisk_bdev_desc_get_bdev(dd->base_desc)),
			      "name", bdev->name, "uuid", u,
			      "avg_read_latency", (json_int_t)dd->latency_us[DELAY_AVG_READ],
			      "p99_read_latency", (json_int_t)dd->latency_us[DELAY_P99_READ],
			      "avg_write_latency", (json_int_t)dd->latency_us[DELAY_AVG_WRITE],
			      "p99_write_latency", (json_int_t)dd->latency_us[DELAY_P99_WRITE]));
}

/* ---- Shutdown: complete every held I/O now rather than at its due time ---- */

static void delay_flush_channel(struct brisk_io_channel_iter *i)
{
	struct delay_channel *dch = brisk_io_channel_get_ctx(brisk_io_channel_iter_get_channel(i));
	struct delay_io *dio;

	while ((dio = TAILQ_FIRST(&dch->held)) != NULL) {
		TAILQ_REMOVE(&dch->held, dio, link);
		delay_io_complete(dio);
	}
	brisk_for_each_channel_continue(i, 0);
}

static void delay_flushed(struct brisk_io_channel_iter *i, int status)
{
}

static void delay_fini_start(void)
{
	struct delay_disk *dd;

	__atomic_store_n(&g_delay_finishing, true, __ATOMIC_RELAXED);
	TAILQ_FOREACH(dd, &g_delay_disks, link) {
		brisk_for_each_channel(dd, delay_flush_channel, NULL, delay_flushed);
	}
}

/* ---- Teardown: channels gone -> release the base -> destruct done ---- */

static void delay_base_closed(void *arg)
{
	struct delay_disk *dd = arg;

	brisk_bdev_destruct_done(&dd->bdev, 0);
	free(dd->bdev.name);
	free(dd);
}

static void delay_io_device_gone(void *io_device)
{
	struct delay_disk *dd = io_device;

	brisk_bdev_module_close_base(dd->base_desc, delay_base_closed, dd);
}

static int delay_destruct(void *ctx)
{
	struct delay_disk *dd = ctx;

	TAILQ_REMOVE(&g_delay_disks, dd, link);
	brisk_io_device_unregister(dd, delay_io_device_gone);
	return 1;
}

static const struct brisk_bdev_fn_table g_delay_fn_table = {
	.destruct = delay_destruct,
	.submit_request = delay_submit_request,
	.io_type_supported = delay_io_type_supported,
	.get_io_channel = delay_get_io_channel,
	.dump_info_json = delay_dump_info_json,
	.write_config_json = delay_write_config_json,
};

static void delay_base_event(enum brisk_bdev_event_type type, struct brisk_bdev *base, void *ctx)
{
	struct delay_disk *dd = ctx;

	if (type == BRISK_BDEV_EVENT_REMOVE) {
		brisk_bdev_unregister(&dd->bdev, NULL, NULL);
	} else if (type == BRISK_BDEV_EVENT_RESIZE) {
		brisk_bdev_notify_blockcnt_change(&dd->bdev, brisk_bdev_get_num_blocks(base));
	}
}

static bool delay_latency_too_long(const char *field, uint64_t latency_us)
{
	if (latency_us <= BDEV_DELAY_MAX_LATENCY_US) {
		return false;
	}
	BRISK_ERRLOG("delay: %s %" PRIu64 " us is above the limit of %llu us (one minute)\n", field, latency_us,
		     BDEV_DELAY_MAX_LATENCY_US);
	return true;
}

int bdev_delay_create(const struct bdev_delay_opts *opts)
{
	struct delay_disk *dd;
	struct brisk_bdev *base;
	int rc;

	if (opts == NULL || opts->base_bdev_name == NULL || opts->base_bdev_name[0] == '\0') {
		BRISK_ERRLOG("delay: base_bdev_name is missing\n");
		return -EINVAL;
	}
	if (opts->name == NULL || opts->name[0] == '\0') {
		BRISK_ERRLOG("delay: name is missing\n");
		return -EINVAL;
	}
	if (delay_latency_too_long("avg_read_latency", opts->avg_read_latency) ||
	    delay_latency_too_long("p99_read_latency", opts->p99_read_latency) ||
	    delay_latency_too_long("avg_write_latency", opts->avg_write_latency) ||
	    delay_latency_too_long("p99_write_latency", opts->p99_write_latency)) {
		return -EINVAL;
	}
	if (opts->p99_read_latency < opts->avg_read_latency) {
		BRISK_ERRLOG("delay: p99_read_latency %" PRIu64 " is below avg_read_latency %" PRIu64 "\n",
			     opts->p99_read_latency, opts->avg_read_latency);
		return -EINVAL;
	}
	if (opts->p99_write_latency < opts->avg_write_latency) {
		BRISK_ERRLOG("delay: p99_write_latency %" PRIu64 " is below avg_write_latency %" PRIu64 "\n",
			     opts->p99_write_latency, opts->avg_write_latency);
		return -EINVAL;
	}
	if (brisk_bdev_get_by_name(opts->name) != NULL) {
		BRISK_ERRLOG("delay: bdev name '%s' already exists\n", opts->name);
		return -EEXIST;
	}
	dd = calloc(1, sizeof(*dd));
	if (dd == NULL || (dd->bdev.name = strdup(opts->name)) == NULL) {
		free(dd);
		return -ENOMEM;
	}
	dd->latency_us[DELAY_AVG_READ] = opts->avg_read_latency;
	dd->latency_us[DELAY_P99_READ] = opts->p99_read_latency;
	dd->latency_us[DELAY_AVG_WRITE] = opts->avg_write_latency;
	dd->latency_us[DELAY_P99_WRITE] = opts->p99_write_latency;
	rc = brisk_bdev_open_ext(opts->base_bdev_name, true, delay_base_event, dd, &dd->base_desc);
	if (rc != 0) {
		BRISK_ERRLOG("delay: cannot open base_bdev_name '%s': %s\n", opts->base_bdev_name, strerror(-rc));
		goto free;
	}
	base = brisk_bdev_desc_get_bdev(dd->base_desc);
	rc = brisk_bdev_module_claim_bdev(base, dd->base_desc, &g_delay_if);
	if (rc != 0) {
		BRISK_ERRLOG("delay: base_bdev_name '%s' is already claimed by module %s\n", opts->base_bdev_name,
			     brisk_bdev_get_claim_module_name(base) ?: "?");
		goto close;
	}
	dd->bdev.product_name = "delay";
	dd->bdev.uuid = opts->uuid;
	dd->bdev.blocklen = base->blocklen;
	dd->bdev.blockcnt = base->blockcnt;
	dd->bdev.write_cache = base->write_cache;
	dd->bdev.max_transfer_size = base->max_transfer_size;
	dd->bdev.required_alignment = base->required_alignment;
	dd->bdev.ctxt = dd;
	dd->bdev.fn_table = &g_delay_fn_table;
	dd->bdev.module = &g_delay_if;
	brisk_io_device_register(dd, delay_channel_create, delay_channel_destroy, sizeof(struct delay_channel),
				 opts->name);
	rc = brisk_bdev_register(&dd->bdev);
	if (rc != 0) {
		brisk_io_device_unregister(dd, NULL);
		brisk_bdev_module_release_bdev(base);
		goto close;
	}
	TAILQ_INSERT_TAIL(&g_delay_disks, dd, link);
	return 0;
close:
	brisk_bdev_close(dd->base_desc);
free:
	free(dd->bdev.name);
	free(dd);
	return rc;
}

int bdev_delay_delete(const char *name, brisk_bdev_unregister_cb cb, void *cb_arg)
{
	if (name == NULL) {
		BRISK_ERRLOG("delay: name is missing\n");
		return -EINVAL;
	}
	return brisk_bdev_unregister_by_name(name, &g_delay_if, cb, cb_arg);
}

int bdev_delay_update_latency(const char *name, const char *latency_type, uint64_t latency_us)
{
	static const char *const names[DELAY_NUM_LATENCY_TYPES] = {
		"avg_read", "p99_read", "avg_write", "p99_write",
	};
	struct brisk_bdev *bdev = name ? brisk_bdev_get_by_name(name) : NULL;
	struct delay_disk *dd;
	uint64_t lat[DELAY_NUM_LATENCY_TYPES];
	int t;

	if (bdev == NULL || bdev->module != &g_delay_if) {
		BRISK_ERRLOG("delay: delay_bdev_name '%s' is not a delay bdev\n", name ? name : "(null)");
		return -ENODEV;
	}
	for (t = 0; t < DELAY_NUM_LATENCY_TYPES; t++) {
		if (latency_type != NULL && strcmp(latency_type, names[t]) == 0) {
			break;
		}
	}
	if (t == DELAY_NUM_LATENCY_TYPES) {
		BRISK_ERRLOG("delay: latency_type '%s' is not one of avg_read, p99_read, avg_write, p99_write\n",
			     latency_type ? latency_type : "(null)");
		return -EINVAL;
	}
	if (delay_latency_too_long(names[t], latency_us)) {
		return -EINVAL;
	}
	dd = bdev->ctxt;
	memcpy(lat, dd->latency_us, sizeof(lat));
	lat[t] = latency_us;
	if (lat[DELAY_P99_READ] < lat[DELAY_AVG_READ] || lat[DELAY_P99_WRITE] < lat[DELAY_AVG_WRITE]) {
		BRISK_ERRLOG("delay: latency_us %" PRIu64 " for %s would put a p99 latency below its average\n",
			     latency_us, names[t]);
		return -EINVAL;
	}
	__atomic_store_n(&dd->latency_us[t], latency_us, __ATOMIC_RELAXED);
	return 0;
}
