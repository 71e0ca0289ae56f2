/*
 * sqlite_bench: SQLite's small-transaction workload on a chosen VFS, to set
 * Brisk's VFS ("brisk", on a blobfs on a bdev) beside SQLite's own ("unix",
 * on a kernel file system) at equal durability. Phases: many small committed
 * transactions (one insert each), point selects by key, range scans, and
 * committed single-row updates. Prints a table and one JSON line.
 *
 *   sqlite_bench --vfs brisk --db app.db [--journal wal] [--sync full] ...
 * The brisk VFS takes its store from BRISK_SQLITE_CONFIG / BRISK_SQLITE_BDEV.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "brisk/sqlite.h"

struct bench_opts {
	const char *vfs;
	const char *db;
	const char *journal;
	const char *sync;
	long txns, selects, scans, updates, rows_per_scan;
};

struct bench_result {
	const char *phase;
	long ops;
	double secs;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(const char *prog)
{
	printf("usage: %s --db NAME [options]\n"
	       "  --vfs unix|brisk      VFS (default brisk)\n"
	       "  --journal MODE        delete, truncate, persist or wal (default delete)\n"
	       "  --sync MODE           off, normal or full (default full)\n"
	       "  --txns N              committed one-row inserts (default 2000)\n"
	       "  --selects N           point selects (default 20000)\n"
	       "  --scans N             range scans of --scan-rows rows (default 2000, 100)\n"
	       "  --updates N           committed one-row updates (default 2000)\n",
	       prog);
}

static int parse_long(const char *name, const char *arg, long *out)
{
	char *end;

	*out = strtol(arg, &end, 10);
	if (*arg == '\0' || *end != '\0' || *out < 0) {
		fprintf(stderr, "sqlite_bench: --%s: not a count: '%s'\n", name, arg);
		return -1;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct bench_opts *o)
{
	static const struct option longopts[] = {
		{"vfs", 1, 0, 'v'}, {"db", 1, 0, 'd'}, {"journal", 1, 0, 'j'},
		{"sync", 1, 0, 's'}, {"txns", 1, 0, 't'}, {"selects", 1, 0, 'p'},
		{"scans", 1, 0, 'r'}, {"scan-rows", 1, 0, 'R'}, {"updates", 1, 0, 'u'},
		{"help", 0, 0, 'h'}, {0, 0, 0, 0}
	};
	int c, rc = 0;

	*o = (struct bench_opts){"brisk", NULL, "delete", "full", 2000, 20000, 2000, 2000, 100};
	while (rc == 0 && (c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'v': o->vfs = optarg; break;
		case 'd': o->db = optarg; break;
		case 'j': o->journal = optarg; break;
		case 's': o->sync = optarg; break;
		case 't': rc = parse_long("txns", optarg, &o->txns); break;
		case 'p': rc = parse_long("selects", optarg, &o->selects); break;
		case 'r': rc = parse_long("scans", optarg, &o->scans); break;
		case 'R': rc = parse_long("scan-rows", optarg, &o->rows_per_scan); break;
		case 'u': rc = parse_long("updates", optarg, &o->updates); break;
		case 'h': usage(argv[0]); exit(0);
		default: return -1;
		}
	}
	if (rc == 0 && (o->db == NULL || optind != argc)) {
		fprintf(stderr, "sqlite_bench: --db NAME is required (no other arguments)\n");
		rc = -1;
	}
	return rc;
}

static int exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "sqlite_bench: %s: %s\n", sql, err ? err : "?");
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

/* Runs stmt once per op with its first parameter bound to key(i); each
 * step is its own transaction (autocommit) when stmt writes. */
static int run_phase(sqlite3 *db, const char *sql, long ops, long mod, struct bench_result *r)
{
	sqlite3_stmt *stmt;
	double t0 = now_s();
	int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);

	for (long i = 0; rc == SQLITE_OK && i < ops; i++) {
		sqlite3_bind_int64(stmt, 1, (i * 7919) % (mod ? mod : 1));
		while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		}
		rc = (rc == SQLITE_DONE) ? sqlite3_reset(stmt) : rc;
	}
	if (rc != SQLITE_OK) {
		fprintf(stderr, "sqlite_bench: %s: %s\n", sql, sqlite3_errmsg(db));
	}
	sqlite3_finalize(stmt);
	r->ops = ops;
	r->secs = now_s() - t0;
	return rc == SQLITE_OK ? 0 : -1;
}

static int setup(sqlite3 *db, const struct bench_opts *o)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "PRAGMA journal_mode=%s; PRAGMA synchronous=%s;", o->journal,
		 o->sync);
	if (exec(db, sql) != 0) {
		return -1;
	}
	return exec(db, "DROP TABLE IF EXISTS t; CREATE TABLE t(k INTEGER PRIMARY KEY, "
		    "v INTEGER, s TEXT); CREATE INDEX t_v ON t(v);");
}

static void report(const struct bench_opts *o, const struct bench_result *r, int n)
{
	printf("%-10s %10s %10s %12s\n", "phase", "ops", "seconds", "ops/s");
	for (int i = 0; i < n; i++) {
		printf("%-10s %10ld %10.3f %12.0f\n", r[i].phase, r[i].ops, r[i].secs,
		       r[i].secs > 0 ? r[i].ops / r[i].secs : 0);
	}
	printf("{\"vfs\": \"%s\", \"journal\": \"%s\", \"sync\": \"%s\"", o->vfs, o->journal,
	       o->sync);
	for (int i = 0; i < n; i++) {
		printf(", \"%s_per_s\": %.0f", r[i].phase,
		       r[i].secs > 0 ? r[i].ops / r[i].secs : 0);
	}
	printf("}\n");
}

static int bench(sqlite3 *db, const struct bench_opts *o)
{
	struct bench_result r[4] = {{"commit", 0, 0}, {"select", 0, 0}, {"scan", 0, 0}, {"update", 0, 0}};
	long n = o->txns ? o->txns : 1;
	char scan[160];
	int rc;

	snprintf(scan, sizeof(scan), "SELECT sum(v) FROM t WHERE k >= ?1 AND k < ?1 + %ld",
		 o->rows_per_scan);
	rc = setup(db, o);
	/* Keys 0..txns-1 in order; v and s give the rows and index some size. */
	rc = rc ? rc : run_phase(db, "INSERT INTO t(v, s) VALUES (?1, hex(randomblob(50)))",
				 o->txns, n, &r[0]);
	rc = rc ? rc : run_phase(db, "SELECT v, s FROM t WHERE k = ?1 + 1", o->selects, n, &r[1]);
	rc = rc ? rc : run_phase(db, scan, o->scans, n, &r[2]);
	rc = rc ? rc : run_phase(db, "UPDATE t SET v = v + 1 WHERE k = ?1 + 1", o->updates, n, &r[3]);
	if (rc == 0) {
		report(o, r, 4);
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	sqlite3 *db;
	int rc;

	if (parse_args(argc, argv, &o) != 0) {
		return 2;
	}
	if (brisk_sqlite_vfs_register(0) != SQLITE_OK) {
		fprintf(stderr, "sqlite_bench: cannot register the brisk VFS\n");
		return 1;
	}
	rc = sqlite3_open_v2(o.db, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, o.vfs);
	if (rc != SQLITE_OK) {
		fprintf(stderr, "sqlite_bench: cannot open %s on VFS %s: %s\n", o.db, o.vfs,
			db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return 1;
	}
	rc = bench(db, &o);
	sqlite3_close(db);
	return rc ? 1 : 0;
}
