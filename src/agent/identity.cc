// The agent's own certificate, through the identity codec.
#include "identity.h"

#include <cstdio>
#include <memory>

#include <openssl/pem.h>

#include "stek/ossl_ptr.h"

#include "api/identity.h"

namespace stek::agent {

Result<CertIdentity> read_cert_identity(const std::filesystem::path& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "r"), &std::fclose);
  if (!file) return make_error(Errc::io, path.string() + ": cannot open");
  const UniquePtr<X509> cert(PEM_read_X509(file.get(), nullptr, nullptr, nullptr));
  if (!cert) return make_error(Errc::bad_format, path.string() + ": no PEM certificate");
  auto id = api::identity_from_certificate(cert.get());
  if (!id.ok()) {
    if (id.error().code == Errc::not_found) return CertIdentity{};
    return id.error().with_context(path.string());
  }
  if (id->kind == api::Identity::Kind::admin) {
    return make_error(Errc::invalid_argument,
                      path.string() +
                          ": an admin certificate (stek:admin:), not a host's: stekd "
                          "gives admins no keys");
  }
  return CertIdentity{std::move(id->name), std::move(id->domains)};
}

}  // namespace stek::agent
