#include "guest/posture.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/macros.h"
#include "common/util.h"

const struct guest_roots guest_default_roots = {
	.sysfs = "/sys",
	.dev = "/dev",
	.configfs = "/sys/kernel/config",
	.efivarfs = "/sys/firmware/efi/efivars",
	.cmdline = "/proc/cmdline",
};

int guest_path(char *buf, size_t len, const char *root, const char *rel)
{
	int n = snprintf(buf, len, "%s/%s", root, rel);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static bool exists(const char *root, const char *rel)
{
	char p[GUEST_PATH_MAX];
	struct stat st;

	return guest_path(p, sizeof(p), root, rel) == 0 && stat(p, &st) == 0;
}

/* A small sysfs file holding one unsigned number (decimal or 0x hex). */
static int read_number(const char *root, const char *rel, uint64_t max, uint64_t *ret)
{
	char p[GUEST_PATH_MAX];
	_cleanup_free_ uint8_t *data = NULL;
	size_t len;
	int r;

	r = guest_path(p, sizeof(p), root, rel);
	if (r < 0)
		return r;
	r = ccu_read_file(p, 64, &data, &len);
	if (r < 0)
		return r;
	return ccu_parse_u64(ccu_strstrip((char *)data), max, true, ret);
}

static int read_msr(const char *dev, uint64_t *ret)
{
	char p[GUEST_PATH_MAX];
	_cleanup_close_ int fd = -1;
	uint64_t v = 0;

	if (guest_path(p, sizeof(p), dev, "cpu/0/msr") < 0)
		return -ENAMETOOLONG;
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (pread(fd, &v, sizeof(v), (off_t)GUEST_MSR_SEV_STATUS) != (ssize_t)sizeof(v))
		return -EIO;
	*ret = v;
	return 0;
}

static enum guest_secure_boot read_secure_boot(const char *efivarfs)
{
	char p[GUEST_PATH_MAX];
	_cleanup_free_ uint8_t *data = NULL;
	size_t len;

	if (guest_path(p, sizeof(p), efivarfs, GUEST_EFI_SECUREBOOT) < 0 ||
	    ccu_read_file(p, 64, &data, &len) < 0)
		return GUEST_SB_UNKNOWN;
	/* 4 bytes of attributes, then the one-byte value. */
	if (len != 5)
		return GUEST_SB_UNKNOWN;
	return data[4] == 1 ? GUEST_SB_ENABLED : GUEST_SB_DISABLED;
}

static void probe_vmpl(const struct guest_roots *r, struct guest_posture *p)
{
	static const char *const where[] = { "devices/system/cpu/sev/vmpl", "hypervisor/sev/vmpl" };
	uint64_t v;

	for (size_t i = 0; i < ARRAY_SIZE(where); i++) {
		if (read_number(r->sysfs, where[i], 3, &v) == 0) {
			p->vmpl = (int)v;
			p->vmpl_source = where[i];
			return;
		}
	}
}

static void derive_level(struct guest_posture *p)
{
	if (p->has_sev_status) {
		p->sev = p->sev_status & GUEST_SEV_STATUS_SEV;
		p->sev_es = p->sev_status & GUEST_SEV_STATUS_ES;
		p->snp = p->sev_status & GUEST_SEV_STATUS_SNP;
	} else if (p->snp_evidence) {
		p->sev = p->sev_es = p->snp = true;
	}
	/* Each level needs the ones below it; a value saying otherwise is not trusted upward. */
	if (p->sev && p->sev_es && p->snp)
		p->level = GUEST_LEVEL_SNP;
	else if (p->sev && p->sev_es)
		p->level = GUEST_LEVEL_SEV_ES;
	else if (p->sev)
		p->level = GUEST_LEVEL_SEV;
	else
		p->level = GUEST_LEVEL_NONE;
}

void guest_posture_probe(const struct guest_roots *r, struct guest_posture *p)
{
	uint64_t v = 0;

	memset(p, 0, sizeof(*p));
	p->vmpl = -1;
	if (read_msr(r->dev, &v) == 0) {
		p->has_sev_status = true;
		p->sev_status = v;
		p->sev_status_source = "msr";
	} else if (read_number(r->sysfs, "hypervisor/sev/sev_status", UINT64_MAX, &v) == 0) {
		p->has_sev_status = true;
		p->sev_status = v;
		p->sev_status_source = "sysfs";
	}
	probe_vmpl(r, p);
	p->sev_guest_dev = exists(r->dev, "sev-guest");
	p->tsm_report = exists(r->configfs, "tsm/report");
	if (p->vmpl_source)
		p->snp_evidence = p->vmpl_source;
	else if (p->sev_guest_dev)
		p->snp_evidence = "sev-guest";
	else if (exists(r->sysfs, "devices/virtual/misc/sev-guest"))
		p->snp_evidence = "devices/virtual/misc/sev-guest";
	derive_level(p);
	p->secure_boot = read_secure_boot(r->efivarfs);
}

void guest_posture_azure(struct guest_posture *p)
{
	p->azure_paravisor = true;
	if (!p->snp_evidence)
		p->snp_evidence = "azure-paravisor (HCL report in the vTPM)";
	if (!p->has_sev_status)
		p->sev = p->sev_es = p->snp = true;
	derive_level(p);
}

void guest_posture_given(const struct guest_roots *r, uint64_t sev_status, int vmpl,
			 const char *source, const char *note, struct guest_posture *p)
{
	memset(p, 0, sizeof(*p));
	p->simulated = note != NULL;
	p->note = note;
	p->has_sev_status = true;
	p->sev_status = sev_status;
	p->sev_status_source = source;
	p->vmpl = vmpl;
	p->vmpl_source = source;
	derive_level(p);
	p->secure_boot = read_secure_boot(r->efivarfs);
}

const char *guest_secure_boot_name(enum guest_secure_boot s)
{
	switch (s) {
	case GUEST_SB_ENABLED:
		return "enabled";
	case GUEST_SB_DISABLED:
		return "disabled";
	default:
		return "unknown";
	}
}

int guest_posture_check(const struct guest_posture *p, enum guest_level require, bool require_sb,
			struct ccu_reason *err)
{
	if (p->level == GUEST_LEVEL_NONE)
		return ccu_fail(err, -EPERM, "POSTURE_NOT_PROTECTED",
				"no SEV found (SEV_STATUS %s, no SNP guest interface): not a "
				"confidential VM, expected %s",
				p->has_sev_status ? "0" : "unreadable", guest_level_name(require));
	if (p->level < require)
		return ccu_fail(err, -EPERM, "POSTURE_LEVEL",
				"memory encryption is %s, expected at least %s (SEV_STATUS 0x%llx)",
				guest_level_name(p->level), guest_level_name(require),
				(unsigned long long)p->sev_status);
	if (p->snp && p->vmpl > 0 && !p->azure_paravisor)
		return ccu_fail(err, -EPERM, "POSTURE_VMPL",
				"guest runs at VMPL %d (%s), expected VMPL 0", p->vmpl,
				p->vmpl_source);
	if (require_sb && p->secure_boot != GUEST_SB_ENABLED)
		return ccu_fail(err, -EPERM, "POSTURE_SECURE_BOOT",
				"UEFI Secure Boot is %s, expected enabled",
				guest_secure_boot_name(p->secure_boot));
	return 0;
}

json_t *guest_posture_json(const struct guest_posture *p)
{
	char hex[24];

	snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)p->sev_status);
	return json_pack("{s:s, s:b, s:b, s:b, s:b, s:o, s:o, s:o, s:b, s:b, s:s, s:b}", "level",
			 guest_level_name(p->level), "sev", p->sev, "sev_es", p->sev_es, "sev_snp",
			 p->snp, "simulated", p->simulated, "sev_status",
			 p->has_sev_status ? json_string(hex) : json_null(), "sev_status_source",
			 p->sev_status_source ? json_string(p->sev_status_source) : json_null(),
			 "vmpl", p->vmpl >= 0 ? json_integer(p->vmpl) : json_null(), "sev_guest_device",
			 p->sev_guest_dev, "configfs_tsm", p->tsm_report, "secure_boot",
			 guest_secure_boot_name(p->secure_boot), "azure_paravisor",
			 p->azure_paravisor);
}

