/*
 * The parsed-certificate cache: a second parse of the same DER is a hit
 * and returns the same X509; a different encoding of the same certificate
 * (BER, trailing bytes) is never served from the cache; the cache stays
 * bounded and evicts the least recently used entry; threads share it.
 */
#include "helpers/testutil.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "snp/dercache.h"

static unsigned char *make_der(long serial, int *len)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	unsigned char *der = NULL;

	assert_non_null(k);
	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	assert_int_equal(X509_set_pubkey(x, k), 1);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	*len = i2d_X509(x, &der);
	assert_true(*len > 0x80 && *len < 0x10000);
	/* (the BER test below relies on a long-form outer length) */
	X509_free(x);
	EVP_PKEY_free(k);
	return der;
}

static void stats(unsigned long *h, unsigned long *m)
{
	snp_dercache_stats(h, m);
}

static void test_hit_returns_same_object(void **state)
{
	unsigned long h, m;
	int n;
	unsigned char *der = make_der(1, &n);
	X509 *a, *b;

	(void)state;
	snp_dercache_flush();
	a = snp_dercache_x509(der, (size_t)n);
	assert_non_null(a);
	b = snp_dercache_x509(der, (size_t)n);
	assert_ptr_equal(a, b);
	stats(&h, &m);
	assert_int_equal(h, 1);
	assert_int_equal(m, 1);
	/* The caller's reference is its own: freeing it keeps the entry. */
	X509_free(a);
	X509_free(b);
	b = snp_dercache_x509(der, (size_t)n);
	assert_non_null(b);
	assert_int_equal(X509_get_ext_count(b), 0);
	X509_free(b);
	OPENSSL_free(der);
	snp_dercache_flush();
}

static void test_other_encodings_not_served(void **state)
{
	unsigned long h, m;
	int n;
	unsigned char *der = make_der(2, &n);
	uint8_t *ber = malloc((size_t)n + 1), *tail = malloc((size_t)n + 1);
	X509 *x;

	(void)state;
	snp_dercache_flush();
	x = snp_dercache_x509(der, (size_t)n);
	assert_non_null(x);
	X509_free(x);
	/* Long-form outer length: BER d2i_X509 accepts, not the DER. */
	assert_true(der[1] == 0x81 || der[1] == 0x82);
	ber[0] = 0x30;
	ber[1] = (uint8_t)(der[1] + 1);
	ber[2] = 0;
	memcpy(ber + 3, der + 2, (size_t)n - 2);
	assert_null(snp_dercache_x509(ber, (size_t)n + 1));
	assert_null(snp_dercache_x509(ber, (size_t)n + 1)); /* never cached */
	memcpy(tail, der, (size_t)n);
	tail[n] = 0;
	assert_null(snp_dercache_x509(tail, (size_t)n + 1));
	/* A prefix of the cached bytes is not the cached certificate. */
	assert_null(snp_dercache_x509(der, (size_t)n - 1));
	assert_null(snp_dercache_x509(der, 0));
	stats(&h, &m);
	assert_int_equal(h, 0);
	assert_int_equal(m, 1);
	free(ber);
	free(tail);
	OPENSSL_free(der);
	snp_dercache_flush();
}

static void test_bounded_lru(void **state)
{
	enum { N = SNP_DERCACHE_MAX + 1 };
	unsigned char **ders = calloc(N, sizeof(*ders));
	int *lens = calloc(N, sizeof(*lens));
	unsigned long h, m;
	X509 *x;

	(void)state;
	snp_dercache_flush();
	for (int i = 0; i < N; i++)
		ders[i] = make_der(100 + i, &lens[i]);
	for (int i = 0; i < N - 1; i++) {
		x = snp_dercache_x509(ders[i], (size_t)lens[i]);
		assert_non_null(x);
		X509_free(x);
	}
	/* Touch entry 0, so entry 1 is the least recently used. */
	X509_free(snp_dercache_x509(ders[0], (size_t)lens[0]));
	X509_free(snp_dercache_x509(ders[N - 1], (size_t)lens[N - 1]));
	stats(&h, &m);
	assert_int_equal(h, 1);
	assert_int_equal(m, N);
	X509_free(snp_dercache_x509(ders[0], (size_t)lens[0]));
	stats(&h, &m);
	assert_int_equal(h, 2);
	X509_free(snp_dercache_x509(ders[1], (size_t)lens[1])); /* evicted: parsed again */
	stats(&h, &m);
	assert_int_equal(h, 2);
	assert_int_equal(m, N + 1);
	for (int i = 0; i < N; i++)
		OPENSSL_free(ders[i]);
	free(ders);
	free(lens);
	snp_dercache_flush();
}

struct thr {
	const unsigned char *der;
	int len;
	int ok;
};

static void *worker(void *arg)
{
	struct thr *t = arg;

	for (int i = 0; i < 200; i++) {
		X509 *x = snp_dercache_x509(t->der, (size_t)t->len);

		if (x)
			t->ok++;
		X509_free(x);
	}
	return NULL;
}

static void test_threads_share(void **state)
{
	pthread_t th[4];
	struct thr t[4];
	unsigned long h, m;
	int n;
	unsigned char *der = make_der(3, &n);

	(void)state;
	snp_dercache_flush();
	for (int i = 0; i < 4; i++) {
		t[i] = (struct thr){ der, n, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, worker, &t[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(t[i].ok, 200);
	}
	stats(&h, &m);
	assert_int_equal(h + m, 800);
	assert_true(m >= 1 && m <= 4);
	OPENSSL_free(der);
	snp_dercache_flush();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_returns_same_object),
		cmocka_unit_test(test_other_encodings_not_served),
		cmocka_unit_test(test_bounded_lru),
		cmocka_unit_test(test_threads_share),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
