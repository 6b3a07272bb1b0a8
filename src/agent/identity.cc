// URI SANs of the agent's certificate.
#include "identity.h"

#include <cstdio>
#include <memory>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

namespace stek::agent {

Result<std::string> percent_decode(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) {
      return make_error(Errc::bad_format, "truncated percent escape");
    }
    const int hi = hex(text[i + 1]);
    const int lo = hex(text[i + 2]);
    if (hi < 0 || lo < 0) return make_error(Errc::bad_format, "bad percent escape");
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

Result<CertIdentity> read_cert_identity(const std::filesystem::path& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "r"), &std::fclose);
  if (!file) return make_error(Errc::io, path.string() + ": cannot open");
  std::unique_ptr<X509, void (*)(X509*)> cert(PEM_read_X509(file.get(), nullptr, nullptr, nullptr),
                                              &X509_free);
  if (!cert) return make_error(Errc::bad_format, path.string() + ": no PEM certificate");
  CertIdentity id;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return id;
  std::unique_ptr<GENERAL_NAMES, void (*)(GENERAL_NAMES*)> guard(names, &GENERAL_NAMES_free);
  constexpr std::string_view kHost = "stek:host:";
  constexpr std::string_view kDomain = "stek:domain:";
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_URI) continue;
    const ASN1_STRING* s = name->d.uniformResourceIdentifier;
    std::string_view uri(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                         static_cast<std::size_t>(ASN1_STRING_length(s)));
    if (uri.substr(0, kHost.size()) == kHost) {
      auto v = percent_decode(uri.substr(kHost.size()));
      if (!v.ok()) return v.error().with_context(path.string() + ": host SAN");
      id.host = *v;
    } else if (uri.substr(0, kDomain.size()) == kDomain) {
      auto v = percent_decode(uri.substr(kDomain.size()));
      if (!v.ok()) return v.error().with_context(path.string() + ": domain SAN");
      id.domains.push_back(*v);
    }
  }
  return id;
}

}  // namespace stek::agent
