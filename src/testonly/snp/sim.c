/*
 * SEV-SNP platform simulator (test builds only): a test ARK -> ASK -> VCEK
 * chain shaped like AMD's (snp-verification.md §5.1) and a VCEK that signs
 * reports. See snp/sim.h for the contract.
 */
#include "snp/sim.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "common/codec.h"
#include "common/conf.h"
#include "common/secmem.h"
#include "common/util.h"

#define SIM_RSA_BITS 4096
#define SIM_SALT_LEN 48
#define SIM_MAX_DAYS 36525u /* 100 years */
#define SIM_DEFAULT_YEARS 7
#define SIM_MAX_FILE (64 * 1024)
#define SIM_MAX_EXTS 12
#define SIM_EXT_MAX_VALUE 80
#define SIM_AMD_OID "1.3.6.1.4.1.3704.1"
#define SIM_KDS_CRL "https://kdsintf.amd.com/vcek/v1/%s/crl"
/* PLATFORM_INFO of the real Milan and Genoa reports: SMT_EN ECC_EN ALIAS_CHECK_COMPLETE. */
#define SIM_PLATFORM_INFO 0x25ULL
#define SIM_GUEST_POLICY 0x30000ULL

struct snp_sim {
	struct snp_sim_params p;
	X509 *ark;
	X509 *ask;
	X509 *vcek;
	EVP_PKEY *vcek_key;
	EVP_PKEY *ask_key; /* kept so the platform can issue VCEKs for other TCBs */
};

/* One AMD extension of the VCEK: OID text and its DER value (extnValue content). */
struct amd_ext {
	char oid[32];
	uint8_t val[SIM_EXT_MAX_VALUE];
	size_t len;
};

struct product_info {
	const char *vcek_name; /* productName in the VCEK */
	uint8_t fam, model, step;
	long serial_base;      /* ARK serial; ASK = +1 */
};

static const struct product_info products[SNP_PRODUCT_COUNT] = {
	[SNP_PRODUCT_MILAN] = { "Milan-B0", 0x19, 0x01, 0x01, 0x10000 },
	[SNP_PRODUCT_GENOA] = { "Genoa-B1", 0x19, 0x11, 0x01, 0x20000 },
	[SNP_PRODUCT_TURIN] = { "Turin", 0x1A, 0x02, 0x01, 0x30000 },
};

static const uint8_t default_chip_id[64] = {
	0x5e, 0x1a, 0x7c, 0xcc, 0x51, 0x0d, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
	0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13,
	0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20,
	0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d,
	0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39,
};

DEFINE_FREEP(X509, X509_free)
DEFINE_FREEP(EVP_PKEY, EVP_PKEY_free)
DEFINE_FREEP(BIO, BIO_free_all)
DEFINE_FREEP(X509_NAME, X509_NAME_free)
DEFINE_FREEP(X509_EXTENSION, X509_EXTENSION_free)
DEFINE_FREEP(ASN1_OBJECT, ASN1_OBJECT_free)
DEFINE_FREEP(ASN1_OCTET_STRING, ASN1_OCTET_STRING_free)
DEFINE_FREEP(EVP_MD_CTX, EVP_MD_CTX_free)
DEFINE_FREEP(ECDSA_SIG, ECDSA_SIG_free)
DEFINE_FREEP(struct snp_sim, snp_sim_free)

static void conf_freep(struct ccu_conf *c)
{
	ccu_conf_free(c);
}

/* One line naming the OpenSSL error (the caller's @what first). */
static int crypto_fail(struct ccu_reason *err, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[200] = "no OpenSSL error";

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return ccu_fail(err, -EIO, "SIM_CRYPTO", "%s failed: %s", what, buf);
}

static enum snp_product norm_product(enum snp_product p)
{
	return p == SNP_PRODUCT_UNKNOWN ? SNP_PRODUCT_MILAN : p;
}

void snp_sim_default_params(struct snp_sim_params *p)
{
	memset(p, 0, sizeof(*p));
	p->product = SNP_PRODUCT_MILAN;
	p->tcb = (struct snp_tcb){ .bootloader = 4, .tee = 0, .snp = 24, .microcode = 219 };
	memcpy(p->chip_id, default_chip_id, sizeof(p->chip_id));
	p->fw = (struct snp_fw_version){ .major = 1, .minor = 55, .build = 29 };
}

/* ------------------------------------------------------------ parsing helpers */

int snp_sim_parse_tcb(const char *s, enum snp_product p, struct snp_tcb *out,
		      struct ccu_reason *err)
{
	static const char *const names[] = { "fmc", "bl", "tee", "snp", "ucode" };
	uint8_t v[5] = { 0 };
	bool seen[5] = { false };
	char buf[128], *save = NULL, *tok;

	if (!s || strlen(s) >= sizeof(buf))
		return ccu_fail(err, -EINVAL, "CONFIG_VALUE", "TCB '%.40s' is missing or too long",
				s ? s : "");
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		char *eq = strchr(tok, '=');
		uint64_t n;
		size_t i;

