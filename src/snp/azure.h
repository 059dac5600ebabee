/*
 * Trustee's `az-snp-vtpm` evidence (Azure SEV-SNP confidential VMs) and its
 * verification. The JSON forms, as Trustee's verifier reads them:
 *
 *   v0: {"quote": {"signature": [u8...], "message": [u8...],
 *                  "pcrs": [[32 x u8]...]},
 *        "report": [u8...]  (HCL report), "vcek": "<PEM>"}
 *   v1, v2: {"version": 1|2,
 *            "tpm_quote": {"signature": "<hex>", "message": "<hex>",
 *                          "pcrs": ["<64 hex>"...]},
 *            "hcl_report": "<base64url, padded>", "vcek": "<base64url DER>"}
 *
 * v2 also carries the report data in the runtime data's "user-data" (the
 * paravisor copies NV index 0x01400002 there), which binds the SNP report
 * itself, not just the quote, to the session. ccunlock's guest sends v2.
 * Members other than these are rejected.
 *
 * Verification (the caller runs snp_verify() on claims.report between
 * az_claims_parse() and az_verify_quote(), so the SNP report's codes keep
 * their meaning). Checks after the SNP report, in this order, each with
 * its own code:
 *   AZ_REPORT_DATA      SNP REPORT_DATA != SHA-256(runtime data) || 0^32
 *   AZ_QUOTE_SIGNATURE  the quote signature is not an RSASSA-PKCS1-v1_5
 *                       SHA-256 signature by the runtime data's AK
 *   AZ_QUOTE_MESSAGE    it is an AK signature, but over another message
 *                       (the TPMS_ATTEST bytes were changed)
 *   AZ_TPM_FORMAT       the signed TPMS_ATTEST is not a sha256 PCR quote
 *   AZ_PCR_DIGEST       SHA-256 of the PCR values != the quote's pcrDigest
 *   AZ_QUOTE_NONCE      the quote's qualifying data != the expected binding
 *   AZ_USER_DATA        v2: runtime "user-data" != binding || 0 padding
 * Parse codes: AZ_EVIDENCE_JSON, AZ_HCL_FORMAT, AZ_RUNTIME_JSON, FORMAT_*.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "common/reason.h"
#include "snp/hcl.h"
#include "snp/report.h"

#define AZ_TEE_NAME "az-snp-vtpm"
#define AZ_EVIDENCE_VERSION_MAX 2
#define AZ_EVIDENCE_MAX_TEXT (128 * 1024)
#define AZ_VCEK_MAX_DER 8192

struct az_evidence {
	int version; /* 0, 1 or 2 */
	uint8_t *hcl; /* malloc'ed */
	size_t hcl_len;
	uint8_t msg[AZ_TPM_ATTEST_MAX];
	size_t msg_len;
	uint8_t sig[AZ_TPM_SIG_MAX];
	size_t sig_len;
	uint8_t pcrs[AZ_TPM_PCR_COUNT][32];
	size_t npcrs;
	X509 *vcek;
};

int az_evidence_parse(const json_t *obj, struct az_evidence *out, struct ccu_reason *err);
int az_evidence_parse_text(const char *text, size_t len, struct az_evidence *out,
			   struct ccu_reason *err);
void az_evidence_done(struct az_evidence *e);

/* The v2 JSON object (new reference, NULL on ENOMEM or bad sizes). */
json_t *az_evidence_build(const uint8_t *hcl, size_t hcl_len, const uint8_t *msg, size_t msg_len,
			  const uint8_t *sig, size_t sig_len, const uint8_t (*pcrs)[32],
			  size_t npcrs, const uint8_t *vcek_der, size_t vcek_len);

/* What the evidence says, once parsed (and trusted once verified). */
struct az_claims {
	int evidence_version;
	uint32_t hcl_version;
	struct snp_report report;
	struct az_runtime runtime;
	struct az_tpm_quote quote;  /* valid after az_verify_quote */
	bool quote_ok;
	uint32_t pcr_mask;          /* PCRs with a value in pcr[] */
	uint8_t pcr[AZ_TPM_PCR_COUNT][32];
	bool binding_checked;
};

/* HCL report, its SNP report and runtime data. */
int az_claims_parse(const struct az_evidence *ev, struct az_claims *c, struct ccu_reason *err);

/*
 * The Azure checks above. @binding (NULL = not checked: the caller reports
 * c->quote.extra instead) is the expected qualifying data; for v2 the
 * runtime user-data must be it followed by zero bytes.
 * 0, -EKEYREJECTED with @err set, or another -errno.
 */
int az_verify_quote(const struct az_evidence *ev, struct az_claims *c, const uint8_t *binding,
		    size_t binding_len, struct ccu_reason *err);

/* The claims as JSON (PCRs, vm-configuration, qualifying data). */
json_t *az_claims_describe(const struct az_claims *c);
