// stekctl's subcommands driven as functions with a fixed clock and a deterministic fake random
// source: files are 0600 and never silently replaced, key bytes stay hidden unless revealed,
// conversions keep the encrypting key, derive gives the pinned vector.
#include "commands.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include "stek/bytes.h"
#include "stek/file.h"
#include "stek/formats.h"

#include "testing/fixed_clock.h"
#include "testing/keys.h"

namespace stek::ctl {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

// A reproducible byte stream: byte i is testing::pattern_bytes(seed, ...)[i], handed out in
// order across calls. Tests can recompute what it gave.
class FakeRandom final : public Random {
 public:
  explicit FakeRandom(std::uint64_t seed) : stream_(testing::pattern_bytes(seed, 1 << 16)) {}
  Status fill(std::span<std::uint8_t> out) override {
    if (used_ + out.size() > stream_.size()) return make_error(Errc::crypto, "fake exhausted");
    for (auto& b : out) b = stream_.data()[used_++];
    return {};
  }
  // The bytes handed out so far, and the bytes the next calls will hand out.
  ByteView given() const { return stream_.view(0, used_); }
  ByteView upcoming(std::size_t n) const { return stream_.view(used_, n); }

 private:
  SecretBytes stream_;
  std::size_t used_ = 0;
};

// 2026-11-24T10:00:00Z + 7 s, inside epoch 498754 of the default schedule.
constexpr UnixSeconds kNow = 1795514407;

class CommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "stek-ctl-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  Env env() { return Env{out_, err_, random_, clock_}; }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string out() const { return out_.str(); }
  std::string err() const { return err_.str(); }
  void clear() {
    out_.str("");
    err_.str("");
  }

  static SecretBytes file_bytes(const std::string& p) { return read_file(p).value(); }
  static unsigned mode_of(const std::string& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0);
    return st.st_mode & 07777;
  }

  int keygen(Format f, const std::string& out_path, bool force = false, int count = 0) {
    KeygenArgs a;
    a.format = f;
    a.out = out_path;
    a.force = force;
    a.count = count;
    Env e = env();
    return ctl::keygen(a, e);
  }
  int inspect(const std::string& p, bool reveal, bool json = false,
              std::optional<Format> f = std::nullopt) {
    InspectArgs a;
    a.path = p;
    a.reveal = reveal;
    a.json = json;
    a.format = f;
    Env e = env();
    return ctl::inspect(a, e);
  }

  int convert(Format from, Format to, const std::string& in, const std::string& out_path,
              bool only_encrypting) {
    ConvertArgs a;
    a.from = from;
    a.to = to;
    a.in = in;
    a.out = out_path;
    a.only_encrypting = only_encrypting;
    Env e = env();
    return ctl::convert(a, e);
  }

  fs::path dir_;
  std::ostringstream out_;
  std::ostringstream err_;
  FakeRandom random_{42};
  FixedClock clock_{kNow};
};

TEST_F(CommandsTest, KeygenWritesMode0600WhateverTheUmask) {
  const mode_t old = ::umask(0);
  const int rc = keygen(Format::nginx80, path("a.key"));
  ::umask(old);
  ASSERT_EQ(rc, 0) << err();
  EXPECT_EQ(mode_of(path("a.key")), 0600u);
  EXPECT_EQ(file_bytes(path("a.key")).size(), 80u);
  ASSERT_EQ(keygen(Format::haproxy48, path("b.key")), 0) << err();
  EXPECT_EQ(mode_of(path("b.key")), 0600u);
}

TEST_F(CommandsTest, KeygenWritesTheRandomSourcesBytes) {
  // nginx80 is name | HMAC | AES, the order random_ticket_key draws them in.
  const std::string want = to_hex(random_.upcoming(80));
  ASSERT_EQ(keygen(Format::nginx80, "-"), 0) << err();
  EXPECT_EQ(to_hex(as_bytes(out())), want);
  // stdout output reports nothing on stderr (it may be piped into a file).
  EXPECT_EQ(err(), "");
}

