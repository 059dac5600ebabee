/*
 * The TPMS_ATTEST (TPM2_Quote) parser. Whatever it accepts re-encodes to
 * a quote that parses to the same fields.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "snp/hcl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct az_tpm_quote q, again;
	struct ccu_reason why = { 0 };
	uint8_t buf[AZ_TPM_ATTEST_MAX];
	int n;

	if (az_tpm_quote_parse(data, size, &q, &why) != 0)
		return 0;
	if (!q.pcr_mask || q.pcr_mask >> AZ_TPM_PCR_COUNT || q.extra_len > AZ_TPM_DATA_MAX)
		__builtin_trap();
	n = az_tpm_quote_encode(&q, buf, sizeof(buf));
	if (n <= 0 || az_tpm_quote_parse(buf, (size_t)n, &again, &why) != 0 ||
	    memcmp(&q, &again, sizeof(q)) != 0)
		__builtin_trap();
	return 0;
}
