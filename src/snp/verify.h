/*
 * Is this SEV-SNP report genuine? Certificate chain (ARK -> ASK/ASVK ->
 * VCEK/VLEK) to a pinned AMD root or an explicitly named root, validity at a
 * given time, product consistency, leaf <-> report binding (signer type,
 * TCB, hwID) and the report's ECDSA P-384 signature.
 * OpenSSL 3 EVP APIs only. Pure: no I/O, no logging.
 *
 * Every check is evaluated and recorded (for --json and the audit log); the
 * verdict's reason is the first failure in this fixed priority order, so a
 * given defect always yields the same code:
 *
 *   FORMAT_*            (the report does not parse; see snp/report.h)
 *   CHAIN_INCOMPLETE    no usable VCEK/VLEK, ASK/ASVK or ARK
 *   CHAIN_LEAF_UNKNOWN  the leaf is not an AMD VCEK/VLEK (names, key type)
 *   BINDING_SIGNER      KEY_INFO says VCEK but the leaf is a VLEK, or vice versa
 *   BINDING_TCB         leaf TCB extensions != REPORTED_TCB (or > CURRENT_TCB)
 *   CHAIN_PRODUCT       ARK/ASK/leaf/report/forced product disagree
 *   CHAIN_ARK_UNTRUSTED ARK is neither pinned nor explicitly trusted
 *   CHAIN_ARK_SIGNATURE ARK self-signature (RSA-PSS SHA-384) fails
 *   CHAIN_ASK_SIGNATURE ASK/ASVK not signed by the ARK (or names differ)
 *   CHAIN_LEAF_SIGNATURE leaf not signed by the ASK/ASVK (or names differ)
 *   CHAIN_PSS_PARAMS    a signature is not RSA-PSS SHA-384/MGF1-SHA-384/salt 48
 *   CHAIN_CA            ARK/ASK lack CA:TRUE / keyCertSign
 *   CHAIN_VALIDITY      a certificate is not valid at the verification time
 *   SIGNATURE           the report's signature does not verify with the leaf
 *   BINDING_CHIP_ID     VCEK hwID != CHIP_ID (8 bytes on Turin), unless masked
 *
 * (This order puts "which key signed" checks before "is the chain sound",
 * and the hwID comparison after the signature: a report signed by another
 * chip's VCEK is first of all a bad signature.)
 */
#pragma once

#include <stdbool.h>
#include <time.h>

#include <openssl/x509.h>

#include "common/reason.h"
#include "snp/certs.h"
#include "snp/report.h"

/* SHA-256 of the DER of AMD's ARKs (shared/vectors/snp/README.md). */
#define SNP_ARK_SHA256_MILAN "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd"
#define SNP_ARK_SHA256_GENOA "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1"
#define SNP_ARK_SHA256_TURIN "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a"

struct snp_trust;

/* Trust anchors: the three pinned AMD fingerprints, plus roots the caller
 * names explicitly (e.g. a test root). Returns NULL on allocation failure. */
struct snp_trust *snp_trust_new(void);
void snp_trust_free(struct snp_trust *t);
/* Trust @ark (self-signed, CN ARK-<product>) in addition to the pinned
 * roots. Takes its own reference. -EINVAL (CHAIN_ARK_SIGNATURE / CERT_PARSE)
 * when it is not a usable root. */
int snp_trust_add_root(struct snp_trust *t, X509 *ark, struct ccu_reason *err);

/*
 * Cache of verified chains, keyed by the SHA-256 of leaf, intermediate and
 * root DER: a hit skips the three RSA-PSS verifications (validity at the
 * verification time is still checked). Bounded (LRU). Thread-safe.
 */
struct snp_chain_cache;
struct snp_chain_cache *snp_chain_cache_new(size_t capacity);
void snp_chain_cache_free(struct snp_chain_cache *c);

struct snp_verify_opts {
	time_t at;                 /* verification time (0 = now) */
	enum snp_product product;  /* forced product, or UNKNOWN (CPUID / names) */
	struct snp_chain_cache *cache; /* optional */
};

#define SNP_VERDICT_MAX_CHECKS 24

struct snp_check {
	const char *code; /* static string, e.g. "CHAIN_ARK_SIGNATURE" */
	bool ok;
	char detail[200];
};

struct snp_verdict {
	bool ok;
	struct ccu_reason reason;    /* set when !ok */
	enum snp_product product;    /* the product the verdict used */
	enum snp_cert_role leaf_role;
	bool cache_hit;
	size_t nchecks;
	struct snp_check checks[SNP_VERDICT_MAX_CHECKS];
};

/*
 * Verify @report (may be NULL: chain only) against @leaf, with ASK/ASVK and
 * ARK taken from @certs (any order; extra certificates of other roles are
 * ignored only if they are AMD certificates of a known role; anything else is
 * CHAIN_INCOMPLETE). Returns 0 when verified, -EKEYREJECTED when rejected
 * (v->reason says why), another -errno on internal failure.
 */
int snp_verify(const struct snp_trust *t, const struct snp_report *report, X509 *leaf,
	       STACK_OF(X509) *certs, const struct snp_verify_opts *opts, struct snp_verdict *v);
