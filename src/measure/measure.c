/*
 * Launch digests from files: the firmware is read twice in bounded pieces
 * (its tail for the layout, then every byte for the digest, checking that
 * the tail did not change in between); the kernel and initrd are hashed as
 * they stream. See measure.h and ../shared/docs/snp-measure.md.
 */
#include "measure/measure.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/macros.h"
#include "common/util.h"

#define PAGE_INFO_LEN 0x70u
#define FOUR_GIB 0x100000000ull

int meas_snp_extend(uint8_t ld[MEAS_SNP_DIGEST], enum meas_page_type type, uint64_t gpa,
		    const uint8_t *contents)
{
	uint8_t pi[PAGE_INFO_LEN] = { 0 };
	unsigned int n = 0;

	memcpy(pi, ld, MEAS_SNP_DIGEST);
	if (contents)
		memcpy(pi + 0x30, contents, MEAS_SNP_DIGEST);
	pi[0x60] = PAGE_INFO_LEN;
	pi[0x62] = (uint8_t)type;
	for (int i = 0; i < 8; i++)
		pi[0x68 + i] = (uint8_t)(gpa >> (8 * i));
	if (EVP_Digest(pi, sizeof(pi), ld, &n, EVP_sha384(), NULL) != 1 || n != MEAS_SNP_DIGEST)
		return -EIO;
	return 0;
}

static int snp_normal_page(uint8_t ld[MEAS_SNP_DIGEST], uint64_t gpa, const uint8_t *page)
{
	uint8_t h[MEAS_SNP_DIGEST];
	unsigned int n = 0;

	if (EVP_Digest(page, MEAS_PAGE, h, &n, EVP_sha384(), NULL) != 1)
		return -EIO;
	return meas_snp_extend(ld, MEAS_PAGE_NORMAL, gpa, h);
}

static int snp_typed_pages(uint8_t ld[MEAS_SNP_DIGEST], enum meas_page_type type, uint32_t gpa,
			   uint32_t size)
{
	for (uint64_t off = 0; off < size; off += MEAS_PAGE) {
		int r = meas_snp_extend(ld, type, gpa + off, NULL);

		if (r < 0)
			return r;
	}
	return 0;
}

/* ------------------------------------------------------------ streaming */

struct stream {
	EVP_MD_CTX *sha256;
	uint8_t *buf;
	uint8_t scratch[32];
};

static void stream_done(struct stream *s)
{
	EVP_MD_CTX_free(s->sha256);
	free(s->buf);
}

static int stream_init(struct stream *s)
{
	s->sha256 = EVP_MD_CTX_new();
	s->buf = malloc(MEAS_IO_CHUNK);
	if (!s->sha256 || !s->buf)
		return -ENOMEM;
	return 0;
}

static int read_exact_at(int fd, uint8_t *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENODATA;
		got += (size_t)n;
	}
	return 0;
}

/* Open an input without blocking on a FIFO; the firmware must be a regular
 * file, the kernel and initrd may also be a character device (/dev/null). */
static int open_regular(const char *path, uint64_t max, const char *what, bool is_fw, int *ret_fd,
			uint64_t *size, struct ccu_reason *why)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK), err = errno;

	if (fd < 0)
		return ccu_fail(why, -err, is_fw ? "FIRMWARE_READ" : "MEASURE_INPUT",
				"cannot open the %s '%s': %s", what, path, strerror(err));
	if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || (!is_fw && S_ISCHR(st.st_mode)))) {
		close(fd);
		return ccu_fail(why, -EINVAL, is_fw ? "FIRMWARE_READ" : "MEASURE_INPUT",
				"the %s '%s' is not a regular file", what, path);
	}
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
		close(fd);
		return ccu_fail(why, -EFBIG, is_fw ? "FIRMWARE_SIZE" : "MEASURE_INPUT",
				"the %s '%s' is %llu bytes, more than %llu", what, path,
				(unsigned long long)st.st_size, (unsigned long long)max);
	}
	*size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
	*ret_fd = fd;
	return 0;
}

