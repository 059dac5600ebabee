/*
 * SEV-SNP verification: every case of the real vectors' cases.json gets its
 * expected verdict and reason code; every verifying report, tampered one
 * field at a time, fails at the intended check; and a chain generated here
 * (RSA-PSS ARK -> ASK -> P-384 VCEK/VLEK with AMD's extensions) exercises
 * what real data cannot: explicit roots, bad PSS parameters, CA flags, the
 * chain cache.
 */
#include "helpers/testutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "common/reason.h"
#include "snp/certs.h"
#include "snp/report.h"
#include "snp/verify.h"

#define DAY 86400
#define NCASES_PASS 25
#define NCASES_FAIL 9

static struct snp_trust *trust;

/* ------------------------------------------------------------- helpers */

static time_t asn1_to_time(const ASN1_TIME *t)
{
	struct tm tm;

	assert_int_equal(ASN1_TIME_to_tm(t, &tm), 1);
	return timegm(&tm);
}

static const char *line(const struct snp_verdict *v)
{
	static char buf[400];

	return ccu_reason_line(&v->reason, buf, sizeof(buf));
}

static const struct snp_check *find_check(const struct snp_verdict *v, const char *code)
{
	for (size_t i = 0; i < v->nchecks; i++)
		if (strcmp(v->checks[i].code, code) == 0)
			return &v->checks[i];
	return NULL;
}

static void dump_checks(const struct snp_verdict *v)
{
	for (size_t i = 0; i < v->nchecks; i++)
		print_message("    [%s] %s: %s\n", v->checks[i].ok ? "ok" : "FAIL", v->checks[i].code,
			      v->checks[i].detail);
}

#define EXPECT_CODE(v, want, what)                                                                 \
	do {                                                                                       \
		if ((v)->ok || strcmp((v)->reason.code, (want)) != 0) {                            \
			dump_checks(v);                                                            \
			fail_msg("%s: expected %s, got %s", (what), (want),                        \
				 (v)->ok ? "verified" : line(v));                                  \
		}                                                                                  \
	} while (0)

#define EXPECT_OK(v, what)                                                                         \
	do {                                                                                       \
		if (!(v)->ok) {                                                                    \
			dump_checks(v);                                                            \
			fail_msg("%s: expected to verify, got %s", (what), line(v));               \
		}                                                                                  \
	} while (0)

static STACK_OF(X509) *load_stack(const char *path)
{
	STACK_OF(X509) *sk = NULL;
	struct ccu_reason why = { 0 };

	if (snp_certs_load_file(path, &sk, &why) != 0)
		fail_msg("%s: %s: %s", path, why.code, why.detail);
	return sk;
}

static void append_all(STACK_OF(X509) *dst, STACK_OF(X509) *src)
{
	while (sk_X509_num(src) > 0)
		assert_true(sk_X509_push(dst, sk_X509_shift(src)) > 0);
	sk_X509_free(src);
}

static const char *product_dir(enum snp_product p)
{
	const char *id = snp_product_id(p);

	if (!id)
		fail_msg("no product");
	return id;
}

/* A report struct around @raw; the parse may fail (snp_verify re-checks). */
static void report_from_raw(const uint8_t raw[SNP_REPORT_SIZE], struct snp_report *r)
{
	struct ccu_reason why;

	if (snp_report_parse(raw, SNP_REPORT_SIZE, r, &why) != 0) {
		memset(r, 0, sizeof(*r));
		memcpy(r->raw, raw, SNP_REPORT_SIZE);
	}
}

static int verify_at(const uint8_t *raw, X509 *leaf, STACK_OF(X509) *certs, time_t at,
		     enum snp_product forced, struct snp_chain_cache *cache, struct snp_verdict *v)
{
	struct snp_verify_opts o = { .at = at, .product = forced, .cache = cache };
	struct snp_report r;

	if (!raw)
		return snp_verify(trust, NULL, leaf, certs, &o, v);
	report_from_raw(raw, &r);
	return snp_verify(trust, &r, leaf, certs, &o, v);
}

/* ------------------------------------------------------------ cases.json */

struct tcase {
	char id[96];
	bool has_report;
	uint8_t raw[SNP_REPORT_SIZE];
	X509 *leaf;
	STACK_OF(X509) *certs; /* everything but the leaf */
	enum snp_product forced;
	enum snp_product leaf_prod;
	bool expect_pass;
	char fail_check[64];
	time_t at; /* inside every certificate's validity */
};

static void tcase_free(struct tcase *c)
{
	X509_free(c->leaf);
	sk_X509_pop_free(c->certs, X509_free);
	memset(c, 0, sizeof(*c));
}

