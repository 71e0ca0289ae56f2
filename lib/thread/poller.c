/*
 * Pollers: active pollers run on every poll, timed pollers run when their
 * expiration tick has passed (list kept sorted by expiration), paused pollers
 * wait on a side list. Everything here runs on the owning thread, lock-free.
 *
 * A poller's callback may pause, resume or unregister any poller, including
 * itself. Rules that keep the run loops safe:
 * - the running poller is only marked (PAUSING / UNREGISTERED) and handled
 *   after its callback returns;
 * - other pollers leave their list at once, and if one of them was the loop's
 *   next poller (thread->*_cursor), the cursor moves past it first.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>
#include <brisk/ticks.h>

#include "thread_internal.h"

static struct thread_poller_list *poller_list(struct brisk_poller *p)
{
	return p->period_ticks ? &p->thread->timed_pollers : &p->thread->active_pollers;
}

/* Inserts a timed poller after every poller that expires no later (FIFO among equals). */
static void timed_insert(struct brisk_thread *t, struct brisk_poller *p)
{
	struct brisk_poller *it;

	TAILQ_FOREACH_REVERSE(it, &t->timed_pollers, thread_poller_list, link) {
		if (it->next_run <= p->next_run) {
			TAILQ_INSERT_AFTER(&t->timed_pollers, it, p, link);
			return;
		}
	}
	TAILQ_INSERT_HEAD(&t->timed_pollers, p, link);
}

static void poller_schedule(struct brisk_poller *p, uint64_t now)
{
	if (p->period_ticks == 0) {
		p->loop_id = p->thread->active_loop_id;
		TAILQ_INSERT_TAIL(&p->thread->active_pollers, p, link);
	} else {
		p->next_run = now + p->period_ticks;
		timed_insert(p->thread, p);
	}
}

/* Takes a waiting poller off its run list without breaking a loop in progress. */
static void poller_unlink(struct brisk_poller *p)
{
	struct brisk_thread *t = p->thread;

	if (t->active_cursor == p) {
		t->active_cursor = TAILQ_NEXT(p, link);
	}
	if (t->timed_cursor == p) {
		t->timed_cursor = TAILQ_NEXT(p, link);
	}
	TAILQ_REMOVE(poller_list(p), p, link);
}

static bool on_owner_thread(const struct brisk_poller *p, const char *what)
{
	if (brisk_get_thread() != p->thread) {
		BRISK_ERRLOG("poller '%s': %s must be called on its thread '%s'\n", p->name, what,
			     brisk_thread_get_name(p->thread));
		return false;
	}
	return true;
}

/* ---- Registration ---- */

struct brisk_poller *brisk_poller_register_named(brisk_poller_fn fn, void *arg,
						 uint64_t period_us, const char *name)
{
	struct brisk_thread *t = brisk_get_thread();
	struct brisk_poller *p;

	if (fn == NULL) {
		BRISK_ERRLOG("poller register: fn is NULL\n");
		return NULL;
	}
	if (t == NULL) {
		BRISK_ERRLOG("poller register '%s': not called on a brisk_thread\n",
			     name ? name : "(unnamed)");
		return NULL;
	}
	if (thread_get_state(t) == THREAD_STATE_EXITED) {
		BRISK_ERRLOG("poller register '%s': thread '%s' has exited\n",
			     name ? name : "(unnamed)", t->name);
		return NULL;
	}
	if (period_us > THREAD_MAX_PERIOD_US) {
		BRISK_ERRLOG("poller register '%s': period_us %" PRIu64 " is over one year\n",
			     name ? name : "(unnamed)", period_us);
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		BRISK_ERRLOG("poller register: out of memory\n");
		return NULL;
	}
	p->thread = t;
	p->id = ++t->next_poller_id;
	p->fn = fn;
	p->arg = arg;
	if (name != NULL) {
		snprintf(p->name, sizeof(p->name), "%s", name);
	} else {
		/* C has no portable way to name a function; its address identifies it. */
		snprintf(p->name, sizeof(p->name), "poller_%p", (void *)fn);
	}
	if (period_us > 0) {
		p->period_ticks = brisk_us_to_ticks(period_us, brisk_get_ticks_hz());
		if (p->period_ticks == 0) {
			p->period_ticks = 1; /* a timed poller must move forward in time */
		}
	}
	p->state = POLLER_STATE_WAITING;
	/* The base is the `now` of the current (or latest) poll, so tests that
	 * drive the clock by hand get exact expirations. */
	poller_schedule(p, t->tsc_last);
	return p;
}

