// The sealed state file on a real file system: round trip, every kind of damage (a flipped
// byte, a dropped or relabelled record, truncation), a wrong KEK, rollback to an older copy
// (under a running store and across restarts, through the generation counter), a missing
// file with and without --init, temp files left by a crash, compare-and-swap between two
// handles, and the commit lock.
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
    fs::create_directory(dir_ / "etc");
    counter = dir_ / "etc" / "kek.generation";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  // A handle as a restarted stekd opens it: without --init.
  FileStore store(std::uint64_t kek_seed = 9,
                  std::chrono::milliseconds lock_wait = std::chrono::seconds(10)) {
    return FileStore(path, kek(kek_seed), random,
                     {.generation_file = counter, .init = false, .lock_wait = lock_wait});
  }
  // A handle as stekd --init opens it.
  FileStore fresh() {
    return FileStore(path, kek(9), random, {.generation_file = counter, .init = true});
  }
  // Writes sample_state(1) through a store of its own.
  void write_sample() {
    auto ok = fresh().commit(sample_state(1), 0);
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
  fs::path counter;

 private:
  fs::path dir_;
};

TEST_F(FileStoreTest, MissingFileIsAnEmptyStateAtGenerationZeroWhenToldToInitialise) {
  auto state = fresh().load();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->generation, 0u);
  EXPECT_EQ(state->secret_version_base, 0u);
  EXPECT_TRUE(state->epoch_secrets.empty());
  EXPECT_TRUE(state->domains.empty());
}

TEST_F(FileStoreTest, MissingFileOnAFirstStartWithoutInitIsNotFound) {
  auto state = store().load();
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.error().code, Errc::not_found);
  EXPECT_NE(state.error().message.find("--init"), std::string::npos);
  auto commit = store().commit(sample_state(1), 0);
  ASSERT_FALSE(commit.ok());
  EXPECT_FALSE(fs::exists(path));
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

TEST_F(FileStoreTest, RoundTripsTheScheduleAndTheTransitionAndReadsFilesWithoutThem) {
  write_sample();  // as an earlier release wrote it: no schedule
  ASSERT_FALSE(store().load()->schedule.has_value());
  StoreState next = sample_state(2);
  next.schedule = ScheduleParams{60, 0, 2};
  next.previous_schedule = PreviousSchedule{{60, 18, 3}, 1'234'567};
  ASSERT_TRUE(store().commit(next, 1).value());
  auto state = store().load();
  ASSERT_TRUE(state.ok()) << state.error().message;
  ASSERT_TRUE(state->schedule.has_value());
  EXPECT_EQ(state->schedule->history, 0);
  ASSERT_TRUE(state->previous_schedule.has_value());
  EXPECT_EQ(state->previous_schedule->params.history, 18);
  EXPECT_EQ(state->previous_schedule->params.lookahead, 3);
  EXPECT_EQ(state->previous_schedule->live_until, 1'234'567);
}

TEST_F(FileStoreTest, EditedOrDroppedScheduleNoLongerMatchesTheManifest) {
  StoreState s = sample_state(1);
  s.schedule = ScheduleParams{60, 2, 2};
  s.previous_schedule = PreviousSchedule{{60, 18, 2}, 99'999};
  ASSERT_TRUE(fresh().commit(s, 0).value());
  edit([](json& doc) { doc["previous_schedule"]["live_until"] = 1; });
  expect_damaged("manifest");
  fs::remove(path);
  fs::remove(counter);
  ASSERT_TRUE(fresh().commit(s, 0).value());
  edit([](json& doc) { doc.erase("previous_schedule"); });
  expect_damaged("manifest");
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
  FileStore a = fresh();
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
  FileStore running = fresh();
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
  FileStore running = fresh();
  ASSERT_TRUE(running.commit(sample_state(1), 0).value());
  fs::remove(path);
  auto state = running.load();
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.error().code, Errc::rollback);
}

TEST_F(FileStoreTest, OlderCopyRestoredBeforeARestartIsARollback) {
  ASSERT_TRUE(fresh().commit(sample_state(1), 0).value());
  const std::string old_copy = read_text(path);
  ASSERT_TRUE(store().commit(sample_state(2), 1).value());
  write_text(path, old_copy);
  auto state = store().load();
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.error().code, Errc::rollback);
  EXPECT_NE(state.error().message.find("older copy"), std::string::npos);
  EXPECT_NE(state.error().message.find("--init"), std::string::npos);
  EXPECT_FALSE(store().commit(sample_state(2), 1).ok());
  EXPECT_EQ(read_text(path), old_copy);
}

TEST_F(FileStoreTest, StateFileDeletedBeforeARestartIsARollbackWithoutInit) {
  write_sample();
  fs::remove(path);
  auto state = store().load();
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.error().code, Errc::rollback);
  EXPECT_NE(state.error().message.find("missing"), std::string::npos);
}

