/*
 * SEV-SNP report + AMD chain verification (snp-verification.md §5, §6).
 *
 * Every check lands in a slot indexed by its place in verify.h's priority
 * order; the checks run in whatever order their inputs allow, and the
 * verdict walks the slots in order, so the reason is always the first
 * failure by priority, never by evaluation order.
 */
#include "snp/verify.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "common/codec.h"
#include "common/evp.h"
#include "common/macros.h"

#define SNP_TRUST_MAX_ROOTS 8
#define SNP_CHAIN_CACHE_MAX 65536
#define AMD_PSS_SALT 48
#define AMD_CA_RSA_BITS 4096
#define TURIN_HWID_LEN 8
#define FULL_HWID_LEN 64

/* ------------------------------------------------------------ trust anchors */

static const struct {
	enum snp_product product;
	const char *sha256;
} pinned_arks[] = {
	{ SNP_PRODUCT_MILAN, SNP_ARK_SHA256_MILAN },
	{ SNP_PRODUCT_GENOA, SNP_ARK_SHA256_GENOA },
	{ SNP_PRODUCT_TURIN, SNP_ARK_SHA256_TURIN },
};

struct trust_root {
	X509 *x;
	uint8_t sha256[32];
	enum snp_product product;
};

struct snp_trust {
	struct trust_root roots[SNP_TRUST_MAX_ROOTS];
	size_t n;
};

struct snp_trust *snp_trust_new(void)
{
	return calloc(1, sizeof(struct snp_trust));
}

void snp_trust_free(struct snp_trust *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		X509_free(t->roots[i].x);
	free(t);
}

/* ------------------------------------------------------------------ helpers */

static bool is_p384(EVP_PKEY *pk)
{
	char group[32];
	size_t gl = 0;

	if (!pk || EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC)
		return false;
	if (EVP_PKEY_get_group_name(pk, group, sizeof(group), &gl) != 1) {
		ERR_clear_error();
		return false;
	}
	return strcmp(group, SN_secp384r1) == 0;
}

static bool is_rsa(EVP_PKEY *pk)
{
	return pk && (EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA ||
		      EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA_PSS);
}

static bool names_equal(const X509_NAME *a, const X509_NAME *b)
{
	return a && b && X509_NAME_cmp(a, b) == 0;
}

static const char *cn_of(const X509_NAME *n, char *buf, size_t len)
{
	int i = n ? X509_NAME_get_index_by_NID(n, NID_commonName, -1) : -1;
	const ASN1_STRING *s;
	size_t l;

	snprintf(buf, len, "?");
	if (i < 0)
		return buf;
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
	l = (size_t)ASN1_STRING_length(s);
	if (l >= len)
		l = len - 1;
	memcpy(buf, ASN1_STRING_get0_data(s), l);
	buf[l] = 0;
	for (size_t k = 0; k < l; k++)
		if ((unsigned char)buf[k] < 0x20 || (unsigned char)buf[k] > 0x7e)
			buf[k] = '?';
	return buf;
}

/* X509_verify() with @issuer's key: 1 good, 0 bad. */
static bool cert_signed_by(X509 *x, X509 *issuer)
{
	EVP_PKEY *pk = X509_get0_pubkey(issuer);
	int r = pk ? X509_verify(x, pk) : 0;

	ERR_clear_error();
	return r == 1;
}

static bool alg_params_absent_or_null(const X509_ALGOR *a)
{
	return !a->parameter || a->parameter->type == V_ASN1_NULL;
}

/*
 * The certificate's signature is RSASSA-PSS with SHA-384, MGF1-SHA-384,
 * salt 48 and trailer 1 (explicit or DER default). Explains in @why.
 */
static bool pss_params_ok(X509 *x, char *why, size_t len)
{
	const X509_ALGOR *alg = NULL, *mgf;
	RSA_PSS_PARAMS *pss = NULL;
	X509_ALGOR *mgf_hash = NULL;
	const unsigned char *p;
	const ASN1_STRING *seq;
	bool ok = false;

	X509_get0_signature(NULL, &alg, x);
	if (!alg || OBJ_obj2nid(alg->algorithm) != NID_rsassaPss) {
		snprintf(why, len, "signature algorithm is %s, not RSASSA-PSS",
			 alg ? OBJ_nid2sn(OBJ_obj2nid(alg->algorithm)) : "missing");
		return false;
	}
	if (!alg->parameter || alg->parameter->type != V_ASN1_SEQUENCE) {
		snprintf(why, len, "RSASSA-PSS without parameters (SHA-1 defaults)");
		return false;
	}
	seq = alg->parameter->value.sequence;
	p = ASN1_STRING_get0_data(seq);
	pss = d2i_RSA_PSS_PARAMS(NULL, &p, ASN1_STRING_length(seq));
	if (!pss || p != ASN1_STRING_get0_data(seq) + ASN1_STRING_length(seq)) {
		snprintf(why, len, "RSASSA-PSS parameters do not parse");
		goto out;
	}
	if (!pss->hashAlgorithm || OBJ_obj2nid(pss->hashAlgorithm->algorithm) != NID_sha384 ||
	    !alg_params_absent_or_null(pss->hashAlgorithm)) {
		snprintf(why, len, "PSS hash is %s, expected SHA-384",
			 pss->hashAlgorithm ? OBJ_nid2sn(OBJ_obj2nid(pss->hashAlgorithm->algorithm))
					    : "SHA-1 (default)");
		goto out;
	}
	mgf = pss->maskGenAlgorithm;
	if (!mgf || OBJ_obj2nid(mgf->algorithm) != NID_mgf1 || !mgf->parameter ||
	    mgf->parameter->type != V_ASN1_SEQUENCE) {
		snprintf(why, len, "PSS mask generation is not MGF1 with parameters");
		goto out;
	}
	seq = mgf->parameter->value.sequence;
	p = ASN1_STRING_get0_data(seq);
	mgf_hash = d2i_X509_ALGOR(NULL, &p, ASN1_STRING_length(seq));
	if (!mgf_hash || p != ASN1_STRING_get0_data(seq) + ASN1_STRING_length(seq) ||
	    OBJ_obj2nid(mgf_hash->algorithm) != NID_sha384 || !alg_params_absent_or_null(mgf_hash)) {
		snprintf(why, len, "MGF1 hash is %s, expected SHA-384",
			 mgf_hash ? OBJ_nid2sn(OBJ_obj2nid(mgf_hash->algorithm)) : "unparseable");
		goto out;
	}
	if (!pss->saltLength || ASN1_INTEGER_get(pss->saltLength) != AMD_PSS_SALT) {
		snprintf(why, len, "PSS salt length is %ld, expected %d",
			 pss->saltLength ? ASN1_INTEGER_get(pss->saltLength) : 20L, AMD_PSS_SALT);
		goto out;
	}
	if (pss->trailerField && ASN1_INTEGER_get(pss->trailerField) != 1) {
		snprintf(why, len, "PSS trailer field is %ld, expected 1",
			 ASN1_INTEGER_get(pss->trailerField));
		goto out;
	}
	ok = true;
out:
	RSA_PSS_PARAMS_free(pss);
	X509_ALGOR_free(mgf_hash);
	ERR_clear_error();
	return ok;
}

