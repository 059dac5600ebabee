/*
 * Sealing layer over a storage backend (see store.h for the why).
 *
 * Sealed blob: 0x01 || nonce[12] || AES-256-GCM ciphertext || tag[16],
 * associated data "ccunlock-store-v1\0<kind>\0<name>\0<policy or empty>".
 */
#include "broker/store.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "broker/store_backend.h"
#include "common/evp.h"
#include "common/secmem.h"
#include "common/util.h"
#include "kbs/msg.h"

#define SEAL_VERSION 1
#define SEAL_NONCE 12
#define SEAL_TAG 16
#define SEAL_OVERHEAD (1 + SEAL_NONCE + SEAL_TAG)

struct broker_store {
	struct store_backend *backend;
	uint8_t *key; /* secmem, BROKER_MASTER_KEY_LEN */
};

static const char path_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.";

bool broker_policy_name_valid(const char *name)
{
	size_t l = strlen(name);

	return l >= 1 && l <= 64 && name[0] != '.' && strspn(name, path_chars) == l;
}

/* repo/type/tag by the protocol's own rule (kbs_resource_path_parse), and
 * short enough for struct broker_resource_meta. */
static bool resource_path_valid(const char *p)
{
	struct kbs_resource_path rp;
	size_t l = strlen(p);

	return l <= BROKER_NAME_MAX && kbs_resource_path_parse(p, l, &rp, NULL) == 0;
}

static size_t build_aad(uint8_t *aad, size_t cap, const char *kind, const char *name,
			const char *ref)
{
	int n = snprintf((char *)aad, cap, "ccunlock-store-v1%c%s%c%s%c%s", 0, kind, 0, name, 0,
			 ref ? ref : "");

	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

static int seal(const struct broker_store *s, const char *kind, const char *name, const char *ref,
		const uint8_t *pt, size_t len, uint8_t **ret_blob, size_t *ret_len,
		struct ccu_reason *err)
{
	uint8_t aad[2 * BROKER_NAME_MAX + 64];
	size_t aad_len = build_aad(aad, sizeof(aad), kind, name, ref);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t *blob = malloc(len + SEAL_OVERHEAD);
	int outl, r = -EIO;

	if (!c || !blob || !aad_len)
		goto out;
	blob[0] = SEAL_VERSION;
	if (RAND_bytes(blob + 1, SEAL_NONCE) != 1 ||
	    EVP_EncryptInit_ex(c, ccu_cipher_aes256gcm(), NULL, s->key, blob + 1) != 1 ||
	    EVP_EncryptUpdate(c, NULL, &outl, aad, (int)aad_len) != 1 ||
	    EVP_EncryptUpdate(c, blob + 1 + SEAL_NONCE, &outl, pt, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(c, blob + 1 + SEAL_NONCE + len, &outl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, SEAL_TAG,
				blob + 1 + SEAL_NONCE + len) != 1)
		goto out;
	*ret_blob = blob;
	*ret_len = len + SEAL_OVERHEAD;
	blob = NULL;
	r = 0;
out:
	free(blob);
	EVP_CIPHER_CTX_free(c);
	return r < 0 ? ccu_fail(err, r, "STORE_CRYPTO", "sealing failed") : 0;
}

/* Plaintext goes to a secmem buffer with one extra NUL byte. */
static int unseal(const struct broker_store *s, const char *kind, const char *name,
		  const char *ref, const uint8_t *blob, size_t blen, uint8_t **ret_pt,
		  size_t *ret_len, struct ccu_reason *err)
{
	uint8_t aad[2 * BROKER_NAME_MAX + 64];
	size_t aad_len = build_aad(aad, sizeof(aad), kind, name, ref), len;
	EVP_CIPHER_CTX *c;
	uint8_t *pt;
	int outl, ok;

	if (blen < SEAL_OVERHEAD || blob[0] != SEAL_VERSION || !aad_len)
		return ccu_fail(err, -EBADMSG, "STORE_INTEGRITY",
				"%s '%s': stored value is malformed", kind, name);
	len = blen - SEAL_OVERHEAD;
	pt = secmem_alloc(len + 1);
	c = EVP_CIPHER_CTX_new();
	if (!pt || !c) {
		secmem_free(pt);
		EVP_CIPHER_CTX_free(c);
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	}
	ok = EVP_DecryptInit_ex(c, ccu_cipher_aes256gcm(), NULL, s->key, blob + 1) == 1 &&
	     EVP_DecryptUpdate(c, NULL, &outl, aad, (int)aad_len) == 1 &&
	     EVP_DecryptUpdate(c, pt, &outl, blob + 1 + SEAL_NONCE, (int)len) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, SEAL_TAG,
				 (void *)(uintptr_t)(blob + 1 + SEAL_NONCE + len)) == 1 &&
	     EVP_DecryptFinal_ex(c, pt + len, &outl) == 1;
	EVP_CIPHER_CTX_free(c);
	if (!ok) {
		secmem_free(pt);
		return ccu_fail(err, -EBADMSG, "STORE_INTEGRITY",
				"%s '%s' does not authenticate under the master key (wrong key, "
				"or the database was edited)",
				kind, name);
	}
	pt[len] = 0;
	*ret_pt = pt;
	*ret_len = len;
	return 0;
}

static int store_open(const char *spec, bool pg, const uint8_t master_key[BROKER_MASTER_KEY_LEN],
		      struct broker_store **ret, struct ccu_reason *err)
{
	struct broker_store *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	s->key = secmem_alloc(BROKER_MASTER_KEY_LEN);
	if (!s->key) {
		free(s);
		return ccu_fail(err, -ENOMEM, "INTERNAL", "cannot lock memory for the master key");
	}
	memcpy(s->key, master_key, BROKER_MASTER_KEY_LEN);
	r = pg ? store_pg_open(spec, &s->backend, err) : store_sqlite_open(spec, &s->backend, err);
	if (r < 0) {
		broker_store_close(s);
		return r;
	}
	*ret = s;
	return 0;
}

int broker_store_open_sqlite(const char *path, const uint8_t master_key[BROKER_MASTER_KEY_LEN],
			     struct broker_store **ret, struct ccu_reason *err)
{
	return store_open(path, false, master_key, ret, err);
}

int broker_store_open(const char *spec, const uint8_t master_key[BROKER_MASTER_KEY_LEN],
		      struct broker_store **ret, struct ccu_reason *err)
{
	return store_open(spec, store_pg_is_conninfo(spec), master_key, ret, err);
}

bool broker_store_is_shared(const char *spec)
{
	return store_pg_is_conninfo(spec);
}

void broker_store_close(struct broker_store *s)
{
	if (!s)
		return;
	if (s->backend)
		s->backend->ops->close(s->backend);
	secmem_free(s->key);
	free(s);
}

static int meta_from_row(const struct store_row *row, struct broker_resource_meta *m)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->path, sizeof(m->path), "%s", row->name);
	snprintf(m->policy, sizeof(m->policy), "%s", row->ref ? row->ref : "");
	m->size = row->blob_len >= SEAL_OVERHEAD ? row->blob_len - SEAL_OVERHEAD : 0;
	m->created = row->created;
	m->updated = row->updated;
	return 0;
}

