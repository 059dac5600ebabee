#include "kbs/jwk.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "common/codec.h"
#include "common/evp.h"
#include "common/macros.h"
#include "common/secmem.h"
#include "kbs/kbs.h"
#include "kbs/kjson.h"

DEFINE_FREEP(EVP_PKEY, EVP_PKEY_free)
DEFINE_FREEP(EVP_PKEY_CTX, EVP_PKEY_CTX_free)
DEFINE_FREEP(OSSL_PARAM_BLD, OSSL_PARAM_BLD_free)
DEFINE_FREEP(OSSL_PARAM, OSSL_PARAM_free)
DEFINE_FREEP(BIGNUM, BN_clear_free)

const char *kbs_crv_name(enum kbs_crv c)
{
	switch (c) {
	case KBS_CRV_P256:
		return "P-256";
	case KBS_CRV_P521:
		return "P-521";
	case KBS_CRV_NONE:
		break;
	}
	return NULL;
}

size_t kbs_crv_coord_len(enum kbs_crv c)
{
	switch (c) {
	case KBS_CRV_P256:
		return KBS_JWK_P256_COORD;
	case KBS_CRV_P521:
		return KBS_JWK_P521_COORD;
	case KBS_CRV_NONE:
		break;
	}
	return 0;
}

static enum kbs_crv crv_of_group(const char *g)
{
	if (!strcmp(g, "prime256v1") || !strcmp(g, "P-256") || !strcmp(g, "secp256r1"))
		return KBS_CRV_P256;
	if (!strcmp(g, "secp521r1") || !strcmp(g, "P-521"))
		return KBS_CRV_P521;
	return KBS_CRV_NONE;
}

enum kbs_crv kbs_pkey_crv(const EVP_PKEY *pkey)
{
	char g[64];

	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC)
		return KBS_CRV_NONE;
	if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, g, sizeof(g), NULL))
		return KBS_CRV_NONE;
	return crv_of_group(g);
}

int kbs_jwk_generate_ec(EVP_PKEY **ret, struct ccu_reason *err)
{
	*ret = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!*ret)
		return ccu_fail(err, -ENOMEM, KBS_R_INTERNAL, "EC P-256 key generation failed");
	return 0;
}

/* Big-endian @bn left-padded to @n bytes, base64url into @out. */
static int bn_b64(const BIGNUM *bn, size_t n, char *out, size_t outlen)
{
	uint8_t buf[KBS_JWK_RSA_MAX_BITS / 8];
	int r;

	if (n == 0)
		n = (size_t)BN_num_bytes(bn);
	if (n == 0 || n > sizeof(buf) || BN_bn2binpad(bn, buf, (int)n) != (int)n)
		return -EINVAL;
	r = ccu_b64_encode(buf, n, CCU_B64_URL, out, outlen);
	secmem_wipe(buf, n);
	return r < 0 ? r : 0;
}

/* The point's coordinates, each left-padded to @cl bytes, into pt[1..2cl].
 * The encoded point 04 || x || y is one provider call, where the two
 * BIGNUM parameters take one each (each converting the point to affine
 * form); those are the fallback for a provider that encodes the point in
 * another form. */
static int ec_coords(const EVP_PKEY *pkey, size_t cl, uint8_t pt[1 + 2 * KBS_JWK_COORD_MAX])
{
	_cleanup_(BN_clear_freep) BIGNUM *x = NULL, *y = NULL;
	size_t l = 0;

	if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt,
					    1 + 2 * KBS_JWK_COORD_MAX, &l) &&
	    l == 1 + 2 * cl && pt[0] == 0x04)
		return 0;
	if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
	    !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y))
		return -ENOENT;
	if (BN_bn2binpad(x, pt + 1, (int)cl) != (int)cl ||
	    BN_bn2binpad(y, pt + 1 + cl, (int)cl) != (int)cl)
		return -EINVAL;
	pt[0] = 0x04;
	return 0;
}

