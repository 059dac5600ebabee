#include "kbs/jwt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/pem.h>

#include "common/codec.h"
#include "common/macros.h"
#include "common/secmem.h"
#include "kbs/kbs.h"
#include "kbs/kjson.h"

DEFINE_FREEP(EVP_PKEY, EVP_PKEY_free)
DEFINE_FREEP(EVP_MD_CTX, EVP_MD_CTX_free)
DEFINE_FREEP(ECDSA_SIG, ECDSA_SIG_free)
DEFINE_FREEP(BIO, BIO_free)

static inline void ossl_freep(uint8_t **p)
{
	OPENSSL_free(*p);
}

#define ES256_SIG_LEN 64
#define ED25519_SIG_LEN 64
#define JWT_TIME_MAX ((int64_t)1 << 53)
#define KID_MAX 128

static const char hdr_eddsa[] = "{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}";
static const char hdr_es256[] = "{\"alg\":\"ES256\",\"typ\":\"JWT\"}";

const char *kbs_jwt_alg_name(enum kbs_jwt_alg a)
{
	switch (a) {
	case KBS_JWT_EDDSA:
		return "EdDSA";
	case KBS_JWT_ES256:
		return "ES256";
	}
	return NULL;
}

/* Does @key suit @alg? */
static bool key_fits(EVP_PKEY *key, enum kbs_jwt_alg alg)
{
	char g[32];

	if (!key)
		return false;
	if (alg == KBS_JWT_EDDSA)
		return EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519;
	if (alg != KBS_JWT_ES256 || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC)
		return false;
	if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, g, sizeof(g), NULL))
		return false;
	return !strcmp(g, "prime256v1") || !strcmp(g, "P-256") || !strcmp(g, "secp256r1");
}

static int alg_of_key(EVP_PKEY *key, enum kbs_jwt_alg *ret)
{
	if (key_fits(key, KBS_JWT_EDDSA))
		*ret = KBS_JWT_EDDSA;
	else if (key_fits(key, KBS_JWT_ES256))
		*ret = KBS_JWT_ES256;
	else
		return -EINVAL;
	return 0;
}

/* Never prompt for a passphrase: an encrypted PEM is simply refused. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

int kbs_jwt_key_from_pem(const char *pem, size_t len, bool private_key, enum kbs_jwt_alg alg,
			 EVP_PKEY **ret, struct ccu_reason *err)
{
	_cleanup_(BIO_freep) BIO *bio = NULL;
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *k = NULL;

	*ret = NULL;
	if (!pem || len == 0 || len > KBS_JWT_MAX_PEM)
		return ccu_fail(err, -EINVAL, KBS_R_KEY, "PEM key: empty or longer than %d bytes",
				KBS_JWT_MAX_PEM);
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return ccu_fail(err, -ENOMEM, KBS_R_INTERNAL, "out of memory");
	k = private_key ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL)
			: PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
	if (!k)
		return ccu_fail(err, -EINVAL, KBS_R_KEY, "PEM: no readable %s key",
				private_key ? "private" : "public");
	if (!key_fits(k, alg))
		return ccu_fail(err, -EINVAL, KBS_R_KEY, "PEM key does not suit %s",
				kbs_jwt_alg_name(alg) ? kbs_jwt_alg_name(alg) : "?");
	*ret = TAKE_PTR(k);
	return 0;
}

/* ------------------------------------------------------------ ES256 signature form */

/* DER ECDSA-Sig-Value -> raw r||s (32 bytes each). */
static int der_to_raw(const uint8_t *der, size_t len, uint8_t raw[ES256_SIG_LEN])
{
	const uint8_t *p = der;
	_cleanup_(ECDSA_SIG_freep) ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
	const BIGNUM *r, *s;

	if (!sig)
		return -EIO;
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2binpad(r, raw, 32) != 32 || BN_bn2binpad(s, raw + 32, 32) != 32)
		return -EIO;
	return 0;
}

/* raw r||s -> DER (malloc'ed by OpenSSL). */
static int raw_to_der(const uint8_t raw[ES256_SIG_LEN], uint8_t **der, size_t *len)
{
	_cleanup_(ECDSA_SIG_freep) ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, 32, NULL), *s = BN_bin2bn(raw + 32, 32, NULL);
	int l;

	if (!sig || !r || !s || !ECDSA_SIG_set0(sig, r, s)) {
		BN_free(r);
		BN_free(s);
		return -ENOMEM;
	}
	*der = NULL;
	l = i2d_ECDSA_SIG(sig, der);
	if (l <= 0)
		return -ENOMEM;
	*len = (size_t)l;
	return 0;
}

