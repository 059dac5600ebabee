#include "guest/luks.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libcryptsetup.h>
#include <openssl/crypto.h>

#include "common/macros.h"
#include "common/util.h"
#include "guest/provider.h"

DEFINE_FREEP(struct crypt_device, crypt_free)

/* libcryptsetup logs to stderr by default; our caller logs the one reason. */
static void quiet_log(int level, const char *msg, void *ud)
{
	(void)level;
	(void)msg;
	(void)ud;
}

static int load(const char *device, struct crypt_device **ret, struct ccu_reason *err)
{
	struct crypt_device *cd = NULL;
	int r;

	crypt_set_log_callback(NULL, quiet_log, NULL);
	r = crypt_init(&cd, device);
	if (r < 0)
		return ccu_fail(err, r, "LUKS_OPEN", "%s: cannot open (%s)", device, strerror(-r));
	crypt_set_log_callback(cd, quiet_log, NULL);
	r = crypt_load(cd, CRYPT_LUKS2, NULL);
	if (r < 0) {
		crypt_free(cd);
		return ccu_fail(err, r, "LUKS_OPEN",
				"%s: no valid LUKS2 header (%s)", device, strerror(-r));
	}
	*ret = cd;
	return 0;
}

static bool is_ours(struct crypt_device *cd, int id)
{
	const char *type = NULL;
	crypt_token_info st = crypt_token_status(cd, id, &type);

	return (st == CRYPT_TOKEN_EXTERNAL || st == CRYPT_TOKEN_EXTERNAL_UNKNOWN) && type &&
	       strcmp(type, GUEST_TOKEN_TYPE) == 0;
}

static int token_at(struct crypt_device *cd, const char *device, int id, struct guest_token *out,
		    struct ccu_reason *err)
{
	const char *json = NULL;
	struct ccu_reason why;
	int r;

	r = crypt_token_json_get(cd, id, &json);
	if (r < 0 || !json)
		return ccu_fail(err, r < 0 ? r : -EIO, "LUKS_OPEN", "%s: cannot read token %d",
				device, id);
	r = guest_token_parse(json, strlen(json), out, &why);
	if (r < 0)
		return ccu_fail(err, r, why.code, "%s token %d: %s", device, id, why.detail);
	crypt_keyslot_info ks = crypt_keyslot_status(cd, out->keyslot);
	if (ks != CRYPT_SLOT_ACTIVE && ks != CRYPT_SLOT_ACTIVE_LAST)
		return ccu_fail(err, -ENOENT, "LUKS_KEYSLOT",
				"%s token %d: keyslot %d is not an active keyslot", device, id,
				out->keyslot);
	return 0;
}

int guest_luks_read_token(const char *device, int token_id, struct guest_token *out,
			  int *ret_token_id, struct ccu_reason *err)
{
	_cleanup_(crypt_freep) struct crypt_device *cd = NULL;
	int r = load(device, &cd, err);

	if (r < 0)
		return r;
	for (int id = 0; id < GUEST_LUKS_MAX_TOKENS; id++) {
		if (token_id >= 0 && id != token_id)
			continue;
		if (!is_ours(cd, id))
			continue;
		r = token_at(cd, device, id, out, err);
		if (r == 0 && ret_token_id)
			*ret_token_id = id;
		return r;
	}
	if (token_id >= 0)
		return ccu_fail(err, -ENOENT, "LUKS_NO_TOKEN", "%s: token %d is not a %s token",
				device, token_id, GUEST_TOKEN_TYPE);
	return ccu_fail(err, -ENOENT, "LUKS_NO_TOKEN", "%s: no %s token", device,
			GUEST_TOKEN_TYPE);
}

/* ------------------------------------------------------------ the one copy */

