#include "kbs/jwe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "common/codec.h"
#include "common/evp.h"
#include "common/macros.h"
#include "common/secmem.h"
#include "kbs/jwk.h"
#include "kbs/kbs.h"
#include "kbs/kjson.h"

DEFINE_FREEP(EVP_PKEY, EVP_PKEY_free)
DEFINE_FREEP(EVP_PKEY_CTX, EVP_PKEY_CTX_free)
DEFINE_FREEP(EVP_CIPHER_CTX, EVP_CIPHER_CTX_free)

#define ALG_ECDH KBS_JWK_ALG_ECDH_ES_A256KW
#define ALG_RSA KBS_JWK_ALG_RSA_OAEP_256
#define HEADER_MAX 512 /* decoded protected header bytes */

/* Every secret of one operation, in one locked buffer wiped on free. */
struct jwe_secrets {
	uint8_t z[KBS_JWK_COORD_MAX];
	uint8_t kek[32];
	uint8_t cek[KBS_JWE_CEK_LEN];
	uint8_t rsa_out[KBS_JWE_MAX_ENCRYPTED_KEY]; /* OAEP output buffer */
};

static struct jwe_secrets *secrets_new(void)
{
	return secmem_alloc(sizeof(struct jwe_secrets));
}

/* ------------------------------------------------------------ primitives */

/* Concat KDF (NIST SP 800-56A, RFC 7518 §4.6.2), one SHA-256 round:
 * SHA256(00000001 || Z || len(alg) || alg || 0 || 0 || 256). */
static int concat_kdf(const uint8_t *z, size_t zlen, uint8_t kek[32])
{
	static const uint8_t counter[4] = { 0, 0, 0, 1 };
	static const uint8_t algid_len[4] = { 0, 0, 0, 14 };
	static const uint8_t tail[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int l = 0;
	int ok;

	if (!md)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(md, ccu_md_sha256(), NULL) &&
	     EVP_DigestUpdate(md, counter, sizeof(counter)) && EVP_DigestUpdate(md, z, zlen) &&
	     EVP_DigestUpdate(md, algid_len, sizeof(algid_len)) &&
	     EVP_DigestUpdate(md, ALG_ECDH, strlen(ALG_ECDH)) &&
	     EVP_DigestUpdate(md, tail, sizeof(tail)) && EVP_DigestFinal_ex(md, kek, &l) && l == 32;
	EVP_MD_CTX_free(md); /* wipes the digest state */
	return ok ? 0 : -EIO;
}

/*
 * Z = x-coordinate of priv * peer, left-padded to the field size.
 *
 * @peer is not validated again here (validate_peer 0). Every peer has come
 * through kbs_jwk_to_pkey(): the guest's tee-pubkey for the broker's
 * encryption (imported for the release, or kept by the broker from the
 * import its /attest made), the JWE's epk for the guest's decryption. That
 * import decodes the point, which refuses coordinates that are not reduced
 * modulo p or a point that is not on the curve, and then checks that the
 * point is not the identity (EVP_PKEY_public_check_quick); test_kbs_jwk and
 * test_kbs_jwe hold the refusals. OpenSSL's own validation would be the full SP 800-56A
 * routine, whose only further step multiplies the point by the group order
 * and expects the identity: a second scalar multiplication, as costly as
 * the agreement. Both curves accepted here (kbs_pkey_crv), P-256 and P-521,
 * have cofactor 1, so every point on the curve other than the identity has
 * the group's order and that step cannot fail for a key the import
 * accepted. OpenSSL still refuses a peer on another curve than @priv's.
 */
static int ecdh(EVP_PKEY *priv, EVP_PKEY *peer, uint8_t *z, size_t zlen)
{
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx =
		EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
	size_t l = zlen;

	if (!ctx || EVP_PKEY_derive_init(ctx) <= 0 ||
	    EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) <= 0)
		return -EINVAL;
	if (EVP_PKEY_derive(ctx, z, &l) <= 0 || l != zlen)
		return -EIO;
	return 0;
}

