/* tee-pubkey JWK: export/import round trips, left padding, and every form
 * the strict importer must refuse (kbs-protocol §5.2). */
#include "helpers/testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>

#include "common/codec.h"
#include "common/secmem.h"
#include "kbs/jwk.h"
#include "kbs/kbs.h"
#include "kbs/kjson.h"

/* A valid P-256 point (the generator G). */
static const char gx[] = "axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY";
static const char gy[] = "T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU";

static struct ccu_reason rsn;

static int parse_text(const char *s, struct kbs_jwk *j)
{
	memset(&rsn, 0, sizeof(rsn));
	return kbs_jwk_parse_text(s, strlen(s), j, TU_FRESH(&rsn));
}

static int import_text(const char *s, struct kbs_jwk *j, EVP_PKEY **k)
{
	json_error_t e;
	json_t *v = json_loads(s, 0, &e);
	int r;

	assert_non_null(v);
	memset(&rsn, 0, sizeof(rsn));
	r = kbs_jwk_import(v, j, k, TU_FRESH(&rsn));
	json_decref(v);
	return r;
}

static void expect_parse_fail(const char *s)
{
	struct kbs_jwk j;

	assert_int_equal(parse_text(s, &j), -EBADMSG);
	assert_string_equal(rsn.code, KBS_R_PUBKEY);
	assert_int_equal(j.kty, KBS_KTY_NONE);
}

static char *ec_json(const char *extra_front, const char *crv, const char *alg, const char *x,
		     const char *y)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf),
		 "{%s\"kty\":\"EC\",\"crv\":\"%s\",\"alg\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"}",
		 extra_front, crv, alg, x, y);
	return buf;
}

static void test_ec_roundtrip(void **state)
{
	EVP_PKEY *k = NULL, *k2 = NULL;
	struct kbs_jwk j, j2;
	json_t *o;
	uint8_t x[32];
	(void)state;

	assert_int_equal(kbs_jwk_generate_ec(&k, NULL), 0);
	assert_int_equal(kbs_jwk_from_pkey(k, &j, NULL), 0);
	assert_int_equal(j.kty, KBS_KTY_EC);
	assert_int_equal(j.crv, KBS_CRV_P256);
	assert_string_equal(j.alg, "ECDH-ES+A256KW");
	assert_int_equal(strlen(j.x), 43);
	assert_int_equal(strlen(j.y), 43);
	assert_int_equal(ccu_b64_decode(j.x, 43, CCU_B64_URL, x, sizeof(x)), 32);

	o = kbs_jwk_to_json(&j);
	assert_non_null(o);
	assert_int_equal(json_object_size(o), 5);
	assert_string_equal(json_string_value(json_object_get(o, "kty")), "EC");
	assert_string_equal(json_string_value(json_object_get(o, "crv")), "P-256");
	assert_int_equal(kbs_jwk_import(o, &j2, &k2, NULL), 0);
	assert_true(kbs_jwk_equal(&j, &j2));
	assert_int_equal(EVP_PKEY_eq(k, k2), 1);
	json_decref(o);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
}

/* Coordinates are left-padded to 32 bytes: find a key whose x starts with 0. */
static void test_ec_left_padding(void **state)
{
	bool found = false;
	(void)state;

	for (int i = 0; i < 20000 && !found; i++) {
		EVP_PKEY *k = NULL, *k2 = NULL;
		struct kbs_jwk j;
		uint8_t x[32];

		assert_int_equal(kbs_jwk_generate_ec(&k, NULL), 0);
		assert_int_equal(kbs_jwk_from_pkey(k, &j, NULL), 0);
		assert_int_equal(strlen(j.x), 43);
		assert_int_equal(
			kbs_jwk_parse_text(ec_json("", "P-256", "ECDH-ES+A256KW", j.x, j.y),
					   strlen(ec_json("", "P-256", "ECDH-ES+A256KW", j.x, j.y)),
					   &j, NULL),
			0);
		assert_int_equal(ccu_b64_decode(j.x, 43, CCU_B64_URL, x, sizeof(x)), 32);
		if (x[0] == 0) {
			found = true;
			assert_int_equal(kbs_jwk_to_pkey(&j, &k2, NULL), 0);
			assert_int_equal(EVP_PKEY_eq(k, k2), 1);
			EVP_PKEY_free(k2);
		}
		EVP_PKEY_free(k);
	}
	assert_true(found);
}

