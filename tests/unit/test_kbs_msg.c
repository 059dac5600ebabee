/* KBS v0.4.0 messages: exact builder bytes, round trips, and the shapes
 * each strict parser refuses (kbs-protocol §4, §5, §8). */
#include "helpers/testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/codec.h"
#include "kbs/jwk.h"
#include "kbs/kbs.h"
#include "common/jflat.h"
#include "kbs/msg.h"
#include "kbs/preimage.h"

static struct ccu_reason rsn;

static const char vec_nonce[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
static const char gx[] = "axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY";
static const char gy[] = "T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU";

/* ------------------------------------------------------------ Request */

static int req(const char *s, struct kbs_request *r)
{
	memset(&rsn, 0, sizeof(rsn));
	return kbs_request_parse(s, strlen(s), r, TU_FRESH(&rsn));
}

static void expect_req_fail(const char *s, int err, const char *code)
{
	struct kbs_request r;

	assert_int_equal(req(s, &r), err);
	assert_string_equal(rsn.code, code);
	assert_null(r.extra_params);
}

static void test_request(void **state)
{
	struct kbs_request r;
	char *s = NULL;
	(void)state;

	assert_int_equal(kbs_request_build("snp", &s, NULL), 0);
	assert_string_equal(s,
			    "{\"version\":\"0.4.0\",\"tee\":\"snp\",\"extra-params\":"
			    "{\"supported-hash-algorithms\":[\"sha256\",\"sha384\",\"sha512\"]}}");
	assert_int_equal(req(s, &r), 0);
	assert_string_equal(r.tee, "snp");
	assert_true(json_is_object(r.extra_params));
	kbs_request_done(&r);
	free(s);

	/* Trustee's client, verbatim form */
	assert_int_equal(
		req("{\"version\":\"0.4.0\",\"tee\":\"az-snp-vtpm\",\"extra-params\":"
		    "{\"supported-hash-algorithms\":[\"sha256\",\"sha384\",\"sha512\",\"sm3\"]}}",
		    &r),
		0);
	assert_string_equal(r.tee, "az-snp-vtpm");
	kbs_request_done(&r);
	/* older clients: "" ; absent -> null */
	assert_int_equal(req("{\"version\":\"0.4.0\",\"tee\":\"snp\",\"extra-params\":\"\"}", &r),
			 0);
	assert_true(json_is_string(r.extra_params));
	kbs_request_done(&r);
	assert_int_equal(req("{\"tee\":\"snp\",\"version\":\"0.4.0\"}", &r), 0);
	assert_true(json_is_null(r.extra_params));
	kbs_request_done(&r);
	kbs_request_done(NULL);

	assert_int_equal(kbs_request_build("SNP", &s, TU_FRESH(&rsn)), -EINVAL);
	assert_null(s);
	assert_string_equal(rsn.code, KBS_R_TEE);
	assert_int_equal(kbs_request_build("", &s, TU_FRESH(&rsn)), -EINVAL);
	assert_int_equal(kbs_request_build("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &s, TU_FRESH(&rsn)), -EINVAL);
}

static void test_request_version(void **state)
{
	struct kbs_request r;
	(void)state;

	expect_req_fail("{\"version\":\"0.3.0\",\"tee\":\"snp\",\"extra-params\":\"\"}", -EPROTO,
			KBS_R_VERSION);
	assert_string_equal(
		rsn.detail,
		"KBS Client Protocol Version Mismatch: expect =0.4.0 while the request is 0.3.0");
	expect_req_fail("{\"version\":\"0.4.1\",\"tee\":\"snp\"}", -EPROTO, KBS_R_VERSION);
	expect_req_fail("{\"version\":\"0.4.0 \",\"tee\":\"snp\"}", -EPROTO, KBS_R_VERSION);
	expect_req_fail("{\"version\":\"0.4.0+b\",\"tee\":\"snp\"}", -EPROTO, KBS_R_VERSION);
	expect_req_fail("{\"version\":\"\",\"tee\":\"snp\"}", -EPROTO, KBS_R_VERSION);
	/* the version error wins over a shape error of another version */
	expect_req_fail("{\"version\":\"0.5.0\",\"tee\":\"snp\",\"client-id\":\"x\"}", -EPROTO,
			KBS_R_VERSION);
	expect_req_fail("{\"version\":4,\"tee\":\"snp\"}", -EBADMSG, KBS_R_JSON);
	expect_req_fail("{\"tee\":\"snp\"}", -EBADMSG, KBS_R_JSON);
	(void)r;
}

static void test_request_malformed(void **state)
{
	char big[KBS_REQUEST_MAX + 64];
	(void)state;

	expect_req_fail("", -EBADMSG, KBS_R_JSON);
	expect_req_fail("[]", -EBADMSG, KBS_R_JSON);
	expect_req_fail("{", -EBADMSG, KBS_R_JSON);
	expect_req_fail("{\"version\":\"0.4.0\",\"tee\":\"snp\"} {}", -EBADMSG, KBS_R_JSON);
	/* unknown members are ignored, as upstream does (tested in test_unknown_members) */
	expect_req_fail("{\"version\":\"0.4.0\",\"version\":\"0.4.0\",\"tee\":\"snp\"}", -EBADMSG,
			KBS_R_JSON);
	expect_req_fail("{\"version\":\"0.4.0\"}", -EBADMSG, KBS_R_TEE);
	expect_req_fail("{\"version\":\"0.4.0\",\"tee\":\"SNP\"}", -EBADMSG, KBS_R_TEE);
	expect_req_fail("{\"version\":\"0.4.0\",\"tee\":\"s n p\"}", -EBADMSG, KBS_R_TEE);
	expect_req_fail("{\"version\":\"0.4.0\",\"tee\":1}", -EBADMSG, KBS_R_TEE);
	expect_req_fail("{\"version\":\"0.4.0\",\"tee\":\"\"}", -EBADMSG, KBS_R_TEE);
	expect_req_fail("{\"version\":\"0.4.0\",\"tee\":\"sn\\u0000p\"}", -EBADMSG, KBS_R_JSON);
	memset(big, ' ', sizeof(big));
	memcpy(big, "{\"version\":\"0.4.0\",\"tee\":\"snp\"", 30);
	big[sizeof(big) - 2] = '}';
	big[sizeof(big) - 1] = '\0';
	expect_req_fail(big, -EMSGSIZE, KBS_R_JSON);
}

/* ------------------------------------------------------------ Challenge */

static int chal(const char *s, struct kbs_challenge *c)
{
	memset(&rsn, 0, sizeof(rsn));
	return kbs_challenge_parse(s, strlen(s), c, TU_FRESH(&rsn));
}

static void expect_chal_fail(const char *s, const char *code)
{
	struct kbs_challenge c;

	assert_int_equal(chal(s, &c), -EBADMSG);
	assert_string_equal(rsn.code, code);
	assert_string_equal(c.nonce, "");
}

static void test_nonce_generate(void **state)
{
	char a[KBS_NONCE_LEN + 1], b[KBS_NONCE_LEN + 1];
	uint8_t raw[40];
	(void)state;

	assert_int_equal(kbs_nonce_generate(a), 0);
	assert_int_equal(kbs_nonce_generate(b), 0);
	assert_int_equal(strlen(a), 44);
	assert_int_equal(a[43], '=');
	assert_int_equal(ccu_b64_decode(a, 44, CCU_B64_STD, raw, sizeof(raw)), 32);
	assert_string_not_equal(a, b);
	assert_true(kbs_nonce_valid(a));
}

static void test_challenge(void **state)
{
	struct kbs_challenge c;
	char *s = NULL, expect[256];
	(void)state;

	assert_int_equal(kbs_challenge_build(vec_nonce, 0, &s, NULL), 0);
	snprintf(expect, sizeof(expect), "{\"nonce\":\"%s\",\"extra-params\":\"\"}", vec_nonce);
	assert_string_equal(s, expect);
	assert_int_equal(chal(s, &c), 0);
	assert_string_equal(c.nonce, vec_nonce);
	assert_int_equal(c.hash, KBS_HASH_SHA384);
	assert_false(c.hash_selected);
	free(s);

	assert_int_equal(kbs_challenge_build("a/b+", KBS_HASH_SHA512, &s, NULL), 0);
	assert_string_equal(
		s,
		"{\"nonce\":\"a/b+\",\"extra-params\":{\"selected-hash-algorithm\":\"sha512\"}}");
	assert_int_equal(chal(s, &c), 0);
	assert_string_equal(c.nonce, "a/b+");
	assert_int_equal(c.hash, KBS_HASH_SHA512);
	assert_true(c.hash_selected);
	free(s);

	/* JSON escapes are decoded: "a\/b" is the nonce a/b */
	assert_int_equal(chal("{\"nonce\":\"a\\/b\",\"extra-params\":{}}", &c), 0);
	assert_string_equal(c.nonce, "a/b");
	assert_int_equal(c.hash, KBS_HASH_SHA384);
	assert_int_equal(
		chal("{\"extra-params\":{\"selected-hash-algorithm\":\"sha256\"},\"nonce\":\"x\"}",
		     &c),
		0);
	assert_int_equal(c.hash, KBS_HASH_SHA256);

	assert_int_equal(kbs_challenge_build("a-b", 0, &s, TU_FRESH(&rsn)), -EINVAL);
	assert_string_equal(rsn.code, KBS_R_NONCE);
	assert_int_equal(kbs_challenge_build(vec_nonce, (enum kbs_hash_alg)7, &s, TU_FRESH(&rsn)), -EINVAL);
	assert_string_equal(rsn.code, KBS_R_HASH_ALG);
	assert_null(s);
}

static void test_challenge_malformed(void **state)
{
	char longn[KBS_NONCE_MAX + 64];
	(void)state;

	expect_chal_fail("{\"nonce\":\"abc\",\"extra-params\":\"x\"}", KBS_R_JSON);
	expect_chal_fail("{\"nonce\":\"abc\",\"extra-params\":null}", KBS_R_JSON);
	expect_chal_fail("{\"nonce\":\"abc\",\"extra-params\":[]}", KBS_R_JSON);
	expect_chal_fail("{\"nonce\":\"abc\"}", KBS_R_JSON);
	expect_chal_fail(
		"{\"nonce\":\"abc\",\"extra-params\":{\"selected-hash-algorithm\":\"sm3\"}}",
		KBS_R_HASH_ALG);
	expect_chal_fail(
		"{\"nonce\":\"abc\",\"extra-params\":{\"selected-hash-algorithm\":\"SHA384\"}}",
		KBS_R_HASH_ALG);
	expect_chal_fail("{\"nonce\":\"abc\",\"extra-params\":{\"selected-hash-algorithm\":5}}",
			 KBS_R_HASH_ALG);
	expect_chal_fail("{\"nonce\":\"ab-c\",\"extra-params\":\"\"}", KBS_R_NONCE);
	expect_chal_fail("{\"nonce\":\"ab\\\"c\",\"extra-params\":\"\"}", KBS_R_NONCE);
	expect_chal_fail("{\"nonce\":\"\",\"extra-params\":\"\"}", KBS_R_NONCE);
	expect_chal_fail("{\"nonce\":12,\"extra-params\":\"\"}", KBS_R_NONCE);
	expect_chal_fail("{\"extra-params\":\"\"}", KBS_R_NONCE);
	expect_chal_fail("{\"nonce\":\"x\",\"nonce\":\"y\",\"extra-params\":\"\"}", KBS_R_JSON);
	expect_chal_fail("nonce", KBS_R_JSON);
	snprintf(longn, sizeof(longn), "{\"nonce\":\"%0*d\",\"extra-params\":\"\"}",
		 KBS_NONCE_MAX + 1, 0);
	expect_chal_fail(longn, KBS_R_NONCE);
}

/* ------------------------------------------------------------ Attestation */

static void ec_jwk(struct kbs_jwk *j)
{
	memset(j, 0, sizeof(*j));
	j->kty = KBS_KTY_EC;
	j->crv = KBS_CRV_P256;
	strcpy(j->alg, KBS_JWK_ALG_ECDH_ES_A256KW);
	strcpy(j->x, gx);
	strcpy(j->y, gy);
}

static json_t *evidence(void)
{
	return json_pack("{s:{s:i,s:[i,i,i]},s:n}", "attestation_report", "version", 3,
			 "report_data", 1, 2, 3, "cert_chain");
}

static int att(const char *s, struct kbs_attestation *a)
{
	memset(&rsn, 0, sizeof(rsn));
	return kbs_attestation_parse(s, strlen(s), a, TU_FRESH(&rsn));
}

static void expect_att_fail(const char *s, const char *code)
{
	struct kbs_attestation a;

	assert_true(att(s, &a) < 0);
	assert_string_equal(rsn.code, code);
	assert_null(a.root);
	assert_null(a.doc);
	assert_int_equal(a.primary_evidence, JF_NONE);
}

static void test_attestation_roundtrip(void **state)
{
	struct kbs_jwk j;
	json_t *ev = evidence();
	struct kbs_attestation_in in = {
		.nonce = vec_nonce,
		.tee_pubkey = &j,
		.primary_evidence = ev,
	};
	struct kbs_attestation a;
	char *s = NULL, expect[1024];
	size_t len = 0;
	uint8_t guest_rd[KBS_REPORT_DATA_LEN], broker_rd[KBS_REPORT_DATA_LEN];
	(void)state;

	ec_jwk(&j);
	assert_int_equal(kbs_attestation_build(&in, &s, &len, NULL), 0);
	snprintf(expect, sizeof(expect),
		 "{\"init-data\":null,\"runtime-data\":{\"nonce\":\"%s\",\"tee-pubkey\":{\"kty\":"
		 "\"EC\","
		 "\"crv\":\"P-256\",\"alg\":\"ECDH-ES+A256KW\",\"x\":\"%s\",\"y\":\"%s\"}},"
		 "\"tee-evidence\":{\"primary_evidence\":{\"attestation_report\":{\"version\":3,"
		 "\"report_data\":[1,2,3]},\"cert_chain\":null},\"additional_evidence\":\"\"}}",
		 vec_nonce, gx, gy);
	assert_string_equal(s, expect);
	assert_int_equal(len, strlen(expect));

	assert_int_equal(att(s, &a), 0);
	assert_string_equal(a.nonce, vec_nonce);
	assert_true(kbs_jwk_equal(&a.tee_pubkey, &j));
	assert_true(json_equal(kbs_attestation_primary_json(&a), ev));
	assert_string_equal(a.additional_evidence, "");
	assert_null(a.init_data_body);

	/* the binding both sides compute matches */
	assert_int_equal(kbs_report_data_guest(KBS_HASH_SHA384, vec_nonce, &j, "", guest_rd, NULL),
			 0);
	assert_int_equal(kbs_report_data_broker(KBS_HASH_SHA384, a.nonce, &a.tee_pubkey,
						a.additional_evidence, broker_rd, NULL),
			 0);
	assert_memory_equal(guest_rd, broker_rd, sizeof(guest_rd));
	kbs_attestation_done(&a);
	kbs_attestation_done(NULL);
	free(s);

	/* with init-data and additional evidence */
	in.init_data_toml = "algorithm = \"sha384\"\nversion = \"0.1.0\"\n";
	in.additional_evidence = "{\"gpu0\":\"x\"}";
	assert_int_equal(kbs_attestation_build(&in, &s, NULL, NULL), 0);
	assert_non_null(strstr(
		s, "\"init-data\":{\"format\":\"toml\",\"body\":\"algorithm = \\\"sha384\\\"\\n"));
	assert_int_equal(att(s, &a), 0);
	assert_string_equal(a.init_data_body, in.init_data_toml);
	assert_int_equal(a.init_data_len, strlen(in.init_data_toml));
	assert_string_equal(a.additional_evidence, "{\"gpu0\":\"x\"}");
	kbs_attestation_done(&a);
	free(s);
	json_decref(ev);
}

static void test_attestation_trustee_form(void **state)
{
	/* As Trustee's client sends it (member order differs; init-data null). */
	static const char text[] =
		"{\"init-data\":null,\"runtime-data\":{\"nonce\":\"q+/w==\",\"tee-pubkey\":"
		"{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"ECDH-ES+A256KW\","
		"\"x\":\"axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY\","
		"\"y\":\"T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU\"}},"
		"\"tee-evidence\":{\"primary_evidence\":{\"attestation_report\":{},\"cert_chain\":"
		"null},"
		"\"additional_evidence\":\"\"}}";
	struct kbs_attestation a;
	(void)state;

	assert_int_equal(att(text, &a), 0);
	assert_string_equal(a.nonce, "q+/w==");
	assert_int_equal(a.tee_pubkey.kty, KBS_KTY_EC);
	kbs_attestation_done(&a);
	/* init-data absent is the same as null */
	assert_int_equal(att(text + strlen("{\"init-data\":null,") - 1, &a), -EBADMSG);
	{
		char *t = strdup(text);

		memmove(t + 1, t + strlen("{\"init-data\":null,"), strlen(t) - 17);
		assert_int_equal(att(t, &a), 0);
		assert_null(a.init_data_body);
		kbs_attestation_done(&a);
		free(t);
	}
}

static char *att_text(const char *init, const char *runtime_extra, const char *nonce,
		      const char *pubkey, const char *tee_evidence, const char *top_extra)
{
	static char buf[4096];
	char pk[512];

	snprintf(pk, sizeof(pk),
		 "{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"ECDH-ES+A256KW\",\"x\":\"%s\",\"y\":"
		 "\"%s\"}",
		 gx, gy);
	snprintf(buf, sizeof(buf),
		 "{%s\"runtime-data\":{\"nonce\":%s,\"tee-pubkey\":%s%s},\"tee-evidence\":%s%s}",
		 init, nonce, pubkey ? pubkey : pk, runtime_extra,
		 tee_evidence ? tee_evidence
			      : "{\"primary_evidence\":{},\"additional_evidence\":\"\"}",
		 top_extra);
	return buf;
}

static void test_attestation_malformed(void **state)
{
	struct kbs_attestation a;
	(void)state;

	/* reference form parses */
	assert_int_equal(att(att_text("", "", "\"abc=\"", NULL, NULL, ""), &a), 0);
	kbs_attestation_done(&a);
	assert_int_equal(att(att_text("\"init-data\":{\"format\":\"toml\",\"body\":\"\"},", "",
				      "\"abc=\"", NULL, NULL, ""),
			     &a),
			 0);
	assert_string_equal(a.init_data_body, "");
	kbs_attestation_done(&a);

	expect_att_fail(att_text("", "", "\"ab-c\"", NULL, NULL, ""), KBS_R_NONCE);
	expect_att_fail(att_text("", "", "\"\"", NULL, NULL, ""), KBS_R_NONCE);
	expect_att_fail(att_text("", "", "1", NULL, NULL, ""), KBS_R_NONCE);
	expect_att_fail(att_text("", "", "\"abc\"", "{\"kty\":\"EC\"}", NULL, ""), KBS_R_PUBKEY);
	expect_att_fail(att_text("", "", "\"abc\"", "\"key\"", NULL, ""), KBS_R_PUBKEY);
	expect_att_fail(att_text("\"init-data\":{\"format\":\"json\",\"body\":\"{}\"},", "",
				 "\"abc\"", NULL, NULL, ""),
			KBS_R_INIT_DATA);
	expect_att_fail(
		att_text("\"init-data\":{\"format\":\"toml\"},", "", "\"abc\"", NULL, NULL, ""),
		KBS_R_INIT_DATA);
	expect_att_fail(att_text("\"init-data\":{\"format\":\"toml\",\"body\":1},", "", "\"abc\"",
				 NULL, NULL, ""),
			KBS_R_INIT_DATA);
	expect_att_fail(att_text("\"init-data\":\"toml\",", "", "\"abc\"", NULL, NULL, ""),
			KBS_R_INIT_DATA);
	/* 0.1.0 style: evidence as a string */
	expect_att_fail(att_text("", "", "\"abc\"", NULL, "\"{}\"", ""), KBS_R_EVIDENCE);
	expect_att_fail(att_text("", "", "\"abc\"", NULL,
				 "{\"primary_evidence\":\"x\",\"additional_evidence\":\"\"}", ""),
			KBS_R_EVIDENCE);
	expect_att_fail(att_text("", "", "\"abc\"", NULL, "{\"primary_evidence\":{}}", ""),
			KBS_R_EVIDENCE);
	expect_att_fail(att_text("", "", "\"abc\"", NULL,
				 "{\"primary_evidence\":{},\"additional_evidence\":null}", ""),
			KBS_R_EVIDENCE);
	/* kebab-case inside tee-evidence is wrong (snake_case there) */
	expect_att_fail(att_text("", "", "\"abc\"", NULL,
				 "{\"primary-evidence\":{},\"additional-evidence\":\"\"}", ""),
			KBS_R_EVIDENCE);
	expect_att_fail("{\"tee-evidence\":{\"primary_evidence\":{},\"additional_evidence\":\"\"}}",
			KBS_R_JSON);
	expect_att_fail("{}", KBS_R_JSON);
	expect_att_fail("", KBS_R_JSON);
	expect_att_fail("[1]", KBS_R_JSON);
}

/* Unknown members of the envelopes are ignored (upstream's serde types do
 * not deny them); what matters inside stays strict. */
static void test_unknown_members(void **state)
{
	struct kbs_request r;
	struct kbs_challenge c;
	struct kbs_attestation a;
	struct kbs_error_info e;
	char *t = NULL;
	static const char tok[] = "{\"token\":\"a.b.c\",\"x\":1,\"refresh\":{\"y\":[]}}";
	static const char eb[] = "{\"type\":\"https://github.com/confidential-containers/kbs/"
				 "errors/PolicyDeny\",\"detail\":\"d\",\"x\":1}";
	(void)state;

	assert_int_equal(req("{\"version\":\"0.4.0\",\"tee\":\"snp\",\"client-id\":\"c\","
			     "\"x\":[1]}",
			     &r),
			 0);
	assert_string_equal(r.tee, "snp");
	kbs_request_done(&r);
	assert_int_equal(chal("{\"nonce\":\"abc\",\"extra-params\":\"\",\"x\":1}", &c), 0);
	assert_string_equal(c.nonce, "abc");
	assert_int_equal(chal("{\"nonce\":\"abc\",\"extra-params\":{\"other\":1,"
			      "\"selected-hash-algorithm\":\"sha512\"},\"timestamp\":5}",
			      &c),
			 0);
	assert_int_equal(c.hash, KBS_HASH_SHA512);
	assert_int_equal(att(att_text("\"init-data\":{\"format\":\"toml\",\"body\":\"\",\"x\":1},",
				      ",\"extra\":1", "\"abc\"", NULL,
				      "{\"primary_evidence\":{},\"additional_evidence\":\"\",\"x\":1}",
				      ",\"client-id\":\"x\""),
			     &a),
			 0);
	assert_string_equal(a.nonce, "abc");
	kbs_attestation_done(&a);
	assert_int_equal(kbs_token_response_parse(tok, strlen(tok), &t, TU_FRESH(&rsn)), 0);
	assert_string_equal(t, "a.b.c");
	free(t);
	assert_int_equal(kbs_error_parse(eb, strlen(eb), &e, TU_FRESH(&rsn)), 0);
	assert_string_equal(e.variant, "PolicyDeny");
	/* ...but not inside the tee-pubkey: the JWK stays exact */
	expect_att_fail(att_text("", "", "\"abc\"",
				 "{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"ECDH-ES+A256KW\","
				 "\"x\":\"axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY\",\"y\":"
				 "\"T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU\",\"kid\":\"k\"}",
				 NULL, ""),
			KBS_R_PUBKEY);
}

static void test_attestation_build_rejects(void **state)
{
	struct kbs_jwk j;
	json_t *ev = evidence(), *arr = json_array();
	struct kbs_attestation_in in = { .nonce = vec_nonce,
					 .tee_pubkey = &j,
					 .primary_evidence = ev };
	char *s = NULL;
	(void)state;

	ec_jwk(&j);
	in.nonce = "a b";
	assert_int_equal(kbs_attestation_build(&in, &s, NULL, TU_FRESH(&rsn)), -EINVAL);
	assert_string_equal(rsn.code, KBS_R_NONCE);
	in.nonce = vec_nonce;
	in.primary_evidence = arr;
	assert_int_equal(kbs_attestation_build(&in, &s, NULL, TU_FRESH(&rsn)), -EINVAL);
	assert_string_equal(rsn.code, KBS_R_EVIDENCE);
	in.primary_evidence = ev;
	in.tee_pubkey = NULL;
	assert_int_equal(kbs_attestation_build(&in, &s, NULL, TU_FRESH(&rsn)), -EINVAL);
	assert_string_equal(rsn.code, KBS_R_PUBKEY);
	assert_null(s);
	json_decref(ev);
	json_decref(arr);
}

/* ------------------------------------------------------------ Token */

static void test_token_response(void **state)
{
	char *s = NULL, *t = NULL;
	static const char *const bad[] = {
		"{\"token\":\"abc\"}",
		"{\"token\":\"a.b\"}",
		"{\"token\":\"a.b.c.d\"}",
		"{\"token\":\"a.b.c=\"}",
		"{\"token\":\"a..c\"}",
		"{\"token\":1}",
		"{}",
	};
	(void)state;

	assert_int_equal(kbs_token_response_build("eyJh.eyJi.c2ln", &s, NULL), 0);
	assert_string_equal(s, "{\"token\":\"eyJh.eyJi.c2ln\"}");
	assert_int_equal(kbs_token_response_parse(s, strlen(s), &t, NULL), 0);
	assert_string_equal(t, "eyJh.eyJi.c2ln");
	free(t);
	free(s);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(kbs_token_response_parse(bad[i], strlen(bad[i]), &t, TU_FRESH(&rsn)),
				 -EBADMSG);
		assert_null(t);
		assert_string_equal(rsn.code, KBS_R_TOKEN);
	}
	assert_int_equal(kbs_token_response_build("a.b", &s, TU_FRESH(&rsn)), -EINVAL);
	assert_string_equal(rsn.code, KBS_R_TOKEN);
	assert_int_equal(kbs_token_response_build(NULL, &s, TU_FRESH(&rsn)), -EINVAL);
}

/* ------------------------------------------------------------ Errors */

static void test_error_body(void **state)
{
	struct kbs_error_info e;
	char *s = NULL, big[2048];
	(void)state;

	assert_int_equal(kbs_error_build(KBS_ERR_POLICY_DENY, "Access denied by policy", &s, NULL),
			 0);
	assert_string_equal(s, "{\"type\":\"https://github.com/confidential-containers/kbs/errors/"
			       "PolicyDeny\",\"detail\":\"Access denied by policy\"}");
	assert_int_equal(kbs_error_parse(s, strlen(s), &e, NULL), 0);
	assert_string_equal(e.variant, "PolicyDeny");
	assert_string_equal(e.detail, "Access denied by policy");
	free(s);

	assert_int_equal(kbs_error_build("AttestationError", "bad\nline\x1b[31m", &s, NULL), 0);
	assert_non_null(strstr(s, "\"detail\":\"bad?line?[31m\""));
	free(s);
	assert_int_equal(kbs_error_build("Policy Deny", "x", &s, TU_FRESH(&rsn)), -EINVAL);
	assert_string_equal(rsn.code, KBS_R_ERROR_BODY);
	assert_int_equal(kbs_error_build("", "x", &s, TU_FRESH(&rsn)), -EINVAL);
	assert_int_equal(kbs_error_build(NULL, "x", &s, TU_FRESH(&rsn)), -EINVAL);

	assert_int_equal(kbs_error_http_status(KBS_ERR_INVALID_REQUEST_PATH), 404);
	assert_int_equal(kbs_error_http_status(KBS_ERR_PLUGIN_NOT_FOUND), 404);
	assert_int_equal(kbs_error_http_status(KBS_ERR_POLICY_DENY), 401);
	assert_int_equal(kbs_error_http_status(KBS_ERR_ATTESTATION), 401);
	assert_int_equal(kbs_error_http_status(NULL), 401);

	/* console-safe detail, cut */
	{
		static const char t[] =
			"{\"type\":\"https://github.com/confidential-containers/kbs/"
			"errors/X\",\"detail\":\"caf\\u00e9\\u001b\"}";

		assert_int_equal(kbs_error_parse(t, strlen(t), &e, NULL), 0);
	}
	assert_string_equal(e.detail, "caf???");
	snprintf(big, sizeof(big), "{\"type\":\"%sX\",\"detail\":\"%01000d\"}",
		 KBS_ERROR_TYPE_PREFIX, 0);
	assert_int_equal(kbs_error_parse(big, strlen(big), &e, NULL), 0);
	assert_int_equal(strlen(e.detail), KBS_ERROR_DETAIL_MAX);
}

static void expect_error_parse_fail(const char *s)
{
	struct kbs_error_info e;

	assert_int_equal(kbs_error_parse(s, strlen(s), &e, TU_FRESH(&rsn)), -EBADMSG);
	assert_string_equal(rsn.code, KBS_R_ERROR_BODY);
	assert_string_equal(e.variant, "");
}

static void test_error_body_malformed(void **state)
{
	(void)state;
	expect_error_parse_fail("{\"type\":\"PolicyDeny\",\"detail\":\"x\"}");
	expect_error_parse_fail("{\"type\":\"https://github.com/confidential-containers/kbs/errors/"
				"\",\"detail\":\"x\"}");
	expect_error_parse_fail("{\"type\":\"https://github.com/confidential-containers/kbs/errors/"
				"A-B\",\"detail\":\"x\"}");
	expect_error_parse_fail(
		"{\"type\":\"https://github.com/confidential-containers/kbs/errors/A\"}");
	expect_error_parse_fail("{\"type\":\"https://github.com/confidential-containers/kbs/errors/"
				"A\",\"detail\":1}");
	expect_error_parse_fail("{\"detail\":\"x\"}");
	expect_error_parse_fail("Unauthorized");
	expect_error_parse_fail("");
}

/* ------------------------------------------------------------ Paths */

static void test_resource_paths(void **state)
{
	static const char *const good[] = { "default/key/disk1", "my-repo/type_1/tag.v2",
					    "_a/-b/c..d", "A/B/C", "0/1/2" };
	static const char *const bad[] = { "",		"a/b",	    "a/b/c/d",
					   "/a/b/c",	"a/b/c/",   "a//c",
					   "./b/c",	"../b/c",   "a/.hidden/c",
					   "a/b/c?x=1", "a/b/c d",  "a/b/\xc3\xbc",
					   "a/b/c%2f",	"a\\b/c/d", "a/b/." };
	struct kbs_resource_path p;
	char seg[KBS_PATH_SEGMENT_MAX + 2], path[512], url[512];
	(void)state;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(kbs_resource_path_parse(good[i], strlen(good[i]), &p, NULL), 0);
	assert_int_equal(kbs_resource_path_parse("default/key/disk1", 17, &p, NULL), 0);
	assert_string_equal(p.repo, "default");
	assert_string_equal(p.type, "key");
	assert_string_equal(p.tag, "disk1");
	assert_int_equal(kbs_resource_url_path(&p, url, sizeof(url)), 34);
	assert_string_equal(url, "/kbs/v0/resource/default/key/disk1");
	assert_int_equal(kbs_resource_url_path(&p, url, 34), -ENOSPC);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&rsn, 0, sizeof(rsn));
		if (kbs_resource_path_parse(bad[i], strlen(bad[i]), &p, TU_FRESH(&rsn)) != -EINVAL)
			fail_msg("path \"%s\" accepted", bad[i]);
		assert_string_equal(rsn.code, KBS_R_PATH);
		assert_string_equal(p.repo, "");
	}
	/* embedded NUL within the length */
	assert_int_equal(kbs_resource_path_parse("a\0b/c/d", 7, &p, TU_FRESH(&rsn)), -EINVAL);
	/* segment length bound */
	memset(seg, 'a', sizeof(seg));
	seg[KBS_PATH_SEGMENT_MAX] = '\0';
	snprintf(path, sizeof(path), "r/t/%s", seg);
	assert_int_equal(kbs_resource_path_parse(path, strlen(path), &p, NULL), 0);
	seg[KBS_PATH_SEGMENT_MAX] = 'a';
	seg[KBS_PATH_SEGMENT_MAX + 1] = '\0';
	snprintf(path, sizeof(path), "r/t/%s", seg);
	assert_int_equal(kbs_resource_path_parse(path, strlen(path), &p, TU_FRESH(&rsn)), -EINVAL);
	assert_int_equal(kbs_resource_path_parse(NULL, 0, &p, TU_FRESH(&rsn)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_request_version),
		cmocka_unit_test(test_request_malformed),
		cmocka_unit_test(test_nonce_generate),
		cmocka_unit_test(test_challenge),
		cmocka_unit_test(test_challenge_malformed),
		cmocka_unit_test(test_attestation_roundtrip),
		cmocka_unit_test(test_attestation_trustee_form),
		cmocka_unit_test(test_attestation_malformed),
		cmocka_unit_test(test_unknown_members),
		cmocka_unit_test(test_attestation_build_rejects),
		cmocka_unit_test(test_token_response),
		cmocka_unit_test(test_error_body),
		cmocka_unit_test(test_error_body_malformed),
		cmocka_unit_test(test_resource_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
