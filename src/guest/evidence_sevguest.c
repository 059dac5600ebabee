/*
 * /dev/sev-guest (snp-verification §9.1): SNP_GET_EXT_REPORT with a
 * page-multiple certificate buffer, grown to the size the host asks for
 * (vmm_error INVALID_LEN) a bounded number of times; SNP_GET_REPORT when
 * the driver or host has no extended request. The ioctl goes through a seam
 * so unit tests exercise every branch.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/sev-guest.h>

#include "common/macros.h"
#include "guest/provider.h"

/* The layouts the firmware ABI fixes (checked against the kernel's header). */
_Static_assert(sizeof(struct snp_report_req) == 96, "snp_report_req");
_Static_assert(offsetof(struct snp_report_req, vmpl) == 64, "snp_report_req.vmpl");
_Static_assert(sizeof(struct snp_report_resp) == 4000, "snp_report_resp");
_Static_assert(sizeof(struct snp_guest_request_ioctl) == 32, "snp_guest_request_ioctl");
_Static_assert(offsetof(struct snp_guest_request_ioctl, req_data) == 8, "req_data");
_Static_assert(offsetof(struct snp_guest_request_ioctl, resp_data) == 16, "resp_data");
_Static_assert(offsetof(struct snp_guest_request_ioctl, exitinfo2) == 24, "exitinfo2");
_Static_assert(offsetof(struct snp_ext_report_req, certs_address) == 96, "certs_address");
_Static_assert(offsetof(struct snp_ext_report_req, certs_len) == 104, "certs_len");
_Static_assert(sizeof(struct snp_ext_report_req) == 112, "snp_ext_report_req");
_Static_assert(SNP_GET_REPORT == 0xC0205300u, "SNP_GET_REPORT");
_Static_assert(SNP_GET_EXT_REPORT == 0xC0205302u, "SNP_GET_EXT_REPORT");

/* MSG_REPORT_RSP: status, report_size, 24 reserved bytes, the report. */
#define RESP_REPORT_OFFSET 0x20
#define PAGE 4096u

static int real_ioctl(int fd, unsigned long req, void *arg, void *ud)
{
	(void)ud;
	return ioctl(fd, req, arg) < 0 ? -errno : 0;
}

