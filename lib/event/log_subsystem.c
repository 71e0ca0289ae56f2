/*
 * The "log" subsystem: makes logging settings part of the saved
 * configuration, so that save_config then a restart with -c keeps the levels
 * and debug flags set at run time (log_set_level, log_set_print_level,
 * log_set_flag). Nothing to start or stop: logging works from the first line.
 */
#include <ctype.h>
#include <string.h>

#include <brisk/event.h>
#include <brisk/log.h>

static void log_subsystem_add_call(json_t *array, const char *method, const char *key, const char *value)
{
	json_t *entry = json_object();
	json_t *params = json_object();

	json_object_set_new(params, key, json_string(value));
	json_object_set_new(entry, "method", json_string(method));
	json_object_set_new(entry, "params", params);
	json_array_append_new(array, entry);
}

/* SPDK writes levels in capitals ("NOTICE"); the parser takes any case. */
static const char *log_level_upper(enum brisk_log_level level, char *buf, size_t len)
{
	const char *s = brisk_log_level_to_string(level);
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < len; i++) {
		buf[i] = (char)toupper((unsigned char)s[i]);
	}
	buf[i] = '\0';
	return buf;
}

static void log_subsystem_write_config_json(json_t *config_array)
{
	struct brisk_log_flag *flag;
	char level[16];

	log_subsystem_add_call(config_array, "log_set_print_level", "level",
			       log_level_upper(brisk_log_get_print_level(), level, sizeof(level)));
	log_subsystem_add_call(config_array, "log_set_level", "level",
			       log_level_upper(brisk_log_get_level(), level, sizeof(level)));
	for (flag = brisk_log_get_first_flag(); flag != NULL; flag = brisk_log_get_next_flag(flag)) {
		if (flag->enabled) {
			log_subsystem_add_call(config_array, "log_set_flag", "flag", flag->name);
		}
	}
}

static struct brisk_subsystem g_log_subsystem = {
	.name = "log",
	.init = NULL,
	.fini = NULL,
	.write_config_json = log_subsystem_write_config_json,
};
BRISK_SUBSYSTEM_REGISTER(g_log_subsystem)
