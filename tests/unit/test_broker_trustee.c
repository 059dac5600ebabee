/*
 * ccunlock-kbs serving unmodified Trustee guests (guest-components' shapes):
 * init-data bound to HOST_DATA, additional evidence, PEM certificates,
 * unknown members in the envelopes, a repeated /attest, and the session
 * rules of a release policy (init_data_digest, additional_evidence). Every
 * refusal is asserted by its reason code.
 */
#include "helpers/brokerfx.h"
#include "helpers/testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "broker/server.h"
#include "common/codec.h"
#include "common/secmem.h"
#include "kbs/initdata.h"
#include "kbs/jwe.h"
#include "kbs/jwk.h"
#include "kbs/msg.h"

static struct bfx F;

/* A guest-components style init-data document (Kata's annotations). */
static const char initdata[] =
	"algorithm = \"sha384\"\nversion = \"0.1.0\"\n\n[data]\n\"aa.toml\" = '''\n"
	"[token_configs]\n[token_configs.kbs]\nurl = \"https://10.0.2.2:8080\"\n'''\n\n"
	"\"cdh.toml\" = '''\nsocket = 'unix:///run/confidential-containers/cdh.sock'\n"
	"[kbc]\nname = \"cc_kbc\"\nurl = \"https://10.0.2.2:8080\"\n'''\n";

/* guest-components' CompositeEvidence form of extra devices. */
static const char gpu_evidence[] = "{\"nvgpu\":{\"evidence_list\":[{\"arch\":\"HOPPER\"}]}}";

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

static void sha384(const char *s, uint8_t out[48])
{
	assert_int_equal(EVP_Digest(s, strlen(s), out, NULL, EVP_sha384(), NULL), 1);
}

/* mutate: HOST_DATA = the 32 bytes @ud points to */
static void set_host_data(struct snp_report *r, void *ud)
{
	memcpy(r->host_data, ud, sizeof(r->host_data));
}

struct sess {
	struct kfc k;
	char nonce[KBS_NONCE_MAX + 1];
	EVP_PKEY *tee;
};

static void sess_open(struct sess *s, const char *request)
{
	struct kfc_resp r;

	memset(s, 0, sizeof(*s));
	assert_int_equal(kfc_open(&s->k, F.base, F.ca), 0);
	assert_int_equal(kfc_auth(&s->k, request, s->nonce, &r), 0);
	if (r.status != 200)
		fail_msg("/auth: %ld %s", r.status, r.body ? r.body : "");
	kfc_resp_done(&r);
	assert_int_equal(kbs_jwk_generate_ec(&s->tee, NULL), 0);
}

static void sess_close(struct sess *s)
{
	kfc_close(&s->k);
	EVP_PKEY_free(s->tee);
}

static void attest_body(struct sess *s, const char *body, struct kfc_resp *r)
{
	assert_int_equal(kfc_attest(&s->k, body, r), 0);
}

static void attest(struct sess *s, const struct kfc_ev_opts *o, struct kfc_resp *r)
{
	char *att = NULL;

	assert_int_equal(kfc_attestation(F.sim, o, s->nonce, s->tee, &att), 0);
	attest_body(s, att, r);
	free(att);
}

static void release_ok(struct sess *s, const char *path)
{
	struct kfc_resp r;
	uint8_t *pt = NULL;
	size_t len = 0;

	assert_int_equal(kfc_resource(&s->k, path ? path : BFX_RESOURCE, false, &r), 0);
	if (r.status != 200)
		fail_msg("release: %ld %s", r.status, r.body ? r.body : "");
	assert_int_equal(kbs_jwe_decrypt(s->tee, r.body, r.len, &pt, &len, NULL), 0);
	secmem_free(pt);
	kfc_resp_done(&r);
}

static void release_denied(struct sess *s, const char *path, const char *code)
{
	struct kfc_resp r;

	assert_int_equal(kfc_resource(&s->k, path, false, &r), 0);
	bfx_assert_error(&r, 401, NULL, code);
	kfc_resp_done(&r);
}

/* ------------------------------------------------------------ init-data */

