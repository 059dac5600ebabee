/*
 * Report files given on the command line (`ccunlock-kbs verify --report`):
 * raw, hex or base64 text, with or without an explicit container offset.
 * Whatever the bytes, decoding either refuses with a reason or yields
 * exactly one report's worth of bytes that the strict parser then judges.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "snp/report.h"
#include "snp/report_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[SNP_REPORT_SIZE];
	struct ccu_reason why = { 0 };
	struct snp_report r;
	size_t offset;

	if (size < 2)
		return 0;
	/* First byte: offset mode; the rest is the file. */
	offset = data[0] & 0x7f;
	for (int with_offset = 0; with_offset <= 1; with_offset++) {
		int rc = snp_report_file_decode(data + 1, size - 1, with_offset, offset, out, NULL, &why);

		if (rc < 0 && !ccu_reason_is_set(&why))
			__builtin_trap();
		if (rc == 0)
			(void)snp_report_parse(out, sizeof(out), &r, NULL);
		ccu_reason_clear(&why);
	}
	return 0;
}
