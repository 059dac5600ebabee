/*
 * enroll / unenroll / list. Enrolment is all or nothing and ordered so a
 * crash at any point leaves nothing dangerous behind:
 *   1. check the existing key opens the device, the header is inside the
 *      template, the resource does not exist (--rotate: does exist)
 *   2. add the keyslot for a fresh key       (a keyslot whose key is nowhere is harmless)
 *   3. read the header copy, compute its pin (guest/luks_header.h) and store
 *      pin + key at the broker (guest/payload.h)  (rollback: the keyslot)
 *   4. add the token naming keyslot+resource (rollback: keyslot, stored key)
 *      --rotate: replace the old token, then destroy the old keyslot
 * There is never a token without a keyslot, nor a stored key without its pin.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <libcryptsetup.h>
#include <openssl/rand.h>

#include "ccunlock/cli.h"
#include "ccunlock/exitcodes.h"
#include "common/log.h"
#include "common/macros.h"
#include "common/secmem.h"
#include "common/util.h"
#include "guest/kbs_client.h"
#include "guest/luks.h"
#include "guest/payload.h"
#include "kbs/jwt.h"

DEFINE_FREEP(EVP_PKEY, EVP_PKEY_free)

#define DEFAULT_POLICY "default"

static int usage(struct cli *c, const char *what)
{
	ccu_reason_set(&c->why, "USAGE", "%s", what);
	return cli_fail(c);
}

/* A whole file into locked memory (key files, the admin key). */
static int read_secret(const char *path, size_t max, uint8_t **ret, size_t *ret_len,
		       struct ccu_reason *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	uint8_t *buf;
	long n;

	if (fd < 0)
		return ccu_fail(err, -errno, "CONFIG_IO", "%s: %s", path, strerror(errno));
	buf = secmem_alloc(max + 1);
	if (!buf)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "cannot lock memory for %s", path);
	n = ccu_read_all(fd, buf, max + 1);
	if (n < 0 || (size_t)n > max || n == 0) {
		secmem_free(buf);
		return ccu_fail(err, n < 0 ? (int)n : -EINVAL, "CONFIG_IO",
				"%s: unreadable, empty or larger than %zu bytes", path, max);
	}
	*ret = buf;
	*ret_len = (size_t)n;
	return 0;
}

/* The existing passphrase from the terminal, without echo. */
static int prompt_existing(uint8_t **ret, size_t *ret_len, struct ccu_reason *err)
{
	_cleanup_close_ int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	struct termios old, quiet;
	uint8_t *buf;
	long n;

	if (fd < 0 || tcgetattr(fd, &old) < 0)
		return ccu_fail(err, -ENOTTY, "USAGE",
				"no terminal to ask for the existing passphrase: use --existing-key-file");
	buf = secmem_alloc(GUEST_LUKS_KEYFILE_MAX);
	if (!buf)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "cannot lock memory");
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	(void)ccu_write_all(fd, "Existing passphrase: ", 21);
	(void)tcsetattr(fd, TCSAFLUSH, &quiet);
	n = read(fd, buf, GUEST_LUKS_KEYFILE_MAX - 1);
	(void)tcsetattr(fd, TCSAFLUSH, &old);
	(void)ccu_write_all(fd, "\n", 1);
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n <= 0) {
		secmem_free(buf);
		return ccu_fail(err, -EINVAL, "USAGE", "no passphrase given");
	}
	*ret = buf;
	*ret_len = (size_t)n;
	return 0;
}

static int load_admin_key(const char *path, EVP_PKEY **ret, struct ccu_reason *err)
{
	_cleanup_secmem_ uint8_t *pem = NULL;
	size_t len = 0;
	int r = read_secret(path, KBS_JWT_MAX_PEM, &pem, &len, err);

	if (r < 0)
		return r;
	return kbs_jwt_key_from_pem((const char *)pem, len, true, KBS_JWT_EDDSA, ret, err);
}

