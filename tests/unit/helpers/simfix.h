/*
 * Simulated SEV-SNP platforms for tests, one per product, generated once and
 * cached under $O/test-fixtures/sim-<product> (RSA-4096 key generation takes
 * seconds; every test program would otherwise pay it again).
 */
#pragma once

#include "snp/report.h"
#include "snp/sim.h"
#include "snp/verify.h"

/* The cached platform of @p (owned by the helper; do not free). */
struct snp_sim *tu_sim_platform(enum snp_product p);
/* Directory holding it (for tools that take a simulator directory). */
const char *tu_sim_dir(enum snp_product p);
/* Trust anchors: the pinned AMD roots plus the test roots of all products. */
struct snp_trust *tu_sim_trust(void);
