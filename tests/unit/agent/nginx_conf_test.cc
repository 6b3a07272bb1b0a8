// nginx time syntax and finding ssl_session_timeout in real configuration files.
#include "nginx_conf.h"

#include <fstream>

#include <gtest/gtest.h>

#include "fakes.h"
#include "sinks/nginx.h"

namespace stek::agent {
namespace {

using testing::TempDir;

std::int64_t seconds(std::string_view text) {
  auto r = parse_nginx_time(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.error().message;
  return r.ok() ? *r : -1;
}

TEST(NginxTime, ParsesNginxTimeSyntax) {
  EXPECT_EQ(seconds("300"), 300);
  EXPECT_EQ(seconds("0"), 0);
  EXPECT_EQ(seconds("5m"), 300);
  EXPECT_EQ(seconds("18h"), 64800);
  EXPECT_EQ(seconds("1d"), 86400);
  EXPECT_EQ(seconds("1w"), 604800);
  EXPECT_EQ(seconds("1M"), 30 * 86400);
  EXPECT_EQ(seconds("1y"), 365 * 86400);
  EXPECT_EQ(seconds("1h30m"), 5400);
  EXPECT_EQ(seconds("1h 30m"), 5400);
  EXPECT_EQ(seconds("1d2h3m4s"), 86400 + 7200 + 180 + 4);
  EXPECT_EQ(seconds("2h5"), 7205);  // a trailing bare number is seconds
  EXPECT_EQ(seconds("45s"), 45);
}

TEST(NginxTime, RejectsMalformedTimes) {
  // As nginx's ngx_parse_time (is_sec) does: no milliseconds, units in decreasing order.
  for (const char* bad :
       {"", "h", "5x", "30m1h", "1h1h", "10ms", "-5", "1.5h", "5 m", "99999999999999999999"}) {
    EXPECT_FALSE(parse_nginx_time(bad).ok()) << bad;
  }
}

void write(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

TEST(NginxConf, FindsTimeoutsAcrossIncludesIgnoringComments) {
  TempDir dir;
  write(dir / "nginx.conf",
        "# ssl_session_timeout 99d;\n"
        "events { worker_connections 64; }\n"
        "http {\n"
        "  ssl_session_timeout '5m'; # quoted is fine\n"
        "  include sites/*.conf;\n"
        "  include \"missing-glob-ok/*.conf\";\n"
        "  log_format x '; ssl_session_timeout 7d;';\n"
        "}\n");
  write(dir / "sites/a.conf", "server {\n  listen 443 ssl;\n  ssl_session_timeout 1d;\n}\n");
  write(dir / "sites/b.conf", "server { ssl_session_timeout\n 18h ; }\n");
  auto found = find_session_timeouts(dir / "nginx.conf");
  ASSERT_TRUE(found.ok()) << found.error().message;
  ASSERT_EQ(found->size(), 3u);
  EXPECT_EQ((*found)[0].seconds, 300);
  EXPECT_NE((*found)[0].where.find("nginx.conf:4"), std::string::npos) << (*found)[0].where;
  EXPECT_EQ((*found)[1].seconds, 86400);
  EXPECT_NE((*found)[1].where.find("a.conf:3"), std::string::npos) << (*found)[1].where;
  EXPECT_EQ((*found)[2].seconds, 64800);
}

TEST(NginxConf, MissingLiteralIncludeAndBadValuesAreErrors) {
  TempDir dir;
  write(dir / "a.conf", "include nowhere.conf;\n");
  EXPECT_FALSE(find_session_timeouts(dir / "a.conf").ok());
  write(dir / "b.conf", "ssl_session_timeout 5x;\n");
  EXPECT_FALSE(find_session_timeouts(dir / "b.conf").ok());
  write(dir / "c.conf", "include c.conf;\n");  // includes itself: bounded, not a hang
  EXPECT_FALSE(find_session_timeouts(dir / "c.conf").ok());
}

TEST(NginxConf, WarnsWhenSessionTimeoutExceedsTheLifetimeHintLessTheMargin) {
  TempDir dir;
  NginxSinkOptions o;
  o.dir = dir.path();
  o.include = dir / "tickets.conf";
  o.nginx_conf = dir / "nginx.conf";
  NginxSink sink(std::move(o));
  // The default schedule: H x I = 64800 s, I = 3600 s, so at most 64740 s.
  write(dir / "nginx.conf",
        "http { ssl_session_timeout 64740s; server { ssl_session_timeout 1d; } }\n");
  auto warnings = sink.check_session_timeout(64800, 3600);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("86400"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("set ssl_session_timeout 64740s;"), std::string::npos) << warnings[0];
  EXPECT_TRUE(sink.check_session_timeout(86460, 3600).empty());
  // No directive: nginx's default of 5 minutes is what clients are told.
  write(dir / "nginx.conf", "http { }\n");
  EXPECT_EQ(sink.check_session_timeout(120, 60).size(), 1u);
  EXPECT_TRUE(sink.check_session_timeout(360, 60).empty());
}

TEST(NginxConf, SessionTimeoutOfTheWholeLifetimeHintLeavesNoMarginForSkew) {
  TempDir dir;
  NginxSinkOptions o;
  o.dir = dir.path();
  o.include = dir / "tickets.conf";
  o.nginx_conf = dir / "nginx.conf";
  NginxSink sink(std::move(o));
  // t-1, t, t+1 around the recommended 64740 s (H x I = 64800 s less one minute).
  for (const auto& [timeout, warns] : std::vector<std::pair<std::string, bool>>{
           {"64739", false}, {"64740", false}, {"64741", true}, {"18h", true}}) {
    write(dir / "nginx.conf", "http { ssl_session_timeout " + timeout + "; }\n");
    const auto warnings = sink.check_session_timeout(64800, 3600);
    EXPECT_EQ(warnings.size(), warns ? 1u : 0u) << timeout;
    if (warns) {
      EXPECT_NE(warnings[0].find("set ssl_session_timeout 64740s;"), std::string::npos)
          << warnings[0];
    }
  }
}

TEST(NginxConf, MarginIsOneIntervalWhenTheIntervalIsShorterThanAMinute) {
  EXPECT_EQ(recommended_session_timeout(64800, 3600), 64740);
  EXPECT_EQ(recommended_session_timeout(8, 4), 4);  // H = 2, I = 4 s
  EXPECT_EQ(recommended_session_timeout(600, 60), 540);
}

}  // namespace
}  // namespace stek::agent
