/* Posture probes against fake sysfs/dev/configfs/efivarfs trees. */
#include "helpers/testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest/posture.h"

struct tree {
	char *dir;
	char sys[512], dev[512], cfg[512], efi[512];
	struct guest_roots roots;
};

static struct ccu_reason rsn;

static void mkdirs(const char *path)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(buf, 0755);
			*p = '/';
		}
	}
	mkdir(buf, 0755);
}

static void put(const char *root, const char *rel, const void *data, size_t len)
{
	char p[1024], d[1024];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	snprintf(d, sizeof(d), "%s", p);
	*strrchr(d, '/') = '\0';
	mkdirs(d);
	f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void puts_(const char *root, const char *rel, const char *s)
{
	put(root, rel, s, strlen(s));
}

static void put_msr(struct tree *t, uint64_t v)
{
	char p[1024];
	int fd;

	snprintf(p, sizeof(p), "%s/cpu/0", t->dev);
	mkdirs(p);
	snprintf(p, sizeof(p), "%s/cpu/0/msr", t->dev);
	fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	assert_true(fd >= 0);
	/* The msr device reads a register at the file offset of its number. */
	assert_int_equal(pwrite(fd, &v, sizeof(v), (off_t)GUEST_MSR_SEV_STATUS), sizeof(v));
	close(fd);
}

static int setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));

	t->dir = tu_mkdtemp();
	snprintf(t->sys, sizeof(t->sys), "%s/sys", t->dir);
	snprintf(t->dev, sizeof(t->dev), "%s/dev", t->dir);
	snprintf(t->cfg, sizeof(t->cfg), "%s/cfg", t->dir);
	snprintf(t->efi, sizeof(t->efi), "%s/efi", t->dir);
	mkdirs(t->sys);
	mkdirs(t->dev);
	mkdirs(t->cfg);
	mkdirs(t->efi);
	t->roots = (struct guest_roots){ t->sys, t->dev, t->cfg, t->efi, "/nonexistent" };
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tree *t = *state;

	tu_rmrf(t->dir);
	free(t->dir);
	free(t);
	return 0;
}

static void test_nothing(void **state)
{
	struct tree *t = *state;
	struct guest_posture p;

	guest_posture_probe(&t->roots, &p);
	assert_int_equal(p.level, GUEST_LEVEL_NONE);
	assert_false(p.has_sev_status);
	assert_int_equal(p.vmpl, -1);
	assert_int_equal(p.secure_boot, GUEST_SB_UNKNOWN);
	assert_int_equal(guest_posture_check(&p, GUEST_LEVEL_SEV, false, TU_FRESH(&rsn)), -EPERM);
	assert_string_equal(rsn.code, "POSTURE_NOT_PROTECTED");
}

