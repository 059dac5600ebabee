/*
 * Memory for secrets: page-backed, locked (mlock), excluded from core dumps
 * (MADV_DONTDUMP), zeroed on allocation and wiped with explicit_bzero before
 * it is unmapped, or kept, still locked, for the next one-page allocation
 * (a bounded, thread-safe pool; secmem.c). Every buffer that ever holds key
 * material (disk keys, CEKs, private key bytes, decrypted JWE payloads)
 * comes from here.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/macros.h"

/* Freed one-page buffers kept locked for reuse, at most (secmem.c). */
#define SECMEM_POOL_PAGES 16

/* Returns NULL with errno set on failure. A failed mlock is an error: a
 * secret must not be swappable (the caller decides whether to go on). */
void *secmem_alloc(size_t len);
/* Wipes, then unlocks and releases, or keeps a one-page buffer for reuse
 * while fewer than SECMEM_POOL_PAGES are kept; accepts NULL. */
void secmem_free(void *p);
size_t secmem_size(const void *p);

/* explicit_bzero that survives optimisation. */
void secmem_wipe(void *p, size_t len);

/* Constant-time comparison; returns true when equal. */
bool secmem_equal(const void *a, const void *b, size_t len);

/*
 * Process hardening for programs that handle secrets: not dumpable (no core
 * files, no ptrace by other users), RLIMIT_CORE 0, and OpenSSL's secure heap
 * so private keys inside OpenSSL also live in locked memory.
 * Returns 0 or -errno (the first failure).
 */
int secmem_harden_process(size_t openssl_secure_heap);

static inline void secmem_freep(void *p)
{
	secmem_free(*(void **)p);
}
#define _cleanup_secmem_ _cleanup_(secmem_freep)
