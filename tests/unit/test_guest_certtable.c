/* The host's GHCB certificate table: strict layout, known GUIDs, DER
 * certificates whose AMD role matches their GUID. */
#include "helpers/testutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "guest/certtable.h"
#include "snp/certs.h"
#include "snp/sim.h"

static struct snp_sim *sim;
static uint8_t *der[3];
static size_t der_len[3];
static struct ccu_reason rsn;

static int setup(void **state)
{
	struct snp_sim_params p;
	X509 *x[3];
	(void)state;

	snp_sim_default_params(&p);
	if (snp_sim_create(&p, &sim, TU_FRESH(&rsn)) < 0)
		return -1;
	x[0] = snp_sim_vcek(sim);
	x[1] = snp_sim_ask(sim);
	x[2] = snp_sim_ark(sim);
	for (int i = 0; i < 3; i++) {
		int n = i2d_X509(x[i], &der[i]);
		if (n <= 0)
			return -1;
		der_len[i] = (size_t)n;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < 3; i++)
		OPENSSL_free(der[i]);
	snp_sim_free(sim);
	return 0;
}

static void table(const uint8_t (*g)[16], size_t n, uint8_t **t, size_t *len)
{
	assert_int_equal(guest_certtable_build(g, (const uint8_t *const *)der, der_len, n, t, len), 0);
}