/* AES-256 key wrap (RFC 3394, default IV) of the CEK: 32 -> 40 bytes, or
 * the reverse; the unwrap checks the integrity value. */
static int aes_kw(bool wrap, const uint8_t kek[32], const uint8_t *in, size_t inlen, uint8_t *out,
		  size_t outlen)
{
	_cleanup_(EVP_CIPHER_CTX_freep) EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l1 = 0, l2 = 0;

	if (!c)
		return -ENOMEM;
	EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	if (!EVP_CipherInit_ex(c, ccu_cipher_aes256wrap(), NULL, kek, NULL, wrap ? 1 : 0))
		return -EIO;
	if (!EVP_CipherUpdate(c, out, &l1, in, (int)inlen) || !EVP_CipherFinal_ex(c, out + l1, &l2))
		return -EBADMSG;
	return (size_t)l1 + (size_t)l2 == outlen ? 0 : -EBADMSG;
}

static int gcm(bool enc, const uint8_t cek[32], const uint8_t iv[12], const char *aad,
	       const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[16])
{
	_cleanup_(EVP_CIPHER_CTX_freep) EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l = 0, lf = 0;

	if (!c)
		return -ENOMEM;
	if (!EVP_CipherInit_ex(c, ccu_cipher_aes256gcm(), NULL, NULL, NULL, enc ? 1 : 0) ||
	    !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, KBS_JWE_IV_LEN, NULL) ||
	    !EVP_CipherInit_ex(c, NULL, NULL, cek, iv, -1))
		return -EIO;
	if (!EVP_CipherUpdate(c, NULL, &l, (const uint8_t *)aad, (int)strlen(aad)))
		return -EIO;
	if (len && !EVP_CipherUpdate(c, out, &l, in, (int)len))
		return -EIO;
	if (!enc && !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, KBS_JWE_TAG_LEN, tag))
		return -EIO;
	if (!EVP_CipherFinal_ex(c, out + (len ? l : 0), &lf))
		return -EBADMSG; /* authentication failed */
	if (enc && !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, KBS_JWE_TAG_LEN, tag))
		return -EIO;
	return 0;
}

static int rsa_ctx(EVP_PKEY *key, bool enc, EVP_PKEY_CTX **ret)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);

	if (!c)
		return -ENOMEM;
	if ((enc ? EVP_PKEY_encrypt_init(c) : EVP_PKEY_decrypt_init(c)) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(c, ccu_md_sha256()) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(c, ccu_md_sha256()) <= 0) {
		EVP_PKEY_CTX_free(c);
		return -EIO;
	}
	*ret = c;
	return 0;
}

/* ------------------------------------------------------------ encrypt */

struct wrapped {
	char protected_b64[KBS_JWE_MAX_PROTECTED + 1];
	uint8_t ek[KBS_JWE_MAX_ENCRYPTED_KEY];
	size_t ek_len;
};

/* An ephemeral key on @crv, from the process's template for the curve
 * when there is one (no group built per key). */
static EVP_PKEY *ec_generate(enum kbs_crv crv)
{
	EVP_PKEY *tmpl = ccu_ec_params(kbs_crv_name(crv));
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;

	if (!tmpl)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", kbs_crv_name(crv));
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, tmpl, NULL);
	if (!ctx || EVP_PKEY_keygen_init(ctx) <= 0 || EVP_PKEY_generate(ctx, &pk) <= 0)
		return NULL;
	return pk;
}

