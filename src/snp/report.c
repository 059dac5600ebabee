#include "snp/report.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Returns the offset of the first non-zero byte in [lo, hi) or -1. */
static int first_nonzero(const uint8_t *b, size_t lo, size_t hi)
{
	for (size_t i = lo; i < hi; i++)
		if (b[i])
			return (int)i;
	return -1;
}

static int check_zero(const uint8_t *b, size_t lo, size_t hi, const char *what,
		      struct ccu_reason *err)
{
	int at = first_nonzero(b, lo, hi);

	if (at < 0)
		return 0;
	return ccu_fail(err, -EBADMSG, "FORMAT_RESERVED",
			"%s 0x%03zX..0x%03zX must be zero; byte 0x%03X is 0x%02x", what, lo, hi - 1,
			(unsigned)at, b[at]);
}

int snp_report_parse(const uint8_t *b, size_t len, struct snp_report *r, struct ccu_reason *err)
{
	unsigned sk;
	int ret;

	if (len != SNP_REPORT_SIZE)
		return ccu_fail(err, -EBADMSG, "FORMAT_SIZE", "report is %zu bytes, expected %d", len,
				SNP_REPORT_SIZE);
	memset(r, 0, sizeof(*r));
	memcpy(r->raw, b, SNP_REPORT_SIZE);

	r->version = le32(b + SNP_OFF_VERSION);
	if (r->version < SNP_REPORT_MIN_VERSION || r->version > SNP_REPORT_MAX_VERSION)
		return ccu_fail(err, -EBADMSG, "FORMAT_VERSION",
				"report version %u is not supported (2 to 5)", r->version);
	r->sig_algo = le32(b + SNP_OFF_SIG_ALGO);
	if (r->sig_algo != SNP_SIG_ALGO_ECDSA_P384_SHA384)
		return ccu_fail(err, -EBADMSG, "FORMAT_SIG_ALGO",
				"signature algorithm %u is unknown (expected 1, ECDSA P-384 with SHA-384)",
				r->sig_algo);
	r->key_info = le32(b + SNP_OFF_KEY_INFO);
	if (r->key_info >> 5)
		return ccu_fail(err, -EBADMSG, "FORMAT_KEY_INFO",
				"KEY_INFO 0x%08x has reserved bits 31:5 set", r->key_info);
	sk = SNP_KEY_INFO_SIGNING_KEY(r->key_info);
	if (sk == SNP_SIGNING_KEY_NONE)
		return ccu_fail(err, -EBADMSG, "FORMAT_KEY_INFO",
				"KEY_INFO says the report is not signed (SIGNING_KEY 7)");
	if (sk != SNP_SIGNING_KEY_VCEK && sk != SNP_SIGNING_KEY_VLEK)
		return ccu_fail(err, -EBADMSG, "FORMAT_KEY_INFO",
				"KEY_INFO SIGNING_KEY %u is reserved", sk);
	r->policy = le64(b + SNP_OFF_POLICY);
	if (!(r->policy & SNP_POLICY_RESERVED_1))
		return ccu_fail(err, -EBADMSG, "FORMAT_POLICY",
				"guest POLICY 0x%llx: bit 17 must be 1",
				(unsigned long long)r->policy);
	if (r->policy & ~SNP_POLICY_KNOWN_MASK)
		return ccu_fail(err, -EBADMSG, "FORMAT_POLICY",
				"guest POLICY 0x%llx: reserved bits 63:26 are set",
				(unsigned long long)r->policy);

	ret = check_zero(b, 0x04C, 0x050, "reserved", err);
	if (ret == 0)
		ret = check_zero(b, r->version >= 3 ? 0x18B : 0x188, 0x1A0, "reserved", err);
	if (ret == 0)
		ret = check_zero(b, 0x1EB, 0x1EC, "reserved", err);
	if (ret == 0)
		ret = check_zero(b, 0x1EF, 0x1F0, "reserved", err);
	if (ret == 0)
		ret = check_zero(b, r->version >= 5 ? 0x208 : 0x1F8, SNP_REPORT_SIGNED_LEN,
				 "reserved", err);
	if (ret == 0)
		ret = check_zero(b, SNP_OFF_SIG_END, SNP_REPORT_SIZE, "signature reserved area", err);
	if (ret < 0)
		return ret;
	if (first_nonzero(b, SNP_OFF_SIG_R + 48, SNP_OFF_SIG_R + 72) >= 0 ||
	    first_nonzero(b, SNP_OFF_SIG_S + 48, SNP_OFF_SIG_S + 72) >= 0)
		return ccu_fail(err, -EBADMSG, "FORMAT_SIGNATURE",
				"signature R/S have non-zero bytes above the 48-byte P-384 range");

	r->guest_svn = le32(b + SNP_OFF_GUEST_SVN);
	memcpy(r->family_id, b + SNP_OFF_FAMILY_ID, 16);
	memcpy(r->image_id, b + SNP_OFF_IMAGE_ID, 16);
	r->vmpl = le32(b + SNP_OFF_VMPL);
	memcpy(r->current_tcb, b + SNP_OFF_CURRENT_TCB, 8);
	r->platform_info = le64(b + SNP_OFF_PLATFORM_INFO);
	memcpy(r->report_data, b + SNP_OFF_REPORT_DATA, 64);
	memcpy(r->measurement, b + SNP_OFF_MEASUREMENT, 48);
	memcpy(r->host_data, b + SNP_OFF_HOST_DATA, 32);
	memcpy(r->id_key_digest, b + SNP_OFF_ID_KEY_DIGEST, 48);
	memcpy(r->author_key_digest, b + SNP_OFF_AUTHOR_KEY_DIGEST, 48);
	memcpy(r->report_id, b + SNP_OFF_REPORT_ID, 32);
	memcpy(r->report_id_ma, b + SNP_OFF_REPORT_ID_MA, 32);
	memcpy(r->reported_tcb, b + SNP_OFF_REPORTED_TCB, 8);
	r->has_cpuid = r->version >= 3;
	if (r->has_cpuid) {
		r->cpuid_fam_id = b[SNP_OFF_CPUID_FAM_ID];
		r->cpuid_mod_id = b[SNP_OFF_CPUID_MOD_ID];
		r->cpuid_step = b[SNP_OFF_CPUID_STEP];
	}
	memcpy(r->chip_id, b + SNP_OFF_CHIP_ID, 64);
	memcpy(r->committed_tcb, b + SNP_OFF_COMMITTED_TCB, 8);
	r->current.build = b[SNP_OFF_CURRENT_BUILD];
	r->current.minor = b[SNP_OFF_CURRENT_MINOR];
	r->current.major = b[SNP_OFF_CURRENT_MAJOR];
	r->committed.build = b[SNP_OFF_COMMITTED_BUILD];
	r->committed.minor = b[SNP_OFF_COMMITTED_MINOR];
	r->committed.major = b[SNP_OFF_COMMITTED_MAJOR];
	memcpy(r->launch_tcb, b + SNP_OFF_LAUNCH_TCB, 8);
	r->has_mit_vectors = r->version >= 5;
	if (r->has_mit_vectors) {
		r->launch_mit_vector = le64(b + SNP_OFF_LAUNCH_MIT_VECTOR);
		r->current_mit_vector = le64(b + SNP_OFF_CURRENT_MIT_VECTOR);
	}
	memcpy(r->sig_r, b + SNP_OFF_SIG_R, 72);
	memcpy(r->sig_s, b + SNP_OFF_SIG_S, 72);
	return 0;
}

