/*
 * Trustee `az-snp-vtpm` evidence: JSON forms v0..v2 (snp/azure.h) and the
 * checks that tie the vTPM quote to the HCL report's SEV-SNP report.
 * OpenSSL 3 EVP only. Pure: no I/O, no logging.
 */
#include "snp/azure.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "common/codec.h"
#include "common/macros.h"
#include "snp/certs.h"

#define ev_fail(err, ...) ccu_fail((err), -EBADMSG, "AZ_EVIDENCE_JSON", __VA_ARGS__)

/* Exactly the members in @names (NULL-terminated) may appear. */
static int only_members(const json_t *o, const char *const *names, struct ccu_reason *err)
{
	const char *k;
	const json_t *v;

	/* json_object_foreach is not const-correct; the loop does not modify. */
	json_object_foreach((json_t *)(uintptr_t)o, k, v) {
		size_t i;

		for (i = 0; names[i]; i++)
			if (strcmp(k, names[i]) == 0)
				break;
		if (!names[i])
			return ev_fail(err, "unknown member '%s'", k);
	}
	(void)v;
	return 0;
}

static int u8_array(const json_t *a, uint8_t *out, size_t cap, size_t *len, const char *what,
		    struct ccu_reason *err)
{
	size_t i, n = json_array_size(a);

	if (!json_is_array(a) || n == 0 || n > cap)
		return ev_fail(err, "'%s' is not a non-empty byte array of bounded length", what);
	for (i = 0; i < n; i++) {
		const json_t *x = json_array_get(a, i);

		if (!json_is_integer(x) || json_integer_value(x) < 0 ||
		    json_integer_value(x) > 255)
			return ev_fail(err, "'%s' holds a value that is not a byte", what);
		out[i] = (uint8_t)json_integer_value(x);
	}
	*len = n;
	return 0;
}

static int hex_string(const json_t *s, uint8_t *out, size_t cap, size_t *len, const char *what,
		      struct ccu_reason *err)
{
	size_t l = json_string_length(s);
	int r;

	if (!json_is_string(s) || l == 0 || l % 2 || l / 2 > cap)
		return ev_fail(err, "'%s' is not an even-length hex string of bounded length",
			       what);
	r = ccu_hex_decode(json_string_value(s), l, out, cap);
	if (r < 0)
		return ev_fail(err, "'%s' is not hex", what);
	*len = (size_t)r;
	return 0;
}

/* base64url as serde_with writes it: padded; unpadded is accepted too. */
static int b64url_string(const json_t *s, size_t cap, uint8_t **out, size_t *len,
			 const char *what, struct ccu_reason *err)
{
	const char *t = json_string_value(s);
	size_t l = json_string_length(s);
	uint8_t *buf;
	int r;

	if (!t || l == 0 || l > ccu_b64_encoded_len(cap, CCU_B64_STD) || strlen(t) != l)
		return ev_fail(err, "'%s' is not a base64url string of bounded length", what);
	if (l % 4 == 0 && t[l - 1] == '=') {
		l--;
		if (t[l - 1] == '=')
			l--;
	}
	buf = malloc(cap);
	if (!buf)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	r = ccu_b64_decode(t, l, CCU_B64_URL, buf, cap);
	if (r <= 0) {
		free(buf);
		return ev_fail(err, "'%s' is not canonical base64url", what);
	}
	*out = buf;
	*len = (size_t)r;
	return 0;
}

static int one_cert(const uint8_t *buf, size_t len, X509 **ret, struct ccu_reason *err)
{
	STACK_OF(X509) *s = NULL;
	int r = snp_certs_load_mem(buf, len, &s, err);

	if (r < 0)
		return ccu_fail(err, -EBADMSG, "AZ_EVIDENCE_JSON", "'vcek' is not a certificate: %s",
				err ? err->detail : "");
	if (sk_X509_num(s) != 1) {
		sk_X509_pop_free(s, X509_free);
		return ev_fail(err, "'%s' holds more than one certificate", "vcek");
	}
	*ret = sk_X509_shift(s);
	sk_X509_free(s);
	return 0;
}

