/*
 * Private to the JSON-RPC server: how the registry (rpc_registry.c), the
 * request layer (jsonrpc.c) and the socket layer (rpc_server.c) fit together.
 *
 *   rpc_server.c   accepts clients, reads bytes, finds where each JSON value
 *                  ends (rpc_framer), writes responses.
 *   jsonrpc.c      turns one JSON value (request or batch) into calls of
 *                  registered handlers, and answers into response objects,
 *                  queued per connection so they leave in request order.
 *   rpc_registry.c the method table: names, aliases, state masks.
 *
 * Everything runs on the one brisk_thread that called brisk_rpc_listen (or
 * brisk_rpc_call_local): there is no locking here.
 *
 * Lifetimes: a connection is reference counted. The socket holds one
 * reference while open; every response slot (one per request or batch not yet
 * sent) holds one. A client that disconnects closes the socket at once, and
 * the connection lingers, unreachable, until its outstanding requests have
 * answered; their answers are then dropped.
 */
#ifndef BRISK_RPC_INTERNAL_H
#define BRISK_RPC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <brisk/rpc.h>

/* Largest request (one JSON value, a batch counts as one) a client may send;
 * larger ones get an error and the connection is closed. */
#define RPC_MAX_REQUEST_SIZE (32u * 1024 * 1024)
/* Stop reading a client whose unread responses exceed this, until it reads. */
#define RPC_SEND_HIGH_WATER (16u * 1024 * 1024)
#define RPC_MAX_CONNECTIONS 64
#define RPC_MAX_METHOD_NAME 128
/* Periods of the fallback poller that serves clients while the reactor does
 * not sleep (a sleeping reactor is woken by the sockets themselves): fast
 * while the reactor keeps polling, slow once it is seen sleeping, because
 * then each expiry is a wake-up that costs idle CPU for nothing. */
#define RPC_POLL_PERIOD_US 2000
#define RPC_IDLE_POLL_PERIOD_US 1000000

/* ---- rpc_registry.c ---- */
struct rpc_method {
	char *name;
	brisk_rpc_method_handler func;
	uint32_t state_mask;
	bool is_alias;
	char *alias_of; /* target name for aliases */
};
/* Resolves aliases. NULL if unknown. */
const struct rpc_method *rpc_registry_find(const char *name);
/* Names of methods (and aliases when include_aliases) whose state mask
 * intersects state_mask (0 = all), sorted. */
void rpc_registry_for_each(uint32_t state_mask, bool include_aliases,
			   void (*fn)(const char *name, void *ctx), void *ctx);
/* "before initialization" style text for a state. */
const char *rpc_state_name(uint32_t state);

/* ---- rpc_server.c: framing ---- */
/*
 * Finds value boundaries in a byte stream without parsing: tracks
 * bracket depth and whether the cursor is inside a string, so parsing
 * each value once costs O(size) however many reads it spans.
 */
struct rpc_framer {
	char *buf;
	size_t len;   /* bytes in buf */
	size_t cap;
	size_t head;  /* first byte not yet consumed */
	size_t scan;  /* next byte to examine */
	size_t value_start;
	uint32_t depth;
	bool in_value;
	bool in_string;
	bool escape;
	bool bare;    /* a top-level number or literal, ended by a delimiter */
};

enum rpc_frame_status {
	RPC_FRAME_NEED_MORE = 0, /* no complete value yet */
	RPC_FRAME_VALUE,         /* [*start, *start + *len) is one JSON value */
	RPC_FRAME_MALFORMED,     /* bytes that cannot start a JSON value */
	RPC_FRAME_TOO_LARGE,     /* the value in progress exceeds the limit */
};

void rpc_framer_init(struct rpc_framer *f);
void rpc_framer_fini(struct rpc_framer *f);
/* Space for at least want more bytes: returns where to write, or NULL
 * (-ENOMEM). Call rpc_framer_commit with what was written. */
char *rpc_framer_reserve(struct rpc_framer *f, size_t want, size_t *avail);
void rpc_framer_commit(struct rpc_framer *f, size_t n);
/* Next complete value; consumes it when RPC_FRAME_VALUE (the pointer stays
 * valid until the next reserve). limit: largest value allowed. */
enum rpc_frame_status rpc_framer_next(struct rpc_framer *f, size_t limit, const char **start,
				      size_t *len);
/* Bytes of an unfinished value (or undelimited whitespace) pending. */
size_t rpc_framer_pending(const struct rpc_framer *f);

/* ---- rpc_server.c: connections ---- */
struct rpc_conn;
struct rpc_slot;
void rpc_conn_get(struct rpc_conn *conn);
void rpc_conn_put(struct rpc_conn *conn);
/* Called when a slot completes: serialises every finished slot at the head of
 * the queue (dropping them if the client is gone), frees them, and sends what
 * the socket accepts. */
void rpc_conn_flush_slots(struct rpc_conn *conn);
/* Serialises a connection-level error (id null) ahead of everything, sends
 * what it can and closes the connection (used when the stream cannot be
 * resynchronised). */
void rpc_conn_fatal_error(struct rpc_conn *conn, int code, const char *msg);
bool rpc_conn_is_closed(const struct rpc_conn *conn);
/* Queue of slots in request order (owned by jsonrpc.c, stored in the conn). */
struct rpc_slot_queue *rpc_conn_slots(struct rpc_conn *conn);

/* ---- jsonrpc.c ---- */
/*
 * A slot keeps the place of one request (or one batch) in the connection's
 * response order. Its answer is complete when every request in it has
 * answered; then it is serialised and freed.
 */
struct rpc_slot {
	TAILQ_ENTRY(rpc_slot) link;
	struct rpc_conn *conn;
	json_t *response; /* object, array (batch), or NULL when nothing to send */
	uint32_t pending; /* requests not yet answered */
	bool is_batch;
};
TAILQ_HEAD(rpc_slot_queue, rpc_slot);

/* Handles one complete JSON value received on conn (text, for parsing). */
void rpc_conn_handle_value(struct rpc_conn *conn, const char *text, size_t len);
/* Frees a slot (and its response); the caller has unlinked it. */
void rpc_slot_free(struct rpc_slot *slot);
/* Builds {"jsonrpc":"2.0","id":id,"error":{code,message}}. */
json_t *rpc_error_response(const json_t *id, int code, const char *msg);

#endif
