/*
 * Target nodes: an iSCSI name (node_base prefixed when the given name has
 * no ':'), the portal group / initiator group pairs that may reach it, its
 * CHAP settings and digests, and the SCSI device with its LUNs. Also iSCSI
 * name syntax (RFC 7143 4.2.7: iqn., eui., naa.).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <brisk/string.h>

#include "iscsi_internal.h"

bool iscsi_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > ISCSI_NAME_MAX) {
		return false;
	}
	if (strncasecmp(name, "iqn.", 4) != 0 && strncasecmp(name, "eui.", 4) != 0 &&
	    strncasecmp(name, "naa.", 4) != 0) {
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		/* stringprep'd names: lower-case ASCII letters, digits, '-', '.', ':' (upper accepted). */
		if (!isalnum(c) && c != '-' && c != '.' && c != ':') {
			return false;
		}
	}
	return true;
}

void iscsi_tgt_node_full_name(const char *name, char *out, size_t len)
{
	if (strchr(name, ':') != NULL) {
		brisk_strlcpy(out, name, len);
	} else {
		snprintf(out, len, "%s:%s", g_iscsi.opts.node_base, name);
	}
}

struct iscsi_tgt_node *iscsi_tgt_node_find(const char *name)
{
	char full[ISCSI_NAME_MAX + 64];
	struct iscsi_tgt_node *n;

	iscsi_tgt_node_full_name(name, full, sizeof(full));
	TAILQ_FOREACH(n, &g_iscsi.nodes, link) {
		if (strcasecmp(n->name, full) == 0) {
			return n;
		}
	}
	return NULL;
}

bool iscsi_tgt_node_has_pg(const struct iscsi_tgt_node *n, int pg_tag)
{
	for (uint32_t i = 0; i < n->num_maps; i++) {
		if (n->maps[i].pg_tag == pg_tag) {
			return true;
		}
	}
	return false;
}

/* Reachable through this portal group by this initiator from this address. */
bool iscsi_tgt_node_visible(const struct iscsi_tgt_node *n, const char *initiator, const char *addr,
			    int pg_tag)
{
	for (uint32_t i = 0; i < n->num_maps; i++) {
		const struct iscsi_init_grp *ig;

		if (n->maps[i].pg_tag != pg_tag) {
			continue;
		}
		ig = iscsi_init_grp_find(n->maps[i].ig_tag);
		if (ig != NULL && iscsi_init_grp_allows(ig, initiator, addr)) {
			return true;
		}
	}
	return false;
}

static void node_dev_gone(void *ctx, int rc)
{
	(void)ctx;
	(void)rc;
}

/* A LUN's bdev went away (lib/scsi calls this on the app thread, where the
 * LUN's bdev was opened): tell the node's initiators now (AsyncEvent 0). */
void iscsi_tgt_node_lun_gone(struct brisk_scsi_lun *lun, void *ctx)
{
	iscsi_async_luns_changed(ctx, brisk_scsi_lun_get_id(lun));
}

void iscsi_tgt_node_destroy(struct iscsi_tgt_node *n)
{
	TAILQ_REMOVE(&g_iscsi.nodes, n, link);
	brisk_scsi_dev_destruct(n->dev, node_dev_gone, NULL);
	free(n);
}

static int map_index(const struct iscsi_tgt_node *n, const struct iscsi_pg_ig_map *m)
{
	for (uint32_t i = 0; i < n->num_maps; i++) {
		if (n->maps[i].pg_tag == m->pg_tag && n->maps[i].ig_tag == m->ig_tag) {
			return (int)i;
		}
	}
	return -1;
}

int iscsi_node_maps_add(struct iscsi_tgt_node *n, const struct iscsi_pg_ig_map *m, uint32_t nm, char *err,
			size_t errlen)
{
	for (uint32_t i = 0; i < nm; i++) {
		if (map_index(n, &m[i]) >= 0) {
			snprintf(err, errlen, "pg_ig_maps: %d:%d is already mapped", m[i].pg_tag, m[i].ig_tag);
			return -EEXIST;
		}
	}
	if (n->num_maps + nm > ISCSI_MAX_MAPS) {
		snprintf(err, errlen, "pg_ig_maps: at most %d per target node", ISCSI_MAX_MAPS);
		return -ENOSPC;
	}
	memcpy(n->maps + n->num_maps, m, nm * sizeof(*m));
	n->num_maps += nm;
	return 0;
}

int iscsi_node_maps_remove(struct iscsi_tgt_node *n, const struct iscsi_pg_ig_map *m, uint32_t nm, char *err,
			   size_t errlen)
{
	for (uint32_t i = 0; i < nm; i++) {
		if (map_index(n, &m[i]) < 0) {
			snprintf(err, errlen, "pg_ig_maps: %d:%d is not mapped", m[i].pg_tag, m[i].ig_tag);
			return -ENOENT;
		}
	}
	for (uint32_t i = 0; i < nm; i++) {
		int k = map_index(n, &m[i]);

		n->maps[k] = n->maps[--n->num_maps];
	}
	return 0;
}
