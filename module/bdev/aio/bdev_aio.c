/*
 * aio bdevs: a regular file or a block device driven through libaio.
 *
 * Each thread gets, per aio bdev, a channel with its own io_context and an
 * eventfd that the kernel signals on every completion (IOCB_FLAG_RESFD). The
 * eventfd is registered with the thread (brisk_interrupt_register) so a
 * sleeping reactor wakes when I/O completes; while I/O is in flight an active
 * poller reaps completions without blocking (io_getevents with a zero
 * timeout). With nothing in flight the poller is paused: a reactor with an
 * active poller never sleeps, so an idle aio channel would spin its core.
 */
#include <errno.h>
#include <fcntl.h>
#include <libaio.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <brisk/bdev_module.h>
#include <brisk/log.h>
#include <brisk/thread.h>

#include "bdev_aio.h"

#define AIO_QUEUE_DEPTH 128
#define AIO_DEFAULT_FILE_BLOCK_SIZE 4096

struct aio_disk {
	struct brisk_bdev bdev;
	char *filename;
	int fd;
	bool direct;       /* opened with O_DIRECT */
	bool readonly;
	bool fallocate;
	bool is_blockdev;
	uint32_t min_block_size; /* the device's logical block size */
	uint32_t phys_block_size; /* the device's physical block size, 0 = unknown */
	/* A full or failing file fails every I/O: one log site, rate-limited. */
	struct brisk_log_ratelimit err_log;
	TAILQ_ENTRY(aio_disk) link;
};

struct aio_task {
	struct iocb iocb;
	uint64_t expected;     /* bytes the kernel must report */
	TAILQ_ENTRY(aio_task) link;
};

struct aio_channel {
	struct aio_disk *disk;
	io_context_t ctx;
	int efd;
	uint32_t inflight;
	TAILQ_HEAD(, aio_task) retry; /* io_submit said EAGAIN: submitted again by the poller */
	/* Runs only while I/O is in the kernel or queued for retry: an active
	 * poller keeps the reactor from sleeping, and an idle channel is woken
	 * by its eventfd anyway. */
	struct brisk_poller *poller;
	bool poller_running;
	struct brisk_interrupt *intr;
};

static TAILQ_HEAD(, aio_disk) g_aio_disks = TAILQ_HEAD_INITIALIZER(g_aio_disks);
static bool g_fdsync_unsupported; /* the kernel refused IOCB_CMD_FDSYNC once */

static int bdev_aio_get_ctx_size(void);

static struct brisk_bdev_module g_aio_if = {
	.name = "aio",
	.get_ctx_size = bdev_aio_get_ctx_size,
};
BRISK_BDEV_MODULE_REGISTER(aio, &g_aio_if)

static int bdev_aio_get_ctx_size(void)
{
	return sizeof(struct aio_task);
}

/* ---- Completion ---- */

static void aio_task_done(struct aio_task *task, int status)
{
	brisk_bdev_io_complete(brisk_bdev_io_from_ctx(task), status);
}

/* Fails the I/O with its errno (the user sees -ENOSPC, not a bare failure). */
static void aio_task_failed(struct aio_disk *disk, struct aio_task *task, int err, const char *what)
{
	BRISK_ERRLOG_RATELIMIT(&disk->err_log, "aio %s: %s failed: %s\n", disk->bdev.name, what,
			       strerror(-err));
	brisk_bdev_io_complete_aio_status(brisk_bdev_io_from_ctx(task), err);
}

/* The errno of a completion: the kernel's, or for a short transfer -ENOSPC
 * (a write that ran out of room part way; the kernel reports the bytes
 * written instead of the error) or -EIO (a read past the end of the file). */
static int aio_result_errno(const struct aio_task *task, long res)
{
	if (res < 0) {
		return (int)res;
	}
	if ((uint64_t)res == task->expected) {
		return 0;
	}
	return task->iocb.aio_lio_opcode == IO_CMD_PWRITEV ? -ENOSPC : -EIO;
}

