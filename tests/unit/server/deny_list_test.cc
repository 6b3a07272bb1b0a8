// The deny-list: persisted before it changes, survives a reload, refuses malformed files and
// ids no certificate could carry.
#include "deny_list.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <sys/stat.h>

namespace stek::server {
namespace {

namespace fs = std::filesystem;

class DenyListTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("stek-deny-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path file() const { return DenyList::beside(dir_ / "state.json"); }

  fs::path dir_;
};

TEST_F(DenyListTest, MissingFileIsAnEmptyList) {
  auto list = DenyList::load(file());
  ASSERT_TRUE(list.ok()) << list.error().message;
  EXPECT_TRUE(list->hosts().empty());
  EXPECT_EQ(file().filename(), "state.json.denied.json");
}

TEST_F(DenyListTest, AddedHostIsDeniedAndSurvivesALoad) {
  auto list = DenyList::load(file());
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(*list->add("web1"), true);
  EXPECT_EQ(*list->add("web1"), false);  // already there
  EXPECT_TRUE(list->contains("web1"));
  EXPECT_FALSE(list->contains("web2"));
  struct stat st {};
  ASSERT_EQ(::stat(file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = DenyList::load(file());
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->contains("web1"));
}

TEST_F(DenyListTest, RemovedHostIsAllowedAfterALoad) {
  auto list = DenyList::load(file());
  ASSERT_TRUE(list->add("web1").ok());
  ASSERT_TRUE(list->add("web2").ok());
  EXPECT_EQ(*list->remove("web1"), true);
  EXPECT_EQ(*list->remove("web1"), false);
  auto again = DenyList::load(file());
  EXPECT_EQ(again->hosts(), (std::set<std::string>{"web2"}));
}

TEST_F(DenyListTest, RefusesAnIdNoCertificateCanCarry) {
  auto list = DenyList::load(file());
  auto r = list->add(std::string("web\n1"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_FALSE(list->add("").ok());
  EXPECT_FALSE(fs::exists(file()));
}

TEST_F(DenyListTest, MalformedFileIsAnErrorAndReloadKeepsTheListInMemory) {
  auto list = DenyList::load(file());
  ASSERT_TRUE(list->add("web1").ok());
  std::ofstream(file()) << "{\"denied_hosts\": [1]}";
  auto bad = DenyList::load(file());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::bad_format);
  EXPECT_FALSE(list->reload().ok());
  EXPECT_TRUE(list->contains("web1"));
}

TEST_F(DenyListTest, AHostAnotherWriterDeniedMeanwhileIsReportedByTheNextRefresh) {
  // Replicas share one store: another one denies web2 while this one denies web1. web2 must
  // reach this copy through refresh(), which names it so that its long polls get ended; an
  // add that took it in silently would leave them waiting for the next ring.
  auto list = DenyList::load(file());
  FileDenyStore other(file());
  ASSERT_TRUE(other.update("web2", true).ok());
  ASSERT_TRUE(*list->add("web1"));
  auto added = list->refresh();
  ASSERT_TRUE(added.ok());
  EXPECT_EQ(*added, std::vector<std::string>{"web2"});
  EXPECT_TRUE(list->contains("web1"));
  EXPECT_TRUE(list->contains("web2"));
}

TEST_F(DenyListTest, ReloadReadsWhatTheFileNowHolds) {
  auto list = DenyList::load(file());
  std::ofstream(file()) << "{\"denied_hosts\": [\"web7\"]}";
  ASSERT_TRUE(list->reload().ok());
  EXPECT_TRUE(list->contains("web7"));
}

}  // namespace
}  // namespace stek::server
