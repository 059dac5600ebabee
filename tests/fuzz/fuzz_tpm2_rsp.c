/*
 * The guest's TPM2 response parsers (guest/tpm2.h): the header with and
 * without an authorization area, then the Quote, PCR_Read or ReadPublic
 * parameters of whatever header parses. The first input byte picks the
 * variant (bit 0: sessions, bit 1: Quote, bit 3: ReadPublic).
 */
#include <stddef.h>
#include <stdint.h>

#include "guest/tpm2.h"
#include "snp/hcl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ccu_reason why = { 0 };
	size_t off = 0, len = 0, ml, sl;
	uint32_t rc;
	uint8_t msg[AZ_TPM_ATTEST_MAX], sig[AZ_TPM_SIG_MAX], pcrs[24][32], n[AZ_RSA_MAX_BYTES];
	uint32_t e;
	bool sessions;

	if (size < 1)
		return 0;
	sessions = data[0] & 1;
	if (tpm2_parse_header(data + 1, size - 1, sessions, 0, &off, &len, &rc, &why) != 0)
		return 0;
	if (off + len > size - 1)
		__builtin_trap();
	if (data[0] & 8) {
		if (tpm2_parse_read_public(data + 1 + off, len, n, sizeof(n), &ml, &e, &why) == 0 &&
		    (!ml || ml > sizeof(n) || ml > len || !e))
			__builtin_trap();
	} else if (data[0] & 2) {
		if (tpm2_parse_quote(data + 1 + off, len, msg, sizeof(msg), &ml, sig, sizeof(sig), &sl,
				     &why) == 0 &&
		    (ml > sizeof(msg) || sl > sizeof(sig) || !ml || !sl))
			__builtin_trap();
	} else {
		uint32_t mask = data[0] & 4 ? 0xff : 0xff00;

		(void)tpm2_parse_pcr_read(data + 1 + off, len, mask, pcrs, &why);
	}
	return 0;
}
