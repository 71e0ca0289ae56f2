/*
 * blobfs: look inside and fill a blobfs from the shell.
 *   blobfs (-c CONFIG -b BDEV | -f FILE) COMMAND [ARGS]
 * mkfs, ls, stat NAME, import LOCAL NAME, export NAME LOCAL, rm NAME,
 * mv OLD NEW, check. Runs the file system embedded (brisk_blobfs_embed_*):
 * no target process, no RPC socket. -f FILE is a shorthand for a config
 * with one bdev_aio_create on FILE.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <brisk/blobfs.h>

#define IO_CHUNK (1024 * 1024)

struct cli {
	const char *config, *bdev, *file;
	char tmp_config[64];
	uint64_t cache_mb;
	bool verbose;
	struct brisk_blobfs_sync_ctx *ctx;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: blobfs (-c CONFIG -b BDEV | -f FILE) [options] COMMAND [ARGS]\n"
		"  -c, --config PATH    JSON config creating the bdev (SPDK's shape)\n"
		"  -b, --bdev NAME      bdev holding the blobfs\n"
		"  -f, --file PATH      a file (or block device) as an aio bdev named blobfs0\n"
		"  --cache-size MIB     cache size (default %llu)\n"
		"  -v, --verbose        log notices and warnings\n"
		"  -h, --help           this text\n"
		"commands:\n"
		"  mkfs                 write a new, empty blobfs (erases the bdev's store)\n"
		"  ls                   list files with their sizes\n"
		"  stat NAME            size, allocated bytes and blob id of a file\n"
		"  import LOCAL NAME    copy a local file in (replaces NAME)\n"
		"  export NAME LOCAL    copy a file out\n"
		"  rm NAME              delete a file\n"
		"  mv OLD NEW           rename a file (replaces NEW)\n"
		"  check                verify the store's metadata; exit 1 on a problem\n",
		BRISK_BLOBFS_DEFAULT_CACHE_SIZE / (1024 * 1024));
}

/* -f FILE: a one-call config in a private temporary file. */
static int write_file_config(struct cli *c)
{
	char *abs = realpath(c->file, NULL); /* the aio bdev takes absolute paths only */
	FILE *f;
	int fd;

	if (abs == NULL) {
		fprintf(stderr, "blobfs: -f '%s': %s\n", c->file, strerror(errno));
		return -1;
	}
	c->file = abs; /* kept until exit */

	snprintf(c->tmp_config, sizeof(c->tmp_config), "/tmp/blobfs_cli_XXXXXX");
	fd = mkstemp(c->tmp_config);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		perror("blobfs: temporary config");
		return -1;
	}
	fprintf(f, "{\"subsystems\":[{\"subsystem\":\"bdev\",\"config\":[{\"method\":"
		"\"bdev_aio_create\",\"params\":{\"name\":\"blobfs0\",\"filename\":");
	fputc('"', f);
	for (const char *p = c->file; *p; p++) {
		if (*p == '"' || *p == '\\') {
			fputc('\\', f);
		}
		fputc(*p, f);
	}
	fprintf(f, "\",\"block_size\":512}}]}]}\n");
	fclose(f);
	c->config = c->tmp_config;
	c->bdev = "blobfs0";
	return 0;
}

