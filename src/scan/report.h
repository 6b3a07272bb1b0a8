// stek-scan's outputs: a table for people, JSON for programs (schema "stek-scan/1",
// documented in docs/stek-scan.md) and an SVG timeline for reports. Pure functions of the
// recorded data and its analysis. None of them prints key material: there is none in a
// scan, and the zero-key check reports only whether a key opened a ticket.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

#include "analysis.h"
#include "observation.h"

namespace stek::scan {

inline constexpr std::string_view kJsonSchema = "stek-scan/1";

struct TableOptions {
  bool connections = true;  // one line per connection before the summary
};
void write_table(std::ostream& out, const ScanData& data, const Analysis& analysis,
                 const TableOptions& options = {});

Json to_json(const ScanData& data, const Analysis& analysis);

// The report's text: indented like dump(2), except that each element of `connections` and
// `psk_ke` takes one line. A watch adds per probe only those lines, about 550 bytes a
// connection instead of 1.3 kB indented (a day at one probe a minute: docs/stek-scan.md).
std::string report_text(const Json& report);

// One row per endpoint, one colour per key name, a bar from a key's first to last ticket
// (times in its tooltip, and on it when it is wide enough), and the retired and aged
// tickets offered at the end of a watch as marks at the time they were tried: a circle
// resumed, a triangle refused (svg.cc).
std::string render_svg(const ScanData& data, const Analysis& analysis);

// Shared by the renderings: "HH:MM:SS.mmm" UTC, and a lifetime hint range ("-" for none).
std::string clock_ms(Millis t);
std::string hint_text(std::optional<std::uint32_t> lo, std::optional<std::uint32_t> hi);

}  // namespace stek::scan
