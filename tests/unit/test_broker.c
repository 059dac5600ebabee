/*
 * ccunlock-kbs end to end, in process, over TLS on 127.0.0.1: the Trustee
 * KBS flow with simulator evidence (conformance, cookie and Bearer paths,
 * JWE cross-checked with the jose tool), every refusal a guest can cause
 * (one test each, exact reason codes), the admin API and its authentication,
 * persistence across a restart, the audit log (fail closed), /metrics.
 */
#include "helpers/brokerfx.h"
#include "helpers/testutil.h"
#include "helpers/tlsgen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "broker/store.h"
#include "common/secmem.h"
#include "kbs/jwe.h"
#include "kbs/jwk.h"
#include "kbs/jwt.h"
#include "kbs/msg.h"

static struct bfx F;

static int group_setup(void **state)
{
	(void)state;
	bfx_init(&F);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	bfx_done(&F);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	bfx_start(&F, NULL, NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	bfx_stop(&F);
	return 0;
}

/* A session: /auth done, nonce in @nonce, tee key made. */
struct sess {
	struct kfc k;
	char nonce[KBS_NONCE_MAX + 1];
	EVP_PKEY *tee;
};

static void sess_open(struct sess *s)
{
	struct kfc_resp r;

	memset(s, 0, sizeof(*s));
	assert_int_equal(kfc_open(&s->k, F.base, F.ca), 0);
	assert_int_equal(kfc_auth(&s->k, NULL, s->nonce, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(strlen(s->k.cookie), 32);
	kfc_resp_done(&r);
	assert_int_equal(kbs_jwk_generate_ec(&s->tee, NULL), 0);
}

static void sess_close(struct sess *s)
{
	kfc_close(&s->k);
	EVP_PKEY_free(s->tee);
}

/* /attest with evidence built by @o for this session's nonce. */
static void sess_attest(struct sess *s, const struct kfc_ev_opts *o, struct kfc_resp *r)
{
	char *att = NULL;

	assert_int_equal(kfc_attestation(F.sim, o, s->nonce, s->tee, &att), 0);
	assert_int_equal(kfc_attest(&s->k, att, r), 0);
	free(att);
}

static void sess_attest_body(struct sess *s, const char *body, struct kfc_resp *r)
{
	assert_int_equal(kfc_request(&s->k, "POST", "/kbs/v0/attest", body, strlen(body), NULL, true,
				     r),
			 0);
}

/* ------------------------------------------------------------ conformance */

static bool have_jose(void)
{
	return system("command -v jose >/dev/null 2>&1") == 0;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	fclose(fp);
}

/* The JWE decrypted independently by latchset's jose tool. */
static void jose_check(EVP_PKEY *tee, const char *jwe, size_t len)
{
	char *priv = NULL, jwk[600], in[600], out[600], cmd[2000];
	uint8_t *got;
	size_t glen;

	if (!have_jose()) {
		print_message("note: jose is not installed; skipping the independent JWE check\n");
		return;
	}
	assert_int_equal(kbs_jwk_export_private(tee, &priv, NULL), 0);
	snprintf(jwk, sizeof(jwk), "%s/priv.jwk", F.dir);
	snprintf(in, sizeof(in), "%s/res.jwe", F.dir);
	snprintf(out, sizeof(out), "%s/res.out", F.dir);
	write_file(jwk, priv, strlen(priv));
	secmem_free(priv);
	write_file(in, jwe, len);
	snprintf(cmd, sizeof(cmd), "jose jwe dec -k %s -i %s -O %s", jwk, in, out);
	assert_int_equal(system(cmd), 0);
	got = tu_read(out, &glen);
	assert_int_equal(glen, sizeof(F.key));
	assert_memory_equal(got, F.key, sizeof(F.key));
	free(got);
	unlink(jwk);
	unlink(out);
}

static void test_flow_cookie(void **state)
{
	struct sess s;
	struct kfc_resp r;
	uint8_t *pt = NULL;
	size_t len = 0;
	json_t *claims = NULL;
	int64_t iat, exp;
	const char *allow_attest[] = { "\"event\":\"attest\"", "\"decision\":\"allow\"",
				       "\"evidence_sha256\"", "\"signer\":\"VCEK\"",
				       "\"product\":\"Milan\"", NULL };
	const char *allow_release[] = { "\"event\":\"release\"", "\"decision\":\"allow\"",
					"\"resource\":\"" BFX_RESOURCE "\"", "\"policy\":\"open\"",
					"\"measurement\"", NULL };

	(void)state;
	sess_open(&s);
	assert_int_equal(strlen(s.nonce), KBS_NONCE_LEN);
	sess_attest(&s, NULL, &r);
	assert_int_equal(r.status, 200);
	/* The token is an ES256 JWT whose claims carry iat/exp/sid. */
	assert_int_equal(kbs_jwt_peek_claims(s.k.token, strlen(s.k.token), &claims, NULL), 0);
	assert_int_equal(kbs_jwt_claim_time(claims, "iat", &iat, NULL), 1);
	assert_int_equal(kbs_jwt_claim_time(claims, "exp", &exp, NULL), 1);
	assert_int_equal(exp - iat, 300);
	assert_string_equal(json_string_value(json_object_get(claims, "sid")), s.k.cookie);
	json_decref(claims);
	kfc_resp_done(&r);
	assert_int_equal(kfc_resource(&s.k, BFX_RESOURCE, false, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(kbs_jwe_decrypt(s.tee, r.body, r.len, &pt, &len, NULL), 0);
	assert_int_equal(len, sizeof(F.key));
	assert_memory_equal(pt, F.key, len);
	secmem_free(pt);
	jose_check(s.tee, r.body, r.len);
	kfc_resp_done(&r);
	sess_close(&s);
	assert_true(bfx_audit_count(&F, allow_attest) >= 1);
	assert_true(bfx_audit_count(&F, allow_release) >= 1);
}

static void test_flow_bearer(void **state)
{
	struct sess s;
	struct kfc_resp r;
	struct kfc other;
	uint8_t *pt = NULL;
	size_t len;
	EVP_PKEY *k2 = NULL;
	json_t *c;
	char *forged = NULL;

	(void)state;
	sess_open(&s);
	sess_attest(&s, NULL, &r);
	assert_int_equal(r.status, 200);
	kfc_resp_done(&r);
	/* Another connection with the token only (no cookie). */
	assert_int_equal(kfc_open(&other, F.base, F.ca), 0);
	snprintf(other.token, sizeof(other.token), "%s", s.k.token);
	assert_int_equal(kfc_resource(&other, BFX_RESOURCE, true, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(kbs_jwe_decrypt(s.tee, r.body, r.len, &pt, &len, NULL), 0);
	assert_memory_equal(pt, F.key, sizeof(F.key));
	secmem_free(pt);
	kfc_resp_done(&r);
	/* A token with the same claims signed by another key is refused. */
	assert_int_equal(kbs_jwt_peek_claims(s.k.token, strlen(s.k.token), &c, NULL), 0);
	k2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_int_equal(kbs_jwt_sign(k2, c, &forged, NULL), 0);
	snprintf(other.token, sizeof(other.token), "%s", forged);
	assert_int_equal(kfc_resource(&other, BFX_RESOURCE, true, &r), 0);
	bfx_assert_error(&r, 401, "TokenVerifierError", "KBS_TOKEN_SIGNATURE");
	kfc_resp_done(&r);
	json_decref(c);
	free(forged);
	EVP_PKEY_free(k2);
	kfc_close(&other);
	sess_close(&s);
	/* The simulated guest tool's path too. */
	assert_int_equal(bfx_boot(&F, NULL, NULL, NULL, true, F.key, sizeof(F.key), NULL, 0), 200);
}

/* ------------------------------------------------------------ refusals */

static void test_wrong_nonce(void **state)
{
	struct sess s;
	struct kfc_resp r;
	char *att = NULL;
	const char other[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

	(void)state;
	sess_open(&s);
	/* Evidence honestly bound to a nonce that is not the session's. */
	assert_int_equal(kfc_attestation(F.sim, NULL, other, s.tee, &att), 0);
	sess_attest_body(&s, att, &r);
	bfx_assert_error(&r, 401, "AttestationError", "ATTEST_NONCE");
	kfc_resp_done(&r);
	free(att);
	sess_close(&s);
}

static void test_reused_nonce(void **state)
{
	struct sess s, s2;
	struct kfc_resp r;
	char *att = NULL;

	(void)state;
	sess_open(&s);
	sess_attest(&s, NULL, &r);
	assert_int_equal(r.status, 200);
	kfc_resp_done(&r);
	/* A second /attest on an attested session: the stored token again,
	 * as Trustee answers (test_broker_trustee.c). */
	sess_attest(&s, NULL, &r);
	assert_int_equal(r.status, 200);
	kfc_resp_done(&r);
	/* The old nonce (and its whole evidence) in a new session. */
	assert_int_equal(kfc_attestation(F.sim, NULL, s.nonce, s.tee, &att), 0);
	sess_open(&s2);
	sess_attest_body(&s2, att, &r);
	bfx_assert_error(&r, 401, "AttestationError", "ATTEST_NONCE");
	kfc_resp_done(&r);
	free(att);
	/* A failed /attest consumes the nonce too. */
	sess_close(&s2);
	sess_open(&s2);
	sess_attest_body(&s2, "{}", &r);
	bfx_assert_error(&r, 401, "AttestationError", "KBS_JSON");
	kfc_resp_done(&r);
	sess_attest(&s2, NULL, &r);
	bfx_assert_error(&r, 401, "AttestationError", "SESSION_NONCE_USED");
	kfc_resp_done(&r);
	sess_close(&s2);
	sess_close(&s);
}

static void test_missing_cookie(void **state)
{
	struct sess s;
	struct kfc_resp r;
	char *att = NULL;

	(void)state;
	sess_open(&s);
	assert_int_equal(kfc_attestation(F.sim, NULL, s.nonce, s.tee, &att), 0);
	assert_int_equal(kfc_request(&s.k, "POST", "/kbs/v0/attest", att, strlen(att), NULL, false,
				     &r),
			 0);
	bfx_assert_error(&r, 401, "AttestationError", "SESSION_MISSING");
	kfc_resp_done(&r);
	/* An unknown cookie. */
	snprintf(s.k.cookie, sizeof(s.k.cookie), "%s", "0123456789abcdef0123456789abcdef");
	sess_attest_body(&s, att, &r);
	bfx_assert_error(&r, 401, "AttestationError", "SESSION_UNKNOWN");
	kfc_resp_done(&r);
	/* A resource without cookie or token. */
	assert_int_equal(kfc_request(&s.k, "GET", "/kbs/v0/resource/" BFX_RESOURCE, NULL, 0, NULL,
				     false, &r),
			 0);
	bfx_assert_error(&r, 401, "TokenNotFound", "RELEASE_NO_TOKEN");
	kfc_resp_done(&r);
	/* A session that /auth'ed but never attested gets nothing. */
	sess_close(&s);
	sess_open(&s);
	assert_int_equal(kfc_resource(&s.k, BFX_RESOURCE, false, &r), 0);
	bfx_assert_error(&r, 401, "TokenNotFound", "SESSION_NOT_ATTESTED");
	kfc_resp_done(&r);
	free(att);
	sess_close(&s);
}

static void test_expired_session(void **state)
{
	struct sess s;
	struct kfc_resp r;

	(void)state;
	sess_open(&s);
	bfx_clock_offset = 61; /* session_timeout = 60 */
	sess_attest(&s, NULL, &r);
	bfx_assert_error(&r, 401, "AttestationError", "SESSION_UNKNOWN");
	kfc_resp_done(&r);
	sess_close(&s);
	/* An attested session expires with its token. */
	bfx_clock_offset = 0;
	sess_open(&s);
	sess_attest(&s, NULL, &r);
	assert_int_equal(r.status, 200);
	kfc_resp_done(&r);
	bfx_clock_offset = 301; /* token_lifetime = 300 */
	assert_int_equal(kfc_resource(&s.k, BFX_RESOURCE, false, &r), 0);
	bfx_assert_error(&r, 401, "TokenNotFound", "SESSION_UNKNOWN");
	kfc_resp_done(&r);
	assert_int_equal(kfc_resource(&s.k, BFX_RESOURCE, true, &r), 0);
	bfx_assert_error(&r, 401, "TokenVerifierError", "KBS_TOKEN_EXPIRED");
	kfc_resp_done(&r);
	bfx_clock_offset = 0;
	sess_close(&s);
}

static void test_report_data_mismatch(void **state)
{
	struct sess s;
	struct kfc_resp r;
	struct kfc_ev_opts o = { .corrupt_binding = true };
	EVP_PKEY *other = NULL;
	struct kbs_jwk jwk;
	char *att = NULL, *text;
	json_t *root;

	(void)state;
	sess_open(&s);
	sess_attest(&s, &o, &r);
	bfx_assert_error(&r, 401, "AttestationError", "ATTEST_REPORT_DATA");
	kfc_resp_done(&r);
	sess_close(&s);
	/* Evidence bound to one key, sent with another tee-pubkey. */
	sess_open(&s);
	assert_int_equal(kfc_attestation(F.sim, NULL, s.nonce, s.tee, &att), 0);
	assert_int_equal(kbs_jwk_generate_ec(&other, NULL), 0);
	assert_int_equal(kbs_jwk_from_pkey(other, &jwk, NULL), 0);
	root = json_loads(att, 0, NULL);
	assert_non_null(root);
	json_object_set_new(json_object_get(root, "runtime-data"), "tee-pubkey",
			    kbs_jwk_to_json(&jwk));
	text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	sess_attest_body(&s, text, &r);
	bfx_assert_error(&r, 401, "AttestationError", "ATTEST_REPORT_DATA");
	kfc_resp_done(&r);
	free(text);
	json_decref(root);
	free(att);
	EVP_PKEY_free(other);
	sess_close(&s);
}

static void test_bad_signature(void **state)
{
	struct kfc_ev_opts o = { .corrupt_signature = true };
	char detail[1024];

	(void)state;
	assert_int_equal(bfx_boot(&F, NULL, &o, NULL, false, NULL, 0, detail, sizeof(detail)), 401);
	assert_non_null(strstr(detail, "\"SIGNATURE:"));
}

static void test_untrusted_root(void **state)
{
	struct snp_sim_params p;
	struct snp_sim *other = NULL;
	char detail[1024];
	const char *deny[] = { "\"event\":\"attest\"", "CHAIN_ARK_UNTRUSTED", NULL };

	(void)state;
	snp_sim_default_params(&p);
	assert_int_equal(snp_sim_create(&p, &other, NULL), 0);
	assert_int_equal(bfx_boot(&F, other, NULL, NULL, false, NULL, 0, detail, sizeof(detail)),
			 401);
	assert_non_null(strstr(detail, "\"CHAIN_ARK_UNTRUSTED:"));
	assert_true(bfx_audit_count(&F, deny) >= 1);
	snp_sim_free(other);
}

static void test_unknown_resource(void **state)
{
	char detail[1024];

	(void)state;
	assert_int_equal(bfx_boot(&F, NULL, NULL, "default/luks/nothere", false, NULL, 0, detail,
				  sizeof(detail)),
			 401);
	assert_non_null(strstr(detail, "RELEASE_UNKNOWN_RESOURCE:"));
	assert_int_equal(bfx_boot(&F, NULL, NULL, "default/../x", false, NULL, 0, detail,
				  sizeof(detail)),
			 401);
	assert_non_null(strstr(detail, "KBS_PATH:"));
}

static void test_unknown_endpoint(void **state)
{
	struct kfc k;
	struct kfc_resp r;

	(void)state;
	assert_int_equal(kfc_open(&k, F.base, F.ca), 0);
	assert_int_equal(kfc_request(&k, "GET", "/kbs/v0/nothing", NULL, 0, NULL, false, &r), 0);
	bfx_assert_error(&r, 404, "InvalidRequestPath", "");
	kfc_resp_done(&r);
	kfc_close(&k);
}

/* ------------------------------------------------------------ malformed input */

static void test_request_malformed(void **state)
{
	static const struct {
		const char *body, *code;
	} cases[] = {
		{ "", "KBS_JSON" },
		{ "not json", "KBS_JSON" },
		{ "[]", "KBS_JSON" },
		{ "{\"tee\":\"snp\",\"extra-params\":\"\"}", "KBS_JSON" },
		{ "{\"version\":4,\"tee\":\"snp\",\"extra-params\":\"\"}", "KBS_JSON" },
		{ "{\"version\":\"0.3.0\",\"tee\":\"snp\",\"extra-params\":\"\"}", "KBS_VERSION" },
		{ "{\"version\":\"0.4.0\",\"extra-params\":\"\"}", "KBS_TEE" },
		{ "{\"version\":\"0.4.0\",\"tee\":7,\"extra-params\":\"\"}", "KBS_TEE" },
		{ "{\"version\":\"0.4.0\",\"tee\":\"SNP\",\"extra-params\":\"\"}", "KBS_TEE" },
		{ "{\"version\":\"0.4.0\",\"tee\":\"tdx\",\"extra-params\":\"\"}", "KBS_TEE" },
		{ "{\"version\":\"0.4.0\",\"tee\":\"snp\",\"extra-params\":\"\"} x", "KBS_JSON" },
		{ "{\"version\":\"0.4.0\",\"version\":\"0.4.0\",\"tee\":\"snp\"}", "KBS_JSON" },
	};
	struct kfc k;
	struct kfc_resp r;
	char nonce[KBS_NONCE_MAX + 1];

	(void)state;
	assert_int_equal(kfc_open(&k, F.base, F.ca), 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(kfc_auth(&k, cases[i].body, nonce, &r), 0);
		print_message("request %zu: %s\n", i, r.body ? r.body : "");
		bfx_assert_error(&r, 401, "AttestationError", cases[i].code);
		kfc_resp_done(&r);
	}
	/* Trustee's own words for a version mismatch. */
	assert_int_equal(kfc_auth(&k, cases[5].body, nonce, &r), 0);
	assert_non_null(strstr(r.body, "KBS Client Protocol Version Mismatch"));
	kfc_resp_done(&r);
	kfc_close(&k);
}

/* Mutations of a valid Attestation, each at one field. */
enum mut { SET, DEL };
static const struct {
	const char *obj;   /* "" top level, or a member path "a/b" */
	const char *key;
	enum mut op;
	const char *json; /* value for SET */
	const char *code;
} att_cases[] = {
	{ "", "runtime-data", DEL, NULL, "KBS_JSON" },
	{ "", "runtime-data", SET, "[]", "KBS_JSON" },
	{ "", "tee-evidence", DEL, NULL, "KBS_EVIDENCE" },
	{ "", "tee-evidence", SET, "\"\"", "KBS_EVIDENCE" },
	{ "", "init-data", SET, "{\"format\":\"toml\",\"body\":\"a = 1\"}", "KBS_INIT_DATA_DOC" },
	{ "", "init-data", SET, "{\"format\":\"json\",\"body\":\"{}\"}", "KBS_INIT_DATA" },
	{ "", "init-data", SET, "7", "KBS_INIT_DATA" },
	{ "runtime-data", "nonce", DEL, NULL, "KBS_NONCE" },
	{ "runtime-data", "nonce", SET, "12", "KBS_NONCE" },
	{ "runtime-data", "nonce", SET, "\"not base64!\"", "KBS_NONCE" },
	{ "runtime-data", "tee-pubkey", DEL, NULL, "KBS_PUBKEY" },
	{ "runtime-data", "tee-pubkey", SET, "\"x\"", "KBS_PUBKEY" },
	{ "runtime-data/tee-pubkey", "kty", SET, "\"OKP\"", "KBS_PUBKEY" },
	{ "runtime-data/tee-pubkey", "crv", SET, "\"P-384\"", "KBS_PUBKEY" },
	{ "runtime-data/tee-pubkey", "alg", SET, "\"ECDH-ES\"", "KBS_PUBKEY" },
	{ "runtime-data/tee-pubkey", "x", SET, "\"AQID\"", "KBS_PUBKEY" },
	{ "runtime-data/tee-pubkey", "y", DEL, NULL, "KBS_PUBKEY" },
	{ "runtime-data/tee-pubkey", "kid", SET, "\"k1\"", "KBS_PUBKEY" },
	{ "runtime-data/tee-pubkey", "x", SET,
	  "\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE\"", "KBS_PUBKEY" }, /* not on the curve */
	{ "tee-evidence", "primary_evidence", DEL, NULL, "KBS_EVIDENCE" },
	{ "tee-evidence", "primary_evidence", SET, "\"{}\"", "KBS_EVIDENCE" },
	{ "tee-evidence", "additional_evidence", SET, "1", "KBS_EVIDENCE" },
	/* accepted, but bound: REPORT_DATA was made with "" */
	{ "tee-evidence", "additional_evidence", SET, "\"{\\\"gpu\\\":{}}\"",
	  "ATTEST_REPORT_DATA" },
	{ "tee-evidence", "additional_evidence", SET, "\"[1]\"", "ATTEST_ADDITIONAL_EVIDENCE" },
	{ "tee-evidence", "additional_evidence", SET, "\"{\\\"GPU\\\":1}\"",
	  "ATTEST_ADDITIONAL_EVIDENCE" },
	{ "tee-evidence/primary_evidence", "attestation_report", DEL, NULL, "EVIDENCE_JSON" },
	{ "tee-evidence/primary_evidence", "cert_chain", SET, "[]", "EVIDENCE_CERT" },
	{ "tee-evidence/primary_evidence", "cert_chain", SET, "[{\"cert_type\":\"VCEK\",\"data\":[1,2]}]",
	  "EVIDENCE_CERT" },
	{ "tee-evidence/primary_evidence", "report_b64", SET, "\"AAAA\"", "EVIDENCE_JSON" },
	{ "tee-evidence/primary_evidence/attestation_report", "version", SET, "\"5\"",
	  "EVIDENCE_JSON" },
	{ "tee-evidence/primary_evidence/attestation_report", "vmpl", SET, "1",
	  "EVIDENCE_MISMATCH" },
};

static json_t *walk(json_t *root, const char *path)
{
	char buf[128], *save = NULL, *tok;
	json_t *o = root;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, "/", &save); tok && o; tok = strtok_r(NULL, "/", &save))
		o = json_object_get(o, tok);
	return o;
}

static void test_attestation_malformed(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(att_cases); i++) {
		struct sess s;
		struct kfc_resp r;
		char *att = NULL, *text;
		json_t *root, *o;

		sess_open(&s);
		assert_int_equal(kfc_attestation(F.sim, NULL, s.nonce, s.tee, &att), 0);
		root = json_loads(att, 0, NULL);
		assert_non_null(root);
		o = walk(root, att_cases[i].obj);
		assert_non_null(o);
		if (att_cases[i].op == DEL)
			assert_int_equal(json_object_del(o, att_cases[i].key), 0);
		else
			json_object_set_new(o, att_cases[i].key,
					    json_loads(att_cases[i].json, JSON_DECODE_ANY, NULL));
		text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
		sess_attest_body(&s, text, &r);
		print_message("attestation case %zu (%s.%s): %s\n", i, att_cases[i].obj,
			      att_cases[i].key, r.body ? r.body : "");
		bfx_assert_error(&r, 401, "AttestationError", att_cases[i].code);
		kfc_resp_done(&r);
		free(text);
		free(att);
		json_decref(root);
		sess_close(&s);
	}
}

static void test_oversized_bodies(void **state)
{
	size_t n = 300 * 1024; /* max_body defaults to 256 KiB */
	char *big = malloc(n + 1);
	/* The client waits for the verdict on the announced length instead of
	 * racing the server's close with the body. */
	const char *expect[] = { "Expect: 100-continue", NULL };
	struct sess s;
	struct kfc_resp r;

	(void)state;
	assert_non_null(big);
	memset(big, ' ', n);
	big[n] = 0;
	big[0] = '{';
	big[n - 1] = '}';
	sess_open(&s);
	assert_int_equal(kfc_request(&s.k, "POST", "/kbs/v0/attest", big, n, expect, true, &r), 0);
	assert_int_equal(r.status, 413);
	kfc_resp_done(&r);
	kfc_close(&s.k);
	assert_int_equal(kfc_open(&s.k, F.base, F.ca), 0);
	assert_int_equal(kfc_request(&s.k, "POST", "/kbs/v0/auth", big, n, expect, false, &r), 0);
	assert_int_equal(r.status, 413);
	kfc_resp_done(&r);
	assert_int_equal(kfc_request(&s.k, "POST", "/kbs/v0/policy/x", big, n, expect, false, &r), 0);
	assert_int_equal(r.status, 413);
	kfc_resp_done(&r);
	/* Within max_body but beyond what a Request may be: refused by the parser. */
	big[20 * 1024] = '}';
	assert_int_equal(kfc_request(&s.k, "POST", "/kbs/v0/auth", big, 20 * 1024 + 1, NULL, false,
				     &r),
			 0);
	bfx_assert_error(&r, 401, "AttestationError", "KBS_JSON");
	kfc_resp_done(&r);
	free(big);
	sess_close(&s);
}

/* ------------------------------------------------------------ admin API */

static long admin_with(const char *header, const char *method, const char *path, const char *body,
		       struct kfc_resp *r)
{
	struct kfc k;
	const char *h[] = { header, NULL };

	assert_int_equal(kfc_open(&k, F.base, F.ca), 0);
	assert_int_equal(kfc_request(&k, method, path, body, body ? strlen(body) : 0,
				     header ? h : NULL, false, r),
			 0);
	kfc_close(&k);
	return r->status;
}

static void test_admin_auth(void **state)
{
	EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *es = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	struct {
		const char *header;
		const char *code;
	} cases[6];
	char hdrs[6][4096];
	struct kfc_resp r;
	const char *deny[] = { "\"event\":\"admin\"", "\"decision\":\"deny\"", NULL };
	size_t before = bfx_audit_count(&F, deny);

	(void)state;
	cases[0].header = NULL;
	cases[0].code = "ADMIN_AUTH";
	cases[1].header = "Authorization: Basic YWRtaW46YWRtaW4=";
	cases[1].code = "ADMIN_AUTH";
	snprintf(hdrs[2], sizeof(hdrs[2]), "%s", bfx_admin_header(&F, other, 0, 60));
	cases[2].header = hdrs[2];
	cases[2].code = "KBS_TOKEN_SIGNATURE";
	snprintf(hdrs[3], sizeof(hdrs[3]), "%s", bfx_admin_header(&F, NULL, -400, 120));
	cases[3].header = hdrs[3];
	cases[3].code = "KBS_TOKEN_EXPIRED";
	snprintf(hdrs[4], sizeof(hdrs[4]), "%s", bfx_admin_header(&F, es, 0, 60));
	cases[4].header = hdrs[4];
	cases[4].code = "KBS_TOKEN_ALG";
	snprintf(hdrs[5], sizeof(hdrs[5]), "%s", bfx_admin_header(&F, NULL, 0, 3600));
	cases[5].header = hdrs[5];
	cases[5].code = "KBS_TOKEN_LIFETIME";
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		admin_with(cases[i].header, "POST", "/kbs/v0/resource/a/b/c?policy=open", "secret",
			   &r);
		bfx_assert_error(&r, 401, "AdminAuthFailed", cases[i].code);
		kfc_resp_done(&r);
		admin_with(cases[i].header, "DELETE", "/kbs/v0/resource/" BFX_RESOURCE, NULL, &r);
		bfx_assert_error(&r, 401, "AdminAuthFailed", cases[i].code);
		kfc_resp_done(&r);
		admin_with(cases[i].header, "POST", "/kbs/v0/policy/open", "measurement = any\n",
			   &r);
		bfx_assert_error(&r, 401, "AdminAuthFailed", cases[i].code);
		kfc_resp_done(&r);
		admin_with(cases[i].header, "DELETE", "/kbs/v0/policy/open", NULL, &r);
		bfx_assert_error(&r, 401, "AdminAuthFailed", cases[i].code);
		kfc_resp_done(&r);
		admin_with(cases[i].header, "GET", "/kbs/v0/resource-meta/" BFX_RESOURCE, NULL, &r);
		bfx_assert_error(&r, 401, "AdminAuthFailed", cases[i].code);
		kfc_resp_done(&r);
	}
	/* Nothing changed: a/b/c does not exist, the resource still releases. */
	assert_int_equal(bfx_admin(&F, "GET", "/kbs/v0/resource-meta/a/b/c", NULL, 0, &r), 404);
	kfc_resp_done(&r);
	assert_int_equal(bfx_admin(&F, "GET", "/kbs/v0/policy/open", NULL, 0, &r), 200);
	assert_string_equal(r.body, "measurement = any\n");
	kfc_resp_done(&r);
	assert_int_equal(bfx_boot(&F, NULL, NULL, NULL, false, F.key, sizeof(F.key), NULL, 0), 200);
	assert_true(bfx_audit_count(&F, deny) >= before + 6 * 4);
	EVP_PKEY_free(other);
	EVP_PKEY_free(es);
}

/* An admin header whose claims get @jti (a JSON value, NULL: none). */
static const char *admin_header_jti(json_t *jti)
{
	static char h[4096];
	json_t *c = kbs_jwt_claims_new(time(NULL), 60);
	char *tok = NULL;

	assert_non_null(c);
	if (jti)
		assert_int_equal(json_object_set_new(c, "jti", jti), 0);
	assert_int_equal(kbs_jwt_sign(F.admin, c, &tok, NULL), 0);
	json_decref(c);
	snprintf(h, sizeof(h), "Authorization: Bearer %s", tok);
	free(tok);
	return h;
}

/* A token with a jti is good for one request; malformed jtis are refused
 * before anything is recorded; jti-less tokens stay reusable unless
 * admin_token_require_jti says otherwise. */
static void test_admin_token_single_use(void **state)
{
	char hdr[4096];
	struct kfc_resp r;
	static const char *const bad[] = { "short", "has space in it 0123", "\u00e9tait-trop-court-ou-pas",
					   "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdefX" };

	(void)state;
	snprintf(hdr, sizeof(hdr), "%s", admin_header_jti(json_string("AAAAbbbbCCCCdddd-_01")));
	assert_int_equal(admin_with(hdr, "GET", "/kbs/v0/policy/open", NULL, &r), 200);
	kfc_resp_done(&r);
	admin_with(hdr, "GET", "/kbs/v0/policy/open", NULL, &r);
	bfx_assert_error(&r, 401, "AdminAuthFailed", "ADMIN_TOKEN_REPLAY");
	kfc_resp_done(&r);
	/* the replayed token cannot write either */
	admin_with(hdr, "POST", "/kbs/v0/resource/a/b/replayed?policy=open", "secret", &r);
	bfx_assert_error(&r, 401, "AdminAuthFailed", "ADMIN_TOKEN_REPLAY");
	kfc_resp_done(&r);
	assert_int_equal(bfx_admin(&F, "GET", "/kbs/v0/resource-meta/a/b/replayed", NULL, 0, &r),
			 404);
	kfc_resp_done(&r);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(hdr, sizeof(hdr), "%s", admin_header_jti(json_string(bad[i])));
		admin_with(hdr, "GET", "/kbs/v0/policy/open", NULL, &r);
		bfx_assert_error(&r, 401, "AdminAuthFailed", "ADMIN_AUTH");
		kfc_resp_done(&r);
	}
	snprintf(hdr, sizeof(hdr), "%s", admin_header_jti(json_integer(1234567890123456789)));
	admin_with(hdr, "GET", "/kbs/v0/policy/open", NULL, &r);
	bfx_assert_error(&r, 401, "AdminAuthFailed", "ADMIN_AUTH");
	kfc_resp_done(&r);
	/* no jti: reusable (Trustee's tokens) */
	snprintf(hdr, sizeof(hdr), "%s", admin_header_jti(NULL));
	for (int i = 0; i < 2; i++) {
		assert_int_equal(admin_with(hdr, "GET", "/kbs/v0/policy/open", NULL, &r), 200);
		kfc_resp_done(&r);
	}
	/* admin_token_require_jti = yes: only single-use tokens (the server
	 * reads its configuration per request) */
	F.cfg.admin_token_require_jti = true;
	admin_with(hdr, "GET", "/kbs/v0/policy/open", NULL, &r);
	bfx_assert_error(&r, 401, "AdminAuthFailed", "ADMIN_AUTH");
	kfc_resp_done(&r);
	snprintf(hdr, sizeof(hdr), "%s", admin_header_jti(json_string("single-use-token-0002")));
	assert_int_equal(admin_with(hdr, "GET", "/kbs/v0/policy/open", NULL, &r), 200);
	kfc_resp_done(&r);
	F.cfg.admin_token_require_jti = false;
}

static void test_admin_api(void **state)
{
	struct kfc_resp r;
	const char strict[] = "measurement = " /* 96 hex */
			      "000000000000000000000000000000000000000000000000"
			      "000000000000000000000000000000000000000000000000\nvmpl = 0\n";
	uint8_t secret[48];
	json_t *o;

	(void)state;
	memset(secret, 0x5a, sizeof(secret));
	assert_int_equal(bfx_admin(&F, "POST", "/kbs/v0/policy/strict", "allow_debug = yes\n", 18,
				   &r),
			 400);
	bfx_assert_error(&r, 400, NULL, "CONFIG_UNKNOWN_KEY");
	kfc_resp_done(&r);
	assert_int_equal(bfx_admin(&F, "POST", "/kbs/v0/policy/strict", strict, strlen(strict), &r),
			 200);
	assert_string_equal(r.body, "{\"policy\":\"strict\"}");
	kfc_resp_done(&r);
	assert_int_equal(bfx_admin(&F, "POST", "/kbs/v0/policy/.bad", strict, strlen(strict), &r),
			 400);
	kfc_resp_done(&r);
	assert_int_equal(bfx_admin(&F, "POST", "/kbs/v0/resource/vm/luks/k1?policy=nope", secret,
				   sizeof(secret), &r),
			 404);
	bfx_assert_error(&r, 404, NULL, "STORE_NO_POLICY");
	kfc_resp_done(&r);
	/* no query: the default policy ("default", not created here) */
	assert_int_equal(bfx_admin(&F, "POST", "/kbs/v0/resource/vm/luks/k1", secret,
				   sizeof(secret), &r),
			 404);
	bfx_assert_error(&r, 404, NULL, "STORE_NO_POLICY");
	kfc_resp_done(&r);
	assert_int_equal(bfx_admin(&F, "POST", "/kbs/v0/resource/vm/luks/k1?other=x", secret,
				   sizeof(secret), &r),
			 400);
	bfx_assert_error(&r, 400, NULL, "ADMIN_QUERY");
	kfc_resp_done(&r);
	assert_int_equal(bfx_admin(&F, "POST", "/kbs/v0/resource/vm/luks?policy=strict", secret,
				   sizeof(secret), &r),
			 400);
	bfx_assert_error(&r, 400, NULL, "KBS_PATH");
	kfc_resp_done(&r);
	assert_int_equal(bfx_admin(&F, "POST", "/kbs/v0/resource/vm/luks/k1?policy=strict", "", 0,
				   &r),
			 400);
	bfx_assert_error(&r, 400, NULL, "STORE_SIZE");
	kfc_resp_done(&r);
	assert_int_equal(bfx_admin(&F, "POST", "/kbs/v0/resource/vm/luks/k1?policy=strict", secret,
				   sizeof(secret), &r),
			 200);
	assert_string_equal(r.body, "{\"path\":\"vm/luks/k1\",\"policy\":\"strict\",\"size\":48}");
	kfc_resp_done(&r);
	assert_int_equal(bfx_admin(&F, "GET", "/kbs/v0/resource-meta/vm/luks/k1", NULL, 0, &r), 200);
	o = json_loads(r.body, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "policy")), "strict");
	assert_int_equal(json_integer_value(json_object_get(o, "size")), 48);
	assert_non_null(json_object_get(o, "created"));
	assert_null(json_object_get(o, "secret"));
	json_decref(o);
	kfc_resp_done(&r);
	/* The simulated guest's measurement is zero: "strict" releases it. */
	assert_int_equal(bfx_boot(&F, NULL, NULL, "vm/luks/k1", false, secret, sizeof(secret), NULL,
				  0),
			 200);
	assert_int_equal(bfx_admin(&F, "DELETE", "/kbs/v0/policy/strict", NULL, 0, &r), 409);
	bfx_assert_error(&r, 409, NULL, "STORE_POLICY_IN_USE");
	kfc_resp_done(&r);
	assert_int_equal(bfx_admin(&F, "DELETE", "/kbs/v0/resource/vm/luks/k1", NULL, 0, &r), 200);
	kfc_resp_done(&r);
	assert_int_equal(bfx_admin(&F, "DELETE", "/kbs/v0/resource/vm/luks/k1", NULL, 0, &r), 404);
	kfc_resp_done(&r);
	assert_int_equal(bfx_admin(&F, "DELETE", "/kbs/v0/policy/strict", NULL, 0, &r), 200);
	kfc_resp_done(&r);
	assert_int_equal(bfx_admin(&F, "GET", "/kbs/v0/policy/strict", NULL, 0, &r), 404);
	kfc_resp_done(&r);
}

/* ------------------------------------------------------------ state, audit, metrics */

static void test_persistence_restart(void **state)
{
	struct kfc_resp r;
	uint8_t secret[32];

	(void)state;
	memset(secret, 0x77, sizeof(secret));
	assert_int_equal(bfx_admin(&F, "POST", "/kbs/v0/resource/keep/luks/k?policy=open", secret,
				   sizeof(secret), &r),
			 200);
	kfc_resp_done(&r);
	bfx_stop(&F);
	bfx_start(&F, NULL, NULL);
	assert_int_equal(bfx_boot(&F, NULL, NULL, "keep/luks/k", false, secret, sizeof(secret), NULL,
				  0),
			 200);
	assert_int_equal(bfx_admin(&F, "DELETE", "/kbs/v0/resource/keep/luks/k", NULL, 0, &r), 200);
	kfc_resp_done(&r);
}

static void test_audit_fail_closed(void **state)
{
	char detail[1024];

	(void)state;
	if (access("/dev/full", W_OK) != 0)
		skip();
	bfx_stop(&F);
	snprintf(F.audit, sizeof(F.audit), "/dev/full");
	bfx_start(&F, NULL, NULL);
	/* Every decision needs its audit line: nothing is attested or released. */
	assert_int_equal(bfx_boot(&F, NULL, NULL, NULL, false, NULL, 0, detail, sizeof(detail)), 500);
	assert_non_null(strstr(detail, "AUDIT_WRITE:"));
	bfx_stop(&F);
	snprintf(F.audit, sizeof(F.audit), "%s/audit.log", F.dir);
	bfx_start(&F, NULL, NULL);
}

/*
 * The connection gauge drops when a worker's event loop has freed a closed
 * connection, which happens some time after the client closed it (and maybe
 * on another worker than the one serving /metrics). Ask /metrics again over
 * @k until the gauge reads @want, a bounded number of times; leaves the last
 * response in @r. Any other value at the end (a connection never freed, or
 * freed twice) still fails the caller's assertion.
 */
#define GAUGE_POLL_TRIES 500
#define GAUGE_POLL_USEC 10000

static void metrics_until_connections(struct kfc *k, unsigned want, struct kfc_resp *r)
{
	char line[64];

	snprintf(line, sizeof(line), "\nccunlock_kbs_connections %u\n", want);
	for (int i = 0;; i++) {
		assert_int_equal(kfc_request(k, "GET", "/metrics", NULL, 0, NULL, false, r), 0);
		assert_int_equal(r->status, 200);
		if (strstr(r->body, line) || i + 1 >= GAUGE_POLL_TRIES)
			return;
		kfc_resp_done(r);
		usleep(GAUGE_POLL_USEC);
	}
}

/* The bench's shortcuts (kfc_cache_chain, kfc_share_ca) send the same
 * evidence and verify the same broker: the chain spliced in as text equals
 * the one built for each boot, and the whole flow still releases. Last in the
 * group: both are process-wide and cannot be undone. */
static void test_bench_client_shortcuts(void **state)
{
	struct sess s;
	struct kfc_resp r;
	char *plain = NULL, *spliced = NULL;
	json_t *a, *b;

	(void)state;
	sess_open(&s);
	assert_int_equal(kfc_attestation(F.sim, NULL, s.nonce, s.tee, &plain), 0);
	assert_int_equal(kfc_cache_chain(F.sim), 0);
	assert_int_equal(kfc_cache_chain(F.sim), -EINVAL); /* once */
	assert_int_equal(kfc_attestation(F.sim, NULL, s.nonce, s.tee, &spliced), 0);
	a = json_loads(plain, JSON_REJECT_DUPLICATES, NULL);
	b = json_loads(spliced, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(a);
	assert_non_null(b);
	json_t *ca = json_object_get(json_object_get(json_object_get(a, "tee-evidence"),
						     "primary_evidence"),
				     "cert_chain");
	json_t *cb = json_object_get(json_object_get(json_object_get(b, "tee-evidence"),
						     "primary_evidence"),
				     "cert_chain");
	assert_true(json_is_array(ca) && json_array_size(ca) == 3);
	assert_true(json_equal(ca, cb));
	json_decref(a);
	json_decref(b);
	free(plain);
	sess_attest_body(&s, spliced, &r);
	assert_int_equal(r.status, 200);
	kfc_resp_done(&r);
	free(spliced);
	sess_close(&s);

	/* a client on the shared store (libcurl reads no CA file, so only this
	 * store can make the broker trusted): the broker's CA verifies... */
	assert_int_equal(kfc_share_ca(F.ca), 0);
	sess_open(&s);
	sess_attest(&s, NULL, &r);
	assert_int_equal(r.status, 200);
	kfc_resp_done(&r);
	assert_int_equal(kfc_resource(&s.k, BFX_RESOURCE, false, &r), 0);
	assert_int_equal(r.status, 200);
	kfc_resp_done(&r);
	sess_close(&s);
	/* ...and a shared store of another CA refuses it: verification is on */
	char *other = tu_mkdtemp(), oca[600];
	struct kfc k;

	tu_make_tls(other);
	snprintf(oca, sizeof(oca), "%s/ca.pem", other);
	assert_int_equal(kfc_share_ca(oca), 0);
	assert_int_equal(kfc_open(&k, F.base, oca), 0);
	assert_int_equal(kfc_auth(&k, NULL, s.nonce, &r), -EIO);
	kfc_close(&k);
	tu_rmrf(other);
	free(other);
}

static void test_ops(void **state)
{
	struct kfc k;
	struct kfc_resp r;

	(void)state;
	assert_int_equal(bfx_boot(&F, NULL, NULL, NULL, false, F.key, sizeof(F.key), NULL, 0), 200);
	assert_int_equal(bfx_boot(&F, NULL, &(struct kfc_ev_opts){ .corrupt_signature = true }, NULL,
				  false, NULL, 0, NULL, 0),
			 401);
	assert_int_equal(kfc_open(&k, F.base, F.ca), 0);
	assert_int_equal(kfc_request(&k, "GET", "/healthz", NULL, 0, NULL, false, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "ok\n");
	kfc_resp_done(&r);
	/* Only this connection is open once the broker has processed the
	 * closes of the two boots' connections. */
	metrics_until_connections(&k, 1, &r);
	assert_non_null(strstr(r.body, "ccunlock_kbs_requests_total{route=\"auth\",code=\"200\"} 2"));
	assert_non_null(strstr(r.body, "ccunlock_kbs_requests_total{route=\"resource\",code=\"200\"} 1"));
	assert_non_null(strstr(r.body, "ccunlock_kbs_decisions_total{event=\"attest\",decision=\"allow\",reason=\"\"} 1"));
	assert_non_null(strstr(r.body, "ccunlock_kbs_decisions_total{event=\"attest\",decision=\"deny\",reason=\"SIGNATURE\"} 1"));
	assert_non_null(strstr(r.body, "ccunlock_kbs_decisions_total{event=\"release\",decision=\"allow\",reason=\"\"} 1"));
	assert_non_null(strstr(r.body, "ccunlock_kbs_request_duration_seconds_count{route=\"attest\"} 2"));
	assert_non_null(strstr(r.body, "ccunlock_kbs_sessions 2"));
	assert_non_null(strstr(r.body, "\nccunlock_kbs_connections 1\n"));
	kfc_resp_done(&r);
	kfc_close(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_flow_cookie, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flow_bearer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_nonce, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reused_nonce, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_cookie, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expired_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_data_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_signature, setup, teardown),
		cmocka_unit_test_setup_teardown(test_untrusted_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_resource, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_endpoint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attestation_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized_bodies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admin_auth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admin_token_single_use, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admin_api, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persistence_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_fail_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bench_client_shortcuts, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
