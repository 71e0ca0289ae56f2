/*
 * Subsystems (app thread): creation with a validated NQN, the host allow
 * list, listeners, and destruction. Namespaces are in namespace.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>

#include "nvmf_internal.h"

struct nvmf_subsystem *nvmf_subsystem_find(const char *nqn)
{
	struct nvmf_subsystem *s;

	if (nqn == NULL) {
		return NULL;
	}
	TAILQ_FOREACH(s, &g_nvmf_tgt.subsystems, link) {
		if (strcmp(s->nqn, nqn) == 0) {
			return s;
		}
	}
	return NULL;
}

int nvmf_subsystem_create(const char *nqn, enum brisk_nvmf_subtype subtype, uint32_t max_ns,
			  struct nvmf_subsystem **out)
{
	struct nvmf_subsystem *s;

	if (nvmf_nqn_validate(nqn) != 0) {
		return -EINVAL;
	}
	if (nvmf_subsystem_find(nqn) != NULL) {
		return -EEXIST;
	}
	if (subtype == BRISK_NVMF_SUBTYPE_NVME && g_nvmf_tgt.num_subsystems >= g_nvmf_tgt.max_subsystems) {
		return -ENOSPC;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		return -ENOMEM;
	}
	s->max_nsid = max_ns;
	s->ns = max_ns ? calloc(max_ns, sizeof(*s->ns)) : NULL;
	if (max_ns && s->ns == NULL) {
		free(s);
		return -ENOMEM;
	}
	snprintf(s->nqn, sizeof(s->nqn), "%s", nqn);
	s->subtype = subtype;
	snprintf(s->sn, sizeof(s->sn), "00000000000000000000");
	snprintf(s->mn, sizeof(s->mn), "%s", NVMF_DEFAULT_MN);
	s->min_cntlid = NVMF_CNTLID_MIN;
	s->max_cntlid = NVMF_CNTLID_MAX;
	s->next_cntlid = NVMF_CNTLID_MIN;
	TAILQ_INIT(&s->hosts);
	TAILQ_INIT(&s->listeners);
	TAILQ_INIT(&s->ctrlrs);
	TAILQ_INSERT_TAIL(&g_nvmf_tgt.subsystems, s, link);
	if (subtype == BRISK_NVMF_SUBTYPE_NVME) {
		g_nvmf_tgt.num_subsystems++;
	}
	nvmf_discovery_changed();
	*out = s;
	return 0;
}

/* Connected controllers keep a pointer to it: callers check s->ctrlrs first
 * (nvmf_delete_subsystem refuses a subsystem with controllers). */
void nvmf_subsystem_destroy(struct nvmf_subsystem *s)
{
	struct nvmf_host *h;
	struct nvmf_subsys_listener *sl;

	for (uint32_t i = 0; i < s->max_nsid; i++) {
		if (s->ns[i] != NULL) {
			nvmf_ns_remove(s, i + 1);
		}
	}
	while ((h = TAILQ_FIRST(&s->hosts)) != NULL) {
		TAILQ_REMOVE(&s->hosts, h, link);
		free(h);
	}
	while ((sl = TAILQ_FIRST(&s->listeners)) != NULL) {
		TAILQ_REMOVE(&s->listeners, sl, link);
		nvmf_listener_put(sl->listener);
		free(sl->ana_states);
		free(sl);
	}
	TAILQ_REMOVE(&g_nvmf_tgt.subsystems, s, link);
	if (s->subtype == BRISK_NVMF_SUBTYPE_NVME) {
		g_nvmf_tgt.num_subsystems--;
	}
	if (s == g_nvmf_tgt.discovery) {
		g_nvmf_tgt.discovery = NULL; /* at shutdown, before the others go */
	}
	nvmf_discovery_changed();
	free(s->ns);
	free(s);
}

bool nvmf_subsystem_host_allowed(const struct nvmf_subsystem *s, const char *hostnqn)
{
	const struct nvmf_host *h;

	if (s->allow_any_host) {
		return true;
	}
	TAILQ_FOREACH(h, &s->hosts, link) {
		if (strcmp(h->nqn, hostnqn) == 0) {
			return true;
		}
	}
	return false;
}

int nvmf_subsystem_add_host(struct nvmf_subsystem *s, const char *hostnqn)
{
	struct nvmf_host *h;

	if (nvmf_nqn_validate(hostnqn) != 0) {
		return -EINVAL;
	}
	TAILQ_FOREACH(h, &s->hosts, link) {
		if (strcmp(h->nqn, hostnqn) == 0) {
			return -EEXIST;
		}
	}
	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		return -ENOMEM;
	}
	snprintf(h->nqn, sizeof(h->nqn), "%s", hostnqn);
	TAILQ_INSERT_TAIL(&s->hosts, h, link);
	nvmf_discovery_changed();
	return 0;
}

int nvmf_subsystem_remove_host(struct nvmf_subsystem *s, const char *hostnqn)
{
	struct nvmf_host *h;

	TAILQ_FOREACH(h, &s->hosts, link) {
		if (strcmp(h->nqn, hostnqn) == 0) {
			TAILQ_REMOVE(&s->hosts, h, link);
			free(h);
			nvmf_discovery_changed();
			return 0;
		}
	}
	return -ENOENT;
}

bool nvmf_subsystem_listens_on(const struct nvmf_subsystem *s, const struct nvmf_listen_addr *a)
{
	const struct nvmf_subsys_listener *sl;

	TAILQ_FOREACH(sl, &s->listeners, link) {
		if (nvmf_listen_addr_equal(&sl->listener->addr, a)) {
			return true;
		}
	}
	return false;
}

int nvmf_subsystem_add_listener(struct nvmf_subsystem *s, const struct nvmf_listen_addr *a)
{
	struct nvmf_subsys_listener *sl;
	int rc = 0;

	if (nvmf_subsystem_listens_on(s, a)) {
		return -EEXIST;
	}
	sl = calloc(1, sizeof(*sl));
	if (sl == NULL) {
		return -ENOMEM;
	}
	rc = nvmf_ana_listener_init(s, sl, BRISK_NVME_ANA_OPTIMIZED);
	if (rc == 0) {
		sl->listener = nvmf_listener_get(a, &rc);
	}
	if (sl->listener == NULL) {
		free(sl->ana_states);
		free(sl);
		return rc;
	}
	TAILQ_INSERT_TAIL(&s->listeners, sl, link);
	nvmf_discovery_changed();
	return 0;
}

int nvmf_subsystem_remove_listener(struct nvmf_subsystem *s, const struct nvmf_listen_addr *a)
{
	struct nvmf_subsys_listener *sl;

	TAILQ_FOREACH(sl, &s->listeners, link) {
		if (nvmf_listen_addr_equal(&sl->listener->addr, a)) {
			TAILQ_REMOVE(&s->listeners, sl, link);
			nvmf_listener_put(sl->listener);
			free(sl->ana_states);
			free(sl);
			nvmf_ana_listener_removed(s, a);
			nvmf_discovery_changed();
			return 0;
		}
	}
	return -ENOENT;
}

struct nvmf_ns *nvmf_subsystem_get_ns(const struct nvmf_subsystem *s, uint32_t nsid)
{
	if (nsid == 0 || nsid > s->max_nsid) {
		return NULL;
	}
	return s->ns[nsid - 1];
}