static int parse_pcrs(const json_t *a, bool hex, struct az_evidence *out, struct ccu_reason *err)
{
	size_t n = json_array_size(a);

	if (!json_is_array(a) || n == 0 || n > AZ_TPM_PCR_COUNT)
		return ev_fail(err, "'%s' is not an array of 1..24 PCR values", "pcrs");
	for (size_t i = 0; i < n; i++) {
		const json_t *p = json_array_get(a, i);
		size_t l = 0;
		int r = hex ? hex_string(p, out->pcrs[i], 32, &l, "pcrs", err) :
			      u8_array(p, out->pcrs[i], 32, &l, "pcrs", err);

		if (r < 0)
			return r;
		if (l != 32)
			return ev_fail(err, "a '%s' value is not 32 bytes (sha256)", "pcrs");
	}
	out->npcrs = n;
	return 0;
}

static int parse_quote(const json_t *q, bool hex, struct az_evidence *out, struct ccu_reason *err)
{
	static const char *const members[] = { "signature", "message", "pcrs", NULL };
	int r;

	if (!json_is_object(q))
		return ev_fail(err, "'%s' is not an object", hex ? "tpm_quote" : "quote");
	if ((r = only_members(q, members, err)) < 0)
		return r;
	if (hex) {
		r = hex_string(json_object_get(q, "signature"), out->sig, sizeof(out->sig),
			       &out->sig_len, "signature", err);
		if (r >= 0)
			r = hex_string(json_object_get(q, "message"), out->msg, sizeof(out->msg),
				       &out->msg_len, "message", err);
	} else {
		r = u8_array(json_object_get(q, "signature"), out->sig, sizeof(out->sig),
			     &out->sig_len, "signature", err);
		if (r >= 0)
			r = u8_array(json_object_get(q, "message"), out->msg, sizeof(out->msg),
				     &out->msg_len, "message", err);
	}
	if (r < 0)
		return r;
	return parse_pcrs(json_object_get(q, "pcrs"), hex, out, err);
}

static int parse_v0(const json_t *obj, struct az_evidence *out, struct ccu_reason *err)
{
	static const char *const members[] = { "quote", "report", "vcek", NULL };
	const json_t *vcek = json_object_get(obj, "vcek");
	int r;

	if ((r = only_members(obj, members, err)) < 0)
		return r;
	if ((r = parse_quote(json_object_get(obj, "quote"), false, out, err)) < 0)
		return r;
	out->hcl = malloc(AZ_HCL_MAX);
	if (!out->hcl)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	if ((r = u8_array(json_object_get(obj, "report"), out->hcl, AZ_HCL_MAX, &out->hcl_len,
			  "report", err)) < 0)
		return r;
	if (!json_is_string(vcek) || json_string_length(vcek) > 2 * AZ_VCEK_MAX_DER)
		return ev_fail(err, "'%s' is not a PEM string", "vcek");
	return one_cert((const uint8_t *)json_string_value(vcek), json_string_length(vcek),
			&out->vcek, err);
}

static int parse_v12(const json_t *obj, struct az_evidence *out, struct ccu_reason *err)
{
	static const char *const members[] = { "version", "tpm_quote", "hcl_report", "vcek", NULL };
	_cleanup_free_ uint8_t *der = NULL;
	size_t der_len;
	int r;

	if ((r = only_members(obj, members, err)) < 0)
		return r;
	if ((r = parse_quote(json_object_get(obj, "tpm_quote"), true, out, err)) < 0)
		return r;
	if ((r = b64url_string(json_object_get(obj, "hcl_report"), AZ_HCL_MAX, &out->hcl,
			       &out->hcl_len, "hcl_report", err)) < 0)
		return r;
	if ((r = b64url_string(json_object_get(obj, "vcek"), AZ_VCEK_MAX_DER, &der, &der_len,
			       "vcek", err)) < 0)
		return r;
	return one_cert(der, der_len, &out->vcek, err);
}

int az_evidence_parse(const json_t *obj, struct az_evidence *out, struct ccu_reason *err)
{
	const json_t *ver;
	int r;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(obj))
		return ev_fail(err, "the %s evidence is not a JSON object", AZ_TEE_NAME);
	ver = json_object_get(obj, "version");
	if (!ver) {
		r = parse_v0(obj, out, err);
	} else if (!json_is_integer(ver) || json_integer_value(ver) < 1 ||
		   json_integer_value(ver) > AZ_EVIDENCE_VERSION_MAX) {
		r = ev_fail(err, "'%s' is not 1 or 2", "version");
	} else {
		out->version = (int)json_integer_value(ver);
		r = parse_v12(obj, out, err);
	}
	if (r < 0)
		az_evidence_done(out);
	return r;
}

int az_evidence_parse_text(const char *text, size_t len, struct az_evidence *out,
			   struct ccu_reason *err)
{
	json_error_t jerr;
	json_t *o;
	int r;

