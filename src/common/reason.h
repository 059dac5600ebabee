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

/* Fill @r (when not NULL) and return @err (a negative errno) so callers can
 * write "return ccu_fail(r, -EBADMSG, "FORMAT_SIZE", "...", ...);". The
 * detail is truncated, never overflowed; non-printable bytes are replaced. */
int ccu_fail(struct ccu_reason *r, int err, const char *code, const char *fmt, ...) _printf_(4, 5);

/* Set without returning anything (for verdicts that collect reasons). */
void ccu_reason_set(struct ccu_reason *r, const char *code, const char *fmt, ...) _printf_(3, 4);

void ccu_reason_clear(struct ccu_reason *r);
bool ccu_reason_is_set(const struct ccu_reason *r);

/* "CODE: detail" into @buf (always terminated). */
const char *ccu_reason_line(const struct ccu_reason *r, char *buf, size_t len);
