/* Fuzz the LUKS2 "ccunlock" token parser (the header is attacker-controlled). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_token t;
	char *again = NULL;

	if (guest_token_parse((const char *)data, size, &t, NULL) < 0)
		return 0;
	/* What parses rebuilds to a token that parses to the same thing. */
	if (guest_token_build(t.keyslot, t.resource_str, &again, NULL) < 0)
		abort();
	struct guest_token u;
	if (guest_token_parse(again, strlen(again), &u, NULL) < 0 || u.keyslot != t.keyslot ||
	    strcmp(u.resource_str, t.resource_str) != 0)
		abort();
	free(again);
	return 0;
}
