/* Private state of lib/lvol. */
#ifndef LVOL_INTERNAL_H
#define LVOL_INTERNAL_H

#include <sys/queue.h>

#include <brisk/log.h>
#include <brisk/lvol.h>
#include <brisk/thread.h>

/* Xattr names. The super blob carries the store's; each lvol blob its own. */
#define LVOL_XATTR_LVS_NAME "lvs_name"
#define LVOL_XATTR_LVS_UUID "lvs_uuid"
#define LVOL_XATTR_NAME "name"
#define LVOL_XATTR_UUID "uuid"

enum lvol_state {
	LVOL_CREATING, /* name reserved, blob not there yet: invisible to the lists */
	LVOL_READY,
};

struct brisk_lvol {
	struct brisk_lvol_store *lvs;
	struct brisk_blob *blob;
	brisk_blob_id blob_id;
	char name[BRISK_LVOL_NAME_MAX];
	struct brisk_uuid uuid;
	char uuid_str[BRISK_UUID_STRING_LEN];
	enum brisk_blob_clear_method clear_method;
	enum lvol_state state;
	bool busy; /* one metadata operation at a time per lvol */
	void *ctx;
	TAILQ_ENTRY(brisk_lvol) link;
};

struct brisk_lvol_store {
	struct brisk_blob_store *bs;
	brisk_blob_id super_id;
	char name[BRISK_LVS_NAME_MAX];
	struct brisk_uuid uuid;
	bool busy;                     /* unload, destroy, rename or grow running */
	struct brisk_io_channel *md_channel; /* for inflate/decouple copies; on the store's thread */
	void *ctx;
	TAILQ_HEAD(, brisk_lvol) lvols;
	TAILQ_ENTRY(brisk_lvol_store) link;
};

/* lvs.c */
void lvol_store_list_add(struct brisk_lvol_store *lvs);
/* 0 when name is a valid lvol / lvstore name, else -EINVAL (logged with what). */
int lvol_check_name(const char *name, size_t max, const char *what);
/* The lvol named name in lvs, including ones still being created. */
struct brisk_lvol *lvol_find_any(struct brisk_lvol_store *lvs, const char *name);

/* lvol.c */
/* A new in-memory lvol in CREATING state, inserted in lvs (reserves name). */
struct brisk_lvol *lvol_alloc(struct brisk_lvol_store *lvs, const char *name);
void lvol_free(struct brisk_lvol *lvol);
/* The xattr opts naming a new blob after lvol (name and uuid). */
void lvol_xattr_opts(struct brisk_lvol *lvol, struct brisk_blob_xattr_opts *xattrs);
/* Opens blob_id as lvol's blob and marks lvol READY; cb(cb_arg, lvol, rc);
 * on failure lvol is freed. */
void lvol_open_new(struct brisk_lvol *lvol, brisk_blob_id blob_id,
		   brisk_lvol_op_with_handle_complete cb_fn, void *cb_arg);
/* Fills lvol from the xattrs of an open blob: 0 or -EILSEQ (not an lvol). */
int lvol_from_blob(struct brisk_lvol *lvol, struct brisk_blob *blob);

/* lvol_defer.c: cb_fn(cb_arg, [NULL,] rc) by a message to the current thread,
 * for errors found before anything asynchronous started. */
void lvol_defer_op(brisk_lvol_op_complete cb_fn, void *cb_arg, int rc);
void lvol_defer_lvs(brisk_lvs_op_with_handle_complete cb_fn, void *cb_arg, int rc);
void lvol_defer_lvol(brisk_lvol_op_with_handle_complete cb_fn, void *cb_arg, int rc);

#endif
