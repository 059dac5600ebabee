/* Fuzz the host's GHCB certificate table parser, and the forwarding of the
 * entries whose GUID we do not know. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "guest/certtable.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_certtable_other others[GUEST_CERTTABLE_MAX_ENTRIES];
	STACK_OF(X509) *sk = NULL;
	size_t n = 0;
	json_t *ev;

	if (guest_certtable_parse_all(data, size, &sk, others, &n, NULL) != 0)
		return 0;
	if (n > GUEST_CERTTABLE_MAX_ENTRIES)
		abort();
	for (size_t i = 0; i < n; i++)
		if (others[i].data < data || others[i].data + others[i].len > data + size)
			abort();
	if (sk && (sk_X509_num(sk) < 1 || sk_X509_num(sk) > GUEST_CERTTABLE_MAX_ENTRIES))
		abort();
	ev = json_pack("{s:[]}", "cert_chain");
	if (ev && (guest_certtable_add_others(ev, others, n) < 0 ||
		   json_array_size(json_object_get(ev, "cert_chain")) != n))
		abort();
	json_decref(ev);
	sk_X509_pop_free(sk, X509_free);
	return 0;
}
