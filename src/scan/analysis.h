// From recorded connections to findings, the way measurement studies read tickets
// (Springall et al., "Measuring the Security Harm of TLS Crypto Shortcuts", IMC 2016):
// group tickets by their 16-byte key name; a key's observed life is last seen minus first
// seen. Pure: no I/O, no clock; the same ScanData always gives the same Analysis.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "observation.h"

namespace stek::scan {

using Json = nlohmann::ordered_json;

// RFC 8446 4.6.1: no ticket lifetime above seven days.
inline constexpr std::int64_t kSevenDaysSeconds = 7 * 24 * 3600;

enum class Severity { info, warning, critical };
std::string_view severity_name(Severity s);

struct KeyLife {
  KeyName name{};
  Millis first_seen_ms = 0;
  Millis last_seen_ms = 0;
  int tickets = 0;
  bool from_start = false;  // in use at the endpoint's first ticket: began before we looked
  bool to_end = false;      // in use at the endpoint's last ticket: may live on
  std::int64_t life_ms() const { return last_seen_ms - first_seen_ms; }
  bool complete() const { return !from_start && !to_end; }
};

struct RetiredCheck {
  KeyName name{};
  Millis issued_ms = 0;
  Millis checked_ms = 0;
  bool resumed = false;
  std::int64_t age_ms() const { return checked_ms - issued_ms; }
};

struct EndpointSummary {
  std::string endpoint;
  int connections = 0;
  int ok = 0;
  std::map<std::string, int> failures;  // status name -> count
  std::string last_failure;             // detail of the most recent failure
  int tickets = 0;
  int tickets_hidden = 0;  // tickets without a readable key name
  std::vector<std::size_t> hidden_lengths;
  std::vector<KeyLife> keys;         // in order of first appearance
  std::vector<Millis> rotations_ms;  // first sighting of every key name but the first
  std::vector<KeyName> sequence;     // key name of every ticket, in time order
  bool interleaved = false;          // a key name came back after another one
  std::optional<std::uint32_t> min_hint;
  std::optional<std::uint32_t> max_hint;
  std::optional<Millis> first_ticket_ms;
  std::optional<Millis> last_ticket_ms;
  std::int64_t resolution_ms = 0;  // longest gap between consecutive tickets
  std::vector<std::string> tls_versions;
  std::optional<CertCheck> cert;  // first full handshake's
  int resume_attempts = 0;        // kind resume, handshake ok
  int resumed = 0;
  int renewed = 0;
  std::vector<RetiredCheck> retired;
  std::vector<RetiredCheck> aged;     // older tickets offered at the end of a watch
  std::optional<LayoutGuess> layout;  // the endpoint's ticket layout, when it sent tickets
};

struct Finding {
  std::string id;
  Severity severity = Severity::info;
  std::vector<std::string> endpoints;
  std::string summary;
  Json evidence = Json::object();
};

struct Analysis {
  std::vector<EndpointSummary> endpoints;  // in the order endpoints were given
  std::vector<Finding> findings;           // most severe first, then by id and endpoint
  bool any_connection_ok = false;
  Severity worst() const;
};

Analysis analyze(const ScanData& data);

// "2024-05-01T12:00:00.250Z"
std::string utc_ms(Millis t);  // log::rfc3339_utc_ms

}  // namespace stek::scan
