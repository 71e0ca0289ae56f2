/* Operation contexts from a pool taken at load (see blobfs_internal.h):
 * a free list threaded through the free blocks, used on the file system's
 * thread only, so it needs no atomics. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blobfs_internal.h"

int blobfs_op_pool_init(struct brisk_blobfs *fs)
{
	fs->op_mem = malloc((size_t)BLOBFS_OP_POOL * BLOBFS_OP_MEM);
	if (fs->op_mem == NULL) {
		return -ENOMEM;
	}
	fs->op_free = NULL;
	for (size_t i = 0; i < BLOBFS_OP_POOL; i++) {
		void *b = fs->op_mem + i * BLOBFS_OP_MEM;

		*(void **)b = fs->op_free;
		fs->op_free = b;
	}
	return 0;
}

void blobfs_op_pool_fini(struct brisk_blobfs *fs)
{
	free(fs->op_mem);
	fs->op_mem = NULL;
	fs->op_free = NULL;
}

void *blobfs_op_mem_get(struct brisk_blobfs *fs)
{
	void *b = fs->op_free;

	if (b == NULL) {
		return calloc(1, BLOBFS_OP_MEM);
	}
	fs->op_free = *(void **)b;
	memset(b, 0, BLOBFS_OP_MEM);
	return b;
}

static bool from_pool(struct brisk_blobfs *fs, void *mem)
{
	uint8_t *p = mem;

	return fs->op_mem != NULL && p >= fs->op_mem &&
	       p < fs->op_mem + (size_t)BLOBFS_OP_POOL * BLOBFS_OP_MEM;
}

void blobfs_op_mem_put(struct brisk_blobfs *fs, void *mem)
{
	if (!from_pool(fs, mem)) {
		free(mem);
		return;
	}
	*(void **)mem = fs->op_free;
	fs->op_free = mem;
}
