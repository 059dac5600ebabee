/*
 * LUKS2 through libcryptsetup only (the cryptsetup binary is never run):
 * finding the ccunlock token, verifying/activating its keyslot, enrolling
 * and removing keyslot + token.
 *
 * Reason codes: LUKS_OPEN (no such device/image, not LUKS2, header
 * damaged), LUKS_NO_TOKEN (no ccunlock token), TOKEN_* (guest/token.h),
 * LUKS_KEYSLOT (the token's keyslot is not an active keyslot), LUKS_WRONG_KEY
 * (the key does not open the keyslot), LUKS_ACTIVATE (activation failed),
 * LUKS_ENROLL (adding keyslot or token failed), LUKS_SCAN (no device with a
 * ccunlock token found).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/reason.h"
#include "guest/luks_header.h"
#include "guest/token.h"

#define GUEST_LUKS_MAX_TOKENS 32
#define GUEST_LUKS_SCAN_MAX 256
/* The minimum PBKDF2 iteration count libcryptsetup accepts for LUKS2. */
#define GUEST_LUKS_PBKDF2_ITERATIONS 1000
#define GUEST_LUKS_KEY_LEN 32
#define GUEST_LUKS_KEYFILE_MAX (64 * 1024)

/*
 * The unlock path reads the header once: guest_luks_copy_read() copies the
 * whole metadata area (bounded by GUEST_LUKS_COPY_MAX) into a sealed memfd,
 * guest_luks_copy_check() validates that copy (guest/luks_header.h: template,
 * token, pin), and guest_luks_copy_open() activates with the same copy as a
 * detached header (crypt_init_data_device on /proc/self/fd/N, the disk as
 * data device) after cross-checking libcryptsetup's view of it. The disk's
 * header is never read again, so what is checked is what is used.
 * LUKS_OPEN: the device cannot be read or is not LUKS at all;
 * LUKS_HEADER_REFUSED: a header outside the template, a pin mismatch, or
 * libcryptsetup seeing the copy differently from our parser.
 */
struct guest_luks_copy {
	const char *device;
	uint8_t *buf; /* read-only (PROT_READ) mapping of the sealed memfd */
	size_t len;
	int memfd;
	struct guest_luks_hdr hdr; /* after guest_luks_copy_check */
	bool checked;
};

int guest_luks_copy_read(const char *device, struct guest_luks_copy *c, struct ccu_reason *err);
/* @keyslot: -1 the token's (GUEST_LUKS_HDR_NEED_TOKEN implied), else that one. */
int guest_luks_copy_check(struct guest_luks_copy *c, int keyslot, unsigned flags,
			  struct ccu_reason *err);
/* The copy's pin must be @pin (NULL: unpinned). */
int guest_luks_copy_pin(const struct guest_luks_copy *c, const uint8_t *pin,
			struct ccu_reason *err);
/* Activate as @name (NULL: only verify the key) from the checked copy. */
int guest_luks_copy_open(const struct guest_luks_copy *c, const char *name, const uint8_t *key,
			 size_t key_len, struct ccu_reason *err);
void guest_luks_copy_done(struct guest_luks_copy *c);

/* Under the CLI's run directory: "pinned HEX\n" or "unpinned HEX\n" after an unlock. */
#define GUEST_LUKS_STATE_NAME "luks-header"
/* Under the same directory while an unlock has not succeeded: the checked
 * copy (whole metadata area) for the passphrase fallback's --header. */
#define GUEST_LUKS_CHECKED_COPY_NAME "luks-header.img"

/* The first ccunlock token of @device (@token_id >= 0: exactly that one). */
int guest_luks_read_token(const char *device, int token_id, struct guest_token *out,
			  int *ret_token_id, struct ccu_reason *err);

/*
 * Open @tok's keyslot of @device with @key: activate as @name, or only
 * verify when @name is NULL. Through a checked copy (template, no pin).
 */
int guest_luks_open(const char *device, const struct guest_token *tok, const char *name,
		    const uint8_t *key, size_t key_len, struct ccu_reason *err);

/* First block device under @sysfs/class/block with a ccunlock token; its
 * /dev path in @buf. */
int guest_luks_scan(const char *sysfs, const char *dev, char *buf, size_t len,
		    struct ccu_reason *err);

/* UUID=... -> /dev/disk/by-uuid/... (@dev root); a path is copied. */
int guest_luks_resolve(const char *spec, const char *dev, char *buf, size_t len,
		       struct ccu_reason *err);

/*
 * Enrolment steps (the caller orders them and rolls back):
 * add a PBKDF2 keyslot (minimum iterations, no benchmark) for @key, unlocked
 * with @existing; returns the keyslot number.
 */
int guest_luks_add_keyslot(const char *device, int keyslot, const uint8_t *existing,
			   size_t existing_len, const uint8_t *key, size_t key_len,
			   struct ccu_reason *err);
int guest_luks_destroy_keyslot(const char *device, int keyslot, struct ccu_reason *err);
/* Returns the token id. */
int guest_luks_add_token(const char *device, int keyslot, const char *resource,
			 struct ccu_reason *err);
int guest_luks_remove_token(const char *device, int token_id, struct ccu_reason *err);

/* "token N: keyslot K resource R" lines (malformed tokens say why). */
int guest_luks_list(const char *device, FILE *out, struct ccu_reason *err);
