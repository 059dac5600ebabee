/* Verification of Trustee `az-snp-vtpm` evidence, shared by the CLI and /attest. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "common/reason.h"
#include "snp/azure.h"
#include "snp/verify.h"

/*
 * Parse the HCL report, verify its SNP report with @leaf (the evidence's
 * VCEK, or one from the broker's cache) (snp_verify: AMD chain pinned, TCB binding, signature; ASK/ARK from
 * @pool), then the Azure checks (az_verify_quote). 0, -EKEYREJECTED with
 * @why set (the SNP codes, or AZ_* / FORMAT_*), or another -errno.
 */
int broker_az_verify(const struct snp_trust *trust, const struct az_evidence *ev, X509 *leaf,
		     STACK_OF(X509) *pool, const struct snp_verify_opts *vo, const uint8_t *binding,
		     size_t binding_len, struct az_claims *c, struct snp_verdict *v,
		     struct ccu_reason *why);

#define BROKER_AZ_MAX_FILES 8

struct broker_az_cli {
	const char *evidence;
	const char *nonce_binding; /* hex, or NULL */
	const char *policy;
	const char *chain[BROKER_AZ_MAX_FILES];
	size_t nchain;
	const char *trusted[BROKER_AZ_MAX_FILES];
	size_t ntrusted;
	enum snp_product product;
	time_t at;
	bool json;
};

/* `ccunlock-kbs verify --tee az-snp-vtpm ...`: exit 0/1/2 as verify. */
int broker_cmd_verify_azure(const struct broker_az_cli *a);
