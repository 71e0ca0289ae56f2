/*
 * Shared pieces of the Brisk fio engines: the thread=1 check and I/O
 * buffers from Brisk's heap (fio_common.h).
 */
#include <errno.h>
#include <string.h>

#include <brisk/env.h>

#include "fio_common.h"

/* fio's buffers are split per io_u at page (or mem_align) boundaries. */
#define IOMEM_ALIGN 4096

int brisk_fio_require_thread(struct thread_data *td, const char *engine)
{
	if (td->o.use_thread) {
		return 0;
	}
	log_err("%s: fio must run the jobs as threads of one process: add --thread=1 "
		"(thread=1 in a job file)\n", engine);
	return 1;
}

int brisk_fio_iomem_alloc(struct thread_data *td, size_t total)
{
	td->orig_buffer = brisk_dma_malloc(total, IOMEM_ALIGN, NULL);
	if (td->orig_buffer == NULL) {
		log_err("brisk: cannot allocate %zu bytes of I/O buffers from the Brisk heap (%s): "
			"raise spdk_mem/mem_size_mb\n", total, strerror(errno));
		return 1;
	}
	return 0;
}

void brisk_fio_iomem_free(struct thread_data *td)
{
	brisk_free(td->orig_buffer);
	td->orig_buffer = NULL;
}