		if (!eq)
			return ccu_fail(err, -EINVAL, "CONFIG_VALUE",
					"TCB part '%.32s' is not name=value", tok);
		*eq = 0;
		for (i = 0; i < ARRAY_SIZE(names); i++)
			if (strcmp(tok, names[i]) == 0)
				break;
		if (i == ARRAY_SIZE(names))
			return ccu_fail(err, -EINVAL, "CONFIG_VALUE",
					"TCB part '%.32s' is unknown (fmc, bl, tee, snp, ucode)", tok);
		if (i == 0 && norm_product(p) != SNP_PRODUCT_TURIN)
			return ccu_fail(err, -EINVAL, "CONFIG_VALUE",
					"TCB part 'fmc' exists only on Turin, not on %s",
					snp_product_name(norm_product(p)));
		if (seen[i])
			return ccu_fail(err, -EINVAL, "CONFIG_VALUE", "TCB part '%s' is repeated",
					names[i]);
		if (ccu_parse_u64(eq + 1, 255, false, &n) < 0)
			return ccu_fail(err, -EINVAL, "CONFIG_VALUE",
					"TCB %s='%.16s' is not a number 0..255", names[i], eq + 1);
		seen[i] = true;
		v[i] = (uint8_t)n;
	}
	for (size_t i = 1; i < ARRAY_SIZE(names); i++)
		if (!seen[i])
			return ccu_fail(err, -EINVAL, "CONFIG_VALUE", "TCB lacks '%s=N'", names[i]);
	*out = (struct snp_tcb){ .fmc = v[0], .bootloader = v[1], .tee = v[2], .snp = v[3],
				 .microcode = v[4],
				 .has_fmc = norm_product(p) == SNP_PRODUCT_TURIN };
	return 0;
}

int snp_sim_parse_fw(const char *s, struct snp_fw_version *out, struct ccu_reason *err)
{
	char buf[16], *parts[3], *dot;
	uint64_t n[3];

	if (!s || strlen(s) >= sizeof(buf))
		goto bad;
	snprintf(buf, sizeof(buf), "%s", s);
	parts[0] = buf;
	for (int i = 1; i < 3; i++) {
		dot = strchr(parts[i - 1], '.');
		if (!dot)
			goto bad;
		*dot = 0;
		parts[i] = dot + 1;
	}
	for (int i = 0; i < 3; i++)
		if (ccu_parse_u64(parts[i], 255, false, &n[i]) < 0)
			goto bad;
	*out = (struct snp_fw_version){ (uint8_t)n[0], (uint8_t)n[1], (uint8_t)n[2] };
	return 0;
bad:
	return ccu_fail(err, -EINVAL, "CONFIG_VALUE",
			"firmware version '%.16s' is not MAJOR.MINOR.BUILD (0..255 each)",
			s ? s : "");
}

int snp_sim_parse_chip_id(const char *s, enum snp_product p, uint8_t out[64],
			  struct ccu_reason *err)
{
	uint8_t tmp[64] = { 0 };
	size_t l = s ? strlen(s) : 0;

	if (l == 16 && norm_product(p) == SNP_PRODUCT_TURIN) {
		if (ccu_hex_decode_exact(s, tmp, 8) < 0)
			goto bad;
	} else if (l != 128 || ccu_hex_decode_exact(s, tmp, 64) < 0) {
		goto bad;
	}
	memcpy(out, tmp, 64);
	return 0;
bad:
	return ccu_fail(err, -EINVAL, "CONFIG_VALUE",
			"chip id must be 128 hex digits%s (got %zu characters)",
			norm_product(p) == SNP_PRODUCT_TURIN ? " or 16 on Turin" : "", l);
}

/* ------------------------------------------------------------ certificates */

static X509_NAME *amd_name(const char *cn)
{
	static const char *const attrs[][2] = {
		{ "OU", "Engineering" }, { "C", "US" }, { "L", "Santa Clara" },
		{ "ST", "CA" }, { "O", "Advanced Micro Devices" },
	};
	_cleanup_(X509_NAME_freep) X509_NAME *n = X509_NAME_new();

	if (!n)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(attrs); i++)
		if (!X509_NAME_add_entry_by_txt(n, attrs[i][0], MBSTRING_ASC,
						(const unsigned char *)attrs[i][1], -1, -1, 0))
			return NULL;
	if (!X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
					0))
		return NULL;
	return TAKE_PTR(n);
}

/* RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48: AMD's only chain signature. */
static int pss_sign(X509 *x, EVP_PKEY *key, struct ccu_reason *err)
{
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;

	if (!mctx || EVP_DigestSignInit(mctx, &pctx, EVP_sha384(), NULL, key) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, SIM_SALT_LEN) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) <= 0 || X509_sign_ctx(x, mctx) <= 0)
		return crypto_fail(err, "RSA-PSS certificate signature");
	return 0;
}

