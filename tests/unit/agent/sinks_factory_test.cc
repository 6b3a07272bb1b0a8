// The sinks factory: one sink per [[sink]] table, checked before the agent runs.
#include <gtest/gtest.h>

#include "cache.h"
#include "fakes.h"
#include "sinks/factory.h"

namespace stek::agent {
namespace {

using testing::read_text;
using testing::TempDir;

NginxSinkConfig nginx_in(const TempDir& dir) {
  NginxSinkConfig c;
  c.dir = dir / "keys";
  c.include = dir / "tickets.conf";
  c.reload = ReloadMode::none;
  return c;
}

TEST(SinksFactory, BuildsOneSinkPerTableInOrder) {
  TempDir dir(/*memory=*/true);
  JsonSinkConfig json;
  json.path = dir / "ring.json";
  auto sinks = make_sinks({nginx_in(dir), json}, false);
  ASSERT_TRUE(sinks.ok()) << sinks.error().message;
  ASSERT_EQ(sinks->size(), 2u);
  EXPECT_EQ((*sinks)[0]->name(), "nginx:" + (dir / "tickets.conf").string());
  EXPECT_EQ((*sinks)[1]->name(), "json:" + (dir / "ring.json").string());
  // nginx can start before the first ring: the include exists and lists no key.
  EXPECT_NE(read_text(dir / "tickets.conf").find("No stek key"), std::string::npos);
  EXPECT_TRUE(std::filesystem::is_directory(dir / "keys"));
}

TEST(SinksFactory, NoTablesMeansNoSinks) {
  auto sinks = make_sinks({}, false);
  ASSERT_TRUE(sinks.ok());
  EXPECT_TRUE(sinks->empty());
}

TEST(SinksFactory, RefusesAnIncludeInAMissingDirectory) {
  TempDir dir(true);
  NginxSinkConfig c = nginx_in(dir);
  c.include = dir / "missing" / "tickets.conf";
  auto sinks = make_sinks({c}, false);
  ASSERT_FALSE(sinks.ok());
  EXPECT_EQ(sinks.error().code, Errc::invalid_argument);
}

TEST(SinksFactory, RefusesAMissingNginxConf) {
  TempDir dir(true);
  NginxSinkConfig c = nginx_in(dir);
  c.nginx_conf = dir / "nginx.conf";
  auto sinks = make_sinks({c}, false);
  ASSERT_FALSE(sinks.ok());
  EXPECT_EQ(sinks.error().code, Errc::invalid_argument);
}

TEST(SinksFactory, RefusesKeyFilesOnPersistentStorageUnlessAllowed) {
  TempDir disk(/*memory=*/false);
  auto memory = is_memory_filesystem(disk.path());
  if (!memory.ok() || *memory) GTEST_SKIP() << "the temp dir is on tmpfs here";
  JsonSinkConfig json;
  json.path = disk / "ring.json";
  EXPECT_FALSE(make_sinks({json}, false).ok());
  EXPECT_TRUE(make_sinks({json}, true).ok());
}

}  // namespace
}  // namespace stek::agent
