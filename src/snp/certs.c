/*
 * AMD SEV-SNP certificates: strict loading (one DER certificate or PEM text
 * made only of CERTIFICATE blocks), roles from AMD's names, and a small
 * bounded DER reader for AMD's VCEK/VLEK extensions (snp-verification.md §5.1).
 */
#include "snp/certs.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "common/codec.h"
#include "common/evp.h"
#include "common/macros.h"
#include "common/util.h"

#define PEM_BEGIN "-----BEGIN CERTIFICATE-----"
#define PEM_END "-----END CERTIFICATE-----"
#define AMD_ARC "1.3.6.1.4.1.3704.1."
#define OID_TEXT_MAX 64

static void cert_stack_freep(STACK_OF(X509) **s)
{
	if (*s)
		sk_X509_pop_free(*s, X509_free);
}

const char *snp_cert_role_name(enum snp_cert_role r)
{
	switch (r) {
	case SNP_CERT_ARK:
		return "ARK";
	case SNP_CERT_ASK:
		return "ASK";
	case SNP_CERT_ASVK:
		return "ASVK";
	case SNP_CERT_VCEK:
		return "VCEK";
	case SNP_CERT_VLEK:
		return "VLEK";
	case SNP_CERT_UNKNOWN:
		break;
	}
	return "unknown";
}

/* ------------------------------------------------------------------ loading */

/* Exactly one DER certificate filling @len bytes (no trailing bytes). */
static int der_one(const uint8_t *buf, size_t len, X509 **ret, struct ccu_reason *err)
{
	const unsigned char *p = buf;
	X509 *x;

	if (len > LONG_MAX)
		return ccu_fail(err, -EBADMSG, "CERT_PARSE", "certificate too large");
	x = d2i_X509(NULL, &p, (long)len);
	ERR_clear_error();
	if (!x)
		return ccu_fail(err, -EBADMSG, "CERT_PARSE", "not a DER X.509 certificate");
	if (p != buf + len) {
		X509_free(x);
		return ccu_fail(err, -EBADMSG, "CERT_PARSE",
				"%zu trailing bytes after the DER certificate",
				len - (size_t)(p - buf));
	}
	*ret = x;
	return 0;
}

static int push_cert(STACK_OF(X509) *sk, X509 *x, struct ccu_reason *err)
{
	if (sk_X509_num(sk) >= SNP_CERT_MAX_COUNT) {
		X509_free(x);
		return ccu_fail(err, -EBADMSG, "CERT_PARSE", "more than %d certificates",
				SNP_CERT_MAX_COUNT);
	}
	if (!sk_X509_push(sk, x)) {
		X509_free(x);
		return ccu_fail(err, -ENOMEM, "CERT_PARSE", "out of memory");
	}
	return 0;
}

static bool is_b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/' || c == '=';
}

static bool is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return false;
	return true;
}

