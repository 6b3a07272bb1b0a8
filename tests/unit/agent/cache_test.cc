// tmpfs checks and the ring cache.
#include "cache.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "fakes.h"
#include "times.h"

namespace stek::agent {
namespace {

namespace fs = std::filesystem;
using testing::make_ring;
using testing::TempDir;

using test::kE;

TEST(KeyDirs, DevShmIsAMemoryFilesystem) {
  if (!fs::exists("/dev/shm")) GTEST_SKIP() << "no /dev/shm";
  auto r = is_memory_filesystem("/dev/shm");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(*r);
}

// A directory on persistent storage: the build tree (where ctest runs).
fs::path persistent_dir() {
  return fs::current_path();
}

TEST(KeyDirs, RefusesADirectoryOnPersistentStorageUnlessAllowed) {
  auto memory = is_memory_filesystem(persistent_dir());
  ASSERT_TRUE(memory.ok());
  if (*memory) GTEST_SKIP() << persistent_dir() << " is on tmpfs here";
  TempDir dir(false);
  ASSERT_FALSE(*is_memory_filesystem(dir.path())) << "temp dir expected on disk";
  auto refused = prepare_key_dir(dir / "cache", false, "cache_dir");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("not on tmpfs"), std::string::npos)
      << refused.error().message;
  EXPECT_TRUE(prepare_key_dir(dir / "cache", true, "cache_dir").ok());
}

TEST(KeyDirs, CreatesAMissingDirectoryWithMode0700) {
  TempDir dir(true);
  ASSERT_TRUE(prepare_key_dir(dir / "a" / "b", false, "cache_dir").ok());
  struct stat st {};
  ASSERT_EQ(::stat((dir / "a" / "b").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST(KeyDirs, DomainFileStemsAreSafeFileNames) {
  EXPECT_EQ(domain_file_stem("eu-west_1.a"), "eu-west_1.a");
  EXPECT_EQ(domain_file_stem("a/b"), "a%2Fb");
  EXPECT_EQ(domain_file_stem(".."), "%2E.");
  EXPECT_EQ(domain_file_stem("."), "%2E");
  const std::string stem = domain_file_stem(std::string(255, '/'));
  EXPECT_LE(stem.size(), 200u);
  EXPECT_EQ(stem.rfind("sha256-", 0), 0u);
}

TEST(RingCache, StoresMode0600AndLoadsTheSameRing) {
  TempDir dir(true);
  RingCache cache(dir.path(), "eu/west");
  EXPECT_EQ(cache.path(), dir / "eu%2Fwest.json");
  auto empty = cache.load();
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->has_value());
  const KeyRing ring = make_ring("eu/west", kE - 2, kE + 2, kE * 60, 9);
  ASSERT_TRUE(*cache.store(ring));
  EXPECT_FALSE(*cache.store(ring)) << "unchanged: not rewritten";
  struct stat st {};
  ASSERT_EQ(::stat(cache.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto loaded = cache.load();
  ASSERT_TRUE(loaded.ok() && loaded->has_value());
  EXPECT_EQ((*loaded)->info().version, 9u);
  EXPECT_EQ((*loaded)->size(), 5u);
  ASSERT_TRUE(cache.erase().ok());
  EXPECT_FALSE(fs::exists(cache.path()));
}

TEST(RingCache, DamagedFileIsAnError) {
  TempDir dir(true);
  RingCache cache(dir.path(), "eu");
  std::FILE* f = std::fopen(cache.path().c_str(), "w");
  std::fputs("{\"stek_ring\": 1, \"keys\": [", f);
  std::fclose(f);
  EXPECT_FALSE(cache.load().ok());
}

}  // namespace
}  // namespace stek::agent
