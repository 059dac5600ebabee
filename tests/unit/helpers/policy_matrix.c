#include "policy_matrix.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Hex strings of one repeated byte, for the allowlist rows. */
#define R2(s) s s
#define R4(s) R2(s) R2(s)
#define R8(s) R4(s) R4(s)
#define R16(s) R8(s) R8(s)
#define R32(s) R16(s) R16(s)
#define R48(s) R32(s) R16(s)
#define R64(s) R32(s) R32(s)
#define R47(s) R32(s) R8(s) R4(s) R2(s) s
#define R63(s) R32(s) R16(s) R8(s) R4(s) R2(s) s

void pm_set_version(struct snp_report *r, unsigned version, enum snp_product p)
{
	r->version = version;
	r->has_cpuid = version >= 3;
	r->has_mit_vectors = version >= 5;
	r->cpuid_fam_id = r->cpuid_mod_id = r->cpuid_step = 0;
	if (!r->has_mit_vectors)
		r->launch_mit_vector = r->current_mit_vector = 0;
	if (!r->has_cpuid)
		return;
	switch (p) {
	case SNP_PRODUCT_MILAN:
		r->cpuid_fam_id = 0x19;
		r->cpuid_mod_id = 0x01;
		r->cpuid_step = 0x01;
		break;
	case SNP_PRODUCT_GENOA:
		r->cpuid_fam_id = 0x19;
		r->cpuid_mod_id = 0x11;
		r->cpuid_step = 0x01;
		break;
	case SNP_PRODUCT_TURIN:
		r->cpuid_fam_id = 0x1A;
		r->cpuid_mod_id = 0x02;
		r->cpuid_step = 0x01;
		break;
	case SNP_PRODUCT_UNKNOWN:
		r->cpuid_fam_id = 0x17; /* a family without SNP */
		r->cpuid_mod_id = 0x31;
		break;
	}
}

void pm_set_product(struct snp_report *r, enum snp_product *p, enum snp_product to)
{
	*p = to;
	pm_set_version(r, r->version, to);
}

void pm_set_tcb(uint8_t raw[8], enum snp_product p, unsigned fmc, unsigned bl, unsigned tee,
		unsigned snp, unsigned ucode)
{
	struct snp_tcb t = {
		.fmc = (uint8_t)fmc,
		.bootloader = (uint8_t)bl,
		.tee = (uint8_t)tee,
		.snp = (uint8_t)snp,
		.microcode = (uint8_t)ucode,
		.has_fmc = p == SNP_PRODUCT_TURIN,
	};

	snp_tcb_encode(&t, p, raw);
}

void policy_matrix_base_report(struct snp_report *r, enum snp_product p)
{
	memset(r, 0, sizeof(*r));
	r->sig_algo = SNP_SIG_ALGO_ECDSA_P384_SHA384;
	r->policy = SNP_POLICY_SMT | SNP_POLICY_RESERVED_1;
	r->key_info = SNP_SIGNING_KEY_VCEK << 2;
	memset(r->report_id_ma, 0xff, sizeof(r->report_id_ma));
	pm_set_version(r, 3, p);
}

/* ---- TCB minimums: bl=4 tee=1 snp=24 ucode=219 (fmc=2 on Turin) */

