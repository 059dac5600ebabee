/* Compact JWS: EdDSA admin tokens and ES256 attestation tokens; algorithm
 * confusion, time checks, tampering and malformed segments. */
#include "helpers/testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "common/codec.h"
#include "kbs/jwt.h"
#include "kbs/kbs.h"

#define NOW 1800000000
#define LIFE 300

static EVP_PKEY *ed, *ed2, *es, *rsa;
static struct ccu_reason rsn;

static int setup(void **state)
{
	(void)state;
	ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	ed2 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	es = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	return ed && ed2 && es && rsa ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(ed);
	EVP_PKEY_free(ed2);
	EVP_PKEY_free(es);
	EVP_PKEY_free(rsa);
	return 0;
}

static struct kbs_jwt_verify_opts opts(enum kbs_jwt_alg alg)
{
	struct kbs_jwt_verify_opts o = {
		.alg = alg,
		.now = NOW,
		.skew = 60,
		.max_lifetime = 3600,
		.require_iat = true,
	};

	return o;
}

static char *b64(const void *p, size_t l)
{
	char *s = ccu_b64_encode_alloc(p, l, CCU_B64_URL);

	assert_non_null(s);
	return s;
}

/* Independent signer: any header/claims text, signature by @key with
 * Ed25519, ES256 (DER -> r||s here), RS256 or HS256 (HMAC keyed with @hmac). */
static char *craft(const char *hdr, const char *claims, EVP_PKEY *key, const char *hmac_key)
{
	char *h = b64(hdr, strlen(hdr)), *c = b64(claims, strlen(claims)), *input, *s, *out;
	uint8_t sig[512];
	size_t sl = sizeof(sig);
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	assert_true(asprintf(&input, "%s.%s", h, c) > 0);
	if (hmac_key) {
		unsigned int hl = 0;

		assert_non_null(HMAC(EVP_sha256(), hmac_key, (int)strlen(hmac_key),
				     (const uint8_t *)input, strlen(input), sig, &hl));
		sl = hl;
	} else if (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519) {
		assert_int_equal(EVP_DigestSignInit(md, NULL, NULL, NULL, key), 1);
		assert_int_equal(
			EVP_DigestSign(md, sig, &sl, (const uint8_t *)input, strlen(input)), 1);
	} else if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
		assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key), 1);
		assert_int_equal(
			EVP_DigestSign(md, sig, &sl, (const uint8_t *)input, strlen(input)), 1);
	} else {
		uint8_t der[128];
		size_t dl = sizeof(der);
		const uint8_t *p = der;
		ECDSA_SIG *es_sig;
		const BIGNUM *r, *ss;

		assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key), 1);
		assert_int_equal(
			EVP_DigestSign(md, der, &dl, (const uint8_t *)input, strlen(input)), 1);
		es_sig = d2i_ECDSA_SIG(NULL, &p, (long)dl);
		assert_non_null(es_sig);
		ECDSA_SIG_get0(es_sig, &r, &ss);
		assert_int_equal(BN_bn2binpad(r, sig, 32), 32);
		assert_int_equal(BN_bn2binpad(ss, sig + 32, 32), 32);
		ECDSA_SIG_free(es_sig);
		sl = 64;
	}
	EVP_MD_CTX_free(md);
	s = b64(sig, sl);
	assert_true(asprintf(&out, "%s.%s", input, s) > 0);
	free(h);
	free(c);
	free(input);
	free(s);
	return out;
}

static char *claims_text(long long iat, long long exp)
{
	static char buf[128];

	snprintf(buf, sizeof(buf), "{\"sub\":\"admin\",\"iat\":%lld,\"exp\":%lld}", iat, exp);
	return buf;
}

static int verify(const char *tok, EVP_PKEY *key, struct kbs_jwt_verify_opts o)
{
	json_t *c = (json_t *)1;
	int r;

	memset(&rsn, 0, sizeof(rsn));
	r = kbs_jwt_verify(tok, strlen(tok), key, &o, &c, TU_FRESH(&rsn));
	if (r < 0)
		assert_null(c);
	else
		json_decref(c);
	return r;
}

static void expect_code(const char *tok, EVP_PKEY *key, struct kbs_jwt_verify_opts o,
			const char *code)
{
	assert_true(verify(tok, key, o) < 0);
	assert_string_equal(rsn.code, code);
}

