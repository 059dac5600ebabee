/*
 * libFuzzer target for every KBS message parser. The first input byte
 * selects the parser, the rest is its input:
 *
 *   0 Request       3 token response   6 tee-pubkey JWK (+ key import)
 *   1 Challenge     4 error body       7 JWT (peek + EdDSA/ES256 verify)
 *   2 Attestation   5 resource path    8 JCS printer over any JSON value
 *
 * Besides "no crash", it checks properties: a parsed Attestation gives the
 * same preimage through the guest template and the broker's JCS printer; a
 * parsed Challenge/error body/resource path survives build -> parse
 * unchanged. The keys below are throwaway fuzzing keys.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "common/jflat.h"
#include "kbs/jwk.h"
#include "kbs/jwt.h"
#include "kbs/kbs.h"
#include "kbs/msg.h"
#include "kbs/preimage.h"

static const char fuzz_ed_key[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MC4CAQAwBQYDK2VwBCIEIFpXV2HKHy+pGSqGrwdjuVdOKxM1kJITXffV9DCEV6nx\n"
	"-----END PRIVATE KEY-----\n";
static const char fuzz_ec_key[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgoun+uCYiGXQpflNd\n"
	"eItAYvpr8IieJFIpfXIZhm2+KEqhRANCAASVaOSBFiUSrX42DEsoUwnCJJClrN1g\n"
	"do+c+volk9NegOfuARWZ5R4bo2Skwg5N93o88MUSE7+3NfVl4KF/Wchc\n"
	"-----END PRIVATE KEY-----\n";

static EVP_PKEY *ed_key, *ec_key;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (kbs_jwt_key_from_pem(fuzz_ed_key, strlen(fuzz_ed_key), true, KBS_JWT_EDDSA, &ed_key,
				 NULL) < 0 ||
	    kbs_jwt_key_from_pem(fuzz_ec_key, strlen(fuzz_ec_key), true, KBS_JWT_ES256, &ec_key,
				 NULL) < 0)
		abort();
	return 0;
}

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			abort();                                                                   \
	} while (0)

static void fuzz_request(const char *t, size_t n)
{
	struct kbs_request r;
	struct ccu_reason e;

	if (kbs_request_parse(t, n, &r, &e) == 0) {
		CHECK(r.extra_params && r.tee[0]);
		kbs_request_done(&r);
	} else {
		CHECK(!r.extra_params && e.code[0]);
	}
}

static void fuzz_challenge(const char *t, size_t n)
{
	struct kbs_challenge c, c2;
	char *s = NULL;

	if (kbs_challenge_parse(t, n, &c, NULL) < 0)
		return;
	CHECK(kbs_challenge_build(c.nonce, c.hash_selected ? c.hash : 0, &s, NULL) == 0);
	CHECK(kbs_challenge_parse(s, strlen(s), &c2, NULL) == 0);
	CHECK(!strcmp(c.nonce, c2.nonce) && c.hash == c2.hash &&
	      c.hash_selected == c2.hash_selected);
	free(s);
}

static void fuzz_attestation(const char *t, size_t n)
{
	struct kbs_attestation a;
	uint8_t g[KBS_REPORT_DATA_LEN], b[KBS_REPORT_DATA_LEN];
	EVP_PKEY *k = NULL;
	int rg, rb;

	if (kbs_attestation_parse(t, n, &a, NULL) < 0) {
		CHECK(!a.root && !a.doc);
		return;
	}
	CHECK(jf_type(a.doc, a.primary_evidence) == JF_OBJECT && a.additional_evidence);
	/* the envelope copy holds null where the evidence is */
	CHECK(json_is_null(json_object_get(json_object_get(a.root, "tee-evidence"),
					   "primary_evidence")));
	/* Differential: the template and the JCS printer agree whenever both
	 * accept (the template refuses nothing a parsed attestation holds,
	 * except non-ASCII additional evidence, which JCS refuses too). */
	rg = kbs_report_data_guest(KBS_HASH_SHA384, a.nonce, &a.tee_pubkey, a.additional_evidence,
				   g, NULL);
	rb = kbs_report_data_broker(KBS_HASH_SHA384, a.nonce, &a.tee_pubkey, a.additional_evidence,
				    b, NULL);
	CHECK((rg == 0) == (rb == 0));
	if (rg == 0)
		CHECK(memcmp(g, b, sizeof(g)) == 0);
	if (kbs_jwk_to_pkey(&a.tee_pubkey, &k, NULL) == 0)
		EVP_PKEY_free(k);
	kbs_attestation_done(&a);
}