/* ------------------------------------------------------------ sign */

static int sign_raw(EVP_PKEY *key, enum kbs_jwt_alg alg, const char *input, size_t len,
		    uint8_t sig[ES256_SIG_LEN])
{
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t der[80];
	size_t sl = alg == KBS_JWT_EDDSA ? ED25519_SIG_LEN : sizeof(der);

	if (!md || EVP_DigestSignInit_ex(md, NULL, alg == KBS_JWT_ES256 ? "SHA256" : NULL, NULL,
					 NULL, key, NULL) <= 0)
		return -EIO;
	if (alg == KBS_JWT_EDDSA)
		return EVP_DigestSign(md, sig, &sl, (const uint8_t *)input, len) > 0 &&
				       sl == ED25519_SIG_LEN
			       ? 0
			       : -EIO;
	if (EVP_DigestSign(md, der, &sl, (const uint8_t *)input, len) <= 0)
		return -EIO;
	return der_to_raw(der, sl, sig);
}

json_t *kbs_jwt_claims_new(time_t now, unsigned lifetime)
{
	return json_pack("{s:I,s:I}", "iat", (json_int_t)now, "exp",
			 (json_int_t)now + (json_int_t)lifetime);
}

int kbs_jwt_sign(EVP_PKEY *key, const json_t *claims, char **ret, struct ccu_reason *err)
{
	_cleanup_free_ char *cj = NULL, *hb = NULL, *cb = NULL, *input = NULL, *sb = NULL;
	uint8_t sig[ES256_SIG_LEN];
	enum kbs_jwt_alg alg;
	const char *hdr;

	*ret = NULL;
	if (alg_of_key(key, &alg) < 0)
		return ccu_fail(err, -EINVAL, KBS_R_KEY,
				"signing key: Ed25519 or EC P-256 expected");
	if (!json_is_object(claims))
		return ccu_fail(err, -EINVAL, KBS_R_TOKEN, "claims: expected a JSON object");
	hdr = alg == KBS_JWT_EDDSA ? hdr_eddsa : hdr_es256;
	cj = json_dumps(claims, JSON_COMPACT);
	if (!cj)
		return ccu_fail(err, -ENOMEM, KBS_R_INTERNAL, "out of memory");
	hb = ccu_b64_encode_alloc((const uint8_t *)hdr, strlen(hdr), CCU_B64_URL);
	cb = ccu_b64_encode_alloc((const uint8_t *)cj, strlen(cj), CCU_B64_URL);
	if (!hb || !cb || asprintf(&input, "%s.%s", hb, cb) < 0) {
		input = NULL;
		return ccu_fail(err, -ENOMEM, KBS_R_INTERNAL, "out of memory");
	}
	if (strlen(input) + 100 > KBS_JWT_MAX_LEN)
		return ccu_fail(err, -EMSGSIZE, KBS_R_TOKEN, "claims too large for a token");
	if (sign_raw(key, alg, input, strlen(input), sig) < 0)
		return ccu_fail(err, -EIO, KBS_R_INTERNAL, "%s signing failed",
				kbs_jwt_alg_name(alg));
	sb = ccu_b64_encode_alloc(sig, sizeof(sig), CCU_B64_URL);
	if (!sb || asprintf(ret, "%s.%s", input, sb) < 0) {
		*ret = NULL;
		return ccu_fail(err, -ENOMEM, KBS_R_INTERNAL, "out of memory");
	}
	return 0;
}

/* ------------------------------------------------------------ parse */

struct jwt_parts {
	const char *seg[3];
	size_t len[3];
};

static int split(const char *token, size_t len, struct jwt_parts *p, struct ccu_reason *err)
{
	size_t start = 0, n = 0;

	if (!token || len == 0 || len > KBS_JWT_MAX_LEN)
		return ccu_fail(err, -EBADMSG, KBS_R_TOKEN,
				"token: empty or longer than %d characters", KBS_JWT_MAX_LEN);
	for (size_t i = 0; i <= len; i++) {
		if (i < len && token[i] != '.')
			continue;
		if (n == 3)
			return ccu_fail(err, -EBADMSG, KBS_R_TOKEN,
					"token: more than three segments");
		p->seg[n] = token + start;
		p->len[n] = i - start;
		if (p->len[n] == 0 || !kjson_charset(p->seg[n], p->len[n], KJSON_B64URL))
			return ccu_fail(err, -EBADMSG, KBS_R_TOKEN,
					"token: segment %zu is empty or not base64url", n + 1);
		n++;
		start = i + 1;
	}
	if (n != 3)
		return ccu_fail(err, -EBADMSG, KBS_R_TOKEN, "token: %zu segments, expected 3", n);
	return 0;
}

