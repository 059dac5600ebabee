/*
 * The expected launch measurement of an SEV guest, computed offline from the
 * launch inputs (the same semantics as virtee's sev-snp-measure):
 *
 *   SNP     the 48-byte SHA-384 launch digest, the report's MEASUREMENT:
 *           firmware pages, OVMF's SEV metadata sections (with the kernel /
 *           initrd / command line hashes page for measured direct boot) and
 *           one VMSA per vCPU, chained through PAGE_INFO structures;
 *   SEV-ES  the 32-byte SHA-256 launch digest before the HMAC: firmware,
 *           hashes table, VMSAs;
 *   SEV     the 32-byte SHA-256 of the firmware and hashes table.
 *
 * The firmware parser (meas_fw_parse) is pure and sees only the last
 * MEAS_FW_TAIL bytes of the file; meas_compute streams every input in
 * MEAS_IO_CHUNK pieces, so memory stays bounded whatever the file sizes.
 * ../shared/docs/snp-measure.md describes the algorithm.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/reason.h"

#define MEAS_PAGE 4096u
#define MEAS_SNP_DIGEST 48u
#define MEAS_SEV_DIGEST 32u
/* Firmware size limits (the ROM sits below 4 GiB). */
#define MEAS_FW_MIN MEAS_PAGE
#define MEAS_FW_MAX (64u * 1024 * 1024)
/* The footer table and the SEV metadata must lie in the last 64 KiB. */
#define MEAS_FW_TAIL (64u * 1024)
#define MEAS_FW_TABLE_ENTRIES_MAX 64u
#define MEAS_FW_SECTIONS_MAX 64u
/* Pages measured for metadata sections at most (edk2 uses ~40). */
#define MEAS_FW_SECTION_PAGES_MAX 16384u
#define MEAS_VCPUS_MAX 4096u
#define MEAS_KERNEL_MAX (1024ull * 1024 * 1024)
#define MEAS_INITRD_MAX (4ull * 1024 * 1024 * 1024)
#define MEAS_APPEND_MAX 65536u
#define MEAS_IO_CHUNK (256u * 1024)
/* The kernel hashes table QEMU builds (with its padding). */
#define MEAS_HASHES_TABLE 176u
/* The GPA KVM records VMSAs under (QEMU, EC2, GCE on Milan). */
#define MEAS_VMSA_GPA 0xFFFFFFFFF000ull
#define MEAS_BSP_EIP 0xFFFFFFF0u

enum meas_mode {
	MEAS_MODE_SNP,
	MEAS_MODE_SEV_ES,
	MEAS_MODE_SEV,
	MEAS_MODE_SNP_OVMF_HASH, /* the SNP digest after the firmware pages only */
	MEAS_MODE_SNP_SVSM,      /* SNP with a Coconut SVSM below OVMF */
};

enum meas_vmm {
	MEAS_VMM_QEMU,
	MEAS_VMM_EC2,
	MEAS_VMM_GCE,
};

/* OVMF SEV metadata section types (edk2 OvmfSevMetadata.asm). */
enum meas_section_type {
	MEAS_SEC_SNP_SEC_MEM = 1,
	MEAS_SEC_SNP_SECRETS = 2,
	MEAS_SEC_CPUID = 3,
	MEAS_SEC_SVSM_CAA = 4,
	MEAS_SEC_SNP_KERNEL_HASHES = 0x10,
};

/* SNP PAGE_INFO page types. */
enum meas_page_type {
	MEAS_PAGE_NORMAL = 1,
	MEAS_PAGE_VMSA = 2,
	MEAS_PAGE_ZERO = 3,
	MEAS_PAGE_UNMEASURED = 4,
	MEAS_PAGE_SECRETS = 5,
	MEAS_PAGE_CPUID = 6,
};

struct meas_section {
	uint32_t gpa;
	uint32_t size;
	uint32_t type;
};

/* What the firmware's footer table and SEV metadata say. */
struct meas_fw {
	uint64_t size;
	uint64_t gpa; /* where the image is loaded */
	bool has_table;
	bool has_reset_block;
	uint32_t reset_eip;
	bool has_metadata;
	unsigned nsections;
	struct meas_section sections[MEAS_FW_SECTIONS_MAX];
	bool has_hashes_entry;
	uint32_t hashes_gpa;
	uint32_t hashes_size;
	bool has_svsm_info;
	uint32_t svsm_entry; /* SVSM: entry point offset from the image's GPA */
};

/* Parse the last @tail_len bytes (@tail) of a firmware file of @file_size
 * bytes. Returns 0, or -EBADMSG with FIRMWARE_SIZE, FIRMWARE_TABLE,
 * FIRMWARE_METADATA, FIRMWARE_SECTION or FIRMWARE_SECTION_OVERLAP. */