static void test_eddsa_roundtrip(void **state)
{
	json_t *claims = kbs_jwt_claims_new(NOW, LIFE), *got = NULL;
	struct kbs_jwt_verify_opts o = opts(KBS_JWT_EDDSA);
	char *tok = NULL;
	(void)state;

	json_object_set_new(claims, "sub", json_string("admin/ops"));
	assert_int_equal(kbs_jwt_sign(ed, claims, &tok, NULL), 0);
	/* header {"alg":"EdDSA","typ":"JWT"} */
	assert_int_equal(strncmp(tok, "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.", 37), 0);
	assert_int_equal(kbs_jwt_verify(tok, strlen(tok), ed, &o, &got, NULL), 0);
	assert_string_equal(json_string_value(json_object_get(got, "sub")), "admin/ops");
	assert_int_equal(json_integer_value(json_object_get(got, "exp")), NOW + LIFE);
	/* claims are optional output */
	assert_int_equal(kbs_jwt_verify(tok, strlen(tok), ed, &o, NULL, NULL), 0);
	/* a token crafted independently verifies too */
	{
		char *t2 = craft("{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}", claims_text(NOW, NOW + 60),
				 ed, NULL);

		assert_int_equal(verify(t2, ed, o), 0);
		free(t2);
	}
	json_decref(got);
	json_decref(claims);
	free(tok);
}

static void test_es256_roundtrip(void **state)
{
	json_t *claims = kbs_jwt_claims_new(NOW, LIFE);
	struct kbs_jwt_verify_opts o = opts(KBS_JWT_ES256);
	char *tok = NULL, *sig;
	uint8_t raw[80];
	(void)state;

	assert_int_equal(kbs_jwt_sign(es, claims, &tok, NULL), 0);
	/* header {"alg":"ES256","typ":"JWT"} */
	assert_int_equal(strncmp(tok, "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.", 37), 0);
	sig = strrchr(tok, '.') + 1;
	assert_int_equal(ccu_b64_decode(sig, strlen(sig), CCU_B64_URL, raw, sizeof(raw)), 64);
	assert_int_equal(verify(tok, es, o), 0);
	/* the independent r||s signer */
	{
		char *t2 = craft("{\"alg\":\"ES256\"}", claims_text(NOW, NOW + 60), es, NULL);

		assert_int_equal(verify(t2, es, o), 0);
		free(t2);
	}
	json_decref(claims);
	free(tok);
}

static void test_alg_confusion(void **state)
{
	const char *cl = claims_text(NOW, NOW + 60);
	struct kbs_jwt_verify_opts oe = opts(KBS_JWT_EDDSA), os = opts(KBS_JWT_ES256);
	char *t;
	(void)state;

	/* "none" with a (meaningless) signature segment */
	t = craft("{\"alg\":\"none\",\"typ\":\"JWT\"}", cl, NULL, "x");
	expect_code(t, ed, oe, KBS_R_TOKEN_ALG);
	free(t);
	/* "none" without a signature */
	{
		char *h = b64("{\"alg\":\"none\"}", 14), *c = b64(cl, strlen(cl)), *u;

		assert_true(asprintf(&u, "%s.%s.", h, c) > 0);
		expect_code(u, ed, oe, KBS_R_TOKEN);
		free(u);
		free(h);
		free(c);
	}
	/* HS256 keyed with the public key PEM (the classic confusion) */
	t = craft("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", cl, NULL, "-----BEGIN PUBLIC KEY-----");
	expect_code(t, ed, oe, KBS_R_TOKEN_ALG);
	expect_code(t, es, os, KBS_R_TOKEN_ALG);
	free(t);
	t = craft("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", cl, rsa, NULL);
	expect_code(t, ed, oe, KBS_R_TOKEN_ALG);
	expect_code(t, es, os, KBS_R_TOKEN_ALG);
	free(t);
	/* a valid ES256 token where EdDSA is expected, and the reverse */
	t = craft("{\"alg\":\"ES256\"}", cl, es, NULL);
	expect_code(t, ed, oe, KBS_R_TOKEN_ALG);
	free(t);
	t = craft("{\"alg\":\"EdDSA\"}", cl, ed, NULL);
	expect_code(t, es, os, KBS_R_TOKEN_ALG);
	free(t);
	t = craft("{\"alg\":\"eddsa\"}", cl, ed, NULL);
	expect_code(t, ed, oe, KBS_R_TOKEN_ALG);
	free(t);
	t = craft("{\"typ\":\"JWT\"}", cl, ed, NULL);
	expect_code(t, ed, oe, KBS_R_TOKEN_ALG);
	free(t);
	t = craft("{\"alg\":[\"EdDSA\"]}", cl, ed, NULL);
	expect_code(t, ed, oe, KBS_R_TOKEN_ALG);
	free(t);
	/* the verifier's key must suit the expected algorithm */
	t = craft("{\"alg\":\"EdDSA\"}", cl, ed, NULL);
	expect_code(t, es, oe, KBS_R_KEY);
	expect_code(t, rsa, oe, KBS_R_KEY);
	expect_code(t, NULL, oe, KBS_R_KEY);
	{
		struct kbs_jwt_verify_opts bad = oe;

		bad.alg = (enum kbs_jwt_alg)0;
		expect_code(t, ed, bad, KBS_R_TOKEN_ALG);
	}
	free(t);
}