static int aio_reap(struct aio_channel *ach)
{
	struct io_event events[32];
	struct timespec zero = {0, 0};
	int n, i;

	if (ach->inflight == 0) {
		return 0;
	}
	n = io_getevents(ach->ctx, 0, 32, events, &zero);
	if (n <= 0) {
		return 0;
	}
	for (i = 0; i < n; i++) {
		struct aio_task *task = (struct aio_task *)events[i].obj;
		int err = aio_result_errno(task, (long)events[i].res);

		ach->inflight--;
		if (err != 0) {
			aio_task_failed(ach->disk, task, err, "I/O");
		} else {
			aio_task_done(task, BRISK_BDEV_IO_STATUS_SUCCESS);
		}
	}
	return n;
}

static int aio_submit_iocb(struct aio_channel *ach, struct aio_task *task);

static int aio_retry_queued(struct aio_channel *ach)
{
	struct aio_task *task;
	int count = 0;

	while ((task = TAILQ_FIRST(&ach->retry)) != NULL) {
		TAILQ_REMOVE(&ach->retry, task, link);
		if (aio_submit_iocb(ach, task) == -EAGAIN) {
			break; /* put back at the head by aio_submit_iocb; try again next poll */
		}
		count++;
	}
	return count;
}

static int aio_poll(void *ctx)
{
	struct aio_channel *ach = ctx;
	int n = aio_reap(ach);

	if (!TAILQ_EMPTY(&ach->retry)) {
		n += aio_retry_queued(ach);
	}
	if (ach->poller_running && ach->inflight == 0 && TAILQ_EMPTY(&ach->retry)) {
		brisk_poller_pause(ach->poller);
		ach->poller_running = false;
	}
	return n > 0 ? BRISK_POLLER_BUSY : BRISK_POLLER_IDLE;
}

/* The eventfd fired: clear its counter, then reap. */
static int aio_eventfd_fired(void *ctx)
{
	struct aio_channel *ach = ctx;
	uint64_t count;

	while (read(ach->efd, &count, sizeof(count)) == sizeof(count)) {
	}
	return aio_poll(ach);
}

/* ---- Submission ---- */

/* 0 when queued in the kernel or on the retry list (EAGAIN); -errno otherwise. */
static int aio_submit_iocb(struct aio_channel *ach, struct aio_task *task)
{
	struct iocb *iocb = &task->iocb;
	int rc;

	io_set_eventfd(iocb, ach->efd);
	rc = io_submit(ach->ctx, 1, &iocb);
	if (rc == 1) {
		ach->inflight++;
		return 0;
	}
	if (rc == -EAGAIN || rc == 0) {
		/* The kernel's queue is full: keep the order, retry from the poller. */
		TAILQ_INSERT_HEAD(&ach->retry, task, link);
		return -EAGAIN;
	}
	return rc;
}

static void aio_submit_rw(struct aio_channel *ach, struct brisk_bdev_io *io)
{
	struct aio_task *task = (struct aio_task *)io->driver_ctx;
	uint32_t bl = io->bdev->blocklen;
	long long off = (long long)(io->u.offset_blocks * bl);
	int rc;

	if (io->type == BRISK_BDEV_IO_TYPE_READ) {
		io_prep_preadv(&task->iocb, ach->disk->fd, io->u.iovs, io->u.iovcnt, off);
	} else {
		io_prep_pwritev(&task->iocb, ach->disk->fd, io->u.iovs, io->u.iovcnt, off);
	}
	task->expected = io->u.num_blocks * bl;
	if (!TAILQ_EMPTY(&ach->retry)) {
		TAILQ_INSERT_TAIL(&ach->retry, task, link); /* behind the ones already waiting */
		return;
	}
	rc = aio_submit_iocb(ach, task);
	if (rc != 0 && rc != -EAGAIN) {
		aio_task_failed(ach->disk, task, rc, "io_submit");
	}
}

