/*
 * Azure vTPM evidence (az-snp-vtpm): Trustee's real test evidence verifies
 * (v0, v1, v2, Genoa) with the qualifying data its tests use; every
 * component tampered fails at its own check with its own code; the HCL
 * report, runtime-data JSON, TPMS_ATTEST and evidence JSON parsers refuse
 * malformed input; the pcr.N / azure.* policy rules.
 */
#include "helpers/testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "broker/azure_verify.h"
#include "common/codec.h"
#include "common/macros.h"
#include "snp/azure.h"
#include "snp/certs.h"
#include "snp/hcl.h"
#include "snp/policy.h"

#define R2(s) s s
#define R4(s) R2(s) R2(s)
#define R8(s) R4(s) R4(s)
#define R16(s) R8(s) R8(s)
#define R32(s) R16(s) R16(s)
#define R64 R32("ab")
#define R96 R32("ab") R16("ab")
#define R128 R64 R64
#define R128X R32("zz") R32("zz")
#define R32A "[" R16("1,") R8("1,") R4("1,") "1,1,1,1]"

/* The qualifying data Trustee's own tests pass for each evidence file
 * (deps/verifier/src/az_snp_vtpm/mod.rs). */
#define NONCE_V01 "6368616c6c656e6765" /* "challenge" */
#define NONCE_V2                                                                                   \
	"982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f819ef"
#define NONCE_GENOA                                                                                \
	"0218488bae25d2509232bf676f1a66a30d7372add909109b36016ef136f2938ca05475f8b46094de6b64270ea35d950f"
#define V2_PCR0 "84275b2f4312cd4fc6cbe6b152ad3c3683e513d9f1e23c34fca160c8cca7a6a7"

struct vec {
	const char *file;
	const char *product;
	const char *nonce;
};

static const struct vec vecs[] = {
	{ "trustee/az-evidence-v0.json", "milan", NONCE_V01 },
	{ "trustee/az-evidence-v1.json", "milan", NONCE_V01 },
	{ "trustee/az-evidence-v2.json", "milan", NONCE_V2 },
	{ "trustee/az-evidence-genoa.json", "genoa", NONCE_GENOA },
};

struct fx {
	struct snp_trust *trust;
	STACK_OF(X509) *pool;
	struct az_evidence ev;
	struct az_claims c;
	struct snp_verify_opts vo;
	uint8_t nonce[64];
	size_t nlen;
};

static void load_chain(STACK_OF(X509) *pool, const char *product)
{
	char rel[64];

	for (int i = 0; i < 2; i++) {
		STACK_OF(X509) *s = NULL;

		snprintf(rel, sizeof(rel), "amd-roots/%s/%s.pem", product, i ? "ark" : "ask");
		assert_int_equal(snp_certs_load_file(tu_vec(rel), &s, NULL), 0);
		while (sk_X509_num(s) > 0)
			sk_X509_push(pool, sk_X509_shift(s));
		sk_X509_free(s);
	}
}

static time_t after_not_before(X509 *x)
{
	struct tm tm;

	assert_int_equal(ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm), 1);
	return timegm(&tm) + 86400;
}

static void fx_load(struct fx *f, const struct vec *v)
{
	size_t len;
	uint8_t *text = tu_read(tu_vec(v->file), &len);
	struct ccu_reason why = { 0 };

	memset(f, 0, sizeof(*f));
	if (az_evidence_parse_text((const char *)text, len, &f->ev, &why) != 0)
		fail_msg("%s: %s: %s", v->file, why.code, why.detail);
	free(text);
	f->trust = snp_trust_new();
	f->pool = sk_X509_new_null();
	assert_non_null(f->trust);
	load_chain(f->pool, v->product);
	f->vo.at = after_not_before(f->ev.vcek);
	f->nlen = strlen(v->nonce) / 2;
	assert_int_equal(ccu_hex_decode(v->nonce, 2 * f->nlen, f->nonce, sizeof(f->nonce)),
			 (int)f->nlen);
}

static void fx_done(struct fx *f)
{
	az_evidence_done(&f->ev);
	sk_X509_pop_free(f->pool, X509_free);
	snp_trust_free(f->trust);
}