static int add_conf_ext(X509 *x, X509 *issuer, int nid, const char *value,
			struct ccu_reason *err)
{
	_cleanup_(X509_EXTENSION_freep) X509_EXTENSION *e = NULL;
	X509V3_CTX ctx;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!e || !X509_add_ext(x, e, -1))
		return crypto_fail(err, OBJ_nid2sn(nid));
	return 0;
}

/* The common skeleton: v3, serial, names, validity, public key. */
static X509 *cert_skeleton(const struct snp_sim_params *p, long serial, const char *subject_cn,
			   const char *issuer_cn, EVP_PKEY *pub)
{
	_cleanup_(X509_freep) X509 *x = X509_new();
	_cleanup_(X509_NAME_freep) X509_NAME *subj = amd_name(subject_cn);
	_cleanup_(X509_NAME_freep) X509_NAME *iss = amd_name(issuer_cn);
	time_t nb = p->not_before, na;
	struct tm tm;

	if (!x || !subj || !iss)
		return NULL;
	if (p->valid_days) {
		na = nb + (time_t)p->valid_days * 86400;
	} else {
		/* AMD's KDS: seven calendar years from the moment of issue. */
		if (!gmtime_r(&nb, &tm))
			return NULL;
		tm.tm_year += SIM_DEFAULT_YEARS;
		na = timegm(&tm);
	}
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(x), serial) ||
	    !X509_set_subject_name(x, subj) || !X509_set_issuer_name(x, iss) ||
	    !ASN1_TIME_set(X509_getm_notBefore(x), nb) || !ASN1_TIME_set(X509_getm_notAfter(x), na) ||
	    !X509_set_pubkey(x, pub))
		return NULL;
	return TAKE_PTR(x);
}

static int build_ca(const struct snp_sim_params *p, bool root, EVP_PKEY *key, X509 *ark,
		    EVP_PKEY *ark_key, X509 **ret, struct ccu_reason *err)
{
	const struct product_info *pi = &products[p->product];
	const char *pn = snp_product_name(p->product);
	char ark_cn[32], ask_cn[32], crl[96];
	_cleanup_(X509_freep) X509 *x = NULL;
	int r;

	snprintf(ark_cn, sizeof(ark_cn), "ARK-%s", pn);
	snprintf(ask_cn, sizeof(ask_cn), "SEV-%s", pn);
	snprintf(crl, sizeof(crl), "URI:" SIM_KDS_CRL, pn);
	x = cert_skeleton(p, pi->serial_base + (root ? 0 : 1), root ? ark_cn : ask_cn, ark_cn, key);
	if (!x)
		return crypto_fail(err, root ? "ARK skeleton" : "ASK skeleton");
	if (root) {
		/* Same extensions, same order as AMD's ARKs. */
		r = add_conf_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign", err);
		if (r == 0)
			r = add_conf_ext(x, x, NID_subject_key_identifier, "hash", err);
		if (r == 0)
			r = add_conf_ext(x, x, NID_basic_constraints, "critical,CA:TRUE", err);
	} else {
		r = add_conf_ext(x, ark, NID_subject_key_identifier, "hash", err);
		if (r == 0)
			r = add_conf_ext(x, ark, NID_authority_key_identifier, "keyid:always", err);
		if (r == 0)
			r = add_conf_ext(x, ark, NID_basic_constraints, "critical,CA:TRUE,pathlen:0",
					 err);
		if (r == 0)
			r = add_conf_ext(x, ark, NID_key_usage, "critical,keyCertSign", err);
	}
	if (r == 0)
		r = add_conf_ext(x, root ? x : ark, NID_crl_distribution_points, crl, err);
	if (r == 0)
		r = pss_sign(x, root ? key : ark_key, err);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(x);
	return 0;
}

/* DER INTEGER, minimal: 209 is 02 02 00 d1. */
static size_t der_small_int(uint8_t v, uint8_t *out)
{
	out[0] = 0x02;
	if (v < 0x80) {
		out[1] = 1;
		out[2] = v;
		return 3;
	}
	out[1] = 2;
	out[2] = 0;
	out[3] = v;
	return 4;
}

static void ext_int(struct amd_ext *e, const char *arc, uint8_t v)
{
	snprintf(e->oid, sizeof(e->oid), SIM_AMD_OID ".%s", arc);
	e->len = der_small_int(v, e->val);
}

/*
 * The AMD extensions of a VCEK for @p, in the order KDS emits them
 * (Milan/Genoa: 1 2 3.1 3.2 3.4-3.7 3.3 3.8 4; Turin: 1 2 3.9 3.1-3.3
 * 3.5-3.7 3.8 4). Returns the count.
 */
