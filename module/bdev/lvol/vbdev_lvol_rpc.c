/*
 * RPC methods of the lvol module (SPDK's names and parameters):
 *   bdev_lvol_create_lvstore {bdev_name, lvs_name, cluster_sz?, clear_method?,
 *                             num_md_pages_per_cluster_ratio?} -> lvstore uuid
 *   bdev_lvol_delete_lvstore / bdev_lvol_grow_lvstore {uuid? | lvs_name?} -> true
 *   bdev_lvol_rename_lvstore {old_name, new_name} -> true
 *   bdev_lvol_get_lvstores {uuid? | lvs_name?} -> [lvstore]
 *   bdev_lvol_create {lvol_name, size_in_mib | size, thin_provision?, uuid? | lvs_name?,
 *                     clear_method?} -> bdev name (the lvol's uuid)
 *   bdev_lvol_snapshot {lvol_name, snapshot_name} -> bdev name
 *   bdev_lvol_clone {snapshot_name, clone_name} -> bdev name
 *   bdev_lvol_rename {old_name, new_name} -> true
 *   bdev_lvol_resize {name, size_in_mib | size} -> true
 *   bdev_lvol_set_read_only / bdev_lvol_inflate / bdev_lvol_decouple_parent /
 *   bdev_lvol_delete {name} -> true
 *   bdev_lvol_get_lvols {lvs_uuid? | lvs_name?} -> [lvol]
 * Lvols are named by bdev name (UUID), alias "lvs/lvol", or UUID. Every
 * method answers once no bdev examine is in progress (stores loading).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/blob.h>
#include <brisk/json.h>
#include <brisk/rpc.h>

#include "vbdev_lvol.h"

#define MIB (1024ull * 1024)

/* ---- Shared helpers ---- */

/* Lvol stores are found by examine, which loads them in the background when
 * a bdev appears (at start-up, after a crash, a dirty store replays first).
 * Asked meanwhile, these methods would answer that the store is not there:
 * each one runs once no examine is in progress (LVOL_RPC_REGISTER). */
struct rpc_examine_wait {
	struct brisk_jsonrpc_request *req;
	json_t *params;
	brisk_rpc_method_handler fn;
};

static void rpc_after_examine_run(void *arg)
{
	struct rpc_examine_wait *w = arg;

	w->fn(w->req, w->params);
	json_decref(w->params);
	free(w);
}

static void rpc_after_examine(struct brisk_jsonrpc_request *req, const json_t *params,
			      brisk_rpc_method_handler fn)
{
	struct rpc_examine_wait *w = calloc(1, sizeof(*w));

	if (w == NULL) {
		brisk_jsonrpc_send_error_response(req, -ENOMEM, "out of memory");
		return;
	}
	w->req = req;
	w->fn = fn;
	/* The request keeps params alive only while its handler runs. */
	w->params = params != NULL ? json_incref((json_t *)params) : NULL;
	if (brisk_bdev_wait_for_examine(rpc_after_examine_run, w) != 0) {
		rpc_after_examine_run(w);
	}
}

#define LVOL_RPC_REGISTER(NAME, FN) \
	static void FN##_after_examine(struct brisk_jsonrpc_request *req, const json_t *params) \
	{ rpc_after_examine(req, params, FN); } \
	BRISK_RPC_REGISTER(NAME, FN##_after_examine, BRISK_RPC_RUNTIME)

static void rpc_lvol_done(void *arg, int rc, const char *what)
{
	struct brisk_jsonrpc_request *req = arg;

	if (rc != 0) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "%s failed: %s", what, strerror(-rc));
		return;
	}
	brisk_jsonrpc_send_bool_response(req, true);
}

/* A store whose base is going away (or that is being deleted) takes no new work. */
static bool rpc_lvs_leaving(struct brisk_jsonrpc_request *req, struct brisk_lvol_store *lvs)
{
	struct lvs_bdev *lb = brisk_lvs_get_ctx(lvs);

	if (lb == NULL || lb->removing) {
		brisk_jsonrpc_send_error_response_fmt(req, -ENODEV, "lvstore '%s' is being removed",
						      brisk_lvs_get_name(lvs));
		return true;
	}
	return false;
}

/* Finds the store named by uuid or lvs_name (exactly one of them). Sends the
 * error and returns NULL when that fails. */
static struct brisk_lvol_store *rpc_find_lvs(struct brisk_jsonrpc_request *req, const char *uuid,
					     const char *lvs_name, const char *uuid_field)
{
	struct brisk_lvol_store *lvs;
	struct brisk_uuid u;

	if ((uuid == NULL) == (lvs_name == NULL)) {
		brisk_jsonrpc_invalid_params(req, "give exactly one of %s and lvs_name", uuid_field);
		return NULL;
	}
	if (uuid != NULL) {
		if (brisk_uuid_parse(&u, uuid) != 0) {
			brisk_jsonrpc_invalid_params(req, "%s '%s' is not a valid UUID", uuid_field, uuid);
			return NULL;
		}
		lvs = brisk_lvs_get_by_uuid(&u);
		if (lvs == NULL) {
			brisk_jsonrpc_send_error_response_fmt(req, -ENODEV, "No such lvstore: %s %s", uuid_field, uuid);
		}
	} else {
		lvs = brisk_lvs_get_by_name(lvs_name);
		if (lvs == NULL) {
			brisk_jsonrpc_send_error_response_fmt(req, -ENODEV, "No such lvstore: lvs_name '%s'", lvs_name);
		}
	}
	return lvs == NULL || rpc_lvs_leaving(req, lvs) ? NULL : lvs;
}

