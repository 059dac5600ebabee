#include "kbs/msg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "common/codec.h"
#include "common/macros.h"
#include "common/secmem.h"
#include "common/jflat.h"
#include "kbs/kjson.h"

#define ERROR_DETAIL_BUILD_MAX 1024
#define ERROR_DETAIL_PARSE_MAX 8192

/* json_dumps of a new object, consuming the reference. */
static int dump(json_t *o, char **ret, size_t *ret_len, struct ccu_reason *err)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	*ret = s;
	if (!s)
		return ccu_fail(err, -ENOMEM, KBS_R_INTERNAL, "JSON serialisation failed");
	if (ret_len)
		*ret_len = strlen(s);
	return 0;
}

static bool tee_valid(const char *tee)
{
	size_t l = tee ? strnlen(tee, KBS_TEE_MAX + 1) : 0;

	return l > 0 && l <= KBS_TEE_MAX && kjson_charset(tee, l, KJSON_TEE);
}

bool kbs_tee_valid(const char *tee)
{
	return tee_valid(tee);
}

/* ------------------------------------------------------------ Request */

int kbs_request_build(const char *tee, char **ret, struct ccu_reason *err)
{
	*ret = NULL;
	if (!tee_valid(tee))
		return ccu_fail(err, -EINVAL, KBS_R_TEE, "tee: expected 1..%d of [a-z0-9-]",
				KBS_TEE_MAX);
	return dump(json_pack("{s:s,s:s,s:{s:[s,s,s]}}", "version", KBS_PROTOCOL_VERSION, "tee",
			      tee, "extra-params", "supported-hash-algorithms", "sha256", "sha384",
			      "sha512"),
		    ret, NULL, err);
}

void kbs_request_done(struct kbs_request *r)
{
	if (!r)
		return;
	json_decref(r->extra_params);
	r->extra_params = NULL;
}

int kbs_request_parse(const char *text, size_t len, struct kbs_request *out, struct ccu_reason *err)
{
	_cleanup_(json_decrefp) json_t *root = NULL;
	const json_t *v;
	const char *tee;
	int r;

	memset(out, 0, sizeof(*out));
	r = kjson_load_object(text, len, KBS_REQUEST_MAX, KBS_R_JSON, "Request", &root, err);
	if (r < 0)
		return r;
	v = json_object_get(root, "version");
	if (!json_is_string(v))
		return ccu_fail(err, -EBADMSG, KBS_R_JSON,
				"Request: version missing or not a string");
	if (strcmp(json_string_value(v), KBS_PROTOCOL_VERSION) ||
	    json_string_length(v) != strlen(KBS_PROTOCOL_VERSION))
		return ccu_fail(err, -EPROTO, KBS_R_VERSION,
				"KBS Client Protocol Version Mismatch: expect =%s while the "
				"request is %.32s",
				KBS_PROTOCOL_VERSION, json_string_value(v));
	/* Unknown members are ignored, as Trustee does: an additive change
	 * upstream must not break its guests here. */
	tee = kjson_string(root, "tee", 1, KBS_TEE_MAX, KBS_R_TEE, "Request", err);
	if (!tee)
		return -EBADMSG;
	if (!tee_valid(tee))
		return ccu_fail(err, -EBADMSG, KBS_R_TEE, "Request: tee \"%s\" is not [a-z0-9-]",
				tee);
	snprintf(out->tee, sizeof(out->tee), "%s", tee);
	v = json_object_get(root, "extra-params");
	out->extra_params = v ? json_incref((json_t *)(uintptr_t)v) : json_null();
	return 0;
}

/* ------------------------------------------------------------ Challenge */

int kbs_nonce_generate(char out[KBS_NONCE_LEN + 1])
{
	uint8_t b[KBS_NONCE_BYTES];
	int r;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -EIO;
	r = ccu_b64_encode(b, sizeof(b), CCU_B64_STD, out, KBS_NONCE_LEN + 1);
	return r == KBS_NONCE_LEN ? 0 : -EIO;
}

int kbs_challenge_build(const char *nonce, enum kbs_hash_alg selected, char **ret,
			struct ccu_reason *err)
{
	json_t *extra;

