// The status pages' frame, style and text helpers.
#include "status_html.h"

#include <cstdio>
#include <ctime>
#include <iterator>
#include <limits>

#include "stek/bytes.h"

namespace stek::net {

namespace {

// One style for both programs' pages. The timeline is a row of flex boxes, one per epoch;
// its states are colours here, and each state also has a word in the box and in the legend,
// so the page reads without colour too.
constexpr std::string_view kStyle = R"(
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:72em;padding:0 1em;color:#222}
h1{font-size:1.5em;margin:0 0 .2em}h2{font-size:1.15em;margin:1.6em 0 .5em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3em .6em;border-bottom:1px solid #eee;vertical-align:top}
th{background:#f5f5f5;font-weight:600}td.num{font-variant-numeric:tabular-nums}
.note{color:#666}.mono{font-family:ui-monospace,monospace;font-size:.92em}
.badge{display:inline-block;padding:.05em .5em;border-radius:.8em;font-size:.9em;font-weight:600}
.badge.ok{background:#e3f4e4;color:#1b5e20}.badge.warn{background:#fff3cd;color:#7a5700}
.badge.bad{background:#fde2e1;color:#a4161a}.badge.idle{background:#eee;color:#555}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em;margin:.5em 0}dl.facts dt{color:#666}dl.facts dd{margin:0}
.timeline-row{display:grid;grid-template-columns:10em 1fr;gap:.8em;align-items:center;margin:.4em 0}
.timeline{display:flex;gap:2px}
.slot{flex:1 1 0;min-width:1.8em;height:2.4em;border-radius:3px;position:relative;display:flex;align-items:center;justify-content:center;font-size:.8em;overflow:hidden}
.slot.merged{flex-grow:3}
.slot.encrypting{background:#2e7d32;color:#fff;font-weight:700}
.slot.next{background:#81c784;color:#0b3d0f}
.slot.decrypt-only{background:#90caf9;color:#0d3c61}
.slot.pending{background:#f3f3f3;color:#555;border:1px dashed #999}
.slot.not-held{background:#fff;color:#999;border:1px dotted #bbb}
.slot.erased{background:repeating-linear-gradient(135deg,#eee 0 4px,#fafafa 4px 8px);color:#999}
.slot .now{position:absolute;top:0;bottom:0;width:2px;background:#d32f2f}
.legend{display:flex;flex-wrap:wrap;gap:1em;margin:.6em 0}.legend .slot{flex:none;width:2.4em;height:1.4em}
.legend span.item{display:flex;align-items:center;gap:.4em}
)";

}  // namespace

std::string esc(std::string_view text) {
  return escape_markup(text);
}

std::string html_page(std::string_view title, std::string_view body, int refresh_seconds) {
  std::string page = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  page += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  page += "<meta http-equiv=\"refresh\" content=\"" + std::to_string(refresh_seconds) + "\">";
  page += "<title>" + esc(title) + "</title><style>";
  page += kStyle;
  page += "</style></head>\n<body>\n";
  page += body;
  page += "</body></html>\n";
  return page;
}

std::string utc_text(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return std::to_string(unix_seconds);
  char text[80];  // room for any int the compiler cannot rule out
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return text;
}

std::string duration_text(std::int64_t seconds) {
  if (seconds < 0)
    return "-" + duration_text(seconds == std::numeric_limits<std::int64_t>::min()
                                   ? std::numeric_limits<std::int64_t>::max()
                                   : -seconds);
  struct Unit {
    std::int64_t seconds;
    const char* name;
  };
  static constexpr Unit kUnits[] = {{86400, "d"}, {3600, "h"}, {60, "min"}, {1, "s"}};
  for (std::size_t i = 0; i < std::size(kUnits); ++i) {
    const Unit& u = kUnits[i];
    if (seconds < u.seconds && u.seconds != 1) continue;
    std::string text = std::to_string(seconds / u.seconds) + " " + u.name;
    const std::int64_t rest = seconds % u.seconds;
    if (i + 1 < std::size(kUnits) && rest / kUnits[i + 1].seconds > 0) {
      text += " " + std::to_string(rest / kUnits[i + 1].seconds) + " " + kUnits[i + 1].name;
    }
    return text;
  }
  return "0 s";
}

std::string when_text(std::int64_t t, std::int64_t now) {
  return utc_text(t) + " (" +
         (t >= now ? "in " + duration_text(t - now) : duration_text(now - t) + " ago") + ")";
}

std::string fact(std::string_view id, std::string_view term, std::string_view value_html) {
  std::string out = "<dt>" + esc(term) + "</dt><dd id=\"" + esc(id) + "\">";
  out += value_html;
  return out + "</dd>";
}

std::string badge(std::string_view kind, std::string_view text) {
  return "<span class=\"badge " + esc(kind) + "\">" + esc(text) + "</span>";
}

}  // namespace stek::net
