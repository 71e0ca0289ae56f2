/*
 * brisk_nvme: a fio ioengine straight on Brisk's NVMe driver, with the
 * filename syntax and option names of SPDK's NVMe plugin:
 *
 *   fio --ioengine=external:build/fio/brisk_nvme.so --thread=1 \
 *       --filename='trtype=PCIe traddr=0000.00.04.0 ns=1' --rw=randread ...
 *
 * (fio splits filenames at ':', hence the dots in the PCI address.) The fio
 * side is here; the driver side in fio_nvme_env.c and fio_nvme_job.c.
 *   setup      main fio thread, per job: env (first job), controllers, sizes
 *   init       job thread: a qpair per controller
 *   queue / getevents / event   submit and poll on the job's own thread
 *   cleanup    job thread: qpairs freed
 * Controllers are detached and the env ended when fio unloads the engine.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fio_common.h"
#include "optgroup.h"

#include "fio_nvme.h"

#define ENGINE "brisk_nvme"

struct nvme_options {
	void *pad; /* fio: an option's offset must not be 0 */
	unsigned int mem_size_mb;
	unsigned int no_huge;
};

struct nvme_td {
	struct brisk_fio_nvme_job *job;
	struct brisk_fio_nvme_target *targets;
	struct brisk_fio_nvme_req **reqs;
	struct io_u **events;
};

static struct fio_option g_options[] = {
	{
		.name = "spdk_mem",
		.lname = "Brisk memory in MB",
		.alias = "mem_size_mb",
		.type = FIO_OPT_INT,
		.off1 = offsetof(struct nvme_options, mem_size_mb),
		.def = "0",
		.help = "memory Brisk reserves, in MB (0: Brisk's default, 256)",
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = "no_huge",
		.lname = "Brisk without hugepages",
		.type = FIO_OPT_BOOL,
		.off1 = offsetof(struct nvme_options, no_huge),
		.def = "0",
		.help = "ordinary pages instead of hugepages (not DMA-safe without an IOMMU)",
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = NULL,
	},
};

static int nvme_start_env(struct thread_data *td)
{
	struct nvme_options *o = td->eo;
	struct brisk_fio_nvme_env_opts env = { .mem_size_mb = o->mem_size_mb, .no_huge = o->no_huge != 0 };

	if (brisk_fio_require_thread(td, ENGINE) != 0) {
		return 1;
	}
	if (brisk_fio_nvme_env_start(&env) != 0) {
		log_err(ENGINE ": the Brisk env did not start (see above)\n");
		return 1;
	}
	return 0;
}

static int nvme_setup_file(struct thread_data *td, struct fio_file *f,
			   struct brisk_fio_nvme_target *t)
{
	unsigned long long min_bs = td_min_bs(td);

	if (brisk_fio_nvme_open(f->file_name, t) != 0) {
		log_err(ENGINE ": cannot open '%s' (see above)\n", f->file_name);
		return 1;
	}
	if (min_bs % t->sector_size != 0) {
		log_err(ENGINE ": bs %llu is not a multiple of the sector size %u of '%s'\n", min_bs,
			t->sector_size, f->file_name);
		return 1;
	}
	if (td_trim(td) && !t->dsm) {
		log_err(ENGINE ": '%s' does not support Dataset Management, which trim needs\n",
			f->file_name);
		return 1;
	}
	f->real_file_size = t->size;
	f->filetype = FIO_TYPE_BLOCK;
	fio_file_set_size_known(f);
	return 0;
}

static int nvme_setup(struct thread_data *td)
{
	struct brisk_fio_nvme_target t;
	struct fio_file *f;
	unsigned int i;

	if (nvme_start_env(td) != 0) {
		return 1;
	}
	for_each_file(td, f, i) {
		if (nvme_setup_file(td, f, &t) != 0) {
			return 1;
		}
	}
	return 0;
}

static void nvme_td_free(struct nvme_td *nt)
{
	if (nt->job != NULL) {
		brisk_fio_nvme_job_destroy(nt->job);
	}
	free(nt->targets);
	free(nt->reqs);
	free(nt->events);
	free(nt);
}

static int nvme_open_targets(struct thread_data *td, struct nvme_td *nt)
{
	struct fio_file *f;
	unsigned int i;
	int rc;

	for_each_file(td, f, i) {
		if (brisk_fio_nvme_open(f->file_name, &nt->targets[i]) != 0) {
			log_err(ENGINE ": cannot open '%s' (see above)\n", f->file_name);
			return 1;
		}
	}
	nt->job = brisk_fio_nvme_job_create(nt->targets, td->files_index, td->o.iodepth, &rc);
	if (nt->job == NULL) {
		log_err(ENGINE ": job %s: no I/O queue pair: %s\n", td->o.name, strerror(-rc));
		return 1;
	}
	return 0;
}

