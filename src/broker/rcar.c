/*
 * The guest protocol, Trustee KBS 0.4.0 RCAR (kbs-protocol.md):
 * POST /kbs/v0/auth, POST /kbs/v0/attest, GET /kbs/v0/resource/<path>.
 * Every refusal a guest can cause is 401 with "CODE: detail"; every
 * attestation and release decision is audited before the reply.
 */
#include "broker/server_int.h"
#include "broker/azure_attest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/codec.h"
#include "common/evp.h"
#include "common/log.h"
#include "common/secmem.h"
#include "kbs/jwe.h"
#include "kbs/jwt.h"
#include "kbs/kbs.h"
#include "kbs/preimage.h"
#include "snp/policy.h"

#define COOKIE_BUF 64

/* ------------------------------------------------------------ /auth */

void broker_h_auth(struct http_req *req, void *ud)
{
	struct broker_server *s = ud;
	struct kbs_request kr = { 0 };
	struct ccu_reason why = { 0 };
	char id[BROKER_SESSION_ID_LEN + 1], nonce[KBS_NONCE_LEN + 1], cookie[128], date[64];
	char *body = NULL;
	time_t expires;
	struct tm tm;
	size_t len;
	const uint8_t *b = http_req_body(req, &len);

	if (!b) {
		ccu_reason_set(&why, "INTERNAL", "cannot read the request body");
		broker_reply_error(req, 500, "InternalError", &why);
		return;
	}
	if (kbs_request_parse((const char *)b, len, &kr, &why) < 0) {
		broker_reply_error(req, 401, KBS_ERR_ATTESTATION, &why);
		return;
	}
	if (strcmp(kr.tee, KBS_TEE_SNP) != 0 && strcmp(kr.tee, AZ_TEE_NAME) != 0) {
		ccu_reason_set(&why, KBS_R_TEE,
			       "tee '%s' is not supported; this broker verifies '%s' and '%s'", kr.tee,
			       KBS_TEE_SNP, AZ_TEE_NAME);
		kbs_request_done(&kr);
		broker_reply_error(req, 401, KBS_ERR_ATTESTATION, &why);
		return;
	}
	kbs_request_done(&kr);
	if (broker_sessions_create(s->sessions, broker_now(s), id, nonce, &expires, &why) < 0 ||
	    kbs_challenge_build(nonce, 0, &body, &why) < 0) {
		broker_reply_error(req, 401, KBS_ERR_ATTESTATION, &why);
		return;
	}
	gmtime_r(&expires, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	snprintf(cookie, sizeof(cookie), "%s=%s; Expires=%s", KBS_COOKIE_NAME, id, date);
	http_add_header(req, "Set-Cookie", cookie);
	http_reply(req, 200, "application/json", body, strlen(body));
	free(body);
}

/* ------------------------------------------------------------ /attest checks */

void broker_attest_prep_done(struct broker_attest_prep *p)
{
	kbs_attestation_done(&p->att);
	EVP_PKEY_free(p->tee_key);
	snp_evidence_done(&p->ev);
	broker_az_prep_done(p);
	memset(p, 0, sizeof(*p));
}

static int check_binding(const struct broker_attest_prep *p, const char *nonce,
			 struct ccu_reason *err)
{
	uint8_t expect[KBS_REPORT_DATA_LEN];
	char have[33], want[33];
	int r = kbs_report_data_broker(KBS_HASH_SHA384, nonce, &p->att.tee_pubkey,
				       p->att.additional_evidence, expect, err);

	if (r < 0)
		return r;
	if (secmem_equal(expect, p->report.report_data, KBS_REPORT_DATA_LEN))
		return 0;
	ccu_hex_encode(expect, 16, want, sizeof(want));
	ccu_hex_encode(p->report.report_data, 16, have, sizeof(have));
	return ccu_fail(err, -EKEYREJECTED, "ATTEST_REPORT_DATA",
			"REPORT_DATA does not bind this session's nonce, tee-pubkey and additional "
			"evidence: expected SHA-384(JCS preimage)||0^16 = %s..., report has %s...",
			want, have);
}

/* additional_evidence: "" or a JSON object {"<tee>": evidence, ...}
 * (Trustee's CompositeEvidence). Bound into REPORT_DATA, recorded, never
 * verified here. */
static int check_additional_evidence(struct broker_attest_prep *p, struct ccu_reason *err)
{
	const char *ae = p->att.additional_evidence, *k;
	json_t *root, *v;
	json_error_t je;
	size_t used = 0, n;

	if (!ae[0])
		return 0;
	root = json_loads(ae, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(root) || json_object_size(root) == 0 ||
	    json_object_size(root) > BROKER_AE_MAX_TEES) {
		json_decref(root);
		return ccu_fail(err, -EBADMSG, "ATTEST_ADDITIONAL_EVIDENCE",
				"additional_evidence must be \"\" or a JSON object of 1..%d "
				"{\"<tee>\": evidence} members",
				BROKER_AE_MAX_TEES);
	}
	json_object_foreach(root, k, v) {
		n = strlen(k);
		if (n == 0 || n > KBS_TEE_MAX || !kbs_tee_valid(k) ||
		    used + n + 1 > sizeof(p->additional_evidence_tees)) {
			/* the reason quotes k: set it before the tree (and k) is freed */
			int r = ccu_fail(err, -EBADMSG, "ATTEST_ADDITIONAL_EVIDENCE",
					 "additional_evidence: member '%.32s' is not a TEE name "
					 "([a-z0-9-]{1,%d})",
					 k, KBS_TEE_MAX);

			json_decref(root);
			return r;
		}
		if (used)
			p->additional_evidence_tees[used++] = ',';
		memcpy(p->additional_evidence_tees + used, k, n + 1);
		used += n;
	}
	json_decref(root);
	if (EVP_Digest(ae, strlen(ae), p->additional_evidence_sha256, NULL, EVP_sha256(), NULL) != 1)
		return ccu_fail(err, -EIO, "INTERNAL", "SHA-256 failed");
	p->have_additional_evidence = true;
	return 0;
}

/* init-data: a valid document whose digest is HOST_DATA (Trustee's
 * verifier, kbs-protocol §10.1 step 8). */
static int check_init_data(struct broker_attest_prep *p, struct ccu_reason *err)
{
	char want[65], have[65];
	int r;

	if (!p->att.init_data_body)
		return 0;
	r = kbs_initdata_parse(p->att.init_data_body, p->att.init_data_len, &p->init_data, err);
	if (r < 0)
		return r;
	if (!secmem_equal(p->init_data.host_data, p->report.host_data, KBS_INITDATA_HOST_DATA_LEN)) {
		ccu_hex_encode(p->init_data.host_data, KBS_INITDATA_HOST_DATA_LEN, want,
			       sizeof(want));
		ccu_hex_encode(p->report.host_data, KBS_INITDATA_HOST_DATA_LEN, have, sizeof(have));
		return ccu_fail(err, -EKEYREJECTED, "ATTEST_HOST_DATA",
				"init-data %s digest (padded/truncated to 32 bytes) %s is not the "
				"report's HOST_DATA %s",
				kbs_hash_alg_name(p->init_data.alg), want, have);
	}
	p->have_init_data = true;
	return 0;
}

int broker_attest_prepare(const char *body, size_t len, const char *nonce,
			  struct broker_attest_prep *p, struct ccu_reason *err)
{
	size_t nl = strlen(nonce);
	int r;

	memset(p, 0, sizeof(*p));
	r = kbs_attestation_parse(body, len, &p->att, err);
	if (r < 0)
		return r;
	if (strlen(p->att.nonce) != nl || !secmem_equal(p->att.nonce, nonce, nl))
		return ccu_fail(err, -EKEYREJECTED, "ATTEST_NONCE",
				"runtime-data.nonce is not this session's challenge nonce");
	r = check_additional_evidence(p, err);
	if (r < 0)
		return r;
	r = kbs_jwk_to_pkey(&p->att.tee_pubkey, &p->tee_key, err);
	if (r < 0)
		return r;
	if (broker_az_is_evidence(p->att.doc, p->att.primary_evidence))
		return broker_az_prepare(p, nonce, err);
	r = snp_evidence_parse_jf(p->att.doc, p->att.primary_evidence, &p->ev, err);
	if (r < 0)
		return r;
	r = snp_report_parse(p->ev.raw, SNP_REPORT_SIZE, &p->report, err);
	if (r < 0)
		return r;
	p->have_report = true;
	r = check_binding(p, nonce, err);
	if (r < 0)
		return r;
	return check_init_data(p, err);
}

/* ------------------------------------------------------------ /attest */

/* What an attested session adds to an audit record. */
static void broker_audit_attested(struct broker_audit_rec *rec, const struct broker_attested *att,
				  const char *tees)
{
	rec->report = &att->report;
	rec->product = att->product;
	rec->signer = (int)att->signer;
	rec->evidence_sha256 = att->evidence_sha256;
	if (att->init_data_alg) {
		rec->init_data_alg = kbs_hash_alg_name((enum kbs_hash_alg)att->init_data_alg);
		rec->init_data_digest = att->init_data_digest;
		rec->init_data_digest_len =
			kbs_hash_alg_len((enum kbs_hash_alg)att->init_data_alg);
	}
	if (att->additional_evidence) {
		rec->additional_evidence_sha256 = att->additional_evidence_sha256;
		rec->additional_evidence_tees = tees;
	}
}

static int der_update(EVP_MD_CTX *md, X509 *x)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der), r;

	if (n <= 0)
		return -EIO;
	r = EVP_DigestUpdate(md, der, (size_t)n) == 1 ? 0 : -EIO;
	OPENSSL_free(der);
	return r;
}