static int parse(const uint8_t *t, size_t len, STACK_OF(X509) **sk)
{
	memset(&rsn, 0, sizeof(rsn));
	return guest_certtable_parse(t, len, sk, TU_FRESH(&rsn));
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void std_guids(uint8_t g[3][16])
{
	memcpy(g[0], guest_guid_vcek, 16);
	memcpy(g[1], guest_guid_ask, 16);
	memcpy(g[2], guest_guid_ark, 16);
}

static void test_valid(void **state)
{
	uint8_t g[3][16], *t, *padded;
	size_t len;
	STACK_OF(X509) *sk = NULL;
	(void)state;

	std_guids(g);
	table((const uint8_t(*)[16])g, 3, &t, &len);
	assert_int_equal(parse(t, len, &sk), 0);
	assert_non_null(sk);
	assert_int_equal(sk_X509_num(sk), 3);
	assert_int_equal(snp_cert_role(sk_X509_value(sk, 0), NULL), SNP_CERT_VCEK);
	assert_int_equal(snp_cert_role(sk_X509_value(sk, 2), NULL), SNP_CERT_ARK);
	sk_X509_pop_free(sk, X509_free);

	/* Page padding after the payloads (as the ioctl's buffer has) is fine. */
	padded = calloc(1, len + 4096);
	memcpy(padded, t, len);
	assert_int_equal(parse(padded, len + 4096, &sk), 0);
	assert_int_equal(sk_X509_num(sk), 3);
	sk_X509_pop_free(sk, X509_free);
	free(padded);
	free(t);

	/* VCEK alone (the broker fetches the rest). */
	table((const uint8_t(*)[16])g, 1, &t, &len);
	assert_int_equal(parse(t, len, &sk), 0);
	assert_int_equal(sk_X509_num(sk), 1);
	sk_X509_pop_free(sk, X509_free);
	free(t);
}

static void test_empty(void **state)
{
	uint8_t zero[4096] = { 0 };
	STACK_OF(X509) *sk = (STACK_OF(X509) *)1;
	(void)state;

	assert_int_equal(parse(NULL, 0, &sk), 0);
	assert_null(sk);
	assert_int_equal(parse(zero, sizeof(zero), &sk), 0);
	assert_null(sk);
	assert_int_equal(parse(zero, 24, &sk), 0);
	assert_null(sk);
}

static void expect_fail(const uint8_t *t, size_t len, const char *code)
{
	STACK_OF(X509) *sk = NULL;
	int r = parse(t, len, &sk);

	if (r != -EBADMSG || strcmp(rsn.code, code) != 0)
		fail_msg("%d %s (%s), expected %s", r, rsn.code, rsn.detail, code);
	assert_null(sk);
}

static void test_malformed(void **state)
{
	uint8_t g[3][16], *t;
	size_t len;
	(void)state;

	std_guids(g);
	table((const uint8_t(*)[16])g, 3, &t, &len);
	uint8_t *m = malloc(len);

	/* No terminator within the buffer. */
	expect_fail(t, 3 * 24 + 10, "CERTTABLE_FORMAT");
	expect_fail(t, 10, "CERTTABLE_FORMAT");
	/* An unknown GUID is forwarded (test_other_guid), twice is an error. */
	memcpy(m, t, len);
	m[24] ^= 1;
	memcpy(m + 48, m + 24, 16);
	expect_fail(m, len, "CERTTABLE_GUID");
	/* A GUID twice. */
	memcpy(m, t, len);
	memcpy(m + 24, guest_guid_vcek, 16);
	expect_fail(m, len, "CERTTABLE_GUID");
	/* Payload before the end of the table (inside the terminator). */
	memcpy(m, t, len);
	put32(m + 16, 3 * 24);
	expect_fail(m, len, "CERTTABLE_FORMAT");
	/* Payload beyond the buffer. */
	expect_fail(t, len - 1, "CERTTABLE_FORMAT");
	/* Zero length, oversized length. */
	memcpy(m, t, len);
	put32(m + 20, 0);
	expect_fail(m, len, "CERTTABLE_FORMAT");
	memcpy(m, t, len);
	put32(m + 20, 0x10000000);
	expect_fail(m, len, "CERTTABLE_FORMAT");
	/* Offset overflow must not wrap. */
	memcpy(m, t, len);
	put32(m + 16, 0xffffffff);
	expect_fail(m, len, "CERTTABLE_FORMAT");
	/* Overlapping payloads. */
	memcpy(m, t, len);
	memcpy(m + 24 + 16, m + 16, 4);
	expect_fail(m, len, "CERTTABLE_FORMAT");
	/* Payload one byte short of the DER certificate. */
	memcpy(m, t, len);
	put32(m + 20, (uint32_t)der_len[0] - 1);
	expect_fail(m, len, "CERTTABLE_CERT");
	/* Garbage payload. */
	memcpy(m, t, len);
	memset(m + 4 * 24, 0x41, 16);
	expect_fail(m, len, "CERTTABLE_CERT");
	/* A certificate under the wrong GUID (the ARK labelled VCEK). */
	memcpy(g[0], guest_guid_ark, 16);
	memcpy(g[2], guest_guid_vcek, 16);
	free(t);
	table((const uint8_t(*)[16])g, 3, &t, &len);
	expect_fail(t, len, "CERTTABLE_CERT");
	/* Too large a table. */
	expect_fail(t, GUEST_CERTTABLE_MAX + 1, "CERTTABLE_FORMAT");
	free(m);
	free(t);
}

static void test_crl_and_vlek(void **state)
{
	uint8_t g[3][16], *t;
	size_t len;
	STACK_OF(X509) *sk = NULL;
	(void)state;

	/* A CRL entry is bounds-checked and not forwarded. */
	std_guids(g);
	memcpy(g[2], guest_guid_crl, 16);
	table((const uint8_t(*)[16])g, 3, &t, &len);
	assert_int_equal(parse(t, len, &sk), 0);
	assert_int_equal(sk_X509_num(sk), 2);
	sk_X509_pop_free(sk, X509_free);
	free(t);
	/* A VCEK labelled VLEK is refused. */
	memcpy(g[0], guest_guid_vlek, 16);
	table((const uint8_t(*)[16])g, 1, &t, &len);
	expect_fail(t, len, "CERTTABLE_CERT");
	free(t);
	/* More entries than allowed (all different, unknown GUIDs). */
	uint8_t many[(GUEST_CERTTABLE_MAX_ENTRIES + 2) * 24] = { 0 };
	for (int i = 0; i <= GUEST_CERTTABLE_MAX_ENTRIES; i++)
		many[i * 24] = (uint8_t)(i + 1);
	expect_fail(many, sizeof(many), "CERTTABLE_FORMAT");
}

/* A GUID we do not know: its payload comes back as an "other" entry, and the
 * evidence forwards it as {"OTHER": uuid}, the way Trustee's attester does. */
static void test_other_guid(void **state)
{
	static const uint8_t odd[16] = { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
					 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
	static const uint8_t blob[] = { 1, 2, 3 };
	uint8_t g[4][16], *t = NULL;
	const uint8_t *payload[4] = { der[0], der[1], der[2], blob };
	size_t plen[4] = { der_len[0], der_len[1], der_len[2], sizeof(blob) }, len, n = 9;
	struct guest_certtable_other others[GUEST_CERTTABLE_MAX_ENTRIES];
	STACK_OF(X509) *sk = NULL;
	json_t *ev, *chain, *last;
	char uuid[GUEST_UUID_TEXT + 1];
	(void)state;

	std_guids((uint8_t(*)[16])g);
	memcpy(g[3], odd, 16);
	assert_int_equal(guest_certtable_build((const uint8_t(*)[16])g, payload, plen, 4, &t, &len),
			 0);
	assert_int_equal(guest_certtable_parse_all(t, len, &sk, others, &n, TU_FRESH(&rsn)), 0);
	assert_int_equal(sk_X509_num(sk), 3);
	assert_int_equal(n, 1);
	assert_int_equal(others[0].len, 3);
	assert_memory_equal(others[0].data, blob, 3);
	guest_guid_format(others[0].guid, uuid);
	assert_string_equal(uuid, "12345678-9abc-def0-0123-456789abcdef");
	guest_guid_format(guest_guid_vcek, uuid);
	assert_string_equal(uuid, "63da758d-e664-4564-adc5-f4b93be8accd");
	ev = json_pack("{s:[]}", "cert_chain");
	assert_int_equal(guest_certtable_add_others(ev, others, n), 0);
	chain = json_object_get(ev, "cert_chain");
	assert_int_equal(json_array_size(chain), 1);
	last = json_array_get(chain, 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(last, "cert_type"),
							      "OTHER")),
			    "12345678-9abc-def0-0123-456789abcdef");
	assert_int_equal(json_array_size(json_object_get(last, "data")), 3);
	json_decref(ev);
	/* no certificate list: nothing is added (cert_chain stays null) */
	ev = json_pack("{s:n}", "cert_chain");
	assert_int_equal(guest_certtable_add_others(ev, others, n), 0);
	assert_true(json_is_null(json_object_get(ev, "cert_chain")));
	json_decref(ev);
	sk_X509_pop_free(sk, X509_free);
	free(t);
}

