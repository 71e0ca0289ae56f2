/*
 * Logging: levels, flag registry, line format on stderr (captured by
 * redirecting fd 2), and one write per line under concurrent threads.
 */
#include <CUnit/Basic.h>

#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <brisk/log.h>
#include "../../common/ut_main.h"

/* Registered out of order on purpose: the registry must sort them. */
BRISK_LOG_REGISTER_COMPONENT(ut_zeta)
BRISK_LOG_REGISTER_COMPONENT(ut_alpha)
BRISK_LOG_REGISTER_COMPONENT(ut_mid)

/* ---- stderr capture ---- */

static int g_saved_stderr = -1;
static int g_capture_fd = -1;

static void
capture_begin(void)
{
	char path[] = "/tmp/brisk_log_ut.XXXXXX";

	g_capture_fd = mkstemp(path);
	CU_ASSERT_FATAL(g_capture_fd >= 0);
	unlink(path);
	g_saved_stderr = dup(STDERR_FILENO);
	CU_ASSERT_FATAL(g_saved_stderr >= 0);
	dup2(g_capture_fd, STDERR_FILENO);
}

/* Restores stderr and returns what was written (malloc'ed, NUL-terminated). */
static char *
capture_end(void)
{
	off_t size;
	char *buf;
	ssize_t n;

	dup2(g_saved_stderr, STDERR_FILENO);
	close(g_saved_stderr);
	size = lseek(g_capture_fd, 0, SEEK_END);
	buf = calloc(1, (size_t)size + 1);
	if (buf != NULL && size > 0) {
		n = pread(g_capture_fd, buf, (size_t)size, 0);
		if (n != size) {
			buf[0] = '\0';
		}
	}
	close(g_capture_fd);
	g_capture_fd = -1;
	return buf;
}

static int
count_char(const char *s, char c)
{
	int n = 0;

	for (; *s; s++) {
		n += *s == c;
	}
	return n;
}