static const char *jstr(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void tcase_load(const json_t *o, struct tcase *c)
{
	static const char *const extra[] = { "chain", "ask", "ark" };
	STACK_OF(X509) *vek;
	bool have_extra = false;
	time_t latest = 0;

	memset(c, 0, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "%s", jstr(o, "id"));
	c->expect_pass = strcmp(jstr(o, "expect"), "pass") == 0;
	snprintf(c->fail_check, sizeof(c->fail_check), "%s",
		 jstr(o, "fail_check") ? jstr(o, "fail_check") : "");
	c->forced = snp_product_from_name(jstr(o, "product"));
	c->certs = sk_X509_new_null();
	assert_non_null(c->certs);

	/* The leaf is the VCEK/VLEK of the "vek" file (which may be a bundle),
	 * or its first certificate when none is an AMD leaf. */
	vek = load_stack(tu_vec(jstr(o, "vek")));
	for (int i = 0; i < sk_X509_num(vek) && !c->leaf; i++) {
		enum snp_cert_role r = snp_cert_role(sk_X509_value(vek, i), NULL);

		if (r == SNP_CERT_VCEK || r == SNP_CERT_VLEK)
			c->leaf = sk_X509_delete(vek, i);
	}
	if (!c->leaf)
		c->leaf = sk_X509_shift(vek);
	append_all(c->certs, vek);
	snp_cert_role(c->leaf, &c->leaf_prod);

	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
		if (jstr(o, extra[i])) {
			append_all(c->certs, load_stack(tu_vec(jstr(o, extra[i]))));
			have_extra = true;
		}
	if (!have_extra) {
		enum snp_product p = c->leaf_prod ? c->leaf_prod : c->forced;
		char rel[64];

		snprintf(rel, sizeof(rel), "amd-roots/%s/%s.pem", product_dir(p),
			 snp_cert_role(c->leaf, NULL) == SNP_CERT_VLEK ? "asvk" : "ask");
		append_all(c->certs, load_stack(tu_vec(rel)));
		snprintf(rel, sizeof(rel), "amd-roots/%s/ark.pem", product_dir(p));
		append_all(c->certs, load_stack(tu_vec(rel)));
	}

	latest = asn1_to_time(X509_get0_notBefore(c->leaf));
	for (int i = 0; i < sk_X509_num(c->certs); i++) {
		time_t nb = asn1_to_time(X509_get0_notBefore(sk_X509_value(c->certs, i)));

		if (nb > latest)
			latest = nb;
	}
	c->at = latest + DAY;

	if (jstr(o, "report")) {
		const json_t *off = json_object_get(o, "offset");
		size_t n, skip = off ? (size_t)json_integer_value(off) : 0;
		/* The offset is applied here: a copy, not an overlapping move. */
		uint8_t *d = tu_read_report(tu_vec(jstr(o, "report")), 0, &n);

		assert_true(n >= skip && n - skip >= SNP_REPORT_SIZE);
		memcpy(c->raw, d + skip, SNP_REPORT_SIZE);
		free(d);
		c->has_report = true;
	}
}

static json_t *load_cases(void)
{
	json_error_t jerr;
	json_t *root = json_load_file(tu_vec("cases.json"), 0, &jerr);

	if (!root)
		fail_msg("cases.json: %s (line %d)", jerr.text, jerr.line);
	assert_true(json_is_array(json_object_get(root, "cases")));
	return root;
}

/* Reason code a "fail_check" prefix of the Python checker maps to. */
static bool code_matches_check(const char *code, const char *check)
{
	if (strncmp(check, "format:", 7) == 0)
		return strncmp(code, "FORMAT_", 7) == 0;
	if (strcmp(check, "signature:") == 0)
		return strcmp(code, "SIGNATURE") == 0;
	if (strncmp(check, "chain: VCEK signed by ASK", 25) == 0)
		return strcmp(code, "CHAIN_LEAF_SIGNATURE") == 0;
	if (strncmp(check, "chain:", 6) == 0)
		return strncmp(code, "CHAIN_", 6) == 0;
	if (strncmp(check, "binding: report SIGNING_KEY", 27) == 0)
		return strcmp(code, "BINDING_SIGNER") == 0;
	if (strncmp(check, "binding: leaf TCB", 17) == 0)
		return strcmp(code, "BINDING_TCB") == 0;
	fail_msg("unknown fail_check '%s'", check);
	return false;
}

/* The exact code each negative case yields (stricter than the prefix). */
static const struct {
	const char *id, *code;
} neg_codes[] = {
	{ "NEG cmc/invalid-report-signature", "SIGNATURE" },
	{ "NEG cmc/invalid-report-data", "FORMAT_VERSION" },
	{ "NEG cmc/non-amd-leaf", "CHAIN_LEAF_UNKNOWN" },
	{ "NEG trustee/synthetic-vcek-legacy-hwid", "CHAIN_LEAF_SIGNATURE" },
	{ "NEG trustee/synthetic-vcek-octet-hwid", "CHAIN_LEAF_SIGNATURE" },
	{ "NEG trustee/report-with-other-vcek", "SIGNATURE" },
	{ "NEG constellation/vlek-report-vs-vlek.pem", "SIGNATURE" },
	{ "NEG trustee/vlek-report-with-vcek", "BINDING_SIGNER" },
	{ "NEG oak/turin-report-with-milan-product", "BINDING_TCB" },
};

static void test_cases_json(void **state)
{
	json_t *root, *cases;
	size_t i, npass = 0, nfail = 0;
	json_t *o;

	(void)state;
	TU_REQUIRE_VECTORS();
	root = load_cases();
	cases = json_object_get(root, "cases");
	json_array_foreach(cases, i, o) {
		struct tcase c;
		struct snp_verdict v;
		int r;

		tcase_load(o, &c);
		r = verify_at(c.has_report ? c.raw : NULL, c.leaf, c.certs, c.at, c.forced, NULL, &v);
		if (c.expect_pass) {
			EXPECT_OK(&v, c.id);
			assert_int_equal(r, 0);
			assert_int_equal(v.product, c.forced ? c.forced : c.leaf_prod);
			assert_int_equal(v.leaf_role, snp_cert_role(c.leaf, NULL));
			assert_int_equal(find_check(&v, "SIGNATURE") != NULL, c.has_report);
			npass++;
		} else {
			const char *want = NULL;

			assert_int_equal(r, -EKEYREJECTED);
			assert_false(v.ok);
			if (!code_matches_check(v.reason.code, c.fail_check)) {
				dump_checks(&v);
				fail_msg("%s: %s does not match '%s'", c.id, line(&v), c.fail_check);
			}
			for (size_t k = 0; k < sizeof(neg_codes) / sizeof(neg_codes[0]); k++)
				if (strcmp(neg_codes[k].id, c.id) == 0)
					want = neg_codes[k].code;
			assert_non_null(want);
			EXPECT_CODE(&v, want, c.id);
			nfail++;
		}
		tcase_free(&c);
	}
	assert_int_equal(npass, NCASES_PASS);
	assert_int_equal(nfail, NCASES_FAIL);
	json_decref(root);
}

/* Details the negative cases also record (beyond their first failure). */
static void test_negative_case_details(void **state)
{
	json_t *root, *o;
	size_t i;

	(void)state;
	TU_REQUIRE_VECTORS();
	root = load_cases();
	json_array_foreach(json_object_get(root, "cases"), i, o) {
		struct tcase c;
		struct snp_verdict v;
		const struct snp_check *k;

		tcase_load(o, &c);
		verify_at(c.has_report ? c.raw : NULL, c.leaf, c.certs, c.at, c.forced, NULL, &v);
		if (strcmp(c.id, "NEG trustee/report-with-other-vcek") == 0) {
			k = find_check(&v, "BINDING_CHIP_ID");
			assert_non_null(k);
			assert_false(k->ok);
		} else if (strcmp(c.id, "NEG oak/turin-report-with-milan-product") == 0) {
			/* Forced Milan against a Turin chain and CPUID. */
			k = find_check(&v, "CHAIN_PRODUCT");
			assert_non_null(k);
			assert_false(k->ok);
			assert_int_equal(v.product, SNP_PRODUCT_MILAN);
			/* The signature itself is genuine. */
			k = find_check(&v, "SIGNATURE");
			assert_non_null(k);
			assert_true(k->ok);
		} else if (strcmp(c.id, "NEG cmc/non-amd-leaf") == 0) {
			/* A foreign leaf names no product, even with AMD's ASK/ARK around. */
			assert_int_equal(v.leaf_role, SNP_CERT_UNKNOWN);
			assert_int_equal(v.product, SNP_PRODUCT_UNKNOWN);
			k = find_check(&v, "CHAIN_PRODUCT");
			assert_non_null(k);
			assert_false(k->ok);
		} else if (strcmp(c.id, "NEG trustee/vlek-report-with-vcek") == 0) {
			k = find_check(&v, "SIGNATURE");
			assert_non_null(k);
			assert_false(k->ok);
		}
		tcase_free(&c);
	}
	json_decref(root);
}

/* ------------------------------------------------------ tampered reports */

struct tamper {
	const char *name;
	size_t off;
	uint8_t xor_mask; /* 0: see set */
	int set;          /* >= 0: store this byte; -2: +1 */
	const char *code;
};

static const struct tamper tampers[] = {
	{ "MEASUREMENT bit", SNP_OFF_MEASUREMENT, 0x01, -1, "SIGNATURE" },
	{ "POLICY DEBUG bit", SNP_OFF_POLICY + 2, 0x08, -1, "SIGNATURE" },
	{ "REPORT_DATA bit", SNP_OFF_REPORT_DATA, 0x01, -1, "SIGNATURE" },
	{ "HOST_DATA bit", SNP_OFF_HOST_DATA, 0x01, -1, "SIGNATURE" },
	{ "VMPL bit", SNP_OFF_VMPL, 0x01, -1, "SIGNATURE" },
	{ "R bit", SNP_OFF_SIG_R, 0x01, -1, "SIGNATURE" },
	{ "S bit", SNP_OFF_SIG_S + 10, 0x80, -1, "SIGNATURE" },
	{ "CHIP_ID bit", SNP_OFF_CHIP_ID, 0x01, -1, "SIGNATURE" },
	{ "REPORTED_TCB ucode+1", SNP_OFF_REPORTED_TCB + 7, 0, -2, "BINDING_TCB" },
	{ "SIGNING_KEY toggled", SNP_OFF_KEY_INFO, 0x04, -1, "BINDING_SIGNER" },
	{ "byte at 0x400", 0x400, 0, 1, "FORMAT_RESERVED" },
	{ "POLICY bit 17 cleared", SNP_OFF_POLICY + 2, 0x02, -1, "FORMAT_POLICY" },
};

static void apply_tamper(const struct tamper *t, uint8_t *b)
{
	if (t->set == -2)
		b[t->off]++;
	else if (t->set >= 0)
		b[t->off] = (uint8_t)t->set;
	else
		b[t->off] ^= t->xor_mask;
}

static bool chip_id_compared(const uint8_t *raw)
{
	static const uint8_t zero[64];

	return memcmp(raw + SNP_OFF_CHIP_ID, zero, 64) != 0 &&
	       !(raw[SNP_OFF_KEY_INFO] & SNP_KEY_INFO_MASK_CHIP_KEY);
}

/* Run @fn on every verifying case of cases.json. */
static void for_each_good_case(void (*fn)(struct tcase *c))
{
	json_t *root, *o;
	size_t i, n = 0;

	root = load_cases();
	json_array_foreach(json_object_get(root, "cases"), i, o) {
		struct tcase c;

		if (strcmp(jstr(o, "expect"), "pass") != 0)
			continue;
		tcase_load(o, &c);
		fn(&c);
		tcase_free(&c);
		n++;
	}
	assert_int_equal(n, NCASES_PASS);
	json_decref(root);
}

/* Tampered reports and times reuse the verified chains (as the broker does);
 * test_cases_json and the certificate tampers run uncached. */
static struct snp_chain_cache *shared_cache;

static void tamper_case(struct tcase *c)
{
	if (!c->has_report)
		return;
	for (size_t t = 0; t < sizeof(tampers) / sizeof(tampers[0]); t++) {
		uint8_t b[SNP_REPORT_SIZE];
		struct snp_verdict v;
		char what[160];
		const struct snp_check *k;

		if (tampers[t].off == SNP_OFF_CHIP_ID && !chip_id_compared(c->raw))
			continue;
		memcpy(b, c->raw, sizeof(b));
		apply_tamper(&tampers[t], b);
		snprintf(what, sizeof(what), "%s + %s", c->id, tampers[t].name);
		assert_int_equal(verify_at(b, c->leaf, c->certs, c->at, c->forced, shared_cache,
					   &v),
				 -EKEYREJECTED);
		EXPECT_CODE(&v, tampers[t].code, what);
		if (tampers[t].off == SNP_OFF_CHIP_ID) {
			k = find_check(&v, "BINDING_CHIP_ID");
			if (!k || k->ok)
				fail_msg("%s: BINDING_CHIP_ID not recorded as failed", what);
		}
	}
}

static void test_tampered_reports(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	for_each_good_case(tamper_case);
}

/* One digit of the leaf's notBefore changed and the certificate re-encoded. */
static X509 *leaf_with_other_not_before(X509 *leaf)
{
	X509 *dup = X509_dup(leaf), *out;
	const ASN1_TIME *nb = X509_get0_notBefore(dup);
	char s[32];
	int n = ASN1_STRING_length(nb);
	ASN1_TIME *t = ASN1_TIME_new();
	unsigned char *der = NULL, *der0 = NULL;
	const unsigned char *p;
	int dl, dl0, diff = 0;

	assert_true(n > 2 && n < (int)sizeof(s));
	memcpy(s, ASN1_STRING_get0_data(nb), (size_t)n);
	s[n] = 0;
	assert_int_equal(s[n - 1], 'Z');
	s[n - 2] ^= 0x01; /* the seconds' last digit: stays a digit */
	assert_int_equal(ASN1_TIME_set_string(t, s), 1);
	assert_int_equal(X509_set1_notBefore(dup, t), 1);
	/* Drop the cached TBS encoding so the new time is really encoded. */
	assert_true(i2d_re_X509_tbs(dup, NULL) > 0);
	dl = i2d_X509(dup, &der);
	dl0 = i2d_X509(leaf, &der0);
	assert_int_equal(dl, dl0);
	for (int i = 0; i < dl; i++)
		diff += der[i] != der0[i];
	assert_int_equal(diff, 1);
	p = der;
	out = d2i_X509(NULL, &p, dl);
	assert_non_null(out);
	OPENSSL_free(der);
	OPENSSL_free(der0);
	ASN1_TIME_free(t);
	X509_free(dup);
	return out;
}

static void tamper_leaf_case(struct tcase *c)
{
	X509 *bad = leaf_with_other_not_before(c->leaf);
	struct snp_verdict v;
	char what[160];

	snprintf(what, sizeof(what), "%s + leaf notBefore digit", c->id);
	assert_int_equal(verify_at(c->has_report ? c->raw : NULL, bad, c->certs, c->at, c->forced,
				   NULL, &v),
			 -EKEYREJECTED);
	EXPECT_CODE(&v, "CHAIN_LEAF_SIGNATURE", what);
	X509_free(bad);
}

static void test_tampered_leaf(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	for_each_good_case(tamper_leaf_case);
}

/* Another product's ASK/ASVK and ARK: the leaf's issuer is not among them. */
static void wrong_roots_case(struct tcase *c)
{
	static const enum snp_product next[] = {
		[SNP_PRODUCT_MILAN] = SNP_PRODUCT_GENOA,
		[SNP_PRODUCT_GENOA] = SNP_PRODUCT_TURIN,
		[SNP_PRODUCT_TURIN] = SNP_PRODUCT_MILAN,
	};
	enum snp_product other = next[c->leaf_prod];
	bool vlek = snp_cert_role(c->leaf, NULL) == SNP_CERT_VLEK;
	STACK_OF(X509) *wrong = sk_X509_new_null(), *right_inter = sk_X509_new_null();
	struct snp_verdict v;
	char rel[64], what[160];

	snprintf(rel, sizeof(rel), "amd-roots/%s/%s.pem", product_dir(other), vlek ? "asvk" : "ask");
	append_all(wrong, load_stack(tu_vec(rel)));
	snprintf(rel, sizeof(rel), "amd-roots/%s/ark.pem", product_dir(other));
	append_all(wrong, load_stack(tu_vec(rel)));
	snprintf(what, sizeof(what), "%s with %s roots", c->id, snp_product_name(other));
	verify_at(c->has_report ? c->raw : NULL, c->leaf, wrong, c->at, c->forced, NULL, &v);
	EXPECT_CODE(&v, "CHAIN_INCOMPLETE", what);

	/* The right intermediate under another product's ARK: no ARK fits. */
	snprintf(rel, sizeof(rel), "amd-roots/%s/%s.pem", product_dir(c->leaf_prod),
		 vlek ? "asvk" : "ask");
	append_all(right_inter, load_stack(tu_vec(rel)));
	snprintf(rel, sizeof(rel), "amd-roots/%s/ark.pem", product_dir(other));
	append_all(right_inter, load_stack(tu_vec(rel)));
	verify_at(c->has_report ? c->raw : NULL, c->leaf, right_inter, c->at, c->forced, NULL, &v);
	EXPECT_CODE(&v, "CHAIN_INCOMPLETE", what);

	/* Forcing another product with the same TCB layout: the products
	 * disagree (the Turin layout differs, so that is a TCB mismatch). */
	if (c->has_report && c->leaf_prod != SNP_PRODUCT_TURIN && other != SNP_PRODUCT_TURIN) {
		verify_at(c->raw, c->leaf, c->certs, c->at, other, NULL, &v);
		EXPECT_CODE(&v, "CHAIN_PRODUCT", what);
	} else if (c->has_report) {
		verify_at(c->raw, c->leaf, c->certs, c->at, other, NULL, &v);
		EXPECT_CODE(&v, "BINDING_TCB", what);
	}
	sk_X509_pop_free(wrong, X509_free);
	sk_X509_pop_free(right_inter, X509_free);
}

static void test_wrong_product_roots(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	for_each_good_case(wrong_roots_case);
}

static void validity_case(struct tcase *c)
{
	time_t before = asn1_to_time(X509_get0_notBefore(c->leaf)) - DAY;
	time_t after = asn1_to_time(X509_get0_notAfter(c->leaf)) + DAY;
	const uint8_t *raw = c->has_report ? c->raw : NULL;
	struct snp_verdict v;

	verify_at(raw, c->leaf, c->certs, before, c->forced, shared_cache, &v);
	EXPECT_CODE(&v, "CHAIN_VALIDITY", c->id);
	verify_at(raw, c->leaf, c->certs, after, c->forced, shared_cache, &v);
	EXPECT_CODE(&v, "CHAIN_VALIDITY", c->id);
	/* Everything else still holds: only the time is wrong. */
	for (size_t i = 0; i < v.nchecks; i++)
		if (strcmp(v.checks[i].code, "CHAIN_VALIDITY") != 0 && !v.checks[i].ok)
			fail_msg("%s: %s also failed", c->id, v.checks[i].code);
}

static void test_validity_window(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	for_each_good_case(validity_case);
}

static void chain_only_case(struct tcase *c)
{
	struct snp_verdict v;

	assert_int_equal(verify_at(NULL, c->leaf, c->certs, c->at, SNP_PRODUCT_UNKNOWN, NULL, &v), 0);
	EXPECT_OK(&v, c->id);
	assert_null(find_check(&v, "SIGNATURE"));
	assert_null(find_check(&v, "BINDING_TCB"));
	assert_null(find_check(&v, "FORMAT"));
	assert_non_null(find_check(&v, "CHAIN_LEAF_SIGNATURE"));
	assert_int_equal(v.product, c->leaf_prod);
}

static void test_chain_only(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	for_each_good_case(chain_only_case);
}

/* Checks are recorded in the contract's priority order, each code once. */
static void order_case(struct tcase *c)
{
	static const char *const order[] = {
		"FORMAT",	       "CHAIN_INCOMPLETE",    "CHAIN_LEAF_UNKNOWN",
		"BINDING_SIGNER",      "BINDING_TCB",	      "CHAIN_PRODUCT",
		"CHAIN_ARK_UNTRUSTED", "CHAIN_ARK_SIGNATURE", "CHAIN_ASK_SIGNATURE",
		"CHAIN_LEAF_SIGNATURE", "CHAIN_PSS_PARAMS",   "CHAIN_CA",
		"CHAIN_VALIDITY",      "SIGNATURE",	      "BINDING_CHIP_ID",
	};
	struct snp_verdict v;
	size_t at = 0;

	if (!c->has_report)
		return;
	verify_at(c->raw, c->leaf, c->certs, c->at, c->forced, shared_cache, &v);
	assert_int_equal(v.nchecks, sizeof(order) / sizeof(order[0]));
	for (size_t i = 0; i < v.nchecks; i++) {
		while (at < sizeof(order) / sizeof(order[0]) &&
		       strncmp(v.checks[i].code, order[at], strlen(order[at])) != 0)
			at++;
		if (at == sizeof(order) / sizeof(order[0]))
			fail_msg("%s: check %s out of order", c->id, v.checks[i].code);
		assert_true(v.checks[i].ok);
		assert_true(v.checks[i].detail[0] != 0);
		at++;
	}
}

static void test_check_order(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	for_each_good_case(order_case);
}

/* ------------------------------------------------- synthetic AMD chains */

#define AMD_NAME_FMT "/OU=Engineering/C=US/L=Santa Clara/ST=CA/O=Advanced Micro Devices/CN=%s"

static X509_NAME *amd_name(const char *cn)
{
	X509_NAME *n = X509_NAME_new();
	static const struct {
		const char *f, *v;
	} parts[] = { { "OU", "Engineering" },	 { "C", "US" },
		      { "L", "Santa Clara" },	 { "ST", "CA" },
		      { "O", "Advanced Micro Devices" } };

	assert_non_null(n);
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		assert_int_equal(X509_NAME_add_entry_by_txt(n, parts[i].f, MBSTRING_ASC,
							    (const unsigned char *)parts[i].v, -1,
							    -1, 0),
				 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
						    (const unsigned char *)cn, -1, -1, 0),
			 1);
	return n;
}

