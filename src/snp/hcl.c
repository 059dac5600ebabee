/*
 * Azure HCL report, its runtime-data JSON and the vTPM's TPMS_ATTEST
 * (layouts in snp/hcl.h). Pure and strict: every length is bounded, every
 * header field has its one known value, the padding is zero.
 */
#include "snp/hcl.h"

#include <errno.h>
#include <string.h>

#include <jansson.h>

#include "common/codec.h"

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int az_hcl_parse(const uint8_t *buf, size_t len, struct az_hcl *out, struct ccu_reason *err)
{
	const uint8_t *ig;
	uint32_t data_size, ig_version, report_type, hash_type, var_size, status;

	memset(out, 0, sizeof(*out));
	if (len < AZ_HCL_RUNTIME_OFFSET || len > AZ_HCL_MAX)
		return ccu_fail(err, -EBADMSG, "AZ_HCL_FORMAT",
				"HCL report is %zu bytes; expected %d..%d", len,
				AZ_HCL_RUNTIME_OFFSET, AZ_HCL_MAX);
	if (le32(buf) != AZ_HCL_SIGNATURE)
		return ccu_fail(err, -EBADMSG, "AZ_HCL_FORMAT",
				"HCL report signature is 0x%08x; expected \"HCLA\"", le32(buf));
	out->version = le32(buf + 4);
	if (out->version < 1 || out->version > 2)
		return ccu_fail(err, -EBADMSG, "AZ_HCL_FORMAT",
				"HCL report header version %u is not 1 or 2", out->version);
	out->report_size = le32(buf + 8);
	out->request_type = le32(buf + 12);
	status = le32(buf + 16);
	if (out->request_type != AZ_HCL_REQUEST_TYPE_REPORT)
		return ccu_fail(err, -EBADMSG, "AZ_HCL_FORMAT",
				"HCL request type %u; expected %d", out->request_type,
				AZ_HCL_REQUEST_TYPE_REPORT);
	if (status != 0)
		return ccu_fail(err, -EBADMSG, "AZ_HCL_FORMAT",
				"HCL report status is %u; expected 0", status);
	for (size_t i = 20; i < AZ_HCL_HEADER_SIZE; i++)
		if (buf[i])
			return ccu_fail(err, -EBADMSG, "AZ_HCL_FORMAT",
					"HCL header reserved byte 0x%02zx is not zero", i);
	out->snp = buf + AZ_HCL_HEADER_SIZE;

	ig = buf + AZ_HCL_IGVM_OFFSET;
	data_size = le32(ig);
	ig_version = le32(ig + 4);
	report_type = le32(ig + 8);
	hash_type = le32(ig + 12);
	var_size = le32(ig + 16);
	if (ig_version != 1)
		return ccu_fail(err, -EBADMSG, "AZ_HCL_FORMAT",
				"IGVM request data version %u; expected 1", ig_version);
	if (report_type != AZ_HCL_REPORT_TYPE_SNP)
		return ccu_fail(err, -EBADMSG, "AZ_HCL_FORMAT",
				"IGVM report type %u is not SEV-SNP (%d)", report_type,
				AZ_HCL_REPORT_TYPE_SNP);
	if (hash_type != AZ_HCL_HASH_SHA256)
		return ccu_fail(err, -EBADMSG, "AZ_HCL_FORMAT",
				"runtime data hash type %u is not SHA-256 (%d)", hash_type,
				AZ_HCL_HASH_SHA256);
	if (var_size == 0 || var_size > len - AZ_HCL_RUNTIME_OFFSET)
		return ccu_fail(err, -EBADMSG, "AZ_HCL_FORMAT",
				"runtime data size %u does not fit the %zu-byte report", var_size,
				len);
	if (data_size != AZ_HCL_IGVM_SIZE + var_size)
		return ccu_fail(err, -EBADMSG, "AZ_HCL_FORMAT",
				"IGVM data size %u; expected %u (20 + runtime data)", data_size,
				AZ_HCL_IGVM_SIZE + var_size);
	if (out->report_size != AZ_HCL_RUNTIME_OFFSET + var_size)
		return ccu_fail(err, -EBADMSG, "AZ_HCL_FORMAT",
				"HCL report_size %u; expected %u", out->report_size,
				AZ_HCL_RUNTIME_OFFSET + var_size);
	for (size_t i = out->report_size; i < len; i++)
		if (buf[i])
			return ccu_fail(err, -EBADMSG, "AZ_HCL_FORMAT",
					"byte 0x%zx after the runtime data is not zero padding", i);
	out->runtime = buf + AZ_HCL_RUNTIME_OFFSET;
	out->runtime_len = var_size;
	return 0;
}