static int decode_json(const char *seg, size_t len, size_t max, const char *what, json_t **ret,
		       struct ccu_reason *err)
{
	_cleanup_free_ uint8_t *raw = NULL;
	size_t rl;

	if (kjson_b64url_alloc(seg, len, max, &raw, &rl) < 0)
		return ccu_fail(err, -EBADMSG, KBS_R_TOKEN, "token %s: not canonical base64url",
				what);
	return kjson_load_object((const char *)raw, rl, max, KBS_R_TOKEN, what, ret, err);
}

int kbs_jwt_peek_claims(const char *token, size_t len, json_t **claims, struct ccu_reason *err)
{
	struct jwt_parts p = { 0 };
	int r;

	*claims = NULL;
	r = split(token, len, &p, err);
	if (r < 0)
		return r;
	return decode_json(p.seg[1], p.len[1], KBS_JWT_MAX_LEN, "claims", claims, err);
}

int kbs_jwt_claim_time(const json_t *claims, const char *name, int64_t *ret, struct ccu_reason *err)
{
	const json_t *v = json_object_get(claims, name);
	json_int_t i;

	if (!v)
		return 0;
	i = json_is_integer(v) ? json_integer_value(v) : -1;
	if (i < 0 || i > JWT_TIME_MAX)
		return ccu_fail(err, -EBADMSG, KBS_R_TOKEN,
				"token claim \"%s\": expected an integer NumericDate", name);
	*ret = (int64_t)i;
	return 1;
}

/* ------------------------------------------------------------ verify */

static int check_header(const struct jwt_parts *p, enum kbs_jwt_alg want, struct ccu_reason *err)
{
	static const char *const members[] = { "alg", "typ", "kid" };
	_cleanup_(json_decrefp) json_t *h = NULL;
	const char *alg;
	int r;

	r = decode_json(p->seg[0], p->len[0], KBS_JWT_MAX_HEADER, "header", &h, err);
	if (r < 0)
		return r;
	alg = kjson_string(h, "alg", 1, 32, KBS_R_TOKEN_ALG, "token header", err);
	if (!alg)
		return -EBADMSG;
	/* The algorithm is decided by the verifier, never by the token. */
	if (strcmp(alg, kbs_jwt_alg_name(want)))
		return ccu_fail(err, -EBADMSG, KBS_R_TOKEN_ALG, "token alg \"%s\", expected \"%s\"",
				alg, kbs_jwt_alg_name(want));
	r = kjson_only_members(h, members, ARRAY_SIZE(members), KBS_R_TOKEN, "token header", err);
	if (r < 0)
		return r;
	if (json_object_get(h, "typ")) {
		const char *typ = kjson_string(h, "typ", 1, 16, KBS_R_TOKEN, "token header", err);

		if (!typ)
			return -EBADMSG;
		if (strcmp(typ, "JWT"))
			return ccu_fail(err, -EBADMSG, KBS_R_TOKEN,
					"token typ \"%s\", expected JWT", typ);
	}
	if (json_object_get(h, "kid") &&
	    !kjson_string(h, "kid", 1, KID_MAX, KBS_R_TOKEN, "token header", err))
		return -EBADMSG;
	return 0;
}

static int check_signature(const struct jwt_parts *p, EVP_PKEY *key, enum kbs_jwt_alg alg,
			   struct ccu_reason *err)
{
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t sig[ES256_SIG_LEN + 1];
	_cleanup_(ossl_freep) uint8_t *der = NULL;
	const uint8_t *s = sig;
	size_t input_len = p->len[0] + 1 + p->len[1], sl = ES256_SIG_LEN;
	int n;

