/*
 * The Brisk side of the brisk_nvme fio engine (no fio headers here; see
 * fio_nvme_engine.c for the fio side). Like SPDK's NVMe plugin, there are
 * no reactors: each fio job owns one I/O queue pair per controller and
 * submits and polls it from its own OS thread (a qpair is used by one thread
 * at a time, and the driver takes no lock on the I/O path).
 *   fio_nvme_env.c   env, controllers attached once and shared by the jobs
 *   fio_nvme_job.c   a job's qpairs, submission and polling
 */
#ifndef BRISK_FIO_NVME_H
#define BRISK_FIO_NVME_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <brisk/nvme.h>

struct brisk_fio_nvme_env_opts {
	uint64_t mem_size_mb; /* 0 = Brisk's default */
	bool no_huge;
};

/* brisk_env_init once per process; later calls return the first result and
 * refuse (-EINVAL, logged) other settings. 0 or a negative errno. */
int brisk_fio_nvme_env_start(const struct brisk_fio_nvme_env_opts *opts);
/* Detaches every controller and ends the env (at unload of the engine). */
void brisk_fio_nvme_env_stop(void);

/* One fio file: a namespace of a controller. */
struct brisk_fio_nvme_target {
	struct brisk_nvme_ctrlr *ctrlr;
	struct brisk_nvme_ns *ns;
	uint32_t sector_size;
	uint64_t size;   /* bytes */
	bool dsm;        /* trim possible (Dataset Management) */
	bool flush;      /* volatile write cache: flush does something */
};

/* Parses a filename as SPDK's NVMe plugin spells it ("trtype=PCIe
 * traddr=0000.00.04.0 ns=1", TCP IDs with adrfam, traddr, trsvcid, subnqn),
 * attaches the controller unless an earlier file did, and finds the
 * namespace. 0 or a negative errno, the reason logged. */
int brisk_fio_nvme_open(const char *filename, struct brisk_fio_nvme_target *target);

enum brisk_fio_nvme_op {
	BRISK_FIO_NVME_READ,
	BRISK_FIO_NVME_WRITE,
	BRISK_FIO_NVME_TRIM,
	BRISK_FIO_NVME_FLUSH,
};

struct brisk_fio_nvme_job;

struct brisk_fio_nvme_req {
	void *cookie;             /* the io_u */
	struct brisk_fio_nvme_job *job;
	enum brisk_fio_nvme_op op;
	uint32_t target;          /* index into the job's targets */
	uint64_t offset;          /* bytes */
	uint64_t len;
	void *buf;                /* DMA-able (fio's buffers come from brisk_dma_malloc) */
	int status;               /* 0 or a negative errno */
	struct brisk_nvme_dsm_range range; /* trim: must live until completion */
};

/* Requests live in DMA-able memory (a trim's range is the command's data). */
struct brisk_fio_nvme_req *brisk_fio_nvme_req_alloc(void);
void brisk_fio_nvme_req_free(struct brisk_fio_nvme_req *req);

/* A qpair per distinct controller of targets. NULL with *rc set (logged). */
struct brisk_fio_nvme_job *brisk_fio_nvme_job_create(const struct brisk_fio_nvme_target *targets,
						     uint32_t count, uint32_t depth, int *rc);
/* 0, -EAGAIN (queue full: reap first) or another negative errno (bad I/O). */
int brisk_fio_nvme_job_submit(struct brisk_fio_nvme_job *job, struct brisk_fio_nvme_req *req);
/* Polls the job's qpairs until min requests completed or timeout passed. */
uint32_t brisk_fio_nvme_job_reap(struct brisk_fio_nvme_job *job, struct brisk_fio_nvme_req **reqs,
				 uint32_t min, uint32_t max, const struct timespec *timeout);
/* Frees the qpairs (every request reaped first). */
void brisk_fio_nvme_job_destroy(struct brisk_fio_nvme_job *job);

#endif