static int wrap_ecdh(EVP_PKEY *rcpt, struct jwe_secrets *s, struct wrapped *w,
		     struct ccu_reason *err)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *eph = NULL;
	enum kbs_crv crv = kbs_pkey_crv(rcpt);
	size_t zl = kbs_crv_coord_len(crv);
	struct kbs_jwk epk;
	char hdr[HEADER_MAX];
	int n;

	if (crv == KBS_CRV_NONE)
		return ccu_fail(err, -EINVAL, KBS_R_JWE_ALG,
				"recipient: EC key on P-256 or P-521 expected");
	eph = ec_generate(crv);
	if (!eph || kbs_jwk_from_pkey(eph, &epk, err) < 0)
		return ccu_fail(err, -EIO, KBS_R_INTERNAL, "ephemeral key generation failed");
	if (ecdh(eph, rcpt, s->z, zl) < 0 || concat_kdf(s->z, zl, s->kek) < 0 ||
	    aes_kw(true, s->kek, s->cek, KBS_JWE_CEK_LEN, w->ek, KBS_JWE_KW_LEN) < 0)
		return ccu_fail(err, -EIO, KBS_R_INTERNAL, "ECDH-ES+A256KW key wrap failed");
	w->ek_len = KBS_JWE_KW_LEN;
	/* Byte-exact Trustee header: alg, enc, then epk with crv kty x y. */
	n = snprintf(hdr, sizeof(hdr),
		     "{\"alg\":\"" ALG_ECDH "\",\"enc\":\"" KBS_JWE_ENC_A256GCM
		     "\",\"epk\":{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}}",
		     kbs_crv_name(crv), epk.x, epk.y);
	if (n < 0 || (size_t)n >= sizeof(hdr) ||
	    ccu_b64_encode((const uint8_t *)hdr, (size_t)n, CCU_B64_URL, w->protected_b64,
			   sizeof(w->protected_b64)) < 0)
		return ccu_fail(err, -EIO, KBS_R_INTERNAL, "protected header too long");
	return 0;
}

static int wrap_rsa(EVP_PKEY *rcpt, struct jwe_secrets *s, struct wrapped *w,
		    struct ccu_reason *err)
{
	static const char hdr[] = "{\"alg\":\"" ALG_RSA "\",\"enc\":\"" KBS_JWE_ENC_A256GCM "\"}";
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *c = NULL;
	int bits = EVP_PKEY_get_bits(rcpt);
	size_t l = sizeof(w->ek);

	if (bits < KBS_JWK_RSA_MIN_BITS || bits > KBS_JWK_RSA_MAX_BITS)
		return ccu_fail(err, -EINVAL, KBS_R_JWE_ALG, "recipient: RSA key of %d bits", bits);
	if (rsa_ctx(rcpt, true, &c) < 0 ||
	    EVP_PKEY_encrypt(c, w->ek, &l, s->cek, KBS_JWE_CEK_LEN) <= 0)
		return ccu_fail(err, -EIO, KBS_R_INTERNAL, "RSA-OAEP-256 encryption failed");
	w->ek_len = l;
	if (ccu_b64_encode((const uint8_t *)hdr, strlen(hdr), CCU_B64_URL, w->protected_b64,
			   sizeof(w->protected_b64)) < 0)
		return ccu_fail(err, -EIO, KBS_R_INTERNAL, "protected header too long");
	return 0;
}

static char *b64u(const uint8_t *p, size_t l)
{
	return ccu_b64_encode_alloc(p, l, CCU_B64_URL);
}

static int assemble(const struct wrapped *w, const uint8_t iv[12], const uint8_t *ct, size_t ctl,
		    const uint8_t tag[16], char **ret, size_t *ret_len)
{
	_cleanup_free_ char *ek = b64u(w->ek, w->ek_len), *ivs = b64u(iv, KBS_JWE_IV_LEN);
	_cleanup_free_ char *cts = b64u(ct, ctl), *tags = b64u(tag, KBS_JWE_TAG_LEN);
	char *out = NULL;
	int n;

	if (!ek || !ivs || !cts || !tags)
		return -ENOMEM;
	/* Member order as Trustee emits it; no "aad" member. */
	n = asprintf(&out,
		     "{\"protected\":\"%s\",\"encrypted_key\":\"%s\",\"iv\":\"%s\","
		     "\"ciphertext\":\"%s\",\"tag\":\"%s\"}",
		     w->protected_b64, ek, ivs, cts, tags);
	if (n < 0)
		return -ENOMEM;
	*ret = out;
	if (ret_len)
		*ret_len = (size_t)n;
	return 0;
}

