// In-memory TLS handshakes for tests and benchmarks.
#include "tls_pair.h"

#include <cstring>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

namespace stek::testing {

namespace {

TestIdentity make_identity() {
  TestIdentity id;
  id.key = EVP_EC_gen("P-256");
  id.cert = X509_new();
  X509_set_version(id.cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(id.cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(id.cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(id.cert), 7L * 24 * 3600);
  X509_NAME* name = X509_get_subject_name(id.cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(id.cert, name);
  X509_set_pubkey(id.cert, id.key);
  X509_sign(id.cert, id.key, EVP_sha256());
  return id;
}

std::string last_openssl_error() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "no OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

// DER length encoding (definite form).
void put_length(Bytes& out, std::size_t n) {
  if (n < 0x80) {
    out.push_back(static_cast<std::uint8_t>(n));
    return;
  }
  std::uint8_t tmp[sizeof(std::size_t)];
  int k = 0;
  for (std::size_t v = n; v != 0; v >>= 8) tmp[k++] = static_cast<std::uint8_t>(v & 0xff);
  out.push_back(static_cast<std::uint8_t>(0x80 | k));
  while (k > 0) out.push_back(tmp[--k]);
}

// Reads one DER header at p; returns header length and sets content length, 0 on error.
std::size_t read_header(const std::uint8_t* p, std::size_t avail, std::size_t& len) {
  if (avail < 2) return 0;
  if ((p[1] & 0x80) == 0) {
    len = p[1];
    return 2;
  }
  const std::size_t k = p[1] & 0x7f;
  if (k == 0 || k > sizeof(std::size_t) || avail < 2 + k) return 0;
  len = 0;
  for (std::size_t i = 0; i < k; ++i) len = (len << 8) | p[2 + i];
  return 2 + k;
}

}  // namespace

const TestIdentity& test_identity() {
  static const TestIdentity id = make_identity();
  return id;
}

SslCtxPtr make_server_ctx(int version) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  SSL_CTX_set_min_proto_version(ctx.get(), version);
  SSL_CTX_set_max_proto_version(ctx.get(), version);
  SSL_CTX_use_certificate(ctx.get(), test_identity().cert);
  SSL_CTX_use_PrivateKey(ctx.get(), test_identity().key);
  return ctx;
}

SslCtxPtr make_client_ctx(int version) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_set_min_proto_version(ctx.get(), version);
  SSL_CTX_set_max_proto_version(ctx.get(), version);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
  return ctx;
}

Bytes Handshake::ticket() const {
  if (!session) return {};
  const unsigned char* tick = nullptr;
  size_t len = 0;
  SSL_SESSION_get0_ticket(session.get(), &tick, &len);
  return Bytes(tick, tick + len);
}

std::string Handshake::ticket_name_hex() const {
  Bytes t = ticket();
  if (t.size() < 16) return "";
  return to_hex(ByteView(t.data(), 16));
}

Handshake handshake(SSL_CTX* server_ctx, SSL_CTX* client_ctx, const HandshakeOptions& options) {
  Handshake result;
  ERR_clear_error();
  UniquePtr<SSL> client_owner(SSL_new(client_ctx));
  UniquePtr<SSL> server_owner(SSL_new(server_ctx));
  SSL* client = client_owner.get();
  SSL* server = server_owner.get();
  BIO* cbio = nullptr;
  BIO* sbio = nullptr;
  BIO_new_bio_pair(&cbio, 0, &sbio, 0);
  SSL_set_bio(client, cbio, cbio);
  SSL_set_bio(server, sbio, sbio);
  SSL_set_connect_state(client);
  SSL_set_accept_state(server);
  static char host[] = "localhost";  // SSL_set_tlsext_host_name is a macro with a C cast
  SSL_ctrl(client, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, host);
  if (options.resume) SSL_set_session(client, options.resume);
  if (options.configure_client) options.configure_client(client);
  if (options.configure_server) options.configure_server(server);

  bool client_done = false;
  bool server_done = false;
  for (int round = 0; round < 64 && !(client_done && server_done); ++round) {
    for (auto [ssl, done, who] :
         {std::tuple{client, &client_done, "client"}, std::tuple{server, &server_done, "server"}}) {
      if (*done) continue;
      const int r = SSL_do_handshake(ssl);
      if (r == 1) {
        *done = true;
        continue;
      }
      const int err = SSL_get_error(ssl, r);
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
        result.error = std::string(who) + " handshake failed: " + last_openssl_error();
        round = 64;
        break;
      }
    }
    if (options.between_rounds) options.between_rounds(round);
  }
  if (client_done && server_done) {
    // TLS 1.3 tickets follow the handshake: reading processes them (no application data).
    unsigned char byte;
    for (int i = 0; i < 4; ++i) {
      if (SSL_read(client, &byte, 1) > 0) break;
    }
    // A clean close: OpenSSL marks sessions of connections freed without close_notify as not
    // resumable (and drops them from the server cache).
    SSL_shutdown(client);
    if (options.server_shutdown) SSL_shutdown(server);
    ERR_clear_error();
    result.ok = true;
    result.resumed = SSL_session_reused(server) == 1;
    result.session.reset(SSL_get1_session(client));
  } else if (result.error.empty()) {
    result.error = "handshake did not finish";
  }
  return result;
}

SessionPtr with_ticket(SSL_SESSION* session, ByteView ticket) {
  unsigned char* der = nullptr;
  const int der_len = i2d_SSL_SESSION(session, &der);
  if (der_len <= 0) return nullptr;
  const std::uint8_t* p = der;
  const auto n = static_cast<std::size_t>(der_len);
  std::size_t seq_len = 0;
  std::size_t pos = read_header(p, n, seq_len);
  Bytes body;
  bool replaced = false;
  while (pos != 0 && pos < n) {
    std::size_t len = 0;
    const std::size_t h = read_header(p + pos, n - pos, len);
    if (h == 0 || pos + h + len > n) break;
    if (p[pos] == 0xAA) {  // [10] EXPLICIT OCTET STRING: the ticket
      Bytes inner{0x04};
      put_length(inner, ticket.size());
      inner.insert(inner.end(), ticket.begin(), ticket.end());
      body.push_back(0xAA);
      put_length(body, inner.size());
      body.insert(body.end(), inner.begin(), inner.end());
      replaced = true;
    } else {
      body.insert(body.end(), p + pos, p + pos + h + len);
    }
    pos += h + len;
  }
  OPENSSL_free(der);
  if (!replaced) return nullptr;
  Bytes out{0x30};
  put_length(out, body.size());
  out.insert(out.end(), body.begin(), body.end());
  const unsigned char* q = out.data();
  return SessionPtr(d2i_SSL_SESSION(nullptr, &q, static_cast<long>(out.size())));
}

}  // namespace stek::testing
