/*
 * Evidence providers: one interface for every way of getting an SNP report
 * (configfs-tsm, /dev/sev-guest, the simulator in test builds). The provider
 * named in the config (or the first available one with `evidence = auto`)
 * is named in every log line and in `status`.
 *
 * The kernel interfaces sit behind seams (struct guest_seams) so unit tests
 * drive both real providers against fake trees and a fake ioctl.
 *
 * Reason codes: EVIDENCE_UNAVAILABLE (no provider / the named one is not
 * there), TSM_* (configfs-tsm), SEVGUEST_* (/dev/sev-guest), SIM_* (the
 * simulator), EVIDENCE_REPORT (the report that came back is malformed or
 * does not carry our REPORT_DATA), CERTTABLE_* (guest/certtable.h).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/reason.h"
#include "guest/config.h"
#include "snp/report.h"

/* Where the kernel interfaces live; tests point these at fake trees. */
struct guest_roots {
	const char *sysfs;    /* "/sys" */
	const char *dev;      /* "/dev" */
	const char *configfs; /* "/sys/kernel/config" */
	const char *efivarfs; /* "/sys/firmware/efi/efivars" */
	const char *cmdline;  /* "/proc/cmdline" (a file, not a root) */
};

extern const struct guest_roots guest_default_roots;

/* Seams for the calls a fake tree cannot answer by itself (NULL = real). */
struct guest_seams {
	int (*ioctl)(int fd, unsigned long req, void *arg, void *ud);
	/* configfs-tsm creates the attribute files when the entry is made */
	int (*tsm_mkdir)(const char *path, void *ud);
	int (*tsm_rmdir)(const char *path, void *ud);
	/* told after each attribute write (a fake tree bumps its generation) */
	void (*tsm_written)(const char *dir, const char *attr, void *ud);
	void *ud;
	/* azure-vtpm: the TPM (a test's swtpm socket) instead of <dev>/tpmrm0, and
	 * the VCEK source instead of Azure IMDS; return an fd / 0 or -errno. */
	int (*tpm_open)(void *ud);
	int (*azure_vcek)(const uint8_t *hcl, size_t len, uint8_t **der, size_t *der_len, void *ud);
	/* how a provider waits between bounded retries (default nanosleep) */
	void (*sleep_ms)(uint64_t ms, void *ud);
};

struct guest_azure_sim;

struct guest_provider_ctx {
	const struct guest_roots *roots;
	const struct guest_seams *seams; /* may be NULL */
	const struct guest_config *cfg;  /* simulator settings; may be NULL otherwise */
	const char *tsm_entry;           /* configfs-tsm entry name; NULL = "ccunlock-<pid>" */
	const struct guest_azure_sim *azure_sim; /* test builds only; NULL in release */
};

struct tpm2;

/*
 * TEST BUILDS ONLY: a simulated Azure paravisor (src/testonly/guest/azure_paravisor_sim.c)
 * for a VM whose vTPM is swtpm: nothing there refreshes the HCL report when
 * the guest writes REPORT_DATA, so this does what Microsoft's paravisor does.
 * The azure-vtpm flow itself is unchanged; it only calls these in between.
 */
struct guest_azure_sim {
	/* 1 when configured for @c (<simulator_dir>/azure-vm exists), else 0 */
	int (*active)(const struct guest_provider_ctx *c);
	/* the binding to write: @rd, or (replay = yes) an earlier session's */
	int (*binding)(const struct guest_provider_ctx *c, uint8_t rd[64], struct ccu_reason *err);
	/* after REPORT_DATA @rd is in NV 0x01400002: a fresh HCL report in 0x01400001 */
	int (*refresh)(const struct guest_provider_ctx *c, struct tpm2 *t, const uint8_t rd[64],
		       struct ccu_reason *err);
	/* the simulated platform's VCEK (DER, malloc'ed) instead of Azure IMDS */
	int (*vcek)(const struct guest_provider_ctx *c, uint8_t **der, size_t *der_len,
		    struct ccu_reason *err);
};

/* What a provider returns: the raw report and the host's certificate table. */
struct guest_evidence {
	uint8_t report[SNP_REPORT_SIZE];
	uint8_t *certtable; /* malloc'ed GHCB table, NULL when the host gave none */
	size_t certtable_len;
};

void guest_evidence_done(struct guest_evidence *e);

struct guest_test_hooks;

struct guest_provider {
	const char *name;
	bool simulated; /* posture comes from the simulated platform */
	/* test builds: the simulator's hooks (src/guest/build.h); else NULL */
	const struct guest_test_hooks *test;
	/* 1 when the interface is there, 0 when not. */
	int (*available)(const struct guest_provider_ctx *c);
	/* A report for @report_data at VMPL 0. */
	int (*get)(const struct guest_provider_ctx *c, const uint8_t report_data[64],
		   struct guest_evidence *out, struct ccu_reason *err);
	/* Providers whose evidence is not a bare SNP report (azure-vtpm): the KBS
	 * tee name and the whole primary_evidence object; NULL for the others. */
	const char *tee;
	int (*get_json)(const struct guest_provider_ctx *c, const uint8_t report_data[64],
			json_t **ret, struct ccu_reason *err);
};

extern const struct guest_provider guest_provider_tsm;
extern const struct guest_provider guest_provider_sevguest;
/* Azure confidential VMs: HCL report + vTPM quote (guest/evidence_azure.c). */
extern const struct guest_provider guest_provider_azure;
/* Test builds only (src/testonly/guest/evidence_sim.c, azure_paravisor_sim.c). */
extern const struct guest_provider guest_provider_sim;
extern const struct guest_azure_sim guest_azure_sim_paravisor;

/* Limits. */
#define GUEST_TSM_AUXBLOB_MAX (64 * 1024)
#define GUEST_TSM_SMALL_MAX 64 /* provider, generation, privlevel_floor */
#define GUEST_SEVGUEST_CERTS_INITIAL (16 * 1024)
#define GUEST_SEVGUEST_CERTS_MAX (256 * 1024)
#define GUEST_SEVGUEST_MAX_TRIES 3

/*
 * The provider for @cfg->evidence from @b: the named one (it must be
 * available), or with "auto" the first available one in table order.
 * -ENODEV (EVIDENCE_UNAVAILABLE) when there is none.
 */
int guest_provider_select(const struct guest_build *b, const struct guest_provider_ctx *c,
			  const char *name, const struct guest_provider **ret,
			  struct ccu_reason *err);

/* Run @p and check what came back: exactly one report that parses and carries
 * @report_data. */
int guest_provider_get(const struct guest_provider *p, const struct guest_provider_ctx *c,
		       const uint8_t report_data[64], struct guest_evidence *out,
		       struct ccu_reason *err);

/* "<root>/<rel>" into @buf; -ENAMETOOLONG when it does not fit. */
int guest_path(char *buf, size_t len, const char *root, const char *rel);
