// STEK-less mode: TLS 1.3 stateful tickets and TLS 1.2 session ids that name sessions held in
// libstek's SessionCache (session_cache.h says why not OpenSSL's internal cache), optionally
// beginning with the server prefix that routes them back to this server (session_prefix.h).
#include <algorithm>
#include <memory>
#include <optional>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "stek/openssl/install.h"
#include "stek/random.h"

#include "session_cache.h"
#include "session_prefix.h"
#include "ssl_timeout.h"

namespace stek::openssl {

namespace {

using detail::SessionCache;

const Clock& system_clock() {
  static const SystemClock clock;
  return clock;
}

// What STEK-less mode keeps on an SSL_CTX.
struct StatefulState {
  StatefulState(std::size_t capacity, const Clock& clock, std::optional<KeyName> p)
      : cache(capacity, clock), prefix(p) {}
  SessionCache cache;
  std::optional<KeyName> prefix;
};

void free_state(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<StatefulState*>(ptr);
}

int state_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_state);
  return index;
}

StatefulState* state_of(const SSL_CTX* ctx) {
  return ctx ? static_cast<StatefulState*>(SSL_CTX_get_ex_data(ctx, state_index())) : nullptr;
}

SessionCache* cache_of(const SSL_CTX* ctx) {
  StatefulState* state = state_of(ctx);
  return state ? &state->cache : nullptr;
}

// OpenSSL asks for an id for every new session: TLS 1.2 (the id the client resumes by) and
// each TLS 1.3 stateful ticket (the ticket is the id). Either way the prefix comes first.
int on_generate_session_id(SSL* s, unsigned char* id, unsigned int* id_len) {
  static SystemRandom random;  // RAND_bytes is thread-safe
  const StatefulState* state = state_of(SSL_get_SSL_CTX(s));
  if (state == nullptr || !state->prefix) return RAND_bytes(id, static_cast<int>(*id_len)) == 1;
  return detail::fill_prefixed_session_id(*state->prefix, std::span(id, *id_len), random).ok();
}

// OpenSSL calls these on the SSL_CTX the connection started on. With SNI the connection may have
// switched to another SSL_CTX: enable_stateful_tickets() on each gives each its own cache.
int on_new_session(SSL* s, SSL_SESSION* session) {
  if (SessionCache* cache = cache_of(SSL_get_SSL_CTX(s))) cache->add(session);
  return 0;  // we keep a serialised copy, not OpenSSL's reference
}

SSL_SESSION* on_get_session(SSL* s, const unsigned char* id, int id_len, int* copy) {
  *copy = 0;  // the returned session is new; OpenSSL takes our only reference
  SessionCache* cache = cache_of(SSL_get_SSL_CTX(s));
  return cache && id_len > 0 ? cache->find(id, static_cast<std::size_t>(id_len)).release()
                             : nullptr;
}

// No remove callback on purpose: OpenSSL asks to remove a session when a connection is freed
// without the server's close_notify (ssl_clear_bad_session), which since TLS 1.1 is no reason
// to stop resuming it (RFC 5246 section 7.2.1). Fatal alerts are seen by the info callback.
void on_info(const SSL* s, int where, int ret) {
  if ((where & SSL_CB_ALERT) == 0 || (ret >> 8) != SSL3_AL_FATAL) return;
  // OpenSSL 3 answers a TCP close without close_notify with a fatal decode_error alert of its
  // own: that is a connection ending, not a failed one, and the session stays.
  if ((where & SSL_CB_WRITE) != 0 &&
      ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
    return;
  }
  // RFC 5246 section 7.2.2: after a fatal alert, forget the connection's session.
  const SSL_SESSION* session = SSL_get_session(s);
  SessionCache* cache = cache_of(SSL_get_SSL_CTX(s));
  if (session == nullptr || cache == nullptr) return;
  unsigned int id_len = 0;
  const unsigned char* id = SSL_SESSION_get_id(session, &id_len);
  cache->forget(id, id_len);
}

using detail::capped_seconds;

}  // namespace

Status enable_stateful_tickets(SSL_CTX* ctx, const StatefulOptions& options) {
  if (ctx == nullptr)
    return make_error(Errc::invalid_argument, "enable_stateful_tickets: no SSL_CTX");
  if (options.cache_size == 0) {
    return make_error(Errc::invalid_argument, "session cache size must be at least 1");
  }
  if (state_index() < 0)
    return make_error(Errc::crypto, "cannot allocate an OpenSSL ex_data index");
  auto state = std::make_unique<StatefulState>(
      options.cache_size, options.clock ? *options.clock : system_clock(), options.server_prefix);
  StatefulState* old = state_of(ctx);
  if (SSL_CTX_set_ex_data(ctx, state_index(), state.get()) != 1)
    return make_error(Errc::crypto, "SSL_CTX_set_ex_data failed");
  state.release();
  delete old;

  // With SSL_OP_NO_TICKET OpenSSL 3 sends TLS 1.3 tickets that only name a cached session,
  // and resumes TLS 1.2 by session id: nothing in either can be decrypted.
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_clear_options(ctx, SSL_OP_ALLOW_NO_DHE_KEX);
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, nullptr);
  SSL_CTX_set_max_early_data(ctx, 0);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL);
  SSL_CTX_sess_set_new_cb(ctx, on_new_session);
  SSL_CTX_sess_set_get_cb(ctx, on_get_session);
  SSL_CTX_sess_set_remove_cb(ctx, nullptr);
  SSL_CTX_set_generate_session_id(ctx, options.server_prefix ? on_generate_session_id : nullptr);
  // An application's own info callback stays; it then keeps sessions after fatal alerts too.
  if (SSL_CTX_get_info_callback(ctx) == nullptr) SSL_CTX_set_info_callback(ctx, on_info);
  SSL_CTX_set_timeout(ctx, capped_seconds(options.timeout.count()));
  return {};
}

std::size_t stateful_sessions(const SSL_CTX* ctx) {
  const SessionCache* cache = cache_of(ctx);
  return cache ? cache->size() : 0;
}

}  // namespace stek::openssl
