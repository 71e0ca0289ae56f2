/*
 * Metadata fuzz (issue 12, item 5): seeded corruptions of a clean and of a
 * dirty store on the RAM bs_dev (byte flips, zeroed pages, valid-CRC edits
 * of ids, seqs, extents, parents, sizes and flags, masks, truncation, random
 * files, several at once), each followed by a load. Every outcome must be
 * one of:
 *   exact    every acknowledged blob opens, not degraded, with its bytes;
 *   flagged  a blob that does not read back exactly fails its open, opens
 *            degraded, or an error/warning line of the load names it;
 *   refused  the load fails with an error line.
 * "Served different bytes without a message" (or a refusal without one) is
 * a failure. The case count per corruption and outcome is printed.
 *
 * Bounded: BRISK_FUZZ_CASES cases (default 400) or BRISK_FUZZ_SECONDS
 * (default 40) of wall time, whichever ends first; BRISK_FUZZ_SEED picks
 * another seed. Log lines of each load go to a temporary file (fd 2), so
 * the messages can be checked; those of failing cases are printed.
 * BRISK_FUZZ_DEBUG=1 prints what each case corrupted.
 *
 * Not generated, on purpose: a valid-CRC edit that yields another
 * self-consistent version (a thin blob's parent set to another snapshot or
 * cleared, an extent moved to a free cluster on a dirty store, or onto the
 * cluster of a blob that another corruption of the same case made
 * unreadable). Without a key nothing on disk can tell such an edit from a
 * real write.
 */
#include <stdarg.h>
#include <time.h>
#include <unistd.h>

#include "bs_ut.h"
#include "../../common/ut_main.h"

#define MAX_MODEL 8
#define KINDS 12

struct model_blob {
	brisk_blob_id id;
	uint64_t clusters;
	uint8_t *data;   /* clusters * CLUSTER bytes as acknowledged */
};

struct base {
	uint8_t *img;
	struct model_blob blobs[MAX_MODEL];
	int nblobs;
	uint32_t pages[512];  /* non-empty pages of the metadata region */
	uint32_t npages;
	bool dirty;
};

static const char *g_kind_name[KINDS] = {
	"byte flip", "zeroed page", "id edit", "seq edit", "extent edit", "parent edit",
	"size edit", "flags edit", "mask damage", "truncation", "random file", "several"
};
enum { OUT_EXACT, OUT_FLAGGED, OUT_REFUSED, OUT_FAIL, NOUT };
static const char *g_out_name[NOUT] = { "exact", "flagged", "refused", "FAILED" };
static unsigned g_count[KINDS][NOUT];
static uint64_t g_rng;
static char g_log[65536];

static uint64_t rnd(void)
{
	g_rng ^= g_rng << 13;
	g_rng ^= g_rng >> 7;
	g_rng ^= g_rng << 17;
	return g_rng;
}