static size_t vcek_exts(const struct snp_sim_params *p, struct amd_ext e[SIM_MAX_EXTS])
{
	bool turin = p->product == SNP_PRODUCT_TURIN;
	const char *name = products[p->product].vcek_name;
	size_t n = 0, nl = strlen(name), hl = turin ? 8 : 64;

	memset(e, 0, sizeof(*e) * SIM_MAX_EXTS);
	ext_int(&e[n++], "1", turin ? 1 : 0);
	snprintf(e[n].oid, sizeof(e[n].oid), SIM_AMD_OID ".2");
	e[n].val[0] = 0x16; /* IA5String */
	e[n].val[1] = (uint8_t)nl;
	memcpy(e[n].val + 2, name, nl);
	e[n++].len = nl + 2;
	if (turin)
		ext_int(&e[n++], "3.9", p->tcb.fmc);
	ext_int(&e[n++], "3.1", p->tcb.bootloader);
	ext_int(&e[n++], "3.2", p->tcb.tee);
	if (turin) {
		ext_int(&e[n++], "3.3", p->tcb.snp);
	} else {
		ext_int(&e[n++], "3.4", 0);
	}
	ext_int(&e[n++], "3.5", 0);
	ext_int(&e[n++], "3.6", 0);
	ext_int(&e[n++], "3.7", 0);
	if (!turin)
		ext_int(&e[n++], "3.3", p->tcb.snp);
	ext_int(&e[n++], "3.8", p->tcb.microcode);
	/* hwID: the bare chip id bytes, not wrapped in an OCTET STRING (as KDS does). */
	snprintf(e[n].oid, sizeof(e[n].oid), SIM_AMD_OID ".4");
	memcpy(e[n].val, p->chip_id, hl);
	e[n++].len = hl;
	return n;
}

static int add_raw_ext(X509 *x, const struct amd_ext *e, struct ccu_reason *err)
{
	_cleanup_(ASN1_OBJECT_freep) ASN1_OBJECT *obj = OBJ_txt2obj(e->oid, 1);
	_cleanup_(ASN1_OCTET_STRING_freep) ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	_cleanup_(X509_EXTENSION_freep) X509_EXTENSION *ext = NULL;

	if (!obj || !os || !ASN1_OCTET_STRING_set(os, e->val, (int)e->len))
		return crypto_fail(err, "AMD extension");
	ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
	if (!ext || !X509_add_ext(x, ext, -1))
		return crypto_fail(err, "AMD extension");
	return 0;
}

static int build_vcek(const struct snp_sim_params *p, EVP_PKEY *vcek_key, EVP_PKEY *ask_key,
		      X509 **ret, struct ccu_reason *err)
{
	char ask_cn[32];
	struct amd_ext e[SIM_MAX_EXTS];
	size_t n = vcek_exts(p, e);
	_cleanup_(X509_freep) X509 *x = NULL;
	int r;

	snprintf(ask_cn, sizeof(ask_cn), "SEV-%s", snp_product_name(p->product));
	x = cert_skeleton(p, 0, "SEV-VCEK", ask_cn, vcek_key);
	if (!x)
		return crypto_fail(err, "VCEK skeleton");
	for (size_t i = 0; i < n; i++) {
		r = add_raw_ext(x, &e[i], err);
		if (r < 0)
			return r;
	}
	r = pss_sign(x, ask_key, err);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(x);
	return 0;
}

static int check_params(const struct snp_sim_params *in, struct snp_sim_params *p,
			struct ccu_reason *err)
{
	*p = *in;
	p->product = norm_product(in->product);
	if (p->product >= SNP_PRODUCT_COUNT)
		return ccu_fail(err, -EINVAL, "SIM_PARAMS", "product %d is unknown",
				(int)in->product);
	if (p->valid_days > SIM_MAX_DAYS)
		return ccu_fail(err, -EINVAL, "SIM_PARAMS", "validity of %u days exceeds %u",
				p->valid_days, SIM_MAX_DAYS);
	if (p->not_before < 0)
		return ccu_fail(err, -EINVAL, "SIM_PARAMS", "not_before is before 1970");
	if (p->not_before == 0)
		p->not_before = time(NULL) - 86400;
	p->tcb.has_fmc = p->product == SNP_PRODUCT_TURIN;
	if (!p->tcb.has_fmc)
		p->tcb.fmc = 0;
	if (p->product == SNP_PRODUCT_TURIN)
		memset(p->chip_id + 8, 0, sizeof(p->chip_id) - 8);
	return 0;
}

int snp_sim_create(const struct snp_sim_params *params, struct snp_sim **ret,
		   struct ccu_reason *err)
{
	_cleanup_(snp_sim_freep) struct snp_sim *s = calloc(1, sizeof(*s));
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *ark_key = NULL;
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *ask_key = NULL;
	int r;