static bool
matches(const char *text, const char *pattern)
{
	regex_t re;
	bool ok;

	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB | REG_NEWLINE) != 0) {
		return false;
	}
	ok = regexec(&re, text, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

/* ---- tests ---- */

static void
test_levels(void)
{
	enum brisk_log_level level;

	CU_ASSERT_EQUAL(brisk_log_get_level(), BRISK_LOG_NOTICE);
	CU_ASSERT_EQUAL(brisk_log_get_print_level(), BRISK_LOG_NOTICE);

	brisk_log_set_level(BRISK_LOG_DEBUG);
	CU_ASSERT_EQUAL(brisk_log_get_level(), BRISK_LOG_DEBUG);
	brisk_log_set_print_level(BRISK_LOG_ERROR);
	CU_ASSERT_EQUAL(brisk_log_get_print_level(), BRISK_LOG_ERROR);
	/* Out-of-range values are ignored. */
	brisk_log_set_print_level((enum brisk_log_level)42);
	CU_ASSERT_EQUAL(brisk_log_get_print_level(), BRISK_LOG_ERROR);
	brisk_log_set_level((enum brisk_log_level)-7);
	CU_ASSERT_EQUAL(brisk_log_get_level(), BRISK_LOG_DEBUG);
	brisk_log_set_level(BRISK_LOG_NOTICE);
	brisk_log_set_print_level(BRISK_LOG_NOTICE);

	CU_ASSERT_EQUAL(brisk_log_level_from_string("error", &level), 0);
	CU_ASSERT_EQUAL(level, BRISK_LOG_ERROR);
	CU_ASSERT_EQUAL(brisk_log_level_from_string("WARNING", &level), 0);
	CU_ASSERT_EQUAL(level, BRISK_LOG_WARN);
	CU_ASSERT_EQUAL(brisk_log_level_from_string("warn", &level), 0);
	CU_ASSERT_EQUAL(level, BRISK_LOG_WARN);
	CU_ASSERT_EQUAL(brisk_log_level_from_string("Notice", &level), 0);
	CU_ASSERT_EQUAL(level, BRISK_LOG_NOTICE);
	CU_ASSERT_EQUAL(brisk_log_level_from_string("info", &level), 0);
	CU_ASSERT_EQUAL(level, BRISK_LOG_INFO);
	CU_ASSERT_EQUAL(brisk_log_level_from_string("debug", &level), 0);
	CU_ASSERT_EQUAL(level, BRISK_LOG_DEBUG);
	CU_ASSERT_EQUAL(brisk_log_level_from_string("disabled", &level), 0);
	CU_ASSERT_EQUAL(level, BRISK_LOG_DISABLED);
	level = BRISK_LOG_INFO;
	CU_ASSERT_EQUAL(brisk_log_level_from_string("verbose", &level), -EINVAL);
	CU_ASSERT_EQUAL(brisk_log_level_from_string("", &level), -EINVAL);
	CU_ASSERT_EQUAL(brisk_log_level_from_string(NULL, &level), -EINVAL);
	CU_ASSERT_EQUAL(level, BRISK_LOG_INFO);

	CU_ASSERT_STRING_EQUAL(brisk_log_level_to_string(BRISK_LOG_ERROR), "error");
	CU_ASSERT_STRING_EQUAL(brisk_log_level_to_string(BRISK_LOG_WARN), "warning");
	CU_ASSERT_STRING_EQUAL(brisk_log_level_to_string(BRISK_LOG_NOTICE), "notice");
	CU_ASSERT_STRING_EQUAL(brisk_log_level_to_string(BRISK_LOG_INFO), "info");
	CU_ASSERT_STRING_EQUAL(brisk_log_level_to_string(BRISK_LOG_DEBUG), "debug");
	CU_ASSERT_STRING_EQUAL(brisk_log_level_to_string(BRISK_LOG_DISABLED), "disabled");
	CU_ASSERT_STRING_EQUAL(brisk_log_level_to_string((enum brisk_log_level)99), "unknown");
}

static void
test_flags(void)
{
	struct brisk_log_flag *f;
	const char *prev = NULL;
	int seen = 0, pos_alpha = -1, pos_mid = -1, pos_zeta = -1, i = 0;
	static struct brisk_log_flag late = { .name = "ut_late" };

	/* Iteration is sorted and sees our three flags. */
	for (f = brisk_log_get_first_flag(); f != NULL; f = brisk_log_get_next_flag(f), i++) {
		if (prev != NULL) {
			CU_ASSERT(strcmp(prev, f->name) < 0);
		}
		prev = f->name;
		if (strcmp(f->name, "ut_alpha") == 0) {
			pos_alpha = i;
		} else if (strcmp(f->name, "ut_mid") == 0) {
			pos_mid = i;
		} else if (strcmp(f->name, "ut_zeta") == 0) {
			pos_zeta = i;
		}
		seen++;
	}
	CU_ASSERT(seen >= 3);
	CU_ASSERT(pos_alpha >= 0 && pos_alpha < pos_mid && pos_mid < pos_zeta);
	CU_ASSERT_PTR_NULL(brisk_log_get_next_flag(NULL));

	CU_ASSERT_FALSE(brisk_log_get_flag("ut_alpha"));
	CU_ASSERT_EQUAL(brisk_log_set_flag("ut_alpha"), 0);
	CU_ASSERT_TRUE(brisk_log_get_flag("ut_alpha"));
	CU_ASSERT_TRUE(brisk_log_flag_obj_ut_alpha.enabled);
	CU_ASSERT_FALSE(brisk_log_get_flag("ut_zeta"));
	CU_ASSERT_EQUAL(brisk_log_clear_flag("ut_alpha"), 0);
	CU_ASSERT_FALSE(brisk_log_get_flag("ut_alpha"));

	/* Unknown names. */
	CU_ASSERT_EQUAL(brisk_log_set_flag("no_such_flag"), -EINVAL);
	CU_ASSERT_EQUAL(brisk_log_clear_flag("no_such_flag"), -EINVAL);
	CU_ASSERT_EQUAL(brisk_log_set_flag(""), -EINVAL);
	CU_ASSERT_EQUAL(brisk_log_set_flag(NULL), -EINVAL);
	CU_ASSERT_FALSE(brisk_log_get_flag("no_such_flag"));
	CU_ASSERT_FALSE(brisk_log_get_flag(NULL));

	/* "all" */
	CU_ASSERT_EQUAL(brisk_log_set_flag("all"), 0);
	for (f = brisk_log_get_first_flag(); f != NULL; f = brisk_log_get_next_flag(f)) {
		CU_ASSERT_TRUE(f->enabled);
	}
	CU_ASSERT_EQUAL(brisk_log_clear_flag("all"), 0);
	for (f = brisk_log_get_first_flag(); f != NULL; f = brisk_log_get_next_flag(f)) {
		CU_ASSERT_FALSE(f->enabled);
	}

	/* Late registration lands in sorted position; twice is harmless. */
	brisk_log_register_flag(&late);
	brisk_log_register_flag(&late);
	CU_ASSERT_EQUAL(brisk_log_set_flag("ut_late"), 0);
	CU_ASSERT_TRUE(late.enabled);
	i = 0;
	prev = NULL;
	for (f = brisk_log_get_first_flag(); f != NULL; f = brisk_log_get_next_flag(f)) {
		if (prev != NULL) {
			CU_ASSERT(strcmp(prev, f->name) < 0);
		}
		prev = f->name;
		i++;
	}
	CU_ASSERT_EQUAL(i, seen + 1);
	brisk_log_clear_flag("ut_late");
	brisk_log_register_flag(NULL); /* ignored */
}

#define TS_RE "\\[[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}\\] "

static void
test_line_format(void)
{
	char *out;
	int line;

	capture_begin();
	line = __LINE__ + 1;
	BRISK_ERRLOG("bad thing %d\n", 42);
	BRISK_WARNLOG("careful");
	BRISK_NOTICELOG("note %s\n", "this");
	BRISK_INFOLOG("not shown at NOTICE\n");
	out = capture_end();
	CU_ASSERT_FATAL(out != NULL);

	CU_ASSERT(matches(out, "^" TS_RE "log_ut\\.c:[0-9]+:test_line_format: \\*ERROR\\*: bad thing 42$"));
	CU_ASSERT(matches(out, "^" TS_RE "log_ut\\.c:[0-9]+:test_line_format: \\*WARNING\\*: careful$"));
	CU_ASSERT(matches(out, "^" TS_RE "log_ut\\.c:[0-9]+:test_line_format: \\*NOTICE\\*: note this$"));
	CU_ASSERT_PTR_NULL(strstr(out, "not shown"));
	/* Exactly one newline per message, with or without one in the format. */
	CU_ASSERT_EQUAL(count_char(out, '\n'), 3);
	{
		char expect[64];

		snprintf(expect, sizeof(expect), "log_ut.c:%d:test_line_format: *ERROR*", line);
		CU_ASSERT_PTR_NOT_NULL(strstr(out, expect));
	}
	free(out);

	/* Without timestamps, the line starts with the file name. */
	brisk_log_enable_timestamps(false);
	brisk_log_set_print_level(BRISK_LOG_DEBUG);
	capture_begin();
	BRISK_INFOLOG("info now\n");
	brisk_log(BRISK_LOG_DEBUG, "/some/dir/file.c", 7, "fn", "dbg %s", "x");
	out = capture_end();
	brisk_log_enable_timestamps(true);
	brisk_log_set_print_level(BRISK_LOG_NOTICE);
	CU_ASSERT_FATAL(out != NULL);
	CU_ASSERT(matches(out, "^log_ut\\.c:[0-9]+:test_line_format: \\*INFO\\*: info now$"));
	CU_ASSERT(matches(out, "^file\\.c:7:fn: \\*DEBUG\\*: dbg x$"));
	free(out);
}

static void
test_print_level_filter(void)
{
	char *out;

	brisk_log_set_print_level(BRISK_LOG_WARN);
	capture_begin();
	BRISK_ERRLOG("e1\n");
	BRISK_WARNLOG("w1\n");
	BRISK_NOTICELOG("n1\n");
	brisk_log_set_print_level(BRISK_LOG_DISABLED);
	BRISK_ERRLOG("e2\n");
	/* Invalid message levels are dropped. */
	brisk_log_set_print_level(BRISK_LOG_DEBUG);
	brisk_log((enum brisk_log_level)17, __FILE__, __LINE__, __func__, "bogus\n");
	brisk_log(BRISK_LOG_DISABLED, __FILE__, __LINE__, __func__, "bogus2\n");
	out = capture_end();
	brisk_log_set_print_level(BRISK_LOG_NOTICE);
	CU_ASSERT_FATAL(out != NULL);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "*ERROR*: e1"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "*WARNING*: w1"));
	CU_ASSERT_PTR_NULL(strstr(out, "n1"));
	CU_ASSERT_PTR_NULL(strstr(out, "e2"));
	CU_ASSERT_PTR_NULL(strstr(out, "bogus"));
	CU_ASSERT_EQUAL(count_char(out, '\n'), 2);
	free(out);
}

