#include "snp/certblob.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "snp/dercache.h"

#define PEM_BEGIN "-----BEGIN CERTIFICATE-----"
#define PEM_END "-----END CERTIFICATE-----"
#define CERT_BLOB_MAX (64 * 1024) /* bigger than any AMD certificate */

/* DER of exactly @n bytes, in its one canonical encoding. */
static X509 *canonical_der(const uint8_t *der, size_t n, size_t *used)
{
	const unsigned char *p = der;
	unsigned char *again = NULL;
	X509 *x = d2i_X509(NULL, &p, (long)n);
	size_t m;
	int k;

	if (!x)
		return NULL;
	m = (size_t)(p - der);
	k = i2d_X509(x, &again);
	if (k < 0 || (size_t)k != m || memcmp(again, der, m) != 0) {
		X509_free(x);
		x = NULL;
	}
	OPENSSL_free(again);
	*used = m;
	return x;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static bool is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool b64_char(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/' || c == '=';
}

/* The body of one PEM block: base64 lines between the markers. */
static int pem_one(const uint8_t *d, size_t n, X509 **ret)
{
	const size_t bl = strlen(PEM_BEGIN), el = strlen(PEM_END);
	uint8_t *b64 = NULL, *der = NULL;
	size_t i = bl, k = 0, end, used = 0;
	int dl, r = -EBADMSG;
	X509 *x = NULL;

	/* the end marker, then only whitespace / zero bytes */
	for (end = bl; end + el <= n; end++)
		if (memcmp(d + end, PEM_END, el) == 0)
			break;
	if (end + el > n)
		return -EBADMSG;
	for (size_t j = end + el; j < n; j++)
		if (!is_space(d[j]) && d[j] != 0)
			return -EBADMSG;
	b64 = malloc(end - bl + 1);
	der = malloc(end - bl + 1);
	if (!b64 || !der) {
		r = -ENOMEM;
		goto out;
	}
	for (; i < end; i++) {
		if (is_space(d[i]))
			continue;
		if (!b64_char(d[i]))
			goto out; /* headers ("Proc-Type: ...") or another block */
		b64[k++] = d[i];
	}
	if (k == 0 || k % 4)
		goto out;
	dl = EVP_DecodeBlock(der, b64, (int)k);
	if (dl < 0)
		goto out;
	/* EVP_DecodeBlock counts padding as zero bytes */
	if (b64[k - 1] == '=')
		dl--;
	if (b64[k - 2] == '=')
		dl--;
	x = canonical_der(der, (size_t)dl, &used);
	if (!x || used != (size_t)dl) {
		X509_free(x);
		goto out;
	}
	*ret = x;
	r = 0;
out:
	free(b64);
	free(der);
	return r;
}

int snp_cert_blob_parse(const uint8_t *data, size_t len, X509 **ret,
			enum snp_cert_blob_form *form)
{
	size_t used = 0;
	X509 *x;

	*ret = NULL;
	if (!data || len == 0 || len > CERT_BLOB_MAX)
		return -EBADMSG;
	if (len >= strlen(PEM_BEGIN) && memcmp(data, PEM_BEGIN, strlen(PEM_BEGIN)) == 0) {
		int r = pem_one(data, len, ret);

		if (r == 0 && form)
			*form = SNP_CERT_BLOB_PEM;
		return r;
	}
	/* Exact DER, the usual case: from the cache of parsed certificates
	 * (the same VCEK/ASK/ARK come with every boot of a chip). */
	x = snp_dercache_x509(data, len);
	if (x) {
		*ret = x;
		if (form)
			*form = SNP_CERT_BLOB_DER;
		return 0;
	}
	x = canonical_der(data, len, &used);
	if (!x)
		return -EBADMSG;
	if (used < len && !all_zero(data + used, len - used)) {
		X509_free(x);
		return -EBADMSG;
	}
	*ret = x;
	if (form)
		*form = used == len ? SNP_CERT_BLOB_DER : SNP_CERT_BLOB_DER_PADDED;
	return 0;
}
