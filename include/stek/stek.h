/* libstek's C API for C servers built on OpenSSL 3: serve session tickets from stek-agent's
 * key ring (hot-swapped, rotated on the key schedule) or in STEK-less mode. A thin layer over
 * stek/openssl.h; see docs/libstek.md. Functions return 1 on success and 0 on failure, with a
 * message in err (if given), never holding key bytes. */
#ifndef STEK_STEK_H
#define STEK_STEK_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The keys of one ring file, watched on a background thread. Thread-safe. */
typedef struct stek_keys stek_keys;

/* Reads the JSON ring file at path now and keeps watching it (inotify on its directory).
 * Returns NULL only if watching cannot start; a missing or bad file is reported by
 * stek_keys_status and handshakes fall back to full ones until a good ring arrives. */
stek_keys* stek_keys_watch_file(const char* path, char* err, size_t err_len);
/* Stops the watcher. SSL_CTXs that use the keys keep their own reference. */
void stek_keys_free(stek_keys* keys);

enum {
  STEK_EARLY_DATA_OFF = 0,        /* default */
  STEK_EARLY_DATA_SINGLE_USE = 1, /* OpenSSL anti-replay: TLS 1.3 tickets become stateful */
  STEK_EARLY_DATA_REPLAYABLE = 2  /* 0-RTT replayable across the domain: see docs */
};

/* Installs the keys on ctx with stek's defaults (psk_dhe_ke only, lifetime H x I capped at
 * 7 days). early_data is one of STEK_EARLY_DATA_*. */
int stek_install(SSL_CTX* ctx, stek_keys* keys, int early_data, char* err, size_t err_len);

/* STEK-less mode: stateful tickets and a session cache bounded to cache_size sessions that
 * live timeout_seconds. */
int stek_enable_stateful_tickets(SSL_CTX* ctx, size_t cache_size, long timeout_seconds, char* err,
                                 size_t err_len);

typedef struct stek_status {
  int has_keys;           /* a ticket can be issued now */
  char current_key[33];   /* hex name of the encrypting key, "" if none */
  int has_runway;         /* runway_seconds is meaningful */
  int64_t runway_seconds; /* until the held keys run out without a new ring */
  uint64_t ring_version;
  size_t keys_decrypting;
  int source_present;
  char last_error[512]; /* "" if none; truncated */
  uint64_t issued, resumed, renewed, unknown_key, invalid;
} stek_status;

int stek_keys_status(const stek_keys* keys, stek_status* out);

#ifdef __cplusplus
}
#endif

#endif /* STEK_STEK_H */
