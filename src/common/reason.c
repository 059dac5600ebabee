#include "common/reason.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			*s = '?';
}

/* The format attribute lets the compiler check callers instead of warning here. */
_printf_(3, 0)
static void vset(struct ccu_reason *r, const char *code, const char *fmt, va_list ap)
	_printf_(3, 0);

static void vset(struct ccu_reason *r, const char *code, const char *fmt, va_list ap)
{
	snprintf(r->code, sizeof(r->code), "%s", code);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	sanitize(r->code);
	sanitize(r->detail);
}

void ccu_reason_set(struct ccu_reason *r, const char *code, const char *fmt, ...)
{
	va_list ap;

	if (!r)
		return;
	va_start(ap, fmt);
	vset(r, code, fmt, ap);
	va_end(ap);
}

void ccu_reason_clear(struct ccu_reason *r)
{
	if (r)
		memset(r, 0, sizeof(*r));
}

bool ccu_reason_is_set(const struct ccu_reason *r)
{
	return r && r->code[0] != '\0';
}

const char *ccu_reason_line(const struct ccu_reason *r, char *buf, size_t len)
{
	if (!ccu_reason_is_set(r))
		snprintf(buf, len, "INTERNAL: no reason recorded");
	else if (r->detail[0])
		snprintf(buf, len, "%s: %s", r->code, r->detail);
	else
		snprintf(buf, len, "%s", r->code);
	return buf;
}
