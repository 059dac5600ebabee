#include "guest/certtable.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/macros.h"
#include "snp/certblob.h"
#include "snp/certs.h"
#include "snp/evidence.h"

/* RFC 4122 byte order, as the GHCB table stores them. */
const uint8_t guest_guid_ark[16] = { 0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52,
				     0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae };
const uint8_t guest_guid_ask[16] = { 0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4,
				     0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82 };
const uint8_t guest_guid_vcek[16] = { 0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
				      0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd };
const uint8_t guest_guid_vlek[16] = { 0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e,
				      0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1 };
const uint8_t guest_guid_crl[16] = { 0x92, 0xf8, 0x1b, 0xc3, 0x58, 0x11, 0x4d, 0x3d,
				     0x97, 0xff, 0xd1, 0x9f, 0x88, 0xdc, 0x67, 0xea };

enum kind { K_ARK, K_ASK, K_VCEK, K_VLEK, K_CRL, K_COUNT, K_OTHER = K_COUNT };

static const struct {
	const uint8_t *guid;
	const char *name;
} kinds[K_COUNT] = {
	[K_ARK] = { guest_guid_ark, "ARK" },	[K_ASK] = { guest_guid_ask, "ASK" },
	[K_VCEK] = { guest_guid_vcek, "VCEK" }, [K_VLEK] = { guest_guid_vlek, "VLEK" },
	[K_CRL] = { guest_guid_crl, "CRL" },
};

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static bool role_matches(enum kind k, enum snp_cert_role role)
{
	switch (k) {
	case K_ARK:
		return role == SNP_CERT_ARK;
	case K_ASK:
		return role == SNP_CERT_ASK || role == SNP_CERT_ASVK;
	case K_VCEK:
		return role == SNP_CERT_VCEK;
	case K_VLEK:
		return role == SNP_CERT_VLEK;
	default:
		return false;
	}
}

struct entry {
	enum kind kind;
	uint32_t off, len;
	const uint8_t *guid;
};

static const char *kind_name(enum kind k)
{
	return k == K_OTHER ? "OTHER" : kinds[k].name;
}

static int read_entries(const uint8_t *buf, size_t len, struct entry *e, size_t *ret_n,
			struct ccu_reason *err)
{
	unsigned seen = 0;
	size_t n = 0;

	for (;; n++) {
		const uint8_t *p = buf + n * GUEST_CERTTABLE_ENTRY;
		if ((n + 1) * GUEST_CERTTABLE_ENTRY > len)
			return ccu_fail(err, -EBADMSG, "CERTTABLE_FORMAT",
					"certificate table: no terminating entry within %zu bytes", len);
		if (all_zero(p, GUEST_CERTTABLE_ENTRY))
			break;
		if (n == GUEST_CERTTABLE_MAX_ENTRIES)
			return ccu_fail(err, -EBADMSG, "CERTTABLE_FORMAT",
					"certificate table: more than %d entries",
					GUEST_CERTTABLE_MAX_ENTRIES);
		size_t k;
		for (k = 0; k < K_COUNT; k++)
			if (memcmp(p, kinds[k].guid, 16) == 0)
				break;
		/* An unknown GUID is forwarded as {"OTHER": uuid}, as upstream's
		 * attester does; only a repeated GUID is an error. */
		for (size_t j = 0; k == K_OTHER && j < n; j++)
			if (memcmp(p, e[j].guid, 16) == 0)
				return ccu_fail(err, -EBADMSG, "CERTTABLE_GUID",
						"certificate table entry %zu: GUID of entry %zu again",
						n, j);
		if (k != K_OTHER && (seen & (1u << k)))
			return ccu_fail(err, -EBADMSG, "CERTTABLE_GUID",
					"certificate table entry %zu: second %s entry", n,
					kinds[k].name);
		if (k != K_OTHER)
			seen |= 1u << k;
		e[n].kind = (enum kind)k;
		e[n].guid = p;
		e[n].off = le32(p + 16);
		e[n].len = le32(p + 20);
	}
	*ret_n = n;
	return 0;
}

static int check_bounds(const struct entry *e, size_t n, size_t len, struct ccu_reason *err)
{
	size_t table_end = (n + 1) * GUEST_CERTTABLE_ENTRY;

	for (size_t i = 0; i < n; i++) {
		uint64_t end = (uint64_t)e[i].off + e[i].len;
		if (e[i].len == 0 || e[i].len > SNP_EVIDENCE_MAX_CERT_DER)
			return ccu_fail(err, -EBADMSG, "CERTTABLE_FORMAT",
					"certificate table %s: length %u, expected 1..%d",
					kind_name(e[i].kind), e[i].len, SNP_EVIDENCE_MAX_CERT_DER);
		if (e[i].off < table_end || end > len)
			return ccu_fail(err, -EBADMSG, "CERTTABLE_FORMAT",
					"certificate table %s: payload %u+%u outside %zu..%zu",
					kind_name(e[i].kind), e[i].off, e[i].len, table_end, len);
		for (size_t j = 0; j < i; j++) {
			uint64_t jend = (uint64_t)e[j].off + e[j].len;
			if (e[i].off < jend && e[j].off < end)
				return ccu_fail(err, -EBADMSG, "CERTTABLE_FORMAT",
						"certificate table: %s and %s payloads overlap",
						kind_name(e[j].kind), kind_name(e[i].kind));
		}
	}
	return 0;
}

