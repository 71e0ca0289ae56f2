/*
 * brisk_thread life cycle: library init, create, exit, destroy, poll, the
 * current-thread variable, statistics and the global thread registry.
 *
 * The registry (a list under g_list_lock) is touched on create/destroy and by
 * iterators only; polling and messaging never take it.
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/env.h>
#include <brisk/log.h>
#include <brisk/mempool.h>
#include <brisk/ring.h>
#include <brisk/ticks.h>

#include "thread_internal.h"

BRISK_LOG_REGISTER_COMPONENT(thread)

struct brisk_mempool *thread_msg_pool;

static pthread_mutex_t g_list_lock = PTHREAD_MUTEX_INITIALIZER;
static TAILQ_HEAD(, brisk_thread) g_threads = TAILQ_HEAD_INITIALIZER(g_threads);
static uint32_t g_thread_count;
static uint64_t g_next_thread_id = 1;
static struct brisk_thread *g_app_thread;
static bool g_lib_initialized;
static brisk_new_thread_fn g_new_thread_fn;
static size_t g_ctx_sz;

static __thread struct brisk_thread *tls_current_thread;

void thread_list_lock(void)
{
	pthread_mutex_lock(&g_list_lock);
}

void thread_list_unlock(void)
{
	pthread_mutex_unlock(&g_list_lock);
}

/* ---- Library ---- */

int brisk_thread_lib_init_ext(const struct brisk_thread_lib_opts *opts)
{
	uint32_t pool_size;

	if (opts == NULL) {
		BRISK_ERRLOG("thread lib init: opts is NULL\n");
		return -EINVAL;
	}
	if (g_lib_initialized) {
		BRISK_ERRLOG("thread lib init: already initialized\n");
		return -EALREADY;
	}
	if (!brisk_env_is_initialized()) {
		BRISK_ERRLOG("thread lib init: brisk_env_init must run first\n");
		return -EINVAL;
	}
	if (opts->ctx_sz > 1024 * 1024) {
		BRISK_ERRLOG("thread lib init: ctx_sz %zu is too large (max 1 MiB)\n", opts->ctx_sz);
		return -EINVAL;
	}
	pool_size = opts->msg_pool_size ? opts->msg_pool_size : THREAD_DEFAULT_MSG_POOL_SIZE;
	if (pool_size < 2) {
		BRISK_ERRLOG("thread lib init: msg_pool_size %u is too small\n", pool_size);
		return -EINVAL;
	}
	/* The per-core cache must stay small against the pool (mempool rule:
	 * cache <= n / 1.5), so small test pools get a proportionally small cache. */
	unsigned cache = BRISK_MEMPOOL_DEFAULT_CACHE_SIZE;
	if (cache > pool_size * 2 / 3 / 4) {
		cache = pool_size * 2 / 3 / 4;
	}
	/* Each process of a shm id has its own pool (a secondary's named apart). */
	char pool_name[BRISK_MEMPOOL_NAMESIZE];
	brisk_env_proc_obj_name(pool_name, sizeof(pool_name), "brisk_thread_msgs");
	thread_msg_pool =
		brisk_mempool_create(pool_name, pool_size, sizeof(struct thread_msg), cache, BRISK_ENV_SOCKET_ID_ANY);
	if (thread_msg_pool == NULL) {
		int rc = errno ? -errno : -ENOMEM;
		BRISK_ERRLOG("thread lib init: cannot create the message pool (%u messages): %s\n",
			     pool_size, strerror(-rc));
		return rc;
	}
	g_new_thread_fn = opts->new_thread_fn;
	g_ctx_sz = opts->ctx_sz;
	g_lib_initialized = true;
	return 0;
}

int brisk_thread_lib_init(brisk_new_thread_fn new_thread_fn, size_t ctx_sz)
{
	struct brisk_thread_lib_opts opts = {
		.new_thread_fn = new_thread_fn,
		.ctx_sz = ctx_sz,
		.msg_pool_size = 0,
	};

	return brisk_thread_lib_init_ext(&opts);
}

