/*
 * The brisk_nvme engine's process-wide state: the env (started by the first
 * job's setup, ended when fio unloads the engine) and the controllers, each
 * attached once by transport ID and shared by every file and job that names
 * it. Everything here runs under one mutex: it is set-up, never the I/O path.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/env.h>
#include <brisk/log.h>
#include <brisk/nvme.h>

#include "fio_nvme.h"

#define MAX_CTRLRS 64
#define FILENAME_MAX_LEN 1024

static struct {
	pthread_mutex_t lock;
	bool tried;
	int rc;
	struct brisk_fio_nvme_env_opts opts;
	uint32_t num_ctrlrs;
	struct brisk_nvme_transport_id trids[MAX_CTRLRS];
	struct brisk_nvme_ctrlr *ctrlrs[MAX_CTRLRS];
} g_nvme = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int env_start_locked(const struct brisk_fio_nvme_env_opts *opts)
{
	struct brisk_env_opts env;

	brisk_env_opts_init(&env);
	env.name = "fio";
	env.mem_size_mb = opts->mem_size_mb;
	env.no_huge = opts->no_huge;
	return brisk_env_init(&env);
}

int brisk_fio_nvme_env_start(const struct brisk_fio_nvme_env_opts *opts)
{
	int rc;

	pthread_mutex_lock(&g_nvme.lock);
	if (!g_nvme.tried) {
		g_nvme.tried = true;
		g_nvme.opts = *opts;
		g_nvme.rc = env_start_locked(opts);
		if (g_nvme.rc != 0) {
			BRISK_ERRLOG("brisk_nvme: the Brisk env did not start: %s\n", strerror(-g_nvme.rc));
		}
	} else if (g_nvme.rc == 0 && (opts->mem_size_mb != g_nvme.opts.mem_size_mb ||
				      opts->no_huge != g_nvme.opts.no_huge)) {
		BRISK_ERRLOG("brisk_nvme: spdk_mem/no_huge differ between jobs; Brisk starts once per fio "
			     "process with the first job's settings (put them in [global])\n");
		rc = -EINVAL;
		goto out;
	}
	rc = g_nvme.rc;
out:
	pthread_mutex_unlock(&g_nvme.lock);
	return rc;
}

void brisk_fio_nvme_env_stop(void)
{
	pthread_mutex_lock(&g_nvme.lock);
	for (uint32_t i = 0; i < g_nvme.num_ctrlrs; i++) {
		brisk_nvme_detach(g_nvme.ctrlrs[i]);
	}
	g_nvme.num_ctrlrs = 0;
	if (g_nvme.tried && g_nvme.rc == 0) {
		brisk_env_fini();
	}
	g_nvme.tried = false;
	pthread_mutex_unlock(&g_nvme.lock);
}

/* Splits "ns=N" (or ns:N) off the filename; the rest is the transport ID.
 * *nsid is 1 when the filename names none, as in SPDK's plugin. */
static int nvme_split_ns(const char *filename, char *trid_str, size_t len, uint32_t *nsid)
{
	char copy[FILENAME_MAX_LEN], *save = NULL, *word, *end;
	size_t used = 0;

	*nsid = 1;
	if (snprintf(copy, sizeof(copy), "%s", filename) >= (int)sizeof(copy)) {
		BRISK_ERRLOG("brisk_nvme: filename is longer than %d characters\n", FILENAME_MAX_LEN - 1);
		return -EINVAL;
	}
	trid_str[0] = '\0';
	for (word = strtok_r(copy, " \t", &save); word != NULL; word = strtok_r(NULL, " \t", &save)) {
		if (strncasecmp(word, "ns=", 3) == 0 || strncasecmp(word, "ns:", 3) == 0) {
			unsigned long v = strtoul(word + 3, &end, 10);

			if (word[3] == '\0' || *end != '\0' || v == 0 || v > UINT32_MAX) {
				BRISK_ERRLOG("brisk_nvme: ns '%s' is not a namespace id (1 or more)\n", word + 3);
				return -EINVAL;
			}
			*nsid = (uint32_t)v;
			continue;
		}
		used += (size_t)snprintf(trid_str + used, len - used, "%s%s", used ? " " : "", word);
	}
	return 0;
}