struct ext_raw {
	const char *oid;
	const uint8_t *der;
	size_t len;
};

struct xspec {
	const char *subject_cn, *issuer_cn;
	EVP_PKEY *key;    /* subject key (public part used) */
	EVP_PKEY *signer; /* issuer private key */
	bool ca;          /* CA:TRUE + keyCertSign */
	bool ca_no_certsign;
	int salt;         /* 0 = 48 */
	const EVP_MD *md; /* NULL = SHA-384 (PSS hash and MGF1) */
	time_t nb, na;
	struct ext_raw ext[16];
	size_t next;
};

static void add_conf_ext(X509 *x, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, nid, value);

	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

static void add_raw_ext(X509 *x, const struct ext_raw *r)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(r->oid, 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *e;

	assert_non_null(obj);
	assert_int_equal(ASN1_OCTET_STRING_set(os, r->der, (int)r->len), 1);
	e = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
}

static X509 *make_cert(const struct xspec *s)
{
	X509 *x = X509_new();
	X509_NAME *sn = amd_name(s->subject_cn), *in = amd_name(s->issuer_cn);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	const EVP_MD *h = s->md ? s->md : EVP_sha384();

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 0), 1);
	assert_int_equal(X509_set_subject_name(x, sn), 1);
	assert_int_equal(X509_set_issuer_name(x, in), 1);
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), s->nb));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), s->na));
	assert_int_equal(X509_set_pubkey(x, s->key), 1);
	if (s->ca) {
		add_conf_ext(x, NID_basic_constraints, "critical,CA:TRUE");
		add_conf_ext(x, NID_key_usage, s->ca_no_certsign ? "critical,cRLSign" :
								   "critical,keyCertSign,cRLSign");
	}
	for (size_t i = 0; i < s->next; i++)
		add_raw_ext(x, &s->ext[i]);
	assert_int_equal(EVP_DigestSignInit(md, &pctx, h, NULL, s->signer), 1);
	if (EVP_PKEY_get_base_id(s->signer) == EVP_PKEY_RSA) {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, s->salt ? s->salt : 48), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, h), 1);
	}
	assert_true(X509_sign_ctx(x, md) > 0);
	EVP_MD_CTX_free(md);
	X509_NAME_free(sn);
	X509_NAME_free(in);
	return x;
}