static void aio_submit_flush(struct aio_channel *ach, struct brisk_bdev_io *io)
{
	struct aio_task *task = (struct aio_task *)io->driver_ctx;
	int rc;

	if (!g_fdsync_unsupported) {
		io_prep_fdsync(&task->iocb, ach->disk->fd);
		task->expected = 0;
		rc = aio_submit_iocb(ach, task);
		if (rc == 0 || rc == -EAGAIN) {
			return;
		}
		if (rc != -EINVAL) {
			aio_task_failed(ach->disk, task, rc, "fdsync");
			return;
		}
		g_fdsync_unsupported = true;
		BRISK_WARNLOG("the kernel has no asynchronous fdsync: flushes use fdatasync "
			      "in the submitting thread\n");
	}
	if (fdatasync(ach->disk->fd) != 0) {
		aio_task_failed(ach->disk, task, -errno, "fdatasync");
		return;
	}
	aio_task_done(task, BRISK_BDEV_IO_STATUS_SUCCESS);
}

/* Unmap and write_zeroes through fallocate (synchronous: the file system
 * only updates its extent map). */
static void aio_submit_fallocate(struct aio_channel *ach, struct brisk_bdev_io *io)
{
	struct aio_task *task = (struct aio_task *)io->driver_ctx;
	uint32_t bl = io->bdev->blocklen;
	off_t off = (off_t)(io->u.offset_blocks * bl);
	off_t len = (off_t)(io->u.num_blocks * bl);
	int rc = -1;

	if (io->type == BRISK_BDEV_IO_TYPE_WRITE_ZEROES) {
		rc = fallocate(ach->disk->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, off, len);
	}
	if (rc != 0) {
		/* A punched hole reads back as zeroes too. */
		rc = fallocate(ach->disk->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
	}
	if (rc != 0) {
		aio_task_failed(ach->disk, task, -errno, "fallocate");
		return;
	}
	aio_task_done(task, BRISK_BDEV_IO_STATUS_SUCCESS);
}

static void bdev_aio_submit_request(struct brisk_io_channel *ch, struct brisk_bdev_io *io)
{
	struct aio_channel *ach = brisk_io_channel_get_ctx(ch);

	if (!ach->poller_running) {
		brisk_poller_resume(ach->poller);
		ach->poller_running = true;
	}
	switch (io->type) {
	case BRISK_BDEV_IO_TYPE_READ:
	case BRISK_BDEV_IO_TYPE_WRITE:
		aio_submit_rw(ach, io);
		break;
	case BRISK_BDEV_IO_TYPE_FLUSH:
		aio_submit_flush(ach, io);
		break;
	case BRISK_BDEV_IO_TYPE_UNMAP:
	case BRISK_BDEV_IO_TYPE_WRITE_ZEROES:
		aio_submit_fallocate(ach, io);
		break;
	case BRISK_BDEV_IO_TYPE_RESET:
		/* The layer has drained the channel: nothing is in flight to abort. */
		aio_task_done((struct aio_task *)io->driver_ctx, BRISK_BDEV_IO_STATUS_SUCCESS);
		break;
	default:
		brisk_bdev_io_complete_aio_status(io, -ENOTSUP);
		break;
	}
}

static bool bdev_aio_io_type_supported(void *ctx, enum brisk_bdev_io_type type)
{
	struct aio_disk *disk = ctx;

	switch (type) {
	case BRISK_BDEV_IO_TYPE_READ:
	case BRISK_BDEV_IO_TYPE_WRITE:
	case BRISK_BDEV_IO_TYPE_FLUSH:
	case BRISK_BDEV_IO_TYPE_RESET:
		return true;
	case BRISK_BDEV_IO_TYPE_UNMAP:
	case BRISK_BDEV_IO_TYPE_WRITE_ZEROES:
		return disk->fallocate && !disk->readonly;
	default:
		return false;
	}
}

/* ---- Channels ---- */

static int aio_channel_create(void *io_device, void *ctx_buf)
{
	struct aio_channel *ach = ctx_buf;
	int rc;

	memset(ach, 0, sizeof(*ach));
	ach->disk = io_device;
	TAILQ_INIT(&ach->retry);
	rc = io_setup(AIO_QUEUE_DEPTH, &ach->ctx);
	if (rc != 0) {
		BRISK_ERRLOG("aio %s: io_setup: %s\n", ach->disk->bdev.name, strerror(-rc));
		return rc;
	}
	ach->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ach->efd < 0) {
		rc = -errno;
		io_destroy(ach->ctx);
		return rc;
	}
	ach->intr = brisk_interrupt_register(ach->efd, aio_eventfd_fired, ach, "bdev_aio");
	ach->poller = brisk_poller_register_named(aio_poll, ach, 0, "bdev_aio_poll");
	if (ach->intr == NULL || ach->poller == NULL) {
		brisk_interrupt_unregister(&ach->intr);
		brisk_poller_unregister(&ach->poller);
		close(ach->efd);
		io_destroy(ach->ctx);
		return -ENOMEM;
	}
	brisk_poller_pause(ach->poller); /* until the first I/O */
	return 0;
}