void brisk_thread_lib_fini(void)
{
	struct brisk_thread *t;

	if (!g_lib_initialized) {
		return;
	}
	thread_list_lock();
	TAILQ_FOREACH(t, &g_threads, link) {
		BRISK_ERRLOG("thread lib fini: thread '%s' (id %" PRIu64 ") still exists\n",
			     t->name, t->id);
	}
	thread_list_unlock();
	if (TAILQ_EMPTY(&g_threads)) {
		/* Only free the pool when no thread can still use it. */
		brisk_mempool_free(thread_msg_pool);
		thread_msg_pool = NULL;
	}
	g_lib_initialized = false;
	g_new_thread_fn = NULL;
	g_ctx_sz = 0;
}

/* ---- Create / exit / destroy ---- */

static void app_cpumask(struct brisk_cpuset *set)
{
	uint32_t core;

	brisk_cpuset_zero(set);
	BRISK_ENV_FOREACH_CORE(core) {
		brisk_cpuset_set_cpu(set, core, true);
	}
}

static void thread_free(struct brisk_thread *t)
{
	thread_wake_fini(t);
	if (t->msgs_mem != NULL) {
		brisk_free(t->msgs_mem);
	}
	free(t);
}

static struct brisk_thread *thread_alloc(const char *name, const struct brisk_cpuset *cpumask)
{
	struct brisk_thread *t;
	long ring_sz;
	int rc;

