// SSL_CTX integration: the ticket key callback, its per-handshake snapshot, outcome counting,
// safe defaults and nginx's session id context.
#include "stek/openssl/install.h"

#include <algorithm>
#include <cstring>
#include <mutex>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "stek/ossl_ptr.h"

#include "keys_state.h"
#include "ssl_timeout.h"
#include "ticket_crypto.h"

namespace stek::openssl {

namespace {

// What install() leaves on an SSL_CTX (ex_data); freed with the SSL_CTX.
struct CtxState {
  std::shared_ptr<TicketKeys> keys;
  bool allow_psk_ke = false;
  bool observe_outcomes = true;
  bool fresh_tls13_tickets = true;
};

// What the callback decided for the ticket it was last shown on this connection.
enum class Decision { none, ok, renew, unknown_key, refused_psk_ke };

// Per connection (ex_data on the SSL): the snapshot the handshake took first, so decrypting the
// client's ticket and encrypting the new one see the same ring, and the last decision.
struct HandshakeState {
  std::shared_ptr<const KeySnapshot> snapshot;
  Decision decision = Decision::none;
};

void free_ctx_state(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<CtxState*>(ptr);
}

void free_handshake_state(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<HandshakeState*>(ptr);
}

// SSL_dup copies ex_data pointers; a copy must not share (and later double-free) ours.
int dup_handshake_state(CRYPTO_EX_DATA*, const CRYPTO_EX_DATA*, void** from_d, int, long, void*) {
  *from_d = nullptr;
  return 1;
}

int ctx_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_ctx_state);
  return index;
}

int ssl_index() {
  static const int index =
      SSL_get_ex_new_index(0, nullptr, nullptr, dup_handshake_state, free_handshake_state);
  return index;
}

CtxState* ctx_state(SSL* s) {
  return static_cast<CtxState*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(s), ctx_index()));
}

// The handshake's snapshot: taken on first use and kept while the handshake runs. A ticket
// sent after the handshake (SSL_new_session_ticket on a long connection) takes a fresh one, so
// it never goes out under a key that has meanwhile rotated away.
HandshakeState* handshake_state(SSL* s, const CtxState& st) {
  auto* hs = static_cast<HandshakeState*>(SSL_get_ex_data(s, ssl_index()));
  if (hs == nullptr) {
    hs = new (std::nothrow) HandshakeState;
    if (hs == nullptr) return nullptr;
    if (SSL_set_ex_data(s, ssl_index(), hs) != 1) {
      delete hs;
      return nullptr;
    }
  }
  if (!hs->snapshot || !SSL_in_init(s)) hs->snapshot = st.keys->current();
  return hs;
}

TicketResult to_result(Decision d) {
  switch (d) {
    case Decision::ok:
      return TicketResult::ok;
    case Decision::renew:
      return TicketResult::renew;
    default:
      return TicketResult::unknown_key;
  }
}

// SSL_CTX_set_tlsext_ticket_key_evp_cb. Returns 1 (use), 2 (use, then renew under the current
// key), 0 (no such key: full handshake; on encryption: no ticket) or -1 (internal error).
int ticket_key_callback(SSL* s, unsigned char* key_name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                        EVP_MAC_CTX* mac, int encrypt) {
  CtxState* st = ctx_state(s);
  if (st == nullptr) return 0;  // SNI switched to an SSL_CTX without libstek
  HandshakeState* hs = handshake_state(s, *st);
  if (hs == nullptr) return -1;
  const KeySnapshot& snap = *hs->snapshot;

  if (encrypt != 0) {
    if (!snap.ring) {
      detail::KeysAccess::count_issued(*st->keys, false);
      return 0;
    }
    const TicketKey& key = snap.ring->encrypting().key;
    if (!st->keys->random().fill({iv, kTicketIvSize}).ok()) return -1;
    std::memcpy(key_name, key.name().data(), kKeyNameSize);
    if (EVP_EncryptInit_ex(cipher, detail::cipher_for(key), nullptr, key.aes_key().data(), iv) !=
            1 ||
        !detail::init_ticket_hmac(mac, key)) {
      return -1;
    }
    detail::KeysAccess::count_issued(*st->keys, true);
    return 1;
  }

  // TLS 1.3 resumption without a fresh (EC)DHE exchange would let a stolen STEK decrypt the
  // resumed connection: refuse tickets where the connection allows psk_ke.
  if (!st->allow_psk_ke && SSL_version(s) == TLS1_3_VERSION &&
      (SSL_get_options(s) & SSL_OP_ALLOW_NO_DHE_KEX) != 0) {
    hs->decision = Decision::refused_psk_ke;
    detail::KeysAccess::count_refused_psk_ke(*st->keys);
    return 0;
  }
  KeyName name;
  std::memcpy(name.data(), key_name, kKeyNameSize);
  const auto match = snap.ring ? snap.ring->find(name) : std::nullopt;
  if (!match) {
    hs->decision = Decision::unknown_key;
    if (!st->observe_outcomes) detail::KeysAccess::count(*st->keys, TicketResult::unknown_key);
    return 0;
  }
  const TicketKey& key = match->key->key;
  if (EVP_DecryptInit_ex(cipher, detail::cipher_for(key), nullptr, key.aes_key().data(), iv) != 1 ||
      !detail::init_ticket_hmac(mac, key)) {
    return -1;
  }
  hs->decision = match->renew ? Decision::renew : Decision::ok;
  if (!st->observe_outcomes) detail::KeysAccess::count(*st->keys, to_result(hs->decision));
  // OpenSSL sends TLS 1.3 tickets after a resumption only when asked to renew: without a fresh
  // one, a client that uses each ticket once (RFC 8446 C.4) falls back to a full handshake.
  const bool fresh = st->fresh_tls13_tickets && SSL_version(s) == TLS1_3_VERSION;
  return match->renew || fresh ? 2 : 1;
}