static bool line_is(const char *s, size_t n, const char *lit)
{
	return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

/* Decode one accumulated base64 body and append its certificate. */
static int pem_block_done(const char *b64, size_t n, uint8_t *der, STACK_OF(X509) *sk,
			  struct ccu_reason *err)
{
	X509 *x = NULL;
	int dl, r;

	dl = ccu_b64_decode(b64, n, CCU_B64_STD, der, ccu_b64_decoded_max(n));
	if (dl <= 0)
		return ccu_fail(err, -EBADMSG, "CERT_PARSE", "PEM block %d: bad base64",
				sk_X509_num(sk) + 1);
	r = der_one(der, (size_t)dl, &x, err);
	if (r < 0)
		return r;
	return push_cert(sk, x, err);
}

/*
 * PEM text: only CERTIFICATE blocks, blank lines around them, LF or CRLF
 * line ends. Headers, other block types and stray text are refused.
 */
static int pem_parse(const char *t, size_t len, STACK_OF(X509) *sk, struct ccu_reason *err)
{
	/* One buffer: base64 text of a block, then its decoded bytes. */
	_cleanup_free_ char *b64 = malloc(2 * (len + 1));
	uint8_t *der;
	size_t pos = 0, bl = 0, lineno = 0;
	bool inside = false;
	int r;

	if (!b64)
		return ccu_fail(err, -ENOMEM, "CERT_PARSE", "out of memory");
	der = (uint8_t *)b64 + len + 1;
	while (pos < len) {
		const char *nl = memchr(t + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - t) : len, n = end - pos;
		const char *s = t + pos;

		lineno++;
		pos = nl ? end + 1 : len;
		while (n && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (!inside) {
			if (is_blank(s, n))
				continue;
			if (!line_is(s, n, PEM_BEGIN))
				return ccu_fail(err, -EBADMSG, "CERT_PARSE",
						"line %zu: expected %s", lineno, PEM_BEGIN);
			inside = true;
			bl = 0;
			continue;
		}
		if (line_is(s, n, PEM_END)) {
			r = pem_block_done(b64, bl, der, sk, err);
			if (r < 0)
				return r;
			inside = false;
			continue;
		}
		if (n == 0)
			return ccu_fail(err, -EBADMSG, "CERT_PARSE", "line %zu: empty line in PEM",
					lineno);
		for (size_t i = 0; i < n; i++) {
			if (!is_b64_char(s[i]))
				return ccu_fail(err, -EBADMSG, "CERT_PARSE",
						"line %zu: not base64 text", lineno);
			b64[bl++] = s[i];
		}
	}
	if (inside)
		return ccu_fail(err, -EBADMSG, "CERT_PARSE", "PEM block without %s", PEM_END);
	if (sk_X509_num(sk) == 0)
		return ccu_fail(err, -EBADMSG, "CERT_PARSE", "no PEM certificate found");
	return 0;
}

int snp_certs_load_mem(const uint8_t *buf, size_t len, STACK_OF(X509) **ret,
		       struct ccu_reason *err)
{
	_cleanup_(cert_stack_freep) STACK_OF(X509) *sk = NULL;
	int r;

	if (!buf || len == 0)
		return ccu_fail(err, -EBADMSG, "CERT_PARSE", "empty certificate input");
	if (len > SNP_CERT_MAX_FILE)
		return ccu_fail(err, -EBADMSG, "CERT_PARSE", "certificate input is %zu bytes, max %d",
				len, SNP_CERT_MAX_FILE);
	sk = sk_X509_new_null();
	if (!sk)
		return ccu_fail(err, -ENOMEM, "CERT_PARSE", "out of memory");
	if (buf[0] == 0x30) {
		X509 *x = NULL;

		r = der_one(buf, len, &x, err);
		if (r == 0)
			r = push_cert(sk, x, err);
	} else {
		r = pem_parse((const char *)buf, len, sk, err);
	}
	if (r < 0)
		return r;
	*ret = TAKE_PTR(sk);
	return 0;
}

int snp_certs_load_file(const char *path, STACK_OF(X509) **ret, struct ccu_reason *err)
{
	_cleanup_free_ uint8_t *data = NULL;
	size_t len = 0;
	int r;

	r = ccu_read_file(path, SNP_CERT_MAX_FILE, &data, &len);
	if (r < 0)
		return ccu_fail(err, r, "INPUT", "cannot read certificate file %s: %s", path,
				strerror(-r));
	r = snp_certs_load_mem(data, len, ret, err);
	if (r < 0 && err) {
		struct ccu_reason inner = *err;

		/* Say which file it was; the detail is truncated, never overflowed. */
		ccu_reason_set(err, inner.code, "%s: %s", path, inner.detail);
	}
	return r;
}

int snp_cert_load_one_file(const char *path, X509 **ret, struct ccu_reason *err)
{
	_cleanup_(cert_stack_freep) STACK_OF(X509) *sk = NULL;
	int r;

	r = snp_certs_load_file(path, &sk, err);
	if (r < 0)
		return r;
	if (sk_X509_num(sk) != 1)
		return ccu_fail(err, -EBADMSG, "CERT_PARSE", "%s: expected one certificate, found %d",
				path, sk_X509_num(sk));
	*ret = sk_X509_shift(sk);
	return 0;
}

/* -------------------------------------------------------------------- names */

struct amd_attr {
	int nid;
	const char *value;
};

/* AMD's location attributes, identical on every certificate of the chain. */
static const struct amd_attr amd_location[] = {
	{ NID_organizationalUnitName, "Engineering" },
	{ NID_countryName, "US" },
	{ NID_localityName, "Santa Clara" },
	{ NID_stateOrProvinceName, "CA" },
	{ NID_organizationName, "Advanced Micro Devices" },
};

/* The only value of @nid in @n, as bytes, or NULL when absent or repeated. */
static const ASN1_STRING *name_single(const X509_NAME *n, int nid)
{
	int i = X509_NAME_get_index_by_NID(n, nid, -1);

	if (i < 0 || X509_NAME_get_index_by_NID(n, nid, i) >= 0)
		return NULL;
	return X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
}

static bool asn1_str_is(const ASN1_STRING *s, const char *v)
{
	size_t n = strlen(v);

	return s && (size_t)ASN1_STRING_length(s) == n &&
	       memcmp(ASN1_STRING_get0_data(s), v, n) == 0;
}

/*
 * The CN of an AMD name (OU, C, L, ST, O as AMD spells them, plus CN; each
 * once, each in its own RDN, nothing else) into @cn; false otherwise.
 */
static bool amd_name_cn(const X509_NAME *n, char *cn, size_t cnlen)
{
	const ASN1_STRING *s;
	int count;

	if (!n)
		return false;
	count = X509_NAME_entry_count(n);
	if (count != (int)ARRAY_SIZE(amd_location) + 1)
		return false;
	/* Single-valued RDNs: the last entry sits in set count-1. */
	if (X509_NAME_ENTRY_set(X509_NAME_get_entry(n, count - 1)) != count - 1)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(amd_location); i++)
		if (!asn1_str_is(name_single(n, amd_location[i].nid), amd_location[i].value))
			return false;
	s = name_single(n, NID_commonName);
	if (!s || ASN1_STRING_length(s) <= 0 || (size_t)ASN1_STRING_length(s) >= cnlen)
		return false;
	memcpy(cn, ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
	cn[ASN1_STRING_length(s)] = 0;
	return strlen(cn) == (size_t)ASN1_STRING_length(s);
}

/* "<prefix><P>" with a known product P. */
static enum snp_product cn_product(const char *cn, const char *prefix)
{
	size_t n = strlen(prefix);
	static const char *const names[] = { "Milan", "Genoa", "Turin" };

	if (strncmp(cn, prefix, n) != 0)
		return SNP_PRODUCT_UNKNOWN;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strcmp(cn + n, names[i]) == 0)
			return snp_product_from_name(names[i]);
	return SNP_PRODUCT_UNKNOWN;
}

enum snp_cert_role snp_cert_role(X509 *x, enum snp_product *ret_product)
{
	char scn[64], icn[64];
	enum snp_product p = SNP_PRODUCT_UNKNOWN;
	enum snp_cert_role role = SNP_CERT_UNKNOWN;

	if (ret_product)
		*ret_product = SNP_PRODUCT_UNKNOWN;
	if (!x || !amd_name_cn(X509_get_subject_name(x), scn, sizeof(scn)) ||
	    !amd_name_cn(X509_get_issuer_name(x), icn, sizeof(icn)))
		return SNP_CERT_UNKNOWN;

	if ((p = cn_product(scn, "ARK-")) != SNP_PRODUCT_UNKNOWN) {
		if (X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0)
			role = SNP_CERT_ARK;
	} else if ((p = cn_product(scn, "SEV-VLEK-")) != SNP_PRODUCT_UNKNOWN) {
		role = SNP_CERT_ASVK;
	} else if ((p = cn_product(scn, "SEV-")) != SNP_PRODUCT_UNKNOWN) {
		role = SNP_CERT_ASK;
	} else if (strcmp(scn, "SEV-VCEK") == 0) {
		p = cn_product(icn, "SEV-");
		if (p != SNP_PRODUCT_UNKNOWN)
			role = SNP_CERT_VCEK;
	} else if (strcmp(scn, "SEV-VLEK") == 0) {
		p = cn_product(icn, "SEV-VLEK-");
		if (p != SNP_PRODUCT_UNKNOWN)
			role = SNP_CERT_VLEK;
	}
	if (role != SNP_CERT_UNKNOWN && ret_product)
		*ret_product = p;
	return role;
}

int snp_cert_sha256(X509 *x, uint8_t out[32])
{
	unsigned char *der = NULL;
	unsigned int mdlen = 0;
	int len, r = 0;

	if (!x)
		return -EINVAL;
	len = i2d_X509(x, &der);
	if (len <= 0) {
		ERR_clear_error();
		return -ENOMEM;
	}
	if (EVP_Digest(der, (size_t)len, out, &mdlen, ccu_md_sha256(), NULL) != 1 || mdlen != 32)
		r = -EIO;
	OPENSSL_free(der);
	ERR_clear_error();
	return r;
}

/* --------------------------------------------------------- AMD extensions */

/*
 * One DER TLV with a one-byte tag at @b, definite minimal length, fully
 * inside @len. Sets the content pointer and length and returns the total TLV size, or 0.
 */
static size_t der_tlv(const uint8_t *b, size_t len, uint8_t tag, const uint8_t **content,
		      size_t *clen)
{
	size_t hl = 2, n;

	if (len < 2 || b[0] != tag)
		return 0;
	n = b[1];
	if (n == 0x81) {
		if (len < 3 || b[2] < 0x80)
			return 0; /* non-minimal */
		n = b[2];
		hl = 3;
	} else if (n == 0x82) {
		if (len < 4 || b[2] == 0 || ((size_t)b[2] << 8 | b[3]) < 0x100)
			return 0;
		n = (size_t)b[2] << 8 | b[3];
		hl = 4;
	} else if (n & 0x80) {
		return 0; /* indefinite or longer than we ever need */
	}
	if (n > len - hl)
		return 0;
	*content = b + hl;
	*clen = n;
	return hl + n;
}

/* An INTEGER 0..255 filling the whole value: 02 01 xx (xx < 0x80) or 02 02 00 xx (xx >= 0x80). */
static bool der_small_uint(const uint8_t *b, size_t len, uint8_t *out)
{
	const uint8_t *c = NULL;
	size_t cl = 0;

	if (der_tlv(b, len, 0x02, &c, &cl) != len)
		return false;
	if (cl == 1 && !(c[0] & 0x80)) {
		*out = c[0];
		return true;
	}
	if (cl == 2 && c[0] == 0 && (c[1] & 0x80)) {
		*out = c[1];
		return true;
	}
	return false;
}

/* An IA5String of printable ASCII filling the whole value, into @out. */
static bool der_ia5(const uint8_t *b, size_t len, char *out, size_t outlen)
{
	const uint8_t *c = NULL;
	size_t cl = 0;

	if (der_tlv(b, len, 0x16, &c, &cl) != len || cl == 0 || cl >= outlen)
		return false;
	for (size_t i = 0; i < cl; i++)
		if (c[i] < 0x20 || c[i] > 0x7e)
			return false;
	memcpy(out, c, cl);
	out[cl] = 0;
	return true;
}

/* hwID: the bare 64 (Turin: 8) bytes as KDS issues them, or the same
 * wrapped in an OCTET STRING as some tools write them. */
static bool parse_hwid(const uint8_t *b, size_t len, struct snp_cert_ext *e)
{
	const uint8_t *c = NULL;
	size_t cl = 0;

	if ((len == 66 || len == 10) && der_tlv(b, len, 0x04, &c, &cl) == len &&
	    (cl == 64 || cl == 8)) {
		e->hwid_octet_wrapped = true;
	} else if (len == 64 || len == 8) {
		c = b;
		cl = len;
	} else {
		return false;
	}
	memcpy(e->hwid, c, cl);
	e->hwid_len = cl;
	return true;
}

enum amd_ext_kind {
	EXT_STRUCT_VERSION,
	EXT_PRODUCT_NAME,
	EXT_SPL,     /* .3.n: index n */
	EXT_HWID,
	EXT_CSP_ID,
};

struct amd_ext_def {
	const char *suffix; /* after 1.3.6.1.4.1.3704.1. */
	const char *name;
	enum amd_ext_kind kind;
	int spl;
};

static const struct amd_ext_def amd_exts[] = {
	{ "1", "structVersion", EXT_STRUCT_VERSION, 0 },
	{ "2", "productName", EXT_PRODUCT_NAME, 0 },
	{ "3.1", "blSPL", EXT_SPL, 1 },
	{ "3.2", "teeSPL", EXT_SPL, 2 },
	{ "3.3", "snpSPL", EXT_SPL, 3 },
	{ "3.4", "spl_4", EXT_SPL, 4 },
	{ "3.5", "spl_5", EXT_SPL, 5 },
	{ "3.6", "spl_6", EXT_SPL, 6 },
	{ "3.7", "spl_7", EXT_SPL, 7 },
	{ "3.8", "ucodeSPL", EXT_SPL, 8 },
	{ "3.9", "fmcSPL", EXT_SPL, 9 },
	{ "4", "hwID", EXT_HWID, 0 },
	{ "5", "cspID", EXT_CSP_ID, 0 },
};

/* Where SPL n lives in @e: (has flag, value). */
static void spl_slot(struct snp_cert_ext *e, int n, bool **has, uint8_t **val)
{
	switch (n) {
	case 1:
		*has = &e->has_bl, *val = &e->bl;
		break;
	case 2:
		*has = &e->has_tee, *val = &e->tee;
		break;
	case 3:
		*has = &e->has_snp, *val = &e->snp;
		break;
	case 8:
		*has = &e->has_ucode, *val = &e->ucode;
		break;
	case 9:
		*has = &e->has_fmc, *val = &e->fmc;
		break;
	default: /* 4..7 */
		*has = &e->has_spl[n], *val = &e->spl[n];
		break;
	}
}

/* Parse one AMD extension value; false when malformed. *dup on a repeat. */
static bool amd_ext_one(const struct amd_ext_def *d, const uint8_t *b, size_t len,
			struct snp_cert_ext *e, bool *dup)
{
	bool *has;
	uint8_t *val, v;

	switch (d->kind) {
	case EXT_STRUCT_VERSION:
		*dup = e->has_struct_version;
		if (*dup || !der_small_uint(b, len, &v))
			return false;
		e->struct_version = v;
		e->has_struct_version = true;
		return true;
	case EXT_PRODUCT_NAME:
		*dup = e->has_product_name;
		if (*dup || !der_ia5(b, len, e->product_name, sizeof(e->product_name)))
			return false;
		e->has_product_name = true;
		return true;
	case EXT_SPL:
		spl_slot(e, d->spl, &has, &val);
		*dup = *has;
		if (*dup || !der_small_uint(b, len, val))
			return false;
		*has = true;
		return true;
	case EXT_HWID:
		*dup = e->hwid_len != 0;
		return !*dup && parse_hwid(b, len, e);
	case EXT_CSP_ID:
		*dup = e->has_csp_id;
		if (*dup || !der_ia5(b, len, e->csp_id, sizeof(e->csp_id)))
			return false;
		e->has_csp_id = true;
		return true;
	}
	return false;
}

int snp_cert_amd_ext(X509 *x, struct snp_cert_ext *out, struct ccu_reason *err)
{
	int n;

	memset(out, 0, sizeof(*out));
	if (!x)
		return ccu_fail(err, -EINVAL, "CERT_EXTENSION", "no certificate");
	n = X509_get_ext_count(x);
	for (int i = 0; i < n; i++) {
		X509_EXTENSION *ext = X509_get_ext(x, i);
		const ASN1_OCTET_STRING *val = X509_EXTENSION_get_data(ext);
		char oid[OID_TEXT_MAX];
		const char *suffix;
		int ol = OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(ext), 1);

		if (ol <= 0 || (size_t)ol >= sizeof(oid) ||
		    strncmp(oid, AMD_ARC, strlen(AMD_ARC)) != 0)
			continue;
		suffix = oid + strlen(AMD_ARC);
		/* Extensions AMD may add later are not ours to judge: skip them. */
		for (size_t k = 0; k < ARRAY_SIZE(amd_exts); k++) {
			const struct amd_ext_def *d = &amd_exts[k];
			bool dup = false;

			if (strcmp(suffix, d->suffix) != 0)
				continue;
			if (!amd_ext_one(d, ASN1_STRING_get0_data(val),
					 (size_t)ASN1_STRING_length(val), out, &dup)) {
				int len = ASN1_STRING_length(val);

				memset(out, 0, sizeof(*out));
				ERR_clear_error();
				return ccu_fail(err, -EBADMSG, "CERT_EXTENSION",
						"AMD extension %s (%s) %s (%d bytes)", d->name, oid,
						dup ? "appears twice" : "is malformed", len);
			}
			break;
		}
	}
	ERR_clear_error();
	return 0;
}
