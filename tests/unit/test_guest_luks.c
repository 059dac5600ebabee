/*
 * LUKS2 through libcryptsetup on image files (no device-mapper needed):
 * keyslot enrolment with PBKDF2, the ccunlock token, verification of the
 * token's keyslot, tampering.
 *
 * Also the integration tests' image maker (formatting with libcryptsetup,
 * not the cryptsetup binary):
 *   test_guest_luks mkimage IMAGE KEYFILE     (32 MiB sparse LUKS2, keyslot 0 = KEYFILE)
 */
#include "helpers/testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include <libcryptsetup.h>

#include "common/util.h"
#include "guest/luks.h"

#define IMAGE_SIZE (32 * 1024 * 1024)
static const char pass[] = "correct horse battery staple";
static const uint8_t key32[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
				   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };
static struct ccu_reason rsn;

static void quiet(int level, const char *msg, void *ud)
{
	(void)level;
	(void)msg;
	(void)ud;
}

/* A LUKS2 image whose keyslot 0 opens with @p (PBKDF2, minimum iterations). */
static int make_image(const char *path, const void *p, size_t plen)
{
	struct crypt_device *cd = NULL;
	struct crypt_pbkdf_type pbkdf = { .type = CRYPT_KDF_PBKDF2, .hash = "sha256",
					  .iterations = 1000, .flags = CRYPT_PBKDF_NO_BENCHMARK };
	struct crypt_params_luks2 params = { .sector_size = 512 };
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600), r;

	if (fd < 0 || ftruncate(fd, IMAGE_SIZE) < 0)
		return -errno;
	close(fd);
	crypt_set_log_callback(NULL, quiet, NULL);
	r = crypt_init(&cd, path);
	if (r < 0)
		return r;
	r = crypt_set_pbkdf_type(cd, &pbkdf);
	if (r == 0)
		r = crypt_format(cd, CRYPT_LUKS2, "aes", "xts-plain64", NULL, NULL, 64, &params);
	if (r == 0)
		r = crypt_keyslot_add_by_volume_key(cd, 0, NULL, 64, p, plen);
	crypt_free(cd);
	return r < 0 ? r : 0;
}

