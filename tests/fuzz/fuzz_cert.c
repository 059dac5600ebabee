/*
 * Fuzz certificate loading (DER / PEM bundles), role detection, the AMD
 * extension reader, and chain selection + checks over whatever loads: the
 * first VCEK/VLEK (or first certificate) is the leaf, the rest the chain.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "snp/certs.h"
#include "snp/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct snp_trust *trust;
	STACK_OF(X509) *sk = NULL;
	struct ccu_reason why = { 0 };
	struct snp_verdict v;
	struct snp_verify_opts opts = { .at = 1735689600 };
	X509 *leaf = NULL;

	if (!trust)
		trust = snp_trust_new();
	if (snp_certs_load_mem(data, size, &sk, &why) != 0)
		return 0;
	for (int i = 0; i < sk_X509_num(sk); i++) {
		X509 *x = sk_X509_value(sk, i);
		enum snp_product p;
		enum snp_cert_role r = snp_cert_role(x, &p);
		struct snp_cert_ext e;
		uint8_t sha[32];

		(void)snp_cert_role_name(r);
		if (snp_cert_amd_ext(x, &e, &why) == 0 && e.has_product_name &&
		    strlen(e.product_name) >= sizeof(e.product_name))
			__builtin_trap();
		(void)snp_cert_sha256(x, sha);
		if (!leaf && (r == SNP_CERT_VCEK || r == SNP_CERT_VLEK))
			leaf = x;
	}
	if (!leaf)
		leaf = sk_X509_value(sk, 0);
	if (trust && snp_verify(trust, NULL, leaf, sk, &opts, &v) == 0 && !v.ok)
		__builtin_trap(); /* "verified" must mean ok */
	sk_X509_pop_free(sk, X509_free);
	return 0;
}
