/*
 * libFuzzer target for the broker's /attest body path, up to (not including)
 * the AMD chain verification: Attestation parse, nonce check against a fixed
 * session nonce, init-data and additional-evidence refusals, tee-pubkey
 * import, SNP evidence parse, report parse and the REPORT_DATA binding.
 * Property: a success means the report's REPORT_DATA is exactly the binding
 * of the session nonce and the parsed key.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "broker/server.h"
#include "kbs/preimage.h"

#define FUZZ_NONCE "a/b+c="

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct broker_attest_prep p;
	struct ccu_reason why;
	uint8_t rd[KBS_REPORT_DATA_LEN];

	if (size > KBS_ATTESTATION_MAX + 16)
		return 0;
	if (broker_attest_prepare((const char *)data, size, FUZZ_NONCE, &p, &why) == 0) {
		/* SNP: REPORT_DATA is the binding. az-snp-vtpm: the binding the quote
		 * must carry (checked after its signature, in verification). */
		if (!p.have_report ||
		    kbs_report_data_broker(KBS_HASH_SHA384, FUZZ_NONCE, &p.att.tee_pubkey, "", rd,
					   NULL) < 0 ||
		    (p.azure ? memcmp(rd, p.az_binding, sizeof(p.az_binding)) != 0 || !p.az :
			       memcmp(rd, p.report.report_data, sizeof(rd)) != 0))
			__builtin_trap();
	} else if (!why.code[0]) {
		__builtin_trap(); /* every refusal names its reason */
	}
	broker_attest_prep_done(&p);
	return 0;
}
