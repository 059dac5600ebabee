#include "snp/describe.h"

#include <inttypes.h>
#include <string.h>

#include "common/codec.h"

struct bitname {
	uint64_t bit;
	const char *name;
};

static const struct bitname policy_bits[] = {
	{ SNP_POLICY_SMT, "smt_allowed" },
	{ SNP_POLICY_MIGRATE_MA, "migrate_ma_allowed" },
	{ SNP_POLICY_DEBUG, "debug_allowed" },
	{ SNP_POLICY_SINGLE_SOCKET, "single_socket_required" },
	{ SNP_POLICY_CXL_ALLOW, "cxl_allowed" },
	{ SNP_POLICY_MEM_AES_256_XTS, "mem_aes_256_xts_required" },
	{ SNP_POLICY_RAPL_DIS, "rapl_disable_required" },
	{ SNP_POLICY_CIPHERTEXT_HIDING, "ciphertext_hiding_required" },
	{ SNP_POLICY_PAGE_SWAP_DISABLE, "page_swap_disabled" },
};

static const struct bitname platform_bits[] = {
	{ SNP_PLATFORM_SMT_EN, "smt_enabled" },
	{ SNP_PLATFORM_TSME_EN, "tsme_enabled" },
	{ SNP_PLATFORM_ECC_EN, "ecc_enabled" },
	{ SNP_PLATFORM_RAPL_DIS, "rapl_disabled" },
	{ SNP_PLATFORM_CIPHERTEXT_HIDING_EN, "ciphertext_hiding_enabled" },
	{ SNP_PLATFORM_ALIAS_CHECK_COMPLETE, "alias_check_complete" },
	{ SNP_PLATFORM_SEV_TIO_EN, "sev_tio_enabled" },
};

#define PLATFORM_KNOWN_MASK 0xBFULL

const char *snp_fw_format(const struct snp_fw_version *v, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u", v->major, v->minor, v->build);
	return buf;
}

static json_t *hexstr(const uint8_t *b, size_t n)
{
	char buf[2 * 72 + 1];

	if (ccu_hex_encode(b, n, buf, sizeof(buf)) < 0)
		return NULL;
	return json_string(buf);
}

static json_t *tcb_json(const uint8_t raw[8], enum snp_product p)
{
	struct snp_tcb t;
	bool clean = snp_tcb_decode(raw, p, &t);
	char s[80];
	json_t *o = json_object();

	if (!o)
		return NULL;
	if (t.has_fmc)
		json_object_set_new(o, "fmc", json_integer(t.fmc));
	json_object_set_new(o, "bootloader", json_integer(t.bootloader));
	json_object_set_new(o, "tee", json_integer(t.tee));
	json_object_set_new(o, "snp", json_integer(t.snp));
	json_object_set_new(o, "microcode", json_integer(t.microcode));
	json_object_set_new(o, "text", json_string(snp_tcb_format(&t, s, sizeof(s))));
	json_object_set_new(o, "raw", hexstr(raw, 8));
	if (!clean)
		json_object_set_new(o, "reserved_bytes_nonzero", json_true());
	return o;
}

static json_t *bits_json(uint64_t v, const struct bitname *b, size_t n, uint64_t known)
{
	json_t *o = json_object();
	char raw[24];

	if (!o)
		return NULL;
	snprintf(raw, sizeof(raw), "0x%" PRIx64, v);
	json_object_set_new(o, "raw", json_string(raw));
	for (size_t i = 0; i < n; i++)
		json_object_set_new(o, b[i].name, json_boolean(v & b[i].bit));
	if (v & ~known) {
		snprintf(raw, sizeof(raw), "0x%" PRIx64, v & ~known);
		json_object_set_new(o, "unknown_bits", json_string(raw));
	}
	return o;
}

static json_t *fw_json(const struct snp_fw_version *v)
{
	char s[16];

	return json_pack("{s:i,s:i,s:i,s:s}", "major", v->major, "minor", v->minor, "build",
			 v->build, "text", snp_fw_format(v, s, sizeof(s)));
}

