/*
 * Algorithms fetched once per process. Passing EVP_sha256() and friends to
 * an *Init call makes OpenSSL 3 look the implementation up in its provider
 * store on every call (a hash-table walk under a read lock); hot paths use
 * these explicitly fetched objects instead. Each falls back to the legacy
 * getter when the fetch fails, so callers never get NULL.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

const EVP_MD *ccu_md_sha256(void);
const EVP_MD *ccu_md_sha384(void);
const EVP_MD *ccu_md_sha512(void);
const EVP_CIPHER *ccu_cipher_aes256gcm(void);
const EVP_CIPHER *ccu_cipher_aes256wrap(void);

/*
 * A parameters-only EC key for "P-256", "P-384" or "P-521", made once per
 * process (NULL for another name, or when it could not be made). Building
 * a key from its group name looks the curve up and constructs the group
 * anew each time; EVP_PKEY_dup() of this template, or a key generation
 * context made from it, reuses the group instead. Borrowed: never freed.
 */
EVP_PKEY *ccu_ec_params(const char *curve);

/* SHA-256 of @len bytes into @out; 0 or -EIO. */
int ccu_sha256(const void *data, size_t len, uint8_t out[32]);
