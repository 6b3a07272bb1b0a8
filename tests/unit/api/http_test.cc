// Request targets and admin paths.
#include "api/http.h"

#include <gtest/gtest.h>

#include "testing/expect.h"

namespace stek::api {
namespace {

TEST(Http, SplitsTheTargetAtTheFirstQuestionMark) {
  Target t = split_target("/v1/keyring?domain=a&x=?");
  EXPECT_EQ(t.path, "/v1/keyring");
  EXPECT_EQ(t.query, "domain=a&x=?");
  t = split_target("/v1/admin/status");
  EXPECT_EQ(t.path, "/v1/admin/status");
  EXPECT_EQ(t.query, "");
}

TEST(Http, RotateSecretPathRoundTripsAnyDomain) {
  EXPECT_EQ(rotate_secret_path("eu-west"), "/v1/admin/domains/eu-west/rotate-secret");
  EXPECT_EQ(rotate_secret_path("a b/c+d"), "/v1/admin/domains/a%20b%2Fc%2Bd/rotate-secret");
  for (const char* domain : {"eu-west", "a b/c+d", "\xc3\xa9", "%"}) {
    auto back = rotate_secret_domain(rotate_secret_path(domain));
    ASSERT_TRUE(back.ok()) << domain;
    EXPECT_EQ(*back, domain);
  }
  // A '+' in a path is a plus, not a space.
  EXPECT_EQ(*rotate_secret_domain("/v1/admin/domains/a+b/rotate-secret"), "a+b");
}

TEST(Http, TellsAnUnknownPathFromAMalformedDomain) {
  for (const char* other : {"/v1/admin/domains//rotate-secret", "/v1/admin/domains/a",
                            "/v1/admin/status", "/v1/admin/domains/rotate-secret"}) {
    auto r = rotate_secret_domain(other);
    ASSERT_FALSE(r.ok()) << other;
    EXPECT_EQ(r.error().code, Errc::not_found) << other;
  }
  stek::testing::expect_error(rotate_secret_domain("/v1/admin/domains/a%2/rotate-secret"),
                              Errc::bad_format,
                              "domain in the path: truncated percent escape at offset 1");
}

TEST(Http, DenyPathRoundTripsAnyHostAndTellsOtherPaths) {
  EXPECT_EQ(deny_host_path("web1"), "/v1/admin/deny/web1");
  for (const char* host : {"web1", "a b/c+d", "\xc3\xa9"}) {
    auto back = deny_path_host(deny_host_path(host));
    ASSERT_TRUE(back.ok()) << host;
    EXPECT_EQ(*back, host);
  }
  for (const char* other : {"/v1/admin/deny", "/v1/admin/deny/", "/v1/admin/denyweb1"}) {
    auto r = deny_path_host(other);
    ASSERT_FALSE(r.ok()) << other;
    EXPECT_EQ(r.error().code, Errc::not_found) << other;
  }
  EXPECT_EQ(deny_path_host("/v1/admin/deny/a%2").error().code, Errc::bad_format);
}

TEST(Http, MillisecondsHeaderIsANonNegativeDecimalInteger) {
  EXPECT_EQ(*parse_millis("1795514400123", kServerTimeHeader), 1795514400123);
  EXPECT_EQ(*parse_millis("0", kHeldHeader), 0);
  for (const char* bad : {"", "-1", "+5", " 5", "5 ", "1.5", "0x10", "9223372036854775808"}) {
    auto r = parse_millis(bad, kServerTimeHeader);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, Errc::bad_format);
    EXPECT_NE(r.error().message.find("X-Stek-Time-Ms"), std::string::npos);
  }
}

}  // namespace
}  // namespace stek::api