/* SHA-256 of a whole file (kernel, initrd), at most @max bytes, streamed.
 * Character devices (/dev/null) are read until EOF. */
static int hash_file(struct stream *s, const char *path, const char *what, uint64_t max,
		     uint8_t out[32], struct ccu_reason *why)
{
	_cleanup_close_ int fd = -1;
	uint64_t size = 0, total = 0;
	int r = open_regular(path, max, what, false, &fd, &size, why);

	if (r < 0)
		return r;
	if (EVP_DigestInit_ex(s->sha256, EVP_sha256(), NULL) != 1)
		return -EIO;
	for (;;) {
		long n = ccu_read_all(fd, s->buf, MEAS_IO_CHUNK);

		if (n < 0)
			return ccu_fail(why, (int)n, "MEASURE_INPUT", "reading the %s '%s': %s",
					what, path, strerror((int)-n));
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (total > max)
			return ccu_fail(why, -EFBIG, "MEASURE_INPUT",
					"the %s '%s' is more than %llu bytes", what, path,
					(unsigned long long)max);
		if (EVP_DigestUpdate(s->sha256, s->buf, (size_t)n) != 1)
			return -EIO;
	}
	if (size && total != size)
		return ccu_fail(why, -EIO, "MEASURE_INPUT", "the %s '%s' changed while reading",
				what, path);
	return EVP_DigestFinal_ex(s->sha256, out, NULL) == 1 ? 0 : -EIO;
}

static int sha256_buf(const void *d, size_t len, uint8_t out[32])
{
	unsigned int n = 0;

	return EVP_Digest(d, len, out, &n, EVP_sha256(), NULL) == 1 ? 0 : -EIO;
}

/* ------------------------------------------------------------ compute */

/* A firmware (or SVSM) image: its open file and the tail that was parsed. */
struct image {
	const char *path;
	const char *what; /* "firmware", "SVSM image" */
	int fd;
	uint8_t *tail;
	size_t tail_len;
	struct meas_fw *fw;
};

struct job {
	const struct meas_input *in;
	struct meas_result *res;
	struct stream s;
	struct image ovmf, svsm;
	uint8_t table[MEAS_HASHES_TABLE];
	EVP_MD_CTX *ld; /* SEV/SEV-ES launch digest */
};

static void image_done(struct image *im)
{
	free(im->tail);
	if (im->fd >= 0)
		close(im->fd);
}

/* Stream an image: its SHA-256 into @sha256 (unless NULL) and @j->ld (SEV,
 * SEV-ES), SNP NORMAL pages into @snp_ld unless NULL, the tail compared with
 * what was parsed. */
static int stream_image(struct job *j, const struct image *im, uint8_t snp_ld[MEAS_SNP_DIGEST],
			uint8_t *sha256, struct ccu_reason *why)
{
	uint64_t size = im->fw->size, gpa = im->fw->gpa, tail_off = size - im->tail_len;
	EVP_MD_CTX *h = j->s.sha256;

	if (EVP_DigestInit_ex(h, EVP_sha256(), NULL) != 1)
		return -EIO;
	for (uint64_t off = 0; off < size; off += MEAS_IO_CHUNK) {
		size_t n = size - off < MEAS_IO_CHUNK ? (size_t)(size - off) : MEAS_IO_CHUNK;
		int r = read_exact_at(im->fd, j->s.buf, n, off);

		if (r < 0)
			return ccu_fail(why, r, "FIRMWARE_READ", "reading the %s '%s': %s", im->what,
					im->path,
					r == -ENODATA ? "it became shorter" : strerror(-r));
		if (EVP_DigestUpdate(h, j->s.buf, n) != 1)
			return -EIO;
		if (j->ld && EVP_DigestUpdate(j->ld, j->s.buf, n) != 1)
			return -EIO;
		for (size_t p = 0; snp_ld && p < n; p += MEAS_PAGE) {
			r = snp_normal_page(snp_ld, gpa + off + p, j->s.buf + p);
			if (r < 0)
				return r;
		}
		/* The part of this chunk that lies in the parsed tail must not differ. */
		if (off + n > tail_off) {
			uint64_t from = off > tail_off ? off : tail_off;

			if (memcmp(j->s.buf + (from - off), im->tail + (from - tail_off),
				   (size_t)(off + n - from)) != 0)
				return ccu_fail(why, -EIO, "FIRMWARE_READ",
						"the %s '%s' changed while reading", im->what,
						im->path);
		}
	}
	if (EVP_DigestFinal_ex(h, sha256 ? sha256 : j->s.scratch, NULL) != 1)
		return -EIO;
	return 0;
}