static const char *fmt_time(const ASN1_TIME *t, char *buf, size_t len)
{
	struct tm tm;

	if (!t || ASN1_TIME_to_tm(t, &tm) != 1 || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "?");
	ERR_clear_error();
	return buf;
}

static const char *fmt_time_t(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "?");
	return buf;
}

/* -------------------------------------------------------- chain cache (LRU) */

struct cache_ent {
	uint8_t key[32];
	uint64_t used;
};

struct snp_chain_cache {
	pthread_mutex_t lock;
	size_t cap, n;
	uint64_t tick;
	struct cache_ent *e;
};

struct snp_chain_cache *snp_chain_cache_new(size_t capacity)
{
	struct snp_chain_cache *c;

	if (capacity == 0 || capacity > SNP_CHAIN_CACHE_MAX) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->e = calloc(capacity, sizeof(*c->e));
	if (!c->e || pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c->e);
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	c->cap = capacity;
	return c;
}

void snp_chain_cache_free(struct snp_chain_cache *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c->e);
	free(c);
}

static bool cache_lookup(struct snp_chain_cache *c, const uint8_t key[32])
{
	bool hit = false;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n; i++)
		if (memcmp(c->e[i].key, key, 32) == 0) {
			c->e[i].used = ++c->tick;
			hit = true;
			break;
		}
	pthread_mutex_unlock(&c->lock);
	return hit;
}

static void cache_insert(struct snp_chain_cache *c, const uint8_t key[32])
{
	size_t slot = 0;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n; i++)
		if (memcmp(c->e[i].key, key, 32) == 0) {
			c->e[i].used = ++c->tick;
			goto out;
		}
	if (c->n < c->cap) {
		slot = c->n++;
	} else {
		for (size_t i = 1; i < c->n; i++) /* evict the least recently used */
			if (c->e[i].used < c->e[slot].used)
				slot = i;
	}
	memcpy(c->e[slot].key, key, 32);
	c->e[slot].used = ++c->tick;
out:
	pthread_mutex_unlock(&c->lock);
}

/* SHA-256 over the DER of leaf, intermediate and root (self-delimiting). */
static int chain_key(X509 *leaf, X509 *inter, X509 *ark, uint8_t key[32])
{
	X509 *certs[3] = { leaf, inter, ark };
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int kl = 0;
	int r = -ENOMEM;

	if (!md || EVP_DigestInit_ex(md, ccu_md_sha256(), NULL) != 1)
		goto out;
	for (size_t i = 0; i < ARRAY_SIZE(certs); i++) {
		unsigned char *der = NULL;
		int dl = i2d_X509(certs[i], &der);
		int ok = dl > 0 && EVP_DigestUpdate(md, der, (size_t)dl) == 1;

		OPENSSL_free(der);
		if (!ok)
			goto out;
	}
	if (EVP_DigestFinal_ex(md, key, &kl) == 1 && kl == 32)
		r = 0;
out:
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return r;
}

/* ------------------------------------------------------------ check slots */

enum chk {
	K_FORMAT,
	K_INCOMPLETE,
	K_LEAF_UNKNOWN,
	K_SIGNER,
	K_TCB,
	K_PRODUCT,
	K_ARK_UNTRUSTED,
	K_ARK_SIG,
	K_ASK_SIG,
	K_LEAF_SIG,
	K_PSS,
	K_CA,
	K_VALIDITY,
	K_SIGNATURE,
	K_CHIP_ID,
	K__MAX,
};

