// stekd's TLS context: policy, certificate, key and client trust.
#include "tls_context.h"

#include <boost/asio/ssl.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>

namespace stek::server {

namespace ssl = boost::asio::ssl;
using boost::system::error_code;

Result<ClientTrust> load_server_tls(ssl::context& ctx, const TlsFiles& tls) {
  error_code ec;
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                  ssl::context::single_dh_use);
  // The key first: a certificate loaded after it that does not match silently drops it, so
  // the check below can say which file is wrong instead of OpenSSL's "key values mismatch".
  ctx.use_private_key_file(tls.key.string(), ssl::context::pem, ec);
  if (ec) {
    return make_error(Errc::io, tls.key.string() + ": cannot load private key: " + ec.message());
  }
  ctx.use_certificate_chain_file(tls.cert.string(), ec);
  if (ec) {
    return make_error(Errc::io, tls.cert.string() + ": cannot load certificate: " + ec.message());
  }
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
    ERR_clear_error();
    return make_error(Errc::io, tls.key.string() + ": not the key of " + tls.cert.string());
  }
  auto trust = ClientTrust::load(tls.client_ca, tls.crl);
  if (!trust.ok()) return trust.error().with_context("client CA or CRL");
  SSL_CTX_set_cert_store(ctx.native_handle(), trust->share_store());
  // Every client must present a certificate; one that does not verify gets a 403 on its
  // request (not a bare handshake failure), so clients see a clear answer.
  ctx.set_verify_mode(ssl::verify_peer);
  ctx.set_verify_callback([](bool, ssl::verify_context&) { return true; });
  SSL_CTX_set_session_cache_mode(ctx.native_handle(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx.native_handle(), SSL_OP_NO_TICKET);
  // Long polls sit idle for minutes: give idle connections' record buffers back.
  SSL_CTX_set_mode(ctx.native_handle(), SSL_MODE_RELEASE_BUFFERS);
  return trust;
}

Status check_server_tls(const TlsFiles& tls) {
  ssl::context ctx(ssl::context::tls_server);
  auto trust = load_server_tls(ctx, tls);
  if (!trust.ok()) return trust.error();
  return {};
}

}  // namespace stek::server
