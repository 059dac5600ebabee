/*
 * Human-facing description of a parsed SNP report: every field decoded
 * (policy bits, platform info, key info, TCBs with the product's layout,
 * firmware versions, CPUID, product). Used by `ccunlock-kbs verify --json`,
 * `ccunlock status` and the broker's audit log. Pure.
 */
#pragma once

#include <stdio.h>

#include <jansson.h>

#include "snp/report.h"

/* New reference, or NULL on allocation failure. Byte fields are lower-case
 * hex strings; bit fields are objects of booleans plus the raw value. */
json_t *snp_report_describe(const struct snp_report *r, enum snp_product product);

/* The same as aligned "name: value" lines (for terminals). */
void snp_report_print(FILE *f, const struct snp_report *r, enum snp_product product);

/* "1.55.29" */
const char *snp_fw_format(const struct snp_fw_version *v, char *buf, size_t len);
