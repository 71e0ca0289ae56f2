/*
 * Multi-process memory: how a primary claims a shared-memory id and how a
 * secondary finds and maps the primary's segments.
 *
 *   /dev/shm/brisk_<prefix>_<shm_id>_lock   held with flock(LOCK_EX) by the
 *       live primary for its whole life (the kernel drops it when the process
 *       dies, however it dies); its contents list the segment files, one path
 *       a line, segment 0 first.
 *   segment files  <hugedir>/<prefix>_<shm_id>_seg<N> (hugepages) or
 *       /dev/shm/brisk_<prefix>_<shm_id>_seg<N>; segment 0 starts with
 *       struct env_shared, whose magic the primary sets last.
 *
 * A primary that gets the lock removes what a dead predecessor left, then
 * creates fresh segments. A secondary checks that the lock is held (a live
 * primary), reads struct env_shared from segment 0 with pread, waits for the
 * magic if the primary is still starting, then maps every segment at the
 * address recorded there.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <brisk/env.h>
#include <brisk/log.h>

#include "env_internal.h"
#include "memory.h"

static void
lock_path_of(const struct mem_config *cfg, char *buf, size_t len)
{
	env_path_printf(buf, len, "%s/brisk_%s_%d_lock", ENV_SHM_DIR, cfg->prefix, cfg->shm_id);
}

/* After taking the lock: is the path still this file? A primary shutting
 * down unlinks the lock file before it lets go of the lock. */
static bool
lock_file_is_current(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/*
 * Takes the lock without waiting, retrying briefly while it is busy: a
 * secondary probing for a live primary (read_primary_header) holds a shared
 * lock for a few microseconds, which must not pass for a running primary.
 * 0 (locked), -EWOULDBLOCK (held: a live primary) or -errno.
 */
static int
try_lock(int fd)
{
	int i;

	for (i = 0; i < 10; i++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			return 0;
		}
		if (errno != EWOULDBLOCK) {
			return -errno;
		}
		usleep(2000);
	}
	return -EWOULDBLOCK;
}

int
env_shared_lock(const struct mem_config *cfg, enum brisk_proc_type type,
		enum brisk_proc_type *result)
{
	int fd, attempt, rc;

	lock_path_of(cfg, g_env_mem.lock_path, sizeof(g_env_mem.lock_path));
	if (type == BRISK_PROC_SECONDARY) {
		*result = BRISK_PROC_SECONDARY;
		return 0;
	}
	for (attempt = 0; attempt < 5; attempt++) {
		fd = open(g_env_mem.lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0) {
			rc = -errno;
			BRISK_ERRLOG("cannot open lock file %s: %s\n", g_env_mem.lock_path, strerror(-rc));
			return rc;
		}
		rc = try_lock(fd);
		if (rc == 0) {
			if (!lock_file_is_current(fd, g_env_mem.lock_path)) {
				close(fd);
				continue;
			}
			g_env_mem.lock_fd = fd;
			*result = BRISK_PROC_PRIMARY;
			return 0;
		}
		close(fd);
		if (rc != -EWOULDBLOCK) {
			BRISK_ERRLOG("cannot lock %s: %s\n", g_env_mem.lock_path, strerror(-rc));
			return rc;
		}
		if (type == BRISK_PROC_PRIMARY) {
			BRISK_ERRLOG("shm_id %d (shm_prefix '%s'): a primary process is already "
				     "running (it holds %s)\n", cfg->shm_id, cfg->prefix,
				     g_env_mem.lock_path);
			return -EEXIST;
		}
		*result = BRISK_PROC_SECONDARY;
		return 0;
	}
	BRISK_ERRLOG("cannot take %s: it keeps being replaced\n", g_env_mem.lock_path);
	return -EBUSY;
}

/* Reads the lock file's segment list into buf (NUL-terminated); bytes read. */
static ssize_t
read_lock_contents(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);

	if (n < 0) {
		n = 0;
	}
	buf[n] = '\0';
	return n;
}

