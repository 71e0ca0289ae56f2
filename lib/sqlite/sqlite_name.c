/*
 * Names for the brisk VFS. SQLite works with paths ("/dir/app.db", then
 * "-journal", "-wal" appended); blobfs has a flat namespace whose names may
 * not hold '/'. A path is made canonical as the unix VFS makes it (a relative
 * path starts at the current directory, "." and ".." resolved), so "app.db"
 * and "$PWD/app.db" are one database, and then escaped into one name, '%' as
 * "%25" and '/' as "%2F", so every path maps to one name and back.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sqlite_internal.h"

/* Drops the last component of out[0..*len). */
static void path_pop(char *out, int *len)
{
	while (*len > 1 && out[*len - 1] != '/') {
		(*len)--;
	}
	if (*len > 1) {
		(*len)--;
	}
	out[*len] = '\0';
}

/* Appends "/seg" (seg_len bytes) to out, resolving "." and "..". */
static int path_push(char *out, int *len, int out_len, const char *seg, int seg_len)
{
	if (seg_len == 0 || (seg_len == 1 && seg[0] == '.')) {
		return 0;
	}
	if (seg_len == 2 && seg[0] == '.' && seg[1] == '.') {
		path_pop(out, len);
		return 0;
	}
	int sep = (*len == 1) ? 0 : 1;
	if (*len + sep + seg_len >= out_len) {
		return -ENAMETOOLONG;
	}
	if (sep) {
		out[(*len)++] = '/';
	}
	memcpy(out + *len, seg, seg_len);
	*len += seg_len;
	out[*len] = '\0';
	return 0;
}

/* Appends every component of in to out. */
static int path_push_all(char *out, int *len, int out_len, const char *in)
{
	while (*in) {
		const char *end = strchr(in, '/');
		int seg_len = end ? (int)(end - in) : (int)strlen(in);
		int rc = path_push(out, len, out_len, in, seg_len);

		if (rc) {
			return rc;
		}
		in += seg_len + (end ? 1 : 0);
	}
	return 0;
}

int brisk_sqlite_full_path(const char *in, char *out, int out_len)
{
	char cwd[BRISK_SQLITE_MAX_PATH];
	int len = 1, rc = 0;

	if (out_len < 2) {
		return -ENAMETOOLONG;
	}
	out[0] = '/';
	out[1] = '\0';
	if (in[0] != '/') {
		rc = getcwd(cwd, sizeof(cwd)) ? path_push_all(out, &len, out_len, cwd) : -errno;
	}
	return rc ? rc : path_push_all(out, &len, out_len, in);
}

int brisk_sqlite_fs_name(const char *path, char *out, size_t out_len)
{
	size_t n = 0;

	while (*path == '/') {
		path++;
	}
	for (; *path; path++) {
		const char *put = NULL;
		char one[2] = { *path, '\0' };

		put = (*path == '/') ? "%2F" : (*path == '%') ? "%25" : one;
		size_t plen = strlen(put);
		if (n + plen > BRISK_BLOBFS_NAME_MAX || n + plen >= out_len) {
			return -ENAMETOOLONG;
		}
		memcpy(out + n, put, plen);
		n += plen;
	}
	if (n == 0) {
		return -EINVAL;
	}
	out[n] = '\0';
	return 0;
}

/* Temp files get a name no other open can collide with; they are deleted
 * right after their open, so a crash leaves nothing behind (blobfs finishes
 * the delete at the next load). */
void brisk_sqlite_temp_name(char *out, size_t out_len)
{
	static uint64_t counter;
	uint64_t rnd;

	sqlite3_randomness(sizeof(rnd), &rnd);
	snprintf(out, out_len, "/etilqs_brisk_%d_%llu_%016llx", (int)getpid(),
		 (unsigned long long)__atomic_fetch_add(&counter, 1, __ATOMIC_SEQ_CST), (unsigned long long)rnd);
}