static void aio_channel_destroy(void *io_device, void *ctx_buf)
{
	struct aio_channel *ach = ctx_buf;

	brisk_poller_unregister(&ach->poller);
	brisk_interrupt_unregister(&ach->intr);
	io_destroy(ach->ctx); /* waits for anything still in the kernel */
	close(ach->efd);
}

static struct brisk_io_channel *bdev_aio_get_io_channel(void *ctx)
{
	return brisk_get_io_channel(ctx);
}

/* ---- JSON ---- */

static int bdev_aio_dump_info_json(void *ctx, json_t *driver_specific)
{
	struct aio_disk *disk = ctx;
	uint32_t detected = disk->is_blockdev ? disk->min_block_size : AIO_DEFAULT_FILE_BLOCK_SIZE;

	json_object_set_new(driver_specific, "aio", json_pack("{s:s, s:b, s:b, s:b}",
			    "filename", disk->filename, "block_size_override", disk->bdev.blocklen != detected,
			    "readonly", disk->readonly, "fallocate", disk->fallocate));
	return 0;
}

static void bdev_aio_write_config_json(struct brisk_bdev *bdev, json_t *array)
{
	struct aio_disk *disk = bdev->ctxt;
	char uuid[BRISK_UUID_STRING_LEN];

	brisk_uuid_fmt_lower(uuid, sizeof(uuid), &bdev->uuid);
	json_array_append_new(array, json_pack("{s:s, s:{s:s, s:s, s:i, s:b, s:b, s:s}}",
					       "method", "bdev_aio_create", "params",
					       "name", bdev->name, "filename", disk->filename,
					       "block_size", (int)bdev->blocklen,
					       "readonly", disk->readonly, "fallocate", disk->fallocate,
					       "uuid", uuid));
}

/* ---- Creation and deletion ---- */

static void aio_disk_free(struct aio_disk *disk)
{
	brisk_log_ratelimit_flush(&disk->err_log, BRISK_LOG_ERROR);
	if (disk->fd >= 0) {
		close(disk->fd);
	}
	free(disk->filename);
	free(disk->bdev.name);
	free(disk);
}

static void aio_io_device_gone(void *io_device)
{
	struct aio_disk *disk = io_device;

	brisk_bdev_destruct_done(&disk->bdev, 0);
	aio_disk_free(disk);
}

/* Registration failed: the bdev layer never saw the disk. */
static void aio_io_device_unused(void *io_device)
{
	aio_disk_free(io_device);
}

static int bdev_aio_destruct(void *ctx)
{
	struct aio_disk *disk = ctx;

	TAILQ_REMOVE(&g_aio_disks, disk, link);
	brisk_io_device_unregister(disk, aio_io_device_gone);
	return 1;
}