struct brisk_poller *brisk_poller_register(brisk_poller_fn fn, void *arg, uint64_t period_us)
{
	return brisk_poller_register_named(fn, arg, period_us, NULL);
}

void brisk_poller_unregister(struct brisk_poller **pp)
{
	struct brisk_poller *p;

	if (pp == NULL || *pp == NULL) {
		return;
	}
	p = *pp;
	if (!on_owner_thread(p, "unregister")) {
		return;
	}
	*pp = NULL;
	switch (p->state) {
	case POLLER_STATE_RUNNING:
	case POLLER_STATE_PAUSING:
		p->state = POLLER_STATE_UNREGISTERED; /* freed when its callback returns */
		break;
	case POLLER_STATE_WAITING:
		poller_unlink(p);
		free(p);
		break;
	case POLLER_STATE_PAUSED:
		TAILQ_REMOVE(&p->thread->paused_pollers, p, link);
		free(p);
		break;
	case POLLER_STATE_UNREGISTERED:
		BRISK_ERRLOG("poller '%s' unregistered twice\n", p->name);
		break;
	}
}

void brisk_poller_pause(struct brisk_poller *p)
{
	if (p == NULL || !on_owner_thread(p, "pause")) {
		return;
	}
	switch (p->state) {
	case POLLER_STATE_RUNNING:
		p->state = POLLER_STATE_PAUSING;
		break;
	case POLLER_STATE_WAITING:
		poller_unlink(p);
		TAILQ_INSERT_TAIL(&p->thread->paused_pollers, p, link);
		p->state = POLLER_STATE_PAUSED;
		break;
	default: /* already paused or pausing, or going away */
		break;
	}
}

void brisk_poller_resume(struct brisk_poller *p)
{
	if (p == NULL || !on_owner_thread(p, "resume")) {
		return;
	}
	switch (p->state) {
	case POLLER_STATE_PAUSING:
		p->state = POLLER_STATE_RUNNING; /* paused and resumed within its callback */
		break;
	case POLLER_STATE_PAUSED:
		TAILQ_REMOVE(&p->thread->paused_pollers, p, link);
		p->state = POLLER_STATE_WAITING;
		poller_schedule(p, p->thread->tsc_last);
		break;
	default:
		break;
	}
}

const char *brisk_poller_get_name(const struct brisk_poller *p)
{
	return p ? p->name : NULL;
}

/* ---- Running ---- */

/* Runs one poller; returns 1 if it reported busy. Leaves it in state
 * RUNNING, PAUSING or UNREGISTERED for poller_after_run. */
static uint32_t poller_run(struct brisk_poller *p)
{
	int rc;

	p->state = POLLER_STATE_RUNNING;
	rc = p->fn(p->arg);
	p->run_count++;
	if (rc > 0) {
		p->busy_count++;
		return 1;
	}
	return 0;
}

/* Applies what the callback asked for; the poller is still on its list. */
static void poller_after_run(struct brisk_poller *p, uint64_t now)
{
	switch (p->state) {
	case POLLER_STATE_UNREGISTERED:
		poller_unlink(p);
		free(p);
		break;
	case POLLER_STATE_PAUSING:
		poller_unlink(p);
		TAILQ_INSERT_TAIL(&p->thread->paused_pollers, p, link);
		p->state = POLLER_STATE_PAUSED;
		break;
	default:
		p->state = POLLER_STATE_WAITING;
		if (p->period_ticks != 0) {
			poller_unlink(p);
			poller_schedule(p, now);
		}
		break;
	}
}

