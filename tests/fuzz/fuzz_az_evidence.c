/*
 * Trustee az-snp-vtpm evidence JSON (v0..v2), then everything the verifier
 * does with parsed evidence that needs no AMD chain: the HCL report, the
 * runtime data, the AK signature over the quote, the TPMS_ATTEST and the
 * PCR digest. Invariant: parsed evidence has its VCEK and bounded sizes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "snp/azure.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct az_evidence ev;
	struct az_claims *c;
	struct ccu_reason why = { 0 };
	static const uint8_t binding[48];

	if (az_evidence_parse_text((const char *)data, size, &ev, &why) != 0)
		return 0;
	if (!ev.vcek || !ev.hcl || ev.hcl_len > AZ_HCL_MAX || ev.npcrs == 0 ||
	    ev.npcrs > AZ_TPM_PCR_COUNT || ev.version < 0 || ev.version > AZ_EVIDENCE_VERSION_MAX)
		__builtin_trap();
	c = calloc(1, sizeof(*c));
	if (c && az_claims_parse(&ev, c, &why) == 0)
		(void)az_verify_quote(&ev, c, binding, sizeof(binding), &why);
	free(c);
	az_evidence_done(&ev);
	return 0;
}
