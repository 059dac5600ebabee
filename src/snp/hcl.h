/*
 * Azure confidential VMs: the paravisor's HCL report and the vTPM quote.
 *
 * On Azure SEV-SNP VMs the guest OS runs above Microsoft's paravisor (the
 * HCL) and has no /dev/sev-guest. The paravisor writes an "HCL report" to
 * vTPM NV index 0x01400001 (after the guest writes 64 bytes of report data
 * to 0x01400002):
 *
 *   0x000  header (32 bytes, little-endian u32s): signature "HCLA",
 *          version (1 or 2), report_size (bytes used from offset 0),
 *          request_type (2), status (0), 3 reserved (0)
 *   0x020  the SEV-SNP ATTESTATION_REPORT (1184 bytes), REPORT_DATA[0..32] =
 *          SHA-256(runtime data), REPORT_DATA[32..64] = 0
 *   0x4C0  IGVM request data (20 bytes): data_size (= 20 + variable size),
 *          version (1), report_type (2 = SNP), report_data_hash_type (1 =
 *          SHA-256), variable_data_size
 *   0x4D4  runtime data: UTF-8 JSON {"keys": [JWK...], "vm-configuration":
 *          {...}, "user-data": "<128 hex>"}, then zero padding to the end of
 *          the NV index.
 *
 * The runtime data's JWK with "kid": "HCLAkPub" is the public part of the
 * vTPM attestation key (persistent handle 0x81000003) that signs TPM2 quotes
 * (TPMS_ATTEST, TPM_ST_ATTEST_QUOTE). Layouts read from the public
 * azure-cvm-tooling and Trustee sources; every field is checked.
 *
 * All parsers are pure (no I/O, no logging) and strict. Reason codes:
 *   AZ_HCL_FORMAT     header, sizes, IGVM request data, padding
 *   AZ_RUNTIME_JSON   runtime-data JSON shape, the AK JWK, vm-configuration types
 *   AZ_TPM_FORMAT     TPMS_ATTEST structure of the quote
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/reason.h"
#include "snp/report.h"

#define AZ_HCL_SIGNATURE 0x414c4348u /* "HCLA" little-endian */
#define AZ_HCL_HEADER_SIZE 0x20
#define AZ_HCL_IGVM_OFFSET (AZ_HCL_HEADER_SIZE + SNP_REPORT_SIZE)
#define AZ_HCL_IGVM_SIZE 20
#define AZ_HCL_RUNTIME_OFFSET (AZ_HCL_IGVM_OFFSET + AZ_HCL_IGVM_SIZE)
#define AZ_HCL_REQUEST_TYPE_REPORT 2
#define AZ_HCL_REPORT_TYPE_SNP 2
#define AZ_HCL_HASH_SHA256 1
/* Bound on an HCL report (the NV index is 2600 bytes today) and its runtime data. */
#define AZ_HCL_MAX 16384
#define AZ_RUNTIME_MAX (AZ_HCL_MAX - AZ_HCL_RUNTIME_OFFSET)

#define AZ_NV_HCL_REPORT 0x01400001u
#define AZ_NV_REPORT_DATA 0x01400002u
#define AZ_AK_HANDLE 0x81000003u
#define AZ_REPORT_DATA_LEN 64

struct az_hcl {
	uint32_t version;
	uint32_t report_size;
	uint32_t request_type;
	const uint8_t *snp;      /* SNP_REPORT_SIZE bytes inside the parsed buffer */
	const uint8_t *runtime;  /* runtime data inside the parsed buffer */
	size_t runtime_len;
};

/* Parse an HCL report (@len bytes, at most AZ_HCL_MAX). @out points into @buf. */
int az_hcl_parse(const uint8_t *buf, size_t len, struct az_hcl *out, struct ccu_reason *err);

/* Runtime data (the JSON the SNP report's REPORT_DATA hashes). */
#define AZ_RSA_MAX_BYTES 512 /* RSA-4096 */
#define AZ_RUNTIME_MAX_KEYS 8
#define AZ_VM_ID_MAX 64

enum az_tristate { AZ_UNKNOWN = -1, AZ_FALSE = 0, AZ_TRUE = 1 };

struct az_runtime {
	uint8_t ak_n[AZ_RSA_MAX_BYTES];
	size_t ak_n_len;
	uint8_t ak_e[8];
	size_t ak_e_len;
	enum az_tristate secure_boot, tpm_enabled, console_enabled;
	char vm_id[AZ_VM_ID_MAX + 1]; /* "" when absent */
	bool has_user_data;
	uint8_t user_data[AZ_REPORT_DATA_LEN];
};

int az_runtime_parse(const uint8_t *buf, size_t len, struct az_runtime *out,
		     struct ccu_reason *err);

/* TPMS_ATTEST of a TPM2_Quote (TPM 2.0 Part 2, 10.12). Big-endian. */
#define AZ_TPM_GENERATED 0xff544347u
#define AZ_TPM_ST_ATTEST_QUOTE 0x8018
#define AZ_TPM_ALG_SHA256 0x000b
#define AZ_TPM_NAME_MAX 68
#define AZ_TPM_DATA_MAX 64
#define AZ_TPM_PCR_COUNT 24
#define AZ_TPM_ATTEST_MAX 1024
#define AZ_TPM_SIG_MAX AZ_RSA_MAX_BYTES

struct az_tpm_quote {
	uint8_t signer[AZ_TPM_NAME_MAX];
	size_t signer_len;
	uint8_t extra[AZ_TPM_DATA_MAX]; /* qualifying data */
	size_t extra_len;
	uint64_t clock;
	uint32_t reset_count;
	uint32_t restart_count;
	uint8_t safe;
	uint64_t firmware;
	uint32_t pcr_mask;        /* selected sha256 PCRs, bit i = PCR i */
	uint8_t pcr_digest[32];   /* SHA-256 over the selected PCR values, ascending */
};

/* Parse exactly @len bytes (at most AZ_TPM_ATTEST_MAX). One sha256 bank of
 * PCRs 0..23 and a 32-byte digest are the only forms accepted. */
int az_tpm_quote_parse(const uint8_t *buf, size_t len, struct az_tpm_quote *out,
		       struct ccu_reason *err);
/* Encode a TPMS_ATTEST from @q (the simulator and tests). Returns the length or -ENOSPC. */
int az_tpm_quote_encode(const struct az_tpm_quote *q, uint8_t *out, size_t cap);