json_t *snp_report_describe(const struct snp_report *r, enum snp_product p)
{
	json_t *o = json_object(), *pol, *ki;
	unsigned sk = SNP_KEY_INFO_SIGNING_KEY(r->key_info);
	char abi[16];

	if (!o)
		return NULL;
	json_object_set_new(o, "version", json_integer(r->version));
	json_object_set_new(o, "product", json_string(snp_product_name(p)));
	json_object_set_new(o, "guest_svn", json_integer(r->guest_svn));
	pol = bits_json(r->policy, policy_bits, sizeof(policy_bits) / sizeof(policy_bits[0]),
			SNP_POLICY_KNOWN_MASK);
	snprintf(abi, sizeof(abi), "%u.%u", SNP_POLICY_ABI_MAJOR(r->policy),
		 SNP_POLICY_ABI_MINOR(r->policy));
	json_object_set_new(pol, "abi_min", json_string(abi));
	json_object_set_new(o, "policy", pol);
	json_object_set_new(o, "family_id", hexstr(r->family_id, 16));
	json_object_set_new(o, "image_id", hexstr(r->image_id, 16));
	json_object_set_new(o, "vmpl", json_integer(r->vmpl));
	json_object_set_new(o, "signature_algo", json_integer(r->sig_algo));
	json_object_set_new(o, "current_tcb", tcb_json(r->current_tcb, p));
	json_object_set_new(o, "platform_info",
			    bits_json(r->platform_info, platform_bits,
				      sizeof(platform_bits) / sizeof(platform_bits[0]),
				      PLATFORM_KNOWN_MASK));
	ki = json_pack("{s:i,s:b,s:b,s:s}", "raw", (int)r->key_info, "author_key_en",
		       (int)(r->key_info & SNP_KEY_INFO_AUTHOR_KEY_EN), "mask_chip_key",
		       (int)(r->key_info & SNP_KEY_INFO_MASK_CHIP_KEY), "signing_key",
		       snp_signing_key_name(sk));
	json_object_set_new(o, "key_info", ki);
	json_object_set_new(o, "report_data", hexstr(r->report_data, 64));
	json_object_set_new(o, "measurement", hexstr(r->measurement, 48));
	json_object_set_new(o, "host_data", hexstr(r->host_data, 32));
	json_object_set_new(o, "id_key_digest", hexstr(r->id_key_digest, 48));
	json_object_set_new(o, "author_key_digest", hexstr(r->author_key_digest, 48));
	json_object_set_new(o, "report_id", hexstr(r->report_id, 32));
	json_object_set_new(o, "report_id_ma", hexstr(r->report_id_ma, 32));
	json_object_set_new(o, "reported_tcb", tcb_json(r->reported_tcb, p));
	if (r->has_cpuid)
		json_object_set_new(o, "cpuid",
				    json_pack("{s:i,s:i,s:i}", "family", r->cpuid_fam_id, "model",
					      r->cpuid_mod_id, "stepping", r->cpuid_step));
	else
		json_object_set_new(o, "cpuid", json_null());
	json_object_set_new(o, "chip_id", hexstr(r->chip_id, 64));
	json_object_set_new(o, "committed_tcb", tcb_json(r->committed_tcb, p));
	json_object_set_new(o, "current_firmware", fw_json(&r->current));
	json_object_set_new(o, "committed_firmware", fw_json(&r->committed));
	json_object_set_new(o, "launch_tcb", tcb_json(r->launch_tcb, p));
	if (r->has_mit_vectors) {
		char s[24];

		snprintf(s, sizeof(s), "0x%" PRIx64, r->launch_mit_vector);
		json_object_set_new(o, "launch_mit_vector", json_string(s));
		snprintf(s, sizeof(s), "0x%" PRIx64, r->current_mit_vector);
		json_object_set_new(o, "current_mit_vector", json_string(s));
	}
	json_object_set_new(o, "signature",
			    json_pack("{s:o,s:o}", "r", hexstr(r->sig_r, 48), "s",
				      hexstr(r->sig_s, 48)));
	return o;
}