static void test_p521_roundtrip(void **state)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521"), *k2 = NULL;
	struct kbs_jwk j, j2;
	json_t *o;
	(void)state;

	assert_non_null(k);
	assert_int_equal(kbs_jwk_from_pkey(k, &j, NULL), 0);
	assert_int_equal(j.crv, KBS_CRV_P521);
	assert_int_equal(strlen(j.x), 88);
	o = kbs_jwk_to_json(&j);
	assert_int_equal(kbs_jwk_import(o, &j2, &k2, NULL), 0);
	assert_true(kbs_jwk_equal(&j, &j2));
	assert_int_equal(EVP_PKEY_eq(k, k2), 1);
	json_decref(o);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
}

static void test_rsa_roundtrip(void **state)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048), *k2 = NULL;
	struct kbs_jwk j, j2;
	json_t *o;
	(void)state;

	assert_non_null(k);
	assert_int_equal(kbs_jwk_from_pkey(k, &j, NULL), 0);
	assert_int_equal(j.kty, KBS_KTY_RSA);
	assert_string_equal(j.alg, "RSA-OAEP-256");
	assert_string_equal(j.e, "AQAB");
	assert_int_equal(strlen(j.n), 342);
	o = kbs_jwk_to_json(&j);
	assert_int_equal(json_object_size(o), 4);
	assert_null(json_object_get(o, "crv"));
	assert_int_equal(kbs_jwk_import(o, &j2, &k2, NULL), 0);
	assert_true(kbs_jwk_equal(&j, &j2));
	assert_int_equal(EVP_PKEY_eq(k, k2), 1);
	json_decref(o);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
}

static void test_ec_rejects(void **state)
{
	char x42[64], x44[64], xpad[64], xstd[64], xbits[64];
	(void)state;

	snprintf(x42, sizeof(x42), "%.42s", gx);
	snprintf(x44, sizeof(x44), "%sA", gx);
	snprintf(xpad, sizeof(xpad), "%s=", gx);
	snprintf(xstd, sizeof(xstd), "%s", gy);
	xstd[1] = '+'; /* standard alphabet */
	snprintf(xbits, sizeof(xbits), "%s", gx);
	xbits[42] = 'Z'; /* non-zero pad bits in the last symbol */

	/* sanity: the reference form parses */
	{
		struct kbs_jwk j;

		assert_int_equal(parse_text(ec_json("", "P-256", "ECDH-ES+A256KW", gx, gy), &j), 0);
	}
	expect_parse_fail(ec_json("\"use\":\"enc\",", "P-256", "ECDH-ES+A256KW", gx, gy));
	expect_parse_fail(ec_json("\"kid\":\"1\",", "P-256", "ECDH-ES+A256KW", gx, gy));
	expect_parse_fail(ec_json("\"d\":\"AAAA\",", "P-256", "ECDH-ES+A256KW", gx, gy));
	expect_parse_fail(ec_json("", "P-384", "ECDH-ES+A256KW", gx, gy));
	expect_parse_fail(ec_json("", "secp256k1", "ECDH-ES+A256KW", gx, gy));
	expect_parse_fail(ec_json("", "P-256", "ECDH-ES", gx, gy));
	expect_parse_fail(ec_json("", "P-256", "RSA-OAEP-256", gx, gy));
	expect_parse_fail(ec_json("", "P-256", "ecdh-es+a256kw", gx, gy));
	expect_parse_fail(ec_json("", "P-521", "ECDH-ES+A256KW", gx, gy)); /* P-256 lengths */
	expect_parse_fail(ec_json("", "P-256", "ECDH-ES+A256KW", x42, gy));
	expect_parse_fail(ec_json("", "P-256", "ECDH-ES+A256KW", x44, gy));
	expect_parse_fail(ec_json("", "P-256", "ECDH-ES+A256KW", xpad, gy));
	expect_parse_fail(ec_json("", "P-256", "ECDH-ES+A256KW", gx, xstd));
	expect_parse_fail(ec_json("", "P-256", "ECDH-ES+A256KW", xbits, gy));
	expect_parse_fail("{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"ECDH-ES+A256KW\",\"x\":"
			  "\"axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY\"}");
	expect_parse_fail("{\"crv\":\"P-256\",\"alg\":\"ECDH-ES+A256KW\",\"x\":\"a\",\"y\":\"b\"}");
	expect_parse_fail("{\"kty\":\"EC\",\"alg\":\"ECDH-ES+A256KW\",\"x\":"
			  "\"axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY\",\"y\":\"T-NC4v4af5uO5-"
			  "tKfA-eFivOM1drMV7Oy7ZAaDe_UfU\"}");
	expect_parse_fail("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":"
			  "\"axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY\",\"y\":\"T-NC4v4af5uO5-"
			  "tKfA-eFivOM1drMV7Oy7ZAaDe_UfU\"}");
	expect_parse_fail("{\"kty\":\"oct\",\"k\":\"AAAA\"}");
	expect_parse_fail("{\"kty\":1}");
	expect_parse_fail(
		"{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"ECDH-ES+A256KW\",\"x\":1,\"y\":2}");
	expect_parse_fail("[]");
	expect_parse_fail("{}");
	expect_parse_fail("{\"kty\":\"EC\",\"kty\":\"EC\"}");
	expect_parse_fail("{\"kty\":\"EC\"} x");
	expect_parse_fail("");
	{
		struct kbs_jwk j;

		assert_int_equal(kbs_jwk_parse(NULL, &j, TU_FRESH(&rsn)), -EBADMSG);
		assert_string_equal(rsn.code, KBS_R_PUBKEY);
	}
}

