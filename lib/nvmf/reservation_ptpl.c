/*
 * The ptpl_file of a namespace (SPDK's nvmf_subsystem_add_ns parameter):
 * the reservation state as JSON, replaced atomically on every change
 * (temporary file, fsync, rename, fsync of the directory) so a crash leaves
 * the old or the new state, never a torn one. Loaded when the namespace is
 * added; a file that does not parse or names a bad field refuses the
 * namespace. Registrations are restored only while PTPL is on, as the spec
 * says a power loss keeps them only then.
 *
 *   {"ptpl": true, "rtype": 1, "generation": 3, "holder": "<host UUID>",
 *    "registrants": [{"hostid": "<host UUID>", "rkey": "0x1122334455667788"}]}
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include <brisk/log.h>
#include <brisk/uuid.h>

#include "reservation.h"

static json_t *state_json(const struct nvmf_resv *r)
{
	json_t *regs = json_array();
	struct brisk_uuid id;
	char hid[40], key[24];

	for (uint32_t i = 0; i < r->num_regs; i++) {
		memcpy(id.u, r->regs[i].hostid, 16);
		brisk_uuid_fmt_lower(hid, sizeof(hid), &id);
		snprintf(key, sizeof(key), "0x%016" PRIx64, r->regs[i].rkey);
		json_array_append_new(regs, json_pack("{s:s, s:s}", "hostid", hid, "rkey", key));
	}
	memcpy(id.u, r->holder, 16);
	brisk_uuid_fmt_lower(hid, sizeof(hid), &id);
	return json_pack("{s:b, s:i, s:I, s:s, s:o}", "ptpl", r->ptpl, "rtype", (int)r->rtype, "generation",
			 (json_int_t)r->gen, "holder", hid, "registrants", regs);
}

static int fsync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, rc = -ENOMEM;

	if (copy != NULL) {
		fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
		rc = fd < 0 ? -errno : (fsync(fd) == 0 ? 0 : -errno);
		if (fd >= 0) {
			close(fd);
		}
	}
	free(copy);
	return rc;
}

static int write_all(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return -errno;
		}
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

int nvmf_resv_ptpl_save(const struct nvmf_resv *r)
{
	json_t *j = state_json(r);
	char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
	char tmp[4096];
	int fd, rc = -ENOMEM;

	json_decref(j);
	if (text == NULL || snprintf(tmp, sizeof(tmp), "%s.tmp", r->ptpl_file) >= (int)sizeof(tmp)) {
		free(text);
		return text ? -ENAMETOOLONG : rc;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	rc = fd < 0 ? -errno : write_all(fd, text, strlen(text));
	if (rc == 0 && fsync(fd) != 0) {
		rc = -errno;
	}
	if (fd >= 0) {
		close(fd);
	}
	if (rc == 0 && rename(tmp, r->ptpl_file) != 0) {
		rc = -errno;
	}
	rc = rc == 0 ? fsync_dir(r->ptpl_file) : rc;
	if (rc != 0) {
		BRISK_ERRLOG("nvmf: cannot write ptpl_file %s: %s\n", r->ptpl_file, strerror(-rc));
		unlink(tmp);
	}
	free(text);
	return rc;
}

static int parse_hostid(const json_t *v, uint8_t *out)
{
	struct brisk_uuid id;

	if (!json_is_string(v) || brisk_uuid_parse(&id, json_string_value(v)) != 0) {
		return -EINVAL;
	}
	memcpy(out, id.u, 16);
	return 0;
}

static int parse_reg(const json_t *e, struct nvmf_resv_reg *reg, char *err, size_t errlen, uint32_t i)
{
	const json_t *key = json_object_get(e, "rkey");
	char *end = NULL;

	if (!json_is_object(e) || parse_hostid(json_object_get(e, "hostid"), reg->hostid) != 0) {
		snprintf(err, errlen, "registrants[%u].hostid is not a UUID", i);
		return -EINVAL;
	}
	errno = 0;
	reg->rkey = json_is_string(key) ? strtoull(json_string_value(key), &end, 0) : 0;
	if (end == NULL || *end != '\0' || errno != 0 || reg->rkey == 0) {
		snprintf(err, errlen, "registrants[%u].rkey is not a nonzero 64-bit number string", i);
		return -EINVAL;
	}
	return 0;
}

static int parse_regs(struct nvmf_resv *r, const json_t *regs, char *err, size_t errlen)
{
	if (!json_is_array(regs) || json_array_size(regs) > NVMF_RESV_MAX_REGS) {
		snprintf(err, errlen, "registrants is not an array of at most %d entries", NVMF_RESV_MAX_REGS);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < json_array_size(regs); i++) {
		if (parse_reg(json_array_get(regs, i), &r->regs[i], err, errlen, i) != 0) {
			return -EINVAL;
		}
		r->num_regs = i + 1;
	}
	return 0;
}

/* Every field is checked before the state is used; the holder of a
 * single-holder reservation must be a registrant. */
