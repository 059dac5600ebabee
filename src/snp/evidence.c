/*
 * Trustee's SNP evidence JSON (kbs-protocol.md §9) <-> the raw 1184-byte
 * report. The JSON is the virtee/sev serde form of the parsed report; the
 * verifier re-encodes it and checks the signature over bytes 0x000..0x29F,
 * so the mapping here must be exact in both directions. One table drives
 * both directions (and names the field at a mismatching offset).
 *
 * The parsers are pure and strict: exactly the known members, exact array
 * lengths, integers in range, nothing ignored.
 */
#include "snp/evidence.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>

#include "common/codec.h"
#include "common/jflat.h"
#include "snp/certblob.h"

/* Bound on the JSON text of one primary_evidence. A real one (report plus
 * ARK, ASK and VCEK as integer arrays) is about 20 KiB. */
#define EVIDENCE_MAX_TEXT (256 * 1024)
#define UUID_TEXT_LEN 36

enum fkind {
	F_U32,   /* JSON integer 0..2^32-1 -> u32 LE */
	F_U64,   /* JSON integer 0..2^63-1 (jansson's range) -> u64 LE */
	F_BYTES, /* array of exactly len integers 0..255 */
	F_TCB,   /* {"fmc","bootloader","tee","snp","microcode"} -> 8 bytes */
	F_CPUID, /* v3+: integer 0..255; v2: null or absent */
	F_FW,    /* {"major","minor","build"} -> build, minor, major */
	F_MIT,   /* v5: u64; below: null or absent (and omitted when emitted) */
	F_SIG,   /* {"r","s"}: 72 bytes each, little-endian as stored */
};

struct field {
	const char *name;
	enum fkind kind;
	uint16_t off;
	uint16_t len; /* bytes in the raw report */
};

/* Members in the order virtee/sev emits them (kbs-protocol.md §9.1). */
static const struct field fields[] = {
	{ "version", F_U32, SNP_OFF_VERSION, 4 },
	{ "guest_svn", F_U32, SNP_OFF_GUEST_SVN, 4 },
	{ "policy", F_U64, SNP_OFF_POLICY, 8 },
	{ "family_id", F_BYTES, SNP_OFF_FAMILY_ID, 16 },
	{ "image_id", F_BYTES, SNP_OFF_IMAGE_ID, 16 },
	{ "vmpl", F_U32, SNP_OFF_VMPL, 4 },
	{ "sig_algo", F_U32, SNP_OFF_SIG_ALGO, 4 },
	{ "current_tcb", F_TCB, SNP_OFF_CURRENT_TCB, 8 },
	{ "plat_info", F_U64, SNP_OFF_PLATFORM_INFO, 8 },
	{ "key_info", F_U32, SNP_OFF_KEY_INFO, 4 },
	{ "report_data", F_BYTES, SNP_OFF_REPORT_DATA, 64 },
	{ "measurement", F_BYTES, SNP_OFF_MEASUREMENT, 48 },
	{ "host_data", F_BYTES, SNP_OFF_HOST_DATA, 32 },
	{ "id_key_digest", F_BYTES, SNP_OFF_ID_KEY_DIGEST, 48 },
	{ "author_key_digest", F_BYTES, SNP_OFF_AUTHOR_KEY_DIGEST, 48 },
	{ "report_id", F_BYTES, SNP_OFF_REPORT_ID, 32 },
	{ "report_id_ma", F_BYTES, SNP_OFF_REPORT_ID_MA, 32 },
	{ "reported_tcb", F_TCB, SNP_OFF_REPORTED_TCB, 8 },
	{ "cpuid_fam_id", F_CPUID, SNP_OFF_CPUID_FAM_ID, 1 },
	{ "cpuid_mod_id", F_CPUID, SNP_OFF_CPUID_MOD_ID, 1 },
	{ "cpuid_step", F_CPUID, SNP_OFF_CPUID_STEP, 1 },
	{ "chip_id", F_BYTES, SNP_OFF_CHIP_ID, 64 },
	{ "committed_tcb", F_TCB, SNP_OFF_COMMITTED_TCB, 8 },
	{ "current", F_FW, SNP_OFF_CURRENT_BUILD, 3 },
	{ "committed", F_FW, SNP_OFF_COMMITTED_BUILD, 3 },
	{ "launch_tcb", F_TCB, SNP_OFF_LAUNCH_TCB, 8 },
	{ "launch_mit_vector", F_MIT, SNP_OFF_LAUNCH_MIT_VECTOR, 8 },
	{ "current_mit_vector", F_MIT, SNP_OFF_CURRENT_MIT_VECTOR, 8 },
	{ "signature", F_SIG, SNP_OFF_SIG_R, SNP_OFF_SIG_END - SNP_OFF_SIG_R },
};

static const char *const tcb_members[] = { "fmc", "bootloader", "tee", "snp", "microcode" };
static const char *const fw_members[] = { "major", "minor", "build" };
static const char *const sig_members[] = { "r", "s" };
static const char *const evidence_members[] = { "attestation_report", "cert_chain", "report_b64" };
static const char *const cert_members[] = { "cert_type", "data" };

