// merge_reports: key names seen from several vantage points, and refusal of what is not a
// stek-scan report.
#include "merge.h"

#include <sstream>

#include <gtest/gtest.h>

namespace stek::scan {
namespace {

Json vantage_report(const std::string& endpoint, const std::vector<std::string>& names) {
  Json keys = Json::array();
  for (const std::string& n : names) {
    keys.push_back(Json{{"key_name", n}, {"first_seen", "t0"}, {"last_seen", "t1"}});
  }
  return Json{
      {"schema", "stek-scan/1"},
      {"mode", "once"},
      {"started", "t0"},
      {"endpoints",
       Json::array({Json{{"endpoint", endpoint}, {"sni", "example.com"}, {"key_names", keys}}})}};
}

const std::string kShared(32, 'a');
const std::string kOwnB(32, 'b');
const std::string kOwnC(32, 'c');

TEST(Merge, AKeyNameSeenFromTwoVantagePointsIsAFinding) {
  auto merged = merge_reports({{"fra", vantage_report("192.0.2.1:443", {kShared})},
                               {"sfo", vantage_report("192.0.2.1:443", {kShared, kOwnB})},
                               {"nrt", vantage_report("192.0.2.1:443", {kOwnC})}});
  ASSERT_TRUE(merged.ok());
  const Json& f = (*merged)["findings"];
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0]["id"], "shared_across_vantage_points");
  EXPECT_EQ(f[0]["vantage_points"], Json::array({"fra", "sfo"}));
  EXPECT_EQ(f[0]["evidence"]["key_name"], kShared);
  EXPECT_EQ((*merged)["key_names"].size(), 3u);
  std::ostringstream table;
  write_merge_table(table, *merged);
  EXPECT_NE(table.str().find("shared_across_vantage_points"), std::string::npos);
}

TEST(Merge, DistinctKeysEverywhereGiveNoFinding) {
  auto merged = merge_reports({{"fra", vantage_report("192.0.2.1:443", {kOwnB})},
                               {"sfo", vantage_report("192.0.2.1:443", {kOwnC})}});
  ASSERT_TRUE(merged.ok());
  EXPECT_TRUE((*merged)["findings"].empty());
}

TEST(Merge, OneKeyTwiceInOneReportIsNotAcrossVantagePoints) {
  Json doc = vantage_report("192.0.2.1:443", {kShared});
  doc["endpoints"].push_back(doc["endpoints"][0]);
  auto merged = merge_reports({{"fra", doc}, {"sfo", vantage_report("192.0.2.1:443", {kOwnB})}});
  ASSERT_TRUE(merged.ok());
  EXPECT_TRUE((*merged)["findings"].empty());
}

TEST(Merge, RefusesWhatIsNotAReportAndTooFewReports) {
  const Json good = vantage_report("192.0.2.1:443", {kShared});
  EXPECT_FALSE(merge_reports({{"a", good}}).ok());
  EXPECT_FALSE(merge_reports({{"a", good}, {"b", Json{{"schema", "other"}}}}).ok());
  EXPECT_FALSE(merge_reports({{"a", good}, {"b", Json::array()}}).ok());
  Json no_endpoints = good;
  no_endpoints["endpoints"] = "x";
  EXPECT_FALSE(merge_reports({{"a", good}, {"b", no_endpoints}}).ok());
  // Odd members inside are skipped, not trusted.
  Json odd = good;
  odd["endpoints"].push_back(7);
  odd["endpoints"].push_back(Json{{"key_names", Json::array({1, Json{{"key_name", 3}}})}});
  EXPECT_TRUE(merge_reports({{"a", good}, {"b", odd}}).ok());
}

}  // namespace
}  // namespace stek::scan
