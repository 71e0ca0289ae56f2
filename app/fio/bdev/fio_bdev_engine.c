/*
 * brisk_bdev: a fio ioengine that runs I/O on Brisk bdevs, with the option
 * names of SPDK's bdev plugin so existing job files carry over:
 *
 *   fio --ioengine=external:build/fio/brisk_bdev.so --thread=1 \
 *       --spdk_json_conf=bdevs.json --filename=Malloc0 --rw=randrw --bs=4k ...
 *
 * Each --filename (several with ':') is a bdev made by the JSON config. The
 * fio side of the engine is here: options, fio's hooks, io_u <-> request.
 * The Brisk side (app framework in the process, a Brisk thread per job) is
 * in fio_bdev_env.c and fio_bdev_job.c. Hooks in the order fio calls them:
 *   setup     main fio thread, per job: start Brisk (first job), size files
 *   init      job thread: the job's Brisk thread, bdevs opened, channels
 *   iomem_alloc, io_u_init   buffers from Brisk's heap, a request per io_u
 *   queue / getevents / event   the I/O
 *   cleanup   job thread: bdevs closed, the Brisk thread ends
 * Brisk stops when fio unloads the engine (the destructor below).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fio_common.h"
#include "optgroup.h"

#include "fio_bdev.h"

#define ENGINE "brisk_bdev"

struct bdev_options {
	void *pad; /* fio: an option's offset must not be 0 */
	char *json_conf;
	char *reactor_mask;
	unsigned int mem_size_mb;
	unsigned int no_huge;
	char *log_flags;
	unsigned int inline_poll;
};

/* Per fio job. */
struct bdev_td {
	struct brisk_fio_job *job;
	struct brisk_fio_req **reqs; /* reap's output */
	struct io_u **events;        /* what ->event returns */
};

static struct fio_option g_options[] = {
	{
		.name = "spdk_json_conf",
		.lname = "JSON configuration (SPDK's shape) that creates the bdevs",
		.alias = "brisk_json_conf",
		.type = FIO_OPT_STR_STORE,
		.off1 = offsetof(struct bdev_options, json_conf),
		.help = "JSON config file ({\"subsystems\":[...]}) that creates the bdevs named by filename",
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = "spdk_mem",
		.lname = "Brisk memory in MB",
		.alias = "mem_size_mb",
		.type = FIO_OPT_INT,
		.off1 = offsetof(struct bdev_options, mem_size_mb),
		.def = "0",
		.help = "memory Brisk reserves, in MB (0: Brisk's default, 256)",
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = "no_huge",
		.lname = "Brisk without hugepages",
		.type = FIO_OPT_BOOL,
		.off1 = offsetof(struct bdev_options, no_huge),
		.def = "0",
		.help = "ordinary pages instead of hugepages (not DMA-safe for real devices)",
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = "reactor_mask",
		.lname = "Brisk reactor cores",
		.type = FIO_OPT_STR_STORE,
		.off1 = offsetof(struct bdev_options, reactor_mask),
		.help = "cores of Brisk's reactors (0x3 or 0-1; default 0x1); jobs go round-robin over them",
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = "log_flags",
		.lname = "Brisk debug log flags",
		.type = FIO_OPT_STR_STORE,
		.off1 = offsetof(struct bdev_options, log_flags),
		.help = "comma-separated Brisk log flags to enable (debug output)",
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = "inline_poll",
		.lname = "fio's job thread polls its Brisk thread",
		.type = FIO_OPT_BOOL,
		.off1 = offsetof(struct bdev_options, inline_poll),
		.def = "1",
		.help = "1 (default): each job's Brisk thread is polled by fio's job thread itself "
			"(no hop to a reactor, as SPDK's plugin does); 0: it runs on a reactor",
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = NULL,
	},
};

