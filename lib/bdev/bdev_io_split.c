/*
 * Splitting: a read/write/compare that crosses the bdev's optimal I/O
 * boundary (when it asks for splits there), is longer than its max transfer
 * size, or must be bounced through a pool buffer larger than one, goes to the
 * module as several children. The children walk the parent's iovecs (any
 * shape: an iovec may end mid-block) and the parent completes when the last
 * child does. write_zeroes on a module without it is the same machinery with
 * children that write the shared zero buffer.
 *
 * At most BDEV_MAX_CHILDREN_IN_FLIGHT children of a parent are in flight; a
 * child completion submits the next ones. Children run on the parent's
 * module channel (so on the same thread).
 */
#include <errno.h>
#include <string.h>

#include <brisk/log.h>

#include "bdev_internal.h"

bool bdev_write_zeroes_emulated(struct brisk_bdev *bdev)
{
	return !bdev_io_type_supported(bdev, BRISK_BDEV_IO_TYPE_WRITE_ZEROES) &&
	       bdev_io_type_supported(bdev, BRISK_BDEV_IO_TYPE_WRITE);
}

static bool is_emulated_zeroes(struct bdev_io_priv *p)
{
	return p->io.type == BRISK_BDEV_IO_TYPE_WRITE_ZEROES && bdev_write_zeroes_emulated(p->io.bdev);
}

/* Longest child that may start at block `start` (at most `remaining`). */
static uint64_t child_max_blocks(struct bdev_io_priv *p, uint64_t start, uint64_t remaining)
{
	struct brisk_bdev *bdev = p->io.bdev;
	uint64_t n = remaining;
	uint64_t to_boundary;

	if (bdev->max_transfer_size != 0 && n > bdev->max_transfer_size) {
		n = bdev->max_transfer_size;
	}
	if (is_emulated_zeroes(p)) {
		if (n > BDEV_ZERO_BUF_SIZE / bdev->blocklen) {
			n = BDEV_ZERO_BUF_SIZE / bdev->blocklen;
		}
	} else if (bdev_io_needs_bounce(p) && n > bdev_max_buf_blocks(bdev)) {
		n = bdev_max_buf_blocks(bdev);
	}
	if (bdev->split_on_optimal_io_boundary && bdev->optimal_io_boundary != 0) {
		to_boundary = bdev->optimal_io_boundary - start % bdev->optimal_io_boundary;
		if (n > to_boundary) {
			n = to_boundary;
		}
	}
	return n;
}

bool bdev_io_should_split(struct bdev_io_priv *p)
{
	switch (p->io.type) {
	case BRISK_BDEV_IO_TYPE_WRITE_ZEROES:
		return is_emulated_zeroes(p);
	case BRISK_BDEV_IO_TYPE_READ:
	case BRISK_BDEV_IO_TYPE_WRITE:
	case BRISK_BDEV_IO_TYPE_COMPARE:
		if (bdev_never_splits_data(p->io.bdev)) {
			return false;
		}
		return child_max_blocks(p, p->io.u.offset_blocks, p->io.u.num_blocks) < p->io.u.num_blocks;
	default:
		return false;
	}
}

/* Fills child->child_iovs with up to len bytes of the parent's data from its
 * cursor, without moving the cursor. Returns the bytes covered. */
static size_t child_fill_iovs(struct bdev_io_priv *parent, struct bdev_io_priv *child, size_t len)
{
	int idx = parent->split_iov_idx;
	size_t off = parent->split_iov_off;
	size_t done = 0;
	int n = 0;

	while (done < len && n < BDEV_MAX_CHILD_IOVS && idx < parent->io.u.iovcnt) {
		const struct iovec *src = &parent->io.u.iovs[idx];
		size_t take = src->iov_len - off;

		if (take > len - done) {
			take = len - done;
		}
		if (take > 0) {
			child->child_iovs[n].iov_base = (char *)src->iov_base + off;
			child->child_iovs[n].iov_len = take;
			n++;
			done += take;
		}
		idx++;
		off = 0;
	}
	child->io.u.iovs = child->child_iovs;
	child->io.u.iovcnt = n;
	return done;
}

/* Moves the parent's iovec cursor forward by len bytes. */
static void parent_advance(struct bdev_io_priv *parent, size_t len)
{
	while (len > 0) {
		size_t left = parent->io.u.iovs[parent->split_iov_idx].iov_len - parent->split_iov_off;

		if (len < left) {
			parent->split_iov_off += len;
			return;
		}
		len -= left;
		parent->split_iov_idx++;
		parent->split_iov_off = 0;
	}
	/* Skip empty iovecs so the cursor rests on data. */
	while (parent->split_iov_idx < parent->io.u.iovcnt &&
	       parent->io.u.iovs[parent->split_iov_idx].iov_len == parent->split_iov_off) {
		parent->split_iov_idx++;
		parent->split_iov_off = 0;
	}
}

