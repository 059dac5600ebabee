/* Trustee's SNP evidence JSON: the real e2e sample maps to its raw report
 * byte for byte, every real report round-trips raw -> JSON -> raw, and each
 * rule of the strict parser refuses its malformation with its reason code. */
#include "helpers/testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/codec.h"
#include "snp/evidence.h"
#include "snp/report.h"

/* ------------------------------------------------------------ fixtures */

enum tcert { C_VCEK, C_VLEK, C_ARK, C_ASK, C_ASVK, C_OTHER, C_NOCN, C_TWOCN, C_BARE_ARK, C_COUNT };
static X509 *certs[C_COUNT];

static void add_name(X509_NAME *n, const char *field, const char *value)
{
	const unsigned char *v = (const unsigned char *)value;

	assert_int_equal(X509_NAME_add_entry_by_txt(n, field, MBSTRING_ASC, v, -1, -1, 0), 1);
}

static X509 *make_cert(const char *cn, const char *cn2)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	assert_non_null(k);
	assert_non_null(x);
	assert_non_null(n);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 7), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	add_name(n, "O", "Test Devices");
	if (cn)
		add_name(n, "CN", cn);
	if (cn2)
		add_name(n, "CN", cn2);
	assert_int_equal(X509_set_subject_name(x, n), 1);
	assert_int_equal(X509_set_issuer_name(x, n), 1);
	assert_int_equal(X509_set_pubkey(x, k), 1);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	X509_NAME_free(n);
	EVP_PKEY_free(k);
	return x;
}

static int setup(void **state)
{
	(void)state;
	certs[C_VCEK] = make_cert("SEV-VCEK", NULL);
	certs[C_VLEK] = make_cert("SEV-VLEK", NULL);
	certs[C_ARK] = make_cert("ARK-Test", NULL);
	certs[C_ASK] = make_cert("SEV-Test", NULL);
	certs[C_ASVK] = make_cert("SEV-VLEK-Test", NULL);
	certs[C_OTHER] = make_cert("Some Other CA", NULL);
	certs[C_NOCN] = make_cert(NULL, NULL);
	certs[C_TWOCN] = make_cert("SEV-VCEK", "SEV-VCEK");
	certs[C_BARE_ARK] = make_cert("ARK-", NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < C_COUNT; i++)
		X509_free(certs[i]);
	return 0;
}

/* A synthetic report: v2 (no CPUID), v3 Genoa or v5 Turin. */
static void make_raw(unsigned version, uint8_t raw[SNP_REPORT_SIZE])
{
	struct snp_report r;
	struct snp_tcb t = { .bootloader = 10, .tee = 1, .snp = 23, .microcode = 84 };
	enum snp_product p = SNP_PRODUCT_GENOA;

	memset(&r, 0, sizeof(r));
	r.version = version;
	r.guest_svn = 7;
	r.policy = 0x30000;
	r.sig_algo = 1;
	r.platform_info = 0x25;
	r.vmpl = 0;
	r.has_cpuid = version >= 3;
	if (version >= 5) {
		r.cpuid_fam_id = 0x1A;
		r.cpuid_mod_id = 0x02;
		r.has_mit_vectors = true;
		r.launch_mit_vector = 1;
		r.current_mit_vector = 3;
		t.has_fmc = true;
		t.fmc = 2;
		p = SNP_PRODUCT_TURIN;
	} else if (version >= 3) {
		r.cpuid_fam_id = 0x19;
		r.cpuid_mod_id = 0x11;
		r.cpuid_step = 1;
	}
	for (unsigned i = 0; i < 64; i++) {
		r.report_data[i] = (uint8_t)(i * 3);
		r.chip_id[i] = (uint8_t)(0xC0 ^ i);
	}
	for (unsigned i = 0; i < 48; i++) {
		r.measurement[i] = (uint8_t)(0x80 + i);
		r.sig_r[i] = (uint8_t)(i + 1);
		r.sig_s[i] = (uint8_t)(0xFF - i);
	}
	memset(r.report_id_ma, 0xFF, 32);
	r.report_id[0] = 0x42;
	snp_tcb_encode(&t, p, r.current_tcb);
	snp_tcb_encode(&t, p, r.reported_tcb);
	snp_tcb_encode(&t, p, r.committed_tcb);
	t.microcode = 80;
	snp_tcb_encode(&t, p, r.launch_tcb);
	r.current = (struct snp_fw_version){ .major = 1, .minor = 55, .build = 40 };
	r.committed = (struct snp_fw_version){ .major = 1, .minor = 55, .build = 39 };
	snp_report_encode(&r, raw);
	assert_int_equal(snp_report_parse(raw, SNP_REPORT_SIZE, &r, NULL), 0);
}

static json_t *report_json(unsigned version)
{
	uint8_t raw[SNP_REPORT_SIZE];
	struct snp_report r;
	json_t *j;

	make_raw(version, raw);
	assert_int_equal(snp_report_parse(raw, SNP_REPORT_SIZE, &r, NULL), 0);
	j = snp_report_to_json(&r, snp_report_product(&r));
	assert_non_null(j);
	return j;
}

static json_t *bytes_array(const uint8_t *b, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		assert_int_equal(json_array_append_new(a, json_integer(b[i])), 0);
	return a;
}

static json_t *int_array(size_t n, json_int_t v)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		assert_int_equal(json_array_append_new(a, json_integer(v)), 0);
	return a;
}

/* Refusal of snp_report_from_json with @code and @needle in the detail.
 * Takes @rep. */
static void expect_report_fail(json_t *rep, const char *code, const char *needle)
{
	uint8_t out[SNP_REPORT_SIZE];
	struct ccu_reason why = { 0 };

	assert_int_equal(snp_report_from_json(rep, out, &why), -EBADMSG);
	assert_string_equal(why.code, code);
	if (needle && !strstr(why.detail, needle))
		fail_msg("detail \"%s\" lacks \"%s\"", why.detail, needle);
	json_decref(rep);
}

static void expect_report_ok(json_t *rep, uint8_t out[SNP_REPORT_SIZE])
{
	struct ccu_reason why = { 0 };

	if (snp_report_from_json(rep, out, &why) != 0)
		fail_msg("%s: %s", why.code, why.detail);
	json_decref(rep);
}

static void set(json_t *o, const char *key, json_t *v)
{
	assert_int_equal(json_object_set_new(o, key, v), 0);
}

static json_t *member(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	assert_non_null(v);
	return v;
}

/* ------------------------------------------------------------ real vectors */

static json_t *load_json(const char *path)
{
	json_error_t jerr;
	json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);

	if (!j)
		fail_msg("%s: %s", path, jerr.text);
	return j;
}

static void test_e2e_json_to_raw(void **state)
{
	uint8_t out[SNP_REPORT_SIZE];
	struct ccu_reason why = { 0 };
	uint8_t *raw;
	size_t n;
	json_t *ev;

	(void)state;
	TU_REQUIRE_VECTORS();
	ev = load_json(tu_vec("trustee/e2e-evidence.json"));
	raw = tu_read(tu_vec("trustee/e2e-evidence.report.bin"), &n);
	assert_int_equal(n, SNP_REPORT_SIZE);
	if (snp_report_from_json(member(ev, "attestation_report"), out, &why) != 0)
		fail_msg("%s: %s", why.code, why.detail);
	assert_memory_equal(out, raw, SNP_REPORT_SIGNED_LEN);
	/* and the signature and the zero tail too */
	assert_memory_equal(out, raw, SNP_REPORT_SIZE);
	free(raw);
	json_decref(ev);
}

static void test_e2e_raw_to_json_is_the_sample(void **state)
{
	struct snp_report r;
	json_t *ev, *mine, *theirs;
	const char *k1, *k2;
	uint8_t *raw;
	size_t n;
	void *i1, *i2;

	(void)state;
	TU_REQUIRE_VECTORS();
	ev = load_json(tu_vec("trustee/e2e-evidence.json"));
	raw = tu_read(tu_vec("trustee/e2e-evidence.report.bin"), &n);
	assert_int_equal(snp_report_parse(raw, n, &r, NULL), 0);
	assert_int_equal(snp_report_product(&r), SNP_PRODUCT_GENOA);
	mine = snp_report_to_json(&r, SNP_PRODUCT_GENOA);
	theirs = member(ev, "attestation_report");
	assert_true(json_equal(mine, theirs));
	/* Same member order as Trustee's attester emits. */
	i1 = json_object_iter(mine);
	i2 = json_object_iter(theirs);
	while (i1 && i2) {
		k1 = json_object_iter_key(i1);
		k2 = json_object_iter_key(i2);
		assert_string_equal(k1, k2);
		i1 = json_object_iter_next(mine, i1);
		i2 = json_object_iter_next(theirs, i2);
	}
	assert_null(i1);
	assert_null(i2);
	json_decref(mine);
	json_decref(ev);
	free(raw);
}

