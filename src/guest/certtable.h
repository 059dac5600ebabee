/*
 * The GHCB certificate table the host hands the guest (configfs-tsm
 * auxblob, SNP_GET_EXT_REPORT certificate buffer; snp-verification §9.3):
 * 24-byte entries {guid[16], u32 offset, u32 length} (little-endian),
 * terminated by an all-zero entry, offsets from the start of the table.
 *
 * The host controls every byte, so the parse is strict: the terminator
 * must be within the buffer and within GUEST_CERTTABLE_MAX_ENTRIES; every
 * GUID appears at most once; a payload is non-empty, at most
 * SNP_EVIDENCE_MAX_CERT_DER bytes, starts after the terminator, ends within
 * the buffer and overlaps no other payload; a payload under a known
 * certificate GUID (ARK, ASK/ASVK, VCEK, VLEK) is exactly one certificate
 * (DER, DER followed by zero padding, or one PEM block: snp/certblob.h)
 * whose AMD role matches its GUID. CRLs are checked for bounds only and not
 * returned (the evidence carries certificates). A GUID we do not know is
 * not an error: its payload is returned as an "other" entry, which the
 * evidence forwards as {"cert_type": {"OTHER": "<uuid>"}, "data": [...]}
 * the way Trustee's attester does (the broker ignores what it does not
 * use). Bytes after the payloads (page padding) are not interpreted.
 *
 * Pure. Reason codes: CERTTABLE_FORMAT (size, terminator, bounds,
 * overlap), CERTTABLE_GUID (repeated GUID), CERTTABLE_CERT
 * (payload not one DER certificate, or of another role).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
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

/* A payload under a GUID we do not know (borrowed from the table). */
struct guest_certtable_other {
	uint8_t guid[16];
	const uint8_t *data;
	size_t len;
};

/* guest_certtable_parse, and the unknown GUIDs' payloads into @others
 * (GUEST_CERTTABLE_MAX_ENTRIES slots; may be NULL to drop them). */
int guest_certtable_parse_all(const uint8_t *buf, size_t len, STACK_OF(X509) **ret,
			      struct guest_certtable_other *others, size_t *n_others,
			      struct ccu_reason *err);

/* Append @others to @evidence's cert_chain as {"cert_type":{"OTHER":uuid},
 * "data":[...]}, when cert_chain is a list (with no certificate it stays
 * null). -ENOMEM. */
int guest_certtable_add_others(json_t *evidence, const struct guest_certtable_other *others,
			       size_t n);

#define GUEST_UUID_TEXT 36
/* RFC 4122 text of a table GUID ("63da758d-e664-4564-adc5-f4b93be8accd"). */
void guest_guid_format(const uint8_t guid[16], char out[GUEST_UUID_TEXT + 1]);

/* Builder for tests and the simulator: @n DER payloads with @guids (16 bytes
 * each) into a malloc'ed table. */
int guest_certtable_build(const uint8_t (*guids)[16], const uint8_t *const *der,
			  const size_t *der_len, size_t n, uint8_t **ret, size_t *ret_len);

extern const uint8_t guest_guid_ark[16];
extern const uint8_t guest_guid_ask[16];
extern const uint8_t guest_guid_vcek[16];
extern const uint8_t guest_guid_vlek[16];
extern const uint8_t guest_guid_crl[16];
