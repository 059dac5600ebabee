/* The release policy: the rule matrix (every rule allows its boundary and
 * denies one step beyond with its own code), the fixed evaluation order,
 * the invariants no policy can lift, and the strict parser's refusals. */
#include "helpers/policy_matrix.h"
#include "helpers/testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf.h"
#include "common/util.h"
#include "snp/policy.h"

#define R2(s) s s
#define R4(s) R2(s) R2(s)
#define R8(s) R4(s) R4(s)
#define R16(s) R8(s) R8(s)
#define R32(s) R16(s) R16(s)
#define R48(s) R32(s) R16(s)
#define R64(s) R32(s) R32(s)

#define MEAS_A R48("ab")
#define MEAS_B R48("cd")

static struct snp_policy *parse_ok(const char *text)
{
	struct snp_policy *p = NULL;
	struct ccu_reason why = { 0 };

	if (snp_policy_parse(text, strlen(text), &p, &why) != 0)
		fail_msg("policy did not parse: %s: %s\n--\n%s--", why.code, why.detail, text);
	assert_non_null(p);
	return p;
}

/* Evaluate; returns the code ("" when allowed) in @why. */
static int eval(const struct snp_policy *p, const struct snp_report *r, enum snp_product prod,
		struct ccu_reason *why)
{
	int ret = snp_policy_eval(p, r, prod, why);

	if (ret == 0)
		assert_false(ccu_reason_is_set(why));
	else
		assert_int_equal(ret, -EKEYREJECTED);
	return ret;
}

static void assert_denied(const struct snp_policy *p, const struct snp_report *r,
			  enum snp_product prod, const char *code, const char *detail)
{
	struct ccu_reason why = { 0 };

	if (eval(p, r, prod, &why) == 0)
		fail_msg("allowed, expected %s", code);
	if (strcmp(why.code, code) != 0)
		fail_msg("denied with %s (%s), expected %s", why.code, why.detail, code);
	if (detail && !strstr(why.detail, detail))
		fail_msg("%s detail '%s' lacks '%s'", code, why.detail, detail);
}

static void assert_allowed(const struct snp_policy *p, const struct snp_report *r,
			   enum snp_product prod)
{
	struct ccu_reason why = { 0 };

	if (eval(p, r, prod, &why) != 0)
		fail_msg("denied: %s: %s", why.code, why.detail);
}

/* ------------------------------------------------------------ rule matrix */

static void test_matrix(void **state)
{
	(void)state;
	assert_true(policy_matrix_count() > 40);
	for (size_t i = 0; policy_matrix_row(i); i++) {
		const struct policy_matrix_row *row = policy_matrix_row(i);
		struct snp_policy *p, *base;
		struct snp_report r;
		enum snp_product prod = row->product;
		struct ccu_reason why = { 0 };
		char text[2048];

		print_message("# row %s\n", row->name);
		assert_true(policy_matrix_policy(row, text, sizeof(text)) > 0);
		p = parse_ok(text);
		base = parse_ok("measurement = any\n");

		policy_matrix_base_report(&r, prod);
		row->boundary(&r, &prod);
		assert_allowed(p, &r, prod);

		policy_matrix_base_report(&r, row->product);
		prod = row->product;
		row->beyond(&r, &prod);
		if (eval(p, &r, prod, &why) == 0)
			fail_msg("%s: one step beyond is allowed", row->name);
		if (strcmp(why.code, row->code) != 0 || !strstr(why.detail, row->detail))
			fail_msg("%s: denied with %s: %s; expected %s with '%s'", row->name, why.code,
				 why.detail, row->code, row->detail);
		/* It is this rule that denies: without its lines the same report
		 * passes, unless the default itself denies it. */
		if (row->by_default)
			assert_denied(base, &r, prod, row->code, NULL);
		else
			assert_allowed(base, &r, prod);
		snp_policy_free(p);
		snp_policy_free(base);
	}
}

static const char *const all_codes[] = {
	"POLICY_MEASUREMENT",   "POLICY_REPORTED_TCB",  "POLICY_COMMITTED_TCB",
	"POLICY_LAUNCH_TCB",    "POLICY_FIRMWARE",      "POLICY_COMMITTED_FIRMWARE",
	"POLICY_DEBUG",         "POLICY_MIGRATE_MA",    "POLICY_SMT",
	"POLICY_SINGLE_SOCKET", "POLICY_ABI",           "POLICY_VMPL",
	"POLICY_REPORT_DATA",   "POLICY_HOST_DATA",     "POLICY_ID_KEY",
	"POLICY_AUTHOR_KEY",    "POLICY_FAMILY_ID",     "POLICY_IMAGE_ID",
	"POLICY_CHIP_ID",       "POLICY_GUEST_SVN",     "POLICY_REPORT_VERSION",
	"POLICY_PRODUCT",
};

static void test_matrix_covers_every_code(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof(all_codes) / sizeof(all_codes[0]); c++) {
		bool found = false;

		for (size_t i = 0; policy_matrix_row(i); i++)
			found |= strcmp(policy_matrix_row(i)->code, all_codes[c]) == 0;
		if (!found)
			fail_msg("no matrix row for %s", all_codes[c]);
	}
}

/*
 * The documented evaluation order (docs/policy.md): a report that fails
 * every rule is denied by the first; fixing that one reveals the next.
 */