static void test_e2e_evidence_parses(void **state)
{
	struct snp_evidence e;
	struct ccu_reason why = { 0 };
	uint8_t *text, *raw, *der;
	size_t n, rn, dn;
	unsigned char *enc = NULL;
	int len;

	(void)state;
	TU_REQUIRE_VECTORS();
	text = tu_read(tu_vec("trustee/e2e-evidence.json"), &n);
	raw = tu_read(tu_vec("trustee/e2e-evidence.report.bin"), &rn);
	der = tu_read(tu_vec("trustee/e2e-evidence.vcek.der"), &dn);
	if (snp_evidence_parse_text((const char *)text, n, &e, &why) != 0)
		fail_msg("%s: %s", why.code, why.detail);
	assert_memory_equal(e.raw, raw, SNP_REPORT_SIZE);
	assert_false(e.had_raw_member);
	assert_non_null(e.certs);
	assert_int_equal(sk_X509_num(e.certs), 1);
	len = i2d_X509(sk_X509_value(e.certs, 0), &enc);
	assert_int_equal(len, (int)dn);
	assert_memory_equal(enc, der, dn);
	OPENSSL_free(enc);
	snp_evidence_done(&e);
	assert_null(e.certs);
	free(text);
	free(raw);
	free(der);
}

static void roundtrip_one(const uint8_t raw[SNP_REPORT_SIZE], const char *name)
{
	uint8_t back[SNP_REPORT_SIZE];
	struct snp_report r;
	struct snp_evidence e;
	struct ccu_reason why = { 0 };
	json_t *j, *ev;
	char *text;

	assert_int_equal(snp_report_parse(raw, SNP_REPORT_SIZE, &r, NULL), 0);
	j = snp_report_to_json(&r, snp_report_product(&r));
	assert_non_null(j);
	if (snp_report_from_json(j, back, &why) != 0)
		fail_msg("%s: %s: %s", name, why.code, why.detail);
	if (memcmp(raw, back, SNP_REPORT_SIZE) != 0)
		fail_msg("%s: raw -> JSON -> raw differs", name);
	json_decref(j);

	ev = snp_evidence_build(raw, NULL);
	assert_non_null(ev);
	assert_true(json_is_null(json_object_get(ev, "cert_chain")));
	text = json_dumps(ev, JSON_COMPACT);
	assert_non_null(text);
	if (snp_evidence_parse_text(text, strlen(text), &e, &why) != 0)
		fail_msg("%s: %s: %s", name, why.code, why.detail);
	assert_true(e.had_raw_member);
	assert_null(e.certs);
	assert_memory_equal(e.raw, raw, SNP_REPORT_SIZE);
	snp_evidence_done(&e);
	free(text);
	json_decref(ev);
}

static void test_real_reports_round_trip(void **state)
{
	json_t *cases, *c;
	size_t i, done = 0;
	bool v2 = false, v3 = false, genoa5 = false, turin = false, vlek = false;

	(void)state;
	TU_REQUIRE_VECTORS();
	cases = load_json(tu_vec("cases.json"));
	json_array_foreach(member(cases, "cases"), i, c) {
		const char *file = json_string_value(json_object_get(c, "report"));
		json_int_t off = json_integer_value(json_object_get(c, "offset"));
		struct snp_report r;
		uint8_t *d;
		size_t n;

		if (!file)
			continue;
		d = tu_read_report(tu_vec(file), (size_t)off, &n);
		/* The negative cases include reports that do not even parse. */
		if (n < SNP_REPORT_SIZE || snp_report_parse(d, SNP_REPORT_SIZE, &r, NULL) != 0) {
			free(d);
			continue;
		}
		roundtrip_one(d, file);
		done++;
		v2 |= r.version == 2;
		v3 |= r.version == 3;
		genoa5 |= r.version == 5 && snp_report_product(&r) == SNP_PRODUCT_GENOA;
		turin |= snp_report_product(&r) == SNP_PRODUCT_TURIN;
		vlek |= SNP_KEY_INFO_SIGNING_KEY(r.key_info) == SNP_SIGNING_KEY_VLEK;
		free(d);
	}
	json_decref(cases);
	assert_true(done >= 25);
	assert_true(v2 && v3 && genoa5 && turin && vlek);
}

static void test_turin_json_form(void **state)
{
	struct snp_report r;
	uint8_t *raw;
	size_t n;
	json_t *j, *t;

	(void)state;
	TU_REQUIRE_VECTORS();
	raw = tu_read(tu_vec("oak/turin_oc.report.bin"), &n);
	assert_int_equal(snp_report_parse(raw, n, &r, NULL), 0);
	j = snp_report_to_json(&r, SNP_PRODUCT_TURIN);
	t = member(j, "reported_tcb");
	assert_int_equal(json_integer_value(member(t, "fmc")), 0);
	assert_int_equal(json_integer_value(member(t, "bootloader")), 1);
	assert_int_equal(json_integer_value(member(t, "tee")), 0);
	assert_int_equal(json_integer_value(member(t, "snp")), 2);
	assert_int_equal(json_integer_value(member(t, "microcode")), 71);
	assert_true(json_is_integer(member(j, "launch_mit_vector")));
	assert_true(json_is_integer(member(j, "current_mit_vector")));
	/* Milan/Genoa form of a Turin report is refused, not mis-encoded. */
	json_decref(j);
	j = snp_report_to_json(&r, SNP_PRODUCT_GENOA);
	expect_report_fail(j, "EVIDENCE_JSON", "CPUID 1Ah/02h is Turin");
	free(raw);
}

static void test_build_real_chain(void **state)
{
	static const struct {
		const char *file;
		const char *type;
	} chain[] = {
		{ "trustee/e2e-evidence.vcek.der", "VCEK" },
		{ "amd-roots/genoa/ask.der", "ASK" },
		{ "amd-roots/genoa/ark.der", "ARK" },
		{ "amd-roots/genoa/asvk.der", "ASK" },
		{ "trustee/test-vlek.der", "VLEK" },
	};
	STACK_OF(X509) *sk = sk_X509_new_null();
	struct snp_evidence e;
	struct ccu_reason why = { 0 };
	uint8_t *raw;
	size_t n;
	json_t *ev, *cc;
	char *text;

	(void)state;
	TU_REQUIRE_VECTORS();
	for (size_t i = 0; i < ARRAY_SIZE(chain); i++) {
		uint8_t *der = tu_read(tu_vec(chain[i].file), &n);
		const unsigned char *p = der;
		X509 *x = d2i_X509(NULL, &p, (long)n);

		assert_non_null(x);
		assert_true(sk_X509_push(sk, x) > 0);
		free(der);
	}
	raw = tu_read(tu_vec("trustee/e2e-evidence.report.bin"), &n);
	ev = snp_evidence_build(raw, sk);
	assert_non_null(ev);
	cc = member(ev, "cert_chain");
	assert_int_equal(json_array_size(cc), ARRAY_SIZE(chain));
	for (size_t i = 0; i < ARRAY_SIZE(chain); i++)
		assert_string_equal(json_string_value(member(json_array_get(cc, i), "cert_type")),
				    chain[i].type);
	text = json_dumps(ev, JSON_COMPACT);
	if (snp_evidence_parse_text(text, strlen(text), &e, &why) != 0)
		fail_msg("%s: %s", why.code, why.detail);
	assert_int_equal(sk_X509_num(e.certs), ARRAY_SIZE(chain));
	for (size_t i = 0; i < ARRAY_SIZE(chain); i++)
		assert_int_equal(X509_cmp(sk_X509_value(e.certs, (int)i), sk_X509_value(sk, (int)i)),
				 0);
	snp_evidence_done(&e);
	free(text);
	json_decref(ev);
	free(raw);
	sk_X509_pop_free(sk, X509_free);
}

/* ------------------------------------------------------------ JSON <-> raw, synthetic */