static int nvme_init(struct thread_data *td)
{
	struct nvme_td *nt;

	if (nvme_start_env(td) != 0) {
		return 1;
	}
	nt = calloc(1, sizeof(*nt));
	if (nt == NULL) {
		return 1;
	}
	nt->targets = calloc(td->files_index, sizeof(*nt->targets));
	nt->reqs = calloc(td->o.iodepth, sizeof(*nt->reqs));
	nt->events = calloc(td->o.iodepth, sizeof(*nt->events));
	if (nt->targets == NULL || nt->reqs == NULL || nt->events == NULL ||
	    nvme_open_targets(td, nt) != 0) {
		nvme_td_free(nt);
		return 1;
	}
	td->io_ops_data = nt;
	return 0;
}

static void nvme_cleanup(struct thread_data *td)
{
	if (td->io_ops_data != NULL) {
		nvme_td_free(td->io_ops_data);
		td->io_ops_data = NULL;
	}
}

static int nvme_io_u_init(struct thread_data *td, struct io_u *io_u)
{
	struct brisk_fio_nvme_req *req = brisk_fio_nvme_req_alloc();

	if (req == NULL) {
		log_err(ENGINE ": out of Brisk memory for requests: raise spdk_mem\n");
		return 1;
	}
	req->cookie = io_u;
	io_u->engine_data = req;
	return 0;
}

static void nvme_io_u_free(struct thread_data *td, struct io_u *io_u)
{
	brisk_fio_nvme_req_free(io_u->engine_data);
	io_u->engine_data = NULL;
}

static int nvme_op(enum fio_ddir ddir, enum brisk_fio_nvme_op *op)
{
	switch (ddir) {
	case DDIR_READ:
		*op = BRISK_FIO_NVME_READ;
		return 0;
	case DDIR_WRITE:
		*op = BRISK_FIO_NVME_WRITE;
		return 0;
	case DDIR_TRIM:
		*op = BRISK_FIO_NVME_TRIM;
		return 0;
	case DDIR_SYNC:
	case DDIR_DATASYNC:
		*op = BRISK_FIO_NVME_FLUSH;
		return 0;
	default:
		return -EINVAL;
	}
}

static enum fio_q_status nvme_queue(struct thread_data *td, struct io_u *io_u)
{
	struct nvme_td *nt = td->io_ops_data;
	struct brisk_fio_nvme_req *req = io_u->engine_data;
	int rc;

	fio_ro_check(td, io_u);
	if (nvme_op(io_u->ddir, &req->op) != 0) {
		io_u->error = EINVAL;
		return FIO_Q_COMPLETED;
	}
	req->target = io_u->file->fileno;
	req->offset = io_u->offset;
	req->len = io_u->xfer_buflen;
	req->buf = io_u->xfer_buf;
	rc = brisk_fio_nvme_job_submit(nt->job, req);
	if (rc == -EAGAIN) {
		return FIO_Q_BUSY;
	}
	if (rc != 0) {
		io_u->error = -rc;
		return FIO_Q_COMPLETED;
	}
	return FIO_Q_QUEUED;
}

static int nvme_getevents(struct thread_data *td, unsigned int min, unsigned int max,
			  const struct timespec *t)
{
	struct nvme_td *nt = td->io_ops_data;
	uint32_t n = brisk_fio_nvme_job_reap(nt->job, nt->reqs, min, max, t);

	for (uint32_t i = 0; i < n; i++) {
		struct io_u *io_u = nt->reqs[i]->cookie;

		io_u->error = -nt->reqs[i]->status;
		nt->events[i] = io_u;
	}
	return (int)n;
}

static struct io_u *nvme_event(struct thread_data *td, int event)
{
	struct nvme_td *nt = td->io_ops_data;

	return nt->events[event];
}

/* Namespaces are reached through the job's qpairs, not per file. */
static int nvme_open_file(struct thread_data *td, struct fio_file *f)
{
	return 0;
}

static int nvme_close_file(struct thread_data *td, struct fio_file *f)
{
	return 0;
}

/* Exported for fio's dlsym("ioengine"). */
struct ioengine_ops ioengine = {
	.name = ENGINE,
	.version = FIO_IOOPS_VERSION,
	.flags = FIO_RAWIO | FIO_NOEXTEND | FIO_NODISKUTIL | FIO_MEMALIGN | FIO_DISKLESSIO,
	.setup = nvme_setup,
	.init = nvme_init,
	.queue = nvme_queue,
	.getevents = nvme_getevents,
	.event = nvme_event,
	.cleanup = nvme_cleanup,
	.open_file = nvme_open_file,
	.close_file = nvme_close_file,
	.iomem_alloc = brisk_fio_iomem_alloc,
	.iomem_free = brisk_fio_iomem_free,
	.io_u_init = nvme_io_u_init,
	.io_u_free = nvme_io_u_free,
	.option_struct_size = sizeof(struct nvme_options),
	.options = g_options,
};

/* fio unloads the engine after its last job: controllers detach, env ends. */
static void __attribute__((destructor)) nvme_engine_unload(void)
{
	brisk_fio_nvme_env_stop();
}