static const char *const order[] = {
	"debug",
	"migrate_ma",
	"report_version/low",
	"product/milan",
	"measurement",
	"report_data",
	"vmpl/default",
	"host_data",
	"id_key_digest",
	"author_key_digest",
	"family_id",
	"image_id",
	"min_guest_svn",
	"allow_smt",
	"require_single_socket",
	"min_abi/minor",
	"chip_id",
	"min_reported_tcb/snp",
	"min_committed_tcb/bl",
	"min_launch_tcb/ucode",
	"min_firmware/build",
	"min_committed_firmware/minor",
};

static void test_evaluation_order(void **state)
{
	enum snp_product prod = SNP_PRODUCT_MILAN;
	const size_t n = sizeof(order) / sizeof(order[0]);
	struct snp_policy *p;
	struct snp_report r;
	char text[8192] = "";

	(void)state;
	assert_int_equal(n, sizeof(all_codes) / sizeof(all_codes[0]));
	policy_matrix_base_report(&r, prod);
	for (size_t i = 0; i < n; i++) {
		const struct policy_matrix_row *row = policy_matrix_find(order[i]);

		assert_non_null(row);
		assert_true(strlen(text) + strlen(row->policy) < sizeof(text));
		strcat(text, row->policy);
		row->beyond(&r, &prod);
	}
	p = parse_ok(text);
	for (size_t i = 0; i < n; i++) {
		const struct policy_matrix_row *row = policy_matrix_find(order[i]);

		assert_denied(p, &r, prod, row->code, row->detail);
		row->boundary(&r, &prod);
	}
	assert_allowed(p, &r, prod);
	snp_policy_free(p);
}

/* ------------------------------------------------------------- invariants */

/* Debug and migration agents are refused whatever the policy says, and
 * before any other rule. */
static void test_debug_migrate_always_denied(void **state)
{
	static const char *const permissive[] = {
		"measurement = any\n",
		"measurement = any\nallow_smt = yes\nrequire_single_socket = no\n",
		"measurement = " MEAS_A "\nproduct = milan\nproduct = genoa\nproduct = turin\n"
		"report_version = 2-5\nvmpl = 0\nmin_abi = 0.0\n"
		"min_reported_tcb = bl=0 tee=0 snp=0 ucode=0 fmc=0\n",
	};
	struct snp_report r;

	(void)state;
	for (size_t i = 0; i < sizeof(permissive) / sizeof(permissive[0]); i++) {
		struct snp_policy *p = parse_ok(permissive[i]);

		policy_matrix_base_report(&r, SNP_PRODUCT_MILAN);
		memset(r.measurement, 0xab, sizeof(r.measurement));
		assert_allowed(p, &r, SNP_PRODUCT_MILAN);
		r.policy |= SNP_POLICY_DEBUG;
		assert_denied(p, &r, SNP_PRODUCT_MILAN, "POLICY_DEBUG", "bit 19");
		r.policy &= ~SNP_POLICY_DEBUG;
		r.policy |= SNP_POLICY_MIGRATE_MA;
		assert_denied(p, &r, SNP_PRODUCT_MILAN, "POLICY_MIGRATE_MA", "bit 18");
		/* both: debug wins; and both win over every other failure */
		r.policy |= SNP_POLICY_DEBUG;
		r.vmpl = 3;
		memset(r.measurement, 0, sizeof(r.measurement));
		assert_denied(p, &r, SNP_PRODUCT_UNKNOWN, "POLICY_DEBUG", NULL);
		r.policy &= ~SNP_POLICY_DEBUG;
		assert_denied(p, &r, SNP_PRODUCT_UNKNOWN, "POLICY_MIGRATE_MA", NULL);
		snp_policy_free(p);
	}
}

/* There is no key that could lift them. */
static void test_no_key_allows_debug(void **state)
{
	static const char *const keys[] = { "allow_debug", "debug", "allow_migrate_ma",
					    "migrate_ma", "allow_migration" };

	(void)state;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct snp_policy *p = NULL;
		struct ccu_reason why = { 0 };
		char text[128];

		snprintf(text, sizeof(text), "measurement = any\n%s = yes\n", keys[i]);
		assert_int_equal(snp_policy_parse(text, strlen(text), &p, &why), -EINVAL);
		assert_null(p);
		assert_string_equal(why.code, "CONFIG_UNKNOWN_KEY");
		assert_non_null(strstr(why.detail, "line 2:"));
	}
}

/* ------------------------------------------------------ rule details */

static void test_tcb_detail(void **state)
{
	struct snp_policy *p = parse_ok("measurement = any\n"
					"min_reported_tcb = bl=4 tee=0 snp=24 ucode=219\n");
	struct ccu_reason why = { 0 };
	struct snp_report r;

	(void)state;
	policy_matrix_base_report(&r, SNP_PRODUCT_MILAN);
	pm_set_tcb(r.reported_tcb, SNP_PRODUCT_MILAN, 0, 3, 0, 8, 115);
	assert_int_equal(snp_policy_eval(p, &r, SNP_PRODUCT_MILAN, &why), -EKEYREJECTED);
	assert_string_equal(why.code, "POLICY_REPORTED_TCB");
	assert_string_equal(why.detail, "min_reported_tcb: need bl>=4 tee>=0 snp>=24 ucode>=219, "
					"report has bl=3 tee=0 snp=8 ucode=115 "
					"(bl, snp, ucode too low)");
	/* higher is fine component-wise, whatever the u64 value says */
	pm_set_tcb(r.reported_tcb, SNP_PRODUCT_MILAN, 0, 255, 0, 24, 219);
	assert_allowed(p, &r, SNP_PRODUCT_MILAN);
	snp_policy_free(p);
}

