/*
 * JSON views of the configuration (the iscsi_get_* results, SPDK's field
 * names) and save_config's list of calls that recreate it: options, then
 * portal groups, initiator groups, auth groups, discovery auth, and
 * target nodes (which refer to all of those).
 */
#include <string.h>

#include "iscsi_rpc.h"

json_t *iscsi_opts_json(const struct brisk_iscsi_opts *o)
{
	json_t *j = json_object();

	json_object_set_new(j, "node_base", json_string(o->node_base));
	json_object_set_new(j, "nop_timeout", json_integer(o->nop_timeout));
	json_object_set_new(j, "nop_in_interval", json_integer(o->nop_in_interval));
	json_object_set_new(j, "disable_chap", json_boolean(o->disable_chap));
	json_object_set_new(j, "require_chap", json_boolean(o->require_chap));
	json_object_set_new(j, "mutual_chap", json_boolean(o->mutual_chap));
	json_object_set_new(j, "chap_group", json_integer(o->chap_group));
	json_object_set_new(j, "max_sessions", json_integer(o->max_sessions));
	json_object_set_new(j, "max_connections_per_session", json_integer(o->max_connections_per_session));
	json_object_set_new(j, "max_queue_depth", json_integer(o->max_queue_depth));
	json_object_set_new(j, "default_time2wait", json_integer(o->default_time2wait));
	json_object_set_new(j, "default_time2retain", json_integer(o->default_time2retain));
	json_object_set_new(j, "first_burst_length", json_integer(o->first_burst_length));
	json_object_set_new(j, "immediate_data", json_boolean(o->immediate_data));
	json_object_set_new(j, "error_recovery_level", json_integer(o->error_recovery_level));
	json_object_set_new(j, "allow_duplicated_isid", json_boolean(o->allow_duplicated_isid));
	json_object_set_new(j, "max_large_datain_per_connection", json_integer(o->max_large_datain_per_connection));
	json_object_set_new(j, "max_r2t_per_connection", json_integer(o->max_r2t_per_connection));
	json_object_set_new(j, "pdu_pool_size", json_integer(o->pdu_pool_size));
	json_object_set_new(j, "immediate_data_pool_size", json_integer(o->immediate_data_pool_size));
	json_object_set_new(j, "data_out_pool_size", json_integer(o->data_out_pool_size));
	json_object_set_new(j, "max_recv_data_segment_length", json_integer(o->max_recv_data_segment_length));
	json_object_set_new(j, "max_burst_length", json_integer(o->max_burst_length));
	return j;
}

json_t *iscsi_pg_json(const struct iscsi_portal_grp *pg)
{
	const struct iscsi_portal *p;
	json_t *a = json_array();

	TAILQ_FOREACH(p, &pg->portals, link) {
		json_array_append_new(a, json_pack("{s:s, s:s}", "host", p->host, "port", p->port));
	}
	return json_pack("{s:i, s:o, s:b}", "tag", (json_int_t)pg->tag, "portals", a, "private", pg->is_private);
}

static json_t *str_array(char *const *list, uint32_t n)
{
	json_t *a = json_array();

	for (uint32_t i = 0; i < n; i++) {
		json_array_append_new(a, json_string(list[i]));
	}
	return a;
}

json_t *iscsi_ig_json(const struct iscsi_init_grp *ig)
{
	return json_pack("{s:i, s:o, s:o}", "tag", (json_int_t)ig->tag, "initiators",
			 str_array(ig->names, ig->num_names), "netmasks", str_array(ig->netmasks, ig->num_netmasks));
}

json_t *iscsi_ag_json(const struct iscsi_auth_grp *ag)
{
	json_t *a = json_array();

	for (uint32_t i = 0; i < ag->num_secrets; i++) {
		const struct iscsi_secret *s = &ag->secrets[i];
		json_t *o = json_pack("{s:s, s:s}", "user", s->user, "secret", s->secret);

		if (s->muser[0] != '\0') {
			json_object_set_new(o, "muser", json_string(s->muser));
			json_object_set_new(o, "msecret", json_string(s->msecret));
		}
		json_array_append_new(a, o);
	}
	return json_pack("{s:i, s:o}", "tag", (json_int_t)ag->tag, "secrets", a);
}

