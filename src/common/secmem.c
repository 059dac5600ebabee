#include "common/secmem.h"

#include <errno.h>
#include <pthread.h>
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

/*
 * Freed one-page buffers (most secrets: CEKs, JWE intermediates, a disk
 * key) are kept for reuse, up to SECMEM_POOL_PAGES of them, instead of
 * being unlocked and unmapped: each allocation and free otherwise costs
 * five system calls (mmap, two madvise, mlock; munlock, munmap), and the
 * unmap a TLB shootdown across a multi-threaded broker. A kept page is
 * still its own mapping, locked, MADV_DONTDUMP and MADV_WIPEONFORK; it is
 * wiped whole before it is kept, so a reused page is as zeroed as a fresh
 * one. A fork's child does not inherit the locks: it unmaps its copies
 * (pool_child) and locks its own pages. When a mapping or its lock fails
 * (RLIMIT_MEMLOCK reached), the kept pages are released and the allocation
 * tried once more, so the pool never makes an allocation fail.
 */

static struct {
	pthread_mutex_t lock;
	void *page[SECMEM_POOL_PAGES];
	size_t n;
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER };
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

static void pool_prepare(void)
{
	pthread_mutex_lock(&pool.lock);
}

static void pool_parent(void)
{
	pthread_mutex_unlock(&pool.lock);
}

static void pool_child(void)
{
	long page = sysconf(_SC_PAGESIZE);

	for (size_t i = 0; i < pool.n; i++)
		(void)munmap(pool.page[i], (size_t)page);
	pool.n = 0;
	pthread_mutex_unlock(&pool.lock);
}

static void pool_init(void)
{
	(void)pthread_atfork(pool_prepare, pool_parent, pool_child);
}

/* A kept page (zeroed, locked), or NULL. */
static void *pool_take(void)
{
	void *p = NULL;

	pthread_once(&pool_once, pool_init);
	pthread_mutex_lock(&pool.lock);
	if (pool.n)
		p = pool.page[--pool.n];
	pthread_mutex_unlock(&pool.lock);
	return p;
}

/* Keep the wiped page @p; false when the pool is full. */
static bool pool_put(void *p)
{
	bool kept = false;

	pthread_once(&pool_once, pool_init);
	pthread_mutex_lock(&pool.lock);
	if (pool.n < SECMEM_POOL_PAGES) {
		pool.page[pool.n++] = p;
		kept = true;
	}
	pthread_mutex_unlock(&pool.lock);
	return kept;
}

/* Unlock and unmap every kept page; how many there were. */
static size_t pool_drain(size_t page)
{
	void *p[SECMEM_POOL_PAGES];
	size_t n;

	pthread_once(&pool_once, pool_init);
	pthread_mutex_lock(&pool.lock);
	n = pool.n;
	memcpy(p, pool.page, n * sizeof(p[0]));
	pool.n = 0;
	pthread_mutex_unlock(&pool.lock);
	for (size_t i = 0; i < n; i++) {
		(void)munlock(p[i], page);
		(void)munmap(p[i], page);
	}
	return n;
}

/* A new mapping of @map_len bytes, not dumped, wiped on fork, locked. */
static void *map_locked(size_t map_len)
{
	void *h = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

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
	return h;
}

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
	h = map_len == (size_t)page ? pool_take() : NULL;
	if (!h)
		h = map_locked(map_len);
	if (!h && pool_drain((size_t)page))
		h = map_locked(map_len);
	if (!h)
		return NULL;
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
	explicit_bzero(h, map_len); /* the header too */
	if (map_len == (size_t)sysconf(_SC_PAGESIZE) && pool_put(h))
		return;
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