static void test_synthetic_round_trips_and_layouts(void **state)
{
	static const char *const order[] = {
		"version", "guest_svn", "policy", "family_id", "image_id", "vmpl", "sig_algo",
		"current_tcb", "plat_info", "key_info", "report_data", "measurement", "host_data",
		"id_key_digest", "author_key_digest", "report_id", "report_id_ma", "reported_tcb",
		"cpuid_fam_id", "cpuid_mod_id", "cpuid_step", "chip_id", "committed_tcb", "current",
		"committed", "launch_tcb", "launch_mit_vector", "current_mit_vector", "signature",
	};

	(void)state;
	for (unsigned v = 2; v <= 5; v++) {
		uint8_t raw[SNP_REPORT_SIZE], out[SNP_REPORT_SIZE];
		json_t *j = report_json(v);
		const char *key;
		json_t *val;
		size_t k = 0;

		json_object_foreach(j, key, val) {
			while (k < ARRAY_SIZE(order) && strcmp(order[k], key) != 0)
				k++;
			assert_true(k < ARRAY_SIZE(order)); /* present and in order */
		}
		assert_int_equal(json_object_size(j), v >= 5 ? 29 : 27);
		assert_true(json_is_null(member(j, "cpuid_fam_id")) == (v == 2));
		assert_true(json_is_null(member(member(j, "launch_tcb"), "fmc")) == (v < 5));
		make_raw(v, raw);
		expect_report_ok(j, out);
		assert_memory_equal(raw, out, SNP_REPORT_SIZE);
	}
}

static void test_field_placement(void **state)
{
	uint8_t out[SNP_REPORT_SIZE];
	json_t *j;

	(void)state;
	/* Firmware version: major/minor/build stored as build, minor, major. */
	j = report_json(3);
	set(member(j, "current"), "major", json_integer(9));
	set(member(j, "current"), "minor", json_integer(8));
	set(member(j, "current"), "build", json_integer(7));
	set(member(j, "committed"), "major", json_integer(3));
	set(member(j, "committed"), "minor", json_integer(2));
	set(member(j, "committed"), "build", json_integer(1));
	expect_report_ok(j, out);
	assert_memory_equal(out + 0x1E8, ((uint8_t[8]){ 7, 8, 9, 0, 1, 2, 3, 0 }), 8);

	/* Milan/Genoa TCB: bl, tee, 0, 0, 0, 0, snp, ucode. */
	j = report_json(3);
	set(member(j, "reported_tcb"), "bootloader", json_integer(1));
	set(member(j, "reported_tcb"), "tee", json_integer(2));
	set(member(j, "reported_tcb"), "snp", json_integer(3));
	set(member(j, "reported_tcb"), "microcode", json_integer(255));
	expect_report_ok(j, out);
	assert_memory_equal(out + SNP_OFF_REPORTED_TCB, ((uint8_t[8]){ 1, 2, 0, 0, 0, 0, 3, 255 }),
			    8);

	/* Turin TCB: fmc, bl, tee, snp, 0, 0, 0, ucode. */
	j = report_json(5);
	set(member(j, "launch_tcb"), "fmc", json_integer(4));
	set(member(j, "launch_tcb"), "bootloader", json_integer(1));
	set(member(j, "launch_tcb"), "tee", json_integer(2));
	set(member(j, "launch_tcb"), "snp", json_integer(3));
	set(member(j, "launch_tcb"), "microcode", json_integer(200));
	set(j, "launch_mit_vector", json_integer(0x0102030405060708LL));
	set(j, "plat_info", json_integer(INT64_MAX));
	set(j, "guest_svn", json_integer(UINT32_MAX));
	expect_report_ok(j, out);
	assert_memory_equal(out + SNP_OFF_LAUNCH_TCB, ((uint8_t[8]){ 4, 1, 2, 3, 0, 0, 0, 200 }),
			    8);
	assert_memory_equal(out + SNP_OFF_LAUNCH_MIT_VECTOR,
			    ((uint8_t[8]){ 8, 7, 6, 5, 4, 3, 2, 1 }), 8);
	assert_memory_equal(out + SNP_OFF_PLATFORM_INFO,
			    ((uint8_t[8]){ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f }), 8);
	assert_memory_equal(out + SNP_OFF_GUEST_SVN, ((uint8_t[4]){ 0xff, 0xff, 0xff, 0xff }), 4);

	/* A v2 report may use either layout (no CPUID to contradict it). */
	j = report_json(2);
	set(member(j, "current_tcb"), "fmc", json_integer(5));
	set(member(j, "reported_tcb"), "fmc", json_integer(5));
	set(member(j, "committed_tcb"), "fmc", json_integer(5));
	set(member(j, "launch_tcb"), "fmc", json_integer(5));
	expect_report_ok(j, out);
	assert_int_equal(out[SNP_OFF_CURRENT_TCB], 5);
	assert_int_equal(out[SNP_OFF_CURRENT_TCB + 1], 10);

	/* Optional members absent instead of null. */
	j = report_json(2);
	assert_int_equal(json_object_del(j, "cpuid_fam_id"), 0);
	assert_int_equal(json_object_del(member(j, "launch_tcb"), "fmc"), 0);
	set(j, "launch_mit_vector", json_null());
	expect_report_ok(j, out);

	/* The signature is copied little-endian as stored. */
	j = report_json(3);
	set(member(j, "signature"), "r", int_array(72, 0));
	json_array_set_new(member(member(j, "signature"), "r"), 0, json_integer(0xAB));
	json_array_set_new(member(member(j, "signature"), "s"), 71, json_integer(0xCD));
	expect_report_ok(j, out);
	assert_int_equal(out[SNP_OFF_SIG_R], 0xAB);
	assert_int_equal(out[SNP_OFF_SIG_R + 1], 0);
	assert_int_equal(out[SNP_OFF_SIG_END - 1], 0xCD);
}

static void test_rejects_shape(void **state)
{
	json_t *j;

	(void)state;
	expect_report_fail(json_array(), "EVIDENCE_JSON", "expected an object");
	expect_report_fail(json_null(), "EVIDENCE_JSON", "expected an object");
	expect_report_fail(json_string("AgAAAA=="), "EVIDENCE_JSON", "expected an object");
	{
		uint8_t out[SNP_REPORT_SIZE];
		struct ccu_reason why = { 0 };

		assert_int_equal(snp_report_from_json(NULL, out, &why), -EBADMSG);
		assert_string_equal(why.code, "EVIDENCE_JSON");
	}

	j = report_json(3);
	set(j, "report_b64", json_string("x"));
	expect_report_fail(j, "EVIDENCE_JSON", "unknown member \"report_b64\"");
	j = report_json(3);
	set(j, "Version", json_integer(3));
	expect_report_fail(j, "EVIDENCE_JSON", "unknown member \"Version\"");

	/* Every required member is required. */
	static const char *const required[] = {
		"version", "guest_svn", "policy", "family_id", "image_id", "vmpl", "sig_algo",
		"current_tcb", "plat_info", "key_info", "report_data", "measurement", "host_data",
		"id_key_digest", "author_key_digest", "report_id", "report_id_ma", "reported_tcb",
		"chip_id", "committed_tcb", "current", "committed", "launch_tcb", "signature",
	};
	for (size_t i = 0; i < ARRAY_SIZE(required); i++) {
		j = report_json(3);
		assert_int_equal(json_object_del(j, required[i]), 0);
		expect_report_fail(j, "EVIDENCE_JSON", required[i]);
	}
}

static void test_rejects_types_and_ranges(void **state)
{
	static const struct {
		const char *key;
		json_int_t bad;
	} ranges[] = {
		{ "version", 1 }, { "version", 6 }, { "version", 0x100000003LL }, { "version", -3 },
		{ "guest_svn", 0x100000000LL }, { "guest_svn", -1 }, { "vmpl", -1 },
		{ "vmpl", 0x100000000LL }, { "sig_algo", 0x100000001LL }, { "key_info", -1 },
		{ "policy", -1 }, { "plat_info", INT64_MIN },
	};
	json_t *j;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(ranges); i++) {
		j = report_json(3);
		set(j, ranges[i].key, json_integer(ranges[i].bad));
		expect_report_fail(j, "EVIDENCE_JSON", ranges[i].key);
	}
	j = report_json(3);
	set(j, "version", json_string("3"));
	expect_report_fail(j, "EVIDENCE_JSON", "version: expected an integer");
	j = report_json(3);
	set(j, "policy", json_real(196608.0));
	expect_report_fail(j, "EVIDENCE_JSON", "got a real number");
	j = report_json(3);
	set(j, "vmpl", json_null());
	expect_report_fail(j, "EVIDENCE_JSON", "vmpl");
	j = report_json(3);
	set(j, "key_info", json_true());
	expect_report_fail(j, "EVIDENCE_JSON", "key_info");
}