static uint64_t rnd_below(uint64_t n)
{
	return n == 0 ? 0 : rnd() % n;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* BRISK_FUZZ_DEBUG set: what each case did, on stdout. */
static void fuzz_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void fuzz_debug(const char *fmt, ...)
{
	va_list ap;

	if (getenv("BRISK_FUZZ_DEBUG") == NULL) {
		return;
	}
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *s = getenv(name);

	return s != NULL && *s != '\0' ? strtoull(s, NULL, 0) : dflt;
}

/* ---- Capturing the log of one load ---- */

static int g_saved_fd = -1;
static FILE *g_cap;

static void capture_start(void)
{
	fflush(stderr);
	g_cap = tmpfile();
	CU_ASSERT_PTR_NOT_NULL_FATAL(g_cap);
	g_saved_fd = dup(2);
	dup2(fileno(g_cap), 2);
}

/* g_log: everything logged since capture_start. */
static void capture_read(void)
{
	size_t n;

	fflush(stderr);
	rewind(g_cap);
	n = fread(g_log, 1, sizeof(g_log) - 1, g_cap);
	g_log[n] = '\0';
	fseek(g_cap, 0, SEEK_END);
}

static void capture_stop(void)
{
	capture_read();
	dup2(g_saved_fd, 2);
	close(g_saved_fd);
	fclose(g_cap);
}

/* An error or warning line of the captured log names blob id. */
static bool log_names(brisk_blob_id id)
{
	char needle[32];
	const char *line = g_log;

	capture_read();
	snprintf(needle, sizeof(needle), "0x%lx", id);
	while (line != NULL && *line != '\0') {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char buf[1024];

		snprintf(buf, sizeof(buf), "%.*s", (int)(len < 1023 ? len : 1023), line);
		if ((strstr(buf, "*ERROR*") || strstr(buf, "*WARNING*")) && strstr(buf, needle)) {
			const char *p = strstr(buf, needle) + strlen(needle);

			if (*p < '0' || (*p > '9' && *p < 'a') || *p > 'f') { /* not a longer id */
				return true;
			}
		}
		line = end ? end + 1 : NULL;
	}
	return false;
}

static bool log_has_error(void)
{
	capture_read();
	return strstr(g_log, "*ERROR*") != NULL;
}

/* ---- The base stores ---- */

static void pattern(uint8_t *buf, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++) {
		buf[i] = (uint8_t)(seed * 29 + i * 7 + (i >> 11));
	}
}

static void xattr_get(void *ctx, const char *name, const void **value, size_t *len)
{
	static uint8_t val[200];

	(void)ctx;
	memset(val, name[1], sizeof(val));
	*value = val;
	*len = sizeof(val);
}

static brisk_blob_id create_with_xattrs(void)
{
	static char names[30][8];
	char *np[30];
	struct brisk_blob_opts bo;

	for (int i = 0; i < 30; i++) {
		snprintf(names[i], sizeof(names[i]), "x%02d", i);
		np[i] = names[i];
	}
	brisk_blob_opts_init(&bo);
	bo.num_clusters = 1;
	bo.xattrs.count = 30;
	bo.xattrs.names = np;
	bo.xattrs.get_value = xattr_get;
	brisk_bs_create_blob_ext(g_bs, &bo, id_cb, NULL);
	CU_ASSERT_EQUAL(finish(), 0);
	return g_id;
}

static void write_cluster(struct brisk_io_channel *ch, brisk_blob_id id, uint64_t c, uint32_t seed)
{
	uint8_t *buf = malloc(CLUSTER);
	struct brisk_blob *b = do_open(id);

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	pattern(buf, CLUSTER, seed);
	CU_ASSERT_EQUAL(do_io(b, ch, true, buf, c * UPC, UPC), 0);
	CU_ASSERT_EQUAL(do_close(b), 0);
	free(buf);
}

/* thick A, thin T (two first writes), X with chain pages, P with data then
 * snapshot S and a write of P after it, R shrunk and grown. */
static void build_blobs(struct brisk_io_channel *ch, brisk_blob_id *ids)
{
	struct brisk_blob *b;

	ids[0] = do_create(2, false);
	write_cluster(ch, ids[0], 1, 1);
	ids[1] = do_create(4, true);
	write_cluster(ch, ids[1], 0, 2);
	write_cluster(ch, ids[1], 2, 3);
	ids[2] = create_with_xattrs();
	write_cluster(ch, ids[2], 0, 4);
	ids[3] = do_create(2, false);
	write_cluster(ch, ids[3], 0, 5);
	write_cluster(ch, ids[3], 1, 6);
	ids[4] = do_snapshot(ids[3]);
	write_cluster(ch, ids[3], 0, 7);
	ids[5] = do_create(3, false);
	b = do_open(ids[5]);
	CU_ASSERT_EQUAL(do_resize(b, 1), 0);
	CU_ASSERT_EQUAL(do_sync(b), 0);
	CU_ASSERT_EQUAL(do_resize(b, 2), 0);
	CU_ASSERT_EQUAL(do_sync(b), 0);
	CU_ASSERT_EQUAL(do_close(b), 0);
	write_cluster(ch, ids[5], 1, 8);
}

