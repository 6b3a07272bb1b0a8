// The sealed state file on a real file system: round trip, every kind of damage (a flipped
// byte, a dropped or relabelled record, truncation), a wrong KEK, rollback to an older copy,
// compare-and-swap between two handles, and the commit lock.
#include "file_store.h"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stek/bytes.h"

#include "testing/keys.h"

namespace stek::server {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using stek::testing::pattern_bytes;

Kek kek(std::uint64_t seed) {
  return make_kek(pattern_bytes(seed, kKekSize)).value();
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
}

// Two epochs and two domains (one with two versions, one with a name that needs escaping).
StoreState sample_state(std::uint64_t generation) {
  StoreState s;
  s.generation = generation;
  s.epoch_secrets.emplace(1000, pattern_bytes(1, 32));
  s.epoch_secrets.emplace(1001, pattern_bytes(2, 32));
  s.domains["eu"].push_back({1, kAllEpochs, pattern_bytes(3, 32)});
  s.domains["eu"].push_back({2, 1001, pattern_bytes(4, 32)});
  s.domains["us \"east\""].push_back({7, kAllEpochs, pattern_bytes(5, 32)});
  return s;
}

class FileStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "stek-file-store-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path = dir_ / "state.json";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  FileStore store(std::uint64_t kek_seed = 9,
                  std::chrono::milliseconds lock_wait = std::chrono::seconds(10)) {
    return FileStore(path, kek(kek_seed), random, lock_wait);
  }
  // Writes sample_state(1) through a store of its own.
  void write_sample() {
    auto ok = store().commit(sample_state(1), 0);
    ASSERT_TRUE(ok.ok()) << ok.error().message;
    ASSERT_TRUE(*ok);
  }
  // Applies `change` to the file's JSON and writes it back.
  void edit(const std::function<void(json&)>& change) {
    json doc = json::parse(read_text(path));
    change(doc);
    write_text(path, doc.dump());
  }
  void expect_damaged(const std::string& part) {
    auto state = store().load();
    ASSERT_FALSE(state.ok());
    EXPECT_EQ(state.error().code, Errc::integrity) << state.error().message;
    EXPECT_NE(state.error().message.find(part), std::string::npos) << state.error().message;
  }

  SystemRandom random;
  fs::path path;

 private:
  fs::path dir_;
};

TEST_F(FileStoreTest, MissingFileIsAnEmptyStateAtGenerationZero) {
  auto state = store().load();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->generation, 0u);
  EXPECT_TRUE(state->epoch_secrets.empty());
  EXPECT_TRUE(state->domains.empty());
}

TEST_F(FileStoreTest, RoundTripsEveryRecordThroughAnotherHandle) {
  write_sample();
  auto state = store().load();
  ASSERT_TRUE(state.ok()) << state.error().message;
  const StoreState want = sample_state(1);
  EXPECT_EQ(state->generation, 1u);
  ASSERT_EQ(state->epoch_secrets.size(), 2u);
  for (const auto& [e, g] : want.epoch_secrets)
    EXPECT_TRUE(state->epoch_secrets.at(e).equals(g.view()));
  ASSERT_EQ(state->domains.size(), 2u);
  for (const auto& [d, versions] : want.domains) {
    ASSERT_EQ(state->domains.at(d).size(), versions.size()) << d;
    for (std::size_t i = 0; i < versions.size(); ++i) {
      EXPECT_EQ(state->domains.at(d)[i].version, versions[i].version);
      EXPECT_EQ(state->domains.at(d)[i].start_epoch, versions[i].start_epoch);
      EXPECT_TRUE(state->domains.at(d)[i].secret.equals(versions[i].secret.view()));
    }
  }
}

TEST_F(FileStoreTest, FileIsOwnerOnlyAndHoldsNoSecretInTheClear) {
  write_sample();
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string text = read_text(path);
  const SecretBytes secret = pattern_bytes(1, 32);
  EXPECT_EQ(text.find(to_hex(secret.view())), std::string::npos);
  EXPECT_EQ(text.find(std::string(as_chars(to_base64(secret.view()).view()))), std::string::npos);
}

TEST_F(FileStoreTest, FlippedByteInASealedRecordIsDamage) {
  write_sample();
  edit([](json& doc) {
    auto sealed = from_base64(doc["records"][0]["sealed"].get<std::string>()).value();
    sealed.data()[20] ^= 0x01;
    doc["records"][0]["sealed"] = std::string(as_chars(to_base64(sealed.view()).view()));
  });
  expect_damaged("damaged");
}

TEST_F(FileStoreTest, FlippedByteInTheManifestIsDamage) {
  write_sample();
  edit([](json& doc) {
    auto sealed = from_base64(doc["manifest"].get<std::string>()).value();
    sealed.data()[sealed.size() - 1] ^= 0x80;
    doc["manifest"] = std::string(as_chars(to_base64(sealed.view()).view()));
  });
  expect_damaged("manifest");
}