static void test_rejects_byte_arrays(void **state)
{
	static const struct {
		const char *key;
		size_t len;
	} arrays[] = {
		{ "family_id", 16 }, { "image_id", 16 }, { "report_data", 64 },
		{ "measurement", 48 }, { "host_data", 32 }, { "id_key_digest", 48 }, { "author_key_digest", 48 },
		{ "report_id", 32 }, { "report_id_ma", 32 }, { "chip_id", 64 },
	};
	json_t *j;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(arrays); i++) {
		j = report_json(3);
		set(j, arrays[i].key, int_array(arrays[i].len - 1, 0));
		expect_report_fail(j, "EVIDENCE_JSON", "bytes, got");
		j = report_json(3);
		set(j, arrays[i].key, int_array(arrays[i].len + 1, 0));
		expect_report_fail(j, "EVIDENCE_JSON", arrays[i].key);
		j = report_json(3);
		set(j, arrays[i].key, json_array());
		expect_report_fail(j, "EVIDENCE_JSON", arrays[i].key);
		j = report_json(3);
		set(j, arrays[i].key, json_string("00"));
		expect_report_fail(j, "EVIDENCE_JSON", "expected an array");
	}
	j = report_json(3);
	json_array_set_new(member(j, "measurement"), 5, json_integer(256));
	expect_report_fail(j, "EVIDENCE_JSON", "measurement[5]");
	j = report_json(3);
	json_array_set_new(member(j, "measurement"), 47, json_integer(-1));
	expect_report_fail(j, "EVIDENCE_JSON", "measurement[47]");
	j = report_json(3);
	json_array_set_new(member(j, "chip_id"), 0, json_string("1"));
	expect_report_fail(j, "EVIDENCE_JSON", "chip_id[0]: expected an integer 0..255, got a string");
	j = report_json(3);
	json_array_set_new(member(j, "chip_id"), 1, json_real(1.0));
	expect_report_fail(j, "EVIDENCE_JSON", "chip_id[1]");
	j = report_json(3);
	json_array_set_new(member(j, "chip_id"), 2, json_null());
	expect_report_fail(j, "EVIDENCE_JSON", "chip_id[2]");
	j = report_json(3);
	json_array_set_new(member(j, "chip_id"), 3, int_array(1, 1));
	expect_report_fail(j, "EVIDENCE_JSON", "chip_id[3]");
}

static void test_version_dependent_members(void **state)
{
	json_t *j;

	(void)state;
	/* v2 has no CPUID: numbers are refused. */
	j = report_json(2);
	set(j, "cpuid_fam_id", json_integer(0x19));
	expect_report_fail(j, "EVIDENCE_JSON", "cpuid_fam_id: must be null or absent in a version 2");
	j = report_json(2);
	set(j, "cpuid_step", json_integer(0));
	expect_report_fail(j, "EVIDENCE_JSON", "cpuid_step");
	/* v3+ must carry them. */
	j = report_json(3);
	set(j, "cpuid_mod_id", json_null());
	expect_report_fail(j, "EVIDENCE_JSON", "cpuid_mod_id: expected an integer 0..255, got null");
	j = report_json(4);
	assert_int_equal(json_object_del(j, "cpuid_step"), 0);
	expect_report_fail(j, "EVIDENCE_JSON", "cpuid_step");
	j = report_json(3);
	set(j, "cpuid_fam_id", json_integer(256));
	expect_report_fail(j, "EVIDENCE_JSON", "cpuid_fam_id");
	/* Mitigation vectors only in v5. */
	j = report_json(4);
	set(j, "launch_mit_vector", json_integer(0));
	expect_report_fail(j, "EVIDENCE_JSON", "launch_mit_vector: must be null or absent in a version 4");
	j = report_json(3);
	set(j, "current_mit_vector", json_integer(1));
	expect_report_fail(j, "EVIDENCE_JSON", "current_mit_vector");
	j = report_json(5);
	set(j, "current_mit_vector", json_null());
	expect_report_fail(j, "EVIDENCE_JSON", "current_mit_vector: expected an integer");
	j = report_json(5);
	assert_int_equal(json_object_del(j, "launch_mit_vector"), 0);
	expect_report_fail(j, "EVIDENCE_JSON", "launch_mit_vector");
	j = report_json(5);
	set(j, "launch_mit_vector", json_integer(-2));
	expect_report_fail(j, "EVIDENCE_JSON", "launch_mit_vector");
}

static void test_rejects_tcb_objects(void **state)
{
	static const char *const tcbs[] = { "current_tcb", "reported_tcb", "committed_tcb",
					    "launch_tcb" };
	json_t *j;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(tcbs); i++) {
		j = report_json(3);
		set(member(j, tcbs[i]), "spl_4", json_integer(0));
		expect_report_fail(j, "EVIDENCE_JSON", "unknown member \"spl_4\"");
		j = report_json(3);
		assert_int_equal(json_object_del(member(j, tcbs[i]), "microcode"), 0);
		expect_report_fail(j, "EVIDENCE_JSON", "microcode");
		j = report_json(3);
		set(member(j, tcbs[i]), "snp", json_integer(256));
		expect_report_fail(j, "EVIDENCE_JSON", "snp");
		j = report_json(5);
		set(member(j, tcbs[i]), "fmc", json_integer(-1));
		expect_report_fail(j, "EVIDENCE_JSON", "fmc");
		j = report_json(5);
		set(member(j, tcbs[i]), "fmc", json_string("0"));
		expect_report_fail(j, "EVIDENCE_JSON", "fmc");
		j = report_json(3);
		set(j, tcbs[i], int_array(8, 0)); /* the raw bytes are not the JSON form */
		expect_report_fail(j, "EVIDENCE_JSON", "expected an object, got an array");
		/* Turin/legacy mix inside one report. */
		j = report_json(3);
		set(member(j, tcbs[i]), "fmc", json_integer(0));
		expect_report_fail(j, "EVIDENCE_JSON", "layouts mixed");
		j = report_json(5);
		set(member(j, tcbs[i]), "fmc", json_null());
		expect_report_fail(j, "EVIDENCE_JSON", "layouts mixed");
	}
	/* A consistent layout that contradicts the CPUID product. */
	j = report_json(3);
	for (size_t i = 0; i < ARRAY_SIZE(tcbs); i++)
		set(member(j, tcbs[i]), "fmc", json_integer(0));
	expect_report_fail(j, "EVIDENCE_JSON", "CPUID 19h/11h is Genoa");
	j = report_json(5);
	for (size_t i = 0; i < ARRAY_SIZE(tcbs); i++)
		set(member(j, tcbs[i]), "fmc", json_null());
	expect_report_fail(j, "EVIDENCE_JSON", "TCB objects use the Milan/Genoa layout");
}

static void test_rejects_fw_and_signature(void **state)
{
	json_t *j;

	(void)state;
	j = report_json(3);
	assert_int_equal(json_object_del(member(j, "current"), "major"), 0);
	expect_report_fail(j, "EVIDENCE_JSON", "current.major");
	j = report_json(3);
	set(member(j, "committed"), "patch", json_integer(0));
	expect_report_fail(j, "EVIDENCE_JSON", "unknown member \"patch\"");
	j = report_json(3);
	set(member(j, "committed"), "build", json_integer(256));
	expect_report_fail(j, "EVIDENCE_JSON", "committed.build");
	j = report_json(3);
	set(j, "current", json_string("1.55.40"));
	expect_report_fail(j, "EVIDENCE_JSON", "current: expected an object");

	j = report_json(3);
	set(member(j, "signature"), "r", int_array(48, 1));
	expect_report_fail(j, "EVIDENCE_JSON", "signature.r: expected 72 bytes, got 48");
	j = report_json(3);
	set(member(j, "signature"), "s", int_array(73, 0));
	expect_report_fail(j, "EVIDENCE_JSON", "signature.s");
	j = report_json(3);
	assert_int_equal(json_object_del(member(j, "signature"), "s"), 0);
	expect_report_fail(j, "EVIDENCE_JSON", "signature.s");
	j = report_json(3);
	set(member(j, "signature"), "reserved", int_array(368, 0));
	expect_report_fail(j, "EVIDENCE_JSON", "unknown member \"reserved\"");
	j = report_json(3);
	set(j, "signature", int_array(144, 0));
	expect_report_fail(j, "EVIDENCE_JSON", "signature: expected an object");
}

