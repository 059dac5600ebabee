/*
 * Parsed certificates, keyed by the SHA-256 of their DER: a broker sees the
 * same few VCEK/ASK/ARK encodings in every boot of a chip (and the same
 * ASK/ARK for every chip), and d2i_X509 (which decodes the public key
 * through OpenSSL's decoder framework) is far dearer than hashing the DER.
 * A hit means the very same bytes were parsed and found canonical before,
 * so the cached X509 is what a fresh parse would give.
 *
 * Process-wide, thread-safe (one mutex), bounded (SNP_DERCACHE_MAX entries,
 * least recently used evicted). Entries are shared read-only: callers get a
 * new reference (X509_up_ref) and free it as usual.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#define SNP_DERCACHE_MAX 256

/* The X509 of exactly @n DER bytes in their one canonical encoding, or NULL
 * (not a certificate, trailing bytes, non-canonical, or out of memory). */
X509 *snp_dercache_x509(const uint8_t *der, size_t n);

/* Counters for tests and the bench: lookups that hit / parsed. */
void snp_dercache_stats(unsigned long *hits, unsigned long *misses);
/* Drop every entry (tests). */
void snp_dercache_flush(void);
