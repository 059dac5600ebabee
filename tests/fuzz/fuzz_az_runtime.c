/*
 * The HCL runtime-data JSON parser (vTPM AK JWK, vm-configuration,
 * user-data). Invariants on what it accepts: an RSA modulus of 256..512
 * bytes without a leading zero, a printable vmUniqueId.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "snp/hcl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct az_runtime rt;
	struct ccu_reason why = { 0 };

	if (az_runtime_parse(data, size, &rt, &why) != 0)
		return 0;
	if (rt.ak_n_len < 256 || rt.ak_n_len > AZ_RSA_MAX_BYTES || rt.ak_n[0] == 0 ||
	    rt.ak_e_len == 0 || rt.ak_e_len > sizeof(rt.ak_e) || strlen(rt.vm_id) > AZ_VM_ID_MAX)
		__builtin_trap();
	return 0;
}
