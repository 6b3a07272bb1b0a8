// The URI SAN identity codec.
#include "api/identity.h"

#include <algorithm>

#include <openssl/x509v3.h>

#include "stek/derive.h"
#include "stek/ossl_ptr.h"

#include "api/percent.h"

namespace stek::api {

namespace {

// The decoded id after `prefix`, checked like a domain id. Messages name the kind of SAN
// ("host" for stek:host:), never its content.
Result<std::string> decode_id(std::string_view uri, std::string_view prefix) {
  const std::string what =
      "certificate's " + std::string(prefix.substr(5, prefix.size() - 6)) + " SAN";
  auto id = percent_decode(uri.substr(prefix.size()));
  if (!id.ok()) return id.error().with_context(what);
  if (auto valid = validate_domain_id(*id); !valid.ok()) {
    return make_error(Errc::bad_format, what + " holds an invalid id: " + valid.error().message);
  }
  return id;
}

void add_once(std::vector<std::string>& list, std::string id) {
  if (std::find(list.begin(), list.end(), id) == list.end()) list.push_back(std::move(id));
}

}  // namespace

Result<Identity> identity_from_uris(std::span<const std::string> uris) {
  std::vector<std::string> hosts;
  std::vector<std::string> domains;
  std::vector<std::string> admins;
  for (const std::string& uri : uris) {
    for (auto [prefix, list] :
         {std::pair{kHostSanPrefix, &hosts}, std::pair{kDomainSanPrefix, &domains},
          std::pair{kAdminSanPrefix, &admins}}) {
      if (!uri.starts_with(prefix)) continue;
      STEK_ASSIGN_OR_RETURN(std::string id, decode_id(uri, prefix));
      add_once(*list, std::move(id));
    }
  }
  if (!admins.empty()) {
    if (!hosts.empty() || !domains.empty()) {
      return make_error(Errc::invalid_argument,
                        "certificate names both an admin and a host or domain");
    }
    if (admins.size() > 1) {
      return make_error(Errc::invalid_argument, "certificate names more than one admin");
    }
    return Identity{Identity::Kind::admin, std::move(admins.front()), {}};
  }
  if (hosts.empty()) {
    return make_error(Errc::not_found, "certificate names no stek:host: or stek:admin: URI SAN");
  }
  if (hosts.size() > 1) {
    return make_error(Errc::invalid_argument, "certificate names more than one host");
  }
  if (domains.empty()) {
    return make_error(Errc::invalid_argument, "certificate names a host but no domain");
  }
  std::sort(domains.begin(), domains.end());
  return Identity{Identity::Kind::agent, std::move(hosts.front()), std::move(domains)};
}

std::vector<std::string> certificate_uris(const X509* cert) {
  std::vector<std::string> uris;
  if (cert == nullptr) return uris;
  // With no index, OpenSSL returns nothing when the extension is absent, malformed, or
  // present twice: such a certificate names no identity.
  const UniquePtr<GENERAL_NAMES> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return uris;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type != GEN_URI) continue;
    const ASN1_IA5STRING* s = name->d.uniformResourceIdentifier;
    uris.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                      static_cast<std::size_t>(ASN1_STRING_length(s)));
  }
  return uris;
}

Result<Identity> identity_from_certificate(const X509* cert) {
  if (cert == nullptr) return make_error(Errc::not_found, "no client certificate");
  return identity_from_uris(certificate_uris(cert));
}

Result<std::vector<std::string>> identity_uris(const Identity& id) {
  auto check = [](std::string_view what, const std::string& value) -> Status {
    if (auto valid = validate_domain_id(value); !valid.ok()) {
      return make_error(Errc::invalid_argument, std::string(what) + " " + quote_for_message(value) +
                                                    ": " + valid.error().message);
    }
    return {};
  };
  std::vector<std::string> uris;
  if (id.kind == Identity::Kind::admin) {
    STEK_TRY(check("admin", id.name));
    if (!id.domains.empty()) {
      return make_error(Errc::invalid_argument, "an admin identity names no domains");
    }
    uris.push_back(std::string(kAdminSanPrefix) + percent_encode(id.name));
    return uris;
  }
  STEK_TRY(check("host", id.name));
  if (id.domains.empty()) {
    return make_error(Errc::invalid_argument,
                      "host " + quote_for_message(id.name) + " needs at least one domain");
  }
  uris.push_back(std::string(kHostSanPrefix) + percent_encode(id.name));
  for (const std::string& domain : id.domains) {
    STEK_TRY(check("domain", domain));
    add_once(uris, std::string(kDomainSanPrefix) + percent_encode(domain));
  }
  return uris;
}

}  // namespace stek::api