/* A256GCM under @cek with a fresh IV, then the JSON text. */
static int seal(const struct wrapped *w, const uint8_t cek[KBS_JWE_CEK_LEN], const uint8_t *pt,
		size_t len, char **ret, size_t *ret_len)
{
	uint8_t iv[KBS_JWE_IV_LEN], tag[KBS_JWE_TAG_LEN];
	uint8_t *ct;
	int r;

	if (RAND_bytes(iv, sizeof(iv)) != 1)
		return -EIO;
	ct = malloc(len ? len : 1);
	if (!ct)
		return -ENOMEM;
	r = gcm(true, cek, iv, w->protected_b64, pt, len, ct, tag);
	if (r == 0)
		r = assemble(w, iv, ct, len, tag, ret, ret_len);
	free(ct);
	return r;
}

int kbs_jwe_encrypt(EVP_PKEY *recipient, const uint8_t *pt, size_t len, char **ret, size_t *ret_len,
		    struct ccu_reason *err)
{
	_cleanup_secmem_ struct jwe_secrets *s = NULL;
	struct wrapped w = { 0 };
	int r;

	*ret = NULL;
	if (ret_len)
		*ret_len = 0;
	if (!recipient)
		return ccu_fail(err, -EINVAL, KBS_R_JWE_ALG, "no recipient key");
	if (len > KBS_JWE_MAX_PLAINTEXT || (len && !pt))
		return ccu_fail(err, -EMSGSIZE, KBS_R_JWE, "plaintext of %zu bytes, at most %d",
				len, KBS_JWE_MAX_PLAINTEXT);
	s = secrets_new();
	if (!s)
		return ccu_fail(err, -ENOMEM, KBS_R_INTERNAL, "secure memory allocation failed");
	if (RAND_bytes(s->cek, sizeof(s->cek)) != 1)
		return ccu_fail(err, -EIO, KBS_R_INTERNAL, "random generator failed");
	switch (EVP_PKEY_get_base_id(recipient)) {
	case EVP_PKEY_EC:
		r = wrap_ecdh(recipient, s, &w, err);
		break;
	case EVP_PKEY_RSA:
		r = wrap_rsa(recipient, s, &w, err);
		break;
	default:
		r = ccu_fail(err, -EINVAL, KBS_R_JWE_ALG, "recipient: EC or RSA key expected");
	}
	if (r < 0)
		return r;
	r = seal(&w, s->cek, pt, len, ret, ret_len);
	if (r < 0)
		return ccu_fail(err, r, KBS_R_INTERNAL, "A256GCM encryption failed");
	return 0;
}

/* ------------------------------------------------------------ decrypt */

struct jwe_parsed {
	json_t *root;
	const char *protected_b64; /* borrowed from root */
	uint8_t *ek, *ct;	   /* malloc'ed */
	size_t ek_len, ct_len;
	uint8_t iv[KBS_JWE_IV_LEN], tag[KBS_JWE_TAG_LEN];
	json_t *header; /* decoded protected header */
	char alg[24];
	struct kbs_jwk epk; /* ECDH-ES only */
};

static void parsed_done(struct jwe_parsed *p)
{
	json_decref(p->root);
	json_decref(p->header);
	free(p->ek);
	free(p->ct);
}

static const char *b64_member(const json_t *o, const char *k, size_t min, size_t max,
			      struct ccu_reason *err)
{
	const char *s = kjson_string(o, k, min, max, KBS_R_JWE, "JWE", err);

	if (s && !kjson_charset(s, strlen(s), KJSON_B64URL)) {
		ccu_fail(err, -EBADMSG, KBS_R_JWE, "JWE: \"%s\" is not base64url", k);
		return NULL;
	}
	return s;
}

