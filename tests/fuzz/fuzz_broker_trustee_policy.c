/* Fuzz the body of Trustee's set-resource-policy (admin input, but parsed
 * before anything else looks at it). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ccu_reason why = { 0 };
	char *text = NULL;

	if (broker_admin_trustee_policy((const char *)data, size, &text, &why) == 0) {
		if (!text || strlen(text) > BROKER_POLICY_TEXT_MAX)
			abort();
	} else if (text || !why.code[0]) {
		abort();
	}
	free(text);
	return 0;
}
