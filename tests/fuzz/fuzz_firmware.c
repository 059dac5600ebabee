/* Fuzz the OVMF firmware parser (footer GUID table, SEV metadata): the
 * input is the end of a firmware image, zero-padded in front to whole
 * pages. Whatever is accepted must satisfy the parser's promises. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "measure/measure.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[MEAS_FW_TAIL];
	size_t len = (size + MEAS_PAGE - 1) / MEAS_PAGE * MEAS_PAGE, n;
	struct meas_fw fw;
	uint8_t page[MEAS_PAGE];

	if (len < MEAS_PAGE)
		len = MEAS_PAGE;
	if (len > MEAS_FW_TAIL)
		len = MEAS_FW_TAIL;
	n = size < len ? size : len;
	memset(buf, 0, len - n);
	memcpy(buf + len - n, data + size - n, n);
	if (meas_fw_parse(buf, len, len, &fw, NULL) < 0)
		return 0;
	if (fw.nsections > MEAS_FW_SECTIONS_MAX || (fw.nsections && !fw.has_metadata))
		abort();
	for (unsigned i = 0; i < fw.nsections; i++) {
		const struct meas_section *s = &fw.sections[i];

		if (s->gpa % MEAS_PAGE || s->size == 0 || s->size % MEAS_PAGE ||
		    (uint64_t)s->gpa + s->size > 0x100000000ull - len)
			abort();
		for (unsigned j = 0; j < i; j++)
			if (s->gpa < (uint64_t)fw.sections[j].gpa + fw.sections[j].size &&
			    fw.sections[j].gpa < (uint64_t)s->gpa + s->size)
				abort();
	}
	if (fw.has_reset_block)
		meas_vmsa_build(page, fw.reset_eip, 0xa00f11, 0x1, MEAS_VMM_EC2);
	return 0;
}
