// Combining reports from several vantage points.
#include "merge.h"

#include <map>
#include <ostream>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "report.h"

namespace stek::scan {

namespace {

struct Sighting {
  std::string vantage;
  std::string endpoint;
  std::string sni;
  std::string first_seen;
  std::string last_seen;
};

}  // namespace

std::string string_field(const Json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Result<Json> merge_reports(const std::vector<VantageReport>& reports) {
  if (reports.size() < 2 || reports.size() > kMaxMergeReports) {
    return make_error(Errc::invalid_argument,
                      fmt::format("merge needs 2 to {} reports", kMaxMergeReports));
  }
  std::map<std::string, std::vector<Sighting>> by_name;  // key name hex -> sightings
  Json vantages = Json::array();
  for (const VantageReport& r : reports) {
    const Json& doc = r.report;
    if (!doc.is_object() || string_field(doc, "schema") != kJsonSchema) {
      return make_error(
          Errc::invalid_argument,
          fmt::format("{}: not a stek-scan report (schema {} expected)", r.vantage, kJsonSchema));
    }
    const auto eps = doc.find("endpoints");
    if (eps == doc.end() || !eps->is_array()) {
      return make_error(Errc::invalid_argument, fmt::format("{}: no endpoints array", r.vantage));
    }
    std::size_t names = 0;
    for (const Json& e : *eps) {
      const auto keys = e.is_object() ? e.find("key_names") : e.end();
      if (!e.is_object() || keys == e.end() || !keys->is_array()) continue;
      for (const Json& k : *keys) {
        if (!k.is_object()) continue;
        const std::string name = string_field(k, "key_name");
        if (name.empty()) continue;
        ++names;
        by_name[name].push_back({r.vantage, string_field(e, "endpoint"), string_field(e, "sni"),
                                 string_field(k, "first_seen"), string_field(k, "last_seen")});
      }
    }
    vantages.push_back(Json{{"vantage", r.vantage},
                            {"mode", string_field(doc, "mode")},
                            {"started", string_field(doc, "started")},
                            {"endpoints", eps->size()},
                            {"key_names", names}});
  }

  Json keys = Json::array();
  Json findings = Json::array();
  for (const auto& [name, seen] : by_name) {
    std::set<std::string> from;
    Json where = Json::array();
    for (const Sighting& s : seen) {
      from.insert(s.vantage);
      where.push_back(Json{{"vantage", s.vantage},
                           {"endpoint", s.endpoint},
                           {"sni", s.sni},
                           {"first_seen", s.first_seen},
                           {"last_seen", s.last_seen}});
    }
    keys.push_back(Json{{"key_name", name}, {"vantage_points", from.size()}, {"seen", where}});
    if (from.size() < 2) continue;
    const std::vector<std::string> list(from.begin(), from.end());
    findings.push_back(
        Json{{"id", "shared_across_vantage_points"},
             {"severity", "warning"},
             {"vantage_points", list},
             {"summary", fmt::format("key {} was seen from {} vantage points ({}): one STEK shared "
                                     "by the locations they reached",
                                     name.substr(0, 8), list.size(), fmt::join(list, ", "))},
             {"evidence", Json{{"method", "key_name"}, {"key_name", name}, {"seen", where}}}});
  }
  return Json{{"schema", kMergeSchema},
              {"vantage_points", vantages},
              {"key_names", keys},
              {"findings", findings}};
}

void write_merge_table(std::ostream& out, const Json& merged) {
  out << "stek-scan merge: " << merged["vantage_points"].size() << " vantage points\n\n";
  out << "Vantage points\n";
  for (const Json& v : merged["vantage_points"]) {
    out << fmt::format("  {:<40} {:<8} {:>4} endpoints {:>5} key names\n",
                       v["vantage"].get<std::string>(), v["mode"].get<std::string>(),
                       v["endpoints"].get<std::size_t>(), v["key_names"].get<std::size_t>());
  }
  out << "\nKey names\n";
  for (const Json& k : merged["key_names"]) {
    std::vector<std::string> where;
    for (const Json& s : k["seen"]) {
      where.push_back(s["vantage"].get<std::string>() + ":" + s["endpoint"].get<std::string>());
    }
    out << fmt::format("  {}  {}\n", k["key_name"].get<std::string>(), fmt::join(where, ", "));
  }
  if (const auto cross = merged.find("cross_resumption"); cross != merged.end()) {
    out << "\nCross-resumption (tickets kept at one vantage point, offered at another's "
           "endpoints)\n";
    if (cross->empty()) out << "  no kept ticket to offer\n";
    for (const Json& o : *cross) {
      out << fmt::format("  {}:{} -> {}:{}  {} {:<9} {}\n", o["from_vantage"].get<std::string>(),
                         o["from_endpoint"].get<std::string>(), o["to_vantage"].get<std::string>(),
                         o["to_endpoint"].get<std::string>(), o["tls_version"].get<std::string>(),
                         o["result"].get<std::string>(), o["detail"].get<std::string>());
    }
  }
  out << "\nFindings\n";
  if (merged["findings"].empty()) out << "  none\n";
  for (const Json& f : merged["findings"]) {
    out << fmt::format("  [{}] {}: {}\n", f["severity"].get<std::string>(),
                       f["id"].get<std::string>(), f["summary"].get<std::string>());
  }
}

}  // namespace stek::scan