static void expect_import_fail(const char *s)
{
	struct kbs_jwk j;
	EVP_PKEY *k = (EVP_PKEY *)1;

	assert_int_equal(import_text(s, &j, &k), -EBADMSG);
	assert_string_equal(rsn.code, KBS_R_PUBKEY);
	assert_null(k);
	assert_int_equal(j.kty, KBS_KTY_NONE);
}

static void test_ec_point_validation(void **state)
{
	static const char zero[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	static const char ones[] = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE";
	static const char twos[] = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI";
	static const char ff[] = "__________________________________________"; /* 42 */
	struct kbs_jwk j;
	EVP_PKEY *k = NULL;
	(void)state;

	assert_int_equal(import_text(ec_json("", "P-256", "ECDH-ES+A256KW", gx, gy), &j, &k), 0);
	EVP_PKEY_free(k);
	/* Textually fine, not on the curve. */
	assert_int_equal(parse_text(ec_json("", "P-256", "ECDH-ES+A256KW", ones, twos), &j), 0);
	expect_import_fail(ec_json("", "P-256", "ECDH-ES+A256KW", ones, twos));
	expect_import_fail(ec_json("", "P-256", "ECDH-ES+A256KW", zero, zero));
	expect_import_fail(ec_json("", "P-256", "ECDH-ES+A256KW", gx, ones));
	/* x >= p (all ones is > p for P-256) */
	{
		char big[44];

		snprintf(big, sizeof(big), "%.42sw", ff);
		expect_import_fail(ec_json("", "P-256", "ECDH-ES+A256KW", big, gy));
	}
	/* Validate-only import. */
	{
		json_t *v = json_loads(ec_json("", "P-256", "ECDH-ES+A256KW", gx, gy), 0, NULL);

		assert_int_equal(kbs_jwk_import(v, &j, NULL, NULL), 0);
		json_decref(v);
	}
}

/* kbs_jwk_to_pkey of (@x, @y) on @crv: 0, or -EBADMSG with KBS_PUBKEY. */
static int import_point(enum kbs_crv crv, const uint8_t *x, const uint8_t *y)
{
	size_t cl = kbs_crv_coord_len(crv);
	struct kbs_jwk j = { .kty = KBS_KTY_EC, .crv = crv, .alg = "ECDH-ES+A256KW" };
	EVP_PKEY *k = (EVP_PKEY *)1;
	int r;

	assert_true(ccu_b64_encode(x, cl, CCU_B64_URL, j.x, sizeof(j.x)) > 0);
	assert_true(ccu_b64_encode(y, cl, CCU_B64_URL, j.y, sizeof(j.y)) > 0);
	r = kbs_jwk_to_pkey(&j, &k, TU_FRESH(&rsn));
	if (r == 0) {
		assert_non_null(k);
		EVP_PKEY_free(k);
		return 0;
	}
	assert_null(k);
	assert_int_equal(r, -EBADMSG);
	assert_string_equal(rsn.code, KBS_R_PUBKEY);
	assert_non_null(strstr(rsn.detail, "not on curve"));
	return r;
}

/*
 * The JWE's key agreement does not validate its peer again (jwe.c, ecdh()),
 * so this import is the only check of the guest's point: on both curves,
 * everything that is not a point of the curve is refused here, and a point
 * of the curve (Q and -Q) is accepted.
 */
static void test_ec_points_both_curves(void **state)
{
	static const char *const p_hex[] = {
		"FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF",
		"01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
		"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
	};
	static const enum kbs_crv crvs[] = { KBS_CRV_P256, KBS_CRV_P521 };
	(void)state;

	for (size_t i = 0; i < 2; i++) {
		enum kbs_crv crv = crvs[i];
		size_t cl = kbs_crv_coord_len(crv);
		uint8_t x[KBS_JWK_COORD_MAX], y[KBS_JWK_COORD_MAX], ny[KBS_JWK_COORD_MAX];
		uint8_t pb[KBS_JWK_COORD_MAX], zero[KBS_JWK_COORD_MAX] = { 0 };
		EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", kbs_crv_name(crv));
		BIGNUM *p = NULL, *yb;
		struct kbs_jwk j;

		assert_non_null(k);
		assert_int_equal(kbs_jwk_from_pkey(k, &j, NULL), 0);
		assert_int_equal(kjson_b64url_exact(j.x, x, cl), 0);
		assert_int_equal(kjson_b64url_exact(j.y, y, cl), 0);
		assert_true(BN_hex2bn(&p, p_hex[i]) > 0);
		assert_int_equal(BN_bn2binpad(p, pb, (int)cl), (int)cl);
		yb = BN_bin2bn(y, (int)cl, NULL);
		assert_non_null(yb);
		assert_int_equal(BN_sub(yb, p, yb), 1);
		assert_int_equal(BN_bn2binpad(yb, ny, (int)cl), (int)cl);

		assert_int_equal(import_point(crv, x, y), 0);
		assert_int_equal(import_point(crv, x, ny), 0);
		/* a point of another curve y^2 = x^3 - 3x + b' */
		assert_int_equal(import_point(crv, x, x), -EBADMSG);
		/* (0, 0), which some encodings take for the identity */
		assert_int_equal(import_point(crv, zero, zero), -EBADMSG);
		assert_int_equal(import_point(crv, zero, y), -EBADMSG);
		/* a coordinate not reduced modulo p */
		assert_int_equal(import_point(crv, pb, y), -EBADMSG);
		assert_int_equal(import_point(crv, x, pb), -EBADMSG);
		BN_free(p);
		BN_free(yb);
		EVP_PKEY_free(k);
	}
}

static char *rsa_json(const char *alg, const uint8_t *n, size_t nlen, const uint8_t *e, size_t elen,
		      const char *extra)
{
	static char buf[4096];
	char ns[2048], es[64];

	assert_true(ccu_b64_encode(n, nlen, CCU_B64_URL, ns, sizeof(ns)) >= 0);
	assert_true(ccu_b64_encode(e, elen, CCU_B64_URL, es, sizeof(es)) >= 0);
	snprintf(buf, sizeof(buf), "{\"kty\":\"RSA\",\"alg\":\"%s\",\"n\":\"%s\",\"e\":\"%s\"%s}",
		 alg, ns, es, extra);
	return buf;
}

static void test_rsa_rejects(void **state)
{
	uint8_t n[600], e3[] = { 1, 0, 1 }, e_even[] = { 1, 0, 0 }, e_one[] = { 1 },
			e5[] = { 1, 0, 0, 0, 1 }, e_lead[] = { 0, 1, 0, 1 };
	struct kbs_jwk j;
	(void)state;

	memset(n, 0xc5, sizeof(n));
	n[255] |= 1;
	/* sanity: 2048-bit odd "modulus" parses textually */
	assert_int_equal(parse_text(rsa_json("RSA-OAEP-256", n, 256, e3, 3, ""), &j), 0);
	assert_int_equal(j.kty, KBS_KTY_RSA);
	expect_parse_fail(rsa_json("RSA1_5", n, 256, e3, 3, ""));
	expect_parse_fail(rsa_json("RSA-OAEP", n, 256, e3, 3, ""));
	expect_parse_fail(rsa_json("ECDH-ES+A256KW", n, 256, e3, 3, ""));
	expect_parse_fail(rsa_json("RSA-OAEP-256", n, 256, e3, 3, ",\"use\":\"enc\""));
	expect_parse_fail(rsa_json("RSA-OAEP-256", n, 256, e3, 3, ",\"crv\":\"P-256\""));
	expect_parse_fail(rsa_json("RSA-OAEP-256", n, 128, e3, 3, "")); /* 1024 bits */
	expect_parse_fail(rsa_json("RSA-OAEP-256", n, 255, e3, 3, "")); /* 2040 bits */
	n[255] &= 0xfe;
	expect_parse_fail(rsa_json("RSA-OAEP-256", n, 256, e3, 3, "")); /* even */
	n[255] |= 1;
	n[0] = 0;
	expect_parse_fail(rsa_json("RSA-OAEP-256", n, 257, e3, 3, "")); /* leading zero */
	n[0] = 0xc5;
	expect_parse_fail(rsa_json("RSA-OAEP-256", n, 256, e_even, 3, ""));
	expect_parse_fail(rsa_json("RSA-OAEP-256", n, 256, e_one, 1, ""));
	expect_parse_fail(rsa_json("RSA-OAEP-256", n, 256, e5, 5, ""));
	expect_parse_fail(rsa_json("RSA-OAEP-256", n, 256, e_lead, 4, ""));
	expect_parse_fail("{\"kty\":\"RSA\",\"alg\":\"RSA-OAEP-256\",\"e\":\"AQAB\"}");
	expect_parse_fail("{\"kty\":\"RSA\",\"alg\":\"RSA-OAEP-256\",\"n\":\"AQAB\"}");
	/* 8200 bits: over the bound */
	{
		uint8_t big[1025];

		memset(big, 0xff, sizeof(big));
		expect_parse_fail(rsa_json("RSA-OAEP-256", big, sizeof(big), e3, 3, ""));
	}
}

static void test_from_pkey_rejects(void **state)
{
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	EVP_PKEY *rsa1k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	struct kbs_jwk j;
	struct ccu_reason r = { 0 };
	(void)state;

	assert_int_equal(kbs_jwk_from_pkey(ed, &j, &r), -EINVAL);
	assert_string_equal(r.code, KBS_R_PUBKEY);
	assert_int_equal(kbs_jwk_from_pkey(p384, &j, &r), -EINVAL);
	assert_string_equal(r.code, KBS_R_PUBKEY);
	assert_int_equal(kbs_jwk_from_pkey(rsa1k, &j, &r), -EINVAL);
	assert_string_equal(r.code, KBS_R_PUBKEY);
	assert_int_equal(kbs_jwk_from_pkey(NULL, &j, &r), -EINVAL);
	memset(&j, 0, sizeof(j));
	assert_null(kbs_jwk_to_json(&j));
	EVP_PKEY_free(ed);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(rsa1k);
}

/* x and y of @k as the BIGNUM parameters give them, left-padded. */
static void bn_coords(EVP_PKEY *k, size_t cl, uint8_t *x, uint8_t *y)
{
	BIGNUM *bx = NULL, *by = NULL;

	assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &bx), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &by), 1);
	assert_int_equal(BN_bn2binpad(bx, x, (int)cl), (int)cl);
	assert_int_equal(BN_bn2binpad(by, y, (int)cl), (int)cl);
	BN_free(bx);
	BN_free(by);
}

