/*
 * JSON-RPC methods for target nodes and authentication (SPDK's names and
 * parameters): iscsi_create_target_node, iscsi_delete_target_node,
 * iscsi_get_target_nodes, iscsi_target_node_add_lun,
 * iscsi_target_node_add_pg_ig_maps, iscsi_target_node_remove_pg_ig_maps,
 * iscsi_target_node_set_auth, auth groups and their secrets,
 * iscsi_set_discovery_auth, and iscsi_get_connections (which visits each
 * poll group thread in turn).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/json.h>
#include <brisk/log.h>
#include <brisk/rpc.h>
#include <brisk/string.h>

#include "iscsi_internal.h"
#include "iscsi_rpc.h"

/* ---- target nodes ---- */

struct rpc_node {
	char *name;
	char *alias_name;
	json_t *pg_ig_maps;
	json_t *luns;
	uint32_t queue_depth;
	int32_t chap_group;
	bool disable_chap, require_chap, mutual_chap;
	bool header_digest, data_digest;
};

#define N(f, fn, opt) {#f, offsetof(struct rpc_node, f), fn, opt}
static const struct brisk_json_object_decoder g_node_decoders[] = {
	N(name, brisk_json_decode_string, false),
	N(alias_name, brisk_json_decode_string, true),
	N(pg_ig_maps, brisk_json_decode_json, false),
	N(luns, brisk_json_decode_json, false),
	N(queue_depth, brisk_json_decode_uint32, false),
	N(chap_group, brisk_json_decode_int32, true),
	N(disable_chap, brisk_json_decode_bool, true),
	N(require_chap, brisk_json_decode_bool, true),
	N(mutual_chap, brisk_json_decode_bool, true),
	N(header_digest, brisk_json_decode_bool, true),
	N(data_digest, brisk_json_decode_bool, true),
};
#undef N

static int parse_maps(const json_t *arr, struct iscsi_pg_ig_map *maps, uint32_t *n, char *err, size_t errlen)
{
	size_t i;
	json_t *v;

	if (!json_is_array(arr) || json_array_size(arr) > ISCSI_MAX_MAPS) {
		snprintf(err, errlen, "pg_ig_maps must be an array of at most %d {pg_tag, ig_tag}", ISCSI_MAX_MAPS);
		return -EINVAL;
	}
	*n = 0;
	json_array_foreach(arr, i, v) {
		json_t *pt = json_object_get(v, "pg_tag"), *it = json_object_get(v, "ig_tag");

		if (!json_is_integer(pt) || !json_is_integer(it)) {
			snprintf(err, errlen, "pg_ig_maps[%zu] needs integer pg_tag and ig_tag", i);
			return -EINVAL;
		}
		maps[*n].pg_tag = (int)json_integer_value(pt);
		maps[*n].ig_tag = (int)json_integer_value(it);
		if (iscsi_portal_grp_find(maps[*n].pg_tag) == NULL || iscsi_init_grp_find(maps[*n].ig_tag) == NULL) {
			snprintf(err, errlen, "pg_ig_maps[%zu]: portal group %d or initiator group %d does not exist", i,
				 maps[*n].pg_tag, maps[*n].ig_tag);
			return -ENOENT;
		}
		(*n)++;
	}
	return 0;
}

/* Brisk's own per-LUN options (SPDK has neither). */
struct lun_opts {
	bool write_protect;
	bool removable;
};

/* An optional boolean member of luns[i]; false when absent. */
static int lun_bool(const json_t *v, const char *key, size_t i, bool *out, char *err, size_t errlen)
{
	json_t *w = json_object_get(v, key);

	if (w != NULL && !json_is_boolean(w)) {
		snprintf(err, errlen, "luns[%zu].%s must be a boolean", i, key);
		return -EINVAL;
	}
	*out = w != NULL && json_is_true(w);
	return 0;
}

