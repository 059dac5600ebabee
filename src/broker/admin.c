/*
 * The admin API (docs/kbs-admin-api.md): resources and policies, behind an
 * Ed25519 bearer JWT. Every admin request, allowed or refused, is one audit
 * line; a refused authentication changes nothing.
 */
#include "broker/server_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/codec.h"
#include "common/log.h"
#include "common/util.h"
#include "kbs/jwt.h"
#include "kbs/kbs.h"
#include "snp/policy.h"

#define VARIANT_AUTH "AdminAuthFailed"

/* ------------------------------------------------------------ pure checks */

int broker_admin_authorize(EVP_PKEY *const *keys, size_t nkeys, const char *authorization,
			   time_t now, struct ccu_reason *err)
{
	return broker_admin_authorize_lifetime(keys, nkeys, authorization, now,
					       BROKER_ADMIN_MAX_LIFETIME, err);
}

int broker_admin_authorize_lifetime(EVP_PKEY *const *keys, size_t nkeys,
				    const char *authorization, time_t now, unsigned max_lifetime,
				    struct ccu_reason *err)
{
	char jti[BROKER_ADMIN_JTI_MAX + 1];
	int64_t exp;

	return broker_admin_authorize_token(keys, nkeys, authorization, now, max_lifetime, jti,
					    &exp, err);
}

/* "jti": absent (empty), or a string of 16..64 [A-Za-z0-9_-]. */
static int token_jti(const json_t *claims, char *jti, struct ccu_reason *err)
{
	const json_t *v = json_object_get(claims, "jti");
	const char *s;
	size_t n;

	jti[0] = 0;
	if (!v)
		return 0;
	s = json_string_value(v);
	n = s ? strlen(s) : 0;
	if (!s || n < BROKER_ADMIN_JTI_MIN || n > BROKER_ADMIN_JTI_MAX ||
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != n)
		return ccu_fail(err, -EACCES, "ADMIN_AUTH",
				"admin token: jti must be a string of %d..%d [A-Za-z0-9_-]",
				BROKER_ADMIN_JTI_MIN, BROKER_ADMIN_JTI_MAX);
	memcpy(jti, s, n + 1);
	return 0;
}

int broker_admin_authorize_token(EVP_PKEY *const *keys, size_t nkeys, const char *authorization,
				 time_t now, unsigned max_lifetime, char *jti, int64_t *exp,
				 struct ccu_reason *err)
{
	struct kbs_jwt_verify_opts o = {
		.alg = KBS_JWT_EDDSA,
		.now = now,
		.skew = BROKER_ADMIN_SKEW,
		.max_lifetime = max_lifetime,
		.require_iat = true,
	};
	struct ccu_reason first = { 0 }, e;
	const char *tok;

	if (!authorization)
		return ccu_fail(err, -EACCES, "ADMIN_AUTH", "no Authorization header");
	if (strncmp(authorization, "Bearer ", 7) != 0)
		return ccu_fail(err, -EACCES, "ADMIN_AUTH", "Authorization is not a Bearer token");
	if (nkeys == 0)
		return ccu_fail(err, -EACCES, "ADMIN_AUTH", "no admin_public_key is configured");
	tok = authorization + 7;
	for (size_t i = 0; i < nkeys; i++) {
		json_t *claims = NULL;
		int r;

		memset(&e, 0, sizeof(e));
		if (kbs_jwt_verify(tok, strlen(tok), keys[i], &o, &claims, &e) == 0) {
			r = token_jti(claims, jti, err);
			if (r == 0 && kbs_jwt_claim_time(claims, "exp", exp, err) != 1)
				r = ccu_fail(err, -EACCES, "ADMIN_AUTH", "admin token: no exp");
			json_decref(claims);
			return r;
		}
		/* With several keys, a bad signature under one key says little:
		 * prefer a reason about the token itself. */
		if (!first.code[0] || strcmp(first.code, KBS_R_TOKEN_SIGNATURE) == 0)
			first = e;
	}
	if (err)
		*err = first;
	return -EACCES;
}

int broker_admin_query_policy(const char *query, char name[BROKER_POLICY_NAME_MAX + 1],
			      struct ccu_reason *err)
{
	const char *v;

