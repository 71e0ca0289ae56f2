/*
 * The NVMe bdev module (module/bdev/nvme), shared between its files:
 *   bdev_nvme_ctrlr.c  controllers by name: attach, detach, failure and removal, admin poller
 *   bdev_nvme_reset.c  controller reset with every channel paused, timeouts
 *   bdev_nvme_reconnect.c  reconnecting a lost fabrics controller (its policy)
 *   bdev_nvme_ns.c     one bdev per active namespace (Nvme0n1), JSON of each bdev
 *   bdev_nvme_io.c     per-thread channels (one I/O qpair per controller) and the I/O path
 *   bdev_nvme_opts.c   bdev_nvme_set_options values, hotplug poller, module config_json
 *   bdev_nvme_rpc.c    the RPC methods (SPDK's names and parameters)
 *   bdev_nvme_discovery.c  the discovery service (bdev_nvme_start_discovery)
 *   bdev_nvme_discovery_rpc.c  its RPC methods
 *   bdev_nvme_multipath.c  more paths (controllers) to one bdev, ANA states, path choice
 *
 * Threading: a controller belongs to the thread that attached it (its admin
 * queue is polled there by a timed poller; resets, admin passthrough, aborts
 * and detach run there). Each thread that does I/O gets a channel of the
 * controller's io_device holding its own I/O qpair, polled by an active
 * poller that is paused while nothing is in flight so an idle reactor can
 * sleep.
 */
#ifndef BDEV_NVME_INTERNAL_H
#define BDEV_NVME_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <brisk/bdev_module.h>
#include <brisk/nvme.h>
#include <brisk/thread.h>

#define NVME_CTRLR_NAME_MAX 64
/* Ranges one DSM range may cover (its length field is 32 bits). */
#define NVME_DSM_RANGE_MAX_BLOCKS UINT32_MAX
/* Write Zeroes takes a 16-bit 0's based block count. */
#define NVME_WRITE_ZEROES_MAX_BLOCKS 65536u
/* Dataset Management buffers per channel (one per unmap in flight). */
#define NVME_CH_DSM_BUFS 8

enum bdev_nvme_timeout_action {
	BDEV_NVME_TIMEOUT_ACTION_NONE = 0,
	BDEV_NVME_TIMEOUT_ACTION_RESET,
	BDEV_NVME_TIMEOUT_ACTION_ABORT,
};

/* bdev_nvme_set_options: what the module applies. */
struct bdev_nvme_opts {
	enum bdev_nvme_timeout_action action_on_timeout;
	uint64_t timeout_us;
	uint64_t timeout_admin_us;
	uint32_t keep_alive_timeout_ms;
	uint64_t nvme_adminq_poll_period_us;
	uint64_t nvme_ioq_poll_period_us;
	uint32_t io_queue_requests; /* 0 = the driver's default */
	int32_t bdev_retry_count;   /* retries of a failed I/O the controller allows (-1 = no limit) */
};

struct nvme_ctrlr;

/* bdev_nvme_attach_controller's reconnect policy (SPDK's parameters): 0 s of
 * ctrlr_loss_timeout_sec = none (a lost controller is deleted at once), -1 =
 * try for ever; reconnect_delay_sec between attempts; fast_io_fail_timeout_sec
 * after which I/O fails instead of waiting (0 = waits until the loss timeout). */
struct bdev_nvme_reconnect_opts {
	int32_t ctrlr_loss_timeout_sec;
	uint32_t reconnect_delay_sec;
	uint32_t fast_io_fail_timeout_sec;
};

/* Controllers one bdev may reach its namespace through (multipath). */
#define NVME_MP_MAX_CTRLRS 4

/* One way to a namespace: a controller and the driver's namespace there.
 * Paths are added and removed on the controllers' thread; I/O threads read
 * them (a removed path is flagged and every channel told before it goes). */
struct nvme_path {
	struct nvme_ctrlr *nctrlr;
	struct brisk_nvme_ns *ns;
	uint8_t ana_state; /* enum brisk_nvme_ana_state; 0 = not reported (usable) */
	bool removed;
	TAILQ_ENTRY(nvme_path) link;
};

/* One bdev per active namespace. */
struct nvme_ns {
	struct brisk_bdev bdev;
	struct nvme_ctrlr *nctrlr;
	struct brisk_nvme_ns *ns;
	uint32_t nsid;
	TAILQ_HEAD(, nvme_path) paths; /* the first is nctrlr's */
	bool active_active; /* bdev_nvme_set_multipath_policy: round robin over optimized paths */
	TAILQ_ENTRY(nvme_ns) link;
};