struct fx {
	char *dir;
	char img[512];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->dir = tu_mkdtemp();
	snprintf(f->img, sizeof(f->img), "%s/disk.img", f->dir);
	if (make_image(f->img, pass, strlen(pass)) < 0) {
		tu_rmrf(f->dir);
		free(f->dir);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	tu_rmrf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static int set_token_json(const char *img, int id, const char *json)
{
	struct crypt_device *cd = NULL;
	int r = crypt_init(&cd, img);

	if (r == 0)
		r = crypt_load(cd, CRYPT_LUKS2, NULL);
	if (r == 0)
		r = crypt_token_json_set(cd, id, json);
	crypt_free(cd);
	return r;
}

static void test_enroll_and_open(void **state)
{
	struct fx *f = *state;
	struct guest_token t;
	int slot, tok, id = -1;

	assert_int_equal(guest_luks_read_token(f->img, -1, &t, NULL, TU_FRESH(&rsn)), -ENOENT);
	assert_string_equal(rsn.code, "LUKS_NO_TOKEN");
	/* The existing key must be right. */
	assert_int_equal(guest_luks_add_keyslot(f->img, -1, (const uint8_t *)"wrong", 5, key32, 32,
						TU_FRESH(&rsn)),
			 -EPERM);
	assert_string_equal(rsn.code, "LUKS_WRONG_KEY");
	slot = guest_luks_add_keyslot(f->img, -1, (const uint8_t *)pass, strlen(pass), key32, 32,
				      TU_FRESH(&rsn));
	assert_int_equal(slot, 1);
	tok = guest_luks_add_token(f->img, slot, "disks/luks/root", TU_FRESH(&rsn));
	assert_true(tok >= 0);
	assert_int_equal(guest_luks_read_token(f->img, -1, &t, &id, TU_FRESH(&rsn)), 0);
	assert_int_equal(id, tok);
	assert_int_equal(t.keyslot, 1);
	assert_string_equal(t.resource_str, "disks/luks/root");

	/* --test: the key opens exactly the token's keyslot. */
	assert_int_equal(guest_luks_open(f->img, &t, NULL, key32, 32, TU_FRESH(&rsn)), 0);
	uint8_t bad[32];
	memcpy(bad, key32, 32);
	bad[31] ^= 1;
	assert_int_equal(guest_luks_open(f->img, &t, NULL, bad, 32, TU_FRESH(&rsn)), -EPERM);
	assert_string_equal(rsn.code, "LUKS_WRONG_KEY");
	/* The human passphrase opens keyslot 0, not the token's keyslot 1. */
	assert_int_equal(guest_luks_open(f->img, &t, NULL, (const uint8_t *)pass, strlen(pass),
					 TU_FRESH(&rsn)),
			 -EPERM);

	/* The keyslot uses PBKDF2 at the minimum iteration count. */
	struct crypt_device *cd = NULL;
	assert_int_equal(crypt_init(&cd, f->img), 0);
	assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
	struct crypt_pbkdf_type pb;
	assert_int_equal(crypt_keyslot_get_pbkdf(cd, slot, &pb), 0);
	assert_string_equal(pb.type, CRYPT_KDF_PBKDF2);
	assert_int_equal(pb.iterations, GUEST_LUKS_PBKDF2_ITERATIONS);
	crypt_free(cd);

	/* list names it. */
	char *buf = NULL;
	size_t blen = 0;
	FILE *m = open_memstream(&buf, &blen);
	assert_int_equal(guest_luks_list(f->img, m, TU_FRESH(&rsn)), 1);
	fclose(m);
	assert_non_null(strstr(buf, "keyslot 1 resource disks/luks/root"));
	free(buf);

	/* Unenrol: token, then keyslot. */
	assert_int_equal(guest_luks_remove_token(f->img, tok, TU_FRESH(&rsn)), 0);
	assert_int_equal(guest_luks_read_token(f->img, -1, &t, NULL, TU_FRESH(&rsn)), -ENOENT);
	assert_int_equal(guest_luks_destroy_keyslot(f->img, slot, TU_FRESH(&rsn)), 0);
}

static void test_tokens_of_other_types_ignored(void **state)
{
	struct fx *f = *state;
	struct guest_token t;
	int slot, id = -1;

	assert_int_equal(set_token_json(f->img, 0,
					"{\"type\":\"clevis\",\"keyslots\":[\"0\"],\"jwe\":{}}"),
			 0);
	assert_int_equal(guest_luks_read_token(f->img, -1, &t, NULL, TU_FRESH(&rsn)), -ENOENT);
	assert_int_equal(guest_luks_remove_token(f->img, 0, TU_FRESH(&rsn)), -ENOENT);
	assert_string_equal(rsn.code, "LUKS_NO_TOKEN");
	slot = guest_luks_add_keyslot(f->img, 5, (const uint8_t *)pass, strlen(pass), key32, 32,
				      TU_FRESH(&rsn));
	assert_int_equal(slot, 5);
	assert_int_equal(guest_luks_add_token(f->img, slot, "a/b/c", TU_FRESH(&rsn)), 1);
	assert_int_equal(guest_luks_read_token(f->img, -1, &t, &id, TU_FRESH(&rsn)), 0);
	assert_int_equal(id, 1);
	assert_int_equal(t.keyslot, 5);
	assert_int_equal(guest_luks_read_token(f->img, 0, &t, &id, TU_FRESH(&rsn)), -ENOENT);
}

static void test_tampered_token(void **state)
{
	struct fx *f = *state;
	struct guest_token t;
	int slot;

	slot = guest_luks_add_keyslot(f->img, -1, (const uint8_t *)pass, strlen(pass), key32, 32,
				      TU_FRESH(&rsn));
	assert_int_equal(slot, 1);
	/* A member the format does not have (e.g. a broker URL). */
	assert_int_equal(set_token_json(f->img, 3,
					"{\"type\":\"ccunlock\",\"keyslots\":[\"1\"],\"resource\":"
					"\"a/b/c\",\"version\":1,\"url\":\"https://evil\"}"),
			 3);
	assert_int_equal(guest_luks_read_token(f->img, -1, &t, NULL, TU_FRESH(&rsn)), -EBADMSG);
	assert_string_equal(rsn.code, "TOKEN_JSON");
	assert_int_equal(set_token_json(f->img, 3, NULL), 3);
	assert_int_equal(set_token_json(f->img, 3,
					"{\"type\":\"ccunlock\",\"keyslots\":[\"1\"],\"resource\":"
					"\"a/../c\",\"version\":1}"),
			 3);
	assert_int_equal(guest_luks_read_token(f->img, -1, &t, NULL, TU_FRESH(&rsn)), -EBADMSG);
	assert_string_equal(rsn.code, "TOKEN_RESOURCE");
	assert_int_equal(set_token_json(f->img, 3, NULL), 3);
	/* A token naming the human keyslot 0 is well-formed: the released key just fails there. */
	assert_int_equal(set_token_json(f->img, 3,
					"{\"type\":\"ccunlock\",\"keyslots\":[\"0\"],\"resource\":"
					"\"a/b/c\",\"version\":1}"),
			 3);
	assert_int_equal(guest_luks_read_token(f->img, -1, &t, NULL, TU_FRESH(&rsn)), 0);
	assert_int_equal(guest_luks_open(f->img, &t, NULL, key32, 32, TU_FRESH(&rsn)), -EPERM);
	assert_string_equal(rsn.code, "LUKS_WRONG_KEY");
}

static void corrupt(const char *img, off_t off)
{
	int fd = open(img, O_RDWR | O_CLOEXEC);
	uint8_t b;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, off), 1);
	b ^= 0xff;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
	close(fd);
}

