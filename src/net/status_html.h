// Building blocks of the status pages stekd and stek-agent serve at GET / on their metrics
// listeners: the page frame with its one inline style block (no script, no external asset),
// times and durations as people read them, and escaping (every piece of text goes through
// esc(); names come from configuration and certificates).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace stek::net {

// The whole document: doctype, charset, a refresh every `refresh_seconds` (a meta refresh,
// no script), the shared style, `title` (escaped here) and `body` (markup, already escaped).
std::string html_page(std::string_view title, std::string_view body, int refresh_seconds);

// Text for an element or a quoted attribute: & < > " ' escaped (stek::escape_markup).
std::string esc(std::string_view text);

// "2026-12-01T22:00:00Z": Unix seconds in RFC 3339, UTC.
std::string utc_text(std::int64_t unix_seconds);

// "45 s", "12 min 5 s", "3 h 20 min", "2 d 4 h": a span of time, its two largest units; a
// negative span reads "-" followed by its length.
std::string duration_text(std::int64_t seconds);

// "2026-12-01T23:00:00Z (in 40 min)" or "2026-12-01T22:10:00Z (5 s ago)": `t` seen from `now`.
std::string when_text(std::int64_t t, std::int64_t now);

// One term and value of a <dl class="facts">; the <dd> gets `id`. `value_html` is markup.
std::string fact(std::string_view id, std::string_view term, std::string_view value_html);

// A small coloured label; `kind` is one of the style's badge classes: ok, warn, bad, idle.
std::string badge(std::string_view kind, std::string_view text);

}  // namespace stek::net
