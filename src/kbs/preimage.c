#include "kbs/preimage.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/codec.h"
#include "common/evp.h"
#include "common/macros.h"
#include "kbs/kbs.h"
#include "kbs/kjson.h"

/* ------------------------------------------------------------ hashes */

static const struct {
	enum kbs_hash_alg a;
	const char *name;
	size_t len;
} hashes[] = {
	{ KBS_HASH_SHA256, "sha256", 32 },
	{ KBS_HASH_SHA384, "sha384", 48 },
	{ KBS_HASH_SHA512, "sha512", 64 },
};

int kbs_hash_alg_from_name(const char *name, enum kbs_hash_alg *ret)
{
	for (size_t i = 0; i < ARRAY_SIZE(hashes); i++)
		if (name && !strcmp(name, hashes[i].name)) {
			*ret = hashes[i].a;
			return 0;
		}
	return -ENOTSUP;
}

const char *kbs_hash_alg_name(enum kbs_hash_alg a)
{
	for (size_t i = 0; i < ARRAY_SIZE(hashes); i++)
		if (hashes[i].a == a)
			return hashes[i].name;
	return NULL;
}

size_t kbs_hash_alg_len(enum kbs_hash_alg a)
{
	for (size_t i = 0; i < ARRAY_SIZE(hashes); i++)
		if (hashes[i].a == a)
			return hashes[i].len;
	return 0;
}

static const EVP_MD *hash_md(enum kbs_hash_alg a)
{
	switch (a) {
	case KBS_HASH_SHA256:
		return ccu_md_sha256();
	case KBS_HASH_SHA384:
		return ccu_md_sha384();
	case KBS_HASH_SHA512:
		return ccu_md_sha512();
	}
	return NULL;
}

int kbs_hash(enum kbs_hash_alg a, const void *data, size_t len, uint8_t digest[KBS_DIGEST_MAX])
{
	const EVP_MD *md = hash_md(a);
	unsigned int dl = 0;

	if (!md)
		return -EINVAL;
	if (!EVP_Digest(data, len, digest, &dl, md, NULL))
		return -EIO;
	return (int)dl;
}

int kbs_report_data_from_preimage(enum kbs_hash_alg a, const char *preimage, size_t len,
				  uint8_t out[KBS_REPORT_DATA_LEN], struct ccu_reason *err)
{
	uint8_t d[KBS_DIGEST_MAX];
	int r = kbs_hash(a, preimage, len, d);

	if (r == -EINVAL)
		return ccu_fail(err, r, KBS_R_HASH_ALG, "hash algorithm %d is not supported",
				(int)a);
	if (r < 0)
		return ccu_fail(err, r, KBS_R_INTERNAL, "digest failed");
	memset(out, 0, KBS_REPORT_DATA_LEN);
	memcpy(out, d, (size_t)r);
	return 0;
}

/* ------------------------------------------------------------ JCS strings */

bool kbs_nonce_valid(const char *nonce)
{
	size_t l = nonce ? strnlen(nonce, KBS_NONCE_MAX + 1) : 0;

	return l > 0 && l <= KBS_NONCE_MAX && kjson_charset(nonce, l, KJSON_B64STD);
}

struct out {
	char *p;
	size_t len, cap;
	int err; /* first error, sticky */
};

static void out_grow(struct out *o, size_t add)
{
	size_t cap;
	char *p;

	if (o->err)
		return;
	if (add > KBS_JCS_MAX_OUTPUT || o->len + add + 1 > KBS_JCS_MAX_OUTPUT) {
		o->err = -E2BIG;
		return;
	}
	if (o->len + add + 1 <= o->cap)
		return;
	cap = o->cap ? o->cap : 256;
	while (cap < o->len + add + 1)
		cap *= 2;
	p = realloc(o->p, cap);
	if (!p) {
		o->err = -ENOMEM;
		return;
	}
	o->p = p;
	o->cap = cap;
}

static void out_mem(struct out *o, const char *s, size_t l)
{
	out_grow(o, l);
	if (o->err)
		return;
	memcpy(o->p + o->len, s, l);
	o->len += l;
	o->p[o->len] = '\0';
}

static void out_str(struct out *o, const char *s)
{
	out_mem(o, s, strlen(s));
}

/* A JSON string per RFC 8785 §3.2.2.2 (ES6 JSON.stringify), ASCII only. */
static void out_jstring(struct out *o, const char *s, size_t l)
{
	static const char hex[] = "0123456789abcdef";

	out_mem(o, "\"", 1);
	for (size_t i = 0; i < l && !o->err; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7] = { '\\', 0, 0, 0, 0, 0, 0 };

		if (c >= 0x80) {
			o->err = -EINVAL;
			return;
		}
		switch (c) {
		case '"':
		case '\\':
			esc[1] = (char)c;
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			if (c < 0x20) {
				esc[1] = 'u';
				esc[2] = '0';
				esc[3] = '0';
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 0xf];
			}
		}
		if (esc[1])
			out_str(o, esc);
		else
			out_mem(o, (const char *)&c, 1);
	}
	out_mem(o, "\"", 1);
}

