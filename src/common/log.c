#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *log_program = "ccunlock";
static enum ccu_log_level log_max = CCU_LOG_INFO;
static int kmsg_fd = -1;
static bool log_quiet;

void log_setup(const char *program, enum ccu_log_level max_level)
{
	log_program = program;
	log_max = max_level;
}

void log_set_level(enum ccu_log_level max_level)
{
	log_max = max_level;
}

enum ccu_log_level log_get_level(void)
{
	return log_max;
}

void log_set_quiet(bool quiet)
{
	log_quiet = quiet;
}

int log_open_kmsg(void)
{
	if (kmsg_fd >= 0)
		return 0;
	kmsg_fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC | O_NOCTTY);
	return kmsg_fd < 0 ? -errno : 0;
}

void log_close_kmsg(void)
{
	if (kmsg_fd >= 0)
		(void)close(kmsg_fd);
	kmsg_fd = -1;
}

void log_msg(enum ccu_log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int saved = errno;

	if (level > log_max)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One line only: a message never smuggles a second line to the console. */
	for (char *p = line; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';

	if (!log_quiet)
		fprintf(stderr, "%s: %s\n", log_program, line);
	if (kmsg_fd >= 0) {
		char kbuf[1100];
		int n = snprintf(kbuf, sizeof(kbuf), "<%d>%s: %s\n", (int)level, log_program, line);

		if (n > 0)
			(void)!write(kmsg_fd, kbuf, (size_t)n < sizeof(kbuf) ? (size_t)n : sizeof(kbuf) - 1);
	}
	errno = saved;
}