	/* Plain calloc: a thread is control-plane state, not DMA memory. */
	t = calloc(1, sizeof(*t) + g_ctx_sz);
	if (t == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	t->wake.fd = -1;
	t->epoll_fd = -1;
	TAILQ_INIT(&t->active_pollers);
	TAILQ_INIT(&t->timed_pollers);
	TAILQ_INIT(&t->paused_pollers);
	TAILQ_INIT(&t->io_channels);
	TAILQ_INIT(&t->interrupts);
	if (cpumask != NULL) {
		brisk_cpuset_copy(&t->cpumask, cpumask);
	} else {
		app_cpumask(&t->cpumask);
	}

	ring_sz = brisk_ring_get_memsize(BRISK_MSG_RING_SIZE);
	if (ring_sz < 0) {
		BRISK_ERRLOG("thread create: bad message ring size %u\n", BRISK_MSG_RING_SIZE);
		free(t);
		errno = EINVAL;
		return NULL;
	}
	/* brisk_ring_init wants 128-byte alignment (head and tail on separate lines). */
	t->msgs_mem = brisk_malloc((size_t)ring_sz, 128, BRISK_ENV_SOCKET_ID_ANY);
	if (t->msgs_mem == NULL) {
		BRISK_ERRLOG("thread create '%s': no memory for its message ring (%ld bytes)\n",
			     name, ring_sz);
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	t->msgs = t->msgs_mem;
	/* Any OS thread may send (multi-producer); only the owner dequeues. */
	rc = brisk_ring_init(t->msgs, "thread_msgs", BRISK_MSG_RING_SIZE, BRISK_RING_F_SC_DEQ);
	if (rc != 0) {
		BRISK_ERRLOG("thread create '%s': message ring init failed: %s\n", name, strerror(-rc));
		thread_free(t);
		errno = -rc;
		return NULL;
	}
	rc = thread_wake_init(t);
	if (rc != 0) {
		thread_free(t);
		errno = -rc;
		return NULL;
	}
	t->tsc_last = brisk_get_ticks();
	return t;
}

static struct brisk_thread *thread_create(const char *name, const struct brisk_cpuset *cpumask,
					  bool schedule)
{
	struct brisk_thread *t;
	int rc;

	if (!g_lib_initialized) {
		BRISK_ERRLOG("thread create: brisk_thread_lib_init has not run\n");
		errno = EINVAL;
		return NULL;
	}
	if (cpumask != NULL && brisk_cpuset_count(cpumask) == 0) {
		BRISK_ERRLOG("thread create: cpumask is empty\n");
		errno = EINVAL;
		return NULL;
	}
	if (name != NULL && strlen(name) >= BRISK_THREAD_NAME_MAX) {
		BRISK_ERRLOG("thread create: name '%s' is longer than %d characters\n", name,
			     BRISK_THREAD_NAME_MAX - 1);
		errno = EINVAL;
		return NULL;
	}
	t = thread_alloc(name ? name : "(unnamed)", cpumask);
	if (t == NULL) {
		return NULL;
	}

	thread_list_lock();
	t->id = g_next_thread_id++;
	if (name != NULL) {
		snprintf(t->name, sizeof(t->name), "%s", name);
	} else {
		snprintf(t->name, sizeof(t->name), "thread_%" PRIu64, t->id);
	}
	TAILQ_INSERT_TAIL(&g_threads, t, link);
	g_thread_count++;
	if (g_app_thread == NULL) {
		g_app_thread = t;
	}
	thread_list_unlock();

	if (schedule && g_new_thread_fn != NULL) {
		rc = g_new_thread_fn(t);
		if (rc != 0) {
			BRISK_ERRLOG("thread create '%s': the scheduler refused it: %s\n", t->name,
				     strerror(-rc));
			thread_list_lock();
			TAILQ_REMOVE(&g_threads, t, link);
			g_thread_count--;
			if (g_app_thread == t) {
				g_app_thread = NULL;
			}
			thread_list_unlock();
			thread_free(t);
			errno = rc < 0 ? -rc : EINVAL;
			return NULL;
		}
	}
	BRISK_DEBUGLOG(thread, "created thread '%s' (id %" PRIu64 ")\n", t->name, t->id);
	return t;
}

struct brisk_thread *brisk_thread_create(const char *name, const struct brisk_cpuset *cpumask)
{
	return thread_create(name, cpumask, true);
}

struct brisk_thread *brisk_thread_create_unscheduled(const char *name, const struct brisk_cpuset *cpumask)
{
	return thread_create(name, cpumask, false);
}

int brisk_thread_exit(struct brisk_thread *thread)
{
	int expected = THREAD_STATE_RUNNING;

	if (thread == NULL) {
		BRISK_ERRLOG("thread exit: thread is NULL\n");
		return -EINVAL;
	}
	thread->exit_start_tsc = brisk_get_ticks();
	thread->exit_warned = false;
	/* relaxed is enough on failure; success is release so the exit time
	 * above is visible to whoever observes EXITING */
	if (!__atomic_compare_exchange_n(&thread->state, &expected, THREAD_STATE_EXITING, false,
					 __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
		BRISK_INFOLOG("thread '%s' is already exiting or exited\n", thread->name);
		return 0;
	}
	BRISK_DEBUGLOG(thread, "thread '%s' is exiting\n", thread->name);
	return 0;
}

bool brisk_thread_is_exited(const struct brisk_thread *thread)
{
	return thread != NULL && thread_get_state(thread) == THREAD_STATE_EXITED;
}

bool brisk_thread_is_running(const struct brisk_thread *thread)
{
	return thread != NULL && thread_get_state(thread) == THREAD_STATE_RUNNING;
}

void brisk_thread_destroy(struct brisk_thread *thread)
{
	uint32_t dropped;

	if (thread == NULL) {
		return;
	}
	if (!brisk_thread_is_exited(thread)) {
		BRISK_ERRLOG("thread destroy: thread '%s' has not exited (call brisk_thread_exit and "
			     "poll it until brisk_thread_is_exited)\n", thread->name);
		return;
	}
	if (tls_current_thread == thread) {
		tls_current_thread = NULL;
	}
	thread_list_lock();
	TAILQ_REMOVE(&g_threads, thread, link);
	g_thread_count--;
	if (g_app_thread == thread) {
		g_app_thread = NULL;
	}
	thread_list_unlock();

	/* A sender may still be between its enqueue and the end of its wake-up
	 * (its message may even have run already): wait for it, then the memory
	 * is ours. Its window is a few instructions, so a yield loop is enough. */
	while (__atomic_load_n(&thread->senders, __ATOMIC_ACQUIRE) != 0) {
		sched_yield();
	}
	/* A sender that read the state just before EXITED may still have
	 * enqueued: those messages can no longer run anywhere. */
	dropped = thread_msgs_drop(thread);
	if (dropped > 0) {
		BRISK_WARNLOG("thread '%s' destroyed with %u undelivered messages\n", thread->name,
			      dropped);
	}
	thread_interrupts_free_all(thread);
	thread_pollers_free_all(thread);
	BRISK_DEBUGLOG(thread, "destroyed thread '%s'\n", thread->name);
	thread_free(thread);
}

/* Completes an exit once nothing keeps the thread alive. */
static void thread_check_exit(struct brisk_thread *t)
{
	uint64_t now;

	if (!thread_pollers_any(t) && TAILQ_EMPTY(&t->io_channels) && !thread_msgs_pending(t)) {
		/* release: everything the thread did is visible to whoever sees EXITED */
		__atomic_store_n(&t->state, THREAD_STATE_EXITED, __ATOMIC_RELEASE);
		BRISK_DEBUGLOG(thread, "thread '%s' exited\n", t->name);
		return;
	}
	if (t->exit_warned) {
		return;
	}
	now = brisk_get_ticks();
	if (now - t->exit_start_tsc > THREAD_EXIT_WARN_SEC * brisk_get_ticks_hz()) {
		t->exit_warned = true;
		BRISK_WARNLOG("thread '%s' has been exiting for more than %d s; still holding:\n",
			      t->name, THREAD_EXIT_WARN_SEC);
		thread_pollers_log_remaining(t);
		thread_io_channels_log_remaining(t);
		if (thread_msgs_pending(t)) {
			BRISK_WARNLOG("  pending messages\n");
		}
	}
}

/* ---- Poll ---- */

int brisk_thread_poll(struct brisk_thread *thread, uint32_t max_msgs, uint64_t now)
{
	struct brisk_thread *prev = tls_current_thread;
	uint64_t start, end;
	uint32_t work = 0;

	if (thread == NULL) {
		return 0;
	}
	/* Time spent is measured with the real clock, independently of a
	 * caller-supplied `now` (tests drive timed pollers with a fake clock). */
	start = brisk_get_ticks();
	if (now == 0) {
		now = start;
	}
	tls_current_thread = thread;
	thread->tsc_last = now;

	work += thread_msgs_run(thread, max_msgs ? max_msgs : THREAD_DEFAULT_MAX_MSGS);
	work += thread_pollers_run_active(thread);
	work += thread_pollers_run_timed(thread, now);
	work += thread_interrupts_poll(thread, start);

	if (thread_get_state(thread) == THREAD_STATE_EXITING) {
		thread_check_exit(thread);
	}

	end = brisk_get_ticks();
	if (end > start) {
		if (work > 0) {
			thread->stats.busy_tsc += end - start;
		} else {
			thread->stats.idle_tsc += end - start;
		}
	}
	tls_current_thread = prev;
	return work > 0 ? 1 : 0;
}

bool brisk_thread_is_idle(struct brisk_thread *thread)
{
	return thread != NULL && TAILQ_EMPTY(&thread->active_pollers) &&
	       !thread_msgs_pending(thread);
}

bool brisk_thread_has_active_pollers(struct brisk_thread *thread)
{
	return thread != NULL && !TAILQ_EMPTY(&thread->active_pollers);
}

bool brisk_thread_has_pollers(struct brisk_thread *thread)
{
	return thread != NULL &&
	       (!TAILQ_EMPTY(&thread->active_pollers) || !TAILQ_EMPTY(&thread->timed_pollers));
}

uint64_t brisk_thread_next_poller_expiration(struct brisk_thread *thread)
{
	struct brisk_poller *p;

	if (thread == NULL) {
		return 0;
	}
	p = TAILQ_FIRST(&thread->timed_pollers);
	return p ? p->next_run : 0;
}

/* ---- Current thread ---- */

struct brisk_thread *brisk_get_thread(void)
{
	return tls_current_thread;
}

void brisk_set_thread(struct brisk_thread *thread)
{
	tls_current_thread = thread;
}

/* ---- Accessors ---- */

const char *brisk_thread_get_name(const struct brisk_thread *thread)
{
	return thread ? thread->name : NULL;
}

uint64_t brisk_thread_get_id(const struct brisk_thread *thread)
{
	return thread ? thread->id : 0;
}

struct brisk_thread *thread_get_by_id_locked(uint64_t id)
{
	struct brisk_thread *t;

	TAILQ_FOREACH(t, &g_threads, link) {
		if (t->id == id) {
			return t;
		}
	}
	return NULL;
}

struct brisk_thread *brisk_thread_get_by_id(uint64_t id)
{
	struct brisk_thread *t;

	thread_list_lock();
	t = thread_get_by_id_locked(id);
	thread_list_unlock();
	return t;
}

uint64_t *thread_snapshot_ids_locked(bool (*keep)(struct brisk_thread *t, void *arg), void *arg,
				     uint32_t *count)
{
	struct brisk_thread *t;
	uint64_t *ids;
	uint32_t n = 0;

	*count = 0;
	ids = calloc(g_thread_count ? g_thread_count : 1, sizeof(*ids));
	if (ids == NULL) {
		return NULL;
	}
	TAILQ_FOREACH(t, &g_threads, link) {
		if (thread_get_state(t) != THREAD_STATE_EXITED && (keep == NULL || keep(t, arg))) {
			ids[n++] = t->id;
		}
	}
	*count = n;
	return ids;
}

uint64_t *thread_snapshot_ids(uint32_t *count)
{
	uint64_t *ids;

	thread_list_lock();
	ids = thread_snapshot_ids_locked(NULL, NULL, count);
	thread_list_unlock();
	return ids;
}

const struct brisk_cpuset *brisk_thread_get_cpumask(const struct brisk_thread *thread)
{
	return thread ? &thread->cpumask : NULL;
}

int brisk_thread_set_cpumask(struct brisk_thread *thread, const struct brisk_cpuset *cpumask)
{
	if (thread == NULL || cpumask == NULL) {
		BRISK_ERRLOG("thread set cpumask: %s is NULL\n", thread ? "cpumask" : "thread");
		return -EINVAL;
	}
	if (brisk_cpuset_count(cpumask) == 0) {
		BRISK_ERRLOG("thread set cpumask '%s': cpumask is empty\n", thread->name);
		return -EINVAL;
	}
	brisk_cpuset_copy(&thread->cpumask, cpumask);
	return 0;
}

void *brisk_thread_get_ctx(struct brisk_thread *thread)
{
	if (thread == NULL || g_ctx_sz == 0) {
		return NULL;
	}
	return thread->ctx;
}

struct brisk_thread *brisk_thread_get_from_ctx(void *ctx)
{
	if (ctx == NULL) {
		return NULL;
	}
	return (struct brisk_thread *)((uint8_t *)ctx - offsetof(struct brisk_thread, ctx));
}

uint32_t brisk_thread_get_count(void)
{
	uint32_t n;

	thread_list_lock();
	n = g_thread_count;
	thread_list_unlock();
	return n;
}

struct brisk_thread *brisk_thread_get_first(void)
{
	struct brisk_thread *t;

	thread_list_lock();
	t = TAILQ_FIRST(&g_threads);
	thread_list_unlock();
	return t;
}

struct brisk_thread *brisk_thread_get_next(struct brisk_thread *prev)
{
	struct brisk_thread *t;

	if (prev == NULL) {
		return NULL;
	}
	thread_list_lock();
	t = TAILQ_NEXT(prev, link);
	thread_list_unlock();
	return t;
}

struct brisk_thread *brisk_thread_get_app_thread(void)
{
	struct brisk_thread *t;

	thread_list_lock();
	t = g_app_thread;
	thread_list_unlock();
	return t;
}

/* ---- Statistics ---- */

int brisk_thread_get_stats(struct brisk_thread_stats *stats)
{
	struct brisk_thread *t = tls_current_thread;

	if (stats == NULL) {
		BRISK_ERRLOG("thread get stats: stats is NULL\n");
		return -EINVAL;
	}
	if (t == NULL) {
		BRISK_ERRLOG("thread get stats: not called on a brisk_thread\n");
		return -EINVAL;
	}
	*stats = t->stats;
	return 0;
}

const struct brisk_thread_stats *brisk_thread_get_stats_of(const struct brisk_thread *thread)
{
	return thread ? &thread->stats : NULL;
}

void brisk_thread_update_stats(struct brisk_thread *thread, uint64_t idle_tsc)
{
	if (thread != NULL) {
		thread->stats.idle_tsc += idle_tsc;
	}
}
