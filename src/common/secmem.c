#include "common/secmem.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* Header in front of the user area; the mapping is header + user bytes
 * rounded up to whole pages. */
struct secmem_hdr {
	uint64_t magic;
	size_t map_len;
	size_t user_len;
	uint64_t pad;
};

#define SECMEM_MAGIC 0x6363756e6c6f636bULL /* "ccunlock" */
#define SECMEM_MAX (64u * 1024 * 1024)

void secmem_wipe(void *p, size_t len)
{
	if (p && len)
		explicit_bzero(p, len);
}

bool secmem_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

void *secmem_alloc(size_t len)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t total, map_len;
	struct secmem_hdr *h;

	if (len == 0 || len > SECMEM_MAX || page <= 0) {
		errno = EINVAL;
		return NULL;
	}
	total = sizeof(*h) + len;
	map_len = (total + (size_t)page - 1) / (size_t)page * (size_t)page;
	h = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (h == MAP_FAILED)
		return NULL;
	(void)madvise(h, map_len, MADV_DONTDUMP);
	(void)madvise(h, map_len, MADV_WIPEONFORK);
	if (mlock(h, map_len) < 0) {
		int e = errno;

		munmap(h, map_len);
		errno = e;
		return NULL;
	}
	h->magic = SECMEM_MAGIC;
	h->map_len = map_len;
	h->user_len = len;
	return h + 1;
}

static struct secmem_hdr *hdr_of(const void *p)
{
	struct secmem_hdr *h = (struct secmem_hdr *)(uintptr_t)p - 1;

	/* A foreign pointer here is a programming error: abort rather than
	 * unmap something we do not own. */
	if (h->magic != SECMEM_MAGIC)
		abort();
	return h;
}

size_t secmem_size(const void *p)
{
	return p ? hdr_of(p)->user_len : 0;
}

void secmem_free(void *p)
{
	struct secmem_hdr *h;
	size_t map_len;

	if (!p)
		return;
	h = hdr_of(p);
	map_len = h->map_len;
	explicit_bzero(h, map_len);
	(void)munlock(h, map_len);
	(void)munmap(h, map_len);
}

int secmem_harden_process(size_t openssl_secure_heap)
{
	struct rlimit no_core = { 0, 0 };
	int r = 0;

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		r = -errno;
	if (setrlimit(RLIMIT_CORE, &no_core) < 0 && r == 0)
		r = -errno;
	if (openssl_secure_heap && !CRYPTO_secure_malloc_initialized()) {
		/* minsize 32: small enough for EC scalars. Failure (e.g. a low
		 * RLIMIT_MEMLOCK) leaves OpenSSL on its normal heap; report it. */
		if (CRYPTO_secure_malloc_init(openssl_secure_heap, 32) == 0 && r == 0)
			r = -ENOMEM;
	}
	return r;
}
