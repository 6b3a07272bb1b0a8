// The SVG timeline: one row per endpoint, one bar per key name from its first to its last
// ticket, rotations, every connection as a tick, and the retired and aged tickets offered
// at the end of a watch as marks whose shape says the result. Its size grows with the
// connections only (one short tick each), so a day's watch stays a few hundred kB.
#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "stek/bytes.h"

#include "args.h"
#include "report.h"

namespace stek::scan {

namespace {

// Distinct colours: a qualitative palette first, then hues spaced by the golden angle.
std::string key_colour(std::size_t i) {
  static constexpr const char* kPalette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759",
                                             "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
                                             "#9c755f", "#17becf", "#bcbd22", "#8c564b"};
  constexpr std::size_t n = sizeof kPalette / sizeof kPalette[0];
  if (i < n) return kPalette[i];
  const double hue = std::fmod(static_cast<double>(i) * 137.508, 360.0);
  return fmt::format("hsl({:.0f},65%,{}%)", hue, i % 2 == 0 ? 45 : 60);
}

// A tick step of 1, 2 or 5 times a power of ten seconds, or a round minute/hour/day step,
// that gives about `target` ticks over `span_ms`.
std::int64_t tick_step_ms(std::int64_t span_ms, int target) {
  static constexpr std::int64_t kSteps[] = {
      100,      200,      500,      1000,      2000,      5000,       10000,     15000,   30000,
      60000,    120000,   300000,   600000,    900000,    1800000,    3600000,   7200000, 10800000,
      21600000, 43200000, 86400000, 172800000, 604800000, 1209600000, 2592000000};
  for (std::int64_t s : kSteps) {
    if (span_ms / s <= target) return s;
  }
  return kSteps[std::size(kSteps) - 1];
}

constexpr const char* kResumedColour = "#2ca02c";
constexpr const char* kRefusedColour = "#d62728";

// A mark for one offered old ticket: a circle when it resumed, a triangle pointing down
// when it was refused (shape, not only colour, tells them apart).
std::string offer_mark(const char* what, double x, int y, bool resumed, const std::string& title) {
  if (resumed) {
    return fmt::format(
        "<circle class=\"{} resumed\" cx=\"{:.1f}\" cy=\"{}\" r=\"4\" fill=\"{}\"><title>{}"
        "</title></circle>\n",
        what, x, y, kResumedColour, title);
  }
  return fmt::format(
      "<path class=\"{} refused\" d=\"M{:.1f} {} l8 0 l-4 8 z\" fill=\"{}\"><title>{}</title>"
      "</path>\n",
      what, x - 4, y - 4, kRefusedColour, title);
}

}  // namespace

