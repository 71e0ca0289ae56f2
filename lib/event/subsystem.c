/*
 * Subsystems: registered at load time with their dependencies, sorted so each
 * comes after what it depends on, initialised one after the other
 * (asynchronously: each calls brisk_subsystem_init_done) and finished in
 * reverse order. Everything here runs on the app thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/event.h>
#include <brisk/log.h>
#include <brisk/thread.h>

#include "event_internal.h"

static struct brisk_subsystem *g_subsystems;  /* registration order, then init order */
static struct brisk_subsystem_depend *g_depends;
static bool g_sorted;

/* Init / fini progress. */
static struct brisk_subsystem *g_current;     /* being initialised or finished */
static uint32_t g_initialized_count;          /* prefix of the list that is initialised */
static bool g_all_initialized;
static struct brisk_thread *g_sequence_thread;
static brisk_subsystem_init_fn g_init_cb;
static void *g_init_ctx;
static brisk_msg_fn g_fini_cb;
static void *g_fini_ctx;

void brisk_subsystem_register(struct brisk_subsystem *subsystem)
{
	struct brisk_subsystem **tail = &g_subsystems;

	while (*tail != NULL) {
		tail = &(*tail)->next;
	}
	subsystem->next = NULL;
	*tail = subsystem;
	g_sorted = false;
}

void brisk_subsystem_add_depend(struct brisk_subsystem_depend *depend)
{
	struct brisk_subsystem_depend **tail = &g_depends;

	while (*tail != NULL) {
		tail = &(*tail)->next;
	}
	depend->next = NULL;
	*tail = depend;
	g_sorted = false;
}

void event_subsystem_clear_registry(void)
{
	g_subsystems = NULL;
	g_depends = NULL;
	g_sorted = false;
	g_current = NULL;
	g_initialized_count = 0;
	g_all_initialized = false;
}

bool event_subsystem_all_initialized(void)
{
	return g_all_initialized;
}

struct brisk_subsystem *brisk_subsystem_get_first(void)
{
	return g_subsystems;
}

struct brisk_subsystem *brisk_subsystem_get_next(struct brisk_subsystem *prev)
{
	return prev != NULL ? prev->next : NULL;
}

struct brisk_subsystem *brisk_subsystem_find(const char *name)
{
	struct brisk_subsystem *s;

	for (s = g_subsystems; s != NULL && name != NULL; s = s->next) {
		if (strcmp(s->name, name) == 0) {
			return s;
		}
	}
	return NULL;
}

void brisk_subsystem_for_each_depend(const struct brisk_subsystem *subsystem,
				     void (*fn)(const char *depends_on, void *ctx), void *ctx)
{
	struct brisk_subsystem_depend *d;

	for (d = g_depends; d != NULL; d = d->next) {
		if (strcmp(d->name, subsystem->name) == 0) {
			fn(d->depends_on, ctx);
		}
	}
}

void brisk_subsystem_write_config_json(const struct brisk_subsystem *subsystem, json_t *array)
{
	if (subsystem->write_config_json != NULL) {
		subsystem->write_config_json(array);
	}
}

/* ---- Sorting ---- */

static int subsystem_check_depends(void)
{
	struct brisk_subsystem_depend *d;
	struct brisk_subsystem *s;
	int rc = 0;

	for (s = g_subsystems; s != NULL; s = s->next) {
		if (brisk_subsystem_find(s->name) != s) {
			BRISK_ERRLOG("subsystem '%s' is registered twice\n", s->name);
			rc = -EINVAL;
		}
	}
	for (d = g_depends; d != NULL; d = d->next) {
		if (brisk_subsystem_find(d->name) == NULL) {
			BRISK_ERRLOG("a dependency is declared for subsystem '%s', which is not registered\n",
				     d->name);
			rc = -EINVAL;
		} else if (brisk_subsystem_find(d->depends_on) == NULL) {
			BRISK_ERRLOG("subsystem '%s' depends on subsystem '%s', which is not registered\n",
				     d->name, d->depends_on);
			rc = -EINVAL;
		}
	}
	return rc;
}