static void test_to_json_limits(void **state)
{
	uint8_t raw[SNP_REPORT_SIZE];
	struct snp_report r;

	(void)state;
	/* jansson integers are signed 64-bit: no JSON form for bit 63. */
	make_raw(3, raw);
	raw[SNP_OFF_PLATFORM_INFO + 7] = 0x80;
	assert_int_equal(snp_report_parse(raw, SNP_REPORT_SIZE, &r, NULL), 0);
	errno = 0;
	assert_null(snp_report_to_json(&r, SNP_PRODUCT_GENOA));
	assert_int_equal(errno, ERANGE);
	errno = 0;
	assert_null(snp_evidence_build(raw, NULL));
	assert_int_equal(errno, ERANGE);
}

/* ------------------------------------------------------------ evidence */

static json_t *cert_entry(const char *type, X509 *x)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	json_t *o = json_object();

	assert_true(n > 0);
	set(o, "cert_type", json_string(type));
	set(o, "data", bytes_array(der, (size_t)n));
	OPENSSL_free(der);
	return o;
}

static json_t *evidence(unsigned version)
{
	uint8_t raw[SNP_REPORT_SIZE];
	json_t *ev;

	make_raw(version, raw);
	ev = snp_evidence_build(raw, NULL);
	assert_non_null(ev);
	return ev;
}

/* snp_evidence_parse of @ev (taken) must fail with @code / @needle. */
static void expect_ev_fail(json_t *ev, const char *code, const char *needle)
{
	struct snp_evidence e;
	struct ccu_reason why = { 0 };

	assert_int_equal(snp_evidence_parse(ev, &e, &why), -EBADMSG);
	assert_string_equal(why.code, code);
	if (needle && !strstr(why.detail, needle))
		fail_msg("detail \"%s\" lacks \"%s\"", why.detail, needle);
	assert_null(e.certs);
	json_decref(ev);
}

/* Parses @ev (taken); returns the number of certificates. */
static int expect_ev_ok(json_t *ev, struct snp_evidence *e)
{
	struct ccu_reason why = { 0 };
	int n;

	if (snp_evidence_parse(ev, e, &why) != 0)
		fail_msg("%s: %s", why.code, why.detail);
	json_decref(ev);
	n = e->certs ? sk_X509_num(e->certs) : 0;
	return n;
}

static json_t *chain_of(json_t *ev)
{
	json_t *a = json_array();

	set(ev, "cert_chain", a);
	return a;
}

static void test_evidence_shape(void **state)
{
	struct snp_evidence e;
	json_t *ev;

	(void)state;
	expect_ev_fail(json_array(), "EVIDENCE_JSON", "primary_evidence: expected an object");
	ev = evidence(3);
	set(ev, "tee", json_string("snp"));
	expect_ev_fail(ev, "EVIDENCE_JSON", "primary_evidence: unknown member \"tee\"");
	ev = evidence(3);
	assert_int_equal(json_object_del(ev, "attestation_report"), 0);
	expect_ev_fail(ev, "EVIDENCE_JSON", "attestation_report");
	ev = evidence(3);
	assert_int_equal(json_object_del(ev, "cert_chain"), 0);
	expect_ev_fail(ev, "EVIDENCE_JSON", "cert_chain");
	/* A full Trustee tee-evidence wrapper is not primary_evidence. */
	ev = json_object();
	set(ev, "primary_evidence", evidence(3));
	set(ev, "additional_evidence", json_string(""));
	expect_ev_fail(ev, "EVIDENCE_JSON", "unknown member");
	/* report_b64 is optional. */
	ev = evidence(5);
	assert_int_equal(json_object_del(ev, "report_b64"), 0);
	assert_int_equal(expect_ev_ok(ev, &e), 0);
	assert_false(e.had_raw_member);
	assert_null(e.certs);
	snp_evidence_done(&e);
	/* The evidence carries only well-formed reports: FORMAT_* reasons. */
	ev = evidence(3);
	assert_int_equal(json_object_del(ev, "report_b64"), 0);
	set(member(ev, "attestation_report"), "sig_algo", json_integer(2));
	expect_ev_fail(ev, "FORMAT_SIG_ALGO", NULL);
	ev = evidence(3);
	assert_int_equal(json_object_del(ev, "report_b64"), 0);
	set(member(ev, "attestation_report"), "policy", json_integer(0));
	expect_ev_fail(ev, "FORMAT_POLICY", NULL);
}

static void test_report_b64(void **state)
{
	uint8_t raw[SNP_REPORT_SIZE];
	struct snp_evidence e;
	char *b64;
	json_t *ev;

	(void)state;
	ev = evidence(3);
	assert_int_equal(expect_ev_ok(ev, &e), 0);
	assert_true(e.had_raw_member);
	snp_evidence_done(&e);

	ev = evidence(3);
	set(ev, "report_b64", int_array(SNP_REPORT_SIZE, 0));
	expect_ev_fail(ev, "EVIDENCE_JSON", "report_b64: expected a base64 string, got an array");
	ev = evidence(3);
	set(ev, "report_b64", json_null());
	expect_ev_fail(ev, "EVIDENCE_JSON", "report_b64");

	make_raw(3, raw);
	b64 = ccu_b64_encode_alloc(raw, SNP_REPORT_SIZE, CCU_B64_STD);
	assert_non_null(b64);
	/* Not base64 / the URL alphabet / padding removed / whitespace. */
	{
		static const struct {
			size_t at;
			char c;
		} bad[] = { { 10, '*' }, { 11, '-' }, { 12, '_' }, { 13, ' ' }, { 1579, 'A' } };
		for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
			char *s = strdup(b64);

			s[bad[i].at] = bad[i].c;
			ev = evidence(3);
			set(ev, "report_b64", json_string(s));
			expect_ev_fail(ev, "EVIDENCE_JSON", "do not decode");
			free(s);
		}
	}
	{
		char *s = strdup(b64);

		s[4] = '\0'; /* 3 bytes */
		ev = evidence(3);
		set(ev, "report_b64", json_string(s));
		expect_ev_fail(ev, "EVIDENCE_JSON", "got 4 characters");
		free(s);
	}
	free(b64);
	/* A report of another length (1183 bytes, then 1185). */
	for (int d = -1; d <= 1; d += 2) {
		uint8_t big[SNP_REPORT_SIZE + 1] = { 0 };

		memcpy(big, raw, SNP_REPORT_SIZE);
		b64 = ccu_b64_encode_alloc(big, (size_t)(SNP_REPORT_SIZE + d), CCU_B64_STD);
		ev = evidence(3);
		set(ev, "report_b64", json_string(b64));
		expect_ev_fail(ev, "EVIDENCE_JSON", "report_b64");
		free(b64);
	}
	/* The raw bytes and the JSON disagree: in the signed range, in the
	 * signature, in the reserved tail. */
	{
		static const struct {
			size_t off;
			const char *field;
		} flips[] = {
			{ SNP_OFF_MEASUREMENT + 3, "(measurement)" },
			{ SNP_OFF_REPORT_DATA, "(report_data)" },
			{ SNP_OFF_CURRENT_MAJOR, "(current)" },
			{ 0x1EB, "(reserved)" },
			{ SNP_OFF_SIG_S + 1, "(signature)" },
			{ 0x400, "(reserved)" },
		};
		for (size_t i = 0; i < ARRAY_SIZE(flips); i++) {
			uint8_t m[SNP_REPORT_SIZE];

			memcpy(m, raw, sizeof(m));
			m[flips[i].off] ^= 0x01;
			b64 = ccu_b64_encode_alloc(m, SNP_REPORT_SIZE, CCU_B64_STD);
			ev = evidence(3);
			set(ev, "report_b64", json_string(b64));
			expect_ev_fail(ev, "EVIDENCE_MISMATCH", flips[i].field);
			free(b64);
		}
	}
	/* ... and the other way round: the JSON was edited. */
	ev = evidence(5);
	json_array_set_new(member(member(ev, "attestation_report"), "report_data"), 0,
			   json_integer(99));
	expect_ev_fail(ev, "EVIDENCE_MISMATCH", "byte 0x050 (report_data)");
}