/* Keys are expensive (RSA-4096): made once for every synthetic test. */
static struct {
	EVP_PKEY *ark, *ask, *rsa2048, *leaf, *leaf2, *p256;
	time_t nb, na, at;
} K;

static int keys_setup(void **state)
{
	(void)state;
	K.ark = EVP_RSA_gen(4096);
	K.ask = EVP_RSA_gen(4096);
	K.rsa2048 = EVP_RSA_gen(2048);
	K.leaf = EVP_EC_gen("P-384");
	K.leaf2 = EVP_EC_gen("P-384");
	K.p256 = EVP_EC_gen("P-256");
	K.nb = 1704067200;	      /* 2024-01-01 */
	K.na = K.nb + 7 * 365 * DAY; /* 2031 */
	K.at = K.nb + 100 * DAY;
	trust = snp_trust_new();
	shared_cache = snp_chain_cache_new(64);
	return shared_cache && K.ark && K.ask && K.rsa2048 && K.leaf && K.leaf2 && K.p256 && trust ?
		       0 :
		       -1;
}

static int keys_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(K.ark);
	EVP_PKEY_free(K.ask);
	EVP_PKEY_free(K.rsa2048);
	EVP_PKEY_free(K.leaf);
	EVP_PKEY_free(K.leaf2);
	EVP_PKEY_free(K.p256);
	snp_trust_free(trust);
	snp_chain_cache_free(shared_cache);
	return 0;
}