/* SHA-256 of the raw report, the leaf DER and every other certificate DER
 * the verification was given, in that order. */
static int evidence_digest(const uint8_t *raw, X509 *leaf, STACK_OF(X509) *pool, uint8_t out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int r = -EIO;

	if (!md || EVP_DigestInit_ex(md, ccu_md_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, raw, SNP_REPORT_SIZE) != 1 || der_update(md, leaf) < 0)
		goto out;
	for (int i = 0; i < sk_X509_num(pool); i++)
		if (der_update(md, sk_X509_value(pool, i)) < 0)
			goto out;
	r = EVP_DigestFinal_ex(md, out, NULL) == 1 ? 0 : -EIO;
out:
	EVP_MD_CTX_free(md);
	return r;
}

static int issue_token(struct broker_server *s, const char *sid, time_t now, char *out,
		       struct ccu_reason *err)
{
	json_t *claims = kbs_jwt_claims_new(now, s->cfg->token_lifetime);
	char *tok = NULL;
	size_t len;
	int r;

	if (!claims || json_object_set_new(claims, "sid", json_string(sid)) < 0) {
		json_decref(claims);
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	}
	r = kbs_jwt_sign(s->token_key, claims, &tok, err);
	json_decref(claims);
	if (r < 0)
		return r;
	len = strlen(tok);
	if (len > BROKER_TOKEN_MAX) {
		free(tok);
		return ccu_fail(err, -EOVERFLOW, "INTERNAL", "token too long");
	}
	memcpy(out, tok, len + 1);
	free(tok);
	return 0;
}