	*ret = NULL;
	if (!kbs_nonce_valid(nonce))
		return ccu_fail(err, -EINVAL, KBS_R_NONCE,
				"nonce: expected 1..%d of [A-Za-z0-9+/=]", KBS_NONCE_MAX);
	if (selected && !kbs_hash_alg_name(selected))
		return ccu_fail(err, -EINVAL, KBS_R_HASH_ALG, "unknown hash algorithm %d",
				(int)selected);
	/* Trustee sends the JSON string "" (not {}) for every TEE but se. */
	extra = selected
			? json_pack("{s:s}", "selected-hash-algorithm", kbs_hash_alg_name(selected))
			: json_string("");
	if (!extra)
		return ccu_fail(err, -ENOMEM, KBS_R_INTERNAL, "out of memory");
	return dump(json_pack("{s:s,s:o}", "nonce", nonce, "extra-params", extra), ret, NULL, err);
}

static int parse_extra_params(const json_t *v, struct kbs_challenge *out, struct ccu_reason *err)
{
	static const char *const members[] = { "selected-hash-algorithm" };
	const char *name;

	out->hash = KBS_HASH_DEFAULT;
	if (json_is_string(v)) {
		if (json_string_length(v) != 0)
			return ccu_fail(err, -EBADMSG, KBS_R_JSON,
					"Challenge: extra-params is a non-empty string");
		return 0;
	}
	if (!json_is_object(v))
		return ccu_fail(err, -EBADMSG, KBS_R_JSON,
				"Challenge: extra-params missing or neither \"\" nor an object");
	/* other members: ignored (Trustee may add parameters for other TEEs) */
	if (!json_object_get(v, members[0]))
		return 0;
	name = kjson_string(v, members[0], 1, 16, KBS_R_HASH_ALG, "Challenge extra-params", err);
	if (!name)
		return -EBADMSG;
	if (kbs_hash_alg_from_name(name, &out->hash) < 0)
		return ccu_fail(err, -EBADMSG, KBS_R_HASH_ALG,
				"Challenge: selected-hash-algorithm \"%s\" is not supported", name);
	out->hash_selected = true;
	return 0;
}

int kbs_challenge_parse(const char *text, size_t len, struct kbs_challenge *out,
			struct ccu_reason *err)
{
	_cleanup_(json_decrefp) json_t *root = NULL;
	const char *nonce;
	int r;

	memset(out, 0, sizeof(*out));
	r = kjson_load_object(text, len, KBS_CHALLENGE_MAX, KBS_R_JSON, "Challenge", &root, err);
	if (r < 0)
		return r;
	/* unknown members: ignored */
	nonce = kjson_string(root, "nonce", 1, KBS_NONCE_MAX, KBS_R_NONCE, "Challenge", err);
	if (!nonce)
		return -EBADMSG;
	if (!kbs_nonce_valid(nonce))
		return ccu_fail(err, -EBADMSG, KBS_R_NONCE,
				"Challenge: nonce has characters outside [A-Za-z0-9+/=]");
	r = parse_extra_params(json_object_get(root, "extra-params"), out, err);
	if (r < 0) {
		memset(out, 0, sizeof(*out));
		return r;
	}
	snprintf(out->nonce, sizeof(out->nonce), "%s", nonce);
	return 0;
}

/* ------------------------------------------------------------ Attestation */

int kbs_attestation_build(const struct kbs_attestation_in *in, char **ret, size_t *ret_len,
			  struct ccu_reason *err)
{
	json_t *jwk, *init;
	const char *ae = in->additional_evidence ? in->additional_evidence : "";

