/* SNP report parsing: every real report in the vectors parses and decodes
 * as the README says; each malformation is refused with its reason code. */
#include "helpers/testutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "snp/report.h"

struct real {
	const char *file;
	size_t offset;
	unsigned version;
	enum snp_product product; /* by CPUID; UNKNOWN for v2 */
	const char *tcb;          /* REPORTED_TCB decoded with the product's layout (Milan for v2) */
	unsigned fw_major, fw_minor, fw_build;
	unsigned long long policy;
	unsigned vmpl;
	unsigned signer;
};

static const struct real reals[] = {
	{ "virtee-sev/report_milan.bin", 0, 2, SNP_PRODUCT_UNKNOWN, "bl=3 tee=0 snp=8 ucode=115", 1, 52, 4, 0x30000, 0, 0 },
	{ "go-sev-guest/attestation.bin", 0, 2, SNP_PRODUCT_UNKNOWN, "bl=2 tee=0 snp=5 ucode=68", 1, 49, 3, 0xb0000, 0, 0 },
	{ "trustee/test-report.bin", 0, 2, SNP_PRODUCT_UNKNOWN, "bl=3 tee=0 snp=8 ucode=115", 1, 52, 4, 0x3001f, 0, 0 },
	{ "trustee/test-vlek-report.bin", 0, 3, SNP_PRODUCT_MILAN, "bl=4 tee=0 snp=24 ucode=217", 1, 55, 29, 0x30000, 1, 1 },
	{ "trustee/az-hcl-report.bin", 32, 2, SNP_PRODUCT_UNKNOWN, "bl=3 tee=0 snp=8 ucode=115", 1, 52, 4, 0x3001f, 0, 0 },
	{ "trustee/az-evidence-genoa.report.bin", 0, 3, SNP_PRODUCT_GENOA, "bl=10 tee=0 snp=23 ucode=84", 1, 55, 40, 0x3001f, 0, 0 },
	{ "trustee/e2e-evidence.report.bin", 0, 3, SNP_PRODUCT_GENOA, "bl=10 tee=0 snp=23 ucode=25", 1, 55, 40, 0x30000, 0, 0 },
	{ "constellation/aws-report.txt", 0, 3, SNP_PRODUCT_MILAN, "bl=4 tee=0 snp=24 ucode=217", 1, 55, 29, 0x30000, 0, 1 },
	{ "oak/turin_oc.report.bin", 0, 5, SNP_PRODUCT_TURIN, "fmc=0 bl=1 tee=0 snp=2 ucode=71", 1, 55, 61, 0x30000, 0, 0 },
	{ "oak/genoa_oc.report.bin", 0, 5, SNP_PRODUCT_GENOA, "bl=10 tee=0 snp=25 ucode=84", 1, 55, 43, 0x30000, 0, 0 },
	{ "oak/milan_oc_release.report.bin", 0, 3, SNP_PRODUCT_MILAN, "bl=4 tee=0 snp=24 ucode=219", 1, 55, 29, 0x30000, 0, 0 },
	{ "ms-sidecar/snp_report.bin", 0, 2, SNP_PRODUCT_UNKNOWN, "bl=3 tee=0 snp=8 ucode=115", 1, 52, 4, 0x3001f, 0, 0 },
	{ "automata/output.report.bin", 0, 2, SNP_PRODUCT_UNKNOWN, "bl=3 tee=0 snp=22 ucode=209", 1, 55, 20, 0x30000, 0, 0 },
	{ "cmc/valid-report.bin", 0, 2, SNP_PRODUCT_UNKNOWN, "bl=2 tee=0 snp=6 ucode=67", 1, 51, 3, 0x30000, 0, 0 },
	{ "lit-protocol/snp_report_msg_resp.bin", 0x20, 2, SNP_PRODUCT_UNKNOWN, NULL, 0, 0, 0, 0, 0, 0 },
};