static int ec_export(const EVP_PKEY *pkey, struct kbs_jwk *out, struct ccu_reason *err)
{
	uint8_t pt[1 + 2 * KBS_JWK_COORD_MAX];
	enum kbs_crv crv = kbs_pkey_crv(pkey);
	size_t cl = kbs_crv_coord_len(crv);
	int r;

	if (crv == KBS_CRV_NONE)
		return ccu_fail(err, -EINVAL, KBS_R_PUBKEY,
				"EC key: expected curve P-256 or P-521");
	r = ec_coords(pkey, cl, pt);
	if (r == -ENOENT)
		return ccu_fail(err, -EINVAL, KBS_R_PUBKEY, "EC key: no public point");
	if (r < 0)
		return ccu_fail(err, -EINVAL, KBS_R_PUBKEY, "EC key: coordinate too large");
	out->kty = KBS_KTY_EC;
	out->crv = crv;
	snprintf(out->alg, sizeof(out->alg), "%s", KBS_JWK_ALG_ECDH_ES_A256KW);
	if (ccu_b64_encode(pt + 1, cl, CCU_B64_URL, out->x, sizeof(out->x)) < 0 ||
	    ccu_b64_encode(pt + 1 + cl, cl, CCU_B64_URL, out->y, sizeof(out->y)) < 0)
		return ccu_fail(err, -EINVAL, KBS_R_PUBKEY, "EC key: encoding failed");
	return 0;
}

static int rsa_export(const EVP_PKEY *pkey, struct kbs_jwk *out, struct ccu_reason *err)
{
	_cleanup_(BN_clear_freep) BIGNUM *n = NULL, *e = NULL;
	int bits = EVP_PKEY_get_bits(pkey);

	if (bits < KBS_JWK_RSA_MIN_BITS || bits > KBS_JWK_RSA_MAX_BITS)
		return ccu_fail(err, -EINVAL, KBS_R_PUBKEY, "RSA key: %d bits, expected %d..%d",
				bits, KBS_JWK_RSA_MIN_BITS, KBS_JWK_RSA_MAX_BITS);
	if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) ||
	    !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e))
		return ccu_fail(err, -EINVAL, KBS_R_PUBKEY, "RSA key: no modulus/exponent");
	if (BN_num_bytes(e) > KBS_JWK_RSA_E_MAX_BYTES)
		return ccu_fail(err, -EINVAL, KBS_R_PUBKEY, "RSA key: exponent too large");
	out->kty = KBS_KTY_RSA;
	out->crv = KBS_CRV_NONE;
	snprintf(out->alg, sizeof(out->alg), "%s", KBS_JWK_ALG_RSA_OAEP_256);
	if (bn_b64(n, 0, out->n, sizeof(out->n)) < 0 || bn_b64(e, 0, out->e, sizeof(out->e)) < 0)
		return ccu_fail(err, -EINVAL, KBS_R_PUBKEY, "RSA key: encoding failed");
	return 0;
}

int kbs_jwk_from_pkey(const EVP_PKEY *pkey, struct kbs_jwk *out, struct ccu_reason *err)
{
	memset(out, 0, sizeof(*out));
	if (!pkey)
		return ccu_fail(err, -EINVAL, KBS_R_PUBKEY, "no key");
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_EC:
		return ec_export(pkey, out, err);
	case EVP_PKEY_RSA:
		return rsa_export(pkey, out, err);
	default:
		return ccu_fail(err, -EINVAL, KBS_R_PUBKEY, "key type %d: expected EC or RSA",
				EVP_PKEY_get_base_id(pkey));
	}
}

/* ------------------------------------------------------------ parsing */

static const char *const ec_members[] = { "kty", "crv", "alg", "x", "y" };
static const char *const rsa_members[] = { "kty", "alg", "n", "e" };