	memset(out, 0, sizeof(*out));
	if (len > AZ_EVIDENCE_MAX_TEXT)
		return ev_fail(err, "the evidence is longer than %s", "128 KiB");
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o)
		return ccu_fail(err, -EBADMSG, "AZ_EVIDENCE_JSON", "not JSON: %s (at %d)", jerr.text,
				jerr.position);
	r = az_evidence_parse(o, out, err);
	json_decref(o);
	return r;
}

void az_evidence_done(struct az_evidence *e)
{
	free(e->hcl);
	X509_free(e->vcek);
	memset(e, 0, sizeof(*e));
}

static json_t *hex_json(const uint8_t *b, size_t n)
{
	char *s = malloc(2 * n + 1);
	json_t *j;

	if (!s)
		return NULL;
	ccu_hex_encode(b, n, s, 2 * n + 1);
	j = json_string(s);
	free(s);
	return j;
}

static json_t *b64url_padded_json(const uint8_t *b, size_t n)
{
	size_t l = ccu_b64_encoded_len(n, CCU_B64_STD);
	char *s = malloc(l + 1);
	json_t *j;

	if (!s || ccu_b64_encode(b, n, CCU_B64_STD, s, l + 1) < 0) {
		free(s);
		return NULL;
	}
	for (size_t i = 0; i < l; i++)
		s[i] = s[i] == '+' ? '-' : s[i] == '/' ? '_' : s[i];
	j = json_string(s);
	free(s);
	return j;
}

json_t *az_evidence_build(const uint8_t *hcl, size_t hcl_len, const uint8_t *msg, size_t msg_len,
			  const uint8_t *sig, size_t sig_len, const uint8_t (*pcrs)[32],
			  size_t npcrs, const uint8_t *vcek_der, size_t vcek_len)
{
	json_t *o, *q, *pa;

	if (!hcl_len || hcl_len > AZ_HCL_MAX || !msg_len || msg_len > AZ_TPM_ATTEST_MAX ||
	    !sig_len || sig_len > AZ_TPM_SIG_MAX || !npcrs || npcrs > AZ_TPM_PCR_COUNT ||
	    !vcek_len || vcek_len > AZ_VCEK_MAX_DER)
		return NULL;
	pa = json_array();
	for (size_t i = 0; pa && i < npcrs; i++)
		if (json_array_append_new(pa, hex_json(pcrs[i], 32)) < 0) {
			json_decref(pa);
			pa = NULL;
		}
	q = pa ? json_object() : NULL;
	if (q && (json_object_set_new(q, "signature", hex_json(sig, sig_len)) < 0 ||
		  json_object_set_new(q, "message", hex_json(msg, msg_len)) < 0 ||
		  json_object_set(q, "pcrs", pa) < 0)) {
		json_decref(q);
		q = NULL;
	}
	json_decref(pa);
	o = q ? json_object() : NULL;
	if (o && (json_object_set_new(o, "version", json_integer(2)) < 0 ||
		  json_object_set(o, "tpm_quote", q) < 0 ||
		  json_object_set_new(o, "hcl_report", b64url_padded_json(hcl, hcl_len)) < 0 ||
		  json_object_set_new(o, "vcek", b64url_padded_json(vcek_der, vcek_len)) < 0)) {
		json_decref(o);
		o = NULL;
	}
	json_decref(q);
	return o;
}

/* ------------------------------------------------------------ verification */

int az_claims_parse(const struct az_evidence *ev, struct az_claims *c, struct ccu_reason *err)
{
	struct az_hcl h;
	int r;

	memset(c, 0, sizeof(*c));
	c->evidence_version = ev->version;
	r = az_hcl_parse(ev->hcl, ev->hcl_len, &h, err);
	if (r < 0)
		return r;
	c->hcl_version = h.version;
	r = snp_report_parse(h.snp, SNP_REPORT_SIZE, &c->report, err);
	if (r < 0)
		return r;
	return az_runtime_parse(h.runtime, h.runtime_len, &c->runtime, err);
}

static int sha256(const uint8_t *a, size_t n, uint8_t out[32])
{
	return EVP_Digest(a, n, out, NULL, EVP_sha256(), NULL) == 1 ? 0 : -EIO;
}

static int ak_pkey(const struct az_runtime *rt, EVP_PKEY **ret)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	BIGNUM *n = BN_bin2bn(rt->ak_n, (int)rt->ak_n_len, NULL);
	BIGNUM *e = BN_bin2bn(rt->ak_e, (int)rt->ak_e_len, NULL);
	int r = -EIO;

	*ret = NULL;
	if (!bld || !n || !e || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, ret, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto out;
	r = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return r;
}