typedef void (*bdev_nvme_done_cb)(void *cb_arg, int rc);

struct nvme_reset_waiter {
	bdev_nvme_done_cb cb;
	void *cb_arg;
	TAILQ_ENTRY(nvme_reset_waiter) link;
};

struct nvme_ctrlr {
	char name[NVME_CTRLR_NAME_MAX];
	struct brisk_nvme_ctrlr *ctrlr;
	struct brisk_nvme_transport_id trid;
	char hostnqn[BRISK_NVMF_NQN_MAX_LEN + 1];
	bool hdgst;
	bool ddgst;
	bool from_hotplug;             /* attached by the hotplug poller, not saved in the config */
	bool from_discovery; /* attached by a discovery service, not saved either */
	struct brisk_thread *thread;   /* attached on: admin queue, resets, detach */
	struct brisk_poller *admin_poller;
	TAILQ_HEAD(, nvme_ns) namespaces;
	/* State, on the controller's thread. */
	bool resetting;
	bool failed;                   /* I/O completes with errors; the bdevs are going */
	bool deleting;
	int reset_rc;
	uint32_t unregistering;        /* bdevs whose unregister has not called back */
	struct bdev_nvme_reconnect_opts reconnect;
	bool reconnecting;             /* channels paused, a reset tried every delay */
	bool io_fail;                  /* fast_io_fail_timeout_sec passed: I/O fails */
	uint64_t lost_at_us;
	struct brisk_poller *reconnect_poller;
	struct brisk_nvme_reset_ctx *attempt; /* a reconnect attempt in progress */
	struct brisk_poller *attempt_poller; /* polls it */
	TAILQ_HEAD(, nvme_reset_waiter) reset_waiters;
	bdev_nvme_done_cb delete_cb;
	void *delete_cb_arg;
	/* Multipath (bdev_nvme_multipath.c): a controller attached with
	 * multipath under a name already taken adds paths to the bdevs of the
	 * first (primary) one and has none of its own. */
	struct nvme_ctrlr *primary; /* NULL: this is a primary */
	uint32_t mp_slot; /* 1.. for a secondary: its place in the primary's channels */
	uint8_t *ana_log; /* DMA buffer of the ANA log page */
	uint32_t ana_log_size;
	bool ana_reading;
	TAILQ_ENTRY(nvme_ctrlr) link;
};

/* bdev_nvme_ctrlr.c */
struct bdev_nvme_attach_opts {
	const char *name;
	struct brisk_nvme_transport_id trid;
	const char *hostnqn;           /* NULL: the driver's */
	bool hdgst;
	bool ddgst;
	bool from_hotplug;
	bool from_discovery;
	uint32_t num_io_queues;        /* 0 = the driver's default */
	struct bdev_nvme_reconnect_opts reconnect;
	bool multipath; /* multipath "multipath" or "failover": a taken name adds a path */
};
/* Attaches (without blocking), then creates one bdev per active namespace;
 * cb(cb_arg, 0 or -errno, nctrlr) on the calling thread, never inside the call.
 * Returns 0, or -errno for bad input (named in the log), nothing started. */
typedef void (*bdev_nvme_attach_cb)(void *cb_arg, int rc, struct nvme_ctrlr *nctrlr);
int bdev_nvme_attach(const struct bdev_nvme_attach_opts *opts, bdev_nvme_attach_cb cb, void *cb_arg);
/* Unregisters the bdevs, waits for every channel, detaches the controller.
 * -ENODEV (no such name), -EBUSY (being deleted). */
int bdev_nvme_detach(const char *name, bdev_nvme_done_cb cb, void *cb_arg);
/* The controller failed or went away: everything completes with errors and
 * the controller is deleted. On any thread. */
void bdev_nvme_ctrlr_lost(struct nvme_ctrlr *nctrlr);
/* Takes a controller the driver attached elsewhere (hotplug): 0, or -errno
 * with the controller being detached. */
int bdev_nvme_ctrlr_adopt(const char *name, struct brisk_nvme_ctrlr *ctrlr, bool from_hotplug);
/* True while an attach of trid is in progress. */
bool bdev_nvme_attach_pending(const struct brisk_nvme_transport_id *trid);
/* A controller has the name, or an attach in progress asked for it. */
bool bdev_nvme_name_taken(const char *name);
/* Hands a controller a hotplug probe brought up to the attach of trid that
 * waits for that probe: true if one took it. */