static int parse_epk(const json_t *epk, struct kbs_jwk *out, struct ccu_reason *err)
{
	static const char *const members[] = { "crv", "kty", "x", "y" };
	const char *kty, *crv, *x, *y;
	size_t bl;
	uint8_t tmp[KBS_JWK_COORD_MAX];

	memset(out, 0, sizeof(*out));
	if (!json_is_object(epk))
		return ccu_fail(err, -EBADMSG, KBS_R_JWE_ALG,
				"JWE header: epk missing or not an object");
	if (kjson_only_members(epk, members, ARRAY_SIZE(members), KBS_R_JWE_ALG, "JWE epk", err))
		return -EBADMSG;
	kty = kjson_string(epk, "kty", 1, 8, KBS_R_JWE_ALG, "JWE epk", err);
	crv = kty ? kjson_string(epk, "crv", 1, 8, KBS_R_JWE_ALG, "JWE epk", err) : NULL;
	if (!crv)
		return -EBADMSG;
	if (strcmp(kty, "EC"))
		return ccu_fail(err, -EBADMSG, KBS_R_JWE_ALG, "JWE epk: kty \"%s\", expected EC",
				kty);
	if (!strcmp(crv, "P-256"))
		out->crv = KBS_CRV_P256;
	else if (!strcmp(crv, "P-521"))
		out->crv = KBS_CRV_P521;
	else
		return ccu_fail(err, -EBADMSG, KBS_R_JWE_ALG, "JWE epk: crv \"%s\" not accepted",
				crv);
	bl = ccu_b64_encoded_len(kbs_crv_coord_len(out->crv), CCU_B64_URL);
	x = kjson_string(epk, "x", bl, bl, KBS_R_JWE_ALG, "JWE epk", err);
	y = x ? kjson_string(epk, "y", bl, bl, KBS_R_JWE_ALG, "JWE epk", err) : NULL;
	if (!y)
		return -EBADMSG;
	if (kjson_b64url_exact(x, tmp, kbs_crv_coord_len(out->crv)) < 0 ||
	    kjson_b64url_exact(y, tmp, kbs_crv_coord_len(out->crv)) < 0)
		return ccu_fail(err, -EBADMSG, KBS_R_JWE_ALG, "JWE epk: bad coordinates");
	out->kty = KBS_KTY_EC;
	snprintf(out->alg, sizeof(out->alg), "%s", ALG_ECDH);
	memcpy(out->x, x, bl + 1);
	memcpy(out->y, y, bl + 1);
	return 0;
}

static int parse_header(struct jwe_parsed *p, struct ccu_reason *err)
{
	static const char *const refused[] = { "crit", "zip", "apu", "apv" };
	uint8_t raw[HEADER_MAX];
	const char *alg, *enc;
	int n, r;

	n = ccu_b64_decode(p->protected_b64, strlen(p->protected_b64), CCU_B64_URL, raw,
			   sizeof(raw));
	if (n <= 0)
		return ccu_fail(err, -EBADMSG, KBS_R_JWE,
				"JWE: protected is not base64url of a header");
	r = kjson_load_object((const char *)raw, (size_t)n, HEADER_MAX, KBS_R_JWE, "JWE header",
			      &p->header, err);
	if (r < 0)
		return r;
	/* Other members are ignored (Trustee may add some), except those that
	 * would change how the content is to be read: "crit" names extensions
	 * we would have to understand, "zip" compression we do not apply,
	 * "apu"/"apv" enter the key derivation we do without them. */
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++)
		if (json_object_get(p->header, refused[i]))
			return ccu_fail(err, -EBADMSG, KBS_R_JWE_ALG,
					"JWE header: member \"%s\" is not accepted", refused[i]);
	alg = kjson_string(p->header, "alg", 1, 20, KBS_R_JWE_ALG, "JWE header", err);
	enc = alg ? kjson_string(p->header, "enc", 1, 20, KBS_R_JWE_ALG, "JWE header", err) : NULL;
	if (!enc)
		return -EBADMSG;
	if (strcmp(enc, KBS_JWE_ENC_A256GCM))
		return ccu_fail(err, -EBADMSG, KBS_R_JWE_ALG, "JWE header: enc \"%s\", expected %s",
				enc, KBS_JWE_ENC_A256GCM);
	snprintf(p->alg, sizeof(p->alg), "%s", alg);
	if (!strcmp(alg, ALG_ECDH))
		return parse_epk(json_object_get(p->header, "epk"), &p->epk, err);
	if (!strcmp(alg, ALG_RSA)) {
		if (json_object_get(p->header, "epk"))
			return ccu_fail(err, -EBADMSG, KBS_R_JWE_ALG, "JWE header: epk with %s",
					alg);
		return 0;
	}
	return ccu_fail(err, -EBADMSG, KBS_R_JWE_ALG,
			"JWE header: alg \"%s\", expected " ALG_ECDH " or " ALG_RSA, alg);
}