	if (!query || strncmp(query, "policy=", 7) != 0)
		return ccu_fail(err, -EINVAL, "ADMIN_QUERY",
				"expected the query 'policy=<name>' naming the guarding policy");
	v = query + 7;
	if (!broker_policy_name_valid(v))
		return ccu_fail(err, -EINVAL, "ADMIN_QUERY",
				"policy name '%.64s' is invalid ([A-Za-z0-9_.-]{1,64}, not starting "
				"with '.'; one query parameter only)",
				v);
	snprintf(name, BROKER_POLICY_NAME_MAX + 1, "%s", v);
	return 0;
}

/* ------------------------------------------------------------ plumbing */

struct admin_ctx {
	struct broker_server *s;
	struct http_req *req;
	const char *action;
	const char *resource;
	const char *policy;
};

static int status_of(int r, const struct ccu_reason *why)
{
	if (r == -ENOENT)
		return 404;
	if (r == -EBUSY)
		return 409;
	if (r == -EINVAL || r == -EBADMSG || r == -EMSGSIZE)
		return 400;
	(void)why;
	return 500;
}

static const char *variant_of(int status)
{
	switch (status) {
	case 400:
		return "InvalidRequest";
	case 404:
		return "NotFound";
	case 409:
		return "Conflict";
	default:
		return "InternalError";
	}
}

/* Audit the outcome (@r < 0: refused with @why) and reply; on success the
 * reply is @ok (taken). */
static void finish(struct admin_ctx *c, int r, const struct ccu_reason *why, json_t *ok)
{
	struct broker_audit_rec rec = {
		.event = "admin",
		.action = c->action,
		.peer = http_req_peer(c->req),
		.resource = c->resource,
		.policy = c->policy,
		.allow = r >= 0,
		.reason = why,
		.signer = -1,
	};
	struct ccu_reason aerr = { 0 };
	int status = status_of(r, why);

	if (broker_decide(c->s, &rec, &aerr) < 0 && r >= 0) {
		/* The change is stored; say that the record of it is not. */
		json_decref(ok);
		broker_reply_error(c->req, 500, "InternalError", &aerr);
		return;
	}
	if (r >= 0) {
		log_info("admin %s %s%s", c->action, c->resource ? c->resource : "",
			 c->policy ? c->policy : "");
		http_reply_json(c->req, 200, ok);
		return;
	}
	json_decref(ok);
	broker_reply_error(c->req, status, variant_of(status), why);
}

/* A valid token; one with a jti is then spent, in the store every replica
 * shares, so a captured token cannot be replayed to this broker or another.
 * A store that cannot say (STORE_IO) fails the request, never authorises it. */
static int spend(struct admin_ctx *c, struct ccu_reason *why)
{
	char jti[BROKER_ADMIN_JTI_MAX + 1];
	time_t now = broker_now(c->s);
	int64_t exp = 0;
	int r;

	r = broker_admin_authorize_token(c->s->admin_keys, c->s->n_admin_keys,
					 http_req_header(c->req, "Authorization"), now,
					 c->s->cfg->admin_token_max_lifetime, jti, &exp, why);
	if (r < 0)
		return r;
	if (!jti[0])
		return c->s->cfg->admin_token_require_jti
			       ? ccu_fail(why, -EACCES, "ADMIN_AUTH",
					  "admin token has no jti, and admin_token_require_jti = yes "
					  "accepts only single-use tokens")
			       : 0;
	/* kept past exp by the allowed clock skew: the token is valid that long */
	return broker_store_use_token_id(c->s->store, jti, (time_t)exp + BROKER_ADMIN_SKEW, now,
					 why);
}

static bool authorized(struct admin_ctx *c)
{
	struct ccu_reason why = { 0 };
	int r = spend(c, &why);

	if (r == 0)
		return true;
	{
		struct broker_audit_rec rec = {
			.event = "admin",
			.action = c->action,
			.peer = http_req_peer(c->req),
			.resource = c->resource,
			.policy = c->policy,
			.allow = false,
			.reason = &why,
			.signer = -1,
		};
		struct ccu_reason aerr = { 0 };

		(void)broker_decide(c->s, &rec, &aerr);
	}
	/* (a STORE_IO reason becomes a 503 there) */
	broker_reply_error(c->req, 401, VARIANT_AUTH, &why);
	return false;
}

/* ------------------------------------------------------------ resources */