/* ------------------------------------------------------------ guest template */

static int check_b64url(const char *s, size_t max)
{
	size_t l = strnlen(s, max + 1);

	return l > 0 && l <= max && kjson_charset(s, l, KJSON_B64URL) ? 0 : -EINVAL;
}

static int check_jwk_text(const struct kbs_jwk *jwk, struct ccu_reason *err)
{
	if (!jwk)
		return ccu_fail(err, -EINVAL, KBS_R_PUBKEY, "tee-pubkey: none");
	if (jwk->kty == KBS_KTY_EC) {
		size_t bl = ccu_b64_encoded_len(kbs_crv_coord_len(jwk->crv), CCU_B64_URL);

		if (!kbs_crv_name(jwk->crv) || strcmp(jwk->alg, KBS_JWK_ALG_ECDH_ES_A256KW) ||
		    check_b64url(jwk->x, bl) < 0 || strlen(jwk->x) != bl ||
		    check_b64url(jwk->y, bl) < 0 || strlen(jwk->y) != bl)
			return ccu_fail(err, -EINVAL, KBS_R_PUBKEY,
					"tee-pubkey: EC members are not the expected base64url");
		return 0;
	}
	if (jwk->kty == KBS_KTY_RSA) {
		if (strcmp(jwk->alg, KBS_JWK_ALG_RSA_OAEP_256) ||
		    check_b64url(jwk->n, KBS_JWK_RSA_N_B64_MAX) < 0 ||
		    check_b64url(jwk->e, KBS_JWK_RSA_E_B64_MAX) < 0)
			return ccu_fail(err, -EINVAL, KBS_R_PUBKEY,
					"tee-pubkey: RSA members are not the expected base64url");
		return 0;
	}
	return ccu_fail(err, -EINVAL, KBS_R_PUBKEY, "tee-pubkey: no key type");
}

int kbs_preimage_template(const char *nonce, const struct kbs_jwk *jwk, const char *ae, char **ret,
			  size_t *ret_len, struct ccu_reason *err)
{
	struct out o = { 0 };
	size_t ael;
	int r;

	*ret = NULL;
	if (!kbs_nonce_valid(nonce))
		return ccu_fail(err, -EINVAL, KBS_R_NONCE,
				"nonce: expected 1..%d characters of [A-Za-z0-9+/=]",
				KBS_NONCE_MAX);
	r = check_jwk_text(jwk, err);
	if (r < 0)
		return r;
	ael = ae ? strnlen(ae, KBS_ADDITIONAL_EVIDENCE_MAX + 1) : 0;
	if (ael > KBS_ADDITIONAL_EVIDENCE_MAX)
		return ccu_fail(err, -EINVAL, KBS_R_JCS, "additional-evidence longer than %d bytes",
				KBS_ADDITIONAL_EVIDENCE_MAX);

	/* Keys in code-unit order: additional-evidence < nonce < tee-pubkey;
	 * EC: alg crv kty x y; RSA: alg e kty n. */
	out_str(&o, "{\"additional-evidence\":");
	out_jstring(&o, ae ? ae : "", ael);
	out_str(&o, ",\"nonce\":\"");
	out_str(&o, nonce);
	out_str(&o, "\",\"tee-pubkey\":{\"alg\":\"");
	out_str(&o, jwk->alg);
	if (jwk->kty == KBS_KTY_EC) {
		out_str(&o, "\",\"crv\":\"");
		out_str(&o, kbs_crv_name(jwk->crv));
		out_str(&o, "\",\"kty\":\"EC\",\"x\":\"");
		out_str(&o, jwk->x);
		out_str(&o, "\",\"y\":\"");
		out_str(&o, jwk->y);
	} else {
		out_str(&o, "\",\"e\":\"");
		out_str(&o, jwk->e);
		out_str(&o, "\",\"kty\":\"RSA\",\"n\":\"");
		out_str(&o, jwk->n);
	}
	out_str(&o, "\"}}");
	if (o.err) {
		free(o.p);
		if (o.err == -EINVAL)
			return ccu_fail(err, o.err, KBS_R_JCS, "additional-evidence is not ASCII");
		return ccu_fail(err, o.err, KBS_R_INTERNAL, "preimage: out of memory");
	}
	*ret = o.p;
	if (ret_len)
		*ret_len = o.len;
	return 0;
}

/* ------------------------------------------------------------ broker JCS */