static int decode_fixed(const json_t *o, const char *k, uint8_t *out, size_t n,
			struct ccu_reason *err)
{
	size_t bl = ccu_b64_encoded_len(n, CCU_B64_URL);
	const char *s = b64_member(o, k, bl, bl, err);

	if (!s)
		return -EBADMSG;
	if (kjson_b64url_exact(s, out, n) < 0)
		return ccu_fail(err, -EBADMSG, KBS_R_JWE,
				"JWE: \"%s\" is not base64url of %zu bytes", k, n);
	return 0;
}

static int decode_var(const json_t *o, const char *k, size_t max, uint8_t **ret, size_t *ret_len,
		      struct ccu_reason *err)
{
	const char *s = b64_member(o, k, 0, ccu_b64_encoded_len(max, CCU_B64_URL), err);

	if (!s)
		return -EBADMSG;
	if (kjson_b64url_alloc(s, strlen(s), max, ret, ret_len) < 0)
		return ccu_fail(err, -EBADMSG, KBS_R_JWE, "JWE: \"%s\" is not base64url", k);
	return 0;
}

static int parse_jwe(const char *json, size_t len, struct jwe_parsed *p, struct ccu_reason *err)
{
	static const char *const members[] = { "protected",  "encrypted_key", "iv",
					       "ciphertext", "tag",	      "aad" };
	const json_t *aad;
	int r;

	r = kjson_load_object(json, len, KBS_JWE_MAX_TEXT, KBS_R_JWE, "JWE", &p->root, err);
	if (r < 0)
		return r;
	r = kjson_only_members(p->root, members, ARRAY_SIZE(members), KBS_R_JWE, "JWE", err);
	if (r < 0)
		return r;
	/* "aad" is ignored (see jwe.h), but it must still be a bounded string. */
	aad = json_object_get(p->root, "aad");
	if (aad && !kjson_string(p->root, "aad", 0, KBS_JWE_MAX_AAD, KBS_R_JWE, "JWE", err))
		return -EBADMSG;
	p->protected_b64 = b64_member(p->root, "protected", 2, KBS_JWE_MAX_PROTECTED, err);
	if (!p->protected_b64)
		return -EBADMSG;
	if (decode_var(p->root, "encrypted_key", KBS_JWE_MAX_ENCRYPTED_KEY, &p->ek, &p->ek_len,
		       err) < 0 ||
	    decode_fixed(p->root, "iv", p->iv, KBS_JWE_IV_LEN, err) < 0 ||
	    decode_var(p->root, "ciphertext", KBS_JWE_MAX_PLAINTEXT, &p->ct, &p->ct_len, err) < 0 ||
	    decode_fixed(p->root, "tag", p->tag, KBS_JWE_TAG_LEN, err) < 0)
		return -EBADMSG;
	return parse_header(p, err);
}