void snp_report_encode(const struct snp_report *r, uint8_t b[SNP_REPORT_SIZE])
{
	memset(b, 0, SNP_REPORT_SIZE);
	put32(b + SNP_OFF_VERSION, r->version);
	put32(b + SNP_OFF_GUEST_SVN, r->guest_svn);
	put64(b + SNP_OFF_POLICY, r->policy);
	memcpy(b + SNP_OFF_FAMILY_ID, r->family_id, 16);
	memcpy(b + SNP_OFF_IMAGE_ID, r->image_id, 16);
	put32(b + SNP_OFF_VMPL, r->vmpl);
	put32(b + SNP_OFF_SIG_ALGO, r->sig_algo);
	memcpy(b + SNP_OFF_CURRENT_TCB, r->current_tcb, 8);
	put64(b + SNP_OFF_PLATFORM_INFO, r->platform_info);
	put32(b + SNP_OFF_KEY_INFO, r->key_info);
	memcpy(b + SNP_OFF_REPORT_DATA, r->report_data, 64);
	memcpy(b + SNP_OFF_MEASUREMENT, r->measurement, 48);
	memcpy(b + SNP_OFF_HOST_DATA, r->host_data, 32);
	memcpy(b + SNP_OFF_ID_KEY_DIGEST, r->id_key_digest, 48);
	memcpy(b + SNP_OFF_AUTHOR_KEY_DIGEST, r->author_key_digest, 48);
	memcpy(b + SNP_OFF_REPORT_ID, r->report_id, 32);
	memcpy(b + SNP_OFF_REPORT_ID_MA, r->report_id_ma, 32);
	memcpy(b + SNP_OFF_REPORTED_TCB, r->reported_tcb, 8);
	if (r->version >= 3) {
		b[SNP_OFF_CPUID_FAM_ID] = r->cpuid_fam_id;
		b[SNP_OFF_CPUID_MOD_ID] = r->cpuid_mod_id;
		b[SNP_OFF_CPUID_STEP] = r->cpuid_step;
	}
	memcpy(b + SNP_OFF_CHIP_ID, r->chip_id, 64);
	memcpy(b + SNP_OFF_COMMITTED_TCB, r->committed_tcb, 8);
	b[SNP_OFF_CURRENT_BUILD] = r->current.build;
	b[SNP_OFF_CURRENT_MINOR] = r->current.minor;
	b[SNP_OFF_CURRENT_MAJOR] = r->current.major;
	b[SNP_OFF_COMMITTED_BUILD] = r->committed.build;
	b[SNP_OFF_COMMITTED_MINOR] = r->committed.minor;
	b[SNP_OFF_COMMITTED_MAJOR] = r->committed.major;
	memcpy(b + SNP_OFF_LAUNCH_TCB, r->launch_tcb, 8);
	if (r->version >= 5) {
		put64(b + SNP_OFF_LAUNCH_MIT_VECTOR, r->launch_mit_vector);
		put64(b + SNP_OFF_CURRENT_MIT_VECTOR, r->current_mit_vector);
	}
	memcpy(b + SNP_OFF_SIG_R, r->sig_r, 72);
	memcpy(b + SNP_OFF_SIG_S, r->sig_s, 72);
}

