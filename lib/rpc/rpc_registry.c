/*
 * The table of JSON-RPC methods: names, handlers, the states in which each
 * may run, and aliases (old names kept for scripts). Methods register from
 * constructors, before main and before the env layer exists, so the table
 * lives in ordinary malloc memory and is never freed (it lasts as long as
 * the program's code does).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>
#include <brisk/rpc.h>

#include "rpc_internal.h"

static struct rpc_method *g_methods;
static size_t g_method_count;
static size_t g_method_cap;
static bool g_sorted = true;
static uint32_t g_rpc_state = BRISK_RPC_STARTUP;

static int
method_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rpc_method *)a)->name, ((const struct rpc_method *)b)->name);
}

/* Sorting is deferred to the first lookup: registration happens in
 * constructors, in link order, and sorting once is cheaper than keeping
 * the array sorted on every insert. */
static void
registry_sort(void)
{
	if (!g_sorted && g_method_count > 0) {
		qsort(g_methods, g_method_count, sizeof(*g_methods), method_cmp);
		g_sorted = true;
	}
}

static struct rpc_method *
registry_lookup_exact(const char *name)
{
	struct rpc_method key = { .name = (char *)name };

	if (g_method_count == 0) {
		return NULL; /* g_methods may still be NULL */
	}
	registry_sort();
	return bsearch(&key, g_methods, g_method_count, sizeof(*g_methods), method_cmp);
}

static bool
valid_name(const char *name)
{
	size_t len;

	if (name == NULL) {
		return false;
	}
	len = strlen(name);
	return len > 0 && len < RPC_MAX_METHOD_NAME;
}

static void
registry_add(const char *name, brisk_rpc_method_handler func, uint32_t state_mask,
	     const char *alias_of)
{
	struct rpc_method *m;

	if (!valid_name(name)) {
		BRISK_ERRLOG("invalid RPC method name '%s'\n", name ? name : "(null)");
		return;
	}
	if (registry_lookup_exact(name) != NULL) {
		BRISK_ERRLOG("RPC method '%s' registered twice; keeping the first\n", name);
		return;
	}
	if (g_method_count == g_method_cap) {
		size_t cap = g_method_cap ? g_method_cap * 2 : 64;
		struct rpc_method *grown = realloc(g_methods, cap * sizeof(*grown));

		if (grown == NULL) {
			BRISK_ERRLOG("out of memory registering RPC method '%s'\n", name);
			return;
		}
		g_methods = grown;
		g_method_cap = cap;
	}
	m = &g_methods[g_method_count];
	m->name = strdup(name);
	if (m->name == NULL) {
		BRISK_ERRLOG("out of memory registering RPC method '%s'\n", name);
		return;
	}
	m->func = func;
	m->state_mask = state_mask;
	m->is_alias = alias_of != NULL;
	m->alias_of = NULL;
	if (alias_of != NULL) {
		m->alias_of = strdup(alias_of);
		if (m->alias_of == NULL) {
			free(m->name);
			BRISK_ERRLOG("out of memory registering RPC alias '%s'\n", name);
			return;
		}
	}
	g_method_count++;
	g_sorted = false;
}

void
brisk_rpc_register_method(const char *method, brisk_rpc_method_handler func, uint32_t state_mask)
{
	if (func == NULL || state_mask == 0) {
		BRISK_ERRLOG("RPC method '%s' needs a handler and a state mask\n",
			     method ? method : "(null)");
		return;
	}
	registry_add(method, func, state_mask, NULL);
}

void
brisk_rpc_register_alias(const char *method, const char *alias)
{
	if (!valid_name(method)) {
		BRISK_ERRLOG("invalid target for RPC alias '%s'\n", alias ? alias : "(null)");
		return;
	}
	/* The target may register later (constructor order is link order), so
	 * aliases are resolved at lookup time. */
	registry_add(alias, NULL, 0, method);
}

const struct rpc_method *
rpc_registry_find(const char *name)
{
	const struct rpc_method *m;

	if (name == NULL) {
		return NULL;
	}
	m = registry_lookup_exact(name);
	if (m != NULL && m->is_alias) {
		m = registry_lookup_exact(m->alias_of);
		/* An alias of an alias is not supported: it would allow cycles. */
		if (m != NULL && m->is_alias) {
			m = NULL;
		}
	}
	return m;
}

void
brisk_rpc_set_state(uint32_t state)
{
	g_rpc_state = state;
}

uint32_t
brisk_rpc_get_state(void)
{
	return g_rpc_state;
}

const char *
rpc_state_name(uint32_t state)
{
	switch (state) {
	case BRISK_RPC_STARTUP:
		return "before subsystem initialization (use --wait-for-rpc and call it before framework_start_init)";
	case BRISK_RPC_RUNTIME:
		return "after subsystem initialization (call framework_start_init first)";
	default:
		return "in an unknown state";
	}
}

int
brisk_rpc_is_method_allowed(const char *method, uint32_t state_mask)
{
	const struct rpc_method *m = rpc_registry_find(method);

	if (m == NULL) {
		return -ENOENT;
	}
	if (state_mask == 0) {
		state_mask = g_rpc_state;
	}
	/* Allowed when the method may run in every state the caller names
	 * (in practice one state: the current one). */
	return (m->state_mask & state_mask) == state_mask ? 0 : -EPERM;
}

void
rpc_registry_for_each(uint32_t state_mask, bool include_aliases,
		      void (*fn)(const char *name, void *ctx), void *ctx)
{
	registry_sort();
	for (size_t i = 0; i < g_method_count; i++) {
		const struct rpc_method *m = &g_methods[i];
		const struct rpc_method *target = m;

		if (m->is_alias) {
			if (!include_aliases) {
				continue;
			}
			target = rpc_registry_find(m->name);
			if (target == NULL) {
				continue; /* alias of a method that never registered */
			}
		}
		if (state_mask != 0 && (target->state_mask & state_mask) == 0) {
			continue;
		}
		fn(m->name, ctx);
	}
}

void
brisk_rpc_for_each_method(uint32_t state_mask, void (*fn)(const char *name, void *ctx), void *ctx)
{
	rpc_registry_for_each(state_mask, false, fn, ctx);
}
