/*
 * Transport IDs as strings: "trtype:PCIe traddr:0000:00:04.0" and the
 * fabrics form with adrfam, trsvcid and subnqn. Parsing, formatting and
 * comparison. PCI addresses are stored in their canonical form so that the
 * spellings users type ("00:04.0", fio's "0000.00.04.0") compare equal.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <brisk/pci.h>
#include <brisk/string.h>

#include "nvme_internal.h"

#define NVME_TRID_KEY_MAX 32

const char *brisk_nvme_transport_id_trtype_str(enum brisk_nvme_transport_type trtype)
{
	const struct nvme_transport_ops *ops;

	switch (trtype) {
	case BRISK_NVME_TRANSPORT_PCIE:
		return "PCIe";
	case BRISK_NVME_TRANSPORT_TCP:
		return "TCP";
	default:
		ops = nvme_transport_get(trtype);
		return ops != NULL ? ops->name : NULL;
	}
}

static int trid_parse_trtype(struct brisk_nvme_transport_id *trid, const char *val)
{
	const struct nvme_transport_ops *ops;

	if (strcasecmp(val, "PCIe") == 0) {
		trid->trtype = BRISK_NVME_TRANSPORT_PCIE;
	} else if (strcasecmp(val, "TCP") == 0) {
		trid->trtype = BRISK_NVME_TRANSPORT_TCP;
	} else if ((ops = nvme_transport_get_by_name(val)) != NULL) {
		trid->trtype = ops->trtype;
	} else {
		BRISK_ERRLOG("transport ID: unknown trtype '%s' (PCIe or TCP)\n", val);
		return -EINVAL;
	}
	return 0;
}

static int trid_parse_adrfam(struct brisk_nvme_transport_id *trid, const char *val)
{
	if (strcasecmp(val, "IPv4") == 0) {
		trid->adrfam = BRISK_NVMF_ADRFAM_IPV4;
	} else if (strcasecmp(val, "IPv6") == 0) {
		trid->adrfam = BRISK_NVMF_ADRFAM_IPV6;
	} else {
		BRISK_ERRLOG("transport ID: unknown adrfam '%s' (IPv4 or IPv6)\n", val);
		return -EINVAL;
	}
	return 0;
}

static int trid_copy_field(char *dst, size_t size, const char *key, const char *val)
{
	if (strlen(val) >= size) {
		BRISK_ERRLOG("transport ID: %s '%s' is longer than %zu characters\n", key, val,
			     size - 1);
		return -EINVAL;
	}
	brisk_strlcpy(dst, val, size);
	return 0;
}

static int trid_parse_kv(struct brisk_nvme_transport_id *trid, const char *key, const char *val)
{
	if (strcasecmp(key, "trtype") == 0) {
		return trid_parse_trtype(trid, val);
	} else if (strcasecmp(key, "adrfam") == 0) {
		return trid_parse_adrfam(trid, val);
	} else if (strcasecmp(key, "traddr") == 0) {
		return trid_copy_field(trid->traddr, sizeof(trid->traddr), key, val);
	} else if (strcasecmp(key, "trsvcid") == 0) {
		return trid_copy_field(trid->trsvcid, sizeof(trid->trsvcid), key, val);
	} else if (strcasecmp(key, "subnqn") == 0) {
		return trid_copy_field(trid->subnqn, sizeof(trid->subnqn), key, val);
	}
	BRISK_ERRLOG("transport ID: unknown key '%s' (trtype, adrfam, traddr, trsvcid, subnqn)\n",
		     key);
	return -EINVAL;
}

/* Splits one "key:value" or "key=value" word; the value may hold ':'. */
static int trid_parse_word(struct brisk_nvme_transport_id *trid, const char *word, size_t len,
			   char *val)
{
	char key[NVME_TRID_KEY_MAX];
	size_t klen = strcspn(word, ":=");

	if (klen >= len || klen == 0 || klen >= sizeof(key)) {
		BRISK_ERRLOG("transport ID: '%.*s' is not key:value\n", (int)len, word);
		return -EINVAL;
	}
	memcpy(key, word, klen);
	key[klen] = '\0';
	memcpy(val, word + klen + 1, len - klen - 1);
	val[len - klen - 1] = '\0';
	if (val[0] == '\0') {
		BRISK_ERRLOG("transport ID: %s has no value\n", key);
		return -EINVAL;
	}
	return trid_parse_kv(trid, key, val);
}