int meas_fw_parse(const uint8_t *tail, size_t tail_len, uint64_t file_size, struct meas_fw *fw,
		  struct ccu_reason *why);
/* The same for an image loaded at @gpa (an SVSM below the firmware). */
int meas_fw_parse_at(const uint8_t *tail, size_t tail_len, uint64_t file_size, uint64_t gpa,
		     struct meas_fw *fw, struct ccu_reason *why);

/* A 4096-byte VMSA page for a vCPU starting at @eip. */
void meas_vmsa_build(uint8_t page[MEAS_PAGE], uint32_t eip, uint32_t vcpu_sig,
		     uint64_t sev_features, enum meas_vmm vmm);

/* The VMSA every vCPU of an SVSM launch starts with (SEV_FEATURES 0x1). */
void meas_vmsa_build_svsm(uint8_t page[MEAS_PAGE], uint32_t eip, uint32_t vcpu_sig);

/* The 176-byte kernel hashes table from the three SHA-256 values. */
void meas_hashes_table(uint8_t table[MEAS_HASHES_TABLE], const uint8_t cmdline[32],
		       const uint8_t initrd[32], const uint8_t kernel[32]);

/* One SNP launch-digest step: LD = SHA-384(PAGE_INFO(LD, contents, type, gpa)).
 * @contents may be NULL (48 zero bytes). */
int meas_snp_extend(uint8_t ld[MEAS_SNP_DIGEST], enum meas_page_type type, uint64_t gpa,
		    const uint8_t *contents);

/* The CPUID signature QEMU puts in RDX for family/model/stepping. */
uint32_t meas_cpu_sig(unsigned family, unsigned model, unsigned stepping);
/* The signature of a QEMU -cpu model name ("EPYC-Milan", ...); -ENOENT. */
int meas_vcpu_type_sig(const char *name, uint32_t *sig);
/* The @i-th known vCPU type name, NULL past the last. */
const char *meas_vcpu_type_at(size_t i);

/* "snp", "seves", "sev", "snp:ovmf-hash" (and sev-snp, sev-es, any case). */
int meas_mode_from_str(const char *s, enum meas_mode *mode);
int meas_vmm_from_str(const char *s, enum meas_vmm *vmm);
const char *meas_mode_name(enum meas_mode mode);
const char *meas_vmm_name(enum meas_vmm vmm);

struct meas_input {
	enum meas_mode mode;
	enum meas_vmm vmm;
	const char *ovmf;
	unsigned vcpus;
	uint32_t vcpu_sig;
	uint64_t guest_features;
	const char *kernel; /* NULL: no measured direct boot */
	const char *initrd; /* NULL: none (hash of the empty input) */
	const char *append; /* NULL or "": the command line is one NUL byte */
	bool has_ovmf_hash; /* SNP: seed the digest, skip the firmware pages */
	uint8_t ovmf_hash[MEAS_SNP_DIGEST];
	const char *dump_vmsa; /* a directory for vmsa<N>.bin, the measured VMSAs */
	const char *svsm;   /* snp:svsm: the SVSM image */
	uint64_t vars_size; /* snp:svsm: the OVMF_VARS gap between SVSM and OVMF */
};

struct meas_result {
	size_t digest_len;
	uint8_t digest[MEAS_SNP_DIGEST];
	struct meas_fw fw;
	struct meas_fw svsm; /* snp:svsm */
	bool has_ovmf_sha256; /* false when --ovmf-hash skipped the firmware pages */
	uint8_t ovmf_sha256[32];
	bool has_kernel;
	uint8_t kernel_sha256[32];
	uint8_t initrd_sha256[32];
	uint8_t cmdline_sha256[32];
};

/* Compute the digest. Returns 0, or a negative errno with @why: the
 * firmware codes above, FIRMWARE_READ, FIRMWARE_NO_SEV_METADATA,
 * FIRMWARE_NO_RESET_BLOCK, FIRMWARE_NO_KERNEL_HASHES, MEASURE_INPUT,
 * MEASURE_OUTPUT (a VMSA file could not be written). */
int meas_compute(const struct meas_input *in, struct meas_result *out, struct ccu_reason *why);

/* ------------------------------------------------------------ command line */

struct meas_args {
	struct meas_input in;
	bool json;
	const char *config; /* with @policy: --config FILE, or NULL */
	const char *name;   /* with @policy: the one positional NAME */
};

/* The options text (without the "usage:" line). */
extern const char meas_args_help[];

/* Parse the measurement options of argv[1..argc-1] (getopt_long; @argv[0]
 * is the command name). @policy also takes --config FILE and one NAME.
 * Returns 0, 1 for --help, or -EINVAL with USAGE and one line in @why. */
int meas_args_parse(int argc, char **argv, bool policy, struct meas_args *a,
		    struct ccu_reason *why);