static void test_init_data_matches_host_data(void **state)
{
	uint8_t d[48], host[32];
	struct kbs_initdata id;
	struct kfc_ev_opts o = { .init_data = initdata, .mutate = set_host_data,
				 .mutate_ud = host };
	struct sess s;
	struct kfc_resp r;
	char hex[97];
	const char *subs[] = { "\"event\":\"attest\"", "\"decision\":\"allow\"",
			       "\"init_data\":{\"algorithm\":\"sha384\",\"digest\":\"", hex, NULL };
	(void)state;

	sha384(initdata, d);
	kbs_initdata_host_data(d, sizeof(d), host); /* sha384 truncated to 32 */
	assert_int_equal(kbs_initdata_parse(initdata, strlen(initdata), &id, NULL), 0);
	assert_memory_equal(id.host_data, host, 32);
	ccu_hex_encode(d, sizeof(d), hex, sizeof(hex));
	sess_open(&s, NULL);
	attest(&s, &o, &r);
	assert_int_equal(r.status, 200);
	kfc_resp_done(&r);
	release_ok(&s, NULL);
	sess_close(&s);
	assert_int_equal(bfx_audit_count(&F, subs), 1);
}

static void test_init_data_mismatch(void **state)
{
	uint8_t host[32] = { 0 };
	struct kfc_ev_opts o = { .init_data = initdata, .mutate = set_host_data,
				 .mutate_ud = host };
	struct sess s;
	struct kfc_resp r;
	const char *subs[] = { "\"decision\":\"deny\"", "ATTEST_HOST_DATA", NULL };
	(void)state;

	/* HOST_DATA all zero: not this document's digest */
	sess_open(&s, NULL);
	attest(&s, &o, &r);
	bfx_assert_error(&r, 401, "AttestationError", "ATTEST_HOST_DATA");
	kfc_resp_done(&r);
	sess_close(&s);
	/* one byte changed in the document: the digest no longer matches */
	{
		uint8_t d[48];
		char *doc = strdup(initdata);

		sha384(initdata, d);
		kbs_initdata_host_data(d, sizeof(d), host);
		doc[strlen(doc) - 6] = 'X';
		o.init_data = doc;
		sess_open(&s, NULL);
		attest(&s, &o, &r);
		bfx_assert_error(&r, 401, "AttestationError", "ATTEST_HOST_DATA");
		kfc_resp_done(&r);
		sess_close(&s);
		free(doc);
	}
	/* not a valid document */
	o.init_data = "algorithm = \"sha384\"\nversion = \"0.1.0\"\n[data]\nx = 1\n";
	sess_open(&s, NULL);
	attest(&s, &o, &r);
	bfx_assert_error(&r, 401, "AttestationError", "KBS_INIT_DATA_DOC");
	kfc_resp_done(&r);
	sess_close(&s);
	assert_int_equal(bfx_audit_count(&F, subs), 2);
}

static void put_policy(const char *name, const char *text)
{
	struct kfc_resp r;
	char path[128];

	snprintf(path, sizeof(path), "/kbs/v0/policy/%s", name);
	assert_int_equal(bfx_admin(&F, "POST", path, text, strlen(text), &r), 200);
	kfc_resp_done(&r);
}

static void put_resource(const char *path, const char *policy)
{
	struct kfc_resp r;
	char url[256];

	snprintf(url, sizeof(url), "/kbs/v0/resource/%s?policy=%s", path, policy);
	assert_int_equal(bfx_admin(&F, "POST", url, F.key, sizeof(F.key), &r), 200);
	kfc_resp_done(&r);
}

static void test_init_data_policy(void **state)
{
	uint8_t d[48], host[32];
	char hex[97], pol[512];
	struct kfc_ev_opts o = { .init_data = initdata, .mutate = set_host_data,
				 .mutate_ud = host };
	struct sess s;
	struct kfc_resp r;
	(void)state;

	sha384(initdata, d);
	kbs_initdata_host_data(d, sizeof(d), host);
	ccu_hex_encode(d, sizeof(d), hex, sizeof(hex));
	snprintf(pol, sizeof(pol), "measurement = any\ninit_data_digest = %s\n", hex);
	put_policy("kata", pol);
	put_resource("vm/luks/kata", "kata");
	/* a sha256-length digest only: nothing of sha384's length allowed */
	put_policy("kata256", "measurement = any\ninit_data_digest = "
			      "6282f9609be8f10facf99a39a1e8da8ef4afcc52ab8d22e652790b4885bb78a6\n");
	put_resource("vm/luks/kata256", "kata256");
	/* with the document: released; the other digest is not */
	sess_open(&s, NULL);
	attest(&s, &o, &r);
	assert_int_equal(r.status, 200);
	kfc_resp_done(&r);
	release_ok(&s, "vm/luks/kata");
	release_denied(&s, "vm/luks/kata256", "POLICY_INIT_DATA");
	sess_close(&s);
	/* without init-data (same HOST_DATA): the policy wants the document */
	o.init_data = NULL;
	sess_open(&s, NULL);
	attest(&s, &o, &r);
	assert_int_equal(r.status, 200);
	kfc_resp_done(&r);
	release_denied(&s, "vm/luks/kata", "POLICY_INIT_DATA");
	release_ok(&s, NULL); /* the "open" policy has no init-data rule */
	sess_close(&s);
}