struct attest_run {
	struct broker_server *s;
	struct http_req *req;
	time_t now;
	char sid[BROKER_SESSION_ID_LEN + 1];
	struct broker_attest_prep prep;
	struct broker_attested att;
	X509 *leaf;
	STACK_OF(X509) *pool;
	bool have_digest;
	bool repeat; /* the session was already attested: its stored token again */
};

static int attest_verify(struct attest_run *a, struct ccu_reason *why)
{
	struct snp_verify_opts vo = { .at = a->now, .cache = a->s->chains };
	struct snp_verdict v;
	const char *from;
	int r;

	if (a->prep.azure)
		return broker_az_attest_verify(a->s, &a->prep, a->now, &a->leaf, &a->pool,
					       a->att.evidence_sha256, &a->have_digest,
					       &a->att.product, why);
	r = broker_certs_collect(&a->s->certs, &a->prep.report, a->prep.ev.certs, &a->leaf,
				 &a->pool, &from, why);
	if (r < 0)
		return r;
	if (evidence_digest(a->prep.ev.raw, a->leaf, a->pool, a->att.evidence_sha256) == 0)
		a->have_digest = true;
	memset(&v, 0, sizeof(v));
	r = snp_verify(a->s->trust, &a->prep.report, a->leaf, a->pool, &vo, &v);
	a->att.product = v.product;
	if (r == -EKEYREJECTED) {
		*why = v.reason;
		return r;
	}
	if (r < 0)
		return ccu_fail(why, r, "INTERNAL", "verification failed internally: %s",
				strerror(-r));
	log_debug("session %s: verified (%s %s, leaf from %s%s)", a->sid,
		  snp_product_name(v.product), snp_cert_role_name(v.leaf_role), from,
		  v.cache_hit ? ", chain cached" : "");
	return 0;
}

