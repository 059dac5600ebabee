/*
 * OVMF firmware layout (pure, no I/O): the footer GUID table at the end of
 * the image, the SEV metadata it points to, and the pieces of the launch
 * state built from them (VMSA pages, the kernel hashes table). Every length,
 * offset and count comes from an untrusted file and is checked before use.
 */
#include "measure/measure.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "common/macros.h"

/* GUIDs in their on-disk (mixed-endian) byte order. */
static const uint8_t guid_footer[16] = { 0xde, 0x82, 0xb5, 0x96, 0xb2, 0x1f, 0xf7, 0x45,
					 0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d };
static const uint8_t guid_reset_block[16] = { 0xde, 0x71, 0xf7, 0x00, 0x7e, 0x1a, 0xcb, 0x4f,
					      0x89, 0x0e, 0x68, 0xc7, 0x7e, 0x2f, 0xb4, 0x4e };
static const uint8_t guid_metadata[16] = { 0x66, 0x65, 0x88, 0xdc, 0x4a, 0x98, 0x98, 0x47,
					   0xa7, 0x5e, 0x55, 0x85, 0xa7, 0xbf, 0x67, 0xcc };
static const uint8_t guid_hashes[16] = { 0x1f, 0x37, 0x55, 0x72, 0x3b, 0x3a, 0x04, 0x4b,
					 0x92, 0x7b, 0x1d, 0xa6, 0xef, 0xa8, 0xd4, 0x54 };
static const uint8_t guid_svsm_info[16] = { 0x12, 0xa6, 0x89, 0xa7, 0x97, 0x05, 0x4b, 0x4c,
					    0xa4, 0x9f, 0xcb, 0xb1, 0xfe, 0x9d, 0x1d, 0xdd };
static const uint8_t guid_ht_table[16] = { 0x06, 0xd6, 0x38, 0x94, 0x22, 0x4f, 0xc9, 0x4c,
					   0xb4, 0x79, 0xa7, 0x93, 0xd4, 0x11, 0xfd, 0x21 };
static const uint8_t guid_ht_cmdline[16] = { 0xd8, 0x2d, 0xd0, 0x97, 0x20, 0xbd, 0x94, 0x4c,
					     0xaa, 0x78, 0xe7, 0x71, 0x4d, 0x36, 0xab, 0x2a };
static const uint8_t guid_ht_initrd[16] = { 0x31, 0xf7, 0xba, 0x44, 0x2f, 0x3a, 0xd7, 0x4b,
					    0x9a, 0xf1, 0x41, 0xe2, 0x91, 0x69, 0x78, 0x1d };
static const uint8_t guid_ht_kernel[16] = { 0x37, 0x94, 0xe7, 0x4d, 0xd2, 0xab, 0x7f, 0x42,
					    0xb8, 0x35, 0xd5, 0xb1, 0x72, 0xd2, 0x04, 0x5b };

/* Footer layout: the last 32 bytes are the reset vector and padding; the
 * 18 bytes before them hold le16 table length + the footer GUID. */
#define FW_FOOTER_RESERVED 32u
#define FW_ENTRY_TRAILER 18u
#define FW_META_HEADER 16u
#define FW_META_DESC 12u
#define FW_FOUR_GIB 0x100000000ull

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
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

static const char *section_name(uint32_t type)
{
	switch (type) {
	case MEAS_SEC_SNP_SEC_MEM:
		return "SNP_SEC_MEM";
	case MEAS_SEC_SNP_SECRETS:
		return "SNP_SECRETS";
	case MEAS_SEC_CPUID:
		return "CPUID";
	case MEAS_SEC_SVSM_CAA:
		return "SVSM_CAA";
	case MEAS_SEC_SNP_KERNEL_HASHES:
		return "SNP_KERNEL_HASHES";
	default:
		return NULL;
	}
}

/* One footer-table entry with a GUID we use: exact data length, once. */
static int table_entry(size_t len, const char *what, size_t want, bool *seen,
		       struct ccu_reason *why)
{
	if (*seen)
		return ccu_fail(why, -EBADMSG, "FIRMWARE_TABLE",
				"firmware footer table: the %s entry appears twice", what);
	if (len != want)
		return ccu_fail(why, -EBADMSG, "FIRMWARE_TABLE",
				"firmware footer table: the %s entry holds %zu bytes, expected %zu",
				what, len, want);
	*seen = true;
	return 0;
}