/* The existing key must open some keyslot before anything is stored anywhere. */
static int check_existing(const char *device, const uint8_t *k, size_t len,
			  struct ccu_reason *err)
{
	struct crypt_device *cd = NULL;
	int r = crypt_init(&cd, device);

	if (r >= 0)
		r = crypt_load(cd, CRYPT_LUKS2, NULL);
	if (r < 0) {
		crypt_free(cd);
		return ccu_fail(err, r, "LUKS_OPEN", "%s: no valid LUKS2 header (%s)", device,
				strerror(-r));
	}
	r = crypt_activate_by_passphrase(cd, NULL, CRYPT_ANY_SLOT, (const char *)k, len, 0);
	crypt_free(cd);
	if (r < 0)
		return ccu_fail(err, r, "LUKS_WRONG_KEY", "%s: the existing key opens no keyslot",
				device);
	return 0;
}

struct enroll_opts {
	const char *device, *resource, *admin_key, *policy, *existing_file;
	int keyslot;
	bool rotate, policy_given;
};

/* The header with @slot as ours: inside the template, and its pin. */
static int header_pin(const char *device, int slot, uint8_t pin[GUEST_LUKS_PIN_LEN],
		      struct ccu_reason *err)
{
	struct guest_luks_copy hc;
	int r = guest_luks_copy_read(device, &hc, err);

	if (r == 0)
		r = guest_luks_copy_check(&hc, slot, 0, err);
	if (r == 0)
		memcpy(pin, hc.hdr.pin, GUEST_LUKS_PIN_LEN);
	guest_luks_copy_done(&hc);
	return r;
}

static void rollback_broker(const struct guest_admin *a, const char *resource)
{
	struct ccu_reason why;

	if (guest_admin_delete_resource(a, resource, &why) < 0)
		log_error("rollback: the key stays stored at the broker as %s: %s: %s", resource,
			  why.code, why.detail);
	else
		log_notice("rollback: removed %s from the broker", resource);
}