/* What every blob reads now: the acknowledged state. */
static void take_model(struct base *bb, struct brisk_io_channel *ch, const brisk_blob_id *ids, int n)
{
	bb->nblobs = n;
	for (int i = 0; i < n; i++) {
		struct model_blob *m = &bb->blobs[i];
		struct brisk_blob *b = do_open(ids[i]);

		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		m->id = ids[i];
		m->clusters = brisk_blob_get_num_clusters(b);
		m->data = malloc(m->clusters * CLUSTER + 1);
		if (m->clusters > 0) {
			CU_ASSERT_EQUAL(do_io(b, ch, false, m->data, 0, m->clusters * UPC), 0);
		}
		CU_ASSERT_EQUAL(do_close(b), 0);
	}
}

static void find_pages(struct base *bb)
{
	uint64_t md_start = get64(bb->img + BLOB_SB_MD_START_OFF), md_len = get64(bb->img + BLOB_SB_MD_LEN_OFF);
	static const uint8_t zero[4096];

	bb->npages = 0;
	for (uint64_t p = 0; p < md_len && bb->npages < 512; p++) {
		if (memcmp(bb->img + (md_start + p) * 4096, zero, 4096) != 0) {
			bb->pages[bb->npages++] = (uint32_t)(md_start + p);
		}
	}
}

/* clean: built and unloaded. dirty: loaded again, one more write to T and
 * a new blob, copied while the store is in use. */
static void build_bases(struct base *clean, struct base *dirty)
{
	struct brisk_bs_opts o = small_opts();
	struct brisk_io_channel *ch;
	brisk_blob_id ids[MAX_MODEL];

	clean->img = new_image();
	dirty->img = new_image();
	CU_ASSERT_EQUAL(do_init(clean->img, &o), 0);
	ch = brisk_bs_alloc_io_channel(g_bs);
	build_blobs(ch, ids);
	take_model(clean, ch, ids, 6);
	brisk_bs_free_io_channel(ch);
	CU_ASSERT_EQUAL(do_unload(), 0);
	find_pages(clean);

	memcpy(dirty->img, clean->img, DEV_BYTES);
	CU_ASSERT_EQUAL(do_load(dirty->img, &o), 0);
	ch = brisk_bs_alloc_io_channel(g_bs);
	write_cluster(ch, ids[1], 3, 9);
	ids[6] = do_create(1, false);
	write_cluster(ch, ids[6], 0, 10);
	take_model(dirty, ch, ids, 7);
	brisk_bs_free_io_channel(ch);
	{
		uint8_t *keep = new_image();

		memcpy(keep, dirty->img, DEV_BYTES); /* clean = 0 on disk */
		CU_ASSERT_EQUAL(do_unload(), 0);
		memcpy(dirty->img, keep, DEV_BYTES);
		free(keep);
	}
	dirty->dirty = true;
	find_pages(dirty);
}

/* ---- Corruptions ---- */

static uint8_t *any_page(const struct base *bb, uint8_t *img)
{
	return img + (uint64_t)bb->pages[rnd_below(bb->npages)] * 4096;
}

/* A live head page (BLOB descriptor first), or NULL. */
static uint8_t *head_page(const struct base *bb, uint8_t *img)
{
	for (int tries = 0; tries < 64; tries++) {
		uint8_t *p = any_page(bb, img);

		if (p[BLOB_MDH_KIND_OFF] == BLOB_MD_KIND_HEAD && !(p[BLOB_MDH_FLAGS_OFF] & BLOB_MD_PAGE_TOMBSTONE) &&
		    p[UT_BLOB_DESC_OFF + BLOB_DESC_TYPE_OFF] == BLOB_DESC_BLOB) {
			return p;
		}
	}
	return NULL;
}

static bool is_ro_blob(const struct base *bb, uint64_t id)
{
	return id == bb->blobs[4].id; /* S, the snapshot */
}

