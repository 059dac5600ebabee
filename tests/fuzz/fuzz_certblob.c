/* Fuzz the certificate-data reader (PEM, DER, DER + padding) that the
 * broker's evidence parser and the guest's certificate table share. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "snp/certblob.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum snp_cert_blob_form form = 0;
	unsigned char *der = NULL;
	X509 *x = NULL, *y = NULL;
	int n;

	if (snp_cert_blob_parse(data, size, &x, &form) < 0) {
		if (x)
			abort();
		return 0;
	}
	/* An accepted certificate re-encodes to DER that is accepted as such. */
	n = i2d_X509(x, &der);
	if (n <= 0 || snp_cert_blob_parse(der, (size_t)n, &y, &form) < 0 ||
	    form != SNP_CERT_BLOB_DER || X509_cmp(x, y) != 0)
		abort();
	OPENSSL_free(der);
	X509_free(x);
	X509_free(y);
	return 0;
}