static void test_header_members(void **state)
{
	const char *cl = claims_text(NOW, NOW + 60);
	struct kbs_jwt_verify_opts o = opts(KBS_JWT_EDDSA);
	static const char *const bad[] = {
		"{\"alg\":\"EdDSA\",\"typ\":\"JWS\"}",
		"{\"alg\":\"EdDSA\",\"typ\":1}",
		"{\"alg\":\"EdDSA\",\"crit\":[\"exp\"]}",
		"{\"alg\":\"EdDSA\",\"jku\":\"https://example.invalid/k\"}",
		"{\"alg\":\"EdDSA\",\"jwk\":{}}",
		"{\"alg\":\"EdDSA\",\"x5u\":\"https://example.invalid\"}",
		"{\"alg\":\"EdDSA\",\"kid\":\"\"}",
		"{\"alg\":\"EdDSA\",\"kid\":5}",
		"{\"alg\":\"EdDSA\",\"alg\":\"EdDSA\"}",
		"[\"EdDSA\"]",
	};
	char *t;
	(void)state;

	t = craft("{\"alg\":\"EdDSA\",\"typ\":\"JWT\",\"kid\":\"admin-1\"}", cl, ed, NULL);
	assert_int_equal(verify(t, ed, o), 0);
	free(t);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = craft(bad[i], cl, ed, NULL);
		expect_code(t, ed, o, KBS_R_TOKEN);
		free(t);
	}
}

