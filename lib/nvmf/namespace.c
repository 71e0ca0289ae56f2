/*
 * Namespaces (app thread): a bdev opened for writing under an NSID, with
 * its NGUID and UUID (the bdev's UUID unless given) and its reservation
 * state (loaded from its ptpl_file, if it has one). Removal first drops the
 * namespace from the subsystem, then has every thread release its I/O
 * channels of it (brisk_for_each_thread; a connection with I/O in flight
 * releases its channel after that I/O, ns_channel.c), then closes the bdev;
 * a Namespace Attribute Changed notice goes to the subsystem's controllers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>

#include "nvmf_internal.h"

static void ns_bdev_event(enum brisk_bdev_event_type type, struct brisk_bdev *bdev, void *ctx)
{
	struct nvmf_ns *ns = ctx;

	if (type == BRISK_BDEV_EVENT_REMOVE) {
		BRISK_NOTICELOG("nvmf: bdev %s removed: removing namespace %u of %s\n", brisk_bdev_get_name(bdev),
				ns->nsid, ns->subsys->nqn);
		nvmf_ns_remove(ns->subsys, ns->nsid);
	}
}

static uint32_t ns_first_free(const struct nvmf_subsystem *s)
{
	for (uint32_t i = 0; i < s->max_nsid; i++) {
		if (s->ns[i] == NULL) {
			return i + 1;
		}
	}
	return 0;
}

/* The reservation state, loaded from the ptpl_file when one is given. */
static int ns_resv_init(struct nvmf_ns *ns, const char *ptpl_file, char *err, size_t errlen)
{
	char why[256] = "";
	int rc;

	nvmf_resv_init(&ns->resv);
	if (ptpl_file == NULL) {
		return 0;
	}
	rc = nvmf_resv_ptpl_load(&ns->resv, ptpl_file, why, sizeof(why));
	if (rc != 0) {
		snprintf(err, errlen, "ptpl_file %s: %s", ptpl_file, why);
		nvmf_resv_fini(&ns->resv);
	}
	return rc;
}

int nvmf_ns_add(struct nvmf_subsystem *s, uint32_t nsid, const char *bdev_name, const uint8_t *nguid,
		const struct brisk_uuid *uuid, const char *ptpl_file, uint32_t *out_nsid, char *err, size_t errlen)
{
	struct nvmf_ns *ns;
	int rc;

	if (nsid == 0) {
		nsid = ns_first_free(s);
		if (nsid == 0) {
			return -ENOSPC;
		}
	}
	if (nsid > s->max_nsid) {
		return -ERANGE;
	}
	if (s->ns[nsid - 1] != NULL) {
		return -EEXIST;
	}
	ns = calloc(1, sizeof(*ns));
	if (ns == NULL) {
		return -ENOMEM;
	}
	ns->nsid = nsid;
	ns->anagrpid = nsid;
	ns->subsys = s;
	rc = ns_resv_init(ns, ptpl_file, err, errlen);
	if (rc != 0) {
		free(ns);
		return rc;
	}
	rc = brisk_bdev_open_ext(bdev_name, true, ns_bdev_event, ns, &ns->desc);
	if (rc != 0) {
		snprintf(err, errlen, "%s", strerror(-rc));
		nvmf_resv_fini(&ns->resv);
		free(ns);
		return rc;
	}
	ns->bdev = brisk_bdev_desc_get_bdev(ns->desc);
	nvmf_range_init(ns);
	brisk_uuid_copy(&ns->uuid, uuid ? uuid : brisk_bdev_get_uuid(ns->bdev));
	ns->uuid_set = uuid != NULL;
	memcpy(ns->nguid, nguid ? nguid : ns->uuid.u, sizeof(ns->nguid));
	ns->nguid_set = nguid != NULL;
	s->ns[nsid - 1] = ns;
	*out_nsid = nsid;
	nvmf_ctrlr_notify_ns_changed(s, nsid);
	return 0;
}

static void ns_release_on_thread(void *ctx)
{
	struct nvmf_ns *ns = ctx;
	struct nvmf_poll_group *pg = nvmf_poll_group_current();
	struct nvmf_conn *c;

	if (pg == NULL) {
		return;
	}
	TAILQ_FOREACH(c, &pg->conns, link) {
		if (c->ctrlr != NULL && c->ctrlr->subsys == ns->subsys) {
			nvmf_conn_release_ns(c, ns);
		}
	}
}

static void ns_close(struct nvmf_ns *ns)
{
	brisk_bdev_close(ns->desc);
	nvmf_range_ns_removed(ns); /* frees it, now or after its last range user */
}

static int ns_drain_poll(void *ctx)
{
	struct nvmf_ns *ns = ctx;

	if (__atomic_load_n(&ns->chans_draining, __ATOMIC_ACQUIRE) != 0) {
		return BRISK_POLLER_IDLE;
	}
	brisk_poller_unregister(&ns->drain_poller);
	ns_close(ns);
	return BRISK_POLLER_BUSY;
}

/* Every thread has released its channels, but a connection with I/O in
 * flight puts its channel only after that I/O: wait for it. */
static void ns_release_done(void *ctx)
{
	struct nvmf_ns *ns = ctx;

	if (__atomic_load_n(&ns->chans_draining, __ATOMIC_ACQUIRE) != 0) {
		ns->drain_poller = brisk_poller_register(ns_drain_poll, ns, 1000);
		if (ns->drain_poller != NULL) {
			return;
		}
		BRISK_ERRLOG("nvmf: no poller to wait for namespace %u's I/O: closing its bdev now\n", ns->nsid);
	}
	ns_close(ns);
}

int nvmf_ns_remove(struct nvmf_subsystem *s, uint32_t nsid)
{
	struct nvmf_ns *ns = nvmf_subsystem_get_ns(s, nsid);

	if (ns == NULL) {
		return -ENOENT;
	}
	s->ns[nsid - 1] = NULL;
	nvmf_ctrlr_notify_ns_changed(s, nsid);
	if (g_nvmf_tgt.num_pgs == 0) {
		ns_release_done(ns); /* stopping: every connection is gone */
		return 0;
	}
	brisk_for_each_thread(ns_release_on_thread, ns, ns_release_done);
	return 0;
}