	*ret = NULL;
	if (!kbs_nonce_valid(in->nonce))
		return ccu_fail(err, -EINVAL, KBS_R_NONCE,
				"nonce: expected 1..%d of [A-Za-z0-9+/=]", KBS_NONCE_MAX);
	if (!json_is_object(in->primary_evidence))
		return ccu_fail(err, -EINVAL, KBS_R_EVIDENCE, "primary evidence must be an object");
	if (strnlen(ae, KBS_ADDITIONAL_EVIDENCE_MAX + 1) > KBS_ADDITIONAL_EVIDENCE_MAX)
		return ccu_fail(err, -EINVAL, KBS_R_EVIDENCE, "additional evidence too long");
	if (in->init_data_toml &&
	    strnlen(in->init_data_toml, KBS_INIT_DATA_MAX + 1) > KBS_INIT_DATA_MAX)
		return ccu_fail(err, -EINVAL, KBS_R_INIT_DATA, "init-data longer than %d bytes",
				KBS_INIT_DATA_MAX);
	jwk = in->tee_pubkey ? kbs_jwk_to_json(in->tee_pubkey) : NULL;
	if (!jwk)
		return ccu_fail(err, -EINVAL, KBS_R_PUBKEY, "tee-pubkey missing or unset");
	init = in->init_data_toml
		       ? json_pack("{s:s,s:s}", "format", "toml", "body", in->init_data_toml)
		       : json_null();
	/* "o" steals jwk/init even when json_pack fails. Member order as
	 * Trustee's client emits it. */
	return dump(json_pack("{s:o,s:{s:s,s:o},s:{s:O,s:s}}", "init-data", init, "runtime-data",
			      "nonce", in->nonce, "tee-pubkey", jwk, "tee-evidence",
			      "primary_evidence", (json_t *)(uintptr_t)in->primary_evidence,
			      "additional_evidence", ae),
		    ret, ret_len, err);
}

void kbs_attestation_done(struct kbs_attestation *a)
{
	if (!a)
		return;
	json_decref(a->primary_json);
	json_decref(a->root);
	jf_free(a->doc);
	memset(a, 0, sizeof(*a));
	a->primary_evidence = JF_NONE;
}

const json_t *kbs_attestation_primary_json(struct kbs_attestation *a)
{
	if (!a->primary_json)
		a->primary_json = jf_to_json(a->doc, a->primary_evidence, JF_NONE);
	return a->primary_json;
}

static int parse_init_data(const json_t *v, struct kbs_attestation *out, struct ccu_reason *err)
{
	const char *fmt, *body;

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return ccu_fail(err, -EBADMSG, KBS_R_INIT_DATA,
				"init-data: expected null or an object");
	fmt = kjson_string(v, "format", 1, 16, KBS_R_INIT_DATA, "init-data", err);
	body = fmt ? kjson_string(v, "body", 0, KBS_INIT_DATA_MAX, KBS_R_INIT_DATA, "init-data",
				  err)
		   : NULL;
	if (!body)
		return -EBADMSG;
	if (strcmp(fmt, "toml"))
		return ccu_fail(err, -EBADMSG, KBS_R_INIT_DATA,
				"init-data: format \"%s\", expected toml", fmt);
	out->init_data_body = body;
	out->init_data_len = strlen(body);
	return 0;
}

static int parse_runtime_data(const json_t *v, struct kbs_attestation *out, struct ccu_reason *err)
{
	const char *nonce;

	if (!json_is_object(v))
		return ccu_fail(err, -EBADMSG, KBS_R_JSON, "runtime-data missing or not an object");
	nonce = kjson_string(v, "nonce", 1, KBS_NONCE_MAX, KBS_R_NONCE, "runtime-data", err);
	if (!nonce)
		return -EBADMSG;
	if (!kbs_nonce_valid(nonce))
		return ccu_fail(err, -EBADMSG, KBS_R_NONCE,
				"runtime-data: nonce has characters outside [A-Za-z0-9+/=]");
	snprintf(out->nonce, sizeof(out->nonce), "%s", nonce);
	return kbs_jwk_parse(json_object_get(v, "tee-pubkey"), &out->tee_pubkey, err);
}

static int parse_tee_evidence(const json_t *v, struct kbs_attestation *out, struct ccu_reason *err)
{
	if (!json_is_object(v))
		return ccu_fail(err, -EBADMSG, KBS_R_EVIDENCE,
				"tee-evidence missing or not an object");
	if (jf_type(out->doc, out->primary_evidence) != JF_OBJECT)
		return ccu_fail(err, -EBADMSG, KBS_R_EVIDENCE,
				"tee-evidence: primary_evidence missing or not an object");
	out->additional_evidence =
		kjson_string(v, "additional_evidence", 0, KBS_ADDITIONAL_EVIDENCE_MAX,
			     KBS_R_EVIDENCE, "tee-evidence", err);
	return out->additional_evidence ? 0 : -EBADMSG;
}

int kbs_attestation_parse(const char *text, size_t len, struct kbs_attestation *out,
			  struct ccu_reason *err)
{
	int r;