static int sevguest_available(const struct guest_provider_ctx *c)
{
	char p[GUEST_PATH_MAX];
	struct stat st;

	if (guest_path(p, sizeof(p), c->roots->dev, "sev-guest") < 0)
		return 0;
	return stat(p, &st) == 0;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int parse_resp(const struct snp_report_resp *resp, uint8_t out[SNP_REPORT_SIZE],
		      struct ccu_reason *err)
{
	uint32_t status = le32(resp->data), size = le32(resp->data + 4);

	if (status != 0)
		return ccu_fail(err, -EIO, "SEVGUEST_FIRMWARE",
				"/dev/sev-guest: firmware status 0x%x", status);
	if (size != SNP_REPORT_SIZE)
		return ccu_fail(err, -EBADMSG, "SEVGUEST_REPORT",
				"/dev/sev-guest: report_size %u, expected %d", size, SNP_REPORT_SIZE);
	memcpy(out, resp->data + RESP_REPORT_OFFSET, SNP_REPORT_SIZE);
	return 0;
}

struct ioctl_seam {
	int (*fn)(int, unsigned long, void *, void *);
	void *ud;
	int fd;
};

static int get_plain(const struct ioctl_seam *s, const uint8_t rd[64],
		     struct snp_report_resp *resp, struct ccu_reason *err)
{
	struct snp_report_req req;
	struct snp_guest_request_ioctl io;
	int r;

	memset(&req, 0, sizeof(req));
	memcpy(req.user_data, rd, 64);
	memset(&io, 0, sizeof(io));
	io.msg_version = 1;
	io.req_data = (uintptr_t)&req;
	io.resp_data = (uintptr_t)resp;
	r = s->fn(s->fd, SNP_GET_REPORT, &io, s->ud);
	if (r < 0)
		return ccu_fail(err, r, "SEVGUEST_IOCTL",
				"/dev/sev-guest SNP_GET_REPORT: %s (fw_error 0x%x, vmm_error %u)",
				strerror(-r), io.fw_error, io.vmm_error);
	return 0;
}

/* Extended request: 1 = got report (+certs), 0 = not supported here, < 0 error. */
static int get_ext(const struct ioctl_seam *s, const uint8_t rd[64], struct snp_report_resp *resp,
		   uint8_t **certs, size_t *certs_len, struct ccu_reason *err)
{
	size_t len = GUEST_SEVGUEST_CERTS_INITIAL;

	for (int tries = 0; tries < GUEST_SEVGUEST_MAX_TRIES; tries++) {
		struct snp_ext_report_req req;
		struct snp_guest_request_ioctl io;
		uint8_t *buf = aligned_alloc(PAGE, len);
		int r;

		if (!buf)
			return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
		memset(buf, 0, len);
		memset(&req, 0, sizeof(req));
		memcpy(req.data.user_data, rd, 64);
		req.certs_address = (uintptr_t)buf;
		req.certs_len = (uint32_t)len;
		memset(&io, 0, sizeof(io));
		io.msg_version = 1;
		io.req_data = (uintptr_t)&req;
		io.resp_data = (uintptr_t)resp;
		r = s->fn(s->fd, SNP_GET_EXT_REPORT, &io, s->ud);
		if (r == 0) {
			*certs = buf;
			*certs_len = len;
			return 1;
		}
		free(buf);
		if (r == -EIO && io.vmm_error == SNP_GUEST_VMM_ERR_INVALID_LEN) {
			/* The driver wrote the size the host needs into certs_len. */
			size_t want = req.certs_len;
			if (want <= len || want % PAGE || want > GUEST_SEVGUEST_CERTS_MAX)
				return ccu_fail(err, -EIO, "SEVGUEST_CERTS",
						"/dev/sev-guest: host asks for a %zu-byte certificate "
						"buffer (had %zu, at most %d, page multiple)",
						want, len, GUEST_SEVGUEST_CERTS_MAX);
			len = want;
			continue;
		}
		if (r == -ENOTTY || r == -EOPNOTSUPP || r == -EINVAL)
			return 0;
		return ccu_fail(err, r, "SEVGUEST_IOCTL",
				"/dev/sev-guest SNP_GET_EXT_REPORT: %s (fw_error 0x%x, vmm_error %u)",
				strerror(-r), io.fw_error, io.vmm_error);
	}
	return ccu_fail(err, -EIO, "SEVGUEST_CERTS",
			"/dev/sev-guest: certificate buffer size still wrong after %d tries",
			GUEST_SEVGUEST_MAX_TRIES);
}

/* The cert buffer is page padded; keep the table and its payloads. */
static size_t table_extent(const uint8_t *b, size_t len)
{
	size_t end = 0;

	for (size_t off = 0; off + 24 <= len; off += 24) {
		bool zero = true;
		for (size_t i = 0; i < 24; i++)
			zero = zero && b[off + i] == 0;
		if (zero)
			return end ? (off + 24 > end ? off + 24 : end) : 0;
		uint64_t e = (uint64_t)le32(b + off + 16) + le32(b + off + 20);
		if (e > end)
			end = e > len ? len : (size_t)e;
	}
	return len; /* no terminator: hand everything to the strict parser */
}

static int sevguest_get(const struct guest_provider_ctx *c, const uint8_t report_data[64],
			struct guest_evidence *out, struct ccu_reason *err)
{
	struct ioctl_seam s = {
		.fn = c->seams && c->seams->ioctl ? c->seams->ioctl : real_ioctl,
		.ud = c->seams ? c->seams->ud : NULL,
	};
	_cleanup_free_ struct snp_report_resp *resp = NULL;
	_cleanup_close_ int fd = -1;
	char p[GUEST_PATH_MAX];
	uint8_t *certs = NULL;
	size_t certs_len = 0;
	int r;

	if (guest_path(p, sizeof(p), c->roots->dev, "sev-guest") < 0)
		return ccu_fail(err, -ENAMETOOLONG, "SEVGUEST_IO", "device path too long");
	fd = open(p, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return ccu_fail(err, -errno, "SEVGUEST_IO", "cannot open %s: %s", p, strerror(errno));
	s.fd = fd;
	resp = calloc(1, sizeof(*resp));
	if (!resp)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	r = get_ext(&s, report_data, resp, &certs, &certs_len, err);
	if (r == 0) {
		memset(resp, 0, sizeof(*resp));
		r = get_plain(&s, report_data, resp, err);
	}
	if (r < 0)
		return r;
	r = parse_resp(resp, out->report, err);
	if (r < 0) {
		free(certs);
		return r;
	}
	size_t used = certs ? table_extent(certs, certs_len) : 0;
	if (used == 0) {
		free(certs);
		certs = NULL;
	}
	out->certtable = certs;
	out->certtable_len = used;
	return 0;
}

const struct guest_provider guest_provider_sevguest = {
	.name = "sev-guest",
	.simulated = false,
	.available = sevguest_available,
	.get = sevguest_get,
};
