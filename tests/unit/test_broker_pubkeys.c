/* The broker's imported tee-pubkeys (broker/pubkeys.h): a hit is the key of
 * the very JWK asked for, a miss imports with every check, the slots are
 * bounded, and threads share it safely. */
#include "helpers/testutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "broker/pubkeys.h"
#include "kbs/jwk.h"
#include "kbs/kbs.h"

#define KEYS (BROKER_PUBKEYS_SLOTS + 16)
#define THREADS 4
#define ROUNDS 400

static struct kbs_jwk jwks[KEYS];
static EVP_PKEY *refs[KEYS]; /* kbs_jwk_to_pkey of each */

static int setup(void **state)
{
	(void)state;
	for (size_t i = 0; i < KEYS; i++) {
		EVP_PKEY *k = NULL;

		if (i == KEYS - 1)
			k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		else if (i % 8 == 7)
			k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
		else if (kbs_jwk_generate_ec(&k, NULL) < 0)
			return -1;
		if (!k || kbs_jwk_from_pkey(k, &jwks[i], NULL) < 0 ||
		    kbs_jwk_to_pkey(&jwks[i], &refs[i], NULL) < 0)
			return -1;
		EVP_PKEY_free(k);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < KEYS; i++)
		EVP_PKEY_free(refs[i]);
	return 0;
}

/* get(@i): the key, checked against the reference import. */
static EVP_PKEY *get(struct broker_pubkeys *c, size_t i)
{
	EVP_PKEY *k = NULL;

	assert_int_equal(broker_pubkeys_get(c, &jwks[i], &k, NULL), 0);
	assert_non_null(k);
	assert_int_equal(EVP_PKEY_eq(k, refs[i]), 1);
	return k;
}

static void test_hit_and_miss(void **state)
{
	struct broker_pubkeys *c = broker_pubkeys_new();
	EVP_PKEY *a, *b, *d;
	(void)state;

	assert_non_null(c);
	assert_int_equal(broker_pubkeys_count(c), 0);
	/* put, as /attest does: the release gets that very key */
	broker_pubkeys_put(c, &jwks[0], refs[0]);
	a = get(c, 0);
	assert_ptr_equal(a, refs[0]);
	EVP_PKEY_free(a);
	/* a miss imports and remembers */
	a = get(c, 1);
	assert_ptr_not_equal(a, refs[1]);
	b = get(c, 1);
	assert_ptr_equal(a, b);
	assert_int_equal(broker_pubkeys_count(c), 2);
	/* another key's y with this x: another JWK, not the remembered key */
	{
		struct kbs_jwk mixed = jwks[1];
		struct ccu_reason r = { 0 };

		memcpy(mixed.y, jwks[2].y, sizeof(mixed.y));
		d = (EVP_PKEY *)1;
		assert_int_equal(broker_pubkeys_get(c, &mixed, &d, &r), -EBADMSG);
		assert_null(d);
		assert_string_equal(r.code, KBS_R_PUBKEY);
		assert_int_equal(broker_pubkeys_count(c), 2);
	}
	/* a second put of a remembered JWK changes nothing */
	broker_pubkeys_put(c, &jwks[1], refs[1]);
	d = get(c, 1);
	assert_ptr_equal(d, a);
	EVP_PKEY_free(d);
	/* RSA too */
	d = get(c, KEYS - 1);
	EVP_PKEY_free(d);
	d = get(c, KEYS - 1);
	assert_int_equal(broker_pubkeys_count(c), 3);
	EVP_PKEY_free(d);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	/* the keys handed out outlive the cache */
	a = get(c, 0);
	broker_pubkeys_free(c);
	assert_int_equal(EVP_PKEY_eq(a, refs[0]), 1);
	EVP_PKEY_free(a);
}

/* Without a cache, or after an eviction, the key is imported again. */
static void test_bounded(void **state)
{
	struct broker_pubkeys *c = broker_pubkeys_new();
	EVP_PKEY *k;
	(void)state;

	k = get(NULL, 3);
	assert_ptr_not_equal(k, refs[3]);
	EVP_PKEY_free(k);
	broker_pubkeys_put(NULL, &jwks[3], refs[3]);

	for (size_t i = 0; i < KEYS; i++)
		broker_pubkeys_put(c, &jwks[i], refs[i]);
	assert_int_equal(broker_pubkeys_count(c), BROKER_PUBKEYS_SLOTS);
	/* the oldest were replaced: imported anew */
	for (size_t i = 0; i < KEYS - BROKER_PUBKEYS_SLOTS; i++) {
		k = get(c, i);
		assert_ptr_not_equal(k, refs[i]);
		EVP_PKEY_free(k);
	}
	/* the newest are still there (those not replaced by the imports above) */
	k = get(c, KEYS - 1);
	assert_ptr_equal(k, refs[KEYS - 1]);
	EVP_PKEY_free(k);
	assert_int_equal(broker_pubkeys_count(c), BROKER_PUBKEYS_SLOTS);
	broker_pubkeys_free(c);
	broker_pubkeys_free(NULL);
}

/* An unusable JWK is refused by the import and never remembered. */
static void test_refused_not_kept(void **state)
{
	struct broker_pubkeys *c = broker_pubkeys_new();
	struct kbs_jwk bad = jwks[0];
	struct ccu_reason r = { 0 };
	EVP_PKEY *k = (EVP_PKEY *)1;
	(void)state;

	memcpy(bad.y, bad.x, sizeof(bad.y)); /* (x, x): not on the curve */
	assert_int_equal(broker_pubkeys_get(c, &bad, &k, &r), -EBADMSG);
	assert_null(k);
	assert_string_equal(r.code, KBS_R_PUBKEY);
	assert_int_equal(broker_pubkeys_count(c), 0);
	memset(&bad, 0, sizeof(bad));
	broker_pubkeys_put(c, &bad, refs[0]); /* no key type: ignored */
	assert_int_equal(broker_pubkeys_count(c), 0);
	broker_pubkeys_free(c);
}

struct worker {
	struct broker_pubkeys *c;
	unsigned seed;
	int bad;
};

static void *work(void *arg)
{
	struct worker *w = arg;

	for (int n = 0; n < ROUNDS; n++) {
		size_t i = (size_t)rand_r(&w->seed) % KEYS;
		EVP_PKEY *k = NULL;

		if (n % 3 == 0)
			broker_pubkeys_put(w->c, &jwks[i], refs[i]);
		if (broker_pubkeys_get(w->c, &jwks[i], &k, NULL) < 0 || EVP_PKEY_eq(k, refs[i]) != 1)
			w->bad++;
		EVP_PKEY_free(k);
	}
	return NULL;
}

/* Threads putting and getting at once (more keys than slots) always get the
 * key of the JWK they asked for. */
static void test_threads(void **state)
{
	struct broker_pubkeys *c = broker_pubkeys_new();
	struct worker w[THREADS];
	pthread_t t[THREADS];
	(void)state;

	for (size_t i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .c = c, .seed = (unsigned)i + 1 };
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (size_t i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].bad, 0);
	}
	assert_int_equal(broker_pubkeys_count(c), BROKER_PUBKEYS_SLOTS);
	broker_pubkeys_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_and_miss),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_refused_not_kept),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
