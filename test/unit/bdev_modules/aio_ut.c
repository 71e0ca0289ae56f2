/*
 * The aio bdev module on a temporary file: data written and read back,
 * unmap and write_zeroes (fallocate) reading back zeroes, flush, growing the
 * file then rescan (resize event), a missing path and bad block sizes
 * (nothing registered), and the completion eventfd waking the thread's wake
 * fd so a sleeping reactor would wake. A FIFO or a socket is refused at once
 * (an open of a FIFO for reading would block the reactor until a writer
 * came).
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "ut_common.h"
#include "../../../module/bdev/aio/bdev_aio.h"
#include "../../common/ut_main.h"

static char g_path[] = "/tmp/brisk_aio_ut_XXXXXX";
static char g_tiny_path[] = "/tmp/brisk_aio_ut_tiny_XXXXXX";

static int count_bdevs(void)
{
	int n = 0;

	for (struct brisk_bdev *b = brisk_bdev_first(); b != NULL; b = brisk_bdev_next(b)) {
		n++;
	}
	return n;
}

static void test_bad_params(void)
{
	struct bdev_aio_opts o = { .filename = "/nonexistent/brisk_aio_missing", .name = "aio_bad" };
	struct brisk_bdev *b = NULL;
	int before = count_bdevs();

	CU_ASSERT_EQUAL(bdev_aio_create(&b, &o), -ENOENT);
	o.filename = g_path;
	o.block_size = 1000;
	CU_ASSERT_EQUAL(bdev_aio_create(&b, &o), -EINVAL);
	o.block_size = 256;
	CU_ASSERT_EQUAL(bdev_aio_create(&b, &o), -EINVAL);
	o.block_size = 0;
	o.name = "";
	CU_ASSERT_EQUAL(bdev_aio_create(&b, &o), -EINVAL);
	o.name = "aio_bad";
	o.filename = "/tmp";
	CU_ASSERT_EQUAL(bdev_aio_create(&b, &o), -EISDIR);
	o.filename = "/dev/null";
	CU_ASSERT_EQUAL(bdev_aio_create(&b, &o), -ENOTBLK);
	o.filename = g_tiny_path; /* 1000 bytes: less than one block */
	CU_ASSERT_EQUAL(bdev_aio_create(&b, &o), -ERANGE);
	CU_ASSERT_PTR_NULL(b);
	CU_ASSERT_EQUAL(count_bdevs(), before);
	CU_ASSERT_EQUAL(bdev_aio_rescan("nope"), -ENODEV);
	CU_ASSERT_EQUAL(bdev_aio_delete("nope", NULL, NULL), -ENODEV);
}

static void alarm_fired(int sig)
{
	(void)sig; /* only interrupts a blocking open(2), which then fails with EINTR */
}

/* A FIFO (read-only and read-write) and a socket: -ENOTBLK at once, never a
 * blocked open. The alarm turns a hang of the old code into a failure. */
