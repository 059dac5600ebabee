/*
 * One certificate as hosts and Trustee's tools hand it over: the "data" of
 * an SNP cert_chain entry, or a payload of the host's certificate table.
 * Upstream (virtee/sev Certificate::from_bytes) takes PEM when the bytes
 * start with "-----BEGIN", else DER, and ignores what follows the DER (hosts
 * pad the table's payloads). We accept the same forms, strictly:
 *
 *  - DER: one canonical DER X.509 certificate, followed by nothing or by
 *    zero bytes only (padding);
 *  - PEM: exactly one "-----BEGIN CERTIFICATE-----" block (no headers),
 *    optionally preceded by nothing and followed only by whitespace or
 *    zero bytes; its contents must be one canonical DER certificate.
 *
 * Anything else (two certificates, other PEM types, text around the block,
 * non-zero bytes after the DER, BER that re-encodes differently) is refused.
 * Pure.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

enum snp_cert_blob_form {
	SNP_CERT_BLOB_DER = 1,
	SNP_CERT_BLOB_DER_PADDED,
	SNP_CERT_BLOB_PEM,
};

/* *@ret a new X509 and *@form (may be NULL) the form on success; -EBADMSG
 * otherwise (the caller names its own reason code). */
int snp_cert_blob_parse(const uint8_t *data, size_t len, X509 **ret,
			enum snp_cert_blob_form *form);