static void fuzz_token(const char *t, size_t n)
{
	char *tok = NULL;
	json_t *c = NULL;

	if (kbs_token_response_parse(t, n, &tok, NULL) < 0) {
		CHECK(!tok);
		return;
	}
	if (kbs_jwt_peek_claims(tok, strlen(tok), &c, NULL) == 0)
		json_decref(c);
	free(tok);
}

static void fuzz_error(const char *t, size_t n)
{
	struct kbs_error_info e, e2;
	char *s = NULL;

	if (kbs_error_parse(t, n, &e, NULL) < 0)
		return;
	for (const char *p = e.detail; *p; p++)
		CHECK(*p >= 0x20 && *p <= 0x7e);
	CHECK(kbs_error_build(e.variant, e.detail, &s, NULL) == 0);
	CHECK(kbs_error_parse(s, strlen(s), &e2, NULL) == 0);
	CHECK(!strcmp(e.variant, e2.variant) && !strcmp(e.detail, e2.detail));
	free(s);
}

static void fuzz_path(const char *t, size_t n)
{
	struct kbs_resource_path p, p2;
	char url[512];
	size_t skip;
	int l;

	if (kbs_resource_path_parse(t, n, &p, NULL) < 0)
		return;
	l = kbs_resource_url_path(&p, url, sizeof(url));
	CHECK(l > 0);
	skip = strlen(KBS_PATH_RESOURCE "/");
	CHECK(kbs_resource_path_parse(url + skip, (size_t)l - skip, &p2, NULL) == 0);
	CHECK(!memcmp(&p, &p2, sizeof(p)));
}

static void fuzz_jwk(const char *t, size_t n)
{
	struct kbs_jwk j, j2;
	EVP_PKEY *k = NULL;
	json_t *o;

	if (kbs_jwk_parse_text(t, n, &j, NULL) < 0)
		return;
	o = kbs_jwk_to_json(&j);
	CHECK(o && kbs_jwk_parse(o, &j2, NULL) == 0 && kbs_jwk_equal(&j, &j2));
	json_decref(o);
	if (kbs_jwk_to_pkey(&j, &k, NULL) == 0) {
		CHECK(kbs_jwk_from_pkey(k, &j2, NULL) == 0 && kbs_jwk_equal(&j, &j2));
		EVP_PKEY_free(k);
	}
}

static void fuzz_jwt(const char *t, size_t n)
{
	struct kbs_jwt_verify_opts o = {
		.alg = KBS_JWT_EDDSA,
		.now = 1800000000,
		.skew = 60,
		.max_lifetime = 3600,
	};
	json_t *c = NULL;

	if (kbs_jwt_peek_claims(t, n, &c, NULL) == 0)
		json_decref(c);
	c = NULL;
	if (kbs_jwt_verify(t, n, ed_key, &o, &c, NULL) == 0)
		json_decref(c);
	o.alg = KBS_JWT_ES256;
	c = NULL;
	if (kbs_jwt_verify(t, n, ec_key, &o, &c, NULL) == 0)
		json_decref(c);
}

static void fuzz_jcs(const char *t, size_t n)
{
	json_t *v = json_loadb(t, n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
	char *out = NULL, *out2 = NULL;
	json_t *v2;

	if (!v)
		return;
	if (kbs_jcs_print(v, &out, NULL, NULL) == 0) {
		/* canonical output is valid JSON, equal in value, and a fixed point */
		v2 = json_loads(out, JSON_DECODE_ANY, NULL);
		CHECK(v2 && json_equal(v, v2));
		CHECK(kbs_jcs_print(v2, &out2, NULL, NULL) == 0 && !strcmp(out, out2));
		json_decref(v2);
		free(out2);
		free(out);
	}
	json_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static void (*const parsers[])(const char *, size_t) = {
		fuzz_request, fuzz_challenge, fuzz_attestation, fuzz_token, fuzz_error,
		fuzz_path,    fuzz_jwk,	      fuzz_jwt,		fuzz_jcs,
	};

	if (size < 1)
		return 0;
	parsers[data[0] % (sizeof(parsers) / sizeof(parsers[0]))]((const char *)data + 1, size - 1);
	return 0;
}