	memset(out, 0, sizeof(*out));
	out->primary_evidence = JF_NONE;
	/* Unknown members of the envelope (Attestation, runtime-data,
	 * tee-evidence, init-data) are ignored as upstream does; what they
	 * carry that matters (tee-pubkey, evidence) stays strict. */
	r = kjson_load_flat(text, len, KBS_ATTESTATION_MAX, KBS_R_JSON, "Attestation", &out->doc,
			    err);
	if (r >= 0) {
		uint32_t root = jf_root(out->doc);

		out->primary_evidence = jf_get(out->doc, jf_get(out->doc, root, "tee-evidence"),
					       "primary_evidence");
		out->root = jf_to_json(out->doc, root, out->primary_evidence);
		if (!out->root)
			r = ccu_fail(err, -ENOMEM, KBS_R_JSON, "Attestation: out of memory");
	}
	if (r >= 0)
		r = parse_runtime_data(json_object_get(out->root, "runtime-data"), out, err);
	if (r >= 0)
		r = parse_tee_evidence(json_object_get(out->root, "tee-evidence"), out, err);
	if (r >= 0)
		r = parse_init_data(json_object_get(out->root, "init-data"), out, err);
	if (r < 0)
		kbs_attestation_done(out);
	return r < 0 ? r : 0;
}

/* ------------------------------------------------------------ Token */

static bool jwt_shaped(const char *t, size_t l)
{
	size_t dots = 0, seg = 0;

	for (size_t i = 0; i < l; i++) {
		if (t[i] == '.') {
			if (seg == 0)
				return false;
			dots++;
			seg = 0;
		} else if (kjson_charset(t + i, 1, KJSON_B64URL)) {
			seg++;
		} else {
			return false;
		}
	}
	return dots == 2 && seg > 0;
}

int kbs_token_response_build(const char *token, char **ret, struct ccu_reason *err)
{
	size_t l = token ? strnlen(token, KBS_TOKEN_MAX + 1) : 0;

	*ret = NULL;
	if (l == 0 || l > KBS_TOKEN_MAX || !jwt_shaped(token, l))
		return ccu_fail(err, -EINVAL, KBS_R_TOKEN, "token is not a JWT of at most %d bytes",
				KBS_TOKEN_MAX);
	return dump(json_pack("{s:s}", "token", token), ret, NULL, err);
}

int kbs_token_response_parse(const char *text, size_t len, char **ret, struct ccu_reason *err)
{
	_cleanup_(json_decrefp) json_t *root = NULL;
	const char *t;
	int r;

	*ret = NULL;
	r = kjson_load_object(text, len, KBS_TOKEN_RESPONSE_MAX, KBS_R_JSON, "token response",
			      &root, err);
	if (r < 0)
		return r;
	/* unknown members: ignored */
	t = kjson_string(root, "token", 5, KBS_TOKEN_MAX, KBS_R_TOKEN, "token response", err);
	if (!t)
		return -EBADMSG;
	if (!jwt_shaped(t, strlen(t)))
		return ccu_fail(err, -EBADMSG, KBS_R_TOKEN,
				"token response: token is not three base64url segments");
	*ret = strdup(t);
	if (!*ret)
		return ccu_fail(err, -ENOMEM, KBS_R_INTERNAL, "out of memory");
	return 0;
}

/* ------------------------------------------------------------ Errors */

unsigned kbs_error_http_status(const char *variant)
{
	if (variant && (!strcmp(variant, KBS_ERR_INVALID_REQUEST_PATH) ||
			!strcmp(variant, KBS_ERR_PLUGIN_NOT_FOUND)))
		return 404;
	return 401;
}

