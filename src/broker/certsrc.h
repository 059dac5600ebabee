/*
 * Where the broker gets the AMD certificates for a report, in this order:
 *   1. the evidence's cert_chain (the host's extended-report certificates);
 *   2. the offline certificate cache (cert_cache):
 *        <dir>/<product>/ark.pem, ask.pem, asvk.pem   (as AMD serves them)
 *        <dir>/<product>/vcek/<hwid hex>/<bl>-<tee>-<snp>-<ucode>[-<fmc>].der
 *      <product> is milan/genoa/turin; <hwid hex> is CHIP_ID (64 bytes, the
 *      first 8 on Turin) in lower-case hex; the TCB is REPORTED_TCB decoded
 *      with the product's layout (fmc only on Turin);
 *   3. with kds_fetch = yes (the default): AMD's key distribution server
 *      (VCEKs and the ASK/ASVK + ARK chains; a VLEK cannot be fetched),
 *      bounded and retried as broker/kds.h says, written into the cache for
 *      the next time.
 * Nothing from here is trusted: every certificate still goes through
 * snp_verify (the ARK must be pinned or configured).
 *
 * Reason codes: CHAIN_INCOMPLETE (no leaf / no intermediate or root to be
 * had), CERT_PARSE (a cached or fetched file is not a certificate), KDS_FETCH,
 * KDS_NOT_FOUND, KDS_RATE_LIMITED (broker/kds.h).
 */
#pragma once

#include <stdbool.h>

#include <openssl/x509.h>

#include "common/reason.h"
#include "snp/report.h"

#define BROKER_KDS_TIMEOUT 10 /* seconds per fetch */

struct broker_certsrc {
	const char *cache_dir; /* may be NULL */
	bool kds_fetch;
	const char *kds_url;   /* base, e.g. https://kdsintf.amd.com */
	unsigned kds_timeout;  /* seconds per request (0: BROKER_KDS_TIMEOUT) */
};

/*
 * Pick the leaf and the rest of the chain for @r. @evidence (may be NULL)
 * is borrowed. On success *@leaf is a new reference and *@pool a new stack
 * (both for snp_verify); *@from says where the leaf came from ("evidence",
 * "cache", "kds").
 */
int broker_certs_collect(const struct broker_certsrc *cs, const struct snp_report *r,
			 STACK_OF(X509) *evidence, X509 **leaf, STACK_OF(X509) **pool,
			 const char **from, struct ccu_reason *err);

/* The cache file name of the VCEK for @r on @p (relative to the cache
 * directory), e.g. "milan/vcek/<hex>/4-0-24-219.der". -ENOSPC/-EINVAL. */
int broker_vcek_cache_name(const struct snp_report *r, enum snp_product p, char *buf, size_t len);

/* The KDS URL path of the VCEK for @r on @p:
 * "/vcek/v1/Milan/<hwid>?blSPL=..&teeSPL=..&snpSPL=..&ucodeSPL=.." (Turin:
 * fmcSPL first, 8-byte hwid). */
int broker_vcek_kds_path(const struct snp_report *r, enum snp_product p, char *buf, size_t len);