/* A parent that contradicts the rest: a free id, a writable blob, the blob
 * itself, an invalid id (never the read-only snapshot, never 0). */
static uint64_t bad_parent(const struct base *bb, uint64_t self)
{
	uint64_t v;

	do {
		switch (rnd_below(4)) {
		case 0: v = 20 + rnd_below(12); break;
		case 1: v = bb->blobs[rnd_below(4)].id; break;
		case 2: v = self; break;
		default: v = 1000 + rnd_below(1u << 20); break;
		}
	} while (v == 0 || is_ro_blob(bb, v));
	return v;
}

/* The first cluster of id's current version (its newest intact head). */
static uint64_t current_first_cluster(uint8_t *img, uint64_t id)
{
	uint8_t *s0 = img + (get64(img + BLOB_SB_MD_START_OFF) + (id - 1) * 2) * 4096, *s1 = s0 + 4096;
	uint8_t *p = get64(s1 + BLOB_MDH_SEQ_OFF) > get64(s0 + BLOB_MDH_SEQ_OFF) ? s1 : s0;

	return p[UT_FIRST_RUN_OFF + BLOB_DESC_TYPE_OFF] == BLOB_DESC_EXTENT_RUN ? get64(p + UT_FIRST_RUN_OFF + BLOB_DESC_PAYLOAD_OFF + BLOB_ER_FIRST_OFF) : 0;
}

/* An extent target that contradicts the rest: a cluster another blob's
 * current version owns, one beyond the device, or (clean store, whose
 * masks say what is free) any data cluster. 0 when none fits. */
static uint64_t bad_cluster(const struct base *bb, uint8_t *img, uint64_t self, uint64_t cur)
{
	uint64_t v = 0;

	switch (rnd_below(bb->dirty ? 2 : 3)) {
	case 0: /* thick A or X: their first cluster is theirs */
		v = current_first_cluster(img, bb->blobs[self == bb->blobs[0].id ? 2 : 0].id);
		break;
	case 1:
		v = 32 + rnd_below(1000);
		break;
	default:
		v = 1 + rnd_below(30);
		break;
	}
	return v == cur ? 0 : v;
}

