/*
 * AMD SEV-SNP certificates: loading (DER or PEM, one or many), roles by
 * name (ARK-<P>, SEV-<P> = ASK, SEV-VLEK-<P> = ASVK, SEV-VCEK, SEV-VLEK),
 * and the AMD extensions of a VCEK/VLEK (OID arc 1.3.6.1.4.1.3704.1):
 * structVersion, productName, the TCB SPLs, hwID, cspID.
 * See snp-verification.md §5.1. Pure parsing: no I/O except *_file().
 *
 * Reason codes: CERT_PARSE (not a certificate / bad encoding),
 * CERT_EXTENSION (malformed AMD extension), INPUT (unreadable file).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "common/reason.h"
#include "snp/report.h"

#define SNP_CERT_MAX_FILE (256 * 1024)
#define SNP_CERT_MAX_COUNT 16

enum snp_cert_role {
	SNP_CERT_UNKNOWN = 0,
	SNP_CERT_ARK,
	SNP_CERT_ASK,
	SNP_CERT_ASVK,
	SNP_CERT_VCEK,
	SNP_CERT_VLEK,
};

const char *snp_cert_role_name(enum snp_cert_role r); /* "ARK", "ASK", ... "unknown" */

/* The AMD extensions of a VCEK/VLEK; has_* says whether each was present. */
struct snp_cert_ext {
	bool has_struct_version;
	long struct_version;
	bool has_product_name;
	char product_name[64];
	bool has_bl, has_tee, has_snp, has_ucode, has_fmc;
	uint8_t bl, tee, snp, ucode, fmc;
	bool has_spl[8];  /* spl_4..spl_7 at index 4..7 */
	uint8_t spl[8];
	size_t hwid_len;  /* 0 when absent */
	uint8_t hwid[64];
	bool hwid_octet_wrapped; /* stored as DER OCTET STRING instead of bare bytes */
	bool has_csp_id;
	char csp_id[128];
};

/*
 * Load certificates from memory: one DER certificate, or PEM text with one
 * or more CERTIFICATE blocks (at most SNP_CERT_MAX_COUNT). Anything else is
 * CERT_PARSE. *ret is a new stack owning its certificates.
 */
int snp_certs_load_mem(const uint8_t *buf, size_t len, STACK_OF(X509) **ret,
		       struct ccu_reason *err);
int snp_certs_load_file(const char *path, STACK_OF(X509) **ret, struct ccu_reason *err);
/* Exactly one certificate (e.g. --vek); more than one is an error. */
int snp_cert_load_one_file(const char *path, X509 **ret, struct ccu_reason *err);

/* Role and product from the subject/issuer common names (AMD naming). */
enum snp_cert_role snp_cert_role(X509 *x, enum snp_product *ret_product);

int snp_cert_sha256(X509 *x, uint8_t out[32]);

/* Parse the AMD extensions of a leaf. Missing extensions are not an error
 * here (has_* false); malformed ones are CERT_EXTENSION (-EBADMSG). */
int snp_cert_amd_ext(X509 *x, struct snp_cert_ext *out, struct ccu_reason *err);