json_t *kbs_runtime_data_json(const char *nonce, const struct kbs_jwk *jwk, const char *ae)
{
	json_t *o = json_object(), *k = kbs_jwk_to_json(jwk);

	if (!o || !k || !nonce || json_object_set_new(o, "tee-pubkey", k) < 0) {
		json_decref(o);
		json_decref(k);
		return NULL;
	}
	if (json_object_set_new(o, "nonce", json_string(nonce)) < 0 ||
	    json_object_set_new(o, "additional-evidence", json_string(ae ? ae : "")) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

#define JCS_SAFE_INT ((json_int_t)1 << 53)

static int keycmp(const void *a, const void *b)
{
	/* ASCII keys: byte order == UTF-16 code unit order. */
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void jcs_value(struct out *o, const json_t *v, unsigned depth, const char **why);

static void jcs_object(struct out *o, const json_t *v, unsigned depth, const char **why)
{
	const char *keys[KBS_JCS_MAX_MEMBERS];
	size_t n = 0;
	void *it;

	if (json_object_size(v) > KBS_JCS_MAX_MEMBERS) {
		*why = "object has too many members";
		o->err = -EINVAL;
		return;
	}
	for (it = json_object_iter((json_t *)(uintptr_t)v); it;
	     it = json_object_iter_next((json_t *)(uintptr_t)v, it)) {
		const char *k = json_object_iter_key(it);

		if (n >= KBS_JCS_MAX_MEMBERS || strlen(k) != json_object_iter_key_len(it)) {
			*why = "bad object key";
			o->err = -EINVAL;
			return;
		}
		keys[n++] = k;
	}
	qsort(keys, n, sizeof(keys[0]), keycmp);
	out_mem(o, "{", 1);
	for (size_t i = 0; i < n && !o->err; i++) {
		if (i)
			out_mem(o, ",", 1);
		out_jstring(o, keys[i], strlen(keys[i]));
		if (o->err == -EINVAL)
			*why = "non-ASCII object key";
		out_mem(o, ":", 1);
		jcs_value(o, json_object_get(v, keys[i]), depth + 1, why);
	}
	out_mem(o, "}", 1);
}

static void jcs_value(struct out *o, const json_t *v, unsigned depth, const char **why)
{
	char num[32];

	if (o->err)
		return;
	if (depth > KBS_JCS_MAX_DEPTH) {
		*why = "nesting too deep";
		o->err = -EINVAL;
		return;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		jcs_object(o, v, depth, why);
		return;
	case JSON_STRING:
		out_jstring(o, json_string_value(v), json_string_length(v));
		if (o->err == -EINVAL)
			*why = "non-ASCII string";
		return;
	case JSON_INTEGER: {
		json_int_t i = json_integer_value(v);

		if (i >= JCS_SAFE_INT || i <= -JCS_SAFE_INT) {
			*why = "integer outside +-2^53";
			o->err = -EINVAL;
			return;
		}
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, i);
		out_str(o, num);
		return;
	}
	default:
		*why = "value type outside the supported subset (object, string, integer)";
		o->err = -EINVAL;
	}
}

int kbs_jcs_print(const json_t *v, char **ret, size_t *ret_len, struct ccu_reason *err)
{
	struct out o = { 0 };
	const char *why = "unsupported value";

	*ret = NULL;
	if (!v)
		return ccu_fail(err, -EINVAL, KBS_R_JCS, "no value");
	jcs_value(&o, v, 0, &why);
	if (o.err) {
		free(o.p);
		if (o.err == -EINVAL)
			return ccu_fail(err, o.err, KBS_R_JCS, "JCS: %s", why);
		if (o.err == -E2BIG)
			return ccu_fail(err, o.err, KBS_R_JCS, "JCS: output exceeds %d bytes",
					KBS_JCS_MAX_OUTPUT);
		return ccu_fail(err, o.err, KBS_R_INTERNAL, "JCS: out of memory");
	}
	*ret = o.p;
	if (ret_len)
		*ret_len = o.len;
	return 0;
}

/* ------------------------------------------------------------ one-steps */

int kbs_report_data_guest(enum kbs_hash_alg a, const char *nonce, const struct kbs_jwk *jwk,
			  const char *ae, uint8_t out[KBS_REPORT_DATA_LEN], struct ccu_reason *err)
{
	_cleanup_free_ char *pre = NULL;
	size_t len = 0;
	int r = kbs_preimage_template(nonce, jwk, ae, &pre, &len, err);

	if (r < 0)
		return r;
	return kbs_report_data_from_preimage(a, pre, len, out, err);
}

int kbs_report_data_broker(enum kbs_hash_alg a, const char *nonce, const struct kbs_jwk *jwk,
			   const char *ae, uint8_t out[KBS_REPORT_DATA_LEN], struct ccu_reason *err)
{
	_cleanup_free_ char *pre = NULL;
	json_t *obj;
	size_t len = 0;
	int r;

	if (!nonce)
		return ccu_fail(err, -EINVAL, KBS_R_NONCE, "runtime data: no nonce");
	if (!jwk || (jwk->kty != KBS_KTY_EC && jwk->kty != KBS_KTY_RSA) ||
	    (jwk->kty == KBS_KTY_EC && !kbs_crv_name(jwk->crv)))
		return ccu_fail(err, -EINVAL, KBS_R_PUBKEY, "runtime data: no usable tee-pubkey");
	obj = kbs_runtime_data_json(nonce, jwk, ae);
	if (!obj)
		return ccu_fail(err, -ENOMEM, KBS_R_INTERNAL, "runtime data: out of memory");
	r = kbs_jcs_print(obj, &pre, &len, err);
	json_decref(obj);
	if (r < 0)
		return r;
	return kbs_report_data_from_preimage(a, pre, len, out, err);
}