/* ------------------------------------------------------------ additional evidence */

static void test_additional_evidence(void **state)
{
	struct kfc_ev_opts o = { .additional_evidence = gpu_evidence };
	struct sess s;
	struct kfc_resp r;
	const char *subs[] = { "\"event\":\"attest\"", "\"decision\":\"allow\"",
			       "\"additional_evidence\":{\"sha256\":", "\"tees\":\"nvgpu\"",
			       "\"verified\":false", NULL };
	const char *rel[] = { "\"event\":\"release\"", "\"decision\":\"deny\"",
			      "POLICY_ADDITIONAL_EVIDENCE", "\"verified\":false", NULL };
	(void)state;

	put_policy("nogpu", "measurement = any\nadditional_evidence = forbidden\n");
	put_resource("vm/luks/nogpu", "nogpu");
	sess_open(&s, NULL);
	attest(&s, &o, &r);
	if (r.status != 200)
		fail_msg("%s", r.body);
	kfc_resp_done(&r);
	release_ok(&s, NULL); /* default: allowed (and said unverified in the audit) */
	release_denied(&s, "vm/luks/nogpu", "POLICY_ADDITIONAL_EVIDENCE");
	sess_close(&s);
	assert_int_equal(bfx_audit_count(&F, subs), 1);
	assert_int_equal(bfx_audit_count(&F, rel), 1);
	/* without additional evidence, "forbidden" releases */
	sess_open(&s, NULL);
	attest(&s, NULL, &r);
	assert_int_equal(r.status, 200);
	kfc_resp_done(&r);
	release_ok(&s, "vm/luks/nogpu");
	sess_close(&s);
}

static void test_additional_evidence_bound(void **state)
{
	struct kfc_ev_opts o = { .additional_evidence = gpu_evidence };
	struct sess s;
	struct kfc_resp r;
	char *att = NULL;
	json_t *root;
	(void)state;

	/* bound with the GPU evidence, sent without it: the binding breaks */
	sess_open(&s, NULL);
	assert_int_equal(kfc_attestation(F.sim, &o, s.nonce, s.tee, &att), 0);
	root = json_loads(att, 0, NULL);
	assert_non_null(root);
	json_object_set_new(json_object_get(root, "tee-evidence"), "additional_evidence",
			    json_string("{\"nvgpu\":{}}"));
	free(att);
	att = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	attest_body(&s, att, &r);
	bfx_assert_error(&r, 401, "AttestationError", "ATTEST_REPORT_DATA");
	kfc_resp_done(&r);
	free(att);
	sess_close(&s);
}

/* ------------------------------------------------------------ envelopes */

static void test_unknown_members(void **state)
{
	struct sess s;
	struct kfc_resp r;
	char *att = NULL, *text;
	json_t *root;
	(void)state;

	/* Request and Attestation with members a future upstream might add */
	sess_open(&s, "{\"version\":\"0.4.0\",\"tee\":\"snp\",\"extra-params\":{\"supported-hash-"
		      "algorithms\":[\"sha384\"]},\"client-id\":\"c1\",\"timestamp\":1700000000}");
	assert_int_equal(kfc_attestation(F.sim, NULL, s.nonce, s.tee, &att), 0);
	root = json_loads(att, 0, NULL);
	assert_non_null(root);
	json_object_set_new(root, "client-id", json_string("c1"));
	json_object_set_new(json_object_get(root, "runtime-data"), "timestamp",
			    json_integer(1700000000));
	json_object_set_new(json_object_get(root, "tee-evidence"), "device_evidence",
			    json_array());
	text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	attest_body(&s, text, &r);
	if (r.status != 200)
		fail_msg("%s", r.body);
	kfc_resp_done(&r);
	release_ok(&s, NULL);
	free(text);
	/* ...but not in the tee-pubkey, whose members are hashed */
	sess_close(&s);
	sess_open(&s, NULL);
	json_decref(root);
	free(att);
	assert_int_equal(kfc_attestation(F.sim, NULL, s.nonce, s.tee, &att), 0);
	root = json_loads(att, 0, NULL);
	json_object_set_new(json_object_get(json_object_get(root, "runtime-data"), "tee-pubkey"),
			    "kid", json_string("k"));
	text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	attest_body(&s, text, &r);
	bfx_assert_error(&r, 401, "AttestationError", "KBS_PUBKEY");
	kfc_resp_done(&r);
	free(text);
	free(att);
	json_decref(root);
	sess_close(&s);
}

