// The literal parts of stekd's HTTP API (docs/api.md): paths, header names and query
// parameter names, so stekd, stek-agent and stekctl spell them once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "stek/result.h"

namespace stek::api {

// Agent API (mutual TLS, host identities).
inline constexpr std::string_view kKeyringPath = "/v1/keyring";
inline constexpr std::string_view kDomainParam = "domain";
inline constexpr std::string_view kWaitParam = "wait";
inline constexpr std::string_view kTimeoutParam = "timeout";
// On 200 and 304 answers: the ring version (decimal wire value, see ring_version.h).
inline constexpr std::string_view kRingVersionHeader = "X-Stek-Ring-Version";
// On 200 and 304 answers: the identity of that ring version's keys (ring_id.h), so an agent
// can tell two servers that answer one version with different keys (split brain).
inline constexpr std::string_view kRingIdHeader = "X-Stek-Ring-Id";
// On 200 and 304 answers, for the agent's clock-skew estimate (docs/api.md): stekd's wall
// clock when it made the answer, in milliseconds since the Unix epoch (a second's resolution,
// as in `Date`, is too coarse for short intervals), and how long it held the request before
// answering (a long poll), in milliseconds, so the agent can take the hold out of the round trip.
inline constexpr std::string_view kServerTimeHeader = "X-Stek-Time-Ms";
inline constexpr std::string_view kHeldHeader = "X-Stek-Held-Ms";
// The value of a milliseconds header: a non-negative decimal integer. Errors name `what`.
Result<std::int64_t> parse_millis(std::string_view text, std::string_view what);

// Admin API (mutual TLS, admin identities).
inline constexpr std::string_view kAdminPrefix = "/v1/admin/";
inline constexpr std::string_view kAdminStatusPath = "/v1/admin/status";
inline constexpr std::string_view kAdminAgentsPath = "/v1/admin/agents";
inline constexpr std::string_view kAdminDomainsPrefix = "/v1/admin/domains/";
inline constexpr std::string_view kRotateSecretSuffix = "/rotate-secret";
// GET lists the denied hosts; POST/DELETE /v1/admin/deny/<host> adds/removes one.
inline constexpr std::string_view kAdminDenyPath = "/v1/admin/deny";

// /v1/admin/deny/<host>, the host percent-encoded.
std::string deny_host_path(std::string_view host);
// The decoded host of a deny path: Errc::not_found when `path` is not one,
// Errc::bad_format when its percent-encoding is malformed.
Result<std::string> deny_path_host(std::string_view path);

// Metrics port (plain HTTP, no keys).
inline constexpr std::string_view kMetricsPath = "/metrics";
inline constexpr std::string_view kHealthPath = "/healthz";
inline constexpr std::string_view kStatusPagePath = "/";

// A request target split at the first '?': "/v1/keyring?wait=1" -> {"/v1/keyring", "wait=1"}.
struct Target {
  std::string_view path;
  std::string_view query;  // without the '?'; empty when there is none
};
Target split_target(std::string_view target);

// POST /v1/admin/domains/<domain>/rotate-secret, the domain percent-encoded.
std::string rotate_secret_path(std::string_view domain);
// The decoded domain of a rotate-secret path: Errc::not_found when `path` is not one (404),
// Errc::bad_format when the domain's percent-encoding is malformed (400).
Result<std::string> rotate_secret_domain(std::string_view path);

}  // namespace stek::api
