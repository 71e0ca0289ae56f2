/*
 * Initiator groups (names, "ANY", "!name" to refuse one; netmasks such as
 * "ANY", "127.0.0.1/32", "[::1]/128") and auth groups (CHAP user/secret
 * pairs, with the mutual pair). Both are matched at login.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <brisk/string.h>

#include "iscsi_internal.h"

struct iscsi_init_grp *iscsi_init_grp_find(int tag)
{
	struct iscsi_init_grp *ig;

	TAILQ_FOREACH(ig, &g_iscsi.igs, link) {
		if (ig->tag == tag) {
			return ig;
		}
	}
	return NULL;
}

static bool list_has(char *const list[], uint32_t n, const char *s)
{
	for (uint32_t i = 0; i < n; i++) {
		if (strcasecmp(list[i], s) == 0) {
			return true;
		}
	}
	return false;
}

/* Parses "addr/bits" (IPv6 addresses in brackets); bits defaults to all. */
static int mask_parse(const char *mask, int *af, uint8_t addr[16], uint32_t *bits)
{
	char buf[80], *slash, *a = buf;
	size_t len;

	if (brisk_strlcpy(buf, mask, sizeof(buf)) >= sizeof(buf)) {
		return -EINVAL;
	}
	slash = strrchr(buf, '/');
	if (slash != NULL) {
		*slash = '\0';
	}
	len = strlen(a);
	if (a[0] == '[' && len > 2 && a[len - 1] == ']') {
		a[len - 1] = '\0';
		a++;
	}
	*af = strchr(a, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(*af, a, addr) != 1) {
		return -EINVAL;
	}
	*bits = *af == AF_INET6 ? 128 : 32;
	if (slash != NULL) {
		uint32_t b;

		if (brisk_parse_u32(slash + 1, 10, &b) != 0 || b > *bits) {
			return -EINVAL;
		}
		*bits = b;
	}
	return 0;
}

static bool mask_valid(const char *mask)
{
	int af;
	uint8_t a[16];
	uint32_t bits;

	return strcasecmp(mask, "ANY") == 0 || mask_parse(mask, &af, a, &bits) == 0;
}

static bool mask_matches(const char *mask, const char *host)
{
	uint8_t m[16], h[16];
	uint32_t bits;
	int af;

	if (strcasecmp(mask, "ANY") == 0) {
		return true;
	}
	if (mask_parse(mask, &af, m, &bits) != 0 || inet_pton(af, host, h) != 1) {
		return false;
	}
	for (uint32_t i = 0; i < bits; i++) {
		uint8_t bit = 0x80 >> (i % 8);

		if ((m[i / 8] & bit) != (h[i / 8] & bit)) {
			return false;
		}
	}
	return true;
}

bool iscsi_init_grp_allows(const struct iscsi_init_grp *ig, const char *name, const char *addr)
{
	bool name_ok = false, addr_ok = false;

	for (uint32_t i = 0; i < ig->num_names; i++) {
		const char *n = ig->names[i];

		if (n[0] == '!' && (strcasecmp(n + 1, name) == 0 || strcasecmp(n + 1, "ANY") == 0)) {
			return false;
		}
		name_ok |= strcasecmp(n, "ANY") == 0 || strcasecmp(n, name) == 0;
	}
	for (uint32_t i = 0; i < ig->num_netmasks; i++) {
		addr_ok |= mask_matches(ig->netmasks[i], addr);
	}
	return name_ok && addr_ok;
}

static int add_list(char *list[], uint32_t *n, char *const add[], uint32_t na)
{
	for (uint32_t i = 0; i < na; i++) {
		if (list_has(list, *n, add[i])) {
			continue;
		}
		list[*n] = strdup(add[i]);
		if (list[*n] == NULL) {
			return -ENOMEM;
		}
		(*n)++;
	}
	return 0;
}