#define TCB_FNS(f)                                                                                 \
	static void f##_min(struct snp_report *r, enum snp_product *p)                             \
	{                                                                                          \
		pm_set_tcb(r->f, *p, 2, 4, 1, 24, 219);                                            \
	}                                                                                          \
	static void f##_fmc(struct snp_report *r, enum snp_product *p)                             \
	{                                                                                          \
		pm_set_tcb(r->f, *p, 1, 4, 1, 24, 219);                                            \
	}                                                                                          \
	static void f##_bl(struct snp_report *r, enum snp_product *p)                              \
	{                                                                                          \
		pm_set_tcb(r->f, *p, 2, 3, 1, 24, 219);                                            \
	}                                                                                          \
	static void f##_tee(struct snp_report *r, enum snp_product *p)                             \
	{                                                                                          \
		pm_set_tcb(r->f, *p, 2, 4, 0, 24, 219);                                            \
	}                                                                                          \
	static void f##_snp(struct snp_report *r, enum snp_product *p)                             \
	{                                                                                          \
		pm_set_tcb(r->f, *p, 2, 4, 1, 23, 219);                                            \
	}                                                                                          \
	static void f##_ucode(struct snp_report *r, enum snp_product *p)                           \
	{                                                                                          \
		pm_set_tcb(r->f, *p, 2, 4, 1, 24, 218);                                            \
	}

TCB_FNS(reported_tcb)
TCB_FNS(committed_tcb)
TCB_FNS(launch_tcb)

#define TCB_LINE "bl=4 tee=1 snp=24 ucode=219\n"
#define TCB_LINE_FMC "ucode=219 snp=24 tee=1 bl=4 fmc=2\n" /* any order */

