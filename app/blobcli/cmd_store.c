/* Commands on the whole store: init, stats, list, check. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blobcli.h"

/* Bytes of a value shown before "...". */
#define CLI_VALUE_MAX 64

void cli_print_value(const void *value, size_t len)
{
	const unsigned char *v = value;
	size_t textlen = len > 0 && v[len - 1] == '\0' ? len - 1 : len; /* a C string's NUL */
	bool text = len > 0;
	size_t n;

	for (size_t i = 0; i < textlen; i++) {
		if (v[i] < 0x20 || v[i] > 0x7e) {
			text = false;
			break;
		}
	}
	if (text) {
		n = textlen < CLI_VALUE_MAX ? textlen : CLI_VALUE_MAX;
		printf("\"%.*s\"", (int)n, (const char *)v);
	} else {
		n = len < CLI_VALUE_MAX ? len : CLI_VALUE_MAX;
		printf("0x");
		for (size_t i = 0; i < n; i++) {
			printf("%02x", v[i]);
		}
	}
	if (n < (text ? textlen : len)) {
		printf("... (%zu bytes)", len);
	} else if (!text) {
		printf(" (%zu bytes)", len);
	}
}

/* ---- stats (also printed by init) ---- */

static void print_stats(struct cli *cli)
{
	struct brisk_blob_store *bs = cli->bs;
	struct brisk_bs_stats st;
	struct brisk_bs_type t = brisk_bs_get_bstype(bs);
	int rc = brisk_bs_get_stats(bs, &st);

	if (rc != 0) {
		cli_error("stats: %s", cli_strerror(rc));
		return;
	}
	printf("bdev:              %s\n", cli->bdev_name);
	printf("bstype:            \"%.*s\"\n", (int)strnlen(t.bstype, sizeof(t.bstype)), t.bstype);
	printf("cluster size:      %" PRIu64 " bytes\n", brisk_bs_get_cluster_size(bs));
	printf("page size:         %" PRIu64 " bytes\n", brisk_bs_get_page_size(bs));
	printf("io unit size:      %" PRIu64 " bytes\n", brisk_bs_get_io_unit_size(bs));
	printf("clusters:          %" PRIu64 " (%" PRIu64 " for data, %" PRIu64 " free)\n",
	       st.num_clusters, brisk_bs_total_data_cluster_count(bs), st.free_clusters);
	printf("blobs:             %" PRIu64 " of %" PRIu64 " ids in use\n", st.num_blobs,
	       st.max_blobs);
	printf("free chain pages:  %" PRIu64 "\n", st.free_md_pages);
	printf("recovered at load: %s\n", st.recovered ? "yes (it was not shut down cleanly)" : "no");
}

void cmd_init(struct cli *cli)
{
	printf("initialized a blobstore on bdev %s\n", cli->bdev_name);
	print_stats(cli);
	cli_command_done(cli, 0);
}

void cmd_stats(struct cli *cli)
{
	print_stats(cli);
	cli_command_done(cli, 0);
}

/* ---- list: iterate over every blob ---- */

static uint64_t g_listed;

static void list_print_blob(struct cli *cli, struct brisk_blob *blob)
{
	brisk_blob_id id = brisk_blob_get_id(blob);
	brisk_blob_id parent = brisk_blob_get_parent_snapshot(cli->bs, id);
	const char **names = NULL;
	size_t count = 0;
	char flags[64], idstr[24], pstr[24];
	int rc;

	snprintf(flags, sizeof(flags), "%s%s%s%s", brisk_blob_is_thin_provisioned(blob) ? "thin" :
		 "thick", brisk_blob_is_read_only(blob) ? ",read-only" : "",
		 brisk_blob_is_snapshot(blob) ? ",snapshot" : "", brisk_blob_is_clone(blob) ? ",clone" : "");
	snprintf(idstr, sizeof(idstr), "0x%" PRIx64, id);
	if (parent != BRISK_BLOBID_INVALID) {
		snprintf(pstr, sizeof(pstr), "0x%" PRIx64, parent);
	} else {
		snprintf(pstr, sizeof(pstr), "-");
	}
	printf("%-10s %10" PRIu64 " %10" PRIu64 " %12" PRIu64 "  %-26s %s\n", idstr,
	       brisk_blob_get_num_clusters(blob), brisk_blob_get_num_allocated_clusters(blob),
	       brisk_blob_get_num_io_units(blob), flags, pstr);
	rc = brisk_blob_get_xattr_names(blob, &names, &count);
	if (rc < 0) {
		printf("    (xattrs: %s)\n", cli_strerror(rc));
		return;
	}
	for (size_t i = 0; i < count; i++) {
		const void *value;
		size_t len;

		if (brisk_blob_get_xattr_value(blob, names[i], &value, &len) != 0) {
			continue;
		}
		printf("    xattr %s = ", names[i]);
		cli_print_value(value, len);
		printf("\n");
	}
	free(names);
}

static void list_next(void *arg, struct brisk_blob *blob, int rc)
{
	struct cli *cli = arg;

	if (rc == -ENOENT && blob == NULL) {
		printf("%" PRIu64 " blob(s)\n", g_listed);
		cli_command_done(cli, 0);
		return;
	}
	if (rc != 0) {
		cli_error("list: stopped after %" PRIu64 " blob(s): %s", g_listed, cli_strerror(rc));
		cli_command_done(cli, CLI_EXIT_FAILURE);
		return;
	}
	list_print_blob(cli, blob);
	g_listed++;
	/* iter_next closes this blob and opens the following one. */
	brisk_bs_iter_next(cli->bs, blob, list_next, cli);
}

void cmd_list(struct cli *cli)
{
	printf("%-10s %10s %10s %12s  %-26s %s\n", "ID", "CLUSTERS", "ALLOCATED", "IO_UNITS",
	       "FLAGS", "PARENT");
	brisk_bs_iter_first(cli->bs, list_next, cli);
}

/* ---- check ---- */

static uint64_t g_problems;

static void check_report(void *arg, const char *problem)
{
	(void)arg;
	g_problems++;
	printf("problem: %s\n", problem);
}

static void check_done(void *arg, int rc)
{
	struct cli *cli = arg;

	if (rc == 0) {
		printf("check: the store is consistent\n");
		cli_command_done(cli, 0);
		return;
	}
	if (rc == -EUCLEAN) {
		printf("check: %" PRIu64 " problem(s) found\n", g_problems);
	} else {
		cli_error("check could not run to the end: %s", cli_strerror(rc));
	}
	cli_command_done(cli, CLI_EXIT_FAILURE);
}

void cmd_check(struct cli *cli)
{
	brisk_bs_check(cli->bs, check_report, cli, check_done, cli);
}