static void load_1184(const struct real *c, uint8_t out[SNP_REPORT_SIZE])
{
	size_t n;
	uint8_t *d = tu_read_report(tu_vec(c->file), c->offset, &n);

	assert_true(n >= SNP_REPORT_SIZE);
	memcpy(out, d, SNP_REPORT_SIZE);
	free(d);
}

static void test_real_reports_decode(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
		const struct real *c = &reals[i];
		uint8_t raw[SNP_REPORT_SIZE], again[SNP_REPORT_SIZE];
		struct snp_report r;
		struct ccu_reason why = { 0 };
		struct snp_tcb t;
		char buf[64];
		enum snp_product p;

		load_1184(c, raw);
		if (snp_report_parse(raw, sizeof(raw), &r, &why) != 0)
			fail_msg("%s: %s: %s", c->file, why.code, why.detail);
		assert_int_equal(r.version, c->version);
		p = snp_report_product(&r);
		assert_int_equal(p, c->product);
		snp_report_encode(&r, again);
		assert_memory_equal(raw, again, SNP_REPORT_SIZE);
		if (!c->tcb)
			continue;
		assert_true(snp_tcb_decode(r.reported_tcb, p, &t));
		assert_string_equal(snp_tcb_format(&t, buf, sizeof(buf)), c->tcb);
		assert_int_equal(r.current.major, c->fw_major);
		assert_int_equal(r.current.minor, c->fw_minor);
		assert_int_equal(r.current.build, c->fw_build);
		assert_int_equal(r.policy, c->policy);
		assert_int_equal(r.vmpl, c->vmpl);
		assert_int_equal(SNP_KEY_INFO_SIGNING_KEY(r.key_info), c->signer);
	}
}

static void test_turin_platform_info_bit6_is_not_an_error(void **state)
{
	uint8_t raw[SNP_REPORT_SIZE];
	struct snp_report r;
	struct snp_tcb t;

	(void)state;
	TU_REQUIRE_VECTORS();
	load_1184(&reals[8], raw);
	assert_int_equal(snp_report_parse(raw, sizeof(raw), &r, NULL), 0);
	assert_int_equal(r.platform_info, 0x67);
	assert_true(r.has_mit_vectors);
	/* Turin's TCB read with Milan's layout has a non-zero reserved byte. */
	assert_false(snp_tcb_decode(r.reported_tcb, SNP_PRODUCT_MILAN, &t));
	assert_int_equal(t.tee, 1);
}

/* A synthetic, well-formed v5 report to mutate. */
static void make_valid(uint8_t raw[SNP_REPORT_SIZE])
{
	struct snp_report r;

	memset(&r, 0, sizeof(r));
	r.version = 5;
	r.policy = 0x30000;
	r.sig_algo = 1;
	r.has_cpuid = true;
	r.cpuid_fam_id = 0x19;
	r.cpuid_mod_id = 0x11;
	r.sig_r[0] = 1;
	r.sig_s[47] = 2;
	snp_report_encode(&r, raw);
}

static void expect_reject(const uint8_t *raw, size_t len, const char *code)
{
	struct snp_report r;
	struct ccu_reason why = { 0 };

	assert_int_equal(snp_report_parse(raw, len, &r, &why), -EBADMSG);
	assert_string_equal(why.code, code);
	assert_true(strlen(why.detail) > 0);
}

static void test_rejects_sizes(void **state)
{
	uint8_t raw[SNP_REPORT_SIZE + 1];

	(void)state;
	make_valid(raw);
	raw[SNP_REPORT_SIZE] = 0;
	expect_reject(raw, SNP_REPORT_SIZE - 1, "FORMAT_SIZE");
	expect_reject(raw, SNP_REPORT_SIZE + 1, "FORMAT_SIZE");
	expect_reject(raw, 0, "FORMAT_SIZE");
	expect_reject(raw, 793, "FORMAT_SIZE"); /* lit-protocol guest_report_corrupt.bin */
}