static int stream_firmware(struct job *j, uint8_t snp_ld[MEAS_SNP_DIGEST], struct ccu_reason *why)
{
	int r = stream_image(j, &j->ovmf, snp_ld, j->res->ovmf_sha256, why);

	if (r == 0)
		j->res->has_ovmf_sha256 = true;
	return r;
}

/* Open and parse an image that ends at @end (exclusive; 4 GiB for OVMF). */
static int load_image(struct image *im, uint64_t end, struct ccu_reason *why)
{
	uint64_t size = 0;
	int r = open_regular(im->path, MEAS_FW_MAX, im->what, true, &im->fd, &size, why);

	if (r < 0)
		return r;
	if (size < MEAS_FW_MIN || size % MEAS_PAGE || size > end)
		return ccu_fail(why, -EBADMSG, "FIRMWARE_SIZE",
				"the %s '%s' is %llu bytes, expected a multiple of 4096 from %u to "
				"%u below 0x%llx",
				im->what, im->path, (unsigned long long)size, MEAS_FW_MIN,
				MEAS_FW_MAX, (unsigned long long)end);
	im->tail_len = size < MEAS_FW_TAIL ? (size_t)size : MEAS_FW_TAIL;
	im->tail = malloc(im->tail_len);
	if (!im->tail)
		return -ENOMEM;
	r = read_exact_at(im->fd, im->tail, im->tail_len, size - im->tail_len);
	if (r < 0)
		return ccu_fail(why, r, "FIRMWARE_READ", "reading the %s '%s': %s", im->what,
				im->path, r == -ENODATA ? "it became shorter" : strerror(-r));
	return meas_fw_parse_at(im->tail, im->tail_len, size, end - size, im->fw, why);
}

static int kernel_hashes(struct job *j, struct ccu_reason *why)
{
	const struct meas_input *in = j->in;
	struct meas_result *res = j->res;
	size_t alen = in->append ? strnlen(in->append, MEAS_APPEND_MAX + 1) : 0;
	uint8_t *cmd;
	int r;

	if (alen > MEAS_APPEND_MAX)
		return ccu_fail(why, -E2BIG, "MEASURE_INPUT",
				"the kernel command line is longer than %u bytes", MEAS_APPEND_MAX);
	r = hash_file(&j->s, in->kernel, "kernel", MEAS_KERNEL_MAX, res->kernel_sha256, why);
	if (r < 0)
		return r;
	if (in->initrd)
		r = hash_file(&j->s, in->initrd, "initrd", MEAS_INITRD_MAX, res->initrd_sha256,
			      why);
	else
		r = sha256_buf("", 0, res->initrd_sha256);
	if (r < 0)
		return r;
	/* QEMU hashes the command line with its terminating NUL. */
	cmd = malloc(alen + 1);
	if (!cmd)
		return -ENOMEM;
	if (alen)
		memcpy(cmd, in->append, alen);
	cmd[alen] = 0;
	r = sha256_buf(cmd, alen + 1, res->cmdline_sha256);
	free(cmd);
	if (r < 0)
		return r;
	res->has_kernel = true;
	meas_hashes_table(j->table, res->cmdline_sha256, res->initrd_sha256, res->kernel_sha256);
	return 0;
}

static const struct meas_section *find_section(const struct meas_fw *fw, uint32_t type)
{
	for (unsigned i = 0; i < fw->nsections; i++)
		if (fw->sections[i].type == type)
			return &fw->sections[i];
	return NULL;
}