/* Each entry: bdev_name, lun_id and the optional write_protect, removable. */
static int parse_luns(const json_t *arr, const char **names, int *ids, struct lun_opts *o, int *n, char *err,
		      size_t errlen)
{
	size_t i;
	json_t *v;

	if (!json_is_array(arr) || json_array_size(arr) > BRISK_SCSI_DEV_MAX_LUN) {
		snprintf(err, errlen, "luns must be an array of at most %d {bdev_name, lun_id}", BRISK_SCSI_DEV_MAX_LUN);
		return -EINVAL;
	}
	*n = 0;
	json_array_foreach(arr, i, v) {
		json_t *b = json_object_get(v, "bdev_name"), *l = json_object_get(v, "lun_id");

		if (!json_is_string(b) || (l != NULL && !json_is_integer(l))) {
			snprintf(err, errlen, "luns[%zu] needs a string bdev_name and an integer lun_id", i);
			return -EINVAL;
		}
		if (lun_bool(v, "write_protect", i, &o[*n].write_protect, err, errlen) != 0 ||
		    lun_bool(v, "removable", i, &o[*n].removable, err, errlen) != 0) {
			return -EINVAL;
		}
		names[*n] = json_string_value(b);
		ids[(*n)++] = l ? (int)json_integer_value(l) : (int)i;
	}
	return 0;
}

static void lun_apply_opts(struct brisk_scsi_dev *dev, int id, const struct lun_opts *o)
{
	brisk_scsi_lun_set_write_protect(brisk_scsi_dev_get_lun(dev, id), o->write_protect);
	brisk_scsi_lun_set_removable(brisk_scsi_dev_get_lun(dev, id), o->removable);
}

static int node_create(struct rpc_node *p, char *err, size_t errlen)
{
	const char *names[BRISK_SCSI_DEV_MAX_LUN];
	int ids[BRISK_SCSI_DEV_MAX_LUN], nl = 0;
	struct lun_opts lo[BRISK_SCSI_DEV_MAX_LUN];
	struct iscsi_tgt_node *n = calloc(1, sizeof(*n));
	struct iscsi_auth a = {p->disable_chap, p->require_chap, p->mutual_chap, p->chap_group};

	if (n == NULL) {
		return -ENOMEM;
	}
	iscsi_tgt_node_full_name(p->name, n->name, sizeof(n->name));
	if (!iscsi_name_valid(n->name) || iscsi_tgt_node_find(p->name) != NULL) {
		snprintf(err, errlen, "name: '%.200s' is not a valid iSCSI name or already exists", n->name);
		goto fail;
	}
	if (p->queue_depth < 1 || p->queue_depth > g_iscsi.opts.max_queue_depth) {
		snprintf(err, errlen, "queue_depth must be 1..%u (max_queue_depth)", g_iscsi.opts.max_queue_depth);
		goto fail;
	}
	if (iscsi_auth_check(&a, err, errlen) != 0 ||
	    parse_maps(p->pg_ig_maps, n->maps, &n->num_maps, err, errlen) != 0 ||
	    parse_luns(p->luns, names, ids, lo, &nl, err, errlen) != 0) {
		goto fail;
	}
	if (p->alias_name != NULL && brisk_strlcpy(n->alias, p->alias_name, sizeof(n->alias)) >= sizeof(n->alias)) {
		snprintf(err, errlen, "alias_name is longer than %d bytes", ISCSI_ALIAS_MAX);
		goto fail;
	}
	brisk_strlcpy(n->short_name, p->name, sizeof(n->short_name));
	n->dev = brisk_scsi_dev_construct(n->name, names, ids, nl, iscsi_tgt_node_lun_gone, n);
	if (n->dev == NULL) {
		snprintf(err, errlen, "luns: cannot build the SCSI device (a bdev missing, or a bad lun_id; see the log)");
		goto fail;
	}
	for (int i = 0; i < nl; i++) {
		lun_apply_opts(n->dev, ids[i], &lo[i]);
	}
	n->queue_depth = p->queue_depth;
	n->auth = a;
	n->header_digest = p->header_digest;
	n->data_digest = p->data_digest;
	TAILQ_INSERT_TAIL(&g_iscsi.nodes, n, link);
	return 0;
fail:
	free(n);
	return -EINVAL;
}