/* Payloads as PEM, or DER followed by zero padding, are accepted; DER
 * followed by anything else, or two PEM blocks, are not. */
static void test_pem_and_padding(void **state)
{
	uint8_t g[3][16], *t = NULL, *padded, *junk;
	char *pem2;
	BIO *b = BIO_new(BIO_s_mem());
	const uint8_t *payload[3];
	size_t plen[3], len;
	STACK_OF(X509) *sk = NULL;
	char *pem;
	long pl;
	(void)state;

	std_guids(g);
	/* PEM of the third certificate (der[2]) */
	{
		const unsigned char *p = der[2];
		X509 *v = d2i_X509(NULL, &p, (long)der_len[2]);

		assert_non_null(v);
		assert_int_equal(PEM_write_bio_X509(b, v), 1);
		X509_free(v);
	}
	pl = BIO_get_mem_data(b, &pem);
	padded = calloc(1, der_len[2] + 100);
	junk = calloc(1, der_len[2] + 100);
	pem2 = malloc(2 * (size_t)pl);
	assert_non_null(padded);
	assert_non_null(junk);
	assert_non_null(pem2);
	memcpy(padded, der[2], der_len[2]);
	memcpy(junk, der[2], der_len[2]);
	junk[der_len[2] + 50] = 1;
	memcpy(pem2, pem, (size_t)pl);
	memcpy(pem2 + pl, pem, (size_t)pl);
	for (int k = 0; k < 4; k++) {
		payload[0] = der[0];
		payload[1] = der[1];
		plen[0] = der_len[0];
		plen[1] = der_len[1];
		payload[2] = k == 0 ? (const uint8_t *)pem : k == 1 ? padded : k == 2 ? junk :
			     (const uint8_t *)pem2;
		plen[2] = k == 0 ? (size_t)pl : k == 3 ? 2 * (size_t)pl : der_len[2] + 100;
		assert_int_equal(guest_certtable_build((const uint8_t(*)[16])g, payload, plen, 3,
						       &t, &len),
				 0);
		if (k < 2) {
			assert_int_equal(parse(t, len, &sk), 0);
			assert_int_equal(sk_X509_num(sk), 3);
			sk_X509_pop_free(sk, X509_free);
			sk = NULL;
		} else {
			expect_fail(t, len, "CERTTABLE_CERT");
		}
		free(t);
	}
	free(padded);
	free(junk);
	free(pem2);
	BIO_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_crl_and_vlek),
		cmocka_unit_test(test_other_guid),
		cmocka_unit_test(test_pem_and_padding),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