static int do_enroll(struct cli *c, const struct enroll_opts *o, const struct guest_config *cfg)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *admin = NULL;
	_cleanup_secmem_ uint8_t *existing = NULL, *key = NULL, *payload = NULL;
	size_t existing_len = 0;
	struct ccu_reason why;
	struct guest_token old;
	uint8_t pin[GUEST_LUKS_PIN_LEN];
	char pinhex[GUEST_LUKS_PIN_HEX_LEN];
	int r, slot, token, old_token = -1, plen;

	r = load_admin_key(o->admin_key, &admin, &c->why);
	if (r < 0)
		return r;
	if (o->rotate) {
		r = guest_luks_read_token(o->device, -1, &old, &old_token, &c->why);
		if (r < 0)
			return r;
		if (strcmp(old.resource_str, o->resource) != 0)
			return ccu_fail(&c->why, -EINVAL, "USAGE",
					"--rotate: the device's token names %s, not %s",
					old.resource_str, o->resource);
	} else if (guest_luks_read_token(o->device, -1, &old, &old_token, &why) == 0) {
		/* two tokens would make the header fail the template at every boot */
		return ccu_fail(&c->why, -EEXIST, "ENROLL_EXISTS",
				"%s already has a %s token (token %d, resource %s): use --rotate",
				o->device, GUEST_TOKEN_TYPE, old_token, old.resource_str);
	}
	r = o->existing_file ? read_secret(o->existing_file, GUEST_LUKS_KEYFILE_MAX, &existing,
					   &existing_len, &c->why) :
			       prompt_existing(&existing, &existing_len, &c->why);
	if (r < 0)
		return r;
	r = check_existing(o->device, existing, existing_len, &c->why);
	if (r < 0)
		return r;
	struct guest_admin a = { .url = cfg->broker_url, .ca_file = cfg->broker_ca,
				 .admin_key = admin };
	r = guest_admin_resource_exists(&a, o->resource, &c->why);
	if (r < 0)
		return r;
	if (r > 0 && !o->rotate)
		return ccu_fail(&c->why, -EEXIST, "ENROLL_EXISTS",
				"the broker already stores %s (another disk's key?); choose another "
				"resource or delete it first",
				o->resource);
	if (r == 0 && o->rotate)
		return ccu_fail(&c->why, -ENOENT, "ADMIN_NOT_FOUND",
				"--rotate: the broker stores no %s", o->resource);
	key = secmem_alloc(GUEST_LUKS_KEY_LEN);
	payload = secmem_alloc(GUEST_PAYLOAD_PINNED_MAX);
	if (!key || !payload)
		return ccu_fail(&c->why, -ENOMEM, "INTERNAL", "cannot lock memory for the key");
	if (RAND_priv_bytes(key, GUEST_LUKS_KEY_LEN) != 1)
		return ccu_fail(&c->why, -EIO, "INTERNAL", "no random bytes");

	slot = guest_luks_add_keyslot(o->device, o->keyslot, existing, existing_len, key,
				      GUEST_LUKS_KEY_LEN, &c->why);
	if (slot < 0)
		return slot;
	/* The pin covers the header as it will be booted, with this keyslot as ours. */
	r = header_pin(o->device, slot, pin, &c->why);
	if (r >= 0)
		r = plen = guest_payload_build(pin, key, GUEST_LUKS_KEY_LEN, payload,
					       GUEST_PAYLOAD_PINNED_MAX, &c->why);
	if (r >= 0)
		r = guest_admin_put_resource(&a, o->resource, o->policy, payload, (size_t)plen,
					     &c->why);
	if (r < 0) {
		if (guest_luks_destroy_keyslot(o->device, slot, &why) < 0)
			log_error("rollback: keyslot %d stays: %s: %s", slot, why.code, why.detail);
		return r;
	}
	if (o->rotate) {
		/* From here the old keyslot no longer opens with the stored key. */
		r = guest_luks_remove_token(o->device, old_token, &c->why);
		if (r < 0)
			return r;
	}
	token = guest_luks_add_token(o->device, slot, o->resource, &c->why);
	if (token < 0) {
		if (o->rotate)
			return token; /* the old key is gone at the broker: fix by hand */
		if (guest_luks_destroy_keyslot(o->device, slot, &why) < 0)
			log_error("rollback: keyslot %d stays: %s: %s", slot, why.code, why.detail);
		rollback_broker(&a, o->resource);
		return token;
	}
	if (o->rotate) {
		r = guest_luks_destroy_keyslot(o->device, old.keyslot, &c->why);
		if (r < 0)
			return r;
	}
	guest_luks_pin_hex(pin, pinhex);
	printf("%s %s: keyslot %d, token %d, resource %s, policy %s, header pin %s\n",
	       o->rotate ? "rotated" : "enrolled", o->device, slot, token, o->resource, o->policy,
	       pinhex);
	if (o->rotate)
		printf("removed the old keyslot %d\n", old.keyslot);
	return 0;
}

int cmd_enroll(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "resource", required_argument, NULL, 'r' },
		{ "admin-key", required_argument, NULL, 'a' },
		{ "policy", required_argument, NULL, 'p' },
		{ "keyslot", required_argument, NULL, 'k' },
		{ "existing-key-file", required_argument, NULL, 'e' },
		{ "rotate", no_argument, NULL, 'R' },
		{ 0 },
	};
	static const char use[] = "enroll DEVICE|IMAGE --resource REPO/TYPE/TAG --admin-key FILE "
				  "[--policy NAME] [--keyslot N] [--existing-key-file FILE] [--rotate]";
	struct enroll_opts o = { .policy = DEFAULT_POLICY, .keyslot = -1 };
	struct guest_config cfg;
	uint64_t n;
	int ch, r;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'r': o.resource = optarg; break;
		case 'a': o.admin_key = optarg; break;
		case 'p': o.policy = optarg; o.policy_given = true; break;
		case 'e': o.existing_file = optarg; break;
		case 'R': o.rotate = true; break;
		case 'k':
			if (ccu_parse_u64(optarg, GUEST_TOKEN_MAX_KEYSLOT, false, &n) < 0)
				return usage(c, "--keyslot: expected 0..31");
			o.keyslot = (int)n;
			break;
		default: return usage(c, use);
		}
	}
	if (argc - optind != 1 || !o.resource || !o.admin_key)
		return usage(c, use);
	/* the stored resource is replaced, its policy with it: never silently "default" */
	if (o.rotate && !o.policy_given)
		return usage(c, "--rotate needs --policy (the resource is stored again with it)");
	o.device = argv[optind];
	struct kbs_resource_path p;
	if (kbs_resource_path_parse(o.resource, strlen(o.resource), &p, &c->why) < 0)
		return usage(c, "--resource: expected REPO/TYPE/TAG of [A-Za-z0-9_.-]");
	r = cli_load_config(c, true, &cfg);
	if (r < 0)
		return cli_fail(c);
	r = do_enroll(c, &o, &cfg);
	guest_config_done(&cfg);
	return r < 0 ? cli_fail(c) : CCU_EXIT_OK;
}