/* True if every dependency of s is already in the sorted list. */
static bool subsystem_depends_met(const struct brisk_subsystem *s, struct brisk_subsystem *sorted)
{
	struct brisk_subsystem_depend *d;
	struct brisk_subsystem *t;

	for (d = g_depends; d != NULL; d = d->next) {
		if (strcmp(d->name, s->name) != 0) {
			continue;
		}
		for (t = sorted; t != NULL; t = t->next) {
			if (strcmp(t->name, d->depends_on) == 0) {
				break;
			}
		}
		if (t == NULL) {
			return false;
		}
	}
	return true;
}

/* Stable topological sort (registration order among independent subsystems).
 * On a cycle the list is left unchanged and the subsystems involved are named. */
int event_subsystem_sort(void)
{
	struct brisk_subsystem *sorted = NULL, **sorted_tail = &sorted;
	struct brisk_subsystem *unsorted = g_subsystems, **pp, *s;
	char names[512];
	size_t len = 0;
	bool progress = true;
	int rc;

	if (g_sorted) {
		return 0;
	}
	rc = subsystem_check_depends();
	if (rc != 0) {
		return rc;
	}
	while (unsorted != NULL && progress) {
		progress = false;
		for (pp = &unsorted; *pp != NULL;) {
			s = *pp;
			if (subsystem_depends_met(s, sorted)) {
				*pp = s->next;
				s->next = NULL;
				*sorted_tail = s;
				sorted_tail = &s->next;
				progress = true;
			} else {
				pp = &s->next;
			}
		}
	}
	if (unsorted != NULL) {
		names[0] = '\0';
		for (s = unsorted; s != NULL && len < sizeof(names); s = s->next) {
			len += snprintf(names + len, sizeof(names) - len, "%s'%s'",
					s == unsorted ? "" : ", ", s->name);
		}
		BRISK_ERRLOG("dependency cycle among subsystems %s\n", names);
		*sorted_tail = unsorted; /* keep every subsystem registered */
		g_subsystems = sorted;
		return -EINVAL;
	}
	g_subsystems = sorted;
	g_sorted = true;
	return 0;
}

/* ---- Initialisation, in order ---- */

static void subsystem_init_next(void *ctx);
static void subsystem_fini_next(void *ctx);

static void subsystem_init_finish(int rc)
{
	brisk_subsystem_init_fn cb = g_init_cb;

	g_current = NULL;
	g_init_cb = NULL;
	if (rc == 0) {
		g_all_initialized = true;
	}
	cb(rc, g_init_ctx);
}

static void subsystem_init_next(void *ctx)
{
	struct brisk_subsystem *s = g_current == NULL ? g_subsystems : g_current->next;

	if (s == NULL) {
		subsystem_init_finish(0);
		return;
	}
	g_current = s;
	BRISK_INFOLOG("initialising subsystem %s\n", s->name);
	if (s->init != NULL) {
		s->init();
	} else {
		brisk_subsystem_init_done(0);
	}
}

void brisk_subsystem_init_done(int rc)
{
	if (g_current == NULL || g_init_cb == NULL) {
		BRISK_ERRLOG("brisk_subsystem_init_done called with no subsystem initialising\n");
		return;
	}
	if (rc != 0) {
		BRISK_ERRLOG("subsystem %s failed to initialise: %s\n", g_current->name, strerror(-rc));
		bool fini_pending = g_fini_cb != NULL;

		subsystem_init_finish(rc);
		if (fini_pending) {
			subsystem_fini_next(NULL);
		}
		return;
	}
	g_initialized_count++;
	if (g_fini_cb != NULL) {
		/* brisk_subsystem_fini was called meanwhile: stop here, finish. */
		subsystem_init_finish(-ECANCELED);
		subsystem_fini_next(NULL);
		return;
	}
	/* Next step by message: init_done may be called from inside init(), and
	 * a long chain of subsystems must not grow the stack. */
	if (brisk_thread_send_msg(g_sequence_thread, subsystem_init_next, NULL) != 0) {
		subsystem_init_finish(-ENOMEM);
	}
}