std::string render_svg(const ScanData& data, const Analysis& analysis) {
  constexpr int kWidth = 1000;
  constexpr int kLeft = 200;
  constexpr int kRight = 30;
  constexpr int kTop = 92;
  constexpr int kRow = 56;
  constexpr int kBar = 16;
  constexpr double kMarkGap = 9;  // marks closer than this are set side by side
  const int plot_w = kWidth - kLeft - kRight;
  const std::size_t rows = std::max<std::size_t>(1, analysis.endpoints.size());

  // Colours by first appearance of a key name anywhere.
  std::vector<KeyName> order;
  std::map<KeyName, std::vector<std::string>> seen_at;
  std::vector<std::pair<Millis, KeyName>> firsts;
  for (const EndpointSummary& s : analysis.endpoints) {
    for (const KeyLife& k : s.keys) {
      firsts.emplace_back(k.first_seen_ms, k.name);
      seen_at[k.name].push_back(s.endpoint);
    }
  }
  std::stable_sort(firsts.begin(), firsts.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::map<KeyName, std::size_t> colour_of;
  for (const auto& [t, name] : firsts) {
    if (colour_of.emplace(name, order.size()).second) order.push_back(name);
  }

  constexpr std::size_t kMaxLegend = 24;
  const std::size_t legend_items = std::min(order.size(), kMaxLegend);
  const int legend_rows = static_cast<int>((legend_items + 2) / 3) + (order.size() > kMaxLegend);
  const int plot_h = static_cast<int>(rows) * kRow;
  const int height = kTop + plot_h + 66 + legend_rows * 20 + 16;

  const Millis t0 = data.started_ms;
  const Millis t1 = std::max<Millis>(data.finished_ms, t0 + 1000);
  const double span = static_cast<double>(t1 - t0);
  auto x_of = [&](Millis t) {
    return kLeft + static_cast<double>(plot_w) * static_cast<double>(t - t0) / span;
  };

  std::string svg;
  auto add = [&](const std::string& s) { svg += s; };
  add(fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
      "font-size=\"12\">\n",
      kWidth, height));
  add(fmt::format("<rect width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>\n", kWidth, height));
  std::size_t warnings = 0;
  for (const Finding& f : analysis.findings) warnings += f.severity != Severity::info;
  add(
      fmt::format("<text x=\"16\" y=\"24\" font-size=\"16\" font-weight=\"bold\">stek-scan {}: "
                  "session ticket key names over time</text>\n",
                  mode_name(data.mode)));
  add(
      fmt::format("<text x=\"16\" y=\"44\" fill=\"#444\">{} .. {} UTC ({}){} · {} key "
                  "name{} · {} finding{} at warning or above</text>\n",
                  escape_markup(utc_ms(t0)), clock_ms(data.finished_ms),
                  format_duration_ms(data.finished_ms - t0),
                  data.mode == Mode::watch
                      ? fmt::format(", a connection every {}", format_duration_ms(data.every_ms))
                      : std::string(),
                  order.size(), order.size() == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s"));

  // Time axis with grid lines: the UTC time of each tick, and the time since the start.
  const std::int64_t step = tick_step_ms(t1 - t0, 8);
  for (std::int64_t off = 0; t0 + off <= t1; off += step) {
    const double x = x_of(t0 + off);
    const std::string at = clock_ms(t0 + off);
    add(
        fmt::format("<line class=\"tick\" x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" "
                    "stroke=\"#e3e3e3\"/>\n",
                    x, kTop - 6, kTop + plot_h));
    add(
        fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\" fill=\"#333\" "
                    "font-size=\"10\">{}</text>\n",
                    x, kTop - 24, step % 1000 == 0 ? at.substr(0, 8) : at));
    add(
        fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\" fill=\"#777\" "
                    "font-size=\"10\">+{}</text>\n",
                    x, kTop - 10, off == 0 ? "0s" : format_duration_ms(off)));
  }

  for (std::size_t r = 0; r < analysis.endpoints.size(); ++r) {
    const EndpointSummary& s = analysis.endpoints[r];
    const int y = kTop + static_cast<int>(r) * kRow;
    const int mid = y + kRow / 2;
    if (r % 2 == 0) {
      add(fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#f6f7f9\"/>\n",
                      kLeft, y, plot_w, kRow));
    }
    add(fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-weight=\"bold\">{}</text>\n",
                    kLeft - 10, mid - 2, escape_markup(s.endpoint)));
    add(fmt::format(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#666\" "
        "font-size=\"10\">{} key{}, {} rotation{}, hint {}</text>\n",
        kLeft - 10, mid + 11, s.keys.size(), s.keys.size() == 1 ? "" : "s", s.rotations_ms.size(),
        s.rotations_ms.size() == 1 ? "" : "s", hint_text(s.min_hint, s.max_hint)));
    for (const KeyLife& k : s.keys) {
      const double x0 = x_of(k.first_seen_ms);
      const double w = std::max(4.0, x_of(k.last_seen_ms) - x0);
      add(fmt::format(
          "<rect class=\"key\" x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" rx=\"3\" "
          "fill=\"{}\"><title>{} on {}: first seen {}, last seen {} ({})</title></rect>\n",
          x0, mid - kBar / 2, w, kBar, key_colour(colour_of[k.name]), key_name_hex(k.name),
          escape_markup(s.endpoint), utc_ms(k.first_seen_ms), utc_ms(k.last_seen_ms),
          format_duration_ms(k.life_ms())));
      // The times on the bar itself, when they fit.
      if (w >= 120) {
        add(
            fmt::format("<text x=\"{:.1f}\" y=\"{}\" font-size=\"9\" fill=\"#fff\">{} – {}"
                        "</text>\n",
                        x0 + 3, mid + 3, clock_ms(k.first_seen_ms).substr(0, 8),
                        clock_ms(k.last_seen_ms).substr(0, 8)));
      }
    }
    for (Millis t : s.rotations_ms) {
      const double x = x_of(t);
      add(
          fmt::format("<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#222\" "
                      "stroke-width=\"1.5\"/>\n",
                      x, mid - kBar / 2 - 4, mid + kBar / 2 + 4));
    }
    // Each connection: a tick below the bar (black: ticket with a name, grey: no ticket or a
    // hidden name, red cross: failed).
    for (const Connection& c : data.connections) {
      if (c.endpoint != s.endpoint) continue;
      const double x = x_of(c.time_ms);
      if (c.status != ProbeStatus::ok) {
        add(
            fmt::format("<path d=\"M{0:.1f} {1} l6 6 m0 -6 l-6 6\" stroke=\"#d62728\" "
                        "stroke-width=\"1.6\"><title>{2}: {3}</title></path>\n",
                        x - 3, y + 3, probe_status_name(c.status), escape_markup(c.detail)));
        continue;
      }
      const bool named = !c.tickets.empty() && c.tickets.back().key_name.has_value();
      add(
          fmt::format("<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"{3}\" "
                      "stroke-width=\"1\"/>\n",
                      x, mid + kBar / 2 + 2, mid + kBar / 2 + 7, named ? "#333" : "#aaa"));
    }
    // Retired key names' tickets (above the bar) and aged tickets (below the ticks), at the
    // time each was offered. Offers made seconds apart at the end of a long watch would
    // cover one another: each is set one mark to the left of the next (its tooltip gives
    // the exact times).
    auto marks = [&](const std::vector<RetiredCheck>& checks, const char* what, int lane) {
      std::vector<const RetiredCheck*> sorted;
      for (const RetiredCheck& c : checks) sorted.push_back(&c);
      std::stable_sort(sorted.begin(), sorted.end(),
                       [](const auto* a, const auto* b) { return a->checked_ms > b->checked_ms; });
      double prev = kWidth;
      for (const RetiredCheck* c : sorted) {
        const double x = std::max<double>(kLeft, std::min(x_of(c->checked_ms), prev - kMarkGap));
        prev = x;
        const bool named = c->name != KeyName{};
        const std::string title =
            fmt::format("{} ticket{}{}, issued {}, offered {} (age {}): {}", what,
                        named ? " of key " : "", named ? key_name_hex(c->name).substr(0, 16) : "",
                        utc_ms(c->issued_ms), utc_ms(c->checked_ms),
                        format_duration_ms(c->age_ms()), c->resumed ? "resumed" : "refused");
        add(offer_mark(what, x, lane, c->resumed, title));
      }
    };
    marks(s.retired, "retired", y + 7);
    marks(s.aged, "aged", mid + kBar / 2 + 16);
  }
  add(
      fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" "
                  "stroke=\"#bbb\"/>\n",
                  kLeft, kTop, plot_w, plot_h));

  // Legend: what the marks mean, then colour, key name prefix, where it was seen.
  int ly = kTop + plot_h + 28;
  add(
      fmt::format("<text x=\"16\" y=\"{}\" fill=\"#444\">Bars: a key name, first to last ticket "
                  "(times in the tooltip). Black lines: rotations. Ticks: connections (grey: no "
                  "key name). Red crosses: failed.</text>\n",
                  ly - 8));
  add(offer_mark("legend", 22, ly + 8, true, "resumed"));
  add(offer_mark("legend", 92, ly + 8, false, "refused"));
  add(
      fmt::format("<text x=\"30\" y=\"{0}\" fill=\"#444\">resumed</text><text x=\"100\" "
                  "y=\"{0}\" fill=\"#444\">refused: an old ticket offered at the end of a watch "
                  "(top of a row: a retired key name's; bottom: an aged one, any layout)</text>\n",
                  ly + 12));
  ly += 30;
  for (std::size_t i = 0; i < legend_items; ++i) {
    const int col = static_cast<int>(i % 3);
    const int row = static_cast<int>(i / 3);
    const int x = 16 + col * 320;
    const int yy = ly + row * 20;
    const auto& eps = seen_at[order[i]];
    add(fmt::format("<rect x=\"{}\" y=\"{}\" width=\"14\" height=\"12\" rx=\"2\" fill=\"{}\"/>\n",
                    x, yy - 10, key_colour(i)));
    add(
        fmt::format("<text x=\"{}\" y=\"{}\"><tspan font-family=\"DejaVu Sans Mono, monospace\">{}"
                    "</tspan><tspan dx=\"10\" fill=\"#666\">{}</tspan></text>\n",
                    x + 20, yy, key_name_hex(order[i]).substr(0, 12),
                    eps.size() > 1 ? fmt::format("shared by {} endpoints", eps.size())
                                   : escape_markup(eps.front())));
  }
  if (order.size() > kMaxLegend) {
    add(fmt::format("<text x=\"16\" y=\"{}\" fill=\"#666\">… and {} more key names</text>\n",
                    ly + (legend_rows - 1) * 20, order.size() - kMaxLegend));
  }
  add("</svg>\n");
  return svg;
}

}  // namespace stek::scan
