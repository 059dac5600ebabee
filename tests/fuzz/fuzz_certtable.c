/* Fuzz the host's GHCB certificate table parser. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <openssl/x509.h>

#include "guest/certtable.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	STACK_OF(X509) *sk = NULL;

	if (guest_certtable_parse(data, size, &sk, NULL) == 0 && sk) {
		if (sk_X509_num(sk) < 1 || sk_X509_num(sk) > GUEST_CERTTABLE_MAX_ENTRIES)
			abort();
		sk_X509_pop_free(sk, X509_free);
	}
	return 0;
}