static void test_special_files(void)
{
	char dir[] = "/tmp/brisk_aio_ut_dir_XXXXXX";
	struct sigaction sa = { .sa_handler = alarm_fired }, old;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct bdev_aio_opts o = { .name = "aio_special" };
	struct brisk_bdev *b = NULL;
	char fifo[64], sock[64];
	int before = count_bdevs(), sfd;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	CU_ASSERT_EQUAL_FATAL(mkfifo(fifo, 0600), 0);
	sfd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock);
	CU_ASSERT_EQUAL_FATAL(bind(sfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	sigaction(SIGALRM, &sa, &old); /* no SA_RESTART: the open returns EINTR */
	alarm(2);
	o.filename = fifo;
	o.readonly = true;
	CU_ASSERT_EQUAL(bdev_aio_create(&b, &o), -ENOTBLK);
	o.readonly = false;
	CU_ASSERT_EQUAL(bdev_aio_create(&b, &o), -ENOTBLK);
	o.filename = sock;
	CU_ASSERT_EQUAL(bdev_aio_create(&b, &o), -ENOTBLK);
	alarm(0);
	sigaction(SIGALRM, &old, NULL);
	CU_ASSERT_STRING_EQUAL(bdev_aio_file_type(fifo), "a FIFO");
	CU_ASSERT_STRING_EQUAL(bdev_aio_file_type(sock), "a socket");
	CU_ASSERT_STRING_EQUAL(bdev_aio_file_type("/dev/null"), "a character device");
	CU_ASSERT_STRING_EQUAL(bdev_aio_file_type(dir), "a directory");
	CU_ASSERT_PTR_NULL(b);
	CU_ASSERT_EQUAL(count_bdevs(), before);
	close(sfd);
	unlink(sock);
	unlink(fifo);
	rmdir(dir);
}

static void test_io_and_rescan(void)
{
	struct bdev_aio_opts o = { .filename = g_path, .name = "aio0", .fallocate = true };
	struct brisk_bdev *b = NULL;
	struct brisk_bdev_desc *desc;
	struct brisk_io_channel *ch;
	struct events ev = {0};
	uint8_t *wbuf, *rbuf;
	const uint32_t bs = 4096;
	struct pollfd pfd;
	struct cpl one = {0};
	int rc;

	CU_ASSERT_EQUAL(bdev_aio_create(&b, &o), 0);
	CU_ASSERT_PTR_EQUAL(brisk_bdev_get_by_name("aio0"), b);
	o.block_size = 512;
	CU_ASSERT_EQUAL(bdev_aio_create(&b, &o), -EEXIST); /* duplicate name */
	b = brisk_bdev_get_by_name("aio0");
	CU_ASSERT_EQUAL(brisk_bdev_get_block_size(b), bs);
	CU_ASSERT_EQUAL(brisk_bdev_get_num_blocks(b), 1024 * 1024 / bs);
	CU_ASSERT(brisk_bdev_io_type_supported(b, BRISK_BDEV_IO_TYPE_UNMAP));

	CU_ASSERT_EQUAL(brisk_bdev_open_ext("aio0", true, ev_cb, &ev, &desc), 0);
	ch = brisk_bdev_get_io_channel(desc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ch);
	wbuf = brisk_dma_malloc(8 * bs, bs, NULL);
	rbuf = brisk_dma_malloc(8 * bs, bs, NULL);
	for (uint32_t i = 0; i < 8 * bs; i++) {
		wbuf[i] = (uint8_t)(i * 7 + 3);
	}
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_write_blocks(desc, ch, wbuf, 10, 8, io_done, c)), 1);
	memset(rbuf, 0, 8 * bs);
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_read_blocks(desc, ch, rbuf, 10, 8, io_done, c)), 1);
	CU_ASSERT_EQUAL(memcmp(wbuf, rbuf, 8 * bs), 0);
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_flush_blocks(desc, ch, 0, 256, io_done, c)), 1);

	/* The file holds the data at the right offset. */
	{
		int fd = open(g_path, O_RDONLY);
		uint8_t chk[64];

		CU_ASSERT(pread(fd, chk, sizeof(chk), 10 * bs) == (ssize_t)sizeof(chk));
		CU_ASSERT_EQUAL(memcmp(chk, wbuf, sizeof(chk)), 0);
		close(fd);
	}

	/* Unmap the middle two blocks: they read back as zeroes, the rest stays. */
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_unmap_blocks(desc, ch, 12, 2, io_done, c)), 1);
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_read_blocks(desc, ch, rbuf, 10, 8, io_done, c)), 1);
	CU_ASSERT_EQUAL(memcmp(rbuf, wbuf, 2 * bs), 0);
	for (uint32_t i = 2 * bs; i < 4 * bs; i++) {
		if (rbuf[i] != 0) {
			CU_FAIL("unmapped block not zero");
			break;
		}
	}
	CU_ASSERT_EQUAL(memcmp(rbuf + 4 * bs, wbuf + 4 * bs, 4 * bs), 0);
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_write_zeroes_blocks(desc, ch, 16, 2, io_done, c)), 1);
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_read_blocks(desc, ch, rbuf, 16, 2, io_done, c)), 1);
	CU_ASSERT(rbuf[0] == 0 && rbuf[2 * bs - 1] == 0);

	/* Nothing in flight: the aio poller reports idle (the thread may sleep). */
	poll_idle();
	CU_ASSERT_EQUAL(brisk_thread_poll(g_th, 0, 0), 0);

	/* The completion eventfd makes the thread's wake fd readable. */
	pfd.fd = brisk_thread_get_wake_fd(g_th);
	pfd.events = POLLIN;
	memset(&one, 0, sizeof(one));
	CU_ASSERT_EQUAL(brisk_bdev_read_blocks(desc, ch, rbuf, 0, 1, io_done, &one), 0);
	rc = poll(&pfd, 1, 2000);
	CU_ASSERT_EQUAL(rc, 1);
	brisk_thread_end_sleep(g_th);
	poll_until(&one.done);
	CU_ASSERT(one.done == 1 && one.success);

	/* Grow the file, rescan: the new size and a RESIZE event. */
	CU_ASSERT_EQUAL(truncate(g_path, 2 * 1024 * 1024), 0);
	CU_ASSERT_EQUAL(bdev_aio_rescan("aio0"), 0);
	poll_idle();
	CU_ASSERT_EQUAL(brisk_bdev_get_num_blocks(b), 2 * 1024 * 1024 / bs);
	CU_ASSERT_EQUAL(ev.resizes, 1);
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_write_blocks(desc, ch, wbuf, 500, 1, io_done, c)), 1);

	/* Info and config JSON. */
	{
		json_t *info = brisk_bdev_info_json(b);
		json_t *cfg = json_array();
		char *s;

		CU_ASSERT_PTR_NOT_NULL(info);
		s = json_dumps(info, 0);
		CU_ASSERT(s != NULL && strstr(s, g_path) != NULL);
		free(s);
		json_decref(info);
		brisk_bdev_subsystem_config_json(cfg);
		s = json_dumps(cfg, 0);
		CU_ASSERT(s != NULL && strstr(s, "bdev_aio_create") != NULL && strstr(s, "\"fallocate\": true") != NULL);
		free(s);
		json_decref(cfg);
	}

	brisk_put_io_channel(ch);
	poll_idle();
	brisk_bdev_close(desc);
	poll_idle();
	g_del_done = 0;
	CU_ASSERT_EQUAL(bdev_aio_delete("aio0", del_done, NULL), 0);
	poll_until(&g_del_done);
	CU_ASSERT_EQUAL(g_del_rc, 0);
	CU_ASSERT_PTR_NULL(brisk_bdev_get_by_name("aio0"));
	brisk_free(wbuf);
	brisk_free(rbuf);
}