/* ------------------------------------------------------------ runtime data */

#define rt_fail(err, ...) ccu_fail((err), -EBADMSG, "AZ_RUNTIME_JSON", __VA_ARGS__)

static int b64url_member(const json_t *o, const char *name, uint8_t *out, size_t cap,
			 size_t *len, struct ccu_reason *err)
{
	const json_t *v = json_object_get(o, name);
	const char *s;
	size_t sl;
	int r;

	if (!json_is_string(v))
		return rt_fail(err, "HCLAkPub member '%s' is missing or not a string", name);
	s = json_string_value(v);
	sl = json_string_length(v);
	if (sl == 0 || sl > ccu_b64_encoded_len(cap, CCU_B64_URL))
		return rt_fail(err, "HCLAkPub member '%s' has a bad length", name);
	r = ccu_b64_decode(s, sl, CCU_B64_URL, out, cap);
	if (r <= 0)
		return rt_fail(err, "HCLAkPub member '%s' is not canonical base64url", name);
	*len = (size_t)r;
	return 0;
}

static int parse_ak(const json_t *k, struct az_runtime *out, struct ccu_reason *err)
{
	const char *kty = json_string_value(json_object_get(k, "kty"));
	int r;

	if (!kty || strcmp(kty, "RSA") != 0)
		return rt_fail(err, "HCLAkPub is not an RSA key (kty %s)", kty ? kty : "missing");
	r = b64url_member(k, "n", out->ak_n, sizeof(out->ak_n), &out->ak_n_len, err);
	if (r < 0)
		return r;
	r = b64url_member(k, "e", out->ak_e, sizeof(out->ak_e), &out->ak_e_len, err);
	if (r < 0)
		return r;
	if (out->ak_n_len < 256 || out->ak_n[0] == 0)
		return ccu_fail(err, -EBADMSG, "AZ_RUNTIME_JSON",
				"HCLAkPub modulus is %zu bytes (or has a leading zero); at least "
				"RSA-2048 is required",
				out->ak_n_len);
	if (out->ak_e[0] == 0)
		return rt_fail(err, "HCLAkPub exponent has a leading zero%s", "");
	return 0;
}

static int tristate(const json_t *cfg, const char *name, enum az_tristate *out,
		    struct ccu_reason *err)
{
	const json_t *v = json_object_get(cfg, name);

	*out = AZ_UNKNOWN;
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return rt_fail(err, "vm-configuration member '%s' is not a boolean", name);
	*out = json_is_true(v) ? AZ_TRUE : AZ_FALSE;
	return 0;
}

static int parse_vmcfg(const json_t *cfg, struct az_runtime *out, struct ccu_reason *err)
{
	const json_t *id;
	int r;

	if (!cfg)
		return 0;
	if (!json_is_object(cfg))
		return rt_fail(err, "'%s' is not an object", "vm-configuration");
	if ((r = tristate(cfg, "secure-boot", &out->secure_boot, err)) < 0 ||
	    (r = tristate(cfg, "tpm-enabled", &out->tpm_enabled, err)) < 0 ||
	    (r = tristate(cfg, "console-enabled", &out->console_enabled, err)) < 0)
		return r;
	id = json_object_get(cfg, "vmUniqueId");
	if (id) {
		size_t l = json_string_length(id);

		if (!json_is_string(id) || l == 0 || l > AZ_VM_ID_MAX ||
		    strlen(json_string_value(id)) != l)
			return rt_fail(err, "'%s' is not a short string", "vmUniqueId");
		for (size_t i = 0; i < l; i++) {
			char c = json_string_value(id)[i];

			if (c <= ' ' || c > '~')
				return rt_fail(err, "'%s' has a non-printable character",
					       "vmUniqueId");
		}
		memcpy(out->vm_id, json_string_value(id), l + 1);
	}
	return 0;
}

