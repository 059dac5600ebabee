/* REPORT_DATA binding: Trustee's JCS vector, our §6 vector, and the guest
 * template against the broker's JCS printer for random nonces and keys. */
#include "helpers/testutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "common/codec.h"
#include "kbs/jwk.h"
#include "kbs/kbs.h"
#include "kbs/preimage.h"

static const char vec_nonce[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
static const char vec_x[] = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE";
static const char vec_y[] = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI";
static const char vec_preimage[] =
	"{\"additional-evidence\":\"\",\"nonce\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\","
	"\"tee-pubkey\":{\"alg\":\"ECDH-ES+A256KW\",\"crv\":\"P-256\",\"kty\":\"EC\","
	"\"x\":\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE\","
	"\"y\":\"AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI\"}}";
static const char vec_sha384[] = "d934ba73c76ad6ce42e80746cefb42b74c7e0af0f0d30ace51557c3da2a8fe76"
				 "08b3c6856f09e1f101fd459a86b1c846";

static void vec_jwk(struct kbs_jwk *j)
{
	memset(j, 0, sizeof(*j));
	j->kty = KBS_KTY_EC;
	j->crv = KBS_CRV_P256;
	strcpy(j->alg, KBS_JWK_ALG_ECDH_ES_A256KW);
	strcpy(j->x, vec_x);
	strcpy(j->y, vec_y);
}

static void assert_hex(const uint8_t *b, size_t n, const char *hex)
{
	char s[2 * KBS_REPORT_DATA_LEN + 1];

	assert_int_equal(ccu_hex_encode(b, n, s, sizeof(s)), (int)(2 * n));
	assert_string_equal(s, hex);
}

static json_t *load(const char *s)
{
	json_error_t e;
	json_t *v = json_loads(s, JSON_REJECT_DUPLICATES, &e);

	if (!v)
		fail_msg("test JSON does not parse: %s", e.text);
	return v;
}

static void test_trustee_vector(void **state)
{
	json_t *v = load("{\"b\":1,\"a\":\"test\",\"c\":{\"d\":\"e\"}}");
	uint8_t d[KBS_DIGEST_MAX];
	char *out = NULL;
	size_t len = 0;
	(void)state;

	assert_int_equal(kbs_jcs_print(v, &out, &len, NULL), 0);
	assert_string_equal(out, "{\"a\":\"test\",\"b\":1,\"c\":{\"d\":\"e\"}}");
	assert_int_equal(len, strlen(out));
	assert_int_equal(kbs_hash(KBS_HASH_SHA384, out, len, d), 48);
	assert_hex(d, 48,
		   "e71ce8e70d814ba6639c3612ebee0ff1f76f650f8dbb5e47157e0f3f525cd22c"
		   "4597480a186427c813ca941da78870c3");
	free(out);
	json_decref(v);
}

static void test_our_vector_both_paths(void **state)
{
	struct kbs_jwk j;
	uint8_t rd[KBS_REPORT_DATA_LEN], rd2[KBS_REPORT_DATA_LEN];
	json_t *obj;
	char *pre = NULL, *jcs = NULL;
	size_t len;
	(void)state;

	vec_jwk(&j);
	assert_int_equal(kbs_preimage_template(vec_nonce, &j, "", &pre, &len, NULL), 0);
	assert_string_equal(pre, vec_preimage);
	assert_int_equal(len, strlen(vec_preimage));

	obj = kbs_runtime_data_json(vec_nonce, &j, "");
	assert_non_null(obj);
	assert_int_equal(kbs_jcs_print(obj, &jcs, NULL, NULL), 0);
	assert_string_equal(jcs, vec_preimage);

	assert_int_equal(kbs_report_data_guest(KBS_HASH_SHA384, vec_nonce, &j, "", rd, NULL), 0);
	assert_hex(rd, 48, vec_sha384);
	for (size_t i = 48; i < KBS_REPORT_DATA_LEN; i++)
		assert_int_equal(rd[i], 0);
	memset(rd2, 0xaa, sizeof(rd2));
	assert_int_equal(kbs_report_data_broker(KBS_HASH_SHA384, vec_nonce, &j, "", rd2, NULL), 0);
	assert_memory_equal(rd, rd2, sizeof(rd));

	/* NULL additional evidence means "" on both sides. */
	assert_int_equal(kbs_report_data_broker(KBS_HASH_SHA384, vec_nonce, &j, NULL, rd2, NULL),
			 0);
	assert_memory_equal(rd, rd2, sizeof(rd));
	free(pre);
	free(jcs);
	json_decref(obj);
}

/* The broker path from the parsed text of the vector JWK. */
static void test_vector_from_parsed_jwk(void **state)
{
	static const char jwk_text[] =
		"{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"ECDH-ES+A256KW\","
		"\"x\":\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE\","
		"\"y\":\"AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI\"}";
	struct kbs_jwk j;
	uint8_t rd[KBS_REPORT_DATA_LEN];
	(void)state;

	assert_int_equal(kbs_jwk_parse_text(jwk_text, strlen(jwk_text), &j, NULL), 0);
	assert_int_equal(kbs_report_data_broker(KBS_HASH_SHA384, vec_nonce, &j, "", rd, NULL), 0);
	assert_hex(rd, 48, vec_sha384);
}

static void random_nonce(char out[45])
{
	uint8_t b[32];

	assert_int_equal(RAND_bytes(b, sizeof(b)), 1);
	assert_int_equal(ccu_b64_encode(b, sizeof(b), CCU_B64_STD, out, 45), 44);
}

static void cross_check(const char *nonce, const struct kbs_jwk *j, const char *ae)
{
	char *pre = NULL, *jcs = NULL, *jcs2 = NULL;
	json_t *obj, *reparsed;
	uint8_t a[KBS_REPORT_DATA_LEN], b[KBS_REPORT_DATA_LEN];

	assert_int_equal(kbs_preimage_template(nonce, j, ae, &pre, NULL, NULL), 0);
	obj = kbs_runtime_data_json(nonce, j, ae);
	assert_non_null(obj);
	assert_int_equal(kbs_jcs_print(obj, &jcs, NULL, NULL), 0);
	assert_string_equal(pre, jcs);
	/* The template output is JSON whose canonical form is itself. */
	reparsed = load(pre);
	assert_int_equal(kbs_jcs_print(reparsed, &jcs2, NULL, NULL), 0);
	assert_string_equal(pre, jcs2);
	for (int h = KBS_HASH_SHA256; h <= KBS_HASH_SHA512; h++) {
		assert_int_equal(kbs_report_data_guest((enum kbs_hash_alg)h, nonce, j, ae, a, NULL),
				 0);
		assert_int_equal(
			kbs_report_data_broker((enum kbs_hash_alg)h, nonce, j, ae, b, NULL), 0);
		assert_memory_equal(a, b, sizeof(a));
	}
	free(pre);
	free(jcs);
	free(jcs2);
	json_decref(obj);
	json_decref(reparsed);
}

static void test_random_nonces_ec(void **state)
{
	unsigned slash = 0, plus = 0;
	(void)state;

	for (int i = 0; i < 64 || !slash || !plus; i++) {
		EVP_PKEY *k = NULL;
		struct kbs_jwk j;
		char nonce[45];

		assert_true(i < 10000);
		random_nonce(nonce);
		slash += strchr(nonce, '/') != NULL;
		plus += strchr(nonce, '+') != NULL;
		if (i % 8 == 0) {
			assert_int_equal(kbs_jwk_generate_ec(&k, NULL), 0);
			assert_int_equal(kbs_jwk_from_pkey(k, &j, NULL), 0);
			EVP_PKEY_free(k);
		} else {
			vec_jwk(&j);
		}
		cross_check(nonce, &j, "");
	}
	assert_true(slash > 0 && plus > 0);
	/* The nonce that must be printed with '/' unescaped. */
	{
		struct kbs_jwk j;

		vec_jwk(&j);
		cross_check("a/b+c//==", &j, "");
	}
}

static void test_random_nonce_rsa(void **state)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	struct kbs_jwk j;
	char nonce[45], *pre = NULL;
	(void)state;

	assert_non_null(k);
	assert_int_equal(kbs_jwk_from_pkey(k, &j, NULL), 0);
	assert_int_equal(j.kty, KBS_KTY_RSA);
	assert_string_equal(j.e, "AQAB");
	random_nonce(nonce);
	cross_check(nonce, &j, "");
	assert_int_equal(kbs_preimage_template(nonce, &j, "", &pre, NULL, NULL), 0);
	/* RSA member order: alg e kty n. */
	assert_non_null(strstr(pre, "\"tee-pubkey\":{\"alg\":\"RSA-OAEP-256\",\"e\":\"AQAB\","
				    "\"kty\":\"RSA\",\"n\":\""));
	free(pre);
	EVP_PKEY_free(k);
}