TEST_F(FileStoreTest, StateMadeAgainAfterALossNumbersOnAboveTheCounter) {
  write_sample();  // generation 1, secret versions up to 7
  fs::remove(path);
  FileStore again = fresh();
  auto state = again.load();
  ASSERT_TRUE(state.ok()) << state.error().message;
  EXPECT_EQ(state->generation, 1u);
  EXPECT_EQ(state->secret_version_base, 7u);
  StoreState next;
  next.generation = 2;
  next.secret_version_base = 7;
  ASSERT_TRUE(again.commit(next, 1).value());
  auto reloaded = store().load();
  ASSERT_TRUE(reloaded.ok()) << reloaded.error().message;
  EXPECT_EQ(reloaded->secret_version_base, 7u);
}

TEST_F(FileStoreTest, InitRefusesAnExistingStateFileAndLeavesItAlone) {
  write_sample();
  const std::string before = read_text(path);
  auto state = fresh().load();
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.error().code, Errc::invalid_argument);
  EXPECT_FALSE(fresh().commit(sample_state(2), 1).ok());
  EXPECT_EQ(read_text(path), before);
}

TEST_F(FileStoreTest, StateFileAheadOfTheCounterIsTheCommitACrashCutShort) {
  // Killed after the state file was renamed into place, before the counter was raised.
  write_sample();
  const std::string counter_then = read_text(counter);
  ASSERT_TRUE(store().commit(sample_state(2), 1).value());
  write_text(counter, counter_then);
  auto state = store().load();
  ASSERT_TRUE(state.ok()) << state.error().message;
  EXPECT_EQ(state->generation, 2u);
  // The next commit raises the counter: generation 2 is then refused.
  const std::string second = read_text(path);
  ASSERT_TRUE(store().commit(sample_state(3), 2).value());
  write_text(path, second);
  EXPECT_EQ(store().load().error().code, Errc::rollback);
}

TEST_F(FileStoreTest, DamagedOrForeignCounterIsAnIntegrityError) {
  write_sample();
  json doc = json::parse(read_text(counter));
  EXPECT_EQ(doc["generation"], 1);
  EXPECT_EQ(doc["secret_version"], 7);
  doc["generation"] = 0;  // the clear copy is not trusted; the sealed value is
  write_text(counter, doc.dump());
  EXPECT_EQ(store().load()->generation, 1u);
  auto sealed = from_base64(doc["sealed"].get<std::string>()).value();
  sealed.data()[sealed.size() - 1] ^= 0x01;
  doc["sealed"] = std::string(as_chars(to_base64(sealed.view()).view()));
  write_text(counter, doc.dump());
  auto state = store().load();
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.error().code, Errc::integrity);
  EXPECT_NE(state.error().message.find("counter"), std::string::npos);
}

TEST_F(FileStoreTest, CounterHoldsNoSecretAndIsOwnerOnly) {
  write_sample();
  struct stat st {};
  ASSERT_EQ(::stat(counter.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(read_text(counter).find(to_hex(pattern_bytes(1, 32).view())), std::string::npos);
}

TEST_F(FileStoreTest, TempFilesOfAnInterruptedWriteAreErasedAndNothingElse) {
  write_sample();
  const fs::path tmp = path.string() + ".tmp-0123456789abcdef";
  const fs::path counter_tmp = counter.string() + ".tmp-fedcba9876543210";
  const fs::path other = path.parent_path() / "other.json";
  const fs::path linked = path.string() + ".tmp-00000000000000aa";
  const fs::path unrelated = path.string() + ".tmp-mine";
  write_text(tmp, read_text(path));
  write_text(counter_tmp, read_text(counter));
  write_text(other, "keep me");
  write_text(unrelated, "keep me too");
  fs::create_symlink(other, linked);
  // Open before removal: the erasure must reach the bytes, not only the name.
  const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  auto removed = store().remove_leftovers();
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_EQ(*removed, 3u);
  EXPECT_FALSE(fs::exists(tmp));
  EXPECT_FALSE(fs::exists(counter_tmp));
  EXPECT_FALSE(fs::exists(fs::symlink_status(linked)));
  EXPECT_EQ(read_text(other), "keep me");
  EXPECT_EQ(read_text(unrelated), "keep me too");
  char buf[64] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf, 0);
  ::close(fd);
  ASSERT_EQ(n, static_cast<ssize_t>(sizeof buf));
  EXPECT_EQ(std::string(buf, sizeof buf), std::string(sizeof buf, '\0'));
  EXPECT_EQ(store().load()->generation, 1u);
}

TEST_F(FileStoreTest, ReplacedStateFileIsZeroedUnlessAnotherNameKeepsIt) {
  write_sample();
  const int replaced = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(replaced, 0);
  ASSERT_TRUE(store().commit(sample_state(2), 1).value());
  char buf[64] = {};
  ASSERT_EQ(::pread(replaced, buf, sizeof buf, 0), static_cast<ssize_t>(sizeof buf));
  ::close(replaced);
  EXPECT_EQ(std::string(buf, sizeof buf), std::string(sizeof buf, '\0'));
  // An operator's hard link is their copy: left as it is.
  const fs::path backup = path.parent_path() / "backup.json";
  fs::create_hard_link(path, backup);
  const std::string kept = read_text(backup);
  ASSERT_TRUE(store().commit(sample_state(3), 2).value());
  EXPECT_EQ(read_text(backup), kept);
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
  FileStore waiting = fresh();
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
