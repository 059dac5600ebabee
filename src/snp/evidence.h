/*
 * Trustee's SNP evidence JSON (kbs-protocol.md §9): the `primary_evidence`
 * object {"attestation_report": {...virtee/sev serde form...},
 * "cert_chain": null | [{"cert_type": "VCEK", "data": [48,130,...]}, ...]}.
 *
 * ccunlock's guest also adds "report_b64": the raw 1184-byte report in
 * standard base64 (Trustee ignores unknown members). A verifier that gets
 * both checks that the JSON fields re-encode to exactly the raw bytes
 * 0x000..0x29F and fails otherwise (EVIDENCE_MISMATCH).
 *
 * JSON -> raw reproduces bytes 0x000..0x29F exactly (the signed range) and
 * copies the signature; reserved bytes are zero. The TCB layout of each TCB
 * object follows its "fmc" member: null = Milan/Genoa, a number = Turin.
 *
 * Reason codes: EVIDENCE_JSON (shape, types, ranges, unknown members inside
 * attestation_report), EVIDENCE_CERT (cert_chain entries), EVIDENCE_MISMATCH.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "common/reason.h"
#include "snp/report.h"

#define SNP_EVIDENCE_MAX_CERTS 8
#define SNP_EVIDENCE_MAX_CERT_DER 16384

struct jf_doc;

/* attestation_report object -> 1184 raw bytes. The json_t form copies @obj
 * through jflat (common/jflat.h) and takes the same path. */
int snp_report_from_jf(const struct jf_doc *d, uint32_t obj, uint8_t out[SNP_REPORT_SIZE],
		       struct ccu_reason *err);
int snp_report_from_json(const json_t *obj, uint8_t out[SNP_REPORT_SIZE], struct ccu_reason *err);
/* Parsed report -> attestation_report object (new reference; NULL on ENOMEM).
 * The product decides the TCB object form (Turin: fmc is a number). */
json_t *snp_report_to_json(const struct snp_report *r, enum snp_product product);

struct snp_evidence {
	uint8_t raw[SNP_REPORT_SIZE];
	STACK_OF(X509) *certs; /* NULL when cert_chain is null */
	bool had_raw_member;    /* "report_b64" was present and matched */
};

/* Parse a primary_evidence object (node @obj of @d, or a json_t). The
 * caller frees with snp_evidence_done. */
int snp_evidence_parse_jf(const struct jf_doc *d, uint32_t obj, struct snp_evidence *out,
			  struct ccu_reason *err);
int snp_evidence_parse(const json_t *obj, struct snp_evidence *out, struct ccu_reason *err);
/* Parse primary_evidence from JSON text (bounded by the caller). */
int snp_evidence_parse_text(const char *text, size_t len, struct snp_evidence *out,
			    struct ccu_reason *err);
void snp_evidence_done(struct snp_evidence *e);

/*
 * Build a primary_evidence object from a raw report and optional
 * certificates (DER; cert types from their names: ARK, ASK, VCEK, VLEK;
 * ASVKs are sent as "ASK" as Trustee's attester does). @certs may be NULL:
 * cert_chain is then null, never []. Adds "report_b64". New reference.
 */
json_t *snp_evidence_build(const uint8_t raw[SNP_REPORT_SIZE], STACK_OF(X509) *certs);