void brisk_subsystem_init(brisk_subsystem_init_fn cb, void *ctx)
{
	int rc;

	if (g_init_cb != NULL || g_fini_cb != NULL || g_initialized_count != 0) {
		BRISK_ERRLOG("subsystems are already initialised or being initialised\n");
		cb(-EALREADY, ctx);
		return;
	}
	g_sequence_thread = brisk_get_thread();
	if (g_sequence_thread == NULL) {
		BRISK_ERRLOG("brisk_subsystem_init must run on a brisk_thread\n");
		cb(-EINVAL, ctx);
		return;
	}
	rc = event_subsystem_sort();
	if (rc != 0) {
		cb(rc, ctx);
		return;
	}
	g_init_cb = cb;
	g_init_ctx = ctx;
	g_current = NULL;
	subsystem_init_next(NULL);
}

/* ---- Settling, in order, after the start-up configuration ---- */

static struct brisk_subsystem *g_settling;
static brisk_msg_fn g_settle_cb;
static void *g_settle_ctx;

static void subsystem_settle_next(void *ctx)
{
	struct brisk_subsystem *s = g_settling == NULL ? g_subsystems : g_settling->next;
	brisk_msg_fn cb = g_settle_cb;

	while (s != NULL && s->settle == NULL) {
		s = s->next;
	}
	g_settling = s;
	if (s == NULL) {
		g_settle_cb = NULL;
		cb(g_settle_ctx);
		return;
	}
	BRISK_INFOLOG("waiting for subsystem %s to settle\n", s->name);
	s->settle(subsystem_settle_next, NULL);
}

void event_subsystem_settle(brisk_msg_fn cb, void *ctx)
{
	g_settle_cb = cb;
	g_settle_ctx = ctx;
	g_settling = NULL;
	/* By message: the caller's step must return before cb runs. */
	if (brisk_thread_send_msg(brisk_get_thread(), subsystem_settle_next, NULL) != 0) {
		subsystem_settle_next(NULL);
	}
}

/* ---- Finishing, in reverse ---- */

/* The k-th subsystem of the list (0-based). */
static struct brisk_subsystem *subsystem_at(uint32_t k)
{
	struct brisk_subsystem *s = g_subsystems;

	while (s != NULL && k-- > 0) {
		s = s->next;
	}
	return s;
}

static void subsystem_fini_next(void *ctx)
{
	brisk_msg_fn cb;

	if (g_initialized_count == 0) {
		cb = g_fini_cb;
		g_fini_cb = NULL;
		g_current = NULL;
		g_all_initialized = false;
		cb(g_fini_ctx);
		return;
	}
	g_current = subsystem_at(g_initialized_count - 1);
	BRISK_INFOLOG("finishing subsystem %s\n", g_current->name);
	if (g_current->fini != NULL) {
		g_current->fini();
	} else {
		brisk_subsystem_fini_done();
	}
}

void brisk_subsystem_fini_done(void)
{
	if (g_fini_cb == NULL || g_initialized_count == 0) {
		BRISK_ERRLOG("brisk_subsystem_fini_done called with no subsystem finishing\n");
		return;
	}
	g_initialized_count--;
	if (brisk_thread_send_msg(g_sequence_thread, subsystem_fini_next, NULL) != 0) {
		/* Cannot queue: carry on directly rather than hang shutdown. */
		subsystem_fini_next(NULL);
	}
}

void brisk_subsystem_fini(brisk_msg_fn cb, void *ctx)
{
	if (g_fini_cb != NULL) {
		BRISK_ERRLOG("subsystems are already being finished\n");
		return;
	}
	g_fini_cb = cb;
	g_fini_ctx = ctx;
	if (g_init_cb != NULL) {
		/* A subsystem is initialising: it finishes first, then the
		 * sequence stops (init cb gets -ECANCELED) and fini starts. */
		return;
	}
	g_sequence_thread = brisk_get_thread();
	subsystem_fini_next(NULL);
}