#define TCB_ROW(f, key, code, c, prod)                                                             \
	{ key "/" #c, code, key " = " TCB_LINE, "(" #c " too low)", prod, false,                   \
	  PM_TOUCH_PLATFORM, f##_min, f##_##c }
#define TCB_ROW_FMC(f, key, code)                                                                  \
	{ key "/fmc", code, key " = " TCB_LINE_FMC, "(fmc too low)", SNP_PRODUCT_TURIN, false,     \
	  PM_TOUCH_PLATFORM, f##_min, f##_fmc }
#define TCB_ROWS(f, key, code, prod)                                                               \
	TCB_ROW(f, key, code, bl, prod), TCB_ROW(f, key, code, tee, prod),                         \
		TCB_ROW(f, key, code, snp, prod), TCB_ROW(f, key, code, ucode, prod),              \
		TCB_ROW_FMC(f, key, code)

/* ---- firmware minimums: 1.55.29, compared (major, minor, build) */

#define FW_FNS(f)                                                                                  \
	static void f##_min(struct snp_report *r, enum snp_product *p)                             \
	{                                                                                          \
		(void)p;                                                                           \
		r->f = (struct snp_fw_version){ .major = 1, .minor = 55, .build = 29 };            \
	}                                                                                          \
	static void f##_build(struct snp_report *r, enum snp_product *p)                           \
	{                                                                                          \
		(void)p;                                                                           \
		r->f = (struct snp_fw_version){ .major = 1, .minor = 55, .build = 28 };            \
	}                                                                                          \
	static void f##_minor(struct snp_report *r, enum snp_product *p)                           \
	{                                                                                          \
		(void)p;                                                                           \
		r->f = (struct snp_fw_version){ .major = 1, .minor = 54, .build = 255 };           \
	}                                                                                          \
	static void f##_major(struct snp_report *r, enum snp_product *p)                           \
	{                                                                                          \
		(void)p;                                                                           \
		r->f = (struct snp_fw_version){ .major = 0, .minor = 255, .build = 255 };          \
	}

FW_FNS(current)
FW_FNS(committed)

#define FW_ROW(f, key, code, part, shown)                                                          \
	{ key "/" #part, code, key " = 1.55.29\n", shown, SNP_PRODUCT_MILAN, false,                \
	  PM_TOUCH_PLATFORM, f##_min, f##_##part }

/* ---- guest POLICY bits */

#define BIT_FNS(name, bit)                                                                         \
	static void name##_clear(struct snp_report *r, enum snp_product *p)                        \
	{                                                                                          \
		(void)p;                                                                           \
		r->policy &= ~(bit);                                                               \
	}                                                                                          \
	static void name##_set(struct snp_report *r, enum snp_product *p)                          \
	{                                                                                          \
		(void)p;                                                                           \
		r->policy |= (bit);                                                                \
	}

BIT_FNS(debug, SNP_POLICY_DEBUG)
BIT_FNS(migrate, SNP_POLICY_MIGRATE_MA)
BIT_FNS(smt, SNP_POLICY_SMT)
BIT_FNS(socket, SNP_POLICY_SINGLE_SOCKET)

#define ABI_FN(name, maj, min)                                                                     \
	static void name(struct snp_report *r, enum snp_product *p)                                \
	{                                                                                          \
		(void)p;                                                                           \
		r->policy = (r->policy & ~0xffffULL) | ((maj) << 8) | (min);                       \
	}

ABI_FN(abi_min, 1u, 51u)
ABI_FN(abi_minor, 1u, 50u)
ABI_FN(abi_major, 0u, 255u)

/* ---- plain numbers */

#define NUM_FN(name, field, v)                                                                     \
	static void name(struct snp_report *r, enum snp_product *p)                                \
	{                                                                                          \
		(void)p;                                                                           \
		r->field = (v);                                                                    \
	}

NUM_FN(vmpl_0, vmpl, 0)
NUM_FN(vmpl_1, vmpl, 1)
NUM_FN(vmpl_2, vmpl, 2)
NUM_FN(vmpl_3, vmpl, 3)
NUM_FN(svn_7, guest_svn, 7)
NUM_FN(svn_6, guest_svn, 6)
NUM_FN(svn_max, guest_svn, 0xffffffffu)
NUM_FN(svn_max_1, guest_svn, 0xfffffffeu)

#define VERSION_FN(name, v)                                                                        \
	static void name(struct snp_report *r, enum snp_product *p)                                \
	{                                                                                          \
		pm_set_version(r, v, *p);                                                          \
	}

VERSION_FN(version_2, 2)
VERSION_FN(version_3, 3)
VERSION_FN(version_4, 4)
VERSION_FN(version_5, 5)

#define PRODUCT_FN(name, to)                                                                       \
	static void name(struct snp_report *r, enum snp_product *p)                                \
	{                                                                                          \
		pm_set_product(r, p, to);                                                          \
	}

PRODUCT_FN(to_milan, SNP_PRODUCT_MILAN)
PRODUCT_FN(to_genoa, SNP_PRODUCT_GENOA)
PRODUCT_FN(to_turin, SNP_PRODUCT_TURIN)
PRODUCT_FN(to_unknown, SNP_PRODUCT_UNKNOWN)

/* ---- byte strings: boundary = an allowed value (the second of two where
 * the key is a list), beyond = that value with its last bit flipped. */

#define BYTES_FNS(name, field, byte)                                                               \
	static void name##_ok(struct snp_report *r, enum snp_product *p)                           \
	{                                                                                          \
		(void)p;                                                                           \
		memset(r->field, byte, sizeof(r->field));                                          \
	}                                                                                          \
	static void name##_off(struct snp_report *r, enum snp_product *p)                          \
	{                                                                                          \
		(void)p;                                                                           \
		memset(r->field, byte, sizeof(r->field));                                          \
		r->field[sizeof(r->field) - 1] ^= 1;                                               \
	}

BYTES_FNS(meas, measurement, 0x6f)
BYTES_FNS(rdata, report_data, 0x3c)
BYTES_FNS(host, host_data, 0xb2)
BYTES_FNS(idkey, id_key_digest, 0xc3)
BYTES_FNS(author, author_key_digest, 0xd4)
BYTES_FNS(family, family_id, 0xe5)
BYTES_FNS(image, image_id, 0xf6)
BYTES_FNS(chip, chip_id, 0x07)

#define LIST_ROW(name, key, code, first, second, hexrep, touch)                                    \
	{ key, code, key " = " hexrep(first) "\n" key " = " hexrep(second) "\n",                 \
	  key ": report has ",                                                                     \
	  SNP_PRODUCT_MILAN, false, touch, name##_ok, name##_off }

static const struct policy_matrix_row rows[] = {
	/* the rules no policy can lift */
	{ "debug", "POLICY_DEBUG", "", "bit 19", SNP_PRODUCT_MILAN, true, PM_TOUCH_GUEST,
	  debug_clear, debug_set },
	{ "migrate_ma", "POLICY_MIGRATE_MA", "", "bit 18", SNP_PRODUCT_MILAN, true, PM_TOUCH_GUEST,
	  migrate_clear, migrate_set },

	{ "report_version/low", "POLICY_REPORT_VERSION", "report_version = 3-5\n",
	  "need 3-5, report is version 2", SNP_PRODUCT_MILAN, false, PM_TOUCH_VERSION, version_3,
	  version_2 },
	{ "report_version/high", "POLICY_REPORT_VERSION", "report_version = 2-4\n",
	  "need 2-4, report is version 5", SNP_PRODUCT_MILAN, false, PM_TOUCH_VERSION, version_4,
	  version_5 },
	{ "report_version/exact", "POLICY_REPORT_VERSION", "report_version = 5\n",
	  "need 5, report is version 4", SNP_PRODUCT_GENOA, false, PM_TOUCH_VERSION, version_5,
	  version_4 },

	{ "product/milan", "POLICY_PRODUCT", "product = milan\n", "need Milan, evidence is from Genoa",
	  SNP_PRODUCT_MILAN, false, PM_TOUCH_PRODUCT, to_milan, to_genoa },
	{ "product/list", "POLICY_PRODUCT", "product = genoa\nproduct = Turin\n",
	  "need Genoa or Turin, evidence is from Milan", SNP_PRODUCT_GENOA, false,
	  PM_TOUCH_PRODUCT, to_turin, to_milan },
	{ "product/unknown", "POLICY_PRODUCT", "product = turin\n",
	  "need Turin, evidence is from unknown", SNP_PRODUCT_TURIN, false, PM_TOUCH_PRODUCT,
	  to_turin, to_unknown },

	{ "measurement", "POLICY_MEASUREMENT",
	  "measurement = " R48("5e") "\nmeasurement = " R48("6F") "\n",
	  "measurement: report has " R47("6f") "6e, not among the 2 allowed values",
	  SNP_PRODUCT_MILAN, false, PM_TOUCH_GUEST, meas_ok, meas_off },

	{ "report_data", "POLICY_REPORT_DATA", "report_data = " R64("3C") "\n",
	  "report_data: need " R64("3c") ", report has " R63("3c") "3d", SNP_PRODUCT_MILAN, false,
	  PM_TOUCH_GUEST, rdata_ok, rdata_off },

	{ "vmpl/default", "POLICY_VMPL", "", "vmpl: need 0, report has 1", SNP_PRODUCT_MILAN, true,
	  PM_TOUCH_GUEST, vmpl_0, vmpl_1 },
	{ "vmpl/3", "POLICY_VMPL", "vmpl = 3\n", "vmpl: need 3, report has 2", SNP_PRODUCT_MILAN,
	  true, PM_TOUCH_GUEST, vmpl_3, vmpl_2 },

	LIST_ROW(host, "host_data", "POLICY_HOST_DATA", "a1", "b2", R32, PM_TOUCH_GUEST),
	LIST_ROW(idkey, "id_key_digest", "POLICY_ID_KEY", "a1", "c3", R48, PM_TOUCH_GUEST),
	LIST_ROW(author, "author_key_digest", "POLICY_AUTHOR_KEY", "a1", "d4", R48, PM_TOUCH_GUEST),
	LIST_ROW(family, "family_id", "POLICY_FAMILY_ID", "a1", "e5", R16, PM_TOUCH_GUEST),
	LIST_ROW(image, "image_id", "POLICY_IMAGE_ID", "a1", "f6", R16, PM_TOUCH_GUEST),

	{ "min_guest_svn", "POLICY_GUEST_SVN", "min_guest_svn = 7\n",
	  "min_guest_svn: need >= 7, report has 6", SNP_PRODUCT_MILAN, false, PM_TOUCH_GUEST, svn_7,
	  svn_6 },
	{ "min_guest_svn/max", "POLICY_GUEST_SVN", "min_guest_svn = 4294967295\n",
	  "report has 4294967294", SNP_PRODUCT_MILAN, false, PM_TOUCH_GUEST, svn_max, svn_max_1 },

	{ "allow_smt", "POLICY_SMT", "allow_smt = no\n", "allows SMT (bit 16)", SNP_PRODUCT_MILAN,
	  false, PM_TOUCH_GUEST, smt_clear, smt_set },
	{ "require_single_socket", "POLICY_SINGLE_SOCKET", "require_single_socket = yes\n",
	  "lacks SINGLE_SOCKET (bit 20)", SNP_PRODUCT_MILAN, false, PM_TOUCH_GUEST, socket_set,
	  socket_clear },
	{ "min_abi/minor", "POLICY_ABI", "min_abi = 1.51\n",
	  "min_abi: need guest POLICY ABI >= 1.51, report has 1.50", SNP_PRODUCT_MILAN, false,
	  PM_TOUCH_GUEST, abi_min, abi_minor },
	{ "min_abi/major", "POLICY_ABI", "min_abi = 1.51\n", "report has 0.255", SNP_PRODUCT_MILAN,
	  false, PM_TOUCH_GUEST, abi_min, abi_major },

	LIST_ROW(chip, "chip_id", "POLICY_CHIP_ID", "a1", "07", R64, PM_TOUCH_PLATFORM),

	TCB_ROWS(reported_tcb, "min_reported_tcb", "POLICY_REPORTED_TCB", SNP_PRODUCT_MILAN),
	TCB_ROWS(committed_tcb, "min_committed_tcb", "POLICY_COMMITTED_TCB", SNP_PRODUCT_GENOA),
	TCB_ROWS(launch_tcb, "min_launch_tcb", "POLICY_LAUNCH_TCB", SNP_PRODUCT_MILAN),

	FW_ROW(current, "min_firmware", "POLICY_FIRMWARE", build, "report CURRENT is 1.55.28"),
	FW_ROW(current, "min_firmware", "POLICY_FIRMWARE", minor, "report CURRENT is 1.54.255"),
	FW_ROW(current, "min_firmware", "POLICY_FIRMWARE", major, "report CURRENT is 0.255.255"),
	FW_ROW(committed, "min_committed_firmware", "POLICY_COMMITTED_FIRMWARE", build,
	       "report COMMITTED is 1.55.28"),
	FW_ROW(committed, "min_committed_firmware", "POLICY_COMMITTED_FIRMWARE", minor,
	       "report COMMITTED is 1.54.255"),
	FW_ROW(committed, "min_committed_firmware", "POLICY_COMMITTED_FIRMWARE", major,
	       "report COMMITTED is 0.255.255"),
};

size_t policy_matrix_count(void)
{
	return sizeof(rows) / sizeof(rows[0]);
}

const struct policy_matrix_row *policy_matrix_row(size_t i)
{
	return i < policy_matrix_count() ? &rows[i] : NULL;
}

const struct policy_matrix_row *policy_matrix_find(const char *name)
{
	for (size_t i = 0; i < policy_matrix_count(); i++)
		if (strcmp(rows[i].name, name) == 0)
			return &rows[i];
	return NULL;
}

int policy_matrix_policy(const struct policy_matrix_row *row, char *buf, size_t len)
{
	bool meas = strncmp(row->policy, "measurement", 11) == 0 ||
		    strstr(row->policy, "\nmeasurement") != NULL;
	int n = snprintf(buf, len, "%s%s", meas ? "" : "measurement = any\n", row->policy);

	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return n;
}
