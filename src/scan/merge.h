// stek-scan merge: reports taken from several vantage points (places, resolvers, source
// addresses) put side by side, to find one key name seen from more than one of them. Behind
// anycast each vantage point reaches one location; the same key name from two places means
// one STEK shared across locations, which no single vantage point can show. Pure: reports
// in, JSON and table out.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "stek/result.h"

#include "analysis.h"

namespace stek::scan {

inline constexpr std::string_view kMergeSchema = "stek-scan-merge/1";
inline constexpr std::size_t kMaxMergeReports = 64;

struct VantageReport {
  std::string vantage;  // what the report stands for (its file name)
  Json report;          // a stek-scan/1 JSON report
};

// Checks the reports' shape (schema stek-scan/1, endpoints with key names) and combines
// them: per key name, where it was seen; findings `shared_across_vantage_points` (warning)
// for every key name seen from two or more vantage points.
Result<Json> merge_reports(const std::vector<VantageReport>& reports);

void write_merge_table(std::ostream& out, const Json& merged);

// A report's string field, or "" when it is missing or not a string (reports are input).
std::string string_field(const Json& j, const char* key);

}  // namespace stek::scan
