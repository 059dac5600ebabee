/* The SEV-SNP simulator: its chain looks like AMD's (names, serials, PSS
 * parameters, extensions), its reports parse and their signatures verify
 * with plain OpenSSL, and its state directory round-trips and refuses
 * tampering. One platform per product is generated once (RSA-4096 is slow). */
#include "helpers/testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/util.h"
#include "snp/report.h"
#include "snp/sim.h"

#define AMD "1.3.6.1.4.1.3704.1"
#define GENOA_NOT_BEFORE ((time_t)1700000000) /* 2023-11-14T22:13:20Z */

struct world {
	struct snp_sim *sim[SNP_PRODUCT_COUNT];
	time_t created;
};

static const uint8_t turin_chip[64] = { 0x3b, 0x42, 0x2f, 0x69, 0xbe, 0x56, 0xd5, 0x0e,
					0xaa, 0xbb }; /* tail must be dropped */

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	struct snp_sim_params p;
	struct ccu_reason why = { 0 };

	if (!w)
		return -1;
	w->created = time(NULL);
	snp_sim_default_params(&p);
	if (snp_sim_create(&p, &w->sim[SNP_PRODUCT_MILAN], &why) < 0)
		goto fail;
	snp_sim_default_params(&p);
	p.product = SNP_PRODUCT_GENOA;
	p.tcb = (struct snp_tcb){ .bootloader = 10, .tee = 0, .snp = 25, .microcode = 84 };
	p.fw = (struct snp_fw_version){ 1, 55, 43 };
	p.not_before = GENOA_NOT_BEFORE;
	p.valid_days = 10;
	if (snp_sim_create(&p, &w->sim[SNP_PRODUCT_GENOA], &why) < 0)
		goto fail;
	snp_sim_default_params(&p);
	p.product = SNP_PRODUCT_TURIN;
	p.tcb = (struct snp_tcb){ .fmc = 3, .bootloader = 1, .tee = 0, .snp = 2, .microcode = 200 };
	memcpy(p.chip_id, turin_chip, sizeof(p.chip_id));
	p.fw = (struct snp_fw_version){ 1, 55, 61 };
	if (snp_sim_create(&p, &w->sim[SNP_PRODUCT_TURIN], &why) < 0)
		goto fail;
	*state = w;
	return 0;
fail:
	print_error("snp_sim_create: %s: %s\n", why.code, why.detail);
	for (int i = 0; i < SNP_PRODUCT_COUNT; i++)
		snp_sim_free(w->sim[i]);
	free(w);
	return -1;
}

static int teardown(void **state)
{
	struct world *w = *state;

	for (int i = 0; i < SNP_PRODUCT_COUNT; i++)
		snp_sim_free(w->sim[i]);
	free(w);
	return 0;
}

static struct snp_sim *sim_of(void **state, enum snp_product p)
{
	return ((struct world *)*state)->sim[p];
}

/* ------------------------------------------------------------ helpers */

static const ASN1_OCTET_STRING *ext_data(X509 *x, const char *oid)
{
	ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
	int i;

	assert_non_null(o);
	i = X509_get_ext_by_OBJ(x, o, -1);
	ASN1_OBJECT_free(o);
	if (i < 0)
		return NULL;
	return X509_EXTENSION_get_data(X509_get_ext(x, i));
}

/* An AMD INTEGER extension: present, one DER INTEGER, nothing after it. */
static long ext_int(X509 *x, const char *oid)
{
	const ASN1_OCTET_STRING *d = ext_data(x, oid);
	const unsigned char *p;
	ASN1_INTEGER *ai;
	long v;

	assert_non_null(d);
	p = ASN1_STRING_get0_data(d);
	ai = d2i_ASN1_INTEGER(NULL, &p, ASN1_STRING_length(d));
	assert_non_null(ai);
	assert_ptr_equal(p, ASN1_STRING_get0_data(d) + ASN1_STRING_length(d));
	v = ASN1_INTEGER_get(ai);
	ASN1_INTEGER_free(ai);
	return v;
}

static void assert_ext_bytes(X509 *x, const char *oid, const uint8_t *want, size_t len)
{
	const ASN1_OCTET_STRING *d = ext_data(x, oid);

	assert_non_null(d);
	assert_int_equal(ASN1_STRING_length(d), len);
	assert_memory_equal(ASN1_STRING_get0_data(d), want, len);
}

static bool verify_report_sig(X509 *vcek, const uint8_t raw[SNP_REPORT_SIZE])
{
	uint8_t be[2][48];
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r, *s;
	unsigned char *der = NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int dl, ok;

	for (int i = 0; i < 48; i++) {
		be[0][i] = raw[SNP_OFF_SIG_R + 47 - i];
		be[1][i] = raw[SNP_OFF_SIG_S + 47 - i];
	}
	r = BN_bin2bn(be[0], 48, NULL);
	s = BN_bin2bn(be[1], 48, NULL);
	assert_non_null(sig);
	assert_true(r && s && ECDSA_SIG_set0(sig, r, s) == 1);
	dl = i2d_ECDSA_SIG(sig, &der);
	assert_true(dl > 0);
	assert_non_null(md);
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, X509_get0_pubkey(vcek)),
			 1);
	ok = EVP_DigestVerify(md, der, (size_t)dl, raw, SNP_REPORT_SIGNED_LEN);
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	ECDSA_SIG_free(sig);
	return ok == 1;
}

static void name_is(X509_NAME *n, const char *cn)
{
	char want[160], got[256];

	snprintf(want, sizeof(want),
		 "/OU=Engineering/C=US/L=Santa Clara/ST=CA/O=Advanced Micro Devices/CN=%s", cn);
	assert_non_null(X509_NAME_oneline(n, got, sizeof(got)));
	assert_string_equal(got, want);
	/* AMD: countryName PrintableString, every other attribute UTF8String. */
	for (int i = 0; i < X509_NAME_entry_count(n); i++)
		assert_int_equal(ASN1_STRING_type(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i))),
				 i == 1 ? V_ASN1_PRINTABLESTRING : V_ASN1_UTF8STRING);
}