static void
test_debuglog_flag(void)
{
	char *out;

	brisk_log_set_print_level(BRISK_LOG_DEBUG);
	capture_begin();
	BRISK_DEBUGLOG(ut_mid, "hidden %d\n", 1);
	brisk_log_set_flag("ut_mid");
	BRISK_DEBUGLOG(ut_mid, "shown %d\n", 2);
	brisk_log_clear_flag("ut_mid");
	BRISK_DEBUGLOG(ut_mid, "hidden %d\n", 3);
	out = capture_end();
	brisk_log_set_print_level(BRISK_LOG_NOTICE);
	CU_ASSERT_FATAL(out != NULL);
	CU_ASSERT_PTR_NULL(strstr(out, "hidden"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "*DEBUG*: shown 2"));
	CU_ASSERT_EQUAL(count_char(out, '\n'), 1);
	free(out);
}

static void
test_long_line_and_errno(void)
{
	char *msg = malloc(10001);
	char *out;

	CU_ASSERT_FATAL(msg != NULL);
	memset(msg, 'q', 10000);
	msg[10000] = '\0';
	capture_begin();
	errno = EAGAIN;
	BRISK_ERRLOG("<%s>\n", msg);
	CU_ASSERT_EQUAL(errno, EAGAIN); /* logging does not clobber errno */
	out = capture_end();
	CU_ASSERT_FATAL(out != NULL);
	CU_ASSERT_EQUAL(count_char(out, '\n'), 1);
	CU_ASSERT_EQUAL(count_char(out, 'q'), 10000);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "*ERROR*: <q"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "q>\n"));
	free(out);
	free(msg);
}