int az_runtime_parse(const uint8_t *buf, size_t len, struct az_runtime *out,
		     struct ccu_reason *err)
{
	json_error_t jerr;
	json_t *root, *keys, *ud;
	const json_t *ak = NULL;
	size_t i;
	int r = -EBADMSG;

	memset(out, 0, sizeof(*out));
	out->secure_boot = out->tpm_enabled = out->console_enabled = AZ_UNKNOWN;
	if (len == 0 || len > AZ_RUNTIME_MAX)
		return ccu_fail(err, -EBADMSG, "AZ_RUNTIME_JSON", "runtime data is %zu bytes",
				len);
	root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return ccu_fail(err, -EBADMSG, "AZ_RUNTIME_JSON",
				"runtime data is not JSON: %s (at %d)", jerr.text, jerr.position);
	if (!json_is_object(root)) {
		rt_fail(err, "runtime data is not a JSON %s", "object");
		goto out;
	}
	keys = json_object_get(root, "keys");
	if (!json_is_array(keys) || json_array_size(keys) == 0 ||
	    json_array_size(keys) > AZ_RUNTIME_MAX_KEYS) {
		rt_fail(err, "'%s' is missing, empty, too long or not an array", "keys");
		goto out;
	}
	for (i = 0; i < json_array_size(keys); i++) {
		const json_t *k = json_array_get(keys, i);
		const char *kid = json_string_value(json_object_get(k, "kid"));

		if (!json_is_object(k) || !kid) {
			rt_fail(err, "a member of '%s' is not a JWK with a kid", "keys");
			goto out;
		}
		if (strcmp(kid, "HCLAkPub") != 0)
			continue;
		if (ak) {
			rt_fail(err, "two '%s' keys", "HCLAkPub");
			goto out;
		}
		ak = k;
	}
	if (!ak) {
		rt_fail(err, "no '%s' key in the runtime data", "HCLAkPub");
		goto out;
	}
	if ((r = parse_ak(ak, out, err)) < 0 ||
	    (r = parse_vmcfg(json_object_get(root, "vm-configuration"), out, err)) < 0)
		goto out;
	r = -EBADMSG;
	ud = json_object_get(root, "user-data");
	if (ud) {
		if (!json_is_string(ud) || json_string_length(ud) != 2 * AZ_REPORT_DATA_LEN ||
		    ccu_hex_decode(json_string_value(ud), 2 * AZ_REPORT_DATA_LEN, out->user_data,
				   AZ_REPORT_DATA_LEN) != AZ_REPORT_DATA_LEN) {
			rt_fail(err, "'%s' is not 128 hex digits", "user-data");
			goto out;
		}
		out->has_user_data = true;
	}
	r = 0;
out:
	json_decref(root);
	return r;
}

/* ------------------------------------------------------------ TPMS_ATTEST */

struct rd {
	const uint8_t *p;
	size_t len, off;
	bool bad;
};