static void assert_pss_48(X509 *x)
{
	const ASN1_BIT_STRING *sig;
	const X509_ALGOR *alg;
	const ASN1_OBJECT *obj;
	const void *pval;
	const ASN1_STRING *seq;
	const unsigned char *p;
	RSA_PSS_PARAMS *pss;
	X509_ALGOR *mgf_md;
	int ptype;

	X509_get0_signature(&sig, &alg, x);
	assert_int_equal(X509_ALGOR_cmp(alg, X509_get0_tbs_sigalg(x)), 0);
	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	assert_int_equal(OBJ_obj2nid(obj), NID_rsassaPss);
	assert_int_equal(ptype, V_ASN1_SEQUENCE);
	seq = pval;
	p = ASN1_STRING_get0_data(seq);
	pss = d2i_RSA_PSS_PARAMS(NULL, &p, ASN1_STRING_length(seq));
	assert_non_null(pss);
	assert_non_null(pss->hashAlgorithm);
	X509_ALGOR_get0(&obj, NULL, NULL, pss->hashAlgorithm);
	assert_int_equal(OBJ_obj2nid(obj), NID_sha384);
	assert_non_null(pss->maskGenAlgorithm);
	X509_ALGOR_get0(&obj, &ptype, &pval, pss->maskGenAlgorithm);
	assert_int_equal(OBJ_obj2nid(obj), NID_mgf1);
	assert_int_equal(ptype, V_ASN1_SEQUENCE);
	seq = pval;
	p = ASN1_STRING_get0_data(seq);
	mgf_md = d2i_X509_ALGOR(NULL, &p, ASN1_STRING_length(seq));
	assert_non_null(mgf_md);
	X509_ALGOR_get0(&obj, NULL, NULL, mgf_md);
	assert_int_equal(OBJ_obj2nid(obj), NID_sha384);
	assert_non_null(pss->saltLength);
	assert_int_equal(ASN1_INTEGER_get(pss->saltLength), 48);
	assert_true(!pss->trailerField || ASN1_INTEGER_get(pss->trailerField) == 1);
	X509_ALGOR_free(mgf_md);
	RSA_PSS_PARAMS_free(pss);
}

static long serial_of(X509 *x)
{
	return ASN1_INTEGER_get(X509_get0_serialNumber(x));
}

static void put_file(const char *dir, const char *name, const void *data, size_t len)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(ccu_write_file_atomic(path, data, len, 0644), 0);
}

static char *get_file(const char *dir, const char *name, size_t *len)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return (char *)tu_read(path, len);
}

static char *saved(struct snp_sim *s)
{
	char *dir = tu_mkdtemp();
	struct ccu_reason why = { 0 };

	assert_int_equal(snp_sim_save(s, dir, &why), 0);
	return dir;
}

static void assert_load_fails(const char *dir, int err, const char *code)
{
	struct snp_sim *s = NULL;
	struct ccu_reason why = { 0 };

	assert_int_equal(snp_sim_load(dir, &s, &why), err);
	assert_null(s);
	assert_string_equal(why.code, code);
	assert_true(why.detail[0] != 0);
}

/* Replace the first occurrence of @from in DIR/NAME by @to. */
static void edit_file(const char *dir, const char *name, const char *from, const char *to)
{
	size_t len;
	char *t = get_file(dir, name, &len), *at = strstr(t, from), *n;

	assert_non_null(at);
	n = malloc(len + strlen(to) + 1);
	assert_non_null(n);
	memcpy(n, t, (size_t)(at - t));
	strcpy(n + (at - t), to);
	strcat(n, at + strlen(from));
	put_file(dir, name, n, strlen(n));
	free(n);
	free(t);
}

/* ------------------------------------------------------------ parameters */

static void test_default_params(void **state)
{
	struct snp_sim_params p;
	char buf[64];

	(void)state;
	snp_sim_default_params(&p);
	assert_int_equal(p.product, SNP_PRODUCT_MILAN);
	assert_string_equal(snp_tcb_format(&p.tcb, buf, sizeof(buf)), "bl=4 tee=0 snp=24 ucode=219");
	assert_int_equal(p.fw.major, 1);
	assert_int_equal(p.fw.minor, 55);
	assert_int_equal(p.fw.build, 29);
	assert_int_equal(p.not_before, 0);
	assert_int_equal(p.valid_days, 0);
	assert_true(p.chip_id[0] || p.chip_id[63]);
}

static void test_create_refuses_bad_params(void **state)
{
	struct snp_sim_params p;
	struct snp_sim *s = NULL;
	struct ccu_reason why = { 0 };

	(void)state;
	snp_sim_default_params(&p);
	p.valid_days = 40000;
	assert_int_equal(snp_sim_create(&p, &s, &why), -EINVAL);
	assert_string_equal(why.code, "SIM_PARAMS");
	snp_sim_default_params(&p);
	p.product = (enum snp_product)SNP_PRODUCT_COUNT;
	assert_int_equal(snp_sim_create(&p, &s, &why), -EINVAL);
	assert_string_equal(why.code, "SIM_PARAMS");
	assert_null(s);
}

static void test_parse_tcb(void **state)
{
	struct snp_tcb t;
	struct ccu_reason why = { 0 };
	char buf[64];
	static const char *const bad_milan[] = {
		"bl=4 tee=0 snp=24",               /* ucode missing */
		"bl=4 tee=0 snp=24 ucode=256",     /* > 255 */
		"bl=4 tee=0 snp=24 ucode=-1",
		"bl=4 tee=0 snp=24 ucode=0x10",    /* decimal only */
		"bl=4 bl=4 tee=0 snp=24 ucode=1",  /* repeated */
		"bl=4 tee=0 snp=24 ucode=1 fmc=0", /* fmc is Turin only */
		"bl=4 tee=0 snp=24 ucode=1 x=1",
		"bl=4 tee=0 snp=24 ucode",
		"bl=4 tee=0 snp=24 ucode=",
		"",
	};

	(void)state;
	assert_int_equal(snp_sim_parse_tcb("ucode=219  snp=24\ttee=0 bl=4", SNP_PRODUCT_MILAN, &t,
					   &why), 0);
	assert_string_equal(snp_tcb_format(&t, buf, sizeof(buf)), "bl=4 tee=0 snp=24 ucode=219");
	assert_false(t.has_fmc);
	assert_int_equal(snp_sim_parse_tcb("bl=1 tee=0 snp=2 ucode=71", SNP_PRODUCT_TURIN, &t, &why),
			 0);
	assert_string_equal(snp_tcb_format(&t, buf, sizeof(buf)), "fmc=0 bl=1 tee=0 snp=2 ucode=71");
	assert_int_equal(snp_sim_parse_tcb("fmc=9 bl=1 tee=0 snp=2 ucode=71", SNP_PRODUCT_TURIN, &t,
					   &why), 0);
	assert_int_equal(t.fmc, 9);
	for (size_t i = 0; i < sizeof(bad_milan) / sizeof(bad_milan[0]); i++) {
		ccu_reason_clear(&why);
		assert_int_equal(snp_sim_parse_tcb(bad_milan[i], SNP_PRODUCT_MILAN, &t, &why),
				 -EINVAL);
		assert_string_equal(why.code, "CONFIG_VALUE");
	}
}