/* Run the verification; "" when verified, else the reason code. */
static const char *run(struct fx *f, struct ccu_reason *why)
{
	struct snp_verdict v;
	int r;

	ccu_reason_clear(why);
	r = broker_az_verify(f->trust, &f->ev, f->ev.vcek, f->pool, &f->vo, f->nonce, f->nlen, &f->c, &v, why);
	if (r == 0)
		return "";
	assert_int_equal(r, -EKEYREJECTED);
	return why->code;
}

static void expect(struct fx *f, const char *code)
{
	struct ccu_reason why;
	const char *got = run(f, &why);

	if (strcmp(got, code) != 0)
		fail_msg("expected '%s', got '%s' (%s)", code, got, why.detail);
}

static void test_vectors_verify(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	for (size_t i = 0; i < ARRAY_SIZE(vecs); i++) {
		struct fx f;
		char pcr0[65];

		fx_load(&f, &vecs[i]);
		expect(&f, "");
		assert_true(f.c.quote_ok);
		assert_true(f.c.binding_checked);
		assert_int_equal(f.c.pcr_mask, 0xffffff);
		assert_int_equal(f.c.report.vmpl, 0);
		assert_int_equal(f.c.runtime.console_enabled, AZ_TRUE);
		assert_int_equal(f.c.runtime.secure_boot, AZ_TRUE);
		if (i == 2) {
			ccu_hex_encode(f.c.pcr[0], 32, pcr0, sizeof(pcr0));
			assert_string_equal(pcr0, V2_PCR0);
			assert_string_equal(f.c.runtime.vm_id, "7DF7B373-B947-4AAA-96E5-C358F2A03D20");
		}
		/* Without a binding the quote still verifies and its data is reported. */
		{
			struct snp_verdict v;
			struct ccu_reason why = { 0 };

			assert_int_equal(broker_az_verify(f.trust, &f.ev, f.ev.vcek, f.pool, &f.vo, NULL, 0,
							  &f.c, &v, &why),
					 0);
			assert_false(f.c.binding_checked);
			assert_int_equal(f.c.quote.extra_len, f.nlen);
			assert_memory_equal(f.c.quote.extra, f.nonce, f.nlen);
		}
		fx_done(&f);
	}
}

/* Each component of the evidence, changed, fails at its own check. */
static void test_tampered(void **state)
{
	(void)state;
	TU_REQUIRE_VECTORS();
	for (size_t i = 0; i < ARRAY_SIZE(vecs); i++) {
		struct fx f;
		size_t rt = AZ_HCL_RUNTIME_OFFSET + 40;

		fx_load(&f, &vecs[i]);

		f.ev.sig[10] ^= 1;
		expect(&f, "AZ_QUOTE_SIGNATURE");
		f.ev.sig[10] ^= 1;

		/* A byte of the quote's pcrDigest: still a well-formed TPMS_ATTEST. */
		f.ev.msg[f.ev.msg_len - 1] ^= 1;
		expect(&f, "AZ_QUOTE_MESSAGE");
		f.ev.msg[f.ev.msg_len - 1] ^= 1;
		/* A byte of the qualifying data. */
		f.ev.msg[0x2e] ^= 1;
		expect(&f, "AZ_QUOTE_MESSAGE");
		f.ev.msg[0x2e] ^= 1;

		f.ev.pcrs[7][3] ^= 0x80;
		expect(&f, "AZ_PCR_DIGEST");
		f.ev.pcrs[7][3] ^= 0x80;
		f.ev.npcrs--;
		expect(&f, "AZ_PCR_DIGEST");
		f.ev.npcrs++;

		/* Runtime data (the AK and VM configuration the SNP report hashes). */
		f.ev.hcl[rt] ^= 0x01;
		expect(&f, "AZ_REPORT_DATA");
		f.ev.hcl[rt] ^= 0x01;

		/* The SNP report: its measurement, then its REPORT_DATA. */
		f.ev.hcl[AZ_HCL_HEADER_SIZE + SNP_OFF_MEASUREMENT] ^= 1;
		expect(&f, "SIGNATURE");
		f.ev.hcl[AZ_HCL_HEADER_SIZE + SNP_OFF_MEASUREMENT] ^= 1;
		f.ev.hcl[AZ_HCL_HEADER_SIZE + SNP_OFF_REPORT_DATA + 40] ^= 1;
		expect(&f, "SIGNATURE");
		f.ev.hcl[AZ_HCL_HEADER_SIZE + SNP_OFF_REPORT_DATA + 40] ^= 1;

		/* Another session's binding. */
		f.nonce[0] ^= 1;
		expect(&f, "AZ_QUOTE_NONCE");
		f.nonce[0] ^= 1;
		f.nlen--;
		expect(&f, "AZ_QUOTE_NONCE");
		f.nlen++;

		expect(&f, "");
		fx_done(&f);
	}
}

