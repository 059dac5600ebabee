/* libFuzzer: the simulator's TCB / firmware / chip-id parsers (command line
 * and platform.conf values). The first byte picks the parser and product;
 * the rest is the text. Accepted values must re-format consistently. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "snp/sim.h"

#define FUZZ_MAX_TEXT 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[FUZZ_MAX_TEXT + 1], buf[80];
	struct ccu_reason why;
	enum snp_product p;
	struct snp_tcb t, again;
	struct snp_fw_version fw;
	uint8_t chip[64];

	if (size < 1 || size - 1 > FUZZ_MAX_TEXT)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = 0;
	p = (enum snp_product)((data[0] >> 2) % SNP_PRODUCT_COUNT);
	switch (data[0] & 3) {
	case 0:
		if (snp_sim_parse_tcb(text, p, &t, &why) == 0) {
			/* The canonical form parses back to the same TCB. */
			if (snp_sim_parse_tcb(snp_tcb_format(&t, buf, sizeof(buf)), p, &again,
					      &why) != 0 ||
			    memcmp(&t, &again, sizeof(t)) != 0)
				abort();
		}
		break;
	case 1:
		(void)snp_sim_parse_fw(text, &fw, &why);
		break;
	default:
		if (snp_sim_parse_chip_id(text, p, chip, &why) == 0 && strlen(text) != 128 &&
		    strlen(text) != 16)
			abort();
		break;
	}
	return 0;
}
