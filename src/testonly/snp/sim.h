/*
 * SEV-SNP platform simulator - TEST BUILDS ONLY (never linked into release
 * binaries; the Makefile keeps src/snp/sim*.c out of them).
 *
 * It plays AMD's key server and the PSP firmware: a generated test ARK
 * (RSA-4096, self-signed, RSA-PSS SHA-384) -> ASK -> VCEK (EC P-384) chain
 * whose names and extensions look like AMD's (ARK-<P>, SEV-<P>, SEV-VCEK;
 * structVersion, productName, blSPL.., fmcSPL on Turin, hwID), and signs
 * reports with any field values. The test ARK is not pinned: verifiers trust
 * it only when told to (snp_trust_add_root / --trusted-ark).
 *
 * A simulator state directory holds:
 *   ark.pem ask.pem vcek.pem   the chain (chain.pem = ask + ark)
 *   vcek-key.pem, ask-key.pem  the VCEK and ASK private keys (test material only)
 *   platform.conf              product, chip id, TCB, firmware version
 *
 * snp_sim_load() refuses anything snp_sim_save() would not have written:
 * files that are not exactly one PEM certificate (SIM_FORMAT), a chain that
 * does not chain or a chain.pem other than ask+ark (SIM_CHAIN, SIM_MISMATCH),
 * a platform.conf that disagrees with the VCEK's names/extensions
 * (SIM_MISMATCH; CONFIG_* for its syntax), a vcek-key.pem that is not the
 * VCEK's key (SIM_KEY_MISMATCH). Other codes: SIM_IO (unreadable or
 * unwritable file), SIM_PARAMS (bad snp_sim_params), SIM_CRYPTO (OpenSSL).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/reason.h"
#include "snp/report.h"

struct snp_sim_params {
	enum snp_product product;  /* MILAN if UNKNOWN */
	struct snp_tcb tcb;        /* REPORTED/CURRENT/COMMITTED/LAUNCH TCB default */
	uint8_t chip_id[64];       /* Turin: only the first 8 bytes are used */
	struct snp_fw_version fw;  /* CURRENT and COMMITTED firmware version */
	time_t not_before;         /* 0 = now - 1 day */
	unsigned valid_days;       /* 0 = 7 years */
};

struct snp_sim;

/* Fill @p with sensible defaults (Milan, bl=4 tee=0 snp=24 ucode=219,
 * fw 1.55.29, a fixed chip id). */
void snp_sim_default_params(struct snp_sim_params *p);

int snp_sim_create(const struct snp_sim_params *p, struct snp_sim **ret, struct ccu_reason *err);
int snp_sim_save(const struct snp_sim *s, const char *dir, struct ccu_reason *err);
int snp_sim_load(const char *dir, struct snp_sim **ret, struct ccu_reason *err);
void snp_sim_free(struct snp_sim *s);

/*
 * Play AMD's key server: a platform of the same product and chain (ARK, ASK)
 * with a new VCEK issued for @tcb and @chip_id (NULL keeps the base's
 * value). The new platform's default TCB is @tcb. Real KDS issues one VCEK
 * per chip and REPORTED_TCB; tests use this to sign reports for other TCBs
 * and chips without generating RSA keys again.
 */
int snp_sim_reissue(const struct snp_sim *base, const struct snp_tcb *tcb, const uint8_t chip_id[64],
		    struct snp_sim **ret, struct ccu_reason *err);

/* Borrowed references. */
X509 *snp_sim_ark(const struct snp_sim *s);
X509 *snp_sim_ask(const struct snp_sim *s);
X509 *snp_sim_vcek(const struct snp_sim *s);
const struct snp_sim_params *snp_sim_params(const struct snp_sim *s);

/*
 * A plausible report for this platform: version 5 (3 when @version is 3, 2
 * for 2), guest policy 0x30000 (SMT allowed, bit 17), VMPL 0, VCEK signer,
 * CPUID of the product, the platform's TCBs, chip id and firmware, and the
 * given REPORT_DATA (may be NULL = zero). Not signed yet.
 */
void snp_sim_report_template(const struct snp_sim *s, unsigned version,
			     const uint8_t report_data[64], struct snp_report *r);

/*
 * Sign @r as the firmware would: encode its fields (snp_report_encode), sign
 * bytes 0..0x29F with the VCEK (ECDSA P-384, SHA-384, r/s little-endian),
 * and store the result in r->raw, r->sig_r, r->sig_s. The fields are taken
 * as given - the caller may produce reports any real firmware would refuse.
 */
int snp_sim_sign(const struct snp_sim *s, struct snp_report *r, struct ccu_reason *err);

/*
 * Helpers shared by the simulator's platform.conf and its command-line tool.
 * A TCB is "bl=N tee=N snp=N ucode=N" in any order (each 0..255, decimal,
 * each exactly once); Turin also takes "fmc=N" (0 when omitted), other
 * products refuse it. A firmware version is "MAJOR.MINOR.BUILD" (0..255
 * each). Errors: -EINVAL with @err CONFIG_VALUE naming the problem.
 */
int snp_sim_parse_tcb(const char *s, enum snp_product p, struct snp_tcb *out,
		      struct ccu_reason *err);
int snp_sim_parse_fw(const char *s, struct snp_fw_version *out, struct ccu_reason *err);
/* A chip id: 128 hex digits, or on Turin also 16 (the 8 bytes Turin uses;
 * the rest is zero). */
int snp_sim_parse_chip_id(const char *s, enum snp_product p, uint8_t out[64],
			  struct ccu_reason *err);
