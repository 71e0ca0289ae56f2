/*
 * The transport registry: each transport (PCIe here; TCP arrives with the
 * NVMe-oF work; a test fake) registers an ops table, found by type or by the
 * name a transport ID spells. Controllers keep a pointer to their ops.
 */
#include <strings.h>

#include "nvme_internal.h"

#define NVME_MAX_TRANSPORTS 8

/* Registered from constructors and test set-up, before any thread runs I/O;
 * read-only afterwards, so no lock. */
static const struct nvme_transport_ops *g_transports[NVME_MAX_TRANSPORTS];
static int g_num_transports;

void nvme_transport_register(const struct nvme_transport_ops *ops)
{
	if (nvme_transport_get(ops->trtype) != NULL) {
		return;
	}
	if (g_num_transports == NVME_MAX_TRANSPORTS) {
		BRISK_ERRLOG("nvme: no room to register transport %s\n", ops->name);
		return;
	}
	g_transports[g_num_transports++] = ops;
}

const struct nvme_transport_ops *nvme_transport_get(enum brisk_nvme_transport_type trtype)
{
	for (int i = 0; i < g_num_transports; i++) {
		if (g_transports[i]->trtype == trtype) {
			return g_transports[i];
		}
	}
	return NULL;
}

const struct nvme_transport_ops *nvme_transport_get_by_name(const char *name)
{
	for (int i = 0; i < g_num_transports; i++) {
		if (strcasecmp(g_transports[i]->name, name) == 0) {
			return g_transports[i];
		}
	}
	return NULL;
}

__attribute__((constructor)) static void nvme_transport_register_pcie(void)
{
	nvme_transport_register(&nvme_pcie_ops);
	nvme_transport_register(&nvme_tcp_ops);
}