static int parse_table(const uint8_t *tail, size_t tail_len, struct meas_fw *fw,
		       const uint8_t **meta_entry, struct ccu_reason *why)
{
	size_t footer = tail_len - FW_FOOTER_RESERVED - FW_ENTRY_TRAILER;
	size_t total, pos, start;
	unsigned n = 0;
	int r;

	if (memcmp(tail + footer + 2, guid_footer, 16) != 0)
		return 0; /* no table */
	fw->has_table = true;
	total = le16(tail + footer);
	if (total < FW_ENTRY_TRAILER)
		return ccu_fail(why, -EBADMSG, "FIRMWARE_TABLE",
				"firmware footer table length %zu is below the 18-byte footer", total);
	if (total - FW_ENTRY_TRAILER > footer)
		return ccu_fail(why, -EBADMSG, "FIRMWARE_TABLE",
				"firmware footer table length %zu runs past the last %zu bytes read",
				total, tail_len);
	start = footer - (total - FW_ENTRY_TRAILER);
	pos = footer;
	while (pos > start) {
		const uint8_t *trailer, *data;
		size_t elen, dlen;

		if (pos - start < FW_ENTRY_TRAILER)
			return ccu_fail(why, -EBADMSG, "FIRMWARE_TABLE",
					"firmware footer table: %zu stray bytes before its first entry",
					pos - start);
		if (++n > MEAS_FW_TABLE_ENTRIES_MAX)
			return ccu_fail(why, -EBADMSG, "FIRMWARE_TABLE",
					"firmware footer table has more than %u entries",
					MEAS_FW_TABLE_ENTRIES_MAX);
		trailer = tail + pos - FW_ENTRY_TRAILER;
		elen = le16(trailer);
		if (elen < FW_ENTRY_TRAILER || elen > pos - start)
			return ccu_fail(why, -EBADMSG, "FIRMWARE_TABLE",
					"firmware footer table entry %u has length %zu (%zu bytes left)",
					n, elen, pos - start);
		dlen = elen - FW_ENTRY_TRAILER;
		data = trailer - dlen;
		if (memcmp(trailer + 2, guid_reset_block, 16) == 0) {
			r = table_entry(dlen, "SEV-ES reset block", 4, &fw->has_reset_block,
					why);
			if (r < 0)
				return r;
			fw->reset_eip = le32(data);
		} else if (memcmp(trailer + 2, guid_metadata, 16) == 0) {
			r = table_entry(dlen, "SEV metadata", 4, &fw->has_metadata, why);
			if (r < 0)
				return r;
			*meta_entry = data;
		} else if (memcmp(trailer + 2, guid_hashes, 16) == 0) {
			r = table_entry(dlen, "SEV hashes table", 8, &fw->has_hashes_entry,
					why);
			if (r < 0)
				return r;
			fw->hashes_gpa = le32(data);
			fw->hashes_size = le32(data + 4);
		} else if (memcmp(trailer + 2, guid_svsm_info, 16) == 0) {
			r = table_entry(dlen, "SVSM information", 4, &fw->has_svsm_info, why);
			if (r < 0)
				return r;
			fw->svsm_entry = le32(data);
		}
		/* Other entries (launch secret, TDX, ...) are not measured. */
		pos -= elen;
	}
	return 0;
}