static int attest_run(struct attest_run *a, struct ccu_reason *why)
{
	char cookie[COOKIE_BUF], nonce[KBS_NONCE_LEN + 1];
	const uint8_t *body;
	size_t len;
	int r;

	if (!http_req_cookie(a->req, KBS_COOKIE_NAME, cookie, sizeof(cookie)))
		return ccu_fail(why, -ENOENT, "SESSION_MISSING",
				"no kbs-session-id cookie: call /kbs/v0/auth first");
	if (broker_session_id_valid(cookie))
		memcpy(a->sid, cookie, sizeof(a->sid));
	/* As Trustee does: an attested session answers a repeated /attest with
	 * the token it holds, without verifying the new body. */
	if (broker_sessions_get(a->s->sessions, cookie, a->now, &a->att, NULL) == 0) {
		a->repeat = true;
		return 0;
	}
	r = broker_sessions_consume(a->s->sessions, cookie, a->now, nonce, why);
	if (r < 0)
		return r;
	body = http_req_body(a->req, &len);
	if (!body)
		return ccu_fail(why, -ENOMEM, "INTERNAL", "cannot read the request body");
	r = broker_attest_prepare((const char *)body, len, nonce, &a->prep, why);
	if (r < 0)
		return r;
	r = attest_verify(a, why);
	if (r < 0)
		return r;
	a->att.jwk = a->prep.att.tee_pubkey;
	a->att.report = a->prep.report;
	a->att.signer = SNP_KEY_INFO_SIGNING_KEY(a->prep.report.key_info);
	a->att.azure = a->prep.azure;
	if (a->prep.azure)
		a->att.az = *a->prep.az;
	if (a->prep.have_init_data) {
		a->att.init_data_alg = (unsigned)a->prep.init_data.alg;
		memcpy(a->att.init_data_digest, a->prep.init_data.digest,
		       a->prep.init_data.digest_len);
	}
	if (a->prep.have_additional_evidence) {
		a->att.additional_evidence = true;
		memcpy(a->att.additional_evidence_sha256, a->prep.additional_evidence_sha256, 32);
	}
	return issue_token(a->s, a->sid, a->now, a->att.token, why);
}

static void audit_attest(struct attest_run *a, bool allow, const struct ccu_reason *why,
			 struct broker_audit_rec *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->event = "attest";
	rec->session = a->sid[0] ? a->sid : NULL;
	rec->peer = http_req_peer(a->req);
	rec->allow = allow;
	rec->reason = why;
	rec->signer = -1;
	if (a->repeat) {
		rec->action = "repeat";
		broker_audit_attested(rec, &a->att, NULL);
		return;
	}
	if (a->prep.have_init_data) {
		rec->init_data_alg = kbs_hash_alg_name(a->prep.init_data.alg);
		rec->init_data_digest = a->prep.init_data.digest;
		rec->init_data_digest_len = a->prep.init_data.digest_len;
	}
	if (a->prep.have_additional_evidence) {
		rec->additional_evidence_sha256 = a->prep.additional_evidence_sha256;
		rec->additional_evidence_tees = a->prep.additional_evidence_tees;
	}
	if (a->prep.have_report) {
		rec->report = &a->prep.report;
		rec->product = a->att.product != SNP_PRODUCT_UNKNOWN ?
				       a->att.product :
				       snp_report_product(&a->prep.report);
		rec->signer = (int)SNP_KEY_INFO_SIGNING_KEY(a->prep.report.key_info);
	}
	if (a->have_digest)
		rec->evidence_sha256 = a->att.evidence_sha256;
}

