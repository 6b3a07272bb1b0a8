// The TLS side of stekd's HTTPS port: its certificate and key, and the client trust (client CA
// and CRLs, revocation.h) put into one OpenSSL context. MtlsTransport loads it at start; stekd
// --check-config loads the same files into a context of its own and binds nothing.
#pragma once

#include <filesystem>
#include <vector>

#include "stek/result.h"

#include "revocation.h"

namespace boost::asio::ssl {
class context;
}

namespace stek::server {

struct TlsFiles {
  std::filesystem::path cert;              // server certificate chain (PEM)
  std::filesystem::path key;               // its private key
  std::filesystem::path client_ca;         // CA that client certificates must chain to
  std::vector<std::filesystem::path> crl;  // CRLs client certificates are checked against
};

// Sets the protocol policy of `ctx` and loads every file into it: Errc::io for a certificate or
// key that cannot be loaded or that do not match, and ClientTrust::load's errors for the client
// CA and CRLs. Returns the client trust now in use.
Result<ClientTrust> load_server_tls(boost::asio::ssl::context& ctx, const TlsFiles& tls);

// Loads every TLS file into a throwaway context, as start would.
Status check_server_tls(const TlsFiles& tls);

}  // namespace stek::server