static void test_parse_fw_and_chip(void **state)
{
	struct snp_fw_version fw;
	struct ccu_reason why = { 0 };
	uint8_t chip[64];
	char hex[130];
	static const char *const bad_fw[] = { "1.55", "1.55.29.1", "1..29", "1.55.256", "a.b.c",
					      "1.55.29 ", "" };

	(void)state;
	assert_int_equal(snp_sim_parse_fw("1.55.61", &fw, &why), 0);
	assert_int_equal(fw.major, 1);
	assert_int_equal(fw.minor, 55);
	assert_int_equal(fw.build, 61);
	for (size_t i = 0; i < sizeof(bad_fw) / sizeof(bad_fw[0]); i++) {
		assert_int_equal(snp_sim_parse_fw(bad_fw[i], &fw, &why), -EINVAL);
		assert_string_equal(why.code, "CONFIG_VALUE");
	}
	memset(chip, 0x77, sizeof(chip));
	assert_int_equal(snp_sim_parse_chip_id("3b422f69be56d50e", SNP_PRODUCT_TURIN, chip, &why), 0);
	assert_int_equal(chip[0], 0x3b);
	assert_int_equal(chip[7], 0x0e);
	assert_int_equal(chip[8], 0);
	assert_int_equal(chip[63], 0);
	assert_int_equal(snp_sim_parse_chip_id("3b422f69be56d50e", SNP_PRODUCT_MILAN, chip, &why),
			 -EINVAL);
	assert_string_equal(why.code, "CONFIG_VALUE");
	memset(hex, 'a', 128);
	hex[128] = 0;
	assert_int_equal(snp_sim_parse_chip_id(hex, SNP_PRODUCT_GENOA, chip, &why), 0);
	assert_int_equal(chip[63], 0xaa);
	hex[5] = 'g';
	assert_int_equal(snp_sim_parse_chip_id(hex, SNP_PRODUCT_GENOA, chip, &why), -EINVAL);
	hex[5] = 'a';
	hex[127] = 0;
	assert_int_equal(snp_sim_parse_chip_id(hex, SNP_PRODUCT_GENOA, chip, &why), -EINVAL);
}

/* ------------------------------------------------------------ certificates */

static void test_chain_names_serials(void **state)
{
	for (int p = SNP_PRODUCT_MILAN; p <= SNP_PRODUCT_TURIN; p++) {
		struct snp_sim *s = sim_of(state, p);
		char ark[32], ask[32];
		long base = 0x10000L * p;

		snprintf(ark, sizeof(ark), "ARK-%s", snp_product_name(p));
		snprintf(ask, sizeof(ask), "SEV-%s", snp_product_name(p));
		name_is(X509_get_subject_name(snp_sim_ark(s)), ark);
		name_is(X509_get_issuer_name(snp_sim_ark(s)), ark);
		name_is(X509_get_subject_name(snp_sim_ask(s)), ask);
		name_is(X509_get_issuer_name(snp_sim_ask(s)), ark);
		name_is(X509_get_subject_name(snp_sim_vcek(s)), "SEV-VCEK");
		name_is(X509_get_issuer_name(snp_sim_vcek(s)), ask);
		assert_int_equal(serial_of(snp_sim_ark(s)), base);
		assert_int_equal(serial_of(snp_sim_ask(s)), base + 1);
		assert_int_equal(serial_of(snp_sim_vcek(s)), 0);
		for (int i = 0; i < 3; i++) {
			X509 *x = i == 0 ? snp_sim_ark(s) : i == 1 ? snp_sim_ask(s) : snp_sim_vcek(s);

			assert_int_equal(X509_get_version(x), X509_VERSION_3);
		}
	}
}

static void test_chain_signatures_pss48(void **state)
{
	for (int p = SNP_PRODUCT_MILAN; p <= SNP_PRODUCT_TURIN; p++) {
		struct snp_sim *s = sim_of(state, p);
		X509 *ark = snp_sim_ark(s), *ask = snp_sim_ask(s), *vcek = snp_sim_vcek(s);

		assert_int_equal(X509_verify(ark, X509_get0_pubkey(ark)), 1);
		assert_int_equal(X509_verify(ask, X509_get0_pubkey(ark)), 1);
		assert_int_equal(X509_verify(vcek, X509_get0_pubkey(ask)), 1);
		/* The wrong key fails: the checks above can fail. */
		assert_int_not_equal(X509_verify(vcek, X509_get0_pubkey(ark)), 1);
		assert_pss_48(ark);
		assert_pss_48(ask);
		assert_pss_48(vcek);
		assert_int_equal(EVP_PKEY_get_bits(X509_get0_pubkey(ark)), 4096);
		assert_int_equal(EVP_PKEY_get_bits(X509_get0_pubkey(ask)), 4096);
		assert_true(EVP_PKEY_is_a(X509_get0_pubkey(ark), "RSA"));
	}
	/* Two platforms never share a root. */
	assert_int_not_equal(X509_verify(snp_sim_ask(sim_of(state, SNP_PRODUCT_MILAN)),
					 X509_get0_pubkey(snp_sim_ark(sim_of(state, SNP_PRODUCT_GENOA)))),
			     1);
}