static int check_sections(const struct meas_fw *fw, struct ccu_reason *why)
{
	uint64_t fw_gpa = fw->gpa, pages = 0;
	unsigned secrets = 0, cpuid = 0, hashes = 0;

	for (unsigned i = 0; i < fw->nsections; i++) {
		const struct meas_section *s = &fw->sections[i];
		const char *name = section_name(s->type);
		uint64_t end = (uint64_t)s->gpa + s->size;

		if (!name)
			return ccu_fail(why, -EBADMSG, "FIRMWARE_SECTION",
					"SEV metadata section %u has unknown type 0x%x", i, s->type);
		if (s->gpa % MEAS_PAGE || s->size == 0 || s->size % MEAS_PAGE)
			return ccu_fail(why, -EBADMSG, "FIRMWARE_SECTION",
					"SEV metadata section %u (%s) at 0x%x size 0x%x is not whole "
					"4 KiB pages",
					i, name, s->gpa, s->size);
		if (end > FW_FOUR_GIB)
			return ccu_fail(why, -EBADMSG, "FIRMWARE_SECTION",
					"SEV metadata section %u (%s) at 0x%x size 0x%x ends above 4 GiB",
					i, name, s->gpa, s->size);
		if ((s->type == MEAS_SEC_SNP_SECRETS || s->type == MEAS_SEC_CPUID ||
		     s->type == MEAS_SEC_SNP_KERNEL_HASHES) &&
		    s->size != MEAS_PAGE)
			return ccu_fail(why, -EBADMSG, "FIRMWARE_SECTION",
					"SEV metadata section %u (%s) has size 0x%x, expected one page",
					i, name, s->size);
		secrets += s->type == MEAS_SEC_SNP_SECRETS;
		cpuid += s->type == MEAS_SEC_CPUID;
		hashes += s->type == MEAS_SEC_SNP_KERNEL_HASHES;
		if (secrets > 1 || cpuid > 1 || hashes > 1)
			return ccu_fail(why, -EBADMSG, "FIRMWARE_SECTION",
					"SEV metadata has a second %s section (section %u)", name, i);
		pages += s->size / MEAS_PAGE;
		if (pages > MEAS_FW_SECTION_PAGES_MAX)
			return ccu_fail(why, -EBADMSG, "FIRMWARE_SECTION",
					"SEV metadata sections cover more than %u pages",
					MEAS_FW_SECTION_PAGES_MAX);
		if (end > fw_gpa && s->gpa < fw_gpa + fw->size)
			return ccu_fail(why, -EBADMSG, "FIRMWARE_SECTION_OVERLAP",
					"SEV metadata section %u (%s) at 0x%x size 0x%x overlaps the "
					"firmware at 0x%llx",
					i, name, s->gpa, s->size, (unsigned long long)fw_gpa);
		for (unsigned j = 0; j < i; j++) {
			const struct meas_section *o = &fw->sections[j];

			if (s->gpa < (uint64_t)o->gpa + o->size && o->gpa < end)
				return ccu_fail(why, -EBADMSG, "FIRMWARE_SECTION_OVERLAP",
						"SEV metadata sections %u (0x%x+0x%x) and %u "
						"(0x%x+0x%x) overlap",
						j, o->gpa, o->size, i, s->gpa, s->size);
		}
	}
	return 0;
}

static int parse_metadata(const uint8_t *tail, size_t tail_len, const uint8_t *entry,
			  struct meas_fw *fw, struct ccu_reason *why)
{
	uint32_t off = le32(entry), len, version, count;
	const uint8_t *h;

	if (off < FW_META_HEADER || off > tail_len)
		return ccu_fail(why, -EBADMSG, "FIRMWARE_METADATA",
				"SEV metadata offset %u from the end is outside the last %zu bytes",
				off, tail_len);
	h = tail + tail_len - off;
	if (memcmp(h, "ASEV", 4) != 0)
		return ccu_fail(why, -EBADMSG, "FIRMWARE_METADATA",
				"SEV metadata at %u bytes from the end has no ASEV signature", off);
	len = le32(h + 4);
	version = le32(h + 8);
	count = le32(h + 12);
	if (version != 1)
		return ccu_fail(why, -EBADMSG, "FIRMWARE_METADATA",
				"SEV metadata version %u, expected 1", version);
	if (count == 0 || count > MEAS_FW_SECTIONS_MAX)
		return ccu_fail(why, -EBADMSG, "FIRMWARE_METADATA",
				"SEV metadata has %u sections, expected 1..%u", count,
				MEAS_FW_SECTIONS_MAX);
	if (len != FW_META_HEADER + FW_META_DESC * count || len > off)
		return ccu_fail(why, -EBADMSG, "FIRMWARE_METADATA",
				"SEV metadata length %u does not fit %u sections in the %u bytes "
				"left",
				len, count, off);
	fw->nsections = count;
	for (unsigned i = 0; i < count; i++) {
		const uint8_t *d = h + FW_META_HEADER + FW_META_DESC * i;

		fw->sections[i].gpa = le32(d);
		fw->sections[i].size = le32(d + 4);
		fw->sections[i].type = le32(d + 8);
	}
	return check_sections(fw, why);
}

int meas_fw_parse(const uint8_t *tail, size_t tail_len, uint64_t file_size, struct meas_fw *fw,
		  struct ccu_reason *why)
{
	if (file_size > FW_FOUR_GIB)
		return ccu_fail(why, -EBADMSG, "FIRMWARE_SIZE", "firmware larger than 4 GiB");
	return meas_fw_parse_at(tail, tail_len, file_size, FW_FOUR_GIB - file_size, fw, why);
}