// SSL_CTX_set_session_ticket_cb's decrypt callback: sees OpenSSL's verdict after the MAC check,
// so a known key name with a bad MAC counts as invalid. Keeps OpenSSL's default behaviour.
SSL_TICKET_RETURN observe_ticket(SSL* s, SSL_SESSION*, const unsigned char*, size_t,
                                 SSL_TICKET_STATUS status, void* arg) {
  auto* st = static_cast<CtxState*>(arg);
  const auto* hs = static_cast<const HandshakeState*>(SSL_get_ex_data(s, ssl_index()));
  const Decision decision = hs ? hs->decision : Decision::none;
  switch (status) {
    case SSL_TICKET_SUCCESS:
    case SSL_TICKET_SUCCESS_RENEW:
      // Count the key's verdict: a TLS 1.3 fresh ticket under the current key is not a renewal.
      detail::KeysAccess::count(
          *st->keys, decision == Decision::renew ||
                             (decision == Decision::none && status == SSL_TICKET_SUCCESS_RENEW)
                         ? TicketResult::renew
                         : TicketResult::ok);
      return status == SSL_TICKET_SUCCESS ? SSL_TICKET_RETURN_USE : SSL_TICKET_RETURN_USE_RENEW;
    case SSL_TICKET_NO_DECRYPT:
      if (decision == Decision::unknown_key) {
        detail::KeysAccess::count(*st->keys, TicketResult::unknown_key);
      } else if (decision != Decision::refused_psk_ke) {
        detail::KeysAccess::count(*st->keys, TicketResult::invalid);  // MAC, size or padding failed
      }
      return SSL_TICKET_RETURN_IGNORE_RENEW;
    default:  // SSL_TICKET_EMPTY: no ticket offered
      return SSL_TICKET_RETURN_IGNORE_RENEW;
  }
}

Error openssl_error(const std::string& what) {
  std::string message = what;
  if (unsigned long code = ERR_get_error(); code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    message += std::string(" (") + buf + ")";
  }
  ERR_clear_error();
  return make_error(Errc::crypto, message);
}

using detail::capped_seconds;

}  // namespace