static void test_additional_evidence_escaped(void **state)
{
	struct kbs_jwk j;
	char *pre = NULL;
	(void)state;

	vec_jwk(&j);
	cross_check(vec_nonce, &j, "{\"gpu0\":{\"a\":\"x/y\\\\z\"}}\n\t\x01\x7f");
	assert_int_equal(kbs_preimage_template(vec_nonce, &j, "\"q\"/\\\x1f", &pre, NULL, NULL), 0);
	assert_non_null(strstr(pre, "{\"additional-evidence\":\"\\\"q\\\"/\\\\\\u001f\","));
	free(pre);
}

static void test_jcs_escapes_and_order(void **state)
{
	char *out = NULL;
	json_t *v;
	(void)state;

	v = json_pack("{s:s,s:I,s:I,s:s,s:{}}", "b", "a\"b\\c/d\x01\n\t\b\f\r\x7f", "a",
		      (json_int_t)-7, "B", (json_int_t)9007199254740991LL, "aa", "", "");
	assert_non_null(v);
	assert_int_equal(kbs_jcs_print(v, &out, NULL, NULL), 0);
	assert_string_equal(out, "{\"\":{},\"B\":9007199254740991,\"a\":-7,\"aa\":\"\","
				 "\"b\":\"a\\\"b\\\\c/d\\u0001\\n\\t\\b\\f\\r\x7f\"}");
	free(out);
	json_decref(v);
}