/* The export reads the encoded point: its coordinates are the key's, on
 * both curves, whatever point form the key is set to print (OpenSSL's
 * provider encodes uncompressed regardless; another may not, and the export
 * then reads x and y one by one). */
static void test_ec_export_coordinates(void **state)
{
	static const char *const curves[] = { "P-256", "P-521" };
	static const enum kbs_crv crvs[] = { KBS_CRV_P256, KBS_CRV_P521 };
	(void)state;

	for (size_t c = 0; c < 2; c++) {
		size_t cl = kbs_crv_coord_len(crvs[c]);

		for (int i = 0; i < 64; i++) {
			EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curves[c]);
			uint8_t x[KBS_JWK_COORD_MAX], y[KBS_JWK_COORD_MAX];
			uint8_t jx[KBS_JWK_COORD_MAX], jy[KBS_JWK_COORD_MAX];
			struct kbs_jwk j;

			assert_non_null(k);
			assert_int_equal(kbs_pkey_crv(k), crvs[c]);
			if (i & 1) {
				const char *f = OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT;

				assert_int_equal(EVP_PKEY_set_utf8_string_param(k, f, "compressed"),
						 1);
			}
			assert_int_equal(kbs_jwk_from_pkey(k, &j, NULL), 0);
			assert_int_equal(j.crv, crvs[c]);
			assert_int_equal(kjson_b64url_exact(j.x, jx, cl), 0);
			assert_int_equal(kjson_b64url_exact(j.y, jy, cl), 0);
			bn_coords(k, cl, x, y);
			assert_memory_equal(jx, x, cl);
			assert_memory_equal(jy, y, cl);
			EVP_PKEY_free(k);
		}
	}
}

