/*
 * libFuzzer target for broker.conf (broker_config_parse). Property: a
 * configuration that parses has every required key and sane bounds.
 */
#include <stddef.h>
#include <stdint.h>

#include "broker/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct broker_config c;
	struct ccu_reason why;

	if (size > 128 * 1024)
		return 0;
	if (broker_config_parse((const char *)data, size, &c, &why) == 0) {
		if (!c.listen_host || !c.database || !c.master_key || c.workers == 0 ||
		    (!c.insecure_http && (!c.tls_cert || !c.tls_key)) ||
		    (c.kds_fetch && (!c.cert_cache || !c.kds_url)))
			__builtin_trap();
		broker_config_done(&c);
	}
	return 0;
}
