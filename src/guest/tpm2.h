/*
 * The few TPM 2.0 commands the Azure vTPM evidence needs, marshalled here
 * (TPM 2.0 Library Part 3), over /dev/tpmrm0 (the kernel's resource
 * manager). Debian's tpm2-tss ships no static libraries, and the early-boot
 * binary is static, so this is a small bounded marshaller instead:
 *
 *   ReadPublic (RSA keys), NV_ReadPublic, NV_DefineSpace, NV_UndefineSpace, NV_Write, NV_Read
 *   (owner authorization, empty password), PCR_Read (sha256), Quote (AK,
 *   empty password, the key's own scheme).
 *
 * Every response is parsed strictly (tag, size, response code, lengths)
 * by tpm2_parse_*(), which are pure and fuzzed. Reason codes:
 *   TPM_IO         the device cannot be opened, written or read
 *   TPM_RESPONSE   a malformed response
 *   TPM_RC         the TPM answered with an error response code
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/reason.h"

#define TPM2_BUF_MAX 4096
#define TPM2_NV_CHUNK 512       /* bytes per NV_Read/NV_Write */
#define TPM2_NV_MAX 16384       /* largest NV index read */
#define TPM2_PCRS_PER_READ 8    /* PCR_Read returns at most 8 digests */

struct tpm2 {
	int fd;
	uint8_t cmd[TPM2_BUF_MAX];
	uint8_t rsp[TPM2_BUF_MAX];
	size_t rsp_len;
	uint32_t last_rc;
};

/* Use an open file descriptor (the device, or a test's socket). */
void tpm2_init(struct tpm2 *t, int fd);

/* Public area size of NV index @index; -ENOENT when it is not defined. */
int tpm2_nv_size(struct tpm2 *t, uint32_t index, size_t *size, struct ccu_reason *err);
int tpm2_nv_define(struct tpm2 *t, uint32_t index, size_t size, struct ccu_reason *err);
int tpm2_nv_undefine(struct tpm2 *t, uint32_t index, struct ccu_reason *err);
int tpm2_nv_write(struct tpm2 *t, uint32_t index, const uint8_t *data, size_t len,
		  struct ccu_reason *err);
/* Read @len bytes (at most TPM2_NV_MAX) of NV index @index. */
int tpm2_nv_read(struct tpm2 *t, uint32_t index, uint8_t *out, size_t len, struct ccu_reason *err);

/* sha256 PCRs of @mask (bit i = PCR i, 0..23) in ascending order. */
int tpm2_pcr_read(struct tpm2 *t, uint32_t mask, uint8_t (*out)[32], struct ccu_reason *err);

/* TPM2_Quote with key @handle over sha256 PCRs @mask. @msg gets the TPMS_ATTEST
 * (TPM2B contents), @sig the RSASSA signature bytes. */
int tpm2_quote(struct tpm2 *t, uint32_t handle, const uint8_t *qualifying, size_t qlen,
	       uint32_t mask, uint8_t *msg, size_t msg_cap, size_t *msg_len, uint8_t *sig,
	       size_t sig_cap, size_t *sig_len, struct ccu_reason *err);

/* TPM2_ReadPublic of the RSA key @handle: its modulus (at most @n_cap bytes)
 * and public exponent (65537 when the key says 0). */
int tpm2_read_public_rsa(struct tpm2 *t, uint32_t handle, uint8_t *n, size_t n_cap, size_t *n_len,
			 uint32_t *e, struct ccu_reason *err);

/* Pure response parsers (fuzzed). @sessions: the command had an authorization
 * area, so the response carries parameterSize. Return 0 or -EBADMSG / -EPROTO. */
int tpm2_parse_header(const uint8_t *rsp, size_t len, bool sessions, size_t handles,
		      size_t *params_off, size_t *params_len, uint32_t *rc, struct ccu_reason *err);
int tpm2_parse_quote(const uint8_t *params, size_t len, uint8_t *msg, size_t msg_cap,
		     size_t *msg_len, uint8_t *sig, size_t sig_cap, size_t *sig_len,
		     struct ccu_reason *err);
int tpm2_parse_pcr_read(const uint8_t *params, size_t len, uint32_t want_mask,
			uint8_t (*out)[32], struct ccu_reason *err);
int tpm2_parse_read_public(const uint8_t *params, size_t len, uint8_t *n_out, size_t n_cap,
			   size_t *n_len, uint32_t *e, struct ccu_reason *err);