int broker_store_put_resource(struct broker_store *s, const char *path, const uint8_t *secret,
			      size_t len, const char *policy, struct ccu_reason *err)
{
	struct store_row row = { 0 }, pol = { 0 };
	int r;

	if (!resource_path_valid(path))
		return ccu_fail(err, -EINVAL, "STORE_NAME",
				"resource path '%.64s' is not repo/type/tag", path);
	if (!broker_policy_name_valid(policy))
		return ccu_fail(err, -EINVAL, "STORE_NAME", "policy name '%.64s' is invalid", policy);
	if (len == 0 || len > BROKER_RESOURCE_MAX)
		return ccu_fail(err, -EINVAL, "STORE_SIZE", "resource is %zu bytes (1..%d)", len,
				BROKER_RESOURCE_MAX);
	r = s->backend->ops->get(s->backend, STORE_NS_POLICY, policy, &pol, err);
	if (r == -ENOENT)
		return ccu_fail(err, -ENOENT, "STORE_NO_POLICY", "policy '%s' does not exist",
				policy);
	if (r < 0)
		return r;
	store_row_done(&pol);
	row.name = (char *)(uintptr_t)path;
	row.ref = (char *)(uintptr_t)policy;
	row.updated = time(NULL);
	r = seal(s, "resource", path, policy, secret, len, &row.blob, &row.blob_len, err);
	if (r < 0)
		return r;
	r = s->backend->ops->put(s->backend, STORE_NS_RESOURCE, &row, err);
	free(row.blob);
	return r;
}

