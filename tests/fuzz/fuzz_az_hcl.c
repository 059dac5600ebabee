/*
 * The Azure HCL report parser, and what follows it on whatever parses: the
 * SNP report at its offset and the runtime-data JSON. Invariants: the
 * runtime data lies inside the input and the report_size covers it.
 */
#include <stddef.h>
#include <stdint.h>

#include "snp/hcl.h"
#include "snp/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct az_hcl h;
	struct az_runtime rt;
	struct snp_report r;
	struct ccu_reason why = { 0 };

	if (az_hcl_parse(data, size, &h, &why) != 0)
		return 0;
	if (h.runtime < data || h.runtime + h.runtime_len > data + size ||
	    h.report_size != AZ_HCL_RUNTIME_OFFSET + h.runtime_len || h.snp != data + AZ_HCL_HEADER_SIZE)
		__builtin_trap();
	(void)snp_report_parse(h.snp, SNP_REPORT_SIZE, &r, &why);
	(void)az_runtime_parse(h.runtime, h.runtime_len, &rt, &why);
	return 0;
}
