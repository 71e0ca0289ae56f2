/*
 * JSON-RPC methods for env memory: env_get_mem_stats (Brisk's own: the
 * reservation, what it grew to, heaps, memzones, mempools as JSON) and
 * SPDK's env_dpdk_get_mem_stats (writes the same as text to a file and
 * answers its name, as SPDK documents: {"filename": ...}).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <brisk/env.h>
#include <brisk/json.h>
#include <brisk/log.h>
#include <brisk/mempool.h>
#include <brisk/rpc.h>

#define ANY_STATE (BRISK_RPC_STARTUP | BRISK_RPC_RUNTIME)

static json_t *memory_json(void)
{
	struct brisk_env_mem_info info;

	if (brisk_env_get_mem_info(&info) != 0) {
		return json_object();
	}
	return json_pack("{s:I, s:I, s:I, s:i, s:i, s:I, s:b}", "reserved_bytes", (json_int_t)info.reserved_bytes,
			 "total_bytes", (json_int_t)info.total_bytes, "max_bytes", (json_int_t)info.max_bytes,
			 "grow_count", (int)info.grow_count, "num_segments", (int)info.num_segments, "page_size",
			 (json_int_t)info.page_size, "hugepages", info.hugepages);
}

/* ---- env_get_mem_stats ---- */

static int add_memzone(const struct brisk_memzone_info *info, void *ctx)
{
	json_array_append_new(ctx, json_pack("{s:s, s:I, s:i}", "name", info->name, "len", (json_int_t)info->len,
					     "socket_id", info->socket_id));
	return 0;
}

static void add_mempool(struct brisk_mempool *mp, void *ctx)
{
	json_array_append_new(ctx, json_pack("{s:s, s:I, s:I, s:I, s:I}", "name", mp->name, "count",
					     (json_int_t)brisk_mempool_get_count(mp), "avail",
					     (json_int_t)brisk_mempool_avail_count(mp), "in_use",
					     (json_int_t)brisk_mempool_in_use_count(mp), "elt_size",
					     (json_int_t)mp->elt_size));
}

static void env_get_mem_stats(struct brisk_jsonrpc_request *req, const json_t *params)
{
	json_t *heaps, *memzones, *mempools;

	if (!brisk_jsonrpc_decode_params(req, params, NULL, 0, NULL)) {
		return;
	}
	heaps = json_array();
	for (int socket = 0; socket < BRISK_ENV_MAX_NUMA_NODES; socket++) {
		struct brisk_heap_stats s;

		if (brisk_malloc_get_heap_stats(socket, &s) != 0) {
			continue;
		}
		json_array_append_new(heaps,
				      json_pack("{s:i, s:I, s:I, s:I, s:I, s:I, s:I}", "socket_id", s.socket_id,
						"total_bytes", (json_int_t)s.total_bytes, "free_bytes",
						(json_int_t)s.free_bytes, "alloc_bytes", (json_int_t)s.alloc_bytes,
						"greatest_free_size", (json_int_t)s.greatest_free_size, "alloc_count",
						(json_int_t)s.alloc_count, "free_count", (json_int_t)s.free_count));
	}
	memzones = json_array();
	brisk_memzone_walk(add_memzone, memzones);
	mempools = json_array();
	brisk_mempool_walk(add_mempool, mempools);
	brisk_jsonrpc_send_result(req, json_pack("{s:o, s:o, s:o, s:o}", "memory", memory_json(), "heaps", heaps,
						 "memzones", memzones, "mempools", mempools));
}
BRISK_RPC_REGISTER("env_get_mem_stats", env_get_mem_stats, ANY_STATE)

/* ---- env_dpdk_get_mem_stats ---- */

static void dump_mempool(struct brisk_mempool *mp, void *ctx) { brisk_mempool_dump(ctx, mp); }

static void dump_memory(FILE *f)
{
	struct brisk_env_mem_info info;

	if (brisk_env_get_mem_info(&info) == 0) {
		fprintf(f,
			"memory: reserved %" PRIu64 " MiB, now %" PRIu64 " MiB (grew %u times), "
			"up to %" PRIu64 " MiB, %u segment(s) of %" PRIu64 " KiB %s pages\n",
			info.reserved_bytes >> 20, info.total_bytes >> 20, info.grow_count, info.max_bytes >> 20,
			info.num_segments, info.page_size >> 10, info.hugepages ? "huge" : "ordinary");
	}
	brisk_malloc_dump_stats(f);
	brisk_memzone_dump(f);
	brisk_mempool_walk(dump_mempool, f);
}

/* The dump goes to a per-process file (several targets may run): its name is
 * in the answer, which is all SPDK's client reads. O_NOFOLLOW: /tmp is shared. */
static void env_dpdk_get_mem_stats(struct brisk_jsonrpc_request *req, const json_t *params)
{
	char path[64];
	FILE *f;
	int fd;

	if (!brisk_jsonrpc_decode_params(req, params, NULL, 0, NULL)) {
		return;
	}
	snprintf(path, sizeof(path), "/tmp/brisk_mem_dump_%d.txt", (int)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL) {
		int err = errno;

		if (fd >= 0) {
			close(fd);
		}
		brisk_jsonrpc_send_error_response_fmt(req, BRISK_JSONRPC_ERROR_INTERNAL_ERROR, "cannot write %s: %s",
						      path, strerror(err));
		return;
	}
	dump_memory(f);
	fclose(f);
	brisk_jsonrpc_send_result(req, json_pack("{s:s}", "filename", path));
}
BRISK_RPC_REGISTER("env_dpdk_get_mem_stats", env_dpdk_get_mem_stats, ANY_STATE)
