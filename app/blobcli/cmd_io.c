/* import and export: a file into a blob and a blob into a file, one chunk
 * at a time through one DMA buffer.
 *
 * import: open -> (grow to the file's size -> sync) -> [read file chunk ->
 *         write blob chunk]* -> done (the close syncs what thin writes
 *         allocated)
 * export: open read-only -> create the file -> [read blob chunk -> write
 *         file chunk]* -> close the file -> done
 *
 * File I/O blocks the app thread; for a one-shot tool that is the simple
 * choice, and nothing else runs on the thread meanwhile. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <brisk/env.h>

#include "blobcli.h"

/* A multiple of every io unit size (512 .. 4096). */
#define IO_CHUNK (1024 * 1024)

static struct {
	uint64_t offset;     /* bytes done */
	uint64_t length;     /* bytes to move */
	uint64_t chunk;      /* bytes in flight */
	uint64_t io_unit;
	int out_fd;
} g_io = { .out_fd = -1 };

static void io_fail(struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reports "<command>: <message>", closes the output file, ends the command. */
static void io_fail(struct cli *cli, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cli_error("%s: %s", cli->cmd->name, msg);
	if (g_io.out_fd >= 0) {
		close(g_io.out_fd);
		g_io.out_fd = -1;
	}
	cli_command_done(cli, CLI_EXIT_FAILURE);
}

/* Channel and buffer for the transfer; false (reported) when there are none. */
static bool io_setup(struct cli *cli)
{
	g_io.io_unit = brisk_bs_get_io_unit_size(cli->bs);
	cli->channel = brisk_bs_alloc_io_channel(cli->bs);
	cli->io_buf = brisk_dma_malloc(IO_CHUNK, 4096, NULL);
	if (cli->channel == NULL || cli->io_buf == NULL) {
		io_fail(cli, "%s", "no memory for the I/O channel or buffer (raise -s)");
		return false;
	}
	return true;
}

static uint64_t io_units(uint64_t bytes)
{
	return (bytes + g_io.io_unit - 1) / g_io.io_unit;
}

/* ---- import ---- */

static void import_next(struct cli *cli);

/* pread until len bytes or end of file; bytes read, or -1 (errno set). */
static ssize_t read_full(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, off + (off_t)done);

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			return -1;
		}
		if (n == 0) {
			break;
		}
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static void import_written(void *arg, int rc)
{
	struct cli *cli = arg;

	if (rc != 0) {
		io_fail(cli, "writing the blob failed: %s", cli_strerror(rc));
		return;
	}
	g_io.offset += g_io.chunk;
	import_next(cli);
}

static void import_next(struct cli *cli)
{
	uint64_t want = g_io.length - g_io.offset < IO_CHUNK ? g_io.length - g_io.offset : IO_CHUNK;
	ssize_t n;

	if (g_io.offset == g_io.length) {
		printf("blob 0x%" PRIx64 ": imported %" PRIu64 " bytes from %s\n", cli->blobid,
		       g_io.length, cli->args[1]);
		cli_command_done(cli, 0);
		return;
	}
	if (cli->interrupted) {
		io_fail(cli, "interrupted after %" PRIu64 " of %" PRIu64 " bytes", g_io.offset,
			g_io.length);
		return;
	}
	n = read_full(cli->import_fd, cli->io_buf, want, (off_t)g_io.offset);
	if (n < 0) {
		io_fail(cli, "reading the file failed: %s", strerror(errno));
		return;
	}
	if ((uint64_t)n != want) {
		io_fail(cli, "%s", "the file got shorter while it was imported");
		return;
	}
	/* The last io unit is padded with zeroes. */
	memset((char *)cli->io_buf + n, 0, io_units(want) * g_io.io_unit - want);
	g_io.chunk = want;
	brisk_blob_io_write(cli->blob, cli->channel, cli->io_buf, g_io.offset / g_io.io_unit,
			    io_units(want), import_written, cli);
}