static void test_cert_chain_entries(void **state)
{
	struct snp_evidence e;
	json_t *ev, *a, *o;

	(void)state;
	/* A VCEK chain as Trustee's attester sends it, plus ASVK as "ASK". */
	ev = evidence(3);
	a = chain_of(ev);
	json_array_append_new(a, cert_entry("VCEK", certs[C_VCEK]));
	json_array_append_new(a, cert_entry("ASK", certs[C_ASK]));
	json_array_append_new(a, cert_entry("ARK", certs[C_ARK]));
	json_array_append_new(a, cert_entry("ASK", certs[C_ASVK]));
	json_array_append_new(a, cert_entry("VLEK", certs[C_VLEK]));
	assert_int_equal(expect_ev_ok(ev, &e), 5);
	assert_int_equal(X509_cmp(sk_X509_value(e.certs, 0), certs[C_VCEK]), 0);
	assert_int_equal(X509_cmp(sk_X509_value(e.certs, 3), certs[C_ASVK]), 0);
	snp_evidence_done(&e);

	/* CRL, Empty and OTHER entries are shape-checked, then not used. */
	ev = evidence(3);
	a = chain_of(ev);
	o = json_object();
	set(o, "cert_type", json_string("CRL"));
	set(o, "data", int_array(SNP_EVIDENCE_MAX_CERT_DER, 7));
	json_array_append_new(a, o);
	o = json_object();
	set(o, "cert_type", json_string("Empty"));
	set(o, "data", json_array());
	json_array_append_new(a, o);
	o = json_object();
	set(o, "cert_type", json_pack("{s:s}", "OTHER", "63da758d-e664-4564-ADC5-f4b93be8accd"));
	set(o, "data", int_array(3, 1));
	json_array_append_new(a, o);
	assert_int_equal(expect_ev_ok(ev, &e), 0);
	assert_null(e.certs);
	snp_evidence_done(&e);
	ev = evidence(3);
	a = chain_of(ev);
	json_array_append_new(a, cert_entry("CRL", certs[C_ARK]));
	json_array_append_new(a, cert_entry("VCEK", certs[C_VCEK]));
	assert_int_equal(expect_ev_ok(ev, &e), 1);
	snp_evidence_done(&e);

	/* [] and other non-lists. */
	ev = evidence(3);
	chain_of(ev);
	expect_ev_fail(ev, "EVIDENCE_CERT", "cert_chain: []");
	ev = evidence(3);
	set(ev, "cert_chain", json_object());
	expect_ev_fail(ev, "EVIDENCE_CERT", "expected null or an array");
	ev = evidence(3);
	set(ev, "cert_chain", json_string(""));
	expect_ev_fail(ev, "EVIDENCE_CERT", "expected null or an array");

	/* Too many entries. */
	ev = evidence(3);
	a = chain_of(ev);
	for (int i = 0; i <= SNP_EVIDENCE_MAX_CERTS; i++)
		json_array_append_new(a, cert_entry("VCEK", certs[C_VCEK]));
	expect_ev_fail(ev, "EVIDENCE_CERT", "at most 8");
	ev = evidence(3);
	a = chain_of(ev);
	for (int i = 0; i < SNP_EVIDENCE_MAX_CERTS; i++)
		json_array_append_new(a, cert_entry("VCEK", certs[C_VCEK]));
	assert_int_equal(expect_ev_ok(ev, &e), SNP_EVIDENCE_MAX_CERTS);
	snp_evidence_done(&e);
}

static void test_cert_chain_rejects(void **state)
{
	static const struct {
		const char *type;
		enum tcert cert;
		const char *needle;
	} mismatch[] = {
		{ "VCEK", C_ARK, "cert_type VCEK but the subject CN is ARK-*" },
		{ "VCEK", C_VLEK, "cert_type VCEK but the subject CN is SEV-VLEK" },
		{ "VLEK", C_VCEK, "cert_type VLEK but the subject CN is SEV-VCEK" },
		{ "ARK", C_ASK, "cert_type ARK" },
		{ "ARK", C_BARE_ARK, "not an AMD name" },
		{ "ASK", C_VCEK, "cert_type ASK but the subject CN is SEV-VCEK" },
		{ "ASK", C_VLEK, "cert_type ASK" },
		{ "ASK", C_ARK, "cert_type ASK" },
		{ "VCEK", C_OTHER, "not an AMD name" },
		{ "VCEK", C_NOCN, "not an AMD name" },
		{ "VCEK", C_TWOCN, "not an AMD name" },
	};
	static const char *const bad_types[] = { "vcek", "ASVK", "OTHER", "", "Crl" };
	json_t *ev, *a, *o;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(mismatch); i++) {
		ev = evidence(3);
		a = chain_of(ev);
		json_array_append_new(a, cert_entry("ARK", certs[C_ARK]));
		json_array_append_new(a, cert_entry(mismatch[i].type, certs[mismatch[i].cert]));
		expect_ev_fail(ev, "EVIDENCE_CERT", mismatch[i].needle);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad_types); i++) {
		ev = evidence(3);
		a = chain_of(ev);
		json_array_append_new(a, cert_entry(bad_types[i], certs[C_VCEK]));
		expect_ev_fail(ev, "EVIDENCE_CERT", "cert_chain[0].cert_type");
	}
	{
		static const char *const others[] = {
			"{\"OTHER\": \"63da758d-e664-4564-adc5-f4b93be8acc\"}",
			"{\"OTHER\": \"63da758de6644564adc5f4b93be8accd0000\"}",
			"{\"OTHER\": \"63da758d-e664-4564-adc5-f4b93be8accg\"}",
			"{\"OTHER\": 1}",
			"{\"OTHER\": \"63da758d-e664-4564-adc5-f4b93be8accd\", \"x\": 1}",
			"{\"other\": \"63da758d-e664-4564-adc5-f4b93be8accd\"}",
			"[\"OTHER\", \"63da758d-e664-4564-adc5-f4b93be8accd\"]",
			"7",
			"null",
		};
		for (size_t i = 0; i < ARRAY_SIZE(others); i++) {
			ev = evidence(3);
			a = chain_of(ev);
			o = json_object();
			set(o, "cert_type", json_loads(others[i], JSON_DECODE_ANY, NULL));
			set(o, "data", json_array());
			json_array_append_new(a, o);
			expect_ev_fail(ev, "EVIDENCE_CERT", "cert_type");
		}
	}
	/* Entry shape. */
	ev = evidence(3);
	a = chain_of(ev);
	json_array_append_new(a, json_string("VCEK"));
	expect_ev_fail(ev, "EVIDENCE_CERT", "cert_chain[0]: expected an object");
	ev = evidence(3);
	a = chain_of(ev);
	o = cert_entry("VCEK", certs[C_VCEK]);
	set(o, "guid", json_string("63da758d-e664-4564-adc5-f4b93be8accd"));
	json_array_append_new(a, o);
	expect_ev_fail(ev, "EVIDENCE_CERT", "unknown member \"guid\"");
	ev = evidence(3);
	a = chain_of(ev);
	o = cert_entry("VCEK", certs[C_VCEK]);
	json_object_del(o, "data");
	json_array_append_new(a, o);
	expect_ev_fail(ev, "EVIDENCE_CERT", "cert_chain[0].data");
	ev = evidence(3);
	a = chain_of(ev);
	o = cert_entry("VCEK", certs[C_VCEK]);
	json_object_del(o, "cert_type");
	json_array_append_new(a, o);
	expect_ev_fail(ev, "EVIDENCE_CERT", "cert_chain[0].cert_type");

	/* Data: oversize, empty, not DER, trailing bytes, bad element. */
	ev = evidence(3);
	a = chain_of(ev);
	o = json_object();
	set(o, "cert_type", json_string("CRL"));
	set(o, "data", int_array(SNP_EVIDENCE_MAX_CERT_DER + 1, 0));
	json_array_append_new(a, o);
	expect_ev_fail(ev, "EVIDENCE_CERT", "expected 0..16384 bytes, got 16385");
	ev = evidence(3);
	a = chain_of(ev);
	o = json_object();
	set(o, "cert_type", json_string("VCEK"));
	set(o, "data", json_array());
	json_array_append_new(a, o);
	expect_ev_fail(ev, "EVIDENCE_CERT", "cert_chain[0].data");
	ev = evidence(3);
	a = chain_of(ev);
	o = json_object();
	set(o, "cert_type", json_string("VCEK"));
	set(o, "data", int_array(100, 0x30));
	json_array_append_new(a, o);
	expect_ev_fail(ev, "EVIDENCE_CERT", "not one X.509 certificate");
	ev = evidence(3);
	a = chain_of(ev);
	o = cert_entry("VCEK", certs[C_VCEK]);
	json_array_append_new(member(o, "data"), json_integer(0));
	json_array_append_new(member(o, "data"), json_integer(7)); /* not padding */
	json_array_append_new(a, o);
	expect_ev_fail(ev, "EVIDENCE_CERT", "not one X.509 certificate");
	ev = evidence(3);
	a = chain_of(ev);
	o = cert_entry("VCEK", certs[C_VCEK]);
	json_array_set_new(member(o, "data"), 10, json_integer(300));
	json_array_append_new(a, o);
	expect_ev_fail(ev, "EVIDENCE_CERT", "cert_chain[0].data[10]");
	ev = evidence(3);
	a = chain_of(ev);
	o = cert_entry("VCEK", certs[C_VCEK]);
	set(o, "data", json_string("MIIB"));
	json_array_append_new(a, o);
	expect_ev_fail(ev, "EVIDENCE_CERT", "cert_chain[0].data");
	/* A later bad entry fails the whole chain (nothing leaks). */
	ev = evidence(3);
	a = chain_of(ev);
	json_array_append_new(a, cert_entry("VCEK", certs[C_VCEK]));
	json_array_append_new(a, cert_entry("ASK", certs[C_ASK]));
	json_array_append_new(a, cert_entry("ARK", certs[C_VCEK]));
	expect_ev_fail(ev, "EVIDENCE_CERT", "cert_chain[2]");
}

