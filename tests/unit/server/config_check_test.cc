// stekd --check-config's file checks: every problem reported, naming its key and file, and
// nothing created while checking.
#include "config_check.h"

#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>

namespace stek::server {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "stek-config-check-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path); }
  fs::path path;
};

bool mentions(const std::vector<Error>& problems, const std::string& text) {
  for (const auto& p : problems) {
    if (p.message.find(text) != std::string::npos) return true;
  }
  return false;
}

std::size_t files_in(const fs::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::recursive_directory_iterator(dir)) ++n;
  return n;
}

TEST(ConfigCheck, ReportsEveryMissingFileAndDirectoryByItsKey) {
  TempDir tmp;
  ServerConfig c;
  c.tls_cert = tmp.path / "stekd.crt";
  c.tls_key = tmp.path / "stekd.key";
  c.tls_client_ca = tmp.path / "ca.crt";
  c.store_path = tmp.path / "missing" / "state.json";
  c.generation_file = tmp.path / "gone" / "kek.generation";
  c.audit_path = tmp.path / "audit-dir" / "audit.jsonl";
  const auto problems = check_server_files(c, tmp.path / "logs" / "stekd.log");
  EXPECT_TRUE(mentions(problems, "tls: " + c.tls_key.string() + ": cannot load private key"));
  EXPECT_TRUE(mentions(problems, "store.path " + c.store_path.string()));
  EXPECT_TRUE(mentions(problems, "store.generation_file " + c.generation_file.string()));
  EXPECT_TRUE(mentions(problems, "audit.path " + c.audit_path.string()));
  EXPECT_TRUE(mentions(problems, "--log-file"));
  EXPECT_EQ(files_in(tmp.path), 0u);  // nothing created
}

TEST(ConfigCheck, ExistingWritableDirectoriesPassAndStayEmpty) {
  TempDir tmp;
  ServerConfig c;
  c.tls_cert = tmp.path / "stekd.crt";
  c.tls_key = tmp.path / "stekd.key";
  c.tls_client_ca = tmp.path / "ca.crt";
  c.store_path = tmp.path / "state.json";
  c.generation_file = tmp.path / "kek.generation";
  c.audit_path = tmp.path / "audit.jsonl";
  const auto problems = check_server_files(c, tmp.path / "stekd.log");
  ASSERT_EQ(problems.size(), 1u);  // only the TLS files, which do not exist
  EXPECT_TRUE(mentions(problems, "tls: "));
  EXPECT_EQ(files_in(tmp.path), 0u);
}

TEST(ConfigCheck, MalformedDenyListIsReported) {
  TempDir tmp;
  ServerConfig c;
  c.store_path = tmp.path / "state.json";
  c.generation_file = tmp.path / "kek.generation";
  {
    std::FILE* f = std::fopen((tmp.path / "state.json.denied.json").c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("{not json", f);
    std::fclose(f);
  }
  EXPECT_TRUE(mentions(check_server_files(c, ""), "deny-list: "));
}

}  // namespace
}  // namespace stek::server