static void import_synced(void *arg, int rc)
{
	struct cli *cli = arg;

	if (rc != 0) {
		io_fail(cli, "writing the grown blob's metadata failed: %s", cli_strerror(rc));
		return;
	}
	import_next(cli);
}

static void import_resized(void *arg, int rc)
{
	struct cli *cli = arg;

	if (rc != 0) {
		io_fail(cli, "the blob cannot grow to hold the file: %s", cli_strerror(rc));
		return;
	}
	printf("blob 0x%" PRIx64 ": grown to %" PRIu64 " cluster(s) to hold the file\n",
	       cli->blobid, brisk_blob_get_num_clusters(cli->blob));
	brisk_blob_sync_md(cli->blob, import_synced, cli);
}

static void import_opened(struct cli *cli)
{
	uint64_t cluster = brisk_bs_get_cluster_size(cli->bs), need;
	struct stat st;

	if (fstat(cli->import_fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		io_fail(cli, "%s is not a regular file", cli->args[1]);
		return;
	}
	if (!io_setup(cli)) {
		return;
	}
	g_io.offset = 0;
	g_io.length = (uint64_t)st.st_size;
	need = (g_io.length + cluster - 1) / cluster;
	if (need > brisk_blob_get_num_clusters(cli->blob)) {
		brisk_blob_resize(cli->blob, need, import_resized, cli);
		return;
	}
	import_next(cli);
}

void cmd_import(struct cli *cli)
{
	cli_open_blob(cli, false, import_opened);
}

/* ---- export ---- */

static void export_next(struct cli *cli);

static int write_full(int fd, const void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done, off + (off_t)done);

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

static void export_read(void *arg, int rc)
{
	struct cli *cli = arg;

	if (rc != 0) {
		io_fail(cli, "reading the blob failed: %s", cli_strerror(rc));
		return;
	}
	if (write_full(g_io.out_fd, cli->io_buf, g_io.chunk, (off_t)g_io.offset) != 0) {
		io_fail(cli, "writing the file failed: %s", strerror(errno));
		return;
	}
	g_io.offset += g_io.chunk;
	export_next(cli);
}

static void export_next(struct cli *cli)
{
	uint64_t want = g_io.length - g_io.offset < IO_CHUNK ? g_io.length - g_io.offset : IO_CHUNK;

	if (g_io.offset == g_io.length) {
		int rc = close(g_io.out_fd);

		g_io.out_fd = -1;
		if (rc != 0) {
			io_fail(cli, "closing the file failed: %s", strerror(errno));
			return;
		}
		printf("blob 0x%" PRIx64 ": exported %" PRIu64 " bytes to %s\n", cli->blobid,
		       g_io.length, cli->args[1]);
		cli_command_done(cli, 0);
		return;
	}
	if (cli->interrupted) {
		io_fail(cli, "interrupted after %" PRIu64 " of %" PRIu64 " bytes", g_io.offset,
			g_io.length);
		return;
	}
	g_io.chunk = want;
	brisk_blob_io_read(cli->blob, cli->channel, cli->io_buf, g_io.offset / g_io.io_unit,
			   io_units(want), export_read, cli);
}

static void export_opened(struct cli *cli)
{
	uint64_t size = brisk_blob_get_num_io_units(cli->blob) * brisk_bs_get_io_unit_size(cli->bs);

	if (cli->have_export_bytes && cli->export_bytes > size) {
		cli_error("export: blob 0x%" PRIx64 " holds %" PRIu64 " bytes, fewer than --bytes %"
			  PRIu64, cli->blobid, size, cli->export_bytes);
		cli_command_done(cli, CLI_EXIT_FAILURE);
		return;
	}
	if (!io_setup(cli)) {
		return;
	}
	g_io.offset = 0;
	g_io.length = cli->have_export_bytes ? cli->export_bytes : size;
	g_io.out_fd = open(cli->args[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (g_io.out_fd < 0) {
		io_fail(cli, "cannot create the file: %s", strerror(errno));
		return;
	}
	export_next(cli);
}

void cmd_export(struct cli *cli)
{
	cli_open_blob(cli, true, export_opened);
}
