// Collapsing an endpoint's fresh connections into runs.
#include "timeline.h"

#include <optional>

namespace stek::scan {

namespace {

std::optional<KeyName> first_key_name(const Connection& c) {
  for (const TicketSeen& t : c.tickets) {
    if (t.key_name) return t.key_name;
  }
  return std::nullopt;
}

}  // namespace

Json timeline_json(const ScanData& data, const std::string& endpoint) {
  Json runs = Json::array();
  struct Run {
    Millis from = 0;
    Millis to = 0;
    ProbeStatus status = ProbeStatus::ok;
    std::optional<KeyName> key_name;
    int probes = 0;
  };
  std::optional<Run> open;
  const auto close = [&] {
    if (!open) return;
    runs.push_back(
        Json{{"from", utc_ms(open->from)},
             {"to", utc_ms(open->to)},
             {"status", probe_status_name(open->status)},
             {"key_name", open->key_name ? Json(key_name_hex(*open->key_name)) : Json(nullptr)},
             {"probes", open->probes}});
    open.reset();
  };
  for (const Connection& c : data.connections) {
    if (c.endpoint != endpoint || c.kind != ConnKind::fresh) continue;
    const std::optional<KeyName> name = first_key_name(c);
    if (open && (open->status != c.status || open->key_name != name)) close();
    if (!open) open = Run{c.time_ms, c.time_ms, c.status, name, 0};
    open->to = c.time_ms;
    ++open->probes;
  }
  close();
  return runs;
}

}  // namespace stek::scan
