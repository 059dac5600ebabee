/*
 * The GHCB certificate table the host hands the guest (configfs-tsm
 * auxblob, SNP_GET_EXT_REPORT certificate buffer; snp-verification §9.3):
 * 24-byte entries {guid[16], u32 offset, u32 length} (little-endian),
 * terminated by an all-zero entry, offsets from the start of the table.
 *
 * The host controls every byte, so the parse is strict: the terminator
 * must be within the buffer and within GUEST_CERTTABLE_MAX_ENTRIES; every
 * entry has a known GUID (ARK, ASK/ASVK, VCEK, VLEK, CRL), at most once
 * each; a payload is non-empty, at most SNP_EVIDENCE_MAX_CERT_DER bytes,
 * starts after the terminator, ends within the buffer and overlaps no other
 * payload; a certificate payload is exactly one DER certificate whose AMD
 * role matches its GUID. CRLs are checked for bounds only and not returned
 * (the evidence carries certificates). Bytes after the payloads (page
 * padding) are not interpreted.
 *
 * Pure. Reason codes: CERTTABLE_FORMAT (size, terminator, bounds,
 * overlap), CERTTABLE_GUID (unknown or repeated GUID), CERTTABLE_CERT
 * (payload not one DER certificate, or of another role).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "common/reason.h"

#define GUEST_CERTTABLE_MAX (1024 * 1024)
#define GUEST_CERTTABLE_MAX_ENTRIES 16
#define GUEST_CERTTABLE_ENTRY 24

/*
 * *@ret is a new stack of the certificates in table order, or NULL when the
 * table is empty (no bytes, or a terminator first): the evidence then has
 * "cert_chain": null.
 */
int guest_certtable_parse(const uint8_t *buf, size_t len, STACK_OF(X509) **ret,
			  struct ccu_reason *err);

/* Builder for tests and the simulator: @n DER payloads with @guids (16 bytes
 * each) into a malloc'ed table. */
int guest_certtable_build(const uint8_t (*guids)[16], const uint8_t *const *der,
			  const size_t *der_len, size_t n, uint8_t **ret, size_t *ret_len);

extern const uint8_t guest_guid_ark[16];
extern const uint8_t guest_guid_ask[16];
extern const uint8_t guest_guid_vcek[16];
extern const uint8_t guest_guid_vlek[16];
extern const uint8_t guest_guid_crl[16];