static const char *const chk_code[K__MAX] = {
	[K_FORMAT] = "FORMAT",
	[K_INCOMPLETE] = "CHAIN_INCOMPLETE",
	[K_LEAF_UNKNOWN] = "CHAIN_LEAF_UNKNOWN",
	[K_SIGNER] = "BINDING_SIGNER",
	[K_TCB] = "BINDING_TCB",
	[K_PRODUCT] = "CHAIN_PRODUCT",
	[K_ARK_UNTRUSTED] = "CHAIN_ARK_UNTRUSTED",
	[K_ARK_SIG] = "CHAIN_ARK_SIGNATURE",
	[K_ASK_SIG] = "CHAIN_ASK_SIGNATURE",
	[K_LEAF_SIG] = "CHAIN_LEAF_SIGNATURE",
	[K_PSS] = "CHAIN_PSS_PARAMS",
	[K_CA] = "CHAIN_CA",
	[K_VALIDITY] = "CHAIN_VALIDITY",
	[K_SIGNATURE] = "SIGNATURE",
	[K_CHIP_ID] = "BINDING_CHIP_ID",
};

/* The report parser's codes, as static strings for struct snp_check. */
static const char *const format_codes[] = {
	"FORMAT_SIZE",	   "FORMAT_VERSION",  "FORMAT_SIG_ALGO",  "FORMAT_RESERVED",
	"FORMAT_POLICY",   "FORMAT_KEY_INFO", "FORMAT_SIGNATURE",
};

struct slot {
	int state; /* 0 not evaluated, 1 passed, -1 failed */
	const char *code;
	char detail[sizeof(((struct snp_check *)0)->detail)];
};

/* Report fields read straight from the raw bytes, even when they do not
 * parse, so the other checks can still be evaluated and recorded. */
struct rfields {
	uint32_t version;
	uint32_t key_info;
	uint8_t reported_tcb[8];
	uint8_t current_tcb[8];
	uint8_t chip_id[64];
	enum snp_product cpuid_product;
};

struct vctx {
	const struct snp_trust *t;
	const struct snp_verify_opts *opts;
	time_t at;
	int internal; /* -errno of an internal failure, or 0 */
	struct slot s[K__MAX];

	const uint8_t *raw; /* NULL: chain only */
	struct rfields rf;

	X509 *leaf, *inter, *ark;
	enum snp_cert_role leaf_role;
	enum snp_product leaf_prod, inter_prod, ark_prod;
	struct snp_cert_ext ext;
	bool ext_ok;
	enum snp_product product;
	bool cache_hit;
};

static void _printf_(4, 5) record(struct vctx *c, enum chk k, bool ok, const char *fmt, ...)
{
	struct slot *s = &c->s[k];
	va_list ap;

	s->state = ok ? 1 : -1;
	va_start(ap, fmt);
	vsnprintf(s->detail, sizeof(s->detail), fmt, ap);
	va_end(ap);
}

#define pass(c, k, ...) record((c), (k), true, __VA_ARGS__)
#define fail(c, k, ...) record((c), (k), false, __VA_ARGS__)

/* ------------------------------------------------------------ report side */

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void check_format(struct vctx *c)
{
	struct snp_report tmp;
	struct ccu_reason why = { 0 };
	const uint8_t *b = c->raw;

	c->rf.version = le32(b + SNP_OFF_VERSION);
	c->rf.key_info = le32(b + SNP_OFF_KEY_INFO);
	memcpy(c->rf.reported_tcb, b + SNP_OFF_REPORTED_TCB, 8);
	memcpy(c->rf.current_tcb, b + SNP_OFF_CURRENT_TCB, 8);
	memcpy(c->rf.chip_id, b + SNP_OFF_CHIP_ID, 64);
	if (c->rf.version >= 3)
		c->rf.cpuid_product = snp_product_from_cpuid(b[SNP_OFF_CPUID_FAM_ID],
							     b[SNP_OFF_CPUID_MOD_ID]);

	/* Re-parse the raw bytes: they, not the caller's decoded fields, are
	 * what the signature covers. */
	if (snp_report_parse(b, SNP_REPORT_SIZE, &tmp, &why) == 0) {
		pass(c, K_FORMAT, "report v%u, %d bytes, reserved bytes zero", tmp.version,
		     SNP_REPORT_SIZE);
		return;
	}
	c->s[K_FORMAT].code = "FORMAT";
	for (size_t i = 0; i < ARRAY_SIZE(format_codes); i++)
		if (strcmp(why.code, format_codes[i]) == 0)
			c->s[K_FORMAT].code = format_codes[i];
	fail(c, K_FORMAT, "%s", why.detail);
}

static void check_signer(struct vctx *c)
{
	unsigned sk = SNP_KEY_INFO_SIGNING_KEY(c->rf.key_info);
	enum snp_cert_role want = sk == SNP_SIGNING_KEY_VCEK ? SNP_CERT_VCEK :
				  sk == SNP_SIGNING_KEY_VLEK ? SNP_CERT_VLEK :
							       SNP_CERT_UNKNOWN;

	if (want == c->leaf_role)
		pass(c, K_SIGNER, "report SIGNING_KEY %s matches the leaf", snp_signing_key_name(sk));
	else
		fail(c, K_SIGNER, "report SIGNING_KEY is %u (%s), the leaf certificate is a %s", sk,
		     snp_signing_key_name(sk), snp_cert_role_name(c->leaf_role));
}