/* ------------------------------------------------------------ helpers */

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void put_le(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* For the json_t entry points; the parser proper words types with
 * jf_type_phrase (the same phrases). */
static const char *jtype(const json_t *v)
{
	if (!v)
		return "nothing (the member is missing)";
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a real number";
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	case JSON_NULL:
		return "null";
	}
	return "unknown";
}

static const struct field *field_by_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		if (strcmp(fields[i].name, name) == 0)
			return &fields[i];
	return NULL;
}

/* Name of the report field holding byte @off (for mismatch messages). */
static const char *field_at(size_t off)
{
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		if (off >= fields[i].off && off < (size_t)fields[i].off + fields[i].len)
			return fields[i].name;
	return "reserved";
}

static bool name_in(const char *key, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(key, names[i]) == 0)
			return true;
	return false;
}

/* @o must be an object whose members are all in @names (presence of the
 * required ones is checked by the caller, member by member). */
static int check_object(const struct jf_doc *d, uint32_t o, const char *const *names, size_t n,
			const char *where, const char *code, struct ccu_reason *err)
{
	if (jf_type(d, o) != JF_OBJECT)
		return ccu_fail(err, -EBADMSG, code, "%s: expected an object, got %s", where,
				jf_type_phrase(d, o));
	for (uint32_t v = jf_first(d, o); v != JF_NONE; v = jf_next(d, v)) {
		if (!name_in(jf_key(d, v), names, n))
			return ccu_fail(err, -EBADMSG, code, "%s: unknown member \"%s\"", where,
					jf_key(d, v));
	}
	return 0;
}

static int get_uint(const struct jf_doc *d, uint32_t v, uint64_t max, const char *where,
		    const char *name, uint64_t *out, struct ccu_reason *err)
{
	int64_t i;

	if (jf_type(d, v) != JF_INTEGER)
		return ccu_fail(err, -EBADMSG, "EVIDENCE_JSON",
				"%s.%s: expected an integer 0..%llu, got %s", where, name,
				(unsigned long long)max, jf_type_phrase(d, v));
	i = jf_integer(d, v);
	if (i < 0 || (uint64_t)i > max)
		return ccu_fail(err, -EBADMSG, "EVIDENCE_JSON",
				"%s.%s: expected an integer 0..%llu, got %lld", where, name,
				(unsigned long long)max, (long long)i);
	*out = (uint64_t)i;
	return 0;
}

/*
 * An array of integers 0..255 with min..max elements into @out; the count
 * in *@n. Used for the report's fixed arrays (min == max) and cert DER.
 */
static int get_bytes(const struct jf_doc *d, uint32_t a, size_t min, size_t max, const char *where,
		     const char *name, const char *code, uint8_t *out, size_t *n,
		     struct ccu_reason *err)
{
	size_t len, bad;
	uint32_t e;

	if (jf_type(d, a) != JF_ARRAY)
		return ccu_fail(err, -EBADMSG, code,
				"%s.%s: expected an array of integers 0..255, got %s", where, name,
				jf_type_phrase(d, a));
	len = jf_size(d, a);
	if (len < min || len > max) {
		if (min == max)
			return ccu_fail(err, -EBADMSG, code, "%s.%s: expected %zu bytes, got %zu",
					where, name, min, len);
		return ccu_fail(err, -EBADMSG, code, "%s.%s: expected %zu..%zu bytes, got %zu",
				where, name, min, max, len);
	}
	if (jf_bytes(d, a, out, max, &bad) == 0) {
		*n = len;
		return 0;
	}
	e = jf_at(d, a, bad);
	return ccu_fail(err, -EBADMSG, code, "%s.%s[%zu]: expected an integer 0..255, got %s", where,
			name, bad,
			jf_type(d, e) == JF_INTEGER ? "a value out of range" : jf_type_phrase(d, e));
}

static int get_fixed_bytes(const struct jf_doc *d, uint32_t a, size_t len, const char *where,
			   const char *name, uint8_t *out, struct ccu_reason *err)
{
	size_t n;

	return get_bytes(d, a, len, len, where, name, "EVIDENCE_JSON", out, &n, err);
}

/* ------------------------------------------------------------ JSON -> raw */

struct from_ctx {
	uint32_t version;
	int turin_layout;         /* -1 before the first TCB object, else 0/1 */
	const char *first_tcb;    /* the member that set turin_layout */
};

static int tcb_from_json(const struct jf_doc *d, uint32_t o, const struct field *f,
			 struct from_ctx *c, uint8_t *out, struct ccu_reason *err)
{
	static const char *const comp[] = { "bootloader", "tee", "snp", "microcode" };
	uint8_t *dst[4];
	struct snp_tcb t = { 0 };
	uint32_t fmc;
	char where[64];
	uint64_t v = 0;
	int ret;

