/*
 * The owner's release policy for SEV-SNP reports: deny by default.
 *
 * A policy is a ccunlock config file (common/conf.h syntax) written by hand:
 *
 *   # which launch measurements may get this key (required; "any" allows all)
 *   measurement = 6a6519d757e68c2e939c9dbbbc1828498e8de35d2766dd05f1a2cca5059d0cf4ae62a36d75c837974dd50b315506e73e
 *   min_reported_tcb = bl=3 tee=0 snp=8 ucode=115      # fmc=N also, applies to Turin
 *   min_committed_tcb = ...
 *   min_launch_tcb = ...
 *   min_firmware = 1.55.29                  # CURRENT major.minor.build
 *   min_committed_firmware = 1.55.29
 *   allow_smt = no                          # default yes
 *   require_single_socket = yes             # default no
 *   min_abi = 1.51                          # guest policy ABI major.minor
 *   vmpl = 0                                # default 0
 *   report_data = <128 hex digits>
 *   host_data = <64 hex>                    # repeatable: allowlist
 *   id_key_digest = <96 hex>                # repeatable
 *   author_key_digest = <96 hex>            # repeatable
 *   family_id = <32 hex>                    # repeatable
 *   image_id = <32 hex>                     # repeatable
 *   chip_id = <128 hex>                     # repeatable
 *   min_guest_svn = 1
 *   report_version = 3-5                    # or a single number
 *   product = milan                         # repeatable
 *   init_data_digest = <64|96|128 hex>      # repeatable: the init-data
 *                                           # document's sha256/384/512
 *   additional_evidence = allowed           # or forbidden
 *
 * Debug and migration agents are always refused (guest POLICY bits 19 and
 * 18); there is no key to allow them.
 *
 * Every denial has a stable code and one line that names the rule, the
 * expected and the actual value. Codes:
 *   POLICY_MEASUREMENT POLICY_REPORTED_TCB POLICY_COMMITTED_TCB
 *   POLICY_LAUNCH_TCB POLICY_FIRMWARE POLICY_COMMITTED_FIRMWARE POLICY_DEBUG
 *   POLICY_MIGRATE_MA POLICY_SMT POLICY_SINGLE_SOCKET POLICY_ABI POLICY_VMPL
 *   POLICY_REPORT_DATA POLICY_HOST_DATA POLICY_ID_KEY POLICY_AUTHOR_KEY
 *   POLICY_FAMILY_ID POLICY_IMAGE_ID POLICY_CHIP_ID POLICY_GUEST_SVN
 *   POLICY_REPORT_VERSION POLICY_PRODUCT POLICY_INIT_DATA
 *   POLICY_ADDITIONAL_EVIDENCE
 * Parse errors: CONFIG_SYNTAX CONFIG_UNKNOWN_KEY CONFIG_DUPLICATE_KEY
 *   CONFIG_VALUE CONFIG_MISSING.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/reason.h"
#include "snp/report.h"

struct snp_policy;

int snp_policy_parse(const char *text, size_t len, struct snp_policy **ret, struct ccu_reason *err);
int snp_policy_load_file(const char *path, struct snp_policy **ret, struct ccu_reason *err);
void snp_policy_free(struct snp_policy *p);

/* 0 = allowed; -EKEYREJECTED = denied with @deny set. @product is the
 * verified product (decides the TCB layout). */
int snp_policy_eval(const struct snp_policy *p, const struct snp_report *r, enum snp_product product,
		    struct ccu_reason *deny);

/* What the KBS session adds to the report (the broker's release). */
struct snp_policy_session {
	const uint8_t *init_data_digest; /* NULL: no init-data was presented */
	size_t init_data_digest_len;	 /* 32, 48 or 64 */
	bool additional_evidence;	 /* non-empty additional evidence was bound */
};

/*
 * snp_policy_eval plus the session rules: init_data_digest (the presented
 * init-data's digest must be listed; none presented is a denial) and
 * additional_evidence = forbidden. snp_policy_eval() is this with @sess
 * NULL: no init-data, no additional evidence.
 */
int snp_policy_eval_session(const struct snp_policy *p, const struct snp_report *r,
			    enum snp_product product, const struct snp_policy_session *sess,
			    struct ccu_reason *deny);

/*
 * Azure vTPM evidence (az-snp-vtpm, snp/azure.h), once verified: every rule
 * above applies to the HCL report's SNP report (whose measurement is the
 * paravisor's), then
 *   pcr.N = <64 hex>[, ...]       PCR N (sha256) is one of these (POLICY_PCR;
 *                                 a PCR the quote does not cover is a denial)
 *   azure.secure_boot = required  runtime data secure-boot is true
 *                                 (POLICY_AZURE_SECURE_BOOT)
 *   azure.console = forbidden|allowed  forbidden: console-enabled is false
 *                                 (POLICY_AZURE_CONSOLE)
 *   azure.vm_id = <id>[, ...]     vmUniqueId is one of these (POLICY_AZURE_VM_ID)
 * snp_policy_eval() denies a policy with any of these rules with
 * POLICY_UNCHECKABLE: plain SEV-SNP evidence cannot satisfy them.
 */
struct az_claims;
int snp_policy_eval_azure(const struct snp_policy *p, const struct az_claims *a,
			  enum snp_product product, struct ccu_reason *deny);
/* snp_policy_eval_azure plus the session rules (see snp_policy_eval_session). */
int snp_policy_eval_azure_session(const struct snp_policy *p, const struct az_claims *a,
				  enum snp_product product, const struct snp_policy_session *sess,
				  struct ccu_reason *deny);
