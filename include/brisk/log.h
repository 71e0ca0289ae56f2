/* Logging: levels, per-component debug flags, timestamps, stderr and syslog. */
#ifndef BRISK_LOG_H
#define BRISK_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

enum brisk_log_level {
	BRISK_LOG_DISABLED = -1,
	BRISK_LOG_ERROR = 0,
	BRISK_LOG_WARN,
	BRISK_LOG_NOTICE,
	BRISK_LOG_INFO,
	BRISK_LOG_DEBUG,
};

/* A per-component debug flag, enabled with -L <name> or log_set_flag. */
struct brisk_log_flag {
	const char *name;
	bool enabled;
	struct brisk_log_flag *next; /* registry list, owned by lib/util */
};

/* Messages at or below the log level go to syslog (when opened). Default NOTICE. */
void brisk_log_set_level(enum brisk_log_level level);
enum brisk_log_level brisk_log_get_level(void);
/* Messages at or below the print level go to stderr. Default NOTICE. */
void brisk_log_set_print_level(enum brisk_log_level level);
enum brisk_log_level brisk_log_get_print_level(void);
/* "error", "warning"/"warn", "notice", "info", "debug", "disabled" (case-insensitive). */
int brisk_log_level_from_string(const char *s, enum brisk_log_level *level);
const char *brisk_log_level_to_string(enum brisk_log_level level);

/* Opens syslog output (facility LOCAL7, with the pid) under the given identity;
 * NULL keeps the previous identity (the program name the first time). */
void brisk_log_open_syslog(const char *ident);
void brisk_log_close(void);
/* Timestamps on stderr lines (default on). */
void brisk_log_enable_timestamps(bool enable);

void brisk_log_register_flag(struct brisk_log_flag *flag);
/* Returns 0, or -EINVAL when no flag has that name (names are case-insensitive).
 * "all" sets/clears every flag. */
int brisk_log_set_flag(const char *name);
int brisk_log_clear_flag(const char *name);
bool brisk_log_get_flag(const char *name);
/* Iterate registered flags (sorted by name): first, then next until NULL. */
struct brisk_log_flag *brisk_log_get_first_flag(void);
struct brisk_log_flag *brisk_log_get_next_flag(struct brisk_log_flag *flag);

/* One line per message (a trailing '\n' in the format is optional), written
 * with a single write(2) so lines from several threads never interleave.
 * errno is preserved. */
void brisk_log(enum brisk_log_level level, const char *file, int line, const char *func,
	       const char *format, ...) __attribute__((format(printf, 5, 6)));
void brisk_vlog(enum brisk_log_level level, const char *file, int line, const char *func,
		const char *format, va_list ap);

/* Rate limit of one message site (an I/O error repeated for every failed
 * I/O): at most burst lines per interval_ms; the lines dropped are counted
 * and told in one "last message repeated N more times" line when the next
 * interval begins (or at brisk_log_ratelimit_flush). Any thread; no lock. */
struct brisk_log_ratelimit {
	uint32_t burst;
	uint32_t interval_ms;
	/* Internal. */
	uint64_t start_ms;
	uint32_t count;
	uint64_t suppressed;
	const char *file; /* the site, for the summary of a flush */
	int line;
	const char *func;
};
#define BRISK_LOG_RATELIMIT_INIT(BURST, INTERVAL_MS) \
	{ .burst = (BURST), .interval_ms = (INTERVAL_MS) }
/* Default for I/O error sites: 10 lines a second. */
#define BRISK_LOG_RATELIMIT_DEFAULT BRISK_LOG_RATELIMIT_INIT(10, 1000)
/* True when the caller may log now (prints the summary of the last interval first). */
bool brisk_log_ratelimit(struct brisk_log_ratelimit *rl, enum brisk_log_level level, const char *file,
			 int line, const char *func);
/* Prints the pending summary, if any (a device that stopped failing, a channel going away). */
void brisk_log_ratelimit_flush(struct brisk_log_ratelimit *rl, enum brisk_log_level level);

#define BRISK_ERRLOG_RATELIMIT(RL, ...) \
	do { \
		if (brisk_log_ratelimit((RL), BRISK_LOG_ERROR, __FILE__, __LINE__, __func__)) { \
			brisk_log(BRISK_LOG_ERROR, __FILE__, __LINE__, __func__, __VA_ARGS__); \
		} \
	} while (0)

/* Declares a debug flag in a .c file: BRISK_LOG_REGISTER_COMPONENT(thread) */
#define BRISK_LOG_REGISTER_COMPONENT(FLAG) \
	struct brisk_log_flag brisk_log_flag_obj_##FLAG = { .name = #FLAG, .enabled = false, .next = NULL }; \
	__attribute__((constructor)) static void brisk_log_flag_register_##FLAG(void) \
	{ \
		brisk_log_register_flag(&brisk_log_flag_obj_##FLAG); \
	}

#define BRISK_ERRLOG(...) brisk_log(BRISK_LOG_ERROR, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define BRISK_WARNLOG(...) brisk_log(BRISK_LOG_WARN, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define BRISK_NOTICELOG(...) brisk_log(BRISK_LOG_NOTICE, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define BRISK_INFOLOG(...) brisk_log(BRISK_LOG_INFO, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define BRISK_DEBUGLOG(FLAG, ...) \
	do { \
		extern struct brisk_log_flag brisk_log_flag_obj_##FLAG; \
		if (brisk_log_flag_obj_##FLAG.enabled) { \
			brisk_log(BRISK_LOG_DEBUG, __FILE__, __LINE__, __func__, __VA_ARGS__); \
		} \
	} while (0)

#ifdef __cplusplus
}
#endif
#endif