static void test_tcb_fmc_turin_only(void **state)
{
	struct snp_policy *p = parse_ok("measurement = any\n"
					"min_launch_tcb = fmc=3 bl=1 tee=0 snp=2 ucode=71\n");
	struct snp_policy *nofmc = parse_ok("measurement = any\n"
					    "min_launch_tcb = bl=1 tee=0 snp=2 ucode=71\n");
	struct ccu_reason why = { 0 };
	struct snp_report r;

	(void)state;
	policy_matrix_base_report(&r, SNP_PRODUCT_TURIN);
	pm_set_tcb(r.launch_tcb, SNP_PRODUCT_TURIN, 0, 0, 0, 2, 71);
	assert_int_equal(snp_policy_eval(p, &r, SNP_PRODUCT_TURIN, &why), -EKEYREJECTED);
	assert_string_equal(why.detail, "min_launch_tcb: need fmc>=3 bl>=1 tee>=0 snp>=2 ucode>=71, "
					"report has fmc=0 bl=0 tee=0 snp=2 ucode=71 "
					"(fmc, bl too low)");
	/* a rule without fmc does not compare it, but shows it */
	assert_int_equal(snp_policy_eval(nofmc, &r, SNP_PRODUCT_TURIN, &why), -EKEYREJECTED);
	assert_string_equal(why.detail, "min_launch_tcb: need bl>=1 tee>=0 snp>=2 ucode>=71, "
					"report has fmc=0 bl=0 tee=0 snp=2 ucode=71 (bl too low)");
	pm_set_tcb(r.launch_tcb, SNP_PRODUCT_TURIN, 0, 1, 0, 2, 71);
	assert_allowed(nofmc, &r, SNP_PRODUCT_TURIN);
	assert_denied(p, &r, SNP_PRODUCT_TURIN, "POLICY_LAUNCH_TCB", "(fmc too low)");

	/* Milan and Genoa have no fmc: the rule's fmc is not compared */
	for (enum snp_product prod = SNP_PRODUCT_MILAN; prod <= SNP_PRODUCT_GENOA; prod++) {
		policy_matrix_base_report(&r, prod);
		pm_set_tcb(r.launch_tcb, prod, 0, 1, 0, 2, 71);
		assert_allowed(p, &r, prod);
	}
	snp_policy_free(p);
	snp_policy_free(nofmc);
}

/* A TCB rule that cannot be checked denies. */
static void test_tcb_undecodable(void **state)
{
	struct snp_policy *p = parse_ok("measurement = any\n"
					"min_committed_tcb = bl=0 tee=0 snp=0 ucode=0\n");
	struct snp_report r;

	(void)state;
	policy_matrix_base_report(&r, SNP_PRODUCT_MILAN);
	assert_allowed(p, &r, SNP_PRODUCT_MILAN);
	assert_denied(p, &r, SNP_PRODUCT_UNKNOWN, "POLICY_COMMITTED_TCB", "product is unknown");
	assert_denied(p, &r, (enum snp_product)77, "POLICY_COMMITTED_TCB", "product is unknown");
	/* a Turin value read with the Milan layout has a reserved byte set */
	pm_set_tcb(r.committed_tcb, SNP_PRODUCT_TURIN, 0, 1, 0, 2, 71);
	assert_denied(p, &r, SNP_PRODUCT_MILAN, "POLICY_COMMITTED_TCB",
		      "COMMITTED_TCB 0001000200000047 has non-zero reserved bytes in the Milan layout");
	assert_allowed(p, &r, SNP_PRODUCT_TURIN);
	snp_policy_free(p);
}

static void test_measurement_detail(void **state)
{
	struct snp_policy *p = parse_ok("measurement = " MEAS_A "\n");
	struct ccu_reason why = { 0 };
	struct snp_report r;

	(void)state;
	policy_matrix_base_report(&r, SNP_PRODUCT_GENOA);
	memset(r.measurement, 0xcd, sizeof(r.measurement));
	assert_int_equal(snp_policy_eval(p, &r, SNP_PRODUCT_GENOA, &why), -EKEYREJECTED);
	assert_string_equal(why.code, "POLICY_MEASUREMENT");
	assert_string_equal(why.detail,
			    "measurement: report has " MEAS_B ", not among the 1 allowed value");
	memset(r.measurement, 0xab, sizeof(r.measurement));
	assert_allowed(p, &r, SNP_PRODUCT_GENOA);
	snp_policy_free(p);
}

/* Absent keys restrict nothing; the defaults are SMT allowed, single socket
 * not required, VMPL 0. */