static void test_chain_tampered_vcek_fails(void **state)
{
	X509 *vcek = snp_sim_vcek(sim_of(state, SNP_PRODUCT_MILAN));
	X509 *ask = snp_sim_ask(sim_of(state, SNP_PRODUCT_MILAN));
	unsigned char *der = NULL;
	const unsigned char *d2;
	const unsigned char *p;
	int len = i2d_X509(vcek, &der);
	X509 *bad;
	ASN1_OBJECT *o = OBJ_txt2obj(AMD ".3.3", 1);
	static const uint8_t snp_oid[] = { 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x9c,
					   0x78, 0x01, 0x03, 0x03, 0x04, 0x03 };
	int at = -1;

	assert_true(len > 0);
	/* Change snpSPL (24) inside the signed TBS: the OID 1.3.6.1.4.1.3704.1.3.3,
	 * then OCTET STRING { INTEGER 24 }. */
	for (int i = 0; i + (int)sizeof(snp_oid) + 3 <= len; i++)
		if (memcmp(der + i, snp_oid, sizeof(snp_oid)) == 0)
			at = i + (int)sizeof(snp_oid) + 2;
	assert_true(at > 0);
	assert_int_equal(der[at], 24);
	der[at] = 25;
	p = der;
	bad = d2i_X509(NULL, &p, len);
	assert_non_null(bad);
	assert_int_not_equal(X509_verify(bad, X509_get0_pubkey(ask)), 1);
	d2 = ASN1_STRING_get0_data(
		X509_EXTENSION_get_data(X509_get_ext(bad, X509_get_ext_by_OBJ(bad, o, -1))));
	assert_int_equal(d2[2], 25);
	ASN1_OBJECT_free(o);
	X509_free(bad);
	OPENSSL_free(der);
}

static void test_ca_extensions(void **state)
{
	for (int p = SNP_PRODUCT_MILAN; p <= SNP_PRODUCT_TURIN; p++) {
		struct snp_sim *s = sim_of(state, p);
		X509 *ark = snp_sim_ark(s), *ask = snp_sim_ask(s), *vcek = snp_sim_vcek(s);
		char want[96], got[128];
		int crit = -1;
		STACK_OF(DIST_POINT) *dps;
		ASN1_BIT_STRING *ku;
		BASIC_CONSTRAINTS *bc;
		GENERAL_NAME *gn;

		assert_true(X509_get_extension_flags(ark) & EXFLAG_CA);
		assert_true(X509_get_extension_flags(ark) & EXFLAG_SS);
		assert_int_equal(X509_get_key_usage(ark), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
		ku = X509_get_ext_d2i(ark, NID_key_usage, &crit, NULL);
		assert_non_null(ku);
		assert_int_equal(crit, 1);
		ASN1_BIT_STRING_free(ku);
		bc = X509_get_ext_d2i(ark, NID_basic_constraints, &crit, NULL);
		assert_non_null(bc);
		assert_int_equal(crit, 1);
		assert_true(bc->ca);
		assert_null(bc->pathlen);
		BASIC_CONSTRAINTS_free(bc);

		assert_true(X509_get_extension_flags(ask) & EXFLAG_CA);
		assert_int_equal(X509_get_pathlen(ask), 0);
		assert_int_equal(X509_get_key_usage(ask), KU_KEY_CERT_SIGN);
		assert_int_equal(X509_check_issued(ark, ask), X509_V_OK);
		assert_int_equal(X509_check_issued(ask, vcek), X509_V_OK);

		/* One CRL distribution point, AMD's URL for the product. */
		snprintf(want, sizeof(want), "https://kdsintf.amd.com/vcek/v1/%s/crl",
			 snp_product_name(p));
		for (int i = 0; i < 2; i++) {
			dps = X509_get_ext_d2i(i ? ask : ark, NID_crl_distribution_points, NULL,
					       NULL);
			assert_non_null(dps);
			assert_int_equal(sk_DIST_POINT_num(dps), 1);
			gn = sk_GENERAL_NAME_value(sk_DIST_POINT_value(dps, 0)->distpoint->name.fullname,
						   0);
			assert_int_equal(gn->type, GEN_URI);
			snprintf(got, sizeof(got), "%s",
				 (const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier));
			assert_string_equal(got, want);
			sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
		}

		/* The leaf: EC P-384, no CA flag, no key usage. */
		assert_false(X509_get_extension_flags(vcek) & EXFLAG_CA);
		assert_int_equal(X509_get_ext_by_NID(vcek, NID_basic_constraints, -1), -1);
		assert_int_equal(X509_get_ext_by_NID(vcek, NID_key_usage, -1), -1);
		assert_true(EVP_PKEY_is_a(X509_get0_pubkey(vcek), "EC"));
		assert_true(EVP_PKEY_get_group_name(X509_get0_pubkey(vcek), got, sizeof(got), NULL));
		assert_string_equal(got, "secp384r1");
	}
}

static void test_validity(void **state)
{
	struct world *w = *state;
	X509 *g = snp_sim_vcek(sim_of(state, SNP_PRODUCT_GENOA));
	X509 *m = snp_sim_vcek(sim_of(state, SNP_PRODUCT_MILAN));
	struct tm nb, na;
	time_t t;

	assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notBefore(g), GENOA_NOT_BEFORE), 0);
	assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notAfter(g), GENOA_NOT_BEFORE + 10 * 86400),
			 0);
	assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notAfter(snp_sim_ark(sim_of(state,
									      SNP_PRODUCT_GENOA))),
					      GENOA_NOT_BEFORE + 10 * 86400), 0);
	/* Default: from one day ago, seven calendar years (as KDS issues VCEKs). */
	assert_true(ASN1_TIME_to_tm(X509_get0_notBefore(m), &nb));
	assert_true(ASN1_TIME_to_tm(X509_get0_notAfter(m), &na));
	t = timegm(&nb);
	assert_true(t >= w->created - 86400 - 600 && t <= w->created - 86400 + 600);
	assert_int_equal(na.tm_year - nb.tm_year, 7);
	assert_int_equal(na.tm_hour, nb.tm_hour);
	assert_int_equal(na.tm_min, nb.tm_min);
	assert_int_equal(snp_sim_params(sim_of(state, SNP_PRODUCT_MILAN))->not_before, t);
}

