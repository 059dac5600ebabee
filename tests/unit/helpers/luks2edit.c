#include "helpers/luks2edit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#define BIN 4096
#define OFF_HDR_SIZE 8
#define OFF_CSUM 448

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

void tu_luks2_rechecksum(uint8_t *h, uint64_t hs)
{
	unsigned int n = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	memset(h + OFF_CSUM, 0, 64);
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	EVP_DigestUpdate(md, h, hs);
	EVP_DigestFinal_ex(md, h + OFF_CSUM, &n);
	EVP_MD_CTX_free(md);
}

int tu_luks2_edit(const char *img, int (*fn)(json_t *root, void *ud), void *ud)
{
	int fd = open(img, O_RDWR | O_CLOEXEC), r = -EIO;
	uint8_t bin[BIN], *buf = NULL;
	uint64_t hs;
	json_t *root = NULL;
	char *text = NULL;

	if (fd < 0)
		return -errno;
	if (pread(fd, bin, BIN, 0) != BIN)
		goto out;
	hs = be64(bin + OFF_HDR_SIZE);
	if (hs < 16384 || hs > 4u << 20)
		goto out;
	buf = calloc(1, 2 * hs);
	if (!buf || pread(fd, buf, 2 * hs, 0) != (ssize_t)(2 * hs))
		goto out;
	root = json_loads((const char *)buf + BIN, 0, NULL);
	if (!root)
		goto out;
	r = fn(root, ud);
	if (r < 0)
		goto out;
	text = json_dumps(root, JSON_COMPACT);
	r = -EMSGSIZE;
	if (!text || strlen(text) >= hs - BIN)
		goto out;
	for (int i = 0; i < 2; i++) {
		uint8_t *h = buf + i * hs;
		memset(h + BIN, 0, hs - BIN);
		memcpy(h + BIN, text, strlen(text));
		tu_luks2_rechecksum(h, hs);
	}
	r = pwrite(fd, buf, 2 * hs, 0) == (ssize_t)(2 * hs) ? 0 : -EIO;
out:
	free(text);
	json_decref(root);
	free(buf);
	close(fd);
	return r;
}

/* ---------------------------------------------------------------- attacks */

struct atk {
	const char *kind;
	const char *img;
};

static const char *our_slot(json_t *root)
{
	const char *k;
	json_t *t;

	json_object_foreach(json_object_get(root, "tokens"), k, t) {
		json_t *ty = json_object_get(t, "type");
		if (json_is_string(ty) && strcmp(json_string_value(ty), "ccunlock") == 0)
			return json_string_value(json_array_get(json_object_get(t, "keyslots"), 0));
	}
	return "0";
}

static uint64_t u64(json_t *o, const char *k)
{
	return strtoull(json_string_value(json_object_get(o, k)), NULL, 10);
}

static int set_u64(json_t *o, const char *k, uint64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "%llu", (unsigned long long)v);
	return json_object_set_new(o, k, json_string(s));
}

/* Our area's bytes to @to (the JSON follows in move_area). */
static int copy_bytes(const char *img, uint64_t from, uint64_t to, uint64_t len)
{
	int fd = open(img, O_RDWR | O_CLOEXEC), r = -EIO;
	uint8_t *b = malloc(len);

	if (fd >= 0 && b && pread(fd, b, len, (off_t)from) == (ssize_t)len &&
	    pwrite(fd, b, len, (off_t)to) == (ssize_t)len)
		r = 0;
	free(b);
	if (fd >= 0)
		close(fd);
	return r;
}

static int move_area(json_t *root, const char *img)
{
	json_t *area = json_object_get(json_object_get(json_object_get(root, "keyslots"),
						       our_slot(root)),
				       "area");
	uint64_t end = 0, off = u64(area, "offset"), size = u64(area, "size");
	const char *k;
	json_t *ks;

	json_object_foreach(json_object_get(root, "keyslots"), k, ks) {
		json_t *a = json_object_get(ks, "area");
		if (u64(a, "offset") + u64(a, "size") > end)
			end = u64(a, "offset") + u64(a, "size");
	}
	end = (end + 4095) / 4096 * 4096;
	if (copy_bytes(img, off, end, size) < 0)
		return -EIO;
	return set_u64(area, "offset", end);
}

static int attack(json_t *root, void *ud)
{
	const struct atk *a = ud;
	json_t *segs = json_object_get(root, "segments");
	json_t *seg0 = json_object_get(segs, "0");
	json_t *ours = json_object_get(json_object_get(root, "keyslots"), our_slot(root));

	if (!seg0 || !ours)
		return -ENOENT;
	if (strcmp(a->kind, "null-segment") == 0)
		return json_object_set_new(seg0, "encryption", json_string("cipher_null-ecb"));
	if (strcmp(a->kind, "ecb-segment") == 0)
		return json_object_set_new(seg0, "encryption", json_string("aes-ecb"));
	if (strcmp(a->kind, "null-keyslot") == 0)
		return json_object_set_new(json_object_get(ours, "area"), "encryption",
					   json_string("cipher_null-ecb"));
	if (strcmp(a->kind, "second-segment") == 0) {
		json_t *s1 = json_deep_copy(seg0);
		json_object_set_new(seg0, "size", json_string("4194304"));
		set_u64(s1, "offset", u64(seg0, "offset") + 4194304);
		json_object_set_new(s1, "encryption", json_string("cipher_null-ecb"));
		json_array_append_new(json_object_get(json_object_get(json_object_get(root, "digests"),
								       "0"),
						      "segments"),
				      json_string("1"));
		return json_object_set_new(segs, "1", s1);
	}
	if (strcmp(a->kind, "reencrypt") == 0) {
		json_t *req = json_pack("{s:[s]}", "mandatory", "online-reencrypt-v2");
		return json_object_set_new(json_object_get(root, "config"), "requirements", req);
	}
	if (strcmp(a->kind, "unknown-flag") == 0)
		return json_object_set_new(json_object_get(root, "config"), "flags",
					   json_pack("[s]", "no-checks-please"));
	if (strcmp(a->kind, "move-area") == 0)
		return move_area(root, a->img);
	if (strcmp(a->kind, "area-outside") == 0)
		return json_object_set_new(json_object_get(ours, "area"), "offset",
					   json_string("0"));
	if (strcmp(a->kind, "second-token") == 0) {
		const char *k;
		json_t *t, *copy = NULL;
		json_object_foreach(json_object_get(root, "tokens"), k, t) {
			json_t *ty = json_object_get(t, "type");
			if (json_is_string(ty) && strcmp(json_string_value(ty), "ccunlock") == 0)
				copy = json_deep_copy(t);
		}
		if (!copy)
			return -ENOENT;
		return json_object_set_new(json_object_get(root, "tokens"), "9", copy);
	}
	return -EINVAL;
}

int tu_luks2_attack(const char *img, const char *kind)
{
	struct atk a = { .kind = kind, .img = img };

	return tu_luks2_edit(img, attack, &a);
}
