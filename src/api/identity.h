// Who a client certificate says it is: the codec of stek's URI subjectAltNames
//   stek:host:<id>    a stek-agent's host
//   stek:domain:<id>  a domain that host serves (one or more)
//   stek:admin:<id>   an administrator (stekctl)
// stekd decodes the peer's certificate with it, stek-agent its own, and `stekctl pki`
// encodes with it, so all three apply one rule (docs/api.md, "Identities").
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/x509.h>

#include "stek/result.h"

namespace stek::api {

inline constexpr std::string_view kHostSanPrefix = "stek:host:";
inline constexpr std::string_view kDomainSanPrefix = "stek:domain:";
inline constexpr std::string_view kAdminSanPrefix = "stek:admin:";

struct Identity {
  enum class Kind { agent, admin };
  Kind kind = Kind::agent;
  std::string name;                  // the host id, or the admin's name
  std::vector<std::string> domains;  // agents: one or more, sorted, each once; admins: none

  // "host:<name>" or "admin:<name>": one key per identity, for per-identity limits.
  std::string key() const { return (kind == Kind::admin ? "admin:" : "host:") + name; }
  bool operator==(const Identity&) const = default;
};

// The rule, applied to the URI SANs that start with one of the prefixes above (others are
// ignored; an identical SAN given twice counts once):
//   agent: exactly one stek:host: id and at least one stek:domain: id, and no stek:admin:;
//   admin: exactly one stek:admin: id, and no stek:host: or stek:domain:.
// Ids are percent-decoded and must be valid domain ids (1..255 bytes of UTF-8 without control
// characters). Errors never quote the certificate: Errc::not_found when it names no host and
// no admin, Errc::bad_format for a malformed escape or an invalid id, Errc::invalid_argument
// when it breaks the rule (two hosts, host and admin, a host without a domain, ...).
Result<Identity> identity_from_uris(std::span<const std::string> uris);

// The URI subjectAltNames of a certificate, in order (other kinds of names are skipped).
std::vector<std::string> certificate_uris(const X509* cert);
// identity_from_uris(certificate_uris(cert)); Errc::not_found for no certificate.
Result<Identity> identity_from_certificate(const X509* cert);

// The URI SANs that name `id` (host first, then its domains in the given order, or the
// admin), ids percent-encoded: what a certificate for `id` must carry. Refuses
// (Errc::invalid_argument) an identity that identity_from_uris would refuse.
Result<std::vector<std::string>> identity_uris(const Identity& id);

}  // namespace stek::api
