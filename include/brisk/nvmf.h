/*
 * The NVMe over Fabrics target (TCP transport). One target per process,
 * started and stopped by the "nvmf" subsystem of lib/event and configured
 * through the nvmf_* JSON-RPC methods (SPDK's names and parameters), which
 * are part of this library. The structures behind it stay private.
 */
#ifndef BRISK_NVMF_H
#define BRISK_NVMF_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BRISK_NVMF_TRADDR_LEN 255
#define BRISK_NVMF_TRSVCID_LEN 31

/* nvmf_create_transport parameters (SPDK's names). */
struct brisk_nvmf_transport_opts {
	uint16_t max_queue_depth;        /* per I/O queue, 128 */
	uint16_t max_qpairs_per_ctrlr;   /* admin + I/O, 128 */
	uint32_t in_capsule_data_size;   /* bytes, 4096 */
	uint32_t max_io_size;            /* bytes, 131072 */
	uint32_t io_unit_size;           /* bytes, 131072 */
	uint32_t max_aq_depth;           /* admin queue, 128 */
	uint32_t num_shared_buffers;     /* accepted for compatibility, 511 */
	uint32_t buf_cache_size;         /* accepted for compatibility, 32 */
	uint32_t abort_timeout_sec;      /* 1 */
	bool c2h_success;                /* C2HData with SUCCESS, no CapsuleResp: true */
	bool dif_insert_or_strip;        /* must stay false */
	int32_t sock_priority;           /* SO_PRIORITY of accepted sockets, 0 */
};

/* nvmf_set_config parameters. */
struct brisk_nvmf_config {
	uint32_t acceptor_poll_rate;     /* us, while the app thread is busy: 10000 */
	char discovery_filter[32];       /* "match_any" only */
};

typedef void (*brisk_nvmf_done_fn)(void *ctx, int rc);

/* On the app thread. poll_mode: the reactors never sleep, so the target
 * polls without pausing (its fds would never be looked at). cb runs later. */
void brisk_nvmf_tgt_init(bool poll_mode, brisk_nvmf_done_fn cb, void *ctx);
/* Closes every connection, listener and subsystem; cb runs later. */
void brisk_nvmf_tgt_fini(brisk_nvmf_done_fn cb, void *ctx);
/* The calls that recreate the target's configuration (save_config). */
void brisk_nvmf_tgt_write_config_json(json_t *array);

#ifdef __cplusplus
}
#endif
#endif