	if (!s)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	r = check_params(params, &s->p, err);
	if (r < 0)
		return r;
	ark_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)SIM_RSA_BITS);
	ask_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)SIM_RSA_BITS);
	s->vcek_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	if (!ark_key || !ask_key || !s->vcek_key)
		return crypto_fail(err, "key generation");
	r = build_ca(&s->p, true, ark_key, NULL, NULL, &s->ark, err);
	if (r == 0)
		r = build_ca(&s->p, false, ask_key, s->ark, ark_key, &s->ask, err);
	if (r == 0)
		r = build_vcek(&s->p, s->vcek_key, ask_key, &s->vcek, err);
	if (r < 0)
		return r;
	s->ask_key = TAKE_PTR(ask_key);
	*ret = TAKE_PTR(s);
	return 0;
}

int snp_sim_reissue(const struct snp_sim *base, const struct snp_tcb *tcb, const uint8_t chip_id[64],
		    struct snp_sim **ret, struct ccu_reason *err)
{
	_cleanup_(snp_sim_freep) struct snp_sim *s = calloc(1, sizeof(*s));
	struct snp_sim_params p = base->p;
	int r;

	if (!s)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	if (tcb)
		p.tcb = *tcb;
	if (chip_id)
		memcpy(p.chip_id, chip_id, sizeof(p.chip_id));
	r = check_params(&p, &s->p, err);
	if (r < 0)
		return r;
	if (X509_up_ref(base->ark) != 1 || X509_up_ref(base->ask) != 1 ||
	    EVP_PKEY_up_ref(base->ask_key) != 1)
		return crypto_fail(err, "reference");
	s->ark = base->ark;
	s->ask = base->ask;
	s->ask_key = base->ask_key;
	s->vcek_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	if (!s->vcek_key)
		return crypto_fail(err, "key generation");
	r = build_vcek(&s->p, s->vcek_key, s->ask_key, &s->vcek, err);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(s);
	return 0;
}

void snp_sim_free(struct snp_sim *s)
{
	if (!s)
		return;
	X509_free(s->ark);
	X509_free(s->ask);
	X509_free(s->vcek);
	EVP_PKEY_free(s->vcek_key);
	EVP_PKEY_free(s->ask_key);
	secmem_wipe(s, sizeof(*s));
	free(s);
}

X509 *snp_sim_ark(const struct snp_sim *s)
{
	return s->ark;
}

X509 *snp_sim_ask(const struct snp_sim *s)
{
	return s->ask;
}

X509 *snp_sim_vcek(const struct snp_sim *s)
{
	return s->vcek;
}

const struct snp_sim_params *snp_sim_params(const struct snp_sim *s)
{
	return &s->p;
}

/* ------------------------------------------------------------ save / load */

static int pem_cert(X509 *x, char **ret)
{
	_cleanup_(BIO_free_allp) BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long n;

	if (!b || !PEM_write_bio_X509(b, x))
		return -ENOMEM;
	n = BIO_get_mem_data(b, &data);
	if (n <= 0)
		return -ENOMEM;
	*ret = strndup(data, (size_t)n);
	return *ret ? 0 : -ENOMEM;
}

static int write_in(const char *dir, const char *name, const void *data, size_t len,
		    unsigned mode, struct ccu_reason *err)
{
	char path[4096];
	int r;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return ccu_fail(err, -ENAMETOOLONG, "SIM_IO", "path %s/%s is too long", dir, name);
	r = ccu_write_file_atomic(path, data, len, mode);
	if (r < 0)
		return ccu_fail(err, r, "SIM_IO", "cannot write %s: %s", path, strerror(-r));
	return 0;
}

static int save_key(EVP_PKEY *key, const char *dir, const char *name, struct ccu_reason *err)
{
	/* The secure-memory BIO keeps the PEM in OpenSSL's secure heap (when
	 * the program set one up) and wipes it on free. */
	_cleanup_(BIO_free_allp) BIO *b = BIO_new(BIO_s_secmem());
	char *data;
	long n;

	if (!b || !PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL))
		return crypto_fail(err, "key encoding");
	n = BIO_get_mem_data(b, &data);
	if (n <= 0)
		return crypto_fail(err, "key encoding");
	return write_in(dir, name, data, (size_t)n, 0600, err);
}