enum snp_product snp_product_from_cpuid(uint8_t family, uint8_t model)
{
	if (family == 0x19) {
		if (model <= 0x0F)
			return SNP_PRODUCT_MILAN;
		if ((model >= 0x10 && model <= 0x1F) || (model >= 0xA0 && model <= 0xAF))
			return SNP_PRODUCT_GENOA;
	} else if (family == 0x1A && model <= 0x11) {
		return SNP_PRODUCT_TURIN;
	}
	return SNP_PRODUCT_UNKNOWN;
}

enum snp_product snp_report_product(const struct snp_report *r)
{
	if (!r->has_cpuid)
		return SNP_PRODUCT_UNKNOWN;
	return snp_product_from_cpuid(r->cpuid_fam_id, r->cpuid_mod_id);
}

const char *snp_product_name(enum snp_product p)
{
	switch (p) {
	case SNP_PRODUCT_MILAN:
		return "Milan";
	case SNP_PRODUCT_GENOA:
		return "Genoa";
	case SNP_PRODUCT_TURIN:
		return "Turin";
	case SNP_PRODUCT_UNKNOWN:
		break;
	}
	return "unknown";
}

const char *snp_product_id(enum snp_product p)
{
	switch (p) {
	case SNP_PRODUCT_MILAN:
		return "milan";
	case SNP_PRODUCT_GENOA:
		return "genoa";
	case SNP_PRODUCT_TURIN:
		return "turin";
	case SNP_PRODUCT_UNKNOWN:
		break;
	}
	return NULL;
}

enum snp_product snp_product_from_name(const char *s)
{
	if (!s)
		return SNP_PRODUCT_UNKNOWN;
	if (strcasecmp(s, "milan") == 0)
		return SNP_PRODUCT_MILAN;
	if (strcasecmp(s, "genoa") == 0)
		return SNP_PRODUCT_GENOA;
	if (strcasecmp(s, "turin") == 0)
		return SNP_PRODUCT_TURIN;
	return SNP_PRODUCT_UNKNOWN;
}

bool snp_tcb_decode(const uint8_t raw[8], enum snp_product p, struct snp_tcb *t)
{
	memset(t, 0, sizeof(*t));
	if (p == SNP_PRODUCT_TURIN) {
		t->has_fmc = true;
		t->fmc = raw[0];
		t->bootloader = raw[1];
		t->tee = raw[2];
		t->snp = raw[3];
		t->microcode = raw[7];
		return !raw[4] && !raw[5] && !raw[6];
	}
	t->bootloader = raw[0];
	t->tee = raw[1];
	t->snp = raw[6];
	t->microcode = raw[7];
	return !raw[2] && !raw[3] && !raw[4] && !raw[5];
}

void snp_tcb_encode(const struct snp_tcb *t, enum snp_product p, uint8_t out[8])
{
	memset(out, 0, 8);
	if (p == SNP_PRODUCT_TURIN) {
		out[0] = t->fmc;
		out[1] = t->bootloader;
		out[2] = t->tee;
		out[3] = t->snp;
	} else {
		out[0] = t->bootloader;
		out[1] = t->tee;
		out[6] = t->snp;
	}
	out[7] = t->microcode;
}

bool snp_tcb_ge(const struct snp_tcb *a, const struct snp_tcb *b)
{
	if (a->has_fmc && b->has_fmc && a->fmc < b->fmc)
		return false;
	return a->bootloader >= b->bootloader && a->tee >= b->tee && a->snp >= b->snp &&
	       a->microcode >= b->microcode;
}

const char *snp_tcb_format(const struct snp_tcb *t, char *buf, size_t len)
{
	if (t->has_fmc)
		snprintf(buf, len, "fmc=%u bl=%u tee=%u snp=%u ucode=%u", t->fmc, t->bootloader,
			 t->tee, t->snp, t->microcode);
	else
		snprintf(buf, len, "bl=%u tee=%u snp=%u ucode=%u", t->bootloader, t->tee, t->snp,
			 t->microcode);
	return buf;
}

const char *snp_signing_key_name(unsigned k)
{
	switch (k) {
	case SNP_SIGNING_KEY_VCEK:
		return "VCEK";
	case SNP_SIGNING_KEY_VLEK:
		return "VLEK";
	case SNP_SIGNING_KEY_NONE:
		return "none";
	default:
		return "reserved";
	}
}