static void test_cert_not_canonical_der(void **state)
{
	unsigned char *der = NULL;
	int n = i2d_X509(certs[C_VCEK], &der);
	uint8_t *ber;
	json_t *ev, *a, *o;

	(void)state;
	/* The outer SEQUENCE length in long form with one extra byte: BER that
	 * d2i_X509 accepts but that is not the one DER encoding. */
	assert_true(n > 0x80 && n < 0x10000 && der[1] == 0x82);
	ber = malloc((size_t)n + 1);
	ber[0] = 0x30;
	ber[1] = 0x83;
	ber[2] = 0;
	memcpy(ber + 3, der + 2, (size_t)n - 2);
	ev = evidence(3);
	a = chain_of(ev);
	o = json_object();
	set(o, "cert_type", json_string("VCEK"));
	set(o, "data", bytes_array(ber, (size_t)n + 1));
	json_array_append_new(a, o);
	expect_ev_fail(ev, "EVIDENCE_CERT", "not one X.509 certificate");
	free(ber);
	OPENSSL_free(der);
}

static void expect_text_fail(const char *text, size_t len, const char *code, const char *needle)
{
	struct snp_evidence e;
	struct ccu_reason why = { 0 };

	assert_int_equal(snp_evidence_parse_text(text, len, &e, &why), -EBADMSG);
	assert_string_equal(why.code, code);
	if (needle && !strstr(why.detail, needle))
		fail_msg("detail \"%s\" lacks \"%s\"", why.detail, needle);
	assert_null(e.certs);
}

static char *replace_first(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	char *out;

	assert_non_null(at);
	out = malloc(strlen(s) + strlen(to) + 1);
	memcpy(out, s, (size_t)(at - s));
	strcpy(out + (at - s), to);
	strcat(out, at + strlen(from));
	return out;
}

/* Certificate data as PEM, or DER followed by zero padding (what upstream's
 * attester and hosts produce), is accepted; two blocks, another PEM type or
 * text around the block are not. */
static json_t *text_entry(const char *type, const char *text, size_t n)
{
	json_t *o = json_object();

	set(o, "cert_type", json_string(type));
	set(o, "data", bytes_array((const uint8_t *)text, n));
	return o;
}

static void test_cert_pem_and_padding(void **state)
{
	struct snp_evidence e;
	BIO *b = BIO_new(BIO_s_mem());
	char *pem, *two, *buf;
	long pl;
	json_t *ev, *a, *o;
	(void)state;

	assert_int_equal(PEM_write_bio_X509(b, certs[C_VCEK]), 1);
	pl = BIO_get_mem_data(b, &pem);
	buf = calloc(1, (size_t)pl * 2 + 64);
	two = calloc(1, (size_t)pl * 2 + 1);
	assert_non_null(buf);
	assert_non_null(two);
	/* PEM, and PEM followed by whitespace and NUL padding */
	ev = evidence(3);
	a = chain_of(ev);
	json_array_append_new(a, text_entry("VCEK", pem, (size_t)pl));
	assert_int_equal(expect_ev_ok(ev, &e), 1);
	assert_int_equal(X509_cmp(sk_X509_value(e.certs, 0), certs[C_VCEK]), 0);
	snp_evidence_done(&e);
	memcpy(buf, pem, (size_t)pl);
	memcpy(buf + pl, "\n  \n", 4);
	ev = evidence(3);
	a = chain_of(ev);
	json_array_append_new(a, text_entry("VCEK", buf, (size_t)pl + 40));
	assert_int_equal(expect_ev_ok(ev, &e), 1);
	snp_evidence_done(&e);
	/* DER + zero padding */
	ev = evidence(3);
	a = chain_of(ev);
	o = cert_entry("VCEK", certs[C_VCEK]);
	for (int i = 0; i < 100; i++)
		json_array_append_new(member(o, "data"), json_integer(0));
	json_array_append_new(a, o);
	assert_int_equal(expect_ev_ok(ev, &e), 1);
	snp_evidence_done(&e);
	/* two PEM blocks */
	memcpy(two, pem, (size_t)pl);
	memcpy(two + pl, pem, (size_t)pl);
	ev = evidence(3);
	a = chain_of(ev);
	json_array_append_new(a, text_entry("VCEK", two, 2 * (size_t)pl));
	expect_ev_fail(ev, "EVIDENCE_CERT", "one PEM block");
	/* text after the block */
	memcpy(buf, pem, (size_t)pl);
	memcpy(buf + pl, "junk", 4);
	ev = evidence(3);
	a = chain_of(ev);
	json_array_append_new(a, text_entry("VCEK", buf, (size_t)pl + 4));
	expect_ev_fail(ev, "EVIDENCE_CERT", "one PEM block");
	/* a PEM header line inside the block */
	/* pem is not NUL-terminated: print exactly its bytes after the first line */
	snprintf(buf, (size_t)pl * 2 + 64, "-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n%.*s",
		 (int)(pl - (long)strlen("-----BEGIN CERTIFICATE-----\n")),
		 pem + strlen("-----BEGIN CERTIFICATE-----\n"));
	ev = evidence(3);
	a = chain_of(ev);
	json_array_append_new(a, text_entry("VCEK", buf, strlen(buf)));
	expect_ev_fail(ev, "EVIDENCE_CERT", "one PEM block");
	/* another PEM type */
	ev = evidence(3);
	a = chain_of(ev);
	json_array_append_new(a, text_entry("VCEK", "-----BEGIN PUBLIC KEY-----\nAAAA\n"
						   "-----END PUBLIC KEY-----\n", 54));
	expect_ev_fail(ev, "EVIDENCE_CERT", "one PEM block");
	/* a truncated block */
	ev = evidence(3);
	a = chain_of(ev);
	json_array_append_new(a, text_entry("VCEK", pem, (size_t)pl - 10));
	expect_ev_fail(ev, "EVIDENCE_CERT", "one PEM block");
	free(buf);
	free(two);
	BIO_free(b);
}