/* A synthetic platform: chain, leaf extensions and a report template. */
struct synth {
	enum snp_product p;
	bool vlek;
	struct snp_tcb tcb;
	uint8_t chip_id[64];
	X509 *ark, *inter, *leaf;
	STACK_OF(X509) *certs; /* inter + ark */
	uint8_t raw[SNP_REPORT_SIZE];
};

/* Encoded extension values live here for the spec's lifetime. */
static uint8_t ext_buf[16][80];

static void spec_int(struct xspec *s, const char *oid, unsigned v)
{
	uint8_t *b = ext_buf[s->next];
	size_t n;

	b[0] = 0x02;
	if (v < 0x80) {
		b[1] = 1, b[2] = (uint8_t)v, n = 3;
	} else {
		b[1] = 2, b[2] = 0, b[3] = (uint8_t)v, n = 4;
	}
	s->ext[s->next++] = (struct ext_raw){ oid, b, n };
}

static void spec_bytes(struct xspec *s, const char *oid, const uint8_t *d, size_t n)
{
	assert_true(n <= sizeof(ext_buf[0]));
	memcpy(ext_buf[s->next], d, n);
	s->ext[s->next] = (struct ext_raw){ oid, ext_buf[s->next], n };
	s->next++;
}

static void spec_ia5(struct xspec *s, const char *oid, const char *str)
{
	uint8_t b[64];
	size_t n = strlen(str);

	b[0] = 0x16;
	b[1] = (uint8_t)n;
	memcpy(b + 2, str, n);
	spec_bytes(s, oid, b, n + 2);
}

static void leaf_spec(const struct synth *y, struct xspec *s)
{
	char issuer[32];
	static char iss[32];

	snprintf(issuer, sizeof(issuer), y->vlek ? "SEV-VLEK-%s" : "SEV-%s",
		 snp_product_name(y->p));
	memcpy(iss, issuer, sizeof(iss));
	memset(s, 0, sizeof(*s));
	s->subject_cn = y->vlek ? "SEV-VLEK" : "SEV-VCEK";
	s->issuer_cn = iss;
	s->key = K.leaf;
	s->signer = K.ask;
	s->nb = K.nb;
	s->na = K.na;
	spec_int(s, "1.3.6.1.4.1.3704.1.1", y->p == SNP_PRODUCT_TURIN);
	spec_ia5(s, "1.3.6.1.4.1.3704.1.2", y->p == SNP_PRODUCT_TURIN ? "Turin" :
					    y->p == SNP_PRODUCT_GENOA ? "Genoa-B1" :
									"Milan-B0");
	if (y->p == SNP_PRODUCT_TURIN)
		spec_int(s, "1.3.6.1.4.1.3704.1.3.9", y->tcb.fmc);
	spec_int(s, "1.3.6.1.4.1.3704.1.3.1", y->tcb.bootloader);
	spec_int(s, "1.3.6.1.4.1.3704.1.3.2", y->tcb.tee);
	spec_int(s, "1.3.6.1.4.1.3704.1.3.3", y->tcb.snp);
	spec_int(s, "1.3.6.1.4.1.3704.1.3.5", 0);
	spec_int(s, "1.3.6.1.4.1.3704.1.3.8", y->tcb.microcode);
	if (y->vlek)
		spec_ia5(s, "1.3.6.1.4.1.3704.1.5", "CN=test.example");
	else
		spec_bytes(s, "1.3.6.1.4.1.3704.1.4", y->chip_id,
			   y->p == SNP_PRODUCT_TURIN ? 8 : 64);
}

/* Sign bytes 0..0x29F with @key as the firmware does (R, S little-endian). */
static void sign_report(uint8_t *raw, EVP_PKEY *key)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char der[160];
	const unsigned char *p = der;
	size_t dl = sizeof(der);
	ECDSA_SIG *sig;
	const BIGNUM *r, *s;
	uint8_t rb[48], sb[48];

	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, key), 1);
	assert_int_equal(EVP_DigestSign(md, der, &dl, raw, SNP_REPORT_SIGNED_LEN), 1);
	sig = d2i_ECDSA_SIG(NULL, &p, (long)dl);
	assert_non_null(sig);
	ECDSA_SIG_get0(sig, &r, &s);
	assert_int_equal(BN_bn2binpad(r, rb, 48), 48);
	assert_int_equal(BN_bn2binpad(s, sb, 48), 48);
	memset(raw + SNP_OFF_SIG_R, 0, SNP_REPORT_SIZE - SNP_OFF_SIG_R);
	for (int i = 0; i < 48; i++) {
		raw[SNP_OFF_SIG_R + i] = rb[47 - i];
		raw[SNP_OFF_SIG_S + i] = sb[47 - i];
	}
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(md);
}

static void synth_report(struct synth *y, EVP_PKEY *key)
{
	struct snp_report r;
	static const uint8_t cpuid[][2] = {
		[SNP_PRODUCT_MILAN] = { 0x19, 0x01 },
		[SNP_PRODUCT_GENOA] = { 0x19, 0x11 },
		[SNP_PRODUCT_TURIN] = { 0x1A, 0x02 },
	};

	memset(&r, 0, sizeof(r));
	r.version = 3;
	r.policy = 0x30000;
	r.sig_algo = SNP_SIG_ALGO_ECDSA_P384_SHA384;
	r.key_info = (y->vlek ? SNP_SIGNING_KEY_VLEK : SNP_SIGNING_KEY_VCEK) << 2;
	r.cpuid_fam_id = cpuid[y->p][0];
	r.cpuid_mod_id = cpuid[y->p][1];
	snp_tcb_encode(&y->tcb, y->p, r.reported_tcb);
	snp_tcb_encode(&y->tcb, y->p, r.current_tcb);
	snp_tcb_encode(&y->tcb, y->p, r.committed_tcb);
	snp_tcb_encode(&y->tcb, y->p, r.launch_tcb);
	memcpy(r.chip_id, y->chip_id, y->p == SNP_PRODUCT_TURIN ? 8 : 64);
	memset(r.report_data, 0x5a, sizeof(r.report_data));
	snp_report_encode(&r, y->raw);
	sign_report(y->raw, key);
}

static void synth_free(struct synth *y)
{
	X509_free(y->leaf);
	sk_X509_pop_free(y->certs, X509_free);
	memset(y, 0, sizeof(*y));
}

/* A consistent synthetic platform of @p (ARK-<P> self-made, so untrusted). */
static void synth_make(struct synth *y, enum snp_product p, bool vlek)
{
	char ark_cn[32], inter_cn[32];
	struct xspec s;

	memset(y, 0, sizeof(*y));
	y->p = p;
	y->vlek = vlek;
	y->tcb = (struct snp_tcb){ .fmc = p == SNP_PRODUCT_TURIN ? 1 : 0, .bootloader = 4,
				   .tee = 0, .snp = 24, .microcode = 219,
				   .has_fmc = p == SNP_PRODUCT_TURIN };
	for (int i = 0; i < 64; i++)
		y->chip_id[i] = (uint8_t)(0xc0 + i);
	snprintf(ark_cn, sizeof(ark_cn), "ARK-%s", snp_product_name(p));
	snprintf(inter_cn, sizeof(inter_cn), vlek ? "SEV-VLEK-%s" : "SEV-%s", snp_product_name(p));

	s = (struct xspec){ .subject_cn = ark_cn, .issuer_cn = ark_cn, .key = K.ark,
			    .signer = K.ark, .ca = true, .nb = K.nb, .na = K.na + 20 * 365 * DAY };
	y->ark = make_cert(&s);
	s = (struct xspec){ .subject_cn = inter_cn, .issuer_cn = ark_cn, .key = K.ask,
			    .signer = K.ark, .ca = true, .nb = K.nb, .na = K.na + 20 * 365 * DAY };
	y->inter = make_cert(&s);
	leaf_spec(y, &s);
	y->leaf = make_cert(&s);
	y->certs = sk_X509_new_null();
	assert_non_null(y->certs);
	assert_true(sk_X509_push(y->certs, y->inter) > 0);
	assert_true(sk_X509_push(y->certs, y->ark) > 0);
	synth_report(y, K.leaf);
}

