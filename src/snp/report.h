/*
 * The SEV-SNP ATTESTATION_REPORT (AMD SEV-SNP firmware ABI, 1184 bytes,
 * little-endian), versions 2 to 5. Layout and rules: snp-verification.md §1-4.
 *
 * snp_report_parse() is pure (no I/O, no logging) and strict: wrong size,
 * unknown version, a non-zero must-be-zero byte, an unknown signature
 * algorithm or malformed KEY_INFO/POLICY bits are errors with a reason code:
 *   FORMAT_SIZE FORMAT_VERSION FORMAT_SIG_ALGO FORMAT_RESERVED FORMAT_POLICY
 *   FORMAT_KEY_INFO FORMAT_SIGNATURE
 * It does not verify the signature (snp/verify.h does).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/reason.h"

#define SNP_REPORT_SIZE 0x4A0
#define SNP_REPORT_SIGNED_LEN 0x2A0
#define SNP_REPORT_MIN_VERSION 2
#define SNP_REPORT_MAX_VERSION 5

#define SNP_SIG_ALGO_ECDSA_P384_SHA384 1

/* Guest POLICY bits (§3). */
#define SNP_POLICY_ABI_MINOR(p) ((unsigned)((p)&0xff))
#define SNP_POLICY_ABI_MAJOR(p) ((unsigned)(((p) >> 8) & 0xff))
#define SNP_POLICY_SMT (1ULL << 16)
#define SNP_POLICY_RESERVED_1 (1ULL << 17)
#define SNP_POLICY_MIGRATE_MA (1ULL << 18)
#define SNP_POLICY_DEBUG (1ULL << 19)
#define SNP_POLICY_SINGLE_SOCKET (1ULL << 20)
#define SNP_POLICY_CXL_ALLOW (1ULL << 21)
#define SNP_POLICY_MEM_AES_256_XTS (1ULL << 22)
#define SNP_POLICY_RAPL_DIS (1ULL << 23)
#define SNP_POLICY_CIPHERTEXT_HIDING (1ULL << 24)
#define SNP_POLICY_PAGE_SWAP_DISABLE (1ULL << 25)
#define SNP_POLICY_KNOWN_MASK ((1ULL << 26) - 1)

/* PLATFORM_INFO bits (§4). Unknown bits are reported, not rejected. */
#define SNP_PLATFORM_SMT_EN (1ULL << 0)
#define SNP_PLATFORM_TSME_EN (1ULL << 1)
#define SNP_PLATFORM_ECC_EN (1ULL << 2)
#define SNP_PLATFORM_RAPL_DIS (1ULL << 3)
#define SNP_PLATFORM_CIPHERTEXT_HIDING_EN (1ULL << 4)
#define SNP_PLATFORM_ALIAS_CHECK_COMPLETE (1ULL << 5)
#define SNP_PLATFORM_SEV_TIO_EN (1ULL << 7)

/* KEY_INFO (§4). */
#define SNP_KEY_INFO_AUTHOR_KEY_EN (1u << 0)
#define SNP_KEY_INFO_MASK_CHIP_KEY (1u << 1)
#define SNP_KEY_INFO_SIGNING_KEY(k) (((k) >> 2) & 7u)

enum snp_signing_key {
	SNP_SIGNING_KEY_VCEK = 0,
	SNP_SIGNING_KEY_VLEK = 1,
	SNP_SIGNING_KEY_NONE = 7,
};

enum snp_product {
	SNP_PRODUCT_UNKNOWN = 0,
	SNP_PRODUCT_MILAN,
	SNP_PRODUCT_GENOA,
	SNP_PRODUCT_TURIN,
};
#define SNP_PRODUCT_COUNT 4

/* A decoded TCB_VERSION. @fmc only exists on Turin (has_fmc). */
struct snp_tcb {
	uint8_t fmc;
	uint8_t bootloader;
	uint8_t tee;
	uint8_t snp;
	uint8_t microcode;
	bool has_fmc;
};

struct snp_fw_version {
	uint8_t major;
	uint8_t minor;
	uint8_t build;
};

struct snp_report {
	uint8_t raw[SNP_REPORT_SIZE]; /* the exact bytes that were parsed */

	uint32_t version;
	uint32_t guest_svn;
	uint64_t policy;
	uint8_t family_id[16];
	uint8_t image_id[16];
	uint32_t vmpl;
	uint32_t sig_algo;
	uint8_t current_tcb[8];
	uint64_t platform_info;
	uint32_t key_info;
	uint8_t report_data[64];
	uint8_t measurement[48];
	uint8_t host_data[32];
	uint8_t id_key_digest[48];
	uint8_t author_key_digest[48];
	uint8_t report_id[32];
	uint8_t report_id_ma[32];
	uint8_t reported_tcb[8];
	bool has_cpuid; /* version >= 3 */
	uint8_t cpuid_fam_id;
	uint8_t cpuid_mod_id;
	uint8_t cpuid_step;
	uint8_t chip_id[64];
	uint8_t committed_tcb[8];
	struct snp_fw_version current;
	struct snp_fw_version committed;
	uint8_t launch_tcb[8];
	bool has_mit_vectors; /* version >= 5 */
	uint64_t launch_mit_vector;
	uint64_t current_mit_vector;
	uint8_t sig_r[72]; /* little-endian, as stored */
	uint8_t sig_s[72];
};