static void split_parent_done(struct bdev_io_priv *p)
{
	p->status = p->split_status;
	p->io_errno = p->split_errno;
	bdev_io_complete_user(p);
}

static void split_parent_done_msg(void *ctx)
{
	split_parent_done(ctx);
}

static void split_fail(struct bdev_io_priv *p, const char *why)
{
	BRISK_ERRLOG("bdev %s: cannot split I/O at block %lu: %s\n", p->io.bdev->name,
		     (unsigned long)p->split_next_block, why);
	p->split_status = BRISK_BDEV_IO_STATUS_FAILED;
	p->split_remaining = 0;
}

/* Sets up one child covering up to max_blocks from the parent's cursor.
 * Returns its block count (0 when the data cannot be described). */
static uint64_t split_prepare_child(struct bdev_io_priv *p, struct bdev_io_priv *child, uint64_t max_blocks)
{
	struct brisk_bdev *bdev = p->io.bdev;
	uint64_t blocks = max_blocks;
	size_t len = blocks * bdev->blocklen;
	size_t got;

	bdev_io_init(child, bdev, p->ch, p->io.type, NULL, NULL);
	child->parent = p;
	child->qos_done = true;
	child->split_done = true;
	child->submit_tsc = p->submit_tsc;
	child->io.u.offset_blocks = p->split_next_block;
	if (is_emulated_zeroes(p)) {
		child->io.type = BRISK_BDEV_IO_TYPE_WRITE;
		child->child_iovs[0].iov_base = g_bdev_mgr.zero_buf;
		child->child_iovs[0].iov_len = len;
		child->io.u.iovs = child->child_iovs;
		child->io.u.iovcnt = 1;
	} else {
		got = child_fill_iovs(p, child, len);
		if (got < len) {
			/* Out of iovec slots: end the child on the last whole block. */
			blocks = got / bdev->blocklen;
			if (blocks == 0) {
				return 0;
			}
			len = blocks * bdev->blocklen;
			child_fill_iovs(p, child, len);
		}
		parent_advance(p, len);
	}
	child->io.u.num_blocks = blocks;
	return blocks;
}

static void split_continue(struct bdev_io_priv *p);

static void split_resume(void *arg)
{
	split_continue(arg);
}

static void split_continue(struct bdev_io_priv *p)
{
	struct bdev_io_priv *child;
	uint64_t blocks;

	while (p->split_remaining > 0 && p->split_outstanding < BDEV_MAX_CHILDREN_IN_FLIGHT) {
		child = bdev_io_get(p->ch);
		if (child == NULL) {
			if (p->split_outstanding == 0) {
				/* Nothing in flight would resume us: wait for a free I/O. */
				p->split_wait.bdev = p->io.bdev;
				p->split_wait.cb_fn = split_resume;
				p->split_wait.cb_arg = p;
				bdev_queue_io_wait_internal(p->ch->mgmt, &p->split_wait);
			}
			return;
		}
		blocks = split_prepare_child(p, child,
					     child_max_blocks(p, p->split_next_block, p->split_remaining));
		if (blocks == 0) {
			bdev_io_put(child);
			split_fail(p, "a block spans more iovecs than a child can carry");
			break;
		}
		p->split_next_block += blocks;
		p->split_remaining -= blocks;
		p->split_outstanding++;
		bdev_io_submit_unsplit(child);
	}
	if (p->split_remaining == 0 && p->split_outstanding == 0) {
		/* Only on failure before any child ran: complete outside the
		 * submitting call. */
		if (brisk_thread_send_msg(brisk_get_thread(), split_parent_done_msg, p) != 0) {
			split_parent_done(p);
		}
	}
}

void bdev_io_split(struct bdev_io_priv *p)
{
	p->split_next_block = p->io.u.offset_blocks;
	p->split_remaining = p->io.u.num_blocks;
	p->split_outstanding = 0;
	p->split_status = BRISK_BDEV_IO_STATUS_SUCCESS;
	p->split_errno = 0;
	p->split_iov_idx = 0;
	p->split_iov_off = 0;
	if (is_emulated_zeroes(p) && p->io.bdev->blocklen > BDEV_ZERO_BUF_SIZE) {
		split_fail(p, "block larger than the zero buffer");
	}
	split_continue(p);
}

void bdev_io_split_child_done(struct bdev_io_priv *child, int status)
{
	struct bdev_io_priv *p = child->parent;

	if (status != BRISK_BDEV_IO_STATUS_SUCCESS) {
		if (p->split_status == BRISK_BDEV_IO_STATUS_SUCCESS) {
			p->split_status = status;
			p->split_errno = child->io_errno;
		}
		p->split_remaining = 0; /* no new children after a failure */
	}
	bdev_io_put(child);
	p->split_outstanding--;
	if (p->split_remaining == 0) {
		if (p->split_outstanding == 0) {
			split_parent_done(p);
		}
		return;
	}
	split_continue(p);
}