	snprintf(where, sizeof(where), "attestation_report.%s", f->name);
	ret = check_object(d, o, tcb_members, ARRAY_SIZE(tcb_members), where, "EVIDENCE_JSON", err);
	if (ret < 0)
		return ret;
	dst[0] = &t.bootloader;
	dst[1] = &t.tee;
	dst[2] = &t.snp;
	dst[3] = &t.microcode;
	for (size_t i = 0; i < ARRAY_SIZE(comp); i++) {
		ret = get_uint(d, jf_get(d, o, comp[i]), 255, where, comp[i], &v, err);
		if (ret < 0)
			return ret;
		*dst[i] = (uint8_t)v;
	}
	/* serde reads an absent Option as None, like null. */
	fmc = jf_get(d, o, "fmc");
	if (jf_type(d, fmc) != JF_MISSING && jf_type(d, fmc) != JF_NULL) {
		ret = get_uint(d, fmc, 255, where, "fmc", &v, err);
		if (ret < 0)
			return ret;
		t.fmc = (uint8_t)v;
		t.has_fmc = true;
	}
	/* One report has one TCB layout: a mix cannot be encoded faithfully. */
	if (c->turin_layout < 0) {
		c->turin_layout = t.has_fmc;
		c->first_tcb = f->name;
	} else if (c->turin_layout != (int)t.has_fmc) {
		return ccu_fail(err, -EBADMSG, "EVIDENCE_JSON",
				"%s: fmc is %s but %s has fmc %s (Turin and Milan/Genoa TCB layouts mixed)",
				where, t.has_fmc ? "a number" : "null", c->first_tcb,
				c->turin_layout ? "a number" : "null");
	}
	snp_tcb_encode(&t, t.has_fmc ? SNP_PRODUCT_TURIN : SNP_PRODUCT_MILAN, out);
	return 0;
}

static int fw_from_json(const struct jf_doc *d, uint32_t o, const struct field *f, uint8_t *out,
			struct ccu_reason *err)
{
	char where[64];
	uint64_t v = 0;
	int ret;

	snprintf(where, sizeof(where), "attestation_report.%s", f->name);
	ret = check_object(d, o, fw_members, ARRAY_SIZE(fw_members), where, "EVIDENCE_JSON", err);
	if (ret < 0)
		return ret;
	/* Stored as build, minor, major (fw_members is major, minor, build). */
	for (size_t i = 0; i < ARRAY_SIZE(fw_members); i++) {
		const char *m = fw_members[i];

		ret = get_uint(d, jf_get(d, o, m), 255, where, m, &v, err);
		if (ret < 0)
			return ret;
		out[2 - i] = (uint8_t)v;
	}
	return 0;
}

static int sig_from_json(const struct jf_doc *d, uint32_t o, uint8_t *out, struct ccu_reason *err)
{
	const char *where = "attestation_report.signature";
	int ret;

	ret = check_object(d, o, sig_members, ARRAY_SIZE(sig_members), where, "EVIDENCE_JSON", err);
	if (ret == 0)
		ret = get_fixed_bytes(d, jf_get(d, o, "r"), 72, where, "r", out, err);
	if (ret == 0)
		ret = get_fixed_bytes(d, jf_get(d, o, "s"), 72, where, "s", out + 72, err);
	return ret;
}

/* A member that exists only from report version @since on. */
static int optional_member(const struct jf_doc *d, uint32_t v, const struct field *f,
			   const struct from_ctx *c, uint32_t since, uint64_t max, uint8_t *out,
			   struct ccu_reason *err)
{
	uint64_t x = 0;
	int ret;

	if (c->version < since) {
		if (jf_type(d, v) != JF_MISSING && jf_type(d, v) != JF_NULL)
			return ccu_fail(err, -EBADMSG, "EVIDENCE_JSON",
					"attestation_report.%s: must be null or absent in a version %u report, got %s",
					f->name, c->version, jf_type_phrase(d, v));
		return 0;
	}
	ret = get_uint(d, v, max, "attestation_report", f->name, &x, err);
	if (ret == 0)
		put_le(out, x, f->len);
	return ret;
}

static int field_from_json(const struct jf_doc *d, uint32_t v, const struct field *f,
			   struct from_ctx *c, uint8_t *out, struct ccu_reason *err)
{
	uint64_t x = 0;
	int ret;

	switch (f->kind) {
	case F_U32:
	case F_U64:
		ret = get_uint(d, v, f->kind == F_U32 ? UINT32_MAX : INT64_MAX, "attestation_report",
			       f->name, &x, err);
		if (ret == 0)
			put_le(out + f->off, x, f->len);
		return ret;
	case F_BYTES:
		return get_fixed_bytes(d, v, f->len, "attestation_report", f->name, out + f->off,
				       err);
	case F_TCB:
		return tcb_from_json(d, v, f, c, out + f->off, err);
	case F_CPUID:
		return optional_member(d, v, f, c, 3, 255, out + f->off, err);
	case F_FW:
		return fw_from_json(d, v, f, out + f->off, err);
	case F_MIT:
		return optional_member(d, v, f, c, 5, INT64_MAX, out + f->off, err);
	case F_SIG:
		return sig_from_json(d, v, out + f->off, err);
	}
	return -EINVAL;
}

/* The CPUID product (v3+) must agree with the TCB layout the JSON chose. */
static int check_layout_product(const uint8_t *out, const struct from_ctx *c,
				struct ccu_reason *err)
{
	enum snp_product p;