void broker_h_attest(struct http_req *req, void *ud)
{
	struct attest_run *a = calloc(1, sizeof(*a));
	struct ccu_reason why = { 0 }, aerr = { 0 };
	struct broker_audit_rec rec;
	char *body = NULL;
	int r;

	if (!a) {
		ccu_reason_set(&why, "INTERNAL", "out of memory");
		broker_reply_error(req, 500, "InternalError", &why);
		return;
	}
	a->s = ud;
	a->req = req;
	a->now = broker_now(a->s);
	r = attest_run(a, &why);
	audit_attest(a, r >= 0, &why, &rec);
	if (broker_decide(a->s, &rec, &aerr) < 0) {
		broker_reply_error(req, 500, "InternalError", &aerr);
		goto out;
	}
	if (r < 0) {
		broker_reply_error(req, 401, KBS_ERR_ATTESTATION, &why);
		goto out;
	}
	if (!a->repeat) {
		r = broker_sessions_attested(a->s->sessions, a->sid, a->now, &a->att,
					     a->now + (time_t)a->s->cfg->token_lifetime, &why);
		/* the release that follows finds the key imported (pubkeys.h) */
		if (r >= 0)
			broker_pubkeys_put(a->s->pubkeys, &a->att.jwk, a->prep.tee_key);
	}
	if (r >= 0)
		r = kbs_token_response_build(a->att.token, &body, &why);
	if (r < 0) {
		broker_reply_error(req, 401, KBS_ERR_ATTESTATION, &why);
		goto out;
	}
	http_reply(req, 200, "application/json", body, strlen(body));
out:
	free(body);
	X509_free(a->leaf);
	sk_X509_pop_free(a->pool, X509_free);
	broker_attest_prep_done(&a->prep);
	secmem_wipe(&a->att, sizeof(a->att));
	free(a);
}

/* ------------------------------------------------------------ resource release */

static int session_from_token(struct broker_server *s, const char *authz, time_t now,
			      struct broker_attested *att, char sid[BROKER_SESSION_ID_LEN + 1],
			      struct ccu_reason *why)
{
	struct kbs_jwt_verify_opts o = {
		.alg = KBS_JWT_ES256,
		.now = now,
		.max_lifetime = s->cfg->token_lifetime,
		.require_iat = true,
	};
	json_t *claims = NULL;
	const char *tok = authz + 7, *v;
	int r;

	r = kbs_jwt_verify(tok, strlen(tok), s->token_key, &o, &claims, why);
	if (r < 0)
		return r;
	v = json_string_value(json_object_get(claims, "sid"));
	if (!v || !broker_session_id_valid(v)) {
		json_decref(claims);
		return ccu_fail(why, -EBADMSG, KBS_R_TOKEN, "the token has no valid 'sid' claim");
	}
	memcpy(sid, v, BROKER_SESSION_ID_LEN + 1);
	json_decref(claims);
	return broker_sessions_get(s->sessions, sid, now, att, why);
}

/* The attested session of this request: the cookie's, else the Bearer
 * token's. Returns the error variant to use on failure. */
static const char *find_session(struct broker_server *s, struct http_req *req, time_t now,
				struct broker_attested *att, char sid[BROKER_SESSION_ID_LEN + 1],
				struct ccu_reason *why)
{
	const char *authz = http_req_header(req, "Authorization");
	char cookie[COOKIE_BUF];
	bool bearer = authz && strncmp(authz, "Bearer ", 7) == 0;

	if (http_req_cookie(req, KBS_COOKIE_NAME, cookie, sizeof(cookie))) {
		if (broker_session_id_valid(cookie))
			memcpy(sid, cookie, BROKER_SESSION_ID_LEN + 1);
		if (broker_sessions_get(s->sessions, cookie, now, att, why) == 0)
			return NULL;
		if (!bearer)
			return KBS_ERR_TOKEN_NOT_FOUND;
	}
	if (bearer) {
		sid[0] = 0;
		if (session_from_token(s, authz, now, att, sid, why) == 0)
			return NULL;
		return KBS_ERR_TOKEN_VERIFIER;
	}
	ccu_fail(why, -ENOENT, "RELEASE_NO_TOKEN",
		 "no kbs-session-id cookie and no Bearer token: attest first");
	return KBS_ERR_TOKEN_NOT_FOUND;
}