static void test_vcek_extensions_milan_genoa(void **state)
{
	static const uint8_t u219[] = { 0x02, 0x02, 0x00, 0xdb };
	static const uint8_t u84[] = { 0x02, 0x01, 0x54 };
	static const uint8_t milan_name[] = { 0x16, 0x08, 'M', 'i', 'l', 'a', 'n', '-', 'B', '0' };
	static const uint8_t genoa_name[] = { 0x16, 0x08, 'G', 'e', 'n', 'o', 'a', '-', 'B', '1' };

	for (int p = SNP_PRODUCT_MILAN; p <= SNP_PRODUCT_GENOA; p++) {
		struct snp_sim *s = sim_of(state, p);
		const struct snp_sim_params *sp = snp_sim_params(s);
		X509 *v = snp_sim_vcek(s);

		assert_int_equal(ext_int(v, AMD ".1"), 0);
		assert_int_equal(ext_int(v, AMD ".3.1"), sp->tcb.bootloader);
		assert_int_equal(ext_int(v, AMD ".3.2"), sp->tcb.tee);
		assert_int_equal(ext_int(v, AMD ".3.3"), sp->tcb.snp);
		for (int i = 4; i <= 7; i++) {
			char oid[40];

			snprintf(oid, sizeof(oid), AMD ".3.%d", i);
			assert_int_equal(ext_int(v, oid), 0);
		}
		assert_int_equal(ext_int(v, AMD ".3.8"), sp->tcb.microcode);
		assert_null(ext_data(v, AMD ".3.9"));
		assert_null(ext_data(v, AMD ".5"));
		/* hwID: the bare 64 chip-id bytes. */
		assert_ext_bytes(v, AMD ".4", sp->chip_id, 64);
		assert_int_equal(X509_get_ext_count(v), 11);
		for (int i = 0; i < X509_get_ext_count(v); i++)
			assert_int_equal(X509_EXTENSION_get_critical(X509_get_ext(v, i)), 0);
	}
	assert_ext_bytes(snp_sim_vcek(sim_of(state, SNP_PRODUCT_MILAN)), AMD ".3.8", u219,
			 sizeof(u219));
	assert_ext_bytes(snp_sim_vcek(sim_of(state, SNP_PRODUCT_GENOA)), AMD ".3.8", u84,
			 sizeof(u84));
	assert_ext_bytes(snp_sim_vcek(sim_of(state, SNP_PRODUCT_MILAN)), AMD ".2", milan_name,
			 sizeof(milan_name));
	assert_ext_bytes(snp_sim_vcek(sim_of(state, SNP_PRODUCT_GENOA)), AMD ".2", genoa_name,
			 sizeof(genoa_name));
}

static void test_vcek_extensions_turin(void **state)
{
	static const uint8_t name[] = { 0x16, 0x05, 'T', 'u', 'r', 'i', 'n' };
	static const uint8_t u200[] = { 0x02, 0x02, 0x00, 0xc8 };
	static const uint8_t v1[] = { 0x02, 0x01, 0x01 };
	struct snp_sim *s = sim_of(state, SNP_PRODUCT_TURIN);
	const struct snp_sim_params *sp = snp_sim_params(s);
	X509 *v = snp_sim_vcek(s);

	assert_ext_bytes(v, AMD ".1", v1, sizeof(v1));
	assert_ext_bytes(v, AMD ".2", name, sizeof(name));
	assert_int_equal(ext_int(v, AMD ".3.9"), 3);
	assert_int_equal(ext_int(v, AMD ".3.1"), 1);
	assert_int_equal(ext_int(v, AMD ".3.2"), 0);
	assert_int_equal(ext_int(v, AMD ".3.3"), 2);
	assert_null(ext_data(v, AMD ".3.4"));
	assert_int_equal(ext_int(v, AMD ".3.5"), 0);
	assert_int_equal(ext_int(v, AMD ".3.6"), 0);
	assert_int_equal(ext_int(v, AMD ".3.7"), 0);
	assert_ext_bytes(v, AMD ".3.8", u200, sizeof(u200));
	/* hwID on Turin: 8 bytes; the rest of the given chip id was dropped. */
	assert_ext_bytes(v, AMD ".4", turin_chip, 8);
	assert_true(sp->tcb.has_fmc);
	assert_int_equal(sp->chip_id[8], 0);
	assert_int_equal(sp->chip_id[9], 0);
	assert_int_equal(X509_get_ext_count(v), 11);
}

/* The order of the AMD extensions is the one of real VCEKs from KDS. */
static void test_vcek_extension_order_matches_real(void **state)
{
	static const char *const real[SNP_PRODUCT_COUNT] = {
		[SNP_PRODUCT_MILAN] = "oak/milan_oc_release.vcek.der",
		[SNP_PRODUCT_GENOA] = "oak/genoa_oc.vcek.der",
		[SNP_PRODUCT_TURIN] = "oak/turin_oc.vcek.der",
	};

	TU_REQUIRE_VECTORS();
	for (int p = SNP_PRODUCT_MILAN; p <= SNP_PRODUCT_TURIN; p++) {
		size_t len;
		uint8_t *der = tu_read(tu_vec(real[p]), &len);
		const unsigned char *q = der;
		X509 *r = d2i_X509(NULL, &q, (long)len), *mine = snp_sim_vcek(sim_of(state, p));
		unsigned char *n1 = NULL, *n2 = NULL;
		int l1, l2;

		assert_non_null(r);
		assert_int_equal(X509_get_ext_count(mine), X509_get_ext_count(r));
		for (int i = 0; i < X509_get_ext_count(r); i++) {
			char a[64], b[64];

			OBJ_obj2txt(a, sizeof(a), X509_EXTENSION_get_object(X509_get_ext(r, i)), 1);
			OBJ_obj2txt(b, sizeof(b), X509_EXTENSION_get_object(X509_get_ext(mine, i)),
				    1);
			assert_string_equal(b, a);
		}
		/* Subject and issuer names encode to the same DER as AMD's. */
		l1 = i2d_X509_NAME(X509_get_subject_name(r), &n1);
		l2 = i2d_X509_NAME(X509_get_subject_name(mine), &n2);
		assert_int_equal(l1, l2);
		assert_memory_equal(n1, n2, (size_t)l1);
		OPENSSL_free(n1);
		OPENSSL_free(n2);
		n1 = n2 = NULL;
		l1 = i2d_X509_NAME(X509_get_issuer_name(r), &n1);
		l2 = i2d_X509_NAME(X509_get_issuer_name(mine), &n2);
		assert_int_equal(l1, l2);
		assert_memory_equal(n1, n2, (size_t)l1);
		OPENSSL_free(n1);
		OPENSSL_free(n2);
		X509_free(r);
		free(der);
	}
}

