/*
 * snp_report_parse on arbitrary bytes. Whatever it accepts must re-encode
 * to exactly the input (every byte is a field or checked to be zero), and
 * must survive the JSON form: raw -> JSON -> raw is the identity whenever
 * the JSON can carry the report (TCB reserved bytes zero, u64s < 2^63).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "snp/evidence.h"
#include "snp/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool json_can_carry(const struct snp_report *r, enum snp_product p)
{
	const uint8_t *tcb[] = { r->current_tcb, r->reported_tcb, r->committed_tcb, r->launch_tcb };
	struct snp_tcb t;

	for (size_t i = 0; i < sizeof(tcb) / sizeof(tcb[0]); i++)
		if (!snp_tcb_decode(tcb[i], p, &t))
			return false;
	return r->platform_info <= INT64_MAX && r->launch_mit_vector <= INT64_MAX &&
	       r->current_mit_vector <= INT64_MAX;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t again[SNP_REPORT_SIZE];
	struct ccu_reason why = { 0 };
	struct snp_report r;
	enum snp_product p;
	json_t *j;

	if (snp_report_parse(data, size, &r, &why) != 0) {
		if (!why.code[0] || !why.detail[0])
			__builtin_trap();
		return 0;
	}
	snp_report_encode(&r, again);
	if (size != SNP_REPORT_SIZE || memcmp(again, data, SNP_REPORT_SIZE) != 0)
		__builtin_trap();

	p = snp_report_product(&r);
	j = snp_report_to_json(&r, p);
	if (!j) {
		if (json_can_carry(&r, p))
			__builtin_trap();
		return 0;
	}
	if (json_can_carry(&r, p) &&
	    (snp_report_from_json(j, again, &why) != 0 ||
	     memcmp(again, data, SNP_REPORT_SIZE) != 0))
		__builtin_trap();
	json_decref(j);
	return 0;
}