static void test_parse_text(void **state)
{
	struct snp_evidence e;
	struct ccu_reason why = { 0 };
	json_t *ev = evidence(3);
	char *text = json_dumps(ev, JSON_COMPACT), *t;
	size_t len = strlen(text);
	char *big;

	(void)state;
	assert_int_equal(snp_evidence_parse_text(text, len, &e, &why), 0);
	snp_evidence_done(&e);

	/* Duplicate keys: at the top and inside the report. */
	t = replace_first(text, "{", "{\"cert_chain\":null,");
	expect_text_fail(t, strlen(t), "EVIDENCE_JSON", "duplicate");
	free(t);
	t = replace_first(text, "\"vmpl\":0,", "\"vmpl\":0,\"vmpl\":1,");
	expect_text_fail(t, strlen(t), "EVIDENCE_JSON", "duplicate");
	free(t);
	t = replace_first(text, "\"microcode\":84", "\"microcode\":84,\"microcode\":84");
	expect_text_fail(t, strlen(t), "EVIDENCE_JSON", "duplicate");
	free(t);
	/* Not JSON, trailing bytes, a cut, a top-level non-object, NUL. */
	expect_text_fail("", 0, "EVIDENCE_JSON", "not valid JSON");
	expect_text_fail("{", 1, "EVIDENCE_JSON", "not valid JSON");
	expect_text_fail(text, len - 1, "EVIDENCE_JSON", "not valid JSON");
	expect_text_fail("[]", 2, "EVIDENCE_JSON", "expected an object");
	expect_text_fail("\"x\"", 3, "EVIDENCE_JSON", "not valid JSON");
	t = malloc(len + 2);
	memcpy(t, text, len);
	t[len] = '}';
	expect_text_fail(t, len + 1, "EVIDENCE_JSON", "not valid JSON");
	t[len] = '\0';
	expect_text_fail(t, len + 1, "EVIDENCE_JSON", "not valid JSON");
	free(t);
	/* Numbers jansson cannot hold are a parse error, not a wrap-around. */
	t = replace_first(text, "\"plat_info\":37", "\"plat_info\":18446744073709551615");
	expect_text_fail(t, strlen(t), "EVIDENCE_JSON", "not valid JSON");
	free(t);
	t = replace_first(text, "\"vmpl\":0", "\"vmpl\":0.0");
	expect_text_fail(t, strlen(t), "EVIDENCE_JSON", "vmpl");
	free(t);
	/* Size bound: whitespace padding beyond 256 KiB. */
	big = malloc(256 * 1024 + 1);
	memset(big, ' ', 256 * 1024 + 1);
	memcpy(big, text, len);
	expect_text_fail(big, 256 * 1024 + 1, "EVIDENCE_JSON", "at most 262144");
	assert_int_equal(snp_evidence_parse_text(big, 256 * 1024, &e, &why), 0);
	snp_evidence_done(&e);
	free(big);
	free(text);
	json_decref(ev);
}

static void test_build(void **state)
{
	uint8_t raw[SNP_REPORT_SIZE], dec[SNP_REPORT_SIZE];
	STACK_OF(X509) *sk = sk_X509_new_null();
	struct snp_evidence e;
	json_t *ev, *cc;
	const char *b64;

	(void)state;
	make_raw(5, raw);
	/* No certificates: null, never []. */
	ev = snp_evidence_build(raw, sk);
	assert_non_null(ev);
	assert_true(json_is_null(member(ev, "cert_chain")));
	b64 = json_string_value(member(ev, "report_b64"));
	assert_non_null(b64);
	assert_int_equal(ccu_b64_decode(b64, strlen(b64), CCU_B64_STD, dec, sizeof(dec)),
			 SNP_REPORT_SIZE);
	assert_memory_equal(dec, raw, SNP_REPORT_SIZE);
	assert_int_equal(json_object_size(ev), 3);
	json_decref(ev);

	/* A certificate that is none of AMD's four is left out. */
	X509_up_ref(certs[C_OTHER]);
	sk_X509_push(sk, certs[C_OTHER]);
	ev = snp_evidence_build(raw, sk);
	assert_true(json_is_null(member(ev, "cert_chain")));
	json_decref(ev);

	X509_up_ref(certs[C_VLEK]);
	sk_X509_push(sk, certs[C_VLEK]);
	X509_up_ref(certs[C_ASVK]);
	sk_X509_push(sk, certs[C_ASVK]);
	X509_up_ref(certs[C_ARK]);
	sk_X509_push(sk, certs[C_ARK]);
	ev = snp_evidence_build(raw, sk);
	cc = member(ev, "cert_chain");
	assert_int_equal(json_array_size(cc), 3);
	assert_string_equal(json_string_value(member(json_array_get(cc, 0), "cert_type")), "VLEK");
	assert_string_equal(json_string_value(member(json_array_get(cc, 1), "cert_type")), "ASK");
	assert_string_equal(json_string_value(member(json_array_get(cc, 2), "cert_type")), "ARK");
	assert_int_equal(expect_ev_ok(ev, &e), 3);
	assert_true(e.had_raw_member);
	assert_int_equal(X509_cmp(sk_X509_value(e.certs, 1), certs[C_ASVK]), 0);
	snp_evidence_done(&e);

	/* More labelled certificates than the parser accepts. */
	for (int i = 0; i < SNP_EVIDENCE_MAX_CERTS; i++) {
		X509_up_ref(certs[C_VCEK]);
		sk_X509_push(sk, certs[C_VCEK]);
	}
	errno = 0;
	assert_null(snp_evidence_build(raw, sk));
	assert_int_equal(errno, E2BIG);
	sk_X509_pop_free(sk, X509_free);

	/* A raw report that does not parse, or that the JSON cannot carry. */
	make_raw(3, raw);
	raw[SNP_OFF_SIG_ALGO] = 2;
	errno = 0;
	assert_null(snp_evidence_build(raw, NULL));
	assert_int_equal(errno, EINVAL);
	make_raw(3, raw);
	raw[SNP_OFF_REPORTED_TCB + 3] = 1; /* reserved in the Genoa layout */
	errno = 0;
	assert_null(snp_evidence_build(raw, NULL));
	assert_int_equal(errno, EBADMSG);
	make_raw(5, raw);
	raw[SNP_OFF_CURRENT_TCB + 5] = 1; /* reserved in the Turin layout */
	assert_null(snp_evidence_build(raw, NULL));
}

static void test_build_v2_layout(void **state)
{
	static const uint8_t turin[8] = { 3, 4, 5, 6, 0, 0, 0, 7 };
	static const uint8_t both[8] = { 3, 4, 0, 0, 0, 0, 0, 7 };
	uint8_t raw[SNP_REPORT_SIZE];
	struct snp_evidence e;
	json_t *ev;

	(void)state;
	/* v2 has no CPUID: the layout that carries the bytes is chosen. */
	make_raw(2, raw);
	for (int i = 0; i < 4; i++) {
		static const size_t off[] = { SNP_OFF_CURRENT_TCB, SNP_OFF_REPORTED_TCB,
					      SNP_OFF_COMMITTED_TCB, SNP_OFF_LAUNCH_TCB };

		memcpy(raw + off[i], i == 2 ? both : turin, 8);
	}
	ev = snp_evidence_build(raw, NULL);
	assert_non_null(ev);
	assert_int_equal(json_integer_value(member(member(member(ev, "attestation_report"),
							     "launch_tcb"), "fmc")), 3);
	assert_int_equal(expect_ev_ok(ev, &e), 0);
	assert_memory_equal(e.raw, raw, SNP_REPORT_SIZE);
	snp_evidence_done(&e);
	/* Legacy when both layouts carry every TCB. */
	make_raw(2, raw);
	memcpy(raw + SNP_OFF_REPORTED_TCB, both, 8);
	ev = snp_evidence_build(raw, NULL);
	assert_true(json_is_null(member(member(member(ev, "attestation_report"), "reported_tcb"),
					"fmc")));
	json_decref(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_json_to_raw),
		cmocka_unit_test(test_e2e_raw_to_json_is_the_sample),
		cmocka_unit_test(test_e2e_evidence_parses),
		cmocka_unit_test(test_real_reports_round_trip),
		cmocka_unit_test(test_turin_json_form),
		cmocka_unit_test(test_build_real_chain),
		cmocka_unit_test(test_synthetic_round_trips_and_layouts),
		cmocka_unit_test(test_field_placement),
		cmocka_unit_test(test_rejects_shape),
		cmocka_unit_test(test_rejects_types_and_ranges),
		cmocka_unit_test(test_rejects_byte_arrays),
		cmocka_unit_test(test_version_dependent_members),
		cmocka_unit_test(test_rejects_tcb_objects),
		cmocka_unit_test(test_rejects_fw_and_signature),
		cmocka_unit_test(test_to_json_limits),
		cmocka_unit_test(test_evidence_shape),
		cmocka_unit_test(test_report_b64),
		cmocka_unit_test(test_cert_chain_entries),
		cmocka_unit_test(test_cert_chain_rejects),
		cmocka_unit_test(test_cert_not_canonical_der),
		cmocka_unit_test(test_cert_pem_and_padding),
		cmocka_unit_test(test_parse_text),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_build_v2_layout),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