/* The leaf's TCB extensions as a TCB of @p's layout; problems into @why. */
static void leaf_tcb(const struct snp_cert_ext *e, enum snp_product p, struct snp_tcb *t,
		     char *why, size_t len)
{
	size_t n = 0;

#define WHY(...)                                                                                   \
	do {                                                                                       \
		if (n < len)                                                                       \
			n += (size_t)snprintf(why + n, len - n, __VA_ARGS__);                      \
	} while (0)

	memset(t, 0, sizeof(*t));
	why[0] = 0;
	if (!e->has_bl || !e->has_tee || !e->has_snp || !e->has_ucode)
		WHY("leaf lacks %s%s%s%s; ", e->has_bl ? "" : "blSPL ", e->has_tee ? "" : "teeSPL ",
		    e->has_snp ? "" : "snpSPL ", e->has_ucode ? "" : "ucodeSPL ");
	if (p == SNP_PRODUCT_TURIN && !e->has_fmc)
		WHY("Turin leaf lacks fmcSPL; ");
	if (p != SNP_PRODUCT_TURIN && e->has_fmc)
		WHY("fmcSPL on a %s leaf; ", snp_product_name(p));
	for (int i = 4; i < 8; i++)
		if (e->has_spl[i] && e->spl[i])
			WHY("spl_%d=%u (must be 0); ", i, e->spl[i]);
#undef WHY
	t->has_fmc = p == SNP_PRODUCT_TURIN;
	t->fmc = e->fmc;
	t->bootloader = e->bl;
	t->tee = e->tee;
	t->snp = e->snp;
	t->microcode = e->ucode;
}

static bool tcb_equal(const struct snp_tcb *a, const struct snp_tcb *b)
{
	return a->bootloader == b->bootloader && a->tee == b->tee && a->snp == b->snp &&
	       a->microcode == b->microcode && (!a->has_fmc || !b->has_fmc || a->fmc == b->fmc);
}

static void check_tcb(struct vctx *c)
{
	struct snp_tcb want, got, cur;
	char why[160], a[64], b[64];
	bool rep_ok, cur_ok;

	leaf_tcb(&c->ext, c->product, &got, why, sizeof(why));
	rep_ok = snp_tcb_decode(c->rf.reported_tcb, c->product, &want);
	cur_ok = snp_tcb_decode(c->rf.current_tcb, c->product, &cur);
	if (why[0])
		fail(c, K_TCB, "%s(%s layout)", why, snp_product_name(c->product));
	else if (!rep_ok)
		fail(c, K_TCB, "REPORTED_TCB %s has non-zero reserved bytes in the %s layout",
		     snp_tcb_format(&want, a, sizeof(a)), snp_product_name(c->product));
	else if (!tcb_equal(&got, &want))
		fail(c, K_TCB, "leaf TCB %s != REPORTED_TCB %s (%s layout)",
		     snp_tcb_format(&got, a, sizeof(a)), snp_tcb_format(&want, b, sizeof(b)),
		     snp_product_name(c->product));
	else if (!cur_ok || !snp_tcb_ge(&cur, &got))
		fail(c, K_TCB, "leaf TCB %s is above CURRENT_TCB %s", snp_tcb_format(&got, a, sizeof(a)),
		     snp_tcb_format(&cur, b, sizeof(b)));
	else
		pass(c, K_TCB, "leaf TCB == REPORTED_TCB %s, <= CURRENT_TCB",
		     snp_tcb_format(&want, a, sizeof(a)));
}