/*
 * RSASSA-PKCS1-v1_5 / SHA-256. Recovering the DigestInfo tells a signature
 * that is not the AK's (bad padding) from an AK signature over other bytes.
 */
static int check_signature(const struct az_evidence *ev, const struct az_claims *c,
			   struct ccu_reason *err)
{
	EVP_PKEY *pk = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_MD_CTX *md = NULL;
	uint8_t want[32], got[AZ_TPM_SIG_MAX];
	size_t got_len = sizeof(got);
	int r;

	if (sha256(ev->msg, ev->msg_len, want) < 0)
		return ccu_fail(err, -EIO, "INTERNAL", "SHA-256 failed");
	if (ak_pkey(&c->runtime, &pk) < 0)
		return ccu_fail(err, -EKEYREJECTED, "AZ_RUNTIME_JSON",
				"the runtime data's HCLAkPub is not a usable RSA key");
	if (ev->sig_len != c->runtime.ak_n_len) {
		r = ccu_fail(err, -EKEYREJECTED, "AZ_QUOTE_SIGNATURE",
			     "quote signature is %zu bytes; the AK modulus is %zu", ev->sig_len,
			     c->runtime.ak_n_len);
		goto out;
	}
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	if (!ctx || EVP_PKEY_verify_recover_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) <= 0) {
		r = ccu_fail(err, -EIO, "INTERNAL", "RSA verify setup failed");
		goto out;
	}
	if (EVP_PKEY_verify_recover(ctx, got, &got_len, ev->sig, ev->sig_len) <= 0 ||
	    got_len != 32) {
		r = ccu_fail(err, -EKEYREJECTED, "AZ_QUOTE_SIGNATURE",
			     "the quote signature is not an RSASSA-PKCS1-v1_5 SHA-256 signature by "
			     "the HCL report's attestation key (HCLAkPub)");
		goto out;
	}
	if (memcmp(got, want, 32) != 0) {
		r = ccu_fail(err, -EKEYREJECTED, "AZ_QUOTE_MESSAGE",
			     "the attestation key signed another TPMS_ATTEST: the quote message "
			     "was changed");
		goto out;
	}
	/* The same verdict through the one-shot interface. */
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, pk, NULL) != 1 ||
	    EVP_DigestVerify(md, ev->sig, ev->sig_len, ev->msg, ev->msg_len) != 1) {
		r = ccu_fail(err, -EKEYREJECTED, "AZ_QUOTE_SIGNATURE",
			     "the quote signature does not verify with HCLAkPub");
		goto out;
	}
	r = 0;
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return r;
}

static unsigned popcount24(uint32_t m)
{
	unsigned n = 0;

	for (unsigned i = 0; i < AZ_TPM_PCR_COUNT; i++)
		n += (m >> i) & 1u;
	return n;
}

static int check_pcrs(const struct az_evidence *ev, struct az_claims *c, struct ccu_reason *err)
{
	EVP_MD_CTX *md;
	uint8_t d[32];
	unsigned sel = popcount24(c->quote.pcr_mask);
	int ok;

	if (ev->npcrs != sel)
		return ccu_fail(err, -EKEYREJECTED, "AZ_PCR_DIGEST",
				"the evidence has %zu PCR values; the quote selects %u", ev->npcrs,
				sel);
	md = EVP_MD_CTX_new();
	ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
	for (size_t i = 0; ok && i < ev->npcrs; i++)
		ok = EVP_DigestUpdate(md, ev->pcrs[i], 32) == 1;
	ok = ok && EVP_DigestFinal_ex(md, d, NULL) == 1;
	EVP_MD_CTX_free(md);
	if (!ok)
		return ccu_fail(err, -EIO, "INTERNAL", "SHA-256 failed");
	if (memcmp(d, c->quote.pcr_digest, 32) != 0)
		return ccu_fail(err, -EKEYREJECTED, "AZ_PCR_DIGEST",
				"SHA-256 of the PCR values does not match the quote's pcrDigest");
	for (unsigned i = 0, k = 0; i < AZ_TPM_PCR_COUNT; i++)
		if (c->quote.pcr_mask >> i & 1u)
			memcpy(c->pcr[i], ev->pcrs[k++], 32);
	c->pcr_mask = c->quote.pcr_mask;
	return 0;
}

