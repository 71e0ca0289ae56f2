/*
 * Private to the JSON-RPC server: how the registry (rpc_registry.c), the
 * request layer (jsonrpc.c) and the socket layer (rpc_server.c) fit together.
 *
 *   rpc_server.c   accepts clients, reads bytes, writes responses, enforces
 *                  the connection limit and the timeouts.
 *   rpc_framer.c   finds where each JSON value ends in the byte stream.
 *   rpc_socket.c   the socket's path, lock file, mode, group and peer checks.
 *   jsonrpc.c      turns one JSON value (request or batch) into calls of
 *                  registered handlers, and answers into response objects,
 *                  queued per connection so they leave in request order; runs
 *                  batches step by step under the send high-water mark.
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
#define RPC_MAX_METHOD_NAME 128
/* Requests (or batches) of one client received and not yet answered. */
#define RPC_MAX_PENDING_PER_CONN 128
#define RPC_READ_CHUNK (64u * 1024)
#define RPC_IDLE_BUF_CAP (1024u * 1024) /* shrink buffers above this once empty */

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

/* ---- rpc_compat.c: SPDK parameters Brisk does not implement ---- */
/* Checks params of method against the list: 0 with *out NULL (nothing listed
 * applies) or *out a copy without the listed parameters, for the handler;
 * a negative errno with msg filled when one is set away from SPDK's default. */
int rpc_compat_filter(const char *method, const json_t *params, json_t **out, char *msg, size_t len);

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
/* Appends a slot to the queue; it holds a reference on conn until freed. */
void rpc_conn_add_slot(struct rpc_conn *conn, struct rpc_slot *slot);
/* Appends raw bytes to the output (and a newline). 0 or -ENOMEM. */
int rpc_conn_append_output(struct rpc_conn *conn, const char *data, size_t len, bool newline);
/* Unsent output plus batch answers not yet handed to the output. */
size_t rpc_conn_queued_bytes(const struct rpc_conn *conn);
/* Queued bytes at or above the send high-water mark: work pauses. */
bool rpc_conn_over_high_water(const struct rpc_conn *conn);
uint32_t rpc_max_batch_size(void);

/* ---- rpc_socket.c ---- */
/* Directory checks (and the default directory created): 0 or -errno. */
int rpc_socket_check_path(const char *path);
/* The lock file, opened without following links: fd or -errno. */
int rpc_socket_open_lock(const char *lock_path);
/* Binds fd to path with the options' mode and group. 0 or -errno. */
int rpc_socket_bind(int fd, const char *path, const struct brisk_rpc_opts *opts);
/* 0 if the client on fd may talk to the server, -EACCES (logged) if not. */
int rpc_socket_check_peer(int fd, const struct brisk_rpc_opts *opts);

/* ---- jsonrpc.c ---- */
/* A growable byte buffer. */
struct rpc_text {
	char *buf;
	size_t len;
	size_t cap;
};
int rpc_text_append(struct rpc_text *t, const char *data, size_t len);
/* Appends v as compact JSON; 0, or -ENOMEM with t as it was. Not json_dumps:
 * jansson 2.14 ignores a failed write of an object key's closing quote and
 * then returns broken JSON as a success; here every failed write counts. */
int rpc_text_dump(struct rpc_text *t, const json_t *v);
void rpc_text_reset(struct rpc_text *t); /* empties it and frees a large buffer */

/*
 * A slot keeps the place of one request (or one batch) in the connection's
 * response order. A single request's answer is kept until the slot reaches
 * the head of the queue. A batch runs a few requests per step and writes
 * each answer as text at once ('[' a ',' b ... ']'); the head slot's text
 * is handed to the output as it grows, so a batch never holds more than the
 * send high-water mark of answers. It pauses at the mark and goes on when
 * the client reads; when the client leaves, its remaining requests are
 * dropped unrun.
 */
struct rpc_slot {
	TAILQ_ENTRY(rpc_slot) link;
	struct rpc_conn *conn;
	json_t *response; /* single request: its answer, or NULL when nothing to send */
	uint32_t pending; /* answers still to come (a batch's unstarted requests too) */
	bool is_batch;
	/* Batches only. */
	json_t *batch;    /* the request array */
	size_t next;      /* next request to start */
	uint32_t in_flight; /* started, not answered yet */
	bool step_queued; /* a message will run the next step */
	bool in_step;     /* answers wait for the end of the step to be sent */
	bool opened;      /* '[' written */
	bool broken; /* an answer could not be written: the client is closed */
	struct rpc_text text;
};
TAILQ_HEAD(rpc_slot_queue, rpc_slot);

/* Handles one complete JSON value received on conn (text, for parsing). */
void rpc_conn_handle_value(struct rpc_conn *conn, const char *text, size_t len);
/* Frees a slot (and its response); the caller has unlinked it. */
void rpc_slot_free(struct rpc_slot *slot);
/* The client read or left: queue a step of every batch still running. */
void rpc_conn_kick_batches(struct rpc_conn *conn);
/* Builds {"jsonrpc":"2.0","id":id,"error":{code,message}}. */
json_t *rpc_error_response(const json_t *id, int code, const char *msg);

#endif