static int format_conf(const struct snp_sim_params *p, char *buf, size_t len)
{
	char chip[129], tcb[80];
	const char *prod = snp_product_id(p->product);
	size_t cl = p->product == SNP_PRODUCT_TURIN ? 8 : 64;
	int n;

	if (!prod)
		return -EINVAL;
	if (ccu_hex_encode(p->chip_id, cl, chip, sizeof(chip)) < 0)
		return -ENOSPC;
	n = snprintf(buf, len,
		     "# ccunlock-sim: a simulated SEV-SNP platform (test material only)\n"
		     "product = %s\nchip_id = %s\ntcb = %s\nfw = %u.%u.%u\n",
		     prod, chip, snp_tcb_format(&p->tcb, tcb, sizeof(tcb)), p->fw.major,
		     p->fw.minor, p->fw.build);
	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

int snp_sim_save(const struct snp_sim *s, const char *dir, struct ccu_reason *err)
{
	_cleanup_free_ char *ark = NULL;
	_cleanup_free_ char *ask = NULL;
	_cleanup_free_ char *vcek = NULL;
	_cleanup_free_ char *chain = NULL;
	char conf[512];
	struct stat st;
	int r, n;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return ccu_fail(err, -errno, "SIM_IO", "cannot create %s: %s", dir, strerror(errno));
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return ccu_fail(err, -ENOTDIR, "SIM_IO", "%s is not a directory", dir);
	if (pem_cert(s->ark, &ark) < 0 || pem_cert(s->ask, &ask) < 0 ||
	    pem_cert(s->vcek, &vcek) < 0 || asprintf(&chain, "%s%s", ask, ark) < 0) {
		chain = NULL;
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	}
	n = format_conf(&s->p, conf, sizeof(conf));
	if (n < 0)
		return ccu_fail(err, n, "INTERNAL", "platform.conf does not fit");
	r = write_in(dir, "ark.pem", ark, strlen(ark), 0644, err);
	if (r == 0)
		r = write_in(dir, "ask.pem", ask, strlen(ask), 0644, err);
	if (r == 0)
		r = write_in(dir, "vcek.pem", vcek, strlen(vcek), 0644, err);
	if (r == 0)
		r = write_in(dir, "chain.pem", chain, strlen(chain), 0644, err);
	if (r == 0)
		r = save_key(s->vcek_key, dir, "vcek-key.pem", err);
	if (r == 0)
		r = save_key(s->ask_key, dir, "ask-key.pem", err);
	if (r == 0)
		r = write_in(dir, "platform.conf", conf, (size_t)n, 0644, err);
	return r;
}

static int read_in(const char *dir, const char *name, uint8_t **ret, size_t *len,
		   struct ccu_reason *err)
{
	char path[4096];
	int r;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return ccu_fail(err, -ENAMETOOLONG, "SIM_IO", "path %s/%s is too long", dir, name);
	r = ccu_read_file(path, SIM_MAX_FILE, ret, len);
	if (r < 0)
		return ccu_fail(err, r, "SIM_IO", "cannot read %s: %s", path, strerror(-r));
	return 0;
}

/* Exactly one PEM certificate and nothing else: the file must be what
 * snp_sim_save wrote (re-encoding gives the same bytes). */
static int load_cert(const char *dir, const char *name, X509 **ret, char **ret_text,
		     struct ccu_reason *err)
{
	_cleanup_free_ uint8_t *d = NULL;
	_cleanup_free_ char *again = NULL;
	_cleanup_(BIO_free_allp) BIO *b = NULL;
	_cleanup_(X509_freep) X509 *x = NULL;
	size_t len;
	int r;

	r = read_in(dir, name, &d, &len, err);
	if (r < 0)
		return r;
	b = BIO_new_mem_buf(d, (int)len);
	if (!b)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	ERR_clear_error();
	if (!x || pem_cert(x, &again) < 0 || strlen(again) != len || memcmp(again, d, len) != 0)
		return ccu_fail(err, -EBADMSG, "SIM_FORMAT",
				"%s/%s is not exactly one PEM certificate", dir, name);
	*ret = TAKE_PTR(x);
	*ret_text = (char *)TAKE_PTR(d);
	return 0;
}

static int load_key(const char *dir, const char *name, EVP_PKEY **ret, struct ccu_reason *err)
{
	uint8_t *d = NULL;
	BIO *b;
	size_t len;
	int r;

	r = read_in(dir, name, &d, &len, err);
	if (r < 0)
		return r;
	b = BIO_new_mem_buf(d, (int)len);
	*ret = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	ERR_clear_error();
	BIO_free(b);
	secmem_wipe(d, len);
	free(d);
	if (!*ret)
		return ccu_fail(err, -EBADMSG, "SIM_FORMAT", "%s/%s is not a PEM private key", dir,
				name);
	return 0;
}

static int parse_conf(const char *dir, struct snp_sim_params *p, struct ccu_reason *err)
{
	static const struct ccu_conf_key keys[] = {
		{ "product", false }, { "chip_id", false }, { "tcb", false }, { "fw", false },
	};
	_cleanup_free_ uint8_t *d = NULL;
	_cleanup_(conf_freep) struct ccu_conf c = { 0 };
	const char *v[ARRAY_SIZE(keys)];
	unsigned line[ARRAY_SIZE(keys)] = { 0 };
	size_t len;
	int r;

	r = read_in(dir, "platform.conf", &d, &len, err);
	if (r == 0)
		r = ccu_conf_parse((const char *)d, len, &c, err);
	if (r == 0)
		r = ccu_conf_check_keys(&c, keys, ARRAY_SIZE(keys), err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		v[i] = ccu_conf_get(&c, keys[i].name, &line[i]);
		if (!v[i])
			return ccu_fail(err, -EINVAL, "CONFIG_MISSING", "platform.conf lacks '%s'",
					keys[i].name);
	}
	memset(p, 0, sizeof(*p));
	p->product = snp_product_from_name(v[0]);
	if (p->product == SNP_PRODUCT_UNKNOWN)
		return ccu_fail(err, -EINVAL, "CONFIG_VALUE",
				"line %u: product '%.16s' is not milan, genoa or turin", line[0], v[0]);
	r = snp_sim_parse_chip_id(v[1], p->product, p->chip_id, err);
	if (r == 0)
		r = snp_sim_parse_tcb(v[2], p->product, &p->tcb, err);
	if (r == 0)
		r = snp_sim_parse_fw(v[3], &p->fw, err);
	return r;
}

static time_t asn1_to_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (!ASN1_TIME_to_tm(t, &tm))
		return 0;
	return timegm(&tm);
}