TEST_F(FileStoreTest, DroppedRecordNoLongerMatchesTheManifest) {
  write_sample();
  edit([](json& doc) { doc["records"].erase(0); });
  expect_damaged("manifest");
}

TEST_F(FileStoreTest, RelabelledRecordFailsAuthentication) {
  write_sample();
  edit([](json& doc) {
    doc["records"][0]["epoch"] = doc["records"][0]["epoch"].get<Epoch>() + 1000;
  });
  expect_damaged("epoch 2000");
}

TEST_F(FileStoreTest, EditedGenerationNoLongerMatchesTheManifest) {
  write_sample();
  edit([](json& doc) { doc["generation"] = 5; });
  expect_damaged("manifest");
}

TEST_F(FileStoreTest, TruncatedFileIsDamageAtEveryLength) {
  write_sample();
  const std::string good = read_text(path);
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, good.size() / 2, good.size() - 3}) {
    write_text(path, good.substr(0, n));
    expect_damaged("not valid JSON");
  }
}

TEST_F(FileStoreTest, WrongKekIsReportedAsSuchAndTheFileIsLeftAlone) {
  write_sample();
  const std::string before = read_text(path);
  FileStore other = store(10);
  auto state = other.load();
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.error().code, Errc::integrity);
  EXPECT_NE(state.error().message.find("sealed with another KEK"), std::string::npos);
  EXPECT_FALSE(other.commit(sample_state(2), 1).ok());
  EXPECT_EQ(read_text(path), before);
}

TEST_F(FileStoreTest, CommitIsACompareAndSwapOnTheGeneration) {
  FileStore a = store();
  FileStore b = store();
  ASSERT_TRUE(a.commit(sample_state(1), 0).value());
  auto lost = b.commit(sample_state(1), 0);
  ASSERT_TRUE(lost.ok());
  EXPECT_FALSE(*lost);
  EXPECT_TRUE(b.commit(sample_state(2), 1).value());
  EXPECT_EQ(a.load()->generation, 2u);
}

TEST_F(FileStoreTest, CommitMustAdvanceTheGenerationByOne) {
  auto r = store().commit(sample_state(2), 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(FileStoreTest, OlderCopyRestoredUnderARunningStoreIsARollback) {
  FileStore running = store();
  ASSERT_TRUE(running.commit(sample_state(1), 0).value());
  const std::string old_copy = read_text(path);
  ASSERT_TRUE(running.commit(sample_state(2), 1).value());
  write_text(path, old_copy);
  auto state = running.load();
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.error().code, Errc::rollback) << state.error().message;
  auto commit = running.commit(sample_state(3), 2);
  ASSERT_FALSE(commit.ok());
  EXPECT_EQ(commit.error().code, Errc::rollback) << commit.error().message;
  EXPECT_EQ(read_text(path), old_copy);
}

TEST_F(FileStoreTest, StateFileRemovedUnderARunningStoreIsARollback) {
  FileStore running = store();
  ASSERT_TRUE(running.commit(sample_state(1), 0).value());
  fs::remove(path);
  auto state = running.load();
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.error().code, Errc::rollback);
}

TEST_F(FileStoreTest, OlderCopyRestoredBeforeARestartIsARollback) {
  // rollback detection: issue 10. A fresh process has no record of the generation it last
  // wrote (no counter outside the file), so an old copy put back while stekd is stopped
  // loads as if it were current, and erased secrets come back.
  GTEST_SKIP() << "rollback detection: issue 10";
  ASSERT_TRUE(store().commit(sample_state(1), 0).value());
  const std::string old_copy = read_text(path);
  ASSERT_TRUE(store().commit(sample_state(2), 1).value());
  write_text(path, old_copy);
  auto state = store().load();
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.error().code, Errc::rollback);
}

// Holds the commit lock the way another process would: its own open file description.
class LockHolder {
 public:
  explicit LockHolder(const fs::path& state) {
    fs::path lock = state;
    lock += ".lock";
    fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    EXPECT_GE(fd_, 0);
    EXPECT_EQ(::flock(fd_, LOCK_EX | LOCK_NB), 0);
  }
  ~LockHolder() { release(); }
  void release() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

TEST_F(FileStoreTest, CommitWaitsWhileAnotherHandleHoldsTheLock) {
  FileStore waiting = store();
  LockHolder holder(path);
  std::atomic<bool> done{false};
  Result<bool> result = false;
  std::thread t([&] {
    result = waiting.commit(sample_state(1), 0);
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(done.load());
  EXPECT_FALSE(fs::exists(path));
  holder.release();
  t.join();
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_TRUE(*result);
  EXPECT_EQ(store().load()->generation, 1u);
}

TEST_F(FileStoreTest, CommitGivesUpWithAConflictWhenTheLockIsNeverReleased) {
  write_sample();
  const std::string before = read_text(path);
  FileStore impatient = store(9, std::chrono::milliseconds(50));
  LockHolder holder(path);
  auto r = impatient.commit(sample_state(2), 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::conflict) << r.error().message;
  EXPECT_EQ(read_text(path), before);
}

}  // namespace
}  // namespace stek::server