static void synth_verify(const struct synth *y, const uint8_t *raw, X509 *leaf,
			 STACK_OF(X509) *certs, struct snp_verdict *v)
{
	verify_at(raw, leaf ? leaf : y->leaf, certs ? certs : y->certs, K.at, SNP_PRODUCT_UNKNOWN,
		  NULL, v);
}

/* A self-made ARK named ARK-Milan is not trusted until named explicitly,
 * and then only for what it actually signed. */
static void test_explicit_root(void **state)
{
	struct synth y;
	struct snp_verdict v;
	struct ccu_reason why = { 0 };
	struct snp_trust *saved = trust;

	(void)state;
	trust = snp_trust_new();
	assert_non_null(trust);
	synth_make(&y, SNP_PRODUCT_MILAN, false);
	synth_verify(&y, y.raw, NULL, NULL, &v);
	EXPECT_CODE(&v, "CHAIN_ARK_UNTRUSTED", "self-made ARK-Milan");
	/* Only the trust was wrong. */
	for (size_t i = 0; i < v.nchecks; i++)
		if (strcmp(v.checks[i].code, "CHAIN_ARK_UNTRUSTED") != 0)
			assert_true(v.checks[i].ok);

	assert_int_equal(snp_trust_add_root(trust, y.ark, &why), 0);
	assert_int_equal(snp_trust_add_root(trust, y.ark, &why), 0); /* idempotent */
	synth_verify(&y, y.raw, NULL, NULL, &v);
	EXPECT_OK(&v, "self-made chain under an explicit root");
	assert_int_equal(v.product, SNP_PRODUCT_MILAN);
	assert_int_equal(v.leaf_role, SNP_CERT_VCEK);

	/* The ARK may also come from the trust store alone. */
	{
		STACK_OF(X509) *only = sk_X509_new_null();

		assert_true(sk_X509_push(only, y.inter) > 0);
		synth_verify(&y, y.raw, NULL, only, &v);
		EXPECT_OK(&v, "ARK from the explicit roots");
		sk_X509_free(only);
	}

	if (tu_vectors_dir()) {
		/* Real AMD ASK + trusted self-made ARK-Milan: it did not sign it. */
		STACK_OF(X509) *mixed = load_stack(tu_vec("amd-roots/milan/ask.pem"));
		X509 *vcek = NULL;
		uint8_t *raw;
		size_t n;

		assert_true(X509_up_ref(y.ark) == 1 && sk_X509_push(mixed, y.ark) > 0);
		assert_int_equal(snp_cert_load_one_file(tu_vec("virtee-sev/vcek_milan.der"), &vcek,
							&why),
				 0);
		raw = tu_read_report(tu_vec("virtee-sev/report_milan.bin"), 0, &n);
		assert_int_equal(n, SNP_REPORT_SIZE);
		verify_at(raw, vcek, mixed, 1735689600 /* 2025-01-01 */, SNP_PRODUCT_UNKNOWN,
			  NULL, &v);
		EXPECT_CODE(&v, "CHAIN_ASK_SIGNATURE", "real ASK under a trusted self-made ARK");
		/* With the real ARK present too, the pinned one is preferred. */
		append_all(mixed, load_stack(tu_vec("amd-roots/milan/ark.pem")));
		verify_at(raw, vcek, mixed, 1735689600, SNP_PRODUCT_UNKNOWN, NULL, &v);
		EXPECT_OK(&v, "pinned ARK preferred over a trusted self-made one");
		free(raw);
		X509_free(vcek);
		sk_X509_pop_free(mixed, X509_free);
	}
	synth_free(&y);
	snp_trust_free(trust);
	trust = saved;
}

static void test_add_root_refusals(void **state)
{
	struct synth y;
	struct ccu_reason why = { 0 };
	struct snp_trust *t = snp_trust_new();
	struct xspec s;
	X509 *x;

	(void)state;
	synth_make(&y, SNP_PRODUCT_GENOA, false);
	assert_int_equal(snp_trust_add_root(t, y.inter, &why), -EINVAL);
	assert_string_equal(why.code, "CERT_PARSE");
	assert_int_equal(snp_trust_add_root(t, y.leaf, &why), -EINVAL);
	assert_string_equal(why.code, "CERT_PARSE");
	assert_int_equal(snp_trust_add_root(t, NULL, &why), -EINVAL);

	/* Named and self-issued like an ARK but signed by another key. */
	s = (struct xspec){ .subject_cn = "ARK-Genoa", .issuer_cn = "ARK-Genoa", .key = K.ark,
			    .signer = K.ask, .ca = true, .nb = K.nb, .na = K.na };
	x = make_cert(&s);
	assert_int_equal(snp_trust_add_root(t, x, &why), -EINVAL);
	assert_string_equal(why.code, "CHAIN_ARK_SIGNATURE");
	X509_free(x);
	/* Self-signed with salt 32. */
	s.signer = K.ark;
	s.salt = 32;
	x = make_cert(&s);
	assert_int_equal(snp_trust_add_root(t, x, &why), -EINVAL);
	assert_string_equal(why.code, "CHAIN_ARK_SIGNATURE");
	X509_free(x);

	assert_int_equal(snp_trust_add_root(t, y.ark, &why), 0);
	snp_trust_free(t);
	synth_free(&y);
}

