// Prometheus text exposition format 0.0.4.
#include "metrics.h"

#include <fmt/format.h>

namespace stek::agent {

namespace {

// Label values escape backslash, double quote and newline.
std::string label(const std::string& value) {
  std::string out;
  for (const char c : value) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

template <class T>
void metric(std::string& out, const char* name, const char* type, const char* help,
            const std::string& labels, T value) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  out += fmt::format("{}{{{}}} {}\n", name, labels, value);
}

}  // namespace

std::string render_prometheus(const Metrics& m) {
  std::string out;
  const std::string domain = "domain=\"" + label(m.domain) + "\"";
  metric(out, "stek_agent_ring_version", "gauge", "Version of the ring this agent holds.", domain,
         m.ring_version);
  metric(out, "stek_agent_current_epoch", "gauge", "Epoch this agent serves now.", domain,
         m.current_epoch);
  metric(out, "stek_agent_runway_seconds", "gauge",
         "Seconds this agent can keep rotating on held keys without stekd.", domain,
         m.runway_seconds);
  metric(out, "stek_agent_serving", "gauge", "1 when a held key covers the current epoch.", domain,
         m.serving ? 1 : 0);
  metric(out, "stek_agent_keys_held", "gauge", "Keys held in memory.", domain, m.keys_held);
  metric(out, "stek_agent_keys_served", "gauge", "Keys given to servers (all roles).", domain,
         m.keys_served);
  metric(out, "stek_agent_last_sync_timestamp_seconds", "gauge",
         "Unix time of the last good answer from stekd, 0 if none.", domain, m.last_sync);
  metric(out, "stek_agent_sync_failures_total", "counter", "Failed attempts to sync with stekd.",
         domain, m.sync_failures);
  metric(out, "stek_agent_rings_accepted_total", "counter", "New ring versions accepted.", domain,
         m.rings_accepted);
  metric(out, "stek_agent_keys_erased_total", "counter", "Expired keys erased from memory.", domain,
         m.keys_erased);
  struct Field {
    const char* name;
    const char* type;
    const char* help;
    std::uint64_t SinkMetrics::*member;
  };
  static constexpr Field kFields[] = {
      {"stek_agent_sink_writes_total", "counter", "Files a sink wrote.", &SinkMetrics::writes},
      {"stek_agent_sink_reloads_total", "counter", "Server reloads a sink requested.",
       &SinkMetrics::reloads},
      {"stek_agent_sink_erasures_total", "counter", "Key files a sink erased.",
       &SinkMetrics::erasures},
      {"stek_agent_sink_failures_total", "counter", "Sink updates that failed.",
       &SinkMetrics::failures},
      {"stek_agent_sink_warnings", "gauge", "Configuration warnings of a sink's server.",
       &SinkMetrics::warnings},
  };
  for (const Field& f : kFields) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", f.name, f.help, f.name, f.type);
    for (const auto& [name, s] : m.sinks) {
      out += fmt::format("{}{{sink=\"{}\"}} {}\n", f.name, label(name), s.*(f.member));
    }
  }
  return out;
}

}  // namespace stek::agent
