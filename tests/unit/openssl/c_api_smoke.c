/* Compiled as C: proves stek/stek.h is a C header, and drives the C API the way a C server
 * would. Returns 1 on success; writes what failed into err. */
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

#include "stek/stek.h"

int stek_c_api_smoke(const char* ring_path, char* err, size_t err_len) {
  int ok = 0;
  stek_key_status* status = NULL;
  int64_t runway = 0;
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
  {
    static const unsigned char prefix[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    if (!stek_enable_stateful_tickets_with_prefix(stateless, 1000, 3600, prefix, err, err_len))
      goto done;
  }
  status = stek_key_status_get(keys);
  if (status == NULL) goto done;
  if (!stek_key_status_has_keys(status) || strlen(stek_key_status_current_key(status)) != 32 ||
      !stek_key_status_runway_seconds(status, &runway) || runway <= 0) {
    snprintf(err, err_len, "status: has_keys=%d key=%s error=%s", stek_key_status_has_keys(status),
             stek_key_status_current_key(status), stek_key_status_last_error(status));
    goto done;
  }
  if (stek_key_status_counter(status, "issued") != 0 ||
      strstr(stek_key_status_json(status), "\"refused_psk_ke\"") == NULL) {
    snprintf(err, err_len, "status: counters or JSON wrong: %s", stek_key_status_json(status));
    goto done;
  }
  ok = 1;
done:
  stek_key_status_free(status);
  stek_keys_free(keys);
  SSL_CTX_free(ctx); /* the SSL_CTX held its own reference to the keys */
  SSL_CTX_free(stateless);
  return ok;
}