static int parse_state(struct nvmf_resv *r, const json_t *j, char *err, size_t errlen)
{
	const json_t *rtype = json_object_get(j, "rtype"), *gen = json_object_get(j, "generation");
	bool has_holder = false;

	if (!json_is_boolean(json_object_get(j, "ptpl"))) {
		snprintf(err, errlen, "ptpl is not true or false");
		return -EINVAL;
	}
	if (!json_is_integer(rtype) || json_integer_value(rtype) < 0 || json_integer_value(rtype) > 6) {
		snprintf(err, errlen, "rtype is not an integer 0..6");
		return -EINVAL;
	}
	if (!json_is_integer(gen) || json_integer_value(gen) < 0 || json_integer_value(gen) > UINT32_MAX) {
		snprintf(err, errlen, "generation is not a 32-bit unsigned integer");
		return -EINVAL;
	}
	if (parse_hostid(json_object_get(j, "holder"), r->holder) != 0) {
		snprintf(err, errlen, "holder is not a UUID");
		return -EINVAL;
	}
	if (parse_regs(r, json_object_get(j, "registrants"), err, errlen) != 0) {
		return -EINVAL;
	}
	r->ptpl = json_is_true(json_object_get(j, "ptpl"));
	r->rtype = (uint8_t)json_integer_value(rtype);
	r->gen = (uint32_t)json_integer_value(gen);
	for (uint32_t i = 0; i < r->num_regs; i++) {
		has_holder |= memcmp(r->regs[i].hostid, r->holder, 16) == 0;
	}
	if (r->rtype != NVMF_RESV_NONE && r->rtype < NVMF_RESV_WRITE_EXCLUSIVE_ALL_REGS && !has_holder) {
		snprintf(err, errlen, "holder is not one of the registrants");
		return -EINVAL;
	}
	return 0;
}

/* A missing file is an empty state (written on the first change). */
int nvmf_resv_ptpl_load(struct nvmf_resv *r, const char *path, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *j;
	int rc;

	r->ptpl_file = strdup(path);
	if (r->ptpl_file == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r->ptpl_capable = true;
	if (access(path, F_OK) != 0 && errno == ENOENT) {
		return 0;
	}
	j = json_load_file(path, 0, &jerr);
	if (j == NULL || !json_is_object(j)) {
		snprintf(err, errlen, "ptpl_file %s: not a JSON object (%s, line %d)", path, j ? "" : jerr.text,
			 jerr.line);
		json_decref(j);
		return -EINVAL;
	}
	rc = parse_state(r, j, err, errlen);
	json_decref(j);
	if (rc == 0 && !r->ptpl) {
		r->num_regs = 0; /* PTPL off: nothing survived the power loss */
		r->rtype = NVMF_RESV_NONE;
	}
	__atomic_store_n(&r->active, rc == 0 && r->rtype != NVMF_RESV_NONE, __ATOMIC_SEQ_CST);
	return rc;
}