static void test_msr_levels(void **state)
{
	struct tree *t = *state;
	struct guest_posture p;

	put_msr(t, GUEST_SEV_STATUS_SEV);
	guest_posture_probe(&t->roots, &p);
	assert_true(p.has_sev_status);
	assert_string_equal(p.sev_status_source, "msr");
	assert_int_equal(p.level, GUEST_LEVEL_SEV);
	assert_int_equal(guest_posture_check(&p, GUEST_LEVEL_SNP, false, TU_FRESH(&rsn)), -EPERM);
	assert_string_equal(rsn.code, "POSTURE_LEVEL");
	assert_int_equal(guest_posture_check(&p, GUEST_LEVEL_SEV, false, TU_FRESH(&rsn)), 0);

	put_msr(t, GUEST_SEV_STATUS_SEV | GUEST_SEV_STATUS_ES);
	guest_posture_probe(&t->roots, &p);
	assert_int_equal(p.level, GUEST_LEVEL_SEV_ES);
	assert_int_equal(guest_posture_check(&p, GUEST_LEVEL_SNP, false, TU_FRESH(&rsn)), -EPERM);
	assert_int_equal(guest_posture_check(&p, GUEST_LEVEL_SEV_ES, false, TU_FRESH(&rsn)), 0);

	put_msr(t, 0x7 | (1ULL << 17));
	guest_posture_probe(&t->roots, &p);
	assert_int_equal(p.level, GUEST_LEVEL_SNP);
	assert_int_equal(guest_posture_check(&p, GUEST_LEVEL_SNP, false, TU_FRESH(&rsn)), 0);

	/* SNP without ES is not a state hardware produces: not trusted upward. */
	put_msr(t, GUEST_SEV_STATUS_SEV | GUEST_SEV_STATUS_SNP);
	guest_posture_probe(&t->roots, &p);
	assert_int_equal(p.level, GUEST_LEVEL_SEV);

	/* The MSR is authoritative: an SNP device node does not raise a plain-SEV MSR. */
	put_msr(t, GUEST_SEV_STATUS_SEV);
	puts_(t->dev, "sev-guest", "");
	guest_posture_probe(&t->roots, &p);
	assert_true(p.sev_guest_dev);
	assert_int_equal(p.level, GUEST_LEVEL_SEV);
	/* MSR 0 = no SEV at all. */
	put_msr(t, 0);
	guest_posture_probe(&t->roots, &p);
	assert_int_equal(p.level, GUEST_LEVEL_NONE);
}

static void test_sysfs_status_and_vmpl(void **state)
{
	struct tree *t = *state;
	struct guest_posture p;

	puts_(t->sys, "hypervisor/sev/sev_status", "0x7\n");
	puts_(t->sys, "hypervisor/sev/vmpl", "2\n");
	guest_posture_probe(&t->roots, &p);
	assert_string_equal(p.sev_status_source, "sysfs");
	assert_int_equal(p.level, GUEST_LEVEL_SNP);
	assert_int_equal(p.vmpl, 2);
	assert_int_equal(guest_posture_check(&p, GUEST_LEVEL_SNP, false, TU_FRESH(&rsn)), -EPERM);
	assert_string_equal(rsn.code, "POSTURE_VMPL");
	/* The cpu subsystem location is probed first. */
	puts_(t->sys, "devices/system/cpu/sev/vmpl", "0\n");
	guest_posture_probe(&t->roots, &p);
	assert_int_equal(p.vmpl, 0);
	assert_string_equal(p.vmpl_source, "devices/system/cpu/sev/vmpl");
	assert_int_equal(guest_posture_check(&p, GUEST_LEVEL_SNP, false, TU_FRESH(&rsn)), 0);
	/* A malformed value is no information. */
	puts_(t->sys, "devices/system/cpu/sev/vmpl", "zero\n");
	puts_(t->sys, "hypervisor/sev/vmpl", "7\n");
	guest_posture_probe(&t->roots, &p);
	assert_int_equal(p.vmpl, -1);
}

static void test_snp_implied_without_msr(void **state)
{
	struct tree *t = *state;
	struct guest_posture p;

	puts_(t->dev, "sev-guest", "");
	guest_posture_probe(&t->roots, &p);
	assert_false(p.has_sev_status);
	assert_string_equal(p.snp_evidence, "sev-guest");
	assert_int_equal(p.level, GUEST_LEVEL_SNP);
	unlink(strcat(strcpy((char[600]){ 0 }, t->dev), "/sev-guest"));

	puts_(t->sys, "devices/system/cpu/sev/vmpl", "0\n");
	guest_posture_probe(&t->roots, &p);
	assert_int_equal(p.level, GUEST_LEVEL_SNP);
	assert_int_equal(p.vmpl, 0);

	mkdirs(strcat(strcpy((char[600]){ 0 }, t->cfg), "/tsm/report"));
	guest_posture_probe(&t->roots, &p);
	assert_true(p.tsm_report);
}