static void test_versions(void **state)
{
	uint8_t raw[SNP_REPORT_SIZE];
	struct snp_report r;
	static const unsigned bad[] = { 0, 1, 6, 0x100, 0xffffffffu };

	(void)state;
	for (unsigned v = 2; v <= 5; v++) {
		make_valid(raw);
		raw[0] = (uint8_t)v;
		if (v < 3) /* v2 has no CPUID bytes */
			raw[0x188] = raw[0x189] = 0;
		assert_int_equal(snp_report_parse(raw, sizeof(raw), &r, NULL), 0);
		assert_int_equal(r.has_cpuid, v >= 3);
		assert_int_equal(r.has_mit_vectors, v >= 5);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		make_valid(raw);
		raw[0] = (uint8_t)bad[i];
		raw[1] = (uint8_t)(bad[i] >> 8);
		raw[3] = (uint8_t)(bad[i] >> 24);
		expect_reject(raw, sizeof(raw), "FORMAT_VERSION");
	}
}

static void test_rejects_bad_fields(void **state)
{
	uint8_t raw[SNP_REPORT_SIZE];

	(void)state;
	make_valid(raw);
	raw[0x34] = 2;
	expect_reject(raw, sizeof(raw), "FORMAT_SIG_ALGO");
	make_valid(raw);
	raw[0x34] = 0;
	expect_reject(raw, sizeof(raw), "FORMAT_SIG_ALGO");

	make_valid(raw);
	raw[0x48] = 0x20; /* bit 5 */
	expect_reject(raw, sizeof(raw), "FORMAT_KEY_INFO");
	for (unsigned sk = 2; sk <= 7; sk++) {
		make_valid(raw);
		raw[0x48] = (uint8_t)(sk << 2);
		expect_reject(raw, sizeof(raw), "FORMAT_KEY_INFO");
	}
	make_valid(raw);
	raw[0x0A] &= (uint8_t)~0x02; /* policy bit 17 */
	expect_reject(raw, sizeof(raw), "FORMAT_POLICY");
	make_valid(raw);
	raw[0x0B] |= 0x04; /* policy bit 26 */
	expect_reject(raw, sizeof(raw), "FORMAT_POLICY");
	make_valid(raw);
	raw[0x0F] = 0x80; /* policy bit 63 */
	expect_reject(raw, sizeof(raw), "FORMAT_POLICY");
}

static void test_must_be_zero_ranges(void **state)
{
	/* (offset, version that forbids it) - every range of report.h */
	static const struct {
		unsigned off, ver;
	} mbz[] = {
		{ 0x04C, 5 }, { 0x04F, 2 }, { 0x188, 2 }, { 0x18A, 2 }, { 0x18B, 3 }, { 0x19F, 5 },
		{ 0x1EB, 5 }, { 0x1EF, 3 }, { 0x1F8, 3 }, { 0x207, 2 }, { 0x208, 5 }, { 0x29F, 5 },
		{ 0x330, 5 }, { 0x400, 3 }, { 0x49F, 2 },
	};
	uint8_t raw[SNP_REPORT_SIZE];

	(void)state;
	for (size_t i = 0; i < sizeof(mbz) / sizeof(mbz[0]); i++) {
		make_valid(raw);
		raw[0] = (uint8_t)mbz[i].ver;
		if (mbz[i].ver < 3)
			raw[0x188] = raw[0x189] = 0;
		raw[mbz[i].off] = 0x5a;
		expect_reject(raw, sizeof(raw), "FORMAT_RESERVED");
	}
	/* v5 mitigation vectors and v3 CPUID bytes are fields, not reserved. */
	make_valid(raw);
	raw[0x1F8] = 1;
	raw[0x200] = 1;
	assert_int_equal(snp_report_parse(raw, sizeof(raw), &(struct snp_report){ 0 }, NULL), 0);
}