static void print_tcb(FILE *f, const char *name, const uint8_t raw[8], enum snp_product p)
{
	struct snp_tcb t;
	char s[80];
	bool clean = snp_tcb_decode(raw, p, &t);

	fprintf(f, "  %-19s %s%s\n", name, snp_tcb_format(&t, s, sizeof(s)),
		clean ? "" : " (reserved bytes non-zero)");
}

static void print_hex(FILE *f, const char *name, const uint8_t *b, size_t n)
{
	char s[2 * 64 + 1];

	ccu_hex_encode(b, n, s, sizeof(s));
	fprintf(f, "  %-19s %s\n", name, s);
}

static void print_bits(FILE *f, const char *name, uint64_t v, const struct bitname *b, size_t n)
{
	fprintf(f, "  %-19s 0x%" PRIx64, name, v);
	for (size_t i = 0; i < n; i++)
		if (v & b[i].bit)
			fprintf(f, " %s", b[i].name);
	fputc('\n', f);
}

void snp_report_print(FILE *f, const struct snp_report *r, enum snp_product p)
{
	char a[16], b[16];

	fprintf(f, "  %-19s %u\n", "report version", r->version);
	fprintf(f, "  %-19s %s", "product", snp_product_name(p));
	if (r->has_cpuid)
		fprintf(f, " (cpuid family 0x%02x model 0x%02x stepping %u)", r->cpuid_fam_id,
			r->cpuid_mod_id, r->cpuid_step);
	fputc('\n', f);
	fprintf(f, "  %-19s current %s, committed %s\n", "firmware",
		snp_fw_format(&r->current, a, sizeof(a)), snp_fw_format(&r->committed, b, sizeof(b)));
	print_tcb(f, "reported TCB", r->reported_tcb, p);
	print_tcb(f, "current TCB", r->current_tcb, p);
	print_tcb(f, "committed TCB", r->committed_tcb, p);
	print_tcb(f, "launch TCB", r->launch_tcb, p);
	print_bits(f, "guest policy", r->policy, policy_bits,
		   sizeof(policy_bits) / sizeof(policy_bits[0]));
	fprintf(f, "  %-19s %u.%u\n", "policy ABI minimum", SNP_POLICY_ABI_MAJOR(r->policy),
		SNP_POLICY_ABI_MINOR(r->policy));
	print_bits(f, "platform info", r->platform_info, platform_bits,
		   sizeof(platform_bits) / sizeof(platform_bits[0]));
	fprintf(f, "  %-19s %s%s%s\n", "signing key",
		snp_signing_key_name(SNP_KEY_INFO_SIGNING_KEY(r->key_info)),
		r->key_info & SNP_KEY_INFO_AUTHOR_KEY_EN ? ", author key" : "",
		r->key_info & SNP_KEY_INFO_MASK_CHIP_KEY ? ", chip id masked" : "");
	fprintf(f, "  %-19s %u\n", "VMPL", r->vmpl);
	fprintf(f, "  %-19s %u\n", "guest SVN", r->guest_svn);
	print_hex(f, "measurement", r->measurement, 48);
	print_hex(f, "report data", r->report_data, 64);
	print_hex(f, "host data", r->host_data, 32);
	print_hex(f, "chip id", r->chip_id, 64);
	print_hex(f, "id key digest", r->id_key_digest, 48);
	print_hex(f, "author key digest", r->author_key_digest, 48);
	print_hex(f, "family id", r->family_id, 16);
	print_hex(f, "image id", r->image_id, 16);
	print_hex(f, "report id", r->report_id, 32);
	if (r->has_mit_vectors)
		fprintf(f, "  %-19s launch 0x%" PRIx64 ", current 0x%" PRIx64 "\n",
			"mitigation vectors", r->launch_mit_vector, r->current_mit_vector);
}
