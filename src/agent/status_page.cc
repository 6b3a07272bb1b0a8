// The agent's status page: a facts list and a table of sinks.
#include "status_page.h"

#include "status_html.h"

namespace stek::agent {

using net::badge;
using net::duration_text;
using net::esc;
using net::fact;
using net::utc_text;
using net::when_text;

namespace {

constexpr int kRefreshSeconds = 15;

// The sink's health in one word, judged as /healthz judges it (a failing apply fails it).
std::string sink_health(const SinkMetrics& s) {
  if (s.failing) return badge("bad", "failing");
  if (!s.pid_file_problem.empty() || s.warnings > 0) return badge("warn", "warning");
  if (s.last_success == 0) return badge("idle", "not applied yet");
  return badge("ok", "ok");
}

std::string sink_row(const std::string& name, const SinkMetrics& s, UnixSeconds now) {
  std::string problem = s.failing ? esc(s.last_error) : "";
  if (!s.pid_file_problem.empty()) {
    problem += (problem.empty() ? "" : "; ") + esc(s.pid_file_problem);
  }
  return "<tr class=\"sink\" data-sink=\"" + esc(name) + "\"><td class=\"mono name\">" + esc(name) +
         "</td><td class=\"health\">" + sink_health(s) + "</td><td class=\"num mono applied\">" +
         (s.applied_version ? std::to_string(s.applied_version) : "-") + "</td><td>" +
         (s.last_success ? esc(when_text(s.last_success, now)) : "never") + "</td><td>" +
         (s.last_failure ? esc(when_text(s.last_failure, now)) : "never") +
         "</td><td class=\"num\">" + std::to_string(s.writes) + " / " + std::to_string(s.reloads) +
         " / " + std::to_string(s.failures) + "</td><td class=\"problem\">" + problem +
         "</td></tr>";
}

}  // namespace

std::string render_agent_status_page(const Metrics& m, const AgentPageFacts& f) {
  const UnixSeconds now = f.now;
  std::string b = "<h1>stek-agent" + (f.host.empty() ? "" : " " + esc(f.host)) + " " +
                  (f.health.healthy ? badge("ok", "healthy") : badge("bad", "unhealthy")) +
                  "</h1>\n";
  if (!f.health.text.empty()) b += "<p class=\"note\" id=\"health\">" + esc(f.health.text) + "</p>";
  b += "<dl class=\"facts\">";
  b += fact("now", "Now", esc(utc_text(now)));
  if (!f.host.empty()) b += fact("host", "Host", "<span class=\"mono\">" + esc(f.host) + "</span>");
  b += fact("domain", "Domain", esc(m.domain));
  b += fact("ring-version", "Ring version held",
            m.ring_version ? "<span class=\"mono\">" + std::to_string(m.ring_version) + "</span>"
                           : badge("bad", "no ring yet"));
  b += fact(
      "epoch", "Current epoch",
      std::to_string(m.current_epoch) + " " +
          (m.serving ? badge("ok", "a held key encrypts") : badge("bad", "no held key covers it")));
  b += fact("keys", "Keys",
            std::to_string(m.keys_held) + " held, " + std::to_string(m.keys_served) +
                " given to servers");
  b +=
      fact("runway", "Runway",
           f.runway_end ? "keys last until " + esc(when_text(*f.runway_end, now)) + " without stekd"
                        : badge("bad", "none"));
  b += fact("last-sync", "Last sync",
            m.last_sync ? esc(when_text(m.last_sync, now)) : std::string("never"));
  b += fact("sync-failures", "Sync failures", std::to_string(m.sync_failures));
  if (m.clock_skew) {
    b += fact("clock-skew", "Clock skew",
              "stekd's clock minus this host's: " + std::to_string(m.clock_skew->skew_ms) +
                  " ms (within " + std::to_string(m.clock_skew->uncertainty_ms) + " ms)");
  }
  b += "</dl>\n<h2>Sinks</h2>\n";
  if (m.sinks.empty()) b += "<p class=\"note\">No sink is configured.</p>";
  b += "<table id=\"sinks\"><thead><tr><th>Sink</th><th>Health</th><th>Applied ring</th>"
       "<th>Last success</th><th>Last failure</th><th>Writes / reloads / failures</th>"
       "<th>Problem</th></tr></thead><tbody>";
  for (const auto& [name, s] : m.sinks) b += sink_row(name, s, now);
  b += "</tbody></table>\n";
  b += "<p class=\"note\">Read-only. Key names at most, never key bytes. "
       "<a href=\"/metrics\">/metrics</a> &middot; <a href=\"/healthz\">/healthz</a></p>\n";
  return net::html_page("stek-agent " + (f.host.empty() ? m.domain : f.host), b, kRefreshSeconds);
}

}  // namespace stek::agent
