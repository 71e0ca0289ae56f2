/*
 * The iSCSI target (RFC 7143). One target per process, started and stopped
 * by the "iscsi" subsystem of lib/event and configured through the iscsi_*
 * JSON-RPC methods (SPDK's names and parameters), which are part of this
 * library. Target nodes export LUNs of lib/scsi devices on bdevs.
 */
#ifndef BRISK_ISCSI_H
#define BRISK_ISCSI_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BRISK_ISCSI_NODE_BASE_MAX 223

/* iscsi_set_options parameters (SPDK's names). */
struct brisk_iscsi_opts {
	char node_base[BRISK_ISCSI_NODE_BASE_MAX + 1];  /* "iqn.2016-06.io.spdk" */
	uint32_t nop_timeout;              /* s without a NOP-Out answer before closing: 60 */
	uint32_t nop_in_interval;          /* s of silence before a NOP-In ping: 30 */
	bool disable_chap;
	bool require_chap;
	bool mutual_chap;
	int32_t chap_group;
	uint32_t max_sessions;             /* 128 */
	uint32_t max_connections_per_session; /* 2 */
	uint32_t max_queue_depth;          /* per session: 64 */
	uint32_t default_time2wait;        /* 2 */
	uint32_t default_time2retain;      /* 20 */
	uint32_t first_burst_length;       /* 8192 */
	bool immediate_data;               /* true */
	uint32_t error_recovery_level;     /* only 0 */
	bool allow_duplicated_isid;
	uint32_t max_large_datain_per_connection; /* accepted, 64 */
	uint32_t max_r2t_per_connection;   /* outstanding R2Ts per connection: 4 */
	uint32_t pdu_pool_size;            /* accepted for compatibility */
	uint32_t immediate_data_pool_size; /* accepted for compatibility */
	uint32_t data_out_pool_size;       /* accepted for compatibility */
	uint32_t max_recv_data_segment_length; /* Brisk: what we declare, 65536 */
	uint32_t max_burst_length;         /* Brisk: 1048576 */
};

typedef void (*brisk_iscsi_done_fn)(void *ctx, int rc);

/* On the app thread; cb runs later. poll_mode: reactors never sleep. */
void brisk_iscsi_tgt_init(bool poll_mode, brisk_iscsi_done_fn cb, void *ctx);
/* Closes connections, portals and target nodes; cb runs later. */
void brisk_iscsi_tgt_fini(brisk_iscsi_done_fn cb, void *ctx);
/* The calls that recreate the configuration (save_config). */
void brisk_iscsi_tgt_write_config_json(json_t *array);

#ifdef __cplusplus
}
#endif
#endif
