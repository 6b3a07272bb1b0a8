// stekd's status page (GET / on the metrics listener): health, schedule and runway, domains
// with their ring versions, each domain's key timeline, and the agents with the ring each
// holds. Read-only; key names at most, never key bytes; every string escaped (net::esc).
#include <algorithm>
#include <map>

#include "status_html.h"
#include "status_render.h"
#include "status_timeline.h"

namespace stek::server {

using net::badge;
using net::duration_text;
using net::esc;
using net::fact;
using net::utc_text;
using net::when_text;

namespace {

// The page reloads itself this often (a meta refresh: the page has no script).
constexpr int kRefreshSeconds = 30;
// Rows of the agents table; beyond it the page counts the rest.
constexpr std::size_t kMaxAgentRows = 500;

std::string num(std::int64_t v) {
  return std::to_string(v);
}

// "1 epoch", "18 epochs".
std::string epochs(std::int64_t n) {
  return num(n) + (n == 1 ? " epoch" : " epochs");
}

std::string header(const ServerStatus& s, const Schedule& served) {
  std::string h =
      "<h1>stekd " +
      (s.healthy && !s.health_failing ? badge("ok", "healthy") : badge("bad", "unhealthy")) +
      "</h1>\n";
  if (!s.health_text.empty()) h += "<p class=\"note\" id=\"health\">" + esc(s.health_text) + "</p>";
  h += "<dl class=\"facts\">";
  h += fact("now", "Now", esc(utc_text(s.now)));
  h += fact("epoch", "Epoch",
            "<span class=\"mono\" data-epoch=\"" + num(s.epoch) + "\">" + num(s.epoch) +
                "</span> since " + esc(utc_text(served.epoch_start(s.epoch))) + ", next boundary " +
                esc(when_text(served.epoch_start(s.epoch + 1), s.now)));
  h += fact("schedule", "Schedule",
            "interval " + esc(duration_text(s.schedule.interval)) + ", history " +
                epochs(s.schedule.history) + ", look-ahead " + epochs(s.schedule.lookahead) +
                "; tickets live at most " + esc(duration_text(s.lifetime_hint)));
  if (served.history() != s.schedule.history || served.lookahead() != s.schedule.lookahead) {
    h += fact("transition", "Transition",
              "keys of the previous schedule are kept: served with history " +
                  epochs(served.history()) + ", look-ahead " + epochs(served.lookahead()));
  }
  if (s.epochs_held) {
    const UnixSeconds end = served.epoch_start(s.epochs_held->last + 1);
    h += fact("runway", "Runway",
              "secrets made through epoch " + num(s.epochs_held->last) +
                  ": an agent holding the current ring rotates without stekd until " +
                  esc(when_text(end, s.now)));
  } else {
    h += fact("runway", "Runway", badge("bad", "no epoch secret held"));
  }
  std::string alarms;
  if (s.audit_failing) alarms += badge("bad", "audit log cannot be written") + " ";
  if (s.clock_step_alarm) {
    alarms += badge("bad", "clock step refused: wall clock " + duration_text(s.clock_offset) +
                               " off the trusted time") +
              " ";
  }
  h += fact("alarms", "Alarms", alarms.empty() ? badge("ok", "none") : alarms);
  h += fact("counts", "Secrets",
            num(static_cast<std::int64_t>(s.epoch_secrets_held)) + " epoch secrets held, " +
                std::to_string(s.erasures_total) + " erased since start");
  return h + "</dl>\n";
}

bool serves(const AgentStatus& a, const std::string& domain) {
  return std::find(a.domains.begin(), a.domains.end(), domain) != a.domains.end();
}

std::string domains_section(const ServerStatus& s) {
  std::string t =
      "<h2>Domains</h2>\n<table id=\"domains\"><thead><tr><th>Domain</th><th>Ring version</th>"
      "<th>Domain secret</th><th>Keys</th><th>Agents (fresh / seen)</th></tr></thead><tbody>";
  // One pass over the agents (a fleet may have many thousands): fresh and seen per domain.
  std::map<std::string, std::pair<std::size_t, std::size_t>> counts;
  for (const AgentStatus& a : s.agents) {
    for (const std::string& d : a.domains) {
      counts[d].first += !a.stale;
      ++counts[d].second;
    }
  }
  for (const DomainStatus& d : s.domains) {
    const auto [fresh, seen] = counts[d.name];
    t += "<tr class=\"domain\" data-domain=\"" + esc(d.name) + "\"><td class=\"name\">" +
         esc(d.name) + "</td><td class=\"num ring-version mono\">" +
         std::to_string(d.ring_version) + "</td><td class=\"num\">version " +
         std::to_string(d.secret_version) + "</td><td>" +
         (d.per_host ? "one set per host" : "shared by its hosts") + "</td><td class=\"num\">" +
         std::to_string(fresh) + " / " + std::to_string(seen) + "</td></tr>";
  }
  return t + "</tbody></table>\n";
}

std::string slot_title(const TimelineSlot& slot, const Schedule& served) {
  std::string t = slot.first == slot.last ? "epoch " + num(slot.first)
                                          : "epochs " + num(slot.first) + " to " + num(slot.last);
  t += ": " + std::string(slot_state_name(slot.state)) + "; from " +
       utc_text(served.epoch_start(slot.first)) + " to " +
       utc_text(served.epoch_start(slot.last + 1));
  if (slot.state != SlotState::erased && slot.state != SlotState::not_held) {
    t += "; valid until " + utc_text(served.not_after(slot.last));
  }
  if (slot.key) {
    t += "; key " + slot.key->name_hex + ", domain secret version " +
         std::to_string(slot.key->secret_version);
  }
  return t;
}

std::string slot_html(const TimelineSlot& slot, const ServerStatus& s, const Schedule& served) {
  const std::string state(slot_state_name(slot.state));
  std::string label = slot.first == slot.last ? "" : num(slot.last - slot.first + 1) + " x ";
  const Epoch offset = slot.last - s.epoch;
  label += offset == 0 ? "now" : (offset > 0 ? "+" : "") + num(offset);
  std::string html = "<div class=\"slot " + state + (slot.first == slot.last ? "" : " merged") +
                     "\" data-epoch=\"" + num(slot.first) + "\" data-last-epoch=\"" +
                     num(slot.last) + "\" data-state=\"" + state + "\" title=\"" +
                     esc(slot_title(slot, served)) + "\">" + esc(label);
  if (slot.state == SlotState::encrypting) {
    // Where in the epoch "now" is, as a line across the slot.
    const std::int64_t into = std::clamp<std::int64_t>(
        (s.now - served.epoch_start(s.epoch)) * 100 / served.interval(), 0, 100);
    html += "<span class=\"now\" style=\"left:" + num(into) + "%\"></span>";
  }
  return html + "</div>";
}

std::string timeline_section(const ServerStatus& s, const Schedule& served) {
  std::string t =
      "<h2>Key timeline</h2>\n<p class=\"note\">One box per epoch of " +
      esc(duration_text(served.interval())) +
      ", numbered from the current one; hover a box for its times and key name. The red line "
      "is now.</p>\n<div class=\"legend\">";
  for (SlotState st : {SlotState::encrypting, SlotState::next, SlotState::decrypt_only,
                       SlotState::pending, SlotState::erased, SlotState::not_held}) {
    const std::string name(slot_state_name(st));
    t += "<span class=\"item\"><span class=\"slot " + name + "\"></span>" + name + "</span>";
  }
  t += "</div>\n";
  for (const DomainStatus& d : s.domains) {
    const auto slots = key_timeline(served, s.epoch, s.epochs_held, d.keys, d.keys_known);
    t += "<div class=\"timeline-row\"><div class=\"name\">" + esc(d.name) +
         "</div><div class=\"timeline\" data-domain=\"" + esc(d.name) + "\">";
    for (const TimelineSlot& slot : slots) t += slot_html(slot, s, served);
    t += "</div></div>\n";
  }
  return t;
}

std::string agent_row(const AgentStatus& a, const ServerStatus& s, const Schedule& served) {
  std::string domains;
  for (const auto& d : a.domains) domains += (domains.empty() ? "" : ", ") + esc(d);
  std::string held = "-";
  if (a.served || a.claimed_ring_version) {
    const std::uint64_t v = a.served ? a.served->ring_version : *a.claimed_ring_version;
    const bool current = std::any_of(s.domains.begin(), s.domains.end(), [&](const auto& d) {
      return serves(a, d.name) && d.ring_version == v;
    });
    held = "<span class=\"mono ring-version\">" + std::to_string(v) + "</span> " +
           (a.served ? "sent " + esc(utc_text(a.served->at)) : std::string("claimed")) + " " +
           (current ? badge("ok", "current") : badge("warn", "not the current ring"));
  }
  const std::optional<Epoch> through =
      a.served ? std::optional<Epoch>(a.served->through_epoch) : a.holds_through_epoch;
  const std::string runway =
      through ? esc(when_text(served.epoch_start(*through + 1), s.now)) : "-";
  return "<tr class=\"agent\" data-host=\"" + esc(a.host) + "\"><td class=\"host mono\">" +
         esc(a.host) + "</td><td class=\"domains\">" + domains + "</td><td class=\"mono\">" +
         esc(a.address) + "</td><td>" + esc(when_text(a.last_seen, s.now)) + "</td><td>" +
         (a.stale ? badge("bad", "stale") : badge("ok", "fresh")) + " " +
         (a.connected ? badge("ok", "connected") : badge("idle", "not connected")) +
         "</td><td class=\"held\">" + held + "</td><td>" + (through ? num(*through) : "-") +
         "</td><td class=\"runway\">" + runway + "</td></tr>";
}

std::string agents_section(const ServerStatus& s, const Schedule& served) {
  std::string t = "<h2>Agents</h2>\n";
  if (s.agents.empty()) t += "<p class=\"note\">No agent has asked for its ring since start.</p>";
  // Stale agents first (they need a look), then by host; a fleet of many thousands gets a
  // page of bounded size, the rest is in `stekctl agents`.
  std::vector<const AgentStatus*> order;
  for (const AgentStatus& a : s.agents) order.push_back(&a);
  std::stable_sort(order.begin(), order.end(),
                   [](const AgentStatus* x, const AgentStatus* y) { return x->stale > y->stale; });
  t += "<table id=\"agents\"><thead><tr><th>Host</th><th>Domains</th><th>Address</th>"
       "<th>Last seen</th><th>Freshness</th><th>Ring version held</th>"
       "<th>Keys through epoch</th><th>Runway without stekd</th></tr></thead><tbody>";
  for (std::size_t i = 0; i < order.size() && i < kMaxAgentRows; ++i) {
    t += agent_row(*order[i], s, served);
  }
  t += "</tbody></table>\n";
  if (order.size() > kMaxAgentRows) {
    t += "<p class=\"note\" id=\"agents-omitted\">" + std::to_string(order.size() - kMaxAgentRows) +
         " more agents not shown (stale ones come first); <span class=\"mono\">stekctl "
         "agents</span> "
         "lists every one.</p>\n";
  }
  t += "<h2>Sinks</h2>\n<p class=\"note\" id=\"sinks\">stekd does not see the servers its agents "
       "feed. Each agent shows its sinks' health on its own status page (GET / on its "
       "<span class=\"mono\">metrics_listen</span> address) and in "
       "<span class=\"mono\">stek_agent_sink_failing</span> on its /metrics.</p>\n";
  return t;
}

}  // namespace

std::string render_status_page(const ServerStatus& s) {
  // A snapshot always holds a valid schedule; the fallback only keeps the page whole.
  const auto made = Schedule::make(s.served_schedule.value_or(s.schedule));
  const Schedule served = made.ok() ? *made : Schedule::standard();
  std::string body = header(s, served);
  body += domains_section(s);
  body += timeline_section(s, served);
  body += agents_section(s, served);
  body +=
      "<p class=\"note\">Read-only. Key names only, never key bytes. "
      "<a href=\"/metrics\">/metrics</a> &middot; <a href=\"/healthz\">/healthz</a></p>\n";
  return net::html_page("stekd status", body, kRefreshSeconds);
}

}  // namespace stek::server
