#include "snp/dercache.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/evp.h"

struct dc_ent {
	uint8_t key[32];
	size_t len;
	X509 *x;
	unsigned long used; /* tick of the last hit, for LRU */
};

static pthread_mutex_t dc_lock = PTHREAD_MUTEX_INITIALIZER;
static struct dc_ent dc[SNP_DERCACHE_MAX];
static size_t dc_n;
static unsigned long dc_tick, dc_hits, dc_misses;

/* DER of exactly @n bytes, in its one canonical encoding. */
static X509 *parse_canonical(const uint8_t *der, size_t n)
{
	const unsigned char *p = der;
	unsigned char *again = NULL;
	X509 *x = d2i_X509(NULL, &p, (long)n);
	int m;

	if (!x)
		return NULL;
	m = p == der + n ? i2d_X509(x, &again) : -1;
	if (m < 0 || (size_t)m != n || memcmp(again, der, n) != 0) {
		X509_free(x);
		x = NULL;
	}
	OPENSSL_free(again);
	return x;
}

static struct dc_ent *find_locked(const uint8_t key[32], size_t n)
{
	for (size_t i = 0; i < dc_n; i++)
		if (dc[i].len == n && memcmp(dc[i].key, key, 32) == 0)
			return &dc[i];
	return NULL;
}

static void insert_locked(const uint8_t key[32], size_t n, X509 *x)
{
	struct dc_ent *e;

	if (find_locked(key, n))
		return; /* another thread parsed the same bytes meanwhile */
	if (dc_n < SNP_DERCACHE_MAX) {
		e = &dc[dc_n++];
	} else {
		e = &dc[0];
		for (size_t i = 1; i < dc_n; i++)
			if (dc[i].used < e->used)
				e = &dc[i];
		X509_free(e->x);
	}
	if (X509_up_ref(x) != 1) {
		*e = dc[--dc_n];
		return;
	}
	memcpy(e->key, key, 32);
	e->len = n;
	e->x = x;
	e->used = ++dc_tick;
}

X509 *snp_dercache_x509(const uint8_t *der, size_t n)
{
	uint8_t key[32];
	struct dc_ent *e;
	X509 *x = NULL;
	bool keyed = n > 0 && ccu_sha256(der, n, key) == 0;

	if (keyed) {
		pthread_mutex_lock(&dc_lock);
		e = find_locked(key, n);
		if (e && X509_up_ref(e->x) == 1) {
			x = e->x;
			e->used = ++dc_tick;
			dc_hits++;
		}
		pthread_mutex_unlock(&dc_lock);
		if (x)
			return x;
	}
	x = parse_canonical(der, n);
	if (x && keyed) {
		pthread_mutex_lock(&dc_lock);
		dc_misses++;
		insert_locked(key, n, x);
		pthread_mutex_unlock(&dc_lock);
	}
	return x;
}

void snp_dercache_stats(unsigned long *hits, unsigned long *misses)
{
	pthread_mutex_lock(&dc_lock);
	*hits = dc_hits;
	*misses = dc_misses;
	pthread_mutex_unlock(&dc_lock);
}

void snp_dercache_flush(void)
{
	pthread_mutex_lock(&dc_lock);
	for (size_t i = 0; i < dc_n; i++)
		X509_free(dc[i].x);
	dc_n = 0;
	dc_hits = dc_misses = 0;
	pthread_mutex_unlock(&dc_lock);
}