static uint64_t be(struct rd *r, size_t n)
{
	uint64_t v = 0;

	if (r->bad || r->len - r->off < n) {
		r->bad = true;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		v = v << 8 | r->p[r->off + i];
	r->off += n;
	return v;
}

/* TPM2B: a u16 size then that many bytes, at most @cap. */
static size_t tpm2b(struct rd *r, uint8_t *out, size_t cap)
{
	size_t n = (size_t)be(r, 2);

	if (r->bad || n > cap || r->len - r->off < n) {
		r->bad = true;
		return 0;
	}
	memcpy(out, r->p + r->off, n);
	r->off += n;
	return n;
}

#define tpm_fail(err, what) \
	ccu_fail((err), -EBADMSG, "AZ_TPM_FORMAT", "TPM quote (TPMS_ATTEST): %s", (what))

int az_tpm_quote_parse(const uint8_t *buf, size_t len, struct az_tpm_quote *out,
		       struct ccu_reason *err)
{
	struct rd r = { .p = buf, .len = len };
	uint8_t sel[4];
	size_t nsel, dlen;
	uint8_t digest[64];

	memset(out, 0, sizeof(*out));
	if (len > AZ_TPM_ATTEST_MAX)
		return tpm_fail(err, "too long");
	if (be(&r, 4) != AZ_TPM_GENERATED || r.bad)
		return tpm_fail(err, "magic is not TPM_GENERATED_VALUE");
	if (be(&r, 2) != AZ_TPM_ST_ATTEST_QUOTE || r.bad)
		return tpm_fail(err, "type is not TPM_ST_ATTEST_QUOTE");
	out->signer_len = tpm2b(&r, out->signer, sizeof(out->signer));
	out->extra_len = tpm2b(&r, out->extra, sizeof(out->extra));
	out->clock = be(&r, 8);
	out->reset_count = (uint32_t)be(&r, 4);
	out->restart_count = (uint32_t)be(&r, 4);
	out->safe = (uint8_t)be(&r, 1);
	out->firmware = be(&r, 8);
	if (r.bad)
		return tpm_fail(err, "truncated header");
	if (out->safe > 1)
		return tpm_fail(err, "clockInfo.safe is not a TPMI_YES_NO");
	if (be(&r, 4) != 1 || r.bad)
		return tpm_fail(err, "PCR selection is not exactly one bank");
	if (be(&r, 2) != AZ_TPM_ALG_SHA256 || r.bad)
		return tpm_fail(err, "PCR bank is not sha256");
	nsel = (size_t)be(&r, 1);
	if (r.bad || nsel < 3 || nsel > sizeof(sel) || r.len - r.off < nsel)
		return tpm_fail(err, "sizeofSelect is not 3..4 or truncated");
	memcpy(sel, buf + r.off, nsel);
	r.off += nsel;
	if (nsel == 4 && sel[3])
		return tpm_fail(err, "PCR above 23 selected");
	out->pcr_mask = (uint32_t)sel[0] | (uint32_t)sel[1] << 8 | (uint32_t)sel[2] << 16;
	if (!out->pcr_mask)
		return tpm_fail(err, "no PCR selected");
	dlen = tpm2b(&r, digest, sizeof(digest));
	if (r.bad || dlen != 32)
		return tpm_fail(err, "pcrDigest is not a 32-byte digest");
	memcpy(out->pcr_digest, digest, 32);
	if (r.off != len)
		return tpm_fail(err, "trailing bytes");
	return 0;
}

struct wr {
	uint8_t *p;
	size_t cap, off;
	bool bad;
};

static void put(struct wr *w, uint64_t v, size_t n)
{
	if (w->bad || w->cap - w->off < n) {
		w->bad = true;
		return;
	}
	for (size_t i = 0; i < n; i++)
		w->p[w->off + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	w->off += n;
}

static void put_bytes(struct wr *w, const uint8_t *b, size_t n)
{
	if (w->bad || w->cap - w->off < n) {
		w->bad = true;
		return;
	}
	memcpy(w->p + w->off, b, n);
	w->off += n;
}

int az_tpm_quote_encode(const struct az_tpm_quote *q, uint8_t *out, size_t cap)
{
	struct wr w = { .p = out, .cap = cap };

	if (q->signer_len > AZ_TPM_NAME_MAX || q->extra_len > AZ_TPM_DATA_MAX)
		return -EINVAL;
	put(&w, AZ_TPM_GENERATED, 4);
	put(&w, AZ_TPM_ST_ATTEST_QUOTE, 2);
	put(&w, q->signer_len, 2);
	put_bytes(&w, q->signer, q->signer_len);
	put(&w, q->extra_len, 2);
	put_bytes(&w, q->extra, q->extra_len);
	put(&w, q->clock, 8);
	put(&w, q->reset_count, 4);
	put(&w, q->restart_count, 4);
	put(&w, q->safe, 1);
	put(&w, q->firmware, 8);
	put(&w, 1, 4);
	put(&w, AZ_TPM_ALG_SHA256, 2);
	put(&w, 3, 1);
	put(&w, q->pcr_mask & 0xff, 1);
	put(&w, (q->pcr_mask >> 8) & 0xff, 1);
	put(&w, (q->pcr_mask >> 16) & 0xff, 1);
	put(&w, 32, 2);
	put_bytes(&w, q->pcr_digest, 32);
	return w.bad ? -ENOSPC : (int)w.off;
}