TEST_F(CommandsTest, KeygenRefusesToReplaceAFileWithoutForce) {
  ASSERT_EQ(keygen(Format::nginx80, path("k")), 0);
  SecretBytes first = file_bytes(path("k"));
  clear();
  EXPECT_EQ(keygen(Format::nginx80, path("k")), 1);
  EXPECT_EQ(err(), "stekctl: " + path("k") + ": exists; pass --force to replace it\n");
  EXPECT_TRUE(file_bytes(path("k")).equals(first.view()));
  clear();
  EXPECT_EQ(keygen(Format::nginx80, path("k"), /*force=*/true), 0) << err();
  EXPECT_FALSE(file_bytes(path("k")).equals(first.view()));
  EXPECT_EQ(mode_of(path("k")), 0600u);
}

TEST_F(CommandsTest, KeygenGivesHaproxyPreviousCurrentAndNext) {
  ASSERT_EQ(keygen(Format::haproxy80, path("h")), 0) << err();
  KeyRing ring = read_key_file(Format::haproxy80, file_bytes(path("h")).view()).value();
  EXPECT_EQ(testing::roles_of(ring),
            (std::vector<KeyRole>{KeyRole::encrypt, KeyRole::next, KeyRole::decrypt}));
}

TEST_F(CommandsTest, KeygenJsonKeysCarryTheScheduleOfTheFixedClock) {
  ASSERT_EQ(keygen(Format::json, path("r.json")), 0) << err();
  Json doc = Json::parse(testing::text_of(file_bytes(path("r.json"))));
  const Schedule s = Schedule::standard();
  const Epoch e = s.epoch_at(kNow);
  ASSERT_EQ(doc["keys"].size(), 2u);
  EXPECT_EQ(doc["generated_at"], kNow);
  EXPECT_EQ(doc["keys"][0]["role"], "encrypt");
  EXPECT_EQ(doc["keys"][0]["epoch"], e);
  EXPECT_EQ(doc["keys"][0]["not_before"], s.not_before(e));
  EXPECT_EQ(doc["keys"][0]["not_after"], s.not_after(e));
  EXPECT_EQ(doc["keys"][1]["role"], "next");
  EXPECT_EQ(doc["keys"][1]["epoch"], e + 1);
  EXPECT_EQ(doc["schedule"]["lifetime_hint"], 64800);
}

TEST_F(CommandsTest, KeygenRefusesCountsBeyondTheWindow) {
  EXPECT_EQ(keygen(Format::json, "-", false, 21), 1);
  EXPECT_EQ(err(), "stekctl: --count must be 1 to 20 (history + current + next)\n");
  clear();
  EXPECT_EQ(keygen(Format::ats, "-", false, -1), 1);
  EXPECT_EQ(err(), "stekctl: --count must be 1 to 19 (history + current)\n");
  EXPECT_EQ(out(), "");
}

TEST_F(CommandsTest, KeygenRefusesAnInvalidSchedule) {
  KeygenArgs a;
  a.format = Format::json;
  a.out = "-";
  a.schedule.history = 1000;
  Env e = env();
  EXPECT_EQ(ctl::keygen(a, e), 1);
  EXPECT_NE(err().find("exceeds 7 days"), std::string::npos) << err();
}

// The hex of every secret byte in a key file (HMAC and AES keys), for leak checks.
std::vector<std::string> secret_hexes(Format f, const SecretBytes& file) {
  std::vector<std::string> out;
  KeyRing ring = read_key_file(f, file.view(), {kNow}).value();
  for (const RingKey& k : ring.keys()) {
    out.push_back(to_hex(k.key.hmac_key().view()));
    out.push_back(to_hex(k.key.aes_key().view()));
  }
  return out;
}