static int parse_args(int argc, char **argv, struct cli *c)
{
	static const struct option longs[] = {
		{"config", required_argument, NULL, 'c'}, {"bdev", required_argument, NULL, 'b'},
		{"file", required_argument, NULL, 'f'}, {"cache-size", required_argument, NULL, 'C'},
		{"verbose", no_argument, NULL, 'v'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;
	char *end;

	while ((ch = getopt_long(argc, argv, "+c:b:f:vh", longs, NULL)) != -1) {
		switch (ch) {
		case 'c': c->config = optarg; break;
		case 'b': c->bdev = optarg; break;
		case 'f': c->file = optarg; break;
		case 'v': c->verbose = true; break;
		case 'h': usage(stdout); exit(0);
		case 'C':
			c->cache_mb = strtoull(optarg, &end, 10);
			if (*end != '\0' || c->cache_mb == 0) {
				fprintf(stderr, "blobfs: --cache-size '%s' is not a number of MiB\n", optarg);
				return -1;
			}
			break;
		default: usage(stderr); return -1;
		}
	}
	if (optind >= argc || (c->file == NULL && c->bdev == NULL)) {
		fprintf(stderr, "blobfs: need -f FILE or -b BDEV, and a command (--help)\n");
		return -1;
	}
	return 0;
}

static int report_errno(const char *what, const char *name, int64_t rc)
{
	fprintf(stderr, "blobfs: %s '%s': %s\n", what, name, strerror((int)-rc));
	return 1;
}

static int cmd_ls(struct cli *c)
{
	struct brisk_blobfs_stat st;
	char **names;
	size_t n;
	int rc = brisk_blobfs_sync_list(c->ctx, &names, &n);

	if (rc != 0) {
		return report_errno("ls", "", rc);
	}
	for (size_t i = 0; i < n; i++) {
		if (brisk_blobfs_sync_stat(c->ctx, names[i], &st) == 0) {
			printf("%12" PRIu64 "  %s\n", st.size, names[i]);
		}
	}
	brisk_blobfs_free_names(names, n);
	return 0;
}

static int cmd_stat(struct cli *c, const char *name)
{
	struct brisk_blobfs_stat st;
	int rc = brisk_blobfs_sync_stat(c->ctx, name, &st);

	if (rc != 0) {
		return report_errno("stat", name, rc);
	}
	printf("name: %s\nsize: %" PRIu64 "\nallocated: %" PRIu64 "\nblobid: 0x%" PRIx64 "\n",
	       name, st.size, st.allocated, (uint64_t)st.blobid);
	return 0;
}

static int import_copy(struct cli *c, FILE *in, struct brisk_blobfs_file *f, const char *name)
{
	static char buf[IO_CHUNK];
	uint64_t off = 0;
	size_t n;
	int64_t rc;

	while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
		rc = brisk_blobfs_sync_write(c->ctx, f, buf, off, n);
		if (rc != (int64_t)n) {
			return report_errno("write", name, rc < 0 ? rc : -EIO);
		}
		off += n;
	}
	if (ferror(in)) {
		fprintf(stderr, "blobfs: reading the local file failed\n");
		return 1;
	}
	rc = brisk_blobfs_sync_truncate(c->ctx, f, off);
	if (rc == 0) {
		rc = brisk_blobfs_sync_sync(c->ctx, f);
	}
	return rc != 0 ? report_errno("sync", name, rc) : 0;
}

static int cmd_import(struct cli *c, const char *local, const char *name)
{
	struct brisk_blobfs_file *f;
	FILE *in = fopen(local, "rb");
	int rc, ret;

	if (in == NULL) {
		fprintf(stderr, "blobfs: cannot open '%s': %s\n", local, strerror(errno));
		return 1;
	}
	rc = brisk_blobfs_sync_open(c->ctx, name, BRISK_BLOBFS_OPEN_CREATE, &f);
	if (rc != 0) {
		fclose(in);
		return report_errno("open", name, rc);
	}
	ret = import_copy(c, in, f, name);
	fclose(in);
	rc = brisk_blobfs_sync_close(c->ctx, f);
	return ret != 0 ? ret : (rc != 0 ? report_errno("close", name, rc) : 0);
}

static int export_copy(struct cli *c, struct brisk_blobfs_file *f, FILE *out, const char *name)
{
	static char buf[IO_CHUNK];
	uint64_t off = 0;
	int64_t n;

	while ((n = brisk_blobfs_sync_read(c->ctx, f, buf, off, sizeof(buf))) > 0) {
		if (fwrite(buf, 1, (size_t)n, out) != (size_t)n) {
			fprintf(stderr, "blobfs: writing the local file failed\n");
			return 1;
		}
		off += (uint64_t)n;
	}
	return n < 0 ? report_errno("read", name, n) : 0;
}

static int cmd_export(struct cli *c, const char *name, const char *local)
{
	struct brisk_blobfs_file *f;
	FILE *out;
	int rc = brisk_blobfs_sync_open(c->ctx, name, 0, &f), ret;

	if (rc != 0) {
		return report_errno("open", name, rc);
	}
	out = fopen(local, "wb");
	if (out == NULL) {
		fprintf(stderr, "blobfs: cannot create '%s': %s\n", local, strerror(errno));
		brisk_blobfs_sync_close(c->ctx, f);
		return 1;
	}
	ret = export_copy(c, f, out, name);
	if (fclose(out) != 0 && ret == 0) {
		fprintf(stderr, "blobfs: closing '%s' failed\n", local);
		ret = 1;
	}
	brisk_blobfs_sync_close(c->ctx, f);
	return ret;
}

static void check_report(void *ctx, const char *problem)
{
	(void)ctx;
	printf("problem: %s\n", problem);
}

static int cmd_check(struct cli *c)
{
	int rc = brisk_blobfs_sync_check(c->ctx, check_report, NULL);

	if (rc == 0) {
		printf("check: ok\n");
		return 0;
	}
	if (rc == -EUCLEAN) {
		printf("check: problems found\n");
		return 1;
	}
	return report_errno("check", "", rc);
}

static int need(int argc, int n, const char *cmd)
{
	if (argc != n) {
		fprintf(stderr, "blobfs: %s takes %d argument(s) (--help)\n", cmd, n - 1);
		return -1;
	}
	return 0;
}

static int run(struct cli *c, int argc, char **argv)
{
	const char *cmd = argv[0];

	if (strcmp(cmd, "mkfs") == 0) {
		return need(argc, 1, cmd) ? 2 : 0;
	} else if (strcmp(cmd, "ls") == 0) {
		return need(argc, 1, cmd) ? 2 : cmd_ls(c);
	} else if (strcmp(cmd, "stat") == 0) {
		return need(argc, 2, cmd) ? 2 : cmd_stat(c, argv[1]);
	} else if (strcmp(cmd, "import") == 0) {
		return need(argc, 3, cmd) ? 2 : cmd_import(c, argv[1], argv[2]);
	} else if (strcmp(cmd, "export") == 0) {
		return need(argc, 3, cmd) ? 2 : cmd_export(c, argv[1], argv[2]);
	} else if (strcmp(cmd, "rm") == 0) {
		int rc = need(argc, 2, cmd) ? -EINVAL : brisk_blobfs_sync_delete(c->ctx, argv[1]);

		return rc != 0 ? report_errno("rm", argc > 1 ? argv[1] : "", rc) : 0;
	} else if (strcmp(cmd, "mv") == 0) {
		int rc = need(argc, 3, cmd) ? -EINVAL :
			 brisk_blobfs_sync_rename(c->ctx, argv[1], argv[2]);

		return rc != 0 ? report_errno("mv", argc > 1 ? argv[1] : "", rc) : 0;
	} else if (strcmp(cmd, "check") == 0) {
		return need(argc, 1, cmd) ? 2 : cmd_check(c);
	}
	fprintf(stderr, "blobfs: unknown command '%s' (--help)\n", cmd);
	return 2;
}

static bool known(const char *cmd)
{
	static const char *const cmds[] = { "mkfs", "ls", "stat", "import", "export", "rm", "mv",
					    "check" };

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(cmd, cmds[i]) == 0) {
			return true;
		}
	}
	return false;
}