void guest_posture_print(FILE *f, const struct guest_posture *p)
{
	if (p->note)
		fprintf(f, "platform:      %s\n", p->note);
	fprintf(f, "level:         %s\n", guest_level_name(p->level));
	fprintf(f, "SEV:           %s\n", p->sev ? "active" : "inactive");
	fprintf(f, "SEV-ES:        %s\n", p->sev_es ? "active" : "inactive");
	fprintf(f, "SEV-SNP:       %s\n", p->snp ? "active" : "inactive");
	if (p->has_sev_status)
		fprintf(f, "SEV_STATUS:    0x%llx (%s)\n", (unsigned long long)p->sev_status,
			p->sev_status_source);
	else
		fprintf(f, "SEV_STATUS:    unreadable%s%s\n", p->snp_evidence ? "; SNP implied by " : "",
			p->snp_evidence ? p->snp_evidence : "");
	if (p->vmpl >= 0)
		fprintf(f, "VMPL:          %d (%s)\n", p->vmpl, p->vmpl_source);
	else
		fprintf(f, "VMPL:          unknown\n");
	fprintf(f, "/dev/sev-guest: %s\n", p->sev_guest_dev ? "present" : "absent");
	fprintf(f, "configfs-tsm:  %s\n", p->tsm_report ? "present" : "absent");
	fprintf(f, "Secure Boot:   %s\n", guest_secure_boot_name(p->secure_boot));
}

const char *guest_posture_line(const struct guest_posture *p, char *buf, size_t len)
{
	const char *level = p->snp ? "SEV-SNP" : p->sev_es ? "SEV-ES" : p->sev ? "SEV" : "not protected";
	const char *src = p->note	   ? p->note :
			  p->has_sev_status ? p->sev_status_source :
			  p->snp_evidence   ? p->snp_evidence :
					      "no interface";

	if (p->vmpl >= 0)
		snprintf(buf, len, "%s (%s), VMPL %d, Secure Boot %s", level, src, p->vmpl,
			 guest_secure_boot_name(p->secure_boot));
	else
		snprintf(buf, len, "%s (%s), VMPL unknown, Secure Boot %s", level, src,
			 guest_secure_boot_name(p->secure_boot));
	return buf;
}