static void expect_jcs_reject(json_t *v)
{
	struct ccu_reason r = { 0 };
	char *out = (char *)1;

	assert_non_null(v);
	assert_int_equal(kbs_jcs_print(v, &out, NULL, &r), -EINVAL);
	assert_null(out);
	assert_string_equal(r.code, KBS_R_JCS);
	json_decref(v);
}

static void test_jcs_rejects(void **state)
{
	json_t *deep = json_object(), *cur = deep;
	(void)state;

	expect_jcs_reject(json_pack("{s:f}", "a", 1.5));
	expect_jcs_reject(json_pack("{s:[]}", "a"));
	expect_jcs_reject(json_pack("{s:b}", "a", 1));
	expect_jcs_reject(json_pack("{s:n}", "a"));
	expect_jcs_reject(json_pack("{s:s}", "a", "caf\xc3\xa9"));
	expect_jcs_reject(json_pack("{s:s}", "\xc3\xa9", "x"));
	expect_jcs_reject(json_pack("{s:I}", "a", (json_int_t)9007199254740992LL));
	expect_jcs_reject(json_pack("{s:I}", "a", (json_int_t)-9007199254740992LL));
	expect_jcs_reject(json_real(1.0));
	for (int i = 0; i < KBS_JCS_MAX_DEPTH + 1; i++) {
		json_t *n = json_object();

		json_object_set_new(cur, "d", n);
		cur = n;
	}
	expect_jcs_reject(deep);
}

static void expect_template_reject(const char *nonce, const struct kbs_jwk *j, const char *ae,
				   const char *code)
{
	struct ccu_reason r = { 0 };
	char *pre = NULL;

	assert_true(kbs_preimage_template(nonce, j, ae, &pre, NULL, &r) < 0);
	assert_null(pre);
	assert_string_equal(r.code, code);
}