static void test_times(void **state)
{
	struct kbs_jwt_verify_opts o = opts(KBS_JWT_EDDSA);
	static const char hdr[] = "{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}";
	struct {
		const char *claims;
		const char *code; /* NULL = valid */
	} cases[] = {
		{ "{\"iat\":1800000000,\"exp\":1800000300}", NULL },
		{ "{\"iat\":1799999000,\"exp\":1799999100}", KBS_R_TOKEN_EXPIRED },
		{ "{\"iat\":1799999900,\"exp\":1799999941}", NULL }, /* 59 s late, skew 60 */
		{ "{\"iat\":1799999900,\"exp\":1799999940}", KBS_R_TOKEN_EXPIRED }, /* boundary */
		{ "{\"iat\":1800000000,\"exp\":1800000300,\"nbf\":1800000060}", NULL },
		{ "{\"iat\":1800000000,\"exp\":1800000300,\"nbf\":1800000061}",
		  KBS_R_TOKEN_NOT_YET_VALID },
		{ "{\"iat\":1800000100,\"exp\":1800000300}", KBS_R_TOKEN_NOT_YET_VALID },
		{ "{\"iat\":1800000000,\"exp\":1800003600}", NULL },
		{ "{\"iat\":1800000000,\"exp\":1800003601}", KBS_R_TOKEN_LIFETIME },
		{ "{\"iat\":1800000000}", KBS_R_TOKEN_LIFETIME },
		{ "{\"exp\":1800000300}", KBS_R_TOKEN_LIFETIME }, /* require_iat */
		{ "{\"iat\":1800000050,\"exp\":1800000040}", KBS_R_TOKEN_LIFETIME },
		{ "{\"iat\":1800000000,\"exp\":\"1800000300\"}", KBS_R_TOKEN },
		{ "{\"iat\":1800000000,\"exp\":1800000300.5}", KBS_R_TOKEN },
		{ "{\"iat\":-1,\"exp\":1800000300}", KBS_R_TOKEN },
		{ "{\"iat\":1800000000,\"exp\":1800000300,\"nbf\":null}", KBS_R_TOKEN },
		{ "{\"iat\":1800000000,\"exp\":99999999999999999}", KBS_R_TOKEN },
		{ "[1]", KBS_R_TOKEN },
		{ "\"x\"", KBS_R_TOKEN },
		{ "{\"exp\":1800000300,\"exp\":1800000300,\"iat\":1800000000}", KBS_R_TOKEN },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *t = craft(hdr, cases[i].claims, ed, NULL);

		if (!cases[i].code) {
			assert_int_equal(verify(t, ed, o), 0);
		} else {
			if (verify(t, ed, o) == 0)
				fail_msg("case %zu (%s) verified", i, cases[i].claims);
			assert_string_equal(rsn.code, cases[i].code);
		}
		free(t);
	}
	/* without iat: lifetime counted from now (plus skew) */
	{
		struct kbs_jwt_verify_opts o2 = o;
		char *t;

		o2.require_iat = false;
		t = craft(hdr, "{\"exp\":1800003660}", ed, NULL);
		assert_int_equal(verify(t, ed, o2), 0);
		free(t);
		t = craft(hdr, "{\"exp\":1800003661}", ed, NULL);
		expect_code(t, ed, o2, KBS_R_TOKEN_LIFETIME);
		o2.max_lifetime = 0; /* unbounded */
		assert_int_equal(verify(t, ed, o2), 0);
		free(t);
	}
	/* the skew is capped */
	{
		struct kbs_jwt_verify_opts o3 = o;
		char *t = craft(hdr, "{\"iat\":1799999000,\"exp\":1799999600}", ed, NULL);

		o3.skew = 100000;
		expect_code(t, ed, o3, KBS_R_TOKEN_EXPIRED);
		o3.skew = KBS_JWT_MAX_SKEW;
		expect_code(t, ed, o3, KBS_R_TOKEN_EXPIRED);
		o3.skew = KBS_JWT_MAX_SKEW;
		o3.now = 1799999600 + KBS_JWT_MAX_SKEW - 1;
		assert_int_equal(verify(t, ed, o3), 0);
		free(t);
	}
}

static char *replace_segment(const char *tok, int idx, const char *seg)
{
	char *copy = strdup(tok), *parts[3], *save = NULL, *out;

	parts[0] = strtok_r(copy, ".", &save);
	parts[1] = strtok_r(NULL, ".", &save);
	parts[2] = strtok_r(NULL, ".", &save);
	parts[idx] = (char *)(uintptr_t)seg;
	assert_true(asprintf(&out, "%s.%s.%s", parts[0], parts[1], parts[2]) > 0);
	free(copy);
	return out;
}