static int snp_hashes_page(struct job *j, uint8_t ld[MEAS_SNP_DIGEST], const struct meas_section *s,
			   struct ccu_reason *why)
{
	const struct meas_fw *fw = &j->res->fw;
	uint8_t page[MEAS_PAGE] = { 0 };
	uint32_t off;

	if (!j->res->has_kernel)
		return snp_typed_pages(ld, MEAS_PAGE_ZERO, s->gpa, s->size);
	if (!fw->has_hashes_entry || fw->hashes_gpa == 0)
		return ccu_fail(why, -ENOTSUP, "FIRMWARE_NO_KERNEL_HASHES",
				"the firmware has an SNP_KERNEL_HASHES section but no hashes-table "
				"location");
	off = fw->hashes_gpa & (MEAS_PAGE - 1);
	if ((fw->hashes_gpa & ~(MEAS_PAGE - 1)) != s->gpa || off + MEAS_HASHES_TABLE > MEAS_PAGE ||
	    fw->hashes_size < MEAS_HASHES_TABLE)
		return ccu_fail(why, -EBADMSG, "FIRMWARE_SECTION",
				"the hashes table at 0x%x (size 0x%x) does not fit the "
				"SNP_KERNEL_HASHES page at 0x%x",
				fw->hashes_gpa, fw->hashes_size, s->gpa);
	memcpy(page + off, j->table, MEAS_HASHES_TABLE);
	return snp_normal_page(ld, s->gpa, page);
}

/* The metadata sections of @fw (OVMF's, or an SVSM's), as @vmm measures them. */
static int snp_sections(struct job *j, const struct meas_fw *fw, enum meas_vmm vmm,
			uint8_t ld[MEAS_SNP_DIGEST], struct ccu_reason *why)
{
	int r = 0;

	for (unsigned i = 0; i < fw->nsections && r >= 0; i++) {
		const struct meas_section *s = &fw->sections[i];

		switch (s->type) {
		case MEAS_SEC_SNP_SEC_MEM:
			r = snp_typed_pages(ld, vmm == MEAS_VMM_GCE ? MEAS_PAGE_UNMEASURED :
								      MEAS_PAGE_ZERO,
					    s->gpa, s->size);
			break;
		case MEAS_SEC_SNP_SECRETS:
			r = meas_snp_extend(ld, MEAS_PAGE_SECRETS, s->gpa, NULL);
			break;
		case MEAS_SEC_CPUID:
			/* EC2 measures the CPUID page after every other section. */
			if (vmm != MEAS_VMM_EC2)
				r = meas_snp_extend(ld, MEAS_PAGE_CPUID, s->gpa, NULL);
			break;
		case MEAS_SEC_SVSM_CAA:
			r = snp_typed_pages(ld, MEAS_PAGE_ZERO, s->gpa, s->size);
			break;
		case MEAS_SEC_SNP_KERNEL_HASHES:
			r = snp_hashes_page(j, ld, s, why);
			break;
		default:
			r = ccu_fail(why, -EBADMSG, "FIRMWARE_SECTION", "section type 0x%x",
				     s->type);
		}
	}
	if (r >= 0 && vmm == MEAS_VMM_EC2) {
		const struct meas_section *s = find_section(fw, MEAS_SEC_CPUID);

		if (s)
			r = meas_snp_extend(ld, MEAS_PAGE_CPUID, s->gpa, NULL);
	}
	return r;
}

/* The BSP and AP VMSA pages (AP only when there are APs). */
static int vmsas(struct job *j, uint64_t features, uint8_t bsp[MEAS_PAGE], uint8_t ap[MEAS_PAGE],
		 struct ccu_reason *why)
{
	const struct meas_fw *fw = &j->res->fw;

	if (!fw->has_reset_block)
		return ccu_fail(why, -ENOTSUP, "FIRMWARE_NO_RESET_BLOCK",
				"the firmware has no SEV-ES reset block (AP entry point) in its "
				"footer table");
	if (j->in->vcpus > 1 && fw->reset_eip == 0)
		return ccu_fail(why, -ENOTSUP, "FIRMWARE_NO_RESET_BLOCK",
				"the firmware's SEV-ES reset block holds address 0; %u vCPUs need "
				"an AP entry point",
				j->in->vcpus);
	meas_vmsa_build(bsp, MEAS_BSP_EIP, j->in->vcpu_sig, features, j->in->vmm);
	meas_vmsa_build(ap, fw->reset_eip, j->in->vcpu_sig, features, j->in->vmm);
	return 0;
}

