/*
 * The release-policy rule matrix, as data: one row per rule (and per TCB
 * component / firmware part) with the policy line(s) that enable it and two
 * mutations of a report - to the boundary value the rule still allows, and
 * one step beyond it, which the rule denies with the row's code.
 *
 * The mutations work on struct snp_report fields and the product only, so
 * the same table drives hand-built reports (test_policy.c) and reports a
 * simulator signs afterwards (apply base + mutation, then sign; rows that
 * touch PM_TOUCH_PLATFORM fields need a platform whose VCEK/firmware match,
 * rows with PM_TOUCH_PRODUCT a platform of the resulting product).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "snp/report.h"

enum pm_touch {
	PM_TOUCH_GUEST = 1 << 0,    /* guest-chosen fields: policy, ids, report data, vmpl */
	PM_TOUCH_PLATFORM = 1 << 1, /* TCBs, firmware version, chip id */
	PM_TOUCH_PRODUCT = 1 << 2,  /* the product (and the report's CPUID) */
	PM_TOUCH_VERSION = 1 << 3,  /* the report version */
};

typedef void (*pm_mutate_fn)(struct snp_report *r, enum snp_product *p);

struct policy_matrix_row {
	const char *name;         /* "min_reported_tcb/snp" */
	const char *code;         /* the denial code of the 'beyond' report */
	const char *policy;       /* the rule's lines, "" for rules that need none */
	const char *detail;       /* a substring of the denial detail */
	enum snp_product product; /* the platform the base report comes from */
	bool by_default;          /* 'beyond' is denied by "measurement = any" alone too */
	unsigned touches;         /* enum pm_touch */
	pm_mutate_fn boundary;    /* still allowed */
	pm_mutate_fn beyond;      /* one step beyond: denied with @code */
};

size_t policy_matrix_count(void);
/* Row @i, or NULL past the end. */
const struct policy_matrix_row *policy_matrix_row(size_t i);
/* The row called @name, or NULL. */
const struct policy_matrix_row *policy_matrix_find(const char *name);

/* A report "measurement = any" allows: version 3, guest POLICY 0x30000
 * (SMT, bit 17), VMPL 0, VCEK signer, CPUID of @p, everything else zero. */
void policy_matrix_base_report(struct snp_report *r, enum snp_product p);

/* The row's whole policy: its lines, plus "measurement = any" unless they
 * name a measurement. Returns the length or -ENOSPC. */
int policy_matrix_policy(const struct policy_matrix_row *row, char *buf, size_t len);

/* Helpers the rows use (also handy for tests building their own reports). */
void pm_set_version(struct snp_report *r, unsigned version, enum snp_product p);
void pm_set_product(struct snp_report *r, enum snp_product *p, enum snp_product to);
void pm_set_tcb(uint8_t raw[8], enum snp_product p, unsigned fmc, unsigned bl, unsigned tee,
		unsigned snp, unsigned ucode);
