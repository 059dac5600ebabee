#include "guest/resolve.h"

#include <errno.h>
#include <nss.h>
#include <stdbool.h>

/* glibc's built-in services: nothing is loaded for these. */
#define GUEST_NSS_HOSTS  "files dns"
#define GUEST_NSS_LOCAL  "files"

int guest_resolver_init(void)
{
	/* __nss_configure_lookup allocates a new service list on every call;
	 * configure once per process. */
	static bool done;

	if (done)
		return 0;
	if (__nss_configure_lookup("hosts", GUEST_NSS_HOSTS) != 0 ||
	    __nss_configure_lookup("passwd", GUEST_NSS_LOCAL) != 0 ||
	    __nss_configure_lookup("group", GUEST_NSS_LOCAL) != 0)
		return errno ? -errno : -EINVAL;
	done = true;
	return 0;
}