/* Each line must reach stderr in one write(2). Over a SOCK_SEQPACKET socket
 * every write is one message, so each received message must be exactly one
 * complete line; concurrent threads check that lines never interleave. */
#define THREADS 4
#define LINES_PER_THREAD 500

static void *
log_thread(void *arg)
{
	long id = (long)arg;
	int i;

	for (i = 0; i < LINES_PER_THREAD; i++) {
		/* Vary the length across the stack-buffer boundary (1024). */
		BRISK_ERRLOG("thread %ld line %d %.*s end\n", id, i, (i * 37) % 1400,
			     "...................................................................."
			     "...................................................................."
			     "...................................................................."
			     "...................................................................."
			     "...................................................................."
			     "...................................................................."
			     "...................................................................."
			     "...................................................................."
			     "...................................................................."
			     "...................................................................."
			     "...................................................................."
			     "...................................................................."
			     "...................................................................."
			     "...................................................................."
			     "...................................................................."
			     "...................................................................."
			     "...................................................................."
			     "...................................................................."
			     "...................................................................."
			     "...................................................................."
			     "....................................................................");
	}
	return NULL;
}

struct reader_ctx {
	int fd;
	int messages;
	int bad;
	int per_thread[THREADS];
};

static void *
reader_thread(void *arg)
{
	struct reader_ctx *ctx = arg;
	char buf[8192];
	ssize_t n;
	long id;
	int line;

	while ((n = recv(ctx->fd, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = '\0';
		ctx->messages++;
		/* One message: one newline, at the very end, and a whole line. */
		if (count_char(buf, '\n') != 1 || buf[n - 1] != '\n' || strstr(buf, " end\n") == NULL ||
		    !matches(buf, "^" TS_RE "log_ut\\.c:[0-9]+:log_thread: \\*ERROR\\*: thread")) {
			ctx->bad++;
			continue;
		}
		if (sscanf(strstr(buf, "thread "), "thread %ld line %d", &id, &line) != 2 ||
		    id < 0 || id >= THREADS || line != ctx->per_thread[id]) {
			ctx->bad++; /* lost or reordered within a thread */
			continue;
		}
		ctx->per_thread[id]++;
	}
	return NULL;
}

static void
test_threads_single_write(void)
{
	int sv[2], saved, i;
	pthread_t writers[THREADS], reader;
	struct reader_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	ctx.fd = sv[0];
	CU_ASSERT_FATAL(pthread_create(&reader, NULL, reader_thread, &ctx) == 0);
	saved = dup(STDERR_FILENO);
	dup2(sv[1], STDERR_FILENO);
	close(sv[1]);
	for (i = 0; i < THREADS; i++) {
		pthread_create(&writers[i], NULL, log_thread, (void *)(long)i);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(writers[i], NULL);
	}
	dup2(saved, STDERR_FILENO); /* closes the last write end: reader sees EOF */
	close(saved);
	pthread_join(reader, NULL);
	close(sv[0]);

	CU_ASSERT_EQUAL(ctx.bad, 0);
	CU_ASSERT_EQUAL(ctx.messages, THREADS * LINES_PER_THREAD);
	for (i = 0; i < THREADS; i++) {
		CU_ASSERT_EQUAL(ctx.per_thread[i], LINES_PER_THREAD);
	}
}

static void
test_syslog(void)
{
	char *out;

	/* Syslog output cannot be read back portably (no syslogd in CI); check
	 * that opening, logging at every level and closing keep stderr output
	 * intact, and that closing twice is harmless. */
	brisk_log_open_syslog("brisk_log_ut");
	brisk_log_set_level(BRISK_LOG_DEBUG);
	capture_begin();
	BRISK_ERRLOG("to both\n");
	BRISK_DEBUGLOG(ut_zeta, "flag off\n");
	out = capture_end();
	brisk_log_close();
	brisk_log_close();
	brisk_log_open_syslog(NULL); /* reopen with the previous identity */
	brisk_log_close();
	brisk_log_set_level(BRISK_LOG_NOTICE);
	CU_ASSERT_FATAL(out != NULL);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "*ERROR*: to both"));
	CU_ASSERT_EQUAL(count_char(out, '\n'), 1);
	free(out);
}