static int bdev_start_env(struct thread_data *td)
{
	struct bdev_options *o = td->eo;
	struct brisk_fio_env_opts env = {
		.json_conf = o->json_conf, .reactor_mask = o->reactor_mask,
		.mem_size_mb = o->mem_size_mb, .no_huge = o->no_huge != 0, .log_flags = o->log_flags,
	};

	if (o->json_conf == NULL || o->json_conf[0] == '\0') {
		log_err(ENGINE ": no bdev configuration: give --spdk_json_conf=FILE (or "
			"--brisk_json_conf=FILE), a JSON config that creates the bdevs named by filename\n");
		return 1;
	}
	if (access(o->json_conf, R_OK) != 0) {
		log_err(ENGINE ": cannot read spdk_json_conf '%s': %s\n", o->json_conf, strerror(errno));
		return 1;
	}
	if (brisk_fio_env_start(&env) != 0) {
		log_err(ENGINE ": Brisk did not start with '%s' (see the errors above)\n", o->json_conf);
		return 1;
	}
	return 0;
}

static int bdev_setup_file(struct thread_data *td, struct fio_file *f)
{
	struct brisk_fio_bdev_info info;
	char others[512];
	unsigned long long min_bs = td_min_bs(td);

	if (brisk_fio_bdev_info(f->file_name, &info, others, sizeof(others)) != 0) {
		log_err(ENGINE ": no bdev named '%s' (the config made: %s)\n", f->file_name,
			others[0] != '\0' ? others : "no bdevs");
		return 1;
	}
	if (min_bs % info.block_size != 0) {
		log_err(ENGINE ": bs %llu is not a multiple of bdev '%s''s block size %u\n", min_bs,
			f->file_name, info.block_size);
		return 1;
	}
	if (td_trim(td) && !info.unmap) {
		log_err(ENGINE ": bdev '%s' does not support unmap, which trim needs\n", f->file_name);
		return 1;
	}
	f->real_file_size = info.size;
	f->filetype = FIO_TYPE_BLOCK;
	fio_file_set_size_known(f);
	return 0;
}

static int bdev_setup(struct thread_data *td)
{
	struct fio_file *f;
	unsigned int i;

	if (brisk_fio_require_thread(td, ENGINE) != 0 || bdev_start_env(td) != 0) {
		return 1;
	}
	for_each_file(td, f, i) {
		if (bdev_setup_file(td, f) != 0) {
			return 1;
		}
	}
	return 0;
}

static void bdev_td_free(struct bdev_td *bt)
{
	free(bt->reqs);
	free(bt->events);
	free(bt);
}

static struct brisk_fio_job *bdev_create_job(struct thread_data *td)
{
	const char **names = calloc(td->files_index, sizeof(*names));
	struct brisk_fio_job *job = NULL;
	struct fio_file *f;
	unsigned int i;
	int rc = -ENOMEM;

	if (names != NULL) {
		for_each_file(td, f, i) {
			names[i] = f->file_name;
		}
		job = brisk_fio_job_create(names, td->files_index, td->o.iodepth,
					   ((struct bdev_options *)td->eo)->inline_poll != 0, &rc);
	}
	free(names);
	if (job == NULL) {
		log_err(ENGINE ": job %s: cannot set up its bdevs: %s\n", td->o.name, strerror(-rc));
	}
	return job;
}

static int bdev_init(struct thread_data *td)
{
	struct bdev_td *bt;

	/* setup normally started Brisk; not yet if create_serialize=0 */
	if (brisk_fio_require_thread(td, ENGINE) != 0 || bdev_start_env(td) != 0) {
		return 1;
	}
	bt = calloc(1, sizeof(*bt));
	if (bt == NULL) {
		return 1;
	}
	bt->reqs = calloc(td->o.iodepth, sizeof(*bt->reqs));
	bt->events = calloc(td->o.iodepth, sizeof(*bt->events));
	if (bt->reqs == NULL || bt->events == NULL) {
		bdev_td_free(bt);
		return 1;
	}
	bt->job = bdev_create_job(td);
	if (bt->job == NULL) {
		bdev_td_free(bt);
		return 1;
	}
	td->io_ops_data = bt;
	return 0;
}