int meas_fw_parse_at(const uint8_t *tail, size_t tail_len, uint64_t file_size, uint64_t gpa,
		     struct meas_fw *fw, struct ccu_reason *why)
{
	const uint8_t *meta = NULL;
	int r;

	memset(fw, 0, sizeof(*fw));
	fw->size = file_size;
	fw->gpa = gpa;
	if (file_size < MEAS_FW_MIN || file_size > MEAS_FW_MAX || file_size % MEAS_PAGE)
		return ccu_fail(why, -EBADMSG, "FIRMWARE_SIZE",
				"firmware is %llu bytes, expected a multiple of 4096 from %u to %u",
				(unsigned long long)file_size, MEAS_FW_MIN, MEAS_FW_MAX);
	if (gpa % MEAS_PAGE || gpa + file_size > FW_FOUR_GIB)
		return ccu_fail(why, -EBADMSG, "FIRMWARE_SIZE",
				"an image of %llu bytes cannot be loaded at 0x%llx below 4 GiB",
				(unsigned long long)file_size, (unsigned long long)gpa);
	if (tail_len != (file_size < MEAS_FW_TAIL ? file_size : MEAS_FW_TAIL))
		return ccu_fail(why, -EINVAL, "FIRMWARE_SIZE",
				"firmware tail of %zu bytes for a %llu-byte file", tail_len,
				(unsigned long long)file_size);
	r = parse_table(tail, tail_len, fw, &meta, why);
	if (r < 0)
		return r;
	if (meta)
		return parse_metadata(tail, tail_len, meta, fw, why);
	return 0;
}

/* ------------------------------------------------------------ launch state */

static void put_seg(uint8_t *p, uint16_t sel, uint16_t attr, uint32_t limit, uint64_t base)
{
	put16(p, sel);
	put16(p + 2, attr);
	put32(p + 4, limit);
	put64(p + 8, base);
}

/* VMSA save-area offsets (AMD APM vol. 2, VMSA layout). */
enum {
	VMSA_ES = 0x000,
	VMSA_CS = 0x010,
	VMSA_SS = 0x020,
	VMSA_DS = 0x030,
	VMSA_FS = 0x040,
	VMSA_GS = 0x050,
	VMSA_GDTR = 0x060,
	VMSA_LDTR = 0x070,
	VMSA_IDTR = 0x080,
	VMSA_TR = 0x090,
	VMSA_EFER = 0x0d0,
	VMSA_CR4 = 0x148,
	VMSA_CR0 = 0x158,
	VMSA_DR7 = 0x160,
	VMSA_DR6 = 0x168,
	VMSA_RFLAGS = 0x170,
	VMSA_RIP = 0x178,
	VMSA_G_PAT = 0x268,
	VMSA_RDX = 0x310,
	VMSA_SEV_FEATURES = 0x3b0,
	VMSA_XCR0 = 0x3e8,
	VMSA_MXCSR = 0x408,
	VMSA_X87_FCW = 0x410,
};