static void test_defaults(void **state)
{
	struct snp_policy *p = parse_ok("measurement = any\n");
	struct snp_report r;

	(void)state;
	policy_matrix_base_report(&r, SNP_PRODUCT_MILAN);
	r.policy |= SNP_POLICY_SMT | SNP_POLICY_CXL_ALLOW | 0xffff;
	r.guest_svn = 0;
	pm_set_version(&r, 2, SNP_PRODUCT_UNKNOWN);
	memset(r.chip_id, 0x5a, sizeof(r.chip_id));
	memset(r.host_data, 0x11, sizeof(r.host_data));
	pm_set_tcb(r.reported_tcb, SNP_PRODUCT_MILAN, 0, 0, 0, 0, 0);
	assert_allowed(p, &r, SNP_PRODUCT_UNKNOWN);
	r.policy &= ~SNP_POLICY_SMT;
	r.policy |= SNP_POLICY_SINGLE_SOCKET;
	assert_allowed(p, &r, SNP_PRODUCT_TURIN);
	r.vmpl = 1;
	assert_denied(p, &r, SNP_PRODUCT_TURIN, "POLICY_VMPL", "vmpl: need 0, report has 1");
	snp_policy_free(p);
}

static void test_eval_bad_args(void **state)
{
	struct snp_policy *p = parse_ok("measurement = any\n");
	struct ccu_reason why = { 0 };
	struct snp_report r;

	(void)state;
	policy_matrix_base_report(&r, SNP_PRODUCT_MILAN);
	assert_int_equal(snp_policy_eval(NULL, &r, SNP_PRODUCT_MILAN, &why), -EINVAL);
	assert_string_equal(why.code, "INTERNAL");
	assert_int_equal(snp_policy_eval(p, NULL, SNP_PRODUCT_MILAN, &why), -EINVAL);
	/* a stale reason is cleared on success */
	assert_int_equal(snp_policy_eval(p, &r, SNP_PRODUCT_MILAN, &why), 0);
	assert_false(ccu_reason_is_set(&why));
	assert_int_equal(snp_policy_eval(p, &r, SNP_PRODUCT_MILAN, NULL), 0);
	r.vmpl = 2;
	assert_int_equal(snp_policy_eval(p, &r, SNP_PRODUCT_MILAN, NULL), -EKEYREJECTED);
	snp_policy_free(p);
}

/* ------------------------------------------------------------- parsing */

/* Every key with a valid value, in awkward but legal forms. */
static const char full_policy[] =
	"# a full policy\r\n"
	"measurement = " MEAS_A "\r\n"
	"measurement = " R48("CD") "\n"
	"\n"
	"  min_reported_tcb =\tucode=219 snp=24\ttee=0 bl=4  \n"
	"min_committed_tcb = fmc=1 bl=4 tee=0 snp=24 ucode=219\n"
	"min_launch_tcb = bl=004 tee=0 snp=24 ucode=219\n"
	"min_firmware = 1.55.29\n"
	"min_committed_firmware = 1.55.0\n"
	"allow_smt = off\n"
	"require_single_socket = true\n"
	"min_abi = 1.51\n"
	"vmpl = 0\n"
	"report_data = " R64("3c") "\n"
	"host_data = " R32("Aa") "\n"
	"id_key_digest = " R48("b1") "\n"
	"author_key_digest = " R48("c2") "\n"
	"family_id = " R16("d3") "\n"
	"image_id = " R16("e4") "\n"
	"chip_id = " R64("f5") "\n"
	"min_guest_svn = 3\n"
	"report_version = 3-5\n"
	"product = genoa\n"
	"product = MILAN\n";

static void full_report(struct snp_report *r)
{
	policy_matrix_base_report(r, SNP_PRODUCT_GENOA);
	r->policy = SNP_POLICY_RESERVED_1 | SNP_POLICY_SINGLE_SOCKET | (1u << 8) | 51;
	memset(r->measurement, 0xcd, 48);
	pm_set_tcb(r->reported_tcb, SNP_PRODUCT_GENOA, 0, 4, 0, 24, 219);
	pm_set_tcb(r->committed_tcb, SNP_PRODUCT_GENOA, 0, 4, 0, 24, 219);
	pm_set_tcb(r->launch_tcb, SNP_PRODUCT_GENOA, 0, 4, 0, 24, 219);
	r->current = (struct snp_fw_version){ 1, 55, 29 };
	r->committed = (struct snp_fw_version){ 1, 55, 0 };
	memset(r->report_data, 0x3c, 64);
	memset(r->host_data, 0xaa, 32);
	memset(r->id_key_digest, 0xb1, 48);
	memset(r->author_key_digest, 0xc2, 48);
	memset(r->family_id, 0xd3, 16);
	memset(r->image_id, 0xe4, 16);
	memset(r->chip_id, 0xf5, 64);
	r->guest_svn = 3;
}

static void test_parse_full(void **state)
{
	struct snp_policy *p = parse_ok(full_policy);
	struct snp_report r;

	(void)state;
	full_report(&r);
	assert_allowed(p, &r, SNP_PRODUCT_GENOA);
	assert_denied(p, &r, SNP_PRODUCT_TURIN, "POLICY_PRODUCT",
		      "need Milan or Genoa, evidence is from Turin");
	r.guest_svn = 2;
	assert_denied(p, &r, SNP_PRODUCT_GENOA, "POLICY_GUEST_SVN", NULL);
	snp_policy_free(p);
}

