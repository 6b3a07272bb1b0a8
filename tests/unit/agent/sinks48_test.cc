// The 48-byte sinks (Apache httpd, Traffic Server) on real files, with real reload commands:
// what they write is the ring's 48-byte projection in the product's layout.
#include <fstream>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "stek/file.h"
#include "stek/formats.h"

#include "config.h"
#include "fakes.h"
#include "held_ring.h"
#include "sink_fixtures.h"
#include "sinks/apache.h"
#include "sinks/ats.h"
#include "sinks/factory.h"

namespace stek::agent {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using testing::make_ring;
using testing::TempDir;

using test::kE;
using test::kT;

using test::served_at;

struct stat stat_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st;
}

using test::CountingReload;

void expect_projection(const TicketKey& written, const TicketKey& ring_key) {
  EXPECT_EQ(written.name(), ring_key.name()) << "key names stay the same";
  EXPECT_EQ(written.size(), KeySize::k48);
  EXPECT_TRUE(written.hmac_key().equals(ring_key.hmac_key().view(0, 16)));
  EXPECT_TRUE(written.aes_key().equals(ring_key.aes_key().view(0, 16)));
}

TEST(ApacheSink, WritesTheEncryptingKeysProjectionMode0600AndRestartsGracefully) {
  TempDir keys(true);
  CountingReload reload(keys);
  ApacheSink sink({.key_file = keys / "ticket.key", .reloader = reload.reloader()});
  const KeyRing ring = served_at(kT);
  auto report = sink.apply(&ring, kE);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->files_written, 1);
  EXPECT_TRUE(report->reloaded);
  EXPECT_EQ(reload.count(), 1);
  EXPECT_EQ(stat_of(keys / "ticket.key").st_mode & 07777, 0600u);
  auto bytes = read_file(keys / "ticket.key");
  ASSERT_TRUE(bytes.ok());
  ASSERT_EQ(bytes->size(), 48u);
  auto back = read_key_file(Format::apache, bytes->view());
  ASSERT_TRUE(back.ok()) << back.error().message;
  ASSERT_EQ(back->size(), 1u);
  expect_projection(back->encrypting().key, ring.encrypting().key);
}

TEST(ApacheSink, RestartsOnlyWhenTheEncryptingKeyChanges) {
  TempDir keys(true);
  CountingReload reload(keys);
  ApacheSink sink({.key_file = keys / "ticket.key", .reloader = reload.reloader()});
  const KeyRing ring = served_at(kT);
  ASSERT_TRUE(sink.apply(&ring, kE).ok());
  auto again = sink.apply(&ring, kE);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->files_written, 0);
  EXPECT_FALSE(again->reloaded);
  EXPECT_EQ(reload.count(), 1);
  const KeyRing later = served_at((kE + 1) * 60);
  ASSERT_TRUE(sink.apply(&later, kE + 1).ok());
  EXPECT_EQ(reload.count(), 2);
  auto back = read_key_file(Format::apache, read_file(keys / "ticket.key")->view());
  expect_projection(back->encrypting().key, later.encrypting().key);
}

TEST(ApacheSink, FailedRestartIsAnErrorAndIsRetried) {
  TempDir keys(true);
  CountingReload reload(keys);
  ApacheSink sink({.key_file = keys / "ticket.key", .reloader = reload.reloader("1")});
  const KeyRing ring = served_at(kT);
  EXPECT_FALSE(sink.apply(&ring, kE).ok());
  EXPECT_FALSE(sink.apply(&ring, kE).ok());
  EXPECT_EQ(reload.count(), 2) << "the file did not change, the failed restart is retried";
}

TEST(ApacheSink, WithoutKeysErasesTheExpiredKeyAndReportsFailure) {
  TempDir keys(true);
  CountingReload reload(keys);
  ApacheSink sink({.key_file = keys / "ticket.key", .reloader = reload.reloader()});
  const KeyRing ring = served_at(kT);
  ASSERT_TRUE(sink.apply(&ring, kE).ok());
  auto none = sink.apply(nullptr, kE + 10);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, Errc::not_found);
  EXPECT_FALSE(fs::exists(keys / "ticket.key"));
  EXPECT_EQ(reload.count(), 1) << "Apache would refuse to restart without its key file";
}

TEST(ApacheSink, WarnsThatRotationEndsResumptionAndAboutTheZeroHmacKey) {
  TempDir keys(true);
  ApacheSink sink({.key_file = keys / "ticket.key", .reloader = nullptr});
  const auto warnings = sink.check(Schedule::make({3600, 18, 2}).value());
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("no decrypt-only history"), std::string::npos);
  EXPECT_NE(warnings[0].find("SSLSessionCacheTimeout to at most 3600"), std::string::npos);
  EXPECT_NE(warnings[1].find("all-zero HMAC key"), std::string::npos);
}

