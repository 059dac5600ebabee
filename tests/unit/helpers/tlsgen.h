/* Test TLS material: a CA and a server certificate for 127.0.0.1. */
#pragma once

/* Writes ca.pem, ca.key, server.pem, server.key into @dir. */
void tu_make_tls(const char *dir);