static bool all_zero(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void check_chip_id(struct vctx *c)
{
	size_t want = c->product == SNP_PRODUCT_TURIN ? TURIN_HWID_LEN : FULL_HWID_LEN;

	if (c->leaf_role != SNP_CERT_VCEK) {
		pass(c, K_CHIP_ID, "not applicable: the leaf is a %s",
		     snp_cert_role_name(c->leaf_role));
	} else if (c->rf.key_info & SNP_KEY_INFO_MASK_CHIP_KEY || all_zero(c->rf.chip_id, 64)) {
		pass(c, K_CHIP_ID, "CHIP_ID masked by the host; not compared");
	} else if (c->ext.hwid_len == 0) {
		fail(c, K_CHIP_ID, "VCEK has no hwID extension");
	} else if (c->ext.hwid_len != want) {
		fail(c, K_CHIP_ID, "VCEK hwID is %zu bytes, expected %zu for %s", c->ext.hwid_len,
		     want, snp_product_name(c->product));
	} else if (memcmp(c->ext.hwid, c->rf.chip_id, want) != 0) {
		char h[17], r[17];

		ccu_hex_encode(c->ext.hwid, 8, h, sizeof(h));
		ccu_hex_encode(c->rf.chip_id, 8, r, sizeof(r));
		fail(c, K_CHIP_ID, "VCEK hwID %s... != CHIP_ID %s... (%zu bytes compared)", h, r, want);
	} else {
		pass(c, K_CHIP_ID, "VCEK hwID == CHIP_ID (%zu bytes)", want);
	}
}

/* ECDSA P-384 / SHA-384 over bytes 0..0x29F; R and S little-endian. */
static void check_signature(struct vctx *c)
{
	EVP_PKEY *pk = X509_get0_pubkey(c->leaf);
	uint8_t rb[48], sb[48];
	ECDSA_SIG *sig = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	EVP_MD_CTX *md = NULL;
	int dl, ok = -1;

	for (size_t i = 0; i < 48; i++) {
		rb[i] = c->raw[SNP_OFF_SIG_R + 47 - i];
		sb[i] = c->raw[SNP_OFF_SIG_S + 47 - i];
	}
	sig = ECDSA_SIG_new();
	r = BN_bin2bn(rb, sizeof(rb), NULL);
	s = BN_bin2bn(sb, sizeof(sb), NULL);
	if (!sig || !r || !s || ECDSA_SIG_set0(sig, r, s) != 1)
		goto out;
	r = s = NULL; /* owned by sig now */
	dl = i2d_ECDSA_SIG(sig, &der);
	md = EVP_MD_CTX_new();
	if (dl <= 0 || !md || EVP_DigestVerifyInit(md, NULL, ccu_md_sha384(), NULL, pk) != 1)
		goto out;
	ok = EVP_DigestVerify(md, der, (size_t)dl, c->raw, SNP_REPORT_SIGNED_LEN) == 1;
out:
	if (ok < 0)
		c->internal = -ENOMEM;
	if (ok > 0)
		pass(c, K_SIGNATURE, "ECDSA P-384 SHA-384 over 0x000..0x29F verifies with the %s",
		     snp_cert_role_name(c->leaf_role));
	else
		fail(c, K_SIGNATURE, "report signature over 0x000..0x29F does not verify with the "
				     "leaf's key%s", ok < 0 ? " (internal error)" : "");
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	ECDSA_SIG_free(sig);
	BN_free(r);
	BN_free(s);
	ERR_clear_error();
}

/* --------------------------------------------------------- chain selection */

static bool ark_sha(X509 *x, uint8_t sha[32])
{
	return snp_cert_sha256(x, sha) == 0;
}

/* Pinned or explicitly trusted; sets the root's product. */
static bool ark_trusted(const struct snp_trust *t, X509 *ark, enum snp_product *prod,
			char *what, size_t len)
{
	uint8_t sha[32], pin[32];
	char hex[65];

	if (!ark_sha(ark, sha))
		return false;
	ccu_hex_encode(sha, sizeof(sha), hex, sizeof(hex));
	for (size_t i = 0; i < ARRAY_SIZE(pinned_arks); i++)
		if (ccu_hex_decode_exact(pinned_arks[i].sha256, pin, sizeof(pin)) == 0 &&
		    memcmp(pin, sha, 32) == 0) {
			*prod = pinned_arks[i].product;
			snprintf(what, len, "pinned AMD root ARK-%s (sha256 %.16s...)",
				 snp_product_name(*prod), hex);
			return true;
		}
	for (size_t i = 0; t && i < t->n; i++)
		if (memcmp(t->roots[i].sha256, sha, 32) == 0) {
			*prod = t->roots[i].product;
			snprintf(what, len, "explicitly trusted root ARK-%s (sha256 %.16s...)",
				 snp_product_name(*prod), hex);
			return true;
		}
	snprintf(what, len, "sha256 %s", hex);
	return false;
}

/*
 * The ARK for the intermediate: subject == its issuer. With several
 * candidates (a bundle may carry a test root next to AMD's), prefer a
 * trusted one that signed the intermediate, then a trusted one, then the
 * first; the checks that follow judge the choice.
 */
static X509 *pick_ark(struct vctx *c, STACK_OF(X509) *certs)
{
	X509 *best = NULL;
	int best_score = -1, n = sk_X509_num(certs), matches = 0;

	for (int i = 0; i < n; i++) {
		X509 *x = sk_X509_value(certs, i);

		matches += snp_cert_role(x, NULL) == SNP_CERT_ARK &&
			   names_equal(X509_get_subject_name(x), X509_get_issuer_name(c->inter));
	}
	for (int i = 0; i < n; i++) {
		X509 *x = sk_X509_value(certs, i);
		enum snp_product tp;
		char what[96];
		int score;

		if (snp_cert_role(x, NULL) != SNP_CERT_ARK ||
		    !names_equal(X509_get_subject_name(x), X509_get_issuer_name(c->inter)))
			continue;
		if (matches == 1)
			return x;
		score = ark_trusted(c->t, x, &tp, what, sizeof(what)) ? 2 : 0;
		if (score && cert_signed_by(c->inter, x))
			score++;
		if (score > best_score) {
			best = x;
			best_score = score;
		}
	}
	/* No ARK among the certificates: an explicitly trusted root may do. */
	for (size_t i = 0; !best && i < c->t->n; i++)
		if (names_equal(X509_get_subject_name(c->t->roots[i].x),
				X509_get_issuer_name(c->inter)))
			best = c->t->roots[i].x;
	return best;
}

/*
 * Pick the intermediate (subject == leaf issuer, of the leaf's kind) and the
 * ARK (subject == intermediate issuer; a trusted one first, else the first)
 * from @certs, with the explicit roots as a fallback ARK.
 */
static void select_chain(struct vctx *c, STACK_OF(X509) *certs)
{
	char cn[64], foreign[128] = "";
	enum snp_cert_role want = c->leaf_role == SNP_CERT_VCEK ? SNP_CERT_ASK :
				  c->leaf_role == SNP_CERT_VLEK ? SNP_CERT_ASVK :
								  SNP_CERT_UNKNOWN;
	int n = certs ? sk_X509_num(certs) : 0;

	for (int i = 0; i < n; i++) {
		X509 *x = sk_X509_value(certs, i);
		enum snp_product p;
		enum snp_cert_role r = snp_cert_role(x, &p);

		if (r == SNP_CERT_UNKNOWN && !foreign[0])
			snprintf(foreign, sizeof(foreign), "certificate %d (CN=%s) is not an AMD "
				 "certificate", i + 1, cn_of(X509_get_subject_name(x), cn, sizeof(cn)));
		if (c->inter || !c->leaf || (r != SNP_CERT_ASK && r != SNP_CERT_ASVK))
			continue;
		if ((want == SNP_CERT_UNKNOWN || r == want) &&
		    names_equal(X509_get_subject_name(x), X509_get_issuer_name(c->leaf))) {
			c->inter = x;
			c->inter_prod = p;
		}
	}
	c->ark = c->inter ? pick_ark(c, certs) : NULL;

	if (!c->leaf) {
		fail(c, K_INCOMPLETE, "no VCEK/VLEK leaf certificate");
	} else if (foreign[0]) {
		fail(c, K_INCOMPLETE, "%s", foreign);
	} else if (!c->inter) {
		/* An unknown leaf has no intermediate to look for: that defect
		 * is CHAIN_LEAF_UNKNOWN's to report. */
		if (want != SNP_CERT_UNKNOWN)
			fail(c, K_INCOMPLETE, "no %s with subject CN=%s among %d certificate(s)",
			     snp_cert_role_name(want),
			     cn_of(X509_get_issuer_name(c->leaf), cn, sizeof(cn)), n);
	} else if (!c->ark) {
		fail(c, K_INCOMPLETE, "no ARK with subject CN=%s among %d certificate(s) or the "
		     "trusted roots", cn_of(X509_get_issuer_name(c->inter), cn, sizeof(cn)), n);
	} else {
		char a[64], b[64];

		pass(c, K_INCOMPLETE, "%s <- %s <- %s", snp_cert_role_name(c->leaf_role),
		     cn_of(X509_get_subject_name(c->inter), a, sizeof(a)),
		     cn_of(X509_get_subject_name(c->ark), b, sizeof(b)));
	}
}

static void check_leaf(struct vctx *c)
{
	struct ccu_reason why = { 0 };
	char icn[64];

	c->leaf_role = snp_cert_role(c->leaf, &c->leaf_prod);
	c->ext_ok = snp_cert_amd_ext(c->leaf, &c->ext, &why) == 0;
	cn_of(X509_get_issuer_name(c->leaf), icn, sizeof(icn));
	if (c->leaf_role != SNP_CERT_VCEK && c->leaf_role != SNP_CERT_VLEK) {
		char subj[120];

		c->leaf_role = SNP_CERT_UNKNOWN;
		c->leaf_prod = SNP_PRODUCT_UNKNOWN;
		if (!X509_NAME_oneline(X509_get_subject_name(c->leaf), subj, sizeof(subj)))
			snprintf(subj, sizeof(subj), "?");
		fail(c, K_LEAF_UNKNOWN, "leaf %s (issuer CN=%s) is not an AMD VCEK/VLEK (AMD "
		     "names, CN SEV-VCEK/SEV-VLEK issued by SEV-<product>)", subj, icn);
	} else if (!is_p384(X509_get0_pubkey(c->leaf))) {
		fail(c, K_LEAF_UNKNOWN, "%s key is not EC P-384", snp_cert_role_name(c->leaf_role));
	} else if (!c->ext_ok) {
		fail(c, K_LEAF_UNKNOWN, "%s: %s", snp_cert_role_name(c->leaf_role), why.detail);
	} else {
		pass(c, K_LEAF_UNKNOWN, "%s issued by %s, EC P-384", snp_cert_role_name(c->leaf_role),
		     icn);
	}
}

/* "Milan-B0" -> Milan; "Genoa" -> Genoa; anything else unknown. */
static enum snp_product product_name_prefix(const char *s)
{
	char buf[16];
	size_t n = strcspn(s, "-");

	if (n == 0 || n >= sizeof(buf))
		return SNP_PRODUCT_UNKNOWN;
	memcpy(buf, s, n);
	buf[n] = 0;
	return snp_product_from_name(buf);
}

static void check_product(struct vctx *c)
{
	struct {
		const char *who;
		enum snp_product p;
	} src[] = {
		{ "forced", c->opts->product },
		{ "report CPUID", c->raw ? c->rf.cpuid_product : SNP_PRODUCT_UNKNOWN },
		{ "leaf issuer", c->leaf_prod },
		{ "productName", c->ext_ok && c->ext.has_product_name ?
					 product_name_prefix(c->ext.product_name) :
					 SNP_PRODUCT_UNKNOWN },
		{ "intermediate", c->inter ? c->inter_prod : SNP_PRODUCT_UNKNOWN },
		{ "ARK", c->ark ? c->ark_prod : SNP_PRODUCT_UNKNOWN },
	};
	char list[160];
	size_t n = 0;
	bool agree = true;

	c->product = SNP_PRODUCT_UNKNOWN;
	list[0] = 0;
	for (size_t i = 0; i < ARRAY_SIZE(src); i++) {
		if (src[i].p == SNP_PRODUCT_UNKNOWN)
			continue;
		if (c->product == SNP_PRODUCT_UNKNOWN)
			c->product = src[i].p; /* forced > CPUID > leaf > ... */
		agree = agree && src[i].p == c->product;
		if (n < sizeof(list))
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s=%s", n ? " " : "",
					      src[i].who, snp_product_name(src[i].p));
	}
	if (c->product == SNP_PRODUCT_UNKNOWN)
		fail(c, K_PRODUCT, "no product known (no forced product, CPUID or AMD names)");
	else if (!agree)
		fail(c, K_PRODUCT, "products disagree: %s", list);
	else
		pass(c, K_PRODUCT, "%s", list);
}