static int pread_all(int fd, uint8_t *buf, size_t len, size_t off)
{
	while (len > 0) {
		ssize_t n = pread(fd, buf, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENODATA;
		buf += n;
		off += (size_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int seal_copy(struct guest_luks_copy *c, const uint8_t *buf, size_t len,
		     struct ccu_reason *err)
{
	int mfd = memfd_create("ccunlock-luks2-header", MFD_CLOEXEC | MFD_ALLOW_SEALING), r;
	void *map;

	if (mfd < 0)
		return ccu_fail(err, -errno, "INTERNAL", "memfd_create: %s", strerror(errno));
	r = ccu_write_all(mfd, buf, len);
	if (r < 0) {
		ccu_reason_set(err, "INTERNAL", "writing the header copy: %s", strerror(-r));
		goto fail;
	}
	if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
		r = -errno;
		ccu_reason_set(err, "INTERNAL", "sealing the header copy: %s", strerror(errno));
		goto fail;
	}
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, mfd, 0);
	if (map == MAP_FAILED) {
		r = -errno;
		ccu_reason_set(err, "INTERNAL", "mapping the header copy: %s", strerror(errno));
		goto fail;
	}
	c->buf = map;
	c->len = len;
	c->memfd = mfd;
	return 0;
fail:
	close(mfd);
	return r;
}

int guest_luks_copy_read(const char *device, struct guest_luks_copy *c, struct ccu_reason *err)
{
	static const uint8_t magic[6] = { 'L', 'U', 'K', 'S', 0xba, 0xbe };
	_cleanup_close_ int fd = -1;
	_cleanup_free_ uint8_t *buf = NULL;
	size_t have = 0, need = GUEST_LUKS_HDR_BIN_SIZE;
	int r;

	memset(c, 0, sizeof(*c));
	c->memfd = -1;
	c->device = device;
	fd = open(device, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return ccu_fail(err, -errno, "LUKS_OPEN", "%s: cannot open (%s)", device,
				strerror(errno));
	/* 4096 bytes, then both headers, then the metadata area: each step bounded */
	for (int step = 0; step < 3 && have < need; step++) {
		if (need > GUEST_LUKS_COPY_MAX)
			return ccu_fail(err, -EFBIG, "LUKS_HEADER_REFUSED",
					"%s: metadata area of %zu bytes, at most %d", device, need,
					GUEST_LUKS_COPY_MAX);
		uint8_t *nb = realloc(buf, need);
		if (!nb)
			return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
		buf = nb;
		r = pread_all(fd, buf + have, need - have, have);
		if (r < 0)
			return ccu_fail(err, r, "LUKS_OPEN", "%s: cannot read %zu header bytes (%s)",
					device, need, strerror(-r));
		have = need;
		if (have == GUEST_LUKS_HDR_BIN_SIZE && memcmp(buf, magic, sizeof(magic)) != 0)
			return ccu_fail(err, -EINVAL, "LUKS_OPEN", "%s: not a LUKS device", device);
		struct ccu_reason why;
		r = guest_luks_hdr_need(buf, have, &need, &why);
		if (r < 0)
			return ccu_fail(err, r, why.code, "%s: %s", device, why.detail);
	}
	if (have < need)
		return ccu_fail(err, -EBADMSG, "LUKS_HEADER_REFUSED", "%s: header size unstable",
				device);
	/* The copy libcryptsetup will read: sealed, so nothing can change it. */
	return seal_copy(c, buf, have, err);
}

int guest_luks_copy_check(struct guest_luks_copy *c, int keyslot, unsigned flags,
			  struct ccu_reason *err)
{
	struct ccu_reason why;
	int r = guest_luks_hdr_check(c->buf, c->len, keyslot,
				     keyslot < 0 ? flags | GUEST_LUKS_HDR_NEED_TOKEN : flags,
				     &c->hdr, &why);

	if (r < 0)
		return ccu_fail(err, r, why.code, "%s: %s", c->device, why.detail);
	c->checked = true;
	return 0;
}

int guest_luks_copy_pin(const struct guest_luks_copy *c, const uint8_t *pin,
			struct ccu_reason *err)
{
	char want[GUEST_LUKS_PIN_HEX_LEN], got[GUEST_LUKS_PIN_HEX_LEN];

	if (!c->checked)
		return ccu_fail(err, -EINVAL, "INTERNAL", "header copy not checked");
	if (!pin || CRYPTO_memcmp(pin, c->hdr.pin, GUEST_LUKS_PIN_LEN) == 0)
		return 0;
	guest_luks_pin_hex(pin, want);
	guest_luks_pin_hex(c->hdr.pin, got);
	return ccu_fail(err, -EBADMSG, "LUKS_HEADER_REFUSED",
			"%s: header is not the one enrolled (pin %.16s..., header %.16s...)",
			c->device, want, got);
}

/* libcryptsetup's reading of the copy must be ours. */
static int cross_check(struct crypt_device *cd, const struct guest_luks_copy *c,
		       struct ccu_reason *err)
{
	const struct guest_luks_hdr *h = &c->hdr;
	const char *type = crypt_get_type(cd), *cipher = crypt_get_cipher(cd);
	const char *mode = crypt_get_cipher_mode(cd), *uuid = crypt_get_uuid(cd), *kse;
	struct crypt_pbkdf_type pbkdf;
	uint32_t req = 1;
	uint64_t md = 0, kss = 0;
	size_t ks_size = 0;
	const char *what = NULL;

	kse = crypt_keyslot_get_encryption(cd, h->keyslot, &ks_size);
	if (!type || strcmp(type, CRYPT_LUKS2) != 0)
		what = "type";
	else if (!cipher || !mode || strcmp(cipher, "aes") != 0 ||
		 strcmp(mode, "xts-plain64") != 0)
		what = "segment cipher";
	else if (crypt_get_volume_key_size(cd) != GUEST_LUKS_VOLUME_KEY_SIZE)
		what = "volume key size";
	else if (crypt_get_data_offset(cd) * 512 != h->seg_offset)
		what = "data offset";
	else if ((uint32_t)crypt_get_sector_size(cd) != h->sector_size)
		what = "sector size";
	else if (!uuid || strcmp(uuid, h->uuid) != 0)
		what = "UUID";
	else if (crypt_persistent_flags_get(cd, CRYPT_FLAGS_REQUIREMENTS, &req) < 0 || req)
		what = "requirements";
	else if (crypt_get_metadata_size(cd, &md, &kss) < 0 || md != h->hdr_size ||
		 kss != h->keyslots_size)
		what = "metadata size";
	else if (!kse || strcmp(kse, GUEST_LUKS_CIPHER) != 0 ||
		 ks_size != GUEST_LUKS_VOLUME_KEY_SIZE)
		what = "keyslot cipher";
	else if (crypt_keyslot_get_pbkdf(cd, h->keyslot, &pbkdf) < 0 || !pbkdf.type ||
		 strcmp(pbkdf.type, CRYPT_KDF_PBKDF2) != 0)
		what = "keyslot kdf";
	if (what)
		return ccu_fail(err, -EBADMSG, "LUKS_HEADER_REFUSED",
				"%s: libcryptsetup reads the header copy differently (%s)",
				c->device, what);
	return 0;
}

int guest_luks_copy_open(const struct guest_luks_copy *c, const char *name, const uint8_t *key,
			 size_t key_len, struct ccu_reason *err)
{
	_cleanup_(crypt_freep) struct crypt_device *cd = NULL;
	char path[64];
	int r;

	if (!c->checked || c->memfd < 0)
		return ccu_fail(err, -EINVAL, "INTERNAL", "header copy not checked");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", c->memfd);
	crypt_set_log_callback(NULL, quiet_log, NULL);
	r = crypt_init_data_device(&cd, path, c->device);
	if (r < 0)
		return ccu_fail(err, r, "LUKS_OPEN", "%s: cannot open with the header copy (%s)",
				c->device, strerror(-r));
	crypt_set_log_callback(cd, quiet_log, NULL);
	r = crypt_load(cd, CRYPT_LUKS2, NULL);
	if (r < 0)
		return ccu_fail(err, r, "LUKS_HEADER_REFUSED",
				"%s: libcryptsetup refuses the header copy (%s)", c->device,
				strerror(-r));
	r = cross_check(cd, c, err);
	if (r < 0)
		return r;
	r = crypt_activate_by_passphrase(cd, name, c->hdr.keyslot, (const char *)key, key_len, 0);
	if (r == -EPERM)
		return ccu_fail(err, r, "LUKS_WRONG_KEY",
				"%s: the released key does not open keyslot %d", c->device,
				c->hdr.keyslot);
	if (r < 0)
		return ccu_fail(err, r, "LUKS_ACTIVATE", "%s: %s keyslot %d as %s: %s", c->device,
				name ? "activating" : "checking", c->hdr.keyslot, name ? name : "-",
				strerror(-r));
	return 0;
}

void guest_luks_copy_done(struct guest_luks_copy *c)
{
	if (c->buf)
		munmap(c->buf, c->len);
	if (c->memfd >= 0)
		close(c->memfd);
	c->buf = NULL;
	c->memfd = -1;
	c->checked = false;
}

int guest_luks_open(const char *device, const struct guest_token *tok, const char *name,
		    const uint8_t *key, size_t key_len, struct ccu_reason *err)
{
	struct guest_luks_copy c;
	int r = guest_luks_copy_read(device, &c, err);

	if (r == 0)
		r = guest_luks_copy_check(&c, tok->keyslot, GUEST_LUKS_HDR_NEED_TOKEN, err);
	if (r == 0)
		r = guest_luks_copy_open(&c, name, key, key_len, err);
	guest_luks_copy_done(&c);
	return r;
}

int guest_luks_resolve(const char *spec, const char *dev, char *buf, size_t len,
		       struct ccu_reason *err)
{
	char rel[64];

	if (strncmp(spec, "UUID=", 5) == 0) {
		snprintf(rel, sizeof(rel), "disk/by-uuid/%.40s", spec + 5);
		/* by-uuid links are lower case */
		for (char *p = rel; *p; p++)
			if (*p >= 'A' && *p <= 'F')
				*p = (char)(*p - 'A' + 'a');
		if (guest_path(buf, len, dev, rel) < 0)
			return ccu_fail(err, -ENAMETOOLONG, "LUKS_OPEN", "device path too long");
		return 0;
	}
	if (strlen(spec) >= len)
		return ccu_fail(err, -ENAMETOOLONG, "LUKS_OPEN", "device path too long");
	snprintf(buf, len, "%s", spec);
	return 0;
}

static bool has_our_token(const char *path)
{
	_cleanup_(crypt_freep) struct crypt_device *cd = NULL;

	if (load(path, &cd, NULL) < 0)
		return false;
	for (int id = 0; id < GUEST_LUKS_MAX_TOKENS; id++)
		if (is_ours(cd, id))
			return true;
	return false;
}

int guest_luks_scan(const char *sysfs, const char *dev, char *buf, size_t len,
		    struct ccu_reason *err)
{
	char dir[GUEST_PATH_MAX];
	struct dirent **names = NULL;
	int n, found = -1;

	if (guest_path(dir, sizeof(dir), sysfs, "class/block") < 0)
		return ccu_fail(err, -ENAMETOOLONG, "LUKS_SCAN", "path too long");
	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0)
		return ccu_fail(err, -errno, "LUKS_SCAN", "cannot list %s: %s", dir, strerror(errno));
	for (int i = 0; i < n && i < GUEST_LUKS_SCAN_MAX && found < 0; i++) {
		if (names[i]->d_name[0] == '.')
			continue;
		if (guest_path(buf, len, dev, names[i]->d_name) == 0 && has_our_token(buf))
			found = i;
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (found < 0)
		return ccu_fail(err, -ENOENT, "LUKS_SCAN", "no block device with a %s token",
				GUEST_TOKEN_TYPE);
	return 0;
}

int guest_luks_add_keyslot(const char *device, int keyslot, const uint8_t *existing,
			   size_t existing_len, const uint8_t *key, size_t key_len,
			   struct ccu_reason *err)
{
	_cleanup_(crypt_freep) struct crypt_device *cd = NULL;
	/* A 256-bit random key needs no slow KDF; the minimum costs no boot time. */
	struct crypt_pbkdf_type pbkdf = {
		.type = CRYPT_KDF_PBKDF2,
		.hash = "sha256",
		.iterations = GUEST_LUKS_PBKDF2_ITERATIONS,
		.flags = CRYPT_PBKDF_NO_BENCHMARK,
	};
	int r = load(device, &cd, err);

	if (r < 0)
		return r;
	r = crypt_set_pbkdf_type(cd, &pbkdf);
	if (r < 0)
		return ccu_fail(err, r, "LUKS_ENROLL", "%s: PBKDF2 settings refused: %s", device,
				strerror(-r));
	r = crypt_keyslot_add_by_passphrase(cd, keyslot < 0 ? CRYPT_ANY_SLOT : keyslot,
					    (const char *)existing, existing_len,
					    (const char *)key, key_len);
	if (r == -EPERM)
		return ccu_fail(err, r, "LUKS_WRONG_KEY",
				"%s: the existing key opens no keyslot", device);
	if (r < 0)
		return ccu_fail(err, r, "LUKS_ENROLL", "%s: cannot add a keyslot: %s", device,
				strerror(-r));
	return r;
}

int guest_luks_destroy_keyslot(const char *device, int keyslot, struct ccu_reason *err)
{
	_cleanup_(crypt_freep) struct crypt_device *cd = NULL;
	int r = load(device, &cd, err);

	if (r < 0)
		return r;
	r = crypt_keyslot_destroy(cd, keyslot);
	if (r < 0)
		return ccu_fail(err, r, "LUKS_ENROLL", "%s: cannot remove keyslot %d: %s", device,
				keyslot, strerror(-r));
	return 0;
}

int guest_luks_add_token(const char *device, int keyslot, const char *resource,
			 struct ccu_reason *err)
{
	_cleanup_(crypt_freep) struct crypt_device *cd = NULL;
	_cleanup_free_ char *json = NULL;
	int r = guest_token_build(keyslot, resource, &json, err);

	if (r < 0)
		return r;
	r = load(device, &cd, err);
	if (r < 0)
		return r;
	r = crypt_token_json_set(cd, CRYPT_ANY_TOKEN, json);
	if (r < 0)
		return ccu_fail(err, r, "LUKS_ENROLL", "%s: cannot add the token: %s", device,
				strerror(-r));
	return r;
}

int guest_luks_remove_token(const char *device, int token_id, struct ccu_reason *err)
{
	_cleanup_(crypt_freep) struct crypt_device *cd = NULL;
	int r = load(device, &cd, err);

	if (r < 0)
		return r;
	if (!is_ours(cd, token_id))
		return ccu_fail(err, -ENOENT, "LUKS_NO_TOKEN", "%s: token %d is not a %s token",
				device, token_id, GUEST_TOKEN_TYPE);
	r = crypt_token_json_set(cd, token_id, NULL);
	if (r < 0)
		return ccu_fail(err, r, "LUKS_ENROLL", "%s: cannot remove token %d: %s", device,
				token_id, strerror(-r));
	return 0;
}

int guest_luks_list(const char *device, FILE *out, struct ccu_reason *err)
{
	_cleanup_(crypt_freep) struct crypt_device *cd = NULL;
	int r = load(device, &cd, err), n = 0;

	if (r < 0)
		return r;
	for (int id = 0; id < GUEST_LUKS_MAX_TOKENS; id++) {
		struct guest_token t;
		struct ccu_reason why;
		if (!is_ours(cd, id))
			continue;
		n++;
		if (token_at(cd, device, id, &t, &why) < 0)
			fprintf(out, "token %d: invalid: %s: %s\n", id, why.code, why.detail);
		else
			fprintf(out, "token %d: keyslot %d resource %s\n", id, t.keyslot,
				t.resource_str);
	}
	return n;
}