static void corrupt_one(const struct base *bb, uint8_t *img, int kind, uint64_t *dev_blocks)
{
	uint8_t *p;
	uint64_t v;

	fuzz_debug("corruption: %s\n", g_kind_name[kind]);

	switch (kind) {
	case 0:
		p = any_page(bb, img);
		v = rnd_below(4096);
		fuzz_debug("flip page %lu byte %lu\n", (uint64_t)(p - img) / 4096, v);
		p[v] ^= (uint8_t)(1u << rnd_below(8));
		return;
	case 1:
		p = any_page(bb, img);
		fuzz_debug("zero page %lu\n", (uint64_t)(p - img) / 4096);
		memset(p, 0, 4096);
		return;
	case 2:
		p = any_page(bb, img);
		v = get64(p + BLOB_MDH_BLOBID_OFF) + 1 + rnd_below(3);
		memcpy(p + BLOB_MDH_BLOBID_OFF, &v, 8);
		break;
	case 3:
		p = any_page(bb, img);
		v = get64(p + BLOB_MDH_SEQ_OFF);
		v = rnd_below(4) == 0 ? rnd() : v + rnd_below(9) - 4;
		if (v == get64(p + BLOB_MDH_SEQ_OFF)) {
			v += 5;
		}
		memcpy(p + BLOB_MDH_SEQ_OFF, &v, 8);
		break;
	case 4:
		p = head_page(bb, img);
		if (p == NULL || p[UT_FIRST_RUN_OFF + BLOB_DESC_TYPE_OFF] != BLOB_DESC_EXTENT_RUN) {
			return;
		}
		v = bad_cluster(bb, img, get64(p + BLOB_MDH_BLOBID_OFF), get64(p + UT_FIRST_RUN_OFF + BLOB_DESC_PAYLOAD_OFF + BLOB_ER_FIRST_OFF));
		if (v == 0) {
			return;
		}
		memcpy(p + UT_FIRST_RUN_OFF + BLOB_DESC_PAYLOAD_OFF + BLOB_ER_FIRST_OFF, &v, 8);
		break;
	case 5:
		p = head_page(bb, img);
		if (p == NULL) {
			return;
		}
		v = bad_parent(bb, get64(p + BLOB_MDH_BLOBID_OFF));
		memcpy(p + UT_BLOB_DESC_OFF + BLOB_DESC_PAYLOAD_OFF + BLOB_DB_PARENT_OFF, &v, 8);
		break;
	case 6:
		p = head_page(bb, img);
		if (p == NULL) {
			return;
		}
		v = get64(p + 52) + 1 + rnd_below(5);
		memcpy(p + 52, &v, 8);
		break;
	case 7:
		p = head_page(bb, img);
		if (p == NULL) {
			return;
		}
		p[68] ^= (uint8_t)(1u << rnd_below(8));
		break;
	case 8:
		img[2 * 4096 + rnd_below((get64(img + BLOB_SB_MD_START_OFF) - 2) * 4096)] ^= (uint8_t)(1 + rnd_below(255));
		return;
	case 9:
		*dev_blocks = 16 + rnd_below(DEV_BLOCKS - 16);
		return;
	default:
		if (rnd_below(2)) {
			for (uint64_t i = 0; i < DEV_BYTES; i += 8) {
				v = rnd();
				memcpy(img + i, &v, 8);
			}
		} else {
			for (uint64_t i = 2 * 4096; i < (get64(img + 80) + get64(img + 88)) * 4096; i += 8) {
				v = rnd();
				memcpy(img + i, &v, 8);
			}
		}
		return;
	}
	fuzz_debug("  edited page %lu: id %lu seq %lu prev %u\n", (uint64_t)(p - img) / 4096,
		   get64(p + BLOB_MDH_BLOBID_OFF), get64(p + BLOB_MDH_SEQ_OFF),
		   (unsigned)(p[BLOB_MDH_PREV16_OFF] | (p[BLOB_MDH_PREV16_OFF + 1] << 8)));
	reseal_page(p);
}

/* ---- One case ---- */

/* OUT_EXACT or OUT_FLAGGED for one model blob, OUT_FAIL when it reads back
 * other bytes (or size) with no message naming it. */
static int judge_blob(const struct model_blob *m, struct brisk_io_channel *ch, uint8_t *buf)
{
	struct brisk_blob *b = do_open(m->id);
	bool same;

	if (b == NULL) {
		return log_names(m->id) ? OUT_FLAGGED : OUT_FAIL;
	}
	same = brisk_blob_get_num_clusters(b) == m->clusters;
	if (same && m->clusters > 0) {
		same = do_io(b, ch, false, buf, 0, m->clusters * UPC) == 0 &&
		       memcmp(buf, m->data, m->clusters * CLUSTER) == 0;
	}
	if (brisk_blob_is_degraded(b)) {
		do_close(b);
		return OUT_FLAGGED;
	}
	if (same) {
		do_close(b);
		return OUT_EXACT;
	}
	fuzz_debug("blob 0x%lx: %lu clusters, %lu acknowledged\n", m->id,
		   brisk_blob_get_num_clusters(b), m->clusters);
	do_close(b);
	return log_names(m->id) ? OUT_FLAGGED : OUT_FAIL;
}

static int judge_loaded(const struct base *bb)
{
	struct brisk_io_channel *ch = brisk_bs_alloc_io_channel(g_bs);
	uint8_t *buf = malloc(8 * CLUSTER);
	int out = OUT_EXACT;

	for (int i = 0; i < bb->nblobs && out != OUT_FAIL; i++) {
		int o = judge_blob(&bb->blobs[i], ch, buf);

		if (o == OUT_FAIL) {
			fprintf(stderr, "fuzz: blob 0x%lx reads back other bytes and nothing names it\n",
				bb->blobs[i].id);
		}
		out = o > out ? o : out;
	}
	brisk_bs_free_io_channel(ch);
	free(buf);
	if (do_unload() != 0) {
		fprintf(stderr, "fuzz: unload after the checks failed\n");
	}
	return out;
}