void broker_admin_resource(struct broker_server *s, struct http_req *req)
{
	const char *rest = http_req_route_rest(req);
	struct admin_ctx c = { .s = s, .req = req };
	struct kbs_resource_path rp;
	struct ccu_reason why = { 0 };
	char path[3 * KBS_PATH_SEGMENT_MAX + 3], policy[BROKER_POLICY_NAME_MAX + 1];
	bool put = http_req_method(req) == HTTP_POST;
	const uint8_t *body;
	size_t len;
	int r;

	c.action = put ? "resource.put" : "resource.delete";
	if (!authorized(&c))
		return;
	r = kbs_resource_path_parse(rest, strlen(rest), &rp, &why);
	if (r < 0) {
		finish(&c, -EINVAL, &why, NULL);
		return;
	}
	snprintf(path, sizeof(path), "%s/%s/%s", rp.repo, rp.type, rp.tag);
	c.resource = path;
	if (!put) {
		if (http_req_query(req))
			r = ccu_fail(&why, -EINVAL, "ADMIN_QUERY", "DELETE takes no query");
		else
			r = broker_store_delete_resource(s->store, path, &why);
		finish(&c, r, &why, r >= 0 ? json_pack("{s:s}", "path", path) : NULL);
		return;
	}
	/* Trustee's kbs-client (set-resource) sends no query: the resource is
	 * then guarded by the configured default policy. */
	if (http_req_query(req))
		r = broker_admin_query_policy(http_req_query(req), policy, &why);
	else
		r = snprintf(policy, sizeof(policy), "%s", s->cfg->default_resource_policy) < 0 ?
			    -EINVAL :
			    0;
	if (r < 0) {
		finish(&c, r, &why, NULL);
		return;
	}
	c.policy = policy;
	/* the plaintext of the resource (a disk key): locked, wiped memory */
	body = http_req_body_secret(req, &len);
	if (!body)
		r = ccu_fail(&why, -ENOMEM, "INTERNAL", "cannot read the request body");
	else
		r = broker_store_put_resource(s->store, path, body, len, policy, &why);
	finish(&c, r, &why,
	       r >= 0 ? json_pack("{s:s,s:s,s:I}", "path", path, "policy", policy, "size",
				  (json_int_t)len) :
			NULL);
}

void broker_h_resource_meta(struct http_req *req, void *ud)
{
	struct broker_server *s = ud;
	const char *rest = http_req_route_rest(req);
	struct admin_ctx c = { .s = s, .req = req, .action = "resource.meta" };
	struct broker_resource_meta m;
	struct kbs_resource_path rp;
	struct ccu_reason why = { 0 };
	char path[3 * KBS_PATH_SEGMENT_MAX + 3], cr[32], up[32];
	int r;

	if (!authorized(&c))
		return;
	r = kbs_resource_path_parse(rest, strlen(rest), &rp, &why);
	if (r < 0) {
		broker_reply_error(req, 400, "InvalidRequest", &why);
		return;
	}
	snprintf(path, sizeof(path), "%s/%s/%s", rp.repo, rp.type, rp.tag);
	r = broker_store_get_meta(s->store, path, &m, &why);
	if (r < 0) {
		broker_reply_error(req, status_of(r, &why), variant_of(status_of(r, &why)), &why);
		return;
	}
	/* Reads are not changes: not audited. */
	http_reply_json(req, 200,
			json_pack("{s:s,s:s,s:I,s:s,s:s}", "path", m.path, "policy", m.policy,
				  "size", (json_int_t)m.size, "created",
				  ccu_format_rfc3339(m.created, cr, sizeof(cr)), "updated",
				  ccu_format_rfc3339(m.updated, up, sizeof(up))));
}

/* ------------------------------------------------------------ policies */

static int validate_policy(const uint8_t *text, size_t len, struct ccu_reason *why)
{
	struct snp_policy *p = NULL;
	int r;

	if (memchr(text, 0, len))
		return ccu_fail(why, -EINVAL, "CONFIG_SYNTAX", "the policy contains a NUL byte");
	r = snp_policy_parse((const char *)text, len, &p, why);
	snp_policy_free(p);
	return r < 0 ? -EINVAL : 0;
}