void meas_vmsa_build(uint8_t page[MEAS_PAGE], uint32_t eip, uint32_t vcpu_sig,
		     uint64_t sev_features, enum meas_vmm vmm)
{
	uint16_t cs_attr = 0x9b, ss_attr = 0x93, tr_attr = 0x8b, fcw = 0x37f;
	uint64_t g_pat = 0x0007040600070406ull, rdx = vcpu_sig;
	uint32_t mxcsr = 0x1f80;

	if (vmm == MEAS_VMM_EC2) {
		cs_attr = eip == MEAS_BSP_EIP ? 0x9a : 0x9b;
		ss_attr = 0x92;
		tr_attr = 0x83;
	} else if (vmm == MEAS_VMM_GCE) {
		g_pat = 0x00070106;
	}
	if (vmm != MEAS_VMM_QEMU) {
		rdx = 0x600;
		mxcsr = 0;
		fcw = 0;
	}
	memset(page, 0, MEAS_PAGE);
	put_seg(page + VMSA_ES, 0, 0x93, 0xffff, 0);
	put_seg(page + VMSA_CS, 0xf000, cs_attr, 0xffff, eip & 0xffff0000u);
	put_seg(page + VMSA_SS, 0, ss_attr, 0xffff, 0);
	put_seg(page + VMSA_DS, 0, 0x93, 0xffff, 0);
	put_seg(page + VMSA_FS, 0, 0x93, 0xffff, 0);
	put_seg(page + VMSA_GS, 0, 0x93, 0xffff, 0);
	put_seg(page + VMSA_GDTR, 0, 0, 0xffff, 0);
	put_seg(page + VMSA_LDTR, 0, 0x82, 0xffff, 0);
	put_seg(page + VMSA_IDTR, 0, 0, 0xffff, 0);
	put_seg(page + VMSA_TR, 0, tr_attr, 0xffff, 0);
	put64(page + VMSA_EFER, 0x1000);
	put64(page + VMSA_CR4, 0x40);
	put64(page + VMSA_CR0, 0x10);
	put64(page + VMSA_DR7, 0x400);
	put64(page + VMSA_DR6, 0xffff0ff0);
	put64(page + VMSA_RFLAGS, 0x2);
	put64(page + VMSA_RIP, eip & 0xffffu);
	put64(page + VMSA_G_PAT, g_pat);
	put64(page + VMSA_RDX, rdx);
	put64(page + VMSA_SEV_FEATURES, sev_features);
	put64(page + VMSA_XCR0, 0x1);
	put32(page + VMSA_MXCSR, mxcsr);
	put16(page + VMSA_X87_FCW, fcw);
}

void meas_vmsa_build_svsm(uint8_t page[MEAS_PAGE], uint32_t eip, uint32_t vcpu_sig)
{
	memset(page, 0, MEAS_PAGE);
	/* 32-bit protected mode at the SVSM's entry, flat segments. */
	put_seg(page + VMSA_ES, 16, 0xc93, 0xffffffff, 0);
	put_seg(page + VMSA_CS, 8, 0xc9b, 0xffffffff, 0);
	put_seg(page + VMSA_SS, 16, 0xc93, 0xffffffff, 0);
	put_seg(page + VMSA_DS, 16, 0xc93, 0xffffffff, 0);
	put_seg(page + VMSA_FS, 16, 0xc93, 0xffffffff, 0);
	put_seg(page + VMSA_GS, 0, 0x93, 0xffff, 0);
	put_seg(page + VMSA_GDTR, 0, 0, 0xffff, 0);
	put_seg(page + VMSA_LDTR, 0, 0x82, 0xffff, 0);
	put_seg(page + VMSA_IDTR, 0, 0, 0xffff, 0);
	put_seg(page + VMSA_TR, 0, 0x8b, 0xffff, 0);
	put64(page + VMSA_EFER, 0x1000);
	put64(page + VMSA_CR4, 0x40);
	put64(page + VMSA_CR0, 0x11);
	put64(page + VMSA_DR7, 0x400);
	put64(page + VMSA_DR6, 0xffff0ff0);
	put64(page + VMSA_RFLAGS, 0x2);
	put64(page + VMSA_RIP, eip);
	put64(page + VMSA_G_PAT, 0x0007040600070406ull);
	put64(page + VMSA_RDX, vcpu_sig);
	put64(page + VMSA_SEV_FEATURES, 0x1);
	put64(page + VMSA_XCR0, 0x1);
	/* QEMU's MXCSR; the x87 control word stays 0 (as the launches the
	 * reference tool's SVSM vectors come from). */
	put32(page + VMSA_MXCSR, 0x1f80);
}

#define HT_ENTRY 50u

static void ht_entry(uint8_t *p, const uint8_t guid[16], const uint8_t hash[32])
{
	memcpy(p, guid, 16);
	put16(p + 16, HT_ENTRY);
	memcpy(p + 18, hash, 32);
}

void meas_hashes_table(uint8_t table[MEAS_HASHES_TABLE], const uint8_t cmdline[32],
		       const uint8_t initrd[32], const uint8_t kernel[32])
{
	memset(table, 0, MEAS_HASHES_TABLE);
	memcpy(table, guid_ht_table, 16);
	put16(table + 16, 18 + 3 * HT_ENTRY);
	ht_entry(table + 18, guid_ht_cmdline, cmdline);
	ht_entry(table + 18 + HT_ENTRY, guid_ht_initrd, initrd);
	ht_entry(table + 18 + 2 * HT_ENTRY, guid_ht_kernel, kernel);
}