static void test_parse_bools(void **state)
{
	static const char *const yes[] = { "yes", "true", "1", "on" };
	static const char *const no[] = { "no", "false", "0", "off" };
	struct snp_report r;

	(void)state;
	policy_matrix_base_report(&r, SNP_PRODUCT_MILAN); /* SMT on, single socket off */
	for (size_t i = 0; i < 4; i++) {
		char text[128];
		struct snp_policy *p;

		snprintf(text, sizeof(text), "measurement = any\nallow_smt = %s\n", no[i]);
		p = parse_ok(text);
		assert_denied(p, &r, SNP_PRODUCT_MILAN, "POLICY_SMT", NULL);
		snp_policy_free(p);
		snprintf(text, sizeof(text), "measurement = any\nallow_smt = %s\n", yes[i]);
		p = parse_ok(text);
		assert_allowed(p, &r, SNP_PRODUCT_MILAN);
		snp_policy_free(p);
		snprintf(text, sizeof(text), "measurement = any\nrequire_single_socket = %s\n",
			 yes[i]);
		p = parse_ok(text);
		assert_denied(p, &r, SNP_PRODUCT_MILAN, "POLICY_SINGLE_SOCKET", NULL);
		snp_policy_free(p);
		snprintf(text, sizeof(text), "measurement = any\nrequire_single_socket = %s\n",
			 no[i]);
		p = parse_ok(text);
		assert_allowed(p, &r, SNP_PRODUCT_MILAN);
		snp_policy_free(p);
	}
}

struct bad {
	const char *text;
	const char *code;
	const char *detail; /* substring; starts with "line N:" where there is a line */
};

#define M "measurement = any\n"
#define H95 R32("ab") R8("ab") R4("ab") R2("ab") "ab" "a"

