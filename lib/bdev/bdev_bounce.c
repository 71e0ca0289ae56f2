/*
 * Data buffers of the layer, from two shared pools (small and large, sized by
 * bdev_set_options):
 *  - bounce buffers, when a caller's buffers break the bdev's required
 *    alignment: writes are copied in before submission, reads copied out at
 *    completion;
 *  - the buffer of a read submitted without one (kept until the I/O is freed).
 * A pool object has room to align its start to 4 KiB. When a pool is empty
 * the I/O waits on its thread's queue and is retried when a buffer comes
 * back on that thread (or by the thread's retry poller).
 */
#include <errno.h>
#include <string.h>

#include <brisk/env.h>
#include <brisk/log.h>

#include "bdev_internal.h"

#define BDEV_BUF_ALIGN_ROOM 4096

int bdev_buf_init(void)
{
	char name[BRISK_MEMPOOL_NAMESIZE];

	/* Processes of one shm id each have their pools: a secondary's named apart. */
	brisk_env_proc_obj_name(name, sizeof(name), "bdev_small_buf");
	g_bdev_mgr.small_buf_pool =
		brisk_mempool_create(name, g_bdev_mgr.opts.small_buf_pool_size,
				     BRISK_BDEV_SMALL_BUF_SIZE + BDEV_BUF_ALIGN_ROOM, 0, BRISK_ENV_SOCKET_ID_ANY);
	brisk_env_proc_obj_name(name, sizeof(name), "bdev_large_buf");
	g_bdev_mgr.large_buf_pool =
		brisk_mempool_create(name, g_bdev_mgr.opts.large_buf_pool_size,
				     BRISK_BDEV_LARGE_BUF_SIZE + BDEV_BUF_ALIGN_ROOM, 0, BRISK_ENV_SOCKET_ID_ANY);
	g_bdev_mgr.zero_buf = brisk_dma_zmalloc(BDEV_ZERO_BUF_SIZE, 4096, NULL);
	if (g_bdev_mgr.small_buf_pool == NULL || g_bdev_mgr.large_buf_pool == NULL ||
	    g_bdev_mgr.zero_buf == NULL) {
		BRISK_ERRLOG("could not create the bdev data buffer pools (small %u, large %u)\n",
			     g_bdev_mgr.opts.small_buf_pool_size, g_bdev_mgr.opts.large_buf_pool_size);
		bdev_buf_fini();
		return -ENOMEM;
	}
	return 0;
}

void bdev_buf_fini(void)
{
	brisk_mempool_free(g_bdev_mgr.small_buf_pool);
	brisk_mempool_free(g_bdev_mgr.large_buf_pool);
	brisk_free(g_bdev_mgr.zero_buf);
	g_bdev_mgr.small_buf_pool = NULL;
	g_bdev_mgr.large_buf_pool = NULL;
	g_bdev_mgr.zero_buf = NULL;
}

uint64_t bdev_max_buf_blocks(struct brisk_bdev *bdev)
{
	return BRISK_BDEV_LARGE_BUF_SIZE / bdev->blocklen;
}

static bool io_has_data(const struct bdev_io_priv *p)
{
	return p->io.type == BRISK_BDEV_IO_TYPE_READ || p->io.type == BRISK_BDEV_IO_TYPE_WRITE ||
	       p->io.type == BRISK_BDEV_IO_TYPE_COMPARE;
}

bool bdev_io_needs_provided_buf(struct bdev_io_priv *p)
{
	return p->io.type == BRISK_BDEV_IO_TYPE_READ && p->io.u.iovcnt == 1 &&
	       p->io.u.iovs[0].iov_base == NULL && p->buf_obj == NULL;
}

bool bdev_io_needs_bounce(struct bdev_io_priv *p)
{
	uintptr_t mask = p->io.bdev->required_alignment > 1 ? p->io.bdev->required_alignment - 1 : 0;
	int i;

	if (mask == 0 || !io_has_data(p) || p->buf_obj != NULL) {
		return false;
	}
	for (i = 0; i < p->io.u.iovcnt; i++) {
		if (((uintptr_t)p->io.u.iovs[i].iov_base & mask) != 0) {
			return true;
		}
		/* A length that breaks alignment would misplace the next iovec. */
		if (i < p->io.u.iovcnt - 1 && (p->io.u.iovs[i].iov_len & mask) != 0) {
			return true;
		}
	}
	return false;
}