/* The VCEK of another chip (same product, other TCB / key). */
static void test_vcek_swapped(void **state)
{
	struct fx f;
	X509 *other = NULL;

	(void)state;
	TU_REQUIRE_VECTORS();
	fx_load(&f, &vecs[2]);
	assert_int_equal(snp_cert_load_one_file(tu_vec("trustee/az-evidence-v0.vcek.der"), &other,
						NULL),
			 0);
	X509_free(f.ev.vcek);
	f.ev.vcek = other;
	expect(&f, "SIGNATURE");
	fx_done(&f);

	/* A Genoa VCEK for a Milan report. */
	fx_load(&f, &vecs[0]);
	assert_int_equal(snp_cert_load_one_file(tu_vec("trustee/az-vcek-genoa.pem"), &other, NULL),
			 0);
	X509_free(f.ev.vcek);
	f.ev.vcek = other;
	expect(&f, "CHAIN_INCOMPLETE");
	fx_done(&f);
}

/* v2 evidence binds the SNP report through user-data too; v1 with the
 * version claimed as 2 has zero user-data and is refused. */
static void test_user_data(void **state)
{
	struct fx f;

	(void)state;
	TU_REQUIRE_VECTORS();
	fx_load(&f, &vecs[1]);
	f.ev.version = 2;
	expect(&f, "AZ_USER_DATA");
	fx_done(&f);
	fx_load(&f, &vecs[2]);
	f.nlen = 47; /* a prefix of the binding is not the binding */
	expect(&f, "AZ_QUOTE_NONCE");
	fx_done(&f);
}

/* ---------------------------------------------------------- HCL parser */