/* --dump-vmsa: the measured VMSA of every vCPU as DIR/vmsa<N>.bin. */
static int dump_vmsas(const struct meas_input *in, const uint8_t *bsp, const uint8_t *ap,
		      struct ccu_reason *why)
{
	char path[4096];

	for (unsigned v = 0; in->dump_vmsa && v < in->vcpus; v++) {
		int r;

		if (snprintf(path, sizeof(path), "%s/vmsa%u.bin", in->dump_vmsa, v) >=
		    (int)sizeof(path))
			return ccu_fail(why, -ENAMETOOLONG, "MEASURE_OUTPUT",
					"the VMSA directory name is too long");
		r = ccu_write_file_atomic(path, v ? ap : bsp, MEAS_PAGE, 0644);
		if (r < 0)
			return ccu_fail(why, r, "MEASURE_OUTPUT", "cannot write %s: %s", path,
					strerror(-r));
	}
	return 0;
}

static int compute_snp(struct job *j, struct ccu_reason *why)
{
	const struct meas_input *in = j->in;
	struct meas_result *res = j->res;
	uint8_t bsp[MEAS_PAGE], ap[MEAS_PAGE], hb[MEAS_SNP_DIGEST], ha[MEAS_SNP_DIGEST];
	uint8_t *ld = res->digest;
	unsigned int n = 0;
	int r;

	res->digest_len = MEAS_SNP_DIGEST;
	memset(ld, 0, MEAS_SNP_DIGEST);
	if (in->mode == MEAS_MODE_SNP && !res->fw.has_metadata)
		return ccu_fail(why, -ENOTSUP, "FIRMWARE_NO_SEV_METADATA",
				"the firmware '%s' has no SEV metadata (not an SEV-SNP capable "
				"OVMF build)",
				in->ovmf);
	if (in->has_ovmf_hash) {
		/* A precomputed OVMF hash seeds the chain; the pages are skipped. */
		memcpy(ld, in->ovmf_hash, MEAS_SNP_DIGEST);
	} else {
		r = stream_firmware(j, ld, why);
		if (r < 0)
			return r;
	}
	if (in->mode == MEAS_MODE_SNP_OVMF_HASH)
		return 0;
	if (in->kernel && !find_section(&res->fw, MEAS_SEC_SNP_KERNEL_HASHES))
		return ccu_fail(why, -ENOTSUP, "FIRMWARE_NO_KERNEL_HASHES",
				"a kernel is given but the firmware's SEV metadata has no "
				"SNP_KERNEL_HASHES section (not an AmdSev build: the kernel, initrd "
				"and command line cannot be measured)");
	r = vmsas(j, in->guest_features, bsp, ap, why);
	if (r >= 0)
		r = dump_vmsas(in, bsp, ap, why);
	if (r < 0)
		return r;
	if (in->kernel) {
		r = kernel_hashes(j, why);
		if (r < 0)
			return r;
	}
	r = snp_sections(j, &res->fw, in->vmm, ld, why);
	if (r < 0)
		return r;
	if (EVP_Digest(bsp, MEAS_PAGE, hb, &n, EVP_sha384(), NULL) != 1 ||
	    EVP_Digest(ap, MEAS_PAGE, ha, &n, EVP_sha384(), NULL) != 1)
		return -EIO;
	for (unsigned v = 0; v < in->vcpus; v++) {
		r = meas_snp_extend(ld, MEAS_PAGE_VMSA, MEAS_VMSA_GPA, v ? ha : hb);
		if (r < 0)
			return r;
	}
	return 0;
}

