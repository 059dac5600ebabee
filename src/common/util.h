/* File, number and time helpers with bounds on everything. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * Read a whole file (at most @max bytes; a larger file is -EFBIG) into a
 * malloc'ed buffer with one extra NUL byte after the data (so text can be
 * parsed in place). Returns 0 or -errno.
 */
int ccu_read_file(const char *path, size_t max, uint8_t **ret_data, size_t *ret_len);

/* Write @len bytes to @path atomically (temp file + fsync + rename) with
 * @mode. Returns 0 or -errno. */
int ccu_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode);

/* Write all of @len bytes to @fd, retrying short writes and EINTR. */
int ccu_write_all(int fd, const void *data, size_t len);
/* Read exactly up to @len bytes; returns bytes read (short only at EOF) or -errno. */
long ccu_read_all(int fd, void *buf, size_t len);

/*
 * Strict unsigned parse: decimal, or hex with 0x when @allow_hex; no sign, no
 * whitespace, no trailing characters, value <= @max. Returns 0 or -EINVAL/-ERANGE.
 */
int ccu_parse_u64(const char *s, uint64_t max, bool allow_hex, uint64_t *ret);

/* RFC 3339 UTC time "YYYY-MM-DDTHH:MM:SSZ" (also accepts "+00:00" and a
 * fractional second, which is dropped). Returns 0 or -EINVAL. */
int ccu_parse_rfc3339(const char *s, time_t *ret);
/* Format as "YYYY-MM-DDTHH:MM:SSZ" into @buf (>= 21 bytes). */
const char *ccu_format_rfc3339(time_t t, char *buf, size_t len);

/* Monotonic clock in milliseconds. */
uint64_t ccu_now_ms(void);

/* true when @s consists only of characters from @set (and is non-empty). */
bool ccu_str_only(const char *s, const char *set);

/* Trim ASCII whitespace in place at both ends; returns the start. */
char *ccu_strstrip(char *s);