static bool variant_valid(const char *v, size_t l)
{
	if (l == 0 || l > KBS_ERROR_VARIANT_MAX)
		return false;
	for (size_t i = 0; i < l; i++) {
		char c = v[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

/* Copy at most @max bytes of @s into @dst (>= @max + 1), printable ASCII
 * only: everything else becomes '?'. */
static void printable_copy(char *dst, const char *s, size_t max)
{
	size_t n = s ? strnlen(s, max) : 0;

	for (size_t i = 0; i < n; i++)
		dst[i] = (s[i] >= 0x20 && s[i] <= 0x7e) ? s[i] : '?';
	dst[n] = '\0';
}

int kbs_error_build(const char *variant, const char *detail, char **ret, struct ccu_reason *err)
{
	char type[sizeof(KBS_ERROR_TYPE_PREFIX) + KBS_ERROR_VARIANT_MAX];
	_cleanup_free_ char *d = NULL;

	*ret = NULL;
	if (!variant || !variant_valid(variant, strnlen(variant, KBS_ERROR_VARIANT_MAX + 1)))
		return ccu_fail(err, -EINVAL, KBS_R_ERROR_BODY,
				"error variant must be [A-Za-z0-9]+");
	snprintf(type, sizeof(type), "%s%s", KBS_ERROR_TYPE_PREFIX, variant);
	d = malloc(ERROR_DETAIL_BUILD_MAX + 1);
	if (!d)
		return ccu_fail(err, -ENOMEM, KBS_R_INTERNAL, "out of memory");
	printable_copy(d, detail, ERROR_DETAIL_BUILD_MAX);
	return dump(json_pack("{s:s,s:s}", "type", type, "detail", d), ret, NULL, err);
}

int kbs_error_parse(const char *text, size_t len, struct kbs_error_info *out,
		    struct ccu_reason *err)
{
	_cleanup_(json_decrefp) json_t *root = NULL;
	const size_t plen = strlen(KBS_ERROR_TYPE_PREFIX);
	const char *type, *detail;
	int r;

	memset(out, 0, sizeof(*out));
	r = kjson_load_object(text, len, KBS_ERROR_BODY_MAX, KBS_R_ERROR_BODY, "error body", &root,
			      err);
	if (r < 0)
		return r;
	/* unknown members: ignored */
	type = kjson_string(root, "type", plen + 1, plen + KBS_ERROR_VARIANT_MAX, KBS_R_ERROR_BODY,
			    "error body", err);
	detail = type ? kjson_string(root, "detail", 0, ERROR_DETAIL_PARSE_MAX, KBS_R_ERROR_BODY,
				     "error body", err)
		      : NULL;
	if (!detail)
		return -EBADMSG;
	if (strncmp(type, KBS_ERROR_TYPE_PREFIX, plen) ||
	    !variant_valid(type + plen, strlen(type + plen)))
		return ccu_fail(err, -EBADMSG, KBS_R_ERROR_BODY,
				"error body: type is not " KBS_ERROR_TYPE_PREFIX "<Variant>");
	snprintf(out->variant, sizeof(out->variant), "%s", type + plen);
	printable_copy(out->detail, detail, KBS_ERROR_DETAIL_MAX);
	return 0;
}

/* ------------------------------------------------------------ Resource paths */

static bool segment_valid(const char *s, size_t l)
{
	if (l == 0 || l > KBS_PATH_SEGMENT_MAX || s[0] == '.')
		return false;
	return kjson_charset(s, l, KJSON_PATHSEG);
}

int kbs_resource_path_parse(const char *path, size_t len, struct kbs_resource_path *out,
			    struct ccu_reason *err)
{
	char *dst[3] = { out->repo, out->type, out->tag };
	size_t start = 0, n = 0;

	memset(out, 0, sizeof(*out));
	if (!path || len > 3 * (KBS_PATH_SEGMENT_MAX + 1))
		return ccu_fail(err, -EINVAL, KBS_R_PATH, "resource path missing or too long");
	for (size_t i = 0; i <= len; i++) {
		if (i < len && path[i] != '/')
			continue;
		if (n == 3 || !segment_valid(path + start, i - start)) {
			memset(out, 0, sizeof(*out));
			return ccu_fail(err, -EINVAL, KBS_R_PATH,
					"resource path: expected <repo>/<type>/<tag>, each "
					"[A-Za-z0-9_-][A-Za-z0-9_.-]* of at most %d characters",
					KBS_PATH_SEGMENT_MAX);
		}
		memcpy(dst[n], path + start, i - start);
		dst[n][i - start] = '\0';
		n++;
		start = i + 1;
	}
	if (n != 3) {
		memset(out, 0, sizeof(*out));
		return ccu_fail(err, -EINVAL, KBS_R_PATH, "resource path: %zu segments, expected 3",
				n);
	}
	return 0;
}

int kbs_resource_url_path(const struct kbs_resource_path *p, char *buf, size_t len)
{
	int n = snprintf(buf, len, KBS_PATH_RESOURCE "/%s/%s/%s", p->repo, p->type, p->tag);

	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}