/* More I/O at once than the io_context holds (128, which the kernel rounds up to a few hundred): io_submit says EAGAIN
 * for the rest, which wait and go later; every one succeeds. */
static void test_deep_queue(void)
{
	struct bdev_aio_opts o = { .filename = g_path, .name = "aio_deep" };
	struct brisk_bdev *b = NULL;
	struct brisk_bdev_desc *desc;
	struct brisk_io_channel *ch;
	struct cpl cpls[480];
	uint8_t *buf;
	int done = 0, ok = 0;
	uint64_t end;

	CU_ASSERT_EQUAL_FATAL(bdev_aio_create(&b, &o), 0);
	CU_ASSERT_EQUAL(brisk_bdev_open_ext("aio_deep", false, ev_cb, NULL, &desc), 0);
	ch = brisk_bdev_get_io_channel(desc);
	buf = brisk_dma_malloc(480 * 4096, 4096, NULL);
	memset(cpls, 0, sizeof(cpls));
	for (int i = 0; i < 480; i++) {
		CU_ASSERT_EQUAL(brisk_bdev_read_blocks(desc, ch, buf + i * 4096, i % 256, 1, io_done, &cpls[i]), 0);
	}
	end = now_ms() + 5000;
	while (done < 480 && now_ms() < end) {
		brisk_thread_poll(g_th, 0, 0);
		done = 0;
		for (int i = 0; i < 480; i++) {
			done += cpls[i].done;
		}
	}
	for (int i = 0; i < 480; i++) {
		ok += cpls[i].done == 1 && cpls[i].success;
	}
	CU_ASSERT_EQUAL(ok, 480);
	brisk_put_io_channel(ch);
	poll_idle();
	brisk_bdev_close(desc);
	g_del_done = 0;
	CU_ASSERT_EQUAL(bdev_aio_delete("aio_deep", del_done, NULL), 0);
	poll_until(&g_del_done);
	brisk_free(buf);
}