bool bdev_nvme_attach_take(const struct brisk_nvme_transport_id *trid, struct brisk_nvme_ctrlr *ctrlr);
void bdev_nvme_ctrlr_delete(struct nvme_ctrlr *nctrlr, bdev_nvme_done_cb cb, void *cb_arg);
struct nvme_ctrlr *bdev_nvme_ctrlr_get(const char *name);
struct nvme_ctrlr *bdev_nvme_ctrlr_get_by_trid(const struct brisk_nvme_transport_id *trid);
struct nvme_ctrlr *bdev_nvme_ctrlr_get_by_driver(struct brisk_nvme_ctrlr *ctrlr);
struct nvme_ctrlr *bdev_nvme_ctrlr_first(void);
struct nvme_ctrlr *bdev_nvme_ctrlr_next(struct nvme_ctrlr *prev);
extern struct brisk_bdev_module g_nvme_if;

/* Fails the controller's I/O, unregisters its bdevs and deletes it (after a
 * failure or removal, or when reconnecting gave up). Controller's thread. */
void bdev_nvme_ctrlr_fail_and_delete(struct nvme_ctrlr *nctrlr);

/* bdev_nvme_reconnect.c */
/* 0, or -EINVAL with err naming the parameter (nothing else changes). */
int bdev_nvme_reconnect_opts_check(const struct bdev_nvme_reconnect_opts *o,
				   const struct brisk_nvme_transport_id *trid, char *err, size_t len);
/* The controller was lost: true if its policy reconnects (channels paused,
 * I/O held), false if it must be deleted. Controller's thread. */
bool bdev_nvme_reconnect_start(struct nvme_ctrlr *nctrlr);
/* A reconnect policy applies and has not failed the I/O yet: a command the
 * lost connection aborted waits for the reconnection. */
bool bdev_nvme_reconnect_holds_io(const struct nvme_ctrlr *nctrlr);
void bdev_nvme_reconnect_stop(struct nvme_ctrlr *nctrlr);

/* bdev_nvme_multipath.c */
/* The controller named like opts may take opts's controller as another
 * path (opts asked for multipath, same subsystem NQN, a free slot). */
struct nvme_ctrlr *bdev_nvme_mp_primary_for(const struct bdev_nvme_attach_opts *opts);
/* A new bdev: its first path is its own controller. 0 or -ENOMEM. */
int bdev_nvme_mp_ns_init(struct nvme_ns *ns);
/* A secondary slot (1..) of primary that no controller holds; 0 if none. */
uint32_t bdev_nvme_mp_free_slot(const struct nvme_ctrlr *primary);
void bdev_nvme_mp_ns_fini(struct nvme_ns *ns);
/* A secondary's namespaces become paths of the primary's bdevs (same NSID,
 * UUID and NGUID); 0, or -EINVAL when one does not match. */
int bdev_nvme_mp_add_paths(struct nvme_ctrlr *nctrlr);
/* ANA: reads the log now and on every ANA change notice. */
void bdev_nvme_mp_ctrlr_start(struct nvme_ctrlr *nctrlr);
/* A secondary going: its paths leave every channel, then cb(cb_arg). */
void bdev_nvme_mp_ctrlr_release(struct nvme_ctrlr *nctrlr, void (*cb)(void *), void *cb_arg);
void bdev_nvme_mp_ctrlr_free(struct nvme_ctrlr *nctrlr);
/* The path to send an I/O along: optimized first (active_passive: the
 * first such; active_active: round robin by *rr), then non-optimized;
 * never avoid's controller. NULL when none is usable. */
struct nvme_path *bdev_nvme_mp_pick(struct nvme_ns *ns, uint32_t *rr, const struct nvme_ctrlr *avoid);
bool bdev_nvme_mp_path_usable(const struct nvme_path *p);
/* No path of ns is usable: how long (µs from now) an I/O may wait for one,
 * the longest any path may take to come back (ANATT from Identify for ANA
 * inaccessible or change, what is left of ctrlr_loss_timeout_sec for a
 * reconnecting controller; UINT64_MAX = for ever); 0 = none will. */
uint64_t bdev_nvme_mp_wait_us(const struct nvme_ns *ns);
/* An ANA status (SCT 3h) from c: its path takes the state it tells of until
 * the ANA log is read again (no more commands sent along it meanwhile). */
void bdev_nvme_mp_path_error(struct nvme_ns *ns, const struct nvme_ctrlr *c, const struct brisk_nvme_cpl *cpl);

/* bdev_nvme_reset.c */
/* Pauses every channel, resets the controller, lets the channels go again;
 * I/O aborted by the reset is submitted again. cb(cb_arg, 0 or -errno) on the
 * calling thread. A reset asked during another joins it. */