	if (c->version < 3)
		return 0;
	p = snp_product_from_cpuid(out[SNP_OFF_CPUID_FAM_ID], out[SNP_OFF_CPUID_MOD_ID]);
	if (p == SNP_PRODUCT_UNKNOWN || (p == SNP_PRODUCT_TURIN) == (c->turin_layout == 1))
		return 0;
	return ccu_fail(err, -EBADMSG, "EVIDENCE_JSON",
			"attestation_report: TCB objects use the %s layout (fmc %s) but CPUID %02Xh/%02Xh is %s",
			c->turin_layout ? "Turin" : "Milan/Genoa",
			c->turin_layout ? "a number" : "null", out[SNP_OFF_CPUID_FAM_ID],
			out[SNP_OFF_CPUID_MOD_ID], snp_product_name(p));
}

int snp_report_from_jf(const struct jf_doc *d, uint32_t obj, uint8_t out[SNP_REPORT_SIZE],
		       struct ccu_reason *err)
{
	struct from_ctx c = { .turin_layout = -1 };
	uint32_t byfield[ARRAY_SIZE(fields)];
	uint64_t ver = 0;
	int ret;

	memset(out, 0, SNP_REPORT_SIZE);
	if (jf_type(d, obj) != JF_OBJECT)
		return ccu_fail(err, -EBADMSG, "EVIDENCE_JSON",
				"attestation_report: expected an object, got %s",
				jf_type_phrase(d, obj));
	/* One pass over the members files each under its field (names are
	 * unique: the parser refuses duplicates). */
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		byfield[i] = JF_NONE;
	for (uint32_t v = jf_first(d, obj); v != JF_NONE; v = jf_next(d, v)) {
		const struct field *f = field_by_name(jf_key(d, v));

		if (!f)
			return ccu_fail(err, -EBADMSG, "EVIDENCE_JSON",
					"attestation_report: unknown member \"%s\"", jf_key(d, v));
		byfield[f - fields] = v;
	}
	/* The version decides which optional members must be present. */
	ret = get_uint(d, byfield[0], UINT32_MAX, "attestation_report", "version", &ver, err);
	if (ret < 0)
		return ret;
	if (ver < SNP_REPORT_MIN_VERSION || ver > SNP_REPORT_MAX_VERSION)
		return ccu_fail(err, -EBADMSG, "EVIDENCE_JSON",
				"attestation_report.version: %llu is not supported (2 to 5)",
				(unsigned long long)ver);
	c.version = (uint32_t)ver;
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		const struct field *f = &fields[i];

		ret = field_from_json(d, byfield[i], f, &c, out, err);
		if (ret < 0) {
			memset(out, 0, SNP_REPORT_SIZE);
			return ret;
		}
	}
	ret = check_layout_product(out, &c, err);
	if (ret < 0)
		memset(out, 0, SNP_REPORT_SIZE);
	return ret;
}

/* ------------------------------------------------------------ raw -> JSON */

/* Adds @v to @o; false when @v is NULL or the insertion failed (@v is
 * released either way). */
static bool put(json_t *o, const char *key, json_t *v)
{
	return v && json_object_set_new(o, key, v) == 0;
}

