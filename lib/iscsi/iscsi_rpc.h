/*
 * Shared by the iscsi_* RPC files and save_config: the JSON views of the
 * configuration objects and a string-array decoder.
 */
#ifndef BRISK_ISCSI_RPC_H
#define BRISK_ISCSI_RPC_H

#include <jansson.h>

#include "iscsi_internal.h"

json_t *iscsi_opts_json(const struct brisk_iscsi_opts *o);
json_t *iscsi_pg_json(const struct iscsi_portal_grp *pg);
json_t *iscsi_ig_json(const struct iscsi_init_grp *ig);
json_t *iscsi_ag_json(const struct iscsi_auth_grp *ag);
json_t *iscsi_node_json(const struct iscsi_tgt_node *n);
int iscsi_rpc_strings(const json_t *arr, const char *field, char **list, uint32_t max, uint32_t *n, char *err,
		      size_t errlen);

#endif