static const struct bad bads[] = {
	/* conf syntax */
	{ M "allow_debug = yes\n", "CONFIG_UNKNOWN_KEY", "line 2: unknown key 'allow_debug'" },
	{ "Measurement = any\n", "CONFIG_SYNTAX", "line 1: invalid key" },
	{ M "\n# x\nvmpl = 0\nvmpl = 1\n", "CONFIG_DUPLICATE_KEY",
	  "line 5: 'vmpl' already set on line 4" },
	{ "measurement any\n", "CONFIG_SYNTAX", "line 1: expected 'key = value'" },
	{ M "vmpl =\n", "CONFIG_SYNTAX", "line 2: 'vmpl' has no value" },
	{ M "# caf\xc3\xa9\n", "CONFIG_SYNTAX", "line 2: control or non-ASCII byte 0xc3" },
	{ M "vmpl = 0\x01\n", "CONFIG_SYNTAX", "line 2: control or non-ASCII byte 0x01" },
	/* measurement */
	{ "", "CONFIG_MISSING", "'measurement' is required" },
	{ "# nothing\n\n", "CONFIG_MISSING", "'measurement' is required" },
	{ "vmpl = 0\nhost_data = " R32("00") "\n", "CONFIG_MISSING", "'measurement' is required" },
	{ "measurement = " H95 "\n", "CONFIG_VALUE",
	  "line 1: measurement: is 95 characters long, expected 96 hex digits" },
	{ "measurement = " MEAS_A "00\n", "CONFIG_VALUE",
	  "line 1: measurement: is 98 characters long, expected 96 hex digits" },
	{ "measurement = abcdgf" R32("00") R8("00") R4("00") "00\n", "CONFIG_VALUE",
	  "line 1: measurement: character 5 ('g') is not a hex digit" },
	{ "measurement = 0x" R32("00") R8("00") R4("00") R2("00") "00\n", "CONFIG_VALUE",
	  "character 2 ('x') is not a hex digit" },
	{ "measurement = any\nmeasurement = " MEAS_A "\n", "CONFIG_VALUE",
	  "line 2: measurement: 'any' on line 1 must be the only measurement entry" },
	{ "measurement = " MEAS_A "\n\nmeasurement = any\n", "CONFIG_VALUE",
	  "line 3: measurement: 'any' must be the only measurement entry (line 1 has one)" },
	{ "measurement = any\nmeasurement = any\n", "CONFIG_VALUE", "line 2: measurement: 'any'" },
	{ "measurement = ANY\n", "CONFIG_VALUE", "line 1: measurement: is 3 characters long" },
	{ "measurement = " MEAS_A "\nmeasurement = " R48("AB") "\n", "CONFIG_VALUE",
	  "line 2: measurement: value already listed on line 1" },
	/* other hex keys */
	{ M "report_data = " R64("00") "0\n", "CONFIG_VALUE",
	  "line 2: report_data: is 129 characters long, expected 128 hex digits" },
	{ M "host_data = " R16("00") "\n", "CONFIG_VALUE",
	  "line 2: host_data: is 32 characters long, expected 64 hex digits" },
	{ M "id_key_digest = " R32("00") "\n", "CONFIG_VALUE",
	  "line 2: id_key_digest: is 64 characters long, expected 96 hex digits" },
	{ M "author_key_digest = " R64("00") "\n", "CONFIG_VALUE",
	  "line 2: author_key_digest: is 128 characters long, expected 96 hex digits" },
	{ M "family_id = " R8("00") "\n", "CONFIG_VALUE",
	  "line 2: family_id: is 16 characters long, expected 32 hex digits" },
	{ M "image_id = " R16("0z") "\n", "CONFIG_VALUE",
	  "line 2: image_id: character 2 ('z') is not a hex digit" },
	{ M "chip_id = " R48("00") "\n", "CONFIG_VALUE",
	  "line 2: chip_id: is 96 characters long, expected 128 hex digits" },
	{ M "host_data = " R32("aa") "\nhost_data = " R32("AA") "\n", "CONFIG_VALUE",
	  "line 3: host_data: value already listed on line 2" },
	{ M "report_data = " R64("00") "\nreport_data = " R64("00") "\n", "CONFIG_DUPLICATE_KEY",
	  "line 3: 'report_data' already set on line 2" },
	/* TCB */
	{ M "min_reported_tcb = bl=1 tee=0 ucode=1\n", "CONFIG_VALUE",
	  "line 2: min_reported_tcb: component 'snp' is missing" },
	{ M "min_reported_tcb = fmc=1\n", "CONFIG_VALUE", "component 'bl' is missing" },
	{ M "min_committed_tcb = bl=1 tee=0 snp=1 bl=2 ucode=1\n", "CONFIG_VALUE",
	  "line 2: min_committed_tcb: component 'bl' given twice" },
	{ M "min_launch_tcb = fmc=1 bl=1 tee=0 snp=1 ucode=1 fmc=1\n", "CONFIG_VALUE",
	  "line 2: min_launch_tcb: component 'fmc' given twice" },
	{ M "min_launch_tcb = bl=1 tee=0 snp=1 ucode=1 microcode=1\n", "CONFIG_VALUE",
	  "unknown component 'microcode'" },
	{ M "min_launch_tcb = BL=1 tee=0 snp=1 ucode=1\n", "CONFIG_VALUE",
	  "unknown component 'BL'" },
	{ M "min_reported_tcb = bl=256 tee=0 snp=1 ucode=1\n", "CONFIG_VALUE",
	  "line 2: min_reported_tcb: bl 256 is out of range (0..255)" },
	{ M "min_reported_tcb = bl=1 tee=0 snp=1 ucode=99999999999999999999\n", "CONFIG_VALUE",
	  "ucode 99999999999999999999 is out of range (0..255)" },
	{ M "min_reported_tcb = bl=1 tee=0 snp=1 ucode=" R32("1") "\n", "CONFIG_VALUE",
	  "ucode value '1111111111111111...' is too long" },
	{ M "min_reported_tcb = bl=-1 tee=0 snp=1 ucode=1\n", "CONFIG_VALUE",
	  "bl '-1' is not a decimal number" },
	{ M "min_reported_tcb = bl=0x1 tee=0 snp=1 ucode=1\n", "CONFIG_VALUE",
	  "bl '0x1' is not a decimal number" },
	{ M "min_reported_tcb = bl= 1 tee=0 snp=1 ucode=1\n", "CONFIG_VALUE",
	  "bl needs a number 0..255" },
	{ M "min_reported_tcb = bl=1 tee=0 snp=1 ucode\n", "CONFIG_VALUE", "'ucode' is not name=N" },
	{ M "min_reported_tcb = bl=1,tee=0,snp=1,ucode=1\n", "CONFIG_VALUE",
	  "bl '1,tee=0,snp=1,ucode=1' is not a decimal number" },
	{ M "min_reported_tcb = 0x0300000000000873\n", "CONFIG_VALUE", "is not name=N" },
	/* firmware and ABI */
	{ M "min_firmware = 1.55\n", "CONFIG_VALUE",
	  "line 2: min_firmware: '1.55' is not MAJOR.MINOR.BUILD" },
	{ M "min_firmware = 1.55.29.1\n", "CONFIG_VALUE", "is not MAJOR.MINOR.BUILD" },
	{ M "min_firmware = 1..29\n", "CONFIG_VALUE", "is not MAJOR.MINOR.BUILD" },
	{ M "min_firmware = .1.2\n", "CONFIG_VALUE", "is not MAJOR.MINOR.BUILD" },
	{ M "min_firmware = 1.55.\n", "CONFIG_VALUE", "is not MAJOR.MINOR.BUILD" },
	{ M "min_committed_firmware = 1.55.256\n", "CONFIG_VALUE",
	  "line 2: min_committed_firmware: build 256 is out of range (0..255)" },
	{ M "min_firmware = 1.x.2\n", "CONFIG_VALUE", "minor 'x' is not a decimal number" },
	{ M "min_abi = 1.51.0\n", "CONFIG_VALUE", "line 2: min_abi: '1.51.0' is not MAJOR.MINOR" },
	{ M "min_abi = 1\n", "CONFIG_VALUE", "is not MAJOR.MINOR" },
	{ M "min_abi = 256.0\n", "CONFIG_VALUE", "major 256 is out of range (0..255)" },
	/* numbers */
	{ M "vmpl = 4\n", "CONFIG_VALUE", "line 2: vmpl: VMPL 4 is out of range (0..3)" },
	{ M "vmpl = -1\n", "CONFIG_VALUE", "VMPL '-1' is not a decimal number" },
	{ M "vmpl = 0 # VMPL 0\n", "CONFIG_VALUE", "is not a decimal number" },
	{ M "min_guest_svn = 4294967296\n", "CONFIG_VALUE",
	  "line 2: min_guest_svn: SVN 4294967296 is out of range (0..4294967295)" },
	{ M "min_guest_svn = 1e3\n", "CONFIG_VALUE", "is not a decimal number" },
	{ M "report_version = 5-3\n", "CONFIG_VALUE", "line 2: report_version: range 5-3 is reversed" },
	{ M "report_version = 1\n", "CONFIG_VALUE", "'1': report versions are 2 to 5" },
	{ M "report_version = 6\n", "CONFIG_VALUE", "report versions are 2 to 5" },
	{ M "report_version = 2-6\n", "CONFIG_VALUE", "report versions are 2 to 5" },
	{ M "report_version = 3-\n", "CONFIG_VALUE", "'3-' is not N or N-M" },
	{ M "report_version = -3\n", "CONFIG_VALUE", "'-3' is not N or N-M" },
	{ M "report_version = 3-4-5\n", "CONFIG_VALUE", "version '4-5' is not a decimal number" },
	{ M "report_version = 3 - 5\n", "CONFIG_VALUE", "is not a decimal number" },
	/* booleans and products */
	{ M "allow_smt = maybe\n", "CONFIG_VALUE", "line 2: allow_smt: 'maybe' is not yes/no" },
	{ M "require_single_socket = Yes\n", "CONFIG_VALUE", "'Yes' is not yes/no" },
	{ M "product = rome\n", "CONFIG_VALUE", "line 2: product: 'rome' is not milan, genoa or turin" },
	{ M "product = milan\nproduct = Milan\n", "CONFIG_VALUE",
	  "line 3: product: Milan already listed on line 2" },
};