static int parse_coord(const json_t *obj, const char *key, size_t cl, char *dst,
		       struct ccu_reason *err)
{
	uint8_t buf[KBS_JWK_COORD_MAX];
	size_t bl = ccu_b64_encoded_len(cl, CCU_B64_URL);
	const char *s = kjson_string(obj, key, bl, bl, KBS_R_PUBKEY, "tee-pubkey", err);

	if (!s)
		return -EBADMSG;
	if (!kjson_charset(s, bl, KJSON_B64URL) || kjson_b64url_exact(s, buf, cl) < 0)
		return ccu_fail(err, -EBADMSG, KBS_R_PUBKEY,
				"tee-pubkey: \"%s\" is not base64url of %zu bytes", key, cl);
	memcpy(dst, s, bl + 1);
	return 0;
}

static int parse_ec(const json_t *obj, struct kbs_jwk *out, struct ccu_reason *err)
{
	const char *crv, *alg;
	int r;

	r = kjson_only_members(obj, ec_members, ARRAY_SIZE(ec_members), KBS_R_PUBKEY,
			       "tee-pubkey (EC)", err);
	if (r < 0)
		return r;
	crv = kjson_string(obj, "crv", 1, 16, KBS_R_PUBKEY, "tee-pubkey", err);
	alg = kjson_string(obj, "alg", 1, 32, KBS_R_PUBKEY, "tee-pubkey", err);
	if (!crv || !alg)
		return -EBADMSG;
	if (!strcmp(crv, "P-256"))
		out->crv = KBS_CRV_P256;
	else if (!strcmp(crv, "P-521"))
		out->crv = KBS_CRV_P521;
	else
		return ccu_fail(err, -EBADMSG, KBS_R_PUBKEY,
				"tee-pubkey: crv \"%s\", expected P-256 or P-521", crv);
	if (strcmp(alg, KBS_JWK_ALG_ECDH_ES_A256KW))
		return ccu_fail(err, -EBADMSG, KBS_R_PUBKEY, "tee-pubkey: alg \"%s\", expected %s",
				alg, KBS_JWK_ALG_ECDH_ES_A256KW);
	snprintf(out->alg, sizeof(out->alg), "%s", alg);
	out->kty = KBS_KTY_EC;
	r = parse_coord(obj, "x", kbs_crv_coord_len(out->crv), out->x, err);
	if (r < 0)
		return r;
	return parse_coord(obj, "y", kbs_crv_coord_len(out->crv), out->y, err);
}

static int parse_rsa_n(const json_t *obj, struct kbs_jwk *out, struct ccu_reason *err)
{
	uint8_t buf[KBS_JWK_RSA_MAX_BITS / 8];
	const char *s =
		kjson_string(obj, "n", 2, KBS_JWK_RSA_N_B64_MAX, KBS_R_PUBKEY, "tee-pubkey", err);
	size_t l, bits;
	int r;

	if (!s)
		return -EBADMSG;
	l = strlen(s);
	r = kjson_charset(s, l, KJSON_B64URL) ? ccu_b64_decode(s, l, CCU_B64_URL, buf, sizeof(buf))
					      : -EINVAL;
	if (r <= 0)
		return ccu_fail(err, -EBADMSG, KBS_R_PUBKEY, "tee-pubkey: n is not base64url");
	if (buf[0] == 0)
		return ccu_fail(err, -EBADMSG, KBS_R_PUBKEY,
				"tee-pubkey: n has a leading zero octet");
	bits = (size_t)r * 8;
	for (uint8_t b = buf[0]; !(b & 0x80); b <<= 1)
		bits--;
	if (bits < KBS_JWK_RSA_MIN_BITS || !(buf[r - 1] & 1))
		return ccu_fail(
			err, -EBADMSG, KBS_R_PUBKEY,
			"tee-pubkey: n has %zu bits, expected an odd modulus of %d..%d bits", bits,
			KBS_JWK_RSA_MIN_BITS, KBS_JWK_RSA_MAX_BITS);
	memcpy(out->n, s, l + 1);
	return 0;
}

