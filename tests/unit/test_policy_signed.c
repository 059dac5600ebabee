/*
 * The release-policy matrix on genuine-looking evidence: for every rule, a
 * report signed by the simulated platform (with a VCEK the platform's "KDS"
 * issues for that report's TCB and chip) first passes full verification -
 * chain to the configured test root, TCB and chip binding, signature - and
 * then the policy allows the boundary value and denies one step beyond it
 * with the rule's code. This is the path the broker takes for every key.
 */
#include "helpers/testutil.h"
#include "helpers/policy_matrix.h"
#include "helpers/simfix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "snp/policy.h"
#include "snp/sim.h"
#include "snp/verify.h"

static void tcb_max(uint8_t cur[8], const uint8_t rep[8])
{
	for (int i = 0; i < 8; i++)
		if (rep[i] > cur[i])
			cur[i] = rep[i];
}

/* Sign @r as the platform of @p, with a VCEK for the report's own TCB and
 * chip, and verify it. Returns the verified product. */
static enum snp_product sign_and_verify(struct snp_report *r, enum snp_product p, const char *what)
{
	struct ccu_reason why = { 0 };
	struct snp_sim *base = tu_sim_platform(p), *plat = NULL;
	struct snp_tcb tcb;
	struct snp_verify_opts o = { 0 };
	struct snp_verdict v;
	STACK_OF(X509) *chain = sk_X509_new_null();
	uint8_t raw[SNP_REPORT_SIZE];
	struct snp_report parsed;

	/* A firmware never reports a CURRENT_TCB below the TCB it signs with. */
	tcb_max(r->current_tcb, r->reported_tcb);
	assert_true(snp_tcb_decode(r->reported_tcb, p, &tcb));
	if (snp_sim_reissue(base, &tcb, r->chip_id, &plat, &why) < 0)
		fail_msg("%s: reissue: %s: %s", what, why.code, why.detail);
	r->sig_algo = SNP_SIG_ALGO_ECDSA_P384_SHA384;
	r->policy |= SNP_POLICY_RESERVED_1;
	if (snp_sim_sign(plat, r, &why) < 0)
		fail_msg("%s: sign: %s: %s", what, why.code, why.detail);
	memcpy(raw, r->raw, sizeof(raw));
	if (snp_report_parse(raw, sizeof(raw), &parsed, &why) < 0)
		fail_msg("%s: parse: %s: %s", what, why.code, why.detail);
	sk_X509_push(chain, snp_sim_ask(plat));
	sk_X509_push(chain, snp_sim_ark(plat));
	if (snp_verify(tu_sim_trust(), &parsed, snp_sim_vcek(plat), chain, &o, &v) != 0)
		fail_msg("%s: verification failed: %s: %s", what, v.reason.code, v.reason.detail);
	sk_X509_free(chain);
	snp_sim_free(plat);
	*r = parsed;
	return v.product;
}

static void run_row(const struct policy_matrix_row *row, bool beyond)
{
	struct snp_report r;
	enum snp_product p = row->product;
	struct snp_policy *pol = NULL;
	struct ccu_reason why = { 0 };
	char text[4096], what[128];
	int rc;

	snprintf(what, sizeof(what), "%s (%s)", row->name, beyond ? "beyond" : "boundary");
	policy_matrix_base_report(&r, p);
	(beyond ? row->beyond : row->boundary)(&r, &p);
	p = sign_and_verify(&r, p, what);
	assert_true(policy_matrix_policy(row, text, sizeof(text)) > 0);
	if (snp_policy_parse(text, strlen(text), &pol, &why) < 0)
		fail_msg("%s: policy: %s: %s", what, why.code, why.detail);
	rc = snp_policy_eval(pol, &r, p, &why);
	snp_policy_free(pol);
	if (!beyond && rc != 0)
		fail_msg("%s: denied: %s: %s", what, why.code, why.detail);
	if (beyond && (rc == 0 || strcmp(why.code, row->code) != 0))
		fail_msg("%s: expected %s, got %s", what, row->code, rc == 0 ? "allowed" : why.code);
}

static void test_signed_matrix(void **state)
{
	size_t n = policy_matrix_count(), done = 0;

	(void)state;
	for (size_t i = 0; i < n; i++) {
		const struct policy_matrix_row *row = policy_matrix_row(i);

		/* Evidence from an unknown CPU family cannot verify as such: the
		 * chain always names a product, so that row lives in
		 * test_policy.c on hand-built reports only. */
		if (strstr(row->detail, "unknown"))
			continue;
		run_row(row, false);
		run_row(row, true);
		done++;
	}
	print_message("%zu of %zu rows on signed, verified reports\n", done, n);
	assert_true(done + 1 >= n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signed_matrix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
