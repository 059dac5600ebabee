/*
 * /kbs/v0/attest for tee az-snp-vtpm (Azure confidential VMs): the
 * primary_evidence is Trustee's az-snp-vtpm JSON (snp/azure.h). The KBS
 * binding of the session (SHA-384 of the JCS runtime-data preimage, as for
 * snp) must be the TPM quote's qualifying data, and, for evidence v2, the
 * HCL runtime data's user-data (then 16 zero bytes), which binds the SNP
 * report itself. rcar.c dispatches here; this file owns the Azure path.
 */
#include "broker/azure_attest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "broker/azure_verify.h"
#include "broker/certsrc.h"
#include "common/jflat.h"
#include "common/log.h"
#include "kbs/preimage.h"

bool broker_az_is_evidence(const struct jf_doc *d, uint32_t primary)
{
	return jf_get(d, primary, "tpm_quote") != JF_NONE || jf_get(d, primary, "quote") != JF_NONE;
}

int broker_az_prepare(struct broker_attest_prep *p, const char *nonce, struct ccu_reason *err)
{
	uint8_t rd[KBS_REPORT_DATA_LEN];
	const json_t *pe;
	int r;

	p->azure = true;
	pe = kbs_attestation_primary_json(&p->att);
	if (!pe)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	r = az_evidence_parse(pe, &p->az_ev, err);
	if (r < 0)
		return r;
	p->az = calloc(1, sizeof(*p->az));
	if (!p->az)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	r = az_claims_parse(&p->az_ev, p->az, err);
	if (r < 0)
		return r;
	p->report = p->az->report;
	p->have_report = true;
	r = kbs_report_data_broker(KBS_HASH_SHA384, nonce, &p->att.tee_pubkey, "", rd, err);
	if (r < 0)
		return r;
	memcpy(p->az_binding, rd, sizeof(p->az_binding));
	return 0;
}

void broker_az_prep_done(struct broker_attest_prep *p)
{
	az_evidence_done(&p->az_ev);
	free(p->az);
	p->az = NULL;
}

static int az_digest(const struct az_evidence *ev, X509 *leaf, uint8_t out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *der = NULL;
	int n = i2d_X509(leaf, &der), ok;

	ok = md && n > 0 && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(md, ev->hcl, ev->hcl_len) == 1 &&
	     EVP_DigestUpdate(md, ev->msg, ev->msg_len) == 1 &&
	     EVP_DigestUpdate(md, ev->sig, ev->sig_len) == 1 &&
	     EVP_DigestUpdate(md, ev->pcrs, ev->npcrs * 32) == 1 &&
	     EVP_DigestUpdate(md, der, (size_t)n) == 1 && EVP_DigestFinal_ex(md, out, NULL) == 1;
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	return ok ? 0 : -EIO;
}

int broker_az_attest_verify(struct broker_server *s, struct broker_attest_prep *p, time_t now,
			    X509 **leaf, STACK_OF(X509) **pool, uint8_t digest[32],
			    bool *have_digest, enum snp_product *product, struct ccu_reason *why)
{
	struct snp_verify_opts vo = { .at = now, .cache = s->chains };
	struct snp_verdict v;
	STACK_OF(X509) *ev = sk_X509_new_null();
	const char *from;
	int r;

	if (!ev || !X509_up_ref(p->az_ev.vcek) || !sk_X509_push(ev, p->az_ev.vcek)) {
		sk_X509_free(ev);
		return ccu_fail(why, -ENOMEM, "INTERNAL", "out of memory");
	}
	r = broker_certs_collect(&s->certs, &p->report, ev, leaf, pool, &from, why);
	sk_X509_pop_free(ev, X509_free);
	if (r < 0)
		return r;
	*have_digest = az_digest(&p->az_ev, *leaf, digest) == 0;
	r = broker_az_verify(s->trust, &p->az_ev, *leaf, *pool, &vo, p->az_binding,
			     sizeof(p->az_binding), p->az, &v, why);
	*product = v.product;
	if (r < 0)
		return r;
	log_debug("verified %s evidence (%s %s, leaf from %s, evidence v%d)", AZ_TEE_NAME,
		  snp_product_name(v.product), snp_cert_role_name(v.leaf_role), from,
		  p->az->evidence_version);
	return 0;
}