static int parse_rsa_e(const json_t *obj, struct kbs_jwk *out, struct ccu_reason *err)
{
	uint8_t buf[KBS_JWK_RSA_E_MAX_BYTES];
	const char *s =
		kjson_string(obj, "e", 2, KBS_JWK_RSA_E_B64_MAX, KBS_R_PUBKEY, "tee-pubkey", err);
	uint32_t e = 0;
	size_t l;
	int r;

	if (!s)
		return -EBADMSG;
	l = strlen(s);
	r = kjson_charset(s, l, KJSON_B64URL) ? ccu_b64_decode(s, l, CCU_B64_URL, buf, sizeof(buf))
					      : -EINVAL;
	if (r <= 0 || buf[0] == 0)
		return ccu_fail(err, -EBADMSG, KBS_R_PUBKEY,
				"tee-pubkey: e is not minimal base64url of at most %d bytes",
				KBS_JWK_RSA_E_MAX_BYTES);
	for (int i = 0; i < r; i++)
		e = e << 8 | buf[i];
	if (e < 3 || !(e & 1))
		return ccu_fail(err, -EBADMSG, KBS_R_PUBKEY,
				"tee-pubkey: e = %u, expected odd >= 3", e);
	memcpy(out->e, s, l + 1);
	return 0;
}

static int parse_rsa(const json_t *obj, struct kbs_jwk *out, struct ccu_reason *err)
{
	const char *alg;
	int r;

	r = kjson_only_members(obj, rsa_members, ARRAY_SIZE(rsa_members), KBS_R_PUBKEY,
			       "tee-pubkey (RSA)", err);
	if (r < 0)
		return r;
	alg = kjson_string(obj, "alg", 1, 32, KBS_R_PUBKEY, "tee-pubkey", err);
	if (!alg)
		return -EBADMSG;
	if (strcmp(alg, KBS_JWK_ALG_RSA_OAEP_256))
		return ccu_fail(err, -EBADMSG, KBS_R_PUBKEY, "tee-pubkey: alg \"%s\", expected %s",
				alg, KBS_JWK_ALG_RSA_OAEP_256);
	snprintf(out->alg, sizeof(out->alg), "%s", alg);
	out->kty = KBS_KTY_RSA;
	r = parse_rsa_n(obj, out, err);
	if (r < 0)
		return r;
	return parse_rsa_e(obj, out, err);
}

int kbs_jwk_parse(const json_t *obj, struct kbs_jwk *out, struct ccu_reason *err)
{
	const char *kty;
	int r;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(obj))
		return ccu_fail(err, -EBADMSG, KBS_R_PUBKEY, "tee-pubkey: expected a JSON object");
	kty = kjson_string(obj, "kty", 1, 8, KBS_R_PUBKEY, "tee-pubkey", err);
	if (!kty)
		return -EBADMSG;
	if (!strcmp(kty, "EC"))
		r = parse_ec(obj, out, err);
	else if (!strcmp(kty, "RSA"))
		r = parse_rsa(obj, out, err);
	else
		r = ccu_fail(err, -EBADMSG, KBS_R_PUBKEY,
			     "tee-pubkey: kty \"%s\", expected EC or RSA", kty);
	if (r < 0)
		memset(out, 0, sizeof(*out));
	return r;
}

int kbs_jwk_parse_text(const char *text, size_t len, struct kbs_jwk *out, struct ccu_reason *err)
{
	json_t *obj;
	int r;

	memset(out, 0, sizeof(*out));
	r = kjson_load_object(text, len, KBS_JWK_JSON_MAX, KBS_R_PUBKEY, "tee-pubkey", &obj, err);
	if (r < 0)
		return r;
	r = kbs_jwk_parse(obj, out, err);
	json_decref(obj);
	return r;
}

/* ------------------------------------------------------------ to EVP_PKEY */

