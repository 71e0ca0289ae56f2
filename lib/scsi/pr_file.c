/*
 * Persistent reservations across target restarts (APTPL, "activate persist
 * through power loss"): when the last PERSISTENT RESERVE OUT that set the
 * state asked for APTPL, the LUN's registrations and reservation are kept
 * in <pr dir>/<bdev uuid>.pr, a small JSON file replaced atomically
 * (write to .tmp, fsync, rename), and read back when the LUN opens. The
 * bdev UUID names the file because it follows the data (an lvol keeps it
 * across restarts). Without a directory (brisk_scsi_set_pr_dir) the state
 * lives in memory only and REPORT CAPABILITIES clears PTPL_C.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include <brisk/log.h>
#include <brisk/string.h>
#include <brisk/uuid.h>

#include "scsi_internal.h"

static char g_pr_dir[256];

int brisk_scsi_set_pr_dir(const char *dir)
{
	struct stat st;

	if (dir == NULL || dir[0] == '\0') {
		g_pr_dir[0] = '\0';
		return 0;
	}
	if (strlen(dir) >= sizeof(g_pr_dir) - 48 || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		BRISK_ERRLOG("scsi: pr dir '%s' is not a directory (or its name is too long)\n", dir);
		return -EINVAL;
	}
	brisk_strlcpy(g_pr_dir, dir, sizeof(g_pr_dir));
	return 0;
}

bool scsi_pr_file_enabled(void)
{
	return g_pr_dir[0] != '\0';
}

static void pr_path(const struct brisk_scsi_lun *lun, char *path, size_t size, const char *suffix)
{
	char uuid[40];

	brisk_uuid_fmt_lower(uuid, sizeof(uuid), brisk_bdev_get_uuid(lun->bdev));
	snprintf(path, size, "%s/%s.pr%s", g_pr_dir, uuid, suffix);
}

static json_t *pr_to_json(const struct scsi_pr *pr)
{
	json_t *regs = json_array(), *o;
	int i;

	for (i = 0; i < pr->nregs; i++) {
		json_array_append_new(regs, json_pack("{s:I, s:s, s:i}", "key", (json_int_t)pr->regs[i].key,
						      "initiator", pr->regs[i].initiator,
						      "rel_tgt_port", pr->regs[i].rel_tgt_port));
	}
	o = json_pack("{s:I, s:b, s:i, s:i, s:o}", "generation", (json_int_t)pr->generation,
		      "reserved", pr->reserved, "type", pr->type, "holder", pr->holder, "regs", regs);
	return o;
}

static int pr_write_file(const char *tmp, const char *path, const json_t *o)
{
	char *text = json_dumps(o, JSON_COMPACT);
	int fd, rc = -EIO;

	if (text == NULL) {
		return -ENOMEM;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0) {
		size_t len = strlen(text);

		if (write(fd, text, len) == (ssize_t)len && fsync(fd) == 0) {
			rc = 0;
		}
		close(fd);
	}
	free(text);
	if (rc == 0 && rename(tmp, path) != 0) {
		rc = -errno;
	}
	return rc;
}

void scsi_pr_save(struct brisk_scsi_lun *lun)
{
	char path[320], tmp[330];
	json_t *o;

	if (!scsi_pr_file_enabled()) {
		return;
	}
	pr_path(lun, path, sizeof(path), "");
	if (!lun->pr.aptpl) {
		unlink(path);        /* no longer asked to persist */
		return;
	}
	pr_path(lun, tmp, sizeof(tmp), ".tmp");
	o = pr_to_json(&lun->pr);
	if (o == NULL || pr_write_file(tmp, path, o) != 0) {
		BRISK_ERRLOG("scsi LUN %d: cannot write %s\n", lun->id, path);
	}
	json_decref(o);
}

/* One registration from the file; false on a bad entry. */
static bool pr_reg_from_json(struct scsi_pr_reg *r, json_t *e)
{
	json_int_t key, rtp = 0;
	const char *init = NULL;

	if (json_unpack(e, "{s:I, s:s, s?I}", "key", &key, "initiator", &init, "rel_tgt_port", &rtp) != 0 ||
	    key == 0 || init[0] == '\0' || strlen(init) > BRISK_SCSI_PORT_MAX_NAME) {
		return false;
	}
	memset(r, 0, sizeof(*r));
	r->key = (uint64_t)key;
	r->rel_tgt_port = (uint16_t)rtp;
	brisk_strlcpy(r->initiator, init, sizeof(r->initiator));
	return true;
}

static bool pr_from_json(struct scsi_pr *pr, json_t *o)
{
	json_int_t gen, type, holder;
	json_t *regs, *e;
	int reserved;
	size_t i;

	if (json_unpack(o, "{s:I, s:b, s:I, s:I, s:o}", "generation", &gen, "reserved", &reserved,
			"type", &type, "holder", &holder, "regs", &regs) != 0 || !json_is_array(regs) ||
	    json_array_size(regs) > SCSI_MAX_REGS) {
		return false;
	}
	json_array_foreach(regs, i, e) {
		if (!pr_reg_from_json(&pr->regs[i], e)) {
			return false;
		}
	}
	pr->nregs = (int)json_array_size(regs);
	pr->generation = (uint32_t)gen;
	pr->reserved = reserved && pr->nregs > 0;
	pr->type = (uint8_t)type;
	pr->holder = (int)holder;
	if (pr->reserved && (holder < 0 || holder >= pr->nregs || type < 1 || type > 8)) {
		return false;
	}
	pr->aptpl = true;
	return true;
}

void scsi_pr_load(struct brisk_scsi_lun *lun)
{
	char path[320];
	json_error_t err;
	json_t *o;

	if (!scsi_pr_file_enabled()) {
		return;
	}
	pr_path(lun, path, sizeof(path), "");
	o = json_load_file(path, 0, &err);
	if (o == NULL) {
		return;              /* no saved state: nothing to restore */
	}
	if (!pr_from_json(&lun->pr, o)) {
		BRISK_ERRLOG("scsi LUN %d: %s is malformed; persistent reservations start empty\n",
			     lun->id, path);
		memset(&lun->pr, 0, sizeof(lun->pr));
	}
	json_decref(o);
}