static void test_tampering(void **state)
{
	struct kbs_jwt_verify_opts oe = opts(KBS_JWT_EDDSA), os = opts(KBS_JWT_ES256);
	const char *cl = claims_text(NOW, NOW + 60);
	char *t = craft("{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}", cl, ed, NULL), *u, *c2;
	char *te = craft("{\"alg\":\"ES256\",\"typ\":\"JWT\"}", cl, es, NULL);
	const char *other = "{\"sub\":\"root\",\"iat\":1800000000,\"exp\":1800000060}";
	(void)state;

	c2 = b64(other, strlen(other));
	u = replace_segment(t, 1, c2);
	expect_code(u, ed, oe, KBS_R_TOKEN_SIGNATURE);
	free(u);
	u = replace_segment(te, 1, c2);
	expect_code(u, es, os, KBS_R_TOKEN_SIGNATURE);
	free(u);
	free(c2);
	/* change the first signature character (top bits of the first byte) */
	u = strdup(t);
	*(strrchr(u, '.') + 1) = *(strrchr(u, '.') + 1) == 'A' ? 'B' : 'A';
	expect_code(u, ed, oe, KBS_R_TOKEN_SIGNATURE);
	free(u);
	u = strdup(te);
	*(strrchr(u, '.') + 2) = *(strrchr(u, '.') + 2) == 'A' ? 'B' : 'A';
	expect_code(u, es, os, KBS_R_TOKEN_SIGNATURE);
	free(u);
	/* wrong keys */
	expect_code(t, ed2, oe, KBS_R_TOKEN_SIGNATURE);
	{
		EVP_PKEY *es2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

		expect_code(te, es2, os, KBS_R_TOKEN_SIGNATURE);
		EVP_PKEY_free(es2);
	}
	/* signature of the wrong size */
	{
		uint8_t z[65] = { 1 };
		char *s63 = b64(z, 63), *s65 = b64(z, 65), *s0;

		u = replace_segment(t, 2, s63);
		expect_code(u, ed, oe, KBS_R_TOKEN_SIGNATURE);
		free(u);
		u = replace_segment(te, 2, s65);
		expect_code(u, es, os, KBS_R_TOKEN_SIGNATURE);
		free(u);
		/* r = s = 0 */
		memset(z, 0, sizeof(z));
		s0 = b64(z, 64);
		u = replace_segment(te, 2, s0);
		expect_code(u, es, os, KBS_R_TOKEN_SIGNATURE);
		free(u);
		free(s0);
		free(s63);
		free(s65);
	}
	free(t);
	free(te);
}

static void test_malformed(void **state)
{
	struct kbs_jwt_verify_opts o = opts(KBS_JWT_EDDSA);
	char *t = craft("{\"alg\":\"EdDSA\"}", claims_text(NOW, NOW + 60), ed, NULL);
	char buf[1024];
	static const char *const bad[] = {
		"",
		"a",
		"a.b",
		"a.b.c.d",
		"..",
		"a..c",
		".b.c",
		"a.b.",
		"a+b.c.d",
		"a.b=.c",
		"eyJhbGciOiJFZERTQSJ9.e30.AA AA",
		"a.b.c\n",
	};
	json_t *c = NULL;
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		expect_code(bad[i], ed, o, KBS_R_TOKEN);
		assert_int_equal(kbs_jwt_peek_claims(bad[i], strlen(bad[i]), &c, TU_FRESH(&rsn)), -EBADMSG);
		assert_null(c);
		assert_string_equal(rsn.code, KBS_R_TOKEN);
	}
	/* header not JSON / claims not canonical base64url */
	snprintf(buf, sizeof(buf), "bm90IGpzb24%s", strchr(t, '.'));
	expect_code(buf, ed, o, KBS_R_TOKEN);
	{
		char *claims = strchr(t, '.') + 1, *u;
		size_t hl = (size_t)(claims - t);
		char *sig = strchr(claims, '.');

		/* "e30" = {} ; "e31" has non-zero pad bits */
		assert_true(asprintf(&u, "%.*se31%s", (int)hl, t, sig) > 0);
		assert_int_equal(kbs_jwt_peek_claims(u, strlen(u), &c, TU_FRESH(&rsn)), -EBADMSG);
		free(u);
	}
	/* too long */
	{
		size_t n = KBS_JWT_MAX_LEN + 1;
		char *big = malloc(n + 1);

		memset(big, 'A', n);
		big[10] = '.';
		big[20] = '.';
		big[n] = '\0';
		expect_code(big, ed, o, KBS_R_TOKEN);
		free(big);
	}
	/* the length argument is authoritative (no NUL needed) */
	assert_int_equal(kbs_jwt_verify(t, strlen(t) - 1, ed, &o, NULL, TU_FRESH(&rsn)), -EBADMSG);
	free(t);
}

static void test_peek_claims(void **state)
{
	char *t = craft("{\"alg\":\"ES256\"}", "{\"exp\":42,\"nbf\":7,\"x\":\"y\"}", es, NULL);
	json_t *c = NULL;
	int64_t v = 0;
	(void)state;

	/* no key, no time: the guest just reads the claims */
	assert_int_equal(kbs_jwt_peek_claims(t, strlen(t), &c, NULL), 0);
	assert_int_equal(kbs_jwt_claim_time(c, "exp", &v, NULL), 1);
	assert_int_equal(v, 42);
	assert_int_equal(kbs_jwt_claim_time(c, "nbf", &v, NULL), 1);
	assert_int_equal(v, 7);
	assert_int_equal(kbs_jwt_claim_time(c, "iat", &v, NULL), 0);
	assert_int_equal(kbs_jwt_claim_time(c, "x", &v, TU_FRESH(&rsn)), -EBADMSG);
	assert_string_equal(rsn.code, KBS_R_TOKEN);
	json_decref(c);
	free(t);
}

