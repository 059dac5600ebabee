/*
 * The LUKS2 header template, the pin and the one-copy unlock, against the
 * attacks of a host that rewrites the header (built for real on image files
 * with tests/unit/helpers/luks2edit.c; verified without activating).
 *
 * Also the tool the integration and VM tests use:
 *   test_guest_luks_header attack KIND IMAGE
 */
#include "helpers/testutil.h"
#include "helpers/luks2edit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libcryptsetup.h>

#include "guest/luks.h"
#include "guest/luks_header.h"
#include "guest/payload.h"

#define IMAGE_SIZE (32 * 1024 * 1024)
static const char pass[] = "recovery passphrase";
static const uint8_t key32[32] = { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6,
				   7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22 };
static struct ccu_reason rsn;

static void quiet(int level, const char *msg, void *ud)
{
	(void)level;
	(void)msg;
	(void)ud;
}

struct fx {
	char *dir;
	char img[512];
	uint8_t pin[GUEST_LUKS_PIN_LEN];
};

/* keyslot 0: a passphrase; keyslot 1 + token: ours, as enroll makes them. */
static int make_enrolled(const char *path)
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
		r = crypt_keyslot_add_by_volume_key(cd, 0, NULL, 64, pass, strlen(pass));
	crypt_free(cd);
	if (r < 0)
		return r;
	r = guest_luks_add_keyslot(path, -1, (const uint8_t *)pass, strlen(pass), key32, 32, &rsn);
	if (r != 1)
		return -EIO;
	return guest_luks_add_token(path, 1, "vm/luks/root", &rsn) < 0 ? -EIO : 0;
}

/* Read, check; the pin when @pin. Returns the check's result. */
static int read_check(const char *img, uint8_t *pin)
{
	struct guest_luks_copy c;
	int r = guest_luks_copy_read(img, &c, &rsn);

	if (r == 0)
		r = guest_luks_copy_check(&c, -1, 0, &rsn);
	if (r == 0 && pin)
		memcpy(pin, c.hdr.pin, GUEST_LUKS_PIN_LEN);
	guest_luks_copy_done(&c);
	return r;
}

/* The whole unlock path after the fetch: read, check, pin, open (verify only). */
static int unlock_path(const char *img, const uint8_t *pin, const uint8_t *key)
{
	struct guest_luks_copy c;
	int r = guest_luks_copy_read(img, &c, &rsn);

	if (r == 0)
		r = guest_luks_copy_check(&c, -1, 0, &rsn);
	if (r == 0)
		r = guest_luks_copy_pin(&c, pin, &rsn);
	if (r == 0)
		r = guest_luks_copy_open(&c, NULL, key, 32, &rsn);
	guest_luks_copy_done(&c);
	return r;
}