Status install(SSL_CTX* ctx, std::shared_ptr<TicketKeys> keys, const InstallOptions& options) {
  if (ctx == nullptr || !keys)
    return make_error(Errc::invalid_argument, "install: no SSL_CTX or keys");
  if (!detail::algorithms().ok()) {
    return make_error(Errc::crypto,
                      "OpenSSL lacks AES-CBC or HMAC (is the default provider loaded?)");
  }
  if (ctx_index() < 0 || ssl_index() < 0)
    return openssl_error("cannot allocate OpenSSL ex_data indexes");
  if (options.session_id_context.size() > SSL_MAX_SID_CTX_LENGTH) {
    return make_error(Errc::invalid_argument,
                      "session id context is " + std::to_string(options.session_id_context.size()) +
                          " bytes, at most 32 allowed");
  }

  std::int64_t lifetime = Schedule::standard().lifetime_hint();
  if (options.lifetime) {
    lifetime = options.lifetime->count();
  } else if (const auto snap = keys->snapshot(); snap->schedule) {
    lifetime = snap->schedule->lifetime_hint();
  }

  auto state = std::make_unique<CtxState>();
  state->keys = std::move(keys);
  state->allow_psk_ke = options.allow_psk_ke;
  state->observe_outcomes = options.observe_outcomes;
  state->fresh_tls13_tickets = options.fresh_tls13_tickets;

  SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
  if (!options.allow_psk_ke) SSL_CTX_clear_options(ctx, SSL_OP_ALLOW_NO_DHE_KEX);
  SSL_CTX_set_timeout(ctx, capped_seconds(lifetime));
  switch (options.early_data) {
    case EarlyData::off:
      SSL_CTX_set_max_early_data(ctx, 0);
      break;
    case EarlyData::single_use:
      SSL_CTX_clear_options(ctx, SSL_OP_NO_ANTI_REPLAY);
      SSL_CTX_set_max_early_data(ctx, options.max_early_data);
      break;
    case EarlyData::replayable:
      SSL_CTX_set_options(ctx, SSL_OP_NO_ANTI_REPLAY);
      SSL_CTX_set_max_early_data(ctx, options.max_early_data);
      break;
  }
  if (!options.session_id_context.empty() &&
      SSL_CTX_set_session_id_context(
          ctx, options.session_id_context.data(),
          static_cast<unsigned int>(options.session_id_context.size())) != 1) {
    return openssl_error("SSL_CTX_set_session_id_context failed");
  }

  CtxState* raw = state.get();
  auto* old = static_cast<CtxState*>(SSL_CTX_get_ex_data(ctx, ctx_index()));
  if (SSL_CTX_set_ex_data(ctx, ctx_index(), raw) != 1)
    return openssl_error("SSL_CTX_set_ex_data failed");
  state.release();
  delete old;
  if (SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_key_callback) != 1) {
    return openssl_error("SSL_CTX_set_tlsext_ticket_key_evp_cb failed");
  }
  if (options.observe_outcomes &&
      SSL_CTX_set_session_ticket_cb(ctx, nullptr, observe_ticket, raw) != 1) {
    return openssl_error("SSL_CTX_set_session_ticket_cb failed");
  }
  return {};
}

Result<Bytes> nginx_session_id_context(std::span<X509* const> certificates,
                                       const STACK_OF(X509_NAME) * client_cas,
                                       std::string_view module) {
  if (certificates.empty()) {
    return make_error(Errc::invalid_argument, "nginx session id context: no certificate");
  }
  Bytes out(SHA_DIGEST_LENGTH);
  UniquePtr<EVP_MD_CTX> owner(EVP_MD_CTX_new());
  EVP_MD_CTX* md = owner.get();
  bool ok = md != nullptr && EVP_DigestInit_ex(md, EVP_sha1(), nullptr) == 1 &&
            EVP_DigestUpdate(md, module.data(), module.size()) == 1;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  for (X509* cert : certificates) {
    ok = ok && X509_digest(cert, EVP_sha1(), digest, &len) == 1 &&
         EVP_DigestUpdate(md, digest, len) == 1;
  }
  const int cas = client_cas ? sk_X509_NAME_num(client_cas) : 0;
  for (int i = 0; i < cas; ++i) {
    ok = ok && X509_NAME_digest(sk_X509_NAME_value(client_cas, i), EVP_sha1(), digest, &len) == 1 &&
         EVP_DigestUpdate(md, digest, len) == 1;
  }
  ok = ok && EVP_DigestFinal_ex(md, out.data(), &len) == 1 && len == out.size();
  if (!ok) return openssl_error("SHA-1 of the certificates failed");
  return out;
}

Result<Bytes> nginx_session_id_context(SSL_CTX* ctx, std::string_view module) {
  X509* cert = ctx ? SSL_CTX_get0_certificate(ctx) : nullptr;
  if (cert == nullptr) {
    return make_error(Errc::invalid_argument,
                      "nginx session id context: load the certificate into the SSL_CTX first");
  }
  X509* certs[] = {cert};
  return nginx_session_id_context(certs, SSL_CTX_get_client_CA_list(ctx), module);
}

}  // namespace stek::openssl
