/* Fuzz the init-data TOML parser (the document comes from the host). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "kbs/initdata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kbs_initdata d;
	uint8_t md[EVP_MAX_MD_SIZE], host[KBS_INITDATA_HOST_DATA_LEN];
	unsigned int ml = 0;
	const EVP_MD *alg;

	if (kbs_initdata_parse((const char *)data, size, &d, NULL) < 0) {
		/* a refusal leaves nothing behind */
		if (d.digest_len || d.n_data)
			abort();
		return 0;
	}
	/* What parses is digested over exactly its bytes, with its algorithm. */
	alg = d.alg == KBS_HASH_SHA256 ? EVP_sha256() : d.alg == KBS_HASH_SHA384 ? EVP_sha384() :
	      d.alg == KBS_HASH_SHA512 ? EVP_sha512() : NULL;
	if (!alg || EVP_Digest(data, size, md, &ml, alg, NULL) != 1 || ml != d.digest_len ||
	    memcmp(md, d.digest, ml) != 0)
		abort();
	kbs_initdata_host_data(d.digest, d.digest_len, host);
	if (memcmp(host, d.host_data, sizeof(host)) != 0 || d.n_data > KBS_INITDATA_MAX_ENTRIES)
		abort();
	return 0;
}