/* ---------------------------------------------------------- chain checks */

static void check_ark_trust(struct vctx *c)
{
	char what[128], cn[64];
	enum snp_product p = SNP_PRODUCT_UNKNOWN;

	if (ark_trusted(c->t, c->ark, &p, what, sizeof(what))) {
		c->ark_prod = p;
		pass(c, K_ARK_UNTRUSTED, "%s", what);
		return;
	}
	snp_cert_role(c->ark, &c->ark_prod);
	fail(c, K_ARK_UNTRUSTED, "ARK CN=%s is neither a pinned AMD root nor explicitly trusted (%s)",
	     cn_of(X509_get_subject_name(c->ark), cn, sizeof(cn)), what);
}

static void check_signatures(struct vctx *c)
{
	uint8_t key[32];
	bool have_key = false;
	bool ark_ok, ask_ok, leaf_ok;
	const char *inter = snp_cert_role_name(snp_cert_role(c->inter, NULL));

	if (c->ark && c->opts->cache) {
		have_key = chain_key(c->leaf, c->inter, c->ark, key) == 0;
		c->cache_hit = have_key && cache_lookup(c->opts->cache, key);
	}
	/* A hit stands for the three RSA verifications of these exact bytes;
	 * the name checks are cheap and always run. */
	if (c->ark) {
		ark_ok = names_equal(X509_get_subject_name(c->ark), X509_get_issuer_name(c->ark)) &&
			 (c->cache_hit || cert_signed_by(c->ark, c->ark));
		if (ark_ok)
			pass(c, K_ARK_SIG, "ARK self-signature verifies%s", c->cache_hit ? " (cached)" : "");
		else
			fail(c, K_ARK_SIG, "ARK self-signature does not verify");
	}
	if (c->ark) {
		ask_ok = names_equal(X509_get_issuer_name(c->inter), X509_get_subject_name(c->ark)) &&
			 (c->cache_hit || cert_signed_by(c->inter, c->ark));
		if (ask_ok)
			pass(c, K_ASK_SIG, "%s signed by the ARK%s", inter, c->cache_hit ? " (cached)" : "");
		else
			fail(c, K_ASK_SIG, "%s is not signed by the ARK", inter);
	}
	leaf_ok = names_equal(X509_get_issuer_name(c->leaf), X509_get_subject_name(c->inter)) &&
		  (c->cache_hit || cert_signed_by(c->leaf, c->inter));
	if (leaf_ok)
		pass(c, K_LEAF_SIG, "leaf signed by the %s%s", inter, c->cache_hit ? " (cached)" : "");
	else
		fail(c, K_LEAF_SIG, "leaf is not signed by the %s", inter);
	if (have_key && !c->cache_hit && c->s[K_ARK_SIG].state > 0 && c->s[K_ASK_SIG].state > 0 &&
	    leaf_ok)
		cache_insert(c->opts->cache, key);
}

