/*
 * Azure platform simulator (test builds only): see snp/azure_sim.h.
 */
#include "snp/azure_sim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "common/codec.h"

/* libtpms (swtpm) caps NV indices at 2048 bytes; Azure uses 2600. */
#define SIM_HCL_NV_SIZE 2048

static void le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

int az_sim_vm_init(struct az_sim_vm *vm, struct ccu_reason *err)
{
	memset(vm, 0, sizeof(*vm));
	vm->ak = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (!vm->ak)
		return ccu_fail(err, -EIO, "SIM_CRYPTO", "RSA-2048 key generation failed");
	vm->secure_boot = AZ_TRUE;
	vm->console_enabled = AZ_FALSE;
	snprintf(vm->vm_id, sizeof(vm->vm_id), "%s", "5E1A7C00-0000-4000-8000-00000000A2E0");
	for (unsigned i = 0; i < AZ_TPM_PCR_COUNT; i++)
		memset(vm->pcrs[i], (int)i, 32);
	vm->pcr_mask = 0xffffff;
	return 0;
}

void az_sim_vm_done(struct az_sim_vm *vm)
{
	EVP_PKEY_free(vm->ak);
	memset(vm, 0, sizeof(*vm));
}

static char *b64url_bn(const EVP_PKEY *k, const char *name)
{
	BIGNUM *bn = NULL;
	uint8_t buf[AZ_RSA_MAX_BYTES];
	int n;
	char *s = NULL;

	if (!EVP_PKEY_get_bn_param(k, name, &bn))
		return NULL;
	n = BN_bn2bin(bn, buf);
	BN_free(bn);
	if (n > 0)
		s = ccu_b64_encode_alloc(buf, (size_t)n, CCU_B64_URL);
	return s;
}

static char *runtime_json(const struct az_sim_vm *vm, const uint8_t user_data[64])
{
	char *n = b64url_bn(vm->ak, OSSL_PKEY_PARAM_RSA_N), *e = b64url_bn(vm->ak, OSSL_PKEY_PARAM_RSA_E);
	char ud[129], *out = NULL;
	size_t cap;

	ccu_hex_encode(user_data, 64, ud, sizeof(ud));
	for (size_t i = 0; ud[i]; i++)
		ud[i] = (char)(ud[i] >= 'a' ? ud[i] - 32 : ud[i]);
	if (n && e) {
		cap = strlen(n) + 1024;
		out = malloc(cap);
		if (out)
			snprintf(out, cap,
				 "{\"keys\":[{\"kid\":\"HCLAkPub\",\"key_ops\":[\"sign\"],\"kty\":\"RSA\","
				 "\"e\":\"%s\",\"n\":\"%s\"}],\"vm-configuration\":{%s%s%s%s"
				 "\"tpm-enabled\":true,\"vmUniqueId\":\"%s\"},\"user-data\":\"%s\"}",
				 e, n, vm->console_enabled == AZ_UNKNOWN ? "" : "\"console-enabled\":",
				 vm->console_enabled == AZ_UNKNOWN ? "" :
				 vm->console_enabled == AZ_TRUE ? "true," : "false,",
				 vm->secure_boot == AZ_UNKNOWN ? "" : "\"secure-boot\":",
				 vm->secure_boot == AZ_UNKNOWN ? "" :
				 vm->secure_boot == AZ_TRUE ? "true," : "false,",
				 vm->vm_id, ud);
	}
	free(n);
	free(e);
	return out;
}

int az_sim_hcl(const struct snp_sim *s, const struct az_sim_vm *vm,
	       const uint8_t user_data[AZ_REPORT_DATA_LEN], uint8_t *out, size_t cap, size_t *len,
	       struct ccu_reason *err)
{
	char *rt = runtime_json(vm, user_data);
	uint8_t rd[64] = { 0 };
	struct snp_report rep;
	size_t rl;
	int r;