static int run_case(const struct base *bb, uint8_t *img, int kind)
{
	struct brisk_bs_opts o = small_opts();
	uint64_t blocks = DEV_BLOCKS;
	struct brisk_bs_dev *dev;
	int rc, out;

	memcpy(img, bb->img, DEV_BYTES);
	if (kind == KINDS - 1) {
		for (int n = 2 + (int)rnd_below(2); n > 0; n--) {
			int k = (int)rnd_below(8);

			/* On a dirty store an extent moved onto the cluster of a blob
			 * that another corruption made unreadable looks like a real
			 * later write (see the top of the file). */
			corrupt_one(bb, img, bb->dirty && k == 4 ? 0 : k, &blocks);
		}
	} else {
		corrupt_one(bb, img, kind, &blocks);
	}
	capture_start();
	dev = brisk_bs_dev_ram_create(blocks, BLOCKLEN, img);
	g_bs = NULL;
	brisk_bs_load(dev, &o, bs_cb, NULL);
	rc = finish();
	if (rc != 0) {
		out = log_has_error() ? OUT_REFUSED : OUT_FAIL;
		capture_stop();
		if (out == OUT_FAIL) {
			fprintf(stderr, "fuzz: load refused (%d) without an error line\n", rc);
		}
		return out;
	}
	out = judge_loaded(bb);
	capture_stop();
	return out;
}

static void test_metadata_fuzz(void)
{
	struct base clean = { 0 }, dirty = { 0 };
	uint64_t seed = env_u64("BRISK_FUZZ_SEED", 0x5eed12), cases = env_u64("BRISK_FUZZ_CASES", 400);
	uint64_t seconds = env_u64("BRISK_FUZZ_SECONDS", 40);
	uint8_t *img = new_image();
	time_t start = time(NULL);
	unsigned total = 0, failed = 0;

	g_rng = seed | 1;
	build_bases(&clean, &dirty);
	for (uint64_t n = 0; n < cases && (uint64_t)(time(NULL) - start) < seconds; n++) {
		int kind = (int)(n % KINDS);
		const struct base *bb = rnd_below(2) ? &dirty : &clean;
		uint64_t case_seed = g_rng;
		int out = run_case(bb, img, kind);

		g_count[kind][out]++;
		total++;
		if (out == OUT_FAIL) {
			failed++;
			fprintf(stderr, "fuzz case %lu (%s, %s store, rng 0x%lx) FAILED; its log:\n%s\n",
				n, g_kind_name[kind], bb->dirty ? "dirty" : "clean", case_seed, g_log);
		}
	}
	printf("\nmetadata fuzz, seed 0x%lx: %u cases in %lds\n", seed, total,
	       (long)(time(NULL) - start));
	printf("  %-14s %8s %8s %8s %8s\n", "corruption", g_out_name[0], g_out_name[1],
	       g_out_name[2], g_out_name[3]);
	for (int k = 0; k < KINDS; k++) {
		printf("  %-14s %8u %8u %8u %8u\n", g_kind_name[k], g_count[k][0], g_count[k][1],
		       g_count[k][2], g_count[k][3]);
	}
	CU_ASSERT_EQUAL(failed, 0);
	CU_ASSERT(total >= KINDS);
	for (int i = 0; i < MAX_MODEL; i++) {
		free(clean.blobs[i].data);
		free(dirty.blobs[i].data);
	}
	free(clean.img);
	free(dirty.img);
	free(img);
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_metadata_fuzz),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "blob_fuzz_ut", bs_ut_suite_init, bs_ut_suite_fini, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "blob_fuzz_ut",
	.env = BRISK_UT_ENV_THREAD,
	.thread_opts = { .msg_pool_size = 65535 },
	.suites = g_ut_suites,
};