/* A second /attest on an attested session answers 200 with the stored token,
 * as Trustee does, without looking at the body. */
static void test_repeat_attest(void **state)
{
	struct sess s;
	struct kfc_resp r;
	char first[4096];
	const char *subs[] = { "\"event\":\"attest\"", "\"action\":\"repeat\"",
			       "\"decision\":\"allow\"", NULL };
	(void)state;

	sess_open(&s, NULL);
	attest(&s, NULL, &r);
	assert_int_equal(r.status, 200);
	kfc_resp_done(&r);
	snprintf(first, sizeof(first), "%s", s.k.token);
	attest_body(&s, "{}", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(s.k.token, first);
	kfc_resp_done(&r);
	release_ok(&s, NULL);
	sess_close(&s);
	assert_int_equal(bfx_audit_count(&F, subs), 1);
	/* a failed /attest spends the nonce: no second chance */
	sess_open(&s, NULL);
	attest_body(&s, "{}", &r);
	bfx_assert_error(&r, 401, "AttestationError", "KBS_JSON");
	kfc_resp_done(&r);
	attest(&s, NULL, &r);
	bfx_assert_error(&r, 401, "AttestationError", "SESSION_NONCE_USED");
	kfc_resp_done(&r);
	sess_close(&s);
}

/* ------------------------------------------------------------ PEM certificates */

/* The simulator's chain as the evidence's cert_chain, with every
 * certificate's data PEM text (what some hosts and tools hand over). */
static void test_pem_cert_chain(void **state)
{
	struct sess s;
	struct kfc_resp r;
	char *att = NULL, *text;
	json_t *root, *chain, *ent;
	size_t i;
	(void)state;

	sess_open(&s, NULL);
	assert_int_equal(kfc_attestation(F.sim, NULL, s.nonce, s.tee, &att), 0);
	root = json_loads(att, 0, NULL);
	assert_non_null(root);
	chain = json_object_get(json_object_get(json_object_get(root, "tee-evidence"),
						"primary_evidence"),
				"cert_chain");
	assert_true(json_array_size(chain) > 0);
	json_array_foreach(chain, i, ent) {
		json_t *data = json_object_get(ent, "data"), *v, *pemj;
		uint8_t *der = malloc(json_array_size(data));
		const unsigned char *p = der;
		BIO *b = BIO_new(BIO_s_mem());
		X509 *x;
		char *pem;
		long pl;
		size_t k;

		assert_non_null(der);
		json_array_foreach(data, k, v)
			der[k] = (uint8_t)json_integer_value(v);
		x = d2i_X509(NULL, &p, (long)json_array_size(data));
		assert_non_null(x);
		assert_int_equal(PEM_write_bio_X509(b, x), 1);
		pl = BIO_get_mem_data(b, &pem);
		pemj = json_array();
		for (long c = 0; c < pl; c++)
			json_array_append_new(pemj, json_integer((unsigned char)pem[c]));
		json_object_set_new(ent, "data", pemj);
		X509_free(x);
		BIO_free(b);
		free(der);
	}
	/* and an entry of a GUID the host knows and we do not: ignored */
	json_array_append_new(chain, json_pack("{s:{s:s},s:[i,i]}", "cert_type", "OTHER",
					       "12345678-9abc-def0-0123-456789abcdef", "data", 1,
					       2));
	text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	attest_body(&s, text, &r);
	if (r.status != 200)
		fail_msg("%s", r.body);
	kfc_resp_done(&r);
	release_ok(&s, NULL);
	free(text);
	free(att);
	json_decref(root);
	sess_close(&s);
}

/* ------------------------------------------------------------ upstream evidence */

/* Trustee's own e2e evidence (attestation-service/tests/e2e/evidence.json)
 * in a guest-components Attestation: the envelope and the evidence parse;
 * the refusal is the binding (it was made for another nonce), not a shape. */
static void test_trustee_e2e_evidence(void **state)
{
	struct broker_attest_prep p;
	struct ccu_reason why = { 0 };
	json_t *ev, *att;
	json_error_t je;
	char path[1024], *text;
	EVP_PKEY *tee = NULL;
	struct kbs_jwk jwk;
	(void)state;

	TU_REQUIRE_VECTORS();
	snprintf(path, sizeof(path), "%s", tu_vec("trustee/e2e-evidence.json"));
	ev = json_load_file(path, 0, &je);
	assert_non_null(ev);
	assert_int_equal(kbs_jwk_generate_ec(&tee, NULL), 0);
	assert_int_equal(kbs_jwk_from_pkey(tee, &jwk, NULL), 0);
	att = json_pack("{s:{s:s,s:s},s:{s:s,s:o},s:{s:o,s:s}}", "init-data", "format", "toml",
			"body", initdata, "runtime-data", "nonce", "abcd", "tee-pubkey",
			kbs_jwk_to_json(&jwk), "tee-evidence", "primary_evidence", ev,
			"additional_evidence", "");
	text = json_dumps(att, JSON_COMPACT);
	assert_int_equal(broker_attest_prepare(text, strlen(text), "abcd", &p, &why),
			 -EKEYREJECTED);
	assert_string_equal(why.code, "ATTEST_REPORT_DATA");
	assert_true(p.have_report);
	broker_attest_prep_done(&p);
	free(text);
	json_decref(att);
	EVP_PKEY_free(tee);
}

/* ------------------------------------------------------------ Trustee's admin client */

static void b64url(const void *in, size_t n, char *out, size_t outlen)
{
	assert_true(ccu_b64_encode(in, n, CCU_B64_URL, out, outlen) >= 0);
}

/* A compact JWS with exactly @header and @claims, signed with Ed25519 @key
 * (what Trustee's setup.sh does with openssl, and jsonwebtoken in older
 * kbs-client releases). */
static char *eddsa_token(EVP_PKEY *key, const char *header, const char *claims)
{
	char *tok = malloc(4096), h[512], c[1024], sig[200];
	uint8_t raw[64];
	size_t rl = sizeof(raw);
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	assert_non_null(tok);
	b64url(header, strlen(header), h, sizeof(h));
	b64url(claims, strlen(claims), c, sizeof(c));
	snprintf(tok, 4096, "%s.%s", h, c);
	assert_int_equal(EVP_DigestSignInit(md, NULL, NULL, NULL, key), 1);
	assert_int_equal(EVP_DigestSign(md, raw, &rl, (const uint8_t *)tok, strlen(tok)), 1);
	EVP_MD_CTX_free(md);
	b64url(raw, rl, sig, sizeof(sig));
	strncat(tok, ".", 4096 - strlen(tok) - 1);
	strncat(tok, sig, 4096 - strlen(tok) - 1);
	return tok;
}

static long kbs_client(const char *token, const char *method, const char *path,
		       const char *ctype, const void *body, size_t len, struct kfc_resp *r)
{
	struct kfc k;
	char authz[4200], ct[128];
	const char *h[] = { authz, ct, NULL };

	snprintf(authz, sizeof(authz), "Authorization: Bearer %s", token);
	snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
	assert_int_equal(kfc_open(&k, F.base, F.ca), 0);
	assert_int_equal(kfc_request(&k, method, path, body, len, h, false, r), 0);
	kfc_close(&k);
	return r->status;
}

static void test_trustee_admin_client(void **state)
{
	static const char secret[] = "0123456789abcdef0123456789abcdef";
	char claims[512], body[256], b64[128], *docker, *legacy;
	time_t now = time(NULL);
	struct kfc_resp r;
	(void)state;

	/* kbs/config/docker-compose/setup.sh: ten years, iss/sub/aud/role */
	snprintf(claims, sizeof(claims),
		 "{\"iss\":\"TrusteeInDocker\",\"sub\":\"admin\",\"aud\":[\"KBS\"],\"role\":"
		 "\"admin\",\"iat\":%lld,\"exp\":%lld}",
		 (long long)now, (long long)now + 315360000);
	docker = eddsa_token(F.admin, "{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}", claims);
	/* kbs-client before 2026 (jsonwebtoken Header::new(EdDSA), 2 h) */
	snprintf(claims, sizeof(claims), "{\"exp\":%lld,\"iat\":%lld}", (long long)now + 7200,
		 (long long)now);
	legacy = eddsa_token(F.admin, "{\"typ\":\"JWT\",\"alg\":\"EdDSA\"}", claims);

	/* The default bound (300 s) refuses such long-lived tokens. */
	bfx_start(&F, NULL, NULL);
	assert_int_equal(kbs_client(docker, "POST", "/kbs/v0/resource/vm/luks/trustee",
				    "application/octet-stream", secret, 32, &r),
			 401);
	bfx_assert_error(&r, 401, "AdminAuthFailed", "KBS_TOKEN_LIFETIME");
	kfc_resp_done(&r);
	bfx_stop(&F);

	bfx_start(&F, "admin_token_max_lifetime = 316224000\ndefault_resource_policy = trustee\n",
		  NULL);
	/* set-resource before set-resource-policy: no default policy yet */
	assert_int_equal(kbs_client(docker, "POST", "/kbs/v0/resource/vm/luks/trustee",
				    "application/octet-stream", secret, 32, &r),
			 404);
	bfx_assert_error(&r, 404, NULL, "STORE_NO_POLICY");
	kfc_resp_done(&r);
	/* set-resource-policy: a Rego document is refused with its own code */
	b64url("package policy\ndefault allow = true\n", 36, b64, sizeof(b64));
	snprintf(body, sizeof(body), "{\"policy\":\"%s\"}", b64);
	assert_int_equal(kbs_client(docker, "POST", "/kbs/v0/resource-policy", "application/json",
				    body, strlen(body), &r),
			 400);
	bfx_assert_error(&r, 400, NULL, "ADMIN_REGO");
	kfc_resp_done(&r);
	assert_int_equal(kbs_client(docker, "POST", "/kbs/v0/resource-policy", "application/json",
				    "{\"policy\":\"a=b+c/\"}", 20, &r),
			 400);
	bfx_assert_error(&r, 400, NULL, "ADMIN_POLICY_BODY");
	kfc_resp_done(&r);
	/* ...a ccunlock policy in the same form is the named default policy */
	b64url("measurement = any\n", 18, b64, sizeof(b64));
	snprintf(body, sizeof(body), "{\"policy\":\"%s\"}", b64);
	assert_int_equal(kbs_client(legacy, "POST", "/kbs/v0/resource-policy", "application/json",
				    body, strlen(body), &r),
			 200);
	kfc_resp_done(&r);
	assert_int_equal(kbs_client(docker, "POST", "/kbs/v0/resource/vm/luks/trustee",
				    "application/octet-stream", secret, 32, &r),
			 200);
	assert_string_equal(r.body, "{\"path\":\"vm/luks/trustee\",\"policy\":\"trustee\","
				    "\"size\":32}");
	kfc_resp_done(&r);
	assert_int_equal(bfx_boot(&F, NULL, NULL, "vm/luks/trustee", false,
				  (const uint8_t *)secret, 32, NULL, 0),
			 200);
	/* a token signed by another key changes nothing */
	{
		EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		char *bad = eddsa_token(other, "{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}", claims);

		assert_int_equal(kbs_client(bad, "POST", "/kbs/v0/resource/vm/luks/trustee",
					    "application/octet-stream", "x", 1, &r),
				 401);
		bfx_assert_error(&r, 401, "AdminAuthFailed", "KBS_TOKEN_SIGNATURE");
		kfc_resp_done(&r);
		free(bad);
		EVP_PKEY_free(other);
	}
	bfx_stop(&F);
	free(docker);
	free(legacy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init_data_matches_host_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_data_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_data_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_additional_evidence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_additional_evidence_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_members, setup, teardown),
		cmocka_unit_test_setup_teardown(test_repeat_attest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pem_cert_chain, setup, teardown),
		cmocka_unit_test(test_trustee_e2e_evidence),
		cmocka_unit_test(test_trustee_admin_client),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
