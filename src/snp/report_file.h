/*
 * Report files as operators have them: the raw 1184 bytes, hex text, or
 * base64 text (standard or URL alphabet), detected from the content. A
 * container that holds the report at a known offset (an MSG_REPORT_RSP, an
 * Azure HCL report) needs an explicit offset; without one, any size other
 * than exactly one report is refused instead of guessed. Pure.
 *
 * Reason codes: FORMAT_SIZE (wrong size), INPUT (undecodable text).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/reason.h"
#include "snp/report.h"

enum snp_report_encoding {
	SNP_REPORT_ENC_RAW,
	SNP_REPORT_ENC_HEX,
	SNP_REPORT_ENC_BASE64,
};

/*
 * @has_offset: the caller named an offset (then trailing bytes after the
 * report are allowed: they belong to the container). Returns 0 or -EBADMSG.
 */
int snp_report_file_decode(const uint8_t *data, size_t len, bool has_offset, size_t offset,
			   uint8_t out[SNP_REPORT_SIZE], enum snp_report_encoding *ret_enc,
			   struct ccu_reason *err);

const char *snp_report_encoding_name(enum snp_report_encoding e);