static void test_tampered_header(void **state)
{
	struct fx *f = *state;
	struct guest_token t;

	assert_int_equal(guest_luks_add_keyslot(f->img, -1, (const uint8_t *)pass, strlen(pass),
						key32, 32, TU_FRESH(&rsn)),
			 1);
	assert_int_equal(guest_luks_add_token(f->img, 1, "a/b/c", TU_FRESH(&rsn)), 0);
	/* Both binary header copies (at 0 and at the 16 KiB metadata size). */
	corrupt(f->img, 0x1000 + 10);
	corrupt(f->img, 0x4000 + 0x1000 + 10);
	assert_true(guest_luks_read_token(f->img, -1, &t, NULL, TU_FRESH(&rsn)) < 0);
	assert_string_equal(rsn.code, "LUKS_OPEN");
	/* The unlock path reads the copy itself: a bad checksum is outside the template. */
	t.keyslot = 1;
	assert_true(guest_luks_open(f->img, &t, NULL, key32, 32, TU_FRESH(&rsn)) < 0);
	assert_string_equal(rsn.code, "LUKS_HEADER_REFUSED");
	print_message("%s\n", rsn.detail);
	assert_non_null(strstr(rsn.detail, "checksum"));
}

static void test_not_luks(void **state)
{
	struct fx *f = *state;
	struct guest_token t;
	char p[600], buf[600];

	snprintf(p, sizeof(p), "%s/plain", f->dir);
	assert_int_equal(ccu_write_file_atomic(p, "hello", 5, 0600), 0);
	assert_true(guest_luks_read_token(p, -1, &t, NULL, TU_FRESH(&rsn)) < 0);
	assert_string_equal(rsn.code, "LUKS_OPEN");
	assert_true(guest_luks_read_token("/nonexistent/disk", -1, &t, NULL, TU_FRESH(&rsn)) < 0);
	assert_string_equal(rsn.code, "LUKS_OPEN");

	assert_int_equal(guest_luks_resolve("UUID=0F0E0D0C-0B0A-0908-0706-050403020100", "/dev",
					    buf, sizeof(buf), TU_FRESH(&rsn)),
			 0);
	assert_string_equal(buf, "/dev/disk/by-uuid/0f0e0d0c-0b0a-0908-0706-050403020100");
	assert_int_equal(guest_luks_resolve("/dev/vda2", "/dev", buf, sizeof(buf), TU_FRESH(&rsn)), 0);
	assert_string_equal(buf, "/dev/vda2");
}

static void test_scan(void **state)
{
	struct fx *f = *state;
	char sys[600], dev[600], p[700], found[700];

	/* A fake /sys/class/block naming "vdb" and a /dev with vda (plain) and vdb (ours). */
	snprintf(sys, sizeof(sys), "%s/sys", f->dir);
	snprintf(dev, sizeof(dev), "%s/dev", f->dir);
	snprintf(p, sizeof(p), "%s/class/block/vda", sys);
	assert_int_equal(system(strcat(strcpy((char[800]){ 0 }, "mkdir -p "), p)), 0);
	snprintf(p, sizeof(p), "%s/class/block/vdb", sys);
	assert_int_equal(system(strcat(strcpy((char[800]){ 0 }, "mkdir -p "), p)), 0);
	assert_int_equal(mkdir(dev, 0755), 0);
	assert_int_equal(guest_luks_scan(sys, dev, found, sizeof(found), TU_FRESH(&rsn)), -ENOENT);
	assert_string_equal(rsn.code, "LUKS_SCAN");
	assert_int_equal(guest_luks_add_keyslot(f->img, -1, (const uint8_t *)pass, strlen(pass),
						key32, 32, TU_FRESH(&rsn)),
			 1);
	assert_int_equal(guest_luks_add_token(f->img, 1, "a/b/c", TU_FRESH(&rsn)), 0);
	snprintf(p, sizeof(p), "%s/vdb", dev);
	assert_int_equal(symlink(f->img, p), 0);
	assert_int_equal(guest_luks_scan(sys, dev, found, sizeof(found), TU_FRESH(&rsn)), 0);
	assert_string_equal(found, p);
}

static int mkimage(const char *img, const char *keyfile)
{
	uint8_t *k;
	size_t len;
	int r = ccu_read_file(keyfile, GUEST_LUKS_KEYFILE_MAX, &k, &len);

	if (r == 0)
		r = make_image(img, k, len);
	free(k);
	if (r < 0)
		fprintf(stderr, "mkimage %s: %s\n", img, strerror(-r));
	return r < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_enroll_and_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tokens_of_other_types_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tampered_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tampered_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_luks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan, setup, teardown),
	};

	if (argc == 4 && strcmp(argv[1], "mkimage") == 0)
		return mkimage(argv[2], argv[3]);
	crypt_set_log_callback(NULL, quiet, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