TEST_F(CommandsTest, InspectHidesKeyBytesUnlessRevealed) {
  for (Format f : {Format::nginx80, Format::haproxy80, Format::json}) {
    SCOPED_TRACE(std::string(format_name(f)));
    const std::string p = path(std::string(format_name(f)));
    ASSERT_EQ(keygen(f, p), 0) << err();
    const SecretBytes file = file_bytes(p);
    const KeyRing ring = read_key_file(f, file.view(), {kNow}).value();
    for (bool json : {false, true}) {
      clear();
      ASSERT_EQ(inspect(p, /*reveal=*/false, json), 0) << err();
      const std::string hidden = out();
      EXPECT_NE(hidden.find(ring.encrypting().key.name_hex()), std::string::npos);
      for (const std::string& h : secret_hexes(f, file)) {
        EXPECT_EQ(hidden.find(h), std::string::npos);
        EXPECT_EQ(hidden.find(h.substr(0, 8)), std::string::npos);  // not even a prefix
      }
      clear();
      ASSERT_EQ(inspect(p, /*reveal=*/true, json), 0) << err();
      for (const std::string& h : secret_hexes(f, file)) {
        EXPECT_NE(out().find(h), std::string::npos);
      }
    }
  }
}

TEST_F(CommandsTest, InspectReportsDetectedFormatRolesAndSchedule) {
  ASSERT_EQ(keygen(Format::json, path("r.json")), 0);
  clear();
  ASSERT_EQ(inspect(path("r.json"), false, /*json=*/true), 0) << err();
  Json doc = Json::parse(out());
  EXPECT_EQ(doc["format"], "json");
  EXPECT_EQ(doc["schedule"]["history"], 18);
  ASSERT_EQ(doc["keys"].size(), 2u);
  EXPECT_EQ(doc["keys"][0]["role"], "encrypt");
  EXPECT_EQ(doc["keys"][0]["size"], 80);
  EXPECT_EQ(doc["keys"][1]["role"], "next");
  EXPECT_FALSE(doc["keys"][0].contains("hmac_key"));
}

TEST_F(CommandsTest, InspectNeedsTheFormatOfAmbiguousFortyEightByteFiles) {
  ASSERT_EQ(keygen(Format::apache, path("a")), 0);
  clear();
  EXPECT_EQ(inspect(path("a"), false), 1);
  EXPECT_NE(err().find("48 raw bytes could be nginx48, apache or ats"), std::string::npos);
  clear();
  EXPECT_EQ(inspect(path("a"), false, false, Format::apache), 0) << err();
  EXPECT_NE(out().find(": apache, 1 key"), std::string::npos) << out();
}

TEST_F(CommandsTest, InspectNotesHaproxyLinesBeyondTheThreeItUses) {
  ASSERT_EQ(keygen(Format::haproxy80, path("h"), false, 5), 0) << err();
  clear();
  ASSERT_EQ(inspect(path("h"), false), 0);
  EXPECT_NE(out().find("uses only the last 3 of these 5 lines"), std::string::npos) << out();
}

TEST_F(CommandsTest, InspectFailsOnMissingOrBrokenFiles) {
  EXPECT_EQ(inspect(path("none"), false), 1);
  EXPECT_NE(err().find(path("none") + ": open: No such file or directory"), std::string::npos);
  clear();
  SecretBytes zeros(80);
  ASSERT_TRUE(write_file_atomic(path("zero"), zeros.view()).ok());
  EXPECT_EQ(inspect(path("zero"), false), 1);
  EXPECT_EQ(err(),
            "stekctl: " + path("zero") +
                ": nginx80: key 1: key name is all zero bytes: refusing a placeholder key\n");
}

