/* The lvol bdev module, between its core (vbdev_lvol.c), its operations
 * (vbdev_lvol_ops.c) and its RPCs (vbdev_lvol_rpc.c). Everything runs on
 * the app thread, which is the thread of every lvol store. */
#ifndef VBDEV_LVOL_H
#define VBDEV_LVOL_H

#include <brisk/bdev_module.h>
#include <brisk/lvol.h>

/* The module's state for one loaded store. */
struct lvs_bdev {
	struct brisk_lvol_store *lvs;
	char *base_bdev_name;
	struct brisk_bs_dev *bs_dev; /* owned by the store; kept to claim the base */
	bool removing;          /* base going away or store being deleted */
	uint32_t unregistering; /* lvol bdevs whose unregister has not completed */
	void (*all_gone_fn)(struct lvs_bdev *lb); /* when unregistering drops to 0 */
	void *op_ctx;           /* the operation waiting in all_gone_fn */
	struct brisk_poller *unload_poller; /* base removed while an lvol operation runs */
};

/* One lvol's bdev: named by the lvol's UUID, alias lvs_name/lvol_name. */
struct lvol_bdev {
	struct brisk_bdev bdev;
	struct brisk_lvol *lvol;
	struct lvs_bdev *lb;
	/* The bdev that holds this lvol's alias "lvs/lvol" (so the lvol has
	 * none), NULL when the alias is ours: bdev_lvol_get_lvols shows it. */
	char *alias_conflict;
};

extern struct brisk_bdev_module g_lvol_if;

typedef void (*vbdev_lvol_done)(void *cb_arg, int rc);
typedef void (*vbdev_lvs_done)(void *cb_arg, struct brisk_lvol_store *lvs, int rc);
typedef void (*vbdev_lvol_new_done)(void *cb_arg, struct brisk_lvol *lvol, int rc);

/* vbdev_lvol.c */
struct lvs_bdev *vbdev_lvs_bdev_new(const char *base_bdev_name);
void vbdev_lvs_bdev_free(struct lvs_bdev *lb);
/* The bs_dev event callback of every store's base bdev. */
void vbdev_lvs_base_event(enum brisk_bdev_event_type type, struct brisk_bdev *bdev, void *ctx);
/* Registers the bdev of lvol (lvol's ctx becomes its lvol_bdev). */
int vbdev_lvol_register(struct lvs_bdev *lb, struct brisk_lvol *lvol);
/* Unregisters every lvol bdev of lb, then calls fn(lb) (maybe at once). */
void vbdev_lvs_unregister_all(struct lvs_bdev *lb, void (*fn)(struct lvs_bdev *lb), void *op_ctx);
/* The lvol named by bdev name, UUID, alias lvs/lvol; NULL if none. */
struct brisk_lvol *vbdev_lvol_find(const char *name);
/* Lvol bdev alias text "lvs/lvol" in buf. */
void vbdev_lvol_alias(const struct brisk_lvol *lvol, char *buf, size_t size);
/* Gives lv its alias "lvs/lvol"; when another bdev holds that name, logs
 * it and records the holder in lv->alias_conflict (the bdev still works by
 * its UUID name). */
void vbdev_lvol_claim_alias(struct lvol_bdev *lv);

/* vbdev_lvol_ops.c: each reports the outcome through its callback. */
void vbdev_lvs_create(const char *bdev_name, const struct brisk_lvs_opts *opts, vbdev_lvs_done cb,
		      void *cb_arg);
void vbdev_lvs_delete(struct brisk_lvol_store *lvs, vbdev_lvol_done cb, void *cb_arg);
void vbdev_lvs_rename(struct brisk_lvol_store *lvs, const char *new_name, vbdev_lvol_done cb,
		      void *cb_arg);
void vbdev_lvs_grow(struct brisk_lvol_store *lvs, vbdev_lvol_done cb, void *cb_arg);
void vbdev_lvol_create(struct brisk_lvol_store *lvs, const char *name, uint64_t size, bool thin,
		       enum brisk_blob_clear_method clear_method, vbdev_lvol_new_done cb, void *cb_arg);
void vbdev_lvol_snapshot(struct brisk_lvol *lvol, const char *name, vbdev_lvol_new_done cb, void *cb_arg);
void vbdev_lvol_clone(struct brisk_lvol *snap, const char *name, vbdev_lvol_new_done cb, void *cb_arg);
void vbdev_lvol_rename(struct brisk_lvol *lvol, const char *new_name, vbdev_lvol_done cb, void *cb_arg);
void vbdev_lvol_resize(struct brisk_lvol *lvol, uint64_t size, vbdev_lvol_done cb, void *cb_arg);
void vbdev_lvol_set_read_only(struct brisk_lvol *lvol, vbdev_lvol_done cb, void *cb_arg);
void vbdev_lvol_delete(struct brisk_lvol *lvol, vbdev_lvol_done cb, void *cb_arg);

#endif