/* A name with a newline cannot forge a second log line: control characters
 * are written as escapes, the line stays one line. */
static void
test_control_chars_escaped(void)
{
	char *out;

	capture_begin();
	BRISK_ERRLOG("bdev '%s' gone\n", "evil\n[2026-01-01 00:00:00.000000] app.c:1:f: *NOTICE*: forged");
	BRISK_ERRLOG("tab\there, cr\r, esc\x1b[31m, del\x7f, bell\a, utf8 \xc3\xa9\n");
	out = capture_end();
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_EQUAL(count_char(out, '\n'), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "bdev 'evil\\n[2026-01-01"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "tab\\there, cr\\r, esc\\x1b[31m, del\\x7f, bell\\x07, "
				      "utf8 \xc3\xa9\n"));
	CU_ASSERT_PTR_NULL(strchr(out, '\r'));
	CU_ASSERT_PTR_NULL(strchr(out, '\x1b'));
	free(out);
}

static void
log_burst(struct brisk_log_ratelimit *rl, int n)
{
	for (int i = 0; i < n; i++) {
		BRISK_ERRLOG_RATELIMIT(rl, "I/O error %d\n", i);
	}
}

/* 10,000 identical errors in a burst: `burst` lines, then (once the
 * interval is over) one "repeated N times" line with the exact count. */
static void
test_ratelimit(void)
{
	struct brisk_log_ratelimit rl = BRISK_LOG_RATELIMIT_INIT(5, 200);
	char *out;

	capture_begin();
	log_burst(&rl, 10000);
	out = capture_end();
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_EQUAL(count_char(out, '\n'), 5);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "I/O error 4"));
	CU_ASSERT_PTR_NULL(strstr(out, "I/O error 5"));
	free(out);

	usleep(250 * 1000);
	capture_begin();
	log_burst(&rl, 1);
	out = capture_end();
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_EQUAL(count_char(out, '\n'), 2);
	CU_ASSERT(matches(out, "\\*ERROR\\*: last message repeated 9995 more times"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "I/O error 0"));
	free(out);

	/* Nothing suppressed in the last interval: no summary. */
	usleep(250 * 1000);
	capture_begin();
	log_burst(&rl, 1);
	out = capture_end();
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_EQUAL(count_char(out, '\n'), 1);
	CU_ASSERT_PTR_NULL(strstr(out, "repeated"));
	free(out);

	/* A flush prints what is pending (a device that stopped failing). */
	log_burst(&rl, 5);
	capture_begin();
	log_burst(&rl, 7);
	brisk_log_ratelimit_flush(&rl, BRISK_LOG_ERROR);
	brisk_log_ratelimit_flush(&rl, BRISK_LOG_ERROR);
	out = capture_end();
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_EQUAL(count_char(out, '\n'), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "repeated 8 more times"));
	free(out);
}

static const CU_TestInfo g_ut_tests[] = {
	{ "levels", test_levels },
	{ "flags", test_flags },
	{ "line_format", test_line_format },
	{ "print_level_filter", test_print_level_filter },
	{ "debuglog_flag", test_debuglog_flag },
	{ "long_line_and_errno", test_long_line_and_errno },
	{ "threads_single_write", test_threads_single_write },
	{ "syslog", test_syslog },
	{ "control_chars_escaped", test_control_chars_escaped },
	{ "ratelimit", test_ratelimit },
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "log", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "log_ut",
	.suites = g_ut_suites,
};
