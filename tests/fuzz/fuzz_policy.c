/*
 * Fuzz the release-policy parser, and the evaluator with whatever policy
 * parses: the input is the policy text; the report is derived from the same
 * bytes so mutations reach both the parser's value forms and the rules.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "snp/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fill @r from @data (repeated) so its fields vary with the input. */
static void derive_report(const uint8_t *data, size_t size, struct snp_report *r)
{
	uint8_t raw[SNP_REPORT_SIZE] = { 0 };

	for (size_t i = 0; size && i < sizeof(raw); i++)
		raw[i] = data[i % size];
	memset(r, 0, sizeof(*r));
	memcpy(r->raw, raw, sizeof(raw));
	r->version = 2 + raw[0] % 4;
	r->guest_svn = (uint32_t)raw[1] << 8 | raw[2];
	r->policy = (uint64_t)raw[3] << 16 | (uint64_t)raw[4] << 8 | raw[5];
	r->vmpl = raw[6] % 5;
	memcpy(r->family_id, raw + SNP_OFF_FAMILY_ID, 16);
	memcpy(r->image_id, raw + SNP_OFF_IMAGE_ID, 16);
	memcpy(r->report_data, raw + SNP_OFF_REPORT_DATA, 64);
	memcpy(r->measurement, raw + SNP_OFF_MEASUREMENT, 48);
	memcpy(r->host_data, raw + SNP_OFF_HOST_DATA, 32);
	memcpy(r->id_key_digest, raw + SNP_OFF_ID_KEY_DIGEST, 48);
	memcpy(r->author_key_digest, raw + SNP_OFF_AUTHOR_KEY_DIGEST, 48);
	memcpy(r->reported_tcb, raw + SNP_OFF_REPORTED_TCB, 8);
	memcpy(r->chip_id, raw + SNP_OFF_CHIP_ID, 64);
	memcpy(r->committed_tcb, raw + SNP_OFF_COMMITTED_TCB, 8);
	memcpy(r->launch_tcb, raw + SNP_OFF_LAUNCH_TCB, 8);
	r->current.build = raw[SNP_OFF_CURRENT_BUILD];
	r->current.minor = raw[SNP_OFF_CURRENT_MINOR];
	r->current.major = raw[SNP_OFF_CURRENT_MAJOR];
	r->committed.build = raw[SNP_OFF_COMMITTED_BUILD];
	r->committed.minor = raw[SNP_OFF_COMMITTED_MINOR];
	r->committed.major = raw[SNP_OFF_COMMITTED_MAJOR];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snp_policy *p = NULL;
	struct ccu_reason why = { 0 };
	struct snp_report r;

	if (snp_policy_parse((const char *)data, size, &p, &why) != 0) {
		if (p || !ccu_reason_is_set(&why))
			__builtin_trap();
		return 0;
	}
	derive_report(data, size, &r);
	for (int prod = 0; prod < SNP_PRODUCT_COUNT; prod++) {
		int ret = snp_policy_eval(p, &r, (enum snp_product)prod, &why);

		/* allowed with no reason, or denied with one */
		if ((ret == 0) == ccu_reason_is_set(&why))
			__builtin_trap();
		/* debug and migration agents are never released */
		if (ret == 0 && (r.policy & (SNP_POLICY_DEBUG | SNP_POLICY_MIGRATE_MA)))
			__builtin_trap();
	}
	snp_policy_free(p);
	return 0;
}