/* PCIe addresses in canonical form; other types keep what was given. */
static int trid_normalize(struct brisk_nvme_transport_id *trid)
{
	struct brisk_pci_addr addr;

	if (trid->trtype != BRISK_NVME_TRANSPORT_PCIE || trid->traddr[0] == '\0') {
		return 0;
	}
	if (brisk_pci_addr_parse(&addr, trid->traddr) != 0) {
		BRISK_ERRLOG("transport ID: traddr '%s' is not a PCI address\n", trid->traddr);
		return -EINVAL;
	}
	return brisk_pci_addr_fmt(trid->traddr, sizeof(trid->traddr), &addr);
}

/* Each space-separated word in turn, into tmp. */
static int trid_parse_words(struct brisk_nvme_transport_id *tmp, const char *p)
{
	char val[BRISK_NVMF_TRADDR_MAX_LEN + 2];

	while (*p != '\0') {
		size_t len;
		int rc;

		while (isspace((unsigned char)*p)) {
			p++;
		}
		len = strcspn(p, " \t\n");
		if (len == 0) {
			break;
		}
		if (len - 1 >= sizeof(val)) {
			BRISK_ERRLOG("transport ID: '%.20s...' is too long\n", p);
			return -EINVAL;
		}
		rc = trid_parse_word(tmp, p, len, val);
		if (rc != 0) {
			return rc;
		}
		p += len;
	}
	return 0;
}

int brisk_nvme_transport_id_parse(struct brisk_nvme_transport_id *trid, const char *str)
{
	struct brisk_nvme_transport_id tmp;
	int rc;

	if (trid == NULL || str == NULL) {
		return -EINVAL;
	}
	tmp = *trid;
	rc = trid_parse_words(&tmp, str);
	if (rc == 0) {
		rc = trid_normalize(&tmp);
	}
	if (rc == 0) {
		*trid = tmp; /* all or nothing */
	}
	return rc;
}

static int trid_append(char *buf, size_t len, size_t *off, const char *key, const char *val)
{
	int n;

	if (val == NULL || val[0] == '\0') {
		return 0;
	}
	n = snprintf(buf + *off, len - *off, "%s%s:%s", *off ? " " : "", key, val);
	if (n < 0 || (size_t)n >= len - *off) {
		return -ENOSPC;
	}
	*off += (size_t)n;
	return 0;
}

int brisk_nvme_transport_id_fmt(char *buf, size_t len, const struct brisk_nvme_transport_id *trid)
{
	const char *adrfam = NULL;
	size_t off = 0;
	int rc;

	if (buf == NULL || len == 0) {
		return -ENOSPC;
	}
	buf[0] = '\0';
	if (trid->adrfam == BRISK_NVMF_ADRFAM_IPV4) {
		adrfam = "IPv4";
	} else if (trid->adrfam == BRISK_NVMF_ADRFAM_IPV6) {
		adrfam = "IPv6";
	}
	rc = trid_append(buf, len, &off, "trtype", brisk_nvme_transport_id_trtype_str(trid->trtype));
	rc = rc ? rc : trid_append(buf, len, &off, "adrfam", adrfam);
	rc = rc ? rc : trid_append(buf, len, &off, "traddr", trid->traddr);
	rc = rc ? rc : trid_append(buf, len, &off, "trsvcid", trid->trsvcid);
	rc = rc ? rc : trid_append(buf, len, &off, "subnqn", trid->subnqn);
	return rc;
}

int brisk_nvme_transport_id_compare(const struct brisk_nvme_transport_id *a,
				    const struct brisk_nvme_transport_id *b)
{
	int rc;

	if (a->trtype != b->trtype) {
		return a->trtype < b->trtype ? -1 : 1;
	}
	rc = strcasecmp(a->traddr, b->traddr);
	if (rc != 0 || a->trtype == BRISK_NVME_TRANSPORT_PCIE) {
		return rc;
	}
	rc = strcasecmp(a->trsvcid, b->trsvcid);
	if (rc != 0) {
		return rc;
	}
	return strcmp(a->subnqn, b->subnqn);
}