static json_t *auth_into(json_t *o, const struct iscsi_auth *a)
{
	json_object_set_new(o, "disable_chap", json_boolean(a->disable_chap));
	json_object_set_new(o, "require_chap", json_boolean(a->require_chap));
	json_object_set_new(o, "mutual_chap", json_boolean(a->mutual_chap));
	json_object_set_new(o, "chap_group", json_integer(a->chap_group));
	return o;
}

static json_t *node_luns(const struct iscsi_tgt_node *n)
{
	json_t *a = json_array();
	struct brisk_scsi_lun *l;

	for (l = brisk_scsi_dev_get_first_lun(n->dev); l != NULL; l = brisk_scsi_dev_get_next_lun(l)) {
		json_t *o = json_pack("{s:s, s:i}", "bdev_name", brisk_scsi_lun_get_bdev_name(l), "lun_id",
				      (json_int_t)brisk_scsi_lun_get_id(l));

		if (brisk_scsi_lun_is_write_protected(l)) {
			json_object_set_new(o, "write_protect", json_true()); /* Brisk's option: only when set */
		}
		if (brisk_scsi_lun_is_removable(l)) {
			json_object_set_new(o, "removable", json_true()); /* likewise */
		}
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *node_maps(const struct iscsi_tgt_node *n)
{
	json_t *a = json_array();

	for (uint32_t i = 0; i < n->num_maps; i++) {
		json_array_append_new(a, json_pack("{s:i, s:i}", "pg_tag", (json_int_t)n->maps[i].pg_tag, "ig_tag",
						   (json_int_t)n->maps[i].ig_tag));
	}
	return a;
}

json_t *iscsi_node_json(const struct iscsi_tgt_node *n)
{
	json_t *o = json_pack("{s:s, s:s, s:o, s:o, s:i, s:b, s:b}", "name", n->name, "alias_name", n->alias,
			      "pg_ig_maps", node_maps(n), "luns", node_luns(n), "queue_depth",
			      (json_int_t)n->queue_depth, "header_digest", n->header_digest, "data_digest", n->data_digest);

	return auth_into(o, &n->auth);
}

static void add_call(json_t *array, const char *method, json_t *params)
{
	json_array_append_new(array, json_pack("{s:s, s:o}", "method", method, "params", params));
}

void brisk_iscsi_tgt_write_config_json(json_t *array)
{
	const struct iscsi_portal_grp *pg;
	const struct iscsi_init_grp *ig;
	const struct iscsi_auth_grp *ag;
	const struct iscsi_tgt_node *n;

	add_call(array, "iscsi_set_options", iscsi_opts_json(&g_iscsi.opts));
	TAILQ_FOREACH(pg, &g_iscsi.pgs, link) {
		add_call(array, "iscsi_create_portal_group", iscsi_pg_json(pg));
	}
	TAILQ_FOREACH(ig, &g_iscsi.igs, link) {
		add_call(array, "iscsi_create_initiator_group", iscsi_ig_json(ig));
	}
	TAILQ_FOREACH(ag, &g_iscsi.ags, link) {
		add_call(array, "iscsi_create_auth_group", iscsi_ag_json(ag));
	}
	if (g_iscsi.discovery_auth_set) {
		add_call(array, "iscsi_set_discovery_auth", auth_into(json_object(), &g_iscsi.discovery_auth));
	}
	TAILQ_FOREACH(n, &g_iscsi.nodes, link) {
		json_t *o = iscsi_node_json(n);

		json_object_set_new(o, "name", json_string(n->short_name));
		add_call(array, "iscsi_create_target_node", o);
	}
}
