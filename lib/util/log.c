/*
 * Logging: one line per message on stderr (with a timestamp) and, once
 * opened, on syslog. Levels and flags may be read and changed from any thread.
 * Control characters in a message (a user's name with a newline, an escape
 * sequence) are written as escapes, so no input can forge a log line; and
 * brisk_log_ratelimit keeps a failing device from flooding the log.
 */
#include <brisk/log.h>
#include <brisk/string.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* Room for a typical line on the stack; longer lines take one malloc. */
#define LOG_LINE_STACK 1024

/* Levels are plain ints touched with relaxed atomics: they are independent
 * settings, no other memory is published through them. */
static int g_log_level = BRISK_LOG_NOTICE;
static int g_print_level = BRISK_LOG_NOTICE;
static int g_timestamps = 1;
static int g_syslog_open;

/* Flag list, sorted by name. Registration happens in constructors (before
 * main, one thread), but the mutex keeps late registration (dlopen) safe too. */
static struct brisk_log_flag *g_flags;
static pthread_mutex_t g_flags_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const g_level_tags[] = {
	[BRISK_LOG_ERROR] = "*ERROR*",
	[BRISK_LOG_WARN] = "*WARNING*",
	[BRISK_LOG_NOTICE] = "*NOTICE*",
	[BRISK_LOG_INFO] = "*INFO*",
	[BRISK_LOG_DEBUG] = "*DEBUG*",
};

static const int g_syslog_prio[] = {
	[BRISK_LOG_ERROR] = LOG_ERR,
	[BRISK_LOG_WARN] = LOG_WARNING,
	[BRISK_LOG_NOTICE] = LOG_NOTICE,
	[BRISK_LOG_INFO] = LOG_INFO,
	[BRISK_LOG_DEBUG] = LOG_DEBUG,
};

static bool
level_valid(enum brisk_log_level level)
{
	return level >= BRISK_LOG_DISABLED && level <= BRISK_LOG_DEBUG;
}

void
brisk_log_set_level(enum brisk_log_level level)
{
	if (level_valid(level)) {
		__atomic_store_n(&g_log_level, (int)level, __ATOMIC_RELAXED);
	}
}

enum brisk_log_level
brisk_log_get_level(void)
{
	return (enum brisk_log_level)__atomic_load_n(&g_log_level, __ATOMIC_RELAXED);
}

void
brisk_log_set_print_level(enum brisk_log_level level)
{
	if (level_valid(level)) {
		__atomic_store_n(&g_print_level, (int)level, __ATOMIC_RELAXED);
	}
}

enum brisk_log_level
brisk_log_get_print_level(void)
{
	return (enum brisk_log_level)__atomic_load_n(&g_print_level, __ATOMIC_RELAXED);
}

static const struct {
	const char *name;
	enum brisk_log_level level;
} g_level_names[] = {
	{ "error", BRISK_LOG_ERROR },
	{ "warning", BRISK_LOG_WARN },
	{ "warn", BRISK_LOG_WARN },
	{ "notice", BRISK_LOG_NOTICE },
	{ "info", BRISK_LOG_INFO },
	{ "debug", BRISK_LOG_DEBUG },
	{ "disabled", BRISK_LOG_DISABLED },
};

