/*
 * Pieces both Brisk fio engines share (brisk_bdev, brisk_nvme): the check
 * that fio runs jobs as threads, and I/O buffers from Brisk's DMA-safe heap.
 * Includes fio's headers: only the engines' fio-facing files use it.
 */
#ifndef BRISK_FIO_COMMON_H
#define BRISK_FIO_COMMON_H

#include <stddef.h>

#include "fio.h"

/* 0, or 1 (logged) when fio would fork a process per job: the engines keep
 * one Brisk env per process, shared by the jobs. */
int brisk_fio_require_thread(struct thread_data *td, const char *engine);

/* ioengine_ops.iomem_alloc / iomem_free: fio's I/O buffers from the Brisk
 * heap, so devices can DMA into them (needs the env started). */
int brisk_fio_iomem_alloc(struct thread_data *td, size_t total);
void brisk_fio_iomem_free(struct thread_data *td);

#endif