static void check_pss(struct vctx *c)
{
	X509 *certs[3] = { c->ark, c->inter, c->leaf };
	static const char *const who[3] = { "ARK", "intermediate", "leaf" };
	char why[120];

	for (size_t i = 0; i < ARRAY_SIZE(certs); i++)
		if (certs[i] && !pss_params_ok(certs[i], why, sizeof(why))) {
			fail(c, K_PSS, "%s: %s", who[i], why);
			return;
		}
	pass(c, K_PSS, "RSASSA-PSS SHA-384, MGF1-SHA-384, salt 48 on every signature");
}

static bool ca_ok(X509 *x, char *why, size_t len)
{
	EVP_PKEY *pk = X509_get0_pubkey(x);
	uint32_t fl = X509_get_extension_flags(x);

	ERR_clear_error();
	if (!is_rsa(pk) || EVP_PKEY_get_bits(pk) != AMD_CA_RSA_BITS)
		snprintf(why, len, "key is not RSA-%d", AMD_CA_RSA_BITS);
	else if (fl & EXFLAG_INVALID)
		snprintf(why, len, "extensions do not parse");
	else if (!(fl & EXFLAG_BCONS) || !(fl & EXFLAG_CA))
		snprintf(why, len, "basicConstraints lacks CA:TRUE");
	else if (!(fl & EXFLAG_KUSAGE) || !(X509_get_key_usage(x) & KU_KEY_CERT_SIGN))
		snprintf(why, len, "keyUsage lacks keyCertSign");
	else
		return true;
	return false;
}

static void check_ca(struct vctx *c)
{
	char why[96];

	if (!c->ark && !c->inter)
		return;
	if (c->ark && !ca_ok(c->ark, why, sizeof(why)))
		fail(c, K_CA, "ARK: %s", why);
	else if (c->inter && !ca_ok(c->inter, why, sizeof(why)))
		fail(c, K_CA, "%s: %s", snp_cert_role_name(snp_cert_role(c->inter, NULL)), why);
	else
		pass(c, K_CA, "RSA-%d, CA:TRUE and keyCertSign on %s", AMD_CA_RSA_BITS,
		     c->ark && c->inter ? "ARK and intermediate" : c->ark ? "ARK" : "intermediate");
}

static void check_validity(struct vctx *c)
{
	X509 *certs[3] = { c->leaf, c->inter, c->ark };
	static const char *const who[3] = { "leaf", "intermediate", "ARK" };
	char nb[32], na[32], at[32];

	for (size_t i = 0; i < ARRAY_SIZE(certs); i++) {
		X509 *x = certs[i];
		int b, a;

		if (!x)
			continue;
		b = ASN1_TIME_cmp_time_t(X509_get0_notBefore(x), c->at);
		a = ASN1_TIME_cmp_time_t(X509_get0_notAfter(x), c->at);
		ERR_clear_error();
		if (b == -2 || a == -2 || b > 0 || a < 0) {
			fail(c, K_VALIDITY, "%s (%s) valid %s..%s, not at %s", who[i],
			     snp_cert_role_name(snp_cert_role(x, NULL)),
			     fmt_time(X509_get0_notBefore(x), nb, sizeof(nb)),
			     fmt_time(X509_get0_notAfter(x), na, sizeof(na)),
			     fmt_time_t(c->at, at, sizeof(at)));
			return;
		}
	}
	pass(c, K_VALIDITY, "every certificate is valid at %s", fmt_time_t(c->at, at, sizeof(at)));
}