static char *pem_of(EVP_PKEY *k, bool priv, const EVP_CIPHER *enc)
{
	BIO *b = BIO_new(BIO_s_mem());
	unsigned char pass[] = "pass";
	char *p, *out;
	long n;

	if (priv)
		assert_int_equal(PEM_write_bio_PrivateKey(b, k, enc, enc ? pass : NULL, enc ? 4 : 0,
							  NULL, NULL),
				 1);
	else
		assert_int_equal(PEM_write_bio_PUBKEY(b, k), 1);
	n = BIO_get_mem_data(b, &p);
	out = strndup(p, (size_t)n);
	BIO_free(b);
	return out;
}

static void test_pem_keys(void **state)
{
	char *sk = pem_of(ed, true, NULL), *pk = pem_of(ed, false, NULL);
	char *esk = pem_of(es, true, NULL), *encsk = pem_of(ed, true, EVP_aes_256_cbc());
	EVP_PKEY *k1 = NULL, *k2 = NULL, *k3 = NULL;
	json_t *claims = kbs_jwt_claims_new(NOW, 60);
	struct kbs_jwt_verify_opts o = opts(KBS_JWT_EDDSA);
	char *tok = NULL;
	(void)state;

	assert_int_equal(kbs_jwt_key_from_pem(sk, strlen(sk), true, KBS_JWT_EDDSA, &k1, NULL), 0);
	assert_int_equal(kbs_jwt_key_from_pem(pk, strlen(pk), false, KBS_JWT_EDDSA, &k2, NULL), 0);
	assert_int_equal(kbs_jwt_sign(k1, claims, &tok, NULL), 0);
	assert_int_equal(verify(tok, k2, o), 0);
	free(tok);
	assert_int_equal(kbs_jwt_key_from_pem(esk, strlen(esk), true, KBS_JWT_ES256, &k3, NULL), 0);
	EVP_PKEY_free(k3);

	assert_int_equal(kbs_jwt_key_from_pem(esk, strlen(esk), true, KBS_JWT_EDDSA, &k3, TU_FRESH(&rsn)),
			 -EINVAL);
	assert_null(k3);
	assert_string_equal(rsn.code, KBS_R_KEY);
	assert_int_equal(kbs_jwt_key_from_pem(sk, strlen(sk), false, KBS_JWT_EDDSA, &k3, TU_FRESH(&rsn)),
			 -EINVAL);
	assert_string_equal(rsn.code, KBS_R_KEY);
	assert_int_equal(kbs_jwt_key_from_pem(encsk, strlen(encsk), true, KBS_JWT_EDDSA, &k3, TU_FRESH(&rsn)),
			 -EINVAL);
	assert_string_equal(rsn.code, KBS_R_KEY);
	assert_int_equal(kbs_jwt_key_from_pem("garbage", 7, true, KBS_JWT_EDDSA, &k3, TU_FRESH(&rsn)),
			 -EINVAL);
	assert_int_equal(kbs_jwt_key_from_pem("", 0, true, KBS_JWT_EDDSA, &k3, TU_FRESH(&rsn)), -EINVAL);
	/* signing needs a suitable key */
	assert_int_equal(kbs_jwt_sign(rsa, claims, &tok, TU_FRESH(&rsn)), -EINVAL);
	assert_string_equal(rsn.code, KBS_R_KEY);
	assert_null(tok);
	json_decref(claims);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	free(sk);
	free(pk);
	free(esk);
	free(encsk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eddsa_roundtrip), cmocka_unit_test(test_es256_roundtrip),
		cmocka_unit_test(test_alg_confusion),	cmocka_unit_test(test_header_members),
		cmocka_unit_test(test_times),		cmocka_unit_test(test_tampering),
		cmocka_unit_test(test_malformed),	cmocka_unit_test(test_peek_claims),
		cmocka_unit_test(test_pem_keys),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