static void bdev_cleanup(struct thread_data *td)
{
	struct bdev_td *bt = td->io_ops_data;

	if (bt == NULL) {
		return;
	}
	brisk_fio_job_destroy(bt->job);
	bdev_td_free(bt);
	td->io_ops_data = NULL;
}

static int bdev_io_u_init(struct thread_data *td, struct io_u *io_u)
{
	struct brisk_fio_req *req = calloc(1, sizeof(*req));

	if (req == NULL) {
		return 1;
	}
	req->cookie = io_u;
	io_u->engine_data = req;
	return 0;
}

static void bdev_io_u_free(struct thread_data *td, struct io_u *io_u)
{
	free(io_u->engine_data);
	io_u->engine_data = NULL;
}

static int bdev_op(enum fio_ddir ddir, enum brisk_fio_op *op)
{
	switch (ddir) {
	case DDIR_READ:
		*op = BRISK_FIO_READ;
		return 0;
	case DDIR_WRITE:
		*op = BRISK_FIO_WRITE;
		return 0;
	case DDIR_TRIM:
		*op = BRISK_FIO_UNMAP;
		return 0;
	case DDIR_SYNC:
	case DDIR_DATASYNC:
		*op = BRISK_FIO_FLUSH;
		return 0;
	default:
		return -EINVAL;
	}
}

static enum fio_q_status bdev_queue(struct thread_data *td, struct io_u *io_u)
{
	struct bdev_td *bt = td->io_ops_data;
	struct brisk_fio_req *req = io_u->engine_data;

	fio_ro_check(td, io_u);
	if (bdev_op(io_u->ddir, &req->op) != 0) {
		io_u->error = EINVAL;
		return FIO_Q_COMPLETED;
	}
	req->bdev_index = io_u->file->fileno;
	req->offset = io_u->offset;
	req->len = io_u->xfer_buflen;
	req->buf = io_u->xfer_buf;
	if (brisk_fio_job_submit(bt->job, req) != 0) {
		return FIO_Q_BUSY;
	}
	return FIO_Q_QUEUED;
}

static int bdev_getevents(struct thread_data *td, unsigned int min, unsigned int max,
			  const struct timespec *t)
{
	struct bdev_td *bt = td->io_ops_data;
	uint32_t n = brisk_fio_job_reap(bt->job, bt->reqs, min, max, t);

	for (uint32_t i = 0; i < n; i++) {
		struct io_u *io_u = bt->reqs[i]->cookie;

		io_u->error = -bt->reqs[i]->status;
		bt->events[i] = io_u;
	}
	return (int)n;
}

static struct io_u *bdev_event(struct thread_data *td, int event)
{
	struct bdev_td *bt = td->io_ops_data;

	return bt->events[event];
}

/* The bdevs are opened per job in init, not per file. */
static int bdev_open_file(struct thread_data *td, struct fio_file *f)
{
	return 0;
}

static int bdev_close_file(struct thread_data *td, struct fio_file *f)
{
	return 0;
}

/* Exported for fio's dlsym("ioengine"). */
struct ioengine_ops ioengine = {
	.name = ENGINE,
	.version = FIO_IOOPS_VERSION,
	.flags = FIO_RAWIO | FIO_NOEXTEND | FIO_NODISKUTIL | FIO_MEMALIGN | FIO_DISKLESSIO,
	.setup = bdev_setup,
	.init = bdev_init,
	.queue = bdev_queue,
	.getevents = bdev_getevents,
	.event = bdev_event,
	.cleanup = bdev_cleanup,
	.open_file = bdev_open_file,
	.close_file = bdev_close_file,
	.iomem_alloc = brisk_fio_iomem_alloc,
	.iomem_free = brisk_fio_iomem_free,
	.io_u_init = bdev_io_u_init,
	.io_u_free = bdev_io_u_free,
	.option_struct_size = sizeof(struct bdev_options),
	.options = g_options,
};

/* fio unloads the engine after its last job: Brisk stops then. */
static void __attribute__((destructor)) bdev_engine_unload(void)
{
	brisk_fio_env_stop();
}