void broker_h_policy(struct http_req *req, void *ud)
{
	struct broker_server *s = ud;
	const char *name = http_req_route_rest(req);
	enum http_method m = http_req_method(req);
	struct admin_ctx c = { .s = s, .req = req };
	struct ccu_reason why = { 0 };
	const uint8_t *body;
	size_t len;
	int r;

	c.action = m == HTTP_GET ? "policy.get" : m == HTTP_POST ? "policy.put" : "policy.delete";
	if (!authorized(&c))
		return;
	if (!broker_policy_name_valid(name) || http_req_query(req)) {
		ccu_reason_set(&why, "STORE_NAME", "policy name '%.64s' is invalid (or a query was given)",
			       name);
		if (m == HTTP_GET)
			broker_reply_error(req, 400, "InvalidRequest", &why);
		else
			finish(&c, -EINVAL, &why, NULL);
		return;
	}
	c.policy = name;
	if (m == HTTP_GET) {
		char *text = NULL;

		r = broker_store_get_policy(s->store, name, &text, &why);
		if (r < 0)
			broker_reply_error(req, status_of(r, &why), variant_of(status_of(r, &why)),
					   &why);
		else
			http_reply(req, 200, "text/plain", text, strlen(text));
		free(text);
		return;
	}
	if (m == HTTP_DELETE) {
		r = broker_store_delete_policy(s->store, name, &why);
		finish(&c, r, &why, r >= 0 ? json_pack("{s:s}", "policy", name) : NULL);
		return;
	}
	body = http_req_body(req, &len);
	if (!body)
		r = ccu_fail(&why, -ENOMEM, "INTERNAL", "cannot read the request body");
	else
		r = validate_policy(body, len, &why);
	if (r >= 0)
		r = broker_store_put_policy(s->store, name, (const char *)body, &why);
	finish(&c, r, &why, r >= 0 ? json_pack("{s:s}", "policy", name) : NULL);
}

/* ------------------------------------------------------------ Trustee's resource-policy */

int broker_admin_trustee_policy(const char *body, size_t len, char **text,
				struct ccu_reason *err)
{
	json_t *root;
	json_error_t je;
	const char *b64;
	size_t bl;
	uint8_t *out;
	int n;

	*text = NULL;
	root = body && len <= 2 * BROKER_POLICY_TEXT_MAX ?
		       json_loadb(body, len, JSON_REJECT_DUPLICATES, &je) :
		       NULL;
	b64 = json_string_value(json_object_get(root, "policy"));
	bl = b64 ? strlen(b64) : 0;
	if (!json_is_object(root) || !b64 || bl == 0 ||
	    bl > ccu_b64_encoded_len(BROKER_POLICY_TEXT_MAX, CCU_B64_URL)) {
		json_decref(root);
		return ccu_fail(err, -EINVAL, "ADMIN_POLICY_BODY",
				"expected {\"policy\": \"<base64url of the policy text>\"} "
				"(Trustee's set-resource-policy)");
	}
	out = malloc(ccu_b64_decoded_max(bl) + 1);
	if (!out) {
		json_decref(root);
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	}
	n = ccu_b64_decode(b64, bl, CCU_B64_URL, out, ccu_b64_decoded_max(bl));
	json_decref(root);
	if (n <= 0 || memchr(out, 0, (size_t)n)) {
		free(out);
		return ccu_fail(err, -EINVAL, "ADMIN_POLICY_BODY",
				"policy is not base64url (no padding) of a text without NUL");
	}
	out[n] = 0;
	/* Trustee's policies are Rego: say so instead of a syntax error. */
	{
		const char *t = (const char *)out;

		while (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r')
			t++;
		while (*t == '#') {
			t = strchr(t, '\n');
			if (!t)
				break;
			while (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r')
				t++;
		}
		if (t && strncmp(t, "package ", 8) == 0) {
			free(out);
			return ccu_fail(err, -EINVAL, "ADMIN_REGO",
					"a Rego policy cannot be enforced by ccunlock-kbs: send a "
					"ccunlock policy (docs/policy.md) in the same form");
		}
	}
	*text = (char *)out;
	return 0;
}

void broker_h_resource_policy(struct http_req *req, void *ud)
{
	struct broker_server *s = ud;
	struct admin_ctx c = { .s = s, .req = req, .action = "policy.put" };
	struct ccu_reason why = { 0 };
	_cleanup_free_ char *text = NULL;
	const uint8_t *body;
	size_t len;
	int r;

	if (!authorized(&c))
		return;
	c.policy = s->cfg->default_resource_policy;
	body = http_req_body(req, &len);
	if (!body)
		r = ccu_fail(&why, -ENOMEM, "INTERNAL", "cannot read the request body");
	else if (http_req_query(req))
		r = ccu_fail(&why, -EINVAL, "ADMIN_QUERY", "resource-policy takes no query");
	else
		r = broker_admin_trustee_policy((const char *)body, len, &text, &why);
	if (r >= 0)
		r = validate_policy((const uint8_t *)text, strlen(text), &why);
	if (r >= 0)
		r = broker_store_put_policy(s->store, c.policy, text, &why);
	finish(&c, r, &why, r >= 0 ? json_pack("{s:s}", "policy", c.policy) : NULL);
}
