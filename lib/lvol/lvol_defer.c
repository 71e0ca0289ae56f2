/*
 * Deferred completions for lib/lvol: every call promises its callback never
 * runs inside the call (include/brisk/lvol.h), so an error found before any
 * asynchronous step starts is reported by a message to the current thread,
 * the way lib/blob's blob_defer_cb does.
 */
#include <stdlib.h>

#include "lvol_internal.h"

/* One context for the three callback shapes: which one is set says how to call. */
struct lvol_defer {
	brisk_lvol_op_complete op_fn; /* also brisk_lvs_op_complete: the same type */
	brisk_lvs_op_with_handle_complete lvs_fn;
	brisk_lvol_op_with_handle_complete lvol_fn;
	void *cb_arg;
	int rc;
};

static void lvol_defer_call(struct lvol_defer *d)
{
	if (d->op_fn != NULL) {
		d->op_fn(d->cb_arg, d->rc);
	} else if (d->lvs_fn != NULL) {
		d->lvs_fn(d->cb_arg, NULL, d->rc);
	} else if (d->lvol_fn != NULL) {
		d->lvol_fn(d->cb_arg, NULL, d->rc);
	}
	/* None set: the caller passed no callback, there is no one to tell. */
}

static void lvol_defer_run(void *arg)
{
	struct lvol_defer *d = arg;

	lvol_defer_call(d);
	free(d);
}

static void lvol_defer_send(struct lvol_defer d)
{
	struct lvol_defer *copy = malloc(sizeof(*copy));

	if (copy != NULL) {
		*copy = d;
		if (brisk_thread_send_msg(brisk_get_thread(), lvol_defer_run, copy) == 0) {
			return;
		}
		free(copy);
	}
	/* No memory for a message: completing inline is better than never. */
	BRISK_ERRLOG("lvol: cannot defer a completion (rc %d), completing inline\n", d.rc);
	lvol_defer_call(&d);
}

void lvol_defer_op(brisk_lvol_op_complete cb_fn, void *cb_arg, int rc)
{
	lvol_defer_send((struct lvol_defer){ .op_fn = cb_fn, .cb_arg = cb_arg, .rc = rc });
}

void lvol_defer_lvs(brisk_lvs_op_with_handle_complete cb_fn, void *cb_arg, int rc)
{
	lvol_defer_send((struct lvol_defer){ .lvs_fn = cb_fn, .cb_arg = cb_arg, .rc = rc });
}

void lvol_defer_lvol(brisk_lvol_op_with_handle_complete cb_fn, void *cb_arg, int rc)
{
	lvol_defer_send((struct lvol_defer){ .lvol_fn = cb_fn, .cb_arg = cb_arg, .rc = rc });
}