static const struct brisk_bdev_fn_table g_aio_fn_table = {
	.destruct = bdev_aio_destruct,
	.submit_request = bdev_aio_submit_request,
	.io_type_supported = bdev_aio_io_type_supported,
	.get_io_channel = bdev_aio_get_io_channel,
	.dump_info_json = bdev_aio_dump_info_json,
	.write_config_json = bdev_aio_write_config_json,
};

const char *bdev_aio_mode_name(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return "a regular file";
	case S_IFBLK: return "a block device";
	case S_IFDIR: return "a directory";
	case S_IFCHR: return "a character device";
	case S_IFIFO: return "a FIFO";
	case S_IFSOCK: return "a socket";
	case S_IFLNK: return "a symbolic link";
	default: return "a special file";
	}
}

const char *bdev_aio_file_type(const char *path)
{
	struct stat st;
	int fd;

	/* O_PATH opens nothing for I/O: no driver open, no FIFO wait. */
	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		return NULL;
	}
	if (fstat(fd, &st) != 0) {
		close(fd);
		return NULL;
	}
	close(fd);
	return bdev_aio_mode_name(st.st_mode);
}

/* Only a regular file or a block device may be opened for I/O: the open of
 * anything else may block the reactor (a FIFO waits for its other end) or
 * have side effects (some character devices act on open). Checked through
 * O_PATH before the real open. */
static int aio_check_file_type(const char *path)
{
	struct stat st;
	int fd, rc = 0;

	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		BRISK_ERRLOG("aio: cannot open filename '%s': %s\n", path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) != 0) {
		rc = -errno;
	} else if (S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
	} else if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		rc = -ENOTBLK;
	}
	close(fd);
	if (rc == -EISDIR || rc == -ENOTBLK) {
		BRISK_ERRLOG("aio: filename '%s' is %s, not a regular file or a block device\n", path,
			     bdev_aio_mode_name(st.st_mode));
	}
	return rc;
}

/* The real open: O_NONBLOCK so that a path swapped for a FIFO after the
 * check cannot block either (aio_detect_geometry checks the type of what was
 * opened); the flag is cleared once the type is known. */
static int aio_open_flags(const char *path, int flags)
{
	return open(path, flags | O_NONBLOCK);
}

/* Opens the path, with O_DIRECT when the file system accepts it. */
static int aio_open(struct aio_disk *disk, const char *path)
{
	int flags = (disk->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	int rc = aio_check_file_type(path);

	if (rc != 0) {
		return rc;
	}
	disk->fd = aio_open_flags(path, flags | O_DIRECT);
	if (disk->fd >= 0) {
		disk->direct = true;
		return 0;
	}
	if (errno == EINVAL) {
		BRISK_NOTICELOG("aio: '%s' does not support O_DIRECT: using buffered I/O\n", path);
		disk->fd = aio_open_flags(path, flags);
		if (disk->fd >= 0) {
			return 0;
		}
	}
	BRISK_ERRLOG("aio: cannot open filename '%s': %s\n", path, strerror(errno));
	return -errno;
}

/* Size in bytes of the open file or device. */
static int aio_get_size(struct aio_disk *disk, uint64_t *size)
{
	struct stat st;

	/* Set on every path: a failure whose errno reads 0 would return 0. */
	*size = 0;
	if (fstat(disk->fd, &st) != 0) {
		return -errno;
	}
	if (S_ISBLK(st.st_mode)) {
		return ioctl(disk->fd, BLKGETSIZE64, size) == 0 ? 0 : -errno;
	}
	*size = (uint64_t)st.st_size;
	return 0;
}

/* The physical block size of the device a regular file lives on, from
 * sysfs; 0 when the file system has no block device (tmpfs, overlay). A
 * partition's directory has no queue/, its parent disk's has. */
static uint32_t aio_file_phys_block_size(dev_t dev)
{
	static const char *const paths[] = { "/sys/dev/block/%u:%u/queue/physical_block_size",
					     "/sys/dev/block/%u:%u/../queue/physical_block_size" };
	unsigned int pbs = 0;
	char path[96];
	FILE *f;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]) && pbs == 0; i++) {
		snprintf(path, sizeof(path), paths[i], major(dev), minor(dev));
		f = fopen(path, "r");
		if (f != NULL) {
			if (fscanf(f, "%u", &pbs) != 1) {
				pbs = 0;
			}
			fclose(f);
		}
	}
	return pbs;
}