static int unwrap_ecdh(EVP_PKEY *priv, const struct jwe_parsed *p, struct jwe_secrets *s,
		       struct ccu_reason *err)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *peer = NULL;
	enum kbs_crv crv = kbs_pkey_crv(priv);
	size_t zl = kbs_crv_coord_len(crv);
	int r;

	if (crv == KBS_CRV_NONE || crv != p->epk.crv)
		return ccu_fail(err, -EBADMSG, KBS_R_JWE_ALG,
				"JWE epk: curve %s does not match our key",
				kbs_crv_name(p->epk.crv));
	if (p->ek_len != KBS_JWE_KW_LEN)
		return ccu_fail(err, -EBADMSG, KBS_R_JWE,
				"JWE: encrypted_key has %zu bytes, expected %d", p->ek_len,
				KBS_JWE_KW_LEN);
	r = kbs_jwk_to_pkey(&p->epk, &peer, err);
	if (r < 0)
		return ccu_fail(err, r, KBS_R_JWE_ALG, "JWE epk: not a valid point on %s",
				kbs_crv_name(crv));
	if (ecdh(priv, peer, s->z, zl) < 0 || concat_kdf(s->z, zl, s->kek) < 0)
		return ccu_fail(err, -EIO, KBS_R_INTERNAL, "ECDH key agreement failed");
	if (aes_kw(false, s->kek, p->ek, p->ek_len, s->cek, KBS_JWE_CEK_LEN) < 0)
		return ccu_fail(err, -EBADMSG, KBS_R_JWE_DECRYPT, "AES key unwrap failed");
	return 0;
}

static int unwrap_rsa(EVP_PKEY *priv, const struct jwe_parsed *p, struct jwe_secrets *s,
		      struct ccu_reason *err)
{
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *c = NULL;
	size_t l = sizeof(s->rsa_out);

	if (p->ek_len != (size_t)EVP_PKEY_get_size(priv))
		return ccu_fail(err, -EBADMSG, KBS_R_JWE,
				"JWE: encrypted_key has %zu bytes, expected %d", p->ek_len,
				EVP_PKEY_get_size(priv));
	if (rsa_ctx(priv, false, &c) < 0)
		return ccu_fail(err, -EIO, KBS_R_INTERNAL, "RSA-OAEP setup failed");
	if (EVP_PKEY_decrypt(c, s->rsa_out, &l, p->ek, p->ek_len) <= 0 || l != KBS_JWE_CEK_LEN)
		return ccu_fail(err, -EBADMSG, KBS_R_JWE_DECRYPT, "RSA-OAEP-256 decryption failed");
	memcpy(s->cek, s->rsa_out, KBS_JWE_CEK_LEN);
	return 0;
}

int kbs_jwe_decrypt(EVP_PKEY *priv, const char *json, size_t len, uint8_t **ret, size_t *ret_len,
		    struct ccu_reason *err)
{
	_cleanup_secmem_ struct jwe_secrets *s = NULL;
	_cleanup_secmem_ uint8_t *pt = NULL;
	_cleanup_(parsed_done) struct jwe_parsed p = { 0 };
	int type = priv ? EVP_PKEY_get_base_id(priv) : 0;
	int r;

	*ret = NULL;
	*ret_len = 0;
	if (type != EVP_PKEY_EC && type != EVP_PKEY_RSA)
		return ccu_fail(err, -EINVAL, KBS_R_JWE_ALG, "no EC or RSA private key");
	r = parse_jwe(json, len, &p, err);
	if (r < 0)
		return r;
	if (strcmp(p.alg, type == EVP_PKEY_EC ? ALG_ECDH : ALG_RSA))
		return ccu_fail(err, -EBADMSG, KBS_R_JWE_ALG,
				"JWE alg \"%s\" does not match our %s key", p.alg,
				type == EVP_PKEY_EC ? "EC" : "RSA");
	s = secrets_new();
	pt = secmem_alloc(p.ct_len ? p.ct_len : 1);
	if (!s || !pt)
		return ccu_fail(err, -ENOMEM, KBS_R_INTERNAL, "secure memory allocation failed");
	r = type == EVP_PKEY_EC ? unwrap_ecdh(priv, &p, s, err) : unwrap_rsa(priv, &p, s, err);
	if (r < 0)
		return r;
	r = gcm(false, s->cek, p.iv, p.protected_b64, p.ct, p.ct_len, pt, p.tag);
	if (r == -EBADMSG)
		return ccu_fail(err, r, KBS_R_JWE_DECRYPT, "A256GCM authentication failed");
	if (r < 0)
		return ccu_fail(err, r, KBS_R_INTERNAL, "A256GCM decryption failed");
	*ret = TAKE_PTR(pt);
	*ret_len = p.ct_len;
	return 0;
}
