// The shared Prometheus text renderer: escaping, sample lines, families.
#include "prometheus.h"

#include <cstdint>
#include <limits>

#include <gtest/gtest.h>

namespace stek::net {
namespace {

TEST(PrometheusLabels, EscapeBackslashQuoteAndLineFeedOnly) {
  EXPECT_EQ(escape_label_value("eu-west"), "eu-west");
  EXPECT_EQ(escape_label_value("a\\b"), "a\\\\b");
  EXPECT_EQ(escape_label_value("say \"hi\""), "say \\\"hi\\\"");
  EXPECT_EQ(escape_label_value("two\nlines"), "two\\nlines");
  EXPECT_EQ(escape_label_value("tab\there <b>"), "tab\there <b>");
  EXPECT_EQ(escape_label_value(""), "");
}

TEST(PrometheusText, SingleRendersHelpTypeAndUnlabelledSample) {
  PrometheusText m;
  m.single("stek_domains", MetricType::gauge, "Configured domains", std::size_t{2});
  m.single("stek_erasures_total", MetricType::counter, "Secrets erased", std::uint64_t{0});
  EXPECT_EQ(m.text(),
            "# HELP stek_domains Configured domains\n# TYPE stek_domains gauge\nstek_domains 2\n"
            "# HELP stek_erasures_total Secrets erased\n# TYPE stek_erasures_total counter\n"
            "stek_erasures_total 0\n");
}

TEST(PrometheusText, LabelledSamplesJoinLabelsWithCommas) {
  PrometheusText m;
  m.family("x", MetricType::gauge, "h");
  m.sample("x", {{"a", "1"}, {"b", "two"}}, 3);
  EXPECT_EQ(m.text(), "# HELP x h\n# TYPE x gauge\nx{a=\"1\",b=\"two\"} 3\n");
}

TEST(PrometheusText, HostileLabelValueCannotStartANewSample) {
  PrometheusText m;
  m.family("stek_ring_version", MetricType::gauge, "v");
  m.sample("stek_ring_version", {{"domain", "x\"} 1\nstek_up 0\n#"}}, 5);
  const std::string& t = m.text();
  // One sample line: the newline and quote stay inside the escaped value.
  EXPECT_EQ(t,
            "# HELP stek_ring_version v\n# TYPE stek_ring_version gauge\n"
            "stek_ring_version{domain=\"x\\\"} 1\\nstek_up 0\\n#\"} 5\n");
}

TEST(PrometheusText, HelpEscapesBackslashAndLineFeed) {
  PrometheusText m;
  m.family("x", MetricType::counter, "a\\b\nc \"q\"");
  EXPECT_EQ(m.text(), "# HELP x a\\\\b\\nc \"q\"\n# TYPE x counter\n");
}

TEST(PrometheusText, PrintsFullRangeIntegers) {
  PrometheusText m;
  m.sample("u", {}, std::numeric_limits<std::uint64_t>::max());
  m.sample("i", {}, std::int64_t{-42});
  EXPECT_EQ(m.text(), "u 18446744073709551615\ni -42\n");
}

TEST(PrometheusText, PrintsFractionsInTheShortestFormThatReadsBack) {
  PrometheusText m;
  m.sample("a", {}, -45.002);
  m.sample("b", {}, 0.001);
  m.sample("c", {}, 30.0);
  EXPECT_EQ(m.text(), "a -45.002\nb 0.001\nc 30\n");
}

}  // namespace
}  // namespace stek::net