static uint8_t *hcl_of(size_t *len)
{
	struct fx f;
	uint8_t *b;

	fx_load(&f, &vecs[2]);
	b = malloc(f.ev.hcl_len);
	assert_non_null(b);
	memcpy(b, f.ev.hcl, f.ev.hcl_len);
	*len = f.ev.hcl_len;
	fx_done(&f);
	return b;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void hcl_refused(const uint8_t *b, size_t len, const char *detail)
{
	struct az_hcl h;
	struct ccu_reason why = { 0 };

	assert_int_equal(az_hcl_parse(b, len, &h, &why), -EBADMSG);
	assert_string_equal(why.code, "AZ_HCL_FORMAT");
	if (!strstr(why.detail, detail))
		fail_msg("detail '%s' lacks '%s'", why.detail, detail);
}

static void test_hcl_malformed(void **state)
{
	size_t len;
	uint8_t *b, *c;
	struct az_hcl h;

	(void)state;
	TU_REQUIRE_VECTORS();
	b = hcl_of(&len);
	c = malloc(len);
	assert_non_null(c);
	assert_int_equal(az_hcl_parse(b, len, &h, NULL), 0);
	assert_int_equal(h.version, 1);
	assert_int_equal(h.runtime_len, 1110);

#define MUT(stmt, detail)                                                                          \
	do {                                                                                       \
		memcpy(c, b, len);                                                                 \
		stmt;                                                                              \
		hcl_refused(c, len, detail);                                                       \
	} while (0)
	MUT(c[0] = 'X', "signature");
	MUT(put32(c + 4, 3), "header version");
	MUT(put32(c + 12, 1), "request type");
	MUT(put32(c + 16, 5), "status");
	MUT(c[25] = 1, "reserved");
	MUT(put32(c + AZ_HCL_IGVM_OFFSET + 4, 2), "IGVM request data version");
	MUT(put32(c + AZ_HCL_IGVM_OFFSET + 8, 4), "not SEV-SNP");
	MUT(put32(c + AZ_HCL_IGVM_OFFSET + 12, 2), "SHA-256");
	MUT(put32(c + AZ_HCL_IGVM_OFFSET + 16, 0), "runtime data size");
	MUT(put32(c + AZ_HCL_IGVM_OFFSET + 16, 0xffffffffu), "runtime data size");
	MUT(put32(c + AZ_HCL_IGVM_OFFSET + 16, 1111), "IGVM data size");
	MUT(put32(c + AZ_HCL_IGVM_OFFSET, 1131), "IGVM data size");
	MUT(put32(c + 8, 2347), "report_size");
	MUT(c[len - 1] = 1, "zero padding");
#undef MUT
	hcl_refused(b, AZ_HCL_RUNTIME_OFFSET - 1, "bytes");
	hcl_refused(b, 100, "bytes");
	/* Cut inside the runtime data. */
	hcl_refused(b, AZ_HCL_RUNTIME_OFFSET + 100, "does not fit");
	free(b);
	free(c);
}

/* ---------------------------------------------------------- runtime data */

static void rt_refused(const char *json, const char *detail)
{
	struct az_runtime rt;
	struct ccu_reason why = { 0 };

	assert_int_equal(az_runtime_parse((const uint8_t *)json, strlen(json), &rt, &why),
			 -EBADMSG);
	assert_string_equal(why.code, "AZ_RUNTIME_JSON");
	if (!strstr(why.detail, detail))
		fail_msg("detail '%s' lacks '%s'", why.detail, detail);
}

#define N256 "wAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ"
#define AK "{\"kid\":\"HCLAkPub\",\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\"" N256 "\"}"

static void test_runtime_parse(void **state)
{
	struct az_runtime rt;
	const char *ok = "{\"keys\":[" AK "],\"vm-configuration\":{\"secure-boot\":false,"
			 "\"console-enabled\":false,\"vmUniqueId\":\"abc\"},\"user-data\":\"" R128
			 "\"}";

	(void)state;
	assert_int_equal(az_runtime_parse((const uint8_t *)ok, strlen(ok), &rt, NULL), 0);
	assert_int_equal(rt.ak_n_len, 256);
	assert_int_equal(rt.secure_boot, AZ_FALSE);
	assert_int_equal(rt.console_enabled, AZ_FALSE);
	assert_int_equal(rt.tpm_enabled, AZ_UNKNOWN);
	assert_string_equal(rt.vm_id, "abc");
	assert_true(rt.has_user_data);

	rt_refused("", "bytes");
	rt_refused("[1]", "object");
	rt_refused("{\"keys\":[]}", "keys");
	rt_refused("{\"keys\":{}}", "keys");
	rt_refused("{\"keys\":[1]}", "kid");
	rt_refused("{\"keys\":[{\"kid\":\"HCLEkPub\"}]}", "no 'HCLAkPub'");
	rt_refused("{\"keys\":[" AK "," AK "]}", "two");
	rt_refused("{\"keys\":[{\"kid\":\"HCLAkPub\",\"kty\":\"EC\"}]}", "RSA");
	rt_refused("{\"keys\":[{\"kid\":\"HCLAkPub\",\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\"AQAB\"}]}",
		   "RSA-2048");
	rt_refused("{\"keys\":[{\"kid\":\"HCLAkPub\",\"kty\":\"RSA\",\"e\":\"AQ+B\",\"n\":\"" N256
		   "\"}]}",
		   "base64url");
	rt_refused("{\"keys\":[{\"kid\":\"HCLAkPub\",\"kty\":\"RSA\",\"n\":\"" N256 "\"}]}", "'e'");
	rt_refused("{\"keys\":[" AK "],\"vm-configuration\":{\"secure-boot\":1}}", "boolean");
	rt_refused("{\"keys\":[" AK "],\"vm-configuration\":[]}", "object");
	rt_refused("{\"keys\":[" AK "],\"vm-configuration\":{\"vmUniqueId\":\"a b\"}}",
		   "non-printable");
	rt_refused("{\"keys\":[" AK "],\"user-data\":\"00\"}", "128 hex");
	rt_refused("{\"keys\":[" AK "],\"user-data\":\"" R128X "\"}", "128 hex");
	rt_refused("{\"keys\":[" AK "],\"keys\":[" AK "]}", "not JSON");
}

/* ---------------------------------------------------------- TPMS_ATTEST */

static void tpm_refused(const uint8_t *b, size_t len, const char *detail)
{
	struct az_tpm_quote q;
	struct ccu_reason why = { 0 };

	assert_int_equal(az_tpm_quote_parse(b, len, &q, &why), -EBADMSG);
	assert_string_equal(why.code, "AZ_TPM_FORMAT");
	if (!strstr(why.detail, detail))
		fail_msg("detail '%s' lacks '%s'", why.detail, detail);
}

static void test_tpm_attest(void **state)
{
	struct az_tpm_quote q = { .signer_len = 34, .extra_len = 48, .clock = 7, .safe = 1,
				  .pcr_mask = 0xffffff };
	struct az_tpm_quote back;
	uint8_t b[AZ_TPM_ATTEST_MAX], c[AZ_TPM_ATTEST_MAX];
	int n;
	size_t len, sel;

	(void)state;
	memset(q.extra, 0x5a, 48);
	memset(q.pcr_digest, 0xa5, 32);
	n = az_tpm_quote_encode(&q, b, sizeof(b));
	assert_true(n > 0);
	len = (size_t)n;
	assert_int_equal(len, 161); /* the size of the real v2 message */
	assert_int_equal(az_tpm_quote_parse(b, len, &back, NULL), 0);
	assert_memory_equal(back.extra, q.extra, 48);
	assert_int_equal(back.pcr_mask, 0xffffff);
	assert_int_equal(back.clock, 7);
	assert_int_equal(az_tpm_quote_encode(&q, b, 100), -ENOSPC);
	sel = len - 32 - 2 - 3 - 1 - 2 - 4; /* offset of the selection count */

#define MUT(stmt, detail)                                                                          \
	do {                                                                                       \
		memcpy(c, b, len);                                                                 \
		stmt;                                                                              \
		tpm_refused(c, len, detail);                                               \
	} while (0)
	MUT(c[0] = 0, "magic");
	MUT(c[5] = 0x17, "TPM_ST_ATTEST_QUOTE");
	MUT(c[6] = 0xff, "truncated");          /* signer name size */
	MUT(c[sel + 3] = 2, "one bank");
	MUT(c[sel + 5] = 0x04, "sha256");
	MUT(c[sel + 6] = 2, "sizeofSelect");
	MUT(c[sel + 6] = 5, "sizeofSelect");
	MUT((c[sel + 7] = 0, c[sel + 8] = 0, c[sel + 9] = 0), "no PCR");
	MUT(c[sel + 11] = 20, "pcrDigest");
	MUT(c[sel - 9] = 2, "TPMI_YES_NO");
#undef MUT
	tpm_refused(b, len - 1, "pcrDigest");
	tpm_refused(b, 3, "magic");
	memcpy(c, b, len);
	c[len] = 0;
	tpm_refused(c, len + 1, "trailing");
	tpm_refused(b, AZ_TPM_ATTEST_MAX + 1, "too long");
}

/* ---------------------------------------------------------- evidence JSON */

static void ev_refused(const char *json, const char *detail)
{
	struct az_evidence ev;
	struct ccu_reason why = { 0 };

	assert_int_equal(az_evidence_parse_text(json, strlen(json), &ev, &why), -EBADMSG);
	assert_string_equal(why.code, "AZ_EVIDENCE_JSON");
	if (!strstr(why.detail, detail))
		fail_msg("detail '%s' lacks '%s'", why.detail, detail);
	assert_null(ev.hcl);
	assert_null(ev.vcek);
}

static void test_evidence_json(void **state)
{
	(void)state;
	ev_refused("", "not JSON");
	ev_refused("[]", "object");
	ev_refused("{\"version\":3}", "not 1 or 2");
	ev_refused("{\"version\":\"2\"}", "not 1 or 2");
	ev_refused("{\"version\":2,\"extra\":1}", "unknown member 'extra'");
	ev_refused("{\"version\":2,\"tpm_quote\":[]}", "tpm_quote");
	ev_refused("{\"version\":2,\"tpm_quote\":{\"signature\":\"0g\",\"message\":\"00\","
		   "\"pcrs\":[]}}",
		   "not hex");
	ev_refused("{\"version\":2,\"tpm_quote\":{\"signature\":\"00\",\"message\":\"00\","
		   "\"pcrs\":[]}}",
		   "1..24");
	ev_refused("{\"version\":2,\"tpm_quote\":{\"signature\":\"00\",\"message\":\"00\","
		   "\"pcrs\":[\"00\"]}}",
		   "32 bytes");
	ev_refused("{\"version\":2,\"tpm_quote\":{\"signature\":\"00\",\"message\":\"00\","
		   "\"pcrs\":[\"" R64 "\"],\"x\":1}}",
		   "unknown member 'x'");
	ev_refused("{\"version\":2,\"tpm_quote\":{\"signature\":\"00\",\"message\":\"00\","
		   "\"pcrs\":[\"" R64 "\"]},\"hcl_report\":\"A+==\"}",
		   "base64url");
	ev_refused("{\"version\":2,\"tpm_quote\":{\"signature\":\"00\",\"message\":\"00\","
		   "\"pcrs\":[\"" R64 "\"]},\"hcl_report\":\"AAAA\",\"vcek\":\"AAAA\"}",
		   "certificate");
	ev_refused("{\"quote\":{\"signature\":[256],\"message\":[0],\"pcrs\":[]}}", "byte");
	ev_refused("{\"quote\":{\"signature\":[1],\"message\":[0],\"pcrs\":[[1]]}}", "32 bytes");
	ev_refused("{\"quote\":{\"signature\":[1],\"message\":[0],\"pcrs\":[" R32A "]},"
		   "\"report\":[1],\"vcek\":7}",
		   "PEM");
}

/* build -> parse gives the same bytes. */
static void test_evidence_build(void **state)
{
	struct fx f;
	struct az_evidence again;
	unsigned char *der = NULL;
	int dl;
	json_t *o;
	char *text;

	(void)state;
	TU_REQUIRE_VECTORS();
	fx_load(&f, &vecs[2]);
	dl = i2d_X509(f.ev.vcek, &der);
	assert_true(dl > 0);
	o = az_evidence_build(f.ev.hcl, f.ev.hcl_len, f.ev.msg, f.ev.msg_len, f.ev.sig,
			      f.ev.sig_len, (const uint8_t(*)[32])f.ev.pcrs, f.ev.npcrs, der,
			      (size_t)dl);
	OPENSSL_free(der);
	assert_non_null(o);
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	assert_int_equal(az_evidence_parse_text(text, strlen(text), &again, NULL), 0);
	free(text);
	assert_int_equal(again.version, 2);
	assert_int_equal(again.hcl_len, f.ev.hcl_len);
	assert_memory_equal(again.hcl, f.ev.hcl, f.ev.hcl_len);
	assert_memory_equal(again.msg, f.ev.msg, f.ev.msg_len);
	assert_memory_equal(again.sig, f.ev.sig, f.ev.sig_len);
	assert_int_equal(again.npcrs, 24);
	assert_int_equal(X509_cmp(again.vcek, f.ev.vcek), 0);
	az_evidence_done(&again);
	fx_done(&f);
}

/* ---------------------------------------------------------- policy */

static struct snp_policy *pol(const char *text)
{
	struct snp_policy *p = NULL;
	struct ccu_reason why = { 0 };

	if (snp_policy_parse(text, strlen(text), &p, &why) != 0)
		fail_msg("policy: %s: %s", why.code, why.detail);
	return p;
}

static void pol_expect(struct fx *f, const char *text, const char *code)
{
	struct snp_policy *p = pol(text);
	struct ccu_reason why = { 0 };
	int r = snp_policy_eval_azure(p, &f->c, SNP_PRODUCT_MILAN, &why);

	if (!*code) {
		if (r != 0)
			fail_msg("denied %s (%s)\n--\n%s", why.code, why.detail, text);
	} else {
		assert_int_equal(r, -EKEYREJECTED);
		if (strcmp(why.code, code) != 0)
			fail_msg("denied %s (%s), expected %s", why.code, why.detail, code);
	}
	snp_policy_free(p);
}

static void pol_refused(const char *text, const char *code)
{
	struct snp_policy *p = NULL;
	struct ccu_reason why = { 0 };

	assert_true(snp_policy_parse(text, strlen(text), &p, &why) < 0);
	assert_string_equal(why.code, code);
	assert_null(p);
}

static void test_policy(void **state)
{
	struct fx f;
	struct snp_policy *p;
	struct ccu_reason why = { 0 };

	(void)state;
	TU_REQUIRE_VECTORS();
	fx_load(&f, &vecs[2]);
	expect(&f, "");
	pol_expect(&f, "measurement = any\n", "");
	pol_expect(&f, "measurement = any\npcr.0 = " V2_PCR0 "\n", "");
	pol_expect(&f, "measurement = any\npcr.0 = " R64 ", " V2_PCR0 "\n", "");
	pol_expect(&f, "measurement = any\npcr.0 = " R64 "\n", "POLICY_PCR");
	pol_expect(&f, "measurement = any\npcr.0 = " V2_PCR0 "\npcr.23 = " R64 "\n", "POLICY_PCR");
	pol_expect(&f, "measurement = any\nazure.secure_boot = required\n", "");
	pol_expect(&f, "measurement = any\nazure.console = allowed\n", "");
	/* Trustee's test VM had its serial console enabled. */
	pol_expect(&f, "measurement = any\nazure.console = forbidden\n", "POLICY_AZURE_CONSOLE");
	pol_expect(&f, "measurement = any\nazure.vm_id = 7df7b373-b947-4aaa-96e5-c358f2a03d20\n",
		   "");
	pol_expect(&f, "measurement = any\nazure.vm_id = a, b\n", "POLICY_AZURE_VM_ID");
	/* The SNP rules apply to the HCL report's SNP report (the paravisor's). */
	pol_expect(&f, "measurement = " R96 "\n", "POLICY_MEASUREMENT");
	pol_expect(&f, "measurement = any\nvmpl = 2\n", "POLICY_VMPL");
	pol_expect(&f, "measurement = any\nmin_reported_tcb = bl=4 tee=0 snp=25 ucode=219\n",
		   "POLICY_REPORTED_TCB");

	/* A quote without PCR 23: the rule over it cannot be checked. */
	f.c.pcr_mask &= ~(1u << 23);
	pol_expect(&f, "measurement = any\npcr.23 = " R64 "\n", "POLICY_PCR");
	f.c.runtime.secure_boot = AZ_UNKNOWN;
	pol_expect(&f, "measurement = any\nazure.secure_boot = required\n",
		   "POLICY_AZURE_SECURE_BOOT");
	f.c.runtime.console_enabled = AZ_FALSE;
	pol_expect(&f, "measurement = any\nazure.console = forbidden\n", "");
	f.c.runtime.console_enabled = AZ_UNKNOWN;
	pol_expect(&f, "measurement = any\nazure.console = forbidden\n", "POLICY_AZURE_CONSOLE");

	/* Plain SNP evidence cannot satisfy Azure rules. */
	p = pol("measurement = any\npcr.7 = " R64 "\n");
	assert_int_equal(snp_policy_eval(p, &f.c.report, SNP_PRODUCT_MILAN, &why), -EKEYREJECTED);
	assert_string_equal(why.code, "POLICY_UNCHECKABLE");
	snp_policy_free(p);
	fx_done(&f);

	pol_refused("measurement = any\npcr.24 = " R64 "\n", "CONFIG_UNKNOWN_KEY");
	pol_refused("measurement = any\npcr.1 = 00\n", "CONFIG_VALUE");
	pol_refused("measurement = any\npcr.1 = " R64 "," R64 "\n", "CONFIG_VALUE");
	pol_refused("measurement = any\npcr.1 = \n", "CONFIG_SYNTAX");
	pol_refused("measurement = any\npcr.1 = " R64 "\npcr.1 = " R64 "\n",
		    "CONFIG_DUPLICATE_KEY");
	pol_refused("measurement = any\nazure.secure_boot = yes\n", "CONFIG_VALUE");
	pol_refused("measurement = any\nazure.console = maybe\n", "CONFIG_VALUE");
	pol_refused("measurement = any\nazure.vm_id = a, A\n", "CONFIG_VALUE");
	pol_refused("measurement = any\nazure.vm_id = a,,b\n", "CONFIG_VALUE");
}

/* `ccunlock-kbs verify --tee az-snp-vtpm`: exit 0/1/2 and the one line. */
static void cli(const char *const *argv, int status, const char *err_prefix, const char *out_has)
{
	struct tu_run r;

	tu_run(&r, argv);
	if (r.status != status)
		fail_msg("exit %d, expected %d: %s", r.status, status, r.err ? r.err : "");
	if (err_prefix && (!r.err || strncmp(r.err, err_prefix, strlen(err_prefix)) != 0))
		fail_msg("stderr '%s' does not start with '%s'", r.err ? r.err : "", err_prefix);
	if (out_has && (!r.out || !strstr(r.out, out_has)))
		fail_msg("stdout lacks '%s'", out_has);
	tu_run_free(&r);
}

static void test_cli(void **state)
{
	char ev[512], ask[512], ark[512], pol[600], pcr[700];
	const char *bin = tu_bin("ccunlock-kbs");
	char *dir;
	FILE *f;

	(void)state;
	TU_REQUIRE_VECTORS();
	snprintf(ev, sizeof(ev), "%s", tu_vec("trustee/az-evidence-v2.json"));
	snprintf(ask, sizeof(ask), "%s", tu_vec("amd-roots/milan/ask.pem"));
	snprintf(ark, sizeof(ark), "%s", tu_vec("amd-roots/milan/ark.pem"));
	{
		const char *a[] = { bin, "verify", "--tee", "az-snp-vtpm", "--evidence", ev,
				    "--chain", ask, "--chain", ark, "--nonce-binding", NONCE_V2,
				    NULL };

		cli(a, 0, NULL, "pcr.0 = " V2_PCR0);
	}
	{
		const char *a[] = { bin, "verify", "--tee", "az-snp-vtpm", "--evidence", ev,
				    "--chain", ask, "--chain", ark, "--nonce-binding", NONCE_V01,
				    NULL };

		cli(a, 1, "AZ_QUOTE_NONCE: ", NULL);
	}
	{
		const char *a[] = { bin, "verify", "--tee", "az-snp-vtpm", "--evidence", ev,
				    "--chain", ask, "--chain", ark, "--json", NULL };

		cli(a, 0, NULL, "\"verdict\": \"verified\"");
	}
	/* Without the AMD ASK/ARK the chain is incomplete: a rejection. */
	{
		const char *a[] = { bin, "verify", "--tee", "az-snp-vtpm", "--evidence", ev, NULL };

		cli(a, 1, "CHAIN_INCOMPLETE: ", NULL);
	}
	{
		const char *a[] = { bin, "verify", "--tee", "az-snp-vtpm", NULL };

		cli(a, 2, NULL, NULL);
	}
	{
		const char *a[] = { bin, "verify", "--tee", "az-snp-vtpm", "--evidence", ev,
				    "--vek", ask, NULL };

		cli(a, 2, NULL, NULL);
	}
	{
		const char *a[] = { bin, "verify", "--report", ev, "--vek", ask, "--nonce-binding",
				    "00", NULL };

		cli(a, 2, NULL, NULL);
	}
	{
		const char *a[] = { bin, "verify", "--tee", "az-snp-vtpm", "--evidence", ev,
				    "--nonce-binding", "0g", NULL };

		cli(a, 2, NULL, NULL);
	}
	/* A policy: console forbidden (Trustee's VM had it enabled). */
	dir = tu_mkdtemp();
	snprintf(pol, sizeof(pol), "%s/p.conf", dir);
	f = fopen(pol, "w");
	assert_non_null(f);
	fputs("measurement = any\nazure.console = forbidden\n", f);
	fclose(f);
	{
		const char *a[] = { bin, "verify", "--tee", "az-snp-vtpm", "--evidence", ev,
				    "--chain", ask, "--chain", ark, "--policy", pol, NULL };

		cli(a, 1, "POLICY_AZURE_CONSOLE: ", NULL);
	}
	snprintf(pcr, sizeof(pcr), "%s/q.conf", dir);
	f = fopen(pcr, "w");
	assert_non_null(f);
	fputs("measurement = any\npcr.0 = " V2_PCR0 "\nazure.secure_boot = required\n", f);
	fclose(f);
	{
		const char *a[] = { bin, "verify", "--tee", "az-snp-vtpm", "--evidence", ev,
				    "--chain", ask, "--chain", ark, "--policy", pcr, NULL };

		cli(a, 0, NULL, "POLICY: allowed by");
	}
	/* The same Azure policy for plain SNP evidence: cannot be checked. */
	{
		char rep[512], vcek[512];
		const char *a[] = { bin, "verify", "--report", rep, "--offset", "32", "--vek", vcek,
				    "--chain", ask, "--chain", ark, "--policy", pcr, NULL };

		/* tu_vec() returns one static buffer: copy each path. */
		snprintf(rep, sizeof(rep), "%s", tu_vec("trustee/az-hcl-report.bin"));
		snprintf(vcek, sizeof(vcek), "%s", tu_vec("trustee/az-vcek.pem"));
		cli(a, 1, "POLICY_UNCHECKABLE: ", NULL);
	}
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_verify), cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_vcek_swapped),   cmocka_unit_test(test_user_data),
		cmocka_unit_test(test_hcl_malformed),  cmocka_unit_test(test_runtime_parse),
		cmocka_unit_test(test_tpm_attest),     cmocka_unit_test(test_evidence_json),
		cmocka_unit_test(test_evidence_build), cmocka_unit_test(test_policy),
		cmocka_unit_test(test_cli),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
