#include "snp/report_file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/codec.h"

/* Longest text form we decode: base64 of a 64 KiB container. */
#define REPORT_FILE_MAX_TEXT (96 * 1024)

const char *snp_report_encoding_name(enum snp_report_encoding e)
{
	switch (e) {
	case SNP_REPORT_ENC_RAW:
		return "raw";
	case SNP_REPORT_ENC_HEX:
		return "hex";
	case SNP_REPORT_ENC_BASE64:
		return "base64";
	}
	return "?";
}

/* Copy @data without ASCII whitespace; returns the compact length, or -1 if
 * a byte outside @allowed (or a NUL) occurs. */
static long compact_text(const uint8_t *data, size_t len, const char *allowed, char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		char c = (char)data[i];

		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == 0 || !strchr(allowed, c))
			return -1;
		out[n++] = c;
	}
	out[n] = 0;
	return (long)n;
}

static int take(const uint8_t *buf, size_t len, bool has_offset, size_t offset,
		enum snp_report_encoding enc, uint8_t out[SNP_REPORT_SIZE], struct ccu_reason *err)
{
	if (!has_offset && len != SNP_REPORT_SIZE)
		return ccu_fail(err, -EBADMSG, "FORMAT_SIZE",
				"%s report is %zu bytes, expected %d (a container with the report "
				"inside needs --offset)",
				snp_report_encoding_name(enc), len, SNP_REPORT_SIZE);
	if (offset > len || len - offset < SNP_REPORT_SIZE)
		return ccu_fail(err, -EBADMSG, "FORMAT_SIZE",
				"%zu bytes after offset %zu, a report needs %d",
				offset > len ? 0 : len - offset, offset, SNP_REPORT_SIZE);
	memcpy(out, buf + offset, SNP_REPORT_SIZE);
	return 0;
}

int snp_report_file_decode(const uint8_t *data, size_t len, bool has_offset, size_t offset,
			   uint8_t out[SNP_REPORT_SIZE], enum snp_report_encoding *ret_enc,
			   struct ccu_reason *err)
{
	static const char hex[] = "0123456789abcdefABCDEF";
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_";
	char *text = NULL;
	uint8_t *bin = NULL;
	long n;
	int r;

	/* Exactly one report's worth of bytes is raw, whatever they look like. */
	if (len <= SNP_REPORT_SIZE || len > REPORT_FILE_MAX_TEXT) {
		if (ret_enc)
			*ret_enc = SNP_REPORT_ENC_RAW;
		return take(data, len, has_offset, offset, SNP_REPORT_ENC_RAW, out, err);
	}
	text = malloc(len + 1);
	bin = malloc(len);
	if (!text || !bin) {
		r = ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
		goto out;
	}
	n = compact_text(data, len, hex, text);
	if (n >= 0) {
		r = ccu_hex_decode(text, (size_t)n, bin, len);
		if (r < 0) {
			r = ccu_fail(err, -EBADMSG, "INPUT", "hex report text has an odd length");
			goto out;
		}
		if (ret_enc)
			*ret_enc = SNP_REPORT_ENC_HEX;
		r = take(bin, (size_t)r, has_offset, offset, SNP_REPORT_ENC_HEX, out, err);
		goto out;
	}
	n = compact_text(data, len, b64, text);
	if (n >= 0) {
		bool url = strpbrk(text, "-_") != NULL;

		/* URL-alphabet text usually comes unpadded; standard text padded. */
		if (url)
			while (n > 0 && text[n - 1] == '=')
				text[--n] = 0;
		r = ccu_b64_decode(text, (size_t)n, url ? CCU_B64_URL : CCU_B64_STD, bin, len);
		if (r < 0) {
			r = ccu_fail(err, -EBADMSG, "INPUT", "base64 report text does not decode");
			goto out;
		}
		if (ret_enc)
			*ret_enc = SNP_REPORT_ENC_BASE64;
		r = take(bin, (size_t)r, has_offset, offset, SNP_REPORT_ENC_BASE64, out, err);
		goto out;
	}
	if (ret_enc)
		*ret_enc = SNP_REPORT_ENC_RAW;
	r = take(data, len, has_offset, offset, SNP_REPORT_ENC_RAW, out, err);
out:
	free(text);
	free(bin);
	return r;
}