int
brisk_log_level_from_string(const char *s, enum brisk_log_level *level)
{
	size_t i;

	if (s == NULL || level == NULL) {
		return -EINVAL;
	}
	for (i = 0; i < sizeof(g_level_names) / sizeof(g_level_names[0]); i++) {
		if (strcasecmp(s, g_level_names[i].name) == 0) {
			*level = g_level_names[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

const char *
brisk_log_level_to_string(enum brisk_log_level level)
{
	switch (level) {
	case BRISK_LOG_DISABLED: return "disabled";
	case BRISK_LOG_ERROR: return "error";
	case BRISK_LOG_WARN: return "warning";
	case BRISK_LOG_NOTICE: return "notice";
	case BRISK_LOG_INFO: return "info";
	case BRISK_LOG_DEBUG: return "debug";
	}
	return "unknown";
}

void
brisk_log_open_syslog(const char *ident)
{
	/* openlog keeps the pointer, so the identity must outlive the log: the
	 * caller's string is copied once and kept for the life of the process
	 * (reopening with another name leaks the small previous copy on purpose,
	 * since syslog calls from other threads might still be using it). */
	static char *saved_ident;
	char *copy = NULL;

	if (ident != NULL) {
		copy = strdup(ident);
	}
	pthread_mutex_lock(&g_flags_lock);
	if (copy != NULL) {
		saved_ident = copy;
	}
	openlog(saved_ident, LOG_PID, LOG_LOCAL7);
	__atomic_store_n(&g_syslog_open, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&g_flags_lock);
}

void
brisk_log_close(void)
{
	pthread_mutex_lock(&g_flags_lock);
	if (__atomic_load_n(&g_syslog_open, __ATOMIC_RELAXED)) {
		__atomic_store_n(&g_syslog_open, 0, __ATOMIC_RELAXED);
		closelog();
	}
	pthread_mutex_unlock(&g_flags_lock);
}

void
brisk_log_enable_timestamps(bool enable)
{
	__atomic_store_n(&g_timestamps, enable ? 1 : 0, __ATOMIC_RELAXED);
}

void
brisk_log_register_flag(struct brisk_log_flag *flag)
{
	struct brisk_log_flag **pos;

	if (flag == NULL || flag->name == NULL) {
		return;
	}
	pthread_mutex_lock(&g_flags_lock);
	for (pos = &g_flags; *pos != NULL; pos = &(*pos)->next) {
		if (*pos == flag) {
			goto out; /* registered twice: keep the list a list */
		}
		if (strcmp((*pos)->name, flag->name) > 0) {
			break;
		}
	}
	flag->next = *pos;
	*pos = flag;
out:
	pthread_mutex_unlock(&g_flags_lock);
}

static int
log_flag_write(const char *name, bool value)
{
	struct brisk_log_flag *flag;
	bool all;
	int rc = -EINVAL;

	if (name == NULL) {
		return -EINVAL;
	}
	all = strcasecmp(name, "all") == 0;
	pthread_mutex_lock(&g_flags_lock);
	for (flag = g_flags; flag != NULL; flag = flag->next) {
		if (all || strcasecmp(flag->name, name) == 0) {
			/* BRISK_DEBUGLOG reads the bool without a lock; the store is
			 * atomic so a reader sees old or new, never a torn value. */
			__atomic_store_n(&flag->enabled, value, __ATOMIC_RELAXED);
			rc = 0;
		}
	}
	pthread_mutex_unlock(&g_flags_lock);
	return all ? 0 : rc;
}

int
brisk_log_set_flag(const char *name)
{
	return log_flag_write(name, true);
}

int
brisk_log_clear_flag(const char *name)
{
	return log_flag_write(name, false);
}

bool
brisk_log_get_flag(const char *name)
{
	struct brisk_log_flag *flag;
	bool value = false;

	if (name == NULL) {
		return false;
	}
	pthread_mutex_lock(&g_flags_lock);
	for (flag = g_flags; flag != NULL; flag = flag->next) {
		if (strcasecmp(flag->name, name) == 0) {
			value = __atomic_load_n(&flag->enabled, __ATOMIC_RELAXED);
			break;
		}
	}
	pthread_mutex_unlock(&g_flags_lock);
	return value;
}

/* The list only grows and is built before main, so walking it without the
 * lock is safe once registration is over (the documented usage). */
struct brisk_log_flag *
brisk_log_get_first_flag(void)
{
	return g_flags;
}

struct brisk_log_flag *
brisk_log_get_next_flag(struct brisk_log_flag *flag)
{
	return flag == NULL ? NULL : flag->next;
}

/* Writes the whole buffer; one write(2) call in the normal case, which keeps
 * lines from concurrent threads whole (stderr is unbuffered, and stdio would
 * split long lines into several writes). */
static void
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

static const char *
base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

/* "[2026-11-22 09:00:00.123456] " into buf; returns its length (0 on failure). */
static size_t
format_timestamp(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;
	size_t n;
	int m;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (localtime_r(&ts.tv_sec, &tm) == NULL) {
		return 0;
	}
	n = strftime(buf, size, "[%Y-%m-%d %H:%M:%S", &tm);
	if (n == 0) {
		return 0;
	}
	m = snprintf(buf + n, size - n, ".%06ld] ", ts.tv_nsec / 1000);
	if (m < 0 || (size_t)m >= size - n) {
		return 0;
	}
	return n + (size_t)m;
}

static void
log_to_stderr(enum brisk_log_level level, const char *file, int line, const char *func,
	      const char *msg, size_t msg_len)
{
	char stack[LOG_LINE_STACK];
	char prefix[256];
	char *buf = stack;
	size_t plen = 0, total;
	int n;

	if (__atomic_load_n(&g_timestamps, __ATOMIC_RELAXED)) {
		plen = format_timestamp(prefix, sizeof(prefix));
	}
	n = snprintf(prefix + plen, sizeof(prefix) - plen, "%s:%d:%s: %s: ",
		     base_name(file), line, func, g_level_tags[level]);
	if (n < 0) {
		return;
	}
	plen += (size_t)n < sizeof(prefix) - plen ? (size_t)n : sizeof(prefix) - plen - 1;

	total = plen + msg_len + 1; /* + '\n' */
	if (total > sizeof(stack)) {
		buf = malloc(total);
		if (buf == NULL) {
			/* Out of memory: fall back to a truncated line. */
			buf = stack;
			msg_len = sizeof(stack) - plen - 1;
			total = sizeof(stack);
		}
	}
	memcpy(buf, prefix, plen);
	memcpy(buf + plen, msg, msg_len);
	buf[total - 1] = '\n';
	write_all(STDERR_FILENO, buf, total);
	if (buf != stack) {
		free(buf);
	}
}

static bool
has_control_byte(const char *msg, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)msg[i] < 0x20 || (unsigned char)msg[i] == 0x7f) {
			return true;
		}
	}
	return false;
}

/* msg with its control characters escaped (a new malloc'ed buffer; msg is
 * freed unless it is the caller's stack buffer). On allocation failure the
 * control bytes are replaced by '?' in place: still one line. */
static char *
log_escape(char *msg, size_t *len, char *stack)
{
	size_t need;
	char *esc;

	if (!has_control_byte(msg, *len)) {
		return msg;
	}
	need = brisk_str_escape_control_chars(NULL, 0, msg, *len);
	esc = malloc(need + 1);
	if (esc == NULL) {
		for (size_t i = 0; i < *len; i++) {
			if ((unsigned char)msg[i] < 0x20 || (unsigned char)msg[i] == 0x7f) {
				msg[i] = '?';
			}
		}
		return msg;
	}
	brisk_str_escape_control_chars(esc, need + 1, msg, *len);
	if (msg != stack) {
		free(msg);
	}
	*len = need;
	return esc;
}

void
brisk_vlog(enum brisk_log_level level, const char *file, int line, const char *func,
	   const char *format, va_list ap)
{
	char stack[LOG_LINE_STACK];
	char *msg = stack;
	bool to_stderr, to_syslog;
	size_t len;
	int saved_errno = errno; /* callers often log and then look at errno */
	va_list ap2;
	int n;

	if (level < BRISK_LOG_ERROR || level > BRISK_LOG_DEBUG) {
		return;
	}
	to_stderr = (int)level <= __atomic_load_n(&g_print_level, __ATOMIC_RELAXED);
	to_syslog = __atomic_load_n(&g_syslog_open, __ATOMIC_RELAXED) &&
		    (int)level <= __atomic_load_n(&g_log_level, __ATOMIC_RELAXED);
	if (!to_stderr && !to_syslog) {
		return;
	}
	if (file == NULL) {
		file = "?";
	}
	if (func == NULL) {
		func = "?";
	}

	va_copy(ap2, ap);
	n = vsnprintf(stack, sizeof(stack), format, ap);
	if (n < 0) {
		va_end(ap2);
		errno = saved_errno;
		return;
	}
	len = (size_t)n;
	if (len >= sizeof(stack)) {
		msg = malloc(len + 1);
		if (msg != NULL) {
			vsnprintf(msg, len + 1, format, ap2);
		} else {
			msg = stack;
			len = sizeof(stack) - 1;
		}
	}
	va_end(ap2);

	/* One message is one line: the trailing newline most callers put in
	 * the format is dropped here and added back once. */
	while (len > 0 && msg[len - 1] == '\n') {
		len--;
	}
	msg = log_escape(msg, &len, stack);

	if (to_stderr) {
		log_to_stderr(level, file, line, func, msg, len);
	}
	if (to_syslog) {
		syslog(g_syslog_prio[level], "%s:%d:%s: %s: %.*s", base_name(file), line, func,
		       g_level_tags[level], (int)len, msg);
	}
	if (msg != stack) {
		free(msg);
	}
	errno = saved_errno;
}

void
brisk_log(enum brisk_log_level level, const char *file, int line, const char *func,
	  const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	brisk_vlog(level, file, line, func, format, ap);
	va_end(ap);
}

/* ---- Rate limiting ----
 * Lock-free: the fields are touched with relaxed atomics. Two threads racing
 * at an interval boundary may both print, or one summary may count a line of
 * the next interval; the counts stay approximate by a line or two, which is
 * all a flood summary needs, and the I/O path takes no lock. */

static uint64_t
ratelimit_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
ratelimit_summary(struct brisk_log_ratelimit *rl, enum brisk_log_level level, uint64_t dropped,
		  const char *file, int line, const char *func)
{
	brisk_log(level, file, line, func, "last message repeated %lu more times "
		  "(rate-limited to %u per %u ms)", (unsigned long)dropped, rl->burst,
		  rl->interval_ms);
}

bool
brisk_log_ratelimit(struct brisk_log_ratelimit *rl, enum brisk_log_level level, const char *file,
		    int line, const char *func)
{
	uint64_t now = ratelimit_now_ms();
	uint64_t start = __atomic_load_n(&rl->start_ms, __ATOMIC_RELAXED);
	uint64_t dropped;

	if (start == 0 || now - start >= rl->interval_ms) {
		/* The thread that moves the window prints the summary once. */
		if (__atomic_compare_exchange_n(&rl->start_ms, &start, now, false, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED)) {
			/* The site, for a flush's summary (atomic: read by any thread). */
			__atomic_store_n(&rl->file, file, __ATOMIC_RELAXED);
			__atomic_store_n(&rl->line, line, __ATOMIC_RELAXED);
			__atomic_store_n(&rl->func, func, __ATOMIC_RELAXED);
			__atomic_store_n(&rl->count, 0, __ATOMIC_RELAXED);
			dropped = __atomic_exchange_n(&rl->suppressed, 0, __ATOMIC_RELAXED);
			if (dropped > 0) {
				ratelimit_summary(rl, level, dropped, file, line, func);
			}
		}
	}
	if (__atomic_fetch_add(&rl->count, 1, __ATOMIC_RELAXED) < rl->burst) {
		return true;
	}
	__atomic_fetch_add(&rl->suppressed, 1, __ATOMIC_RELAXED);
	return false;
}

void
brisk_log_ratelimit_flush(struct brisk_log_ratelimit *rl, enum brisk_log_level level)
{
	uint64_t dropped = __atomic_exchange_n(&rl->suppressed, 0, __ATOMIC_RELAXED);

	if (dropped > 0) {
		ratelimit_summary(rl, level, dropped, __atomic_load_n(&rl->file, __ATOMIC_RELAXED),
				  __atomic_load_n(&rl->line, __ATOMIC_RELAXED),
				  __atomic_load_n(&rl->func, __ATOMIC_RELAXED));
	}
}
