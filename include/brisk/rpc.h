/*
 * JSON-RPC 2.0 server over a Unix socket, and the registry of methods.
 * Methods are registered at load time (BRISK_RPC_REGISTER) and run on the
 * thread that called brisk_rpc_listen (the app thread). A handler answers
 * exactly once, immediately or later from that same thread.
 */
#ifndef BRISK_RPC_H
#define BRISK_RPC_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The default socket: for root BRISK_RPC_ROOT_RUNTIME_DIR "/brisk.sock" (the
 * directory is created 0755, root's own), for other users
 * $XDG_RUNTIME_DIR/brisk.sock, or /tmp/brisk-<uid>/brisk.sock (created 0700)
 * without XDG_RUNTIME_DIR. scripts/rpc.py computes the same path. */
#define BRISK_RPC_ROOT_RUNTIME_DIR "/var/run/brisk"
const char *brisk_rpc_default_path(void);
#define BRISK_DEFAULT_RPC_ADDR (brisk_rpc_default_path())

/* States in which a method may run (SPDK's --wait-for-rpc model). */
#define BRISK_RPC_STARTUP 0x1 /* before subsystems are initialised */
#define BRISK_RPC_RUNTIME 0x2 /* after */

/* JSON-RPC 2.0 error codes. */
#define BRISK_JSONRPC_ERROR_PARSE_ERROR -32700
#define BRISK_JSONRPC_ERROR_INVALID_REQUEST -32600
#define BRISK_JSONRPC_ERROR_METHOD_NOT_FOUND -32601
#define BRISK_JSONRPC_ERROR_INVALID_PARAMS -32602
#define BRISK_JSONRPC_ERROR_INTERNAL_ERROR -32603
#define BRISK_JSONRPC_ERROR_INVALID_STATE -1
/* Server errors (JSON-RPC's -32000..-32099 range), sent with id null just
 * before the server closes the connection. */
#define BRISK_JSONRPC_ERROR_TOO_MANY_CONNECTIONS -32000
#define BRISK_JSONRPC_ERROR_TIMEOUT -32001
#define BRISK_JSONRPC_ERROR_PERMISSION_DENIED -32002

/* Server options. Connection limits apply at once; the socket's mode and
 * group apply at the next brisk_rpc_listen. */
struct brisk_rpc_opts {
	uint32_t max_connections;  /* clients served at once; more wait in the backlog */
	uint32_t idle_timeout_ms;  /* close a client with no request running after this */
	uint32_t recv_timeout_ms;  /* a request must arrive whole within this of its start */
	uint32_t max_batch_size;   /* requests in one batch */
	uint32_t socket_mode;      /* permission bits of the socket file (umask ignored) */
	int64_t socket_gid;        /* group of the socket, whose members may connect; -1 = none */
	size_t send_high_water;    /* unsent bytes per client above which work pauses */
};
#define BRISK_RPC_DEFAULT_MAX_CONNECTIONS 64
#define BRISK_RPC_DEFAULT_IDLE_TIMEOUT_MS 60000
#define BRISK_RPC_DEFAULT_RECV_TIMEOUT_MS 10000
#define BRISK_RPC_DEFAULT_MAX_BATCH_SIZE 256
#define BRISK_RPC_DEFAULT_SOCKET_MODE 0660
#define BRISK_RPC_DEFAULT_SEND_HIGH_WATER (4u * 1024 * 1024)
void brisk_rpc_get_opts(struct brisk_rpc_opts *opts);
/* 0, or -EINVAL (a value out of range, logged naming it; nothing changed). */
int brisk_rpc_set_opts(const struct brisk_rpc_opts *opts);

struct brisk_jsonrpc_request;

/* params is NULL when the request had none; it is borrowed for the call only
 * (json_incref it to keep it for an asynchronous answer). */
typedef void (*brisk_rpc_method_handler)(struct brisk_jsonrpc_request *request, const json_t *params);

void brisk_rpc_register_method(const char *method, brisk_rpc_method_handler func, uint32_t state_mask);
/* Another name for an existing method (e.g. spdk_kill_instance). */
void brisk_rpc_register_alias(const char *method, const char *alias);
#define BRISK_RPC_REGISTER(method, func, state_mask) \
	__attribute__((constructor)) static void brisk_rpc_register_##func(void) \
	{ brisk_rpc_register_method(method, func, state_mask); }

/* Current state (BRISK_RPC_STARTUP until the framework finishes init). */
void brisk_rpc_set_state(uint32_t state);
uint32_t brisk_rpc_get_state(void);
/* 0 if method (or an alias of it) is registered and allowed in every state of
 * state_mask (0 = the current state), -ENOENT unknown, -EPERM not allowed. */
int brisk_rpc_is_method_allowed(const char *method, uint32_t state_mask);
/* Iterate method names (sorted); state_mask filters (0 = all). */
void brisk_rpc_for_each_method(uint32_t state_mask, void (*fn)(const char *name, void *ctx), void *ctx);

/* Starts listening on a Unix socket path on the current brisk_thread (the
 * listening and client fds wake the thread). The socket gets the configured
 * mode and group whatever the umask; a directory that anyone may write
 * without the sticky bit, or that another non-root user owns, is refused
 * (-EPERM); the default path's directory is created. Clients other than
 * root, this uid and members of the socket group are refused. 0 or -errno
 * (-EADDRINUSE if another live process listens there; a stale socket file
 * is replaced). */
int brisk_rpc_listen(const char *path);
/* Stops listening, drops clients, removes the socket file. */
void brisk_rpc_close(void);

/* Answers: each takes ownership of result (may be NULL for JSON null).
 * For notifications (no id) nothing is sent. Exactly one answer per request. */
void brisk_jsonrpc_send_result(struct brisk_jsonrpc_request *request, json_t *result);
void brisk_jsonrpc_send_bool_response(struct brisk_jsonrpc_request *request, bool value);
void brisk_jsonrpc_send_error_response(struct brisk_jsonrpc_request *request, int code, const char *msg);
void brisk_jsonrpc_send_error_response_fmt(struct brisk_jsonrpc_request *request, int code,
					   const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Convenience for handlers: invalid params with a message naming the field. */
/* Decodes params (an object, absent, or {} when d is NULL) through d into
 * out; on failure answers -32602 naming the field and returns false (the
 * method must then only free what it decoded and return). */
struct brisk_json_object_decoder;
bool brisk_jsonrpc_decode_params(struct brisk_jsonrpc_request *req, const json_t *params,
				 const struct brisk_json_object_decoder *d, size_t n, void *out);
#define brisk_jsonrpc_invalid_params(req, ...) \
	brisk_jsonrpc_send_error_response_fmt((req), BRISK_JSONRPC_ERROR_INVALID_PARAMS, __VA_ARGS__)

/* Runs a method in-process as if a client had sent it (JSON config at start,
 * load_config). cb runs once, when the method answers (possibly later):
 * error_code 0 and result (borrowed) on success, else the code and message.
 * Returns 0, -ENOENT (unknown method), -EPERM (not allowed in this state),
 * -EINVAL (params neither NULL, an object nor an array) or -ENOMEM; cb is not
 * called then. cb may be NULL. Must be called on the RPC thread. */
typedef void (*brisk_rpc_local_cb)(void *ctx, int error_code, const char *error_message,
				   const json_t *result);
int brisk_rpc_call_local(const char *method, const json_t *params, brisk_rpc_local_cb cb, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
