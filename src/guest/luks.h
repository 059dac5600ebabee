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
#include "guest/token.h"

#define GUEST_LUKS_MAX_TOKENS 32
#define GUEST_LUKS_SCAN_MAX 256
/* The minimum PBKDF2 iteration count libcryptsetup accepts for LUKS2. */
#define GUEST_LUKS_PBKDF2_ITERATIONS 1000
#define GUEST_LUKS_KEY_LEN 32
#define GUEST_LUKS_KEYFILE_MAX (64 * 1024)

/* The first ccunlock token of @device (@token_id >= 0: exactly that one). */
int guest_luks_read_token(const char *device, int token_id, struct guest_token *out,
			  int *ret_token_id, struct ccu_reason *err);

/*
 * Open @tok's keyslot of @device with @key: activate as @name, or only
 * verify when @name is NULL.
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