static void buf_attach(struct bdev_io_priv *p, void *obj)
{
	size_t len = p->io.u.num_blocks * p->io.bdev->blocklen;
	size_t align = p->io.bdev->required_alignment > 64 ? p->io.bdev->required_alignment : 64;
	void *buf = (void *)(((uintptr_t)obj + align - 1) & ~(uintptr_t)(align - 1));

	bool provided = bdev_io_needs_provided_buf(p);

	p->buf_obj = obj;
	if (provided) {
		p->provided_buf = true;
		p->iov.iov_base = buf;
		p->iov.iov_len = len;
		p->io.u.iovs = &p->iov;
		p->io.u.iovcnt = 1;
		return;
	}
	p->orig_iovs = p->io.u.iovs;
	p->orig_iovcnt = p->io.u.iovcnt;
	if (p->io.type != BRISK_BDEV_IO_TYPE_READ) {
		brisk_copy_iovs_to_buf(buf, len, p->orig_iovs, p->orig_iovcnt);
	}
	p->bounce_iov.iov_base = buf;
	p->bounce_iov.iov_len = len;
	p->io.u.iovs = &p->bounce_iov;
	p->io.u.iovcnt = 1;
}

static struct brisk_mempool *buf_pool_for(struct bdev_io_priv *p)
{
	size_t len = p->io.u.num_blocks * p->io.bdev->blocklen;

	if (len <= BRISK_BDEV_SMALL_BUF_SIZE) {
		return g_bdev_mgr.small_buf_pool;
	}
	return len <= BRISK_BDEV_LARGE_BUF_SIZE ? g_bdev_mgr.large_buf_pool : NULL;
}

static void buf_too_large_msg(void *ctx)
{
	struct bdev_io_priv *p = ctx;

	/* Never reached the module: complete it as failed (as the module would). */
	p->ch->io_outstanding++;
	brisk_bdev_io_complete(&p->io, BRISK_BDEV_IO_STATUS_FAILED);
}

void bdev_io_get_buf(struct bdev_io_priv *p, void (*cont)(struct bdev_io_priv *p))
{
	struct bdev_mgmt_channel *m = p->ch->mgmt;
	void *obj;

	p->buf_cont = cont;
	p->buf_pool = buf_pool_for(p);
	if (p->buf_pool == NULL) {
		BRISK_ERRLOG("bdev %s: %lu blocks do not fit in a data buffer\n", p->io.bdev->name,
			     (unsigned long)p->io.u.num_blocks);
		if (brisk_thread_send_msg(brisk_get_thread(), buf_too_large_msg, p) != 0) {
			buf_too_large_msg(p);
		}
		return;
	}
	if (TAILQ_EMPTY(&m->buf_wait_queue) && brisk_mempool_get(p->buf_pool, &obj) == 0) {
		buf_attach(p, obj);
		cont(p);
		return;
	}
	TAILQ_INSERT_TAIL(&m->buf_wait_queue, p, link);
	bdev_mgmt_start_retry_poller(m);
}

bool bdev_mgmt_retry_buf_waiters(struct bdev_mgmt_channel *m)
{
	struct bdev_io_priv *p;
	void *obj;

	while ((p = TAILQ_FIRST(&m->buf_wait_queue)) != NULL) {
		if (brisk_mempool_get(p->buf_pool, &obj) != 0) {
			return true;
		}
		TAILQ_REMOVE(&m->buf_wait_queue, p, link);
		buf_attach(p, obj);
		p->buf_cont(p);
	}
	return false;
}

void bdev_io_buf_complete(struct bdev_io_priv *p)
{
	if (p->orig_iovs == NULL) {
		return;
	}
	if (p->io.type == BRISK_BDEV_IO_TYPE_READ && p->status == BRISK_BDEV_IO_STATUS_SUCCESS) {
		brisk_copy_buf_to_iovs(p->orig_iovs, p->orig_iovcnt, p->bounce_iov.iov_base,
				       p->bounce_iov.iov_len);
	}
	p->io.u.iovs = p->orig_iovs;
	p->io.u.iovcnt = p->orig_iovcnt;
	p->orig_iovs = NULL;
}

void bdev_io_buf_release(struct bdev_io_priv *p)
{
	if (p->buf_obj == NULL) {
		return;
	}
	brisk_mempool_put(p->buf_pool, p->buf_obj);
	p->buf_obj = NULL;
	if (!TAILQ_EMPTY(&p->submit_ch->mgmt->buf_wait_queue)) {
		bdev_mgmt_retry_buf_waiters(p->submit_ch->mgmt);
	}
}

size_t brisk_copy_iovs_to_buf(void *buf, size_t buf_len, const struct iovec *iovs, int iovcnt)
{
	size_t done = 0;

	for (int i = 0; i < iovcnt && done < buf_len; i++) {
		size_t n = iovs[i].iov_len < buf_len - done ? iovs[i].iov_len : buf_len - done;

		memcpy((char *)buf + done, iovs[i].iov_base, n);
		done += n;
	}
	return done;
}

size_t brisk_copy_buf_to_iovs(const struct iovec *iovs, int iovcnt, const void *buf, size_t buf_len)
{
	size_t done = 0;

	for (int i = 0; i < iovcnt && done < buf_len; i++) {
		size_t n = iovs[i].iov_len < buf_len - done ? iovs[i].iov_len : buf_len - done;

		memcpy(iovs[i].iov_base, (const char *)buf + done, n);
		done += n;
	}
	return done;
}