TEST_F(CommandsTest, ConvertKeepsTheEncryptingKeyAndNeedsOnlyEncryptingForOneKeyFormats) {
  ASSERT_EQ(keygen(Format::haproxy80, path("h")), 0);
  KeyRing source = read_key_file(Format::haproxy80, file_bytes(path("h")).view()).value();
  clear();
  EXPECT_EQ(convert(Format::haproxy80, Format::nginx80, path("h"), path("n"), false), 1);
  EXPECT_NE(err().find("holds exactly one key per file"), std::string::npos) << err();
  EXPECT_FALSE(fs::exists(path("n")));
  for (const std::string& h : secret_hexes(Format::haproxy80, file_bytes(path("h")))) {
    EXPECT_EQ(err().find(h.substr(0, 8)), std::string::npos);
  }
  clear();
  ASSERT_EQ(convert(Format::haproxy80, Format::nginx80, path("h"), path("n"), true), 0) << err();
  EXPECT_EQ(mode_of(path("n")), 0600u);
  KeyRing converted = read_key_file(Format::nginx80, file_bytes(path("n")).view()).value();
  EXPECT_EQ(converted.encrypting().key.name(), source.encrypting().key.name());
  EXPECT_TRUE(
      converted.encrypting().key.aes_key().equals(source.encrypting().key.aes_key().view()));
  EXPECT_TRUE(
      converted.encrypting().key.hmac_key().equals(source.encrypting().key.hmac_key().view()));
  clear();
  EXPECT_EQ(convert(Format::haproxy80, Format::nginx80, path("h"), path("n"), true), 1);
  EXPECT_NE(err().find("exists; pass --force"), std::string::npos);
}

TEST_F(CommandsTest, ConvertTo48ByteFormatsProjectsOnlyWithProject48) {
  ASSERT_EQ(keygen(Format::haproxy80, path("h")), 0);
  KeyRing source = read_key_file(Format::haproxy80, file_bytes(path("h")).view()).value();
  clear();
  EXPECT_EQ(convert(Format::haproxy80, Format::ats, path("h"), path("a"), false), 1);
  EXPECT_NE(err().find("--project-48"), std::string::npos) << err();
  EXPECT_FALSE(fs::exists(path("a")));
  clear();
  ConvertArgs a;
  a.from = Format::haproxy80;
  a.to = Format::ats;
  a.in = path("h");
  a.out = path("a");
  a.project_48 = true;
  Env e = env();
  ASSERT_EQ(ctl::convert(a, e), 0) << err();
  EXPECT_NE(err().find("dropped the other 16 bytes"), std::string::npos) << err();
  KeyRing ats = read_key_file(Format::ats, file_bytes(path("a")).view()).value();
  ASSERT_EQ(ats.size(), source.size());
  for (std::size_t i = 0; i < ats.size(); ++i) {
    const TicketKey& want = source.keys()[i].key;
    EXPECT_EQ(ats.keys()[i].key.name(), want.name());
    EXPECT_TRUE(ats.keys()[i].key.hmac_key().equals(want.hmac_key().view(0, 16)));
    EXPECT_TRUE(ats.keys()[i].key.aes_key().equals(want.aes_key().view(0, 16)));
  }
  clear();
  a.to = Format::nginx80;
  a.out = path("n");
  Env e2 = env();
  EXPECT_EQ(ctl::convert(a, e2), 2);
  EXPECT_NE(err().find("needs a 48-byte target"), std::string::npos) << err();
}

TEST_F(CommandsTest, ConvertToStdoutWritesTheTargetFormat) {
  ASSERT_EQ(keygen(Format::haproxy48, path("h")), 0);
  KeyRing source = read_key_file(Format::haproxy48, file_bytes(path("h")).view()).value();
  clear();
  ASSERT_EQ(convert(Format::haproxy48, Format::ats, path("h"), "-", false), 0) << err();
  KeyRing ats = read_key_file(Format::ats, as_bytes(out())).value();
  EXPECT_EQ(ats.encrypting().key.name(), source.encrypting().key.name());
  EXPECT_EQ(ats.size(), 3u);
}

DeriveArgs pinned_derive(Format f) {
  DeriveArgs a;
  a.epoch_secret_hex = to_hex(testing::counting_bytes(0x00, 32).view());
  a.domain_secret_hex = to_hex(testing::counting_bytes(0x20, 32).view());
  a.domain = "eu-west";
  a.epoch = 498754;
  a.format = f;
  a.out = "-";
  return a;
}

