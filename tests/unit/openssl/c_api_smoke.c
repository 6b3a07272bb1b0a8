/* Compiled as C: proves stek/stek.h is a C header, and drives the C API the way a C server
 * would. Returns 1 on success; writes what failed into err. */
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

#include "stek/stek.h"

int stek_c_api_smoke(const char* ring_path, char* err, size_t err_len) {
  int ok = 0;
  stek_status status;
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX* stateless = SSL_CTX_new(TLS_server_method());
  stek_keys* keys = stek_keys_watch_file(ring_path, err, err_len);
  if (keys == NULL || ctx == NULL || stateless == NULL) goto done;
  if (!stek_install(ctx, keys, STEK_EARLY_DATA_OFF, err, err_len)) goto done;
  if (stek_install(ctx, keys, 7, err, err_len)) {
    snprintf(err, err_len, "an unknown early data mode was accepted");
    goto done;
  }
  if (!stek_enable_stateful_tickets(stateless, 1000, 3600, err, err_len)) goto done;
  if (!stek_keys_status(keys, &status)) goto done;
  if (!status.has_keys || strlen(status.current_key) != 32 || !status.has_runway) {
    snprintf(err, err_len, "status: has_keys=%d key=%s error=%s", status.has_keys,
             status.current_key, status.last_error);
    goto done;
  }
  ok = 1;
done:
  stek_keys_free(keys);
  SSL_CTX_free(ctx); /* the SSL_CTX held its own reference to the keys */
  SSL_CTX_free(stateless);
  return ok;
}
