#include "guest/luks.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libcryptsetup.h>

#include "common/macros.h"
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

int guest_luks_open(const char *device, const struct guest_token *tok, const char *name,
		    const uint8_t *key, size_t key_len, struct ccu_reason *err)
{
	_cleanup_(crypt_freep) struct crypt_device *cd = NULL;
	int r = load(device, &cd, err);

	if (r < 0)
		return r;
	r = crypt_activate_by_passphrase(cd, name, tok->keyslot, (const char *)key, key_len, 0);
	if (r == -EPERM)
		return ccu_fail(err, r, "LUKS_WRONG_KEY",
				"%s: the released key does not open keyslot %d", device, tok->keyslot);
	if (r < 0)
		return ccu_fail(err, r, "LUKS_ACTIVATE", "%s: %s keyslot %d as %s: %s", device,
				name ? "activating" : "checking", tok->keyslot, name ? name : "-",
				strerror(-r));
	return 0;
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
