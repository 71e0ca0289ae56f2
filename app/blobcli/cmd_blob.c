/* Commands on one blob: create, clone, delete, resize, set-read-only and
 * the xattr commands. A change is open -> change -> sync -> close, so it is
 * durable when the command says it is done. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "blobcli.h"

/* ---- create, clone, delete: calls on the store ---- */

static void create_done(void *arg, brisk_blob_id id, int rc)
{
	struct cli *cli = arg;

	if (rc != 0) {
		cli_error("create: %s", cli_strerror(rc));
		cli_command_done(cli, CLI_EXIT_FAILURE);
		return;
	}
	printf("blob 0x%" PRIx64 " created: %" PRIu64 " cluster(s), %s\n", id, cli->clusters,
	       cli->thin ? "thin" : "thick");
	cli_command_done(cli, 0);
}

void cmd_create(struct cli *cli)
{
	struct brisk_blob_opts opts;

	brisk_blob_opts_init(&opts);
	opts.num_clusters = cli->clusters;
	opts.thin_provision = cli->thin;
	brisk_bs_create_blob_ext(cli->bs, &opts, create_done, cli);
}

static void clone_done(void *arg, brisk_blob_id id, int rc)
{
	struct cli *cli = arg;

	if (rc != 0) {
		cli_error("clone: blob 0x%" PRIx64 ": %s", cli->blobid,
			  rc == -EINVAL ? "not read-only (set-read-only first) or not a valid blob" :
			  cli_strerror(rc));
		cli_command_done(cli, CLI_EXIT_FAILURE);
		return;
	}
	printf("blob 0x%" PRIx64 " created: thin clone of 0x%" PRIx64 "\n", id, cli->blobid);
	cli_command_done(cli, 0);
}

void cmd_clone(struct cli *cli)
{
	brisk_bs_create_clone(cli->bs, cli->blobid, NULL, clone_done, cli);
}

static void delete_done(void *arg, int rc)
{
	struct cli *cli = arg;

	if (rc != 0) {
		if (rc == -ENOENT || rc == -EINVAL) {
			cli_error("delete: blob 0x%" PRIx64 " does not exist", cli->blobid);
		} else {
			cli_error("delete: blob 0x%" PRIx64 ": %s", cli->blobid, cli_strerror(rc));
		}
		cli_command_done(cli, CLI_EXIT_FAILURE);
		return;
	}
	printf("blob 0x%" PRIx64 " deleted\n", cli->blobid);
	cli_command_done(cli, 0);
}

void cmd_delete(struct cli *cli)
{
	brisk_bs_delete_blob(cli->bs, cli->blobid, delete_done, cli);
}

/* ---- Changes to an open blob, then sync ---- */

static const char *g_done_message; /* printed once the change is durable */

static void change_synced(void *arg, int rc)
{
	struct cli *cli = arg;

	if (rc != 0) {
		cli_error("%s: writing the metadata of blob 0x%" PRIx64 " failed: %s", cli->cmd->name,
			  cli->blobid, cli_strerror(rc));
		cli_command_done(cli, CLI_EXIT_FAILURE);
		return;
	}
	printf("blob 0x%" PRIx64 ": %s\n", cli->blobid, g_done_message);
	cli_command_done(cli, 0);
}

/* rc of the change (0 or a negative errno): sync on success. */
static void change_then_sync(struct cli *cli, int rc)
{
	if (rc != 0) {
		cli_error("%s: blob 0x%" PRIx64 ": %s", cli->cmd->name, cli->blobid, cli_strerror(rc));
		cli_command_done(cli, CLI_EXIT_FAILURE);
		return;
	}
	brisk_blob_sync_md(cli->blob, change_synced, cli);
}

static void resize_done(void *arg, int rc)
{
	struct cli *cli = arg;

	if (rc == -ENOSPC) {
		cli_error("resize: blob 0x%" PRIx64 ": %" PRIu64 " cluster(s) do not fit: %" PRIu64
			  " free", cli->blobid, cli->clusters, brisk_bs_free_cluster_count(cli->bs));
		cli_command_done(cli, CLI_EXIT_FAILURE);
		return;
	}
	change_then_sync(cli, rc);
}

static void resize_opened(struct cli *cli)
{
	static char msg[64];

	snprintf(msg, sizeof(msg), "resized from %" PRIu64 " to %" PRIu64 " cluster(s)",
		 brisk_blob_get_num_clusters(cli->blob), cli->clusters);
	g_done_message = msg;
	brisk_blob_resize(cli->blob, cli->clusters, resize_done, cli);
}

void cmd_resize(struct cli *cli)
{
	cli_open_blob(cli, false, resize_opened);
}

static void set_read_only_opened(struct cli *cli)
{
	g_done_message = "read-only";
	change_then_sync(cli, brisk_blob_set_read_only(cli->blob));
}

void cmd_set_read_only(struct cli *cli)
{
	cli_open_blob(cli, false, set_read_only_opened);
}

static void set_xattr_opened(struct cli *cli)
{
	const char *name = cli->args[1], *value = cli->args[2];
	size_t len = strlen(value);

	if (len > UINT16_MAX) {
		cli_error("set-xattr: the value is %zu bytes, more than an xattr holds", len);
		cli_command_done(cli, CLI_EXIT_FAILURE);
		return;
	}
	g_done_message = "xattr set";
	change_then_sync(cli, brisk_blob_set_xattr(cli->blob, name, value, (uint16_t)len));
}

void cmd_set_xattr(struct cli *cli)
{
	cli_open_blob(cli, false, set_xattr_opened);
}

static void remove_xattr_opened(struct cli *cli)
{
	int rc = brisk_blob_remove_xattr(cli->blob, cli->args[1]);

	if (rc == -ENOENT) {
		cli_error("remove-xattr: blob 0x%" PRIx64 " has no xattr '%s'", cli->blobid,
			  cli->args[1]);
		cli_command_done(cli, CLI_EXIT_FAILURE);
		return;
	}
	g_done_message = "xattr removed";
	change_then_sync(cli, rc);
}

void cmd_remove_xattr(struct cli *cli)
{
	cli_open_blob(cli, false, remove_xattr_opened);
}

static void get_xattr_opened(struct cli *cli)
{
	const void *value;
	size_t len;

	if (brisk_blob_get_xattr_value(cli->blob, cli->args[1], &value, &len) != 0) {
		cli_error("get-xattr: blob 0x%" PRIx64 " has no xattr '%s'", cli->blobid, cli->args[1]);
		cli_command_done(cli, CLI_EXIT_FAILURE);
		return;
	}
	/* As stored, so scripts get back exactly what set-xattr put. */
	fwrite(value, 1, len, stdout);
	printf("\n");
	cli_command_done(cli, 0);
}

void cmd_get_xattr(struct cli *cli)
{
	cli_open_blob(cli, true, get_xattr_opened);
}
