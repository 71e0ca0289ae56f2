/*
 * Decoding JSON-RPC params (jansson values) into C structs.
 *
 * A method describes its params as a table of decoders, one per key:
 *
 *   struct create_params { char *name; uint32_t size; bool verbose; };
 *   static const struct brisk_json_object_decoder create_decoders[] = {
 *       {"name", offsetof(struct create_params, name), brisk_json_decode_string, false},
 *       {"size", offsetof(struct create_params, size), brisk_json_decode_uint32, false},
 *       {"verbose", offsetof(struct create_params, verbose), brisk_json_decode_bool, true},
 *   };
 *   char err[256];
 *   if (brisk_json_decode_object(params, create_decoders, BRISK_COUNTOF(create_decoders),
 *                                &p, err, sizeof(err)) != 0) {
 *       brisk_jsonrpc_invalid_params(req, "%s", err);
 *       ...
 *   }
 *   ...
 *   brisk_json_free_object(create_decoders, BRISK_COUNTOF(create_decoders), &p);
 *
 * Optional keys that are absent leave their field untouched, so initialise
 * the struct with the defaults first. Error texts name the parameter:
 * "unknown parameter 'x'", "missing parameter 'x'",
 * "parameter 'x' must be an unsigned 32-bit integer".
 */
#ifndef BRISK_JSON_H
#define BRISK_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef BRISK_COUNTOF
#define BRISK_COUNTOF(arr) (sizeof(arr) / sizeof((arr)[0]))
#endif

/* A decoder converts val into *out and returns 0, or a negative errno when
 * val has the wrong type or is out of range (it must leave *out unchanged
 * then). Two errors of string decoders get their own message:
 * BRISK_JSON_ERR_NUL "contains a NUL character" and BRISK_JSON_ERR_CONTROL
 * "must not contain control characters". */
#define BRISK_JSON_ERR_NUL (-EILSEQ)
#define BRISK_JSON_ERR_CONTROL (-EBADMSG)
typedef int (*brisk_json_decode_fn)(const json_t *val, void *out);

struct brisk_json_object_decoder {
	const char *name;
	size_t offset;
	int (*decode)(const json_t *val, void *out);
	bool optional;
};

/*
 * Decodes obj's members into out through the table d (n entries).
 * obj may be NULL (no params): fine when every key is optional.
 * Returns 0, or -EINVAL with a message naming the bad key in err (when err is
 * not NULL). Fields decoded before an error keep their new values: call
 * brisk_json_free_object on out in either case.
 */
int brisk_json_decode_object(const json_t *obj, const struct brisk_json_object_decoder *d, size_t n,
			     void *out, char *err, size_t errlen);

/* Frees every field of out that owns memory (decoded by brisk_json_decode_string,
 * brisk_json_decode_name or brisk_json_decode_json) and sets it to NULL. Safe on a zeroed struct. */
void brisk_json_free_object(const struct brisk_json_object_decoder *d, size_t n, void *out);

/* Element decoders (out points to the field's type). */
int brisk_json_decode_string(const json_t *val, void *out);   /* char ** (strdup; frees an old value) */
/* A name (bdev, lvstore, lvol): a string without control characters. char **. */
int brisk_json_decode_name(const json_t *val, void *out);
int brisk_json_decode_bool(const json_t *val, void *out);     /* bool * */
int brisk_json_decode_int32(const json_t *val, void *out);    /* int32_t * */
int brisk_json_decode_uint8(const json_t *val, void *out);    /* uint8_t * */
int brisk_json_decode_uint16(const json_t *val, void *out);   /* uint16_t * */
int brisk_json_decode_uint32(const json_t *val, void *out);   /* uint32_t * */
int brisk_json_decode_uint64(const json_t *val, void *out);   /* uint64_t * */
int brisk_json_decode_int64(const json_t *val, void *out);    /* int64_t * */
int brisk_json_decode_double(const json_t *val, void *out);   /* double * (integers accepted) */
/* Keeps a new reference to any JSON value (json_t **); released by
 * brisk_json_free_object. For params a method inspects itself. */
int brisk_json_decode_json(const json_t *val, void *out);

/* Human-readable description of what a decoder expects, for error texts
 * ("a string", "an unsigned 32-bit integer"...); "a valid value" for
 * decoders this file does not know. */
const char *brisk_json_decoder_expects(brisk_json_decode_fn decode);

#ifdef __cplusplus
}
#endif
#endif