	if (!rt)
		return ccu_fail(err, -ENOMEM, "SIM_CRYPTO", "runtime data");
	rl = strlen(rt);
	if (cap < SIM_HCL_NV_SIZE || AZ_HCL_RUNTIME_OFFSET + rl > SIM_HCL_NV_SIZE) {
		free(rt);
		return ccu_fail(err, -ENOSPC, "SIM_PARAMS", "HCL report does not fit");
	}
	if (EVP_Digest(rt, rl, rd, NULL, EVP_sha256(), NULL) != 1) {
		free(rt);
		return ccu_fail(err, -EIO, "SIM_CRYPTO", "SHA-256");
	}
	/* The paravisor asks the PSP from VMPL 0. */
	snp_sim_report_template(s, 3, rd, &rep);
	r = snp_sim_sign(s, &rep, err);
	if (r < 0) {
		free(rt);
		return r;
	}
	memset(out, 0, SIM_HCL_NV_SIZE);
	le32(out, AZ_HCL_SIGNATURE);
	le32(out + 4, 2);
	le32(out + 8, (uint32_t)(AZ_HCL_RUNTIME_OFFSET + rl));
	le32(out + 12, AZ_HCL_REQUEST_TYPE_REPORT);
	memcpy(out + AZ_HCL_HEADER_SIZE, rep.raw, SNP_REPORT_SIZE);
	le32(out + AZ_HCL_IGVM_OFFSET, (uint32_t)(AZ_HCL_IGVM_SIZE + rl));
	le32(out + AZ_HCL_IGVM_OFFSET + 4, 1);
	le32(out + AZ_HCL_IGVM_OFFSET + 8, AZ_HCL_REPORT_TYPE_SNP);
	le32(out + AZ_HCL_IGVM_OFFSET + 12, AZ_HCL_HASH_SHA256);
	le32(out + AZ_HCL_IGVM_OFFSET + 16, (uint32_t)rl);
	memcpy(out + AZ_HCL_RUNTIME_OFFSET, rt, rl);
	free(rt);
	*len = SIM_HCL_NV_SIZE;
	return 0;
}

int az_sim_quote(const struct az_sim_vm *vm, const uint8_t *extra, size_t extra_len, uint8_t *msg,
		 size_t *msg_len, uint8_t *sig, size_t *sig_len, struct ccu_reason *err)
{
	struct az_tpm_quote q = { .signer_len = 34, .clock = 1000, .safe = 1,
				  .pcr_mask = vm->pcr_mask, .firmware = 0x2020031200120003ULL };
	EVP_MD_CTX *md = NULL;
	EVP_MD_CTX *d = EVP_MD_CTX_new();
	size_t sl = AZ_TPM_SIG_MAX;
	int n, ok;

	if (extra_len > AZ_TPM_DATA_MAX) {
		EVP_MD_CTX_free(d);
		return ccu_fail(err, -EINVAL, "SIM_PARAMS", "qualifying data too long");
	}
	q.signer[1] = 0x0b;
	memcpy(q.extra, extra, extra_len);
	q.extra_len = extra_len;
	ok = d && EVP_DigestInit_ex(d, EVP_sha256(), NULL) == 1;
	for (unsigned i = 0; ok && i < AZ_TPM_PCR_COUNT; i++)
		if (vm->pcr_mask >> i & 1u)
			ok = EVP_DigestUpdate(d, vm->pcrs[i], 32) == 1;
	ok = ok && EVP_DigestFinal_ex(d, q.pcr_digest, NULL) == 1;
	EVP_MD_CTX_free(d);
	n = ok ? az_tpm_quote_encode(&q, msg, AZ_TPM_ATTEST_MAX) : -EIO;
	if (n < 0)
		return ccu_fail(err, n, "SIM_CRYPTO", "quote encoding");
	*msg_len = (size_t)n;
	md = EVP_MD_CTX_new();
	ok = md && EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, vm->ak, NULL) == 1 &&
	     EVP_DigestSign(md, sig, &sl, msg, *msg_len) == 1;
	EVP_MD_CTX_free(md);
	if (!ok)
		return ccu_fail(err, -EIO, "SIM_CRYPTO", "AK signature");
	*sig_len = sl;
	return 0;
}

json_t *az_sim_evidence(const struct snp_sim *s, const struct az_sim_vm *vm,
			const uint8_t *binding, size_t binding_len, struct ccu_reason *err)
{
	uint8_t ud[AZ_REPORT_DATA_LEN] = { 0 }, hcl[SIM_HCL_NV_SIZE], msg[AZ_TPM_ATTEST_MAX],
		sig[AZ_TPM_SIG_MAX], pcrs[AZ_TPM_PCR_COUNT][32];
	size_t hl, ml, sl, np = 0;
	unsigned char *der = NULL;
	int dl;
	json_t *o;

	if (binding_len > sizeof(ud))
		return NULL;
	memcpy(ud, binding, binding_len);
	if (az_sim_hcl(s, vm, ud, hcl, sizeof(hcl), &hl, err) < 0 ||
	    az_sim_quote(vm, binding, binding_len, msg, &ml, sig, &sl, err) < 0)
		return NULL;
	for (unsigned i = 0; i < AZ_TPM_PCR_COUNT; i++)
		if (vm->pcr_mask >> i & 1u)
			memcpy(pcrs[np++], vm->pcrs[i], 32);
	dl = i2d_X509(snp_sim_vcek(s), &der);
	if (dl <= 0)
		return NULL;
	o = az_evidence_build(hcl, hl, msg, ml, sig, sl, (const uint8_t(*)[32])pcrs, np, der,
			      (size_t)dl);
	OPENSSL_free(der);
	return o;
}