static void test_signature_upper_bytes(void **state)
{
	uint8_t raw[SNP_REPORT_SIZE];

	(void)state;
	make_valid(raw);
	raw[0x2A0 + 48] = 1;
	expect_reject(raw, sizeof(raw), "FORMAT_SIGNATURE");
	make_valid(raw);
	raw[0x2E8 + 71] = 1;
	expect_reject(raw, sizeof(raw), "FORMAT_SIGNATURE");
}

static void test_real_negative_files(void **state)
{
	uint8_t *d;
	size_t n;

	(void)state;
	TU_REQUIRE_VECTORS();
	d = tu_read_report(tu_vec("cmc/invalid-report-data.bin"), 0, &n);
	assert_true(n >= SNP_REPORT_SIZE);
	expect_reject(d, SNP_REPORT_SIZE, "FORMAT_VERSION");
	free(d);
	d = tu_read_report(tu_vec("lit-protocol/guest_report_corrupt.bin"), 0, &n);
	expect_reject(d, n, "FORMAT_SIZE");
	free(d);
	d = tu_read_report(tu_vec("lit-protocol/guest_report_bad_sig.bin"), 0, &n);
	assert_int_equal(n, 1185);
	expect_reject(d, n, "FORMAT_SIZE");
	free(d);
}

static void test_products_and_tcb(void **state)
{
	struct snp_tcb t = { .fmc = 9, .bootloader = 1, .tee = 2, .snp = 3, .microcode = 200, .has_fmc = true };
	struct snp_tcb back, lo;
	uint8_t raw[8];

	(void)state;
	assert_int_equal(snp_product_from_cpuid(0x19, 0x01), SNP_PRODUCT_MILAN);
	assert_int_equal(snp_product_from_cpuid(0x19, 0x11), SNP_PRODUCT_GENOA);
	assert_int_equal(snp_product_from_cpuid(0x19, 0xA0), SNP_PRODUCT_GENOA);
	assert_int_equal(snp_product_from_cpuid(0x19, 0x20), SNP_PRODUCT_UNKNOWN);
	assert_int_equal(snp_product_from_cpuid(0x1A, 0x02), SNP_PRODUCT_TURIN);
	assert_int_equal(snp_product_from_cpuid(0x1A, 0x12), SNP_PRODUCT_UNKNOWN);
	assert_int_equal(snp_product_from_cpuid(0x17, 0x01), SNP_PRODUCT_UNKNOWN);
	assert_int_equal(snp_product_from_name("TURIN"), SNP_PRODUCT_TURIN);
	assert_int_equal(snp_product_from_name("venice"), SNP_PRODUCT_UNKNOWN);

	snp_tcb_encode(&t, SNP_PRODUCT_TURIN, raw);
	assert_memory_equal(raw, ((uint8_t[8]){ 9, 1, 2, 3, 0, 0, 0, 200 }), 8);
	assert_true(snp_tcb_decode(raw, SNP_PRODUCT_TURIN, &back));
	assert_memory_equal(&t, &back, sizeof(t));
	snp_tcb_encode(&t, SNP_PRODUCT_GENOA, raw);
	assert_memory_equal(raw, ((uint8_t[8]){ 1, 2, 0, 0, 0, 0, 3, 200 }), 8);

	lo = t;
	assert_true(snp_tcb_ge(&t, &lo));
	lo.microcode = 201;
	assert_false(snp_tcb_ge(&t, &lo));
	lo = t;
	lo.fmc = 10;
	assert_false(snp_tcb_ge(&t, &lo));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_reports_decode),
		cmocka_unit_test(test_turin_platform_info_bit6_is_not_an_error),
		cmocka_unit_test(test_rejects_sizes),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_rejects_bad_fields),
		cmocka_unit_test(test_must_be_zero_ranges),
		cmocka_unit_test(test_signature_upper_bytes),
		cmocka_unit_test(test_real_negative_files),
		cmocka_unit_test(test_products_and_tcb),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