/* Everything a synthetic chain can be wrong in, one defect at a time. */
static void test_synthetic_defects(void **state)
{
	struct synth y;
	struct snp_verdict v;
	struct xspec s;
	struct ccu_reason why = { 0 };
	struct snp_trust *saved = trust;
	X509 *x;
	STACK_OF(X509) *sk;
	uint8_t raw[SNP_REPORT_SIZE];

	(void)state;
	trust = snp_trust_new();
	synth_make(&y, SNP_PRODUCT_MILAN, false);
	assert_int_equal(snp_trust_add_root(trust, y.ark, &why), 0);
	synth_verify(&y, y.raw, NULL, NULL, &v);
	EXPECT_OK(&v, "synthetic Milan");

	/* Leaf signed with PSS salt 32 (a valid signature, wrong parameters). */
	leaf_spec(&y, &s);
	s.salt = 32;
	x = make_cert(&s);
	synth_verify(&y, y.raw, x, NULL, &v);
	EXPECT_CODE(&v, "CHAIN_PSS_PARAMS", "leaf salt 32");
	X509_free(x);
	/* Leaf signed with PSS over SHA-256. */
	leaf_spec(&y, &s);
	s.md = EVP_sha256();
	s.salt = 48;
	x = make_cert(&s);
	synth_verify(&y, y.raw, x, NULL, &v);
	EXPECT_CODE(&v, "CHAIN_PSS_PARAMS", "leaf PSS SHA-256");
	X509_free(x);

	/* Leaf with a P-256 key. */
	leaf_spec(&y, &s);
	s.key = K.p256;
	x = make_cert(&s);
	synth_verify(&y, y.raw, x, NULL, &v);
	EXPECT_CODE(&v, "CHAIN_LEAF_UNKNOWN", "P-256 leaf");
	X509_free(x);

	/* Leaf with a malformed TCB extension (ucode 219 as 02 01 db: negative). */
	leaf_spec(&y, &s);
	for (size_t i = 0; i < s.next; i++)
		if (strcmp(s.ext[i].oid, "1.3.6.1.4.1.3704.1.3.8") == 0) {
			static const uint8_t neg[] = { 0x02, 0x01, 0xdb };

			s.ext[i].der = neg;
			s.ext[i].len = sizeof(neg);
		}
	x = make_cert(&s);
	synth_verify(&y, y.raw, x, NULL, &v);
	EXPECT_CODE(&v, "CHAIN_LEAF_UNKNOWN", "malformed ucodeSPL");
	X509_free(x);

	/* Leaf with fmcSPL on Milan. */
	leaf_spec(&y, &s);
	spec_int(&s, "1.3.6.1.4.1.3704.1.3.9", 0);
	x = make_cert(&s);
	synth_verify(&y, y.raw, x, NULL, &v);
	EXPECT_CODE(&v, "BINDING_TCB", "fmcSPL on a Milan leaf");
	X509_free(x);
	/* Leaf with spl_6 = 1. */
	leaf_spec(&y, &s);
	spec_int(&s, "1.3.6.1.4.1.3704.1.3.6", 1);
	x = make_cert(&s);
	synth_verify(&y, y.raw, x, NULL, &v);
	EXPECT_CODE(&v, "BINDING_TCB", "spl_6 = 1");
	X509_free(x);

	/* Another P-384 key signed the report. */
	memcpy(raw, y.raw, sizeof(raw));
	sign_report(raw, K.leaf2);
	synth_verify(&y, raw, NULL, NULL, &v);
	EXPECT_CODE(&v, "SIGNATURE", "report signed by another key");

	/* REPORTED_TCB above CURRENT_TCB (signed, so only the TCB rule fails). */
	memcpy(raw, y.raw, sizeof(raw));
	raw[SNP_OFF_CURRENT_TCB + 7] = 200;
	sign_report(raw, K.leaf);
	synth_verify(&y, raw, NULL, NULL, &v);
	EXPECT_CODE(&v, "BINDING_TCB", "leaf TCB above CURRENT_TCB");

	/* MASK_CHIP_KEY: CHIP_ID is not compared. */
	memcpy(raw, y.raw, sizeof(raw));
	raw[SNP_OFF_KEY_INFO] |= SNP_KEY_INFO_MASK_CHIP_KEY;
	raw[SNP_OFF_CHIP_ID + 5] ^= 0xff;
	sign_report(raw, K.leaf);
	synth_verify(&y, raw, NULL, NULL, &v);
	EXPECT_OK(&v, "MASK_CHIP_KEY");
	/* ...but without the mask a different CHIP_ID is a binding failure. */
	raw[SNP_OFF_KEY_INFO] &= (uint8_t)~SNP_KEY_INFO_MASK_CHIP_KEY;
	sign_report(raw, K.leaf);
	synth_verify(&y, raw, NULL, NULL, &v);
	EXPECT_CODE(&v, "BINDING_CHIP_ID", "other CHIP_ID, correctly signed");

	/* CPUID says Genoa, the chain is Milan. */
	memcpy(raw, y.raw, sizeof(raw));
	raw[SNP_OFF_CPUID_MOD_ID] = 0x11;
	sign_report(raw, K.leaf);
	synth_verify(&y, raw, NULL, NULL, &v);
	EXPECT_CODE(&v, "CHAIN_PRODUCT", "Genoa CPUID, Milan chain");

	/* productName says Genoa on a Milan chain. */
	leaf_spec(&y, &s);
	for (size_t i = 0; i < s.next; i++)
		if (strcmp(s.ext[i].oid, "1.3.6.1.4.1.3704.1.2") == 0) {
			static const uint8_t g[] = { 0x16, 0x05, 'G', 'e', 'n', 'o', 'a' };

			s.ext[i].der = g;
			s.ext[i].len = sizeof(g);
		}
	x = make_cert(&s);
	synth_verify(&y, y.raw, x, NULL, &v);
	EXPECT_CODE(&v, "CHAIN_PRODUCT", "productName Genoa");
	X509_free(x);

	/* A non-AMD certificate in the stack. */
	sk = sk_X509_dup(y.certs);
	s = (struct xspec){ .subject_cn = "something", .issuer_cn = "something", .key = K.leaf,
			    .signer = K.rsa2048, .nb = K.nb, .na = K.na };
	x = make_cert(&s);
	{
		/* Same AMD location, but CN is not an AMD role. */
		assert_true(sk_X509_push(sk, x) > 0);
		synth_verify(&y, y.raw, NULL, sk, &v);
		EXPECT_CODE(&v, "CHAIN_INCOMPLETE", "foreign certificate in the stack");
	}
	X509_free(x);
	sk_X509_free(sk);

	/* No certificates at all, and no leaf. */
	sk = sk_X509_new_null();
	synth_verify(&y, y.raw, NULL, sk, &v);
	EXPECT_CODE(&v, "CHAIN_INCOMPLETE", "empty stack");
	sk_X509_free(sk);
	verify_at(y.raw, NULL, y.certs, K.at, SNP_PRODUCT_UNKNOWN, NULL, &v);
	EXPECT_CODE(&v, "CHAIN_INCOMPLETE", "no leaf");

	synth_free(&y);
	snp_trust_free(trust);
	trust = saved;
}

/* CA requirements on the intermediate: RSA-4096, CA:TRUE, keyCertSign. */
static void test_synthetic_ca(void **state)
{
	struct synth y;
	struct snp_verdict v;
	struct xspec s;
	struct ccu_reason why = { 0 };
	struct snp_trust *saved = trust;
	STACK_OF(X509) *sk;
	X509 *inter, *leaf;

	(void)state;
	trust = snp_trust_new();
	synth_make(&y, SNP_PRODUCT_MILAN, false);
	assert_int_equal(snp_trust_add_root(trust, y.ark, &why), 0);

	for (int variant = 0; variant < 3; variant++) {
		s = (struct xspec){ .subject_cn = "SEV-Milan", .issuer_cn = "ARK-Milan",
				    .key = K.ask, .signer = K.ark, .ca = true, .nb = K.nb,
				    .na = K.na };
		if (variant == 0)
			s.ca = false;
		if (variant == 1)
			s.ca_no_certsign = true;
		if (variant == 2)
			s.key = K.rsa2048;
		inter = make_cert(&s);
		leaf_spec(&y, &s);
		if (variant == 2)
			s.signer = K.rsa2048;
		leaf = make_cert(&s);
		sk = sk_X509_new_null();
		assert_true(sk_X509_push(sk, inter) > 0 && sk_X509_push(sk, y.ark) > 0);
		synth_verify(&y, y.raw, leaf, sk, &v);
		EXPECT_CODE(&v, "CHAIN_CA", "intermediate without CA rights");
		sk_X509_free(sk);
		X509_free(inter);
		X509_free(leaf);
	}
	synth_free(&y);
	snp_trust_free(trust);
	trust = saved;
}