/* The physical block size of the disk holding path (sysfs: the device's
 * queue, or its parent disk's for a partition), 0 when none: read here
 * independently of the module. */
static uint32_t disk_phys_block_size(const char *path)
{
	static const char *const fmt[] = { "/sys/dev/block/%u:%u/queue/physical_block_size",
					   "/sys/dev/block/%u:%u/../queue/physical_block_size" };
	struct stat st;
	char sys[96];
	unsigned int pbs = 0;
	FILE *f;

	for (int i = 0; i < 2 && pbs == 0 && stat(path, &st) == 0; i++) {
		snprintf(sys, sizeof(sys), fmt[i], major(st.st_dev), minor(st.st_dev));
		f = fopen(sys, "r");
		if (f != NULL) {
			if (fscanf(f, "%u", &pbs) != 1) {
				pbs = 0;
			}
			fclose(f);
		}
	}
	return pbs;
}

static void test_explicit_block_size(void)
{
	struct bdev_aio_opts o = { .filename = g_path, .name = "aio512", .block_size = 512, .readonly = true };
	struct brisk_bdev *b = NULL;
	uint32_t pbs;

	CU_ASSERT_EQUAL(bdev_aio_create(&b, &o), 0);
	CU_ASSERT_EQUAL(brisk_bdev_get_block_size(b), 512);
	/* The disk's physical block size where sysfs knows it (and it is a
	 * power-of-two multiple of 512), else the block size. */
	pbs = disk_phys_block_size(g_path);
	CU_ASSERT_EQUAL(brisk_bdev_get_physical_block_size(b),
			pbs > 512 && brisk_bdev_physical_block_size_valid(512, pbs) ? pbs : 512);
	CU_ASSERT_FALSE(brisk_bdev_io_type_supported(b, BRISK_BDEV_IO_TYPE_UNMAP));
	g_del_done = 0;
	CU_ASSERT_EQUAL(bdev_aio_delete("aio512", del_done, NULL), 0);
	poll_until(&g_del_done);
	CU_ASSERT_PTR_NULL(brisk_bdev_get_by_name("aio512"));
}

static int ut_setup(void)
{
	int fd;

	fd = mkstemp(g_path);
	if (fd < 0 || ftruncate(fd, 1024 * 1024) != 0) {
		perror("temp file");
		return -1;
	}
	close(fd);
	fd = mkstemp(g_tiny_path);
	if (fd < 0 || ftruncate(fd, 1000) != 0) {
		perror("temp file");
		unlink(g_path);
		return -1;
	}
	close(fd);
	if (ut_start() != 0) {
		unlink(g_path);
		unlink(g_tiny_path);
		return -1;
	}
	return 0;
}

static int ut_teardown(void)
{
	int rc = ut_finish();

	unlink(g_path);
	unlink(g_tiny_path);
	return rc;
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_bad_params), BRISK_UT_TEST(test_special_files),       BRISK_UT_TEST(test_io_and_rescan),
	BRISK_UT_TEST(test_deep_queue), BRISK_UT_TEST(test_explicit_block_size), CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "bdev_aio", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "aio_ut",
	.env = BRISK_UT_ENV_THREAD,
	.mem_mb = 192,
	.thread_opts = { .msg_pool_size = 4095 },
	.setup = ut_setup,
	.teardown = ut_teardown,
	.suites = g_ut_suites,
};
