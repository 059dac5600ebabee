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

/* SHA-256 of @len bytes into @out; 0 or -EIO. */
int ccu_sha256(const void *data, size_t len, uint8_t out[32]);