static int load_cert(const uint8_t *buf, const struct entry *e, X509 **ret,
		     struct ccu_reason *err)
{
	X509 *x = NULL;

	/* DER (zero padding allowed) or one PEM block, as upstream accepts */
	if (snp_cert_blob_parse(buf + e->off, e->len, &x, NULL) < 0)
		return ccu_fail(err, -EBADMSG, "CERTTABLE_CERT",
				"certificate table %s: payload is not exactly one certificate "
				"(DER, DER + zero padding, or one PEM block)",
				kinds[e->kind].name);
	enum snp_cert_role role = snp_cert_role(x, NULL);
	if (!role_matches(e->kind, role)) {
		X509_free(x);
		return ccu_fail(err, -EBADMSG, "CERTTABLE_CERT",
				"certificate table %s: certificate is a %s", kinds[e->kind].name,
				snp_cert_role_name(role));
	}
	*ret = x;
	return 0;
}

int guest_certtable_parse(const uint8_t *buf, size_t len, STACK_OF(X509) **ret,
			  struct ccu_reason *err)
{
	return guest_certtable_parse_all(buf, len, ret, NULL, NULL, err);
}

int guest_certtable_parse_all(const uint8_t *buf, size_t len, STACK_OF(X509) **ret,
			      struct guest_certtable_other *others, size_t *n_others,
			      struct ccu_reason *err)
{
	struct entry e[GUEST_CERTTABLE_MAX_ENTRIES];
	STACK_OF(X509) *sk = NULL;
	size_t n = 0;
	int r;

	*ret = NULL;
	if (n_others)
		*n_others = 0;
	if (len > GUEST_CERTTABLE_MAX)
		return ccu_fail(err, -EBADMSG, "CERTTABLE_FORMAT",
				"certificate table: %zu bytes, at most %d", len, GUEST_CERTTABLE_MAX);
	if (len == 0)
		return 0;
	r = read_entries(buf, len, e, &n, err);
	if (r < 0)
		return r;
	r = check_bounds(e, n, len, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		X509 *x = NULL;
		if (e[i].kind == K_OTHER && others && n_others) {
			memcpy(others[*n_others].guid, e[i].guid, 16);
			others[*n_others].data = buf + e[i].off;
			others[*n_others].len = e[i].len;
			(*n_others)++;
		}
		if (e[i].kind == K_CRL || e[i].kind == K_OTHER)
			continue;
		if (!sk && !(sk = sk_X509_new_null()))
			return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
		r = load_cert(buf, &e[i], &x, err);
		if (r < 0)
			goto fail;
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			r = ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
			goto fail;
		}
	}
	*ret = sk;
	return 0;
fail:
	sk_X509_pop_free(sk, X509_free);
	return r;
}

int guest_certtable_build(const uint8_t (*guids)[16], const uint8_t *const *der,
			  const size_t *der_len, size_t n, uint8_t **ret, size_t *ret_len)
{
	size_t off = (n + 1) * GUEST_CERTTABLE_ENTRY, total = off;
	uint8_t *b;

	for (size_t i = 0; i < n; i++)
		total += der_len[i];
	b = calloc(1, total);
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		uint8_t *p = b + i * GUEST_CERTTABLE_ENTRY;
		memcpy(p, guids[i], 16);
		for (int k = 0; k < 4; k++) {
			p[16 + k] = (uint8_t)(off >> (8 * k));
			p[20 + k] = (uint8_t)(der_len[i] >> (8 * k));
		}
		memcpy(b + off, der[i], der_len[i]);
		off += der_len[i];
	}
	*ret = b;
	*ret_len = total;
	return 0;
}

void guest_guid_format(const uint8_t guid[16], char out[GUEST_UUID_TEXT + 1])
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[guid[i] >> 4];
		out[o++] = hex[guid[i] & 15];
	}
	out[o] = '\0';
}

int guest_certtable_add_others(json_t *evidence, const struct guest_certtable_other *others,
			       size_t n)
{
	json_t *chain = json_object_get(evidence, "cert_chain");

	/* With no certificate there is no list: "cert_chain": null lets the
	 * verifier fetch the VCEK (a list without one would make Trustee's
	 * verifier give up). */
	if (!json_is_array(chain))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char uuid[GUEST_UUID_TEXT + 1];
		json_t *data = json_array(), *ent;

		guest_guid_format(others[i].guid, uuid);
		for (size_t k = 0; data && k < others[i].len; k++)
			if (json_array_append_new(data, json_integer(others[i].data[k])) < 0) {
				json_decref(data);
				data = NULL;
			}
		ent = data ? json_pack("{s:{s:s},s:o}", "cert_type", "OTHER", uuid, "data", data)
			   : NULL;
		if (!ent || json_array_append_new(chain, ent) < 0)
			return -ENOMEM;
	}
	return 0;
}