static struct brisk_lvol *rpc_find_lvol(struct brisk_jsonrpc_request *req, const char *name,
					const char *field)
{
	struct brisk_lvol *lvol = vbdev_lvol_find(name);

	if (lvol == NULL) {
		brisk_jsonrpc_send_error_response_fmt(req, -ENODEV, "No such lvol: %s '%s'", field, name);
		return NULL;
	}
	return rpc_lvs_leaving(req, brisk_lvol_get_lvs(lvol)) ? NULL : lvol;
}

/* The lvol's bdev alias "lvs/name" must not name another bdev already:
 * that bdev would keep the name and the lvol be reachable only by UUID. */
static bool rpc_check_alias_free(struct brisk_jsonrpc_request *req, struct brisk_lvol_store *lvs,
				 const char *name, const char *field)
{
	char alias[BRISK_LVS_NAME_MAX + BRISK_LVOL_NAME_MAX + 1];
	struct brisk_bdev *holder;

	snprintf(alias, sizeof(alias), "%s/%s", brisk_lvs_get_name(lvs), name);
	holder = brisk_bdev_get_by_name(alias);
	if (holder == NULL) {
		return true;
	}
	brisk_jsonrpc_send_error_response_fmt(req, -EEXIST, "%s '%s': its bdev alias '%s' is already "
					      "the name or alias of bdev '%s'", field, name, alias,
					      brisk_bdev_get_name(holder));
	return false;
}

/* Checks a new lvol name in lvs; sends the error and returns false when bad. */
static bool rpc_check_new_lvol_name(struct brisk_jsonrpc_request *req, struct brisk_lvol_store *lvs,
				    const char *name, const char *field)
{
	if (name[0] == '\0' || strlen(name) >= BRISK_LVOL_NAME_MAX || strchr(name, '/') != NULL) {
		brisk_jsonrpc_invalid_params(req, "%s '%.80s' must be 1 to %d characters without '/'", field, name,
					     BRISK_LVOL_NAME_MAX - 1);
		return false;
	}
	if (brisk_lvol_get_by_name(lvs, name) != NULL) {
		brisk_jsonrpc_send_error_response_fmt(req, -EEXIST, "%s '%s' already exists in lvstore '%s'", field,
						      name, brisk_lvs_get_name(lvs));
		return false;
	}
	return rpc_check_alias_free(req, lvs, name, field);
}

/* A new lvol (create, snapshot, clone) needs a free blob id; the lvstore's
 * own super blob takes one of them. */
static bool rpc_check_lvs_room(struct brisk_jsonrpc_request *req, struct brisk_lvol_store *lvs)
{
	struct brisk_bs_stats st;

	if (brisk_bs_get_stats(brisk_lvs_get_bs(lvs), &st) == 0 && st.num_blobs >= st.max_blobs) {
		brisk_jsonrpc_send_error_response_fmt(req, -ENOSPC,
						      "lvstore '%s' is full: it holds at most %llu lvols and snapshots "
						      "(num_md_pages_per_cluster_ratio at bdev_lvol_create_lvstore sets this)",
						      brisk_lvs_get_name(lvs),
						      (unsigned long long)(st.max_blobs > 0 ? st.max_blobs - 1 : 0));
		return false;
	}
	return true;
}

static int rpc_parse_lvol_clear(const char *s, enum brisk_blob_clear_method *out)
{
	if (s == NULL) {
		*out = BRISK_BLOB_CLEAR_WITH_DEFAULT;
	} else if (strcmp(s, "none") == 0) {
		*out = BRISK_BLOB_CLEAR_WITH_NONE;
	} else if (strcmp(s, "unmap") == 0) {
		*out = BRISK_BLOB_CLEAR_WITH_UNMAP;
	} else if (strcmp(s, "write_zeroes") == 0) {
		*out = BRISK_BLOB_CLEAR_WITH_WRITE_ZEROES;
	} else {
		return -EINVAL;
	}
	return 0;
}

static json_t *rpc_lvol_bdev_name(struct brisk_lvol *lvol)
{
	return json_string(brisk_lvol_get_uuid_str(lvol));
}

/* ---- bdev_lvol_create_lvstore ---- */

struct rpc_create_lvs {
	char *bdev_name;
	char *lvs_name;
	uint32_t cluster_sz;
	char *clear_method;
	uint32_t num_md_pages_per_cluster_ratio;
};

static const struct brisk_json_object_decoder g_create_lvs_dec[] = {
	{"bdev_name", offsetof(struct rpc_create_lvs, bdev_name), brisk_json_decode_string, false},
	{"lvs_name", offsetof(struct rpc_create_lvs, lvs_name), brisk_json_decode_name, false},
	{"cluster_sz", offsetof(struct rpc_create_lvs, cluster_sz), brisk_json_decode_uint32, true},
	{"clear_method", offsetof(struct rpc_create_lvs, clear_method), brisk_json_decode_string, true},
	{"num_md_pages_per_cluster_ratio", offsetof(struct rpc_create_lvs, num_md_pages_per_cluster_ratio),
	 brisk_json_decode_uint32, true},
};

