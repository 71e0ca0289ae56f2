/* Serialization: every operation on one file runs alone, in arrival order,
 * from its node's queue; namespace operations (create, open, delete,
 * rename) run alone from the file system's queue. Nothing is locked: all of
 * it runs on the file system's thread, and an operation starts from a
 * message, so its callback never runs inside the call that queued it. */
#include <brisk/log.h>

#include "blobfs_internal.h"

static void op_start_msg(void *ctx)
{
	struct blobfs_op *op = ctx;

	op->start(op);
}

static void run_next(struct blobfs_op_queue *q, bool *running)
{
	struct blobfs_op *op = TAILQ_FIRST(q);

	if (op == NULL) {
		*running = false;
		return;
	}
	TAILQ_REMOVE(q, op, link);
	*running = true;
	blobfs_defer(op_start_msg, op);
}

static void enqueue(struct blobfs_op_queue *q, bool *running, struct blobfs_op *op,
		    blobfs_op_fn start)
{
	op->start = start;
	TAILQ_INSERT_TAIL(q, op, link);
	if (!*running) {
		run_next(q, running);
	}
}

void blobfs_op_enqueue(struct blobfs_node *node, struct blobfs_op *op, blobfs_op_fn start)
{
	op->node = node;
	enqueue(&node->ops, &node->op_running, op, start);
}

/* Takes the node, not the op: the op is usually freed already. The node
 * may be freed by the caller right after this (last close). */
void blobfs_op_done(struct blobfs_node *node)
{
	run_next(&node->ops, &node->op_running);
}

void blobfs_ns_enqueue(struct brisk_blobfs *fs, struct blobfs_op *op, blobfs_op_fn start)
{
	op->node = NULL;
	enqueue(&fs->ns_ops, &fs->ns_running, op, start);
}

void blobfs_ns_done(struct brisk_blobfs *fs)
{
	run_next(&fs->ns_ops, &fs->ns_running);
}

/* Messages to our own thread only fail without memory; running the function
 * now is then the lesser evil (logged: it may complete inside a call). */
void blobfs_defer(brisk_msg_fn fn, void *ctx)
{
	if (brisk_thread_send_msg(brisk_get_thread(), fn, ctx) != 0) {
		BRISK_ERRLOG("blobfs: cannot queue a message, running it inline\n");
		fn(ctx);
	}
}