static void test_parse_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		struct snp_policy *p = (struct snp_policy *)1;
		struct ccu_reason why = { 0 };
		int r = snp_policy_parse(bads[i].text, strlen(bads[i].text), &p, &why);

		if (r != -EINVAL || strcmp(why.code, bads[i].code) != 0 ||
		    !strstr(why.detail, bads[i].detail))
			fail_msg("case %zu (%s): got %d %s: %s; expected %s with '%s'", i,
				 bads[i].text, r, why.code, why.detail, bads[i].code,
				 bads[i].detail);
		assert_null(p);
	}
}

/* Each single-valued key, given twice, is a duplicate on the second line. */
static void test_parse_duplicate_single_keys(void **state)
{
	static const char *const singles[] = {
		"min_reported_tcb = bl=0 tee=0 snp=0 ucode=0",
		"min_committed_tcb = bl=0 tee=0 snp=0 ucode=0",
		"min_launch_tcb = bl=0 tee=0 snp=0 ucode=0",
		"min_firmware = 1.0.0",
		"min_committed_firmware = 1.0.0",
		"allow_smt = yes",
		"require_single_socket = no",
		"min_abi = 0.0",
		"vmpl = 0",
		"report_data = " R64("00"),
		"min_guest_svn = 0",
		"report_version = 2-5",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(singles) / sizeof(singles[0]); i++) {
		struct snp_policy *p = NULL;
		struct ccu_reason why = { 0 };
		char text[512];

		snprintf(text, sizeof(text), "%s\n%s", singles[i], M);
		p = parse_ok(text);
		snp_policy_free(p);
		p = NULL;
		snprintf(text, sizeof(text), "%s\n%s%s\n", singles[i], M, singles[i]);
		assert_int_equal(snp_policy_parse(text, strlen(text), &p, &why), -EINVAL);
		assert_null(p);
		assert_string_equal(why.code, "CONFIG_DUPLICATE_KEY");
		assert_non_null(strstr(why.detail, "line 3:"));
		assert_non_null(strstr(why.detail, "already set on line 1"));
	}
}

static void test_parse_over_long_line(void **state)
{
	size_t n = CCU_CONF_MAX_LINE + 100;
	char *text = malloc(n + 64);
	struct snp_policy *p = NULL;
	struct ccu_reason why = { 0 };
	size_t o;

	(void)state;
	assert_non_null(text);
	o = (size_t)sprintf(text, "measurement = any\n# ");
	memset(text + o, 'x', n);
	o += n;
	text[o++] = '\n';
	assert_int_equal(snp_policy_parse(text, o, &p, &why), -EINVAL);
	assert_string_equal(why.code, "CONFIG_SYNTAX");
	assert_non_null(strstr(why.detail, "line 2: longer than 4096 bytes"));
	assert_null(p);
	free(text);
}

/* At most 1024 entries per list; the 1025th is refused with its line. */
static void test_parse_list_bound(void **state)
{
	const size_t max = 1024;
	size_t cap = (max + 2) * 80, o = 0;
	char *text = malloc(cap);
	struct snp_policy *p = NULL;
	struct ccu_reason why = { 0 };

	(void)state;
	assert_non_null(text);
	o += (size_t)snprintf(text + o, cap - o, "measurement = any\n");
	for (size_t i = 0; i < max; i++)
		o += (size_t)snprintf(text + o, cap - o, "host_data = %064zx\n", i);
	p = parse_ok(text);
	snp_policy_free(p);
	p = NULL;
	o += (size_t)snprintf(text + o, cap - o, "host_data = %064zx\n", max);
	assert_int_equal(snp_policy_parse(text, o, &p, &why), -EINVAL);
	assert_string_equal(why.code, "CONFIG_VALUE");
	assert_string_equal(why.detail, "line 1026: host_data: more than 1024 entries");
	assert_null(p);
	free(text);
}

/* A NUL byte is a control character, not the end of the text. */
static void test_parse_embedded_nul(void **state)
{
	static const char text[] = "measurement = any\n\0vmpl = 1\n";
	struct snp_policy *p = NULL;
	struct ccu_reason why = { 0 };

	(void)state;
	assert_int_equal(snp_policy_parse(text, sizeof(text) - 1, &p, &why), -EINVAL);
	assert_string_equal(why.code, "CONFIG_SYNTAX");
	assert_non_null(strstr(why.detail, "line 2: control or non-ASCII byte 0x00"));
	assert_int_equal(snp_policy_parse(NULL, 0, &p, &why), -EINVAL);
	assert_string_equal(why.code, "CONFIG_MISSING");
}

