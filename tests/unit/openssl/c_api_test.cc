// The C API, driven from C (c_api_smoke.c).
#include <filesystem>

#include <gtest/gtest.h>
#include <unistd.h>

#include "stek/bytes.h"
#include "stek/clock.h"
#include "stek/file.h"

#include "ring_fixtures.h"

extern "C" int stek_c_api_smoke(const char* ring_path, char* err, size_t err_len);

namespace stek::openssl {
namespace {

TEST(CApi, WatchesInstallsAndReportsStatus) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("stek-capi-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  SystemClock clock;
  const std::string json = test::json_of(test::make_window_ring(Schedule::standard(), clock.now()));
  ASSERT_TRUE(write_file_atomic(dir / "ring.json", as_bytes(json)).ok());
  char err[512] = "";
  EXPECT_EQ(stek_c_api_smoke((dir / "ring.json").c_str(), err, sizeof err), 1) << err;
  fs::remove_all(dir);
}

TEST(CApi, MissingFileIsReportedNotFatal) {
  char err[512] = "";
  EXPECT_EQ(stek_c_api_smoke("/nonexistent-stek-dir/ring.json", err, sizeof err), 0);
  EXPECT_NE(std::string(err).find("has_keys=0"), std::string::npos) << err;
}

}  // namespace
}  // namespace stek::openssl