static void rpc_iscsi_create_target_node(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_node p = {0};
	char err[256];

	if (brisk_json_decode_object(params, g_node_decoders, BRISK_COUNTOF(g_node_decoders), &p, err,
				     sizeof(err)) != 0 || node_create(&p, err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
	} else {
		brisk_jsonrpc_send_bool_response(req, true);
	}
	brisk_json_free_object(g_node_decoders, BRISK_COUNTOF(g_node_decoders), &p);
}
BRISK_RPC_REGISTER("iscsi_create_target_node", rpc_iscsi_create_target_node, BRISK_RPC_RUNTIME)

static struct iscsi_tgt_node *decode_node(struct brisk_jsonrpc_request *req, const json_t *params,
		const struct brisk_json_object_decoder *d, size_t nd, void *out, char **name)
{
	struct iscsi_tgt_node *n;
	char err[256];

	if (brisk_json_decode_object(params, d, nd, out, err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		return NULL;
	}
	n = iscsi_tgt_node_find(*name);
	if (n == NULL) {
		brisk_jsonrpc_invalid_params(req, "target node %s does not exist", *name);
	}
	return n;
}

struct rpc_name {
	char *name;
};

static void rpc_iscsi_delete_target_node(struct brisk_jsonrpc_request *req, const json_t *params)
{
	const struct brisk_json_object_decoder d[] = {{"name", 0, brisk_json_decode_string, false}};
	struct rpc_name p = {0};
	struct iscsi_tgt_node *n = decode_node(req, params, d, 1, &p, &p.name);

	int rc;

	if (n != NULL && n->deleting) {
		brisk_jsonrpc_send_error_response_fmt(req, -EBUSY, "target node %s is being deleted", n->name);
	} else if (n != NULL && __atomic_load_n(&n->num_sessions, __ATOMIC_SEQ_CST) > 0) {
		/* Answered once the sessions have logged out (or been dropped). */
		rc = iscsi_async_node_delete(n, req);
		if (rc != 0) {
			brisk_jsonrpc_send_error_response_fmt(req, rc, "target node %s: %s", n->name, strerror(-rc));
		}
	} else if (n != NULL) {
		iscsi_tgt_node_destroy(n);
		brisk_jsonrpc_send_bool_response(req, true);
	}
	brisk_json_free_object(d, 1, &p);
}
BRISK_RPC_REGISTER("iscsi_delete_target_node", rpc_iscsi_delete_target_node, BRISK_RPC_RUNTIME)

static void rpc_iscsi_get_target_nodes(struct brisk_jsonrpc_request *req, const json_t *params)
{
	json_t *a = json_array();
	struct iscsi_tgt_node *n;

	TAILQ_FOREACH(n, &g_iscsi.nodes, link) {
		json_array_append_new(a, iscsi_node_json(n));
	}
	brisk_jsonrpc_send_result(req, a);
}
BRISK_RPC_REGISTER("iscsi_get_target_nodes", rpc_iscsi_get_target_nodes, BRISK_RPC_RUNTIME)

struct rpc_add_lun {
	char *name;
	char *bdev_name;
	int32_t lun_id;
	struct lun_opts o;
};

static void rpc_iscsi_target_node_add_lun(struct brisk_jsonrpc_request *req, const json_t *params)
{
	const struct brisk_json_object_decoder d[] = {
		{ "name", offsetof(struct rpc_add_lun, name), brisk_json_decode_string, false },
		{ "bdev_name", offsetof(struct rpc_add_lun, bdev_name), brisk_json_decode_string, false },
		{ "lun_id", offsetof(struct rpc_add_lun, lun_id), brisk_json_decode_int32, true },
		{ "write_protect", offsetof(struct rpc_add_lun, o.write_protect), brisk_json_decode_bool, true },
		{ "removable", offsetof(struct rpc_add_lun, o.removable), brisk_json_decode_bool, true },
	};
	struct rpc_add_lun p = {.lun_id = -1};
	struct iscsi_tgt_node *n = decode_node(req, params, d, 5, &p, &p.name);
	int rc;

	if (n != NULL) {
		rc = brisk_scsi_dev_add_lun(n->dev, p.bdev_name, p.lun_id, iscsi_tgt_node_lun_gone, n);
		if (rc < 0) {
			brisk_jsonrpc_invalid_params(req, "cannot add bdev %s as LUN %d: %s", p.bdev_name, p.lun_id,
						     strerror(-rc));
		} else {
			lun_apply_opts(n->dev, rc, &p.o);
			iscsi_async_luns_changed(n, rc);
			brisk_jsonrpc_send_bool_response(req, true);
		}
	}
	brisk_json_free_object(d, 5, &p);
}
BRISK_RPC_REGISTER("iscsi_target_node_add_lun", rpc_iscsi_target_node_add_lun, BRISK_RPC_RUNTIME)

struct rpc_maps {
	char *name;
	json_t *pg_ig_maps;
};

static void maps_common(struct brisk_jsonrpc_request *req, const json_t *params, bool add)
{
	const struct brisk_json_object_decoder d[] = {
		{"name", offsetof(struct rpc_maps, name), brisk_json_decode_string, false},
		{"pg_ig_maps", offsetof(struct rpc_maps, pg_ig_maps), brisk_json_decode_json, false},
	};
	static struct iscsi_pg_ig_map maps[ISCSI_MAX_MAPS];
	struct rpc_maps p = {0};
	struct iscsi_tgt_node *n = decode_node(req, params, d, 2, &p, &p.name);
	uint32_t nm = 0;
	char err[256];

	if (n == NULL) {
		goto out;
	}
	if (parse_maps(p.pg_ig_maps, maps, &nm, err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	if (add ? iscsi_node_maps_add(n, maps, nm, err, sizeof(err)) : iscsi_node_maps_remove(n, maps, nm, err,
			sizeof(err))) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	brisk_jsonrpc_send_bool_response(req, true);
out:
	brisk_json_free_object(d, 2, &p);
}

static void rpc_iscsi_target_node_add_pg_ig_maps(struct brisk_jsonrpc_request *req, const json_t *params)
{
	maps_common(req, params, true);
}
BRISK_RPC_REGISTER("iscsi_target_node_add_pg_ig_maps", rpc_iscsi_target_node_add_pg_ig_maps, BRISK_RPC_RUNTIME)

static void rpc_iscsi_target_node_remove_pg_ig_maps(struct brisk_jsonrpc_request *req, const json_t *params)
{
	maps_common(req, params, false);
}
BRISK_RPC_REGISTER("iscsi_target_node_remove_pg_ig_maps", rpc_iscsi_target_node_remove_pg_ig_maps,
		   BRISK_RPC_RUNTIME)

/* ---- CHAP settings ---- */

struct rpc_auth {
	char *name;
	struct iscsi_auth a;
};

#define A(f, fn) {#f, offsetof(struct rpc_auth, a.f), fn, true}
static const struct brisk_json_object_decoder g_auth_decoders[] = {
	{"name", offsetof(struct rpc_auth, name), brisk_json_decode_string, false},
	A(disable_chap, brisk_json_decode_bool),
	A(require_chap, brisk_json_decode_bool),
	A(mutual_chap, brisk_json_decode_bool),
	A(chap_group, brisk_json_decode_int32),
};
#undef A

static void rpc_iscsi_target_node_set_auth(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_auth p = {0};
	struct iscsi_tgt_node *n = decode_node(req, params, g_auth_decoders, BRISK_COUNTOF(g_auth_decoders), &p,
					       &p.name);
	char err[256];

	if (n != NULL && iscsi_auth_check(&p.a, err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
	} else if (n != NULL) {
		n->auth = p.a;
		brisk_jsonrpc_send_bool_response(req, true);
	}
	brisk_json_free_object(g_auth_decoders, BRISK_COUNTOF(g_auth_decoders), &p);
}
BRISK_RPC_REGISTER("iscsi_target_node_set_auth", rpc_iscsi_target_node_set_auth, BRISK_RPC_RUNTIME)

static void rpc_iscsi_set_discovery_auth(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_auth p = {0};
	char err[256];

	if (brisk_json_decode_object(params, g_auth_decoders + 1, BRISK_COUNTOF(g_auth_decoders) - 1, &p, err,
				     sizeof(err)) != 0 || iscsi_auth_check(&p.a, err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		return;
	}
	g_iscsi.discovery_auth = p.a;
	g_iscsi.discovery_auth_set = true;
	brisk_jsonrpc_send_bool_response(req, true);
}
BRISK_RPC_REGISTER("iscsi_set_discovery_auth", rpc_iscsi_set_discovery_auth, BRISK_RPC_RUNTIME)

/* ---- auth groups ---- */

static int secret_parse(const json_t *v, struct iscsi_secret *s, char *err, size_t errlen)
{
	const char *f[4] = {"user", "secret", "muser", "msecret"};
	char *dst[4] = {s->user, s->secret, s->muser, s->msecret};

	memset(s, 0, sizeof(*s));
	for (int i = 0; i < 4; i++) {
		json_t *x = json_object_get(v, f[i]);

		if (x == NULL && i < 2) {
			snprintf(err, errlen, "%s is required", f[i]);
			return -EINVAL;
		}
		if (x != NULL && (!json_is_string(x) || json_string_length(x) == 0 ||
				  json_string_length(x) > ISCSI_CHAP_SECRET_MAX)) {
			snprintf(err, errlen, "%s must be a string of 1..%d bytes", f[i], ISCSI_CHAP_SECRET_MAX);
			return -EINVAL;
		}
		if (x != NULL) {
			brisk_strlcpy(dst[i], json_string_value(x), ISCSI_CHAP_SECRET_MAX + 1);
		}
	}
	if ((s->muser[0] == '\0') != (s->msecret[0] == '\0')) {
		snprintf(err, errlen, "muser and msecret go together");
		return -EINVAL;
	}
	return 0;
}

static int ag_add_secret(struct iscsi_auth_grp *ag, const json_t *v, char *err, size_t errlen)
{
	struct iscsi_secret s;

	if (secret_parse(v, &s, err, errlen) != 0) {
		return -EINVAL;
	}
	if (iscsi_auth_grp_find_user(ag, s.user) != NULL || ag->num_secrets == ISCSI_MAX_SECRETS) {
		snprintf(err, errlen, "user %.100s is already in auth group %d, or the group is full", s.user, ag->tag);
		return -EEXIST;
	}
	ag->secrets[ag->num_secrets++] = s;
	return 0;
}

static void rpc_iscsi_create_auth_group(struct brisk_jsonrpc_request *req, const json_t *params)
{
	json_t *tag = json_object_get(params, "tag"), *secrets = json_object_get(params, "secrets"), *v;
	struct iscsi_auth_grp *ag;
	char err[256] = "";
	size_t i;

	if (!json_is_integer(tag) || json_integer_value(tag) < 1 || json_integer_value(tag) > 65535 ||
	    iscsi_auth_grp_find((int)json_integer_value(tag)) != NULL || (secrets && !json_is_array(secrets))) {
		brisk_jsonrpc_invalid_params(req, "tag must be a new 1..65535 and secrets an array");
		return;
	}
	ag = calloc(1, sizeof(*ag));
	if (ag == NULL) {
		brisk_jsonrpc_send_error_response(req, -ENOMEM, "out of memory");
		return;
	}
	ag->tag = (int)json_integer_value(tag);
	json_array_foreach(secrets, i, v) {
		if (ag_add_secret(ag, v, err, sizeof(err)) != 0) {
			brisk_jsonrpc_invalid_params(req, "secrets[%zu]: %s", i, err);
			free(ag);
			return;
		}
	}
	TAILQ_INSERT_TAIL(&g_iscsi.ags, ag, link);
	brisk_jsonrpc_send_bool_response(req, true);
}
BRISK_RPC_REGISTER("iscsi_create_auth_group", rpc_iscsi_create_auth_group, BRISK_RPC_RUNTIME)

static bool ag_in_use(int tag)
{
	struct iscsi_tgt_node *n;

	if (g_iscsi.discovery_auth.chap_group == tag || g_iscsi.opts.chap_group == tag) {
		return true;
	}
	TAILQ_FOREACH(n, &g_iscsi.nodes, link) {
		if (n->auth.chap_group == tag) {
			return true;
		}
	}
	return false;
}

static struct iscsi_auth_grp *ag_from_params(struct brisk_jsonrpc_request *req, const json_t *params)
{
	json_t *tag = json_object_get(params, "tag");
	struct iscsi_auth_grp *ag = json_is_integer(tag) ? iscsi_auth_grp_find((int)json_integer_value(tag)) : NULL;

	if (ag == NULL) {
		brisk_jsonrpc_invalid_params(req, "tag: no such auth group");
	}
	return ag;
}

static void rpc_iscsi_delete_auth_group(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct iscsi_auth_grp *ag = ag_from_params(req, params);

	if (ag != NULL && ag_in_use(ag->tag)) {
		brisk_jsonrpc_invalid_params(req, "auth group %d is in use", ag->tag);
	} else if (ag != NULL) {
		TAILQ_REMOVE(&g_iscsi.ags, ag, link);
		free(ag);
		brisk_jsonrpc_send_bool_response(req, true);
	}
}
BRISK_RPC_REGISTER("iscsi_delete_auth_group", rpc_iscsi_delete_auth_group, BRISK_RPC_RUNTIME)

static void rpc_iscsi_auth_group_add_secret(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct iscsi_auth_grp *ag = ag_from_params(req, params);
	char err[256];

	if (ag != NULL && ag_add_secret(ag, params, err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
	} else if (ag != NULL) {
		brisk_jsonrpc_send_bool_response(req, true);
	}
}
BRISK_RPC_REGISTER("iscsi_auth_group_add_secret", rpc_iscsi_auth_group_add_secret, BRISK_RPC_RUNTIME)

static void rpc_iscsi_auth_group_remove_secret(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct iscsi_auth_grp *ag = ag_from_params(req, params);
	json_t *user = json_object_get(params, "user");

	if (ag == NULL) {
		return;
	}
	for (uint32_t i = 0; json_is_string(user) && i < ag->num_secrets; i++) {
		if (strcmp(ag->secrets[i].user, json_string_value(user)) == 0) {
			ag->secrets[i] = ag->secrets[--ag->num_secrets];
			brisk_jsonrpc_send_bool_response(req, true);
			return;
		}
	}
	brisk_jsonrpc_invalid_params(req, "user: not in auth group %d", ag->tag);
}
BRISK_RPC_REGISTER("iscsi_auth_group_remove_secret", rpc_iscsi_auth_group_remove_secret, BRISK_RPC_RUNTIME)

static void rpc_iscsi_get_auth_groups(struct brisk_jsonrpc_request *req, const json_t *params)
{
	json_t *a = json_array();
	struct iscsi_auth_grp *ag;

	TAILQ_FOREACH(ag, &g_iscsi.ags, link) {
		json_array_append_new(a, iscsi_ag_json(ag));
	}
	brisk_jsonrpc_send_result(req, a);
}
BRISK_RPC_REGISTER("iscsi_get_auth_groups", rpc_iscsi_get_auth_groups, BRISK_RPC_RUNTIME)

/* ---- iscsi_get_connections: each poll group thread adds its own ---- */

struct conns_ctx {
	struct brisk_jsonrpc_request *req;
	json_t *arr;
	uint32_t next;
};

static json_t *conn_json(const struct iscsi_conn *c)
{
	return json_pack("{s:i, s:i, s:i, s:i, s:s, s:s, s:s, s:s, s:s}", "id", (json_int_t)c->id, "cid",
			 (json_int_t)c->cid, "tsih", (json_int_t)(c->sess ? c->sess->tsih : 0), "lcore_id",
			 (json_int_t)(c->pg ? c->pg->index : 0), "initiator_addr", c->peer_host, "target_addr",
			 c->local_host, "target_node_name", c->target, "initiator_node_name", c->initiator,
			 "thread_name", c->pg ? "iscsi_poll_group" : "app_thread");
}

static void conns_next(void *arg);

static void conns_on_pg(void *arg)
{
	struct conns_ctx *x = arg;
	struct iscsi_poll_group *pg = &g_iscsi.pollgroups[x->next];
	struct iscsi_conn *c;

	TAILQ_FOREACH(c, &pg->conns, link) {
		if (c->state == ISCSI_CONN_FFP) {
			json_array_append_new(x->arr, conn_json(c));
		}
	}
	x->next++;
	brisk_thread_send_msg(g_iscsi.app_thread, conns_next, x);
}

static void conns_next(void *arg)
{
	struct conns_ctx *x = arg;

	if (x->next < g_iscsi.num_pollgroups) {
		brisk_thread_send_msg(g_iscsi.pollgroups[x->next].thread, conns_on_pg, x);
		return;
	}
	brisk_jsonrpc_send_result(x->req, x->arr);
	free(x);
}

static void rpc_iscsi_get_connections(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct conns_ctx *x = calloc(1, sizeof(*x));
	struct iscsi_conn *c;

	if (x == NULL) {
		brisk_jsonrpc_send_error_response(req, -ENOMEM, "out of memory");
		return;
	}
	x->req = req;
	x->arr = json_array();
	TAILQ_FOREACH(c, &g_iscsi.login_conns, link) {
		if (c->state == ISCSI_CONN_FFP) {
			json_array_append_new(x->arr, conn_json(c));
		}
	}
	conns_next(x);
}
BRISK_RPC_REGISTER("iscsi_get_connections", rpc_iscsi_get_connections, BRISK_RPC_RUNTIME)
