/*
 * A reason travels with every refusal: a stable machine code (upper-case,
 * e.g. "CHAIN_LEAF_SIGNATURE", "POLICY_MEASUREMENT") and one human line that
 * names the check, the expected and the actual value. Operators see
 * "CODE: detail" as the one line that explains a failure; the audit log and
 * the metrics use the code alone.
 */
#pragma once

#include <stdbool.h>

#include "common/macros.h"

#define CCU_REASON_CODE_MAX 48
#define CCU_REASON_DETAIL_MAX 320

struct ccu_reason {
	char code[CCU_REASON_CODE_MAX];
	char detail[CCU_REASON_DETAIL_MAX];
};

/* Fill @r (when not NULL); the detail is truncated, never overflowed, and
 * non-printable bytes are replaced. */
void ccu_reason_set(struct ccu_reason *r, const char *code, const char *fmt, ...) _printf_(3, 4);

/* Fill @r (when not NULL) and evaluate to @err (a negative errno) so callers
 * can write "return ccu_fail(r, -EBADMSG, "FORMAT_SIZE", "...", ...);". A
 * macro, so that static analysis sees which value every failure path
 * returns. */
static inline int ccu_fail_value(int err)
{
	return err;
}
#define ccu_fail(r, err, code, ...)                                                                \
	(ccu_reason_set((r), (code), __VA_ARGS__), ccu_fail_value(err))

void ccu_reason_clear(struct ccu_reason *r);
bool ccu_reason_is_set(const struct ccu_reason *r);

/* "CODE: detail" into @buf (always terminated). */
const char *ccu_reason_line(const struct ccu_reason *r, char *buf, size_t len);