/* ------------------------------------------------------------ reports */

static void check_report(struct snp_sim *s, unsigned version)
{
	const struct snp_sim_params *sp = snp_sim_params(s);
	uint8_t rd[64], tcb[8];
	struct snp_report r, back;
	struct ccu_reason why = { 0 };
	struct snp_tcb t;

	for (int i = 0; i < 64; i++)
		rd[i] = (uint8_t)(0xa0 + i);
	snp_sim_report_template(s, version, rd, &r);
	assert_int_equal(snp_sim_sign(s, &r, &why), 0);
	assert_int_equal(snp_report_parse(r.raw, sizeof(r.raw), &back, &why), 0);
	assert_int_equal(back.version, version);
	assert_memory_equal(back.report_data, rd, 64);
	assert_int_equal(back.policy, 0x30000);
	assert_int_equal(back.vmpl, 0);
	assert_int_equal(back.sig_algo, 1);
	assert_int_equal(SNP_KEY_INFO_SIGNING_KEY(back.key_info), SNP_SIGNING_KEY_VCEK);
	assert_memory_equal(back.sig_r, r.sig_r, 72);
	assert_memory_equal(back.sig_s, r.sig_s, 72);
	/* Product, TCBs, chip id and firmware of the platform. */
	if (version >= 3)
		assert_int_equal(snp_report_product(&back), sp->product);
	else
		assert_int_equal(snp_report_product(&back), SNP_PRODUCT_UNKNOWN);
	assert_int_equal(back.has_mit_vectors, version >= 5);
	snp_tcb_encode(&sp->tcb, sp->product, tcb);
	assert_memory_equal(back.reported_tcb, tcb, 8);
	assert_memory_equal(back.current_tcb, tcb, 8);
	assert_memory_equal(back.committed_tcb, tcb, 8);
	assert_memory_equal(back.launch_tcb, tcb, 8);
	assert_true(snp_tcb_decode(back.reported_tcb, sp->product, &t));
	assert_true(snp_tcb_ge(&t, &sp->tcb) && snp_tcb_ge(&sp->tcb, &t));
	assert_memory_equal(back.chip_id, sp->chip_id, 64);
	assert_int_equal(back.current.build, sp->fw.build);
	assert_int_equal(back.committed.minor, sp->fw.minor);
	assert_true(verify_report_sig(snp_sim_vcek(s), r.raw));
}

static void test_reports_every_product_and_version(void **state)
{
	static const unsigned versions[] = { 2, 3, 5 };

	for (int p = SNP_PRODUCT_MILAN; p <= SNP_PRODUCT_TURIN; p++)
		for (size_t i = 0; i < 3; i++)
			check_report(sim_of(state, p), versions[i]);
}

static void test_report_signature_fails_when_tampered(void **state)
{
	struct snp_sim *m = sim_of(state, SNP_PRODUCT_MILAN);
	struct snp_report r;
	struct ccu_reason why = { 0 };

	snp_sim_report_template(m, 5, NULL, &r);
	assert_int_equal(snp_sim_sign(m, &r, &why), 0);
	assert_true(verify_report_sig(snp_sim_vcek(m), r.raw));
	/* The wrong VCEK. */
	assert_false(verify_report_sig(snp_sim_vcek(sim_of(state, SNP_PRODUCT_GENOA)), r.raw));
	/* One flipped bit in REPORT_DATA, in the last signed byte, in R. */
	r.raw[SNP_OFF_REPORT_DATA] ^= 1;
	assert_false(verify_report_sig(snp_sim_vcek(m), r.raw));
	r.raw[SNP_OFF_REPORT_DATA] ^= 1;
	r.raw[SNP_REPORT_SIGNED_LEN - 1] ^= 0x80;
	assert_false(verify_report_sig(snp_sim_vcek(m), r.raw));
	r.raw[SNP_REPORT_SIGNED_LEN - 1] ^= 0x80;
	r.raw[SNP_OFF_SIG_R] ^= 1;
	assert_false(verify_report_sig(snp_sim_vcek(m), r.raw));
	r.raw[SNP_OFF_SIG_R] ^= 1;
	assert_true(verify_report_sig(snp_sim_vcek(m), r.raw));
}