int broker_store_get_resource(struct broker_store *s, const char *path, uint8_t **ret_secret,
			      size_t *ret_len, struct broker_resource_meta *meta,
			      struct ccu_reason *err)
{
	struct store_row row;
	int r;

	if (!resource_path_valid(path))
		return ccu_fail(err, -ENOENT, "STORE_NOT_FOUND", "no resource '%.64s'", path);
	r = s->backend->ops->get(s->backend, STORE_NS_RESOURCE, path, &row, err);
	if (r == -ENOENT)
		return ccu_fail(err, -ENOENT, "STORE_NOT_FOUND", "no resource '%s'", path);
	if (r < 0)
		return r;
	r = unseal(s, "resource", row.name, row.ref, row.blob, row.blob_len, ret_secret, ret_len,
		   err);
	if (r >= 0 && meta)
		meta_from_row(&row, meta);
	store_row_done(&row);
	return r;
}

int broker_store_get_meta(struct broker_store *s, const char *path,
			  struct broker_resource_meta *meta, struct ccu_reason *err)
{
	uint8_t *secret = NULL;
	size_t len;
	int r = broker_store_get_resource(s, path, &secret, &len, meta, err);

	/* Reading the metadata also proves the row authenticates. */
	secmem_free(secret);
	return r;
}

int broker_store_delete_resource(struct broker_store *s, const char *path, struct ccu_reason *err)
{
	int r = s->backend->ops->del(s->backend, STORE_NS_RESOURCE, path, err);

	if (r == -ENOENT)
		return ccu_fail(err, -ENOENT, "STORE_NOT_FOUND", "no resource '%.64s'", path);
	return r;
}

struct list_ctx {
	int (*fn)(const struct broker_resource_meta *m, void *ud);
	void *ud;
};

static int list_one(const struct store_row *row, void *ud)
{
	struct list_ctx *c = ud;
	struct broker_resource_meta m;

	meta_from_row(row, &m);
	return c->fn(&m, c->ud);
}

int broker_store_list_resources(struct broker_store *s,
				int (*fn)(const struct broker_resource_meta *m, void *ud), void *ud,
				struct ccu_reason *err)
{
	struct list_ctx c = { fn, ud };

	return s->backend->ops->list(s->backend, STORE_NS_RESOURCE, list_one, &c, err);
}

int broker_store_put_policy(struct broker_store *s, const char *name, const char *text,
			    struct ccu_reason *err)
{
	struct store_row row = { 0 };
	size_t len = strlen(text);
	int r;

	if (!broker_policy_name_valid(name))
		return ccu_fail(err, -EINVAL, "STORE_NAME", "policy name '%.64s' is invalid", name);
	if (len > BROKER_POLICY_MAX)
		return ccu_fail(err, -EINVAL, "STORE_SIZE", "policy is %zu bytes (max %d)", len,
				BROKER_POLICY_MAX);
	row.name = (char *)(uintptr_t)name;
	row.updated = time(NULL);
	r = seal(s, "policy", name, NULL, (const uint8_t *)text, len, &row.blob, &row.blob_len,
		 err);
	if (r < 0)
		return r;
	r = s->backend->ops->put(s->backend, STORE_NS_POLICY, &row, err);
	free(row.blob);
	return r;
}

int broker_store_get_policy(struct broker_store *s, const char *name, char **ret_text,
			    struct ccu_reason *err)
{
	struct store_row row;
	uint8_t *pt = NULL;
	size_t len;
	int r;

	if (!broker_policy_name_valid(name))
		return ccu_fail(err, -ENOENT, "STORE_NO_POLICY", "no policy '%.64s'", name);
	r = s->backend->ops->get(s->backend, STORE_NS_POLICY, name, &row, err);
	if (r == -ENOENT)
		return ccu_fail(err, -ENOENT, "STORE_NO_POLICY", "no policy '%s'", name);
	if (r < 0)
		return r;
	r = unseal(s, "policy", row.name, NULL, row.blob, row.blob_len, &pt, &len, err);
	store_row_done(&row);
	if (r < 0)
		return r;
	/* Policies are not secret: hand out an ordinary heap copy. */
	*ret_text = strndup((const char *)pt, len);
	secmem_free(pt);
	return *ret_text ? 0 : ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
}