static void test_template_rejects(void **state)
{
	struct kbs_jwk j, bad;
	char longn[KBS_NONCE_MAX + 2];
	(void)state;

	vec_jwk(&j);
	memset(longn, 'A', sizeof(longn) - 1);
	longn[sizeof(longn) - 1] = '\0';
	expect_template_reject("", &j, "", KBS_R_NONCE);
	expect_template_reject(NULL, &j, "", KBS_R_NONCE);
	expect_template_reject("abc-def", &j, "", KBS_R_NONCE);
	expect_template_reject("abc_def", &j, "", KBS_R_NONCE);
	expect_template_reject("ab\"c", &j, "", KBS_R_NONCE);
	expect_template_reject("ab\\c", &j, "", KBS_R_NONCE);
	expect_template_reject("ab c", &j, "", KBS_R_NONCE);
	expect_template_reject(longn, &j, "", KBS_R_NONCE);
	longn[KBS_NONCE_MAX] = '\0';
	{
		char *pre = NULL;

		assert_int_equal(kbs_preimage_template(longn, &j, "", &pre, NULL, NULL), 0);
		free(pre);
	}
	expect_template_reject(vec_nonce, &j, "caf\xc3\xa9", KBS_R_JCS);

	bad = j;
	bad.x[3] = '+';
	expect_template_reject(vec_nonce, &bad, "", KBS_R_PUBKEY);
	bad = j;
	bad.y[5] = '"';
	expect_template_reject(vec_nonce, &bad, "", KBS_R_PUBKEY);
	bad = j;
	bad.x[42] = '\0'; /* one character short */
	expect_template_reject(vec_nonce, &bad, "", KBS_R_PUBKEY);
	bad = j;
	strcpy(bad.alg, "ECDH-ES");
	expect_template_reject(vec_nonce, &bad, "", KBS_R_PUBKEY);
	bad = j;
	bad.kty = KBS_KTY_NONE;
	expect_template_reject(vec_nonce, &bad, "", KBS_R_PUBKEY);
	bad = j;
	bad.kty = KBS_KTY_RSA; /* RSA members empty */
	strcpy(bad.alg, KBS_JWK_ALG_RSA_OAEP_256);
	expect_template_reject(vec_nonce, &bad, "", KBS_R_PUBKEY);
	expect_template_reject(vec_nonce, NULL, "", KBS_R_PUBKEY);
	{
		uint8_t rd[KBS_REPORT_DATA_LEN];
		struct ccu_reason r = { 0 };

		bad = j;
		bad.kty = KBS_KTY_NONE;
		assert_int_equal(kbs_report_data_broker(KBS_HASH_SHA384, vec_nonce, &bad, "", rd, &r),
				 -EINVAL);
		assert_string_equal(r.code, KBS_R_PUBKEY);
		assert_int_equal(kbs_report_data_broker(KBS_HASH_SHA384, NULL, &j, "", rd, &r), -EINVAL);
		assert_string_equal(r.code, KBS_R_NONCE);
		assert_int_equal(kbs_report_data_broker(KBS_HASH_SHA384, vec_nonce, &j, "caf\xc3\xa9",
							rd, &r), -EINVAL);
		assert_string_equal(r.code, KBS_R_JCS);
	}
}

static void test_hash_algorithms(void **state)
{
	static const char *const names[] = { "sha256", "sha384", "sha512" };
	static const size_t lens[] = { 32, 48, 64 };
	struct kbs_jwk j;
	enum kbs_hash_alg a;
	uint8_t rd[KBS_REPORT_DATA_LEN], d[KBS_DIGEST_MAX];
	struct ccu_reason r = { 0 };
	(void)state;

	vec_jwk(&j);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(kbs_hash_alg_from_name(names[i], &a), 0);
		assert_string_equal(kbs_hash_alg_name(a), names[i]);
		assert_int_equal(kbs_hash_alg_len(a), lens[i]);
		memset(rd, 0xff, sizeof(rd));
		assert_int_equal(kbs_report_data_guest(a, vec_nonce, &j, "", rd, NULL), 0);
		assert_int_equal(kbs_hash(a, vec_preimage, strlen(vec_preimage), d), (int)lens[i]);
		assert_memory_equal(rd, d, lens[i]);
		for (size_t k = lens[i]; k < KBS_REPORT_DATA_LEN; k++)
			assert_int_equal(rd[k], 0);
	}
	assert_int_equal(kbs_hash_alg_from_name("sm3", &a), -ENOTSUP);
	assert_int_equal(kbs_hash_alg_from_name("SHA384", &a), -ENOTSUP);
	assert_int_equal(kbs_hash_alg_from_name(NULL, &a), -ENOTSUP);
	assert_null(kbs_hash_alg_name((enum kbs_hash_alg)0));
	assert_int_equal(kbs_hash_alg_len((enum kbs_hash_alg)9), 0);
	assert_int_equal(kbs_report_data_guest((enum kbs_hash_alg)9, vec_nonce, &j, "", rd, &r),
			 -EINVAL);
	assert_string_equal(r.code, KBS_R_HASH_ALG);
}

static void test_nonce_valid(void **state)
{
	(void)state;
	assert_true(kbs_nonce_valid(vec_nonce));
	assert_true(kbs_nonce_valid("+/=="));
	assert_false(kbs_nonce_valid(""));
	assert_false(kbs_nonce_valid(NULL));
	assert_false(kbs_nonce_valid("a\nb"));
	assert_false(kbs_nonce_valid("a\xc3\xa9"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trustee_vector),
		cmocka_unit_test(test_our_vector_both_paths),
		cmocka_unit_test(test_vector_from_parsed_jwk),
		cmocka_unit_test(test_random_nonces_ec),
		cmocka_unit_test(test_random_nonce_rsa),
		cmocka_unit_test(test_additional_evidence_escaped),
		cmocka_unit_test(test_jcs_escapes_and_order),
		cmocka_unit_test(test_jcs_rejects),
		cmocka_unit_test(test_template_rejects),
		cmocka_unit_test(test_hash_algorithms),
		cmocka_unit_test(test_nonce_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
