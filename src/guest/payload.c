#include "guest/payload.h"

#include <errno.h>
#include <string.h>

static const uint8_t magic[GUEST_PAYLOAD_MAGIC_LEN] = { 'C', 'C', 'U', 'N', 'L', 'O', 'C', 'K',
							  '-', 'P', 'I', 'N', '-', 'V', '1', '\n' };

int guest_payload_parse(const uint8_t *p, size_t len, struct guest_payload *out,
			struct ccu_reason *err)
{
	const size_t head = GUEST_PAYLOAD_MAGIC_LEN + GUEST_LUKS_PIN_LEN;

	memset(out, 0, sizeof(*out));
	if (len < GUEST_PAYLOAD_MAGIC_LEN || memcmp(p, magic, sizeof(magic))) {
		out->key = p;
		out->key_len = len;
		return 0;
	}
	if (len < head + GUEST_PAYLOAD_KEY_MIN || len > head + GUEST_PAYLOAD_KEY_MAX)
		return ccu_fail(err, -EBADMSG, "KBS_PAYLOAD",
				"pinned resource of %zu bytes, expected %zu..%zu", len,
				head + GUEST_PAYLOAD_KEY_MIN, head + GUEST_PAYLOAD_KEY_MAX);
	out->pinned = true;
	memcpy(out->pin, p + GUEST_PAYLOAD_MAGIC_LEN, GUEST_LUKS_PIN_LEN);
	out->key = p + head;
	out->key_len = len - head;
	return 0;
}

int guest_payload_build(const uint8_t pin[GUEST_LUKS_PIN_LEN], const uint8_t *key, size_t key_len,
			uint8_t *out, size_t out_len, struct ccu_reason *err)
{
	const size_t head = GUEST_PAYLOAD_MAGIC_LEN + GUEST_LUKS_PIN_LEN;

	if (key_len < GUEST_PAYLOAD_KEY_MIN || key_len > GUEST_PAYLOAD_KEY_MAX ||
	    out_len < head + key_len)
		return ccu_fail(err, -EINVAL, "INTERNAL", "key of %zu bytes cannot be pinned", key_len);
	memcpy(out, magic, sizeof(magic));
	memcpy(out + GUEST_PAYLOAD_MAGIC_LEN, pin, GUEST_LUKS_PIN_LEN);
	memcpy(out + head, key, key_len);
	return (int)(head + key_len);
}