static json_t *bytes_json(const uint8_t *b, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++) {
		if (json_array_append_new(a, json_integer(b[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* jansson integers are signed 64-bit: a u64 above that has no JSON form
 * here (none of the report's u64 fields uses bit 63 today). */
static json_t *u64_json(uint64_t v)
{
	if (v > INT64_MAX) {
		errno = ERANGE;
		return NULL;
	}
	return json_integer((json_int_t)v);
}

static json_t *tcb_json(const uint8_t raw[8], enum snp_product p)
{
	struct snp_tcb t;
	json_t *o = json_object();
	bool ok;

	if (!o)
		return NULL;
	/* The layout's reserved bytes have no JSON member; evidence_build
	 * refuses reports where they are not zero. */
	(void)snp_tcb_decode(raw, p, &t);
	ok = put(o, "fmc", t.has_fmc ? json_integer(t.fmc) : json_null());
	ok = ok && put(o, "bootloader", json_integer(t.bootloader));
	ok = ok && put(o, "tee", json_integer(t.tee));
	ok = ok && put(o, "snp", json_integer(t.snp));
	ok = ok && put(o, "microcode", json_integer(t.microcode));
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *fw_json(const uint8_t *b)
{
	json_t *o = json_object();

	if (o && put(o, "major", json_integer(b[2])) && put(o, "minor", json_integer(b[1])) &&
	    put(o, "build", json_integer(b[0])))
		return o;
	json_decref(o);
	return NULL;
}

static json_t *sig_json(const uint8_t *b)
{
	json_t *o = json_object();

	if (o && put(o, "r", bytes_json(b, 72)) && put(o, "s", bytes_json(b + 72, 72)))
		return o;
	json_decref(o);
	return NULL;
}

/* The member for @f, or NULL with *omit set when the member is left out. */
static json_t *field_json(const uint8_t *b, const struct field *f, uint32_t version,
			  enum snp_product p, bool *omit)
{
	*omit = false;
	switch (f->kind) {
	case F_U32:
		return json_integer(le32(b + f->off));
	case F_U64:
		return u64_json(le64(b + f->off));
	case F_BYTES:
		return bytes_json(b + f->off, f->len);
	case F_TCB:
		return tcb_json(b + f->off, p);
	case F_CPUID:
		/* v2: serde's None; the member stays, as null. */
		return version >= 3 ? json_integer(b[f->off]) : json_null();
	case F_FW:
		return fw_json(b + f->off);
	case F_MIT:
		/* Below v5 left out, as Trustee's attester (virtee/sev 6) does. */
		*omit = version < 5;
		return *omit ? NULL : u64_json(le64(b + f->off));
	case F_SIG:
		return sig_json(b + f->off);
	}
	return NULL;
}

json_t *snp_report_to_json(const struct snp_report *r, enum snp_product product)
{
	uint8_t b[SNP_REPORT_SIZE];
	json_t *o = json_object();

	if (!o)
		return NULL;
	/* Work from the encoded bytes so the table is the one mapping. */
	snp_report_encode(r, b);
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		bool omit;
		json_t *v = field_json(b, &fields[i], r->version, product, &omit);

		if (omit)
			continue;
		if (!put(o, fields[i].name, v)) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

/* ------------------------------------------------------------ certificates */

enum cn_kind { CN_OTHER, CN_ARK, CN_ASK, CN_ASVK, CN_VCEK, CN_VLEK };

static bool has_prefix(const char *s, const char *p)
{
	size_t n = strlen(p);

	/* A bare prefix ("ARK-") names no product: not a match. */
	return strncmp(s, p, n) == 0 && s[n] != '\0';
}

/* AMD's subject CNs: ARK-<P>, SEV-<P> (ASK), SEV-VLEK-<P> (ASVK), SEV-VCEK,
 * SEV-VLEK. The subject must have exactly one CN. */
static enum cn_kind cert_cn_kind(const X509 *x)
{
	const X509_NAME *name = X509_get_subject_name(x);
	const X509_NAME_ENTRY *ent;
	unsigned char *utf8 = NULL;
	enum cn_kind k = CN_OTHER;
	const char *cn;
	int idx, len;

	idx = name ? X509_NAME_get_index_by_NID(name, NID_commonName, -1) : -1;
	if (idx < 0 || X509_NAME_get_index_by_NID(name, NID_commonName, idx) >= 0)
		return CN_OTHER;
	ent = X509_NAME_get_entry(name, idx);
	len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(ent));
	if (len < 0)
		return CN_OTHER;
	cn = (const char *)utf8;
	if (strlen(cn) != (size_t)len)
		k = CN_OTHER; /* embedded NUL */
	else if (strcmp(cn, "SEV-VCEK") == 0)
		k = CN_VCEK;
	else if (strcmp(cn, "SEV-VLEK") == 0)
		k = CN_VLEK;
	else if (has_prefix(cn, "ARK-"))
		k = CN_ARK;
	else if (has_prefix(cn, "SEV-VLEK-"))
		k = CN_ASVK;
	else if (has_prefix(cn, "SEV-"))
		k = CN_ASK;
	OPENSSL_free(utf8);
	return k;
}

static const char *cn_kind_name(enum cn_kind k)
{
	static const char *const names[] = {
		[CN_OTHER] = "not an AMD name", [CN_ARK] = "ARK-*", [CN_ASK] = "SEV-* (ASK)",
		[CN_ASVK] = "SEV-VLEK-* (ASVK)", [CN_VCEK] = "SEV-VCEK", [CN_VLEK] = "SEV-VLEK",
	};

	return names[k];
}

/* cert_type strings; the X.509 ones come first (their index is tested). */
enum cert_type { CT_ARK, CT_ASK, CT_VCEK, CT_VLEK, CT_CRL, CT_EMPTY, CT_OTHER, CT_INVALID };
static const char *const cert_type_names[] = { "ARK", "ASK", "VCEK", "VLEK", "CRL", "Empty" };

static bool cn_fits_type(enum cn_kind k, enum cert_type t)
{
	switch (t) {
	case CT_ARK:
		return k == CN_ARK;
	case CT_ASK: /* Trustee's attester sends an ASVK as "ASK" */
		return k == CN_ASK || k == CN_ASVK;
	case CT_VCEK:
		return k == CN_VCEK;
	case CT_VLEK:
		return k == CN_VLEK;
	default:
		return false;
	}
}

static bool is_uuid(const char *s)
{
	if (strlen(s) != UUID_TEXT_LEN)
		return false;
	for (size_t i = 0; i < UUID_TEXT_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		bool hex = strchr("0123456789abcdefABCDEF", s[i]) != NULL;

		if (dash ? s[i] != '-' : !hex)
			return false;
	}
	return true;
}

static enum cert_type cert_type_from_json(const struct jf_doc *d, uint32_t t)
{
	const char *s = jf_string(d, t, NULL);
	uint32_t o;

	if (s) {
		for (size_t i = 0; i < ARRAY_SIZE(cert_type_names); i++)
			if (strcmp(s, cert_type_names[i]) == 0)
				return (enum cert_type)i;
		return CT_INVALID;
	}
	/* serde's externally tagged OTHER(Uuid): {"OTHER": "<uuid>"} */
	o = jf_size(d, t) == 1 ? jf_get(d, t, "OTHER") : JF_NONE;
	s = jf_string(d, o, NULL);
	if (s && is_uuid(s))
		return CT_OTHER;
	return CT_INVALID;
}

/*
 * One cert_chain entry. ARK/ASK/VCEK/VLEK become X509s in @certs. CRL,
 * Empty and OTHER entries are checked for shape only and then not used:
 * the verifier takes revocation from its own configuration and has no use
 * for vendor-specific blobs, and Trustee's verifier ignores them too.
 */
static int cert_entry(const struct jf_doc *d, uint32_t ent, size_t idx, uint8_t *der,
		      STACK_OF(X509) *certs, struct ccu_reason *err)
{
	uint32_t type;
	char where[48];
	enum cert_type t;
	enum cn_kind k;
	size_t n;
	X509 *x;
	int ret;

	snprintf(where, sizeof(where), "cert_chain[%zu]", idx);
	ret = check_object(d, ent, cert_members, ARRAY_SIZE(cert_members), where, "EVIDENCE_CERT",
			   err);
	if (ret < 0)
		return ret;
	type = jf_get(d, ent, "cert_type");
	t = cert_type_from_json(d, type);
	if (t == CT_INVALID)
		return ccu_fail(err, -EBADMSG, "EVIDENCE_CERT",
				"%s.cert_type: expected ARK, ASK, VCEK, VLEK, CRL, Empty or {\"OTHER\": uuid}, got %s",
				where,
				jf_type(d, type) == JF_STRING ? "an unknown name" : jf_type_phrase(d, type));
	ret = get_bytes(d, jf_get(d, ent, "data"), t <= CT_VLEK ? 1 : 0,
			SNP_EVIDENCE_MAX_CERT_DER, where, "data", "EVIDENCE_CERT", der, &n, err);
	if (ret < 0 || t > CT_VLEK)
		return ret;
	/* DER (optionally zero-padded) or one PEM block, as upstream accepts */
	if (snp_cert_blob_parse(der, n, &x, NULL) < 0)
		return ccu_fail(err, -EBADMSG, "EVIDENCE_CERT",
				"%s: %s data is not one X.509 certificate (DER, DER + zero "
				"padding, or one PEM block; %zu bytes)",
				where, cert_type_names[t], n);
	k = cert_cn_kind(x);
	if (!cn_fits_type(k, t)) {
		X509_free(x);
		return ccu_fail(err, -EBADMSG, "EVIDENCE_CERT",
				"%s: cert_type %s but the subject CN is %s", where,
				cert_type_names[t], cn_kind_name(k));
	}
	if (!sk_X509_push(certs, x)) {
		X509_free(x);
		return -ENOMEM;
	}
	return 0;
}

/* cert_chain -> *ret: NULL for null and for a list without any X.509
 * entry (both mean "no certificates"), else a non-empty stack. */
static int cert_chain_from_json(const struct jf_doc *d, uint32_t chain, STACK_OF(X509) **ret,
				struct ccu_reason *err)
{
	STACK_OF(X509) *certs;
	uint8_t *der;
	size_t n, i = 0;
	int r = 0;

	*ret = NULL;
	if (jf_type(d, chain) == JF_NULL)
		return 0;
	if (jf_type(d, chain) != JF_ARRAY)
		return ccu_fail(err, -EBADMSG, "EVIDENCE_CERT",
				"cert_chain: expected null or an array, got %s",
				jf_type_phrase(d, chain));
	n = jf_size(d, chain);
	/* Trustee's attester sends null, never []; its verifier takes any
	 * list as "chain provided" and then fails for want of a VCEK. */
	if (n == 0)
		return ccu_fail(err, -EBADMSG, "EVIDENCE_CERT",
				"cert_chain: [] is not allowed (null means no certificates)");
	if (n > SNP_EVIDENCE_MAX_CERTS)
		return ccu_fail(err, -EBADMSG, "EVIDENCE_CERT",
				"cert_chain: %zu entries, at most %d allowed", n,
				SNP_EVIDENCE_MAX_CERTS);
	certs = sk_X509_new_null();
	der = malloc(SNP_EVIDENCE_MAX_CERT_DER);
	if (!certs || !der)
		r = -ENOMEM;
	for (uint32_t e = jf_first(d, chain); r == 0 && e != JF_NONE; e = jf_next(d, e), i++)
		r = cert_entry(d, e, i, der, certs, err);
	free(der);
	if (r < 0 || sk_X509_num(certs) == 0)
		sk_X509_pop_free(certs, X509_free);
	else
		*ret = certs;
	return r;
}

/* ------------------------------------------------------------ evidence */

static int raw_member(const struct jf_doc *d, uint32_t b64,
		      const uint8_t from_json[SNP_REPORT_SIZE], uint8_t raw[SNP_REPORT_SIZE],
		      struct ccu_reason *err)
{
	size_t len = 0;
	const char *s = jf_string(d, b64, &len);
	int n;

	if (!s)
		return ccu_fail(err, -EBADMSG, "EVIDENCE_JSON",
				"report_b64: expected a base64 string, got %s", jf_type_phrase(d, b64));
	n = len == ccu_b64_encoded_len(SNP_REPORT_SIZE, CCU_B64_STD) ?
		    ccu_b64_decode(s, len, CCU_B64_STD, raw, SNP_REPORT_SIZE) :
		    -EINVAL;
	if (n != SNP_REPORT_SIZE)
		return ccu_fail(err, -EBADMSG, "EVIDENCE_JSON",
				"report_b64: expected standard base64 of %d bytes (%zu characters), got %zu characters%s",
				SNP_REPORT_SIZE, ccu_b64_encoded_len(SNP_REPORT_SIZE, CCU_B64_STD),
				len, n < 0 ? " that do not decode" : "");
	/* The whole report, not only the signed range: a signature in the
	 * JSON that differs from the raw one is just as ambiguous. */
	for (size_t i = 0; i < SNP_REPORT_SIZE; i++)
		if (raw[i] != from_json[i])
			return ccu_fail(err, -EBADMSG, "EVIDENCE_MISMATCH",
					"attestation_report and report_b64 differ at byte 0x%03zX (%s): JSON 0x%02x, raw 0x%02x",
					i, field_at(i), from_json[i], raw[i]);
	return 0;
}

int snp_evidence_parse_jf(const struct jf_doc *d, uint32_t obj, struct snp_evidence *out,
			  struct ccu_reason *err)
{
	uint8_t raw[SNP_REPORT_SIZE];
	struct snp_report r;
	uint32_t b64;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = check_object(d, obj, evidence_members, ARRAY_SIZE(evidence_members),
			   "primary_evidence", "EVIDENCE_JSON", err);
	if (ret < 0)
		return ret;
	if (jf_get(d, obj, "cert_chain") == JF_NONE)
		return ccu_fail(err, -EBADMSG, "EVIDENCE_JSON",
				"primary_evidence: member \"cert_chain\" is missing (null when there are no certificates)");
	ret = snp_report_from_jf(d, jf_get(d, obj, "attestation_report"), out->raw, err);
	if (ret < 0)
		return ret;
	b64 = jf_get(d, obj, "report_b64");
	if (b64 != JF_NONE) {
		ret = raw_member(d, b64, out->raw, raw, err);
		if (ret < 0)
			goto fail;
		out->had_raw_member = true;
	}
	/* Hand on only a well-formed report (FORMAT_* reasons otherwise). */
	ret = snp_report_parse(out->raw, SNP_REPORT_SIZE, &r, err);
	if (ret < 0)
		goto fail;
	ret = cert_chain_from_json(d, jf_get(d, obj, "cert_chain"), &out->certs, err);
	if (ret < 0)
		goto fail;
	return 0;
fail:
	snp_evidence_done(out);
	return ret;
}

int snp_evidence_parse_text(const char *text, size_t len, struct snp_evidence *out,
			    struct ccu_reason *err)
{
	struct jf_error jerr;
	struct jf_doc *d;
	int ret;

	memset(out, 0, sizeof(*out));
	if (len > EVIDENCE_MAX_TEXT)
		return ccu_fail(err, -EBADMSG, "EVIDENCE_JSON",
				"primary_evidence is %zu bytes of JSON, at most %d allowed", len,
				EVIDENCE_MAX_TEXT);
	ret = jf_parse(text, len, &d, &jerr);
	if (ret == -ENOMEM)
		return ccu_fail(err, ret, "EVIDENCE_JSON", "out of memory parsing primary_evidence");
	if (ret < 0)
		return ccu_fail(err, -EBADMSG, "EVIDENCE_JSON",
				"primary_evidence is not valid JSON: %s (line %d, column %d)", jerr.text,
				jerr.line, jerr.column);
	ret = snp_evidence_parse_jf(d, jf_root(d), out, err);
	jf_free(d);
	return ret;
}

/*
 * The json_t entry points: a copy of @j through jflat, so that one parser
 * decides. Not on the broker's path (it parses the request with jflat).
 */
static int json_to_jf(const json_t *j, const char *where, struct jf_doc **d,
		      struct ccu_reason *err)
{
	struct jf_error jerr;
	char *text;
	int r;

	*d = NULL;
	if (!json_is_object(j))
		return ccu_fail(err, -EBADMSG, "EVIDENCE_JSON", "%s: expected an object, got %s",
				where, jtype(j));
	text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!text)
		return ccu_fail(err, -ENOMEM, "EVIDENCE_JSON", "%s: out of memory", where);
	r = jf_parse(text, strlen(text), d, &jerr);
	free(text);
	if (r < 0)
		return ccu_fail(err, r, "EVIDENCE_JSON", "%s: %s", where,
				r == -ENOMEM ? "out of memory" : jerr.text);
	return 0;
}

int snp_report_from_json(const json_t *obj, uint8_t out[SNP_REPORT_SIZE], struct ccu_reason *err)
{
	struct jf_doc *d;
	int r;

	memset(out, 0, SNP_REPORT_SIZE);
	r = json_to_jf(obj, "attestation_report", &d, err);
	if (r == 0)
		r = snp_report_from_jf(d, jf_root(d), out, err);
	jf_free(d);
	return r;
}

int snp_evidence_parse(const json_t *obj, struct snp_evidence *out, struct ccu_reason *err)
{
	struct jf_doc *d;
	int r;

	memset(out, 0, sizeof(*out));
	r = json_to_jf(obj, "primary_evidence", &d, err);
	if (r == 0)
		r = snp_evidence_parse_jf(d, jf_root(d), out, err);
	jf_free(d);
	return r;
}

void snp_evidence_done(struct snp_evidence *e)
{
	if (!e)
		return;
	sk_X509_pop_free(e->certs, X509_free);
	e->certs = NULL;
	e->had_raw_member = false;
	memset(e->raw, 0, sizeof(e->raw));
}

/* ------------------------------------------------------------ build */

static const char *cert_type_for(enum cn_kind k)
{
	switch (k) {
	case CN_ARK:
		return "ARK";
	case CN_ASK:
	case CN_ASVK:
		return "ASK";
	case CN_VCEK:
		return "VCEK";
	case CN_VLEK:
		return "VLEK";
	case CN_OTHER:
		break;
	}
	return NULL;
}

static json_t *cert_json(X509 *x, const char *type)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	json_t *o = NULL;

	if (n <= 0)
		return NULL;
	if (n > SNP_EVIDENCE_MAX_CERT_DER) {
		errno = E2BIG;
	} else {
		o = json_object();
		if (o && !(put(o, "cert_type", json_string(type)) &&
			   put(o, "data", bytes_json(der, (size_t)n)))) {
			json_decref(o);
			o = NULL;
		}
	}
	OPENSSL_free(der);
	return o;
}

/*
 * null when there is no certificate we can label. A certificate whose name
 * is none of AMD's four is left out: it has no cert_type and the verifier
 * would not use it. More than the parser accepts is an error (E2BIG).
 */
static json_t *cert_chain_json(STACK_OF(X509) *certs)
{
	json_t *a = json_array();
	int n = certs ? sk_X509_num(certs) : 0;

	for (int i = 0; a && i < n; i++) {
		X509 *x = sk_X509_value(certs, i);
		const char *type = cert_type_for(cert_cn_kind(x));

		if (!type)
			continue;
		if (json_array_size(a) == SNP_EVIDENCE_MAX_CERTS) {
			errno = E2BIG;
			json_decref(a);
			return NULL;
		}
		if (json_array_append_new(a, cert_json(x, type)) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	if (a && json_array_size(a) == 0) {
		json_decref(a);
		return json_null();
	}
	return a;
}

/*
 * The TCB layout of the JSON form: the CPUID product's. Without one (v2, an
 * unknown model) the layout that carries all four TCB values; Milan/Genoa
 * when both do, as both then give the same bytes.
 */
static enum snp_product json_product(const struct snp_report *r)
{
	const uint8_t *tcb[] = { r->current_tcb, r->reported_tcb, r->committed_tcb, r->launch_tcb };
	enum snp_product p = snp_report_product(r);
	bool legacy = true, turin = true;
	struct snp_tcb t;

	if (p != SNP_PRODUCT_UNKNOWN)
		return p;
	for (size_t i = 0; i < ARRAY_SIZE(tcb); i++) {
		legacy = snp_tcb_decode(tcb[i], SNP_PRODUCT_MILAN, &t) && legacy;
		turin = snp_tcb_decode(tcb[i], SNP_PRODUCT_TURIN, &t) && turin;
	}
	return !legacy && turin ? SNP_PRODUCT_TURIN : SNP_PRODUCT_UNKNOWN;
}

json_t *snp_evidence_build(const uint8_t raw[SNP_REPORT_SIZE], STACK_OF(X509) *certs)
{
	uint8_t back[SNP_REPORT_SIZE];
	struct snp_report r;
	json_t *ev, *rep;
	char *b64;
	bool ok;

	if (snp_report_parse(raw, SNP_REPORT_SIZE, &r, NULL) < 0) {
		errno = EINVAL;
		return NULL;
	}
	rep = snp_report_to_json(&r, json_product(&r));
	if (!rep)
		return NULL;
	/* A report the JSON form cannot carry (a non-zero reserved TCB byte)
	 * would only be refused by the verifier: refuse it here. */
	if (snp_report_from_json(rep, back, NULL) < 0 || memcmp(back, raw, SNP_REPORT_SIZE) != 0) {
		json_decref(rep);
		errno = EBADMSG;
		return NULL;
	}
	ev = json_object();
	b64 = ccu_b64_encode_alloc(raw, SNP_REPORT_SIZE, CCU_B64_STD);
	if (!ev || !b64) {
		json_decref(rep);
		ok = false;
	} else {
		ok = put(ev, "attestation_report", rep); /* takes rep either way */
	}
	ok = ok && put(ev, "cert_chain", cert_chain_json(certs));
	ok = ok && put(ev, "report_b64", json_string(b64));
	free(b64);
	if (!ok) {
		json_decref(ev);
		return NULL;
	}
	return ev;
}