static bool
is_our_segment_name(const struct mem_config *cfg, const char *base)
{
	char a[ENV_PATH_MAX], b[ENV_PATH_MAX];
	int i;

	for (i = 0; i < ENV_MAX_SEGMENTS; i++) {
		env_path_printf(a, sizeof(a), "%s_%d_seg%d", cfg->prefix, cfg->shm_id, i);
		env_path_printf(b, sizeof(b), "brisk_%s_%d_seg%d", cfg->prefix, cfg->shm_id, i);
		if (strcmp(base, a) == 0 || strcmp(base, b) == 0) {
			return true;
		}
	}
	return false;
}

static void
remove_stale_file(const char *path)
{
	if (unlink(path) == 0) {
		BRISK_NOTICELOG("removed %s, left by a primary process that died\n", path);
	}
}

void
env_shared_remove_stale(const struct mem_config *cfg)
{
	char list[ENV_MAX_SEGMENTS * ENV_PATH_MAX + 1], path[ENV_PATH_MAX + 64];
	char *line, *save = NULL, *base;
	int i;

	/* Files the last primary listed, wherever its hugepage mount was. */
	read_lock_contents(g_env_mem.lock_fd, list, sizeof(list));
	for (line = strtok_r(list, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		base = strrchr(line, '/');
		if (base != NULL && is_our_segment_name(cfg, base + 1)) {
			remove_stale_file(line);
		}
	}
	/* And any a primary left before it got to list them. */
	for (i = 0; i < ENV_MAX_SEGMENTS; i++) {
		if (cfg->huge_dir[0] != '\0') {
			env_path_printf(path, sizeof(path), "%s/%s_%d_seg%d", cfg->huge_dir,
					cfg->prefix, cfg->shm_id, i);
			remove_stale_file(path);
		}
		env_path_printf(path, sizeof(path), "%s/brisk_%s_%d_seg%d", ENV_SHM_DIR,
				cfg->prefix, cfg->shm_id, i);
		remove_stale_file(path);
	}
	if (ftruncate(g_env_mem.lock_fd, 0) != 0) {
		BRISK_WARNLOG("cannot truncate %s: %s\n", g_env_mem.lock_path, strerror(errno));
	}
}

int
env_shared_announce(void)
{
	char list[ENV_MAX_SEGMENTS * (ENV_PATH_MAX + 1) + 1];
	size_t n = 0;
	int i, rc;

	list[0] = '\0';
	for (i = 0; i < g_env_mem.num_segments; i++) {
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s\n", g_env_mem.segs[i].path);
	}
	if (ftruncate(g_env_mem.lock_fd, 0) != 0 || pwrite(g_env_mem.lock_fd, list, n, 0) != (ssize_t)n) {
		rc = -errno;
		BRISK_ERRLOG("cannot write %s: %s\n", g_env_mem.lock_path, strerror(-rc));
		return rc != 0 ? rc : -EIO;
	}
	return 0;
}

void
env_shared_unlock(void)
{
	if (g_env_mem.lock_fd < 0) {
		return;
	}
	/* Unlink first, unlock last: whoever takes the lock next checks that the
	 * path still names the file it locked (lock_file_is_current). */
	unlink(g_env_mem.lock_path);
	close(g_env_mem.lock_fd);
	g_env_mem.lock_fd = -1;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * One look at the primary: -ENOENT (none alive), -EAGAIN (still starting),
 * or 0 with hdr read from segment 0.
 */
static int
read_primary_header(const struct mem_config *cfg, struct env_shared *hdr)
{
	char list[ENV_MAX_SEGMENTS * ENV_PATH_MAX + 1];
	char *nl;
	int fd, seg_fd;
	ssize_t n;

	fd = open(g_env_mem.lock_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		BRISK_ERRLOG("shm_id %d (shm_prefix '%s'): no primary process (%s: %s)\n",
			     cfg->shm_id, cfg->prefix, g_env_mem.lock_path, strerror(errno));
		return -ENOENT;
	}
	/* A shared lock is only granted while no primary holds its exclusive one. */
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		close(fd);
		BRISK_ERRLOG("shm_id %d (shm_prefix '%s'): no primary process is running (%s "
			     "is not locked)\n", cfg->shm_id, cfg->prefix, g_env_mem.lock_path);
		return -ENOENT;
	}
	read_lock_contents(fd, list, sizeof(list));
	close(fd);
	nl = strchr(list, '\n');
	if (nl == NULL) {
		return -EAGAIN; /* not announced yet */
	}
	*nl = '\0';
	seg_fd = open(list, O_RDONLY | O_CLOEXEC);
	if (seg_fd < 0) {
		return -EAGAIN;
	}
	n = pread(seg_fd, hdr, sizeof(*hdr), 0);
	close(seg_fd);
	if (n != (ssize_t)sizeof(*hdr) || hdr->magic != ENV_SHARED_MAGIC) {
		return -EAGAIN;
	}
	/* Files of a primary that died are listed until the new primary, which
	 * holds the lock now, replaces them: wait for its own. */
	if (kill(hdr->primary_pid, 0) != 0 && errno == ESRCH) {
		return -EAGAIN;
	}
	return 0;
}

static int
check_primary_header(const struct env_shared *hdr)
{
	const struct env_segment *s;
	uint32_t i;

	if (hdr->version != ENV_SHARED_VERSION) {
		BRISK_ERRLOG("the primary's shared memory has layout version %u, this program "
			     "expects %u: build both from the same sources\n", hdr->version,
			     ENV_SHARED_VERSION);
		return -EPROTO;
	}
	if (hdr->num_segments == 0 || hdr->num_segments > ENV_MAX_SEGMENTS) {
		BRISK_ERRLOG("the primary's shared memory lists %u segments\n", hdr->num_segments);
		return -EPROTO;
	}
	for (i = 0; i < hdr->num_segments; i++) {
		s = &hdr->segments[i];
		if (s->len == 0 || (s->va % BRISK_MEM_MAP_PAGE_SIZE) != 0 || (s->len % BRISK_MEM_MAP_PAGE_SIZE) != 0 ||
		    s->span < s->len || (s->span % BRISK_MEM_MAP_PAGE_SIZE) != 0 ||
		    memchr(s->path, '\0', sizeof(s->path)) == NULL || s->path[0] != '/') {
			BRISK_ERRLOG("the primary's shared memory has a malformed segment %u\n", i);
			return -EPROTO;
		}
	}
	return 0;
}

int
env_shared_attach(const struct mem_config *cfg)
{
	struct env_shared hdr;
	uint64_t deadline = now_ms() + ENV_ATTACH_TIMEOUT_MS;
	struct env_shared *sh;
	uint32_t i;
	int rc;

	for (;;) {
		rc = read_primary_header(cfg, &hdr);
		if (rc != -EAGAIN) {
			break;
		}
		if (now_ms() > deadline) {
			BRISK_ERRLOG("shm_id %d (shm_prefix '%s'): the primary process did not finish "
				     "starting within %d ms\n", cfg->shm_id, cfg->prefix,
				     ENV_ATTACH_TIMEOUT_MS);
			return -ETIMEDOUT;
		}
		usleep(5000);
	}
	if (rc != 0) {
		return rc;
	}
	rc = check_primary_header(&hdr);
	if (rc != 0) {
		return rc;
	}
	for (i = 0; i < hdr.num_segments; i++) {
		rc = env_memory_map_segment(&hdr.segments[i], (int)i);
		if (rc != 0) {
			return rc;
		}
	}
	sh = (struct env_shared *)(uintptr_t)hdr.segments[0].va;
	/* Acquire pairs with env_memory_publish: heaps and memzones are complete. */
	if (__atomic_load_n(&sh->magic, __ATOMIC_ACQUIRE) != ENV_SHARED_MAGIC) {
		BRISK_ERRLOG("shm_id %d (shm_prefix '%s'): the primary process exited while this "
			     "one attached\n", cfg->shm_id, cfg->prefix);
		return -ENOENT;
	}
	g_env_shared = sh;
	BRISK_INFOLOG("attached to primary pid %d: %u segments, %s\n", sh->primary_pid,
		      sh->num_segments, sh->hugepages ? "hugepages" : "ordinary pages");
	return 0;
}