uint32_t thread_pollers_run_active(struct brisk_thread *t)
{
	struct brisk_poller *p;
	uint32_t busy = 0;

	/* Pollers added to the list during this loop (registered or resumed)
	 * carry this loop's id and wait for the next poll. */
	t->active_loop_id++;
	p = TAILQ_FIRST(&t->active_pollers);
	while (p != NULL) {
		t->active_cursor = TAILQ_NEXT(p, link);
		if (p->loop_id != t->active_loop_id) {
			busy += poller_run(p);
			poller_after_run(p, t->tsc_last);
		}
		p = t->active_cursor;
	}
	t->active_cursor = NULL;
	return busy;
}

uint32_t thread_pollers_run_timed(struct brisk_thread *t, uint64_t now)
{
	struct brisk_poller *p;
	uint32_t busy = 0;

	/* A poller that ran is rescheduled to now + period (> now), so it sorts
	 * after every poller still due and this loop cannot revisit it. */
	p = TAILQ_FIRST(&t->timed_pollers);
	while (p != NULL && p->next_run <= now) {
		t->timed_cursor = TAILQ_NEXT(p, link);
		busy += poller_run(p);
		poller_after_run(p, now);
		p = t->timed_cursor;
	}
	t->timed_cursor = NULL;
	return busy;
}

bool thread_pollers_any(const struct brisk_thread *t)
{
	return !TAILQ_EMPTY(&t->active_pollers) || !TAILQ_EMPTY(&t->timed_pollers) ||
	       !TAILQ_EMPTY(&t->paused_pollers);
}

static void log_list(const struct thread_poller_list *list, const char *kind)
{
	const struct brisk_poller *p;

	TAILQ_FOREACH(p, list, link) {
		BRISK_WARNLOG("  %s poller '%s'\n", kind, p->name);
	}
}

void thread_pollers_log_remaining(const struct brisk_thread *t)
{
	log_list(&t->active_pollers, "active");
	log_list(&t->timed_pollers, "timed");
	log_list(&t->paused_pollers, "paused");
}

static void free_list(struct brisk_thread *t, struct thread_poller_list *list)
{
	struct brisk_poller *p;

	while ((p = TAILQ_FIRST(list)) != NULL) {
		BRISK_WARNLOG("thread '%s' destroyed with poller '%s' registered\n", t->name,
			      p->name);
		TAILQ_REMOVE(list, p, link);
		free(p);
	}
}

void thread_pollers_free_all(struct brisk_thread *t)
{
	free_list(t, &t->active_pollers);
	free_list(t, &t->timed_pollers);
	free_list(t, &t->paused_pollers);
}

static void info_list(const struct thread_poller_list *list,
		      void (*fn)(const struct brisk_poller_info *info, void *ctx), void *ctx)
{
	const struct brisk_poller *p, *tmp;
	struct brisk_poller_info info;

	TAILQ_FOREACH_SAFE(p, list, link, tmp) {
		if (p->state == POLLER_STATE_UNREGISTERED) {
			continue;
		}
		info.name = p->name;
		info.id = p->id;
		info.period_ticks = p->period_ticks;
		info.run_count = p->run_count;
		info.busy_count = p->busy_count;
		info.paused = p->state == POLLER_STATE_PAUSED || p->state == POLLER_STATE_PAUSING;
		fn(&info, ctx);
	}
}

void brisk_thread_for_each_poller(struct brisk_thread *thread,
				  void (*fn)(const struct brisk_poller_info *info, void *ctx), void *ctx)
{
	if (thread == NULL || fn == NULL) {
		BRISK_ERRLOG("for_each_poller: %s is NULL\n", thread ? "fn" : "thread");
		return;
	}
	info_list(&thread->active_pollers, fn, ctx);
	info_list(&thread->timed_pollers, fn, ctx);
	info_list(&thread->paused_pollers, fn, ctx);
}