static void rpc_create_lvs_done(void *arg, struct brisk_lvol_store *lvs, int rc)
{
	struct brisk_jsonrpc_request *req = arg;
	char uuid[BRISK_UUID_STRING_LEN];

	if (rc != 0) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "bdev_lvol_create_lvstore failed: %s%s", strerror(-rc),
						      rc == -EPERM ? " (bdev_name is claimed by another module)" : "");
		return;
	}
	brisk_uuid_fmt_lower(uuid, sizeof(uuid), brisk_lvs_get_uuid(lvs));
	brisk_jsonrpc_send_result(req, json_string(uuid));
}

static void rpc_bdev_lvol_create_lvstore(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_create_lvs p = {0};
	struct brisk_lvs_opts opts;
	char err[256];

	brisk_lvs_opts_init(&opts);
	p.cluster_sz = opts.cluster_sz;
	p.num_md_pages_per_cluster_ratio = opts.num_md_pages_per_cluster_ratio;
	if (brisk_json_decode_object(params, g_create_lvs_dec, BRISK_COUNTOF(g_create_lvs_dec), &p, err,
				     sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	if (p.lvs_name[0] == '\0' || strlen(p.lvs_name) >= BRISK_LVS_NAME_MAX || strchr(p.lvs_name, '/')) {
		brisk_jsonrpc_invalid_params(req, "lvs_name '%.80s' must be 1 to %d characters without '/'",
					     p.lvs_name, BRISK_LVS_NAME_MAX - 1);
		goto out;
	}
	if (brisk_lvs_get_by_name(p.lvs_name) != NULL) {
		brisk_jsonrpc_send_error_response_fmt(req, -EEXIST, "lvs_name '%s' is already in use", p.lvs_name);
		goto out;
	}
	if (p.cluster_sz < BRISK_BS_PAGE_SIZE || p.cluster_sz % BRISK_BS_PAGE_SIZE != 0) {
		brisk_jsonrpc_invalid_params(req, "cluster_sz %u must be a multiple of %u", p.cluster_sz,
					     BRISK_BS_PAGE_SIZE);
		goto out;
	}
	if (p.num_md_pages_per_cluster_ratio == 0 || p.num_md_pages_per_cluster_ratio > 100000) {
		brisk_jsonrpc_invalid_params(req, "num_md_pages_per_cluster_ratio %u must be 1..100000",
					     p.num_md_pages_per_cluster_ratio);
		goto out;
	}
	if (p.clear_method == NULL || strcmp(p.clear_method, "unmap") == 0) {
		opts.clear_method = BRISK_BS_CLEAR_WITH_UNMAP;
	} else if (strcmp(p.clear_method, "write_zeroes") == 0) {
		opts.clear_method = BRISK_BS_CLEAR_WITH_WRITE_ZEROES;
	} else if (strcmp(p.clear_method, "none") == 0) {
		opts.clear_method = BRISK_BS_CLEAR_WITH_NONE;
	} else {
		brisk_jsonrpc_invalid_params(req, "clear_method '%s' must be none, unmap or write_zeroes",
					     p.clear_method);
		goto out;
	}
	if (brisk_bdev_get_by_name(p.bdev_name) == NULL) {
		brisk_jsonrpc_send_error_response_fmt(req, -ENODEV, "No such device: bdev_name '%s'", p.bdev_name);
		goto out;
	}
	snprintf(opts.name, sizeof(opts.name), "%s", p.lvs_name);
	opts.cluster_sz = p.cluster_sz;
	opts.num_md_pages_per_cluster_ratio = p.num_md_pages_per_cluster_ratio;
	vbdev_lvs_create(p.bdev_name, &opts, rpc_create_lvs_done, req);
out:
	brisk_json_free_object(g_create_lvs_dec, BRISK_COUNTOF(g_create_lvs_dec), &p);
}
LVOL_RPC_REGISTER("bdev_lvol_create_lvstore", rpc_bdev_lvol_create_lvstore)

/* ---- Store by uuid or name: delete, grow, get ---- */

struct rpc_lvs_sel {
	char *uuid;
	char *lvs_name;
};

static const struct brisk_json_object_decoder g_lvs_sel_dec[] = {
	{"uuid", offsetof(struct rpc_lvs_sel, uuid), brisk_json_decode_string, true},
	{"lvs_name", offsetof(struct rpc_lvs_sel, lvs_name), brisk_json_decode_string, true},
};

static void rpc_delete_lvs_done(void *arg, int rc) { rpc_lvol_done(arg, rc, "bdev_lvol_delete_lvstore"); }
static void rpc_grow_lvs_done(void *arg, int rc) { rpc_lvol_done(arg, rc, "bdev_lvol_grow_lvstore"); }

static void rpc_lvs_sel_call(struct brisk_jsonrpc_request *req, const json_t *params, bool grow)
{
	struct rpc_lvs_sel p = {0};
	struct brisk_lvol_store *lvs;
	char err[256];

	if (brisk_json_decode_object(params, g_lvs_sel_dec, BRISK_COUNTOF(g_lvs_sel_dec), &p, err,
				     sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	lvs = rpc_find_lvs(req, p.uuid, p.lvs_name, "uuid");
	if (lvs != NULL) {
		if (grow) {
			vbdev_lvs_grow(lvs, rpc_grow_lvs_done, req);
		} else {
			vbdev_lvs_delete(lvs, rpc_delete_lvs_done, req);
		}
	}
out:
	brisk_json_free_object(g_lvs_sel_dec, BRISK_COUNTOF(g_lvs_sel_dec), &p);
}

static void rpc_bdev_lvol_delete_lvstore(struct brisk_jsonrpc_request *req, const json_t *params)
{
	rpc_lvs_sel_call(req, params, false);
}
LVOL_RPC_REGISTER("bdev_lvol_delete_lvstore", rpc_bdev_lvol_delete_lvstore)

static void rpc_bdev_lvol_grow_lvstore(struct brisk_jsonrpc_request *req, const json_t *params)
{
	rpc_lvs_sel_call(req, params, true);
}
LVOL_RPC_REGISTER("bdev_lvol_grow_lvstore", rpc_bdev_lvol_grow_lvstore)

static json_t *rpc_lvs_json(struct brisk_lvol_store *lvs)
{
	struct brisk_blob_store *bs = brisk_lvs_get_bs(lvs);
	struct lvs_bdev *lb = brisk_lvs_get_ctx(lvs);
	char uuid[BRISK_UUID_STRING_LEN];

	brisk_uuid_fmt_lower(uuid, sizeof(uuid), brisk_lvs_get_uuid(lvs));
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "uuid", uuid, "name", brisk_lvs_get_name(lvs),
			 "base_bdev", lb != NULL ? lb->base_bdev_name : "",
			 "total_data_clusters", (json_int_t)brisk_bs_total_data_cluster_count(bs),
			 "free_clusters", (json_int_t)brisk_bs_free_cluster_count(bs),
			 "block_size", (json_int_t)brisk_bs_get_io_unit_size(bs),
			 "cluster_size", (json_int_t)brisk_bs_get_cluster_size(bs),
			 "max_growable_size", (json_int_t)brisk_bs_get_max_growable_size(bs));
}

static void rpc_bdev_lvol_get_lvstores(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_lvs_sel p = {0};
	struct brisk_lvol_store *lvs;
	json_t *arr;
	char err[256];

	if (params != NULL && brisk_json_decode_object(params, g_lvs_sel_dec, BRISK_COUNTOF(g_lvs_sel_dec), &p,
						       err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	arr = json_array();
	if (p.uuid != NULL || p.lvs_name != NULL) {
		lvs = rpc_find_lvs(req, p.uuid, p.lvs_name, "uuid");
		if (lvs == NULL) {
			json_decref(arr);
			goto out;
		}
		json_array_append_new(arr, rpc_lvs_json(lvs));
	} else {
		for (lvs = brisk_lvs_first(); lvs != NULL; lvs = brisk_lvs_next(lvs)) {
			json_array_append_new(arr, rpc_lvs_json(lvs));
		}
	}
	brisk_jsonrpc_send_result(req, arr);
out:
	brisk_json_free_object(g_lvs_sel_dec, BRISK_COUNTOF(g_lvs_sel_dec), &p);
}
LVOL_RPC_REGISTER("bdev_lvol_get_lvstores", rpc_bdev_lvol_get_lvstores)

/* ---- Renames (store and lvol share the parameter shape) ---- */

struct rpc_rename {
	char *old_name;
	char *new_name;
};

static const struct brisk_json_object_decoder g_rename_dec[] = {
	{"old_name", offsetof(struct rpc_rename, old_name), brisk_json_decode_string, false},
	{"new_name", offsetof(struct rpc_rename, new_name), brisk_json_decode_name, false},
};

static void rpc_rename_lvs_done(void *arg, int rc) { rpc_lvol_done(arg, rc, "bdev_lvol_rename_lvstore"); }

static void rpc_bdev_lvol_rename_lvstore(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_rename p = {0};
	struct brisk_lvol_store *lvs;
	char err[256];

	if (brisk_json_decode_object(params, g_rename_dec, BRISK_COUNTOF(g_rename_dec), &p, err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	lvs = brisk_lvs_get_by_name(p.old_name);
	if (lvs == NULL) {
		brisk_jsonrpc_send_error_response_fmt(req, -ENODEV, "No such lvstore: old_name '%s'", p.old_name);
		goto out;
	}
	if (rpc_lvs_leaving(req, lvs)) {
		goto out;
	}
	if (p.new_name[0] == '\0' || strlen(p.new_name) >= BRISK_LVS_NAME_MAX || strchr(p.new_name, '/')) {
		brisk_jsonrpc_invalid_params(req, "new_name '%.80s' must be 1 to %d characters without '/'",
					     p.new_name, BRISK_LVS_NAME_MAX - 1);
		goto out;
	}
	if (strcmp(p.new_name, p.old_name) != 0 && brisk_lvs_get_by_name(p.new_name) != NULL) {
		brisk_jsonrpc_send_error_response_fmt(req, -EEXIST, "new_name '%s' is already in use", p.new_name);
		goto out;
	}
	vbdev_lvs_rename(lvs, p.new_name, rpc_rename_lvs_done, req);
out:
	brisk_json_free_object(g_rename_dec, BRISK_COUNTOF(g_rename_dec), &p);
}
LVOL_RPC_REGISTER("bdev_lvol_rename_lvstore", rpc_bdev_lvol_rename_lvstore)

static void rpc_rename_lvol_done(void *arg, int rc) { rpc_lvol_done(arg, rc, "bdev_lvol_rename"); }

static void rpc_bdev_lvol_rename(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_rename p = {0};
	struct brisk_lvol *lvol;
	char err[256];

	if (brisk_json_decode_object(params, g_rename_dec, BRISK_COUNTOF(g_rename_dec), &p, err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	lvol = rpc_find_lvol(req, p.old_name, "old_name");
	if (lvol == NULL) {
		goto out;
	}
	if (strcmp(p.new_name, brisk_lvol_get_name(lvol)) != 0 &&
	    !rpc_check_new_lvol_name(req, brisk_lvol_get_lvs(lvol), p.new_name, "new_name")) {
		goto out;
	}
	vbdev_lvol_rename(lvol, p.new_name, rpc_rename_lvol_done, req);
out:
	brisk_json_free_object(g_rename_dec, BRISK_COUNTOF(g_rename_dec), &p);
}
LVOL_RPC_REGISTER("bdev_lvol_rename", rpc_bdev_lvol_rename)

/* ---- bdev_lvol_create ---- */

struct rpc_create_lvol {
	char *lvol_name;
	int64_t size;        /* bytes (legacy) */
	int64_t size_in_mib;
	bool thin_provision;
	char *uuid;
	char *lvs_name;
	char *clear_method;
};

static const struct brisk_json_object_decoder g_create_lvol_dec[] = {
	{"lvol_name", offsetof(struct rpc_create_lvol, lvol_name), brisk_json_decode_name, false},
	{"size", offsetof(struct rpc_create_lvol, size), brisk_json_decode_int64, true},
	{"size_in_mib", offsetof(struct rpc_create_lvol, size_in_mib), brisk_json_decode_int64, true},
	{"thin_provision", offsetof(struct rpc_create_lvol, thin_provision), brisk_json_decode_bool, true},
	{"uuid", offsetof(struct rpc_create_lvol, uuid), brisk_json_decode_string, true},
	{"lvs_name", offsetof(struct rpc_create_lvol, lvs_name), brisk_json_decode_string, true},
	{"clear_method", offsetof(struct rpc_create_lvol, clear_method), brisk_json_decode_string, true},
};

/* size_in_mib wins; exactly one must be given and neither may be <= 0.
 * Returns false after sending the error. */
static bool rpc_size_bytes(struct brisk_jsonrpc_request *req, int64_t size, int64_t size_in_mib,
			   uint64_t *out)
{
	if (size_in_mib < 0 || size < 0) {
		brisk_jsonrpc_invalid_params(req, "%s must not be negative", size_in_mib < 0 ? "size_in_mib" : "size");
		return false;
	}
	if (size_in_mib > 0) {
		if ((uint64_t)size_in_mib > UINT64_MAX / MIB) {
			brisk_jsonrpc_invalid_params(req, "size_in_mib %lld is too large", (long long)size_in_mib);
			return false;
		}
		*out = (uint64_t)size_in_mib * MIB;
		return true;
	}
	if (size > 0) {
		*out = (uint64_t)size;
		return true;
	}
	brisk_jsonrpc_invalid_params(req, "size_in_mib is missing or 0");
	return false;
}

/* A size the lvstore's blobs cannot have gets the reason, not a bare
 * "Invalid argument". */
static bool rpc_check_blob_limit(struct brisk_jsonrpc_request *req, struct brisk_lvol_store *lvs,
				 uint64_t size)
{
	uint64_t cs = brisk_bs_get_cluster_size(brisk_lvs_get_bs(lvs));
	uint64_t clusters = size / cs + (size % cs != 0);

	if (clusters <= BRISK_BLOB_MAX_CLUSTERS) {
		return true;
	}
	brisk_jsonrpc_send_error_response_fmt(req, -EINVAL, "size %llu bytes needs %llu clusters of %llu "
					      "bytes, more than an lvol can have (%llu clusters, %llu bytes "
					      "in lvstore '%s')", (unsigned long long)size,
					      (unsigned long long)clusters, (unsigned long long)cs,
					      (unsigned long long)BRISK_BLOB_MAX_CLUSTERS,
					      (unsigned long long)(BRISK_BLOB_MAX_CLUSTERS * cs),
					      brisk_lvs_get_name(lvs));
	return false;
}

static void rpc_new_lvol_done(void *arg, struct brisk_lvol *lvol, int rc)
{
	struct brisk_jsonrpc_request *req = arg;

	if (rc != 0) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "%s%s", strerror(-rc),
						      rc == -ENOSPC ? ": no room left in the lvstore (clusters, metadata "
						      "pages) or on the storage under it" : "");
		return;
	}
	brisk_jsonrpc_send_result(req, rpc_lvol_bdev_name(lvol));
}

static void rpc_bdev_lvol_create(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_create_lvol p = {0};
	struct brisk_lvol_store *lvs;
	enum brisk_blob_clear_method clear;
	uint64_t size, clusters, csz;
	char err[256];

	if (brisk_json_decode_object(params, g_create_lvol_dec, BRISK_COUNTOF(g_create_lvol_dec), &p, err,
				     sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	lvs = rpc_find_lvs(req, p.uuid, p.lvs_name, "uuid");
	if (lvs == NULL || !rpc_check_new_lvol_name(req, lvs, p.lvol_name, "lvol_name") ||
	    !rpc_check_lvs_room(req, lvs) || !rpc_size_bytes(req, p.size, p.size_in_mib, &size) ||
	    !rpc_check_blob_limit(req, lvs, size)) {
		goto out;
	}
	if (rpc_parse_lvol_clear(p.clear_method, &clear) != 0) {
		brisk_jsonrpc_invalid_params(req, "clear_method '%s' must be none, unmap or write_zeroes",
					     p.clear_method);
		goto out;
	}
	csz = brisk_bs_get_cluster_size(brisk_lvs_get_bs(lvs));
	clusters = size / csz + (size % csz != 0);
	if (!p.thin_provision && clusters > brisk_bs_free_cluster_count(brisk_lvs_get_bs(lvs))) {
		brisk_jsonrpc_send_error_response_fmt(req, -ENOSPC,
						      "size %llu MiB needs %llu clusters; lvstore '%s' has %llu free",
						      (unsigned long long)(size / MIB), (unsigned long long)clusters,
						      brisk_lvs_get_name(lvs),
						      (unsigned long long)brisk_bs_free_cluster_count(brisk_lvs_get_bs(lvs)));
		goto out;
	}
	vbdev_lvol_create(lvs, p.lvol_name, size, p.thin_provision, clear, rpc_new_lvol_done, req);
out:
	brisk_json_free_object(g_create_lvol_dec, BRISK_COUNTOF(g_create_lvol_dec), &p);
}
LVOL_RPC_REGISTER("bdev_lvol_create", rpc_bdev_lvol_create)

/* ---- Snapshot and clone ---- */

struct rpc_snapshot {
	char *lvol_name;
	char *snapshot_name;
};

static const struct brisk_json_object_decoder g_snapshot_dec[] = {
	{"lvol_name", offsetof(struct rpc_snapshot, lvol_name), brisk_json_decode_string, false},
	{"snapshot_name", offsetof(struct rpc_snapshot, snapshot_name), brisk_json_decode_name, false},
};

static void rpc_bdev_lvol_snapshot(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_snapshot p = {0};
	struct brisk_lvol *lvol;
	char err[256];

	if (brisk_json_decode_object(params, g_snapshot_dec, BRISK_COUNTOF(g_snapshot_dec), &p, err,
				     sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	lvol = rpc_find_lvol(req, p.lvol_name, "lvol_name");
	if (lvol == NULL ||
	    !rpc_check_new_lvol_name(req, brisk_lvol_get_lvs(lvol), p.snapshot_name, "snapshot_name") ||
	    !rpc_check_lvs_room(req, brisk_lvol_get_lvs(lvol))) {
		goto out;
	}
	if (brisk_lvol_is_read_only(lvol)) {
		brisk_jsonrpc_send_error_response_fmt(req, -EINVAL, "lvol_name '%s' is read-only (a snapshot?)",
						      p.lvol_name);
		goto out;
	}
	vbdev_lvol_snapshot(lvol, p.snapshot_name, rpc_new_lvol_done, req);
out:
	brisk_json_free_object(g_snapshot_dec, BRISK_COUNTOF(g_snapshot_dec), &p);
}
LVOL_RPC_REGISTER("bdev_lvol_snapshot", rpc_bdev_lvol_snapshot)

struct rpc_clone {
	char *snapshot_name;
	char *clone_name;
};

static const struct brisk_json_object_decoder g_clone_dec[] = {
	{"snapshot_name", offsetof(struct rpc_clone, snapshot_name), brisk_json_decode_string, false},
	{"clone_name", offsetof(struct rpc_clone, clone_name), brisk_json_decode_name, false},
};

static void rpc_bdev_lvol_clone(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_clone p = {0};
	struct brisk_lvol *snap;
	char err[256];

	if (brisk_json_decode_object(params, g_clone_dec, BRISK_COUNTOF(g_clone_dec), &p, err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	snap = rpc_find_lvol(req, p.snapshot_name, "snapshot_name");
	if (snap == NULL || !rpc_check_new_lvol_name(req, brisk_lvol_get_lvs(snap), p.clone_name, "clone_name") ||
	    !rpc_check_lvs_room(req, brisk_lvol_get_lvs(snap))) {
		goto out;
	}
	if (!brisk_lvol_is_read_only(snap)) {
		brisk_jsonrpc_send_error_response_fmt(req, -EINVAL, "snapshot_name '%s' is not a snapshot (not read-only)",
						      p.snapshot_name);
		goto out;
	}
	vbdev_lvol_clone(snap, p.clone_name, rpc_new_lvol_done, req);
out:
	brisk_json_free_object(g_clone_dec, BRISK_COUNTOF(g_clone_dec), &p);
}
LVOL_RPC_REGISTER("bdev_lvol_clone", rpc_bdev_lvol_clone)

/* ---- Resize ---- */

struct rpc_resize {
	char *name;
	int64_t size;
	int64_t size_in_mib;
};

static const struct brisk_json_object_decoder g_resize_dec[] = {
	{"name", offsetof(struct rpc_resize, name), brisk_json_decode_string, false},
	{"size", offsetof(struct rpc_resize, size), brisk_json_decode_int64, true},
	{"size_in_mib", offsetof(struct rpc_resize, size_in_mib), brisk_json_decode_int64, true},
};

static void rpc_resize_done(void *arg, int rc)
{
	struct brisk_jsonrpc_request *req = arg;

	if (rc != 0) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "bdev_lvol_resize failed: %s%s", strerror(-rc),
						      rc == -ENOSPC ? ": not enough free clusters in the lvstore" :
						      rc == -EBUSY ? " (shrinking an open bdev, or another operation runs)" : "");
		return;
	}
	brisk_jsonrpc_send_bool_response(req, true);
}

static void rpc_bdev_lvol_resize(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_resize p = {0};
	struct brisk_lvol *lvol;
	uint64_t size;
	char err[256];

	if (brisk_json_decode_object(params, g_resize_dec, BRISK_COUNTOF(g_resize_dec), &p, err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	lvol = rpc_find_lvol(req, p.name, "name");
	if (lvol == NULL || !rpc_size_bytes(req, p.size, p.size_in_mib, &size) ||
	    !rpc_check_blob_limit(req, brisk_lvol_get_lvs(lvol), size)) {
		goto out;
	}
	if (brisk_lvol_is_read_only(lvol)) {
		brisk_jsonrpc_send_error_response_fmt(req, -EPERM, "name '%s' is read-only: cannot resize", p.name);
		goto out;
	}
	vbdev_lvol_resize(lvol, size, rpc_resize_done, req);
out:
	brisk_json_free_object(g_resize_dec, BRISK_COUNTOF(g_resize_dec), &p);
}
LVOL_RPC_REGISTER("bdev_lvol_resize", rpc_bdev_lvol_resize)

/* ---- {name} methods ---- */

struct rpc_name {
	char *name;
};

static const struct brisk_json_object_decoder g_name_dec[] = {
	{"name", offsetof(struct rpc_name, name), brisk_json_decode_string, false},
};

/* Decodes {name} and finds the lvol; sends the error and returns NULL when that fails. */
static struct brisk_lvol *rpc_name_lvol(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_name p = {0};
	struct brisk_lvol *lvol = NULL;
	char err[256];

	if (brisk_json_decode_object(params, g_name_dec, BRISK_COUNTOF(g_name_dec), &p, err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
	} else {
		lvol = rpc_find_lvol(req, p.name, "name");
	}
	brisk_json_free_object(g_name_dec, BRISK_COUNTOF(g_name_dec), &p);
	return lvol;
}

static void rpc_ro_done(void *arg, int rc) { rpc_lvol_done(arg, rc, "bdev_lvol_set_read_only"); }
static void rpc_inflate_done(void *arg, int rc) { rpc_lvol_done(arg, rc, "bdev_lvol_inflate"); }
static void rpc_decouple_done(void *arg, int rc) { rpc_lvol_done(arg, rc, "bdev_lvol_decouple_parent"); }

static void rpc_delete_done(void *arg, int rc)
{
	struct brisk_jsonrpc_request *req = arg;

	if (rc == -EBUSY) {
		brisk_jsonrpc_send_error_response(req, rc, "bdev_lvol_delete refused: the lvol is busy, or is a "
						  "snapshot with more than one clone (delete or inflate the clones first)");
		return;
	}
	rpc_lvol_done(arg, rc, "bdev_lvol_delete");
}

static void rpc_bdev_lvol_set_read_only(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct brisk_lvol *lvol = rpc_name_lvol(req, params);

	if (lvol != NULL) {
		vbdev_lvol_set_read_only(lvol, rpc_ro_done, req);
	}
}
LVOL_RPC_REGISTER("bdev_lvol_set_read_only", rpc_bdev_lvol_set_read_only)

static void rpc_bdev_lvol_inflate(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct brisk_lvol *lvol = rpc_name_lvol(req, params);

	if (lvol != NULL) {
		brisk_lvol_inflate(lvol, rpc_inflate_done, req);
	}
}
LVOL_RPC_REGISTER("bdev_lvol_inflate", rpc_bdev_lvol_inflate)

static void rpc_bdev_lvol_decouple_parent(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct brisk_lvol *lvol = rpc_name_lvol(req, params);

	if (lvol != NULL) {
		brisk_lvol_decouple_parent(lvol, rpc_decouple_done, req);
	}
}
LVOL_RPC_REGISTER("bdev_lvol_decouple_parent", rpc_bdev_lvol_decouple_parent)

struct rpc_set_parent {
	char *lvol_name;
	char *parent_name;
};

static const struct brisk_json_object_decoder g_set_parent_dec[] = {
	{ "lvol_name", offsetof(struct rpc_set_parent, lvol_name), brisk_json_decode_string, false },
	{ "parent_name", offsetof(struct rpc_set_parent, parent_name), brisk_json_decode_string, false },
};

static void rpc_set_parent_done(void *arg, int rc) { rpc_lvol_done(arg, rc, "bdev_lvol_set_parent"); }

/* SPDK's rules, each refused with the problem named; true when they hold. */
static bool rpc_set_parent_allowed(struct brisk_jsonrpc_request *req, struct brisk_lvol *lvol,
				   struct brisk_lvol *parent, const struct rpc_set_parent *p)
{
	const char *why = NULL;

	if (brisk_lvol_get_lvs(lvol) != brisk_lvol_get_lvs(parent)) {
		why = "lvol_name and parent_name are in different lvstores";
	} else if (!brisk_lvol_is_thin(lvol)) {
		why = "lvol_name is not thin provisioned";
	} else if (brisk_lvol_is_read_only(lvol)) {
		why = "lvol_name is read-only (a snapshot)";
	} else if (!brisk_lvol_is_read_only(parent)) {
		why = "parent_name is not a snapshot";
	}
	if (why != NULL) {
		brisk_jsonrpc_send_error_response_fmt(req, -EINVAL, "%s ('%s', '%s')", why, p->lvol_name,
						      p->parent_name);
	}
	return why == NULL;
}

static void rpc_bdev_lvol_set_parent(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_set_parent p = { 0 };
	struct brisk_lvol *lvol = NULL, *parent = NULL;
	char err[256];

	if (brisk_json_decode_object(params, g_set_parent_dec, BRISK_COUNTOF(g_set_parent_dec), &p, err, sizeof(err)) !=
	    0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
	} else if ((lvol = rpc_find_lvol(req, p.lvol_name, "lvol_name")) != NULL) {
		parent = rpc_find_lvol(req, p.parent_name, "parent_name");
	}
	if (parent != NULL && rpc_set_parent_allowed(req, lvol, parent, &p)) {
		brisk_lvol_set_parent(lvol, parent, rpc_set_parent_done, req);
	}
	brisk_json_free_object(g_set_parent_dec, BRISK_COUNTOF(g_set_parent_dec), &p);
}
LVOL_RPC_REGISTER("bdev_lvol_set_parent", rpc_bdev_lvol_set_parent)

static void rpc_bdev_lvol_delete(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct brisk_lvol *lvol = rpc_name_lvol(req, params);
	size_t clones;

	if (lvol == NULL) {
		return;
	}
	clones = brisk_lvol_get_clones(lvol, NULL, 0);
	if (clones > 1) {
		brisk_jsonrpc_send_error_response_fmt(req, -EBUSY, "lvol '%s' is a snapshot with %zu clones: "
						      "delete, inflate or decouple them first", brisk_lvol_get_name(lvol),
						      clones);
		return;
	}
	vbdev_lvol_delete(lvol, rpc_delete_done, req);
}
LVOL_RPC_REGISTER("bdev_lvol_delete", rpc_bdev_lvol_delete)

/* ---- bdev_lvol_get_lvols ---- */

struct rpc_get_lvols {
	char *lvs_uuid;
	char *lvs_name;
};

static const struct brisk_json_object_decoder g_get_lvols_dec[] = {
	{"lvs_uuid", offsetof(struct rpc_get_lvols, lvs_uuid), brisk_json_decode_string, true},
	{"lvs_name", offsetof(struct rpc_get_lvols, lvs_name), brisk_json_decode_string, true},
};

static json_t *rpc_lvol_json(struct brisk_lvol *lvol)
{
	struct brisk_lvol_store *lvs = brisk_lvol_get_lvs(lvol);
	struct brisk_lvol *parent = brisk_lvol_get_parent(lvol), *clones[64];
	struct lvol_bdev *lv = brisk_lvol_get_ctx(lvol);
	char alias[BRISK_LVS_NAME_MAX + BRISK_LVOL_NAME_MAX + 1];
	char lvs_uuid[BRISK_UUID_STRING_LEN];
	json_t *o, *arr;
	size_t n, i;

	vbdev_lvol_alias(lvol, alias, sizeof(alias));
	brisk_uuid_fmt_lower(lvs_uuid, sizeof(lvs_uuid), brisk_lvs_get_uuid(lvs));
	o = json_pack("{s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:b, s:I, s:I, s:{s:s, s:s}}",
		      "alias", alias, "uuid", brisk_lvol_get_uuid_str(lvol), "name", brisk_lvol_get_name(lvol),
		      "is_thin_provisioned", brisk_lvol_is_thin(lvol), "is_snapshot", brisk_lvol_is_snapshot(lvol),
		      "is_clone", brisk_lvol_is_clone(lvol), "is_esnap_clone", 0,
		      "is_degraded", brisk_blob_is_degraded(brisk_lvol_get_blob(lvol)),
		      "is_read_only", brisk_lvol_is_read_only(lvol),
		      "num_allocated_clusters",
		      (json_int_t)brisk_blob_get_num_allocated_clusters(brisk_lvol_get_blob(lvol)),
		      "size_bytes", (json_int_t)brisk_lvol_get_size(lvol),
		      "lvs", "name", brisk_lvs_get_name(lvs), "uuid", lvs_uuid);
	if (parent != NULL) {
		json_object_set_new(o, "base_snapshot", json_string(brisk_lvol_get_name(parent)));
	}
	/* Brisk's own: the bdev holding this lvol's alias (null: none). */
	json_object_set_new(o, "alias_conflict",
			    lv != NULL && lv->alias_conflict != NULL ? json_string(lv->alias_conflict) :
			    json_null());
	n = brisk_lvol_get_clones(lvol, clones, sizeof(clones) / sizeof(clones[0]));
	if (n > 0) {
		arr = json_array();
		for (i = 0; i < n && i < sizeof(clones) / sizeof(clones[0]); i++) {
			json_array_append_new(arr, json_string(brisk_lvol_get_name(clones[i])));
		}
		json_object_set_new(o, "clones", arr);
	}
	return o;
}

static void rpc_bdev_lvol_get_lvols(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_get_lvols p = {0};
	struct brisk_lvol_store *lvs, *only = NULL;
	struct brisk_lvol *lvol;
	json_t *arr;
	char err[256];

	if (params != NULL && brisk_json_decode_object(params, g_get_lvols_dec, BRISK_COUNTOF(g_get_lvols_dec),
						       &p, err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	if (p.lvs_uuid != NULL || p.lvs_name != NULL) {
		only = rpc_find_lvs(req, p.lvs_uuid, p.lvs_name, "lvs_uuid");
		if (only == NULL) {
			goto out;
		}
	}
	arr = json_array();
	for (lvs = brisk_lvs_first(); lvs != NULL; lvs = brisk_lvs_next(lvs)) {
		if (only != NULL && lvs != only) {
			continue;
		}
		for (lvol = brisk_lvol_first(lvs); lvol != NULL; lvol = brisk_lvol_next(lvol)) {
			json_array_append_new(arr, rpc_lvol_json(lvol));
		}
	}
	brisk_jsonrpc_send_result(req, arr);
out:
	brisk_json_free_object(g_get_lvols_dec, BRISK_COUNTOF(g_get_lvols_dec), &p);
}
LVOL_RPC_REGISTER("bdev_lvol_get_lvols", rpc_bdev_lvol_get_lvols)
