#include "common/evp.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/params.h>

static pthread_once_t evp_once = PTHREAD_ONCE_INIT;
static EVP_MD *md256, *md384, *md512;
static EVP_CIPHER *gcm256, *wrap256;

static const char *const ec_curves[] = { "P-256", "P-384", "P-521" };
static EVP_PKEY *ec_tmpl[3];

static EVP_PKEY *make_ec_params(const char *curve)
{
	char name[8];
	OSSL_PARAM p[2];
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *pk = NULL;

	snprintf(name, sizeof(name), "%s", curve);
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, name, 0);
	p[1] = OSSL_PARAM_construct_end();
	if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_KEY_PARAMETERS, p) <= 0)
		pk = NULL;
	EVP_PKEY_CTX_free(ctx);
	return pk;
}

static void evp_fetch_all(void)
{
	md256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
	md384 = EVP_MD_fetch(NULL, "SHA2-384", NULL);
	md512 = EVP_MD_fetch(NULL, "SHA2-512", NULL);
	gcm256 = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	wrap256 = EVP_CIPHER_fetch(NULL, "AES-256-WRAP", NULL);
	for (size_t i = 0; i < sizeof(ec_curves) / sizeof(ec_curves[0]); i++)
		ec_tmpl[i] = make_ec_params(ec_curves[i]);
}

EVP_PKEY *ccu_ec_params(const char *curve)
{
	pthread_once(&evp_once, evp_fetch_all);
	for (size_t i = 0; curve && i < sizeof(ec_curves) / sizeof(ec_curves[0]); i++)
		if (strcmp(curve, ec_curves[i]) == 0)
			return ec_tmpl[i];
	return NULL;
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