static int compute_sev(struct job *j, struct ccu_reason *why)
{
	const struct meas_input *in = j->in;
	struct meas_result *res = j->res;
	uint8_t bsp[MEAS_PAGE], ap[MEAS_PAGE];
	int r;

	res->digest_len = MEAS_SEV_DIGEST;
	if (in->kernel && (!res->fw.has_hashes_entry || res->fw.hashes_gpa == 0))
		return ccu_fail(why, -ENOTSUP, "FIRMWARE_NO_KERNEL_HASHES",
				"a kernel is given but the firmware has no SEV hashes-table location "
				"(the kernel, initrd and command line cannot be measured)");
	if (in->mode == MEAS_MODE_SEV_ES) {
		r = vmsas(j, 0, bsp, ap, why);
		if (r >= 0)
			r = dump_vmsas(in, bsp, ap, why);
		if (r < 0)
			return r;
	}
	if (in->kernel) {
		r = kernel_hashes(j, why);
		if (r < 0)
			return r;
	}
	j->ld = EVP_MD_CTX_new();
	if (!j->ld || EVP_DigestInit_ex(j->ld, EVP_sha256(), NULL) != 1)
		return -ENOMEM;
	r = stream_firmware(j, NULL, why);
	if (r < 0)
		return r;
	if (in->kernel && EVP_DigestUpdate(j->ld, j->table, MEAS_HASHES_TABLE) != 1)
		return -EIO;
	for (unsigned v = 0; in->mode == MEAS_MODE_SEV_ES && v < in->vcpus; v++)
		if (EVP_DigestUpdate(j->ld, v ? ap : bsp, MEAS_PAGE) != 1)
			return -EIO;
	return EVP_DigestFinal_ex(j->ld, res->digest, NULL) == 1 ? 0 : -EIO;
}

/* SNP with a Coconut SVSM (QEMU): OVMF pages, the SVSM pages just below
 * OVMF and its variable store, the SVSM's metadata sections, then every vCPU
 * in the SVSM's own start state. */
static int compute_svsm(struct job *j, struct ccu_reason *why)
{
	const struct meas_input *in = j->in;
	struct meas_result *res = j->res;
	const struct meas_fw *sv = &res->svsm;
	uint8_t vmsa[MEAS_PAGE], h[MEAS_SNP_DIGEST];
	uint8_t *ld = res->digest;
	unsigned int n = 0;
	uint64_t end = res->fw.gpa, eip;
	int r;

	res->digest_len = MEAS_SNP_DIGEST;
	memset(ld, 0, MEAS_SNP_DIGEST);
	if (in->vars_size >= end)
		return ccu_fail(why, -EINVAL, "MEASURE_INPUT", "the OVMF_VARS size leaves no room");
	r = load_image(&j->svsm, end - in->vars_size, why);
	if (r < 0)
		return r;
	if (!sv->has_svsm_info)
		return ccu_fail(why, -ENOTSUP, "FIRMWARE_NO_RESET_BLOCK",
				"the SVSM image '%s' has no SVSM information entry (entry point)",
				in->svsm);
	if (!sv->has_metadata)
		return ccu_fail(why, -ENOTSUP, "FIRMWARE_NO_SEV_METADATA",
				"the SVSM image '%s' has no SEV metadata", in->svsm);
	eip = sv->gpa + sv->svsm_entry;
	if (eip >= FOUR_GIB)
		return ccu_fail(why, -EBADMSG, "FIRMWARE_TABLE",
				"the SVSM entry point 0x%llx is above 4 GiB", (unsigned long long)eip);
	for (unsigned i = 0; i < sv->nsections; i++)
		if ((uint64_t)sv->sections[i].gpa + sv->sections[i].size > sv->gpa)
			return ccu_fail(why, -EBADMSG, "FIRMWARE_SECTION_OVERLAP",
					"SVSM metadata section %u (0x%x+0x%x) overlaps the images at "
					"0x%llx",
					i, sv->sections[i].gpa, sv->sections[i].size,
					(unsigned long long)sv->gpa);
	r = stream_firmware(j, ld, why);
	if (r >= 0)
		r = stream_image(j, &j->svsm, ld, NULL, why);
	if (r < 0)
		return r;
	/* The SVSM's sections are measured like QEMU measures OVMF's (no
	 * kernel: a hashes section is a zero page). */
	r = snp_sections(j, sv, MEAS_VMM_QEMU, ld, why);
	if (r < 0)
		return r;
	meas_vmsa_build_svsm(vmsa, (uint32_t)eip, in->vcpu_sig);
	r = dump_vmsas(in, vmsa, vmsa, why);
	if (r < 0)
		return r;
	if (EVP_Digest(vmsa, MEAS_PAGE, h, &n, EVP_sha384(), NULL) != 1)
		return -EIO;
	for (unsigned v = 0; v < in->vcpus; v++) {
		r = meas_snp_extend(ld, MEAS_PAGE_VMSA, MEAS_VMSA_GPA, h);
		if (r < 0)
			return r;
	}
	return 0;
}