static int fromdata(const char *type, OSSL_PARAM *params, EVP_PKEY **ret)
{
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx =
		EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *chk = NULL;
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *pk = NULL;

	if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0)
		return -ENOMEM;
	if (EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		return -EBADMSG;
	chk = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	if (!chk)
		return -ENOMEM;
	/* EC: on the curve and not the identity. The NIST curves have
	 * cofactor 1, so every such point has the group's order and the full
	 * check's extra scalar multiplication (n*Q == O) proves nothing more.
	 * RSA: the full check (n odd, not too small, e odd etc.). */
	if ((strcmp(type, "EC") == 0 ? EVP_PKEY_public_check_quick(chk) :
				       EVP_PKEY_public_check(chk)) != 1)
		return -EBADMSG;
	*ret = TAKE_PTR(pk);
	return 0;
}

/* The point on the process's template for the curve (ccu_ec_params): the
 * same checks as fromdata() without building the group again. -ENOSYS when
 * there is no template. */
static int ec_point_to_pkey(enum kbs_crv crv, const uint8_t *pt, size_t len, EVP_PKEY **ret)
{
	EVP_PKEY *tmpl = ccu_ec_params(kbs_crv_name(crv));
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *chk = NULL;
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *pk = NULL;

	if (!tmpl)
		return -ENOSYS;
	pk = EVP_PKEY_dup(tmpl);
	if (!pk)
		return -ENOMEM;
	/* decodes the point: refused unless it is on the curve */
	if (EVP_PKEY_set1_encoded_public_key(pk, pt, len) != 1)
		return -EBADMSG;
	chk = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	if (!chk)
		return -ENOMEM;
	if (EVP_PKEY_public_check_quick(chk) != 1)
		return -EBADMSG;
	*ret = TAKE_PTR(pk);
	return 0;
}

static int ec_to_pkey(const struct kbs_jwk *jwk, EVP_PKEY **ret, struct ccu_reason *err)
{
	_cleanup_(OSSL_PARAM_BLD_freep) OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	_cleanup_(OSSL_PARAM_freep) OSSL_PARAM *params = NULL;
	uint8_t pt[1 + 2 * KBS_JWK_COORD_MAX];
	size_t cl = kbs_crv_coord_len(jwk->crv);
	int r;

	if (cl == 0)
		return ccu_fail(err, -EBADMSG, KBS_R_PUBKEY, "tee-pubkey: unknown curve");
	pt[0] = 0x04; /* uncompressed point */
	if (kjson_b64url_exact(jwk->x, pt + 1, cl) < 0 ||
	    kjson_b64url_exact(jwk->y, pt + 1 + cl, cl) < 0)
		return ccu_fail(err, -EBADMSG, KBS_R_PUBKEY, "tee-pubkey: bad coordinates");
	r = ec_point_to_pkey(jwk->crv, pt, 1 + 2 * cl, ret);
	if (r != -ENOSYS)
		goto done;
	if (!bld ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
					     kbs_crv_name(jwk->crv), 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * cl) ||
	    !(params = OSSL_PARAM_BLD_to_param(bld)))
		return ccu_fail(err, -ENOMEM, KBS_R_INTERNAL, "out of memory");
	r = fromdata("EC", params, ret);
done:
	if (r == -EBADMSG)
		return ccu_fail(err, r, KBS_R_PUBKEY, "tee-pubkey: point is not on curve %s",
				kbs_crv_name(jwk->crv));
	if (r < 0)
		return ccu_fail(err, r, KBS_R_INTERNAL, "EC key import failed");
	return 0;
}

static BIGNUM *b64_bn(const char *s)
{
	uint8_t buf[KBS_JWK_RSA_MAX_BITS / 8];
	int r = ccu_b64_decode(s, strlen(s), CCU_B64_URL, buf, sizeof(buf));

	return r > 0 ? BN_bin2bn(buf, r, NULL) : NULL;
}

