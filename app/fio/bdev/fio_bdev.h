/*
 * The Brisk side of the brisk_bdev fio engine: the app framework running
 * inside fio's process (fio_bdev_env.c) and one Brisk thread per fio job that
 * carries the job's I/O to the bdev layer (fio_bdev_job.c). Nothing here
 * includes fio's headers: fio_bdev_engine.c translates fio's io_u to a
 * struct brisk_fio_req, so the two sets of headers never meet.
 */
#ifndef BRISK_FIO_BDEV_H
#define BRISK_FIO_BDEV_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <brisk/bdev.h>

/* Options that shape the process-wide env: the first job's count. */
struct brisk_fio_env_opts {
	const char *json_conf;    /* --spdk_json_conf / --brisk_json_conf */
	const char *reactor_mask; /* --reactor_mask; NULL = "0x1" */
	uint64_t mem_size_mb;     /* --spdk_mem / --mem_size_mb; 0 = default */
	bool no_huge;             /* --no_huge */
	const char *log_flags;    /* --log_flags: comma-separated */
};

/* Starts the app framework on its own OS thread with the JSON config and
 * waits until it runs (bdevs made, examine done). Once per process: later
 * calls return the first call's result, and -EINVAL (logged) if they ask for
 * another configuration. 0 or a negative errno. */
int brisk_fio_env_start(const struct brisk_fio_env_opts *opts);
/* Stops the framework and waits for its OS thread (at unload of the engine). */
void brisk_fio_env_stop(void);

struct brisk_fio_bdev_info {
	uint64_t size;        /* bytes */
	uint32_t block_size;
	bool unmap;           /* trim is possible */
	bool flush;
};
/* Looks name up on the app thread. -ENODEV: no such bdev; the names that do
 * exist are written to others (comma-separated, truncated to others_len). */
int brisk_fio_bdev_info(const char *name, struct brisk_fio_bdev_info *info, char *others,
			size_t others_len);

enum brisk_fio_op {
	BRISK_FIO_READ,
	BRISK_FIO_WRITE,
	BRISK_FIO_UNMAP,
	BRISK_FIO_FLUSH,
};

struct brisk_fio_job;

/* One I/O of a job: fio's io_u carries one for its whole life. */
struct brisk_fio_req {
	void *cookie;             /* the io_u */
	struct brisk_fio_job *job;
	enum brisk_fio_op op;
	uint32_t bdev_index;      /* into the job's names */
	uint64_t offset;          /* bytes */
	uint64_t len;
	void *buf;
	int status;               /* 0 or a negative errno, set at completion */
	struct brisk_bdev_io_wait_entry wait;
};

/* Creates the job's Brisk thread on the next reactor (round-robin), or with
 * inline_poll one that the calling OS thread (fio's job thread) polls
 * itself; opens every bdev for writing and gets its channels there. depth:
 * the most requests in flight. NULL with *rc set (the failure is logged). */
struct brisk_fio_job *brisk_fio_job_create(const char *const *names, uint32_t count,
					   uint32_t depth, bool inline_poll, int *rc);
/* From the fio job's OS thread: hands req to the job's Brisk thread. 0, or
 * -EAGAIN when the message ring is full (try after reaping). */
int brisk_fio_job_submit(struct brisk_fio_job *job, struct brisk_fio_req *req);
/* Takes completed requests into reqs (at most max), waiting until at least
 * min have completed or timeout (NULL = no limit) has passed. Returns how many. */
uint32_t brisk_fio_job_reap(struct brisk_fio_job *job, struct brisk_fio_req **reqs, uint32_t min,
			    uint32_t max, const struct timespec *timeout);
/* Closes the bdevs on the job's thread, ends that thread and frees job.
 * Every request must have been reaped. */
void brisk_fio_job_destroy(struct brisk_fio_job *job);

#endif