int meas_compute(const struct meas_input *in, struct meas_result *out, struct ccu_reason *why)
{
	struct job j = {
		.in = in,
		.res = out,
		.ovmf = { .path = in->ovmf, .what = "firmware", .fd = -1, .fw = &out->fw },
		.svsm = { .path = in->svsm, .what = "SVSM image", .fd = -1, .fw = &out->svsm },
	};
	int r;

	memset(out, 0, sizeof(*out));
	if (!in->ovmf)
		return ccu_fail(why, -EINVAL, "MEASURE_INPUT", "no firmware file given");
	if (in->mode != MEAS_MODE_SEV && in->mode != MEAS_MODE_SNP_OVMF_HASH &&
	    (in->vcpus < 1 || in->vcpus > MEAS_VCPUS_MAX))
		return ccu_fail(why, -EINVAL, "MEASURE_INPUT", "%u vCPUs, expected 1..%u",
				in->vcpus, MEAS_VCPUS_MAX);
	if (in->dump_vmsa && (in->mode == MEAS_MODE_SEV || in->mode == MEAS_MODE_SNP_OVMF_HASH))
		return ccu_fail(why, -EINVAL, "MEASURE_INPUT", "%s measures no VMSA to dump",
				meas_mode_name(in->mode));
	if (in->has_ovmf_hash && in->mode != MEAS_MODE_SNP)
		return ccu_fail(why, -EINVAL, "MEASURE_INPUT",
				"a precomputed OVMF hash only applies to SNP");
	if (!in->kernel && (in->initrd || (in->append && in->append[0])))
		return ccu_fail(why, -EINVAL, "MEASURE_INPUT",
				"an initrd or command line is measured only with a kernel");
	if ((in->mode == MEAS_MODE_SNP_SVSM) != (in->svsm != NULL))
		return ccu_fail(why, -EINVAL, "MEASURE_INPUT",
				"an SVSM image goes with --mode snp:svsm, and only there");
	if (in->mode == MEAS_MODE_SNP_SVSM && (in->kernel || in->vars_size % MEAS_PAGE ||
					       in->vars_size > MEAS_FW_MAX))
		return ccu_fail(why, -EINVAL, "MEASURE_INPUT",
				"snp:svsm takes no kernel and an OVMF_VARS size of whole pages up to "
				"%u bytes",
				MEAS_FW_MAX);
	r = stream_init(&j.s);
	if (r >= 0)
		r = load_image(&j.ovmf, FOUR_GIB, why);
	if (r >= 0) {
		switch (in->mode) {
		case MEAS_MODE_SNP:
		case MEAS_MODE_SNP_OVMF_HASH:
			r = compute_snp(&j, why);
			break;
		case MEAS_MODE_SNP_SVSM:
			r = compute_svsm(&j, why);
			break;
		case MEAS_MODE_SEV_ES:
		case MEAS_MODE_SEV:
			r = compute_sev(&j, why);
			break;
		}
	}
	if (r < 0 && why && !ccu_reason_is_set(why))
		ccu_reason_set(why, "MEASURE_INPUT", "computing the digest failed: %s",
			       strerror(-r));
	if (r < 0)
		memset(out->digest, 0, sizeof(out->digest));
	EVP_MD_CTX_free(j.ld);
	stream_done(&j.s);
	image_done(&j.ovmf);
	image_done(&j.svsm);
	return r < 0 ? r : 0;
}