static int rsa_to_pkey(const struct kbs_jwk *jwk, EVP_PKEY **ret, struct ccu_reason *err)
{
	_cleanup_(OSSL_PARAM_BLD_freep) OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	_cleanup_(OSSL_PARAM_freep) OSSL_PARAM *params = NULL;
	_cleanup_(BN_clear_freep) BIGNUM *n = b64_bn(jwk->n), *e = b64_bn(jwk->e);
	int bits, r;

	if (!n || !e)
		return ccu_fail(err, -EBADMSG, KBS_R_PUBKEY, "tee-pubkey: bad n/e");
	bits = BN_num_bits(n);
	if (bits < KBS_JWK_RSA_MIN_BITS || bits > KBS_JWK_RSA_MAX_BITS || !BN_is_odd(n) ||
	    !BN_is_odd(e) || BN_num_bytes(e) > KBS_JWK_RSA_E_MAX_BYTES ||
	    BN_cmp(e, BN_value_one()) <= 0)
		return ccu_fail(err, -EBADMSG, KBS_R_PUBKEY,
				"tee-pubkey: RSA %d bits out of bounds", bits);
	if (!bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
	    !(params = OSSL_PARAM_BLD_to_param(bld)))
		return ccu_fail(err, -ENOMEM, KBS_R_INTERNAL, "out of memory");
	r = fromdata("RSA", params, ret);
	if (r == -EBADMSG)
		return ccu_fail(err, r, KBS_R_PUBKEY, "tee-pubkey: RSA public key check failed");
	if (r < 0)
		return ccu_fail(err, r, KBS_R_INTERNAL, "RSA key import failed");
	return 0;
}

int kbs_jwk_to_pkey(const struct kbs_jwk *jwk, EVP_PKEY **ret, struct ccu_reason *err)
{
	*ret = NULL;
	switch (jwk->kty) {
	case KBS_KTY_EC:
		return ec_to_pkey(jwk, ret, err);
	case KBS_KTY_RSA:
		return rsa_to_pkey(jwk, ret, err);
	case KBS_KTY_NONE:
		break;
	}
	return ccu_fail(err, -EBADMSG, KBS_R_PUBKEY, "tee-pubkey: no key type");
}

int kbs_jwk_import(const json_t *obj, struct kbs_jwk *out, EVP_PKEY **ret, struct ccu_reason *err)
{
	EVP_PKEY *pk = NULL;
	int r = kbs_jwk_parse(obj, out, err);

	if (ret)
		*ret = NULL;
	if (r < 0)
		return r;
	r = kbs_jwk_to_pkey(out, &pk, err);
	if (r < 0) {
		memset(out, 0, sizeof(*out));
		return r;
	}
	if (ret)
		*ret = pk;
	else
		EVP_PKEY_free(pk);
	return 0;
}

/* ------------------------------------------------------------ to JSON */

static int set_str(json_t *o, const char *k, const char *v)
{
	return json_object_set_new(o, k, json_string(v));
}

json_t *kbs_jwk_to_json(const struct kbs_jwk *jwk)
{
	json_t *o;
	int r = 0;

	if (jwk->kty != KBS_KTY_EC && jwk->kty != KBS_KTY_RSA)
		return NULL;
	o = json_object();
	if (!o)
		return NULL;
	if (jwk->kty == KBS_KTY_EC) {
		r |= set_str(o, "kty", "EC");
		r |= set_str(o, "crv", kbs_crv_name(jwk->crv));
		r |= set_str(o, "alg", jwk->alg);
		r |= set_str(o, "x", jwk->x);
		r |= set_str(o, "y", jwk->y);
	} else {
		r |= set_str(o, "kty", "RSA");
		r |= set_str(o, "alg", jwk->alg);
		r |= set_str(o, "n", jwk->n);
		r |= set_str(o, "e", jwk->e);
	}
	if (r) {
		json_decref(o);
		return NULL;
	}
	return o;
}

bool kbs_jwk_equal(const struct kbs_jwk *a, const struct kbs_jwk *b)
{
	if (a->kty != b->kty || a->kty == KBS_KTY_NONE || strcmp(a->alg, b->alg))
		return false;
	if (a->kty == KBS_KTY_EC)
		return a->crv == b->crv && !strcmp(a->x, b->x) && !strcmp(a->y, b->y);
	return !strcmp(a->n, b->n) && !strcmp(a->e, b->e);
}