static void test_pkey_crv(void **state)
{
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	EVP_PKEY *k256 = NULL;
	struct kbs_jwk j;
	struct ccu_reason r = { 0 };
	(void)state;

	assert_int_equal(kbs_jwk_generate_ec(&k256, NULL), 0);
	assert_int_equal(kbs_pkey_crv(k256), KBS_CRV_P256);
	assert_int_equal(kbs_pkey_crv(ed), KBS_CRV_NONE);
	assert_int_equal(kbs_pkey_crv(p384), KBS_CRV_NONE);
	assert_int_equal(kbs_pkey_crv(rsa), KBS_CRV_NONE);
	/* The curve without a point: parameters only. */
	{
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
		char name[] = "P-256";
		OSSL_PARAM p[2] = { OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
								     name, 0),
				    OSSL_PARAM_construct_end() };
		EVP_PKEY *params = NULL;

		assert_non_null(c);
		assert_int_equal(EVP_PKEY_fromdata_init(c), 1);
		assert_int_equal(EVP_PKEY_fromdata(c, &params, EVP_PKEY_KEY_PARAMETERS, p), 1);
		assert_int_equal(kbs_pkey_crv(params), KBS_CRV_P256);
		assert_int_equal(kbs_jwk_from_pkey(params, &j, TU_FRESH(&r)), -EINVAL);
		assert_string_equal(r.code, KBS_R_PUBKEY);
		EVP_PKEY_free(params);
		EVP_PKEY_CTX_free(c);
	}
	EVP_PKEY_free(k256);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(rsa);
}