int iscsi_init_grp_add(struct iscsi_init_grp *ig, char *const names[], uint32_t nn, char *const masks[],
		       uint32_t nm, char *err, size_t errlen)
{
	for (uint32_t i = 0; i < nn; i++) {
		const char *n = names[i][0] == '!' ? names[i] + 1 : names[i];

		if (strcasecmp(n, "ANY") != 0 && !iscsi_name_valid(n)) {
			snprintf(err, errlen, "initiators: '%s' is not an iSCSI name", names[i]);
			return -EINVAL;
		}
	}
	for (uint32_t i = 0; i < nm; i++) {
		if (!mask_valid(masks[i])) {
			snprintf(err, errlen, "netmasks: '%s' is not ANY or address[/bits]", masks[i]);
			return -EINVAL;
		}
	}
	if (ig->num_names + nn > ISCSI_MAX_IG_NAMES || ig->num_netmasks + nm > ISCSI_MAX_IG_NAMES) {
		snprintf(err, errlen, "at most %d initiators and netmasks per group", ISCSI_MAX_IG_NAMES);
		return -EINVAL;
	}
	if (add_list(ig->names, &ig->num_names, names, nn) != 0 ||
	    add_list(ig->netmasks, &ig->num_netmasks, masks, nm) != 0) {
		return -ENOMEM;
	}
	return 0;
}

static void remove_one(char *list[], uint32_t *n, const char *s)
{
	for (uint32_t i = 0; i < *n; i++) {
		if (strcasecmp(list[i], s) == 0) {
			free(list[i]);
			list[i] = list[--(*n)];
			return;
		}
	}
}

int iscsi_init_grp_remove(struct iscsi_init_grp *ig, char *const names[], uint32_t nn, char *const masks[],
			  uint32_t nm, char *err, size_t errlen)
{
	for (uint32_t i = 0; i < nn; i++) {
		if (!list_has(ig->names, ig->num_names, names[i])) {
			snprintf(err, errlen, "initiators: '%s' is not in group %d", names[i], ig->tag);
			return -ENOENT;
		}
	}
	for (uint32_t i = 0; i < nm; i++) {
		if (!list_has(ig->netmasks, ig->num_netmasks, masks[i])) {
			snprintf(err, errlen, "netmasks: '%s' is not in group %d", masks[i], ig->tag);
			return -ENOENT;
		}
	}
	for (uint32_t i = 0; i < nn; i++) {
		remove_one(ig->names, &ig->num_names, names[i]);
	}
	for (uint32_t i = 0; i < nm; i++) {
		remove_one(ig->netmasks, &ig->num_netmasks, masks[i]);
	}
	return 0;
}

void iscsi_init_grp_free(struct iscsi_init_grp *ig)
{
	for (uint32_t i = 0; i < ig->num_names; i++) {
		free(ig->names[i]);
	}
	for (uint32_t i = 0; i < ig->num_netmasks; i++) {
		free(ig->netmasks[i]);
	}
	free(ig);
}

struct iscsi_auth_grp *iscsi_auth_grp_find(int tag)
{
	struct iscsi_auth_grp *ag;

	TAILQ_FOREACH(ag, &g_iscsi.ags, link) {
		if (ag->tag == tag) {
			return ag;
		}
	}
	return NULL;
}

const struct iscsi_secret *iscsi_auth_grp_find_user(const struct iscsi_auth_grp *ag, const char *user)
{
	for (uint32_t i = 0; ag != NULL && i < ag->num_secrets; i++) {
		if (strcmp(ag->secrets[i].user, user) == 0) {
			return &ag->secrets[i];
		}
	}
	return NULL;
}

int iscsi_auth_check(const struct iscsi_auth *a, char *err, size_t errlen)
{
	if (a->disable_chap && (a->require_chap || a->mutual_chap)) {
		snprintf(err, errlen, "disable_chap excludes require_chap and mutual_chap");
		return -EINVAL;
	}
	if (a->mutual_chap && !a->require_chap) {
		snprintf(err, errlen, "mutual_chap needs require_chap");
		return -EINVAL;
	}
	if (a->chap_group < 0 || (a->chap_group > 0 && iscsi_auth_grp_find(a->chap_group) == NULL)) {
		snprintf(err, errlen, "chap_group %d does not exist", a->chap_group);
		return -ENOENT;
	}
	return 0;
}