int main(int argc, char **argv)
{
	struct cli c = { 0 };
	struct brisk_blobfs_embed_opts eo;
	struct brisk_blobfs *fs;
	int rc, ret;

	if (parse_args(argc, argv, &c) != 0) {
		return 2;
	}
	if (!known(argv[optind])) {
		fprintf(stderr, "blobfs: unknown command '%s' (--help)\n", argv[optind]);
		return 2;
	}
	if (c.file != NULL && write_file_config(&c) != 0) {
		return 1;
	}
	brisk_blobfs_embed_opts_init(&eo);
	eo.config_path = c.config;
	eo.bdev_name = c.bdev;
	eo.format = strcmp(argv[optind], "mkfs") == 0;
	eo.create_if_missing = false;
	eo.cache_size = c.cache_mb * 1024 * 1024;
	eo.verbose = c.verbose;
	eo.mem_size_mb = 128;
	rc = brisk_blobfs_embed_start(&eo, &fs);
	if (c.tmp_config[0] != '\0') {
		unlink(c.tmp_config);
	}
	if (rc != 0) {
		fprintf(stderr, "blobfs: cannot open the blobfs on bdev '%s': %s\n", c.bdev,
			rc == -EILSEQ ? "no blobstore there (run mkfs)" : strerror(-rc));
		return 1;
	}
	c.ctx = brisk_blobfs_sync_ctx_alloc(fs);
	ret = c.ctx != NULL ? run(&c, argc - optind, argv + optind) : 1;
	brisk_blobfs_sync_ctx_free(c.ctx);
	rc = brisk_blobfs_embed_stop();
	if (rc != 0) {
		fprintf(stderr, "blobfs: unload failed: %s\n", strerror(-rc));
		return ret != 0 ? ret : 1;
	}
	return ret;
}
