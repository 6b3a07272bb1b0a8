// URI SAN parsing for client identities.
#include "identity.h"

#include <openssl/x509v3.h>

#include <algorithm>

#include "stek/derive.h"

namespace stek::server {

namespace {

Result<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      return make_error(Errc::bad_format, "bad percent-encoding in certificate URI");
    }
    out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
    i += 2;
  }
  return out;
}

}  // namespace

Result<Identity> identity_from_uris(const std::vector<std::string>& uris) {
  std::vector<std::string> hosts;
  std::vector<std::string> admins;
  std::vector<std::string> domains;
  for (const std::string& uri : uris) {
    for (auto [prefix, list] : {std::pair{std::string_view("stek:host:"), &hosts},
                                std::pair{std::string_view("stek:domain:"), &domains},
                                std::pair{std::string_view("stek:admin:"), &admins}}) {
      if (uri.rfind(prefix, 0) != 0) continue;
      STEK_ASSIGN_OR_RETURN(std::string id, percent_decode(std::string_view(uri).substr(prefix.size())));
      if (auto ok = validate_domain_id(id); !ok.ok()) {
        return make_error(Errc::bad_format, "certificate names an invalid id after " + std::string(prefix));
      }
      if (std::find(list->begin(), list->end(), id) == list->end()) list->push_back(id);
    }
  }
  if (!admins.empty() && (!hosts.empty() || !domains.empty())) {
    return make_error(Errc::invalid_argument, "certificate names both an admin and a host or domain");
  }
  if (admins.size() > 1 || hosts.size() > 1) {
    return make_error(Errc::invalid_argument, "certificate names more than one admin or host");
  }
  if (admins.size() == 1) return Identity{Identity::Kind::admin, admins[0], {}};
  if (hosts.empty()) return make_error(Errc::not_found, "certificate names no stek host or admin");
  if (domains.empty()) return make_error(Errc::invalid_argument, "certificate names a host but no domain");
  std::sort(domains.begin(), domains.end());
  return Identity{Identity::Kind::agent, hosts[0], std::move(domains)};
}

Result<Identity> identity_from_certificate(X509* cert) {
  if (cert == nullptr) return make_error(Errc::not_found, "no client certificate");
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return make_error(Errc::not_found, "client certificate has no subjectAltName");
  std::vector<std::string> uris;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type != GEN_URI) continue;
    const ASN1_IA5STRING* s = n->d.uniformResourceIdentifier;
    uris.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                      static_cast<std::size_t>(ASN1_STRING_length(s)));
  }
  GENERAL_NAMES_free(names);
  return identity_from_uris(uris);
}

}  // namespace stek::server
