/*
 * libFuzzer target: flattened JWE parse + decrypt (kbs_jwe_decrypt) with a
 * fixed EC P-256 key, so seeds encrypted to that key reach the key unwrap
 * and GCM paths; the same input is also offered to an RSA key (parse and
 * alg/key-mismatch paths). The key below is a throwaway fuzzing key.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <openssl/pem.h>

#include "common/secmem.h"
#include "kbs/jwe.h"

static const char fuzz_ec_key[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgoun+uCYiGXQpflNd\n"
	"eItAYvpr8IieJFIpfXIZhm2+KEqhRANCAASVaOSBFiUSrX42DEsoUwnCJJClrN1g\n"
	"do+c+volk9NegOfuARWZ5R4bo2Skwg5N93o88MUSE7+3NfVl4KF/Wchc\n"
	"-----END PRIVATE KEY-----\n";

static EVP_PKEY *ec_key, *rsa_key;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	BIO *b = BIO_new_mem_buf(fuzz_ec_key, -1);

	(void)argc;
	(void)argv;
	ec_key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (!ec_key || !rsa_key)
		abort();
	return 0;
}

static void try_key(EVP_PKEY *k, const uint8_t *data, size_t size)
{
	struct ccu_reason r;
	uint8_t *pt = NULL;
	size_t len = 0;

	if (kbs_jwe_decrypt(k, (const char *)data, size, &pt, &len, &r) == 0) {
		if (!pt || secmem_size(pt) < len)
			abort();
		secmem_free(pt);
	} else if (pt || len || !r.code[0]) {
		abort(); /* failures return nothing and always say why */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	try_key(ec_key, data, size);
	try_key(rsa_key, data, size);
	return 0;
}