int broker_store_delete_policy(struct broker_store *s, const char *name, struct ccu_reason *err)
{
	int r = s->backend->ops->count_refs(s->backend, name, err);

	if (r < 0)
		return r;
	if (r > 0)
		return ccu_fail(err, -EBUSY, "STORE_POLICY_IN_USE",
				"policy '%.64s' guards %d resource(s)", name, r);
	r = s->backend->ops->del(s->backend, STORE_NS_POLICY, name, err);
	if (r == -ENOENT)
		return ccu_fail(err, -ENOENT, "STORE_NO_POLICY", "no policy '%.64s'", name);
	return r;
}

struct plist_ctx {
	int (*fn)(const char *name, void *ud);
	void *ud;
};

static int plist_one(const struct store_row *row, void *ud)
{
	struct plist_ctx *c = ud;

	return c->fn(row->name, c->ud);
}

int broker_store_list_policies(struct broker_store *s, int (*fn)(const char *name, void *ud),
			       void *ud, struct ccu_reason *err)
{
	struct plist_ctx c = { fn, ud };

	return s->backend->ops->list(s->backend, STORE_NS_POLICY, plist_one, &c, err);
}

int broker_store_use_token_id(struct broker_store *s, const char *jti, time_t expires,
			      time_t now, struct ccu_reason *err)
{
	int r = s->backend->ops->use_once(s->backend, jti, expires, now, err);

	if (r == -EALREADY)
		return ccu_fail(err, r, "ADMIN_TOKEN_REPLAY",
				"this admin token (jti %.64s) was already used; mint one per request",
				jti);
	return r;
}

int broker_master_key_load(const char *path, uint8_t **ret_key, struct ccu_reason *err)
{
	struct stat st;
	uint8_t *key;
	int fd;
	long n;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return ccu_fail(err, -errno, "MASTER_KEY", "cannot open '%s': %s", path,
				strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return ccu_fail(err, -EINVAL, "MASTER_KEY", "'%s' is not a regular file", path);
	}
	if (st.st_mode & 077) {
		close(fd);
		return ccu_fail(err, -EPERM, "MASTER_KEY",
				"'%s' is accessible by group or others (mode %03o); chmod 0400 it",
				path, (unsigned)(st.st_mode & 0777));
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		close(fd);
		return ccu_fail(err, -EPERM, "MASTER_KEY", "'%s' is owned by uid %u", path,
				(unsigned)st.st_uid);
	}
	if (st.st_size != BROKER_MASTER_KEY_LEN) {
		close(fd);
		return ccu_fail(err, -EINVAL, "MASTER_KEY", "'%s' is %lld bytes, expected %d", path,
				(long long)st.st_size, BROKER_MASTER_KEY_LEN);
	}
	key = secmem_alloc(BROKER_MASTER_KEY_LEN);
	if (!key) {
		close(fd);
		return ccu_fail(err, -ENOMEM, "MASTER_KEY", "cannot lock memory for the master key");
	}
	n = ccu_read_all(fd, key, BROKER_MASTER_KEY_LEN);
	close(fd);
	if (n != BROKER_MASTER_KEY_LEN) {
		secmem_free(key);
		return ccu_fail(err, -EIO, "MASTER_KEY", "short read from '%s'", path);
	}
	*ret_key = key;
	return 0;
}

int broker_master_key_create(const char *path, struct ccu_reason *err)
{
	uint8_t key[BROKER_MASTER_KEY_LEN];
	char dir[PATH_MAX];
	int fd, r, dfd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0400);
	if (fd < 0)
		return ccu_fail(err, -errno, "MASTER_KEY", "cannot create '%s': %s", path,
				strerror(errno));
	if (RAND_priv_bytes(key, sizeof(key)) != 1) {
		r = ccu_fail(err, -EIO, "MASTER_KEY", "no randomness");
		goto fail;
	}
	r = ccu_write_all(fd, key, sizeof(key));
	secmem_wipe(key, sizeof(key));
	if (r < 0 || fsync(fd) < 0) {
		r = ccu_fail(err, r < 0 ? r : -errno, "MASTER_KEY", "cannot write '%s'", path);
		goto fail;
	}
	close(fd);
	/* Make the new directory entry durable too. */
	snprintf(dir, sizeof(dir), "%s", path);
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
fail:
	secmem_wipe(key, sizeof(key));
	close(fd);
	unlink(path);
	return r;
}
