/*
 * Azure platform simulator - TEST BUILDS ONLY (src/snp/azure_sim.c is
 * simulator code the release binaries never link). It plays Microsoft's
 * paravisor and the vTPM: an RSA-2048 attestation key, an HCL report whose
 * SNP report (signed by an snp_sim platform) hashes the runtime data that
 * carries that AK and the VM configuration, and TPM2 quotes signed by the AK.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "common/reason.h"
#include "snp/azure.h"
#include "snp/sim.h"

struct az_sim_vm {
	EVP_PKEY *ak;                   /* RSA-2048 */
	enum az_tristate secure_boot, console_enabled;
	char vm_id[AZ_VM_ID_MAX + 1];
	uint8_t pcrs[AZ_TPM_PCR_COUNT][32];
	uint32_t pcr_mask;              /* selection of the quote (default all 24) */
};

/* A VM with a new AK, secure boot on, console off, PCR i = i repeated. */
int az_sim_vm_init(struct az_sim_vm *vm, struct ccu_reason *err);
void az_sim_vm_done(struct az_sim_vm *vm);

/* The HCL report (2600 bytes, as the NV index) with @user_data (64 bytes). */
int az_sim_hcl(const struct snp_sim *s, const struct az_sim_vm *vm,
	       const uint8_t user_data[AZ_REPORT_DATA_LEN], uint8_t *out, size_t cap, size_t *len,
	       struct ccu_reason *err);

/* A TPMS_ATTEST quote over vm->pcr_mask with @extra, and its AK signature. */
int az_sim_quote(const struct az_sim_vm *vm, const uint8_t *extra, size_t extra_len, uint8_t *msg,
		 size_t *msg_len, uint8_t *sig, size_t *sig_len, struct ccu_reason *err);

/* The v2 evidence JSON binding @binding (quote qualifying data, and user-data
 * zero-padded to 64 bytes). New reference. */
json_t *az_sim_evidence(const struct snp_sim *s, const struct az_sim_vm *vm,
			const uint8_t *binding, size_t binding_len, struct ccu_reason *err);