static bool cn_is(X509_NAME *n, const char *want)
{
	char cn[64];

	return X509_NAME_get_text_by_NID(n, NID_commonName, cn, sizeof(cn)) > 0 &&
	       strcmp(cn, want) == 0;
}

/* Does the directory hold one consistent platform: ARK -> ASK -> VCEK signed
 * in turn, names of the configured product, VCEK extensions = platform.conf? */
static int check_loaded(const struct snp_sim *s, struct ccu_reason *err)
{
	const char *pn = snp_product_name(s->p.product);
	struct amd_ext e[SIM_MAX_EXTS];
	size_t n = vcek_exts(&s->p, e);
	char ark_cn[32], ask_cn[32];

	snprintf(ark_cn, sizeof(ark_cn), "ARK-%s", pn);
	snprintf(ask_cn, sizeof(ask_cn), "SEV-%s", pn);
	if (!cn_is(X509_get_subject_name(s->ark), ark_cn) ||
	    !cn_is(X509_get_subject_name(s->ask), ask_cn) ||
	    !cn_is(X509_get_subject_name(s->vcek), "SEV-VCEK"))
		return ccu_fail(err, -EBADMSG, "SIM_MISMATCH",
				"certificate names are not those of a %s platform (%s, %s, SEV-VCEK)",
				pn, ark_cn, ask_cn);
	if (X509_verify(s->ark, X509_get0_pubkey(s->ark)) != 1 ||
	    X509_verify(s->ask, X509_get0_pubkey(s->ark)) != 1 ||
	    X509_verify(s->vcek, X509_get0_pubkey(s->ask)) != 1) {
		ERR_clear_error();
		return ccu_fail(err, -EBADMSG, "SIM_CHAIN",
				"ark.pem -> ask.pem -> vcek.pem signatures do not chain");
	}
	if (X509_get_ext_count(s->vcek) != (int)n)
		return ccu_fail(err, -EBADMSG, "SIM_MISMATCH",
				"vcek.pem has %d extensions, platform.conf implies %zu",
				X509_get_ext_count(s->vcek), n);
	for (size_t i = 0; i < n; i++) {
		X509_EXTENSION *x = X509_get_ext(s->vcek, (int)i);
		const ASN1_OCTET_STRING *d = X509_EXTENSION_get_data(x);
		char oid[32];

		OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(x), 1);
		if (strcmp(oid, e[i].oid) != 0 || ASN1_STRING_length(d) != (int)e[i].len ||
		    memcmp(ASN1_STRING_get0_data(d), e[i].val, e[i].len) != 0)
			return ccu_fail(err, -EBADMSG, "SIM_MISMATCH",
					"vcek.pem extension %s does not match platform.conf",
					e[i].oid);
	}
	if (EVP_PKEY_eq(X509_get0_pubkey(s->vcek), s->vcek_key) != 1) {
		ERR_clear_error();
		return ccu_fail(err, -EBADMSG, "SIM_KEY_MISMATCH",
				"vcek-key.pem is not the private key of vcek.pem");
	}
	if (EVP_PKEY_eq(X509_get0_pubkey(s->ask), s->ask_key) != 1) {
		ERR_clear_error();
		return ccu_fail(err, -EBADMSG, "SIM_KEY_MISMATCH",
				"ask-key.pem is not the private key of ask.pem");
	}
	return 0;
}

