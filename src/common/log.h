/*
 * Logging: one line per message, "<program>: <message>", to stderr; in the
 * initramfs also to /dev/kmsg (with a syslog priority) so the reason lands in
 * the kernel log next to the console line. Parsers never log; the code that
 * decides what to do with an error logs it, once.
 *
 * Never pass secrets to these functions.
 */
#pragma once

#include <stdbool.h>

#include "common/macros.h"

enum ccu_log_level {
	CCU_LOG_ERR = 3,
	CCU_LOG_WARNING = 4,
	CCU_LOG_NOTICE = 5,
	CCU_LOG_INFO = 6,
	CCU_LOG_DEBUG = 7,
};

/* @program is kept by pointer (use a string literal). */
void log_setup(const char *program, enum ccu_log_level max_level);
void log_set_level(enum ccu_log_level max_level);
enum ccu_log_level log_get_level(void);
/* Mirror every message to /dev/kmsg (best effort; returns -errno if the
 * device cannot be opened). */
int log_open_kmsg(void);
void log_close_kmsg(void);
/* Silence stderr (tests). */
void log_set_quiet(bool quiet);

void log_msg(enum ccu_log_level level, const char *fmt, ...) _printf_(2, 3);

#define log_error(...) log_msg(CCU_LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(CCU_LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(CCU_LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(CCU_LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(CCU_LOG_DEBUG, __VA_ARGS__)