/* ------------------------------------------------------------ private export */

struct sbuf {
	char *p;
	size_t len, cap;
	bool fail;
};

static void sb_add(struct sbuf *b, const char *s)
{
	size_t l = strlen(s);

	if (b->fail || b->len + l + 1 > b->cap) {
		b->fail = true;
		return;
	}
	memcpy(b->p + b->len, s, l + 1);
	b->len += l;
}

/* ,"name":"<b64url of private BN param>" */
static void sb_bn(struct sbuf *b, const EVP_PKEY *pkey, const char *param, const char *name,
		  size_t pad)
{
	_cleanup_(BN_clear_freep) BIGNUM *bn = NULL;
	char enc[KBS_JWK_RSA_N_B64_MAX + 8];

	if (b->fail || !EVP_PKEY_get_bn_param(pkey, param, &bn) ||
	    bn_b64(bn, pad, enc, sizeof(enc)) < 0) {
		b->fail = true;
		return;
	}
	sb_add(b, ",\"");
	sb_add(b, name);
	sb_add(b, "\":\"");
	sb_add(b, enc);
	sb_add(b, "\"");
	secmem_wipe(enc, sizeof(enc));
}

int kbs_jwk_export_private(const EVP_PKEY *pkey, char **ret, struct ccu_reason *err)
{
	static const char *const rsa_priv[][2] = {
		{ OSSL_PKEY_PARAM_RSA_D, "d" },		 { OSSL_PKEY_PARAM_RSA_FACTOR1, "p" },
		{ OSSL_PKEY_PARAM_RSA_FACTOR2, "q" },	 { OSSL_PKEY_PARAM_RSA_EXPONENT1, "dp" },
		{ OSSL_PKEY_PARAM_RSA_EXPONENT2, "dq" }, { OSSL_PKEY_PARAM_RSA_COEFFICIENT1, "qi" },
	};
	struct kbs_jwk pub;
	struct sbuf b = { 0 };
	int r;

	*ret = NULL;
	r = kbs_jwk_from_pkey(pkey, &pub, err);
	if (r < 0)
		return r;
	b.cap = 8 * (KBS_JWK_RSA_N_B64_MAX + 16);
	b.p = secmem_alloc(b.cap);
	if (!b.p)
		return ccu_fail(err, -ENOMEM, KBS_R_INTERNAL, "secure memory allocation failed");
	sb_add(&b, "{\"alg\":\"");
	sb_add(&b, pub.alg);
	if (pub.kty == KBS_KTY_EC) {
		sb_add(&b, "\",\"crv\":\"");
		sb_add(&b, kbs_crv_name(pub.crv));
		sb_add(&b, "\"");
		sb_bn(&b, pkey, OSSL_PKEY_PARAM_PRIV_KEY, "d", kbs_crv_coord_len(pub.crv));
		sb_add(&b, ",\"kty\":\"EC\",\"x\":\"");
		sb_add(&b, pub.x);
		sb_add(&b, "\",\"y\":\"");
		sb_add(&b, pub.y);
		sb_add(&b, "\"}");
	} else {
		sb_add(&b, "\"");
		for (size_t i = 0; i < ARRAY_SIZE(rsa_priv); i++)
			sb_bn(&b, pkey, rsa_priv[i][0], rsa_priv[i][1], 0);
		sb_add(&b, ",\"e\":\"");
		sb_add(&b, pub.e);
		sb_add(&b, "\",\"kty\":\"RSA\",\"n\":\"");
		sb_add(&b, pub.n);
		sb_add(&b, "\"}");
	}
	if (b.fail) {
		secmem_free(b.p);
		return ccu_fail(err, -EINVAL, KBS_R_PUBKEY, "key has no private part");
	}
	*ret = b.p;
	return 0;
}