int az_verify_quote(const struct az_evidence *ev, struct az_claims *c, const uint8_t *binding,
		    size_t binding_len, struct ccu_reason *err)
{
	struct az_hcl h;
	uint8_t d[32], zero[32] = { 0 };
	int r;

	r = az_hcl_parse(ev->hcl, ev->hcl_len, &h, err);
	if (r < 0)
		return r;
	if (sha256(h.runtime, h.runtime_len, d) < 0)
		return ccu_fail(err, -EIO, "INTERNAL", "SHA-256 failed");
	if (memcmp(c->report.report_data, d, 32) != 0 ||
	    memcmp(c->report.report_data + 32, zero, 32) != 0)
		return ccu_fail(err, -EKEYREJECTED, "AZ_REPORT_DATA",
				"the SNP report's REPORT_DATA is not SHA-256(runtime data) || 0^32: "
				"the runtime data (AK, VM configuration) is not the one the "
				"paravisor reported");
	r = check_signature(ev, c, err);
	if (r < 0)
		return r;
	r = az_tpm_quote_parse(ev->msg, ev->msg_len, &c->quote, err);
	if (r < 0)
		return r == -EBADMSG ? -EKEYREJECTED : r;
	r = check_pcrs(ev, c, err);
	if (r < 0)
		return r;
	c->quote_ok = true;
	if (!binding)
		return 0;
	if (binding_len == 0 || binding_len > AZ_REPORT_DATA_LEN)
		return ccu_fail(err, -EINVAL, "INTERNAL", "binding of %zu bytes", binding_len);
	if (c->quote.extra_len != binding_len || memcmp(c->quote.extra, binding, binding_len) != 0) {
		char have[2 * 16 + 1], want[2 * 16 + 1];

		ccu_hex_encode(c->quote.extra, c->quote.extra_len < 16 ? c->quote.extra_len : 16,
			       have, sizeof(have));
		ccu_hex_encode(binding, binding_len < 16 ? binding_len : 16, want, sizeof(want));
		return ccu_fail(err, -EKEYREJECTED, "AZ_QUOTE_NONCE",
				"the quote's qualifying data (%zu bytes, %s...) is not this "
				"session's binding (%zu bytes, %s...)",
				c->quote.extra_len, have, binding_len, want);
	}
	if (ev->version >= 2) {
		bool ok = c->runtime.has_user_data &&
			  memcmp(c->runtime.user_data, binding, binding_len) == 0;

		for (size_t i = binding_len; ok && i < AZ_REPORT_DATA_LEN; i++)
			ok = c->runtime.user_data[i] == 0;
		if (!ok)
			return ccu_fail(err, -EKEYREJECTED, "AZ_USER_DATA",
					"the HCL runtime data's user-data is not this session's "
					"binding (evidence version %d binds the SNP report too)",
					ev->version);
	}
	c->binding_checked = true;
	return 0;
}

static const char *tri_name(enum az_tristate t)
{
	return t == AZ_TRUE ? "true" : t == AZ_FALSE ? "false" : "unknown";
}

json_t *az_claims_describe(const struct az_claims *c)
{
	json_t *o = json_object(), *p = json_object(), *cfg;

	if (!o || !p) {
		json_decref(o);
		json_decref(p);
		return NULL;
	}
	for (unsigned i = 0; i < AZ_TPM_PCR_COUNT; i++) {
		char k[8];

		if (!(c->pcr_mask >> i & 1u))
			continue;
		snprintf(k, sizeof(k), "%u", i);
		json_object_set_new(p, k, hex_json(c->pcr[i], 32));
	}
	cfg = json_pack("{s:s,s:s,s:s,s:s}", "secure_boot", tri_name(c->runtime.secure_boot),
			"tpm_enabled", tri_name(c->runtime.tpm_enabled), "console_enabled",
			tri_name(c->runtime.console_enabled), "vm_id", c->runtime.vm_id);
	json_object_set_new(o, "evidence_version", json_integer(c->evidence_version));
	json_object_set_new(o, "hcl_version", json_integer(c->hcl_version));
	json_object_set_new(o, "vm_configuration", cfg);
	if (c->quote_ok) {
		json_object_set_new(o, "qualifying_data", hex_json(c->quote.extra, c->quote.extra_len));
		json_object_set_new(o, "binding_checked", json_boolean(c->binding_checked));
	}
	if (c->runtime.has_user_data)
		json_object_set_new(o, "user_data", hex_json(c->runtime.user_data, AZ_REPORT_DATA_LEN));
	json_object_set_new(o, "pcrs", p);
	return o;
}