static void test_equal(void **state)
{
	struct kbs_jwk a, b;
	(void)state;

	assert_int_equal(parse_text(ec_json("", "P-256", "ECDH-ES+A256KW", gx, gy), &a), 0);
	b = a;
	assert_true(kbs_jwk_equal(&a, &b));
	b.y[0] = 'U';
	assert_false(kbs_jwk_equal(&a, &b));
	memset(&b, 0, sizeof(b));
	assert_false(kbs_jwk_equal(&b, &b));
}

static void test_export_private(void **state)
{
	EVP_PKEY *k = NULL, *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	struct kbs_jwk pub;
	char *priv = NULL;
	json_t *v;
	(void)state;

	assert_int_equal(kbs_jwk_generate_ec(&k, NULL), 0);
	assert_int_equal(kbs_jwk_from_pkey(k, &pub, NULL), 0);
	assert_int_equal(kbs_jwk_export_private(k, &priv, NULL), 0);
	assert_true(secmem_size(priv) > strlen(priv));
	v = json_loads(priv, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(v);
	assert_int_equal(json_object_size(v), 6);
	assert_int_equal(strlen(json_string_value(json_object_get(v, "d"))), 43);
	assert_string_equal(json_string_value(json_object_get(v, "x")), pub.x);
	json_decref(v);
	secmem_free(priv);

	assert_int_equal(kbs_jwk_export_private(rsa, &priv, NULL), 0);
	v = json_loads(priv, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(v);
	assert_int_equal(json_object_size(v), 10);
	assert_non_null(json_object_get(v, "qi"));
	json_decref(v);
	secmem_free(priv);

	/* A public-only key has nothing to export. */
	{
		EVP_PKEY *pubk = NULL;
		struct ccu_reason r = { 0 };

		assert_int_equal(kbs_jwk_to_pkey(&pub, &pubk, NULL), 0);
		assert_int_equal(kbs_jwk_export_private(pubk, &priv, &r), -EINVAL);
		assert_null(priv);
		assert_string_equal(r.code, KBS_R_PUBKEY);
		EVP_PKEY_free(pubk);
	}
	EVP_PKEY_free(k);
	EVP_PKEY_free(rsa);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ec_roundtrip),   cmocka_unit_test(test_ec_left_padding),
		cmocka_unit_test(test_p521_roundtrip), cmocka_unit_test(test_rsa_roundtrip),
		cmocka_unit_test(test_ec_rejects),     cmocka_unit_test(test_ec_point_validation),
		cmocka_unit_test(test_ec_points_both_curves),
		cmocka_unit_test(test_ec_export_coordinates),
		cmocka_unit_test(test_pkey_crv),
		cmocka_unit_test(test_rsa_rejects),    cmocka_unit_test(test_from_pkey_rejects),
		cmocka_unit_test(test_equal),	       cmocka_unit_test(test_export_private),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
