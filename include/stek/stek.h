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
/* The same, with this server's prefix: every session id (the TLS 1.2 id, each TLS 1.3 ticket)
 * begins with the 16 bytes at server_prefix, then 16 random ones, so a load balancer that routes
 * by a ticket's first 16 bytes sends a resuming client back to this server (docs/routing.md).
 * Unique per server, not secret. NULL: OpenSSL's 32 random bytes, as above. */
int stek_enable_stateful_tickets_with_prefix(SSL_CTX* ctx, size_t cache_size, long timeout_seconds,
                                             const unsigned char* server_prefix, char* err,
                                             size_t err_len);

/* Key status, without key bytes: one consistent reading, taken by stek_key_status_get and
 * read with the accessors below (NULL-safe: a NULL status reads as empty). Counters are read
 * by name, so new counters need no new function. */
typedef struct stek_key_status stek_key_status;

stek_key_status* stek_key_status_get(const stek_keys* keys); /* NULL if out of memory */
void stek_key_status_free(stek_key_status* status);

int stek_key_status_has_keys(const stek_key_status* status); /* a ticket can be issued now */
const char* stek_key_status_current_key(const stek_key_status* status); /* hex name or "" */
/* Seconds until the held keys run out without a new ring; 0 if the ring has no schedule. */
int stek_key_status_runway_seconds(const stek_key_status* status, int64_t* seconds);
uint64_t stek_key_status_ring_version(const stek_key_status* status);
size_t stek_key_status_keys_decrypting(const stek_key_status* status);
int stek_key_status_source_present(const stek_key_status* status);
const char* stek_key_status_last_error(const stek_key_status* status); /* "" if none */
/* issued, not_issued, resumed, renewed, unknown_key, invalid, refused_psk_ke; 0 if unknown. */
uint64_t stek_key_status_counter(const stek_key_status* status, const char* name);
/* Everything above as one JSON object (what key_status_json gives in C++). */
const char* stek_key_status_json(const stek_key_status* status);

/* Deprecated: a fixed struct that cannot grow without breaking callers (it already lacks
 * not_issued and refused_psk_ke). Use stek_key_status_get and its accessors; removed in the
 * next release. */
#if defined(__GNUC__) || defined(__clang__)
#define STEK_DEPRECATED(msg) __attribute__((deprecated(msg)))
#else
#define STEK_DEPRECATED(msg)
#endif
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

STEK_DEPRECATED("use stek_key_status_get and its accessors")
int stek_keys_status(const stek_keys* keys, stek_status* out);

#ifdef __cplusplus
}
#endif

#endif /* STEK_STEK_H */