/* ------------------------------------------------------------ names */

uint32_t meas_cpu_sig(unsigned family, unsigned model, unsigned stepping)
{
	uint32_t fam_lo = family, fam_hi = 0;

	if (family > 0xf) {
		fam_lo = 0xf;
		fam_hi = (family - 0xf) & 0xff;
	}
	return (fam_hi << 20) | (((model >> 4) & 0xf) << 16) | ((fam_lo & 0xf) << 8) |
	       ((model & 0xf) << 4) | (stepping & 0xf);
}

struct vcpu_type {
	const char *name;
	unsigned family, model, stepping;
};

/* QEMU's AMD EPYC models (builtin_x86_defs and their versions). */
static const struct vcpu_type vcpu_types[] = {
	{ "EPYC", 23, 1, 2 },	      { "EPYC-v1", 23, 1, 2 },	     { "EPYC-v2", 23, 1, 2 },
	{ "EPYC-IBPB", 23, 1, 2 },    { "EPYC-v3", 23, 1, 2 },	     { "EPYC-v4", 23, 1, 2 },
	{ "EPYC-Rome", 23, 49, 0 },   { "EPYC-Rome-v1", 23, 49, 0 }, { "EPYC-Rome-v2", 23, 49, 0 },
	{ "EPYC-Rome-v3", 23, 49, 0 }, { "EPYC-Milan", 25, 1, 1 },   { "EPYC-Milan-v1", 25, 1, 1 },
	{ "EPYC-Milan-v2", 25, 1, 1 }, { "EPYC-Genoa", 25, 17, 0 }, { "EPYC-Genoa-v1", 25, 17, 0 },
	{ "EPYC-Turin", 26, 0, 0 },
};

const char *meas_vcpu_type_at(size_t i)
{
	return i < ARRAY_SIZE(vcpu_types) ? vcpu_types[i].name : NULL;
}

int meas_vcpu_type_sig(const char *name, uint32_t *sig)
{
	for (size_t i = 0; i < ARRAY_SIZE(vcpu_types); i++)
		if (strcmp(name, vcpu_types[i].name) == 0) {
			*sig = meas_cpu_sig(vcpu_types[i].family, vcpu_types[i].model,
					    vcpu_types[i].stepping);
			return 0;
		}
	return -ENOENT;
}

int meas_mode_from_str(const char *s, enum meas_mode *mode)
{
	if (!strcasecmp(s, "snp") || !strcasecmp(s, "sev-snp"))
		*mode = MEAS_MODE_SNP;
	else if (!strcasecmp(s, "seves") || !strcasecmp(s, "sev-es"))
		*mode = MEAS_MODE_SEV_ES;
	else if (!strcasecmp(s, "sev"))
		*mode = MEAS_MODE_SEV;
	else if (!strcasecmp(s, "snp:ovmf-hash"))
		*mode = MEAS_MODE_SNP_OVMF_HASH;
	else if (!strcasecmp(s, "snp:svsm") || !strcasecmp(s, "sev-snp:svsm"))
		*mode = MEAS_MODE_SNP_SVSM;
	else
		return -EINVAL;
	return 0;
}

int meas_vmm_from_str(const char *s, enum meas_vmm *vmm)
{
	if (!strcasecmp(s, "qemu"))
		*vmm = MEAS_VMM_QEMU;
	else if (!strcasecmp(s, "ec2"))
		*vmm = MEAS_VMM_EC2;
	else if (!strcasecmp(s, "gce"))
		*vmm = MEAS_VMM_GCE;
	else
		return -EINVAL;
	return 0;
}

const char *meas_mode_name(enum meas_mode mode)
{
	switch (mode) {
	case MEAS_MODE_SNP:
		return "snp";
	case MEAS_MODE_SEV_ES:
		return "seves";
	case MEAS_MODE_SEV:
		return "sev";
	case MEAS_MODE_SNP_OVMF_HASH:
		return "snp:ovmf-hash";
	case MEAS_MODE_SNP_SVSM:
		return "snp:svsm";
	}
	return "?";
}

const char *meas_vmm_name(enum meas_vmm vmm)
{
	switch (vmm) {
	case MEAS_VMM_QEMU:
		return "qemu";
	case MEAS_VMM_EC2:
		return "ec2";
	case MEAS_VMM_GCE:
		return "gce";
	}
	return "?";
}