int snp_sim_load(const char *dir, struct snp_sim **ret, struct ccu_reason *err)
{
	_cleanup_(snp_sim_freep) struct snp_sim *s = calloc(1, sizeof(*s));
	_cleanup_free_ char *ark = NULL;
	_cleanup_free_ char *ask = NULL;
	_cleanup_free_ char *vcek = NULL;
	_cleanup_free_ uint8_t *chain = NULL;
	size_t clen;
	time_t na;
	int r;

	if (!s)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	r = parse_conf(dir, &s->p, err);
	if (r == 0)
		r = load_cert(dir, "ark.pem", &s->ark, &ark, err);
	if (r == 0)
		r = load_cert(dir, "ask.pem", &s->ask, &ask, err);
	if (r == 0)
		r = load_cert(dir, "vcek.pem", &s->vcek, &vcek, err);
	if (r == 0)
		r = read_in(dir, "chain.pem", &chain, &clen, err);
	if (r < 0)
		return r;
	if (!ask || !ark || clen != strlen(ask) + strlen(ark) || memcmp(chain, ask, strlen(ask)) != 0 ||
	    memcmp(chain + strlen(ask), ark, strlen(ark)) != 0)
		return ccu_fail(err, -EBADMSG, "SIM_MISMATCH",
				"%s/chain.pem is not ask.pem followed by ark.pem", dir);
	r = load_key(dir, "vcek-key.pem", &s->vcek_key, err);
	if (r == 0)
		r = load_key(dir, "ask-key.pem", &s->ask_key, err);
	if (r == 0)
		r = check_loaded(s, err);
	if (r < 0)
		return r;
	s->p.not_before = asn1_to_time(X509_get0_notBefore(s->vcek));
	na = asn1_to_time(X509_get0_notAfter(s->vcek));
	if (na > s->p.not_before)
		s->p.valid_days = (unsigned)((na - s->p.not_before) / 86400);
	*ret = TAKE_PTR(s);
	return 0;
}

/* ------------------------------------------------------------ reports */

void snp_sim_report_template(const struct snp_sim *s, unsigned version,
			     const uint8_t report_data[64], struct snp_report *r)
{
	const struct snp_sim_params *p = &s->p;
	const struct product_info *pi = &products[p->product];
	static const char tag[] = "ccunlock-sim report id";
	uint8_t id[32] = { 0 };
	unsigned idlen = sizeof(id);
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	memset(r, 0, sizeof(*r));
	r->version = version == 2 || version == 3 ? version : 5;
	r->policy = SIM_GUEST_POLICY;
	r->sig_algo = SNP_SIG_ALGO_ECDSA_P384_SHA384;
	r->platform_info = SIM_PLATFORM_INFO;
	r->key_info = SNP_SIGNING_KEY_VCEK << 2;
	snp_tcb_encode(&p->tcb, p->product, r->current_tcb);
	memcpy(r->reported_tcb, r->current_tcb, 8);
	memcpy(r->committed_tcb, r->current_tcb, 8);
	memcpy(r->launch_tcb, r->current_tcb, 8);
	if (report_data)
		memcpy(r->report_data, report_data, 64);
	/* A stable per-platform REPORT_ID (one simulated guest); no migration agent. */
	if (md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(md, tag, sizeof(tag) - 1) == 1 &&
	    EVP_DigestUpdate(md, p->chip_id, sizeof(p->chip_id)) == 1 &&
	    EVP_DigestFinal_ex(md, id, &idlen) == 1)
		memcpy(r->report_id, id, sizeof(r->report_id));
	EVP_MD_CTX_free(md);
	memset(r->report_id_ma, 0xff, sizeof(r->report_id_ma));
	r->has_cpuid = r->version >= 3;
	if (r->has_cpuid) {
		r->cpuid_fam_id = pi->fam;
		r->cpuid_mod_id = pi->model;
		r->cpuid_step = pi->step;
	}
	memcpy(r->chip_id, p->chip_id, sizeof(r->chip_id));
	r->current = p->fw;
	r->committed = p->fw;
	r->has_mit_vectors = r->version >= 5;
}

/* DER ECDSA signature -> the report's 72-byte little-endian R and S. */
static int sig_to_le(const uint8_t *der, size_t len, uint8_t r_le[72], uint8_t s_le[72])
{
	const unsigned char *q = der;
	_cleanup_(ECDSA_SIG_freep) ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &q, (long)len);
	const BIGNUM *br, *bs;
	uint8_t be[2][48];

	if (!sig || q != der + len)
		return -EBADMSG;
	ECDSA_SIG_get0(sig, &br, &bs);
	if (BN_bn2binpad(br, be[0], 48) != 48 || BN_bn2binpad(bs, be[1], 48) != 48)
		return -EBADMSG;
	memset(r_le, 0, 72);
	memset(s_le, 0, 72);
	for (size_t i = 0; i < 48; i++) {
		r_le[i] = be[0][47 - i];
		s_le[i] = be[1][47 - i];
	}
	return 0;
}

int snp_sim_sign(const struct snp_sim *s, struct snp_report *r, struct ccu_reason *err)
{
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t buf[SNP_REPORT_SIZE], der[160];
	size_t dlen = sizeof(der);

	memset(r->sig_r, 0, sizeof(r->sig_r));
	memset(r->sig_s, 0, sizeof(r->sig_s));
	snp_report_encode(r, buf);
	if (!md || EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, s->vcek_key) != 1 ||
	    EVP_DigestSign(md, der, &dlen, buf, SNP_REPORT_SIGNED_LEN) != 1)
		return crypto_fail(err, "report signature");
	if (sig_to_le(der, dlen, r->sig_r, r->sig_s) < 0)
		return ccu_fail(err, -EIO, "SIM_CRYPTO", "ECDSA signature is not a P-384 (r, s)");
	snp_report_encode(r, r->raw);
	return 0;
}