static uint32_t aio_blockdev_phys_block_size(int fd)
{
	unsigned int pbs = 0;

	return ioctl(fd, BLKPBSZGET, &pbs) == 0 ? pbs : 0;
}

/* The bdev's physical block size where the device's is known and is a
 * power-of-two multiple of the chosen block size; else 0 (= blocklen). */
static void aio_set_phys_block_size(struct aio_disk *disk)
{
	uint32_t pbs = disk->phys_block_size;

	if (pbs > disk->bdev.blocklen && brisk_bdev_physical_block_size_valid(disk->bdev.blocklen, pbs)) {
		disk->bdev.phys_blocklen = pbs;
	}
}

static int aio_detect_geometry(struct aio_disk *disk)
{
	struct stat st;
	int lbs;

	if (fstat(disk->fd, &st) != 0) {
		return -errno;
	}
	if (S_ISBLK(st.st_mode)) {
		disk->is_blockdev = true;
		if (ioctl(disk->fd, BLKSSZGET, &lbs) != 0 || lbs < 512) {
			BRISK_ERRLOG("aio: cannot read the block size of '%s'\n", disk->filename);
			return -EIO;
		}
		disk->min_block_size = (uint32_t)lbs;
		disk->phys_block_size = aio_blockdev_phys_block_size(disk->fd);
	} else if (S_ISREG(st.st_mode)) {
		disk->phys_block_size = aio_file_phys_block_size(st.st_dev);
		/* A file accepts any multiple of 512; with O_DIRECT the underlying
		 * device may need up to 4096, hence 4096 as the default below. */
		disk->min_block_size = 512;
	} else {
		BRISK_ERRLOG("aio: filename '%s' is %s, not a regular file or a block device\n",
			     disk->filename, bdev_aio_mode_name(st.st_mode));
		return -ENOTBLK;
	}
	/* The type is known: back to blocking mode (aio ignores it; fdatasync does not). */
	if (fcntl(disk->fd, F_SETFL, fcntl(disk->fd, F_GETFL) & ~O_NONBLOCK) != 0) {
		return -errno;
	}
	return 0;
}

static int aio_check_block_size(struct aio_disk *disk, uint32_t block_size)
{
	if (block_size == 0) {
		disk->bdev.blocklen = disk->is_blockdev ? disk->min_block_size : AIO_DEFAULT_FILE_BLOCK_SIZE;
		return 0;
	}
	if (block_size < 512 || (block_size & (block_size - 1)) != 0) {
		BRISK_ERRLOG("aio: block_size %u must be a power of two >= 512\n", block_size);
		return -EINVAL;
	}
	if (block_size < disk->min_block_size) {
		BRISK_ERRLOG("aio: block_size %u is smaller than the logical block size %u of '%s'\n",
			     block_size, disk->min_block_size, disk->filename);
		return -EINVAL;
	}
	disk->bdev.blocklen = block_size;
	return 0;
}

