/*
 * configfs-tsm (snp-verification §9.2): one report entry per request,
 * created and removed by us. The generation counter must show exactly our
 * two writes (privlevel, inblob) before and after reading the blobs;
 * anything else means another writer used the entry at the same time.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/macros.h"
#include "common/util.h"
#include "guest/provider.h"

static int real_mkdir(const char *path, void *ud)
{
	(void)ud;
	return mkdir(path, 0700) < 0 ? -errno : 0;
}

static int real_rmdir(const char *path, void *ud)
{
	(void)ud;
	return rmdir(path) < 0 ? -errno : 0;
}

static int tsm_available(const struct guest_provider_ctx *c)
{
	char p[GUEST_PATH_MAX];
	struct stat st;

	if (guest_path(p, sizeof(p), c->roots->configfs, "tsm/report") < 0)
		return 0;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int attr_path(char *buf, size_t len, const char *dir, const char *attr)
{
	return guest_path(buf, len, dir, attr);
}

static int read_attr(const char *dir, const char *attr, size_t max, uint8_t **data, size_t *len)
{
	char p[GUEST_PATH_MAX];
	int r = attr_path(p, sizeof(p), dir, attr);

	return r < 0 ? r : ccu_read_file(p, max, data, len);
}

static int read_attr_u64(const char *dir, const char *attr, uint64_t *ret)
{
	_cleanup_free_ uint8_t *d = NULL;
	size_t len;
	int r = read_attr(dir, attr, GUEST_TSM_SMALL_MAX, &d, &len);

	if (r < 0)
		return r;
	return ccu_parse_u64(ccu_strstrip((char *)d), UINT32_MAX, false, ret);
}

/* configfs commits a binary attribute when the file is closed. */
static int write_attr(const char *dir, const char *attr, const void *data, size_t len)
{
	char p[GUEST_PATH_MAX];
	int fd, r;

	r = attr_path(p, sizeof(p), dir, attr);
	if (r < 0)
		return r;
	fd = open(p, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	r = ccu_write_all(fd, data, len);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

static int tsm_fail(struct ccu_reason *err, int r, const char *code, const char *what,
		    const char *dir)
{
	return ccu_fail(err, r < 0 ? r : -EIO, code, "configfs-tsm %s: %s (%s)", dir, what,
			strerror(r < 0 ? -r : EIO));
}

static int check_provider(const char *dir, struct ccu_reason *err)
{
	_cleanup_free_ uint8_t *d = NULL;
	size_t len;
	int r = read_attr(dir, "provider", GUEST_TSM_SMALL_MAX, &d, &len);

	if (r < 0)
		return tsm_fail(err, r, "TSM_IO", "cannot read provider", dir);
	if (strcmp(ccu_strstrip((char *)d), "sev_guest") != 0)
		return ccu_fail(err, -ENODEV, "TSM_PROVIDER",
				"configfs-tsm provider is '%.32s', expected sev_guest",
				ccu_strstrip((char *)d));
	return 0;
}

static int check_floor(const char *dir, struct ccu_reason *err)
{
	uint64_t floor;
	int r = read_attr_u64(dir, "privlevel_floor", &floor);

	if (r == -ENOENT)
		return 0; /* older kernels: no floor, privlevel 0 is allowed */
	if (r < 0)
		return tsm_fail(err, r, "TSM_IO", "cannot read privlevel_floor", dir);
	if (floor != 0)
		return ccu_fail(err, -EPERM, "TSM_PRIVLEVEL",
				"configfs-tsm privlevel_floor is %llu: no VMPL 0 report possible",
				(unsigned long long)floor);
	return 0;
}

static int read_blobs(const char *dir, uint64_t gen0, struct guest_evidence *out,
		      struct ccu_reason *err)
{
	_cleanup_free_ uint8_t *rep = NULL;
	uint64_t g1, g2;
	size_t len;
	int r;

	r = read_attr_u64(dir, "generation", &g1);
	if (r < 0)
		return tsm_fail(err, r, "TSM_IO", "cannot read generation", dir);
	r = read_attr(dir, "outblob", 8192, &rep, &len);
	if (r < 0)
		return tsm_fail(err, r, "TSM_IO", "cannot read outblob", dir);
	if (len != SNP_REPORT_SIZE)
		return ccu_fail(err, -EBADMSG, "TSM_REPORT",
				"configfs-tsm outblob is %zu bytes, expected %d", len,
				SNP_REPORT_SIZE);
	r = read_attr(dir, "auxblob", GUEST_TSM_AUXBLOB_MAX, &out->certtable, &out->certtable_len);
	if (r == -ENOENT) {
		out->certtable = NULL;
		out->certtable_len = 0;
	} else if (r < 0) {
		return tsm_fail(err, r, "TSM_IO", "cannot read auxblob", dir);
	}
	r = read_attr_u64(dir, "generation", &g2);
	if (r < 0)
		return tsm_fail(err, r, "TSM_IO", "cannot read generation", dir);
	if (g1 != gen0 + 2 || g2 != g1)
		return ccu_fail(err, -EBUSY, "TSM_CONCURRENT",
				"configfs-tsm generation went %llu -> %llu -> %llu, expected +2 "
				"then unchanged: another writer used the entry",
				(unsigned long long)gen0, (unsigned long long)g1,
				(unsigned long long)g2);
	if (out->certtable_len == 0) {
		free(out->certtable);
		out->certtable = NULL;
	}
	memcpy(out->report, rep, SNP_REPORT_SIZE);
	return 0;
}

static int write_told(const struct guest_seams *s, const char *dir, const char *attr,
		      const void *data, size_t len)
{
	int r = write_attr(dir, attr, data, len);

	if (r == 0 && s && s->tsm_written)
		s->tsm_written(dir, attr, s->ud);
	return r;
}

static int tsm_request(const struct guest_seams *s, const char *dir, const uint8_t report_data[64],
		       struct guest_evidence *out, struct ccu_reason *err)
{
	uint64_t gen0;
	int r;

	r = check_provider(dir, err);
	if (r < 0)
		return r;
	r = check_floor(dir, err);
	if (r < 0)
		return r;
	r = read_attr_u64(dir, "generation", &gen0);
	if (r < 0)
		return tsm_fail(err, r, "TSM_IO", "cannot read generation", dir);
	r = write_told(s, dir, "privlevel", "0\n", 2);
	if (r < 0)
		return tsm_fail(err, r, "TSM_IO", "cannot write privlevel", dir);
	r = write_told(s, dir, "inblob", report_data, 64);
	if (r < 0)
		return tsm_fail(err, r, "TSM_IO", "cannot write inblob", dir);
	r = read_blobs(dir, gen0, out, err);
	if (r < 0)
		guest_evidence_done(out);
	return r;
}

static int tsm_get(const struct guest_provider_ctx *c, const uint8_t report_data[64],
		   struct guest_evidence *out, struct ccu_reason *err)
{
	const struct guest_seams *s = c->seams;
	int (*mk)(const char *, void *) = s && s->tsm_mkdir ? s->tsm_mkdir : real_mkdir;
	int (*rm)(const char *, void *) = s && s->tsm_rmdir ? s->tsm_rmdir : real_rmdir;
	void *ud = s ? s->ud : NULL;
	char name[64], dir[GUEST_PATH_MAX];
	int r, r2;

	if (c->tsm_entry)
		snprintf(name, sizeof(name), "tsm/report/%s", c->tsm_entry);
	else
		snprintf(name, sizeof(name), "tsm/report/ccunlock-%ld", (long)getpid());
	if (guest_path(dir, sizeof(dir), c->roots->configfs, name) < 0)
		return ccu_fail(err, -ENAMETOOLONG, "TSM_IO", "configfs path too long");
	r = mk(dir, ud);
	if (r < 0)
		return tsm_fail(err, r, "TSM_IO", "cannot create the report entry", dir);
	r = tsm_request(s, dir, report_data, out, err);
	r2 = rm(dir, ud);
	if (r == 0 && r2 < 0) {
		guest_evidence_done(out);
		return tsm_fail(err, r2, "TSM_IO", "cannot remove the report entry", dir);
	}
	return r;
}

const struct guest_provider guest_provider_tsm = {
	.name = "configfs-tsm",
	.simulated = false,
	.available = tsm_available,
	.get = tsm_get,
};