static void test_load_file(void **state)
{
	char *dir = tu_mkdtemp();
	char path[512];
	struct snp_policy *p = NULL;
	struct ccu_reason why = { 0 };

	(void)state;
	snprintf(path, sizeof(path), "%s/policy.conf", dir);
	assert_int_equal(snp_policy_load_file(path, &p, &why), -ENOENT);
	assert_string_equal(why.code, "CONFIG_IO");
	assert_null(p);
	assert_int_equal(ccu_write_file_atomic(path, full_policy, strlen(full_policy), 0600), 0);
	assert_int_equal(snp_policy_load_file(path, &p, &why), 0);
	assert_non_null(p);
	snp_policy_free(p);
	p = NULL;
	assert_int_equal(ccu_write_file_atomic(path, "vmpl = 9\n", 9, 0600), 0);
	assert_int_equal(snp_policy_load_file(path, &p, &why), -EINVAL);
	assert_string_equal(why.code, "CONFIG_VALUE");
	assert_null(p);
	tu_rmrf(dir);
	free(dir);
}

/* The two complete examples in docs/policy.md (```conf blocks) parse. */
static void test_docs_examples_parse(void **state)
{
	char path[4096];
	size_t len, n = 0;
	char *doc, *s;

	(void)state;
	snprintf(path, sizeof(path), "%s/docs/policy.md", tu_top());
	doc = (char *)tu_read(path, &len);
	for (s = doc; (s = strstr(s, "```conf\n")) != NULL;) {
		char *end;
		struct snp_policy *p;

		s += strlen("```conf\n");
		end = strstr(s, "```");
		assert_non_null(end);
		*end = 0;
		p = parse_ok(s);
		snp_policy_free(p);
		n++;
		s = end + 3;
	}
	assert_true(n >= 2);
	free(doc);
}

/* Real reports against policies written from the vectors' README. */
static void test_real_reports(void **state)
{
	static const struct {
		const char *file;
		enum snp_product product;
		const char *allow, *deny, *code;
	} cases[] = {
		{ "oak/milan_oc_release.report.bin", SNP_PRODUCT_MILAN,
		  "min_reported_tcb = bl=4 tee=0 snp=24 ucode=219\nmin_firmware = 1.55.29\n"
		  "product = milan\nreport_version = 3\n",
		  "min_reported_tcb = bl=4 tee=0 snp=24 ucode=220\n", "POLICY_REPORTED_TCB" },
		{ "oak/turin_oc.report.bin", SNP_PRODUCT_TURIN,
		  "min_reported_tcb = fmc=0 bl=1 tee=0 snp=2 ucode=71\nmin_firmware = 1.55.61\n"
		  "product = turin\nreport_version = 5\n",
		  "min_reported_tcb = fmc=1 bl=1 tee=0 snp=2 ucode=71\n", "POLICY_REPORTED_TCB" },
		{ "trustee/test-vlek-report.bin", SNP_PRODUCT_MILAN, "vmpl = 1\n", "vmpl = 0\n",
		  "POLICY_VMPL" },
		{ "go-sev-guest/attestation.bin", SNP_PRODUCT_MILAN, NULL, "", "POLICY_DEBUG" },
	};

	(void)state;
	TU_REQUIRE_VECTORS();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ccu_reason why = { 0 };
		struct snp_report r;
		struct snp_policy *p;
		char text[1024];
		size_t n;
		uint8_t *raw = tu_read_report(tu_vec(cases[i].file), 0, &n);

		assert_true(n >= SNP_REPORT_SIZE);
		if (snp_report_parse(raw, SNP_REPORT_SIZE, &r, &why) != 0)
			fail_msg("%s: %s: %s", cases[i].file, why.code, why.detail);
		free(raw);
		if (cases[i].allow) {
			snprintf(text, sizeof(text), "%s%s", M, cases[i].allow);
			p = parse_ok(text);
			assert_allowed(p, &r, cases[i].product);
			snp_policy_free(p);
		}
		snprintf(text, sizeof(text), "%s%s", M, cases[i].deny);
		p = parse_ok(text);
		assert_denied(p, &r, cases[i].product, cases[i].code, NULL);
		snp_policy_free(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matrix),
		cmocka_unit_test(test_matrix_covers_every_code),
		cmocka_unit_test(test_evaluation_order),
		cmocka_unit_test(test_debug_migrate_always_denied),
		cmocka_unit_test(test_no_key_allows_debug),
		cmocka_unit_test(test_tcb_detail),
		cmocka_unit_test(test_tcb_fmc_turin_only),
		cmocka_unit_test(test_tcb_undecodable),
		cmocka_unit_test(test_measurement_detail),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_eval_bad_args),
		cmocka_unit_test(test_parse_full),
		cmocka_unit_test(test_parse_bools),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_duplicate_single_keys),
		cmocka_unit_test(test_parse_over_long_line),
		cmocka_unit_test(test_parse_list_bound),
		cmocka_unit_test(test_parse_embedded_nul),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_docs_examples_parse),
		cmocka_unit_test(test_real_reports),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