static void test_report_fields_as_given(void **state)
{
	struct snp_sim *g = sim_of(state, SNP_PRODUCT_GENOA);
	struct snp_report r, back;
	struct ccu_reason why = { 0 };
	struct snp_tcb low = { .bootloader = 1, .tee = 0, .snp = 1, .microcode = 1 };

	snp_sim_report_template(g, 3, NULL, &r);
	r.policy |= SNP_POLICY_DEBUG | SNP_POLICY_MIGRATE_MA;
	r.vmpl = 3;
	r.guest_svn = 7;
	memset(r.measurement, 0x5a, sizeof(r.measurement));
	memset(r.host_data, 0x11, sizeof(r.host_data));
	memset(r.chip_id, 0, sizeof(r.chip_id)); /* masked */
	snp_tcb_encode(&low, SNP_PRODUCT_GENOA, r.reported_tcb);
	r.current.build = 99;
	memset(r.raw, 0xee, sizeof(r.raw)); /* stale bytes are not signed */
	assert_int_equal(snp_sim_sign(g, &r, &why), 0);
	assert_int_equal(snp_report_parse(r.raw, sizeof(r.raw), &back, &why), 0);
	assert_true(back.policy & SNP_POLICY_DEBUG);
	assert_int_equal(back.vmpl, 3);
	assert_int_equal(back.guest_svn, 7);
	assert_int_equal(back.measurement[47], 0x5a);
	assert_int_equal(back.host_data[0], 0x11);
	assert_int_equal(back.reported_tcb[6], 1);
	assert_int_equal(back.current.build, 99);
	assert_int_equal(r.raw[SNP_OFF_CHIP_ID], 0);
	assert_true(verify_report_sig(snp_sim_vcek(g), r.raw));
	/* Only the low 48 bytes of R and S are used; the reserved tail is zero. */
	for (int i = 48; i < 72; i++) {
		assert_int_equal(r.raw[SNP_OFF_SIG_R + i], 0);
		assert_int_equal(r.raw[SNP_OFF_SIG_S + i], 0);
	}
	for (int i = SNP_OFF_SIG_END; i < SNP_REPORT_SIZE; i++)
		assert_int_equal(r.raw[i], 0);
	/* A malformed report is signed too (policy bit 17 clear): parse refuses it. */
	r.policy = 0;
	assert_int_equal(snp_sim_sign(g, &r, &why), 0);
	assert_int_equal(snp_report_parse(r.raw, sizeof(r.raw), &back, &why), -EBADMSG);
	assert_string_equal(why.code, "FORMAT_POLICY");
	assert_true(verify_report_sig(snp_sim_vcek(g), r.raw));
}

static void test_turin_report_layout(void **state)
{
	struct snp_sim *t = sim_of(state, SNP_PRODUCT_TURIN);
	static const uint8_t tcb[8] = { 3, 1, 0, 2, 0, 0, 0, 200 };
	struct snp_report r;
	struct ccu_reason why = { 0 };

	snp_sim_report_template(t, 5, NULL, &r);
	assert_int_equal(snp_sim_sign(t, &r, &why), 0);
	assert_memory_equal(r.raw + SNP_OFF_REPORTED_TCB, tcb, 8);
	assert_memory_equal(r.raw + SNP_OFF_CURRENT_TCB, tcb, 8);
	assert_memory_equal(r.raw + SNP_OFF_CHIP_ID, turin_chip, 8);
	for (int i = 8; i < 64; i++)
		assert_int_equal(r.raw[SNP_OFF_CHIP_ID + i], 0);
	assert_int_equal(r.raw[SNP_OFF_CPUID_FAM_ID], 0x1a);
	assert_int_equal(r.raw[SNP_OFF_CPUID_MOD_ID], 0x02);
	assert_int_equal(r.raw[SNP_OFF_VERSION], 5);
	assert_int_equal(r.raw[SNP_OFF_CURRENT_BUILD], 61);
}

/* ------------------------------------------------------------ save / load */

static void test_save_load_roundtrip(void **state)
{
	for (int p = SNP_PRODUCT_MILAN; p <= SNP_PRODUCT_TURIN; p++) {
		struct snp_sim *s = sim_of(state, p), *l = NULL;
		const struct snp_sim_params *a = snp_sim_params(s), *b;
		char *dir = saved(s), *ask, *ark, *chain, path[512];
		struct ccu_reason why = { 0 };
		struct snp_report r;
		size_t n1, n2, n3;
		struct stat st;

		assert_int_equal(snp_sim_load(dir, &l, &why), 0);
		b = snp_sim_params(l);
		assert_int_equal(b->product, a->product);
		assert_memory_equal(b->chip_id, a->chip_id, 64);
		assert_memory_equal(&b->fw, &a->fw, sizeof(a->fw));
		assert_int_equal(b->tcb.bootloader, a->tcb.bootloader);
		assert_int_equal(b->tcb.snp, a->tcb.snp);
		assert_int_equal(b->tcb.microcode, a->tcb.microcode);
		assert_int_equal(b->tcb.fmc, a->tcb.fmc);
		assert_int_equal(b->tcb.has_fmc, a->tcb.has_fmc);
		assert_int_equal(b->not_before, a->not_before);
		assert_int_equal(X509_cmp(snp_sim_ark(l), snp_sim_ark(s)), 0);
		assert_int_equal(X509_cmp(snp_sim_ask(l), snp_sim_ask(s)), 0);
		assert_int_equal(X509_cmp(snp_sim_vcek(l), snp_sim_vcek(s)), 0);
		/* The loaded platform signs with the same VCEK. */
		snp_sim_report_template(l, 5, NULL, &r);
		assert_int_equal(snp_sim_sign(l, &r, &why), 0);
		assert_true(verify_report_sig(snp_sim_vcek(s), r.raw));
		/* chain.pem is the ASK then the ARK; the private key is 0600. */
		ask = get_file(dir, "ask.pem", &n1);
		ark = get_file(dir, "ark.pem", &n2);
		chain = get_file(dir, "chain.pem", &n3);
		assert_int_equal(n3, n1 + n2);
		assert_memory_equal(chain, ask, n1);
		assert_memory_equal(chain + n1, ark, n2);
		snprintf(path, sizeof(path), "%s/vcek-key.pem", dir);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		free(ask);
		free(ark);
		free(chain);
		snp_sim_free(l);
		tu_rmrf(dir);
		free(dir);
	}
}

static void test_platform_conf_text(void **state)
{
	char *dir = saved(sim_of(state, SNP_PRODUCT_TURIN));
	size_t n;
	char *t = get_file(dir, "platform.conf", &n);

	assert_non_null(strstr(t, "\nproduct = turin\n"));
	assert_non_null(strstr(t, "\nchip_id = 3b422f69be56d50e\n"));
	assert_non_null(strstr(t, "\ntcb = fmc=3 bl=1 tee=0 snp=2 ucode=200\n"));
	assert_non_null(strstr(t, "\nfw = 1.55.61\n"));
	free(t);
	tu_rmrf(dir);
	free(dir);
}

static void test_load_refuses_foreign_key(void **state)
{
	char *m = saved(sim_of(state, SNP_PRODUCT_MILAN));
	char *g = saved(sim_of(state, SNP_PRODUCT_GENOA));
	size_t n;
	char *key = get_file(g, "vcek-key.pem", &n);

	put_file(m, "vcek-key.pem", key, n);
	assert_load_fails(m, -EBADMSG, "SIM_KEY_MISMATCH");
	put_file(m, "vcek-key.pem", "not a key\n", 10);
	assert_load_fails(m, -EBADMSG, "SIM_FORMAT");
	free(key);
	tu_rmrf(m);
	tu_rmrf(g);
	free(m);
	free(g);
}