/* ---------------------------------------------------------------- verdict */

static void finish(struct vctx *c, struct snp_verdict *v)
{
	static const enum chk required_chain[] = {
		K_INCOMPLETE, K_LEAF_UNKNOWN, K_PRODUCT, K_ARK_UNTRUSTED, K_ARK_SIG,
		K_ASK_SIG,    K_LEAF_SIG,     K_PSS,	 K_CA,		 K_VALIDITY,
	};
	static const enum chk required_report[] = {
		K_FORMAT, K_SIGNER, K_TCB, K_SIGNATURE, K_CHIP_ID,
	};
	bool failed = false;

	/* Fail closed: a required check that could not run is a failure,
	 * unless an earlier failure already explains the verdict. */
	for (size_t i = 0; i < K__MAX; i++)
		failed = failed || c->s[i].state < 0;
	if (!failed) {
		for (size_t i = 0; i < ARRAY_SIZE(required_chain); i++)
			if (c->s[required_chain[i]].state == 0)
				fail(c, required_chain[i], "check could not be evaluated");
		for (size_t i = 0; c->raw && i < ARRAY_SIZE(required_report); i++)
			if (c->s[required_report[i]].state == 0)
				fail(c, required_report[i], "check could not be evaluated");
	}
	v->ok = true;
	for (size_t i = 0; i < K__MAX && v->nchecks < SNP_VERDICT_MAX_CHECKS; i++) {
		struct slot *s = &c->s[i];
		struct snp_check *k;

		if (s->state == 0)
			continue;
		k = &v->checks[v->nchecks++];
		k->code = s->code ? s->code : chk_code[i];
		k->ok = s->state > 0;
		snprintf(k->detail, sizeof(k->detail), "%s", s->detail);
		if (!k->ok && v->ok) {
			v->ok = false;
			ccu_reason_set(&v->reason, k->code, "%s", k->detail);
		}
	}
	v->product = c->product;
	v->leaf_role = c->leaf_role;
	v->cache_hit = c->cache_hit;
}

int snp_verify(const struct snp_trust *t, const struct snp_report *report, X509 *leaf,
	       STACK_OF(X509) *certs, const struct snp_verify_opts *opts, struct snp_verdict *v)
{
	static const struct snp_verify_opts defaults = { 0 };
	struct vctx *c;
	int r;

	if (!v)
		return -EINVAL;
	memset(v, 0, sizeof(*v));
	if (!t) {
		ccu_reason_set(&v->reason, "INTERNAL", "no trust anchors given");
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		ccu_reason_set(&v->reason, "INTERNAL", "out of memory");
		return -ENOMEM;
	}
	c->t = t;
	c->opts = opts ? opts : &defaults;
	c->at = c->opts->at ? c->opts->at : time(NULL);
	c->leaf = leaf;
	c->raw = report ? report->raw : NULL;

	if (c->raw)
		check_format(c);
	if (leaf)
		check_leaf(c);
	select_chain(c, certs);
	if (c->ark)
		check_ark_trust(c);
	check_product(c);
	if (c->raw && c->leaf_role != SNP_CERT_UNKNOWN) {
		check_signer(c);
		if (c->ext_ok)
			check_tcb(c);
	}
	if (c->inter)
		check_signatures(c);
	if (leaf) {
		check_pss(c);
		check_ca(c);
		check_validity(c);
	}
	if (c->raw && leaf && is_p384(X509_get0_pubkey(leaf)))
		check_signature(c);
	if (c->raw && c->leaf_role != SNP_CERT_UNKNOWN && c->ext_ok)
		check_chip_id(c);

	finish(c, v);
	r = c->internal ? c->internal : v->ok ? 0 : -EKEYREJECTED;
	free(c);
	ERR_clear_error();
	return r;
}

int snp_trust_add_root(struct snp_trust *t, X509 *ark, struct ccu_reason *err)
{
	enum snp_product p;
	uint8_t sha[32];
	char why[120];

	if (!t || !ark)
		return ccu_fail(err, -EINVAL, "CERT_PARSE", "no root certificate");
	if (snp_cert_role(ark, &p) != SNP_CERT_ARK)
		return ccu_fail(err, -EINVAL, "CERT_PARSE",
				"not a root of AMD's shape (AMD names, CN ARK-<product>, self-issued)");
	if (!pss_params_ok(ark, why, sizeof(why)))
		return ccu_fail(err, -EINVAL, "CHAIN_ARK_SIGNATURE", "root: %s", why);
	if (!cert_signed_by(ark, ark))
		return ccu_fail(err, -EINVAL, "CHAIN_ARK_SIGNATURE",
				"root self-signature does not verify");
	if (!ark_sha(ark, sha))
		return ccu_fail(err, -ENOMEM, "CERT_PARSE", "cannot encode the root");
	for (size_t i = 0; i < t->n; i++)
		if (memcmp(t->roots[i].sha256, sha, 32) == 0)
			return 0;
	if (t->n >= SNP_TRUST_MAX_ROOTS)
		return ccu_fail(err, -ENOSPC, "CERT_PARSE", "more than %d explicit roots",
				SNP_TRUST_MAX_ROOTS);
	if (X509_up_ref(ark) != 1)
		return ccu_fail(err, -ENOMEM, "CERT_PARSE", "cannot reference the root");
	t->roots[t->n].x = ark;
	memcpy(t->roots[t->n].sha256, sha, 32);
	t->roots[t->n].product = p;
	t->n++;
	return 0;
}