void bdev_nvme_reset(struct nvme_ctrlr *nctrlr, bdev_nvme_done_cb cb, void *cb_arg);
void bdev_nvme_register_timeout(struct nvme_ctrlr *nctrlr);

/* bdev_nvme_ns.c */
/* Registers a bdev per active namespace; 0 or -errno (those registered stay,
 * the caller deletes the controller). */
int bdev_nvme_ns_create_all(struct nvme_ctrlr *nctrlr);
/* The bdev names as a JSON array. */
json_t *bdev_nvme_ctrlr_bdev_names(struct nvme_ctrlr *nctrlr);
/* {"trtype", "adrfam", "traddr", "trsvcid", "subnqn"} as SPDK writes a trid. */
json_t *bdev_nvme_trid_json(const struct brisk_nvme_transport_id *trid);

/* bdev_nvme_io.c */
int bdev_nvme_channel_create(void *io_device, void *ctx_buf);
void bdev_nvme_channel_destroy(void *io_device, void *ctx_buf);
size_t bdev_nvme_channel_size(void);
int bdev_nvme_io_ctx_size(void);
void bdev_nvme_submit_request(struct brisk_io_channel *ch, struct brisk_bdev_io *bdev_io);
bool bdev_nvme_io_type_supported(void *ctx, enum brisk_bdev_io_type type);
/* Reset support, on the channel's thread. */
void bdev_nvme_channel_pause(struct brisk_io_channel *ch);
void bdev_nvme_channel_resume(struct brisk_io_channel *ch);
/* I/O held by a paused channel completes with an error (fast_io_fail). */
void bdev_nvme_channel_fail_held(struct brisk_io_channel *ch);
/* A primary's channel lets go of its channel to secondary slot. */
void bdev_nvme_channel_drop_path(struct brisk_io_channel *ch, uint32_t slot);

/* bdev_nvme_opts.c */
extern struct bdev_nvme_opts g_bdev_nvme_opts;
void bdev_nvme_get_default_opts(struct bdev_nvme_opts *opts);
const char *bdev_nvme_timeout_action_str(enum bdev_nvme_timeout_action a);
int bdev_nvme_set_hotplug(bool enable, uint64_t period_us);
/* Whether hotplug may take the device trid names (bound to vfio-pci or
 * uio_pci_generic); a pointer so that unit tests without sysfs devices can
 * answer instead. */
extern bool (*g_bdev_nvme_hotplug_usable)(const struct brisk_nvme_transport_id *trid);
void bdev_nvme_hotplug_stop(void);
/* The hotplug probe in progress (each gets a new number), 0 when none. */
uint64_t bdev_nvme_hotplug_probe_id(void);
void bdev_nvme_config_json(json_t *array);
/* -EPERM once a controller exists (the options apply at attach). */
int bdev_nvme_set_opts(const struct bdev_nvme_opts *opts);

/* bdev_nvme_discovery.c: bdev_nvme_start_discovery's service. */
struct bdev_nvme_discovery_opts {
	const char *name; /* controllers are <name>_0, <name>_1 ... */
	struct brisk_nvme_transport_id trid; /* of the discovery controller */
	const char *hostnqn; /* NULL: the driver's */
	bool wait_for_attach; /* start answers once the first attaches ended */
	uint64_t attach_timeout_ms; /* 0 = none; else the start fails after it */
	struct bdev_nvme_reconnect_opts reconnect; /* of every controller attached */
};
/* Connects and reads the log; cb(cb_arg, 0 or -errno) on this thread once
 * the log was applied (and attached, with wait_for_attach); on an error
 * nothing is left. Returns 0, -EEXIST (name taken), -EALREADY (a service
 * has that trid), -ENODEV (cannot connect), -ENOMEM. */
int bdev_nvme_start_discovery(const struct bdev_nvme_discovery_opts *o, bdev_nvme_done_cb cb, void *cb_arg);
/* Detaches what the service attached, then its discovery controller.
 * -ENODEV (no such service), -EBUSY (starting or stopping). */
int bdev_nvme_stop_discovery(const char *name, bdev_nvme_done_cb cb, void *cb_arg);
/* [{name, trid, referrals: [{trid}]}] as SPDK's bdev_nvme_get_discovery_info. */
json_t *bdev_nvme_discovery_info_json(void);
void bdev_nvme_discovery_config_json(json_t *array);
void bdev_nvme_discovery_fini(void);

#endif