TEST_F(CommandsTest, DeriveWritesThePinnedVector) {
  // The vector of tests/unit/crypto/derive_test.cc (independently computed in Python).
  Env e = env();
  ASSERT_EQ(ctl::derive(pinned_derive(Format::nginx80), e), 0) << err();
  EXPECT_EQ(to_hex(as_bytes(out())),
            "b779a8474b56f44d2a2f547be2d50636"
            "22c2a514037f17cd6fd691e8abc1206691481c19730d0bbfb792e932b8b6222c"
            "8eca1a72f3a6880a43da15c9715b9b0da6972ab1af8dd2a4c5f4240a75f61584");
  EXPECT_EQ(random_.given().size(), 0u);  // derivation draws no random bytes
}

TEST_F(CommandsTest, DeriveJsonCarriesDomainEpochAndTimes) {
  Env e = env();
  ASSERT_EQ(ctl::derive(pinned_derive(Format::json), e), 0) << err();
  Json doc = Json::parse(out());
  const Json& k = doc["keys"][0];
  EXPECT_EQ(k["name"], "b779a8474b56f44d2a2f547be2d50636");
  EXPECT_EQ(k["role"], "encrypt");
  EXPECT_EQ(k["domain"], "eu-west");
  EXPECT_EQ(k["epoch"], 498754);
  EXPECT_EQ(k["not_before"], 498754LL * 3600);
  EXPECT_EQ(k["not_after"], (498754LL + 19) * 3600 - 1);
}

TEST_F(CommandsTest, DeriveErrorsNeverEchoTheSecrets) {
  DeriveArgs a = pinned_derive(Format::nginx80);
  a.epoch_secret_hex = to_hex(testing::pattern_bytes(7, 32).view());
  a.epoch_secret_hex[63] = 'g';
  const std::string secret = a.epoch_secret_hex;
  Env e = env();
  EXPECT_EQ(ctl::derive(a, e), 1);
  EXPECT_EQ(err(), "stekctl: --epoch-secret: hex text has a non-hex character at offset 63\n");
  EXPECT_EQ(err().find(secret.substr(0, 8)), std::string::npos);
  EXPECT_EQ(out(), "");
  clear();
  a = pinned_derive(Format::nginx80);
  a.domain_secret_hex = std::string(64, '0');
  EXPECT_EQ(ctl::derive(a, e), 1);
  EXPECT_EQ(err(), "stekctl: domain secret is all zero bytes: refusing a placeholder key\n");
  clear();
  a = pinned_derive(Format::nginx80);
  a.domain = "";
  EXPECT_EQ(ctl::derive(a, e), 1);
  EXPECT_EQ(err(), "stekctl: domain id must be 1 to 255 bytes, got 0\n");
}

TEST_F(CommandsTest, DemoShowsSeparateDomainsAndARenewingRotation) {
  DemoArgs a;
  Env e = env();
  ASSERT_EQ(ctl::demo(a, e), 0) << err();
  const std::string text = out();
  EXPECT_NE(text.find("now 2026-11-24T10:00:07Z = epoch 498754"), std::string::npos) << text;
  EXPECT_NE(text.find("hosts hold epochs 498736..498756"), std::string::npos) << text;
  EXPECT_NE(text.find("key names shared between domains: 0"), std::string::npos);
  EXPECT_NE(text.find("still opens tickets and renews them: yes"), std::string::npos);
  // 21 epoch secrets and 2 domain secrets of 32 bytes were drawn; none shows up.
  ByteView given = random_.given();
  ASSERT_EQ(given.size(), 23u * 32);
  for (std::size_t off = 0; off < given.size(); off += 32) {
    EXPECT_EQ(text.find(to_hex(given.subspan(off, 8))), std::string::npos);
  }
}

TEST_F(CommandsTest, DemoFailsCleanlyWhenRandomFails) {
  FakeRandom tiny(1);
  std::vector<std::uint8_t> drain((1 << 16) - 10);
  ASSERT_TRUE(tiny.fill(drain).ok());
  Env e{out_, err_, tiny, clock_};
  EXPECT_EQ(ctl::demo(DemoArgs{}, e), 1);
  EXPECT_EQ(err(), "stekctl: fake exhausted\n");
}

}  // namespace
}  // namespace stek::ctl