/* libcryptsetup alone (what ccunlock used to do) accepts the header and the key. */
static int libcryptsetup_opens(const char *img, const char **cipher)
{
	static char got[64];
	struct crypt_device *cd = NULL;
	int r = crypt_init(&cd, img);

	if (r == 0)
		r = crypt_load(cd, CRYPT_LUKS2, NULL);
	if (r == 0) {
		snprintf(got, sizeof(got), "%s-%s", crypt_get_cipher(cd), crypt_get_cipher_mode(cd));
		*cipher = got;
		r = crypt_activate_by_passphrase(cd, NULL, 1, (const char *)key32, 32, 0);
	}
	crypt_free(cd);
	return r < 0 ? r : 0;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->dir = tu_mkdtemp();
	snprintf(f->img, sizeof(f->img), "%s/disk.img", f->dir);
	if (make_enrolled(f->img) < 0 || read_check(f->img, f->pin) < 0) {
		fprintf(stderr, "setup: %s: %s\n", rsn.code, rsn.detail);
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

static void test_genuine(void **state)
{
	struct fx *f = *state;
	struct guest_luks_copy c;
	uint8_t bad[32];

	assert_int_equal(guest_luks_copy_read(f->img, &c, &rsn), 0);
	assert_int_equal(guest_luks_copy_check(&c, -1, 0, &rsn), 0);
	assert_int_equal(c.hdr.keyslot, 1);
	assert_int_equal(c.hdr.token.keyslot, 1);
	assert_string_equal(c.hdr.token.resource_str, "vm/luks/root");
	assert_int_equal(c.hdr.nkeyslots, 2);
	assert_int_equal(c.hdr.seg_offset, 16 * 1024 * 1024);
	assert_int_equal(c.hdr.sector_size, 512);
	assert_int_equal(c.len, 16 * 1024 * 1024);
	assert_int_equal(c.hdr.area_size, 258048);
	guest_luks_copy_done(&c);
	assert_int_equal(unlock_path(f->img, f->pin, key32), 0);
	assert_int_equal(unlock_path(f->img, NULL, key32), 0);
	memcpy(bad, key32, 32);
	bad[0] ^= 1;
	assert_int_equal(unlock_path(f->img, f->pin, bad), -EPERM);
	assert_string_equal(rsn.code, "LUKS_WRONG_KEY");
	uint8_t other[GUEST_LUKS_PIN_LEN] = { 1 };
	assert_int_equal(unlock_path(f->img, other, key32), -EBADMSG);
	assert_string_equal(rsn.code, "LUKS_HEADER_REFUSED");
	assert_non_null(strstr(rsn.detail, "not the one enrolled"));
}

/* What legitimately changes leaves the pin alone. */
static void test_pin_ignores_tokens_and_other_keyslots(void **state)
{
	struct fx *f = *state;
	struct crypt_device *cd = NULL;
	struct crypt_pbkdf_type pbkdf = { .type = CRYPT_KDF_PBKDF2, .hash = "sha256",
					  .iterations = 1000, .flags = CRYPT_PBKDF_NO_BENCHMARK };
	uint8_t pin[GUEST_LUKS_PIN_LEN];

	assert_int_equal(crypt_init(&cd, f->img), 0);
	assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
	assert_int_equal(crypt_set_pbkdf_type(cd, &pbkdf), 0);
	assert_int_equal(crypt_keyslot_add_by_passphrase(cd, 5, pass, strlen(pass), "second", 6),
			 5);
	assert_true(crypt_token_json_set(cd, CRYPT_ANY_TOKEN,
					 "{\"type\":\"other\",\"keyslots\":[],\"x\":1}") >= 0);
	crypt_free(cd);
	assert_int_equal(read_check(f->img, pin), 0);
	assert_memory_equal(pin, f->pin, sizeof(pin));
	/* a new keyslot of ours (what --rotate makes) is another pin */
	assert_int_equal(guest_luks_add_keyslot(f->img, 7, (const uint8_t *)pass, strlen(pass),
						key32, 32, &rsn),
			 7);
	struct guest_luks_copy c;
	assert_int_equal(guest_luks_copy_read(f->img, &c, &rsn), 0);
	assert_int_equal(guest_luks_copy_check(&c, 7, 0, &rsn), 0);
	assert_memory_not_equal(c.hdr.pin, f->pin, sizeof(pin));
	guest_luks_copy_done(&c);
}

/* Each attack: real (libcryptsetup alone would open it), and refused. */
static void attack_refused(struct fx *f, const char *kind, const char *what, bool lcs_opens)
{
	const char *cipher = "";

	assert_int_equal(tu_luks2_attack(f->img, kind), 0);
	if (lcs_opens)
		assert_int_equal(libcryptsetup_opens(f->img, &cipher), 0);
	assert_int_equal(unlock_path(f->img, NULL, key32), -EBADMSG);
	assert_string_equal(rsn.code, "LUKS_HEADER_REFUSED");
	if (!strstr(rsn.detail, what))
		fail_msg("%s: detail '%s' lacks '%s'", kind, rsn.detail, what);
}

static void test_null_segment(void **state)
{
	struct fx *f = *state;
	const char *cipher = "";

	attack_refused(f, "null-segment", "segment 0: cipher cipher_null-ecb", true);
	/* the attack is what the disclosure describes: the old path opened it */
	assert_int_equal(libcryptsetup_opens(f->img, &cipher), 0);
	assert_string_equal(cipher, "cipher_null-ecb");
}

static void test_ecb_segment(void **state)
{
	attack_refused(*state, "ecb-segment", "segment 0: cipher aes-ecb", true);
}

static void test_null_keyslot(void **state)
{
	attack_refused(*state, "null-keyslot", "keyslot 1: area cipher cipher_null-ecb", false);
}

static void test_second_segment(void **state)
{
	attack_refused(*state, "second-segment", "segments: 2", false);
}

static void test_reencrypt(void **state)
{
	attack_refused(*state, "reencrypt", "requirements", false);
}

static void test_unknown_flag(void **state)
{
	attack_refused(*state, "unknown-flag", "unknown flag no-checks-please", false);
}

static void test_area_outside(void **state)
{
	attack_refused(*state, "area-outside", "keyslot 1: area not inside", false);
}

static void test_second_token(void **state)
{
	attack_refused(*state, "second-token", "more than one ccunlock token", false);
}

/* Inside the template, and libcryptsetup opens it: only the pin notices. */
static void test_area_moved(void **state)
{
	struct fx *f = *state;
	const char *cipher = "";

	assert_int_equal(tu_luks2_attack(f->img, "move-area"), 0);
	assert_int_equal(libcryptsetup_opens(f->img, &cipher), 0);
	assert_int_equal(unlock_path(f->img, NULL, key32), 0);
	assert_int_equal(unlock_path(f->img, f->pin, key32), -EBADMSG);
	assert_string_equal(rsn.code, "LUKS_HEADER_REFUSED");
	assert_non_null(strstr(rsn.detail, "not the one enrolled"));
}

/* The disk changes after the copy was read: the open uses the copy. */
static void test_changed_between_reads(void **state)
{
	struct fx *f = *state;
	struct guest_luks_copy c;

	assert_int_equal(guest_luks_copy_read(f->img, &c, &rsn), 0);
	assert_int_equal(tu_luks2_attack(f->img, "null-segment"), 0);
	assert_int_equal(guest_luks_copy_check(&c, -1, 0, &rsn), 0);
	assert_int_equal(guest_luks_copy_pin(&c, f->pin, &rsn), 0);
	/* libcryptsetup reads the copy (its cipher is cross-checked: aes-xts-plain64) */
	assert_int_equal(guest_luks_copy_open(&c, NULL, key32, 32, &rsn), 0);
	/* the copy is sealed: nobody can write it */
	assert_true(write(c.memfd, "x", 1) < 0);
	guest_luks_copy_done(&c);
	/* a fresh read sees the disk as it now is, and refuses it */
	assert_int_equal(unlock_path(f->img, f->pin, key32), -EBADMSG);
	assert_string_equal(rsn.code, "LUKS_HEADER_REFUSED");
}

/* ---------------------------------------------------------------- malformed copies */

static uint8_t *load_copy(const char *img, size_t *len)
{
	struct guest_luks_copy c;
	uint8_t *b;

	assert_int_equal(guest_luks_copy_read(img, &c, &rsn), 0);
	b = malloc(c.len);
	memcpy(b, c.buf, c.len);
	*len = c.len;
	guest_luks_copy_done(&c);
	return b;
}

static void expect_refused(const uint8_t *b, size_t len, const char *what)
{
	struct guest_luks_hdr h;

	assert_int_equal(guest_luks_hdr_check(b, len, -1, GUEST_LUKS_HDR_NEED_TOKEN, &h, &rsn),
			 -EBADMSG);
	assert_string_equal(rsn.code, "LUKS_HEADER_REFUSED");
	if (!strstr(rsn.detail, what))
		fail_msg("detail '%s' lacks '%s'", rsn.detail, what);
}

/* Replace the JSON text of both areas with @json, checksums fixed. */
static void set_json(uint8_t *b, const char *json)
{
	const size_t hs = 16384;

	for (int i = 0; i < 2; i++) {
		memset(b + i * hs + 4096, 0, hs - 4096);
		memcpy(b + i * hs + 4096, json, strlen(json));
		tu_luks2_rechecksum(b + i * hs, hs);
	}
}

static void test_malformed(void **state)
{
	struct fx *f = *state;
	struct guest_luks_hdr h;
	size_t len, need;
	uint8_t *b = load_copy(f->img, &len), *m = malloc(len);

	assert_int_equal(guest_luks_hdr_check(b, len, -1, GUEST_LUKS_HDR_NEED_TOKEN, &h, &rsn), 0);
	assert_int_equal(guest_luks_hdr_need(b, 100, &need, &rsn), 0);
	assert_int_equal(need, 4096);
	assert_int_equal(guest_luks_hdr_need(b, 4096, &need, &rsn), 0);
	assert_int_equal(need, 32768);
	assert_int_equal(guest_luks_hdr_need(b, 32768, &need, &rsn), 0);
	assert_int_equal(need, len);

	expect_refused(b, len - 4096, "metadata area is");
	expect_refused(b, 100, "header copy of 100 bytes");
#define MUT(stmt, what)                                                                            \
	do {                                                                                       \
		memcpy(m, b, len);                                                                 \
		stmt;                                                                              \
		expect_refused(m, len, what);                                                      \
	} while (0)
	MUT(m[0] = 'X', "no LUKS magic");
	MUT(m[7] = 1, "only LUKS2");
	MUT(m[16384] = 'X', "secondary binary header: no LUKS magic");
	MUT((m[15] = 0x41, tu_luks2_rechecksum(m, 16384)), "hdr_size");
	MUT(m[5000] ^= 1, "primary header checksum");
	MUT(m[16384 + 5000] ^= 1, "secondary header checksum");
	MUT((m[23] ^= 1, tu_luks2_rechecksum(m, 16384)), "differ");
	MUT((memset(m + 4096, 'x', 16384 - 4096), memset(m + 16384 + 4096, 'x', 16384 - 4096),
	     tu_luks2_rechecksum(m, 16384), tu_luks2_rechecksum(m + 16384, 16384)),
	    "not terminated");
	MUT((m[16000] = 'x', tu_luks2_rechecksum(m, 16384), m[16384 + 16000] = 'x',
	     tu_luks2_rechecksum(m + 16384, 16384)),
	    "bytes after the JSON");
	MUT(set_json(m, "{\"keyslots\":{},\"keyslots\":{}}"), "JSON area");
	MUT(set_json(m, "[1,2]"), "not exactly keyslots");
	MUT(set_json(m, "{\"keyslots\":{},\"tokens\":{},\"segments\":{},\"digests\":{},"
			"\"config\":{\"json_size\":\"12288\",\"keyslots_size\":\"16744448\"},"
			"\"x\":1}"),
	    "not exactly keyslots");
	MUT(set_json(m, "{\"keyslots\":{},\"tokens\":{},\"segments\":{},\"digests\":{},"
			"\"config\":{\"json_size\":\"12288\",\"keyslots_size\":\"16744448\"}}"),
	    "segments: 0");
	MUT(set_json(m, "{\"keyslots\":{},\"tokens\":{},\"segments\":{},\"digests\":{},"
			"\"config\":{\"json_size\":\"012288\",\"keyslots_size\":\"16744448\"}}"),
	    "json_size");
	MUT(set_json(m, "{\"keyslots\":{},\"tokens\":{},\"segments\":{},\"digests\":{},"
			"\"config\":{\"json_size\":\"12288\",\"keyslots_size\":\"16744448\","
			"\"extra\":1}}"),
	    "unknown member");
#undef MUT
	free(m);
	free(b);
}

static void test_payload(void **state)
{
	uint8_t buf[GUEST_PAYLOAD_PINNED_MAX], pin[GUEST_LUKS_PIN_LEN];
	struct guest_payload p;
	int n;

	(void)state;
	memset(pin, 0xab, sizeof(pin));
	/* a plain key (Trustee KBS, older enrolments): unpinned */
	assert_int_equal(guest_payload_parse(key32, 32, &p, &rsn), 0);
	assert_false(p.pinned);
	assert_ptr_equal(p.key, key32);
	assert_int_equal(p.key_len, 32);
	n = guest_payload_build(pin, key32, 32, buf, sizeof(buf), &rsn);
	assert_int_equal(n, 16 + 32 + 32);
	assert_int_equal(guest_payload_parse(buf, (size_t)n, &p, &rsn), 0);
	assert_true(p.pinned);
	assert_memory_equal(p.pin, pin, sizeof(pin));
	assert_memory_equal(p.key, key32, 32);
	assert_int_equal(p.key_len, 32);
	/* the magic with too little or too much after it fails closed */
	assert_int_equal(guest_payload_parse(buf, 16 + 32 + 8, &p, &rsn), -EBADMSG);
	assert_string_equal(rsn.code, "KBS_PAYLOAD");
	assert_int_equal(guest_payload_parse(buf, 16, &p, &rsn), -EBADMSG);
	assert_int_equal(guest_payload_build(pin, key32, 8, buf, sizeof(buf), &rsn), -EINVAL);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_genuine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pin_ignores_tokens_and_other_keyslots, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_null_segment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ecb_segment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_null_keyslot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_segment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reencrypt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_flag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_area_outside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_area_moved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changed_between_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test(test_payload),
	};

	if (argc == 4 && strcmp(argv[1], "attack") == 0) {
		int r = tu_luks2_attack(argv[3], argv[2]);
		if (r < 0)
			fprintf(stderr, "attack %s on %s: %s\n", argv[2], argv[3], strerror(-r));
		return r < 0 ? 1 : 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