/* The controller trid names: attached earlier, or now. */
static struct brisk_nvme_ctrlr *nvme_get_ctrlr(const struct brisk_nvme_transport_id *trid)
{
	struct brisk_nvme_ctrlr *ctrlr;

	for (uint32_t i = 0; i < g_nvme.num_ctrlrs; i++) {
		if (brisk_nvme_transport_id_compare(&g_nvme.trids[i], trid) == 0) {
			return g_nvme.ctrlrs[i];
		}
	}
	if (g_nvme.num_ctrlrs == MAX_CTRLRS) {
		BRISK_ERRLOG("brisk_nvme: more than %d controllers\n", MAX_CTRLRS);
		return NULL;
	}
	ctrlr = brisk_nvme_connect(trid, NULL);
	if (ctrlr != NULL) {
		g_nvme.trids[g_nvme.num_ctrlrs] = *trid;
		g_nvme.ctrlrs[g_nvme.num_ctrlrs++] = ctrlr;
	}
	return ctrlr;
}

static int nvme_fill_target(struct brisk_nvme_ctrlr *ctrlr, uint32_t nsid, const char *filename,
			    struct brisk_fio_nvme_target *t)
{
	struct brisk_nvme_ns *ns = brisk_nvme_ctrlr_get_ns(ctrlr, nsid);

	if (ns == NULL || !brisk_nvme_ns_is_active(ns)) {
		BRISK_ERRLOG("brisk_nvme: '%s': the controller has no active namespace %u\n", filename, nsid);
		return -ENODEV;
	}
	t->ctrlr = ctrlr;
	t->ns = ns;
	t->sector_size = brisk_nvme_ns_get_sector_size(ns);
	t->size = brisk_nvme_ns_get_size(ns);
	t->dsm = brisk_nvme_ns_supports_dsm(ns);
	t->flush = brisk_nvme_ns_has_volatile_write_cache(ns);
	return 0;
}

int brisk_fio_nvme_open(const char *filename, struct brisk_fio_nvme_target *target)
{
	struct brisk_nvme_transport_id trid;
	struct brisk_nvme_ctrlr *ctrlr;
	char trid_str[FILENAME_MAX_LEN];
	uint32_t nsid;
	int rc;

	memset(&trid, 0, sizeof(trid));
	rc = nvme_split_ns(filename, trid_str, sizeof(trid_str), &nsid);
	if (rc == 0) {
		rc = brisk_nvme_transport_id_parse(&trid, trid_str);
	}
	if (rc != 0) {
		BRISK_ERRLOG("brisk_nvme: filename '%s' is not a transport ID such as "
			     "'trtype=PCIe traddr=0000.00.04.0 ns=1'\n", filename);
		return rc;
	}
	pthread_mutex_lock(&g_nvme.lock);
	ctrlr = nvme_get_ctrlr(&trid);
	rc = ctrlr != NULL ? nvme_fill_target(ctrlr, nsid, filename, target) : -ENODEV;
	pthread_mutex_unlock(&g_nvme.lock);
	if (ctrlr == NULL) {
		BRISK_ERRLOG("brisk_nvme: cannot attach the controller '%s' (see above)\n", trid_str);
	}
	return rc;
}

struct brisk_fio_nvme_req *brisk_fio_nvme_req_alloc(void)
{
	return brisk_dma_zmalloc(sizeof(struct brisk_fio_nvme_req), 64, NULL);
}

void brisk_fio_nvme_req_free(struct brisk_fio_nvme_req *req)
{
	brisk_free(req);
}