/* Turin (8-byte hwID, fmcSPL, Turin TCB layout), Genoa and VLEK chains. */
static void test_synthetic_products(void **state)
{
	static const struct {
		enum snp_product p;
		bool vlek;
	} kinds[] = {
		{ SNP_PRODUCT_TURIN, false }, { SNP_PRODUCT_GENOA, false },
		{ SNP_PRODUCT_MILAN, true },  { SNP_PRODUCT_TURIN, true },
	};
	struct snp_trust *saved = trust;

	(void)state;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		struct synth y;
		struct snp_verdict v;
		struct ccu_reason why = { 0 };
		uint8_t raw[SNP_REPORT_SIZE];

		trust = snp_trust_new();
		synth_make(&y, kinds[i].p, kinds[i].vlek);
		assert_int_equal(snp_trust_add_root(trust, y.ark, &why), 0);
		synth_verify(&y, y.raw, NULL, NULL, &v);
		EXPECT_OK(&v, snp_product_name(kinds[i].p));
		assert_int_equal(v.product, kinds[i].p);
		assert_int_equal(v.leaf_role, kinds[i].vlek ? SNP_CERT_VLEK : SNP_CERT_VCEK);

		/* fmc+1 on Turin is a TCB mismatch; elsewhere the byte is reserved. */
		memcpy(raw, y.raw, sizeof(raw));
		raw[SNP_OFF_REPORTED_TCB]++;
		sign_report(raw, K.leaf);
		synth_verify(&y, raw, NULL, NULL, &v);
		EXPECT_CODE(&v, "BINDING_TCB", "REPORTED_TCB byte 0 + 1");

		if (kinds[i].p == SNP_PRODUCT_TURIN && !kinds[i].vlek) {
			/* Only the first 8 CHIP_ID bytes are the Turin hwID. */
			memcpy(raw, y.raw, sizeof(raw));
			raw[SNP_OFF_CHIP_ID + 7] ^= 1;
			sign_report(raw, K.leaf);
			synth_verify(&y, raw, NULL, NULL, &v);
			EXPECT_CODE(&v, "BINDING_CHIP_ID", "Turin CHIP_ID byte 7");
		}
		if (kinds[i].vlek) {
			/* A VLEK does not bind CHIP_ID. */
			memcpy(raw, y.raw, sizeof(raw));
			raw[SNP_OFF_CHIP_ID] ^= 1;
			sign_report(raw, K.leaf);
			synth_verify(&y, raw, NULL, NULL, &v);
			EXPECT_OK(&v, "VLEK with any CHIP_ID");
		}
		synth_free(&y);
		snp_trust_free(trust);
	}
	trust = saved;
}

/* ------------------------------------------------------------ the cache */

static void test_cache(void **state)
{
	struct synth y, y2;
	struct snp_verdict v;
	struct ccu_reason why = { 0 };
	struct snp_trust *saved = trust, *with_root;
	struct snp_chain_cache *cache = snp_chain_cache_new(1);
	uint8_t raw[SNP_REPORT_SIZE];

	(void)state;
	assert_non_null(cache);
	with_root = snp_trust_new();
	trust = with_root;
	synth_make(&y, SNP_PRODUCT_MILAN, false);
	synth_make(&y2, SNP_PRODUCT_GENOA, false);
	assert_int_equal(snp_trust_add_root(trust, y.ark, &why), 0);
	assert_int_equal(snp_trust_add_root(trust, y2.ark, &why), 0);

	verify_at(y.raw, y.leaf, y.certs, K.at, 0, cache, &v);
	EXPECT_OK(&v, "first");
	assert_false(v.cache_hit);
	verify_at(y.raw, y.leaf, y.certs, K.at, 0, cache, &v);
	EXPECT_OK(&v, "second");
	assert_true(v.cache_hit);
	assert_non_null(strstr(find_check(&v, "CHAIN_LEAF_SIGNATURE")->detail, "cached"));

	/* A hit still checks the report and the time. */
	memcpy(raw, y.raw, sizeof(raw));
	raw[SNP_OFF_MEASUREMENT] ^= 1;
	verify_at(raw, y.leaf, y.certs, K.at, 0, cache, &v);
	assert_true(v.cache_hit);
	EXPECT_CODE(&v, "SIGNATURE", "cached chain, tampered report");
	verify_at(y.raw, y.leaf, y.certs, K.na + DAY, 0, cache, &v);
	assert_true(v.cache_hit);
	EXPECT_CODE(&v, "CHAIN_VALIDITY", "cached chain, expired");
	/* ...and the trust: the same chain under a trust store without its root. */
	trust = saved;
	verify_at(y.raw, y.leaf, y.certs, K.at, 0, cache, &v);
	assert_true(v.cache_hit);
	EXPECT_CODE(&v, "CHAIN_ARK_UNTRUSTED", "cached chain, root not trusted");
	trust = with_root;

	/* Capacity 1: another chain evicts the first. */
	verify_at(y2.raw, y2.leaf, y2.certs, K.at, 0, cache, &v);
	EXPECT_OK(&v, "Genoa");
	assert_false(v.cache_hit);
	verify_at(y.raw, y.leaf, y.certs, K.at, 0, cache, &v);
	EXPECT_OK(&v, "Milan again");
	assert_false(v.cache_hit);

	/* A failed chain is never cached. */
	{
		X509 *bad = leaf_with_other_not_before(y.leaf);

		verify_at(NULL, bad, y.certs, K.at, 0, cache, &v);
		EXPECT_CODE(&v, "CHAIN_LEAF_SIGNATURE", "bad leaf");
		verify_at(NULL, bad, y.certs, K.at, 0, cache, &v);
		assert_false(v.cache_hit);
		EXPECT_CODE(&v, "CHAIN_LEAF_SIGNATURE", "bad leaf again");
		X509_free(bad);
	}

	assert_null(snp_chain_cache_new(0));
	snp_chain_cache_free(NULL);
	snp_chain_cache_free(cache);
	synth_free(&y);
	synth_free(&y2);
	snp_trust_free(with_root);
	trust = saved;
}

struct thread_arg {
	struct synth *y;
	struct snp_chain_cache *cache;
	int ok;
};

static void *verify_thread(void *p)
{
	struct thread_arg *a = p;
	struct snp_verify_opts o = { .at = K.at, .cache = a->cache };
	struct snp_report r;

	report_from_raw(a->y->raw, &r);
	for (int i = 0; i < 20; i++) {
		struct snp_verdict v;

		if (snp_verify(trust, &r, a->y->leaf, a->y->certs, &o, &v) == 0 && v.ok)
			a->ok++;
	}
	return NULL;
}

static void test_cache_threads(void **state)
{
	struct synth y;
	struct ccu_reason why = { 0 };
	struct snp_trust *saved = trust;
	struct snp_chain_cache *cache = snp_chain_cache_new(8);
	pthread_t th[4];
	struct thread_arg args[4];

	(void)state;
	trust = snp_trust_new();
	synth_make(&y, SNP_PRODUCT_MILAN, false);
	assert_int_equal(snp_trust_add_root(trust, y.ark, &why), 0);
	for (int i = 0; i < 4; i++) {
		args[i] = (struct thread_arg){ &y, cache, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, verify_thread, &args[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(args[i].ok, 20);
	}
	snp_chain_cache_free(cache);
	synth_free(&y);
	snp_trust_free(trust);
	trust = saved;
}

/* ------------------------------------------------------------ API edges */

static void test_api_edges(void **state)
{
	struct snp_verdict v;
	struct synth y;

	(void)state;
	synth_make(&y, SNP_PRODUCT_MILAN, false);
	assert_int_equal(snp_verify(trust, NULL, y.leaf, y.certs, NULL, NULL), -EINVAL);
	assert_int_equal(snp_verify(NULL, NULL, y.leaf, y.certs, NULL, &v), -EINVAL);
	assert_false(v.ok);
	/* NULL opts = now, no forced product, no cache; NULL certs = incomplete. */
	assert_int_equal(snp_verify(trust, NULL, y.leaf, NULL, NULL, &v), -EKEYREJECTED);
	EXPECT_CODE(&v, "CHAIN_INCOMPLETE", "no certificates");
	synth_free(&y);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases_json),
		cmocka_unit_test(test_negative_case_details),
		cmocka_unit_test(test_tampered_reports),
		cmocka_unit_test(test_tampered_leaf),
		cmocka_unit_test(test_wrong_product_roots),
		cmocka_unit_test(test_validity_window),
		cmocka_unit_test(test_chain_only),
		cmocka_unit_test(test_check_order),
		cmocka_unit_test(test_explicit_root),
		cmocka_unit_test(test_add_root_refusals),
		cmocka_unit_test(test_synthetic_defects),
		cmocka_unit_test(test_synthetic_ca),
		cmocka_unit_test(test_synthetic_products),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_cache_threads),
		cmocka_unit_test(test_api_edges),
	};

	return cmocka_run_group_tests(tests, keys_setup, keys_teardown);
}