int cmd_unenroll(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "token-id", required_argument, NULL, 't' },
		{ "admin-key", required_argument, NULL, 'a' },
		{ 0 },
	};
	static const char use[] = "unenroll DEVICE|IMAGE [--token-id N] [--admin-key FILE]";
	const char *admin_key = NULL;
	struct guest_token tok;
	int ch, r, token_id = -1;
	uint64_t n;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 't' && ccu_parse_u64(optarg, GUEST_LUKS_MAX_TOKENS - 1, false, &n) == 0)
			token_id = (int)n;
		else if (ch == 'a')
			admin_key = optarg;
		else
			return usage(c, use);
	}
	if (argc - optind != 1)
		return usage(c, use);
	const char *device = argv[optind];
	r = guest_luks_read_token(device, token_id, &tok, &token_id, &c->why);
	if (r < 0)
		return cli_fail(c);
	/* Token first: a keyslot without a token is harmless, the reverse is not. */
	r = guest_luks_remove_token(device, token_id, &c->why);
	if (r < 0)
		return cli_fail(c);
	r = guest_luks_destroy_keyslot(device, tok.keyslot, &c->why);
	if (r < 0)
		return cli_fail(c);
	printf("removed token %d and keyslot %d from %s\n", token_id, tok.keyslot, device);
	if (admin_key) {
		_cleanup_(EVP_PKEY_freep) EVP_PKEY *admin = NULL;
		struct guest_config cfg;
		if (cli_load_config(c, true, &cfg) < 0)
			return cli_fail(c);
		r = load_admin_key(admin_key, &admin, &c->why);
		if (r == 0) {
			struct guest_admin a = { .url = cfg.broker_url, .ca_file = cfg.broker_ca,
						 .admin_key = admin };
			r = guest_admin_delete_resource(&a, tok.resource_str, &c->why);
		}
		guest_config_done(&cfg);
		if (r < 0)
			return cli_fail(c);
		printf("deleted %s from the broker\n", tok.resource_str);
	}
	return CCU_EXIT_OK;
}

int cmd_list(struct cli *c, int argc, char **argv)
{
	if (argc != 2)
		return usage(c, "list DEVICE|IMAGE");
	int n = guest_luks_list(argv[1], stdout, &c->why);

	if (n < 0)
		return cli_fail(c);
	if (n > 0) {
		/* what unlock would say about this header (its pin is what enroll stored) */
		struct guest_luks_copy hc;
		struct ccu_reason why;
		char pin[GUEST_LUKS_PIN_HEX_LEN];
		int r = guest_luks_copy_read(argv[1], &hc, &why);
		if (r == 0)
			r = guest_luks_copy_check(&hc, -1, 0, &why);
		if (r == 0) {
			guest_luks_pin_hex(hc.hdr.pin, pin);
			printf("header: inside the template, keyslot %d, pin %s\n", hc.hdr.keyslot,
			       pin);
		} else {
			printf("header: refused: %s: %s\n", why.code, why.detail);
		}
		guest_luks_copy_done(&hc);
	}
	return CCU_EXIT_OK;
}