TEST(AtsSink, WritesEveryServerKeyProjectedTheEncryptingKeyFirst) {
  TempDir keys(true);
  CountingReload reload(keys);
  AtsSink sink({.key_file = keys / "ticket.key", .reloader = reload.reloader()});
  const KeyRing ring = served_at(kT);
  auto report = sink.apply(&ring, kE);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_TRUE(report->reloaded);
  EXPECT_EQ(stat_of(keys / "ticket.key").st_mode & 07777, 0600u);
  auto bytes = read_file(keys / "ticket.key");
  ASSERT_TRUE(bytes.ok());
  // E encrypts, E+1 next, E-1 and E-2 decrypt; E+2 and E+3 are pending and held back.
  ASSERT_EQ(bytes->size(), 4u * 48u);
  auto back = read_key_file(Format::ats, bytes->view());
  ASSERT_TRUE(back.ok()) << back.error().message;
  const std::vector<Epoch> order = {kE, kE + 1, kE - 1, kE - 2};
  for (std::size_t i = 0; i < order.size(); ++i) {
    const RingKey* k = nullptr;
    for (const RingKey& candidate : ring.keys()) {
      if (*candidate.meta.epoch == order[i]) k = &candidate;
    }
    ASSERT_NE(k, nullptr);
    expect_projection(back->keys()[i].key, k->key);
  }
}

TEST(AtsSink, NewFileIsDatedAfterTheSecondItWasWritten) {
  // Traffic Server skips a file whose mtime is not later than its last load (whole seconds).
  TempDir keys(true);
  AtsSink sink({.key_file = keys / "ticket.key", .reloader = nullptr});
  const KeyRing ring = served_at(kT);
  const auto before = std::time(nullptr);
  ASSERT_TRUE(sink.apply(&ring, kE).ok());
  EXPECT_GT(stat_of(keys / "ticket.key").st_mtime, before);
}

TEST(AtsSink, ReloadsOnlyWhenTheKeysChangeAndErasesTheFileWithoutKeys) {
  TempDir keys(true);
  CountingReload reload(keys);
  AtsSink sink({.key_file = keys / "ticket.key", .reloader = reload.reloader()});
  const KeyRing ring = served_at(kT);
  ASSERT_TRUE(sink.apply(&ring, kE).ok());
  ASSERT_TRUE(sink.apply(&ring, kE).ok());
  EXPECT_EQ(reload.count(), 1);
  const KeyRing later = served_at((kE + 1) * 60);
  ASSERT_TRUE(sink.apply(&later, kE + 1).ok());
  EXPECT_EQ(reload.count(), 2);
  auto none = sink.apply(nullptr, kE + 10);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->files_erased, 1);
  EXPECT_FALSE(fs::exists(keys / "ticket.key"));
}

TEST(Sinks48Config, ApacheAndAtsTablesParseWithTheirDefaults) {
  auto c = parse_config(
      "[[sink]]\ntype = \"apache\"\n"
      "[[sink]]\ntype = \"ats\"\npath = \"/run/stek/ats/keys\"\n"
      "[[sink]]\ntype = \"apache\"\npath = \"/run/stek/a2.key\"\nreload = \"signal\"\n"
      "pid_file = \"/run/a2.pid\"\n",
      "t.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->sinks.size(), 3u);
  const auto& apache = std::get<ApacheSinkConfig>(c->sinks[0]);
  EXPECT_EQ(apache.path, "/run/stek/apache/ticket.key");
  EXPECT_EQ(apache.reload, ReloadMode::command);
  EXPECT_EQ(apache.reload_command, (std::vector<std::string>{"apachectl", "-k", "graceful"}));
  const auto& ats = std::get<AtsSinkConfig>(c->sinks[1]);
  EXPECT_EQ(ats.path, "/run/stek/ats/keys");
  EXPECT_EQ(ats.reload_command, (std::vector<std::string>{"traffic_ctl", "config", "reload"}));
  EXPECT_EQ(std::get<ApacheSinkConfig>(c->sinks[2]).reload, ReloadMode::signal);
}

TEST(Sinks48Config, RefusesWhatTheProductCannotDo) {
  EXPECT_FALSE(parse_config("[[sink]]\ntype = \"ats\"\nreload = \"signal\"\n", "t").ok());
  EXPECT_FALSE(parse_config("[[sink]]\ntype = \"ats\"\npid_file = \"/x\"\n", "t").ok());
  EXPECT_FALSE(parse_config("[[sink]]\ntype = \"apache\"\nreload_command = []\n", "t").ok());
  EXPECT_FALSE(parse_config("[[sink]]\ntype = \"apache\"\n[[sink]]\ntype = \"apache\"\n", "t").ok())
      << "two sinks writing one file";
}

TEST(Sinks48Factory, BuildsApacheAndAtsSinks) {
  TempDir dir(/*memory=*/true);
  ApacheSinkConfig apache;
  apache.path = dir / "apache" / "ticket.key";
  apache.reload = ReloadMode::none;
  AtsSinkConfig ats;
  ats.path = dir / "ats" / "ticket.key";
  ats.reload = ReloadMode::none;
  auto sinks = make_sinks({apache, ats}, false);
  ASSERT_TRUE(sinks.ok()) << sinks.error().message;
  ASSERT_EQ(sinks->size(), 2u);
  EXPECT_EQ((*sinks)[0]->name(), "apache:" + apache.path.string());
  EXPECT_EQ((*sinks)[1]->name(), "ats:" + ats.path.string());
  EXPECT_TRUE(fs::is_directory(dir / "apache"));
}

}  // namespace
}  // namespace stek::agent