int bdev_aio_create(struct brisk_bdev **bdev, const struct bdev_aio_opts *opts)
{
	struct aio_disk *disk;
	uint64_t size;
	int rc;

	if (bdev == NULL || opts == NULL) {
		return -EINVAL;
	}
	if (opts->name == NULL || opts->name[0] == '\0') {
		BRISK_ERRLOG("aio: name is missing\n");
		return -EINVAL;
	}
	if (opts->filename == NULL || opts->filename[0] == '\0') {
		BRISK_ERRLOG("aio: filename is missing\n");
		return -EINVAL;
	}
	if (brisk_bdev_get_by_name(opts->name) != NULL) {
		BRISK_ERRLOG("aio: bdev name '%s' already exists\n", opts->name);
		return -EEXIST;
	}
	disk = calloc(1, sizeof(*disk));
	if (disk == NULL) {
		return -ENOMEM;
	}
	disk->fd = -1;
	disk->err_log = (struct brisk_log_ratelimit)BRISK_LOG_RATELIMIT_DEFAULT;
	disk->readonly = opts->readonly;
	disk->fallocate = opts->fallocate;
	disk->filename = strdup(opts->filename);
	disk->bdev.name = strdup(opts->name);
	if (disk->filename == NULL || disk->bdev.name == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = aio_open(disk, opts->filename);
	if (rc == 0) {
		rc = aio_detect_geometry(disk);
	}
	if (rc == 0) {
		rc = aio_check_block_size(disk, opts->block_size);
	}
	if (rc == 0) {
		rc = aio_get_size(disk, &size);
		if (rc != 0) {
			BRISK_ERRLOG("aio: cannot read the size of '%s': %s\n", opts->filename, strerror(-rc));
		}
	}
	if (rc != 0) {
		goto fail;
	}
	disk->bdev.blockcnt = size / disk->bdev.blocklen;
	if (disk->bdev.blockcnt == 0) {
		BRISK_ERRLOG("aio: filename '%s' is smaller than one block (%u bytes)\n", opts->filename,
			     disk->bdev.blocklen);
		rc = -ERANGE;
		goto fail;
	}
	aio_set_phys_block_size(disk);
	disk->bdev.product_name = "AIO disk";
	disk->bdev.uuid = opts->uuid;
	disk->bdev.write_cache = true; /* the page cache or the device may hold writes until a flush */
	disk->bdev.required_alignment = disk->direct ? disk->bdev.blocklen : 0;
	disk->bdev.ctxt = disk;
	disk->bdev.fn_table = &g_aio_fn_table;
	disk->bdev.module = &g_aio_if;
	brisk_io_device_register(disk, aio_channel_create, aio_channel_destroy, sizeof(struct aio_channel),
				 disk->bdev.name);
	rc = brisk_bdev_register(&disk->bdev);
	if (rc != 0) {
		brisk_io_device_unregister(disk, aio_io_device_unused);
		return rc;
	}
	TAILQ_INSERT_TAIL(&g_aio_disks, disk, link);
	*bdev = &disk->bdev;
	return 0;
fail:
	aio_disk_free(disk);
	return rc;
}

int bdev_aio_delete(const char *name, brisk_bdev_unregister_cb cb, void *cb_arg)
{
	if (name == NULL) {
		BRISK_ERRLOG("aio: name is missing\n");
		return -EINVAL;
	}
	return brisk_bdev_unregister_by_name(name, &g_aio_if, cb, cb_arg);
}

int bdev_aio_rescan(const char *name)
{
	struct brisk_bdev *bdev = name ? brisk_bdev_get_by_name(name) : NULL;
	struct aio_disk *disk;
	uint64_t size, blocks;
	int rc;

	if (bdev == NULL || bdev->module != &g_aio_if) {
		BRISK_ERRLOG("aio bdev '%s' does not exist\n", name ? name : "(null)");
		return -ENODEV;
	}
	disk = bdev->ctxt;
	rc = aio_get_size(disk, &size);
	if (rc != 0) {
		BRISK_ERRLOG("aio %s: cannot read the size of '%s': %s\n", name, disk->filename, strerror(-rc));
		return -EIO;
	}
	blocks = size / bdev->blocklen;
	if (blocks == bdev->blockcnt) {
		return 0;
	}
	if (blocks == 0) {
		BRISK_ERRLOG("aio %s: '%s' is now smaller than one block\n", name, disk->filename);
		return -EINVAL;
	}
	BRISK_NOTICELOG("aio %s: size changed from %lu to %lu blocks\n", name, (unsigned long)bdev->blockcnt,
			(unsigned long)blocks);
	return brisk_bdev_notify_blockcnt_change(bdev, blocks);
}