static void test_load_refuses_tampering(void **state)
{
	struct snp_sim *ms = sim_of(state, SNP_PRODUCT_MILAN);
	char *g = saved(sim_of(state, SNP_PRODUCT_GENOA)), *m;
	size_t n;
	char *t;

	/* platform.conf that disagrees with the VCEK's extensions. */
	m = saved(ms);
	edit_file(m, "platform.conf", "snp=24", "snp=25");
	assert_load_fails(m, -EBADMSG, "SIM_MISMATCH");
	edit_file(m, "platform.conf", "snp=25", "snp=24");
	edit_file(m, "platform.conf", "chip_id = 5e", "chip_id = 5f");
	assert_load_fails(m, -EBADMSG, "SIM_MISMATCH");
	edit_file(m, "platform.conf", "chip_id = 5f", "chip_id = 5e");
	edit_file(m, "platform.conf", "product = milan", "product = genoa");
	assert_load_fails(m, -EBADMSG, "SIM_MISMATCH");
	edit_file(m, "platform.conf", "product = genoa", "product = milan");
	/* Strict platform.conf. */
	edit_file(m, "platform.conf", "fw = 1.55.29", "fw = 1.55.29\nextra = 1");
	assert_load_fails(m, -EINVAL, "CONFIG_UNKNOWN_KEY");
	edit_file(m, "platform.conf", "\nextra = 1", "");
	edit_file(m, "platform.conf", "fw = 1.55.29", "fw = 1.55.29\nfw = 1.55.29");
	assert_load_fails(m, -EINVAL, "CONFIG_DUPLICATE_KEY");
	edit_file(m, "platform.conf", "\nfw = 1.55.29", "");
	edit_file(m, "platform.conf", "fw = 1.55.29\n", "");
	assert_load_fails(m, -EINVAL, "CONFIG_MISSING");
	edit_file(m, "platform.conf", "ucode=219\n", "ucode=219\nfw = 1.55\n");
	assert_load_fails(m, -EINVAL, "CONFIG_VALUE");
	edit_file(m, "platform.conf", "fw = 1.55\n", "fw = 1.55.29\n");
	edit_file(m, "platform.conf", "product = milan", "product = rome");
	assert_load_fails(m, -EINVAL, "CONFIG_VALUE");
	edit_file(m, "platform.conf", "product = rome", "product = milan");
	{
		struct snp_sim *ok = NULL;
		struct ccu_reason why = { 0 };

		assert_int_equal(snp_sim_load(m, &ok, &why), 0); /* restored */
		snp_sim_free(ok);
	}

	/* Another platform's VCEK (and its key): not signed by this ASK. */
	t = get_file(g, "vcek.pem", &n);
	put_file(m, "vcek.pem", t, n);
	free(t);
	t = get_file(g, "vcek-key.pem", &n);
	put_file(m, "vcek-key.pem", t, n);
	free(t);
	assert_load_fails(m, -EBADMSG, "SIM_CHAIN");
	tu_rmrf(m);
	free(m);

	/* chain.pem in the wrong order, a certificate file with extra bytes. */
	m = saved(ms);
	{
		size_t n1, n2;
		char *ask = get_file(m, "ask.pem", &n1), *ark = get_file(m, "ark.pem", &n2);
		char *both = malloc(n1 + n2 + 8);

		assert_non_null(both);
		memcpy(both, ark, n2);
		memcpy(both + n2, ask, n1);
		put_file(m, "chain.pem", both, n1 + n2);
		assert_load_fails(m, -EBADMSG, "SIM_MISMATCH");
		memcpy(both, ask, n1);
		memcpy(both + n1, ark, n2);
		put_file(m, "chain.pem", both, n1 + n2);
		memcpy(both, ark, n2);
		memcpy(both + n2, "junk\n", 5);
		put_file(m, "ark.pem", both, n2 + 5);
		assert_load_fails(m, -EBADMSG, "SIM_FORMAT");
		put_file(m, "ark.pem", ask, n1); /* the ASK where the ARK belongs */
		assert_load_fails(m, -EBADMSG, "SIM_MISMATCH");
		free(both);
		free(ask);
		free(ark);
	}
	tu_rmrf(m);
	free(m);
	tu_rmrf(g);
	free(g);
}

static void test_load_missing(void **state)
{
	char *m = saved(sim_of(state, SNP_PRODUCT_MILAN)), path[512];

	(void)state;
	snprintf(path, sizeof(path), "%s/vcek-key.pem", m);
	assert_int_equal(unlink(path), 0);
	assert_load_fails(m, -ENOENT, "SIM_IO");
	tu_rmrf(m);
	assert_load_fails("/nonexistent/ccu-sim", -ENOENT, "SIM_IO");
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_params),
		cmocka_unit_test(test_create_refuses_bad_params),
		cmocka_unit_test(test_parse_tcb),
		cmocka_unit_test(test_parse_fw_and_chip),
		cmocka_unit_test(test_chain_names_serials),
		cmocka_unit_test(test_chain_signatures_pss48),
		cmocka_unit_test(test_chain_tampered_vcek_fails),
		cmocka_unit_test(test_ca_extensions),
		cmocka_unit_test(test_validity),
		cmocka_unit_test(test_vcek_extensions_milan_genoa),
		cmocka_unit_test(test_vcek_extensions_turin),
		cmocka_unit_test(test_vcek_extension_order_matches_real),
		cmocka_unit_test(test_reports_every_product_and_version),
		cmocka_unit_test(test_report_signature_fails_when_tampered),
		cmocka_unit_test(test_report_fields_as_given),
		cmocka_unit_test(test_turin_report_layout),
		cmocka_unit_test(test_save_load_roundtrip),
		cmocka_unit_test(test_platform_conf_text),
		cmocka_unit_test(test_load_refuses_foreign_key),
		cmocka_unit_test(test_load_refuses_tampering),
		cmocka_unit_test(test_load_missing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