/* Field offsets (for tests, the simulator and the JSON form). */
enum {
	SNP_OFF_VERSION = 0x000,
	SNP_OFF_GUEST_SVN = 0x004,
	SNP_OFF_POLICY = 0x008,
	SNP_OFF_FAMILY_ID = 0x010,
	SNP_OFF_IMAGE_ID = 0x020,
	SNP_OFF_VMPL = 0x030,
	SNP_OFF_SIG_ALGO = 0x034,
	SNP_OFF_CURRENT_TCB = 0x038,
	SNP_OFF_PLATFORM_INFO = 0x040,
	SNP_OFF_KEY_INFO = 0x048,
	SNP_OFF_REPORT_DATA = 0x050,
	SNP_OFF_MEASUREMENT = 0x090,
	SNP_OFF_HOST_DATA = 0x0C0,
	SNP_OFF_ID_KEY_DIGEST = 0x0E0,
	SNP_OFF_AUTHOR_KEY_DIGEST = 0x110,
	SNP_OFF_REPORT_ID = 0x140,
	SNP_OFF_REPORT_ID_MA = 0x160,
	SNP_OFF_REPORTED_TCB = 0x180,
	SNP_OFF_CPUID_FAM_ID = 0x188,
	SNP_OFF_CPUID_MOD_ID = 0x189,
	SNP_OFF_CPUID_STEP = 0x18A,
	SNP_OFF_CHIP_ID = 0x1A0,
	SNP_OFF_COMMITTED_TCB = 0x1E0,
	SNP_OFF_CURRENT_BUILD = 0x1E8,
	SNP_OFF_CURRENT_MINOR = 0x1E9,
	SNP_OFF_CURRENT_MAJOR = 0x1EA,
	SNP_OFF_COMMITTED_BUILD = 0x1EC,
	SNP_OFF_COMMITTED_MINOR = 0x1ED,
	SNP_OFF_COMMITTED_MAJOR = 0x1EE,
	SNP_OFF_LAUNCH_TCB = 0x1F0,
	SNP_OFF_LAUNCH_MIT_VECTOR = 0x1F8,
	SNP_OFF_CURRENT_MIT_VECTOR = 0x200,
	SNP_OFF_SIG_R = 0x2A0,
	SNP_OFF_SIG_S = 0x2E8,
	SNP_OFF_SIG_END = 0x330,
};

/* Parse exactly SNP_REPORT_SIZE bytes. Returns 0 or -EBADMSG with @err set. */
int snp_report_parse(const uint8_t *buf, size_t len, struct snp_report *out, struct ccu_reason *err);

/* Re-encode @r's fields into @out (1184 bytes; reserved bytes zero). Used by
 * the JSON form and the simulator; snp_report_parse(encode(r)) == r. */
void snp_report_encode(const struct snp_report *r, uint8_t out[SNP_REPORT_SIZE]);

/* Product from CPUID family/model (v3+): Milan 19h/00-0F, Genoa 19h/10-1F and
 * A0-AF, Turin 1Ah/00-11; otherwise UNKNOWN. */
enum snp_product snp_product_from_cpuid(uint8_t family, uint8_t model);
/* CPUID product of the report, or UNKNOWN for v2 / unknown models. */
enum snp_product snp_report_product(const struct snp_report *r);

const char *snp_product_name(enum snp_product p);      /* "Milan", "Genoa", "Turin", "unknown" */
/* Lower-case identifier for file names and configs ("milan" ...), NULL when unknown. */
const char *snp_product_id(enum snp_product p);
/* Case-insensitive "milan"/"genoa"/"turin"; returns UNKNOWN otherwise. */
enum snp_product snp_product_from_name(const char *s);

/* TCB_VERSION layout per product (Turin: fmc,bl,tee,snp,0,0,0,ucode; others:
 * bl,tee,0,0,0,0,snp,ucode). Decoding reports whether the reserved bytes of
 * that layout were zero. */
bool snp_tcb_decode(const uint8_t raw[8], enum snp_product p, struct snp_tcb *out);
void snp_tcb_encode(const struct snp_tcb *t, enum snp_product p, uint8_t out[8]);
/* Component-wise a >= b (fmc only when both have it). */
bool snp_tcb_ge(const struct snp_tcb *a, const struct snp_tcb *b);
/* "bl=3 tee=0 snp=8 ucode=115" (Turin: "fmc=0 bl=..."). */
const char *snp_tcb_format(const struct snp_tcb *t, char *buf, size_t len);

const char *snp_signing_key_name(unsigned k); /* "VCEK", "VLEK", "none", "reserved" */
