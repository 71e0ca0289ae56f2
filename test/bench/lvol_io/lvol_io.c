/*
 * lvol_io: writes and checks byte patterns on bdevs, for the lvol tests.
 * Starts the app framework with a JSON config (-c), waits for examine (so
 * lvol stores on the configured bdevs are loaded), runs each -x operation in
 * order, and exits 0 when every one succeeded.
 *
 *   lvol_io -c conf.json -x w:lvs0/vol:0:1M:0xaa -x r:lvs0/vol:0:1M:0xaa
 *
 * An operation is KIND:BDEV:OFFSET:LENGTH:BYTE; KIND w writes LENGTH bytes of
 * BYTE at OFFSET, r reads them back and checks every byte is BYTE. BDEV is a
 * bdev name or alias. OFFSET and LENGTH take k/m suffixes and must be
 * multiples of the block size. -q sets how many 128 KiB I/Os are in flight;
 * each operation prints its time and throughput.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/bdev.h>
#include <brisk/env.h>
#include <brisk/event.h>
#include <brisk/log.h>
#include <brisk/string.h>
#include <brisk/thread.h>
#include <brisk/ticks.h>

#define MAX_OPS 64
#define CHUNK (128 * 1024)
#define MAX_QD 64

struct io_op {
	char kind;
	char *bdev;
	uint64_t offset, length;
	uint8_t byte;
};

static struct io_op g_ops[MAX_OPS];
static int g_num_ops;

/* The run: one op at a time, up to g_qd I/Os of CHUNK bytes in flight. */
struct slot {
	uint8_t *buf;
	uint64_t off; /* within the op */
	uint64_t len;
};

static int g_qd = 1;
static struct {
	int cur;
	uint64_t next;     /* next offset within the op to submit */
	uint64_t done;     /* bytes completed */
	int inflight;
	bool failed;
	uint64_t start_ticks;
	struct brisk_bdev_desc *desc;
	struct brisk_io_channel *ch;
	struct slot slots[MAX_QD];
} g_run;

static void run_next_op(void);
static void slot_submit(struct slot *sl);

static void app_stop(int rc)
{
	int i;

	for (i = 0; i < MAX_QD; i++) {
		brisk_free(g_run.slots[i].buf); /* before the env goes */
		g_run.slots[i].buf = NULL;
	}
	brisk_app_stop(rc);
}

static void close_bdev(void)
{
	if (g_run.ch != NULL) {
		brisk_put_io_channel(g_run.ch);
		g_run.ch = NULL;
	}
	if (g_run.desc != NULL) {
		brisk_bdev_close(g_run.desc);
		g_run.desc = NULL;
	}
}

/* A failure stops new submissions; the app stops once nothing is in flight. */
static void op_failed(void)
{
	g_run.failed = true;
	if (g_run.inflight == 0) {
		close_bdev();
		app_stop(1);
	}
}

static void event_cb(enum brisk_bdev_event_type type, struct brisk_bdev *bdev, void *ctx)
{
	(void)type; (void)bdev; (void)ctx;
}

static void op_finished(void)
{
	struct io_op *op = &g_ops[g_run.cur];
	double secs = (double)(brisk_get_ticks() - g_run.start_ticks) / (double)brisk_get_ticks_hz();

	close_bdev();
	printf("lvol_io: %s %s offset %llu length %llu byte 0x%02x: ok (%.3f s, %.1f MiB/s, qd %d)\n",
	       op->kind == 'w' ? "wrote" : "checked", op->bdev, (unsigned long long)op->offset,
	       (unsigned long long)op->length, op->byte, secs, secs > 0 ? (double)op->length / 1048576.0 / secs : 0.0,
	       g_qd);
	g_run.cur++;
	run_next_op();
}

static void chunk_done(struct brisk_bdev_io *io, bool success, void *arg)
{
	struct slot *sl = arg;
	struct io_op *op = &g_ops[g_run.cur];
	uint64_t i;

	brisk_bdev_free_io(io);
	g_run.inflight--;
	if (!success) {
		fprintf(stderr, "lvol_io: %s %s at %llu failed\n", op->kind == 'w' ? "write" : "read", op->bdev,
			(unsigned long long)(op->offset + sl->off));
		op_failed();
		return;
	}
	for (i = 0; op->kind == 'r' && i < sl->len; i++) {
		if (sl->buf[i] != op->byte) {
			fprintf(stderr, "lvol_io: %s byte %llu is 0x%02x, expected 0x%02x\n", op->bdev,
				(unsigned long long)(op->offset + sl->off + i), sl->buf[i], op->byte);
			op_failed();
			return;
		}
	}
	g_run.done += sl->len;
	if (g_run.failed) {
		op_failed();
	} else if (g_run.done == op->length) {
		op_finished();
	} else if (g_run.next < op->length) {
		slot_submit(sl);
	}
}

