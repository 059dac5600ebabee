/*
 * Confidential-computing posture of the running guest (snp-verification
 * §9.4), from every place the kernel tells it, each under a root that tests
 * point at a fake tree:
 *
 *   <dev>/cpu/0/msr                     SEV_STATUS MSR 0xC0010131 (authoritative)
 *   <sysfs>/hypervisor/sev/sev_status   the same value (newer kernels)
 *   <sysfs>/devices/system/cpu/sev/vmpl, <sysfs>/hypervisor/sev/vmpl
 *   <dev>/sev-guest                     the SNP guest driver
 *   <configfs>/tsm/report               configfs-tsm (provider sev_guest)
 *   <efivarfs>/SecureBoot-8be4df61-...  UEFI Secure Boot
 *
 * When the MSR value is known it decides SEV/SEV-ES/SNP; otherwise the SNP
 * guest interfaces imply SNP (and so ES and SEV). Nothing found = not
 * protected. Reason codes of guest_posture_check: POSTURE_NOT_PROTECTED,
 * POSTURE_LEVEL, POSTURE_VMPL, POSTURE_SECURE_BOOT.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "common/reason.h"
#include "guest/config.h"
#include "guest/provider.h"

#define GUEST_MSR_SEV_STATUS 0xC0010131ULL
#define GUEST_SEV_STATUS_SEV (1ULL << 0)
#define GUEST_SEV_STATUS_ES (1ULL << 1)
#define GUEST_SEV_STATUS_SNP (1ULL << 2)
#define GUEST_EFI_SECUREBOOT "SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"

enum guest_secure_boot {
	GUEST_SB_UNKNOWN = 0, /* no efivarfs / no variable (BIOS boot) */
	GUEST_SB_DISABLED,
	GUEST_SB_ENABLED,
};

struct guest_posture {
	bool simulated;          /* test build, simulated platform */
	bool has_sev_status;     /* MSR or sysfs sev_status was read */
	uint64_t sev_status;
	const char *sev_status_source; /* "msr", "sysfs" */
	bool sev, sev_es, snp;
	enum guest_level level;
	int vmpl;                /* -1 when no interface says */
	const char *vmpl_source;
	bool sev_guest_dev;      /* <dev>/sev-guest exists */
	bool tsm_report;         /* <configfs>/tsm/report exists */
	enum guest_secure_boot secure_boot;
	const char *snp_evidence; /* which interface implied SNP (no MSR) */
	const char *note;         /* test builds: what the platform is (else NULL) */
	bool azure_paravisor;    /* Azure: the vTPM holds the paravisor's HCL report */
};

/*
 * Azure confidential VM: the guest runs above Microsoft's paravisor (at a
 * VMPL above 0, as the kernel may report) and its SEV-SNP evidence is the
 * paravisor's HCL report, read through the vTPM. Marks @p so: SNP implied
 * by the HCL report when no other interface said so, and a VMPL above 0 is
 * the paravisor's design, not a refusal (the broker verifies the report).
 */
void guest_posture_azure(struct guest_posture *p);

/* Probe every location; never fails (absence is information). */
void guest_posture_probe(const struct guest_roots *r, struct guest_posture *out);

/* A posture given rather than probed (a test build's simulated platform,
 * src/testonly/): @sev_status and @vmpl from @source, Secure Boot from @r;
 * @note (non-NULL) marks it simulated and is printed with it. */
void guest_posture_given(const struct guest_roots *r, uint64_t sev_status, int vmpl,
			 const char *source, const char *note, struct guest_posture *out);

/* The simulated platform of a test build: SNP, VMPL 0; Secure Boot from @r
 * (src/testonly/guest/test_hooks.c). */
void guest_posture_simulated(const struct guest_roots *r, struct guest_posture *out);

/* Refuse unless @p meets @require (and Secure Boot when @require_sb), at VMPL 0. */
int guest_posture_check(const struct guest_posture *p, enum guest_level require, bool require_sb,
			struct ccu_reason *err);

const char *guest_secure_boot_name(enum guest_secure_boot s); /* "enabled", "disabled", "unknown" */

/* One line for the console and the kernel log: "SEV-SNP (MSR), VMPL 0, Secure Boot
 * unknown" (with the note of a test build's simulated platform). */
const char *guest_posture_line(const struct guest_posture *p, char *buf, size_t len);

/* For `posture` and `status`. */
json_t *guest_posture_json(const struct guest_posture *p);
void guest_posture_print(FILE *f, const struct guest_posture *p);
