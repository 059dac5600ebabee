#pragma once

/*
 * Host name resolution of the guest binary. The release binary is linked
 * statically: glibc resolves "files" (/etc/hosts) and "dns" (/etc/resolv.conf)
 * with code built into the binary, but it would still read nsswitch.conf and
 * dlopen() any other module named there (libnss_systemd, libnss_resolve, ...),
 * a shared library of whatever glibc the image carries, into a static
 * process. guest_resolver_init() fixes the hosts database (and the passwd
 * and group databases that libraries may consult) to the built-in services
 * before the first look-up, so nsswitch.conf is not read for them and no
 * NSS module is ever loaded. Idempotent. Returns 0 or -errno.
 */
int guest_resolver_init(void);