static void slot_submit(struct slot *sl)
{
	struct io_op *op = &g_ops[g_run.cur];
	int rc;

	sl->off = g_run.next;
	sl->len = op->length - sl->off < CHUNK ? op->length - sl->off : CHUNK;
	g_run.next += sl->len;
	if (op->kind == 'w') {
		memset(sl->buf, op->byte, sl->len);
		rc = brisk_bdev_write(g_run.desc, g_run.ch, sl->buf, op->offset + sl->off, sl->len, chunk_done, sl);
	} else {
		memset(sl->buf, op->byte ^ 0xff, sl->len);
		rc = brisk_bdev_read(g_run.desc, g_run.ch, sl->buf, op->offset + sl->off, sl->len, chunk_done, sl);
	}
	if (rc != 0) {
		fprintf(stderr, "lvol_io: %s: submit failed: %s\n", op->bdev, strerror(-rc));
		op_failed();
		return;
	}
	g_run.inflight++;
}

static void run_next_op(void)
{
	struct io_op *op;
	int rc, i;

	if (g_run.cur == g_num_ops) {
		app_stop(0);
		return;
	}
	op = &g_ops[g_run.cur];
	g_run.next = 0;
	g_run.done = 0;
	rc = brisk_bdev_open_ext(op->bdev, op->kind == 'w', event_cb, NULL, &g_run.desc);
	if (rc != 0) {
		fprintf(stderr, "lvol_io: cannot open bdev %s: %s\n", op->bdev, strerror(-rc));
		app_stop(1);
		return;
	}
	g_run.ch = brisk_bdev_get_io_channel(g_run.desc);
	if (g_run.ch == NULL) {
		fprintf(stderr, "lvol_io: no channel for %s\n", op->bdev);
		close_bdev();
		app_stop(1);
		return;
	}
	g_run.start_ticks = brisk_get_ticks();
	for (i = 0; i < g_qd && g_run.next < op->length && !g_run.failed; i++) {
		slot_submit(&g_run.slots[i]);
	}
}

static void examined(void *arg)
{
	(void)arg;
	run_next_op();
}

static void start(void *ctx)
{
	(void)ctx;
	int i;

	for (i = 0; i < g_qd; i++) {
		g_run.slots[i].buf = brisk_dma_malloc(CHUNK, 4096, NULL);
		if (g_run.slots[i].buf == NULL) {
			break;
		}
	}
	if (i < g_qd || brisk_bdev_wait_for_examine(examined, NULL) != 0) {
		fprintf(stderr, "lvol_io: start-up failed\n");
		app_stop(1);
	}
}

static int parse_op(char *arg)
{
	struct io_op *op;
	char *f[5], *save = NULL, *p = arg;
	unsigned long byte;
	bool suffix;
	int i;

	if (g_num_ops == MAX_OPS) {
		fprintf(stderr, "lvol_io: at most %d operations\n", MAX_OPS);
		return -EINVAL;
	}
	for (i = 0; i < 5; i++, p = NULL) {
		f[i] = strtok_r(p, ":", &save);
		if (f[i] == NULL) {
			fprintf(stderr, "lvol_io: -x '%s' needs KIND:BDEV:OFFSET:LENGTH:BYTE\n", arg);
			return -EINVAL;
		}
	}
	op = &g_ops[g_num_ops];
	op->kind = f[0][0];
	op->bdev = f[1];
	byte = strtoul(f[4], NULL, 0);
	if ((op->kind != 'w' && op->kind != 'r') || f[0][1] != '\0' ||
	    brisk_parse_capacity(f[2], &op->offset, &suffix) != 0 ||
	    brisk_parse_capacity(f[3], &op->length, &suffix) != 0 || op->length == 0 || byte > 0xff) {
		fprintf(stderr, "lvol_io: -x: bad kind (w|r), offset, length (> 0) or byte (0..0xff)\n");
		return -EINVAL;
	}
	op->byte = (uint8_t)byte;
	g_num_ops++;
	return 0;
}

static int parse_arg(int ch, char *arg)
{
	if (ch == 'q') {
		g_qd = atoi(arg);
		if (g_qd < 1 || g_qd > MAX_QD) {
			fprintf(stderr, "lvol_io: -q must be 1..%d\n", MAX_QD);
			return -EINVAL;
		}
		return 0;
	}
	return ch == 'x' ? parse_op(arg) : -EINVAL;
}

static void usage(void)
{
	printf("\nlvol_io options:\n -x KIND:BDEV:OFFSET:LENGTH:BYTE  w = write BYTE, r = read and check (repeatable)\n"
	       " -q DEPTH  I/Os of 128 KiB in flight (1..%d, default 1)\n", MAX_QD);
}

int main(int argc, char **argv)
{
	struct brisk_app_opts opts;
	int rc;

	brisk_app_opts_init(&opts);
	opts.name = "lvol_io";
	opts.rpc_addr = NULL;
	switch (brisk_app_parse_args(argc, argv, &opts, "x:q:", NULL, parse_arg, usage)) {
	case BRISK_APP_PARSE_ARGS_SUCCESS:
		break;
	case BRISK_APP_PARSE_ARGS_HELP:
		return 0;
	default:
		return 1;
	}
	if (g_num_ops == 0) {
		fprintf(stderr, "lvol_io: no -x operation given\n");
		return 1;
	}
	rc = brisk_app_start(&opts, start, NULL);
	return rc == 0 ? 0 : 1;
}
