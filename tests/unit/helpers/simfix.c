#include "simfix.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static struct snp_sim *platforms[SNP_PRODUCT_COUNT];
static char dirs[SNP_PRODUCT_COUNT][PATH_MAX];

const char *tu_sim_dir(enum snp_product p)
{
	char base[PATH_MAX - 64];

	assert_true(p > SNP_PRODUCT_UNKNOWN && p < SNP_PRODUCT_COUNT);
	if (!dirs[p][0]) {
		snprintf(base, sizeof(base), "%s", tu_bin("test-fixtures"));
		(void)mkdir(base, 0755);
		snprintf(dirs[p], sizeof(dirs[p]), "%s/sim-%s", base, snp_product_name(p));
	}
	return dirs[p];
}

/* Test programs run side by side and share the cache: one of them creates a
 * product's platform while the others wait on DIR.lock and then load it.
 * Without the lock two programs could each create their own platform, and
 * the one whose save lost would sign with a root that is not the ark.pem on
 * disk. */
struct snp_sim *tu_sim_platform(enum snp_product p)
{
	struct ccu_reason why = { 0 };
	struct snp_sim_params params;
	const char *dir = tu_sim_dir(p);
	char lock[PATH_MAX];
	int fd, rc;

	if (platforms[p])
		return platforms[p];
	assert_true((size_t)snprintf(lock, sizeof(lock), "%s.lock", dir) < sizeof(lock));
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		fail_msg("simulator cache lock %s: %s", lock, strerror(errno));
	do
		rc = flock(fd, LOCK_EX);
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		fail_msg("simulator cache lock %s: %s", lock, strerror(errno));
	if (snp_sim_load(dir, &platforms[p], &why) < 0) {
		snp_sim_default_params(&params);
		params.product = p;
		if (snp_sim_create(&params, &platforms[p], &why) < 0)
			fail_msg("simulator: %s: %s", why.code, why.detail);
		/* A half-written cache from an interrupted run is simply
		 * replaced. */
		if (snp_sim_save(platforms[p], dir, &why) < 0)
			fail_msg("simulator save %s: %s: %s", dir, why.code, why.detail);
	}
	close(fd);
	return platforms[p];
}

struct snp_trust *tu_sim_trust(void)
{
	static struct snp_trust *t;
	struct ccu_reason why = { 0 };

	if (t)
		return t;
	t = snp_trust_new();
	assert_non_null(t);
	for (int p = SNP_PRODUCT_MILAN; p < SNP_PRODUCT_COUNT; p++)
		if (snp_trust_add_root(t, snp_sim_ark(tu_sim_platform((enum snp_product)p)), &why) < 0)
			fail_msg("trust: %s: %s", why.code, why.detail);
	return t;
}
