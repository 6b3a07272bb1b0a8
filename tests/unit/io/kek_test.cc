// Reading the KEK file: raw or hex, the size rule, the permission rule, and errors that name
// the file and say what to do.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "stek/bytes.h"
#include "stek/seal.h"

#include "testing/keys.h"

namespace stek {
namespace {

namespace fs = std::filesystem;
using testing::pattern_bytes;

class KekFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "stek-kek-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path = dir_ / "kek";
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& bytes, mode_t mode = 0400) {
    fs::remove(path);
    std::ofstream(path, std::ios::binary) << bytes;
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
  }
  void expect_error(Errc code, const std::string& part) {
    auto k = load_kek(path);
    ASSERT_FALSE(k.ok()) << "accepted; expected " << part;
    EXPECT_EQ(k.error().code, code) << k.error().message;
    EXPECT_NE(k.error().message.find(part), std::string::npos) << k.error().message;
    EXPECT_EQ(k.error().message.rfind(path.string(), 0), 0u) << k.error().message;
  }

  fs::path path;

 private:
  fs::path dir_;
};

std::string raw(const SecretBytes& b) {
  return std::string(as_chars(b.view()));
}

TEST_F(KekFileTest, ReadsRawAndHexFormsOfTheSameKey) {
  const SecretBytes key = pattern_bytes(1, 32);
  const std::string id = make_kek(key.clone()).value().id;
  write(raw(key));
  auto k = load_kek(path);
  ASSERT_TRUE(k.ok()) << k.error().message;
  EXPECT_TRUE(k->key.equals(key.view()));
  EXPECT_EQ(k->id, id);
  for (const std::string& text :
       {to_hex(key.view()), to_hex(key.view()) + "\n", to_hex(key.view()) + "\r\n"}) {
    write(text, 0600);
    auto h = load_kek(path);
    ASSERT_TRUE(h.ok()) << h.error().message;
    EXPECT_EQ(h->id, id);
  }
}

TEST_F(KekFileTest, WrongSizeIsBadSize) {
  write(raw(pattern_bytes(1, 31)));
  expect_error(Errc::bad_size, "31 bytes, expected 32 raw bytes or 64 hex digits");
  write(raw(pattern_bytes(1, 33)));
  expect_error(Errc::bad_size, "33 bytes");
  write(to_hex(pattern_bytes(1, 32).view()).substr(2) + "\n");
  expect_error(Errc::bad_size, "63 bytes");
  write("");
  expect_error(Errc::bad_size, "0 bytes");
}

TEST_F(KekFileTest, SixtyFourCharactersThatAreNotHexAreBadFormat) {
  write(std::string(64, 'g'));
  auto k = load_kek(path);
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.error().code, Errc::bad_format);
}

TEST_F(KekFileTest, AllZeroKeyIsRefusedAsWeak) {
  write(std::string(64, '0'));
  expect_error(Errc::weak_key, "KEK");
}

TEST_F(KekFileTest, FileThatGroupOrOthersMayAccessIsAConfigError) {
  for (mode_t mode : {0440, 0404, 0640, 0401, 0410, 0644}) {
    write(raw(pattern_bytes(1, 32)), mode);
    expect_error(Errc::config, "chmod 0400");
  }
  write(raw(pattern_bytes(1, 32)), 0600);
  EXPECT_TRUE(load_kek(path).ok());
}

TEST_F(KekFileTest, MissingFileIsAnIoError) {
  expect_error(Errc::io, "cannot read the KEK file");
}

}  // namespace
}  // namespace stek