static void test_secure_boot(void **state)
{
	struct tree *t = *state;
	struct guest_posture p;
	static const uint8_t on[5] = { 6, 0, 0, 0, 1 }, off[5] = { 6, 0, 0, 0, 0 };

	put_msr(t, 7);
	put(t->efi, GUEST_EFI_SECUREBOOT, off, 5);
	guest_posture_probe(&t->roots, &p);
	assert_int_equal(p.secure_boot, GUEST_SB_DISABLED);
	assert_int_equal(guest_posture_check(&p, GUEST_LEVEL_SNP, true, TU_FRESH(&rsn)), -EPERM);
	assert_string_equal(rsn.code, "POSTURE_SECURE_BOOT");
	assert_int_equal(guest_posture_check(&p, GUEST_LEVEL_SNP, false, TU_FRESH(&rsn)), 0);
	put(t->efi, GUEST_EFI_SECUREBOOT, on, 5);
	guest_posture_probe(&t->roots, &p);
	assert_int_equal(p.secure_boot, GUEST_SB_ENABLED);
	assert_int_equal(guest_posture_check(&p, GUEST_LEVEL_SNP, true, TU_FRESH(&rsn)), 0);
	put(t->efi, GUEST_EFI_SECUREBOOT, on, 4);
	guest_posture_probe(&t->roots, &p);
	assert_int_equal(p.secure_boot, GUEST_SB_UNKNOWN);
	assert_int_equal(guest_posture_check(&p, GUEST_LEVEL_SNP, true, TU_FRESH(&rsn)), -EPERM);
}

static void test_simulated_and_json(void **state)
{
	struct tree *t = *state;
	struct guest_posture p;
	json_t *j;

	guest_posture_simulated(&t->roots, &p);
	assert_true(p.simulated);
	assert_int_equal(p.level, GUEST_LEVEL_SNP);
	assert_int_equal(p.vmpl, 0);
	j = guest_posture_json(&p);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "level")), "snp");
	assert_true(json_is_true(json_object_get(j, "simulated")));
	assert_string_equal(json_string_value(json_object_get(j, "sev_status")), "0x7");
	json_decref(j);
}

/* Azure: above the paravisor, a VMPL above 0 is the design; the HCL report
 * in the vTPM implies SNP when nothing else says so. */
static void test_azure_paravisor(void **state)
{
	struct tree *t = *state;
	struct guest_posture p;

	puts_(t->sys, "hypervisor/sev/sev_status", "0x7\n");
	puts_(t->sys, "hypervisor/sev/vmpl", "2\n");
	guest_posture_probe(&t->roots, &p);
	assert_false(p.azure_paravisor);
	guest_posture_azure(&p);
	assert_true(p.azure_paravisor);
	assert_int_equal(p.vmpl, 2);
	assert_int_equal(guest_posture_check(&p, GUEST_LEVEL_SNP, false, TU_FRESH(&rsn)), 0);

	/* No SEV_STATUS, no SNP guest interface: the paravisor's report says SNP. */
	memset(&p, 0, sizeof(p));
	p.vmpl = -1;
	assert_int_equal(guest_posture_check(&p, GUEST_LEVEL_SNP, false, TU_FRESH(&rsn)), -EPERM);
	assert_string_equal(rsn.code, "POSTURE_NOT_PROTECTED");
	guest_posture_azure(&p);
	assert_int_equal(p.level, GUEST_LEVEL_SNP);
	assert_non_null(strstr(p.snp_evidence, "azure-paravisor"));
	assert_int_equal(guest_posture_check(&p, GUEST_LEVEL_SNP, false, TU_FRESH(&rsn)), 0);
	/* A measured SEV_STATUS without SNP is not overridden. */
	memset(&p, 0, sizeof(p));
	p.has_sev_status = true;
	p.sev_status = GUEST_SEV_STATUS_SEV;
	p.sev = true;
	guest_posture_azure(&p);
	assert_int_equal(p.level, GUEST_LEVEL_SEV);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msr_levels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sysfs_status_and_vmpl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snp_implied_without_msr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secure_boot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_simulated_and_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_azure_paravisor, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
