/*
 * AMD certificates: loading (DER, PEM, bundles, CRLF; everything else is
 * refused), roles and products of every certificate in the real vectors,
 * the AMD extension values KDS really writes, and malformed extension
 * encodings on certificates made here.
 */
#include "helpers/testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "common/codec.h"
#include "common/reason.h"
#include "snp/certs.h"
#include "snp/verify.h"

#define AMD_LOC "/OU=Engineering/C=US/L=Santa Clara/ST=CA/O=Advanced Micro Devices"

static EVP_PKEY *key;

static int setup(void **state)
{
	(void)state;
	key = EVP_EC_gen("P-256");
	return key ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(key);
	return 0;
}

/*
 * "/K=V/K=V..." into a name; "+K=V" joins the previous RDN (multi-valued).
 */
static X509_NAME *mk_name(const char *spec)
{
	X509_NAME *n = X509_NAME_new();
	char *copy = strdup(spec), *save = NULL;

	assert_non_null(n);
	assert_non_null(copy);
	for (char *part = strtok_r(copy, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
		int set = 0;
		char *eq;

		if (*part == '+') {
			set = -1;
			part++;
		}
		eq = strchr(part, '=');
		assert_non_null(eq);
		*eq = 0;
		assert_int_equal(X509_NAME_add_entry_by_txt(n, part, MBSTRING_ASC,
							    (const unsigned char *)eq + 1, -1, -1,
							    set),
				 1);
	}
	free(copy);
	return n;
}

struct raw_ext {
	const char *oid;
	const uint8_t *der;
	size_t len;
};

/* A certificate with the given names and raw extension values (EC key;
 * the signature does not matter to the parser). */
static X509 *mk_cert(const char *subject, const char *issuer, const struct raw_ext *ext,
		     size_t next)
{
	X509 *x = X509_new();
	X509_NAME *s = mk_name(subject), *i = mk_name(issuer);

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(X509_set_subject_name(x, s), 1);
	assert_int_equal(X509_set_issuer_name(x, i), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	for (size_t k = 0; k < next; k++) {
		ASN1_OBJECT *obj = OBJ_txt2obj(ext[k].oid, 1);
		ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
		X509_EXTENSION *e;

		assert_non_null(obj);
		assert_int_equal(ASN1_OCTET_STRING_set(os, ext[k].der, (int)ext[k].len), 1);
		e = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
		assert_non_null(e);
		assert_int_equal(X509_add_ext(x, e, -1), 1);
		X509_EXTENSION_free(e);
		ASN1_OCTET_STRING_free(os);
		ASN1_OBJECT_free(obj);
	}
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	X509_NAME_free(s);
	X509_NAME_free(i);
	return x;
}

static X509 *mk_vcek(const struct raw_ext *ext, size_t next)
{
	return mk_cert(AMD_LOC "/CN=SEV-VCEK", AMD_LOC "/CN=SEV-Milan", ext, next);
}

static size_t to_der(X509 *x, uint8_t **out)
{
	int n = i2d_X509(x, out);

	assert_true(n > 0);
	return (size_t)n;
}

/* PEM text of @x (malloc'ed, NUL-terminated). */
static char *to_pem(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	assert_non_null(b);
	assert_int_equal(PEM_write_bio_X509(b, x), 1);
	n = BIO_get_mem_data(b, &data);
	out = malloc((size_t)n + 1);
	assert_non_null(out);
	memcpy(out, data, (size_t)n);
	out[n] = 0;
	BIO_free(b);
	return out;
}

static int load_str(const char *s, int *count, struct ccu_reason *why)
{
	STACK_OF(X509) *sk = NULL;
	int r = snp_certs_load_mem((const uint8_t *)s, strlen(s), &sk, why);

	*count = r == 0 ? sk_X509_num(sk) : -1;
	sk_X509_pop_free(sk, X509_free);
	return r;
}

#define EXPECT_PARSE_FAIL(s)                                                                       \
	do {                                                                                       \
		struct ccu_reason _w = { 0 };                                                      \
		int _n;                                                                            \
		assert_int_equal(load_str((s), &_n, &_w), -EBADMSG);                               \
		assert_string_equal(_w.code, "CERT_PARSE");                                        \
	} while (0)

static char *str_replace1(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	size_t n = strlen(s) - strlen(from) + strlen(to) + 1;
	char *out = malloc(n);

	assert_non_null(at);
	assert_non_null(out);
	snprintf(out, n, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
	return out;
}

static char *to_crlf(const char *s)
{
	char *out = malloc(2 * strlen(s) + 1), *p = out;

	assert_non_null(out);
	for (; *s; s++) {
		if (*s == '\n')
			*p++ = '\r';
		*p++ = *s;
	}
	*p = 0;
	return out;
}

/* ------------------------------------------------------------- loading */

static void test_load_synthetic(void **state)
{
	X509 *x = mk_vcek(NULL, 0);
	uint8_t *der = NULL, *big;
	size_t dl = to_der(x, &der);
	char *pem = to_pem(x), *s, *bundle;
	STACK_OF(X509) *sk = NULL;
	struct ccu_reason why = { 0 };
	int n;
	size_t pl = strlen(pem);

	(void)state;
	/* DER: exactly one certificate, no trailing bytes. */
	assert_int_equal(snp_certs_load_mem(der, dl, &sk, &why), 0);
	assert_int_equal(sk_X509_num(sk), 1);
	assert_int_equal(X509_cmp(sk_X509_value(sk, 0), x), 0);
	sk_X509_pop_free(sk, X509_free);
	big = malloc(dl + 1);
	memcpy(big, der, dl);
	big[dl] = 0;
	assert_int_equal(snp_certs_load_mem(big, dl + 1, &sk, &why), -EBADMSG);
	assert_string_equal(why.code, "CERT_PARSE");
	assert_non_null(strstr(why.detail, "trailing"));
	assert_int_equal(snp_certs_load_mem(big, dl - 1, &sk, &why), -EBADMSG);
	assert_int_equal(snp_certs_load_mem(big, 0, &sk, &why), -EBADMSG);
	assert_int_equal(snp_certs_load_mem(NULL, 10, &sk, &why), -EBADMSG);
	free(big);

	/* PEM, CRLF PEM, blank lines and trailing spaces around blocks. */
	assert_int_equal(load_str(pem, &n, &why), 0);
	assert_int_equal(n, 1);
	s = to_crlf(pem);
	assert_int_equal(load_str(s, &n, &why), 0);
	assert_int_equal(n, 1);
	free(s);
	bundle = malloc((SNP_CERT_MAX_COUNT + 1) * (pl + 4) + 64);
	snprintf(bundle, (SNP_CERT_MAX_COUNT + 1) * (pl + 4) + 64, "\n  \n%s\n%s \t\n\n", pem, pem);
	assert_int_equal(load_str(bundle, &n, &why), 0);
	assert_int_equal(n, 2);
	/* No final newline. */
	s = strdup(pem);
	s[pl - 1] = 0;
	assert_int_equal(load_str(s, &n, &why), 0);
	free(s);

	/* 16 certificates load, 17 do not. */
	bundle[0] = 0;
	for (int i = 0; i < SNP_CERT_MAX_COUNT; i++)
		strcat(bundle, pem);
	assert_int_equal(load_str(bundle, &n, &why), 0);
	assert_int_equal(n, SNP_CERT_MAX_COUNT);
	strcat(bundle, pem);
	EXPECT_PARSE_FAIL(bundle);
	free(bundle);

	/* Garbage and near misses. */
	EXPECT_PARSE_FAIL("hello");
	EXPECT_PARSE_FAIL("\n\n  \n");
	s = malloc(pl + 32);
	snprintf(s, pl + 32, "subject=foo\n%s", pem);
	EXPECT_PARSE_FAIL(s);
	snprintf(s, pl + 32, "%sjunk\n", pem);
	EXPECT_PARSE_FAIL(s);
	memcpy(s, pem, pl + 1);
	s[pl - 27] = 0; /* cut off the END line */
	EXPECT_PARSE_FAIL(s);
	free(s);
	s = str_replace1(pem, "CERTIFICATE-----\n", "X509 CERTIFICATE-----\n");
	EXPECT_PARSE_FAIL(s);
	free(s);
	s = str_replace1(pem, "-----BEGIN CERTIFICATE-----\n",
			 "-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n");
	EXPECT_PARSE_FAIL(s);
	free(s);
	s = str_replace1(pem, "-----BEGIN CERTIFICATE-----\n", "-----BEGIN CERTIFICATE-----\n\n");
	EXPECT_PARSE_FAIL(s); /* empty line inside the block */
	free(s);
	s = strdup(pem);
	s[40] = '*'; /* not base64 */
	EXPECT_PARSE_FAIL(s);
	s[40] = '=';
	EXPECT_PARSE_FAIL(s); /* padding in the middle */
	free(s);
	s = str_replace1(pem, "-----BEGIN CERTIFICATE-----\n", "-----BEGIN CERTIFICATE-----\nAAAA\n");
	EXPECT_PARSE_FAIL(s); /* decodes to a certificate with bytes in front */
	free(s);
	{
		/* A DER certificate plus one byte, base64-encoded in a PEM block. */
		uint8_t *plus = malloc(dl + 1);
		char *b64, *t;
		size_t tl;

		memcpy(plus, der, dl);
		plus[dl] = 0;
		b64 = ccu_b64_encode_alloc(plus, dl + 1, CCU_B64_STD);
		tl = strlen(b64) + 64;
		t = malloc(tl);

		snprintf(t, tl, "-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n", b64);
		EXPECT_PARSE_FAIL(t);
		free(t);
		free(b64);
		free(plus);
	}
	/* Larger than SNP_CERT_MAX_FILE. */
	big = calloc(1, SNP_CERT_MAX_FILE + 1);
	memset(big, '\n', SNP_CERT_MAX_FILE + 1);
	assert_int_equal(snp_certs_load_mem(big, SNP_CERT_MAX_FILE + 1, &sk, &why), -EBADMSG);
	free(big);

	OPENSSL_free(der);
	free(pem);
	X509_free(x);
}

static void test_load_files(void **state)
{
	char *dir = tu_mkdtemp(), path[512];
	X509 *x = mk_vcek(NULL, 0), *one = NULL;
	char *pem = to_pem(x), *two;
	STACK_OF(X509) *sk = NULL;
	struct ccu_reason why = { 0 };
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/none.pem", dir);
	assert_int_equal(snp_certs_load_file(path, &sk, &why), -ENOENT);
	assert_string_equal(why.code, "INPUT");
	assert_int_equal(snp_cert_load_one_file(path, &one, &why), -ENOENT);

	snprintf(path, sizeof(path), "%s/two.pem", dir);
	two = malloc(2 * strlen(pem) + 1);
	snprintf(two, 2 * strlen(pem) + 1, "%s%s", pem, pem);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(two, f);
	fclose(f);
	assert_int_equal(snp_certs_load_file(path, &sk, &why), 0);
	assert_int_equal(sk_X509_num(sk), 2);
	sk_X509_pop_free(sk, X509_free);
	assert_int_equal(snp_cert_load_one_file(path, &one, &why), -EBADMSG);
	assert_string_equal(why.code, "CERT_PARSE");

	snprintf(path, sizeof(path), "%s/one.pem", dir);
	f = fopen(path, "w");
	fputs(pem, f);
	fclose(f);
	assert_int_equal(snp_cert_load_one_file(path, &one, &why), 0);
	assert_int_equal(X509_cmp(one, x), 0);
	X509_free(one);

	snprintf(path, sizeof(path), "%s/bad.pem", dir);
	f = fopen(path, "w");
	fputs("not a certificate\n", f);
	fclose(f);
	assert_int_equal(snp_certs_load_file(path, &sk, &why), -EBADMSG);
	assert_string_equal(why.code, "CERT_PARSE");
	assert_non_null(strstr(why.detail, "bad.pem"));

	free(two);
	free(pem);
	X509_free(x);
	tu_rmrf(dir);
	free(dir);
}

/* The vector formats: DER, PEM, PEM bundles, a CRLF bundle. */
static void test_load_vectors(void **state)
{
	STACK_OF(X509) *a, *b;
	struct ccu_reason why = { 0 };
	uint8_t *raw;
	size_t n;

	(void)state;
	TU_REQUIRE_VECTORS();
	raw = tu_read(tu_vec("virtee-sev/cert_chain_turin"), &n);
	assert_non_null(memchr(raw, '\r', n)); /* really CRLF */
	free(raw);
	assert_int_equal(snp_certs_load_file(tu_vec("virtee-sev/cert_chain_turin"), &a, &why), 0);
	assert_int_equal(sk_X509_num(a), 2);
	assert_int_equal(snp_certs_load_file(tu_vec("amd-roots/turin/ask.der"), &b, &why), 0);
	assert_int_equal(sk_X509_num(b), 1);
	assert_int_equal(X509_cmp(sk_X509_value(a, 0), sk_X509_value(b, 0)), 0);
	sk_X509_pop_free(a, X509_free);
	sk_X509_pop_free(b, X509_free);
	assert_int_equal(snp_certs_load_file(tu_vec("trustee/milan_ask_ark_asvk.pem"), &a, &why),
			 0);
	assert_int_equal(sk_X509_num(a), 3);
	sk_X509_pop_free(a, X509_free);
	/* A report is not a certificate. */
	assert_int_equal(snp_certs_load_file(tu_vec("oak/turin_oc.report.bin"), &a, &why),
			 -EBADMSG);
	assert_string_equal(why.code, "CERT_PARSE");
}

/* --------------------------------------------------------------- roles */

static const struct {
	const char *file, *roles;
} vec_roles[] = {
	{ "automata/output.vek.der", "VCEK-Milan" },
	{ "automata/samples-vcek.der", "VCEK-Milan" },
	{ "automata/vcek.pem", "VCEK-Milan" },
	{ "automata/vcek_issuer.pem", "ASK-Milan ARK-Milan" },
	{ "cmc/ark-milan.pem", "ARK-Milan" },
	{ "cmc/ask-milan.pem", "ASK-Milan" },
	{ "cmc/invalid-vcek.pem", "unknown" },
	{ "cmc/valid-vcek.pem", "VCEK-Milan" },
	{ "constellation/aws-certchain.pem", "ASVK-Milan ARK-Milan" },
	{ "constellation/aws-vlek.pem", "VLEK-Milan" },
	{ "constellation/certchain.pem", "ASK-Milan ARK-Milan" },
	{ "constellation/vcek.cert", "VCEK-Milan" },
	{ "constellation/vcek.pem", "VCEK-Milan" },
	{ "constellation/vlek.pem", "VLEK-Milan" },
	{ "constellation/vlekcertchain.pem", "ASVK-Milan ARK-Milan" },
	{ "go-sev-guest/ask_ark_genoa.pem", "ASK-Genoa ARK-Genoa" },
	{ "go-sev-guest/ask_ark_genoa_vlek.pem", "ASVK-Genoa ARK-Genoa" },
	{ "go-sev-guest/ask_ark_milan.pem", "ASK-Milan ARK-Milan" },
	{ "go-sev-guest/ask_ark_milan_vlek.pem", "ASVK-Milan ARK-Milan" },
	{ "go-sev-guest/ask_ark_turin_vcek.pem", "ASK-Turin ARK-Turin" },
	{ "go-sev-guest/ask_ark_turin_vlek.pem", "ASVK-Turin ARK-Turin" },
	{ "go-sev-guest/milan.testcer", "ASK-Milan ARK-Milan" },
	{ "go-sev-guest/milanvlek.testcer", "ASVK-Milan ARK-Milan" },
	{ "go-sev-guest/vcek.testcer", "VCEK-Milan" },
	{ "ms-sidecar/thim.vcek.der", "VCEK-Milan" },
	{ "ms-sidecar/uvm_host_amd_certificate.pem", "VCEK-Milan ASK-Milan ARK-Milan" },
	{ "oak/cb.vcek.der", "VCEK-Milan" },
	{ "oak/genoa_oc.vcek.der", "VCEK-Genoa" },
	{ "oak/milan_oc_release.vcek.der", "VCEK-Milan" },
	{ "oak/milan_oc_staging.vcek.der", "VCEK-Milan" },
	{ "oak/milan_rk_release.vcek.der", "VCEK-Milan" },
	{ "oak/milan_rk_staging.vcek.der", "VCEK-Milan" },
	{ "oak/turin_oc.vcek.der", "VCEK-Turin" },
	{ "trustee/az-evidence-genoa.vcek.der", "VCEK-Genoa" },
	{ "trustee/az-evidence-v0.vcek.der", "VCEK-Milan" },
	{ "trustee/az-evidence-v1.vcek.der", "VCEK-Milan" },
	{ "trustee/az-evidence-v2.vcek.der", "VCEK-Milan" },
	{ "trustee/az-vcek-genoa.pem", "VCEK-Genoa" },
	{ "trustee/az-vcek.pem", "VCEK-Milan ASK-Milan ARK-Milan" },
	{ "trustee/e2e-evidence.vcek.der", "VCEK-Genoa" },
	{ "trustee/genoa_ask_ark_asvk.pem", "ASK-Genoa ARK-Genoa ASVK-Genoa" },
	{ "trustee/milan_ask_ark_asvk.pem", "ASK-Milan ARK-Milan ASVK-Milan" },
	{ "trustee/test-vcek-invalid-legacy.der", "VCEK-Milan" },
	{ "trustee/test-vcek-invalid-new.der", "VCEK-Milan" },
	{ "trustee/test-vcek.der", "VCEK-Milan" },
	{ "trustee/test-vlek.der", "VLEK-Milan" },
	{ "trustee/turin_ask_ark_asvk.pem", "ASK-Turin ARK-Turin ASVK-Turin" },
	{ "virtee-sev/cert_chain_milan", "ASK-Milan ARK-Milan" },
	{ "virtee-sev/cert_chain_turin", "ASK-Turin ARK-Turin" },
	{ "virtee-sev/vcek_milan.der", "VCEK-Milan" },
	{ "virtee-sev/vcek_turin.der", "VCEK-Turin" },
	{ "amd-roots/milan/ark.der", "ARK-Milan" },
	{ "amd-roots/milan/ask.der", "ASK-Milan" },
	{ "amd-roots/milan/asvk.der", "ASVK-Milan" },
	{ "amd-roots/genoa/ark.pem", "ARK-Genoa" },
	{ "amd-roots/genoa/ask.pem", "ASK-Genoa" },
	{ "amd-roots/genoa/asvk.pem", "ASVK-Genoa" },
	{ "amd-roots/turin/ark.pem", "ARK-Turin" },
	{ "amd-roots/turin/ask.der", "ASK-Turin" },
	{ "amd-roots/turin/asvk.der", "ASVK-Turin" },
};

static void roles_string(STACK_OF(X509) *sk, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	for (int i = 0; i < sk_X509_num(sk); i++) {
		enum snp_product p = SNP_PRODUCT_GENOA; /* must be overwritten */
		enum snp_cert_role r = snp_cert_role(sk_X509_value(sk, i), &p);

		if (r == SNP_CERT_UNKNOWN)
			assert_int_equal(p, SNP_PRODUCT_UNKNOWN);
		n += (size_t)snprintf(buf + n, len - n, "%s%s%s%s", i ? " " : "",
				      snp_cert_role_name(r), r ? "-" : "", r ? snp_product_name(p) : "");
	}
}

static void test_roles_vectors(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	for (size_t i = 0; i < sizeof(vec_roles) / sizeof(vec_roles[0]); i++) {
		STACK_OF(X509) *sk;
		struct ccu_reason why = { 0 };
		char got[128];

		if (snp_certs_load_file(tu_vec(vec_roles[i].file), &sk, &why) != 0)
			fail_msg("%s: %s", vec_roles[i].file, why.detail);
		roles_string(sk, got, sizeof(got));
		if (strcmp(got, vec_roles[i].roles) != 0)
			fail_msg("%s: roles '%s', expected '%s'", vec_roles[i].file, got,
				 vec_roles[i].roles);
		sk_X509_pop_free(sk, X509_free);
	}
}

static void test_roles_synthetic(void **state)
{
	static const struct {
		const char *subject, *issuer;
		enum snp_cert_role role;
		enum snp_product product;
	} cases[] = {
		{ AMD_LOC "/CN=ARK-Milan", AMD_LOC "/CN=ARK-Milan", SNP_CERT_ARK, SNP_PRODUCT_MILAN },
		{ AMD_LOC "/CN=ARK-Turin", AMD_LOC "/CN=ARK-Turin", SNP_CERT_ARK, SNP_PRODUCT_TURIN },
		/* An ARK must be self-issued. */
		{ AMD_LOC "/CN=ARK-Milan", AMD_LOC "/CN=ARK-Genoa", SNP_CERT_UNKNOWN, 0 },
		{ AMD_LOC "/CN=SEV-Genoa", AMD_LOC "/CN=ARK-Genoa", SNP_CERT_ASK, SNP_PRODUCT_GENOA },
		{ AMD_LOC "/CN=SEV-VLEK-Turin", AMD_LOC "/CN=ARK-Turin", SNP_CERT_ASVK,
		  SNP_PRODUCT_TURIN },
		{ AMD_LOC "/CN=SEV-VCEK", AMD_LOC "/CN=SEV-Milan", SNP_CERT_VCEK, SNP_PRODUCT_MILAN },
		{ AMD_LOC "/CN=SEV-VCEK", AMD_LOC "/CN=SEV-Turin", SNP_CERT_VCEK, SNP_PRODUCT_TURIN },
		{ AMD_LOC "/CN=SEV-VLEK", AMD_LOC "/CN=SEV-VLEK-Genoa", SNP_CERT_VLEK,
		  SNP_PRODUCT_GENOA },
		/* Leaf kind and issuer kind must agree. */
		{ AMD_LOC "/CN=SEV-VCEK", AMD_LOC "/CN=SEV-VLEK-Milan", SNP_CERT_UNKNOWN, 0 },
		{ AMD_LOC "/CN=SEV-VLEK", AMD_LOC "/CN=SEV-Milan", SNP_CERT_UNKNOWN, 0 },
		{ AMD_LOC "/CN=SEV-VCEK", AMD_LOC "/CN=ARK-Milan", SNP_CERT_UNKNOWN, 0 },
		/* Unknown products and near-miss names. */
		{ AMD_LOC "/CN=SEV-Venice", AMD_LOC "/CN=ARK-Venice", SNP_CERT_UNKNOWN, 0 },
		{ AMD_LOC "/CN=SEV-milan", AMD_LOC "/CN=ARK-Milan", SNP_CERT_UNKNOWN, 0 },
		{ AMD_LOC "/CN=ARK-Milan ", AMD_LOC "/CN=ARK-Milan ", SNP_CERT_UNKNOWN, 0 },
		{ AMD_LOC "/CN=SEV-VCEK", AMD_LOC "/CN=SEV-", SNP_CERT_UNKNOWN, 0 },
		/* AMD's location attributes: all, exact, once, single-valued. */
		{ "/OU=Engineering/C=US/ST=CA/O=Advanced Micro Devices/CN=SEV-VCEK",
		  AMD_LOC "/CN=SEV-Milan", SNP_CERT_UNKNOWN, 0 },
		{ "/OU=Engineering/C=US/L=Santa Clara/ST=CA/O=Advanced Micro Devices Inc/CN=SEV-VCEK",
		  AMD_LOC "/CN=SEV-Milan", SNP_CERT_UNKNOWN, 0 },
		{ AMD_LOC "/CN=SEV-VCEK", "/OU=Engineering/C=DE/L=Santa Clara/ST=CA/"
					  "O=Advanced Micro Devices/CN=SEV-Milan",
		  SNP_CERT_UNKNOWN, 0 },
		{ AMD_LOC "/OU=Engineering/CN=SEV-VCEK", AMD_LOC "/CN=SEV-Milan", SNP_CERT_UNKNOWN, 0 },
		{ AMD_LOC "/CN=SEV-VCEK/CN=SEV-VLEK", AMD_LOC "/CN=SEV-Milan", SNP_CERT_UNKNOWN, 0 },
		{ AMD_LOC "/+CN=SEV-VCEK", AMD_LOC "/CN=SEV-Milan", SNP_CERT_UNKNOWN, 0 },
		{ AMD_LOC "/CN=SEV-VCEK/emailAddress=a@b", AMD_LOC "/CN=SEV-Milan", SNP_CERT_UNKNOWN,
		  0 },
		{ "/OU=Engineering/C=US/L=Santa Clara/ST=CA/CN=SEV-VCEK", AMD_LOC "/CN=SEV-Milan",
		  SNP_CERT_UNKNOWN, 0 },
		/* Another order of the same attributes is still AMD's name. */
		{ "/CN=SEV-VCEK/C=US/OU=Engineering/L=Santa Clara/ST=CA/O=Advanced Micro Devices",
		  AMD_LOC "/CN=SEV-Milan", SNP_CERT_VCEK, SNP_PRODUCT_MILAN },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		X509 *x = mk_cert(cases[i].subject, cases[i].issuer, NULL, 0);
		enum snp_product p = SNP_PRODUCT_TURIN;
		enum snp_cert_role r = snp_cert_role(x, &p);

		if (r != cases[i].role || p != cases[i].product)
			fail_msg("case %zu (%s <- %s): %s/%s, expected %s/%s", i, cases[i].subject,
				 cases[i].issuer, snp_cert_role_name(r), snp_product_name(p),
				 snp_cert_role_name(cases[i].role),
				 snp_product_name(cases[i].product));
		X509_free(x);
	}
	assert_int_equal(snp_cert_role(NULL, NULL), SNP_CERT_UNKNOWN);
	assert_string_equal(snp_cert_role_name(SNP_CERT_ARK), "ARK");
	assert_string_equal(snp_cert_role_name(SNP_CERT_ASK), "ASK");
	assert_string_equal(snp_cert_role_name(SNP_CERT_ASVK), "ASVK");
	assert_string_equal(snp_cert_role_name(SNP_CERT_VCEK), "VCEK");
	assert_string_equal(snp_cert_role_name(SNP_CERT_VLEK), "VLEK");
	assert_string_equal(snp_cert_role_name(SNP_CERT_UNKNOWN), "unknown");
	assert_string_equal(snp_cert_role_name((enum snp_cert_role)99), "unknown");
}

static void test_sha256_pins(void **state)
{
	static const struct {
		const char *file, *hex;
	} pins[] = {
		{ "amd-roots/milan/ark.pem", SNP_ARK_SHA256_MILAN },
		{ "amd-roots/genoa/ark.der", SNP_ARK_SHA256_GENOA },
		{ "amd-roots/turin/ark.pem", SNP_ARK_SHA256_TURIN },
		{ "amd-roots/milan/ask.pem",
		  "67d303bd3905fd38db8b20e0793699870e7fa612eaad5dec358293fd8c0bac1b" },
	};

	(void)state;
	TU_REQUIRE_VECTORS();
	for (size_t i = 0; i < sizeof(pins) / sizeof(pins[0]); i++) {
		X509 *x = NULL;
		struct ccu_reason why = { 0 };
		uint8_t sha[32];
		char hex[65];

		assert_int_equal(snp_cert_load_one_file(tu_vec(pins[i].file), &x, &why), 0);
		assert_int_equal(snp_cert_sha256(x, sha), 0);
		ccu_hex_encode(sha, 32, hex, sizeof(hex));
		assert_string_equal(hex, pins[i].hex);
		X509_free(x);
	}
	assert_int_equal(snp_cert_sha256(NULL, (uint8_t[32]){ 0 }), -EINVAL);
}

/* ---------------------------------------------------------- extensions */

static void load_ext(const char *rel, struct snp_cert_ext *e)
{
	STACK_OF(X509) *sk;
	struct ccu_reason why = { 0 };

	if (snp_certs_load_file(tu_vec(rel), &sk, &why) != 0)
		fail_msg("%s: %s", rel, why.detail);
	if (snp_cert_amd_ext(sk_X509_value(sk, 0), e, &why) != 0)
		fail_msg("%s: %s: %s", rel, why.code, why.detail);
	sk_X509_pop_free(sk, X509_free);
}

static void expect_tcb(const struct snp_cert_ext *e, unsigned bl, unsigned tee, unsigned snp,
		       unsigned ucode)
{
	assert_true(e->has_bl && e->has_tee && e->has_snp && e->has_ucode);
	assert_int_equal(e->bl, bl);
	assert_int_equal(e->tee, tee);
	assert_int_equal(e->snp, snp);
	assert_int_equal(e->ucode, ucode);
}

static void test_ext_vectors(void **state)
{
	struct snp_cert_ext e;
	static const uint8_t seq64[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };

	(void)state;
	TU_REQUIRE_VECTORS();

	/* Milan VCEK, ucode 115 (one content byte), bare 64-byte hwID. */
	load_ext("virtee-sev/vcek_milan.der", &e);
	assert_true(e.has_struct_version);
	assert_int_equal(e.struct_version, 0);
	assert_true(e.has_product_name);
	assert_string_equal(e.product_name, "Milan-B0");
	expect_tcb(&e, 3, 0, 8, 115);
	assert_false(e.has_fmc);
	for (int i = 4; i < 8; i++) {
		assert_true(e.has_spl[i]);
		assert_int_equal(e.spl[i], 0);
	}
	assert_int_equal(e.hwid_len, 64);
	assert_false(e.hwid_octet_wrapped);
	assert_int_equal(e.hwid[0], 0xd4);
	assert_false(e.has_csp_id);

	/* ucode >= 128 as a two-byte INTEGER: 209, 219, 217. */
	load_ext("automata/output.vek.der", &e);
	expect_tcb(&e, 3, 0, 22, 209);
	load_ext("oak/milan_oc_release.vcek.der", &e);
	expect_tcb(&e, 4, 0, 24, 219);

	/* Milan VLEK: cspID, productName without stepping, no hwID. */
	load_ext("trustee/test-vlek.der", &e);
	expect_tcb(&e, 4, 0, 24, 217);
	assert_string_equal(e.product_name, "Milan");
	assert_true(e.has_csp_id);
	assert_string_equal(e.csp_id, "CN=cc-us-east-2.amazonaws.com");
	assert_int_equal(e.hwid_len, 0);

	/* Turin: structVersion 1, fmcSPL, no spl_4, 8-byte hwID. */
	load_ext("oak/turin_oc.vcek.der", &e);
	assert_int_equal(e.struct_version, 1);
	assert_string_equal(e.product_name, "Turin");
	assert_true(e.has_fmc);
	assert_int_equal(e.fmc, 0);
	expect_tcb(&e, 1, 0, 2, 71);
	assert_false(e.has_spl[4]);
	assert_true(e.has_spl[5] && e.has_spl[6] && e.has_spl[7]);
	assert_int_equal(e.hwid_len, 8);
	assert_int_equal(e.hwid[0], 0x3b);
	assert_int_equal(e.hwid[7], 0xd3);

	/* Genoa. */
	load_ext("oak/genoa_oc.vcek.der", &e);
	assert_string_equal(e.product_name, "Genoa");
	expect_tcb(&e, 10, 0, 25, 84);

	/* trustee's synthetic VCEKs: hwID 00 01 .. 3f bare and OCTET STRING-wrapped. */
	load_ext("trustee/test-vcek-invalid-legacy.der", &e);
	assert_int_equal(e.hwid_len, 64);
	assert_false(e.hwid_octet_wrapped);
	assert_memory_equal(e.hwid, seq64, 8);
	assert_int_equal(e.hwid[63], 0x3f);
	expect_tcb(&e, 3, 0, 10, 169);
	load_ext("trustee/test-vcek-invalid-new.der", &e);
	assert_int_equal(e.hwid_len, 64);
	assert_true(e.hwid_octet_wrapped);
	assert_memory_equal(e.hwid, seq64, 8);
	assert_int_equal(e.hwid[63], 0x3f);
	expect_tcb(&e, 0, 0, 0, 30);

	/* Non-leaf and non-AMD certificates simply have none. */
	load_ext("amd-roots/milan/ark.pem", &e);
	assert_false(e.has_struct_version || e.has_product_name || e.has_bl || e.has_ucode);
	assert_int_equal(e.hwid_len, 0);
	load_ext("cmc/invalid-vcek.pem", &e);
	assert_false(e.has_bl);
}

#define OID(s) "1.3.6.1.4.1.3704.1." s

struct ext_case {
	const char *oid;
	const char *hex; /* extension value */
	bool ok;
};

static const struct ext_case ext_cases[] = {
	/* INTEGER 0..255, minimal DER only. */
	{ OID("3.1"), "020100", true },
	{ OID("3.1"), "02017f", true },
	{ OID("3.8"), "020200d9", true },
	{ OID("3.8"), "020200ff", true },
	{ OID("3.8"), "020180", false },    /* negative */
	{ OID("3.8"), "0201ff", false },    /* -1 */
	{ OID("3.8"), "0202007f", false },  /* non-minimal */
	{ OID("3.8"), "02020100", false },  /* 256 */
	{ OID("3.8"), "0203000100", false },/* overlong */
	{ OID("3.8"), "0200", false },      /* empty */
	{ OID("3.8"), "02", false },        /* truncated */
	{ OID("3.8"), "020105ff", false },  /* trailing byte */
	{ OID("3.8"), "02020005", false },  /* one leading zero too many */
	{ OID("3.8"), "0281010a", false },  /* long-form length */
	{ OID("3.8"), "040105", false },    /* not an INTEGER */
	{ OID("3.8"), "05", false },        /* raw byte */
	{ OID("3.8"), "", false },
	{ OID("3.9"), "020102", true },
	{ OID("3.4"), "020100", true },
	{ OID("3.7"), "020101", true },     /* parses; verify judges the value */
	{ OID("1"), "020101", true },
	{ OID("1"), "0201ff", false },
	/* IA5String of printable ASCII. */
	{ OID("2"), "16054d696c616e", true },
	{ OID("2"), "1600", false },
	{ OID("2"), "16064d696c616e", false },  /* length beyond the value */
	{ OID("2"), "16044d696c616e", false },  /* trailing byte */
	{ OID("2"), "0c054d696c616e", false },  /* UTF8String */
	{ OID("2"), "4d696c616e", false },      /* bare text */
	{ OID("2"), "16054d690a616e", false },  /* control character */
	{ OID("2"), "16054d6900616e", false },  /* NUL */
	{ OID("5"), "16034e3d78", true },
	{ OID("5"), "1603ff3d78", false },
	/* hwID: 64 or 8 bytes, bare or OCTET STRING-wrapped. */
	{ OID("4"), "0011223344556677", true },
	{ OID("4"), "04080011223344556677", true },
	{ OID("4"), "00112233445566", false },   /* 7 bytes */
	{ OID("4"), "001122334455667788", false },/* 9 bytes */
	{ OID("4"), "0407001122334455667788", false },
	{ OID("4"), "04090011223344556677", false },
	{ OID("4"), "", false },
	/* Other extensions of the AMD arc are AMD's business: ignored. */
	{ OID("99"), "ffff", true },
	{ OID("3.10"), "ff", true },
	{ "1.3.6.1.4.1.3704.2.1", "ff", true },
};

static void hex_to(const char *hex, uint8_t *out, size_t *len)
{
	int n = ccu_hex_decode(hex, strlen(hex), out, 256);

	assert_true(n >= 0);
	*len = (size_t)n;
}

static void test_ext_malformed(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ext_cases) / sizeof(ext_cases[0]); i++) {
		uint8_t v[256];
		size_t n;
		struct raw_ext r;
		struct snp_cert_ext e;
		struct ccu_reason why = { 0 };
		X509 *x;
		int ret;

		hex_to(ext_cases[i].hex, v, &n);
		r = (struct raw_ext){ ext_cases[i].oid, v, n };
		x = mk_vcek(&r, 1);
		ret = snp_cert_amd_ext(x, &e, &why);
		if (ext_cases[i].ok && ret != 0)
			fail_msg("%s = %s refused: %s", ext_cases[i].oid, ext_cases[i].hex, why.detail);
		if (!ext_cases[i].ok) {
			if (ret != -EBADMSG)
				fail_msg("%s = %s accepted", ext_cases[i].oid, ext_cases[i].hex);
			assert_string_equal(why.code, "CERT_EXTENSION");
			/* Nothing half-parsed is left behind. */
			assert_false(e.has_bl || e.has_ucode || e.has_product_name);
			assert_int_equal(e.hwid_len, 0);
		}
		X509_free(x);
	}
}

static void test_ext_values(void **state)
{
	uint8_t h64[66], name63[66], name64[67];
	struct raw_ext r[13];
	struct snp_cert_ext e;
	struct ccu_reason why = { 0 };
	X509 *x;

	(void)state;
	/* Every extension at once, hwID 64 bytes wrapped in an OCTET STRING. */
	h64[0] = 0x04;
	h64[1] = 0x40;
	for (int i = 0; i < 64; i++)
		h64[2 + i] = (uint8_t)(0xa0 ^ i);
	r[0] = (struct raw_ext){ OID("1"), (const uint8_t *)"\x02\x01\x00", 3 };
	r[1] = (struct raw_ext){ OID("2"), (const uint8_t *)"\x16\x08Genoa-B1", 10 };
	r[2] = (struct raw_ext){ OID("3.1"), (const uint8_t *)"\x02\x01\x0a", 3 };
	r[3] = (struct raw_ext){ OID("3.2"), (const uint8_t *)"\x02\x01\x01", 3 };
	r[4] = (struct raw_ext){ OID("3.3"), (const uint8_t *)"\x02\x01\x17", 3 };
	r[5] = (struct raw_ext){ OID("3.4"), (const uint8_t *)"\x02\x01\x00", 3 };
	r[6] = (struct raw_ext){ OID("3.5"), (const uint8_t *)"\x02\x01\x00", 3 };
	r[7] = (struct raw_ext){ OID("3.6"), (const uint8_t *)"\x02\x01\x00", 3 };
	r[8] = (struct raw_ext){ OID("3.7"), (const uint8_t *)"\x02\x01\x00", 3 };
	r[9] = (struct raw_ext){ OID("3.8"), (const uint8_t *)"\x02\x02\x00\x80", 4 };
	r[10] = (struct raw_ext){ OID("4"), h64, sizeof(h64) };
	r[11] = (struct raw_ext){ OID("5"), (const uint8_t *)"\x16\x04" "CN=x", 6 };
	x = mk_vcek(r, 12);
	assert_int_equal(snp_cert_amd_ext(x, &e, &why), 0);
	assert_true(e.has_struct_version);
	assert_string_equal(e.product_name, "Genoa-B1");
	expect_tcb(&e, 10, 1, 23, 128);
	assert_int_equal(e.hwid_len, 64);
	assert_true(e.hwid_octet_wrapped);
	assert_memory_equal(e.hwid, h64 + 2, 64);
	assert_string_equal(e.csp_id, "CN=x");
	X509_free(x);

	/* 64 bytes bare, 66 bytes that are not a wrapped hwID. */
	r[0] = (struct raw_ext){ OID("4"), h64 + 2, 64 };
	x = mk_vcek(r, 1);
	assert_int_equal(snp_cert_amd_ext(x, &e, &why), 0);
	assert_false(e.hwid_octet_wrapped);
	assert_memory_equal(e.hwid, h64 + 2, 64);
	X509_free(x);
	h64[1] = 0x41;
	r[0] = (struct raw_ext){ OID("4"), h64, sizeof(h64) };
	x = mk_vcek(r, 1);
	assert_int_equal(snp_cert_amd_ext(x, &e, &why), -EBADMSG);
	X509_free(x);

	/* productName: 63 characters fit, 64 do not. */
	name63[0] = 0x16;
	name63[1] = 63;
	memset(name63 + 2, 'A', 63);
	r[0] = (struct raw_ext){ OID("2"), name63, 65 };
	x = mk_vcek(r, 1);
	assert_int_equal(snp_cert_amd_ext(x, &e, &why), 0);
	assert_int_equal(strlen(e.product_name), 63);
	X509_free(x);
	name64[0] = 0x16;
	name64[1] = 64;
	memset(name64 + 2, 'A', 64);
	r[0] = (struct raw_ext){ OID("2"), name64, 66 };
	x = mk_vcek(r, 1);
	assert_int_equal(snp_cert_amd_ext(x, &e, &why), -EBADMSG);
	X509_free(x);

	/* The same extension twice. */
	r[0] = (struct raw_ext){ OID("3.1"), (const uint8_t *)"\x02\x01\x01", 3 };
	r[1] = (struct raw_ext){ OID("3.1"), (const uint8_t *)"\x02\x01\x01", 3 };
	x = mk_vcek(r, 2);
	assert_int_equal(snp_cert_amd_ext(x, &e, &why), -EBADMSG);
	assert_non_null(strstr(why.detail, "twice"));
	X509_free(x);

	/* None at all. */
	x = mk_vcek(NULL, 0);
	assert_int_equal(snp_cert_amd_ext(x, &e, &why), 0);
	assert_false(e.has_struct_version || e.has_bl || e.has_fmc || e.has_csp_id);
	X509_free(x);
	assert_int_equal(snp_cert_amd_ext(NULL, &e, &why), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_synthetic),
		cmocka_unit_test(test_load_files),
		cmocka_unit_test(test_load_vectors),
		cmocka_unit_test(test_roles_vectors),
		cmocka_unit_test(test_roles_synthetic),
		cmocka_unit_test(test_sha256_pins),
		cmocka_unit_test(test_ext_vectors),
		cmocka_unit_test(test_ext_malformed),
		cmocka_unit_test(test_ext_values),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