static int release_policy(struct broker_server *s, const char *name,
			  const struct broker_attested *att, struct ccu_reason *why)
{
	_cleanup_free_ char *text = NULL;
	struct snp_policy *pol = NULL;
	int r = broker_store_get_policy(s->store, name, &text, why);

	if (r < 0)
		return r;
	r = snp_policy_parse(text, strlen(text), &pol, why);
	if (r < 0)
		return r;
	{
		const struct snp_policy_session ps = {
			.init_data_digest = att->init_data_alg ? att->init_data_digest : NULL,
			.init_data_digest_len = kbs_hash_alg_len((enum kbs_hash_alg)att->init_data_alg),
			.additional_evidence = att->additional_evidence,
		};

		r = att->azure ? snp_policy_eval_azure_session(pol, &att->az, att->product, &ps, why) :
				 snp_policy_eval_session(pol, &att->report, att->product, &ps, why);
	}
	snp_policy_free(pol);
	return r;
}

struct release_run {
	struct broker_server *s;
	struct http_req *req;
	char sid[BROKER_SESSION_ID_LEN + 1];
	char path[KBS_PATH_SEGMENT_MAX * 3 + 3];
	struct broker_resource_meta meta;
	struct broker_attested att;
	bool have_att;
	char *jwe;
};

static int release_run(struct release_run *a, const char **variant, struct ccu_reason *why)
{
	const char *rest = http_req_route_rest(a->req);
	struct kbs_resource_path rp;
	_cleanup_secmem_ uint8_t *secret = NULL;
	EVP_PKEY *pk = NULL;
	size_t len;
	int r;

	*variant = find_session(a->s, a->req, broker_now(a->s), &a->att, a->sid, why);
	if (*variant)
		return -EACCES;
	a->have_att = true;
	*variant = KBS_ERR_PLUGIN_INTERNAL;
	r = kbs_resource_path_parse(rest, strlen(rest), &rp, why);
	if (r < 0)
		return r;
	snprintf(a->path, sizeof(a->path), "%s/%s/%s", rp.repo, rp.type, rp.tag);
	r = broker_store_get_resource(a->s->store, a->path, &secret, &len, &a->meta, why);
	if (r == -ENOENT)
		return ccu_fail(why, r, "RELEASE_UNKNOWN_RESOURCE", "no resource '%s'", a->path);
	if (r < 0)
		return r;
	*variant = KBS_ERR_POLICY_DENY;
	r = release_policy(a->s, a->meta.policy, &a->att, why);
	if (r < 0)
		return r;
	*variant = KBS_ERR_JWE;
	r = broker_pubkeys_get(a->s->pubkeys, &a->att.jwk, &pk, why);
	if (r >= 0)
		r = kbs_jwe_encrypt(pk, secret, len, &a->jwe, NULL, why);
	EVP_PKEY_free(pk);
	return r;
}

void broker_h_resource(struct http_req *req, void *ud)
{
	struct broker_server *s = ud;
	struct release_run *a;
	struct ccu_reason why = { 0 }, aerr = { 0 };
	struct broker_audit_rec rec = { 0 };
	const char *variant = NULL;
	int r;

	if (http_req_method(req) != HTTP_GET) {
		broker_admin_resource(s, req);
		return;
	}
	a = calloc(1, sizeof(*a));
	if (!a) {
		ccu_reason_set(&why, "INTERNAL", "out of memory");
		broker_reply_error(req, 500, "InternalError", &why);
		return;
	}
	a->s = s;
	a->req = req;
	r = release_run(a, &variant, &why);
	rec.event = "release";
	rec.session = a->sid[0] ? a->sid : NULL;
	rec.peer = http_req_peer(req);
	rec.resource = a->path[0] ? a->path : NULL;
	rec.policy = a->meta.policy[0] ? a->meta.policy : NULL;
	rec.allow = r >= 0;
	rec.reason = &why;
	rec.signer = -1;
	if (a->have_att)
		broker_audit_attested(&rec, &a->att, NULL);
	/* Fail closed: no durable audit line, no key. */
	if (broker_decide(s, &rec, &aerr) < 0)
		broker_reply_error(req, 500, "InternalError", &aerr);
	else if (r < 0)
		broker_reply_error(req, 401, variant, &why);
	else
		http_reply(req, 200, "application/json", a->jwe, strlen(a->jwe));
	free(a->jwe);
	secmem_wipe(&a->att, sizeof(a->att));
	free(a);
}
