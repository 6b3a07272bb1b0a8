// Sinks never write or zero through a link: a hard-linked or symbolically linked key file or
// include is refused, and erasure removes only the sink's own name without zeroing a file
// that another name shares.
#include "sinks/own_file.h"

#include <fstream>

#include <gtest/gtest.h>

#include "stek/file.h"

#include "fakes.h"
#include "sinks/json.h"
#include "sinks/nginx.h"
#include "times.h"

namespace stek::agent {
namespace {

namespace fs = std::filesystem;
using testing::make_ring;
using testing::read_text;
using testing::TempDir;

using test::kE;
using test::kT;

KeyRing served() {
  auto held = HeldRing::accept(make_ring("eu", kE - 2, kE + 2, kT, 5), "eu", kT);
  return std::move(held->at(kT)).value();
}

struct NginxDir {
  TempDir keys{true};
  TempDir other{true};  // files that are not the sink's (same filesystem: hard links)
  std::unique_ptr<NginxSink> nginx;
  NginxDir() {
    NginxSinkOptions o;
    o.dir = keys.path();
    o.include = keys / "tickets.conf";
    nginx = std::make_unique<NginxSink>(std::move(o));
  }
};

TEST(OwnFile, ErasingAHardLinkedKeyFileLeavesTheOtherNameIntact) {
  NginxDir s;
  const fs::path precious = s.other / "precious";
  std::ofstream(precious) << "someone else's data";
  const fs::path stale = s.keys / "00112233445566778899aabbccddeeff.key";
  fs::create_hard_link(precious, stale);
  const KeyRing ring = served();
  auto report = s.nginx->apply(&ring, kE);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().code, Errc::forbidden);
  EXPECT_NE(report.error().message.find("hard links"), std::string::npos);
  EXPECT_EQ(read_text(precious), "someone else's data") << "never zeroed through the link";
  EXPECT_FALSE(fs::exists(stale)) << "the sink's own name is gone";
  EXPECT_TRUE(s.nginx->apply(&ring, kE).ok()) << "the next apply is clean";
}

TEST(OwnFile, ErasingASymlinkRemovesTheLinkNotItsTarget) {
  TempDir dir(true);
  TempDir other;
  std::ofstream(other / "target") << "kept";
  fs::create_symlink(other / "target", dir / "link");
  auto erased = erase_file(dir / "link");
  EXPECT_FALSE(erased.ok());
  EXPECT_EQ(read_text(other / "target"), "kept");
  EXPECT_FALSE(fs::is_symlink(dir / "link"));
}

TEST(OwnFile, RefusesAKeyFileOrIncludeThatIsALink) {
  NginxDir s;
  const KeyRing ring = served();
  const fs::path key = s.nginx->key_path(ring.encrypting().key);
  std::ofstream(s.other / "linked") << "x";
  fs::create_hard_link(s.other / "linked", key);
  auto report = s.nginx->apply(&ring, kE);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().code, Errc::forbidden);
  EXPECT_EQ(read_text(s.other / "linked"), "x");
  fs::remove(key);

  std::ofstream(s.other / "nginx.conf") << "user nginx;";
  fs::create_symlink(s.other / "nginx.conf", s.keys / "tickets.conf");
  report = s.nginx->apply(&ring, kE);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.error().message.find("symbolic link"), std::string::npos);
  EXPECT_EQ(read_text(s.other / "nginx.conf"), "user nginx;");
}

TEST(OwnFile, JsonSinkRefusesAHardLinkedRingFile) {
  TempDir dir(true);
  TempDir other(true);
  std::ofstream(other / "f") << "x";
  fs::create_hard_link(other / "f", dir / "ring.json");
  JsonSink sink(dir / "ring.json");
  const KeyRing ring = served();
  auto report = sink.apply(&ring, kE);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().code, Errc::forbidden);
  EXPECT_EQ(read_text(other / "f"), "x");
}

TEST(OwnFile, AcceptsAMissingFileOrAPlainOwnFile) {
  TempDir dir(true);
  EXPECT_TRUE(check_own_file(dir / "absent").ok());
  std::ofstream(dir / "mine") << "x";
  EXPECT_TRUE(check_own_file(dir / "mine").ok());
}

}  // namespace
}  // namespace stek::agent
