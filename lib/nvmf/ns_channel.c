/*
 * A connection's I/O channels of its namespaces, and the I/O it has in
 * flight on each. A channel is taken on a namespace's first I/O. When the
 * namespace is removed, the channel must not be put while I/O the bdev
 * layer still runs is in it (the bdev channel would be freed under that
 * I/O): a connection with I/O in flight keeps the channel in a drain entry
 * and puts it when the last of that I/O completes. The namespace counts its
 * draining channels (ns->chans_draining) and closes its bdev once none is
 * left (namespace.c).
 *
 * All of this runs on the connection's thread; only chans_draining is
 * shared with the thread that removes the namespace.
 */
#include <errno.h>
#include <stdlib.h>

#include <brisk/log.h>
#include <brisk/queue.h>

#include "nvmf_internal.h"

struct nvmf_ns_drain {
	struct nvmf_ns *ns;
	struct brisk_io_channel *ch; /* NULL: I/O held the namespace before it took one */
	uint32_t io; /* in flight, counted by nvmf_ns_io_hold */
	TAILQ_ENTRY(nvmf_ns_drain) link;
};

int nvmf_conn_ns_init(struct nvmf_conn *c, uint32_t max_nsid)
{
	uint32_t n = max_nsid ? max_nsid : 1;

	c->ns_ch = calloc(n, sizeof(*c->ns_ch));
	c->ns_io = calloc(n, sizeof(*c->ns_io));
	if (c->ns_ch == NULL || c->ns_io == NULL) {
		free(c->ns_ch);
		free(c->ns_io);
		c->ns_ch = NULL;
		c->ns_io = NULL;
		return -ENOMEM;
	}
	c->num_ns_ch = max_nsid;
	return 0;
}

/* The channel of a namespace that is still in the subsystem; NULL for one
 * that was removed (its I/O is aborted) or when none can be had. */
struct brisk_io_channel *nvmf_io_channel(struct nvmf_conn *c, struct nvmf_ns *ns)
{
	uint32_t i = ns->nsid - 1;

	if (i >= c->num_ns_ch || c->ns_ch == NULL || nvmf_subsystem_get_ns(c->ctrlr->subsys, ns->nsid) != ns) {
		return NULL;
	}
	if (c->ns_ch[i] == NULL) {
		c->ns_ch[i] = brisk_bdev_get_io_channel(ns->desc);
	}
	return c->ns_ch[i];
}

void nvmf_ns_io_hold(struct nvmf_req *req)
{
	struct nvmf_conn *c = req->conn;

	if (req->ns != NULL && c->ns_io != NULL && req->ns->nsid - 1 < c->num_ns_ch) {
		c->ns_io[req->ns->nsid - 1]++;
		req->ns_held = true;
	}
}

static void drain_finish(struct nvmf_conn *c, struct nvmf_ns_drain *d)
{
	TAILQ_REMOVE(&c->ns_drains, d, link);
	if (d->ch != NULL) {
		brisk_put_io_channel(d->ch);
	}
	__atomic_sub_fetch(&d->ns->chans_draining, 1, __ATOMIC_RELEASE);
	free(d);
}

/* Ends one hold of ns taken by nvmf_ns_io_hold (a request's, or the one it
 * handed to its zero-copy buffers). */
void nvmf_ns_io_put(struct nvmf_conn *c, struct nvmf_ns *ns)
{
	struct nvmf_ns_drain *d;

	TAILQ_FOREACH(d, &c->ns_drains, link) {
		if (d->ns == ns) {
			if (--d->io == 0) {
				drain_finish(c, d);
			}
			return;
		}
	}
	c->ns_io[ns->nsid - 1]--;
}

void nvmf_ns_io_unhold(struct nvmf_req *req)
{
	if (!req->ns_held) {
		return;
	}
	req->ns_held = false;
	nvmf_ns_io_put(req->conn, req->ns);
}

/* On the connection's thread, after ns left the subsystem. */
void nvmf_conn_release_ns(struct nvmf_conn *c, struct nvmf_ns *ns)
{
	uint32_t i = ns->nsid - 1;
	struct nvmf_ns_drain *d;

	if (i >= c->num_ns_ch || c->ns_ch == NULL) {
		return;
	}
	if (c->ns_io[i] == 0 || (d = calloc(1, sizeof(*d))) == NULL) {
		if (c->ns_io[i] != 0) {
			BRISK_ERRLOG("nvmf: %s: no memory to wait for namespace %u's I/O: "
				     "releasing its channel now\n",
				     c->peer, ns->nsid);
		}
		if (c->ns_ch[i] != NULL) {
			brisk_put_io_channel(c->ns_ch[i]);
		}
		c->ns_ch[i] = NULL;
		return;
	}
	d->ns = ns;
	d->ch = c->ns_ch[i];
	d->io = c->ns_io[i];
	c->ns_ch[i] = NULL;
	c->ns_io[i] = 0;
	__atomic_add_fetch(&ns->chans_draining, 1, __ATOMIC_RELAXED);
	TAILQ_INSERT_TAIL(&c->ns_drains, d, link);
}

/* Connection teardown: every request has completed, so no drain is left;
 * release any that is, all the same. */
void nvmf_conn_ns_fini(struct nvmf_conn *c)
{
	struct nvmf_ns_drain *d, *tmp;

	/* The next one is read before d is freed: scan-build cannot follow the
	 * head's update through TAILQ_REMOVE and saw a use after free. */
	TAILQ_FOREACH_SAFE(d, &c->ns_drains, link, tmp) {
		drain_finish(c, d);
	}
	for (uint32_t i = 0; i < c->num_ns_ch; i++) {
		if (c->ns_ch[i] != NULL) {
			brisk_put_io_channel(c->ns_ch[i]);
		}
	}
	free(c->ns_ch);
	free(c->ns_io);
	c->ns_ch = NULL;
	c->ns_io = NULL;
}
