#include "common/evp.h"

#include <errno.h>
#include <pthread.h>

static pthread_once_t evp_once = PTHREAD_ONCE_INIT;
static EVP_MD *md256, *md384, *md512;
static EVP_CIPHER *gcm256, *wrap256;

static void evp_fetch_all(void)
{
	md256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
	md384 = EVP_MD_fetch(NULL, "SHA2-384", NULL);
	md512 = EVP_MD_fetch(NULL, "SHA2-512", NULL);
	gcm256 = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	wrap256 = EVP_CIPHER_fetch(NULL, "AES-256-WRAP", NULL);
}

const EVP_MD *ccu_md_sha256(void)
{
	pthread_once(&evp_once, evp_fetch_all);
	return md256 ? md256 : EVP_sha256();
}

const EVP_MD *ccu_md_sha384(void)
{
	pthread_once(&evp_once, evp_fetch_all);
	return md384 ? md384 : EVP_sha384();
}

const EVP_MD *ccu_md_sha512(void)
{
	pthread_once(&evp_once, evp_fetch_all);
	return md512 ? md512 : EVP_sha512();
}

const EVP_CIPHER *ccu_cipher_aes256gcm(void)
{
	pthread_once(&evp_once, evp_fetch_all);
	return gcm256 ? gcm256 : EVP_aes_256_gcm();
}

const EVP_CIPHER *ccu_cipher_aes256wrap(void)
{
	pthread_once(&evp_once, evp_fetch_all);
	return wrap256 ? wrap256 : EVP_aes_256_wrap();
}

int ccu_sha256(const void *data, size_t len, uint8_t out[32])
{
	unsigned int l = 0;

	return EVP_Digest(data, len, out, &l, ccu_md_sha256(), NULL) == 1 && l == 32 ? 0 : -EIO;
}