	n = ccu_b64_decode(p->seg[2], p->len[2], CCU_B64_URL, sig, sizeof(sig));
	if (n != ES256_SIG_LEN) /* Ed25519 signatures are 64 bytes too */
		return ccu_fail(err, -EBADMSG, KBS_R_TOKEN_SIGNATURE,
				"token signature: expected 64 bytes of base64url");
	if (alg == KBS_JWT_ES256) {
		if (raw_to_der(sig, &der, &sl) < 0)
			return ccu_fail(err, -ENOMEM, KBS_R_INTERNAL, "out of memory");
		s = der;
	}
	if (!md || EVP_DigestVerifyInit_ex(md, NULL, alg == KBS_JWT_ES256 ? "SHA256" : NULL, NULL,
					   NULL, key, NULL) <= 0)
		return ccu_fail(err, -EIO, KBS_R_INTERNAL, "signature verification setup failed");
	if (EVP_DigestVerify(md, s, sl, (const uint8_t *)p->seg[0], input_len) != 1)
		return ccu_fail(err, -EBADMSG, KBS_R_TOKEN_SIGNATURE,
				"token signature (%s) invalid", kbs_jwt_alg_name(alg));
	return 0;
}

static int check_times(const json_t *c, const struct kbs_jwt_verify_opts *o, struct ccu_reason *err)
{
	int64_t now = (int64_t)o->now, exp = 0, nbf = 0, iat = 0;
	int64_t skew = o->skew > KBS_JWT_MAX_SKEW ? KBS_JWT_MAX_SKEW : o->skew;
	int has_exp, has_nbf, has_iat;

	has_exp = kbs_jwt_claim_time(c, "exp", &exp, err);
	has_nbf = kbs_jwt_claim_time(c, "nbf", &nbf, err);
	has_iat = kbs_jwt_claim_time(c, "iat", &iat, err);
	if (has_exp < 0 || has_nbf < 0 || has_iat < 0)
		return -EBADMSG;
	if (!has_exp)
		return ccu_fail(err, -EBADMSG, KBS_R_TOKEN_LIFETIME, "token has no exp claim");
	if (!has_iat && o->require_iat)
		return ccu_fail(err, -EBADMSG, KBS_R_TOKEN_LIFETIME, "token has no iat claim");
	if (now >= exp + skew)
		return ccu_fail(err, -EBADMSG, KBS_R_TOKEN_EXPIRED,
				"token expired: exp %lld, now %lld (skew %lld s)", (long long)exp,
				(long long)now, (long long)skew);
	if (has_nbf && nbf > now + skew)
		return ccu_fail(err, -EBADMSG, KBS_R_TOKEN_NOT_YET_VALID,
				"token not yet valid: nbf %lld, now %lld", (long long)nbf,
				(long long)now);
	if (has_iat && iat > now + skew)
		return ccu_fail(err, -EBADMSG, KBS_R_TOKEN_NOT_YET_VALID,
				"token issued in the future: iat %lld, now %lld", (long long)iat,
				(long long)now);
	if (has_iat && exp < iat)
		return ccu_fail(err, -EBADMSG, KBS_R_TOKEN_LIFETIME,
				"token exp %lld before iat %lld", (long long)exp, (long long)iat);
	if (o->max_lifetime && (has_iat ? exp - iat : exp - now - skew) > (int64_t)o->max_lifetime)
		return ccu_fail(err, -EBADMSG, KBS_R_TOKEN_LIFETIME,
				"token lifetime exceeds %u s (exp %lld)", o->max_lifetime,
				(long long)exp);
	return 0;
}

int kbs_jwt_verify(const char *token, size_t len, EVP_PKEY *key,
		   const struct kbs_jwt_verify_opts *o, json_t **claims, struct ccu_reason *err)
{
	_cleanup_(json_decrefp) json_t *c = NULL;
	struct jwt_parts p = { 0 };
	int r;

	if (claims)
		*claims = NULL;
	if (!o || !kbs_jwt_alg_name(o->alg))
		return ccu_fail(err, -EINVAL, KBS_R_TOKEN_ALG, "no expected algorithm");
	if (!key_fits(key, o->alg))
		return ccu_fail(err, -EINVAL, KBS_R_KEY, "verification key does not suit %s",
				kbs_jwt_alg_name(o->alg));
	r = split(token, len, &p, err);
	if (r < 0)
		return r;
	r = check_header(&p, o->alg, err);
	if (r < 0)
		return r;
	r = check_signature(&p, key, o->alg, err);
	if (r < 0)
		return r;
	r = decode_json(p.seg[1], p.len[1], KBS_JWT_MAX_LEN, "claims", &c, err);
	if (r < 0)
		return r;
	r = check_times(c, o, err);
	if (r < 0)
		return r;
	if (claims)
		*claims = TAKE_PTR(c);
	return 0;
}
